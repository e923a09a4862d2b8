//! The SCORED message: a batch's result, the one frame a worker sends per call.
//!
//! Decoded into buffers kept between calls, and checked against the call it answers (row count,
//! width), because the worker that wrote it ran plugin code and may say anything.

use super::frame::{Reader, WireError, Writer, malformed, tag};

/// [`Scored::kind`]: `score_batch` was called; `status` is its return value.
pub(crate) const SCORED_CALLED: u8 = 0;
/// [`Scored::kind`]: no instance could be created; `status` is `create`'s.
pub(crate) const SCORED_CREATE_FAILED: u8 = 1;

/// The SCORED frame, decoded into reusable buffers.
#[derive(Debug, Default)]
pub(crate) struct Scored {
    pub(crate) kind: u8,
    pub(crate) status: i32,
    /// CPU time the worker has used so far, in microseconds.
    pub(crate) cpu_micros: u64,
    pub(crate) message: String,
    pub(crate) row_status: Vec<i32>,
    pub(crate) outputs: Vec<f64>,
}

/// What a worker answers to a SCORE, borrowed from its buffers.
#[derive(Debug)]
pub(crate) struct ScoredView<'a> {
    pub(crate) kind: u8,
    pub(crate) status: i32,
    pub(crate) cpu_micros: u64,
    pub(crate) message: &'a str,
    pub(crate) row_status: &'a [i32],
    pub(crate) width: usize,
    pub(crate) outputs: &'a [f64],
}

impl ScoredView<'_> {
    /// Writes the SCORED frame.
    pub(crate) fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer::frame(buf, tag::SCORED);
        w.u8(self.kind)
            .i32(self.status)
            .u64(self.cpu_micros)
            .str(self.message)
            .usize(self.row_status.len())
            .i32s(self.row_status)
            .usize(self.width)
            .f64s(self.outputs);
        w.finish();
    }
}

impl Scored {
    /// Decodes a SCORED payload that must answer a call of `n_rows` rows `width` wide.
    pub(crate) fn decode_into(
        &mut self,
        payload: &[u8],
        n_rows: usize,
        width: usize,
    ) -> Result<(), WireError> {
        let mut r = Reader::new(payload);
        self.kind = r.u8("kind")?;
        self.status = r.i32("status")?;
        self.cpu_micros = r.u64("cpu time")?;
        self.message = r.str("message")?;
        self.row_status.clear();
        self.outputs.clear();
        // Fewer rows (none) only with a failure status: the caller checks.
        let rows = r.usize("rows", n_rows)?;
        r.i32s_into(rows, &mut self.row_status, "row statuses")?;
        let got_width = r.usize("width", width)?;
        if rows > 0 && got_width != width {
            return Err(malformed(format!(
                "{got_width} outputs per row, the metadata declares {width}"
            )));
        }
        r.f64s_into(rows * got_width, &mut self.outputs, "outputs")?;
        r.end("scored")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::payload;

    #[test]
    fn scored_round_trips_and_is_checked_against_the_request() {
        let mut buf = Vec::new();
        ScoredView {
            kind: SCORED_CALLED,
            status: 0,
            cpu_micros: 1234,
            message: "msg",
            row_status: &[0, 1],
            width: 2,
            outputs: &[1.0, 2.0, 3.0, 4.0],
        }
        .encode(&mut buf);
        let (tag, body) = payload(&buf);
        assert_eq!(tag, tag::SCORED);
        let mut scored = Scored::default();
        scored.decode_into(&body, 2, 2).expect("decodes");
        assert_eq!(scored.row_status, [0, 1]);
        assert_eq!(scored.outputs, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!((scored.cpu_micros, scored.message.as_str()), (1234, "msg"));
        assert!(
            scored.decode_into(&body, 1, 2).is_err(),
            "more rows than asked"
        );
        assert!(scored.decode_into(&body, 2, 3).is_err(), "width");
    }
}

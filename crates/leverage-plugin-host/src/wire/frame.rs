//! Frames and their fields: how bytes are cut into frames and read back, each length bounded.
//!
//! Separate from what the frames mean (the sibling modules) because this is where hostile input
//! is met first: every length a worker sends is checked here before anything is allocated.

use std::fmt;
use std::io::{self, Read, Write};

/// Frame tags.
pub(crate) mod tag {
    /// Host → worker: protocol, host pid, limits, catalog.
    pub(crate) const INIT: u8 = 1;
    /// Host → worker: the configuration text for the plugin's id.
    pub(crate) const CONFIGURE: u8 = 2;
    /// Host → worker: a batch to score.
    pub(crate) const SCORE: u8 = 3;
    /// Worker → host: the plugin passed the header checks; its build and metadata.
    pub(crate) const DESCRIBED: u8 = 101;
    /// Worker → host: the plugin is refused, and why.
    pub(crate) const REFUSED: u8 = 102;
    /// Worker → host: an instance was created; ready to score.
    pub(crate) const READY: u8 = 103;
    /// Worker → host: the result of a SCORE.
    pub(crate) const SCORED: u8 = 104;
}

/// Longest handshake frame either side accepts (metadata is bounded by the API's limits).
pub(crate) const MAX_HANDSHAKE_FRAME: usize = 16 << 20;
/// Longest SCORE frame a worker accepts.
pub(crate) const MAX_REQUEST_FRAME: usize = 1 << 30;
/// Longest string in a frame (the API's metadata limit).
const MAX_STRING: usize = leverage_plugin_api::info::MAX_STRING_LEN;
/// Most items in a list of strings or metadata entries.
const MAX_LIST: usize = 1 << 16;

/// A frame or a field that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireError(pub(crate) String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(super) fn malformed(what: impl Into<String>) -> WireError {
    WireError(what.into())
}

/// Builds one frame in a reusable buffer.
pub(crate) struct Writer<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    /// Starts a frame with `tag`, clearing `buf`.
    pub(crate) fn frame(buf: &'a mut Vec<u8>, tag: u8) -> Writer<'a> {
        buf.clear();
        buf.extend_from_slice(&[0; 4]);
        buf.push(tag);
        Writer { buf }
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Self {
        self.buf.push(value);
        self
    }

    pub(crate) fn u32(&mut self, value: u32) -> &mut Self {
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(crate) fn i32(&mut self, value: i32) -> &mut Self {
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Self {
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(crate) fn usize(&mut self, value: usize) -> &mut Self {
        self.u64(value as u64)
    }

    pub(crate) fn f64(&mut self, value: f64) -> &mut Self {
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    /// A string, cut (at a character boundary) to the longest a reader accepts.
    pub(crate) fn str(&mut self, text: &str) -> &mut Self {
        let mut end = text.len().min(MAX_STRING);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.u32(end as u32);
        self.buf.extend_from_slice(&text.as_bytes()[..end]);
        self
    }

    pub(crate) fn strs(&mut self, items: &[String]) -> &mut Self {
        self.u32(items.len() as u32);
        for item in items {
            self.str(item);
        }
        self
    }

    /// `f64`s without a count (the count is written before by the caller).
    pub(crate) fn f64s(&mut self, values: &[f64]) -> &mut Self {
        self.buf.reserve(values.len() * 8);
        for value in values {
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
        self
    }

    /// `i32`s without a count.
    pub(crate) fn i32s(&mut self, values: &[i32]) -> &mut Self {
        self.buf.reserve(values.len() * 4);
        for value in values {
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
        self
    }

    /// The buffer, for writing `f64`s straight into it (see [`Writer::f64s`]).
    pub(crate) fn bytes(&mut self) -> &mut Vec<u8> {
        self.buf
    }

    /// Patches the length field; the frame is then the whole buffer.
    pub(crate) fn finish(self) {
        let len = (self.buf.len() - 4) as u32;
        self.buf[..4].copy_from_slice(&len.to_le_bytes());
    }
}

/// Reads the fields of one frame's payload (after the tag), each bounded.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], WireError> {
        if n > self.bytes.len() {
            return Err(malformed(format!(
                "{what}: needs {n} bytes, {} left",
                self.bytes.len()
            )));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], WireError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<u16, WireError> {
        let value = self.u32(what)?;
        u16::try_from(value).map_err(|_| malformed(format!("{what}: {value} is not a u16")))
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32, WireError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A count or size, at most `max`.
    pub(crate) fn usize(&mut self, what: &str, max: usize) -> Result<usize, WireError> {
        let value = self.u64(what)?;
        usize::try_from(value)
            .ok()
            .filter(|value| *value <= max)
            .ok_or_else(|| malformed(format!("{what}: {value} is more than {max}")))
    }

    pub(crate) fn f64(&mut self, what: &str) -> Result<f64, WireError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn str(&mut self, what: &str) -> Result<String, WireError> {
        let len = self.u32(what)? as usize;
        if len > MAX_STRING {
            return Err(malformed(format!("{what}: a string of {len} bytes")));
        }
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| malformed(format!("{what}: not UTF-8")))
    }

    pub(super) fn count(&mut self, what: &str) -> Result<usize, WireError> {
        let n = self.u32(what)? as usize;
        if n > MAX_LIST {
            return Err(malformed(format!("{what}: {n} items")));
        }
        Ok(n)
    }

    pub(crate) fn strs(&mut self, what: &str) -> Result<Vec<String>, WireError> {
        let n = self.count(what)?;
        (0..n).map(|_| self.str(what)).collect()
    }

    /// `n` `f64`s appended to `out`.
    pub(crate) fn f64s_into(
        &mut self,
        n: usize,
        out: &mut Vec<f64>,
        what: &str,
    ) -> Result<(), WireError> {
        let bytes = self.take(n.saturating_mul(8), what)?;
        out.extend(bytes.chunks_exact(8).map(|chunk| {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            f64::from_le_bytes(word)
        }));
        Ok(())
    }

    /// `n` `i32`s appended to `out`.
    pub(crate) fn i32s_into(
        &mut self,
        n: usize,
        out: &mut Vec<i32>,
        what: &str,
    ) -> Result<(), WireError> {
        let bytes = self.take(n.saturating_mul(4), what)?;
        out.extend(bytes.chunks_exact(4).map(|chunk| {
            let mut word = [0; 4];
            word.copy_from_slice(chunk);
            i32::from_le_bytes(word)
        }));
        Ok(())
    }

    /// Fails unless every byte was read.
    pub(crate) fn end(&self, what: &str) -> Result<(), WireError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(malformed(format!(
                "{what}: {} unexpected trailing bytes",
                self.bytes.len()
            )))
        }
    }
}

/// Writes a frame built by [`Writer`] in one call.
pub(crate) fn write_frame(out: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    out.write_all(frame)?;
    out.flush()
}

/// How reading a frame failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The other side closed the stream before a frame started.
    Closed,
    /// An I/O error, or the stream ended inside a frame.
    Io(io::Error),
    /// The length field is out of bounds.
    TooLong(usize),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Closed => f.write_str("the stream was closed"),
            ReadError::Io(error) => write!(f, "{error}"),
            ReadError::TooLong(len) => write!(f, "a frame of {len} bytes is longer than allowed"),
        }
    }
}

/// Reads one frame into `buf` and returns its tag and payload. A frame longer than `max` bytes
/// is refused before anything is allocated.
pub(crate) fn read_frame<'b>(
    input: &mut impl Read,
    buf: &'b mut Vec<u8>,
    max: usize,
) -> Result<(u8, &'b [u8]), ReadError> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        match input.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Err(ReadError::Closed),
            Ok(0) => {
                return Err(ReadError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended inside a frame header",
                )));
            }
            Ok(n) => got += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(ReadError::Io(error)),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len == 0 || len > max {
        return Err(ReadError::TooLong(len));
    }
    buf.clear();
    buf.resize(len, 0);
    input.read_exact(buf).map_err(ReadError::Io)?;
    match buf.split_first() {
        Some((tag, payload)) => Ok((*tag, payload)),
        None => Err(ReadError::TooLong(0)),
    }
}

/// A frame a test wrote, read back: its tag and payload.
#[cfg(test)]
pub(super) fn payload(frame: &[u8]) -> (u8, Vec<u8>) {
    let mut buf = Vec::new();
    let (tag, body) = read_frame(&mut &frame[..], &mut buf, MAX_HANDSHAKE_FRAME).expect("frame");
    (tag, body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_frames_are_refused_without_allocating() {
        let mut buf = Vec::new();
        let huge = [0xff, 0xff, 0xff, 0x7f, tag::SCORED];
        assert!(matches!(
            read_frame(&mut &huge[..], &mut buf, 1024),
            Err(ReadError::TooLong(_))
        ));
        assert!(matches!(
            read_frame(&mut &[][..], &mut buf, 1024),
            Err(ReadError::Closed)
        ));
        assert!(matches!(
            read_frame(&mut &[9, 0, 0, 0, 1][..], &mut buf, 1024),
            Err(ReadError::Io(_))
        ));
        // A string claiming 4 GiB, a list claiming billions of items.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(r.str("s").is_err());
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0x0f]);
        assert!(r.strs("l").is_err());
        let mut r = Reader::new(&[1, 0, 0, 0, 0, 0, 0, 0]);
        let mut out = Vec::new();
        assert!(r.f64s_into(usize::MAX / 4, &mut out, "f").is_err());
    }
}

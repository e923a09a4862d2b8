//! The protocol between the host and a sandbox worker: length-prefixed binary frames over the
//! worker's stdin and stdout.
//!
//! ```text
//! frame   = len: u32 LE (bytes after this field) · tag: u8 · payload
//! host → worker                                 worker → host
//!   INIT      protocol, host pid, limits, catalog   DESCRIBED  build info, metadata
//!                                                    REFUSED    build info?, refusal
//!   CONFIGURE config text                           READY
//!   SCORE     n_rows, n_inputs, f64 × n·i           SCORED     kind, status, CPU µs, message,
//!                                                              i32 × n, width, f64 × n·width
//! ```
//!
//! Integers and floats are little-endian; strings are a `u32` length and UTF-8 bytes; lists a
//! `u32` count and their items. A worker serves one plugin: INIT → DESCRIBED (or REFUSED and
//! exit) → CONFIGURE → READY (or REFUSED and exit), then any number of SCORE → SCORED; it exits
//! when its stdin closes.
//!
//! The host trusts nothing it reads: a worker runs plugin code, which may have corrupted it.
//! Every length is bounded before anything is allocated, and the host checks every reply against
//! what it asked for.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use leverage_plugin_api::PluginMetadata;
use leverage_plugin_api::info::{ComponentInfo, InputInfo, ParameterInfo};

use crate::error::{BuildInfo, RefuseReason};

/// Bumped by any change to the frames below. The host and the worker are the same binary in
/// production, but a worker command could point at another build.
pub(crate) const PROTOCOL: u32 = 1;

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

/// [`Scored::kind`]: `score_batch` was called; `status` is its return value.
pub(crate) const SCORED_CALLED: u8 = 0;
/// [`Scored::kind`]: no instance could be created; `status` is `create`'s.
pub(crate) const SCORED_CREATE_FAILED: u8 = 1;

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

fn malformed(what: impl Into<String>) -> WireError {
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

    fn count(&mut self, what: &str) -> Result<usize, WireError> {
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

/// The INIT frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Init {
    pub(crate) host_pid: u32,
    /// RLIMIT_AS in bytes; 0 for none.
    pub(crate) memory_limit: u64,
    /// RLIMIT_CPU in seconds; 0 for none.
    pub(crate) cpu_limit_secs: u64,
    pub(crate) catalog: Vec<String>,
}

impl Init {
    pub(crate) fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer::frame(buf, tag::INIT);
        w.u32(PROTOCOL)
            .u32(self.host_pid)
            .u64(self.memory_limit)
            .u64(self.cpu_limit_secs)
            .strs(&self.catalog);
        w.finish();
    }

    pub(crate) fn decode(payload: &[u8]) -> Result<Init, WireError> {
        let mut r = Reader::new(payload);
        let protocol = r.u32("protocol")?;
        if protocol != PROTOCOL {
            return Err(malformed(format!(
                "the host speaks sandbox protocol {protocol}, this worker {PROTOCOL}"
            )));
        }
        let init = Init {
            host_pid: r.u32("host pid")?,
            memory_limit: r.u64("memory limit")?,
            cpu_limit_secs: r.u64("cpu limit")?,
            catalog: r.strs("catalog")?,
        };
        r.end("init")?;
        Ok(init)
    }
}

fn put_build(w: &mut Writer<'_>, build: &BuildInfo) {
    w.u32(u32::from(build.abi_major))
        .u32(u32::from(build.abi_minor))
        .str(&build.api_version)
        .str(&build.rustc_version)
        .u32(build.panic_strategy);
}

fn get_build(r: &mut Reader<'_>) -> Result<BuildInfo, WireError> {
    Ok(BuildInfo {
        abi_major: r.u16("abi major")?,
        abi_minor: r.u16("abi minor")?,
        api_version: r.str("api version")?,
        rustc_version: r.str("rustc version")?,
        panic_strategy: r.u32("panic strategy")?,
    })
}

fn put_component(w: &mut Writer<'_>, c: &ComponentInfo) {
    w.str(&c.name)
        .str(&c.unit)
        .str(&c.description)
        .f64(c.min)
        .f64(c.max);
}

fn get_component(r: &mut Reader<'_>) -> Result<ComponentInfo, WireError> {
    Ok(ComponentInfo {
        name: r.str("component name")?,
        unit: r.str("component unit")?,
        description: r.str("component description")?,
        min: r.f64("component min")?,
        max: r.f64("component max")?,
    })
}

/// The DESCRIBED frame.
pub(crate) fn encode_described(buf: &mut Vec<u8>, build: &BuildInfo, m: &PluginMetadata) {
    let mut w = Writer::frame(buf, tag::DESCRIBED);
    put_build(&mut w, build);
    w.str(&m.id)
        .str(&m.name)
        .str(&m.version)
        .str(&m.description)
        .str(&m.build_id);
    w.u32(m.inputs.len() as u32);
    for input in &m.inputs {
        w.str(&input.name).str(&input.unit);
    }
    w.u32(m.components.len() as u32);
    for component in &m.components {
        put_component(&mut w, component);
    }
    put_component(&mut w, &m.score);
    w.u32(m.parameters.len() as u32);
    for p in &m.parameters {
        w.str(&p.name)
            .str(&p.unit)
            .str(&p.description)
            .f64(p.default)
            .f64(p.min)
            .f64(p.max);
    }
    w.finish();
}

pub(crate) fn decode_described(payload: &[u8]) -> Result<(BuildInfo, PluginMetadata), WireError> {
    let mut r = Reader::new(payload);
    let build = get_build(&mut r)?;
    let id = r.str("id")?;
    let name = r.str("name")?;
    let version = r.str("version")?;
    let description = r.str("description")?;
    let build_id = r.str("build id")?;
    let n = r.count("inputs")?;
    let inputs = (0..n)
        .map(|_| {
            Ok(InputInfo {
                name: r.str("input name")?,
                unit: r.str("input unit")?,
            })
        })
        .collect::<Result<_, WireError>>()?;
    let n = r.count("components")?;
    let components = (0..n)
        .map(|_| get_component(&mut r))
        .collect::<Result<_, _>>()?;
    let score = get_component(&mut r)?;
    let n = r.count("parameters")?;
    let parameters = (0..n)
        .map(|_| {
            Ok(ParameterInfo {
                name: r.str("parameter name")?,
                unit: r.str("parameter unit")?,
                description: r.str("parameter description")?,
                default: r.f64("parameter default")?,
                min: r.f64("parameter min")?,
                max: r.f64("parameter max")?,
            })
        })
        .collect::<Result<_, WireError>>()?;
    r.end("described")?;
    let metadata = PluginMetadata {
        id,
        name,
        version,
        description,
        build_id,
        inputs,
        components,
        score,
        parameters,
    };
    Ok((build, metadata))
}

/// The names [`RefuseReason::NullFunction`] can carry.
const FUNCTION_NAMES: &[&str] = &["vtable", "metadata", "create", "destroy", "score_batch"];

/// The REFUSED frame.
pub(crate) fn encode_refused(buf: &mut Vec<u8>, reason: &RefuseReason, build: Option<&BuildInfo>) {
    let mut w = Writer::frame(buf, tag::REFUSED);
    match build {
        Some(build) => {
            w.u8(1);
            put_build(&mut w, build);
        }
        None => {
            w.u8(0);
        }
    }
    match reason {
        RefuseReason::Io { error } => {
            w.u8(0).str(error);
        }
        RefuseReason::NotALibrary { error } => {
            w.u8(1).str(error);
        }
        RefuseReason::MissingEntry { error } => {
            w.u8(2).str(error);
        }
        RefuseReason::BadHeaderPointer => {
            w.u8(3);
        }
        RefuseReason::WrongMagic { found } => {
            w.u8(4).u64(*found);
        }
        RefuseReason::AbiMajor {
            build,
            host_major,
            host_minor,
            host_api,
        } => {
            w.u8(5);
            put_build(&mut w, build);
            w.u32(u32::from(*host_major))
                .u32(u32::from(*host_minor))
                .str(host_api);
        }
        RefuseReason::AbiMinorTooNew {
            build,
            host_major,
            host_minor,
        } => {
            w.u8(6);
            put_build(&mut w, build);
            w.u32(u32::from(*host_major)).u32(u32::from(*host_minor));
        }
        RefuseReason::LayoutMismatch {
            build,
            found,
            expected,
        } => {
            w.u8(7);
            put_build(&mut w, build);
            w.u64(*found).u64(*expected);
        }
        RefuseReason::PanicStrategy { build } => {
            w.u8(8);
            put_build(&mut w, build);
        }
        RefuseReason::NullFunction { name } => {
            w.u8(9).str(name);
        }
        RefuseReason::MetadataFailed { status } => {
            w.u8(10).i32(*status);
        }
        RefuseReason::BadMetadata { problems } => {
            w.u8(11).strs(problems);
        }
        RefuseReason::UnknownInputs { unknown, known } => {
            w.u8(12).strs(unknown).strs(known);
        }
        RefuseReason::DuplicateId { id, other } => {
            w.u8(13).str(id).str(&other.to_string_lossy());
        }
        RefuseReason::ConfigRejected { status, message } => {
            w.u8(14).i32(*status).str(message);
        }
        RefuseReason::WorkerFailed { detail } => {
            w.u8(15).str(detail);
        }
        RefuseReason::Damaged { problem } => {
            w.u8(16).str(problem);
        }
        RefuseReason::LoaderCrashed { signal, detail } => {
            w.u8(17).i32(*signal).str(detail);
        }
        RefuseReason::PreloadFailed { detail } => {
            w.u8(18).str(detail);
        }
    }
    w.finish();
}

pub(crate) fn decode_refused(
    payload: &[u8],
) -> Result<(RefuseReason, Option<BuildInfo>), WireError> {
    let mut r = Reader::new(payload);
    let build = match r.u8("has build")? {
        0 => None,
        _ => Some(get_build(&mut r)?),
    };
    let reason = match r.u8("refusal kind")? {
        0 => RefuseReason::Io {
            error: r.str("error")?,
        },
        1 => RefuseReason::NotALibrary {
            error: r.str("error")?,
        },
        2 => RefuseReason::MissingEntry {
            error: r.str("error")?,
        },
        3 => RefuseReason::BadHeaderPointer,
        4 => RefuseReason::WrongMagic {
            found: r.u64("magic")?,
        },
        5 => RefuseReason::AbiMajor {
            build: get_build(&mut r)?,
            host_major: r.u16("host major")?,
            host_minor: r.u16("host minor")?,
            host_api: r.str("host api")?,
        },
        6 => RefuseReason::AbiMinorTooNew {
            build: get_build(&mut r)?,
            host_major: r.u16("host major")?,
            host_minor: r.u16("host minor")?,
        },
        7 => RefuseReason::LayoutMismatch {
            build: get_build(&mut r)?,
            found: r.u64("found")?,
            expected: r.u64("expected")?,
        },
        8 => RefuseReason::PanicStrategy {
            build: get_build(&mut r)?,
        },
        9 => {
            let name = r.str("function")?;
            RefuseReason::NullFunction {
                name: FUNCTION_NAMES
                    .iter()
                    .find(|known| **known == name)
                    .copied()
                    .unwrap_or("(unknown)"),
            }
        }
        10 => RefuseReason::MetadataFailed {
            status: r.i32("status")?,
        },
        11 => RefuseReason::BadMetadata {
            problems: r.strs("problems")?,
        },
        12 => RefuseReason::UnknownInputs {
            unknown: r.strs("unknown")?,
            known: r.strs("known")?,
        },
        13 => RefuseReason::DuplicateId {
            id: r.str("id")?,
            other: PathBuf::from(r.str("other")?),
        },
        14 => RefuseReason::ConfigRejected {
            status: r.i32("status")?,
            message: r.str("message")?,
        },
        15 => RefuseReason::WorkerFailed {
            detail: r.str("detail")?,
        },
        16 => RefuseReason::Damaged {
            problem: r.str("problem")?,
        },
        17 => RefuseReason::LoaderCrashed {
            signal: r.i32("signal")?,
            detail: r.str("detail")?,
        },
        18 => RefuseReason::PreloadFailed {
            detail: r.str("detail")?,
        },
        other => return Err(malformed(format!("unknown refusal kind {other}"))),
    };
    r.end("refused")?;
    Ok((reason, build))
}

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

    fn payload(frame: &[u8]) -> (u8, Vec<u8>) {
        let mut buf = Vec::new();
        let (tag, body) =
            read_frame(&mut &frame[..], &mut buf, MAX_HANDSHAKE_FRAME).expect("frame");
        (tag, body.to_vec())
    }

    fn build() -> BuildInfo {
        BuildInfo {
            abi_major: 1,
            abi_minor: 0,
            api_version: "0.1.0".to_owned(),
            rustc_version: "rustc 1.95.0".to_owned(),
            panic_strategy: 1,
        }
    }

    #[test]
    fn init_round_trips() {
        let init = Init {
            host_pid: 42,
            memory_limit: 1 << 30,
            cpu_limit_secs: 600,
            catalog: vec!["a".to_owned(), "b.c".to_owned()],
        };
        let mut buf = Vec::new();
        init.encode(&mut buf);
        let (tag, body) = payload(&buf);
        assert_eq!(tag, tag::INIT);
        assert_eq!(Init::decode(&body), Ok(init));
    }

    #[test]
    fn metadata_round_trips() {
        let component = |name: &str| ComponentInfo {
            name: name.to_owned(),
            unit: "u".to_owned(),
            description: "d".to_owned(),
            min: -1.5,
            max: 2.5,
        };
        let metadata = PluginMetadata {
            id: "m".to_owned(),
            name: "M".to_owned(),
            version: "1".to_owned(),
            description: "é".to_owned(),
            build_id: "b".to_owned(),
            inputs: vec![InputInfo {
                name: "x".to_owned(),
                unit: "y".to_owned(),
            }],
            components: vec![component("c1"), component("c2")],
            score: component("score"),
            parameters: vec![ParameterInfo {
                name: "p".to_owned(),
                unit: String::new(),
                description: String::new(),
                default: 0.5,
                min: 0.0,
                max: 1.0,
            }],
        };
        let mut buf = Vec::new();
        encode_described(&mut buf, &build(), &metadata);
        let (tag, body) = payload(&buf);
        assert_eq!(tag, tag::DESCRIBED);
        assert_eq!(decode_described(&body), Ok((build(), metadata)));
    }

    #[test]
    fn every_refusal_round_trips() {
        let reasons = [
            RefuseReason::Io { error: "e".into() },
            RefuseReason::NotALibrary { error: "e".into() },
            RefuseReason::MissingEntry { error: "e".into() },
            RefuseReason::BadHeaderPointer,
            RefuseReason::WrongMagic { found: 7 },
            RefuseReason::AbiMajor {
                build: build(),
                host_major: 2,
                host_minor: 3,
                host_api: "9".into(),
            },
            RefuseReason::AbiMinorTooNew {
                build: build(),
                host_major: 1,
                host_minor: 0,
            },
            RefuseReason::LayoutMismatch {
                build: build(),
                found: 1,
                expected: 2,
            },
            RefuseReason::PanicStrategy { build: build() },
            RefuseReason::NullFunction {
                name: "score_batch",
            },
            RefuseReason::MetadataFailed { status: 2 },
            RefuseReason::BadMetadata {
                problems: vec!["p".into(), "q".into()],
            },
            RefuseReason::UnknownInputs {
                unknown: vec!["u".into()],
                known: vec!["k".into()],
            },
            RefuseReason::DuplicateId {
                id: "i".into(),
                other: PathBuf::from("/x.so"),
            },
            RefuseReason::ConfigRejected {
                status: 1,
                message: "m".into(),
            },
            RefuseReason::WorkerFailed { detail: "d".into() },
            RefuseReason::Damaged {
                problem: "p".into(),
            },
            RefuseReason::LoaderCrashed {
                signal: 11,
                detail: "d".into(),
            },
            RefuseReason::PreloadFailed { detail: "d".into() },
        ];
        for reason in reasons {
            for with_build in [None, Some(build())] {
                let mut buf = Vec::new();
                encode_refused(&mut buf, &reason, with_build.as_ref());
                let (tag, body) = payload(&buf);
                assert_eq!(tag, tag::REFUSED);
                assert_eq!(
                    decode_refused(&body),
                    Ok((reason.clone(), with_build.clone()))
                );
            }
        }
    }

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
        assert!(decode_refused(&[0, 99]).is_err());
    }
}

//! The protocol between the host and a sandbox worker: length-prefixed binary frames over the
//! worker's stdin and stdout.
//!
//! ```text
//! frame   = len: u32 LE (bytes after this field) · tag: u8 · payload
//! host → worker                                 worker → host
//!   INIT      protocol, host pid, limits, catalog   DESCRIBED  build info, metadata
//!                                                    REFUSED    build info?, refusal
//!   CONFIGURE config text                           READY
//!   SCORE     n_rows, n_inputs, config?,        SCORED     kind, status, CPU µs, message,
//!             f64 × n·i                           i32 × n, width, f64 × n·width
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
//!
//! By job: `frame` cuts bytes into frames and reads their fields, each bounded; `handshake`,
//! `refused` and `scored` say what the frames mean. This file only declares and re-exports them:
//! a child never imports from here.

mod frame;
mod handshake;
mod refused;
mod scored;

pub(crate) use frame::{
    MAX_HANDSHAKE_FRAME, MAX_REQUEST_FRAME, ReadError, Reader, WireError, Writer, read_frame, tag,
    write_frame,
};
pub(crate) use handshake::{Init, decode_described, encode_described};
pub(crate) use refused::{decode_refused, encode_refused};
pub(crate) use scored::{SCORED_CALLED, SCORED_CREATE_FAILED, Scored, ScoredView};

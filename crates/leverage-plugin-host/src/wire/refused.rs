//! The REFUSED message: why a worker will not serve its plugin, every [`RefuseReason`] as a
//! numbered kind.
//!
//! The host shows the worker's reason as if it had refused the file itself, so every reason has
//! to survive the trip whole; a kind this side does not know is a broken protocol, not a guess.

use std::path::PathBuf;

use super::frame::{Reader, WireError, Writer, malformed, tag};
use super::handshake::{get_build, put_build};
use crate::error::{BuildInfo, RefuseReason};

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
        RefuseReason::OwnInputInCatalogNamespace { names, reserved } => {
            w.u8(19).strs(names).strs(reserved);
        }
        RefuseReason::ArchiveDamaged { problem } => {
            w.u8(20).str(problem);
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
        19 => RefuseReason::OwnInputInCatalogNamespace {
            names: r.strs("names")?,
            reserved: r.strs("reserved")?,
        },
        20 => RefuseReason::ArchiveDamaged {
            problem: r.str("problem")?,
        },
        other => return Err(malformed(format!("unknown refusal kind {other}"))),
    };
    r.end("refused")?;
    Ok((reason, build))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::payload;
    use crate::wire::handshake::sample_build;

    #[test]
    fn every_refusal_round_trips() {
        let reasons = [
            RefuseReason::Io { error: "e".into() },
            RefuseReason::NotALibrary { error: "e".into() },
            RefuseReason::MissingEntry { error: "e".into() },
            RefuseReason::BadHeaderPointer,
            RefuseReason::WrongMagic { found: 7 },
            RefuseReason::AbiMajor {
                build: sample_build(),
                host_major: 2,
                host_minor: 3,
                host_api: "9".into(),
            },
            RefuseReason::AbiMinorTooNew {
                build: sample_build(),
                host_major: 1,
                host_minor: 0,
            },
            RefuseReason::LayoutMismatch {
                build: sample_build(),
                found: 1,
                expected: 2,
            },
            RefuseReason::PanicStrategy {
                build: sample_build(),
            },
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
            RefuseReason::OwnInputInCatalogNamespace {
                names: vec!["lever.x".into()],
                reserved: vec!["lever".into(), "pool".into()],
            },
            RefuseReason::ArchiveDamaged {
                problem: "p".into(),
            },
        ];
        for reason in reasons {
            for with_build in [None, Some(sample_build())] {
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
    fn an_unknown_refusal_kind_is_refused() {
        assert!(decode_refused(&[0, 99]).is_err());
    }
}

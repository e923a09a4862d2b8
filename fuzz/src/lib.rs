//! Helpers shared by the fuzz targets: value generators that reach the interesting edges
//! (range bounds, NaN, infinities, subnormals) far more often than raw random bits would, and
//! independent oracles that the targets compare the crates' answers with.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use leverage_core::scenario::{Context, Lever};
use leverage_core::{Dataset, Date, Snapshot};

/// A float, drawn so that edges are common.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Float {
    /// Any bit pattern.
    Raw(f64),
    /// A point in [lo - span/2, hi + span/2] of the range it is scaled to.
    Unit(u16),
    /// One of the classic edge values.
    Special(u8),
}

pub const SPECIALS: [f64; 16] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    f64::MIN_POSITIVE,
    5e-324,
    -5e-324,
    f64::EPSILON,
    1e-300,
    f64::MAX,
    f64::MIN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    0.5,
    1.0 - f64::EPSILON,
];

impl Float {
    /// The value, scaled to `(lo, hi)` for `Unit`.
    pub fn value(self, lo: f64, hi: f64) -> f64 {
        match self {
            Float::Raw(v) => v,
            Float::Unit(u) => {
                let span = hi - lo;
                lo - span / 2.0 + 2.0 * span * f64::from(u) / f64::from(u16::MAX)
            }
            Float::Special(i) => SPECIALS[usize::from(i) % SPECIALS.len()],
        }
    }
}

/// Jurisdiction codes: a few valid ones, near misses, and arbitrary text.
#[derive(Arbitrary, Clone, Debug)]
pub enum Code {
    Known(u8),
    Any(String),
}

pub const KNOWN_CODES: [&str; 14] = [
    "BE", "FR", "DE", "LU", "JP", "GB", "US", "EU", "CH", "CA", "be", "UK", "XX", "BEL",
];

impl Code {
    pub fn text(&self) -> String {
        match self {
            Code::Known(i) => KNOWN_CODES[usize::from(*i) % KNOWN_CODES.len()].to_owned(),
            Code::Any(s) => s.clone(),
        }
    }
}

/// Every lever a scenario or a sweep can set.
pub const LEVERS: [Lever; 7] = [
    Lever::InterestRatePct,
    Lever::SanctionsTightening,
    Lever::SafeTakeup,
    Lever::DefenceSpendingGdpPct,
    Lever::GuaranteeSharing,
    Lever::HorizonYears,
    Lever::Participation,
];

/// A date between 1900-01-01 and 2200-12-31 picked by a `u32`.
pub fn date_from(pick: u32) -> Date {
    let first = Date::new(1900, 1, 1).expect("valid").days_since_epoch();
    let last = Date::new(2200, 12, 31).expect("valid").days_since_epoch();
    let span = (last - first + 1) as u64;
    Date::from_days_since_epoch(first + (u64::from(pick) % span) as i64)
        .expect("a day of the supported years")
}

/// The embedded dataset, loaded once per process.
pub fn snapshot() -> &'static Snapshot {
    static SNAP: OnceLock<Snapshot> = OnceLock::new();
    SNAP.get_or_init(|| Snapshot::new(Dataset::embedded().expect("embedded dataset loads")))
}

thread_local! {
    static CONTEXTS: RefCell<HashMap<Date, Option<Rc<Context>>>> = RefCell::new(HashMap::new());
}

/// The scoring context of the embedded dataset as of `date`, derived once per date (`None` when
/// the dataset cannot answer for that date, e.g. no exchange rate yet).
pub fn context(date: Date) -> Option<Rc<Context>> {
    CONTEXTS.with(|c| {
        c.borrow_mut()
            .entry(date)
            .or_insert_with(|| Context::derive(snapshot(), date).ok().map(Rc::new))
            .clone()
    })
}

/// The page token the server issues for `offset` in the query `query`: the oracle that says
/// whether a token that decoded is one the server could have issued. It restates the format of
/// `leverage_core::paging::encode` (private); `filter_and_page_token` checks that it agrees with
/// tokens really issued by `PageRequest::apply`.
pub fn issued_token(offset: u64, query: u64) -> String {
    let seal = leverage_core::paging::fingerprint(&[
        "leverage.page.v1",
        &offset.to_string(),
        &query.to_string(),
    ]);
    format!("{offset:x}.{query:016x}.{seal:016x}")
}

/// Whether to step over finding `id` (`"F1"`…, see docs/fuzzing.md, "Findings"), so that a long
/// run explores past it: `LEVERAGE_FUZZ_SKIP_KNOWN` lists the ids to skip, comma-separated, or
/// is `all`. Unset, every target checks everything and stops at the first finding.
pub fn skip_known(id: &str) -> bool {
    static SKIP: OnceLock<Vec<String>> = OnceLock::new();
    SKIP.get_or_init(|| {
        std::env::var("LEVERAGE_FUZZ_SKIP_KNOWN")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
    .iter()
    .any(|s| s == id || s == "all")
}

/// Whether `bytes` is a 64-bit little-endian ELF file with a loadable segment that reaches past
/// its end. `dlopen` maps such a segment anyway and the first touch of a page past the end of
/// the file raises SIGBUS, killing the process (finding F4 in docs/fuzzing.md).
pub fn elf_segment_past_end(bytes: &[u8]) -> bool {
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..u64::from(phnum)).any(|i| {
        let Some(at) = phoff
            .checked_add(i * u64::from(phentsize))
            .and_then(|a| usize::try_from(a).ok())
        else {
            return false;
        };
        let (Some(kind), Some(offset), Some(filesz)) =
            (u32_at(at), u64_at(at + 8), u64_at(at + 0x20))
        else {
            return false;
        };
        kind == 1
            && offset
                .checked_add(filesz)
                .is_none_or(|end| end > bytes.len() as u64)
    })
}

/// Whether two page tokens spell the same three numbers (offset, query, seal) in different text:
/// finding F1.
pub fn same_numbers(a: &str, b: &str) -> bool {
    let numbers = |t: &str| -> Option<Vec<u64>> {
        let parts: Vec<&str> = t.split('.').collect();
        if parts.len() != 3 {
            return None;
        }
        parts
            .iter()
            .map(|p| u64::from_str_radix(p, 16).ok())
            .collect()
    };
    numbers(a).is_some() && numbers(a) == numbers(b)
}

/// `Ok` when every value of a row is finite; else the first name and value that is not. With
/// `skip_known`, finding F5 (`private.frozen_share_of_pool` infinite over a subnormal pool) is
/// let through.
pub fn row_is_finite(row: &[f64]) -> Result<(), String> {
    use leverage_core::scenario::INPUT_CATALOG;
    let pool = INPUT_CATALOG.iter().position(|s| s.name == "pool.eur_bn");
    for (value, spec) in row.iter().zip(INPUT_CATALOG.iter()) {
        if value.is_finite() {
            continue;
        }
        let f5 = spec.name == "private.frozen_share_of_pool"
            && pool.is_some_and(|p| row[p] > 0.0 && row[p] < 1e-290);
        if skip_known("F5") && f5 {
            continue;
        }
        return Err(format!("{} = {value}", spec.name));
    }
    Ok(())
}

/// Whether `bytes` is a 64-bit little-endian ELF file whose dynamic segment (`PT_DYNAMIC`) does
/// not lie, in the file and in memory, within one loadable segment. The loader then reads and
/// relocates through memory that is not there and faults (finding F6 in docs/fuzzing.md).
pub fn elf_dynamic_outside_load(bytes: &[u8]) -> bool {
    let field = |at: usize, n: usize| bytes.get(at..at.checked_add(n)?);
    let u16_at = |at: usize| field(at, 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: usize| field(at, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let u64_at =
        |at: usize| field(at, 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    // (type, offset, vaddr, filesz, memsz) of each readable program header.
    let headers: Vec<(u32, u64, u64, u64, u64)> = (0..u64::from(phnum))
        .filter_map(|i| {
            let at = usize::try_from(phoff.checked_add(i * u64::from(phentsize))?).ok()?;
            Some((
                u32_at(at)?,
                u64_at(at.checked_add(8)?)?,
                u64_at(at.checked_add(16)?)?,
                u64_at(at.checked_add(32)?)?,
                u64_at(at.checked_add(40)?)?,
            ))
        })
        .collect();
    let within = |start: u64, len: u64, base: u64, size: u64| {
        start >= base
            && start
                .checked_add(len)
                .is_some_and(|end| Some(end) <= base.checked_add(size))
    };
    headers.iter().filter(|h| h.0 == 2).any(|d| {
        !headers
            .iter()
            .filter(|l| l.0 == 1)
            .any(|l| within(d.1, d.3, l.1, l.3) && within(d.2, d.3.max(d.4), l.2, l.4))
    })
}

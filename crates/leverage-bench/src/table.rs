//! What every part reports in: the gates that make its figures valid, the rows of the summary
//! table, and how figures are written in both. Kept apart from `report` so that a part can
//! describe its own results without importing the report that collects them.

use serde::Serialize;

/// A check that must hold for the figures to mean anything. Never a timing.
#[derive(Clone, Debug, Serialize)]
pub struct Gate {
    pub part: &'static str,
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// One line of the summary table.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryRow {
    pub part: &'static str,
    pub item: String,
    pub value: String,
    pub relative: String,
    pub goal: String,
    /// None where issue 4 sets no goal, or the run was too small to judge it (smoke).
    pub met: Option<bool>,
}

pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let n = v.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub fn ms(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

pub fn x(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{ratio:.2}×")
    } else {
        "–".into()
    }
}

pub fn yes_no(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "–",
    }
}

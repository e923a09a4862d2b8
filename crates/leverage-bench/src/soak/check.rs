//! After the soak: every acknowledged write read back, the server's log searched.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::Context;
use leverage_proto::leverage::v1 as api;

use super::calls::{Conn, Ctx, lock};
use super::result::WriteCheck;
use crate::stats::Latency;

/// Reads every written holding back and checks each acknowledged write is in its series.
pub(super) async fn check_writes(ctx: &Ctx, conn: &Conn) -> anyhow::Result<WriteCheck> {
    let mut stored: Vec<HashSet<String>> = Vec::new();
    let mut check = WriteCheck::default();
    for h in &ctx.holdings {
        let reply = conn
            .assets
            .clone()
            .get_holding(api::GetHoldingRequest {
                name: h.name.clone(),
                as_of: None,
            })
            .await
            .with_context(|| format!("reading {} back", h.name))?
            .into_inner();
        check
            .series_lengths
            .insert(h.name.clone(), reply.observations.len());
        stored.push(reply.observations.into_iter().map(|o| o.id).collect());
    }
    let w = lock(&ctx.writes);
    check.sent = w.sent.len() as u64;
    check.acknowledged = w.acknowledged.len() as u64;
    for (target, id) in &w.sent {
        let present = stored[*target].contains(id);
        match (w.acknowledged.contains(id), present) {
            (true, true) => check.found += 1,
            (true, false) => {
                if check.missing.len() < 20 {
                    check
                        .missing
                        .push(format!("{}/observations/{id}", ctx.holdings[*target].name));
                }
            }
            (false, true) => check.stored_unacknowledged += 1,
            (false, false) => {}
        }
    }
    Ok(check)
}

/// The spread of the written holdings' series lengths (each holding is in the JSON file).
pub(super) fn series_spread(lengths: &BTreeMap<String, usize>) -> String {
    let mut n: Vec<usize> = lengths.values().copied().collect();
    n.sort_unstable();
    match (n.first(), n.last()) {
        (Some(min), Some(max)) => format!(
            "{min} to {max} observations (median {}) over {} holdings",
            n[n.len() / 2],
            n.len()
        ),
        _ => "no holdings".to_owned(),
    }
}

/// Lines of the server log at ERROR and WARN level, and panics.
pub(super) fn log_counts(log: &Path) -> (usize, usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
    (count(" ERROR "), count(" WARN "), count("panicked"))
}

/// The p99 of the OK calls of some windows.
pub(super) fn p99_of(samples: &[Vec<u64>]) -> f64 {
    Latency::from_nanos(&mut samples.concat()).p99_us
}

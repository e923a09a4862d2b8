//! The soak's mix: which calls, in what shares, in which order, with which requests.

use leverage_proto::leverage::v1 as api;
use serde::Serialize;

use crate::load::{Target, reparations_loan};

/// What the soak calls, in a fixed cycle (20 calls with the default writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    ListHoldings,
    SummarizeHoldings,
    AssessLegalRisk,
    GetHolding,
    ScoreScenario,
    ScoreScenarios,
    CreateObservation,
}

/// CreateObservation calls per cycle by default: 2 of 20, 10 %.
pub const WRITE_SLOTS: usize = 2;
/// Scenarios per ScoreScenarios call.
pub(super) const BATCH: usize = 10;
/// The located holdings the soak writes to (and reads back with GetHolding).
/// Holdings the soak creates and then writes observations to, in turn. Many of them, as in
/// real use, where a holding gains a few observations a year: each write re-reads the holding
/// written, so a handful of holdings growing by thousands of observations would measure a
/// workload nobody has.
pub(super) const WRITE_HOLDINGS: usize = 2000;

/// Holdings of the embedded dataset that `GetHolding` reads in turn (full series). Not the
/// written ones: their series grow with the soak's own writes, and a read whose reply grows
/// with the run measures the run's data, not the server's drift.
pub(super) const READ_HOLDINGS: [&str; 4] = [
    "holdings/switzerland-central-bank",
    "holdings/japan-central-bank",
    "holdings/uk-ofsi-frozen-funds",
    "holdings/luxembourg-private-frozen",
];

/// Jurisdictions the synthetic holdings are spread over.
pub(super) const WRITE_JURISDICTIONS: [&str; 5] = ["BE", "LU", "FR", "DE", "NL"];

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::ListHoldings,
        Kind::SummarizeHoldings,
        Kind::AssessLegalRisk,
        Kind::GetHolding,
        Kind::ScoreScenario,
        Kind::ScoreScenarios,
        Kind::CreateObservation,
    ];

    /// Slots of the kind in each cycle: with the default [`WRITE_SLOTS`], a cycle of 20
    /// calls, 60 % reads, 30 % scoring, 10 % writes.
    pub(super) fn weight(self, write_slots: usize) -> usize {
        match self {
            Kind::ListHoldings
            | Kind::SummarizeHoldings
            | Kind::AssessLegalRisk
            | Kind::GetHolding => 3,
            Kind::ScoreScenario => 4,
            Kind::ScoreScenarios => 2,
            Kind::CreateObservation => write_slots,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::ListHoldings => "ListHoldings",
            Kind::SummarizeHoldings => "SummarizeHoldings",
            Kind::AssessLegalRisk => "AssessLegalRisk",
            Kind::GetHolding => "GetHolding",
            Kind::ScoreScenario => "ScoreScenario",
            Kind::ScoreScenarios => "ScoreScenarios",
            Kind::CreateObservation => "CreateObservation",
        }
    }

    pub(super) fn request(self) -> &'static str {
        match self {
            Kind::ListHoldings => Target::ListHoldings.request(),
            Kind::SummarizeHoldings => Target::SummarizeHoldings.request(),
            Kind::AssessLegalRisk => Target::AssessLegalRisk.request(),
            Kind::ScoreScenario => Target::ScoreScenario.request(),
            Kind::GetHolding => {
                "one of 4 holdings of the embedded dataset in turn, as of today: its full series"
            }
            Kind::ScoreScenarios => {
                "plugin plugins/pressure-index, 10 reparations-loan scenarios (interest 0, 0.5 … 4.5 %)"
            }
            Kind::CreateObservation => {
                "editor token; one of the 4 holdings in turn (Swiss and Japanese central banks, UK OFSI, Luxembourg private), \
                 in the holding's currency, dated in the 28 days before today, source and note saying SYNTHETIC, confidence LOW"
            }
        }
    }

    pub(super) fn index(self) -> usize {
        Kind::ALL.iter().position(|&k| k == self).unwrap_or(0)
    }
}

/// The kinds of one cycle, interleaved by smooth weighted round robin (no kind twice in a row
/// when it can be avoided).
pub(super) fn cycle(write_slots: usize) -> Vec<Kind> {
    let total: usize = Kind::ALL.iter().map(|k| k.weight(write_slots)).sum();
    let mut credit = [0i64; Kind::ALL.len()];
    (0..total)
        .map(|_| {
            for (c, k) in credit.iter_mut().zip(Kind::ALL) {
                *c += k.weight(write_slots) as i64;
            }
            let pick = (0..credit.len())
                .max_by_key(|&i| (credit[i], std::cmp::Reverse(i)))
                .unwrap_or(0);
            credit[pick] -= total as i64;
            Kind::ALL[pick]
        })
        .collect()
}

pub(super) fn batch() -> api::ScoreScenariosRequest {
    api::ScoreScenariosRequest {
        plugin: "plugins/pressure-index".into(),
        scenarios: (0..BATCH)
            .map(|i| api::Scenario {
                interest_rate_pct: Some(0.5 * i as f64),
                ..reparations_loan()
            })
            .collect(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_has_the_documented_shares_and_spreads_each_kind() {
        let c = cycle(WRITE_SLOTS);
        assert_eq!(c.len(), 20);
        for k in Kind::ALL {
            let n = c.iter().filter(|&&x| x == k).count();
            assert_eq!(n, k.weight(WRITE_SLOTS), "{k:?}");
        }
        let reads = [
            Kind::ListHoldings,
            Kind::SummarizeHoldings,
            Kind::AssessLegalRisk,
            Kind::GetHolding,
        ];
        let share =
            |ks: &[Kind]| ks.iter().map(|k| k.weight(WRITE_SLOTS)).sum::<usize>() * 100 / 20;
        assert_eq!(share(&reads), 60);
        assert_eq!(share(&[Kind::ScoreScenario, Kind::ScoreScenarios]), 30);
        assert_eq!(share(&[Kind::CreateObservation]), 10);
        assert!(c.windows(2).all(|w| w[0] != w[1]), "{c:?}");
        let without_writes = cycle(0);
        assert_eq!(without_writes.len(), 20 - WRITE_SLOTS);
        assert!(!without_writes.contains(&Kind::CreateObservation));
    }
}

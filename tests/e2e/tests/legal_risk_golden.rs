//! `legal-risk/1` keeps its numbers: every action in several sets of jurisdictions, on several
//! as-of dates, recomputed over real gRPC on a frozen copy of the dataset of December 2026
//! (`tests/e2e/data/dataset-2026.12.1.toml`), must match the golden file
//! (`tests/e2e/golden/legal-risk-1.txt`) to the bit.
//!
//! The copy is frozen so that records added to `data/dataset.toml` later cannot move the
//! numbers: the golden file pins the model, not the data. Numbers are written as the hex of
//! their f64 bit patterns (and money as units and nanos), so the comparison is exact.
//!
//! The golden file was written before `legal-risk/2` existed, by this test with
//! `LEVERAGE_WRITE_GOLDEN=1`; rewriting it defeats its purpose unless `legal-risk/1` is meant
//! to change, which it never is (a new model gets a new name).

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::fmt::Write as _;
use std::path::PathBuf;

use leverage_core::Dataset;
use leverage_e2e::{Options, TestServer, date};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every action `legal-risk/1` knows.
const ACTIONS: [pb::AssetAction; 5] = [
    pb::AssetAction::Immobilisation,
    pb::AssetAction::WindfallProfits,
    pb::AssetAction::ProfitsBackedLoan,
    pb::AssetAction::ReparationsLoan,
    pb::AssetAction::Confiscation,
];

/// Before the invasion's freeze settled, before and after the Belgian and UK positions, the
/// end of 2025, the dataset's first compilation, around the Moscow judgment, and December 2026.
const DATES: [(i32, i32, i32); 8] = [
    (2022, 3, 1),
    (2024, 1, 1),
    (2025, 6, 30),
    (2025, 12, 31),
    (2026, 3, 1),
    (2026, 5, 20),
    (2026, 6, 1),
    (2026, 12, 1),
];

/// The default (every jurisdiction holding assets), the holders and the jurisdictions that
/// only hold positions, Union members without positions of their own, and the Union itself.
const JURISDICTION_SETS: [&[&str]; 3] = [
    &[],
    &[
        "BE", "FR", "DE", "IT", "LU", "CH", "GB", "US", "JP", "CA", "NO", "HU", "SK", "CZ", "MT",
        "BG", "RU", "EU",
    ],
    &["ES", "NL", "PL", "UA", "AU"],
];

fn money(m: &Option<pb::Money>) -> String {
    match m {
        Some(m) => format!("{} {}.{:09}", m.currency_code, m.units, m.nanos),
        None => "none".into(),
    }
}

fn render(request: &pb::AssessLegalRiskRequest, r: &pb::AssessLegalRiskResponse) -> String {
    let mut out = String::new();
    let d = request.as_of.unwrap();
    writeln!(
        out,
        "assess action={} as_of={:04}-{:02}-{:02} currency={} jurisdictions=[{}]",
        request.action,
        d.year,
        d.month,
        d.day,
        request.currency_code,
        request.jurisdictions.join(",")
    )
    .unwrap();
    writeln!(
        out,
        "  model={} overall={:016x} level={} total={}",
        r.model_version,
        r.overall_risk.to_bits(),
        r.overall_level,
        money(&r.total_at_stake)
    )
    .unwrap();
    for j in &r.jurisdictions {
        writeln!(
            out,
            "  {} risk={:016x} level={} at_stake={}",
            j.jurisdiction,
            j.risk.to_bits(),
            j.level,
            money(&j.assets_at_stake)
        )
        .unwrap();
        for driver in &j.drivers {
            let when = driver
                .date
                .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                .unwrap_or_default();
            writeln!(
                out,
                "    kind={} ref={} contribution={:016x} sources={} date={}",
                driver.kind,
                driver.ref_id,
                driver.contribution.to_bits(),
                driver.sources.len(),
                when
            )
            .unwrap();
        }
    }
    out
}

/// The requests of the golden file, in its order.
fn requests() -> Vec<pb::AssessLegalRiskRequest> {
    let mut out = Vec::new();
    for (y, m, d) in DATES {
        for set in JURISDICTION_SETS {
            for action in ACTIONS {
                out.push(pb::AssessLegalRiskRequest {
                    action: action as i32,
                    jurisdictions: set.iter().map(|j| (*j).to_owned()).collect(),
                    as_of: date(y, m, d),
                    currency_code: "EUR".into(),
                    model: "legal-risk/1".into(),
                });
            }
        }
    }
    // Another currency converts the assets at stake and the weights of the overall figure.
    for action in ACTIONS {
        out.push(pb::AssessLegalRiskRequest {
            action: action as i32,
            jurisdictions: Vec::new(),
            as_of: date(2025, 12, 31),
            currency_code: "USD".into(),
            model: "legal-risk/1".into(),
        });
    }
    out
}

#[tokio::test]
async fn legal_risk_1_returns_the_golden_numbers_bit_for_bit() {
    let frozen = std::fs::read_to_string(e2e_dir().join("data/dataset-2026.12.1.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        Options {
            shipped: Some(Dataset::from_toml(&frozen).unwrap()),
            ..Options::default()
        },
    )
    .await;
    let mut client = LegalRiskServiceClient::new(server.channel().await);
    let mut rendered = String::new();
    let mut method = None;
    for request in requests() {
        let reply = client
            .assess_legal_risk(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.model_version, "legal-risk/1");
        // The method is one paragraph for every answer: written once.
        match &method {
            None => method = Some(reply.method.clone()),
            Some(m) => assert_eq!(m, &reply.method),
        }
        rendered.push_str(&render(&request, &reply));
    }
    let rendered = format!("method={}\n{rendered}", method.unwrap_or_default());
    let golden = e2e_dir().join("golden/legal-risk-1.txt");
    if std::env::var_os("LEVERAGE_WRITE_GOLDEN").is_some() {
        std::fs::write(&golden, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    // Line by line, so that a failure names the first line that moved.
    for (n, (got, want)) in rendered.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "line {} of {}", n + 1, golden.display());
    }
    assert_eq!(
        rendered.lines().count(),
        expected.lines().count(),
        "the golden file and the answers differ in length"
    );
    server.stop().await;
}

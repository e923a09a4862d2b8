//! The page's Legal risk view (`?view=legal`) in headless Chromium against the REAL server:
//! `web/test/legal.test.mjs` opens the heat map, picks a cell with the keyboard, follows the
//! positions timeline, switches model and date, opens the shared URL in a fresh page, and
//! compares every number it shows with what this test got over plain gRPC (tonic) for the same
//! requests.
//!
//! How the page tests run, and what they need: `common/page.rs`.

use std::collections::BTreeSet;

use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

mod common;
use common::page::{self, start_server};

/// The date the view opens on, and the date the test then types in.
const AS_OF: (i32, i32, i32) = (2026, 6, 30);
const OTHER_AS_OF: (i32, i32, i32) = (2025, 12, 31);

/// Every action the heat map has a column for, in its order, with its name in the page's URL.
const ACTIONS: [(pb::AssetAction, &str); 6] = [
    (pb::AssetAction::Immobilisation, "immobilisation"),
    (pb::AssetAction::WindfallProfits, "windfall_profits"),
    (pb::AssetAction::ProfitsBackedLoan, "profits_backed_loan"),
    (pb::AssetAction::ReparationsLoan, "reparations_loan"),
    (pb::AssetAction::Confiscation, "confiscation"),
    (pb::AssetAction::Package2026, "package_2026"),
];

fn text((year, month, day): (i32, i32, i32)) -> String {
    format!("{year:04}-{month:02}-{day:02}")
}

fn date((year, month, day): (i32, i32, i32)) -> Option<pb::Date> {
    leverage_e2e::date(year, month, day)
}

fn driver(d: &pb::RiskDriver) -> Value {
    json!({
        "kind": d.kind,
        "ref_id": d.ref_id,
        "contribution": d.contribution,
        "value": d.value,
    })
}

fn channel(c: &pb::ChannelRisk) -> Value {
    json!({
        "channel": c.channel,
        "risk": c.risk,
        "level": c.level,
        "drivers": c.drivers.iter().map(driver).collect::<Vec<_>>(),
    })
}

/// AssessLegalRisk of every action as of `as_of` with `model`, as the page must show it.
async fn heat_map(
    c: &mut LegalRiskServiceClient<Channel>,
    model: &str,
    as_of: (i32, i32, i32),
) -> Value {
    let mut answers = Vec::new();
    let mut at_stake: Option<Vec<(String, f64)>> = None;
    for (action, slug) in ACTIONS {
        let r = c
            .assess_legal_risk(pb::AssessLegalRiskRequest {
                action: action as i32,
                as_of: date(as_of),
                model: model.into(),
                ..Default::default()
            })
            .await
            .expect("AssessLegalRisk")
            .into_inner();
        // The page shows one "assets at stake" column for all the actions: it must be so.
        let stakes: Vec<(String, f64)> = r
            .jurisdictions
            .iter()
            .map(|j| {
                (
                    j.jurisdiction.clone(),
                    leverage_e2e::amount(&j.assets_at_stake),
                )
            })
            .collect();
        match &at_stake {
            Some(first) => assert_eq!(first, &stakes, "assets at stake differ by action"),
            None => at_stake = Some(stakes),
        }
        answers.push(json!({
            "action": slug,
            "as_of": r.as_of.as_ref().map(|d| text((d.year, d.month, d.day))),
            "model_version": r.model_version,
            "overall_risk": r.overall_risk,
            "overall_level": r.overall_level,
            "total_at_stake": leverage_e2e::amount(&r.total_at_stake),
            "channels": r.channels.iter().map(channel).collect::<Vec<_>>(),
            "combination": r.combination,
            "jurisdictions": r.jurisdictions.iter().map(|j| json!({
                "jurisdiction": j.jurisdiction,
                "risk": j.risk,
                "level": j.level,
                "binding_channel": j.binding_channel,
                "assets_at_stake": leverage_e2e::amount(&j.assets_at_stake),
                "drivers": j.drivers.iter().map(driver).collect::<Vec<_>>(),
                "channels": j.channels.iter().map(channel).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }));
    }
    Value::Array(answers)
}

/// Every position ListPositions gives for (`jurisdiction`, `as_of`), newest first.
async fn positions(
    c: &mut LegalRiskServiceClient<Channel>,
    jurisdiction: &str,
    as_of: (i32, i32, i32),
) -> Vec<pb::Position> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .list_positions(pb::ListPositionsRequest {
                page_size: 1000,
                page_token,
                jurisdiction: jurisdiction.into(),
                as_of: date(as_of),
                ..Default::default()
            })
            .await
            .expect("ListPositions")
            .into_inner();
        out.extend(page.positions);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

fn timeline(list: &[pb::Position]) -> Value {
    list.iter()
        .map(|p| {
            json!({
                "id": p.id,
                "date": p.date.as_ref().map(|d| text((d.year, d.month, d.day))),
                "actor": p.actor,
                "stance": p.stance,
                "actions": p.actions,
                "url": p.source.as_ref().map(|s| s.url.clone()).unwrap_or_default(),
            })
        })
        .collect()
}

/// What the page test asks of the server, answered over plain gRPC.
fn legal_expectations(server: &page::Server) -> Value {
    page::over_grpc(server, |channel| async move {
        let mut c = LegalRiskServiceClient::new(channel);
        let mut assessments = serde_json::Map::new();
        for (model, as_of) in [
            ("legal-risk/2", AS_OF),
            ("legal-risk/1", AS_OF),
            ("legal-risk/1", OTHER_AS_OF),
        ] {
            assessments.insert(
                format!("{model}|{}", text(as_of)),
                heat_map(&mut c, model, as_of).await,
            );
        }
        let mut timelines = serde_json::Map::new();
        let mut jurisdictions = serde_json::Map::new();
        for as_of in [AS_OF, OTHER_AS_OF] {
            let codes: BTreeSet<String> = positions(&mut c, "", as_of)
                .await
                .into_iter()
                .flat_map(|p| p.jurisdictions)
                .collect();
            jurisdictions.insert(text(as_of), json!(codes));
        }
        for (code, as_of) in [("BE", AS_OF), ("BE", OTHER_AS_OF), ("DE", OTHER_AS_OF)] {
            let list = positions(&mut c, code, as_of).await;
            assert!(!list.is_empty(), "{code} has positions by {}", text(as_of));
            timelines.insert(format!("{code}|{}", text(as_of)), timeline(&list));
        }
        json!({
            "as_of": text(AS_OF),
            "other_as_of": text(OTHER_AS_OF),
            "assessments": assessments,
            "positions": timelines,
            "position_jurisdictions": jurisdictions,
        })
    })
}

#[test]
fn the_legal_view_shows_the_apis_heat_map_drivers_and_positions_and_restores_from_its_url() {
    let test =
        "the_legal_view_shows_the_apis_heat_map_drivers_and_positions_and_restores_from_its_url";
    let Some(browser) = page::browser(test) else {
        return;
    };
    let server = start_server(true, &[]);
    let expected = legal_expectations(&server);
    page::run_script(&browser, "legal.test.mjs", &server, &expected, "legal.png");
}

//! The page's Defence funding view (`?view=funding`) in headless Chromium against the REAL
//! server: `web/test/funding.test.mjs` checks that it shows what this test got over plain gRPC
//! (tonic) for the same requests, and that a URL it writes restores the same view:
//!
//! - the instruments (ListInstruments, every page) as of two dates and with a status filter:
//!   names, statuses and their dates, sizes to the unit, legal bases, every milestone's date,
//!   status and source;
//! - every allocation of SAFE and of the ERA loans (ListAllocations, every page): each bar and
//!   table value, largest first per currency, the total per currency and no total across
//!   currencies;
//! - the eligibility checker (CheckEligibility): the verdict, role, cap, conditions and every
//!   reason for an eligible and a not eligible country, and the server's field violation for an
//!   outside share above 100 shown beside its field;
//! - an allocations URL naming no instrument: the server's NOT_FOUND in the page's alert and in
//!   place of the chart, the rest of the view drawn.
//!
//! How the page tests run, and what they need: `common/page.rs`.

use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::defence_funding_service_client::DefenceFundingServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

mod common;
use common::page::{self, start_server};

/// The dates the instruments are compared at: SAFE adopted and the EUR 90 bn loan not yet
/// proposed (an instrument without status), then the dataset's latest state.
const INSTRUMENT_DATES: [&str; 2] = ["2025-06-30", "2026-12-01"];
/// The instruments whose allocations are compared: SAFE (one currency, 19 states) and the ERA
/// loans (one lender per currency: no total across them).
const ALLOCATIONS_OF: [&str; 2] = ["safe", "era-loans"];
/// The day the checks are asked for: after Canada joined SAFE and the UK's talks failed.
const CHECK_DATE: &str = "2026-03-01";

fn date(text: &str) -> pb::Date {
    let mut parts = text
        .split('-')
        .map(|p| p.parse::<i32>().expect("a date part"));
    let mut next = || parts.next().expect("YYYY-MM-DD");
    pb::Date {
        year: next(),
        month: next(),
        day: next(),
    }
}

fn date_text(d: Option<&pb::Date>) -> String {
    d.filter(|d| d.year != 0)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

/// An amount's exact decimal value, as the page writes it in `data-value` ("43734100805",
/// "1.75"): units and nanos, never through a double.
fn decimal(m: &pb::Money) -> String {
    if m.nanos == 0 {
        return m.units.to_string();
    }
    let negative = m.units < 0 || m.nanos < 0;
    let fraction = format!("{:09}", m.nanos.unsigned_abs());
    format!(
        "{}{}.{}",
        if negative { "-" } else { "" },
        m.units.unsigned_abs(),
        fraction.trim_end_matches('0')
    )
}

fn money(m: Option<&pb::Money>) -> Value {
    m.map_or(
        Value::Null,
        |m| json!({ "currency": m.currency_code, "value": decimal(m) }),
    )
}

fn source(s: Option<&pb::Source>) -> Value {
    s.map_or(
        Value::Null,
        |s| json!({ "publisher": s.publisher, "url": s.url }),
    )
}

/// An enum's name without its type's prefix, as the generated TypeScript enums name it.
fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

fn status(value: i32) -> String {
    let s = pb::InstrumentStatus::try_from(value).expect("a known status");
    short(s.as_str_name(), "INSTRUMENT_STATUS_")
}

async fn instruments(c: &mut DefenceFundingServiceClient<Channel>, as_of: &str) -> Vec<Value> {
    let (mut out, mut page_token) = (Vec::new(), String::new());
    loop {
        // Small pages, so that this side reads several (the page asks for the most a page holds).
        let r = c
            .list_instruments(pb::ListInstrumentsRequest {
                page_size: 2,
                page_token,
                as_of: Some(date(as_of)),
            })
            .await
            .expect("ListInstruments")
            .into_inner();
        out.extend(r.instruments.iter().map(|i| {
            json!({
                "name": i.name,
                "id": i.id,
                "display_name": i.display_name,
                "status": status(i.status),
                "status_date": date_text(i.status_date.as_ref()),
                "size": money(i.size.as_ref()),
                "legal_basis": i.legal_basis,
                "milestones": i.milestones.iter().map(|m| json!({
                    "date": date_text(m.date.as_ref()),
                    "status": status(m.status),
                    "text": m.text,
                    "source": source(m.source.as_ref()),
                })).collect::<Vec<_>>(),
                "participants": i.participants.len(),
                "terms": i.terms.len(),
            })
        }));
        if r.next_page_token.is_empty() {
            return out;
        }
        page_token = r.next_page_token;
    }
}

async fn allocations(c: &mut DefenceFundingServiceClient<Channel>, instrument: &str) -> Vec<Value> {
    let (mut out, mut page_token) = (Vec::new(), String::new());
    loop {
        let r = c
            .list_allocations(pb::ListAllocationsRequest {
                parent: format!("instruments/{instrument}"),
                page_size: 4,
                page_token,
                filter: String::new(),
            })
            .await
            .expect("ListAllocations")
            .into_inner();
        out.extend(r.allocations.iter().map(|a| {
            json!({
                "name": a.name,
                "jurisdiction": a.jurisdiction,
                "label": a.label,
                "amount": money(a.amount.as_ref()),
                "as_of": date_text(a.as_of.as_ref()),
                "source": source(a.source.as_ref()),
            })
        }));
        if r.next_page_token.is_empty() {
            return out;
        }
        page_token = r.next_page_token;
    }
}

fn check_request(country: &str, share: Option<f64>) -> pb::CheckEligibilityRequest {
    pb::CheckEligibilityRequest {
        instrument: "instruments/safe".into(),
        country: country.into(),
        as_of: Some(date(CHECK_DATE)),
        outside_component_share_pct: share,
    }
}

/// A check the page is to run, with the answer tonic got: the form's fields and the answer.
async fn check(
    c: &mut DefenceFundingServiceClient<Channel>,
    country: &str,
    share: Option<f64>,
) -> Value {
    let a = c
        .check_eligibility(check_request(country, share))
        .await
        .expect("CheckEligibility")
        .into_inner();
    let eligibility = pb::Eligibility::try_from(a.eligibility).expect("a known eligibility");
    let role = pb::ParticipantRole::try_from(a.role).expect("a known role");
    json!({
        "fields": { "instrument": "safe", "country": country, "as_of": CHECK_DATE, "share": share },
        "eligibility": short(eligibility.as_str_name(), "ELIGIBILITY_"),
        "eligible": a.eligible,
        "role": short(role.as_str_name(), "PARTICIPANT_ROLE_"),
        "cap_pct": a.cap_pct,
        "conditions": a.conditions,
        "reasons": a.reasons.iter().map(|r| json!({
            "text": r.text,
            "date": date_text(r.date.as_ref()),
            "source": source(r.source.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

fn expectations(server: &page::Server) -> Value {
    page::over_grpc(server, |channel| async move {
        let mut c = DefenceFundingServiceClient::new(channel);

        let mut by_date = serde_json::Map::new();
        for as_of in INSTRUMENT_DATES {
            by_date.insert(as_of.into(), Value::Array(instruments(&mut c, as_of).await));
        }
        let early = &by_date[INSTRUMENT_DATES[0]];
        assert!(
            early
                .as_array()
                .expect("a list")
                .iter()
                .any(|i| i["status"] == "UNSPECIFIED"),
            "on {} some instrument must have no status yet, for the page to show one: {early}",
            INSTRUMENT_DATES[0]
        );

        let mut by_instrument = serde_json::Map::new();
        for id in ALLOCATIONS_OF {
            by_instrument.insert(id.into(), Value::Array(allocations(&mut c, id).await));
        }
        let era_currencies: std::collections::BTreeSet<_> = by_instrument["era-loans"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|a| a["amount"]["currency"].clone().to_string())
            .collect();
        assert!(
            era_currencies.len() > 1,
            "the ERA loans are to show amounts in several currencies: {era_currencies:?}"
        );

        // Canada concluded its agreement before the date: fully eligible, the share unstated.
        let eligible = check(&mut c, "CA", None).await;
        assert_eq!(eligible["eligibility"], "ELIGIBLE", "{eligible}");
        // The UK has none: its components count as outside, and 40% is above the 35% cap.
        let not_eligible = check(&mut c, "GB", Some(40.0)).await;
        assert_eq!(
            not_eligible["eligibility"], "NOT_ELIGIBLE",
            "{not_eligible}"
        );
        assert!(
            not_eligible["reasons"].as_array().expect("reasons").len() > 1,
            "{not_eligible}"
        );

        let refused = c
            .check_eligibility(check_request("GB", Some(150.0)))
            .await
            .expect_err("an outside share above 100 is refused");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
        let violations = page::field_violations(&refused);
        assert!(
            violations
                .iter()
                .any(|v| v["field"] == "outside_component_share_pct"),
            "{violations:?}"
        );

        let missing = c
            .list_allocations(pb::ListAllocationsRequest {
                parent: "instruments/no-such-instrument".into(),
                ..Default::default()
            })
            .await
            .expect_err("no instrument has that name");
        assert_eq!(missing.code(), tonic::Code::NotFound, "{missing:?}");

        json!({
            "instruments": by_date,
            "missing": { "id": "no-such-instrument", "message": missing.message() },
            "allocations": by_instrument,
            "checks": { "eligible": eligible, "not_eligible": not_eligible },
            "refused": {
                "fields": { "instrument": "safe", "country": "GB", "as_of": CHECK_DATE, "share": 150.0 },
                "violations": violations,
            },
        })
    })
}

#[test]
fn the_funding_view_shows_the_apis_numbers_and_restores_from_its_url() {
    let Some(browser) =
        page::browser("the_funding_view_shows_the_apis_numbers_and_restores_from_its_url")
    else {
        return;
    };
    let server = start_server(true, &[]);
    let expected = expectations(&server);
    page::run_script(
        &browser,
        "funding.test.mjs",
        &server,
        &expected,
        "funding.png",
    );
}

//! `legal-risk/2` over real gRPC: the model is chosen by name, positions are weighed (not
//! counted), EU-level positions reach member states, and Belgium's damages channel carries
//! the Moscow judgment from its enforcement on.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TestServer, amount, authorized, date, violated_fields};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

type Client = LegalRiskServiceClient<Channel>;

fn request(
    action: pb::AssetAction,
    jurisdictions: &[&str],
    as_of: (i32, i32, i32),
    model: &str,
) -> pb::AssessLegalRiskRequest {
    pb::AssessLegalRiskRequest {
        action: action as i32,
        jurisdictions: jurisdictions.iter().map(|j| (*j).to_owned()).collect(),
        as_of: date(as_of.0, as_of.1, as_of.2),
        currency_code: "EUR".into(),
        model: model.into(),
    }
}

async fn assess(
    c: &mut Client,
    action: pb::AssetAction,
    jurisdiction: &str,
    as_of: (i32, i32, i32),
    model: &str,
) -> pb::JurisdictionRisk {
    let reply = c
        .assess_legal_risk(request(action, &[jurisdiction], as_of, model))
        .await
        .unwrap()
        .into_inner();
    reply.jurisdictions.into_iter().next().unwrap()
}

fn channel(j: &pb::JurisdictionRisk, which: pb::LegalChannel) -> &pb::ChannelRisk {
    j.channels
        .iter()
        .find(|c| c.channel == which as i32)
        .unwrap()
}

/// The numbers of an answer, to the bit: the risk and each channel's risk.
fn numbers(j: &pb::JurisdictionRisk) -> Vec<u64> {
    std::iter::once(j.risk.to_bits())
        .chain(j.channels.iter().map(|c| c.risk.to_bits()))
        .collect()
}

fn position(
    jurisdictions: &[&str],
    actor: &str,
    actor_id: &str,
    kind: pb::ActorKind,
    action: pb::AssetAction,
    stance: pb::Stance,
    on: (i32, i32, i32),
) -> pb::Position {
    pb::Position {
        jurisdictions: jurisdictions.iter().map(|j| (*j).to_owned()).collect(),
        actor: actor.into(),
        actor_id: actor_id.into(),
        actor_kind: kind as i32,
        actions: vec![action as i32],
        stance: stance as i32,
        summary: "A statement written for the test.".into(),
        date: date(on.0, on.1, on.2),
        source: Some(pb::Source {
            publisher: "Test desk (synthetic position)".into(),
            ..Default::default()
        }),
        confidence: pb::Confidence::Medium as i32,
        ..Default::default()
    }
}

async fn create(c: &mut Client, id: &str, p: pb::Position) {
    c.create_position(authorized(pb::CreatePositionRequest {
        position_id: id.into(),
        position: Some(p),
    }))
    .await
    .unwrap();
}

async fn delete(c: &mut Client, id: &str) {
    c.delete_position(authorized(pb::DeletePositionRequest {
        name: format!("positions/{id}"),
    }))
    .await
    .unwrap();
}

#[tokio::test]
async fn the_model_is_chosen_by_name_and_an_unknown_name_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let action = pb::AssetAction::ReparationsLoan;
    let latest = c
        .assess_legal_risk(request(action, &["BE"], (2026, 6, 1), ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(latest.model_version, "legal-risk/2");
    assert_eq!(latest.channels.len(), 3);
    assert!(!latest.combination.is_empty());
    let named = c
        .assess_legal_risk(request(action, &["BE"], (2026, 6, 1), "legal-risk/2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(latest, named);
    let v1 = c
        .assess_legal_risk(request(action, &["BE"], (2026, 6, 1), "legal-risk/1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v1.model_version, "legal-risk/1");
    assert!(v1.channels.is_empty() && v1.jurisdictions[0].channels.is_empty());

    let err = c
        .assess_legal_risk(request(action, &["BE"], (2026, 6, 1), "legal-risk/9"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["model"]);
    let why = err.get_details_bad_request().unwrap().field_violations[0]
        .description
        .clone();
    assert!(
        why.contains("legal-risk/1") && why.contains("legal-risk/2"),
        "{why}"
    );
}

#[tokio::test]
async fn one_actor_repeating_itself_does_not_move_legal_risk_2() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let action = pb::AssetAction::ReparationsLoan;
    let on = (2026, 6, 1);
    let before = assess(&mut c, action, "DE", on, "legal-risk/2").await;
    let v1_before = assess(&mut c, action, "DE", on, "legal-risk/1").await;
    // The German government's support of 2025-09-25, recorded a second time.
    let again = position(
        &["DE"],
        "Chancellor Friedrich Merz (same op-ed, reported again)",
        "de-government",
        pb::ActorKind::Government,
        action,
        pb::Stance::Supports,
        (2025, 9, 25),
    );
    create(&mut c, "pos-germany-merz-again", again).await;
    let after = assess(&mut c, action, "DE", on, "legal-risk/2").await;
    let v1_after = assess(&mut c, action, "DE", on, "legal-risk/1").await;
    assert_eq!(numbers(&after), numbers(&before));
    // legal-risk/1 counts statements, which is what legal-risk/2 corrects.
    assert!(v1_after.risk < v1_before.risk);
    // One of the two counts, not both.
    let annulment = channel(&after, pb::LegalChannel::Annulment);
    let counted: Vec<&str> = annulment
        .drivers
        .iter()
        .filter(|d| d.kind == pb::DriverKind::Position as i32)
        .map(|d| d.ref_id.as_str())
        .filter(|id| id.starts_with("pos-germany-merz"))
        .collect();
    assert_eq!(counted.len(), 1, "{counted:?}");
}

#[tokio::test]
async fn a_government_moves_legal_risk_2_more_than_a_company_saying_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let action = pb::AssetAction::Confiscation;
    let on = (2026, 6, 1);
    let said = (2026, 5, 1);
    let baseline = assess(&mut c, action, "ES", on, "").await.risk;
    let government = position(
        &["ES"],
        "Spanish government (test)",
        "es-government",
        pb::ActorKind::Government,
        action,
        pb::Stance::Opposes,
        said,
    );
    create(&mut c, "pos-es-government", government).await;
    let by_government = assess(&mut c, action, "ES", on, "").await;
    delete(&mut c, "pos-es-government").await;
    let company = position(
        &["ES"],
        "A Spanish bank (test)",
        "es-bank",
        pb::ActorKind::Company,
        action,
        pb::Stance::Opposes,
        said,
    );
    create(&mut c, "pos-es-company", company).await;
    let by_company = assess(&mut c, action, "ES", on, "").await;
    assert!(
        by_company.risk > baseline,
        "{} vs {baseline}",
        by_company.risk
    );
    assert!(
        by_government.risk > by_company.risk,
        "government {} vs company {}",
        by_government.risk,
        by_company.risk
    );
    // Each position's weight (authority x recency) is in its driver, with the authority
    // coefficient it came from.
    let weight = |j: &pb::JurisdictionRisk, id: &str| {
        channel(j, pb::LegalChannel::Annulment)
            .drivers
            .iter()
            .find(|d| d.ref_id == id)
            .unwrap()
            .value
    };
    assert!(weight(&by_government, "pos-es-government") > weight(&by_company, "pos-es-company"));
    for (answer, coefficient) in [
        (&by_government, "LR2-AUTHORITY-GOVERNMENT"),
        (&by_company, "LR2-AUTHORITY-COMPANY"),
    ] {
        assert!(
            channel(answer, pb::LegalChannel::Annulment)
                .drivers
                .iter()
                .any(|d| d.kind == pb::DriverKind::Coefficient as i32 && d.ref_id == coefficient),
            "{coefficient}"
        );
    }
}

#[tokio::test]
async fn an_eu_institutions_position_reaches_member_states_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let on = (2026, 6, 1);
    // The ECB's position in the dataset speaks for "EU" and shows in Spain's drivers.
    let spain = assess(&mut c, pb::AssetAction::Confiscation, "ES", on, "").await;
    let drivers = &channel(&spain, pb::LegalChannel::Annulment).drivers;
    assert!(drivers.iter().any(|d| d.ref_id == "pos-ecb-lagarde"));

    // A new Commission position moves a member state, and not the United Kingdom.
    let action = pb::AssetAction::Immobilisation;
    let es_before = assess(&mut c, action, "ES", on, "").await;
    let gb_before = assess(&mut c, action, "GB", on, "").await;
    let commission = position(
        &["EU"],
        "European Commission (test)",
        "european-commission",
        pb::ActorKind::EuInstitution,
        action,
        pb::Stance::Opposes,
        (2026, 5, 1),
    );
    create(&mut c, "pos-commission-test", commission).await;
    let es_after = assess(&mut c, action, "ES", on, "").await;
    let gb_after = assess(&mut c, action, "GB", on, "").await;
    let annulment = |j: &pb::JurisdictionRisk| channel(j, pb::LegalChannel::Annulment).risk;
    assert!(annulment(&es_after) > annulment(&es_before));
    assert!(
        channel(&es_after, pb::LegalChannel::Annulment)
            .drivers
            .iter()
            .any(|d| d.ref_id == "pos-commission-test")
    );
    assert_eq!(numbers(&gb_after), numbers(&gb_before));
}

#[tokio::test]
async fn belgiums_damages_carry_the_moscow_judgment_from_its_enforcement_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let action = pb::AssetAction::Immobilisation;
    let after = assess(&mut c, action, "BE", (2026, 5, 26), "").await;
    let damages = channel(&after, pb::LegalChannel::Damages);
    let award = damages
        .drivers
        .iter()
        .find(|d| d.ref_id == "EC-014")
        .expect("the award is a driver");
    assert_eq!(award.kind, pb::DriverKind::Claim as i32);
    assert_eq!(award.forum, "Moscow Arbitration Court");
    assert!(award.enforceable_in.contains(&"RU".to_owned()));
    assert!(!award.enforceable_in.contains(&"BE".to_owned()));
    // About USD 252 bn, converted to euros.
    let awarded = amount(&award.amount);
    assert!((150e9..300e9).contains(&awarded), "{awarded}");
    assert_eq!(amount(&damages.awarded), awarded);
    assert!(!award.sources.is_empty() && !award.sources[0].url.is_empty());
    // The award replaces the claim it decides.
    assert!(damages.drivers.iter().all(|d| d.ref_id != "EC-012"));

    let before = assess(&mut c, action, "BE", (2026, 5, 25), "").await;
    let damages_before = channel(&before, pb::LegalChannel::Damages);
    assert!(damages_before.drivers.iter().all(|d| d.ref_id != "EC-014"));
    assert_eq!(amount(&damages_before.awarded), 0.0);
    assert!(damages_before.drivers.iter().any(|d| d.ref_id == "EC-012"));
    assert!(damages.risk > damages_before.risk);

    // France's custodians are not Euroclear: no Moscow judgment there.
    let france = assess(&mut c, action, "FR", (2026, 6, 1), "").await;
    let fr = channel(&france, pb::LegalChannel::Damages);
    assert!(
        fr.drivers
            .iter()
            .all(|d| d.kind != pb::DriverKind::Claim as i32)
    );
    assert_eq!(amount(&fr.awarded), 0.0);
}

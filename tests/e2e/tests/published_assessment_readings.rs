//! Published assessments carry the actions they speak about and their verdict read as a risk
//! level (the project's reading), over real gRPC: every assessment of the dataset has both,
//! and both are written and validated through the API like the other fields.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{TestServer, authorized, date, violated_fields};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;
use prost_types::FieldMask;
use tonic::Code;

async fn listed(
    c: &mut LegalRiskServiceClient<tonic::transport::Channel>,
) -> Vec<pb::PublishedAssessment> {
    c.list_published_assessments(pb::ListPublishedAssessmentsRequest {
        page_size: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .published_assessments
}

#[tokio::test]
async fn every_published_assessment_says_what_it_is_about_and_how_risky_we_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let all = listed(&mut c).await;
    assert!(all.len() >= 7);
    for a in &all {
        assert!(!a.actions.is_empty(), "{} names no action", a.id);
        assert_ne!(
            a.risk_level,
            pb::RiskLevel::Unspecified as i32,
            "{} has no risk level",
            a.id
        );
    }
    // The readings differ: Covington's "small" risk is not Belgium's "may exceed the assets".
    let level = |id: &str| all.iter().find(|a| a.id == id).unwrap().risk_level;
    assert_eq!(level("assess-covington-2025-12"), pb::RiskLevel::Low as i32);
    assert_eq!(
        level("assess-belgium-2025-12-04"),
        pb::RiskLevel::Severe as i32
    );
}

fn assessment() -> pb::PublishedAssessment {
    pb::PublishedAssessment {
        author: "Test & Partners LLP".into(),
        date: date(2026, 1, 15),
        subject: "Litigation risk of the reparations loan (test)".into(),
        conclusion: "Moderate.".into(),
        source: Some(pb::Source {
            publisher: "Test desk (synthetic assessment)".into(),
            ..Default::default()
        }),
        confidence: pb::Confidence::Low as i32,
        actions: vec![
            pb::AssetAction::ReparationsLoan as i32,
            pb::AssetAction::Confiscation as i32,
        ],
        risk_level: pb::RiskLevel::Moderate as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn actions_and_risk_level_are_written_updated_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut c = LegalRiskServiceClient::new(server.channel().await);
    let created = c
        .create_published_assessment(authorized(pb::CreatePublishedAssessmentRequest {
            published_assessment_id: "assess-test".into(),
            published_assessment: Some(assessment()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.actions, assessment().actions);
    assert_eq!(created.risk_level, pb::RiskLevel::Moderate as i32);
    let updated = c
        .update_published_assessment(authorized(pb::UpdatePublishedAssessmentRequest {
            published_assessment: Some(pb::PublishedAssessment {
                id: "assess-test".into(),
                risk_level: pb::RiskLevel::High as i32,
                actions: vec![pb::AssetAction::Immobilisation as i32],
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["risk_level".into()],
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.risk_level, pb::RiskLevel::High as i32);
    assert_eq!(updated.actions, assessment().actions, "not in the mask");
    let listed = listed(&mut c).await;
    assert_eq!(
        listed.iter().find(|a| a.id == "assess-test"),
        Some(&updated)
    );

    let err = c
        .create_published_assessment(authorized(pb::CreatePublishedAssessmentRequest {
            published_assessment_id: "assess-bad".into(),
            published_assessment: Some(pb::PublishedAssessment {
                actions: vec![
                    pb::AssetAction::Confiscation as i32,
                    pb::AssetAction::Confiscation as i32,
                    0,
                ],
                risk_level: 99,
                ..assessment()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&err),
        [
            "published_assessment.actions[1]",
            "published_assessment.actions[2]",
            "published_assessment.risk_level"
        ]
    );
}

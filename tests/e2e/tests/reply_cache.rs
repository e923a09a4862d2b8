//! The reply cache never answers with a stale or a wrong reply: a repeated read gets the same
//! bytes, a write is seen at once, a pinned read gets its own version, an error is not kept,
//! and a server without the cache answers the same.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{Options, TestServer, authorized};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_server::Limits;
use tonic::Code;
use tonic::transport::Channel;

const SWISS: &str = "holdings/switzerland-central-bank";

async fn get(c: &mut AssetServiceClient<Channel>, version: Option<&str>) -> (pb::Holding, String) {
    let mut request = tonic::Request::new(pb::GetHoldingRequest {
        name: SWISS.into(),
        as_of: None,
    });
    if let Some(v) = version {
        request
            .metadata_mut()
            .insert("leverage-dataset-version", v.parse().unwrap());
    }
    let reply = c.get_holding(request).await.unwrap();
    let served = reply
        .metadata()
        .get("leverage-dataset-version")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    (reply.into_inner(), served)
}

async fn edit_and_read_back(limits: Limits) -> Vec<(pb::Holding, String)> {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        Options {
            limits,
            ..Options::default()
        },
    )
    .await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let mut seen = Vec::new();
    let first = get(&mut c, None).await;
    seen.push(first.clone());
    seen.push(get(&mut c, None).await);
    let mut h = first.0.clone();
    h.custodian = "Swiss National Bank (edited)".into();
    c.update_holding(authorized(pb::UpdateHoldingRequest {
        holding: Some(h),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["custodian".into()],
        }),
    }))
    .await
    .unwrap();
    seen.push(get(&mut c, None).await);
    seen.push(get(&mut c, Some(&first.1)).await);
    seen.push(get(&mut c, None).await);

    // An error is not kept: once the holding is gone and a read fails, that failure does not
    // outlive the next version.
    c.delete_holding(authorized(pb::DeleteHoldingRequest {
        name: SWISS.into(),
        ..Default::default()
    }))
    .await
    .unwrap();
    let err = c
        .get_holding(pb::GetHoldingRequest {
            name: SWISS.into(),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    seen.push(get(&mut c, Some(&first.1)).await);
    seen
}

#[tokio::test]
async fn cached_replies_are_never_stale_and_equal_uncached_ones() {
    let cached = edit_and_read_back(Limits::default()).await;
    let [
        first,
        again,
        after_write,
        pinned,
        newest,
        pinned_after_delete,
    ] = <[_; 6]>::try_from(cached.clone()).unwrap();
    assert_eq!(first, again, "a repeated read gets the same reply");
    assert_eq!(after_write.0.custodian, "Swiss National Bank (edited)");
    assert_ne!(after_write.1, first.1, "the write made a new version");
    assert_eq!(pinned, first, "a read pinned to the first version gets it");
    assert_eq!(
        newest, after_write,
        "and the newest is still the edited one"
    );
    assert_eq!(pinned_after_delete, first);

    let uncached = edit_and_read_back(Limits {
        reply_cache_bytes: 0,
        ..Limits::default()
    })
    .await;
    let strip = |v: &[(pb::Holding, String)]| -> Vec<pb::Holding> {
        v.iter()
            .map(|(h, _)| {
                let mut h = h.clone();
                // Edit times differ between the two servers, and so do the etags of edited
                // records, which digest the audit fields too (within one server they are
                // compared above).
                h.update_time = None;
                if h.updated_by.is_empty() {
                    assert!(!h.etag.is_empty(), "a holding carries its etag");
                } else {
                    h.etag.clear();
                }
                h
            })
            .collect()
    };
    assert_eq!(strip(&cached), strip(&uncached));
}

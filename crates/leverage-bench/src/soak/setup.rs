//! Before the soak: the editor token it writes with, and the holdings it writes to.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use leverage_proto::leverage::v1 as api;
use tonic::Request;
use tonic::metadata::AsciiMetadataValue;

use super::calls::{Conn, WriteTarget};
use super::mix::{WRITE_HOLDINGS, WRITE_JURISDICTIONS};
use crate::load::date;

pub(super) fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The token's digest, from the server binary itself (`leverage token hash`).
pub(super) fn token_digest(bin: &Path, token: &str) -> anyhow::Result<String> {
    let mut child = Command::new(bin)
        .args(["token", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{} token hash", bin.display()))?;
    child
        .stdin
        .take()
        .context("stdin of token hash")?
        .write_all(token.as_bytes())?;
    let out = child.wait_with_output()?;
    let digest = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || digest.len() != 64 {
        bail!(
            "`leverage token hash` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(digest)
}

/// Creates the holdings written to: located, sanctioned entities' cash, SYNTHETIC in their
/// scope and source, each with a first observation of EUR 1 bn dated 2026-01-31.
pub(super) async fn write_targets(
    conn: &Conn,
    bearer: &AsciiMetadataValue,
    tag: &str,
) -> anyhow::Result<Vec<WriteTarget>> {
    let mut out = Vec::with_capacity(WRITE_HOLDINGS);
    for i in 0..WRITE_HOLDINGS {
        let id = format!("soak-{tag}-h{i}");
        let mut request = Request::new(api::CreateHoldingRequest {
            holding_id: id.clone(),
            holding: Some(api::Holding {
                kind: api::HoldingKind::Located as i32,
                scope: format!("SYNTHETIC holding {i} of the leverage-bench soak run {tag}"),
                owner_kind: api::OwnerKind::SanctionedEntities as i32,
                jurisdiction: WRITE_JURISDICTIONS[i % WRITE_JURISDICTIONS.len()].into(),
                instrument: api::AssetInstrument::Cash as i32,
                observations: vec![api::Observation {
                    amount: Some(api::Money {
                        currency_code: "EUR".into(),
                        units: 1_000_000_000,
                        nanos: 0,
                    }),
                    as_of: date(2026, 1, 31),
                    source: Some(api::Source {
                        publisher: "leverage-bench soak (synthetic write)".into(),
                        title: "SYNTHETIC soak-test holding".into(),
                        ..api::Source::default()
                    }),
                    confidence: api::Confidence::Low as i32,
                    ..api::Observation::default()
                }],
                ..api::Holding::default()
            }),
        });
        request
            .metadata_mut()
            .insert("authorization", bearer.clone());
        let created = conn
            .assets
            .clone()
            .create_holding(request)
            .await
            .with_context(|| format!("CreateHolding {id}"))?
            .into_inner();
        out.push(WriteTarget {
            name: created.name,
            currency: "EUR".into(),
        });
    }
    Ok(out)
}

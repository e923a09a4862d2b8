//! `leverage data`: the dataset's versions, a record's history, import, export and compaction,
//! from a terminal (client of a running server).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use serde_json::json;
use tokio_stream::StreamExt;

use crate::client::{Compressed, Connection, channel, explain, table};

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Import a file: the TOML of data/dataset.toml, a CSV of observations or exchange rates,
    /// or the ECB's reference-rate CSV. Every row is checked first; then the difference is
    /// shown and applied as one dataset version (not with --dry-run). Needs --token.
    Import {
        /// The file (.toml or .csv).
        file: PathBuf,
        /// Check and show what would change; store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the whole dataset (at --dataset-version, or the newest) as TOML.
    Export {
        /// Where to write; standard output by default.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The dataset's versions, newest first: who, when, how, why, what changed.
    Versions {
        /// How many versions to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Every value a record had, e.g. `holdings/euroclear-sanctioned-russian/observations/EC-008`.
    History {
        /// The record's resource name.
        name: String,
    },
    /// Forget the values older versions alone could see; reads below the oldest kept version
    /// are refused from then on. Needs an admin --token.
    Compact {
        /// Keep the newest N versions.
        #[arg(long)]
        keep_latest: u32,
    },
}

fn origin(o: i32) -> &'static str {
    match pb::DatasetVersionOrigin::try_from(o) {
        Ok(pb::DatasetVersionOrigin::Edit) => "edit",
        Ok(pb::DatasetVersionOrigin::Import) => "import",
        Ok(pb::DatasetVersionOrigin::Shipped) => "shipped",
        _ => "-",
    }
}

fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map_or("-".into(), |t| {
        let days = t.seconds.div_euclid(86_400);
        let secs = t.seconds.rem_euclid(86_400);
        let date = leverage_core::Date::from_days_since_epoch(days)
            .map_or_else(|_| "-".to_owned(), |d| d.to_string());
        format!(
            "{date} {:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    })
}

pub async fn data(c: &Connection, command: DataCommand) -> anyhow::Result<()> {
    let mut client = DatasetServiceClient::new(channel(c).await?).compressed(c.compression);
    match command {
        DataCommand::Import { file, dry_run } => {
            let content =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let file_name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let r = client
                .import_dataset(pb::ImportDatasetRequest {
                    file_name,
                    content,
                    dry_run,
                })
                .await
                .map_err(explain)?
                .into_inner();
            if c.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "import_id": r.import_id, "applied": r.applied,
                        "dataset_version": r.dataset_version, "added": r.added,
                        "changed": r.changed, "unchanged": r.unchanged_count,
                        "conflicts": r.conflicts.iter().map(|c| json!({"name": c.name, "detail": c.detail})).collect::<Vec<_>>(),
                    }))?
                );
                return Ok(());
            }
            let mut rows: Vec<Vec<String>> = Vec::new();
            rows.extend(
                r.added
                    .iter()
                    .map(|n| vec!["added".into(), n.clone(), String::new()]),
            );
            rows.extend(
                r.changed
                    .iter()
                    .map(|n| vec!["changed".into(), n.clone(), String::new()]),
            );
            rows.extend(r.conflicts.iter().map(|c| {
                vec![
                    "conflict (kept local)".into(),
                    c.name.clone(),
                    c.detail.clone(),
                ]
            }));
            if !rows.is_empty() {
                table(&["change", "record", "detail"], &rows);
            }
            let verb = if r.applied {
                format!("applied as dataset version {}", r.dataset_version)
            } else if dry_run {
                "dry run: nothing stored".to_owned()
            } else {
                format!(
                    "nothing to apply; dataset version stays {}",
                    r.dataset_version
                )
            };
            println!(
                "import {}: {} added, {} changed, {} unchanged, {} conflicting with local edits; {verb}",
                r.import_id,
                r.added.len(),
                r.changed.len(),
                r.unchanged_count,
                r.conflicts.len()
            );
        }
        DataCommand::Export { output } => {
            let mut stream = client
                .export_dataset(pb::ExportDatasetRequest {})
                .await
                .map_err(explain)?
                .into_inner();
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut version = 0;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(explain)?;
                version = chunk.dataset_version;
                out.write_all(&chunk.content)?;
            }
            out.flush()?;
            if let Some(path) = output {
                eprintln!("wrote dataset version {version} to {}", path.display());
            }
        }
        DataCommand::Versions { limit } => {
            let mut versions = Vec::new();
            let mut token = String::new();
            while versions.len() < limit {
                let page = client
                    .list_dataset_versions(pb::ListDatasetVersionsRequest {
                        page_size: (limit - versions.len()).min(1000) as i32,
                        page_token: token,
                    })
                    .await
                    .map_err(explain)?
                    .into_inner();
                versions.extend(page.dataset_versions);
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            if c.json {
                let list: Vec<_> = versions
                    .iter()
                    .map(|v| {
                        json!({
                            "dataset_version": v.dataset_version, "time": time(&v.create_time),
                            "author": v.author, "origin": origin(v.origin), "import_id": v.import_id,
                            "summary": v.summary, "reason": v.reason, "change_count": v.change_count,
                            "changes": v.changes.iter().map(|c| &c.name).collect::<Vec<_>>(),
                            "conflicts": v.conflicts.iter().map(|c| json!({"name": c.name, "detail": c.detail})).collect::<Vec<_>>(),
                            "compacted": v.compacted,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let rows: Vec<Vec<String>> = versions
                    .iter()
                    .map(|v| {
                        vec![
                            v.dataset_version.to_string(),
                            time(&v.create_time),
                            v.author.clone(),
                            origin(v.origin).to_owned(),
                            v.change_count.to_string(),
                            v.conflicts.len().to_string(),
                            if v.reason.is_empty() {
                                v.summary.clone()
                            } else {
                                format!("{} ({})", v.summary, v.reason)
                            },
                        ]
                    })
                    .collect();
                table(
                    &[
                        "version",
                        "time",
                        "author",
                        "origin",
                        "changes",
                        "conflicts",
                        "what",
                    ],
                    &rows,
                );
            }
        }
        DataCommand::History { name } => {
            let versions = client
                .list_record_versions(pb::ListRecordVersionsRequest { name })
                .await
                .map_err(explain)?
                .into_inner()
                .record_versions;
            if c.json {
                let list: Vec<_> = versions
                    .iter()
                    .map(|v| {
                        let record: serde_json::Value =
                            serde_json::from_str(&v.record_json).unwrap_or_default();
                        json!({
                            "dataset_version": v.dataset_version,
                            "superseded_in_version": v.superseded_in_version,
                            "author": v.author, "time": time(&v.create_time),
                            "origin": origin(v.origin), "reason": v.reason,
                            "superseded_by": v.superseded_by, "superseded_reason": v.superseded_reason,
                            "deleted": v.deleted, "record": record,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let rows: Vec<Vec<String>> = versions
                    .iter()
                    .map(|v| {
                        let until = match (v.superseded_in_version, v.deleted) {
                            (0, _) => "in force".to_owned(),
                            (u, true) => format!("withdrawn in {u} by {}", v.superseded_by),
                            (u, false) => format!("replaced in {u} by {}", v.superseded_by),
                        };
                        vec![
                            v.dataset_version.to_string(),
                            until,
                            v.author.clone(),
                            time(&v.create_time),
                            v.reason.clone(),
                            v.record_json.clone(),
                        ]
                    })
                    .collect();
                table(
                    &["since", "until", "author", "time", "reason", "value"],
                    &rows,
                );
            }
        }
        DataCommand::Compact { keep_latest } => {
            let r = client
                .compact_dataset_versions(pb::CompactDatasetVersionsRequest {
                    oldest_dataset_version: 0,
                    keep_latest: i32::try_from(keep_latest).unwrap_or(i32::MAX),
                })
                .await
                .map_err(explain)?
                .into_inner();
            println!(
                "oldest readable dataset version: {}; {} superseded values forgotten",
                r.oldest_dataset_version, r.removed_values
            );
        }
    }
    Ok(())
}

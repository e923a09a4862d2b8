//! The dataset's versions as the API shows them: the list of versions, each record's history,
//! import, export and compaction. The handlers in `dataset.rs` call these.

use std::sync::Arc;

use leverage_core::Snapshot;
use leverage_core::files::{self, FileProblem};
use leverage_core::paging::{PageRequest, fingerprint};
use leverage_core::record::{Record, RecordKey};
use leverage_proto::leverage::v1 as pb;
use leverage_store::{ChangeKind, Repository, VersionInfo};
use sha2::{Digest, Sha256};
use tonic::Status;

use crate::assets::observation;
use crate::convert::timestamp;
use crate::error;

/// Most record changes listed per version; `change_count` gives the rest.
const CHANGES_LISTED: usize = 100;
/// Size of one chunk of an export.
pub const EXPORT_CHUNK: usize = 1 << 20;

fn origin(o: &str) -> i32 {
    (match o {
        "edit" => pb::DatasetVersionOrigin::Edit,
        "import" => pb::DatasetVersionOrigin::Import,
        "shipped" => pb::DatasetVersionOrigin::Shipped,
        _ => pb::DatasetVersionOrigin::Unspecified,
    }) as i32
}

fn conflict(c: &leverage_store::Conflict) -> pb::MergeConflict {
    pb::MergeConflict {
        name: c.name.clone(),
        detail: c.detail.clone(),
    }
}

fn version_message(v: &VersionInfo, oldest: u64) -> pb::DatasetVersion {
    pb::DatasetVersion {
        dataset_version: v.revision as i64,
        create_time: timestamp(v.time),
        author: v.actor.clone(),
        origin: origin(&v.origin),
        import_id: v.import_id.clone().unwrap_or_default(),
        summary: v.summary.clone(),
        reason: v.reason.clone().unwrap_or_default(),
        changes: v
            .changes
            .iter()
            .take(CHANGES_LISTED)
            .map(|(name, kind)| pb::RecordChange {
                name: name.clone(),
                r#type: (match kind {
                    ChangeKind::Created => pb::RecordChangeType::Created,
                    ChangeKind::Updated => pb::RecordChangeType::Updated,
                    ChangeKind::Deleted => pb::RecordChangeType::Deleted,
                }) as i32,
            })
            .collect(),
        change_count: i32::try_from(v.changes.len()).unwrap_or(i32::MAX),
        conflicts: v.conflicts.iter().map(conflict).collect(),
        compacted: v.revision < oldest,
    }
}

/// A page of versions, newest first.
pub fn list_versions(
    repo: &Repository,
    r: &pb::ListDatasetVersionsRequest,
) -> Result<pb::ListDatasetVersionsResponse, Status> {
    let page = PageRequest::parse(r.page_size, &r.page_token, fingerprint(&["versions"]))
        .map_err(error::domain)?;
    // The token carries the version to continue below (0: from the newest).
    let below = (page.offset > 0).then_some(page.offset as u64);
    let store = repo.store();
    let mut versions = store.versions(below, page.size + 1).map_err(error::store)?;
    let more = versions.len() > page.size;
    versions.truncate(page.size);
    let oldest = store.oldest().map_err(error::store)?;
    let next_page_token = match versions.last() {
        Some(last) if more => page.token_for(last.revision),
        _ => String::new(),
    };
    Ok(pb::ListDatasetVersionsResponse {
        dataset_versions: versions
            .iter()
            .map(|v| version_message(v, oldest))
            .collect(),
        next_page_token,
    })
}

/// Every kept value of the record `name`, oldest first.
pub fn record_versions(
    repo: &Repository,
    name: &str,
) -> Result<pb::ListRecordVersionsResponse, Status> {
    let key = RecordKey::from_name(name).ok_or_else(|| {
        error::invalid(
            "name",
            format!(
                "{name:?} is not a record name: holdings/{{h}}, holdings/{{h}}/observations/{{o}}, \
                 figures/{{id}}, exchangeRates/{{id}}, doctrines/{{id}}, positions/{{id}}, \
                 publishedAssessments/{{id}} or instruments/{{id}}"
            ),
        )
    })?;
    let history = repo.store().history(&key).map_err(error::store)?;
    // An observation's name includes its holding: a right id under another holding is not it.
    let matches = |r: &Record| r.name() == name || !matches!(r, Record::Observation { .. });
    if history.is_empty() || !history.iter().any(|v| matches(&v.record)) {
        return Err(error::not_found(name));
    }
    let starts: Vec<u64> = history.iter().map(|v| v.since).collect();
    let record_versions = history
        .into_iter()
        .map(|v| {
            let ended = v.ended_by.clone();
            // Superseded by no later value of the record: the version withdrew it.
            let deleted = v.until.is_some_and(|until| !starts.contains(&until));
            pb::RecordVersion {
                dataset_version: v.since as i64,
                superseded_in_version: v.until.map_or(0, |u| u as i64),
                author: v.actor.clone(),
                create_time: timestamp(v.time),
                origin: origin(&v.origin),
                reason: v.reason.clone().unwrap_or_default(),
                superseded_by: ended.as_ref().map(|e| e.0.clone()).unwrap_or_default(),
                superseded_reason: ended.and_then(|e| e.2).unwrap_or_default(),
                deleted,
                record_json: leverage_store::record_json(&v.record),
                observation: match &v.record {
                    Record::Observation {
                        holding,
                        observation: o,
                    } => Some(observation(holding, o)),
                    _ => None,
                },
            }
        })
        .collect();
    Ok(pb::ListRecordVersionsResponse { record_versions })
}

/// The id of an import: a digest of the file's name and contents, so the same file has the
/// same id wherever it is imported.
pub fn import_id(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("imp-{hex}")
}

fn file_violations(problems: &[FileProblem]) -> Status {
    let mut v = leverage_core::Violations::new();
    for p in problems {
        v.add("content", p.to_string());
    }
    match v.into_result() {
        Err(e) => error::domain(e),
        Ok(()) => error::invalid("content", "the file has problems"),
    }
}

/// Checks a file completely, then merges it as one version (or only reports, for a dry run).
pub fn import(
    repo: &Repository,
    actor: &str,
    r: &pb::ImportDatasetRequest,
) -> Result<pb::ImportDatasetResponse, Status> {
    let file = if r.file_name.trim().is_empty() {
        return Err(error::invalid(
            "file_name",
            "is required: its extension (.toml or .csv) tells the format",
        ));
    } else {
        r.file_name.trim()
    };
    let text = std::str::from_utf8(&r.content)
        .map_err(|e| error::invalid("content", format!("{file} is not UTF-8 text: {e}")))?;
    let incoming = files::read(file, text).map_err(|p| file_violations(&p))?;
    let problems = files::check_against(file, repo.snapshot().dataset(), &incoming);
    if !problems.is_empty() {
        return Err(file_violations(&problems));
    }
    let id = import_id(&r.content);
    let records: Vec<Record> = incoming.into_iter().map(|f| f.record).collect();
    let summary = format!("import of {file} ({} records)", records.len());
    let (plan, version) = repo
        .import(&records, &id, actor, summary, r.dry_run)
        .map_err(error::store)?;
    let applied = !r.dry_run && (!plan.added.is_empty() || !plan.changed.is_empty());
    tracing::info!(
        import = %id, file, actor, dry_run = r.dry_run, added = plan.added.len(),
        changed = plan.changed.len(), unchanged = plan.unchanged.len(),
        conflicts = plan.conflicts.len(), dataset_version = version, "import"
    );
    Ok(pb::ImportDatasetResponse {
        import_id: id,
        applied,
        dataset_version: version as i64,
        added: plan.added.iter().map(Record::name).collect(),
        changed: plan.changed.iter().map(Record::name).collect(),
        unchanged_count: i32::try_from(plan.unchanged.len()).unwrap_or(i32::MAX),
        conflicts: plan.conflicts.iter().map(conflict).collect(),
    })
}

/// The snapshot as TOML, in chunks.
pub fn export(snapshot: &Arc<Snapshot>) -> Result<Vec<pb::ExportDatasetResponse>, Status> {
    let text = files::to_toml(snapshot.dataset())
        .map_err(|e| error::internal(format!("the dataset does not serialise as TOML: {e}")))?;
    let version = snapshot.revision();
    let file_name = format!("leverage-dataset-v{version}.toml");
    let bytes = text.into_bytes();
    Ok(bytes
        .chunks(EXPORT_CHUNK)
        .map(|chunk| pb::ExportDatasetResponse {
            dataset_version: version as i64,
            file_name: file_name.clone(),
            content: chunk.to_vec(),
        })
        .collect())
}

/// Forgets superseded values below the version the request names.
pub fn compact(
    repo: &Repository,
    r: &pb::CompactDatasetVersionsRequest,
) -> Result<pb::CompactDatasetVersionsResponse, Status> {
    let newest = repo.snapshot().revision();
    let oldest = match (r.oldest_dataset_version, r.keep_latest) {
        (v, 0) if v > 0 => v as u64,
        (0, k) if k > 0 => newest.saturating_sub(k as u64 - 1).max(1),
        (v, k) if v < 0 || k < 0 => {
            let field = if v < 0 {
                "oldest_dataset_version"
            } else {
                "keep_latest"
            };
            return Err(error::invalid(field, "must not be negative"));
        }
        (0, 0) => {
            return Err(error::invalid(
                "oldest_dataset_version",
                "set this or keep_latest: which versions to keep",
            ));
        }
        _ => {
            return Err(error::invalid(
                "keep_latest",
                "set either oldest_dataset_version or keep_latest, not both",
            ));
        }
    };
    let removed = repo.compact(oldest).map_err(error::store)?;
    let oldest = repo.store().oldest().map_err(error::store)?;
    tracing::info!(oldest, removed, "dataset versions compacted");
    Ok(pb::CompactDatasetVersionsResponse {
        oldest_dataset_version: oldest as i64,
        removed_values: removed as i64,
    })
}

//! Building scoring replies: one score with its components and inputs, per-scenario outcomes,
//! and the plugin listing.

use std::collections::HashMap;

use leverage_core::scenario::{Context, INPUT_CATALOG, Scenario};
use leverage_plugin_host::{PluginMetadata, PluginState, RefuseReason};
use leverage_proto::leverage::v1 as pb;
use tonic::Status;

use crate::convert::{date_out, rfc3339_utc};

/// One score with its components, and its inputs with the records each came from (`ctx`, the
/// context the row was filled from).
#[allow(clippy::too_many_arguments)]
pub(super) fn score_result(
    meta: &PluginMetadata,
    dataset_version: &str,
    s: &Scenario,
    ctx: &Context,
    row: &[f64],
    score: leverage_plugin_host::RowView<'_>,
    parameters: &[pb::NamedValue],
    build: &str,
) -> pb::ScoreResult {
    let catalog = INPUT_CATALOG.len();
    pb::ScoreResult {
        plugin: format!("plugins/{}", meta.id),
        plugin_version: meta.version.clone(),
        build_id: meta.build_id.clone(),
        dataset_version: dataset_version.to_owned(),
        as_of: Some(date_out(s.as_of)),
        score: score.score,
        score_unit: meta.score.unit.clone(),
        components: meta
            .components
            .iter()
            .zip(score.components().iter())
            .map(|(c, v)| pb::ComponentScore {
                name: c.name.clone(),
                value: *v,
                unit: c.unit.clone(),
            })
            .collect(),
        inputs: meta
            .inputs
            .iter()
            .filter_map(|i| {
                let at = INPUT_CATALOG.iter().position(|c| c.name == i.name)?;
                Some(pb::NamedValue {
                    name: i.name.clone(),
                    value: row[at],
                    unit: INPUT_CATALOG[at].unit.to_owned(),
                    source: ctx.source(at).to_owned(),
                })
            })
            .chain(
                meta.own_inputs
                    .iter()
                    .zip(&row[catalog..])
                    .map(|(i, value)| pb::NamedValue {
                        name: i.name.clone(),
                        value: *value,
                        unit: i.unit.clone(),
                        source: String::new(),
                    }),
            )
            .collect(),
        parameters: parameters.to_vec(),
        plugin_build: build.to_owned(),
    }
}

pub(super) fn score_error(status: &Status) -> pb::ScoreError {
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    pb::ScoreError {
        code: status.code() as i32,
        reason: details
            .error_info()
            .map(|i| i.reason.clone())
            .unwrap_or_default(),
        message: status.message().to_owned(),
        field_violations: details
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|f| pb::FieldViolation {
                        field: f.field.clone(),
                        description: f.description.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A plugin's id, or for a file refused before its id was known, the file's stem.
pub(crate) fn plugin_id_of(status: &leverage_plugin_host::PluginStatus) -> String {
    status.id.clone().unwrap_or_else(|| {
        status
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().trim_start_matches("lib").to_owned())
            .unwrap_or_default()
    })
}

pub(super) fn plugin_message(
    status: &leverage_plugin_host::PluginStatus,
    calls: &HashMap<(String, String), i64>,
) -> pb::Plugin {
    let (state, state_reason) = match &status.state {
        PluginState::Ready if status.retained => (pb::PluginState::Retained, String::new()),
        PluginState::Ready => (pb::PluginState::Ready, String::new()),
        PluginState::Disabled { reason } => (pb::PluginState::Disabled, reason.clone()),
        PluginState::Refused { reason } => (pb::PluginState::Refused, reason.to_string()),
    };
    let id = plugin_id_of(status);
    let build = status.build_hash.clone().unwrap_or_default();
    let mut p = pb::Plugin {
        name: if status.retained {
            format!("plugins/{id}@{build}")
        } else {
            format!("plugins/{id}")
        },
        builds: status
            .builds
            .iter()
            .map(|b| pb::PluginBuild {
                name: format!("plugins/{id}@{}", b.build),
                build: b.build.clone(),
                version: b.version.clone(),
                build_id: b.build_id.clone(),
                current: b.current,
                first_loaded: rfc3339_utc(b.first_loaded),
            })
            .collect(),
        build,
        id,
        file: status.path.display().to_string(),
        state: state as i32,
        state_reason,
        panic_count: i64::from(status.panics),
        sandboxed: status.sandboxed,
        inline: status.inline,
        crash_count: i64::from(status.crashes),
        ..Default::default()
    };
    if let Some(b) = &status.build {
        p.abi_version = format!("{}.{}", b.abi_major, b.abi_minor);
        p.plugin_api_version = b.api_version.clone();
        p.rustc_version = b.rustc_version.clone();
    }
    if let Some(m) = &status.metadata {
        p.display_name = m.name.clone();
        p.version = m.version.clone();
        p.description = m.description.clone();
        p.build_id = m.build_id.clone();
        p.model_card = m.model_card.clone();
        p.call_count = calls
            .get(&(m.id.clone(), m.build_id.clone()))
            .copied()
            .unwrap_or(0);
        p.inputs = m
            .inputs
            .iter()
            .map(|i| pb::PluginInput {
                name: i.name.clone(),
                unit: i.unit.clone(),
                description: INPUT_CATALOG
                    .iter()
                    .find(|c| c.name == i.name)
                    .map(|c| c.description.to_owned())
                    .unwrap_or_default(),
                ..Default::default()
            })
            .chain(m.own_inputs.iter().map(|i| pb::PluginInput {
                name: i.name.clone(),
                unit: i.unit.clone(),
                description: i.description.clone(),
                plugin_declared: true,
                min: i.min,
                max: i.max,
                required: i.default.is_none(),
                default_value: i.default.unwrap_or(0.0),
            }))
            .collect();
        p.components = m
            .components
            .iter()
            .map(|c| pb::PluginComponent {
                name: c.name.clone(),
                unit: c.unit.clone(),
                min: c.min,
                max: c.max,
                description: c.description.clone(),
            })
            .collect();
        p.score_unit = m.score.unit.clone();
        p.score_min = m.score.min;
        p.score_max = m.score.max;
        p.score_description = m.score.description.clone();
        p.parameters = m
            .parameters
            .iter()
            .map(|x| pb::PluginParameter {
                name: x.name.clone(),
                unit: x.unit.clone(),
                default_value: x.default,
                min: x.min,
                max: x.max,
                description: x.description.clone(),
            })
            .collect();
    }
    p
}

/// A retained build that was refused when it was loaded from the archive.
pub(super) fn refused_build(
    name: &str,
    id: &str,
    build: &str,
    reason: &RefuseReason,
) -> pb::Plugin {
    pb::Plugin {
        name: name.to_owned(),
        id: id.to_owned(),
        build: build.to_owned(),
        state: pb::PluginState::Refused as i32,
        state_reason: reason.to_string(),
        ..Default::default()
    }
}

/// The same error as the outcome of every scenario.
pub(super) fn every<T>(inputs: &[T], status: &Status) -> Vec<pb::ScenarioOutcome> {
    outcomes(inputs.iter().map(|_| Err(status.clone())).collect())
}

pub(super) fn outcomes(results: Vec<Result<pb::ScoreResult, Status>>) -> Vec<pb::ScenarioOutcome> {
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| pb::ScenarioOutcome {
            index: i as i32,
            outcome: Some(match r {
                Ok(result) => pb::scenario_outcome::Outcome::Result(result),
                Err(status) => pb::scenario_outcome::Outcome::Error(score_error(&status)),
            }),
        })
        .collect()
}

//! Reading a scoring request: plugin names, scenarios and levers, every bad field named.

use leverage_core::scenario::{Lever, Scenario, ScenarioInput};
use leverage_core::{Date, DomainError, Violations};
use leverage_plugin_host::{PluginMetadata, is_build_name};
use leverage_proto::leverage::v1 as pb;
use tonic::Status;

use crate::convert::date_in;
use crate::error;
use crate::legal::action_in;

/// A plugin's resource name: `plugins/{id}`, the build serving, or `plugins/{id}@{build}`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct PluginName<'a> {
    pub id: &'a str,
    pub build: Option<&'a str>,
}

pub(super) fn plugin_name<'a>(field: &str, name: &'a str) -> Result<PluginName<'a>, Status> {
    let bad = |why: &str| {
        error::invalid(
            field,
            format!(
                "{name:?} is not a plugin name (plugins/{{id}} or plugins/{{id}}@{{build}}){why}"
            ),
        )
    };
    let rest = name
        .strip_prefix("plugins/")
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
        .ok_or_else(|| bad(""))?;
    match rest.split_once('@') {
        None => Ok(PluginName {
            id: rest,
            build: None,
        }),
        Some((id, build)) if !id.is_empty() && is_build_name(build) => Ok(PluginName {
            id,
            build: Some(build),
        }),
        Some(_) => Err(bad(
            ": a build is the 16 lowercase hex digits of Plugin.build",
        )),
    }
}

/// Reads a scenario; bad fields are named under `prefix`.
/// Runs a check that names its field only when it finds a violation: a valid request, the
/// common case, then formats no field name. `check` must not depend on the name otherwise.
fn named<T>(
    v: &mut Violations,
    name: impl FnOnce() -> String,
    check: impl Fn(&str, &mut Violations) -> T,
) -> T {
    let mut probe = Violations::new();
    let out = check("", &mut probe);
    if probe.is_empty() {
        out
    } else {
        check(&name(), v)
    }
}

pub fn scenario_in(prefix: &str, s: Option<&pb::Scenario>) -> Result<Scenario, DomainError> {
    let Some(s) = s else {
        return Err(DomainError::invalid(prefix, "is required"));
    };
    let mut v = Violations::new();
    let today = Date::today();
    let use_mode = if s.use_mode == 0 {
        None
    } else {
        named(
            &mut v,
            || format!("{prefix}.use_mode"),
            |field, v| action_in(field, s.use_mode, v),
        )
    };
    let as_of = s.as_of.as_ref().map(|_| {
        named(
            &mut v,
            || format!("{prefix}.as_of"),
            |field, v| date_in(field, s.as_of.as_ref(), today, v),
        )
    });
    let input = ScenarioInput {
        use_mode,
        participation: s
            .participation
            .iter()
            .map(|p| (p.jurisdiction.clone(), p.fraction))
            .collect(),
        interest_rate_pct: s.interest_rate_pct,
        sanctions_tightening: s.sanctions_tightening,
        safe_takeup: s.safe_takeup,
        defence_spending_gdp_pct: s.defence_spending_gdp_pct,
        ceasefire: s.ceasefire,
        guarantee_sharing: s.guarantee_sharing,
        horizon_years: s.horizon_years.map(i64::from),
        as_of,
    };
    match input.validate(prefix, today) {
        Ok(scenario) => v.finish(|| scenario),
        Err(e) => {
            v.merge(e)?;
            v.into_result()
                .and(Err(DomainError::invalid(prefix, "is invalid")))
        }
    }
}

pub(super) fn lever_in(field: &str, value: i32, v: &mut Violations) -> Option<Lever> {
    Some(match pb::Lever::try_from(value) {
        Ok(pb::Lever::InterestRatePct) => Lever::InterestRatePct,
        Ok(pb::Lever::SanctionsTightening) => Lever::SanctionsTightening,
        Ok(pb::Lever::SafeTakeup) => Lever::SafeTakeup,
        Ok(pb::Lever::DefenceSpendingGdpPct) => Lever::DefenceSpendingGdpPct,
        Ok(pb::Lever::GuaranteeSharing) => Lever::GuaranteeSharing,
        Ok(pb::Lever::HorizonYears) => Lever::HorizonYears,
        Ok(pb::Lever::Participation) => Lever::Participation,
        _ => {
            v.add(field, "must be set to a Lever value");
            return None;
        }
    })
}

/// A scenario as a request gives it: its levers, checked, and the values it sets for inputs
/// the plugins declare themselves, which only the chosen plugin can check.
#[derive(Clone, Debug)]
pub(super) struct Requested {
    pub scenario: Scenario,
    pub own: Vec<pb::InputValue>,
}

/// Reads a scenario with its plugin-declared input values; bad levers are named under `prefix`.
pub(super) fn requested_in(
    prefix: &str,
    s: Option<&pb::Scenario>,
) -> Result<Requested, DomainError> {
    let scenario = scenario_in(prefix, s)?;
    Ok(Requested {
        scenario,
        own: s.map(|s| s.inputs.clone()).unwrap_or_default(),
    })
}

/// What to do with a value for an input the plugin does not declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Undeclared {
    /// Refuse it: the request names one plugin, so the value can only be a mistake.
    Refuse,
    /// Leave it to the plugins that declare it (a comparison checks beforehand that one does).
    Skip,
}

/// The values of `meta`'s own inputs for one scenario, in declared order: as given, else the
/// declared default. Every problem is named under `prefix()`: a name the plugin does not
/// declare (unless skipped), a name given twice, a value outside the declared range, a
/// required input left unset.
pub(super) fn own_values(
    meta: &PluginMetadata,
    given: &[pb::InputValue],
    undeclared: Undeclared,
    prefix: impl Fn() -> String,
) -> Result<Vec<f64>, DomainError> {
    let mut values: Vec<Option<f64>> = meta.own_inputs.iter().map(|i| i.default).collect();
    let mut set = vec![false; values.len()];
    let mut v = Violations::new();
    for (i, input) in given.iter().enumerate() {
        match meta.own_input(&input.name) {
            None if undeclared == Undeclared::Skip => {}
            None => v.add(
                format!("{}.inputs[{i}].name", prefix()),
                format!(
                    "`{}` is not an input of plugins/{}: {}",
                    input.name,
                    meta.id,
                    declared_inputs(meta)
                ),
            ),
            Some((at, _)) if set[at] => v.add(
                format!("{}.inputs[{i}].name", prefix()),
                format!("`{}` is given twice", input.name),
            ),
            Some((at, declared)) => {
                set[at] = true;
                if declared.accepts(input.value) {
                    values[at] = Some(input.value);
                } else {
                    v.add(
                        format!("{}.inputs[{i}].value", prefix()),
                        format!(
                            "`{}` must be between {} and {}, got {}",
                            input.name, declared.min, declared.max, input.value
                        ),
                    );
                }
            }
        }
    }
    // A required input given with a bad value is named once, for its value.
    for (declared, (value, given)) in meta.own_inputs.iter().zip(values.iter().zip(&set)) {
        if value.is_none() && !given {
            v.add(
                format!("{}.inputs", prefix()),
                format!(
                    "`{}` ({}, {} to {}) is required by plugins/{} and not set",
                    declared.name, declared.unit, declared.min, declared.max, meta.id
                ),
            );
        }
    }
    v.finish(|| values.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

/// The names of the inputs a plugin declares itself, for a message.
fn declared_inputs(meta: &PluginMetadata) -> String {
    if meta.own_inputs.is_empty() {
        "it declares no inputs of its own".to_owned()
    } else {
        let names: Vec<&str> = meta.own_inputs.iter().map(|i| i.name.as_str()).collect();
        format!("its own inputs are {}", names.join(", "))
    }
}

/// The per-call parameter values of a request, checked against the plugin's declaration:
/// each declared, once, and within its range; every bad one named (`parameters[i].name` or
/// `.value`).
pub(super) fn parameters_in(
    meta: &PluginMetadata,
    given: &[pb::ParameterValue],
) -> Result<Vec<(String, f64)>, DomainError> {
    let mut v = Violations::new();
    let mut out: Vec<(String, f64)> = Vec::with_capacity(given.len());
    for (i, p) in given.iter().enumerate() {
        match meta.parameters.iter().find(|d| d.name == p.name) {
            None => {
                let known: Vec<&str> = meta.parameters.iter().map(|d| d.name.as_str()).collect();
                v.add(
                    format!("parameters[{i}].name"),
                    if known.is_empty() {
                        format!("`{}`: plugins/{} has no parameters", p.name, meta.id)
                    } else {
                        format!(
                            "`{}` is not a parameter of plugins/{}; its parameters are {}",
                            p.name,
                            meta.id,
                            known.join(", ")
                        )
                    },
                );
            }
            Some(_) if out.iter().any(|(n, _)| *n == p.name) => v.add(
                format!("parameters[{i}].name"),
                format!("`{}` is given twice", p.name),
            ),
            Some(d) if !(p.value.is_finite() && p.value >= d.min && p.value <= d.max) => v.add(
                format!("parameters[{i}].value"),
                format!(
                    "`{}` must be between {} and {}, got {}",
                    p.name, d.min, d.max, p.value
                ),
            ),
            Some(_) => out.push((p.name.clone(), p.value)),
        }
    }
    v.finish(|| out)
}

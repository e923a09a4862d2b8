//! Reading a scoring request: plugin names, scenarios and levers, every bad field named.

use leverage_core::scenario::{Lever, Scenario, ScenarioInput};
use leverage_core::{Date, DomainError, Violations};
use leverage_proto::leverage::v1 as pb;
use tonic::Status;

use crate::convert::date_in;
use crate::error;
use crate::legal::action_in;

pub(super) fn plugin_id<'a>(field: &str, name: &'a str) -> Result<&'a str, Status> {
    name.strip_prefix("plugins/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            error::invalid(
                field,
                format!("{name:?} is not a plugin name (plugins/{{id}})"),
            )
        })
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

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
pub fn scenario_in(prefix: &str, s: Option<&pb::Scenario>) -> Result<Scenario, DomainError> {
    let Some(s) = s else {
        return Err(DomainError::invalid(prefix, "is required"));
    };
    let mut v = Violations::new();
    let use_mode = if s.use_mode == 0 {
        None
    } else {
        action_in(&format!("{prefix}.use_mode"), s.use_mode, &mut v)
    };
    let as_of = s.as_of.as_ref().map(|_| {
        date_in(
            &format!("{prefix}.as_of"),
            s.as_of.as_ref(),
            Date::today(),
            &mut v,
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
    match input.validate(prefix, Date::today()) {
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

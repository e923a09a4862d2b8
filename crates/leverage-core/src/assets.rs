//! Queries over holdings: lists with filters and as-of dates, and summaries converted into
//! one currency that never add aggregate estimates to located sums.

use std::collections::BTreeMap;

use crate::codes::{Currency, Jurisdiction};
use crate::date::Date;
use crate::error::DomainError;
use crate::fx::{self, RateUse};
use crate::model::{Holding, HoldingKind, Instrument, Observation, OwnerKind};
use crate::paging::{self, PageRequest};
use crate::snapshot::{Snapshot, enum_name, parse_enum};

/// Which holdings a list or a summary covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HoldingFilter {
    pub kind: Option<HoldingKind>,
    pub owner_kind: Option<OwnerKind>,
    pub jurisdiction: Option<Jurisdiction>,
    pub custodian: Option<String>,
    pub instrument: Option<Instrument>,
}

const FILTER_FIELDS: [&str; 5] = [
    "kind",
    "owner_kind",
    "jurisdiction",
    "custodian",
    "instrument",
];

impl HoldingFilter {
    /// Parses an AIP-160 filter such as `owner_kind = CENTRAL_BANK AND jurisdiction = BE`.
    pub fn parse(filter: &str) -> Result<Self, DomainError> {
        let mut out = HoldingFilter::default();
        for term in paging::parse_filter(filter, &FILTER_FIELDS)? {
            let v = term.value.as_str();
            let unknown = || {
                DomainError::invalid(
                    "filter",
                    format!("{v:?} is not a valid value for {}", term.field),
                )
            };
            match term.field.as_str() {
                "kind" => out.kind = Some(parse_enum(v).ok_or_else(unknown)?),
                "owner_kind" => out.owner_kind = Some(parse_enum(v).ok_or_else(unknown)?),
                "instrument" => out.instrument = Some(parse_enum(v).ok_or_else(unknown)?),
                "jurisdiction" => {
                    out.jurisdiction = Some(
                        Jurisdiction::parse(v)
                            .map_err(|e| DomainError::invalid("filter", e.to_string()))?,
                    )
                }
                _ => out.custodian = Some(v.to_owned()),
            }
        }
        Ok(out)
    }

    pub fn matches(&self, h: &Holding) -> bool {
        self.kind.is_none_or(|k| h.kind == k)
            && self.owner_kind.is_none_or(|k| h.owner_kind == k)
            && self.jurisdiction.is_none_or(|j| h.jurisdiction == Some(j))
            && self.instrument.is_none_or(|i| h.instrument == i)
            && self.custodian.as_deref().is_none_or(|c| {
                h.custodian
                    .as_deref()
                    .is_some_and(|hc| hc.eq_ignore_ascii_case(c))
            })
    }
}

/// The order of a holding list; ties are always broken by id, so pages are stable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HoldingOrder {
    #[default]
    Name,
    /// Largest first, compared in euros at the rate in force on the as-of date.
    AmountDesc,
    AsOfDesc,
    Jurisdiction,
}

impl HoldingOrder {
    pub fn parse(order_by: &str) -> Result<Self, DomainError> {
        let words: Vec<&str> = order_by.split_whitespace().collect();
        match words.as_slice() {
            [] | ["name"] | ["name", "asc"] => Ok(Self::Name),
            ["amount", "desc"] => Ok(Self::AmountDesc),
            ["as_of", "desc"] => Ok(Self::AsOfDesc),
            ["jurisdiction"] | ["jurisdiction", "asc"] => Ok(Self::Jurisdiction),
            _ => Err(DomainError::invalid(
                "order_by",
                format!(
                    "{order_by:?} is not supported; use \"name\", \"amount desc\", \"as_of desc\" or \"jurisdiction\""
                ),
            )),
        }
    }
}

/// A page of holdings, each with the observation in force on the as-of date.
#[derive(Debug)]
pub struct HoldingPage<'a> {
    pub holdings: Vec<(&'a Holding, Option<&'a Observation>)>,
    pub next_page_token: String,
    pub total_size: usize,
}

/// Lists holdings matching `filter`, ordered, one page at a time.
pub fn list_holdings<'a>(
    snap: &'a Snapshot,
    filter: &str,
    order_by: &str,
    as_of: Date,
    page_size: i32,
    page_token: &str,
) -> Result<HoldingPage<'a>, DomainError> {
    let parsed = HoldingFilter::parse(filter)?;
    let order = HoldingOrder::parse(order_by)?;
    let query = paging::fingerprint(&["holdings", filter, order_by, &as_of.to_string()]);
    let page = PageRequest::parse(page_size, page_token, query)?;
    let rates = &snap.dataset().rates;
    let eur = Currency::parse("EUR").map_err(|e| DomainError::FailedPrecondition(e.to_string()))?;
    let mut rows: Vec<(&Holding, Option<&Observation>)> = snap
        .dataset()
        .holdings
        .iter()
        .filter(|h| parsed.matches(h))
        .map(|h| (h, h.observation_as_of(as_of)))
        .collect();
    let in_eur = |o: Option<&Observation>| {
        o.and_then(|o| fx::convert(rates, o.amount(), o.currency, eur, as_of).ok())
            .map_or(f64::NEG_INFINITY, |(v, _)| v)
    };
    match order {
        HoldingOrder::Name => rows.sort_by(|a, b| a.0.id.cmp(&b.0.id)),
        HoldingOrder::AmountDesc => rows.sort_by(|a, b| {
            in_eur(b.1)
                .total_cmp(&in_eur(a.1))
                .then_with(|| a.0.id.cmp(&b.0.id))
        }),
        HoldingOrder::AsOfDesc => rows.sort_by(|a, b| {
            b.1.map(|o| o.as_of)
                .cmp(&a.1.map(|o| o.as_of))
                .then_with(|| a.0.id.cmp(&b.0.id))
        }),
        HoldingOrder::Jurisdiction => rows.sort_by(|a, b| {
            let key = |h: &Holding| {
                h.jurisdiction
                    .map(|j| j.to_string())
                    .unwrap_or_else(|| "~".into())
            };
            key(a.0).cmp(&key(b.0)).then_with(|| a.0.id.cmp(&b.0.id))
        }),
    }
    let total_size = rows.len();
    let (holdings, next_page_token) = page.apply(rows);
    Ok(HoldingPage {
        holdings,
        next_page_token,
        total_size,
    })
}

/// What a summary groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Jurisdiction,
    Custodian,
    OwnerKind,
    Instrument,
}

/// One observation added into a summary, with its conversion.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservationUse {
    pub holding_id: String,
    pub observation: Observation,
    /// The lower end of the observation, in the summary's currency.
    pub converted: f64,
    pub rate_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SummaryGroup {
    pub key: String,
    pub total: f64,
    pub uses: Vec<ObservationUse>,
}

/// An aggregate estimate shown beside a summary; never part of its totals.
#[derive(Clone, Debug, PartialEq)]
pub struct EstimateUse {
    pub holding: Holding,
    pub observation: Observation,
    /// In the summary's currency, when a rate connects the two.
    pub converted: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub as_of: Date,
    pub currency: Currency,
    pub groups: Vec<SummaryGroup>,
    /// Sum of the located holdings only.
    pub located_total: f64,
    /// Every exchange rate applied, once each.
    pub rates_used: Vec<RateUse>,
    pub estimates: Vec<EstimateUse>,
    pub holdings_without_data: Vec<String>,
}

/// Sums located holdings matching `filter` in `currency` as of a date, grouped; lists the
/// latest aggregate estimates of the same owner kind beside the sum, never inside it.
pub fn summarize(
    snap: &Snapshot,
    filter: &str,
    group_by: GroupBy,
    currency: Currency,
    as_of: Date,
) -> Result<Summary, DomainError> {
    let parsed = HoldingFilter::parse(filter)?;
    if parsed.kind.is_some_and(|k| k != HoldingKind::Located) {
        return Err(DomainError::invalid(
            "filter",
            "summaries add located holdings only; aggregate estimates are listed beside them",
        ));
    }
    let rates = &snap.dataset().rates;
    let mut groups: BTreeMap<String, SummaryGroup> = BTreeMap::new();
    let mut rates_used: Vec<RateUse> = Vec::new();
    let mut without = Vec::new();
    let mut located_total = 0.0;
    for h in snap
        .dataset()
        .holdings
        .iter()
        .filter(|h| h.kind == HoldingKind::Located && parsed.matches(h))
    {
        let Some(o) = h.observation_as_of(as_of) else {
            without.push(h.id.clone());
            continue;
        };
        let (converted, used) = fx::convert(rates, o.amount(), o.currency, currency, as_of)?;
        let rate_ids = used.iter().map(|r| r.rate_id.clone()).collect();
        for r in used {
            if !rates_used
                .iter()
                .any(|u| u.rate_id == r.rate_id && u.factor == r.factor)
            {
                rates_used.push(r);
            }
        }
        let key = match group_by {
            GroupBy::Jurisdiction => h.jurisdiction.map(|j| j.to_string()).unwrap_or_default(),
            GroupBy::Custodian => h
                .custodian
                .clone()
                .unwrap_or_else(|| "(custodian not disclosed)".into()),
            GroupBy::OwnerKind => enum_name(&h.owner_kind),
            GroupBy::Instrument => enum_name(&h.instrument),
        };
        let group = groups.entry(key.clone()).or_insert_with(|| SummaryGroup {
            key,
            total: 0.0,
            uses: Vec::new(),
        });
        group.total += converted;
        located_total += converted;
        group.uses.push(ObservationUse {
            holding_id: h.id.clone(),
            observation: o.clone(),
            converted,
            rate_ids,
        });
    }
    let mut estimates = Vec::new();
    for h in snap.dataset().holdings.iter().filter(|h| {
        h.kind == HoldingKind::Aggregate && parsed.owner_kind.is_none_or(|k| k == h.owner_kind)
    }) {
        if let Some(o) = h.observation_as_of(as_of) {
            let converted = match fx::convert(rates, o.amount(), o.currency, currency, as_of) {
                Ok((v, used)) => {
                    for r in used {
                        if !rates_used
                            .iter()
                            .any(|u| u.rate_id == r.rate_id && u.factor == r.factor)
                        {
                            rates_used.push(r);
                        }
                    }
                    Some(v)
                }
                Err(_) => None,
            };
            estimates.push(EstimateUse {
                holding: h.clone(),
                observation: o.clone(),
                converted,
            });
        }
    }
    Ok(Summary {
        as_of,
        currency,
        groups: groups.into_values().collect(),
        located_total,
        rates_used,
        estimates,
        holdings_without_data: without,
    })
}

//! Queries over holdings: lists with filters and as-of dates, and summaries converted into
//! one currency that never add aggregate estimates to located sums.

use std::collections::BTreeMap;

use crate::codes::{Currency, Jurisdiction};
use crate::date::Date;
use crate::error::DomainError;
use crate::fx::{Converter, RateUse};
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
    let eur = Currency::parse("EUR").map_err(|e| DomainError::FailedPrecondition(e.to_string()))?;
    let mut rows: Vec<(&Holding, Option<&Observation>)> =
        snap.holdings_as_of(as_of, |h| parsed.matches(h)).collect();
    match order {
        // A snapshot keeps its holdings in id order: sorting them again cost a string
        // comparison, and two cache misses, per holding on every listing.
        HoldingOrder::Name => debug_assert!(rows.is_sorted_by(|a, b| a.0.id <= b.0.id)),
        HoldingOrder::AmountDesc => {
            // Each amount is converted once, not at every comparison.
            let mut converter = Converter::new(&snap.dataset().rates, eur, as_of);
            let mut keyed: Vec<(f64, (&Holding, Option<&Observation>))> = rows
                .into_iter()
                .map(|row| {
                    let in_eur = row
                        .1
                        .and_then(|o| converter.convert(o.amount(), o.currency).ok())
                        .map_or(f64::NEG_INFINITY, |(v, _)| v);
                    (in_eur, row)
                })
                .collect();
            keyed.sort_by(|(a_eur, a), (b_eur, b)| {
                b_eur.total_cmp(a_eur).then_with(|| a.0.id.cmp(&b.0.id))
            });
            rows = keyed.into_iter().map(|(_, row)| row).collect();
        }
        HoldingOrder::AsOfDesc => rows.sort_by(|a, b| {
            b.1.map(|o| o.as_of)
                .cmp(&a.1.map(|o| o.as_of))
                .then_with(|| a.0.id.cmp(&b.0.id))
        }),
        HoldingOrder::Jurisdiction => rows.sort_by(|a, b| {
            let (ja, jb) = (a.0.jurisdiction.as_ref(), b.0.jurisdiction.as_ref());
            let key_a = ja.map_or("~", |j| j.as_str());
            let key_b = jb.map_or("~", |j| j.as_str());
            key_a.cmp(key_b).then_with(|| a.0.id.cmp(&b.0.id))
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
pub struct ObservationUse<'a> {
    pub holding_id: &'a str,
    pub observation: &'a Observation,
    /// The lower end of the observation, in the summary's currency.
    pub converted: f64,
    pub rate_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SummaryGroup<'a> {
    pub key: String,
    pub total: f64,
    /// Number of holdings that contributed to the group.
    pub holding_count: usize,
    /// The observation each holding contributed; empty unless the summary lists them.
    pub uses: Vec<ObservationUse<'a>>,
}

/// An aggregate estimate shown beside a summary; never part of its totals.
#[derive(Clone, Debug, PartialEq)]
pub struct EstimateUse<'a> {
    pub holding: &'a Holding,
    pub observation: &'a Observation,
    /// In the summary's currency, when a rate connects the two.
    pub converted: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Summary<'a> {
    pub as_of: Date,
    pub currency: Currency,
    pub groups: Vec<SummaryGroup<'a>>,
    /// Sum of the located holdings only.
    pub located_total: f64,
    /// Every exchange rate applied, once each.
    pub rates_used: Vec<RateUse>,
    pub estimates: Vec<EstimateUse<'a>>,
    pub holdings_without_data: Vec<&'a str>,
}

/// How much of each group a summary reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryDetail {
    /// Keys, totals and counts only.
    Totals,
    /// Also the observation each holding contributed, with its conversion.
    Observations,
}

/// Sums located holdings matching `filter` in `currency` as of a date, grouped; lists the
/// latest aggregate estimates of the same owner kind beside the sum, never inside it.
pub fn summarize<'a>(
    snap: &'a Snapshot,
    filter: &str,
    group_by: GroupBy,
    currency: Currency,
    as_of: Date,
    detail: SummaryDetail,
) -> Result<Summary<'a>, DomainError> {
    let parsed = HoldingFilter::parse(filter)?;
    if parsed.kind.is_some_and(|k| k != HoldingKind::Located) {
        return Err(DomainError::invalid(
            "filter",
            "summaries add located holdings only; aggregate estimates are listed beside them",
        ));
    }
    let mut converter = Converter::new(&snap.dataset().rates, currency, as_of);
    let mut groups: BTreeMap<String, SummaryGroup<'a>> = BTreeMap::new();
    let mut rates_used: Vec<RateUse> = Vec::new();
    let mut note_rates = |used: &[RateUse]| {
        for r in used {
            if !rates_used
                .iter()
                .any(|u| u.rate_id == r.rate_id && u.factor == r.factor)
            {
                rates_used.push(r.clone());
            }
        }
    };
    let mut without = Vec::new();
    let mut located_total = 0.0;
    for (h, o) in snap.holdings_as_of(as_of, |h| {
        h.kind == HoldingKind::Located && parsed.matches(h)
    }) {
        let Some(o) = o else {
            without.push(h.id.as_str());
            continue;
        };
        let (converted, used) = converter.convert(o.amount(), o.currency)?;
        note_rates(used);
        let rate_ids = match detail {
            SummaryDetail::Totals => Vec::new(),
            SummaryDetail::Observations => used.iter().map(|r| r.rate_id.clone()).collect(),
        };
        let group = match group_key(h, group_by) {
            Key::Borrowed(key) => match groups.get_mut(key) {
                Some(group) => group,
                None => groups
                    .entry(key.to_owned())
                    .or_insert_with(|| empty_group(key)),
            },
            Key::Owned(key) => groups
                .entry(key.clone())
                .or_insert_with(|| empty_group(&key)),
        };
        group.total += converted;
        group.holding_count += 1;
        located_total += converted;
        if detail == SummaryDetail::Observations {
            group.uses.push(ObservationUse {
                holding_id: &h.id,
                observation: o,
                converted,
                rate_ids,
            });
        }
    }
    let mut estimates = Vec::new();
    for (h, o) in snap.holdings_as_of(as_of, |h| {
        h.kind == HoldingKind::Aggregate && parsed.owner_kind.is_none_or(|k| k == h.owner_kind)
    }) {
        if let Some(o) = o {
            let converted = match converter.convert(o.amount(), o.currency) {
                Ok((v, used)) => {
                    note_rates(used);
                    Some(v)
                }
                Err(_) => None,
            };
            estimates.push(EstimateUse {
                holding: h,
                observation: o,
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

/// A group's key, borrowed from the holding where it can be, so that finding the group of
/// each of many holdings allocates nothing.
enum Key<'a> {
    Borrowed(&'a str),
    Owned(String),
}

fn group_key(h: &Holding, group_by: GroupBy) -> Key<'_> {
    match group_by {
        GroupBy::Jurisdiction => match &h.jurisdiction {
            Some(j) => Key::Borrowed(j.as_str()),
            None => Key::Borrowed(""),
        },
        GroupBy::Custodian => Key::Borrowed(
            h.custodian
                .as_deref()
                .unwrap_or("(custodian not disclosed)"),
        ),
        GroupBy::OwnerKind => Key::Owned(enum_name(&h.owner_kind)),
        GroupBy::Instrument => Key::Owned(enum_name(&h.instrument)),
    }
}

fn empty_group<'a>(key: &str) -> SummaryGroup<'a> {
    SummaryGroup {
        key: key.to_owned(),
        total: 0.0,
        holding_count: 0,
        uses: Vec::new(),
    }
}

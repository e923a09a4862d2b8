//! Writes of the reference records: figures, exchange rates, doctrines, positions, published
//! assessments, funding instruments and their allocations.
//!
//! Each resource's proto message is turned into its domain record once, here (`figure_in`,
//! `exchange_rate_in`…), naming every bad field by its path in the request. An update merges the
//! stored record (through the read conversion) with the fields its mask names and checks the
//! result as a whole, as a create would. Every write is built from the newest snapshot and
//! committed as one dataset version under the repository's write lock
//! ([`Repository::commit_from`]), so a check against other records, or a read-modify-write of
//! an instrument's allocations, cannot be overtaken by another write.

use std::sync::Arc;

use leverage_core::model::{
    AccessEvent, Action, ActionExposure, Allocation, Claim, ClaimStage, Doctrine, EligibilityRules,
    ExchangeRate, Figure, Forum, FundingInstrument, InstrumentStatus, Milestone, Participant,
    Position, PublishedAssessment, Role, Scale, Source, Stance, Term, ThirdCountryStep,
};
use leverage_core::names::is_valid_id;
use leverage_core::record::{Record, RecordKey, RecordKind};
use leverage_core::{Currency, Dataset, Date, DomainError, Jurisdiction, Snapshot, Violations};
use leverage_proto::leverage::v1 as pb;
use leverage_store::{Change, Commit, Repository};
use prost_types::FieldMask;
use tonic::Status;

use crate::convert::{self, day_in};
use crate::{dataset, error, funding, legal};

/// Ids of reference records, as the research numbers them (`WF-012`, `ecb-2025-03-14-usd`):
/// 1 to 63 letters, digits, `-`, `_` and `.`.
fn valid_record_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

const RECORD_ID_RULE: &str = "must be 1-63 letters, digits, '-', '_' or '.'";

/// A reference record that the API creates, updates through a field mask, and deletes.
pub trait Reference: Clone + Send + 'static {
    /// The resource as the API shows it.
    type Proto: Clone + Send + 'static;
    const KIND: RecordKind;
    /// The request field that carries the resource, e.g. `figure`.
    const FIELD: &'static str;
    /// Whether an update names the record by `{FIELD}.name` (resources that have a name) or
    /// else by `{FIELD}.id`.
    const BY_NAME: bool;
    /// The fields an update may name.
    const MUTABLE: &'static [&'static str];
    /// Fields the server derives, which an update may not name.
    const OUTPUT_ONLY: &'static [&'static str] = &[];

    fn id(&self) -> &str;
    /// Why `id` cannot be a new record's id, if it cannot.
    fn id_problem(id: &str) -> Option<&'static str> {
        (!valid_record_id(id)).then_some(RECORD_ID_RULE)
    }
    /// Whether `id` may be the id part of a name (`name_of`).
    fn name_id_valid(id: &str) -> bool {
        valid_record_id(id)
    }
    /// The API's resource name of the record with `id`.
    fn name_of(id: &str) -> String {
        format!("{}/{id}", Self::KIND.collection())
    }
    /// The id of the live record that the id part of a name or an update's id designates.
    fn resolve(snap: &Snapshot, id: &str) -> Option<String> {
        Self::live(snap, id).map(|r| r.id().to_owned())
    }
    fn live<'a>(snap: &'a Snapshot, id: &str) -> Option<&'a Self>;
    /// The read conversion.
    fn out(&self) -> Self::Proto;
    /// The name or id of an update's message, whichever addresses it (see `BY_NAME`).
    fn address(p: &Self::Proto) -> &str;
    /// The record `p` describes, under `id`, naming each bad field under `Self::FIELD`.
    /// `None` when a required part is missing; `v` says why, and must be checked either way.
    fn read(id: &str, p: &Self::Proto, v: &mut Violations) -> Option<Self>;
    /// What `p` needs of the rest of the dataset (e.g. that the doctrines a position invokes
    /// exist), each failure named by its field. Checked on the message, so that it is named
    /// even when other fields keep the record from being read.
    fn check(_p: &Self::Proto, _snap: &Snapshot, _v: &mut Violations) {}
    /// Why the live record `id` cannot be deleted, if it cannot.
    fn deletion_problem(_snap: &Snapshot, _id: &str) -> Option<String> {
        None
    }
    /// Sets the field `path` (one of `MUTABLE`) of `to` from `from`.
    fn overlay(to: &mut Self::Proto, from: &Self::Proto, path: &str);
    /// Sets the domain field(s) behind `path` (one of `MUTABLE`) of `to` from `from`.
    fn keep(to: &mut Self, from: &Self, path: &str);
    fn record(self) -> Record;
}

/// Creates record `id` from `p`; `id_field` is the request's id field, e.g. `figure_id`.
pub async fn create<R: Reference>(
    repo: &Arc<Repository>,
    actor: String,
    id: String,
    id_field: &'static str,
    p: Option<R::Proto>,
) -> Result<R::Proto, Status> {
    let created = write(repo, actor, move |snap, actor| {
        let mut v = Violations::new();
        if let Some(why) = R::id_problem(&id) {
            v.add(id_field, why);
        }
        let record = match &p {
            None => {
                v.add(R::FIELD, "is required");
                None
            }
            Some(p) => {
                let record = R::read(&id, p, &mut v);
                R::check(p, snap, &mut v);
                record
            }
        };
        let record = finish(v, record, R::FIELD)?;
        if let Some(existing) = R::resolve(snap, &id) {
            return Err(error::domain(DomainError::AlreadyExists(R::name_of(
                &existing,
            ))));
        }
        let changes = vec![Change::Create(record.clone().record())];
        consistent(snap, &changes, R::FIELD)?;
        Ok((
            Commit::edit(actor, format!("create {}", R::name_of(&id)), changes),
            record,
        ))
    })
    .await?;
    Ok(created.out())
}

/// Replaces the fields of a live record that `mask` names with their values in `p`.
pub async fn update<R: Reference>(
    repo: &Arc<Repository>,
    actor: String,
    p: Option<R::Proto>,
    mask: Option<FieldMask>,
) -> Result<R::Proto, Status> {
    let mut v = Violations::new();
    let paths = mask_paths(
        mask.as_ref(),
        R::MUTABLE,
        &["name", "id"],
        R::OUTPUT_ONLY,
        &mut v,
    );
    let address = p.as_ref().map(|p| R::address(p).to_owned());
    let id = match &address {
        None => {
            v.add(R::FIELD, "is required");
            None
        }
        Some(name) if R::BY_NAME => name_id::<R>(&format!("{}.name", R::FIELD), name, &mut v),
        Some(id) if valid_record_id(id) => Some(id.clone()),
        Some(_) => {
            v.add(format!("{}.id", R::FIELD), RECORD_ID_RULE);
            None
        }
    };
    v.into_result().map_err(error::domain)?;
    let (Some(p), Some(address), Some(id)) = (p, address, id) else {
        return Err(error::invalid(R::FIELD, "is required"));
    };
    let updated = write(repo, actor, move |snap, actor| {
        let not_found = || {
            let name = if R::BY_NAME {
                address.clone()
            } else {
                R::name_of(&id)
            };
            error::domain(DomainError::NotFound(name))
        };
        let id = R::resolve(snap, &id).ok_or_else(not_found)?;
        let current = R::live(snap, &id).ok_or_else(not_found)?;
        let mut merged = current.out();
        for path in &paths {
            R::overlay(&mut merged, &p, path);
        }
        let mut v = Violations::new();
        let record = R::read(&id, &merged, &mut v);
        R::check(&merged, snap, &mut v);
        let new = finish(v, record, R::FIELD)?;
        // Fields not named keep the stored value, not its round trip through the proto (which
        // would lose, e.g., the import a source came with).
        let mut kept = current.clone();
        for path in &paths {
            R::keep(&mut kept, &new, path);
        }
        let changes = vec![Change::Update(kept.clone().record())];
        consistent(snap, &changes, R::FIELD)?;
        let summary = format!("update {} ({})", R::name_of(&id), paths.join(", "));
        Ok((Commit::edit(actor, summary, changes), kept))
    })
    .await?;
    Ok(updated.out())
}

/// Deletes the live record named `name`.
pub async fn delete<R: Reference>(
    repo: &Arc<Repository>,
    actor: String,
    name: String,
) -> Result<(), Status> {
    let mut v = Violations::new();
    let id = name_id::<R>("name", &name, &mut v);
    v.into_result().map_err(error::domain)?;
    let id = id.unwrap_or_default();
    write(repo, actor, move |snap, actor| {
        let id = R::resolve(snap, &id)
            .ok_or_else(|| error::domain(DomainError::NotFound(name.clone())))?;
        if let Some(why) = R::deletion_problem(snap, &id) {
            return Err(error::invalid("name", why));
        }
        let changes = vec![Change::Delete(RecordKey::new(R::KIND, id.clone()))];
        consistent(snap, &changes, "name")?;
        Ok((
            Commit::edit(actor, format!("delete {}", R::name_of(&id)), changes),
            (),
        ))
    })
    .await
}

/// Runs a write off the async workers (it waits for SQLite to reach the disk): `build` makes
/// the commit from the newest snapshot, under the repository's write lock.
async fn write<T: Send + 'static>(
    repo: &Arc<Repository>,
    actor: String,
    mut build: impl FnMut(&Snapshot, String) -> Result<(Commit, T), Status> + Send + 'static,
) -> Result<T, Status> {
    let repo = Arc::clone(repo);
    let by = actor.clone();
    let (committed, (summary, value)) = crate::off_the_workers(move || {
        repo.commit_from(|snap| {
            let (commit, value) = build(snap, by.clone())?;
            let summary = commit.summary.clone();
            Ok::<_, Status>((commit, (summary, value)))
        })?
        .map_err(error::store)
    })
    .await?;
    tracing::info!(%actor, change = %summary, version = committed.revision, "dataset edited");
    Ok(value)
}

/// The record read, when `v` found nothing wrong.
fn finish<T>(v: Violations, record: Option<T>, field: &str) -> Result<T, Status> {
    v.into_result().map_err(error::domain)?;
    record.ok_or_else(|| error::invalid(field, "is required"))
}

/// Refuses `changes` when they would make the reference records inconsistent in a way the
/// dataset checker ([`Dataset::problems`]) sees and the checks here did not: a safety net, so
/// that what the store holds always loads. Pre-existing problems are not this write's doing.
fn consistent(snap: &Snapshot, changes: &[Change], field: &str) -> Result<(), Status> {
    let references = |d: &Dataset| {
        Dataset {
            meta: d.meta.clone(),
            rates: Arc::clone(&d.rates),
            // Holdings are not written here, and checking them costs time with their series.
            holdings: Vec::new(),
            figures: Arc::clone(&d.figures),
            doctrines: Arc::clone(&d.doctrines),
            positions: Arc::clone(&d.positions),
            assessments: Arc::clone(&d.assessments),
            instruments: Arc::clone(&d.instruments),
        }
        .problems()
    };
    let before = references(snap.dataset());
    let keyed: Vec<(RecordKey, Option<&Record>)> = changes
        .iter()
        .map(|c| match c {
            Change::Create(r) | Change::Update(r) | Change::Put(r) => (r.key(), Some(r)),
            Change::Delete(k) => (k.clone(), None),
        })
        .collect();
    let after = snap.with_changes(
        snap.revision(),
        keyed.iter().map(|(key, record)| (key, "", *record)),
    );
    let mut v = Violations::new();
    for problem in references(after.dataset()) {
        if !before.contains(&problem) {
            v.add(field, problem);
        }
    }
    v.into_result().map_err(error::domain)
}

/// The paths of an update mask, each one of `mutable`; every other path is named under
/// `update_mask`, as is an empty mask.
fn mask_paths(
    mask: Option<&FieldMask>,
    mutable: &[&str],
    immutable: &[&str],
    output_only: &[&str],
    v: &mut Violations,
) -> Vec<String> {
    let choices = mutable.join(", ");
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        v.add(
            "update_mask",
            format!("is required: name the fields to change; mutable: {choices}"),
        );
    }
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        let why = if mutable.contains(&p.as_str()) {
            if !out.contains(p) {
                out.push(p.clone());
            }
            continue;
        } else if immutable.contains(&p.as_str()) {
            "is immutable"
        } else if output_only.contains(&p.as_str()) {
            "is output only"
        } else {
            "is not a field that can be updated"
        };
        v.add("update_mask", format!("{p:?} {why}; mutable: {choices}"));
    }
    out
}

/// The id part of `{collection}/{id}`, checked as `R`'s names are (`field` named otherwise).
fn name_id<R: Reference>(field: &str, name: &str, v: &mut Violations) -> Option<String> {
    let collection = R::KIND.collection();
    let id = name
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|id| R::name_id_valid(id));
    if id.is_none() {
        v.add(
            field,
            format!("{name:?} is not a name of the form {collection}/{{id}}"),
        );
    }
    id.map(str::to_owned)
}

fn required_text(v: &mut Violations, field: String, text: &str, what: &str) {
    if text.trim().is_empty() {
        v.add(field, format!("is required: {what}"));
    }
}

fn optional_text(text: &str) -> Option<String> {
    Some(text.to_owned()).filter(|t| !t.is_empty())
}

/// A date the record must have: set, a day that exists, and not after today unless
/// `future_ok` (a figure or a milestone may describe a day to come; a statement may not).
fn required_date(
    field: &str,
    d: Option<&pb::Date>,
    future_ok: bool,
    v: &mut Violations,
) -> Option<Date> {
    let Some(d) = d.filter(|d| (d.year, d.month, d.day) != (0, 0, 0)) else {
        v.add(field, "is required");
        return None;
    };
    let day = day_in(field, d, v)?;
    if !future_ok && day > Date::today() {
        v.add(field, "must not be after today");
    }
    Some(day)
}

/// A date the record may leave unset; when set, a day that exists.
fn optional_date(field: &str, d: Option<&pb::Date>, v: &mut Violations) -> Option<Date> {
    d.filter(|d| (d.year, d.month, d.day) != (0, 0, 0))
        .and_then(|d| day_in(field, d, v))
}

/// A source with its publisher, which every record of the dataset carries.
fn sourced(field: &str, s: Option<&pb::Source>, v: &mut Violations) -> Source {
    if s.is_none_or(|s| s.publisher.trim().is_empty()) {
        v.add(
            format!("{field}.publisher"),
            "is required: every record carries its source",
        );
    }
    convert::source_in(field, s, v)
}

fn currency_in(field: &str, code: &str, v: &mut Violations) -> Option<Currency> {
    if code.is_empty() {
        v.add(field, "is required: an ISO 4217 code, e.g. EUR");
        return None;
    }
    v.check(field, Currency::parse(code))
}

/// Jurisdiction codes, each known and listed once (bad ones named by index).
fn jurisdictions_in(field: &str, codes: &[String], v: &mut Violations) -> Vec<Jurisdiction> {
    let mut out = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if let Some(j) = convert::jurisdiction_in(&f, code, v) {
            if out.contains(&j) {
                v.add(f, format!("{j} is listed twice"));
            } else {
                out.push(j);
            }
        }
    }
    out
}

/// A share in [0, 1] (exposures and weights of the legal-risk model).
fn unit_interval(field: String, x: f64, v: &mut Violations) {
    if !(0.0..=1.0).contains(&x) {
        v.add(field, "must be from 0 to 1");
    }
}

fn collection_of<'a, T>(table: &'a [T], id: &str, id_of: impl Fn(&T) -> &str) -> Option<&'a T> {
    table.iter().find(|r| id_of(r) == id)
}

// ---------------------------------------------------------------------------------------------
// Figures

pub fn figure_in(prefix: &str, id: &str, p: &pb::Figure, v: &mut Violations) -> Option<Figure> {
    let f = |n: &str| format!("{prefix}.{n}");
    let snake = !p.category.is_empty()
        && p.category
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !snake {
        v.add(
            f("category"),
            "is required: a topic in lower snake case, e.g. windfall_interest",
        );
    }
    required_text(v, f("metric"), &p.metric, "what is measured, in words");
    required_text(v, f("area"), &p.area, "where it applies, in words");
    if p.value.is_some_and(|x| !x.is_finite()) {
        v.add(f("value"), "must be a finite number");
    }
    if let Some(high) = p.value_high {
        match p.value {
            _ if !high.is_finite() => v.add(f("value_high"), "must be a finite number"),
            None => v.add(f("value_high"), "needs `value`, the lower end of the range"),
            Some(low) if high < low => v.add(f("value_high"), "must not be below `value`"),
            Some(_) => {}
        }
    }
    // Checked now, refused at the end: every other field is still checked.
    let currency = if p.currency_code.is_empty() {
        Some(None)
    } else {
        v.check(&f("currency_code"), Currency::parse(&p.currency_code))
            .map(Some)
    };
    let (bound, as_of) = (
        convert::bound_in(&f("bound"), p.bound, v),
        optional_date(&f("as_of"), p.as_of.as_ref(), v),
    );
    let source = sourced(&f("source"), p.source.as_ref(), v);
    let confidence = convert::confidence_in(&f("confidence"), p.confidence, v);
    let custodian_jurisdictions =
        jurisdictions_in(&f("custodian_jurisdictions"), &p.custodian_jurisdictions, v);
    let claim = p.claim.as_ref().map(|c| claim_in(&f("claim"), id, c, v));
    if claim.is_some() {
        // legal-risk/2 counts a claim's amount, from its date on, against the custodians in
        // these jurisdictions: without any of them the claim would fail the model or be
        // silently left out.
        let unset_day = p
            .as_of
            .is_none_or(|d| (d.year, d.month, d.day) == (0, 0, 0));
        for (name, missing, why) in [
            ("value", p.value.is_none(), "legal-risk/2 counts its amount"),
            (
                "currency_code",
                p.currency_code.is_empty(),
                "the currency of its amount",
            ),
            (
                "as_of",
                unset_day,
                "legal-risk/2 counts it from that day on",
            ),
            (
                "custodian_jurisdictions",
                p.custodian_jurisdictions.is_empty(),
                "legal-risk/2 counts it against the custodians in these jurisdictions",
            ),
        ] {
            if missing {
                v.add(f(name), format!("is required for a claim: {why}"));
            }
        }
    }
    Some(Figure {
        id: id.to_owned(),
        category: p.category.clone(),
        metric: p.metric.clone(),
        area: p.area.clone(),
        value: p.value,
        value_high: p.value_high,
        unit: p.unit.clone(),
        currency: currency?,
        bound,
        as_of,
        as_of_label: optional_text(&p.as_of_label),
        source,
        confidence,
        verified: p.verified,
        note: optional_text(&p.note),
        custodian_jurisdictions,
        // A claim that was sent but could not be read keeps the figure from being read.
        claim: match claim {
            Some(read) => Some(read?),
            None => None,
        },
    })
}

/// The claim of figure `id`. Whether `decides` names a live figure is checked against the
/// dataset (`Reference::check`).
fn claim_in(prefix: &str, id: &str, c: &pb::Claim, v: &mut Violations) -> Option<Claim> {
    let f = |n: &str| format!("{prefix}.{n}");
    let forum = forum_in(&f("forum"), c.forum, v);
    required_text(
        v,
        f("forum_name"),
        &c.forum_name,
        "the body that decides the claim, e.g. Moscow Arbitration Court",
    );
    let stage = claim_stage_in(&f("stage"), c.stage, v);
    let enforceable_in = jurisdictions_in(&f("enforceable_in"), &c.enforceable_in, v);
    let decides = optional_text(&c.decides);
    if let Some(decided) = &decides {
        if stage == Some(ClaimStage::Claimed) {
            v.add(
                f("decides"),
                "is for an award only (stage AWARDED): a pending claim decides nothing",
            );
        } else if decided == id {
            v.add(
                f("decides"),
                "must name another figure: an award decides an earlier claim, not itself",
            );
        }
    }
    Some(Claim {
        forum: forum?,
        forum_name: c.forum_name.clone(),
        stage: stage?,
        enforceable_in,
        decides,
    })
}

fn forum_in(field: &str, value: i32, v: &mut Violations) -> Option<Forum> {
    Some(match pb::Forum::try_from(value) {
        Ok(pb::Forum::RussianCourt) => Forum::RussianCourt,
        Ok(pb::Forum::TreatyTribunal) => Forum::TreatyTribunal,
        Ok(pb::Forum::EuCourt) => Forum::EuCourt,
        Ok(pb::Forum::NationalCourt) => Forum::NationalCourt,
        Ok(pb::Forum::Unspecified) | Err(_) => {
            v.add(field, "must be set to a Forum value");
            return None;
        }
    })
}

fn claim_stage_in(field: &str, value: i32, v: &mut Violations) -> Option<ClaimStage> {
    Some(match pb::ClaimStage::try_from(value) {
        Ok(pb::ClaimStage::Claimed) => ClaimStage::Claimed,
        Ok(pb::ClaimStage::Awarded) => ClaimStage::Awarded,
        Ok(pb::ClaimStage::Unspecified) | Err(_) => {
            v.add(field, "must be set to a ClaimStage value");
            return None;
        }
    })
}

/// The awards (figures) whose claim decides figure `id`.
fn awards_deciding<'a>(snap: &'a Snapshot, id: &str) -> Vec<&'a str> {
    snap.dataset()
        .figures
        .iter()
        .filter(|f| f.claim.as_ref().and_then(|c| c.decides.as_deref()) == Some(id))
        .map(|f| f.id.as_str())
        .collect()
}

impl Reference for Figure {
    type Proto = pb::Figure;
    const KIND: RecordKind = RecordKind::Figure;
    const FIELD: &'static str = "figure";
    const BY_NAME: bool = false;
    const MUTABLE: &'static [&'static str] = &[
        "category",
        "metric",
        "area",
        "value",
        "value_high",
        "unit",
        "currency_code",
        "bound",
        "as_of",
        "as_of_label",
        "source",
        "confidence",
        "verified",
        "note",
        "custodian_jurisdictions",
        "claim",
    ];

    fn id(&self) -> &str {
        &self.id
    }
    fn live<'a>(snap: &'a Snapshot, id: &str) -> Option<&'a Self> {
        collection_of(&snap.dataset().figures, id, |r| &r.id)
    }
    fn out(&self) -> pb::Figure {
        dataset::figure(self)
    }
    fn address(p: &pb::Figure) -> &str {
        &p.id
    }
    fn read(id: &str, p: &pb::Figure, v: &mut Violations) -> Option<Self> {
        figure_in(Self::FIELD, id, p, v)
    }
    fn check(p: &pb::Figure, snap: &Snapshot, v: &mut Violations) {
        let Some(decided) = p.claim.as_ref().map(|c| &c.decides) else {
            return;
        };
        if !decided.is_empty() && Self::live(snap, decided).is_none() {
            v.add(
                format!("{}.claim.decides", Self::FIELD),
                format!("{decided:?} is the id of no live figure"),
            );
        }
    }
    /// A claim that an award decides stays while the award names it, so that the award keeps
    /// reading as it was written.
    fn deletion_problem(snap: &Snapshot, id: &str) -> Option<String> {
        let awards = awards_deciding(snap, id);
        (!awards.is_empty()).then(|| {
            format!(
                "{id} is the claim decided by awards {}: update or delete them first",
                awards.join(", ")
            )
        })
    }
    fn overlay(to: &mut pb::Figure, from: &pb::Figure, path: &str) {
        match path {
            "category" => to.category.clone_from(&from.category),
            "metric" => to.metric.clone_from(&from.metric),
            "area" => to.area.clone_from(&from.area),
            "value" => to.value = from.value,
            "value_high" => to.value_high = from.value_high,
            "unit" => to.unit.clone_from(&from.unit),
            "currency_code" => to.currency_code.clone_from(&from.currency_code),
            "bound" => to.bound = from.bound,
            "as_of" => to.as_of = from.as_of,
            "as_of_label" => to.as_of_label.clone_from(&from.as_of_label),
            "source" => to.source.clone_from(&from.source),
            "confidence" => to.confidence = from.confidence,
            "verified" => to.verified = from.verified,
            "note" => to.note.clone_from(&from.note),
            "custodian_jurisdictions" => to
                .custodian_jurisdictions
                .clone_from(&from.custodian_jurisdictions),
            "claim" => to.claim.clone_from(&from.claim),
            _ => {}
        }
    }
    fn keep(to: &mut Self, from: &Self, path: &str) {
        match path {
            "category" => to.category.clone_from(&from.category),
            "metric" => to.metric.clone_from(&from.metric),
            "area" => to.area.clone_from(&from.area),
            "value" => to.value = from.value,
            "value_high" => to.value_high = from.value_high,
            "unit" => to.unit.clone_from(&from.unit),
            "currency_code" => to.currency = from.currency,
            "bound" => to.bound = from.bound,
            "as_of" => to.as_of = from.as_of,
            "as_of_label" => to.as_of_label.clone_from(&from.as_of_label),
            "source" => to.source.clone_from(&from.source),
            "confidence" => to.confidence = from.confidence,
            "verified" => to.verified = from.verified,
            "note" => to.note.clone_from(&from.note),
            "custodian_jurisdictions" => to
                .custodian_jurisdictions
                .clone_from(&from.custodian_jurisdictions),
            "claim" => to.claim.clone_from(&from.claim),
            _ => {}
        }
    }
    fn record(self) -> Record {
        Record::Figure(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Exchange rates

pub fn exchange_rate_in(
    prefix: &str,
    id: &str,
    p: &pb::ExchangeRate,
    v: &mut Violations,
) -> Option<ExchangeRate> {
    let f = |n: &str| format!("{prefix}.{n}");
    let base = currency_in(&f("base_currency"), &p.base_currency, v);
    let quote = currency_in(&f("quote_currency"), &p.quote_currency, v);
    if base.is_some() && base == quote {
        v.add(f("quote_currency"), "must differ from `base_currency`");
    }
    if !(p.rate.is_finite() && p.rate > 0.0) {
        v.add(
            f("rate"),
            "must be a number above 0: units of the quote currency per unit of the base",
        );
    }
    let as_of = required_date(&f("as_of"), p.as_of.as_ref(), false, v);
    required_text(
        v,
        f("kind"),
        &p.kind,
        "what kind of rate, e.g. ECB euro reference rate",
    );
    let source = sourced(&f("source"), p.source.as_ref(), v);
    let confidence = convert::confidence_in(&f("confidence"), p.confidence, v);
    Some(ExchangeRate {
        id: id.to_owned(),
        base: base?,
        quote: quote?,
        rate: p.rate,
        as_of: as_of?,
        as_of_label: optional_text(&p.as_of_label),
        kind: p.kind.clone(),
        source,
        confidence,
        verified: p.verified,
        note: optional_text(&p.note),
    })
}

impl Reference for ExchangeRate {
    type Proto = pb::ExchangeRate;
    const KIND: RecordKind = RecordKind::ExchangeRate;
    const FIELD: &'static str = "exchange_rate";
    const BY_NAME: bool = false;
    const MUTABLE: &'static [&'static str] = &[
        "base_currency",
        "quote_currency",
        "rate",
        "as_of",
        "as_of_label",
        "kind",
        "source",
        "confidence",
        "verified",
        "note",
    ];

    fn id(&self) -> &str {
        &self.id
    }
    fn live<'a>(snap: &'a Snapshot, id: &str) -> Option<&'a Self> {
        collection_of(&snap.dataset().rates, id, |r| &r.id)
    }
    fn out(&self) -> pb::ExchangeRate {
        dataset::exchange_rate(self)
    }
    fn address(p: &pb::ExchangeRate) -> &str {
        &p.id
    }
    fn read(id: &str, p: &pb::ExchangeRate, v: &mut Violations) -> Option<Self> {
        exchange_rate_in(Self::FIELD, id, p, v)
    }
    fn overlay(to: &mut pb::ExchangeRate, from: &pb::ExchangeRate, path: &str) {
        match path {
            "base_currency" => to.base_currency.clone_from(&from.base_currency),
            "quote_currency" => to.quote_currency.clone_from(&from.quote_currency),
            "rate" => to.rate = from.rate,
            "as_of" => to.as_of = from.as_of,
            "as_of_label" => to.as_of_label.clone_from(&from.as_of_label),
            "kind" => to.kind.clone_from(&from.kind),
            "source" => to.source.clone_from(&from.source),
            "confidence" => to.confidence = from.confidence,
            "verified" => to.verified = from.verified,
            "note" => to.note.clone_from(&from.note),
            _ => {}
        }
    }
    fn keep(to: &mut Self, from: &Self, path: &str) {
        match path {
            "base_currency" => to.base = from.base,
            "quote_currency" => to.quote = from.quote,
            "rate" => to.rate = from.rate,
            "as_of" => to.as_of = from.as_of,
            "as_of_label" => to.as_of_label.clone_from(&from.as_of_label),
            "kind" => to.kind.clone_from(&from.kind),
            "source" => to.source.clone_from(&from.source),
            "confidence" => to.confidence = from.confidence,
            "verified" => to.verified = from.verified,
            "note" => to.note.clone_from(&from.note),
            _ => {}
        }
    }
    fn record(self) -> Record {
        Record::ExchangeRate(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Doctrines

pub fn doctrine_in(
    prefix: &str,
    id: &str,
    p: &pb::Doctrine,
    v: &mut Violations,
) -> Option<Doctrine> {
    let f = |n: &str| format!("{prefix}.{n}");
    required_text(
        v,
        f("display_name"),
        &p.display_name,
        "the doctrine's title",
    );
    required_text(
        v,
        f("summary"),
        &p.summary,
        "what the doctrine says and why it matters",
    );
    let jurisdictions = jurisdictions_in(&f("jurisdictions"), &p.jurisdictions, v);
    let exposure = match &p.exposure {
        None => {
            v.add(
                f("exposure"),
                "is required: how strongly the doctrine argues against each action, 0 to 1",
            );
            None
        }
        Some(e) => {
            for (name, x) in [
                ("immobilisation", e.immobilisation),
                ("windfall_profits", e.windfall_profits),
                ("profits_backed_loan", e.profits_backed_loan),
                ("reparations_loan", e.reparations_loan),
                ("confiscation", e.confiscation),
            ] {
                unit_interval(f(&format!("exposure.{name}")), x, v);
            }
            Some(ActionExposure {
                immobilisation: e.immobilisation,
                windfall_profits: e.windfall_profits,
                profits_backed_loan: e.profits_backed_loan,
                reparations_loan: e.reparations_loan,
                confiscation: e.confiscation,
            })
        }
    };
    unit_interval(f("weight"), p.weight, v);
    if p.sources.is_empty() {
        v.add(
            f("sources"),
            "is required: at least one text the doctrine rests on",
        );
    }
    let sources = p
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| sourced(&f(&format!("sources[{i}]")), Some(s), v))
        .collect();
    let confidence = convert::confidence_in(&f("confidence"), p.confidence, v);
    Some(Doctrine {
        id: id.to_owned(),
        name: p.display_name.clone(),
        summary: p.summary.clone(),
        open_question: optional_text(&p.open_question),
        jurisdictions,
        exposure: exposure?,
        weight: p.weight,
        sources,
        confidence,
        channel: legal::channel_in(&f("channel"), p.channel, v),
    })
}

impl Reference for Doctrine {
    type Proto = pb::Doctrine;
    const KIND: RecordKind = RecordKind::Doctrine;
    const FIELD: &'static str = "doctrine";
    const BY_NAME: bool = true;
    const MUTABLE: &'static [&'static str] = &[
        "display_name",
        "summary",
        "open_question",
        "jurisdictions",
        "exposure",
        "weight",
        "sources",
        "confidence",
        "channel",
    ];

    fn id(&self) -> &str {
        &self.id
    }
    /// Upper case: the name is the id in lower case, so ids differing only in case would
    /// share a name.
    fn id_problem(id: &str) -> Option<&'static str> {
        (!valid_record_id(id) || id.bytes().any(|b| b.is_ascii_lowercase()))
            .then_some("must be 1-63 upper-case letters, digits, '-', '_' or '.'")
    }
    fn name_of(id: &str) -> String {
        format!("doctrines/{}", id.to_ascii_lowercase())
    }
    fn resolve(snap: &Snapshot, id: &str) -> Option<String> {
        snap.dataset()
            .doctrines
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(id))
            .map(|d| d.id.clone())
    }
    fn live<'a>(snap: &'a Snapshot, id: &str) -> Option<&'a Self> {
        collection_of(&snap.dataset().doctrines, id, |r| &r.id)
    }
    fn out(&self) -> pb::Doctrine {
        legal::doctrine(self)
    }
    fn address(p: &pb::Doctrine) -> &str {
        &p.name
    }
    fn read(id: &str, p: &pb::Doctrine, v: &mut Violations) -> Option<Self> {
        doctrine_in(Self::FIELD, id, p, v)
    }
    fn deletion_problem(snap: &Snapshot, id: &str) -> Option<String> {
        let citing: Vec<&str> = snap
            .dataset()
            .positions
            .iter()
            .filter(|p| p.doctrines.iter().any(|d| d == id))
            .map(|p| p.id.as_str())
            .collect();
        (!citing.is_empty()).then(|| {
            format!(
                "{id} is invoked by positions {}: update or delete them first",
                citing.join(", ")
            )
        })
    }
    fn overlay(to: &mut pb::Doctrine, from: &pb::Doctrine, path: &str) {
        match path {
            "display_name" => to.display_name.clone_from(&from.display_name),
            "summary" => to.summary.clone_from(&from.summary),
            "open_question" => to.open_question.clone_from(&from.open_question),
            "jurisdictions" => to.jurisdictions.clone_from(&from.jurisdictions),
            "exposure" => to.exposure = from.exposure,
            "weight" => to.weight = from.weight,
            "sources" => to.sources.clone_from(&from.sources),
            "confidence" => to.confidence = from.confidence,
            "channel" => to.channel = from.channel,
            _ => {}
        }
    }
    fn keep(to: &mut Self, from: &Self, path: &str) {
        match path {
            "display_name" => to.name.clone_from(&from.name),
            "summary" => to.summary.clone_from(&from.summary),
            "open_question" => to.open_question.clone_from(&from.open_question),
            "jurisdictions" => to.jurisdictions.clone_from(&from.jurisdictions),
            "exposure" => to.exposure.clone_from(&from.exposure),
            "weight" => to.weight = from.weight,
            "sources" => to.sources.clone_from(&from.sources),
            "confidence" => to.confidence = from.confidence,
            "channel" => to.channel = from.channel,
            _ => {}
        }
    }
    fn record(self) -> Record {
        Record::Doctrine(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Positions

fn stance_in(field: &str, value: i32, v: &mut Violations) -> Option<Stance> {
    Some(match pb::Stance::try_from(value) {
        Ok(pb::Stance::Supports) => Stance::Supports,
        Ok(pb::Stance::Conditional) => Stance::Conditional,
        Ok(pb::Stance::Opposes) => Stance::Opposes,
        Ok(pb::Stance::Unresolved) => Stance::Unresolved,
        _ => {
            v.add(field, "must be set to a Stance value");
            return None;
        }
    })
}

/// A list of actions, each set and listed once; a bad element is named by its index.
fn actions_in(field: &str, values: &[i32], v: &mut Violations) -> Vec<Action> {
    let mut actions = Vec::with_capacity(values.len());
    for (i, a) in values.iter().enumerate() {
        let field = format!("{field}[{i}]");
        if let Some(a) = legal::action_in(&field, *a, v) {
            if actions.contains(&a) {
                v.add(field, "is listed twice");
            } else {
                actions.push(a);
            }
        }
    }
    actions
}

pub fn position_in(
    prefix: &str,
    id: &str,
    p: &pb::Position,
    v: &mut Violations,
) -> Option<Position> {
    let f = |n: &str| format!("{prefix}.{n}");
    if p.jurisdictions.is_empty() {
        v.add(
            f("jurisdictions"),
            "is required: the jurisdictions the position speaks for",
        );
    }
    let jurisdictions = jurisdictions_in(&f("jurisdictions"), &p.jurisdictions, v);
    required_text(v, f("actor"), &p.actor, "who took the position");
    if p.actions.is_empty() {
        v.add(
            f("actions"),
            "is required: the actions the position is about",
        );
    }
    let actions = actions_in(&f("actions"), &p.actions, v);
    let stance = stance_in(&f("stance"), p.stance, v);
    for (i, d) in p.doctrine_ids.iter().enumerate() {
        if p.doctrine_ids[..i].contains(d) {
            v.add(f(&format!("doctrine_ids[{i}]")), "is listed twice");
        }
    }
    required_text(v, f("summary"), &p.summary, "what was said, in words");
    let date = required_date(&f("date"), p.date.as_ref(), false, v);
    let source = sourced(&f("source"), p.source.as_ref(), v);
    let confidence = convert::confidence_in(&f("confidence"), p.confidence, v);
    let actor_kind = legal::actor_kind_in(&f("actor_kind"), p.actor_kind, v);
    let actor_id_valid = p.actor_id.len() <= 63
        && p.actor_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !actor_id_valid {
        v.add(
            f("actor_id"),
            "must be 1-63 lower-case letters, digits or '-'",
        );
    }
    Some(Position {
        id: id.to_owned(),
        jurisdictions,
        actor: p.actor.clone(),
        actions,
        stance: stance?,
        doctrines: p.doctrine_ids.clone(),
        summary: p.summary.clone(),
        date: date?,
        date_label: optional_text(&p.date_label),
        source,
        confidence,
        verified: p.verified,
        actor_kind,
        actor_id: optional_text(&p.actor_id),
    })
}

impl Reference for Position {
    type Proto = pb::Position;
    const KIND: RecordKind = RecordKind::Position;
    const FIELD: &'static str = "position";
    const BY_NAME: bool = true;
    const MUTABLE: &'static [&'static str] = &[
        "jurisdictions",
        "actor",
        "actions",
        "stance",
        "doctrine_ids",
        "summary",
        "date",
        "date_label",
        "source",
        "confidence",
        "verified",
        "actor_kind",
        "actor_id",
    ];

    fn id(&self) -> &str {
        &self.id
    }
    fn live<'a>(snap: &'a Snapshot, id: &str) -> Option<&'a Self> {
        collection_of(&snap.dataset().positions, id, |r| &r.id)
    }
    fn out(&self) -> pb::Position {
        legal::position(self)
    }
    fn address(p: &pb::Position) -> &str {
        &p.name
    }
    fn read(id: &str, p: &pb::Position, v: &mut Violations) -> Option<Self> {
        position_in(Self::FIELD, id, p, v)
    }
    fn check(p: &pb::Position, snap: &Snapshot, v: &mut Violations) {
        let doctrines = &snap.dataset().doctrines;
        for (i, d) in p.doctrine_ids.iter().enumerate() {
            if !doctrines.iter().any(|x| &x.id == d) {
                v.add(
                    format!("{}.doctrine_ids[{i}]", Self::FIELD),
                    format!("{d:?} is the id of no live doctrine"),
                );
            }
        }
    }
    fn overlay(to: &mut pb::Position, from: &pb::Position, path: &str) {
        match path {
            "jurisdictions" => to.jurisdictions.clone_from(&from.jurisdictions),
            "actor" => to.actor.clone_from(&from.actor),
            "actions" => to.actions.clone_from(&from.actions),
            "stance" => to.stance = from.stance,
            "doctrine_ids" => to.doctrine_ids.clone_from(&from.doctrine_ids),
            "summary" => to.summary.clone_from(&from.summary),
            "date" => to.date = from.date,
            "date_label" => to.date_label.clone_from(&from.date_label),
            "source" => to.source.clone_from(&from.source),
            "confidence" => to.confidence = from.confidence,
            "verified" => to.verified = from.verified,
            "actor_kind" => to.actor_kind = from.actor_kind,
            "actor_id" => to.actor_id.clone_from(&from.actor_id),
            _ => {}
        }
    }
    fn keep(to: &mut Self, from: &Self, path: &str) {
        match path {
            "jurisdictions" => to.jurisdictions.clone_from(&from.jurisdictions),
            "actor" => to.actor.clone_from(&from.actor),
            "actions" => to.actions.clone_from(&from.actions),
            "stance" => to.stance = from.stance,
            "doctrine_ids" => to.doctrines.clone_from(&from.doctrines),
            "summary" => to.summary.clone_from(&from.summary),
            "date" => to.date = from.date,
            "date_label" => to.date_label.clone_from(&from.date_label),
            "source" => to.source.clone_from(&from.source),
            "confidence" => to.confidence = from.confidence,
            "verified" => to.verified = from.verified,
            "actor_kind" => to.actor_kind = from.actor_kind,
            "actor_id" => to.actor_id.clone_from(&from.actor_id),
            _ => {}
        }
    }
    fn record(self) -> Record {
        Record::Position(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Published assessments

pub fn assessment_in(
    prefix: &str,
    id: &str,
    p: &pb::PublishedAssessment,
    v: &mut Violations,
) -> Option<PublishedAssessment> {
    let f = |n: &str| format!("{prefix}.{n}");
    required_text(v, f("author"), &p.author, "who published it");
    let date = required_date(&f("date"), p.date.as_ref(), false, v);
    required_text(v, f("subject"), &p.subject, "what it assesses, in words");
    required_text(
        v,
        f("conclusion"),
        &p.conclusion,
        "its conclusion, in words",
    );
    let source = sourced(&f("source"), p.source.as_ref(), v);
    let confidence = convert::confidence_in(&f("confidence"), p.confidence, v);
    let actions = actions_in(&f("actions"), &p.actions, v);
    let risk_level = legal::level_in(&f("risk_level"), p.risk_level, v);
    Some(PublishedAssessment {
        id: id.to_owned(),
        author: p.author.clone(),
        date: date?,
        date_label: optional_text(&p.date_label),
        subject: p.subject.clone(),
        conclusion: p.conclusion.clone(),
        source,
        confidence,
        verified: p.verified,
        actions,
        risk_level,
    })
}

impl Reference for PublishedAssessment {
    type Proto = pb::PublishedAssessment;
    const KIND: RecordKind = RecordKind::Assessment;
    const FIELD: &'static str = "published_assessment";
    const BY_NAME: bool = false;
    const MUTABLE: &'static [&'static str] = &[
        "author",
        "date",
        "date_label",
        "subject",
        "conclusion",
        "source",
        "confidence",
        "verified",
        "actions",
        "risk_level",
    ];

    fn id(&self) -> &str {
        &self.id
    }
    fn live<'a>(snap: &'a Snapshot, id: &str) -> Option<&'a Self> {
        collection_of(&snap.dataset().assessments, id, |r| &r.id)
    }
    fn out(&self) -> pb::PublishedAssessment {
        legal::assessment(self)
    }
    fn address(p: &pb::PublishedAssessment) -> &str {
        &p.id
    }
    fn read(id: &str, p: &pb::PublishedAssessment, v: &mut Violations) -> Option<Self> {
        assessment_in(Self::FIELD, id, p, v)
    }
    fn overlay(to: &mut pb::PublishedAssessment, from: &pb::PublishedAssessment, path: &str) {
        match path {
            "author" => to.author.clone_from(&from.author),
            "date" => to.date = from.date,
            "date_label" => to.date_label.clone_from(&from.date_label),
            "subject" => to.subject.clone_from(&from.subject),
            "conclusion" => to.conclusion.clone_from(&from.conclusion),
            "source" => to.source.clone_from(&from.source),
            "confidence" => to.confidence = from.confidence,
            "verified" => to.verified = from.verified,
            "actions" => to.actions.clone_from(&from.actions),
            "risk_level" => to.risk_level = from.risk_level,
            _ => {}
        }
    }
    fn keep(to: &mut Self, from: &Self, path: &str) {
        match path {
            "author" => to.author.clone_from(&from.author),
            "date" => to.date = from.date,
            "date_label" => to.date_label.clone_from(&from.date_label),
            "subject" => to.subject.clone_from(&from.subject),
            "conclusion" => to.conclusion.clone_from(&from.conclusion),
            "source" => to.source.clone_from(&from.source),
            "confidence" => to.confidence = from.confidence,
            "verified" => to.verified = from.verified,
            "actions" => to.actions.clone_from(&from.actions),
            "risk_level" => to.risk_level = from.risk_level,
            _ => {}
        }
    }
    fn record(self) -> Record {
        Record::Assessment(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Funding instruments

fn status_in(field: &str, value: i32, v: &mut Violations) -> Option<InstrumentStatus> {
    match pb::InstrumentStatus::try_from(value) {
        Ok(pb::InstrumentStatus::Unspecified) => None,
        Ok(pb::InstrumentStatus::Proposed) => Some(InstrumentStatus::Proposed),
        Ok(pb::InstrumentStatus::Agreed) => Some(InstrumentStatus::Agreed),
        Ok(pb::InstrumentStatus::Adopted) => Some(InstrumentStatus::Adopted),
        Ok(pb::InstrumentStatus::Disbursing) => Some(InstrumentStatus::Disbursing),
        Ok(pb::InstrumentStatus::Completed) => Some(InstrumentStatus::Completed),
        Ok(pb::InstrumentStatus::Abandoned) => Some(InstrumentStatus::Abandoned),
        Err(_) => {
            v.add(field, format!("{value} is not an InstrumentStatus value"));
            None
        }
    }
}

fn role_in(field: &str, value: i32, v: &mut Violations) -> Option<Role> {
    Some(match pb::ParticipantRole::try_from(value) {
        Ok(pb::ParticipantRole::Borrower) => Role::Borrower,
        Ok(pb::ParticipantRole::Lender) => Role::Lender,
        Ok(pb::ParticipantRole::Guarantor) => Role::Guarantor,
        Ok(pb::ParticipantRole::Recipient) => Role::Recipient,
        Ok(pb::ParticipantRole::OptedOut) => Role::OptedOut,
        Ok(pb::ParticipantRole::Associated) => Role::Associated,
        Ok(pb::ParticipantRole::ThirdCountry) => Role::ThirdCountry,
        Ok(pb::ParticipantRole::Contributor) => Role::Contributor,
        _ => {
            v.add(field, "must be set to a ParticipantRole value");
            return None;
        }
    })
}

fn event_in(field: &str, value: i32, v: &mut Violations) -> Option<AccessEvent> {
    Some(match pb::AccessEvent::try_from(value) {
        Ok(pb::AccessEvent::PartnershipTalks) => AccessEvent::PartnershipTalks,
        Ok(pb::AccessEvent::PartnershipSigned) => AccessEvent::PartnershipSigned,
        Ok(pb::AccessEvent::TalksFailed) => AccessEvent::TalksFailed,
        Ok(pb::AccessEvent::AgreementConcluded) => AccessEvent::AgreementConcluded,
        _ => {
            v.add(field, "must be set to an AccessEvent value");
            return None;
        }
    })
}

/// An allocation (or an instrument's size, which has the same shape) under `id`.
pub fn allocation_in(
    prefix: &str,
    id: &str,
    p: &pb::Allocation,
    v: &mut Violations,
) -> Option<Allocation> {
    let f = |n: &str| format!("{prefix}.{n}");
    let jurisdiction = if p.jurisdiction.is_empty() {
        Some(None)
    } else {
        convert::jurisdiction_in(&f("jurisdiction"), &p.jurisdiction, v).map(Some)
    };
    required_text(v, f("label"), &p.label, "who or what, in words");
    let amount = convert::money_in(&f("amount"), p.amount.as_ref(), v);
    let as_of = required_date(&f("as_of"), p.as_of.as_ref(), true, v);
    let bound = convert::bound_in(&f("bound"), p.bound, v);
    let source = sourced(&f("source"), p.source.as_ref(), v);
    let confidence = convert::confidence_in(&f("confidence"), p.confidence, v);
    let (value, currency) = amount?;
    Some(Allocation {
        id: id.to_owned(),
        jurisdiction: jurisdiction?,
        label: p.label.clone(),
        value,
        scale: Scale::Unit,
        currency,
        bound,
        as_of: as_of?,
        as_of_label: optional_text(&p.as_of_label),
        source,
        confidence,
        verified: p.verified,
        note: optional_text(&p.note),
    })
}

fn milestone_in(prefix: &str, p: &pb::Milestone, v: &mut Violations) -> Option<Milestone> {
    let f = |n: &str| format!("{prefix}.{n}");
    let date = required_date(&f("date"), p.date.as_ref(), true, v);
    let status = status_in(&f("status"), p.status, v);
    required_text(v, f("text"), &p.text, "what happened, in words");
    let source = sourced(&f("source"), p.source.as_ref(), v);
    Some(Milestone {
        date: date?,
        date_label: optional_text(&p.date_label),
        status,
        text: p.text.clone(),
        source,
    })
}

fn term_in(prefix: &str, p: &pb::Term, v: &mut Violations) -> Term {
    let f = |n: &str| format!("{prefix}.{n}");
    required_text(v, f("name"), &p.name, "what the term is, e.g. maturity");
    required_text(v, f("value"), &p.value, "its value as published");
    Term {
        name: p.name.clone(),
        value: p.value.clone(),
        source: sourced(&f("source"), p.source.as_ref(), v),
    }
}

fn eligibility_in(prefix: &str, p: &pb::EligibilityRules, v: &mut Violations) -> EligibilityRules {
    let f = |n: &str| format!("{prefix}.{n}");
    let associated = jurisdictions_in(&f("associated"), &p.associated, v);
    if !(0.0..=100.0).contains(&p.outside_component_cap_pct) {
        v.add(
            f("outside_component_cap_pct"),
            "must be from 0 to 100 (percent)",
        );
    }
    required_text(
        v,
        f("summary"),
        &p.summary,
        "the rules in words, with their legal reference",
    );
    let source = sourced(&f("source"), p.source.as_ref(), v);
    let mut steps = Vec::with_capacity(p.third_countries.len());
    for (i, s) in p.third_countries.iter().enumerate() {
        let g = |n: &str| format!("{prefix}.third_countries[{i}].{n}");
        let jurisdiction = convert::jurisdiction_in(&g("jurisdiction"), &s.jurisdiction, v);
        let date = required_date(&g("date"), s.date.as_ref(), true, v);
        let event = event_in(&g("event"), s.event, v);
        required_text(v, g("text"), &s.text, "the step in words");
        let source = sourced(&g("source"), s.source.as_ref(), v);
        if let (Some(jurisdiction), Some(date), Some(event)) = (jurisdiction, date, event) {
            steps.push(ThirdCountryStep {
                jurisdiction,
                date,
                event,
                text: s.text.clone(),
                source,
            });
        }
    }
    EligibilityRules {
        associated,
        outside_component_cap_pct: p.outside_component_cap_pct,
        summary: p.summary.clone(),
        source,
        third_countries: steps,
    }
}

/// An instrument without its allocations, which are written through their own methods.
pub fn instrument_in(
    prefix: &str,
    id: &str,
    p: &pb::Instrument,
    v: &mut Violations,
) -> Option<FundingInstrument> {
    let f = |n: &str| format!("{prefix}.{n}");
    required_text(
        v,
        f("display_name"),
        &p.display_name,
        "the instrument's name",
    );
    required_text(
        v,
        f("summary"),
        &p.summary,
        "what the instrument is and does",
    );
    if p.size.is_some() && p.size_detail.is_none() {
        v.add(
            f("size"),
            "is output only: give the size with its source in `size_detail`",
        );
    }
    let size = match &p.size_detail {
        None => Some(None),
        Some(d) => {
            let size_id = if d.id.is_empty() {
                format!("{id}-size")
            } else {
                d.id.clone()
            };
            if !valid_record_id(&size_id) {
                v.add(f("size_detail.id"), RECORD_ID_RULE);
            }
            allocation_in(&f("size_detail"), &size_id, d, v).map(Some)
        }
    };
    let milestones: Vec<_> = p
        .milestones
        .iter()
        .enumerate()
        .map(|(i, m)| milestone_in(&f(&format!("milestones[{i}]")), m, v))
        .collect();
    let terms = p
        .terms
        .iter()
        .enumerate()
        .map(|(i, t)| term_in(&f(&format!("terms[{i}]")), t, v))
        .collect();
    let mut participants: Vec<Participant> = Vec::with_capacity(p.participants.len());
    for (i, x) in p.participants.iter().enumerate() {
        let g = |n: &str| format!("{prefix}.participants[{i}].{n}");
        let jurisdiction = convert::jurisdiction_in(&g("jurisdiction"), &x.jurisdiction, v);
        let role = role_in(&g("role"), x.role, v);
        if let (Some(jurisdiction), Some(role)) = (jurisdiction, role) {
            if participants
                .iter()
                .any(|q| q.jurisdiction == jurisdiction && q.role == role)
            {
                v.add(
                    f(&format!("participants[{i}]")),
                    format!("{jurisdiction} is listed twice in that role"),
                );
            }
            participants.push(Participant {
                jurisdiction,
                role,
                note: optional_text(&x.note),
            });
        }
    }
    let eligibility = p
        .eligibility
        .as_ref()
        .map(|e| eligibility_in(&f("eligibility"), e, v));
    Some(FundingInstrument {
        id: id.to_owned(),
        name: p.display_name.clone(),
        summary: p.summary.clone(),
        legal_basis: optional_text(&p.legal_basis),
        size: size?,
        milestones: milestones.into_iter().collect::<Option<_>>()?,
        terms,
        participants,
        allocations: Vec::new(),
        eligibility,
    })
}

impl Reference for FundingInstrument {
    type Proto = pb::Instrument;
    const KIND: RecordKind = RecordKind::Instrument;
    const FIELD: &'static str = "instrument";
    const BY_NAME: bool = true;
    const MUTABLE: &'static [&'static str] = &[
        "display_name",
        "summary",
        "legal_basis",
        "size_detail",
        "milestones",
        "terms",
        "participants",
        "eligibility",
    ];
    const OUTPUT_ONLY: &'static [&'static str] = &["status", "status_date", "size", "size_bound"];

    fn id(&self) -> &str {
        &self.id
    }
    fn id_problem(id: &str) -> Option<&'static str> {
        (!is_valid_id(id))
            .then_some("must be 1-63 lower-case letters, digits or hyphens, starting with a letter")
    }
    fn name_id_valid(id: &str) -> bool {
        is_valid_id(id)
    }
    fn live<'a>(snap: &'a Snapshot, id: &str) -> Option<&'a Self> {
        snap.instrument(id)
    }
    fn out(&self) -> pb::Instrument {
        funding::instrument(self, Date::today())
    }
    fn address(p: &pb::Instrument) -> &str {
        &p.name
    }
    fn read(id: &str, p: &pb::Instrument, v: &mut Violations) -> Option<Self> {
        instrument_in(Self::FIELD, id, p, v)
    }
    fn overlay(to: &mut pb::Instrument, from: &pb::Instrument, path: &str) {
        match path {
            "display_name" => to.display_name.clone_from(&from.display_name),
            "summary" => to.summary.clone_from(&from.summary),
            "legal_basis" => to.legal_basis.clone_from(&from.legal_basis),
            "size_detail" => {
                // `size` and `size_bound` follow from it, as in a reply.
                to.size_detail.clone_from(&from.size_detail);
                to.size = from.size_detail.as_ref().and_then(|d| d.amount.clone());
                to.size_bound = from.size_detail.as_ref().map_or(0, |d| d.bound);
            }
            "milestones" => to.milestones.clone_from(&from.milestones),
            "terms" => to.terms.clone_from(&from.terms),
            "participants" => to.participants.clone_from(&from.participants),
            "eligibility" => to.eligibility.clone_from(&from.eligibility),
            _ => {}
        }
    }
    fn keep(to: &mut Self, from: &Self, path: &str) {
        match path {
            "display_name" => to.name.clone_from(&from.name),
            "summary" => to.summary.clone_from(&from.summary),
            "legal_basis" => to.legal_basis.clone_from(&from.legal_basis),
            "size_detail" => {
                let mut size = from.size.clone();
                if let (Some(new), Some(old)) = (&mut size, &to.size) {
                    keep_published_amount(new, old);
                }
                to.size = size;
            }
            "milestones" => to.milestones.clone_from(&from.milestones),
            "terms" => to.terms.clone_from(&from.terms),
            "participants" => to.participants.clone_from(&from.participants),
            "eligibility" => to.eligibility.clone_from(&from.eligibility),
            _ => {}
        }
    }
    fn record(self) -> Record {
        Record::Instrument(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Allocations: children of an instrument, stored inside its record, so each write is an update
// of the instrument.

const ALLOCATION_MUTABLE: &[&str] = &[
    "jurisdiction",
    "label",
    "amount",
    "bound",
    "as_of",
    "as_of_label",
    "source",
    "confidence",
    "verified",
    "note",
];

fn allocation_name(instrument: &str, id: &str) -> String {
    format!("instruments/{instrument}/allocations/{id}")
}

fn instrument_of(field: &str, name: &str, v: &mut Violations) -> Option<String> {
    let id = name
        .strip_prefix("instruments/")
        .filter(|id| is_valid_id(id));
    if id.is_none() {
        v.add(
            field,
            format!("{name:?} is not an instrument name (instruments/{{id}})"),
        );
    }
    id.map(str::to_owned)
}

/// The instrument and allocation ids of `instruments/{i}/allocations/{a}`.
fn allocation_ids(field: &str, name: &str, v: &mut Violations) -> Option<(String, String)> {
    let ids = name
        .strip_prefix("instruments/")
        .and_then(|rest| rest.split_once("/allocations/"))
        .filter(|(i, a)| is_valid_id(i) && valid_record_id(a));
    if ids.is_none() {
        v.add(
            field,
            format!(
                "{name:?} is not an allocation name (instruments/{{instrument}}/allocations/{{id}})"
            ),
        );
    }
    ids.map(|(i, a)| (i.to_owned(), a.to_owned()))
}

/// Adds allocation `id` to the instrument `parent` names.
pub async fn create_allocation(
    repo: &Arc<Repository>,
    actor: String,
    parent: String,
    id: String,
    p: Option<pb::Allocation>,
) -> Result<pb::Allocation, Status> {
    let mut v = Violations::new();
    let instrument = instrument_of("parent", &parent, &mut v);
    if !valid_record_id(&id) {
        v.add("allocation_id", RECORD_ID_RULE);
    }
    let allocation = match &p {
        None => {
            v.add("allocation", "is required");
            None
        }
        Some(p) => allocation_in("allocation", &id, p, &mut v),
    };
    v.into_result().map_err(error::domain)?;
    let (Some(instrument), Some(allocation)) = (instrument, allocation) else {
        return Err(error::invalid("allocation", "is required"));
    };
    let history = Arc::clone(repo);
    let (instrument, allocation) = write(repo, actor, move |snap, actor| {
        let current = snap
            .instrument(&instrument)
            .ok_or_else(|| error::not_found(&parent))?;
        let name = allocation_name(&instrument, &id);
        let taken = |i: &FundingInstrument| i.allocations.iter().any(|a| a.id == id);
        if let Some(other) = snap.dataset().instruments.iter().find(|i| taken(i)) {
            return Err(error::domain(DomainError::AlreadyExists(allocation_name(
                &other.id, &id,
            ))));
        }
        // Names are never reused: not even that of an allocation since removed.
        let past = history
            .store()
            .history(&RecordKey::new(RecordKind::Instrument, instrument.clone()))
            .map_err(error::store)?;
        if past
            .iter()
            .any(|r| matches!(&r.record, Record::Instrument(i) if taken(i)))
        {
            return Err(error::domain(DomainError::AlreadyExists(name)));
        }
        let mut updated = current.clone();
        updated.allocations.push(allocation.clone());
        let changes = vec![Change::Update(Record::Instrument(updated))];
        consistent(snap, &changes, "allocation")?;
        Ok((
            Commit::edit(actor, format!("create {name}"), changes),
            (instrument.clone(), allocation.clone()),
        ))
    })
    .await?;
    Ok(funding::allocation(&instrument, &allocation))
}

/// Replaces the fields of an allocation that `mask` names with their values in `p`.
pub async fn update_allocation(
    repo: &Arc<Repository>,
    actor: String,
    p: Option<pb::Allocation>,
    mask: Option<FieldMask>,
) -> Result<pb::Allocation, Status> {
    let mut v = Violations::new();
    let paths = mask_paths(
        mask.as_ref(),
        ALLOCATION_MUTABLE,
        &["name", "id"],
        &[],
        &mut v,
    );
    let ids = match &p {
        None => {
            v.add("allocation", "is required");
            None
        }
        Some(p) => allocation_ids("allocation.name", &p.name, &mut v),
    };
    v.into_result().map_err(error::domain)?;
    let (Some(p), Some((instrument, id))) = (p, ids) else {
        return Err(error::invalid("allocation", "is required"));
    };
    let (instrument, allocation) = write(repo, actor, move |snap, actor| {
        let name = allocation_name(&instrument, &id);
        let not_found = || error::not_found(&name);
        let current = snap.instrument(&instrument).ok_or_else(not_found)?;
        let at = current
            .allocations
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(not_found)?;
        let stored = &current.allocations[at];
        let mut merged = funding::allocation(&instrument, stored);
        for path in &paths {
            overlay_allocation(&mut merged, &p, path);
        }
        let mut v = Violations::new();
        let new = allocation_in("allocation", &id, &merged, &mut v);
        let new = finish(v, new, "allocation")?;
        let mut kept = stored.clone();
        for path in &paths {
            keep_allocation(&mut kept, &new, path);
        }
        let mut updated = current.clone();
        updated.allocations[at] = kept.clone();
        let changes = vec![Change::Update(Record::Instrument(updated))];
        consistent(snap, &changes, "allocation")?;
        let summary = format!("update {name} ({})", paths.join(", "));
        Ok((
            Commit::edit(actor, summary, changes),
            (instrument.clone(), kept),
        ))
    })
    .await?;
    Ok(funding::allocation(&instrument, &allocation))
}

/// Removes the allocation `name` names from its instrument.
pub async fn delete_allocation(
    repo: &Arc<Repository>,
    actor: String,
    name: String,
) -> Result<(), Status> {
    let mut v = Violations::new();
    let ids = allocation_ids("name", &name, &mut v);
    v.into_result().map_err(error::domain)?;
    let Some((instrument, id)) = ids else {
        return Err(error::invalid("name", "is required"));
    };
    write(repo, actor, move |snap, actor| {
        let not_found = || error::not_found(&name);
        let mut updated = snap.instrument(&instrument).ok_or_else(not_found)?.clone();
        let at = updated
            .allocations
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(not_found)?;
        updated.allocations.remove(at);
        let changes = vec![Change::Update(Record::Instrument(updated))];
        consistent(snap, &changes, "name")?;
        Ok((Commit::edit(actor, format!("delete {name}"), changes), ()))
    })
    .await
}

fn overlay_allocation(to: &mut pb::Allocation, from: &pb::Allocation, path: &str) {
    match path {
        "jurisdiction" => to.jurisdiction.clone_from(&from.jurisdiction),
        "label" => to.label.clone_from(&from.label),
        "amount" => to.amount.clone_from(&from.amount),
        "bound" => to.bound = from.bound,
        "as_of" => to.as_of = from.as_of,
        "as_of_label" => to.as_of_label.clone_from(&from.as_of_label),
        "source" => to.source.clone_from(&from.source),
        "confidence" => to.confidence = from.confidence,
        "verified" => to.verified = from.verified,
        "note" => to.note.clone_from(&from.note),
        _ => {}
    }
}

fn keep_allocation(to: &mut Allocation, from: &Allocation, path: &str) {
    match path {
        "jurisdiction" => to.jurisdiction = from.jurisdiction,
        "label" => to.label.clone_from(&from.label),
        "amount" => {
            let mut new = from.clone();
            keep_published_amount(&mut new, to);
            to.value = new.value;
            to.scale = new.scale;
            to.currency = new.currency;
        }
        "bound" => to.bound = from.bound,
        "as_of" => to.as_of = from.as_of,
        "as_of_label" => to.as_of_label.clone_from(&from.as_of_label),
        "source" => to.source.clone_from(&from.source),
        "confidence" => to.confidence = from.confidence,
        "verified" => to.verified = from.verified,
        "note" => to.note.clone_from(&from.note),
        _ => {}
    }
}

/// A new amount arrives in whole units, while a stored one may be in billions as published
/// (EUR 6.9 bn): when the request sends back the amount it was shown, keep the published form.
fn keep_published_amount(new: &mut Allocation, old: &Allocation) {
    let shown = |a: &Allocation| convert::money(a.amount(), a.currency);
    if shown(new) == shown(old) {
        new.value = old.value;
        new.scale = old.scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An update merges the stored record through its proto, so every shipped record must
    /// come back from its own read conversion unchanged and without a complaint.
    fn comes_back<R: Reference + PartialEq + std::fmt::Debug>(r: &R) {
        let mut v = Violations::new();
        let back = R::read(r.id(), &r.out(), &mut v);
        assert!(v.is_empty(), "{}: {:?}", r.id(), v.into_result());
        assert_eq!(back.as_ref(), Some(r));
    }

    /// The amount as the API shows it, and the allocation in whole units otherwise.
    fn shown(a: &Allocation) -> (pb::Money, Allocation) {
        let whole = Allocation {
            value: 0.0,
            scale: Scale::Unit,
            ..a.clone()
        };
        (convert::money(a.amount(), a.currency), whole)
    }

    #[test]
    fn every_shipped_reference_record_reads_back_from_its_proto_unchanged() {
        let d = Dataset::embedded().unwrap();
        d.figures.iter().for_each(comes_back);
        d.rates.iter().for_each(comes_back);
        d.doctrines.iter().for_each(comes_back);
        d.positions.iter().for_each(comes_back);
        d.assessments.iter().for_each(comes_back);
        for i in d.instruments.iter() {
            let mut v = Violations::new();
            let back = FundingInstrument::read(&i.id, &i.out(), &mut v).unwrap();
            assert!(v.is_empty(), "{}: {:?}", i.id, v.into_result());
            assert_eq!(back.size.as_ref().map(shown), i.size.as_ref().map(shown));
            let without = |x: &FundingInstrument| FundingInstrument {
                size: None,
                allocations: Vec::new(),
                ..x.clone()
            };
            assert_eq!(without(&back), without(i));
            for a in &i.allocations {
                let mut v = Violations::new();
                let back =
                    allocation_in("allocation", &a.id, &funding::allocation(&i.id, a), &mut v);
                assert!(v.is_empty(), "{}: {:?}", a.id, v.into_result());
                assert_eq!(back.as_ref().map(shown), Some(shown(a)));
            }
        }
    }

    /// The fields a check named, in order.
    fn named(v: Violations) -> Vec<String> {
        match v.into_result() {
            Ok(()) => Vec::new(),
            Err(DomainError::InvalidArgument(violations)) => {
                violations.into_iter().map(|x| x.field).collect()
            }
            Err(other) => panic!("not a list of bad fields: {other:?}"),
        }
    }

    #[test]
    fn a_shipped_award_keeps_its_claim_and_custodians_through_the_api() {
        let d = Dataset::embedded().unwrap();
        let award = d.figures.iter().find(|f| f.id == "EC-014").unwrap();
        let shown = award.out();
        assert_eq!(shown.custodian_jurisdictions, ["BE"]);
        let claim = shown.claim.as_ref().unwrap();
        assert_eq!(
            (claim.forum, claim.stage, claim.decides.as_str()),
            (
                pb::Forum::RussianCourt as i32,
                pb::ClaimStage::Awarded as i32,
                "EC-012"
            )
        );
        assert_eq!(claim.enforceable_in, ["RU", "CN", "KZ", "AE"]);
    }

    #[test]
    fn a_bad_claim_and_bad_custodian_jurisdictions_are_named_field_by_field() {
        let d = Dataset::embedded().unwrap();
        let mut p = d.figures.iter().find(|f| f.id == "EC-014").unwrap().out();
        p.value = None;
        p.as_of = None;
        p.custodian_jurisdictions = vec!["BE".into(), "UK".into(), "BE".into()];
        p.claim = Some(pb::Claim {
            forum: pb::Forum::Unspecified as i32,
            forum_name: " ".into(),
            stage: 99,
            enforceable_in: vec!["RU".into(), "ZZ".into()],
            decides: "EC-014".into(),
        });
        let mut v = Violations::new();
        assert_eq!(Figure::read("EC-014", &p, &mut v), None);
        assert_eq!(
            named(v),
            [
                "figure.custodian_jurisdictions[1]",
                "figure.custodian_jurisdictions[2]",
                "figure.claim.forum",
                "figure.claim.forum_name",
                "figure.claim.stage",
                "figure.claim.enforceable_in[1]",
                "figure.claim.decides",
                "figure.value",
                "figure.as_of",
            ]
        );
        // A pending claim decides nothing; a claim needs custodians to be counted against.
        p.custodian_jurisdictions.clear();
        p.claim = Some(pb::Claim {
            forum: pb::Forum::TreatyTribunal as i32,
            forum_name: "Arbitration Institute of the Stockholm Chamber of Commerce".into(),
            stage: pb::ClaimStage::Claimed as i32,
            enforceable_in: Vec::new(),
            decides: "EC-012".into(),
        });
        let mut v = Violations::new();
        Figure::read("EC-014", &p, &mut v);
        assert_eq!(
            named(v),
            [
                "figure.claim.decides",
                "figure.value",
                "figure.as_of",
                "figure.custodian_jurisdictions"
            ]
        );
    }

    #[test]
    fn an_award_must_decide_a_live_figure_and_the_claim_it_decides_cannot_be_deleted() {
        let snap = Snapshot::new(Dataset::embedded().unwrap());
        let mut award = snap
            .dataset()
            .figures
            .iter()
            .find(|f| f.id == "EC-014")
            .unwrap()
            .out();
        let mut v = Violations::new();
        Figure::check(&award, &snap, &mut v);
        assert!(v.is_empty(), "EC-012 is live");
        if let Some(c) = award.claim.as_mut() {
            c.decides = "EC-999".into();
        }
        let mut v = Violations::new();
        Figure::check(&award, &snap, &mut v);
        assert_eq!(named(v), ["figure.claim.decides"]);
        let refused = Figure::deletion_problem(&snap, "EC-012").unwrap();
        assert!(refused.contains("EC-014"), "{refused}");
        assert_eq!(Figure::deletion_problem(&snap, "EC-014"), None);
    }

    #[test]
    fn an_amount_sent_back_as_shown_keeps_its_published_scale_and_a_new_one_is_in_units() {
        let d = Dataset::embedded().unwrap();
        let (instrument, stored) = d
            .instruments
            .iter()
            .flat_map(|i| i.allocations.iter().map(move |a| (i, a)))
            .find(|(_, a)| a.scale == Scale::Billion)
            .unwrap();
        let mut v = Violations::new();
        let shown = funding::allocation(&instrument.id, stored);
        let sent_back = allocation_in("allocation", &stored.id, &shown, &mut v).unwrap();
        let mut kept = stored.clone();
        keep_allocation(&mut kept, &sent_back, "amount");
        assert_eq!(kept, *stored);
        let changed = Allocation {
            value: stored.amount() + 1.0,
            ..sent_back
        };
        keep_allocation(&mut kept, &changed, "amount");
        assert_eq!(
            (kept.value, kept.scale),
            (stored.amount() + 1.0, Scale::Unit)
        );
    }

    #[test]
    fn an_update_mask_names_each_path_it_refuses_and_says_what_is_mutable() {
        let mask = FieldMask {
            paths: vec!["note".into(), "id".into(), "status".into(), "colour".into()],
        };
        let mut v = Violations::new();
        let paths = mask_paths(Some(&mask), &["note"], &["id"], &["status"], &mut v);
        assert_eq!(paths, ["note"]);
        let Err(DomainError::InvalidArgument(violations)) = v.into_result() else {
            panic!("the mask is refused")
        };
        let said: Vec<(&str, &str)> = violations
            .iter()
            .map(|x| (x.field.as_str(), x.description.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                ("update_mask", "\"id\" is immutable; mutable: note"),
                ("update_mask", "\"status\" is output only; mutable: note"),
                (
                    "update_mask",
                    "\"colour\" is not a field that can be updated; mutable: note"
                ),
            ]
        );
        let mut v = Violations::new();
        assert!(mask_paths(None, &["note"], &[], &[], &mut v).is_empty());
        assert!(!v.is_empty(), "an empty mask is refused");
    }
}

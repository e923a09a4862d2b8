//! Client verbs for people: the API from a terminal, as readable tables (or JSON with
//! `--json`), with progress on long sweeps and an SVG chart of a sweep.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_proto::leverage::v1::defence_funding_service_client::DefenceFundingServiceClient;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use serde::Deserialize;
use serde_json::json;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// Where the server is and how to print.
#[derive(Args, Debug, Clone)]
pub struct Connection {
    /// Address of the leverage server.
    #[arg(
        long,
        global = true,
        env = "LEVERAGE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    server: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Bearer token for writes (`leverage data import`, corrections).
    #[arg(
        long,
        global = true,
        env = "LEVERAGE_TOKEN",
        default_value = "",
        hide_env_values = true
    )]
    token: String,
    /// Read the dataset as it was at this dataset version (every answer names the version it
    /// was served from; a score's `dataset_version` reproduces it).
    #[arg(long, global = true, env = "LEVERAGE_DATASET_VERSION")]
    dataset_version: Option<u64>,
}

/// Adds the token and the pinned dataset version to every call.
#[derive(Clone, Debug)]
pub struct CallHeaders {
    token: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
    version: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl tonic::service::Interceptor for CallHeaders {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(t) = &self.token {
            request.metadata_mut().insert("authorization", t.clone());
        }
        if let Some(v) = &self.version {
            request
                .metadata_mut()
                .insert("leverage-dataset-version", v.clone());
        }
        Ok(request)
    }
}

/// A connection to the server with the caller's headers on every call.
pub type Conn = tonic::service::interceptor::InterceptedService<Channel, CallHeaders>;

#[derive(Subcommand, Debug)]
pub enum AssetsCommand {
    /// List holdings with the observation in force on a date.
    List {
        /// AIP-160 filter, e.g. `owner_kind = CENTRAL_BANK AND jurisdiction = BE`.
        #[arg(long, default_value = "")]
        filter: String,
        /// "name", "amount desc", "as_of desc" or "jurisdiction".
        #[arg(long, default_value = "amount desc")]
        order_by: String,
        /// As-of date (YYYY-MM-DD); today by default.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// A holding's series of observations, each with its date, confidence and source.
    Observations {
        /// The holding, e.g. `euroclear-sanctioned-russian` (or `holdings/…`).
        holding: String,
        /// Newest first (oldest first by default).
        #[arg(long)]
        newest_first: bool,
    },
    /// Sum located holdings in one currency, grouped, with the aggregate estimates beside.
    Summarize {
        #[arg(long, default_value = "")]
        filter: String,
        /// jurisdiction, custodian, owner_kind or instrument.
        #[arg(long, default_value = "jurisdiction")]
        group_by: String,
        #[arg(long, default_value = "EUR")]
        currency: String,
        #[arg(long)]
        as_of: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LegalCommand {
    /// Assess the legal risk of an action, per jurisdiction, with its main drivers.
    Assess {
        /// immobilisation, windfall_profits, profits_backed_loan, reparations_loan, confiscation.
        action: String,
        /// Jurisdictions (ISO codes); all that hold assets by default.
        #[arg(long, value_delimiter = ',')]
        jurisdictions: Vec<String>,
        #[arg(long)]
        as_of: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum FundingCommand {
    /// Whether a country can take part in an instrument, and why.
    Eligibility {
        /// Instrument id, e.g. `safe`.
        instrument: String,
        /// Country (ISO 3166-1 alpha-2).
        country: String,
        #[arg(long)]
        as_of: Option<String>,
        /// Share of component cost from outside, in percent.
        #[arg(long)]
        outside_share: Option<f64>,
    },
}

/// A scenario file (TOML). Unset levers take the server's documented defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    use_mode: String,
    #[serde(default)]
    participation: Vec<ParticipationEntry>,
    interest_rate_pct: Option<f64>,
    sanctions_tightening: Option<f64>,
    safe_takeup: Option<f64>,
    defence_spending_gdp_pct: Option<f64>,
    #[serde(default)]
    ceasefire: bool,
    guarantee_sharing: Option<f64>,
    horizon_years: Option<i32>,
    as_of: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipationEntry {
    jurisdiction: String,
    fraction: f64,
}

fn action(name: &str) -> anyhow::Result<pb::AssetAction> {
    pb::AssetAction::from_str_name(&format!("ASSET_ACTION_{}", name.to_ascii_uppercase()))
        .filter(|a| *a != pb::AssetAction::Unspecified)
        .with_context(|| {
            format!("{name:?} is not an action: immobilisation, windfall_profits, profits_backed_loan, reparations_loan, confiscation")
        })
}

fn date(text: &Option<String>) -> anyhow::Result<Option<pb::Date>> {
    let Some(text) = text else { return Ok(None) };
    let d: leverage_core::Date = text.parse().with_context(|| format!("--as-of {text}"))?;
    Ok(Some(pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }))
}

impl ScenarioFile {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("scenario file {}", path.display()))
    }

    fn to_proto(&self) -> anyhow::Result<pb::Scenario> {
        Ok(pb::Scenario {
            use_mode: action(&self.use_mode)? as i32,
            participation: self
                .participation
                .iter()
                .map(|p| pb::Participation {
                    jurisdiction: p.jurisdiction.clone(),
                    fraction: p.fraction,
                })
                .collect(),
            interest_rate_pct: self.interest_rate_pct,
            sanctions_tightening: self.sanctions_tightening,
            safe_takeup: self.safe_takeup,
            defence_spending_gdp_pct: self.defence_spending_gdp_pct,
            ceasefire: self.ceasefire,
            guarantee_sharing: self.guarantee_sharing,
            horizon_years: self.horizon_years,
            as_of: date(&self.as_of)?,
        })
    }
}

/// Turns a failed call into a readable error with every bad field.
pub fn explain(status: tonic::Status) -> anyhow::Error {
    use tonic_types::StatusExt;
    let mut text = format!("{:?}: {}", status.code(), status.message());
    if let Some(bad) = status.get_details_bad_request() {
        for v in bad.field_violations {
            text.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    anyhow::anyhow!(text)
}

pub async fn channel(c: &Connection) -> anyhow::Result<Conn> {
    let channel = Channel::from_shared(c.server.clone())
        .context("--server")?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("connecting to {}", c.server))?;
    let token = match c.token.trim() {
        "" => None,
        t => Some(format!("Bearer {t}").parse().context("--token")?),
    };
    let version = match c.dataset_version {
        Some(v) => Some(v.to_string().parse().context("--dataset-version")?),
        None => None,
    };
    Ok(tonic::service::interceptor::InterceptedService::new(
        channel,
        CallHeaders { token, version },
    ))
}

fn money(m: &Option<pb::Money>) -> String {
    match m {
        Some(m) => {
            let value = m.units as f64 + f64::from(m.nanos) / 1e9;
            format!("{} {:.2} bn", m.currency_code, value / 1e9)
        }
        None => "-".to_owned(),
    }
}

pub fn day(d: &Option<pb::Date>) -> String {
    d.as_ref().map_or("-".to_owned(), |d| {
        format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
    })
}

/// A source as JSON: everything an analyst needs to cite it.
pub fn source_json(s: &pb::Source) -> serde_json::Value {
    let date = |d: &Option<pb::Date>| d.map(|_| day(d));
    json!({
        "publisher": s.publisher, "title": s.title, "url": s.url,
        "published": date(&s.published), "retrieved": date(&s.retrieved),
        "import_id": s.import_id,
    })
}

/// Prints rows as aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(header.iter().map(|h| (*h).to_owned()).collect()));
    for row in rows {
        println!("{}", line(row.clone()));
    }
}

pub async fn assets(c: &Connection, command: AssetsCommand) -> anyhow::Result<()> {
    let mut client = AssetServiceClient::new(channel(c).await?);
    match command {
        AssetsCommand::List {
            filter,
            order_by,
            as_of,
        } => {
            let mut rows = Vec::new();
            let mut token = String::new();
            loop {
                let page = client
                    .list_holdings(pb::ListHoldingsRequest {
                        page_size: 1000,
                        page_token: token,
                        filter: filter.clone(),
                        order_by: order_by.clone(),
                        as_of: date(&as_of)?,
                        view: 0,
                    })
                    .await
                    .map_err(explain)?
                    .into_inner();
                rows.extend(page.holdings);
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            if c.json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|h| {
                        let o = h.current.as_ref();
                        json!({
                            "name": h.name, "scope": h.scope, "jurisdiction": h.jurisdiction,
                            "custodian": h.custodian,
                            "amount": o.and_then(|o| o.amount.as_ref()).map(|m| json!({"currency": m.currency_code, "units": m.units, "nanos": m.nanos})),
                            "as_of": day(&o.and_then(|o| o.as_of)),
                            "source": o.and_then(|o| o.source.as_ref()).map(source_json),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let body: Vec<Vec<String>> = rows
                    .iter()
                    .map(|h| {
                        let o = h.current.as_ref();
                        vec![
                            h.name.trim_start_matches("holdings/").to_owned(),
                            if h.jurisdiction.is_empty() {
                                h.coverage.clone()
                            } else {
                                h.jurisdiction.clone()
                            },
                            money(&o.and_then(|o| o.amount.clone())),
                            day(&o.and_then(|o| o.as_of)),
                            o.and_then(|o| o.source.as_ref())
                                .map(|s| s.publisher.clone())
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                table(&["holding", "where", "amount", "as of", "source"], &body);
            }
        }
        AssetsCommand::Observations {
            holding,
            newest_first,
        } => {
            let parent = if holding.starts_with("holdings/") {
                holding
            } else {
                format!("holdings/{holding}")
            };
            let mut rows = Vec::new();
            let mut token = String::new();
            loop {
                let page = client
                    .list_observations(pb::ListObservationsRequest {
                        parent: parent.clone(),
                        page_size: 1000,
                        page_token: token,
                        order_by: if newest_first { "as_of desc" } else { "as_of" }.into(),
                    })
                    .await
                    .map_err(explain)?
                    .into_inner();
                rows.extend(page.observations);
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            let confidence = |o: &pb::Observation| {
                pb::Confidence::try_from(o.confidence)
                    .map(|c| {
                        c.as_str_name()
                            .trim_start_matches("CONFIDENCE_")
                            .to_lowercase()
                    })
                    .unwrap_or_default()
            };
            if c.json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|o| {
                        json!({
                            "id": o.id, "as_of": day(&o.as_of), "as_of_label": o.as_of_label,
                            "amount": money(&o.amount),
                            "confidence": confidence(o), "verified": o.verified, "note": o.note,
                            "source": o.source.as_ref().map(source_json),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let body: Vec<Vec<String>> = rows
                    .iter()
                    .map(|o| {
                        let s = o.source.clone().unwrap_or_default();
                        vec![
                            o.id.clone(),
                            day(&o.as_of),
                            money(&o.amount),
                            confidence(o),
                            if o.verified { "yes" } else { "no" }.to_owned(),
                            s.publisher,
                            day(&s.published),
                            day(&s.retrieved),
                            s.import_id,
                            s.url,
                        ]
                    })
                    .collect();
                table(
                    &[
                        "observation",
                        "as of",
                        "amount",
                        "confidence",
                        "verified",
                        "source",
                        "published",
                        "retrieved",
                        "import",
                        "url",
                    ],
                    &body,
                );
            }
        }
        AssetsCommand::Summarize {
            filter,
            group_by,
            currency,
            as_of,
        } => {
            let group = pb::GroupBy::from_str_name(&format!(
                "GROUP_BY_{}",
                group_by.to_ascii_uppercase()
            ))
            .with_context(|| {
                format!("--group-by {group_by}: jurisdiction, custodian, owner_kind or instrument")
            })?;
            let s = client
                .summarize_holdings(pb::SummarizeHoldingsRequest {
                    filter,
                    group_by: group as i32,
                    currency_code: currency,
                    as_of: date(&as_of)?,
                    // Only totals and counts are printed.
                    view: pb::SummaryView::Basic as i32,
                })
                .await
                .map_err(explain)?
                .into_inner();
            if c.json {
                let value = json!({
                    "as_of": day(&s.as_of),
                    "currency": s.currency_code,
                    "groups": s.groups.iter().map(|g| json!({"key": g.key, "total": money(&g.total), "holdings": g.holding_count})).collect::<Vec<_>>(),
                    "located_total": money(&s.located_total),
                    "estimates": s.estimates.iter().map(|e| json!({"holding": e.holding, "coverage": e.coverage, "amount": money(&e.observation.as_ref().and_then(|o| o.amount.clone())), "converted": money(&e.converted)})).collect::<Vec<_>>(),
                    "rates": s.rates_used.iter().map(|r| json!({"id": r.rate_id, "pair": format!("{}/{}", r.base_currency, r.quote_currency), "rate": r.rate, "as_of": day(&r.as_of)})).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                let body: Vec<Vec<String>> = s
                    .groups
                    .iter()
                    .map(|g| vec![g.key.clone(), money(&g.total), g.holding_count.to_string()])
                    .collect();
                table(&["group", "total", "holdings"], &body);
                println!(
                    "located total: {} (as of {})",
                    money(&s.located_total),
                    day(&s.as_of)
                );
                for e in &s.estimates {
                    let o = e.observation.as_ref();
                    println!(
                        "  beside it, never added: {} — {} = {} ({}, {})",
                        e.holding.trim_start_matches("holdings/"),
                        e.coverage,
                        money(&o.and_then(|o| o.amount.clone())),
                        money(&e.converted),
                        day(&o.and_then(|o| o.as_of))
                    );
                }
                for r in &s.rates_used {
                    println!(
                        "  rate {}/{} {} of {} ({})",
                        r.base_currency,
                        r.quote_currency,
                        r.rate,
                        day(&r.as_of),
                        r.rate_id
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn legal(c: &Connection, command: LegalCommand) -> anyhow::Result<()> {
    let LegalCommand::Assess {
        action: name,
        jurisdictions,
        as_of,
    } = command;
    let mut client = LegalRiskServiceClient::new(channel(c).await?);
    let a = client
        .assess_legal_risk(pb::AssessLegalRiskRequest {
            action: action(&name)? as i32,
            jurisdictions,
            as_of: date(&as_of)?,
            currency_code: String::new(),
        })
        .await
        .map_err(explain)?
        .into_inner();
    let level = |l: i32| {
        pb::RiskLevel::try_from(l)
            .map(|l| l.as_str_name().trim_start_matches("RISK_LEVEL_").to_owned())
            .unwrap_or_default()
    };
    if c.json {
        let value = json!({
            "overall_risk": a.overall_risk, "overall_level": level(a.overall_level), "method": a.method,
            "jurisdictions": a.jurisdictions.iter().map(|j| json!({
                "jurisdiction": j.jurisdiction, "risk": j.risk, "level": level(j.level), "at_stake": money(&j.assets_at_stake),
                "drivers": j.drivers.iter().map(|d| json!({"id": d.ref_id, "title": d.title, "contribution": d.contribution})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let body: Vec<Vec<String>> = a
        .jurisdictions
        .iter()
        .map(|j| {
            let top = j
                .drivers
                .iter()
                .take(2)
                .map(|d| format!("{} ({:.0}%)", d.ref_id, d.contribution * 100.0))
                .collect::<Vec<_>>();
            vec![
                j.jurisdiction.clone(),
                format!("{:.2}", j.risk),
                level(j.level),
                money(&j.assets_at_stake),
                top.join(", "),
            ]
        })
        .collect();
    table(
        &["jurisdiction", "risk", "level", "at stake", "main drivers"],
        &body,
    );
    println!(
        "overall {:.2} ({}), weighted by assets at stake; model {}",
        a.overall_risk,
        level(a.overall_level),
        a.model_version
    );
    Ok(())
}

pub async fn funding(c: &Connection, command: FundingCommand) -> anyhow::Result<()> {
    let FundingCommand::Eligibility {
        instrument,
        country,
        as_of,
        outside_share,
    } = command;
    let mut client = DefenceFundingServiceClient::new(channel(c).await?);
    let r = client
        .check_eligibility(pb::CheckEligibilityRequest {
            instrument: format!("instruments/{instrument}"),
            country,
            as_of: date(&as_of)?,
            outside_component_share_pct: outside_share,
        })
        .await
        .map_err(explain)?
        .into_inner();
    let verdict = pb::Eligibility::try_from(r.eligibility)
        .map(|e| {
            e.as_str_name()
                .trim_start_matches("ELIGIBILITY_")
                .to_owned()
        })
        .unwrap_or_default();
    if c.json {
        let value = json!({
            "eligibility": verdict, "eligible": r.eligible, "cap_pct": r.cap_pct, "conditions": r.conditions,
            "reasons": r.reasons.iter().map(|x| json!({"text": x.text, "date": day(&x.date), "source": x.source.as_ref().map(|s| s.url.clone())})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("{verdict}");
    for condition in &r.conditions {
        println!("  condition: {condition}");
    }
    for x in &r.reasons {
        println!("  because: {} ({})", x.text, day(&x.date));
    }
    Ok(())
}

pub async fn score(c: &Connection, plugin: &str, scenario: &Path) -> anyhow::Result<()> {
    let s = ScenarioFile::read(scenario)?.to_proto()?;
    let mut client = ScoringServiceClient::new(channel(c).await?);
    let r = client
        .score_scenario(pb::ScoreScenarioRequest {
            plugin: format!("plugins/{plugin}"),
            scenario: Some(s),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .result
        .context("no result")?;
    if c.json {
        let value = json!({
            "plugin": r.plugin, "version": r.plugin_version, "build": r.build_id, "dataset": r.dataset_version,
            "score": r.score, "unit": r.score_unit,
            "components": r.components.iter().map(|x| json!({"name": x.name, "value": x.value, "unit": x.unit})).collect::<Vec<_>>(),
            "inputs": r.inputs.iter().map(|x| json!({"name": x.name, "value": x.value, "unit": x.unit})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "{}: {:.2} {} ({} {}, dataset {})",
        r.plugin, r.score, r.score_unit, r.plugin_version, r.build_id, r.dataset_version
    );
    let body: Vec<Vec<String>> = r
        .components
        .iter()
        .map(|x| vec![x.name.clone(), format!("{:.2}", x.value), x.unit.clone()])
        .collect();
    table(&["component", "value", "unit"], &body);
    Ok(())
}

/// What a sweep varies.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Plugin id.
    #[arg(long)]
    plugin: String,
    /// Base scenario file (TOML).
    #[arg(long)]
    scenario: PathBuf,
    /// interest_rate_pct, sanctions_tightening, safe_takeup, defence_spending_gdp_pct,
    /// guarantee_sharing, horizon_years or participation.
    #[arg(long)]
    lever: String,
    #[arg(long)]
    from: f64,
    #[arg(long)]
    to: f64,
    #[arg(long, default_value_t = 51)]
    steps: i32,
    /// Write an SVG chart of the score against the lever.
    #[arg(long)]
    plot: Option<PathBuf>,
}

pub async fn sweep(c: &Connection, args: SweepArgs) -> anyhow::Result<()> {
    let lever = pb::Lever::from_str_name(&format!("LEVER_{}", args.lever.to_ascii_uppercase()))
        .filter(|l| *l != pb::Lever::Unspecified)
        .with_context(|| format!("--lever {}", args.lever))?;
    let base = ScenarioFile::read(&args.scenario)?.to_proto()?;
    let mut client = ScoringServiceClient::new(channel(c).await?);
    let mut stream = client
        .sweep_scenario(pb::SweepScenarioRequest {
            plugin: format!("plugins/{}", args.plugin),
            base: Some(base),
            axes: vec![pb::SweepAxis {
                lever: lever as i32,
                start: args.from,
                stop: args.to,
                steps: args.steps,
            }],
            chunk_size: 0,
            ..Default::default()
        })
        .await
        .map_err(explain)?
        .into_inner();
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut stderr = std::io::stderr();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(explain)?;
        for p in chunk.points {
            if let Some(e) = p.error {
                bail!("point {} failed: {}", p.index, e.message);
            }
            points.push((p.lever_values.first().copied().unwrap_or(f64::NAN), p.score));
        }
        if let Some(progress) = chunk.progress {
            let _ = write!(
                stderr,
                "\rswept {} of {} ({:.0}%)",
                progress.done,
                progress.total,
                100.0 * progress.done as f64 / progress.total.max(1) as f64
            );
            let _ = stderr.flush();
        }
    }
    let _ = writeln!(stderr);
    if let Some(path) = &args.plot {
        std::fs::write(path, svg_chart(&points, &args.lever, &args.plugin))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("chart written to {}", path.display());
    }
    if c.json {
        let list: Vec<_> = points
            .iter()
            .map(|(x, y)| json!({"lever": x, "score": y}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        let body: Vec<Vec<String>> = points
            .iter()
            .map(|(x, y)| vec![format!("{x:.4}"), format!("{y:.3}")])
            .collect();
        table(&[&args.lever, "score"], &body);
    }
    Ok(())
}

/// A line chart of `points` as a standalone SVG.
pub fn svg_chart(points: &[(f64, f64)], x_label: &str, title: &str) -> String {
    let (w, h, m) = (640.0, 360.0, 50.0);
    let finite = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in finite.clone() {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if (x1 - x0).abs() < f64::EPSILON {
        x1 = x0 + 1.0;
    }
    if (y1 - y0).abs() < f64::EPSILON {
        y1 = y0 + 1.0;
    }
    let sx = |x: f64| m + (x - x0) / (x1 - x0) * (w - 2.0 * m);
    let sy = |y: f64| h - m - (y - y0) / (y1 - y0) * (h - 2.0 * m);
    let path: Vec<String> = finite
        .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
        .collect();
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
<text x=\"{m}\" y=\"24\" font-size=\"14\">{title}</text>\n\
<line x1=\"{m}\" y1=\"{yb}\" x2=\"{xr}\" y2=\"{yb}\" stroke=\"black\"/>\n\
<line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{yb}\" stroke=\"black\"/>\n\
<text x=\"{m}\" y=\"{xl}\">{x0:.3}</text><text x=\"{xr}\" y=\"{xl}\" text-anchor=\"end\">{x1:.3}</text>\n\
<text x=\"{xm}\" y=\"{xl}\" text-anchor=\"middle\">{label}</text>\n\
<text x=\"{yt}\" y=\"{yb}\" text-anchor=\"end\">{y0:.2}</text><text x=\"{yt}\" y=\"{m}\" text-anchor=\"end\">{y1:.2}</text>\n\
<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\"{points}\"/>\n</svg>\n",
        yb = h - m,
        xr = w - m,
        xl = h - m + 18.0,
        xm = w / 2.0,
        yt = m - 6.0,
        title = escape(title),
        label = escape(x_label),
        points = path.join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_points_into_the_frame() {
        let svg = svg_chart(
            &[(0.0, 10.0), (5.0, 20.0), (10.0, 15.0)],
            "interest_rate_pct",
            "pressure-index",
        );
        assert!(svg.starts_with("<svg"));
        assert!(
            svg.contains("points=\"50.0,310.0 320.0,50.0 590.0,180.0\""),
            "{svg}"
        );
        assert!(svg_chart(&[], "x", "empty").contains("<polyline"));
    }

    #[test]
    fn scenario_files_name_their_mistakes() {
        let dir = std::env::temp_dir().join(format!("leverage-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(
            &path,
            "use_mode = \"confiscation\"\ninterest_rate_pct = 3.0\n",
        )
        .unwrap();
        let s = ScenarioFile::read(&path).unwrap().to_proto().unwrap();
        assert_eq!(s.use_mode, pb::AssetAction::Confiscation as i32);
        std::fs::write(&path, "use_mode = \"seize\"\n").unwrap();
        assert!(ScenarioFile::read(&path).unwrap().to_proto().is_err());
        std::fs::write(&path, "use_mode = \"confiscation\"\nmoon = 1\n").unwrap();
        assert!(ScenarioFile::read(&path).is_err());
    }
}

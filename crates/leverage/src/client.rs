//! Client verbs for people: the API from a terminal, as readable tables (or JSON with
//! `--json`), and the connection every verb uses (`sweep` has a module of its own).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use leverage_proto::leverage::v1::defence_funding_service_client::DefenceFundingServiceClient;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use serde::Deserialize;
use serde_json::json;
use tonic::transport::{Channel, Endpoint};

mod consistency;
pub mod scoring;

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
    pub dataset_version: Option<u64>,
    /// Read your own writes, whichever replica answers: every command asks for at least the
    /// dataset version that your last write to this server created (remembered in
    /// $XDG_STATE_HOME/leverage/written-versions). `false` neither asks nor remembers.
    #[arg(
        long,
        global = true,
        env = "LEVERAGE_READ_YOUR_WRITES",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub read_your_writes: bool,
    /// Compress calls and accept compressed replies: `gzip`, `zstd` or `none`. Pays on a slow
    /// link for the large list and assessment replies (BENCHMARKS.md, "Issue 16:
    /// compression"); on a fast one it spends CPU for little, hence none by default.
    #[arg(
        long,
        global = true,
        env = "LEVERAGE_COMPRESSION",
        value_enum,
        default_value_t = Compression::None
    )]
    pub compression: Compression,
}

/// How calls and their replies are compressed (gRPC's `grpc-encoding`, negotiated per call:
/// the server answers compressed only to a caller that says it accepts the encoding).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn encoding(self) -> Option<tonic::codec::CompressionEncoding> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some(tonic::codec::CompressionEncoding::Gzip),
            Compression::Zstd => Some(tonic::codec::CompressionEncoding::Zstd),
        }
    }
}

/// A generated client that compresses its calls and accepts compressed replies as `--compression`
/// says; the generated clients share no trait to set this through, hence the macro below.
pub trait Compressed {
    fn compressed(self, compression: Compression) -> Self;
}

macro_rules! compressed_clients {
    ($($client:ident),* $(,)?) => {
        $(
            impl<T> Compressed for $client<T>
            where
                T: tonic::client::GrpcService<tonic::body::Body>,
                T::Error: Into<tonic::codegen::StdError>,
                T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
                <T::ResponseBody as tonic::codegen::Body>::Error:
                    Into<tonic::codegen::StdError> + Send,
            {
                fn compressed(self, compression: Compression) -> Self {
                    match compression.encoding() {
                        Some(e) => self.send_compressed(e).accept_compressed(e),
                        None => self,
                    }
                }
            }
        )*
    };
}

compressed_clients!(
    AssetServiceClient,
    DatasetServiceClient,
    DefenceFundingServiceClient,
    LegalRiskServiceClient,
    ScoringServiceClient,
);

/// Adds the token and the pinned dataset version to every call.
#[derive(Clone, Debug)]
pub struct CallHeaders {
    token: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
    version: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
    /// Not a header of its own (the client sets `grpc-encoding`), but carried with them to the
    /// connections that are opened from headers alone, as a sharded sweep's.
    pub compression: Compression,
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
pub type Conn = tonic::service::interceptor::InterceptedService<
    consistency::ReadYourWrites<Channel>,
    CallHeaders,
>;

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
        /// immobilisation, windfall_profits, profits_backed_loan, reparations_loan, confiscation,
        /// package_2026.
        action: String,
        /// Jurisdictions (ISO codes); all that hold assets by default.
        #[arg(long, value_delimiter = ',')]
        jurisdictions: Vec<String>,
        #[arg(long)]
        as_of: Option<String>,
        /// The legal-risk model by name, e.g. `legal-risk/1` to reproduce an earlier answer;
        /// the server's latest by default.
        #[arg(long, default_value = "")]
        model: String,
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
    /// Values of inputs the scoring plugin declares itself, by name: `"escrow.share" = 0.4`,
    /// or `escrow.share = 0.4` (a dotted key, read back as the name).
    inputs: Option<toml::Table>,
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
            format!("{name:?} is not an action: immobilisation, windfall_profits, profits_backed_loan, reparations_loan, confiscation, package_2026")
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

    /// The `[inputs]` table's values, each named by its key path (`escrow.share`), in the
    /// file's order of keys as the TOML reader gives them.
    pub fn inputs(&self) -> anyhow::Result<Vec<(String, f64)>> {
        fn flatten(
            prefix: &str,
            table: &toml::Table,
            out: &mut Vec<(String, f64)>,
        ) -> anyhow::Result<()> {
            for (key, value) in table {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match value {
                    toml::Value::Float(x) => out.push((name, *x)),
                    toml::Value::Integer(n) => out.push((name, *n as f64)),
                    toml::Value::Table(inner) => flatten(&name, inner, out)?,
                    other => anyhow::bail!("[inputs] {name}: {} is not a number", other.type_str()),
                }
            }
            Ok(())
        }
        let mut out = Vec::new();
        if let Some(table) = &self.inputs {
            flatten("", table, &mut out)?;
        }
        Ok(out)
    }

    /// The scenario's levers; its `[inputs]` are added by the caller, which checks them.
    pub fn to_proto(&self) -> anyhow::Result<pb::Scenario> {
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
            ..Default::default()
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
    text.extend(consistency::hint(&status));
    anyhow::anyhow!(text)
}

impl Connection {
    /// The headers of every call: the token, and the dataset version `version` pins.
    pub fn headers(&self, version: Option<u64>) -> anyhow::Result<CallHeaders> {
        let token = match self.token.trim() {
            "" => None,
            t => Some(format!("Bearer {t}").parse().context("--token")?),
        };
        let version = match version {
            Some(v) => Some(v.to_string().parse().context("--dataset-version")?),
            None => None,
        };
        Ok(CallHeaders {
            token,
            version,
            compression: self.compression,
        })
    }
}

/// Where to connect for `server`, an address as `--server` takes it.
pub fn endpoint(server: &str) -> anyhow::Result<Endpoint> {
    Ok(Channel::from_shared(server.to_owned())
        .with_context(|| format!("{server:?} is not a server address"))?
        .connect_timeout(Duration::from_secs(5)))
}

/// Connects to `server` through `endpoint`, with `headers` on every call, asking for at least
/// the version of the last write to it when `read_your_writes` (see `consistency`).
pub async fn connect(
    endpoint: Endpoint,
    server: &str,
    headers: CallHeaders,
    read_your_writes: bool,
) -> anyhow::Result<Conn> {
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {server}"))?;
    let pinned = headers.version.is_some();
    let channel = consistency::ReadYourWrites::new(channel, server, read_your_writes, pinned);
    Ok(tonic::service::interceptor::InterceptedService::new(
        channel, headers,
    ))
}

/// A connection to `--server`, at `--dataset-version` when it is given.
pub async fn channel(c: &Connection) -> anyhow::Result<Conn> {
    channel_at(c, c.dataset_version).await
}

/// A connection to `--server` whose every call reads dataset `version` (the one in force when
/// `None`): a command that makes several calls pins them to one version this way.
pub async fn channel_at(c: &Connection, version: Option<u64>) -> anyhow::Result<Conn> {
    let endpoint = endpoint(&c.server).context("--server")?;
    connect(endpoint, &c.server, c.headers(version)?, c.read_your_writes).await
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
    let mut client = AssetServiceClient::new(channel(c).await?).compressed(c.compression);
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
        model,
    } = command;
    let mut client = LegalRiskServiceClient::new(channel(c).await?).compressed(c.compression);
    let a = client
        .assess_legal_risk(pb::AssessLegalRiskRequest {
            action: action(&name)? as i32,
            jurisdictions,
            as_of: date(&as_of)?,
            currency_code: String::new(),
            // Empty asks for the server's latest model; the answer names it either way.
            model,
        })
        .await
        .map_err(explain)?
        .into_inner();
    let level = |l: i32| {
        pb::RiskLevel::try_from(l)
            .map(|l| l.as_str_name().trim_start_matches("RISK_LEVEL_").to_owned())
            .unwrap_or_default()
    };
    let channel_name = |c: i32| {
        pb::LegalChannel::try_from(c)
            .map(|c| {
                c.as_str_name()
                    .trim_start_matches("LEGAL_CHANNEL_")
                    .to_lowercase()
            })
            .unwrap_or_default()
    };
    // legal-risk/2 answers per channel; legal-risk/1 has none, and its table keeps its shape.
    let channelled = a.jurisdictions.iter().any(|j| !j.channels.is_empty());
    if c.json {
        let value = json!({
            "model": a.model_version, "overall_risk": a.overall_risk, "overall_level": level(a.overall_level),
            "method": a.method, "combination": a.combination,
            "jurisdictions": a.jurisdictions.iter().map(|j| json!({
                "jurisdiction": j.jurisdiction, "risk": j.risk, "level": level(j.level), "at_stake": money(&j.assets_at_stake),
                "binding_channel": channel_name(j.binding_channel),
                "channels": j.channels.iter().map(|ch| json!({
                    "channel": channel_name(ch.channel), "risk": ch.risk, "level": level(ch.level),
                    "claimed": money(&ch.claimed), "awarded": money(&ch.awarded), "enforceable_in": ch.enforceable_in,
                })).collect::<Vec<_>>(),
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
            let mut row = vec![
                j.jurisdiction.clone(),
                format!("{:.2}", j.risk),
                level(j.level),
            ];
            if channelled {
                for wanted in [
                    pb::LegalChannel::Annulment,
                    pb::LegalChannel::Damages,
                    pb::LegalChannel::Retaliation,
                ] {
                    row.push(
                        j.channels
                            .iter()
                            .find(|ch| ch.channel == wanted as i32)
                            .map_or_else(String::new, |ch| format!("{:.2}", ch.risk)),
                    );
                }
                row.push(channel_name(j.binding_channel));
            }
            row.extend([money(&j.assets_at_stake), top.join(", ")]);
            row
        })
        .collect();
    let mut headers = vec!["jurisdiction", "risk", "level"];
    if channelled {
        headers.extend(["annulment", "damages", "retaliation", "binding"]);
    }
    headers.extend(["at stake", "main drivers"]);
    table(&headers, &body);
    if channelled && !a.combination.is_empty() {
        println!("{}", a.combination);
    }
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
    let mut client = DefenceFundingServiceClient::new(channel(c).await?).compressed(c.compression);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_parsed_by_its_snake_name() {
        for (name, expected) in [
            ("immobilisation", pb::AssetAction::Immobilisation),
            ("windfall_profits", pb::AssetAction::WindfallProfits),
            ("profits_backed_loan", pb::AssetAction::ProfitsBackedLoan),
            ("reparations_loan", pb::AssetAction::ReparationsLoan),
            ("confiscation", pb::AssetAction::Confiscation),
            ("package_2026", pb::AssetAction::Package2026),
        ] {
            assert_eq!(action(name).expect(name), expected);
        }
        let err = action("package_2027").expect_err("no such action");
        assert!(format!("{err:#}").contains("package_2026"), "{err:#}");
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
        std::fs::write(
            &path,
            "use_mode = \"confiscation\"\n[inputs]\nescrow.share = 0.4\n\"oil.cap\" = 60\n",
        )
        .unwrap();
        let mut inputs = ScenarioFile::read(&path).unwrap().inputs().unwrap();
        inputs.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            inputs,
            [
                ("escrow.share".to_owned(), 0.4),
                ("oil.cap".to_owned(), 60.0)
            ]
        );
        std::fs::write(
            &path,
            "use_mode = \"confiscation\"\n[inputs]\nx = \"high\"\n",
        )
        .unwrap();
        let e = ScenarioFile::read(&path).unwrap().inputs().unwrap_err();
        assert!(e.to_string().contains("[inputs] x"), "{e}");
    }
}

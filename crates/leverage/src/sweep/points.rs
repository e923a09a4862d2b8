//! A sweep's points in index order, read from one server or from shards on several.
//!
//! Split over n servers, server i scores shard i of n: the contiguous range of the grid from
//! floor(i·N/n) to floor((i+1)·N/n). Shards are contiguous and in order, so the merge in index
//! order is their concatenation: shard 0 read to its end, then shard 1, and so on. Every shard
//! reads the dataset at one version (the `leverage-dataset-version` request header), so that
//! an edit on a server during the sweep cannot make its shard disagree with the others.

use std::collections::VecDeque;

use anyhow::{Context as _, bail};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use leverage_server::versions::DATASET_VERSION_HEADER;
use tokio::task::JoinSet;

use crate::client::{self, CallHeaders, Compressed, Connection, explain};

/// How many bytes of a later shard may wait unread while the shards before it are read.
///
/// All shards start at once and are read in order. A shard not being read yet is held back by
/// HTTP/2 flow control: its server scores ahead until this many bytes wait in its connection's
/// window (plus the sweep's own four messages on the server), then waits for the reader. That
/// bounds memory at (servers - 1) x this, whatever the grid, where reading every shard at once
/// would buffer whole shards. A bounded buffer of our own would hold the same points as the
/// window does, decoded and larger, and add code; so the window is the buffer. At about 67
/// bytes a point on the wire (a model of five components), 16 MiB let a server score 257,000
/// points of pressure-index ahead of the reader (measured, in chunks of 1000): a whole shard
/// of a million-point sweep over four servers. The default window (2 MiB) stopped it at 38,000.
///
/// A shard waiting for its turn keeps its stream open no longer than one server would take to
/// stream the whole sweep, so the servers' stream time limits hold as they would for it.
const SHARD_READ_AHEAD_BYTES: u32 = 16 << 20;

/// The points of one sweep, in index order.
#[derive(Debug)]
pub struct Points {
    /// The streams not read to their end yet, in index order.
    shards: VecDeque<Shard>,
    component_names: Option<Vec<String>>,
    /// What the first message says the sweep used.
    used: Option<Used>,
    /// The index the next point must have.
    next_index: i64,
}

/// What a sweep's first message says it used: every parameter with its value, and the build
/// that scores.
#[derive(Debug)]
pub struct Used {
    pub parameters: Vec<pb::NamedValue>,
    pub plugin_build: String,
}

/// One server's stream of one sweep.
#[derive(Debug)]
struct Shard {
    /// Which shard and which server, for messages; empty when one server sweeps alone.
    label: String,
    stream: tonic::Streaming<pb::SweepScenarioResponse>,
    /// Whether its first message (the one that names the components) has been read.
    started: bool,
}

impl Shard {
    /// A failure of this shard, naming it.
    fn failed(&self, error: anyhow::Error) -> anyhow::Error {
        if self.label.is_empty() {
            error
        } else {
            error.context(format!("{} failed", self.label))
        }
    }
}

impl Points {
    /// The whole sweep from `--server`.
    pub async fn from_one_server(
        c: &Connection,
        request: pb::SweepScenarioRequest,
    ) -> anyhow::Result<Self> {
        let mut scoring =
            ScoringServiceClient::new(client::channel(c).await?).compressed(c.compression);
        let stream = scoring
            .sweep_scenario(request)
            .await
            .map_err(explain)?
            .into_inner();
        Ok(Self::of(vec![Shard {
            label: String::new(),
            stream,
            started: false,
        }]))
    }

    /// The sweep split into one shard per server, all at `--dataset-version` or else at the
    /// version the first server serves now. Every shard is opened before this returns, so that
    /// a server that refuses its shard fails the sweep before any point is printed.
    pub async fn from_shards(
        c: &Connection,
        servers: &[String],
        request: pb::SweepScenarioRequest,
    ) -> anyhow::Result<Self> {
        let servers: Vec<&str> = servers.iter().map(|s| s.trim()).collect();
        let Some(first) = servers.first() else {
            bail!("--servers: name at least one server");
        };
        if let Some(empty) = servers.iter().position(|s| s.is_empty()) {
            bail!(
                "--servers: address {} of {} is empty",
                empty + 1,
                servers.len()
            );
        }
        let count = i32::try_from(servers.len()).context("--servers: too many servers")?;
        let version = match c.dataset_version {
            Some(v) => v,
            None => dataset_version_of(c, first).await?,
        };
        let mut opening = JoinSet::new();
        for (index, server) in servers.iter().enumerate() {
            let part = pb::SweepScenarioRequest {
                shard_index: index as i32,
                shard_count: count,
                ..request.clone()
            };
            let server = (*server).to_owned();
            let label = format!("shard {index} of {count} on {server}");
            let headers = c.headers(Some(version))?;
            opening.spawn(async move {
                let failed = format!("{label} failed");
                let opened = open_shard(label, &server, headers, part, version).await;
                (index, opened.context(failed))
            });
        }
        let mut opened: Vec<Option<(Shard, pb::Plugin)>> = servers.iter().map(|_| None).collect();
        // The first failure returns at once; dropping `opening` aborts the other openings, and
        // a shard already opened is cancelled on its server when its stream is dropped.
        while let Some(joined) = opening.join_next().await {
            let (index, shard) = joined.context("a task opening a shard did not complete")?;
            opened[index] = Some(shard?);
        }
        let opened: Vec<(Shard, pb::Plugin)> = opened.into_iter().flatten().collect();
        same_plugin_build(&opened)?;
        Ok(Self::of(
            opened.into_iter().map(|(shard, _)| shard).collect(),
        ))
    }

    fn of(shards: Vec<Shard>) -> Self {
        Self {
            shards: shards.into(),
            component_names: None,
            used: None,
            next_index: 0,
        }
    }

    /// The names of the components, in the order of each point's; known once the first chunk
    /// has been read.
    pub fn component_names(&self) -> &[String] {
        self.component_names.as_deref().unwrap_or_default()
    }

    /// The parameters and build the sweep used; known once the first chunk has been read.
    pub fn used(&self) -> Option<&Used> {
        self.used.as_ref()
    }

    /// The next chunk of points, continuing the previous one in index order (possibly empty);
    /// `None` once every shard has ended.
    pub async fn next(&mut self) -> anyhow::Result<Option<Vec<pb::SweepPoint>>> {
        while let Some(shard) = self.shards.front_mut() {
            let message = shard
                .stream
                .message()
                .await
                .map_err(|status| shard.failed(explain(status)))?;
            let Some(message) = message else {
                self.shards.pop_front();
                continue;
            };
            if !std::mem::replace(&mut shard.started, true) {
                self.used.get_or_insert_with(|| Used {
                    parameters: message.parameters.clone(),
                    plugin_build: message.plugin_build.clone(),
                });
                match &self.component_names {
                    None => self.component_names = Some(message.component_names),
                    Some(names) if *names == message.component_names => {}
                    Some(names) => {
                        let error = anyhow::anyhow!(
                            "its components {:?} are not the first shard's {names:?}",
                            message.component_names
                        );
                        return Err(shard.failed(error));
                    }
                }
            }
            for point in &message.points {
                if point.index != self.next_index {
                    let error = anyhow::anyhow!(
                        "it sent point {} where point {} was due",
                        point.index,
                        self.next_index
                    );
                    return Err(shard.failed(error));
                }
                self.next_index += 1;
            }
            return Ok(Some(message.points));
        }
        Ok(None)
    }
}

/// The dataset version `server` serves now, from the response header of a cheap call.
async fn dataset_version_of(c: &Connection, server: &str) -> anyhow::Result<u64> {
    let endpoint = client::endpoint(server).context("--servers")?;
    let conn = client::connect(endpoint, server, c.headers(None)?, c.read_your_writes).await?;
    let reply = DatasetServiceClient::new(conn)
        .compressed(c.compression)
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .map_err(explain)
        .with_context(|| format!("asking {server} for its dataset version"))?;
    version_header(reply.metadata()).with_context(|| {
        format!("{server} did not name its dataset version (header {DATASET_VERSION_HEADER})")
    })
}

fn version_header(metadata: &tonic::metadata::MetadataMap) -> Option<u64> {
    metadata
        .get(DATASET_VERSION_HEADER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Opens one shard's stream on `server`, and reads which build of the plugin will score it.
async fn open_shard(
    label: String,
    server: &str,
    headers: CallHeaders,
    part: pb::SweepScenarioRequest,
    version: u64,
) -> anyhow::Result<(Shard, pb::Plugin)> {
    let endpoint = client::endpoint(server)
        .context("--servers")?
        .initial_stream_window_size(SHARD_READ_AHEAD_BYTES)
        .initial_connection_window_size(SHARD_READ_AHEAD_BYTES);
    // Pinned to one version: the shards ask for no minimum.
    let compression = headers.compression;
    let mut scoring =
        ScoringServiceClient::new(client::connect(endpoint, server, headers, false).await?)
            .compressed(compression);
    let plugin = scoring
        .get_plugin(pb::GetPluginRequest {
            name: part.plugin.clone(),
        })
        .await
        .map_err(explain)?
        .into_inner();
    let reply = scoring.sweep_scenario(part).await.map_err(explain)?;
    // A server that ignored the pin would score from other data than its peers.
    match version_header(reply.metadata()) {
        Some(served) if served == version => {}
        served => bail!(
            "it served dataset version {}, not {version}",
            served.map_or("(none named)".to_owned(), |v| v.to_string())
        ),
    }
    let shard = Shard {
        label,
        stream: reply.into_inner(),
        started: false,
    };
    Ok((shard, plugin))
}

/// Fails unless every shard is scored by the same build of the plugin: two builds may score
/// the same point differently, and the merged sweep would then be no one server's.
fn same_plugin_build(opened: &[(Shard, pb::Plugin)]) -> anyhow::Result<()> {
    let Some((first_shard, first)) = opened.first() else {
        return Ok(());
    };
    // The build (a hash of the file) tells builds apart even when they declare the same
    // version and build id; a server too old to name it leaves it empty.
    let build = |p: &pb::Plugin| {
        let hash = if p.build.is_empty() {
            String::new()
        } else {
            format!(", {}", p.build)
        };
        format!("{} (build {}{hash})", p.version, p.build_id)
    };
    for (shard, plugin) in &opened[1..] {
        if build(plugin) != build(first) {
            bail!(
                "{}: {} is version {} there but {} for {}; shards scored by different builds \
                 would not make one sweep",
                shard.label,
                plugin.name,
                build(plugin),
                build(first),
                first_shard.label,
            );
        }
    }
    Ok(())
}

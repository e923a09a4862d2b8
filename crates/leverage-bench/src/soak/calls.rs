//! One call of the mix, timed and recorded: the clients of a connection, the state every call
//! shares (the cycle, the token, the writes acknowledged), and the recorder of outcomes.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use leverage_proto::leverage::v1 as api;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Status};

use super::mix::{BATCH, Kind, READ_HOLDINGS};
use crate::load::{Caller, Target, asset_client, date};
use crate::server::MAX_MESSAGE;

/// How one call ended.
pub(super) enum Outcome {
    Ok,
    WrongReply,
    Failed(Status),
    ClientTimeout,
    ClientBacklog,
}

/// `ResourceExhausted` → `RESOURCE_EXHAUSTED`.
pub(super) fn code_name(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// What ended in one window (or one phase of the probe).
#[derive(Default)]
pub(super) struct Recorder {
    pub(super) calls: [u64; Kind::ALL.len()],
    pub(super) latency_ns: [Vec<u64>; Kind::ALL.len()],
    pub(super) errors: BTreeMap<String, u64>,
    pub(super) first_errors: BTreeMap<String, String>,
}

impl Recorder {
    pub(super) fn record(&mut self, kind: Kind, nanos: u64, outcome: Outcome) {
        let k = kind.index();
        self.calls[k] += 1;
        let (key, message) = match outcome {
            Outcome::Ok => {
                self.latency_ns[k].push(nanos);
                return;
            }
            Outcome::WrongReply => ("OK_WRONG_REPLY".to_owned(), String::new()),
            Outcome::Failed(status) => (code_name(status.code()), status.message().to_owned()),
            Outcome::ClientTimeout => ("CLIENT_TIMEOUT".to_owned(), String::new()),
            Outcome::ClientBacklog => ("CLIENT_BACKLOG".to_owned(), String::new()),
        };
        *self.errors.entry(key.clone()).or_default() += 1;
        self.first_errors.entry(key).or_insert_with(|| {
            if message.is_empty() {
                kind.name().to_owned()
            } else {
                format!("{}: {message}", kind.name())
            }
        });
    }

    pub(super) fn calls(&self) -> u64 {
        self.calls.iter().sum()
    }

    pub(super) fn ok(&self) -> u64 {
        self.latency_ns.iter().map(|v| v.len() as u64).sum()
    }

    pub(super) fn all_latencies(&self) -> Vec<u64> {
        self.latency_ns.concat()
    }
}

pub(super) fn merge_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// One connection's clients.
#[derive(Clone)]
pub(super) struct Conn {
    pub(super) list: Caller,
    pub(super) summarize: Caller,
    pub(super) assess: Caller,
    pub(super) score: Caller,
    pub(super) assets: api::asset_service_client::AssetServiceClient<Channel>,
    pub(super) scoring: api::scoring_service_client::ScoringServiceClient<Channel>,
}

impl Conn {
    pub(super) fn new(channel: Channel) -> Conn {
        Conn {
            list: Caller::new(Target::ListHoldings, channel.clone()),
            summarize: Caller::new(Target::SummarizeHoldings, channel.clone()),
            assess: Caller::new(Target::AssessLegalRisk, channel.clone()),
            score: Caller::new(Target::ScoreScenario, channel.clone()),
            assets: asset_client(channel.clone()),
            scoring: api::scoring_service_client::ScoringServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE),
        }
    }
}

/// A holding written to, with the currency of its current observation.
pub(super) struct WriteTarget {
    pub(super) name: String,
    pub(super) currency: String,
}

#[derive(Default)]
pub(super) struct Writes {
    pub(super) sent: Vec<(usize, String)>,
    pub(super) acknowledged: HashSet<String>,
}

/// What every call shares.
pub(super) struct Ctx {
    pub(super) cycle: Vec<Kind>,
    pub(super) seq: AtomicU64,
    pub(super) holdings: Vec<WriteTarget>,
    pub(super) bearer: AsciiMetadataValue,
    pub(super) tag: String,
    pub(super) today_days: i64,
    pub(super) batch: api::ScoreScenariosRequest,
    pub(super) timeout: Duration,
    pub(super) recorder: Mutex<Recorder>,
    pub(super) writes: Mutex<Writes>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ctx {
    pub(super) fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub(super) fn kind(&self, seq: u64) -> Kind {
        self.cycle[(seq % self.cycle.len() as u64) as usize]
    }

    pub(super) fn take(&self) -> Recorder {
        std::mem::take(&mut *lock(&self.recorder))
    }

    pub(super) async fn call(&self, conn: &Conn, seq: u64) -> Result<bool, Status> {
        match self.kind(seq) {
            Kind::ListHoldings => conn.list.clone().call().await,
            Kind::SummarizeHoldings => conn.summarize.clone().call().await,
            Kind::AssessLegalRisk => conn.assess.clone().call().await,
            Kind::ScoreScenario => conn.score.clone().call().await,
            Kind::GetHolding => {
                let turn = seq / self.cycle.len() as u64;
                let name = READ_HOLDINGS[turn as usize % READ_HOLDINGS.len()];
                let reply = conn
                    .assets
                    .clone()
                    .get_holding(api::GetHoldingRequest {
                        name: name.into(),
                        as_of: None,
                    })
                    .await?
                    .into_inner();
                Ok(reply.name == name && !reply.observations.is_empty())
            }
            Kind::ScoreScenarios => {
                use api::scenario_outcome::Outcome as O;
                let reply = conn
                    .scoring
                    .clone()
                    .score_scenarios(self.batch.clone())
                    .await?
                    .into_inner();
                Ok(reply.outcomes.len() == BATCH
                    && reply
                        .outcomes
                        .iter()
                        .all(|o| matches!(&o.outcome, Some(O::Result(r)) if r.score.is_finite())))
            }
            Kind::CreateObservation => self.write(conn, seq).await,
        }
    }

    pub(super) async fn write(&self, conn: &Conn, seq: u64) -> Result<bool, Status> {
        let id = format!("soak-{}-{seq}", self.tag);
        let (target, turn) = {
            let mut w = lock(&self.writes);
            let turn = w.sent.len();
            let target = turn % self.holdings.len();
            w.sent.push((target, id.clone()));
            (target, turn)
        };
        let h = &self.holdings[target];
        let day =
            leverage_core::Date::from_days_since_epoch(self.today_days - 1 - (turn % 28) as i64)
                .map_err(|e| Status::internal(e.to_string()))?;
        let mut request = Request::new(api::CreateObservationRequest {
            parent: h.name.clone(),
            observation_id: id.clone(),
            observation: Some(api::Observation {
                amount: Some(api::Money {
                    currency_code: h.currency.clone(),
                    units: 1_000_000_000 + (turn % 1000) as i64 * 1_000_000,
                    nanos: 0,
                }),
                as_of: date(day.year(), day.month() as i32, day.day() as i32),
                source: Some(api::Source {
                    publisher: "leverage-bench soak (synthetic write)".into(),
                    title: "SYNTHETIC soak-test observation".into(),
                    ..api::Source::default()
                }),
                confidence: api::Confidence::Low as i32,
                verified: false,
                note: format!("SYNTHETIC: written by leverage-bench soak run {}", self.tag),
                ..api::Observation::default()
            }),
        });
        request
            .metadata_mut()
            .insert("authorization", self.bearer.clone());
        let reply = conn
            .assets
            .clone()
            .create_observation(request)
            .await?
            .into_inner();
        let ok = reply.name == format!("{}/observations/{id}", h.name);
        if ok {
            lock(&self.writes).acknowledged.insert(id);
        }
        Ok(ok)
    }

    /// One call, its latency counted from `from` (its send time in the closed loop, its
    /// scheduled time in the open loop).
    pub(super) async fn timed(self: Arc<Self>, conn: Conn, seq: u64, from: Instant) {
        let kind = self.kind(seq);
        let outcome = match tokio::time::timeout(self.timeout, self.call(&conn, seq)).await {
            Ok(Ok(true)) => Outcome::Ok,
            Ok(Ok(false)) => Outcome::WrongReply,
            Ok(Err(status)) => Outcome::Failed(status),
            Err(_) => Outcome::ClientTimeout,
        };
        let nanos = from.elapsed().as_nanos() as u64;
        lock(&self.recorder).record(kind, nanos, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_named_as_in_grpc() {
        assert_eq!(
            code_name(tonic::Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(
            code_name(tonic::Code::DeadlineExceeded),
            "DEADLINE_EXCEEDED"
        );
    }
}

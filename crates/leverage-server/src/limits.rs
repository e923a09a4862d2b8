//! Call limits, applied once to every call by one layer:
//! - admission: a global limit on calls in progress, and a lower one of its own for sweeps; a
//!   call over either is refused at once with RESOURCE_EXHAUSTED, so that an overloaded server
//!   answers quickly instead of piling up calls that all end in timeouts. A call holds its
//!   permits until its reply's last byte, so a stream counts for as long as it streams.
//! - time: a call ends with DEADLINE_EXCEEDED (and an `ErrorInfo`) at the client's deadline or at
//!   the server's cap, whichever is first: `--max-call-ms` for a unary call, `--max-stream-ms`
//!   for a whole stream. The reply's body is covered too, not only the wait for its headers.
//! - statuses: every reply's status passes through [`error::complete_headers`], so the
//!   transport's own statuses get an `ErrorInfo` and oversized messages RESOURCE_EXHAUSTED.
//!
//! Health and reflection are never limited, so that probes still see the server. Refused calls
//! are logged as one warning a second with their count, not one line each: an overloaded server
//! should not spend what it lacks on its log.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Frame;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tonic::Status;
use tonic::body::Body;

use crate::Limits;
use crate::auth::{Requirement, requirement};
use crate::error::{self, Refusal};

/// The server-streaming methods: their time cap is the stream cap. A test checks this list
/// against the service descriptors.
pub const STREAMING_METHODS: [&str; 2] = [
    "/leverage.v1.ScoringService/SweepScenario",
    "/leverage.v1.DatasetService/ExportDataset",
];

/// The methods counted against the sweep limit.
const SWEEPS: &str = "/leverage.v1.ScoringService/SweepScenario";

/// How much of the client's deadline the server keeps for itself: the answer is then this
/// server's DEADLINE_EXCEEDED with its reason rather than tonic's own timer firing at the same
/// instant with a bare CANCELLED.
fn before_client_deadline(d: Duration) -> Duration {
    d.saturating_sub((d / 20).min(Duration::from_millis(10)))
}

/// Parses a `grpc-timeout` header value: digits and one unit of H, M, S, m, u, n.
pub(crate) fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[derive(Clone, Debug)]
pub struct CallLimitsLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    limits: Limits,
    calls: Arc<Semaphore>,
    sweeps: Arc<Semaphore>,
    tally: ShedTally,
}

impl CallLimitsLayer {
    pub fn new(limits: &Limits) -> Self {
        Self {
            shared: Arc::new(Shared {
                limits: *limits,
                calls: Arc::new(Semaphore::new(limits.max_concurrent_calls)),
                sweeps: Arc::new(Semaphore::new(limits.max_concurrent_sweeps)),
                tally: ShedTally::new(Duration::from_secs(1)),
            }),
        }
    }
}

/// Counts refused calls between warnings, so that at most one warning is written per `every`.
#[derive(Debug)]
struct ShedTally {
    every: Duration,
    unreported: AtomicU64,
    last_report: Mutex<Option<Instant>>,
}

impl ShedTally {
    fn new(every: Duration) -> Self {
        Self {
            every,
            unreported: AtomicU64::new(0),
            last_report: Mutex::new(None),
        }
    }

    /// Counts one refused call at `now`; returns how many to report when a warning is due (this
    /// one included), `None` while the last warning is younger than `every`.
    fn shed(&self, now: Instant) -> Option<u64> {
        self.unreported.fetch_add(1, Ordering::Relaxed);
        // Whoever holds the lock is reporting; the others only count.
        let mut last = self.last_report.try_lock().ok()?;
        if last.is_some_and(|t| now.duration_since(t) < self.every) {
            return None;
        }
        *last = Some(now);
        Some(self.unreported.swap(0, Ordering::Relaxed))
    }
}

impl<S> tower::Layer<S> for CallLimitsLayer {
    type Service = Limited<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Limited {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Limited<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// The permits a call holds until its reply ends.
#[derive(Debug)]
struct Permits {
    _call: OwnedSemaphorePermit,
    _sweep: Option<OwnedSemaphorePermit>,
}

impl Shared {
    fn admit(&self, path: &str) -> Result<Permits, Refusal> {
        let call =
            Arc::clone(&self.calls)
                .try_acquire_owned()
                .map_err(|_| Refusal::Overloaded {
                    limit: self.limits.max_concurrent_calls,
                })?;
        let sweep = if path == SWEEPS {
            Some(Arc::clone(&self.sweeps).try_acquire_owned().map_err(|_| {
                Refusal::TooManyStreams {
                    what: "sweeps",
                    limit: self.limits.max_concurrent_sweeps,
                }
            })?)
        } else {
            None
        };
        Ok(Permits {
            _call: call,
            _sweep: sweep,
        })
    }

    /// When the call must end, and the refusal it then gets.
    fn deadline(&self, path: &str, headers: &http::HeaderMap) -> (Instant, Refusal) {
        let stream = STREAMING_METHODS.contains(&path);
        let cap = if stream {
            self.limits.max_stream_duration
        } else {
            self.limits.max_call_duration
        };
        let client = headers
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let now = Instant::now();
        match client {
            Some(d) if before_client_deadline(d) < cap => (
                now + before_client_deadline(d),
                Refusal::ClientDeadline { after: d },
            ),
            _ => (now + cap, Refusal::CallTimeLimit { limit: cap, stream }),
        }
    }
}

impl<S, B> tower::Service<http::Request<B>> for Limited<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if requirement(path) == Requirement::Open {
            return Box::pin(self.inner.call(request));
        }
        let permits = match self.shared.admit(path) {
            Ok(p) => p,
            Err(refusal) => {
                if let Some(shed) = self.shared.tally.shed(Instant::now()) {
                    tracing::warn!(
                        shed,
                        last = path,
                        ?refusal,
                        "calls refused since the last warning: too many in progress"
                    );
                }
                return Box::pin(std::future::ready(Ok(refusal.into_status().into_http())));
            }
        };
        let (deadline, expiry) = self.shared.deadline(path, request.headers());
        let call = self.inner.call(request);
        Box::pin(async move {
            let sleep = Box::pin(tokio::time::sleep_until(deadline.into()));
            let mut call = std::pin::pin!(call);
            let mut sleep = sleep;
            let response = tokio::select! {
                biased;
                r = &mut call => r?,
                () = &mut sleep => return Ok(expiry.into_status().into_http()),
            };
            let (mut parts, body) = response.into_parts();
            if error::complete_headers(&mut parts.headers).is_some() {
                // A trailers-only reply: the call is over.
                return Ok(http::Response::from_parts(parts, body));
            }
            let body = LimitedBody {
                inner: body,
                sleep,
                expiry: Some(expiry),
                permits: Some(permits),
            };
            Ok(http::Response::from_parts(parts, Body::new(body)))
        })
    }
}

/// A reply's body under the call's deadline, holding the call's permits until it ends.
struct LimitedBody {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    /// Taken when the body ends, one way or the other.
    expiry: Option<Refusal>,
    permits: Option<Permits>,
}

impl LimitedBody {
    fn end(&mut self) {
        self.expiry = None;
        self.permits = None;
    }
}

impl http_body::Body for LimitedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if this.expiry.is_none() {
            return Poll::Ready(None);
        }
        // The deadline first: a reader that keeps up never sees the body pending.
        if this.sleep.as_mut().poll(cx).is_ready() {
            let Some(expiry) = this.expiry.take() else {
                return Poll::Ready(None);
            };
            tracing::info!(?expiry, "stream ended at its deadline");
            this.end();
            // Dropping the inner body now stops whatever produces it (a sweep's task sees its
            // receiver gone).
            this.inner = Body::empty();
            let mut trailers = http::HeaderMap::new();
            return match expiry.into_status().add_header(&mut trailers) {
                Ok(()) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
                Err(status) => Poll::Ready(Some(Err(status))),
            };
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                let frame = match frame.into_trailers() {
                    Ok(mut trailers) => {
                        error::complete_headers(&mut trailers);
                        this.end();
                        Frame::trailers(trailers)
                    }
                    Err(frame) => frame,
                };
                Poll::Ready(Some(Ok(frame)))
            }
            other => {
                this.end();
                Poll::Ready(other)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.expiry.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_reported_at_most_once_per_interval_and_none_is_lost() {
        let tally = ShedTally::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(
            tally.shed(at(0)),
            Some(1),
            "the first one is reported at once"
        );
        let quiet: Vec<_> = (1..=500).map(|ms| tally.shed(at(ms))).collect();
        assert!(quiet.iter().all(Option::is_none), "{quiet:?}");
        assert_eq!(tally.shed(at(999)), None);
        assert_eq!(
            tally.shed(at(1000)),
            Some(502),
            "the 501 held back and this one"
        );
        assert_eq!(tally.shed(at(5000)), Some(1));
    }

    #[test]
    fn the_streaming_list_names_exactly_the_server_streaming_methods() {
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(leverage_proto::FILE_DESCRIPTOR_SET)
            .unwrap_or_else(|e| panic!("the descriptor set decodes: {e}"));
        let mut streaming = Vec::new();
        for file in &set.file {
            for service in &file.service {
                for m in &service.method {
                    assert!(
                        !m.client_streaming(),
                        "a client-streaming method needs limits of its own: {}",
                        m.name()
                    );
                    if m.server_streaming() {
                        streaming.push(format!(
                            "/{}.{}/{}",
                            file.package(),
                            service.name(),
                            m.name()
                        ));
                    }
                }
            }
        }
        streaming.sort();
        let mut listed: Vec<String> = STREAMING_METHODS.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(streaming, listed);
    }

    #[test]
    fn grpc_timeouts_parse() {
        assert_eq!(parse_grpc_timeout("500m"), Some(Duration::from_millis(500)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("x"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }

    #[test]
    fn the_server_answers_before_the_clients_deadline() {
        assert_eq!(
            before_client_deadline(Duration::from_secs(10)),
            Duration::from_millis(9990)
        );
        assert_eq!(
            before_client_deadline(Duration::from_millis(100)),
            Duration::from_millis(95)
        );
    }
}

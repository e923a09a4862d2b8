//! Encoded replies of the data reads, kept per dataset version and request. A read's reply is a
//! function of its request bytes, the snapshot it reads (pinned for it by the version layer),
//! the compression the caller sent and accepts and, for reads that default their as-of date to
//! today, the date: with those as the key, a
//! repeated read is answered with the bytes the first one encoded, without decoding, querying or
//! encoding again. A write makes a new version, so nothing cached is ever stale: older entries
//! simply stop being asked for, and go first when the cache is full.
//!
//! Only unary reads over the snapshot are cached (`CACHED`): not the history reads, which read the
//! store and change with a compaction, nor scoring, whose answers depend on the plugins loaded,
//! nor anything streamed. Only successful replies are kept; errors are cheap and often transient.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use leverage_core::Date;
use tonic::Status;
use tonic::body::Body;

use crate::versions::pinned_revision;

/// The reads whose replies are cached.
pub const CACHED: [&str; 15] = [
    "/leverage.v1.AssetService/ListHoldings",
    "/leverage.v1.AssetService/GetHolding",
    "/leverage.v1.AssetService/ListObservations",
    "/leverage.v1.AssetService/SummarizeHoldings",
    "/leverage.v1.DatasetService/GetDatasetInfo",
    "/leverage.v1.DatasetService/ListFigures",
    "/leverage.v1.DatasetService/ListExchangeRates",
    "/leverage.v1.LegalRiskService/ListDoctrines",
    "/leverage.v1.LegalRiskService/ListPositions",
    "/leverage.v1.LegalRiskService/ListPublishedAssessments",
    "/leverage.v1.LegalRiskService/AssessLegalRisk",
    "/leverage.v1.DefenceFundingService/ListInstruments",
    "/leverage.v1.DefenceFundingService/GetInstrument",
    "/leverage.v1.DefenceFundingService/ListAllocations",
    "/leverage.v1.DefenceFundingService/CheckEligibility",
];

/// Largest request whose reply is cached: reads are a few hundred bytes; a larger body is
/// someone sending junk, not worth keeping as a key.
const MAX_KEY_BYTES: usize = 4096;
/// Largest reply kept.
const MAX_REPLY_BYTES: usize = 1 << 20;

#[derive(Clone, Debug)]
pub struct ReplyCacheLayer {
    cache: Arc<ReplyCache>,
}

impl ReplyCacheLayer {
    /// A cache holding at most `budget` bytes of replies and keys; none at all when 0.
    pub fn new(budget: usize) -> Self {
        Self {
            cache: Arc::new(ReplyCache {
                budget,
                entries: Mutex::new(Entries::default()),
            }),
        }
    }
}

#[derive(Debug)]
struct ReplyCache {
    budget: usize,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<Key, Arc<Reply>>,
    bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    method: &'static str,
    revision: u64,
    today: Date,
    /// The request's `grpc-encoding` and `grpc-accept-encoding`: the reply's bytes depend on
    /// the encoding the caller accepts (a gzip reply must not go to a caller that asked for
    /// none), and the request's bytes mean what its encoding says.
    encodings: (Option<http::HeaderValue>, Option<http::HeaderValue>),
    request: Bytes,
}

/// A successful reply as it went out: headers, the encoded message, the trailers.
#[derive(Debug)]
struct Reply {
    headers: http::HeaderMap,
    body: Bytes,
    trailers: http::HeaderMap,
}

impl Reply {
    fn size(&self, key: &Key) -> usize {
        self.body.len() + key.request.len() + 256
    }

    fn response(&self) -> http::Response<Body> {
        let mut response = http::Response::new(Body::new(Replay {
            body: Some(self.body.clone()),
            trailers: Some(self.trailers.clone()),
        }));
        *response.headers_mut() = self.headers.clone();
        response
    }
}

impl ReplyCache {
    fn get(&self, key: &Key) -> Option<Arc<Reply>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.map.get(key).cloned()
    }

    fn put(&self, key: Key, reply: Reply) {
        let size = reply.size(&key);
        if size > self.budget {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.bytes + size > self.budget {
            // Older versions first: their readers are the fewest. If that is not enough, start
            // again; a full cache refills from the reads that are actually made.
            let newest = key.revision;
            entries.map.retain(|k, _| k.revision >= newest);
            entries.bytes = entries.map.iter().map(|(k, r)| r.size(k)).sum();
            if entries.bytes + size > self.budget {
                entries.map.clear();
                entries.bytes = 0;
            }
        }
        if entries.map.insert(key, Arc::new(reply)).is_none() {
            entries.bytes += size;
        }
    }
}

/// The body of a cached reply: its one message, then its trailers.
struct Replay {
    body: Option<Bytes>,
    trailers: Option<http::HeaderMap>,
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(body) = self.body.take() {
            return Poll::Ready(Some(Ok(Frame::data(body))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_none() && self.trailers.is_none()
    }
}

impl<S> tower::Layer<S> for ReplyCacheLayer {
    type Service = Cached<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Cached {
            inner,
            cache: Arc::clone(&self.cache),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Cached<S> {
    inner: S,
    cache: Arc<ReplyCache>,
}

impl<S> tower::Service<http::Request<Body>> for Cached<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        static METHODS: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
            std::sync::OnceLock::new();
        let method = METHODS
            .get_or_init(|| CACHED.into_iter().collect())
            .get(request.uri().path())
            .filter(|_| self.cache.budget > 0)
            .copied();
        let (Some(method), Some(revision)) = (method, pinned_revision(&request)) else {
            return Box::pin(self.inner.call(request));
        };
        // The ready service is the one to call (tower's contract); a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cache = Arc::clone(&self.cache);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let Ok(collected) = body.collect().await else {
                // The request body failed in transport: let the service report it.
                return inner
                    .call(http::Request::from_parts(parts, Body::empty()))
                    .await;
            };
            let request_bytes = collected.to_bytes();
            let key = (request_bytes.len() <= MAX_KEY_BYTES).then(|| Key {
                method,
                revision,
                today: Date::today(),
                encodings: (
                    parts.headers.get("grpc-encoding").cloned(),
                    parts.headers.get("grpc-accept-encoding").cloned(),
                ),
                request: request_bytes.clone(),
            });
            if let Some(reply) = key.as_ref().and_then(|k| cache.get(k)) {
                return Ok(reply.response());
            }
            let request = http::Request::from_parts(
                parts,
                Body::new(http_body_util::Full::new(request_bytes)),
            );
            let response = inner.call(request).await?;
            let Some(key) = key else {
                return Ok(response);
            };
            Ok(keep(&cache, key, response).await)
        })
    }
}

/// Reads a reply through, keeping a copy when it succeeded and is small enough.
async fn keep(
    cache: &ReplyCache,
    key: Key,
    response: http::Response<Body>,
) -> http::Response<Body> {
    if response.headers().contains_key("grpc-status") {
        // Trailers-only: an error.
        return response;
    }
    let (parts, body) = response.into_parts();
    let mut data = Vec::new();
    let mut trailers = None;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => match frame.into_data() {
                Ok(bytes) => data.push(bytes),
                Err(frame) => trailers = frame.into_trailers().ok(),
            },
            Err(status) => {
                // Failed while encoding: pass the failure on as the trailers of what was sent.
                let mut t = http::HeaderMap::new();
                let _ = status.add_header(&mut t);
                trailers = Some(t);
                break;
            }
        }
    }
    let body = if data.len() == 1 {
        data.pop().unwrap_or_default()
    } else {
        data.concat().into()
    };
    let trailers = trailers.unwrap_or_default();
    let reply = Reply {
        headers: parts.headers.clone(),
        body,
        trailers,
    };
    let ok = reply
        .trailers
        .get("grpc-status")
        .is_some_and(|s| s.as_bytes() == b"0");
    if !ok {
        // A failed reply's data (tonic leaves a message it could not finish, e.g. one over the
        // size limit, in the body) is not a message: only the status goes out.
        let trailers_only = Replay {
            body: None,
            trailers: Some(reply.trailers),
        };
        return http::Response::from_parts(parts, Body::new(trailers_only));
    }
    let response = http::Response::from_parts(parts, reply.response().into_body());
    if reply.body.len() <= MAX_REPLY_BYTES {
        cache.put(key, reply);
    }
    response
}

//! Dataset versions on the wire. A call may ask for the dataset as it was at a version with the
//! `leverage-dataset-version` request header, or for at least a version with
//! `leverage-min-dataset-version` (how a client reads its own write on any replica: it sends
//! the version its write's reply named); every reply says which version served it in the
//! `leverage-dataset-version` response header. One layer resolves the version for every call,
//! so that each handler reads one snapshot (the one the header names, or the newest) and cannot
//! mix two.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use leverage_core::Snapshot;
use leverage_store::{Repository, StoreError};
use tonic::Status;

use crate::error::{self, Refusal};

/// The request header that pins a call to a dataset version, and the response header that
/// says which version served it.
pub const DATASET_VERSION_HEADER: &str = "leverage-dataset-version";

/// The request header that asks for a dataset version at least this new: a replica behind it
/// catches up first. A version the store does not hold is OUT_OF_RANGE
/// (`DATASET_VERSION_NOT_YET`) at once; while the store cannot be reached, the replica waits up
/// to `--min-version-wait-ms` and then refuses the call (UNAVAILABLE, `REPLICA_BEHIND`) rather
/// than answer from an older version.
pub const MIN_DATASET_VERSION_HEADER: &str = "leverage-min-dataset-version";

/// The snapshot the layer resolved for this call, or the newest when the call did not go
/// through the layer (handlers called directly).
pub fn snapshot_of<T>(request: &tonic::Request<T>, repo: &Repository) -> Arc<Snapshot> {
    request
        .extensions()
        .get::<Pinned>()
        .map(|p| Arc::clone(&p.0))
        .unwrap_or_else(|| repo.snapshot())
}

/// The version of the snapshot the layer resolved for this call, if it went through the layer.
pub fn pinned_revision<B>(request: &http::Request<B>) -> Option<u64> {
    request.extensions().get::<Pinned>().map(|p| p.0.revision())
}

/// The snapshot a call reads, carried in its extensions.
#[derive(Clone, Debug)]
struct Pinned(Arc<Snapshot>);

/// The version a request's header `name` names, if any.
fn requested(headers: &http::HeaderMap, name: &'static str) -> Result<Option<u64>, Status> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|v| *v > 0)
        .map(Some)
        .ok_or_else(|| {
            error::invalid(
                name,
                "must be a dataset version: a positive whole number, as `dataset_version` and \
                 this response header give it",
            )
        })
}

/// Resolves each call's dataset version before it reaches a service.
#[derive(Clone, Debug)]
pub struct VersionLayer {
    pub repo: Arc<Repository>,
    /// Longest a call asking for at least a version waits for this replica to reach it.
    pub min_version_wait: Duration,
}

impl<S> tower::Layer<S> for VersionLayer {
    type Service = Versioned<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Versioned {
            inner,
            repo: Arc::clone(&self.repo),
            min_version_wait: self.min_version_wait,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Versioned<S> {
    inner: S,
    repo: Arc<Repository>,
    min_version_wait: Duration,
}

impl<S, B, R> tower::Service<http::Request<B>> for Versioned<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if !path.starts_with("/leverage.") {
            return Box::pin(self.inner.call(request));
        }
        let asked = requested(request.headers(), DATASET_VERSION_HEADER).and_then(|pinned| {
            Ok((
                pinned,
                requested(request.headers(), MIN_DATASET_VERSION_HEADER)?,
            ))
        });
        let (pinned, at_least) = match asked {
            Ok(v) => v,
            Err(status) => return Box::pin(std::future::ready(Ok(status.into_http()))),
        };
        let write = is_write(path);
        let newest = self.repo.snapshot();
        match (pinned, at_least) {
            // The common case, the newest version: no detour, the call proceeds at once.
            (None, None) => {}
            (Some(v), _) if v == newest.revision() => {}
            // A pinned version is exact; a minimum below it says nothing more. Its snapshot is
            // read from the store.
            (Some(v), _) => {
                return self.call_on(request, write, move |repo| {
                    repo.snapshot_at(v).map_err(error::store)
                });
            }
            (None, Some(v)) if v <= newest.revision() => {}
            (None, Some(v)) => {
                let wait = self.min_version_wait;
                return self.call_on(request, write, move |repo| snapshot_at_least(repo, v, wait));
            }
        }
        request.extensions_mut().insert(Pinned(Arc::clone(&newest)));
        let call = self.inner.call(request);
        let repo = Arc::clone(&self.repo);
        Box::pin(async move {
            let mut response = call.await?;
            let served = if write { repo.snapshot() } else { newest };
            name_version(&mut response, &served);
            Ok(response)
        })
    }
}

impl<S> Versioned<S> {
    /// Resolves the call's snapshot with `resolve` (which may wait on the store, so it runs
    /// off the async workers), then calls the service on it.
    fn call_on<B, R>(
        &mut self,
        mut request: http::Request<B>,
        write: bool,
        resolve: impl FnOnce(&Repository) -> Result<Arc<Snapshot>, Status> + Send + 'static,
    ) -> <Self as tower::Service<http::Request<B>>>::Future
    where
        S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        B: Send + 'static,
        R: Default + Send + 'static,
        S::Error: Send + 'static,
    {
        // The ready service is the one to call (tower's contract); a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let repo = Arc::clone(&self.repo);
        Box::pin(async move {
            let resolved = {
                let repo = Arc::clone(&repo);
                tokio::task::spawn_blocking(move || resolve(&repo)).await
            };
            let snapshot = match resolved {
                Ok(Ok(s)) => s,
                Ok(Err(status)) => return Ok(status.into_http()),
                Err(e) => {
                    return Ok(error::internal(format!(
                        "resolving the call's dataset version did not complete: {e}"
                    ))
                    .into_http());
                }
            };
            request
                .extensions_mut()
                .insert(Pinned(Arc::clone(&snapshot)));
            let mut response = inner.call(request).await?;
            let served = if write { repo.snapshot() } else { snapshot };
            name_version(&mut response, &served);
            Ok(response)
        })
    }
}

/// The snapshot of a call that asks for at least `version`, catching up for at most `wait`
/// while the store cannot be reached. A version the store never had is refused at once: no
/// replica will ever have it.
fn snapshot_at_least(
    repo: &Repository,
    version: u64,
    wait: Duration,
) -> Result<Arc<Snapshot>, Status> {
    repo.at_least(version, wait).map_err(|e| match e {
        e @ StoreError::VersionNotYet { .. } => error::store(e),
        e => {
            let serving = repo.snapshot().revision();
            tracing::warn!(
                wanted = version,
                serving,
                error = %e,
                "replica behind the dataset version asked for"
            );
            Refusal::ReplicaBehind {
                wanted: version,
                serving,
                waited: wait,
            }
            .into_status()
        }
    })
}

/// Names on a reply the version that served it. A write's reply names the newest version,
/// which holds the write, so that the client can read it back at that version anywhere.
fn name_version<R>(response: &mut http::Response<R>, served: &Snapshot) {
    if let Ok(value) = http::HeaderValue::try_from(served.revision().to_string()) {
        response.headers_mut().insert(DATASET_VERSION_HEADER, value);
    }
}

/// Whether a method writes (or administers), found once per method in a set built once.
fn is_write(path: &str) -> bool {
    static WRITES: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    WRITES
        .get_or_init(|| crate::auth::WRITES.iter().map(|(p, _)| *p).collect())
        .contains(path)
}

//! Dataset versions on the wire. A call may ask for the dataset as it was at a version with the
//! `leverage-dataset-version` request header; every reply says which version served it in the
//! same response header. One layer resolves the version for every call, so that each handler
//! reads one snapshot (the one the header names, or the newest) and cannot mix two.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use leverage_core::Snapshot;
use leverage_store::Repository;
use tonic::Status;

use crate::error;

/// The request header that pins a call to a dataset version, and the response header that
/// says which version served it.
pub const DATASET_VERSION_HEADER: &str = "leverage-dataset-version";

/// The snapshot the layer resolved for this call, or the newest when the call did not go
/// through the layer (handlers called directly).
pub fn snapshot_of<T>(request: &tonic::Request<T>, repo: &Repository) -> Arc<Snapshot> {
    request
        .extensions()
        .get::<Pinned>()
        .map(|p| Arc::clone(&p.0))
        .unwrap_or_else(|| repo.snapshot())
}

/// The snapshot a call reads, carried in its extensions.
#[derive(Clone, Debug)]
struct Pinned(Arc<Snapshot>);

/// The version a request's header names, if any.
fn requested(headers: &http::HeaderMap) -> Result<Option<u64>, Status> {
    let Some(value) = headers.get(DATASET_VERSION_HEADER) else {
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
                DATASET_VERSION_HEADER,
                "must be a dataset version: a positive whole number, as `dataset_version` and \
                 this response header give it",
            )
        })
}

/// Resolves each call's dataset version before it reaches a service.
#[derive(Clone, Debug)]
pub struct VersionLayer {
    pub repo: Arc<Repository>,
}

impl<S> tower::Layer<S> for VersionLayer {
    type Service = Versioned<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Versioned {
            inner,
            repo: Arc::clone(&self.repo),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Versioned<S> {
    inner: S,
    repo: Arc<Repository>,
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
        let pinned = match requested(request.headers()) {
            Ok(v) => v,
            Err(status) => return Box::pin(std::future::ready(Ok(status.into_http()))),
        };
        // The ready service is the one to call (tower's contract); a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let repo = Arc::clone(&self.repo);
        let write = matches!(
            crate::auth::requirement(path),
            crate::auth::Requirement::Role(_)
        );
        Box::pin(async move {
            let snapshot = match pinned {
                None => repo.snapshot(),
                Some(v) if v == repo.snapshot().revision() => repo.snapshot(),
                // An older version is read from the database: off the async workers.
                Some(v) => {
                    let repo = Arc::clone(&repo);
                    let read = tokio::task::spawn_blocking(move || repo.snapshot_at(v)).await;
                    match read {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => return Ok(error::store(e).into_http()),
                        Err(e) => {
                            return Ok(error::internal(format!(
                                "reading dataset version {v} did not complete: {e}"
                            ))
                            .into_http());
                        }
                    }
                }
            };
            request
                .extensions_mut()
                .insert(Pinned(Arc::clone(&snapshot)));
            let mut response = inner.call(request).await?;
            // A write's reply names the version that holds it (or a later one), so that the
            // client can read it back at that version anywhere.
            let served = if write {
                repo.snapshot().revision()
            } else {
                snapshot.revision()
            };
            if let Ok(value) = http::HeaderValue::from_str(&served.to_string()) {
                response.headers_mut().insert(DATASET_VERSION_HEADER, value);
            }
            Ok(response)
        })
    }
}

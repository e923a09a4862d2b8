//! Load shedding: a global limit on calls in progress. A call over the limit is refused at
//! once with RESOURCE_EXHAUSTED, so that an overloaded server answers quickly instead of
//! piling up calls that all end in timeouts. Health and reflection are never shed, so that
//! probes still see the server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tonic::Code;
use tonic_types::ErrorDetails;

use crate::auth::{Requirement, requirement};
use crate::error::status;

#[derive(Clone, Debug)]
pub struct ShedLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl ShedLayer {
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Shed {
            inner,
            permits: Arc::clone(&self.permits),
            limit: self.limit,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Shed<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
}

impl<S, B, R> tower::Service<http::Request<B>> for Shed<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if requirement(request.uri().path()) == Requirement::Open {
            return Box::pin(self.inner.call(request));
        }
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => {
                let call = self.inner.call(request);
                Box::pin(async move {
                    let response = call.await;
                    drop(permit);
                    response
                })
            }
            Err(_) => {
                tracing::warn!(
                    method = request.uri().path(),
                    limit = self.limit,
                    "call shed: too many in progress"
                );
                let refused = status(
                    Code::ResourceExhausted,
                    "SERVER_OVERLOADED",
                    format!(
                        "the server is at its limit of {} calls in progress; retry with backoff",
                        self.limit
                    ),
                    ErrorDetails::new(),
                );
                Box::pin(std::future::ready(Ok(refused.into_http())))
            }
        }
    }
}

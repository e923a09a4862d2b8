//! Load shedding: a global limit on calls in progress. A call over the limit is refused at
//! once with RESOURCE_EXHAUSTED, so that an overloaded server answers quickly instead of
//! piling up calls that all end in timeouts. Health and reflection are never shed, so that
//! probes still see the server. Shed calls are logged as one warning a second with their count,
//! not one line each: an overloaded server should not spend what it lacks on its log.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tonic::Code;
use tonic_types::ErrorDetails;

use crate::auth::{Requirement, requirement};
use crate::error::status;

#[derive(Clone, Debug)]
pub struct ShedLayer {
    permits: Arc<Semaphore>,
    limit: usize,
    tally: Arc<ShedTally>,
}

impl ShedLayer {
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            tally: Arc::new(ShedTally::new(Duration::from_secs(1))),
        }
    }
}

/// Counts shed calls between warnings, so that at most one warning is written per `every`.
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

    /// Counts one shed call at `now`; returns how many to report when a warning is due (this
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

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Shed {
            inner,
            permits: Arc::clone(&self.permits),
            limit: self.limit,
            tally: Arc::clone(&self.tally),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Shed<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
    tally: Arc<ShedTally>,
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
                if let Some(shed) = self.tally.shed(Instant::now()) {
                    tracing::warn!(
                        shed,
                        last = request.uri().path(),
                        limit = self.limit,
                        "calls shed since the last warning: too many in progress"
                    );
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shed_calls_are_reported_at_most_once_per_interval_and_none_is_lost() {
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
}

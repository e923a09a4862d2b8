//! A bounded pool of plain threads for plugin calls.
//!
//! Not tokio's `spawn_blocking`: dropping a tokio runtime waits for every blocking task, so one
//! plugin that never returns would hang the server's shutdown (and every test). These threads are
//! detached instead. A call that overruns its deadline is *abandoned*: its thread is replaced at
//! once so the pool keeps its capacity, and retires when (if ever) the call returns.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// What a worker does after a job.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Take the next job.
    Continue,
    /// Exit: this thread was replaced while its job ran late.
    Retire,
}

pub(crate) type Job = Box<dyn FnOnce() -> Fate + Send + 'static>;

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Threads alive (running a job or waiting).
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
    /// How many threads may be alive: the configured size plus one per abandoned call.
    limit: usize,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
    max_queued: usize,
}

/// Handle to the pool; clones share it.
#[derive(Clone)]
pub(crate) struct WorkerPool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("WorkerPool")
            .field("threads", &state.threads)
            .field("idle", &state.idle)
            .field("limit", &state.limit)
            .field("queued", &state.queue.len())
            .finish()
    }
}

impl WorkerPool {
    /// A pool of at most `size` threads (started on demand) and `max_queued` waiting jobs.
    pub(crate) fn new(size: usize, max_queued: usize) -> WorkerPool {
        WorkerPool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    limit: size.max(1),
                    ..State::default()
                }),
                ready: Condvar::new(),
                max_queued,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock, so a poisoned lock only means a panic in this module's
        // bookkeeping; the state is still consistent enough to go on.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`. Fails with the queue length if the queue is full.
    pub(crate) fn submit(&self, job: Job) -> Result<(), usize> {
        let mut state = self.lock();
        if state.queue.len() >= self.shared.max_queued {
            return Err(state.queue.len());
        }
        state.queue.push_back(job);
        self.wake_or_spawn(&mut state);
        Ok(())
    }

    /// Adds one thread of capacity: an abandoned call still occupies its thread.
    pub(crate) fn replace_abandoned_worker(&self) {
        let mut state = self.lock();
        state.limit += 1;
        self.wake_or_spawn(&mut state);
    }

    /// Stops the threads once the queue is empty.
    pub(crate) fn shutdown(&self) {
        self.lock().shutdown = true;
        self.shared.ready.notify_all();
    }

    fn wake_or_spawn(&self, state: &mut State) {
        if state.queue.len() > state.idle && state.threads < state.limit {
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name("leverage-plugin".to_owned())
                .spawn(move || worker(&shared));
            match spawned {
                Ok(_) => state.threads += 1,
                Err(error) => tracing::error!(%error, "cannot start a plugin worker thread"),
            }
        } else if state.idle > 0 {
            // Only a waiting thread needs a wake-up (a system call each time): a busy one takes
            // the next job from the queue before it waits again, under the same lock.
            self.shared.ready.notify_one();
        }
    }

    #[cfg(test)]
    fn threads(&self) -> (usize, usize) {
        let state = self.lock();
        (state.threads, state.limit)
    }
}

fn worker(shared: &Shared) {
    let lock = || shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let job = {
            let mut state = lock();
            loop {
                if let Some(job) = state.queue.pop_front() {
                    break job;
                }
                if state.shutdown || state.threads > state.limit {
                    state.threads -= 1;
                    return;
                }
                state.idle += 1;
                state = shared
                    .ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.idle -= 1;
            }
        };
        // Plugin code runs behind the SDK's panic guard; a panic here is the host's own job code.
        // Unwinding out of this loop would end the thread with `threads` still counting it, and
        // the pool would shrink for good: the job fails (its reply channel drops, so its caller
        // hears of it) and the thread goes on.
        let fate = panic::catch_unwind(AssertUnwindSafe(job)).unwrap_or_else(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%message, "a plugin pool job panicked in host code; the thread goes on");
            Fate::Continue
        });
        if fate == Fate::Retire {
            let mut state = lock();
            state.threads -= 1;
            state.limit -= 1;
            return;
        }
    }
}

/// The life of one call on the pool, shared by the caller and the worker.
#[derive(Debug, Default)]
pub(crate) struct CallState(AtomicU8);

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const ABANDONED: u8 = 3;

/// What [`CallState::abandon`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Abandoned {
    /// The call had not started; it never will.
    WhileQueued,
    /// The call is running on a thread that must be replaced.
    WhileRunning,
    /// The call had already finished.
    AfterDone,
}

impl CallState {
    /// Worker: the call starts, unless it was abandoned while queued.
    pub(crate) fn start(&self) -> bool {
        self.transition(QUEUED, RUNNING)
    }

    /// Worker: the call finished; `false` if it was abandoned meanwhile.
    pub(crate) fn finish(&self) -> bool {
        self.transition(RUNNING, DONE)
    }

    /// Whether the caller abandoned the call.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.0.load(Ordering::Acquire) == ABANDONED
    }

    /// Caller: nobody waits for the result any more.
    pub(crate) fn abandon(&self) -> Abandoned {
        if self.transition(QUEUED, ABANDONED) {
            Abandoned::WhileQueued
        } else if self.transition(RUNNING, ABANDONED) {
            Abandoned::WhileRunning
        } else {
            Abandoned::AfterDone
        }
    }

    fn transition(&self, from: u8, to: u8) -> bool {
        self.0
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn jobs_run_and_threads_start_on_demand() {
        let pool = WorkerPool::new(2, 16);
        assert_eq!(pool.threads(), (0, 2));
        let (tx, rx) = mpsc::channel();
        for i in 0..4 {
            let tx = tx.clone();
            pool.submit(Box::new(move || {
                let _ = tx.send(i);
                Fate::Continue
            }))
            .expect("queued");
        }
        let mut got: Vec<i32> = (0..4)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).expect("job ran"))
            .collect();
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2, 3]);
        assert!(pool.threads().0 <= 2);
    }

    #[test]
    fn a_full_queue_is_refused() {
        let pool = WorkerPool::new(1, 1);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        pool.submit(Box::new(move || {
            let _ = started_tx.send(());
            let _ = release_rx.recv();
            Fate::Continue
        }))
        .expect("first");
        started_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("started");
        pool.submit(Box::new(|| Fate::Continue))
            .expect("second waits");
        assert_eq!(pool.submit(Box::new(|| Fate::Continue)), Err(1));
        drop(release_tx);
    }

    #[test]
    fn an_abandoned_thread_is_replaced_and_retires_when_its_job_returns() {
        let pool = WorkerPool::new(1, 16);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        pool.submit(Box::new(move || {
            let _ = started_tx.send(());
            let _ = release_rx.recv();
            Fate::Retire
        }))
        .expect("stuck job");
        started_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("started");
        pool.replace_abandoned_worker();
        let (tx, rx) = mpsc::channel();
        pool.submit(Box::new(move || {
            let _ = tx.send(());
            Fate::Continue
        }))
        .expect("queued");
        rx.recv_timeout(Duration::from_secs(5))
            .expect("a replacement thread ran the job while the first is stuck");
        drop(release_tx);
        for _ in 0..500 {
            if pool.threads() == (1, 1) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the stuck thread did not retire: {:?}", pool.threads());
    }

    #[test]
    fn a_panic_in_a_job_leaves_the_pool_its_threads() {
        const SIZE: usize = 2;
        let pool = WorkerPool::new(SIZE, 64);
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..SIZE {
            let done_tx = done_tx.clone();
            pool.submit(Box::new(move || {
                let _ = done_tx.send(());
                panic!("host-side bookkeeping failed");
            }))
            .expect("queued");
        }
        for _ in 0..SIZE {
            done_rx
                .recv_timeout(Duration::from_secs(5))
                .expect("the panicking job ran");
        }
        // SIZE jobs that each wait until all SIZE run at once: only SIZE live threads serve them.
        let barrier = Arc::new(std::sync::Barrier::new(SIZE));
        let (tx, rx) = mpsc::channel();
        for round in 0..3 * SIZE {
            let (barrier, tx) = (Arc::clone(&barrier), tx.clone());
            pool.submit(Box::new(move || {
                barrier.wait();
                let _ = tx.send((round, std::thread::current().id()));
                Fate::Continue
            }))
            .expect("queued");
        }
        let served: Vec<_> = (0..3 * SIZE)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(5))
                    .expect("the pool still runs jobs side by side")
            })
            .collect();
        let threads: std::collections::HashSet<_> = served.iter().map(|(_, id)| *id).collect();
        assert_eq!(threads.len(), SIZE, "{served:?}");
        assert_eq!(pool.threads(), (SIZE, SIZE));
    }

    #[test]
    fn call_state_transitions() {
        let state = CallState::default();
        assert_eq!(state.abandon(), Abandoned::WhileQueued);
        assert!(!state.start());

        let state = CallState::default();
        assert!(state.start());
        assert_eq!(state.abandon(), Abandoned::WhileRunning);
        assert!(!state.finish());

        let state = CallState::default();
        assert!(state.start());
        assert!(state.finish());
        assert_eq!(state.abandon(), Abandoned::AfterDone);
    }
}

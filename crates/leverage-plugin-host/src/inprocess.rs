//! The in-process backend: a plugin mapped into this process, its idle instances, and its calls
//! (on the host's thread pool with a deadline, or on the calling thread).

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::HostError;
use crate::instance::{Instance, keeps_instance};
use crate::library::{self, VTable};
use crate::load::{LoadFailure, LoadRequest};
use crate::plugin::Plugin;
use crate::pool::{Abandoned, CallState, Fate, WorkerPool};
use crate::sandbox::{self, SandboxOptions};
use crate::scored::Scored;
use crate::sync::lock;

/// Idle instances kept per plugin; more are destroyed when returned.
const MAX_IDLE: usize = 64;

/// How an in-process plugin is called: its function table, its configuration, and the instances
/// waiting for a call. Plugin code (`create`, `destroy`) never runs under the `idle` lock: an
/// instance is taken out before it is used and destroyed only once it is out.
#[derive(Debug)]
pub(crate) struct InProcess {
    vtable: VTable,
    config: String,
    idle: Mutex<Vec<Instance>>,
}

/// Loads the plugin file of `request` into this process and creates a first instance with the
/// configuration `config_for` gives for its id, which proves the configuration.
///
/// Before this process maps the private copy, a worker process loads it first when `sandbox`
/// asks for the pre-load check ([`sandbox::preload`]): a file that crashes the loader kills that
/// worker, not this process.
pub(crate) fn load(
    request: &LoadRequest<'_>,
    sandbox: &SandboxOptions,
) -> Result<(Plugin, InProcess), Box<LoadFailure>> {
    let mut copy = request.private_copy()?;
    sandbox::preload(copy.path(), request.catalog, sandbox)?;
    let opened = library::open(copy.path()).map_err(|failure| {
        Box::new(LoadFailure {
            reason: failure.reason,
            build: failure.build,
            metadata: None,
        })
    })?;
    // The mapping stays valid once loaded (Unix keeps an unlinked file's pages); other systems
    // lock a loaded file, so the copy stays.
    if cfg!(unix) {
        let _ = fs::remove_file(copy.keep());
    } else {
        copy.keep();
    }
    let metadata = Arc::new(opened.metadata);
    let plugin = request.plugin(&opened.build, &metadata)?;
    let config = (request.config_for)(&metadata.id);
    let backend = InProcess::new(opened.vtable, config)
        .map_err(|reason| LoadFailure::described(reason, &opened.build, &metadata))?;
    Ok((plugin, backend))
}

impl InProcess {
    /// The backend of a plugin opened with `vtable`, after a first instance was created with
    /// `config` (kept idle for the first call).
    pub(crate) fn new(
        vtable: VTable,
        config: String,
    ) -> Result<InProcess, crate::error::RefuseReason> {
        let first = Instance::create(&vtable, &config).map_err(|(status, message)| {
            crate::error::RefuseReason::ConfigRejected { status, message }
        })?;
        Ok(InProcess {
            vtable,
            config,
            idle: Mutex::new(vec![first]),
        })
    }

    /// An idle instance, or a new one (`create`'s status and message if that fails).
    pub(crate) fn take_instance(&self) -> Result<Instance, (i32, String)> {
        let idle = lock(&self.idle).pop();
        match idle {
            Some(instance) => Ok(instance),
            None => Instance::create(&self.vtable, &self.config),
        }
    }

    /// An instance for one call: created with `config` when the call sets parameters of its own
    /// (never pooled), else an idle one or a new one.
    pub(crate) fn instance_for(&self, config: Option<&str>) -> Result<Instance, (i32, String)> {
        match config {
            Some(config) => Instance::create(&self.vtable, config),
            None => self.take_instance(),
        }
    }

    /// Returns an instance for reuse; destroys it (outside the lock) if `plugin` is disabled or
    /// enough are idle.
    pub(crate) fn recycle(&self, plugin: &Plugin, instance: Instance) {
        let mut idle = lock(&self.idle);
        // Looked at under the lock: `release` takes the lock after the flag is set, so an
        // instance is either seen by it or never stored.
        if plugin.is_disabled() || idle.len() >= MAX_IDLE {
            drop(idle);
            drop(instance);
        } else {
            idle.push(instance);
        }
    }

    /// Destroys the idle instances of a disabled plugin, outside the lock.
    pub(crate) fn release(&self) {
        let idle = std::mem::take(&mut *lock(&self.idle));
        drop(idle);
    }

    /// Scores `n_rows` request rows in this process, with an instance of `config` when the call
    /// sets parameters (`None`: the configured ones). Returns the instance used if it may be
    /// reused (the caller passes it to [`InProcess::recycle`] unless the call was abandoned
    /// meanwhile); an instance of a call's own parameters is never reused.
    pub(crate) fn execute(
        &self,
        plugin: &Plugin,
        config: Option<&str>,
        rows: &[f64],
        n_rows: usize,
        cancel: &AtomicBool,
    ) -> (Result<Scored, HostError>, Option<Instance>) {
        if let Err(error) = plugin.ensure_ready() {
            return (Err(error), None);
        }
        let mut instance = match self.instance_for(config) {
            Ok(instance) => instance,
            Err((status, message)) => return (Err(plugin.create_failed(status, message)), None),
        };
        let inputs = instance.inputs_mut();
        inputs.clear();
        plugin.gather(rows, n_rows, inputs);
        let (code, message) = instance.call(
            n_rows,
            plugin.n_inputs(),
            plugin.metadata.output_width(),
            cancel,
        );
        let result = plugin.outcome(
            code,
            message,
            instance.take_outputs(),
            instance.row_status(),
        );
        if plugin.is_disabled() {
            self.release();
        }
        (
            result,
            (keeps_instance(code) && config.is_none()).then_some(instance),
        )
    }

    /// Scores on the calling thread, with no deadline.
    pub(crate) fn score_blocking(
        &self,
        plugin: &Plugin,
        config: Option<&str>,
        rows: &[f64],
        n_rows: usize,
        cancel: &AtomicBool,
    ) -> Result<Scored, HostError> {
        let (result, instance) = self.execute(plugin, config, rows, n_rows, cancel);
        if let Some(instance) = instance {
            self.recycle(plugin, instance);
        }
        result
    }
}

/// What one call asks of a plugin: `n_rows` request rows, and the call's own configuration
/// when it sets parameters.
pub(crate) struct Work {
    pub(crate) config: Option<Arc<str>>,
    pub(crate) rows: Vec<f64>,
    pub(crate) n_rows: usize,
}

/// [`PluginHost::score`](crate::PluginHost::score) for an in-process plugin: the call runs on
/// `pool`, bounded by `deadline`; an abandoned call's thread is replaced at once.
pub(crate) async fn score(
    plugin: Arc<Plugin>,
    backend: Arc<InProcess>,
    pool: &WorkerPool,
    work: Work,
    deadline: Duration,
    cancel: Arc<AtomicBool>,
) -> Result<Scored, HostError> {
    let Work {
        config,
        rows,
        n_rows,
    } = work;
    let call = Arc::new(CallState::default());
    let (tx, rx) = oneshot::channel();
    let job = {
        let (plugin, backend, call, cancel) = (
            Arc::clone(&plugin),
            Arc::clone(&backend),
            Arc::clone(&call),
            Arc::clone(&cancel),
        );
        Box::new(move || {
            if !call.start() {
                return Fate::Continue;
            }
            let (result, instance) =
                backend.execute(&plugin, config.as_deref(), &rows, n_rows, &cancel);
            if call.finish() {
                if let Some(instance) = instance {
                    backend.recycle(&plugin, instance);
                }
                let _ = tx.send(result);
                Fate::Continue
            } else {
                // Abandoned while running: a replacement thread took over this one's place.
                drop(instance);
                plugin.stuck_call_ended();
                Fate::Retire
            }
        })
    };
    pool.submit(job).map_err(HostError::Overloaded)?;
    let mut guard = AbandonOnDrop {
        call,
        cancel,
        plugin,
        backend,
        pool: pool.clone(),
        armed: true,
    };
    match tokio::time::timeout(deadline, rx).await {
        Ok(Ok(result)) => {
            guard.armed = false;
            result
        }
        Ok(Err(_)) => {
            guard.armed = false;
            Err(HostError::Internal(
                "the worker dropped the call without a result".to_owned(),
            ))
        }
        Err(_elapsed) => {
            guard.abandon();
            let id = guard.plugin.id().to_owned();
            tracing::warn!(plugin = %id, ?deadline, "plugin call exceeded its deadline");
            Err(HostError::DeadlineExceeded { id, deadline })
        }
    }
}

/// Abandons a call nobody will wait for: sets the cancel flag, and if the call is running,
/// replaces its thread and counts it as stuck.
struct AbandonOnDrop {
    call: Arc<CallState>,
    cancel: Arc<AtomicBool>,
    plugin: Arc<Plugin>,
    backend: Arc<InProcess>,
    pool: WorkerPool,
    armed: bool,
}

impl AbandonOnDrop {
    fn abandon(&mut self) {
        if !std::mem::replace(&mut self.armed, false) {
            return;
        }
        self.cancel.store(true, Ordering::Release);
        if self.call.abandon() == Abandoned::WhileRunning {
            self.pool.replace_abandoned_worker();
            if self.plugin.note_stuck_call() {
                self.backend.release();
            }
        }
    }
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.abandon();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicPtr, AtomicUsize};

    use leverage_plugin_api::abi::{ErrorBuffer, PluginInstance, status};

    use crate::instance::fake;

    use super::*;

    /// The backend whose instances the fake plugin's `destroy` looks at.
    static BACKEND: AtomicPtr<InProcess> = AtomicPtr::new(std::ptr::null_mut());
    static DESTROYED: AtomicUsize = AtomicUsize::new(0);
    static DESTROYED_UNDER_LOCK: AtomicUsize = AtomicUsize::new(0);

    /// A destructor that re-enters the host: it asks for the lock of the instances it came
    /// from, which it would find held if the host destroyed instances under it.
    unsafe extern "C" fn destroy(instance: *mut PluginInstance) {
        // SAFETY: the host passes an instance of `fake::create`, once.
        unsafe { fake::destroy(instance) };
        DESTROYED.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the test keeps the backend alive and in place while instances are destroyed.
        if let Some(backend) = unsafe { BACKEND.load(Ordering::SeqCst).as_ref() }
            && backend.idle.try_lock().is_err()
        {
            DESTROYED_UNDER_LOCK.fetch_add(1, Ordering::SeqCst);
        }
    }

    unsafe extern "C" fn score_batch(
        _instance: *mut PluginInstance,
        _inputs: *const f64,
        _rows: usize,
        _cols: usize,
        _outputs: *mut f64,
        _out_cols: usize,
        _row_status: *mut i32,
        _cancel: *const std::sync::atomic::AtomicU8,
        _error: *mut ErrorBuffer,
    ) -> i32 {
        status::OK
    }

    #[test]
    fn plugin_destructors_never_run_under_the_idle_lock() {
        let vtable = VTable {
            create: fake::create,
            destroy,
            score_batch,
        };
        let backend = InProcess::new(vtable, String::new()).expect("created");
        BACKEND.store(std::ptr::from_ref(&backend).cast_mut(), Ordering::SeqCst);
        let plugin = crate::plugin::for_tests(0);
        // More instances than are kept idle: the surplus is destroyed when returned.
        let instances: Vec<Instance> = (0..MAX_IDLE + 3)
            .map(|_| backend.take_instance().expect("created"))
            .collect();
        for instance in instances {
            backend.recycle(&plugin, instance);
        }
        assert_eq!(DESTROYED.load(Ordering::SeqCst), 3);
        // Disabling releases the idle ones.
        assert!(plugin.note_stuck_call(), "one stuck call disables it");
        backend.release();
        assert_eq!(DESTROYED.load(Ordering::SeqCst), MAX_IDLE + 3);
        // An instance returned after the plugin was disabled is destroyed, not kept.
        let late = Instance::create(&vtable, "").expect("created");
        backend.recycle(&plugin, late);
        assert_eq!(DESTROYED.load(Ordering::SeqCst), MAX_IDLE + 4);
        BACKEND.store(std::ptr::null_mut(), Ordering::SeqCst);
        assert_eq!(DESTROYED_UNDER_LOCK.load(Ordering::SeqCst), 0);
    }
}

//! Locking the host's own bookkeeping.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, ignoring poison. Plugin code never runs under the host's locks, so a poisoned
/// lock can only come from a panic in the host's bookkeeping between two consistent states.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

//! The conformance suite every store passes: the same tests, run once on the embedded SQLite
//! store and once on a real PostgreSQL server (a throwaway cluster this test binary starts).
//! A test takes a [`Backend`] and asks it for a fresh, empty place to keep data; it opens that
//! place as often as it likes (a restart), and as several repositories at once (replicas).

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

mod replicas;
mod suite;
mod writes;

use std::sync::Arc;

use leverage_core::Dataset;
use leverage_store::{Datastore, Opened, Repository, StoreError, StoreLocation};
use leverage_test_postgres::Cluster;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An empty place for a store; a SQLite directory is removed with it.
#[derive(Debug)]
pub struct Place {
    location: StoreLocation,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    /// A new empty place. For PostgreSQL, `None` on a machine without it (outside CI).
    pub fn try_place(self) -> Option<Place> {
        match self {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                Some(Place {
                    location: StoreLocation::Sqlite(dir.path().to_owned()),
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => Some(Place {
                location: StoreLocation::Postgres(Cluster::shared()?.create_database()),
                _dir: None,
            }),
        }
    }

    pub fn place(self) -> Place {
        self.try_place()
            .unwrap_or_else(|| panic!("{self:?} is not available here"))
    }
}

impl Place {
    pub fn store(&self) -> Arc<dyn Datastore> {
        leverage_store::open(&self.location).unwrap()
    }

    /// A repository on this place, importing `shipped` as a first start does.
    pub fn open(&self, shipped: &Dataset) -> Result<(Repository, Opened), StoreError> {
        Repository::open_store(leverage_store::open(&self.location)?, shipped)
    }
}

/// Each test, once per backend. A PostgreSQL test on a machine without PostgreSQL (outside
/// CI, where its absence fails the run) says it skipped.
macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$module::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                if super::Backend::Postgres.try_place().is_some() {
                    super::$module::$name(super::Backend::Postgres)
                }
            } )*
        }
    };
}

conformance!(
    suite::a_correction_is_a_new_version_and_the_superseded_value_stays_readable_with_its_author_and_reason,
    suite::a_read_at_an_old_version_equals_the_dataset_as_it_was_then,
    suite::a_read_at_a_compacted_or_future_version_is_refused_never_answered_from_another,
    suite::an_upgraded_shipped_dataset_adds_and_updates_rows_by_id_and_keeps_every_local_edit,
    suite::importing_the_same_records_twice_changes_nothing_the_second_time,
    suite::an_import_does_not_overwrite_a_local_edit_and_reports_it,
    suite::every_revision_lists_what_it_changed,
    suite::an_old_version_rebuilt_from_the_newest_equals_a_full_read_of_that_version,
    writes::first_start_imports_and_later_starts_reuse,
    writes::loaded_dataset_equals_the_imported_one,
    writes::writes_are_visible_at_once_and_survive_a_restart,
    writes::deleted_holdings_leave_reads_but_not_the_log,
    writes::a_bulk_creation_is_all_or_nothing,
    writes::a_failed_write_stores_nothing,
    writes::after_writes_the_snapshot_is_what_a_fresh_read_of_the_database_gives,
    replicas::a_replica_follows_another_replicas_writes_to_the_same_snapshot,
    replicas::a_change_computed_from_a_stale_snapshot_is_refused_then_rebuilt,
    replicas::exactly_one_of_two_updates_with_the_same_etag_succeeds,
    replicas::at_least_a_version_waits_for_it_and_never_answers_older,
    replicas::replicas_starting_together_import_once,
    replicas::a_write_is_announced_to_the_other_replicas,
);

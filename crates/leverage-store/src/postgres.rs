//! The shared store: one PostgreSQL database behind any number of stateless replicas.
//!
//! The rows and their meaning are the SQLite store's. What sharing adds: writers from several
//! processes are serialised by a lock on the one-row `head` table (which also holds the newest
//! revision, the row a follower polls), and each commit announces its revision with
//! `NOTIFY leverage_revisions`, which every replica LISTENs to.
//!
//! The trait is blocking; the client is async (tokio-postgres, with a deadpool pool and rustls
//! for TLS): the store owns a small runtime of its own that drives the connections, and each
//! call blocks its caller (a blocking-pool thread of the server) until its query is done.

use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use leverage_core::Dataset;
use leverage_core::model::Holding;
use leverage_core::record::{Record, RecordKey, RecordKind};
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, GenericClient, IsolationLevel};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::codec::{decode_record, encode_record, now_seconds, resource_name};
use crate::{
    Applied, Change, Commit, Committed, Conflict, Datastore, RecordVersion, StoreError, VersionInfo,
};

mod schema;

/// The channel revisions are announced on.
const CHANNEL: &str = "leverage_revisions";

/// Connections per replica: writes are serialised by the database anyway, and reads of the
/// newest revision come from the snapshot; this bounds the history, version and pinned reads
/// that run at once.
const POOL_SIZE: usize = 16;

/// How long a call waits to connect before the database counts as unavailable: short, so that
/// a write fails at once while the database is down rather than holding its caller.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Rows fetched per round trip when a revision is read whole.
const FETCH_ROWS: i32 = 8192;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub struct PostgresStore {
    /// Drives the pool's connections and the listener; shut down in the background on drop,
    /// which is safe from any thread.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    description: String,
    /// The newest revision announced by any writer, with a condition to wait on.
    announced: Arc<(Mutex<u64>, Condvar)>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.description)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url`, brings its schema up to date (under an advisory lock,
    /// so replicas starting together migrate once) and starts listening for revisions.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("the PostgreSQL URL does not parse: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("leverage");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("leverage-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Postgres(format!("cannot start the client runtime: {e}")))?;
        let tls = tls_connector()?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                // A connection is checked before each use: after the database restarts, the
                // pool's old connections are found dead and replaced, instead of failing the
                // first call on each.
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = {
            let _enter = runtime.enter();
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(Duration::from_secs(10)))
                .create_timeout(Some(CONNECT_TIMEOUT))
                .recycle_timeout(Some(CONNECT_TIMEOUT))
                .build()
                .map_err(|e| StoreError::Postgres(format!("cannot build the pool: {e}")))?
        };
        let store = Self {
            runtime: Some(runtime),
            pool,
            config,
            tls,
            description: redact(url),
            announced: Arc::new((Mutex::new(0), Condvar::new())),
        };
        store.run(async {
            let mut pooled = store.client().await?;
            schema::migrate(&mut pooled).await
        })?;
        store.listen();
        Ok(store)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        // Only `drop` takes it.
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the store")
    }

    /// Runs `future` on the store's runtime and waits for it. Callers are blocking threads
    /// (the trait's contract); a multi-threaded runtime's worker is tolerated by moving its
    /// other tasks away first.
    fn run<F: Future>(&self, future: F) -> F::Output {
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.runtime().block_on(future))
            }
            _ => self.runtime().block_on(future),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => pg_error(e),
            other => StoreError::Unavailable(other.to_string()),
        })
    }

    /// Keeps one connection LISTENing for revisions, reconnecting after a failure; what it
    /// hears wakes [`Datastore::wait_for_announcement`].
    fn listen(&self) {
        let (config, tls, announced) = (
            self.config.clone(),
            self.tls.clone(),
            Arc::clone(&self.announced),
        );
        self.runtime().spawn(async move {
            loop {
                if let Err(e) = listen_once(&config, tls.clone(), &announced).await {
                    tracing::debug!(error = %e, "listening for revisions stopped; retrying");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Runs `work` in one transaction; the transaction's isolation is READ COMMITTED for
    /// writes (which lock the head row first) and REPEATABLE READ for reads that must see one
    /// revision throughout.
    fn read<T>(
        &self,
        work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(async {
            let mut pooled = self.client().await?;
            let client: &mut tokio_postgres::Client = &mut pooled;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(pg_error)?;
            let out = work(&tx).await?;
            tx.commit().await.map_err(pg_error)?;
            Ok(out)
        })
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    announced: &Arc<(Mutex<u64>, Condvar)>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // Revisions committed before LISTEN took effect were not announced: the head row says.
    if let Ok(row) = client.query_one("SELECT revision FROM head", &[]).await {
        announce(announced, row.get::<_, i64>(0) as u64);
    }
    while let Some(payload) = rx.recv().await {
        if let Ok(revision) = payload.parse::<u64>() {
            announce(announced, revision);
        }
    }
    driver.abort();
    Ok(())
}

fn announce(announced: &(Mutex<u64>, Condvar), revision: u64) {
    let (newest, wake) = announced;
    let mut newest = newest.lock().unwrap_or_else(|p| p.into_inner());
    if revision > *newest {
        *newest = revision;
        wake.notify_all();
    }
}

/// TLS as the URL's `sslmode` asks (tokio-postgres reads it: `disable`, `prefer`, the default,
/// or `require`), verifying the server against the system's certificate authorities.
fn tls_connector() -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    config
        .map(MakeRustlsConnect::new)
        .map_err(|e| StoreError::Postgres(format!("cannot set up TLS: {e}")))
}

/// `url` with its password replaced, for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            let tail = tail.split('?').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => format!(
            "{scheme}://{authority}{}",
            tail.split('?').next().unwrap_or("")
        ),
    }
}

/// What a database error means to a caller: the database unreachable (nothing written, try
/// again later), another writer first, or a plain failure.
fn pg_error(e: tokio_postgres::Error) -> StoreError {
    use tokio_postgres::error::SqlState;
    match e.code() {
        None => StoreError::Unavailable(e.to_string()),
        Some(code) if code.code().starts_with("08") => StoreError::Unavailable(e.to_string()),
        Some(code)
            if [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(code) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE => {
            StoreError::Stale("a record read by this change".into())
        }
        Some(_) => StoreError::Postgres(
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
        ),
    }
}

async fn query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    c.query(sql, params).await.map_err(pg_error)
}

async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<tokio_postgres::Row>, StoreError> {
    c.query_opt(sql, params).await.map_err(pg_error)
}

async fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, StoreError> {
    c.execute(sql, params).await.map_err(pg_error)
}

async fn head_of<C: GenericClient>(c: &C) -> Result<u64, StoreError> {
    let row = query_opt(c, "SELECT revision FROM head", &[]).await?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
}

async fn oldest_of<C: GenericClient>(c: &C) -> Result<u64, StoreError> {
    let row = query_opt(
        c,
        "SELECT value FROM meta WHERE key = 'oldest_revision'",
        &[],
    )
    .await?;
    Ok(row
        .and_then(|r| r.get::<_, String>(0).parse().ok())
        .unwrap_or(1))
}

async fn check_readable_in<C: GenericClient>(c: &C, revision: u64) -> Result<(), StoreError> {
    crate::datastore::readable(revision, head_of(c).await?, oldest_of(c).await?)
}

async fn live_row<C: GenericClient>(
    c: &C,
    key: &RecordKey,
) -> Result<Option<(String, String, String)>, StoreError> {
    let row = query_opt(
        c,
        "SELECT parent, body, origin FROM records
         WHERE kind = $1 AND id = $2 AND until_rev IS NULL",
        &[&key.kind.as_str(), &key.id],
    )
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
}

async fn ever_used_in<C: GenericClient>(c: &C, key: &RecordKey) -> Result<bool, StoreError> {
    let row = query_opt(
        c,
        "SELECT 1 FROM records WHERE kind = $1 AND id = $2 LIMIT 1",
        &[&key.kind.as_str(), &key.id],
    )
    .await?;
    Ok(row.is_some())
}

async fn tables_at<C: GenericClient>(c: &C, revision: u64) -> Result<Vec<Record>, StoreError> {
    let rows = query(
        c,
        "SELECT kind, id, parent, body FROM records
         WHERE kind IN ('meta', 'exchange_rate', 'figure', 'doctrine', 'position',
                        'assessment', 'instrument')
           AND since_rev <= $1 AND (until_rev IS NULL OR until_rev > $1) ORDER BY seq",
        &[&(revision as i64)],
    )
    .await?;
    rows.iter()
        .map(|r| decode_record(r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

/// The value of `kind`/`id` at `revision`, if it had one then.
async fn body_at<C: GenericClient>(
    c: &C,
    kind: &str,
    id: &str,
    revision: u64,
) -> Result<Option<String>, StoreError> {
    let row = query_opt(
        c,
        "SELECT body FROM records WHERE kind = $1 AND id = $2
           AND since_rev <= $3 AND (until_rev IS NULL OR until_rev > $3)",
        &[&kind, &id, &(revision as i64)],
    )
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The value at `revision` of each record the rows (kind, id, parent) name; `None` for one that
/// did not exist then. With `whole_series`, a holding comes with its series as it was then.
async fn values_at<C: GenericClient>(
    c: &C,
    keys: Vec<tokio_postgres::Row>,
    revision: u64,
    whole_series: bool,
) -> Result<Vec<Applied>, StoreError> {
    let mut out = Vec::with_capacity(keys.len());
    for row in keys {
        let (kind, id, parent): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let Some(k) = RecordKind::parse(&kind) else {
            continue;
        };
        let after = body_at(c, &kind, &id, revision)
            .await?
            .map(|b| decode_record(&kind, &id, &parent, &b))
            .transpose()?;
        if whole_series && k == RecordKind::Holding && after.is_some() {
            let series = query(
                c,
                "SELECT id, body FROM records
                 WHERE parent = $1 AND parent <> '' AND kind = 'observation'
                   AND since_rev <= $2 AND (until_rev IS NULL OR until_rev > $2)",
                &[&id, &(revision as i64)],
            )
            .await?;
            let rows = series.iter().map(|o| (o.get(0), o.get(1)));
            crate::codec::series_changes(&id, rows, &mut out)?;
        }
        out.push(Applied {
            key: RecordKey::new(k, id),
            parent,
            after,
        });
    }
    Ok(out)
}

impl Datastore for PostgresStore {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn head(&self) -> Result<u64, StoreError> {
        self.run(async { head_of(&**self.client().await?).await })
    }

    fn probe(&self) -> Result<u64, StoreError> {
        self.run(async {
            let connect = self.config.connect(self.tls.clone());
            let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, connect)
                .await
                .map_err(|_| StoreError::Unavailable("no answer within 2 s".into()))?
                .map_err(pg_error)?;
            let driver = tokio::spawn(connection);
            let head = head_of(&client).await;
            drop(client);
            let _ = driver.await;
            head
        })
    }

    fn oldest(&self) -> Result<u64, StoreError> {
        self.run(async { oldest_of(&**self.client().await?).await })
    }

    fn commit(&self, commit: &Commit) -> Result<Committed, StoreError> {
        self.run(async {
            let mut pooled = self.client().await?;
            let client: &mut tokio_postgres::Client = &mut pooled;
            let tx = client.transaction().await.map_err(pg_error)?;
            if commit.changes.is_empty() && commit.conflicts.is_empty() {
                return Ok(Committed {
                    revision: head_of(&tx).await?,
                    applied: Vec::new(),
                });
            }
            // The row lock taken here orders every writer of every replica: the revision read
            // is the one this commit follows, and nobody else writes until it ends.
            let row = query_opt(
                &tx,
                "UPDATE head SET revision = revision + 1 RETURNING revision",
                &[],
            )
            .await?
            .ok_or_else(|| StoreError::Postgres("the head row is missing".into()))?;
            let revision = row.get::<_, i64>(0) as u64;
            let rev = revision as i64;
            let now = now_seconds();
            execute(
                &tx,
                "INSERT INTO revisions (revision, time, actor, origin, import_id, summary, reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &rev,
                    &now,
                    &commit.actor,
                    &commit.origin.as_str(),
                    &commit.origin.import_id(),
                    &commit.summary,
                    &commit.reason,
                ],
            )
            .await?;
            let mut next_seq: Option<i64> = None;
            let mut applied = Vec::with_capacity(commit.changes.len());
            for change in &commit.changes {
                let key = change.key();
                let kind = key.kind.as_str();
                let live = live_row(&tx, &key).await?;
                let name = |parent: &str| resource_name(&key, parent);
                if let Some(base) = commit.base {
                    let changed = query_opt(
                        &tx,
                        "SELECT 1 FROM records WHERE kind = $1 AND id = $2
                           AND (since_rev > $3 OR until_rev > $3) LIMIT 1",
                        &[&kind, &key.id, &(base as i64)],
                    )
                    .await?;
                    if changed.is_some() {
                        let parent = live.as_ref().map_or("", |(p, _, _)| p.as_str());
                        return Err(StoreError::Stale(name(parent)));
                    }
                }
                let used = matches!(change, Change::Create(_)) && ever_used_in(&tx, &key).await?;
                let (record, action) = crate::codec::applying(change, live.is_some(), used)?;
                if let Some(Record::Observation { holding, .. }) = record
                    && live_row(&tx, &RecordKey::new(RecordKind::Holding, holding.clone()))
                        .await?
                        .is_none()
                {
                    return Err(StoreError::NotFound(format!("holdings/{holding}")));
                }
                let parent = match (record, &live) {
                    (Some(r), _) => r.parent().to_owned(),
                    (None, Some((parent, _, _))) => parent.clone(),
                    (None, None) => String::new(),
                };
                let seq: i64 = if live.is_some() {
                    query_opt(
                        &tx,
                        "SELECT seq FROM records WHERE kind = $1 AND id = $2 AND until_rev IS NULL",
                        &[&kind, &key.id],
                    )
                    .await?
                    .map_or(0, |r| r.get(0))
                } else {
                    // The head lock is held: nobody else takes a place meanwhile.
                    let seq = match next_seq {
                        Some(s) => s,
                        None => {
                            query_opt(&tx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM records", &[])
                                .await?
                                .map_or(1, |r| r.get(0))
                        }
                    };
                    next_seq = Some(seq + 1);
                    seq
                };
                if live.is_some() {
                    execute(
                        &tx,
                        "UPDATE records SET until_rev = $3
                         WHERE kind = $1 AND id = $2 AND until_rev IS NULL",
                        &[&kind, &key.id, &rev],
                    )
                    .await?;
                }
                let body = match record {
                    Some(r) => {
                        let body = encode_record(r);
                        execute(
                            &tx,
                            "INSERT INTO records (kind, id, parent, body, origin, since_rev, seq)
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            &[
                                &kind,
                                &key.id,
                                &parent,
                                &body,
                                &commit.origin.as_str(),
                                &rev,
                                &seq,
                            ],
                        )
                        .await?;
                        body
                    }
                    None => String::new(),
                };
                execute(
                    &tx,
                    "INSERT INTO audit_log (time, actor, action, resource, body)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&now, &commit.actor, &action, &name(&parent), &body],
                )
                .await?;
                applied.push(Applied {
                    key,
                    parent,
                    after: record.cloned(),
                });
            }
            for c in &commit.conflicts {
                execute(
                    &tx,
                    "INSERT INTO conflicts (revision, kind, id, name, detail)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&rev, &c.key.kind.as_str(), &c.key.id, &c.name, &c.detail],
                )
                .await?;
            }
            // Delivered to the listeners when (and only if) the transaction commits.
            execute(
                &tx,
                "SELECT pg_notify($1, $2)",
                &[&CHANNEL, &revision.to_string()],
            )
            .await?;
            tx.commit().await.map_err(pg_error)?;
            Ok(Committed { revision, applied })
        })
    }

    fn load_at(&self, revision: Option<u64>) -> Result<(Dataset, u64), StoreError> {
        // One REPEATABLE READ transaction, so that the rows are the revision's whatever is
        // written meanwhile; its steps are run one by one so that the rows can be handed to
        // the decoders on this thread as they arrive.
        let mut pooled = self.run(self.client())?;
        let client: &mut tokio_postgres::Client = &mut pooled;
        let tx = self
            .run(
                client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start(),
            )
            .map_err(pg_error)?;
        let (at, tables, portal) = self.run(async {
            let newest = head_of(&tx).await?;
            let at = revision.unwrap_or(newest);
            check_readable_in(&tx, at).await?;
            let tables = tables_at(&tx, at).await?;
            let statement = tx
                .prepare(
                    "SELECT kind, id, parent, body FROM records
                     WHERE kind IN ('holding', 'observation')
                       AND since_rev <= $1 AND (until_rev IS NULL OR until_rev > $1)",
                )
                .await
                .map_err(pg_error)?;
            let portal = tx
                .bind(&statement, &[&(at as i64)])
                .await
                .map_err(pg_error)?;
            Ok::<_, StoreError>((at, tables, portal))
        })?;
        let dataset = crate::codec::assemble(tables, at, |push| {
            loop {
                let rows = self
                    .run(tx.query_portal(&portal, FETCH_ROWS))
                    .map_err(pg_error)?;
                if rows.is_empty() {
                    return Ok(());
                }
                for r in &rows {
                    if !push([r.get(0), r.get(1), r.get(2), r.get(3)]) {
                        return Ok(());
                    }
                }
            }
        })?;
        self.run(tx.commit()).map_err(pg_error)?;
        Ok((dataset, at))
    }

    fn load_tables_at(&self, revision: u64) -> Result<Vec<Record>, StoreError> {
        self.read(async |tx| {
            check_readable_in(tx, revision).await?;
            tables_at(tx, revision).await
        })
    }

    fn series_changed_since(
        &self,
        revision: u64,
        limit: usize,
    ) -> Result<Option<Vec<Applied>>, StoreError> {
        self.read(async |tx| {
            check_readable_in(tx, revision).await?;
            let keys = query(
                tx,
                "SELECT kind, id, MAX(parent) FROM (
                     SELECT kind, id, parent FROM records WHERE since_rev > $1
                     UNION ALL
                     SELECT kind, id, parent FROM records
                     WHERE until_rev IS NOT NULL AND until_rev > $1
                 ) AS changed WHERE kind IN ('holding', 'observation')
                 GROUP BY kind, id LIMIT $2",
                &[&(revision as i64), &(limit as i64 + 1)],
            )
            .await?;
            if keys.len() > limit {
                return Ok(None);
            }
            Ok(Some(values_at(tx, keys, revision, true).await?))
        })
    }

    fn changed_between(
        &self,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Option<Vec<Applied>>, StoreError> {
        self.read(async |tx| {
            let keys = query(
                tx,
                "SELECT kind, id, MAX(parent) FROM (
                     SELECT kind, id, parent FROM records WHERE since_rev > $1 AND since_rev <= $2
                     UNION ALL
                     SELECT kind, id, parent FROM records
                     WHERE until_rev IS NOT NULL AND until_rev > $1 AND until_rev <= $2
                 ) AS changed GROUP BY kind, id LIMIT $3",
                &[&(from as i64), &(to as i64), &(limit as i64 + 1)],
            )
            .await?;
            if keys.len() > limit {
                return Ok(None);
            }
            Ok(Some(values_at(tx, keys, to, false).await?))
        })
    }

    fn load_holding(&self, id: &str) -> Result<Option<Holding>, StoreError> {
        self.read(async |tx| {
            let key = RecordKey::new(RecordKind::Holding, id);
            let Some((_, body, _)) = live_row(tx, &key).await? else {
                return Ok(None);
            };
            let Record::Holding(mut holding) = decode_record("holding", id, "", &body)? else {
                return Ok(None);
            };
            let rows = query(
                tx,
                "SELECT id, body FROM records
                 WHERE parent = $1 AND parent <> '' AND until_rev IS NULL AND kind = 'observation'",
                &[&id],
            )
            .await?;
            for r in rows {
                let (oid, body): (String, String) = (r.get(0), r.get(1));
                if let Record::Observation { observation, .. } =
                    decode_record("observation", &oid, id, &body)?
                {
                    holding.observations.push(Arc::new(observation));
                }
            }
            holding
                .observations
                .sort_by(|a, b| (a.as_of, &a.id).cmp(&(b.as_of, &b.id)));
            Ok(Some(holding))
        })
    }

    fn history(&self, key: &RecordKey) -> Result<Vec<RecordVersion>, StoreError> {
        self.read(async |tx| {
            let rows = query(
                tx,
                "SELECT r.parent, r.body, r.since_rev, r.until_rev, s.actor, s.time, s.origin,
                        s.reason, u.actor, u.time, u.reason
                 FROM records r
                 JOIN revisions s ON s.revision = r.since_rev
                 LEFT JOIN revisions u ON u.revision = r.until_rev
                 WHERE r.kind = $1 AND r.id = $2
                   AND (r.until_rev IS NULL OR r.until_rev > r.since_rev)
                 ORDER BY r.since_rev",
                &[&key.kind.as_str(), &key.id],
            )
            .await?;
            rows.iter()
                .map(|row| {
                    let (parent, body): (String, String) = (row.get(0), row.get(1));
                    let until: Option<i64> = row.get(3);
                    Ok(RecordVersion {
                        since: row.get::<_, i64>(2) as u64,
                        until: until.map(|u| u as u64),
                        record: decode_record(key.kind.as_str(), &key.id, &parent, &body)?,
                        actor: row.get(4),
                        time: row.get(5),
                        origin: row.get(6),
                        reason: row.get(7),
                        ended_by: until.map(|_| (row.get(8), row.get(9), row.get(10))),
                    })
                })
                .collect()
        })
    }

    fn versions(&self, before: Option<u64>, limit: usize) -> Result<Vec<VersionInfo>, StoreError> {
        self.read(async |tx| {
            let before = before.map_or(i64::MAX, |b| b as i64);
            let rows = query(
                tx,
                "SELECT revision, time, actor, origin, import_id, summary, reason FROM revisions
                 WHERE revision < $1 ORDER BY revision DESC LIMIT $2",
                &[&before, &(limit as i64)],
            )
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let rev: i64 = row.get(0);
                let ids = |rows: Vec<tokio_postgres::Row>| -> Vec<(String, String, String)> {
                    rows.iter()
                        .map(|r| (r.get(0), r.get(1), r.get(2)))
                        .collect()
                };
                let opened = ids(query(
                    tx,
                    "SELECT kind, id, parent FROM records WHERE since_rev = $1",
                    &[&rev],
                )
                .await?);
                let closed = ids(query(
                    tx,
                    "SELECT kind, id, parent FROM records WHERE until_rev = $1 AND since_rev < $1",
                    &[&rev],
                )
                .await?);
                let changes = crate::codec::changes_of(&opened, &closed);
                let conflicts = query(
                    tx,
                    "SELECT kind, id, name, detail FROM conflicts WHERE revision = $1
                     ORDER BY position",
                    &[&rev],
                )
                .await?
                .iter()
                .filter_map(|r| {
                    RecordKind::parse(r.get(0)).map(|k| Conflict {
                        key: RecordKey::new(k, r.get::<_, String>(1)),
                        name: r.get(2),
                        detail: r.get(3),
                    })
                })
                .collect();
                out.push(VersionInfo {
                    revision: rev as u64,
                    time: row.get(1),
                    actor: row.get(2),
                    origin: row.get(3),
                    import_id: row.get(4),
                    summary: row.get(5),
                    reason: row.get(6),
                    changes,
                    conflicts,
                });
            }
            Ok(out)
        })
    }

    fn compact(&self, oldest: u64) -> Result<usize, StoreError> {
        self.run(async {
            let mut pooled = self.client().await?;
            let client: &mut tokio_postgres::Client = &mut pooled;
            let tx = client.transaction().await.map_err(pg_error)?;
            // Taken like a commit's: no revision is written while rows are forgotten.
            let newest = query_opt(&tx, "SELECT revision FROM head FOR UPDATE", &[])
                .await?
                .map_or(0, |r| r.get::<_, i64>(0) as u64);
            if oldest > newest {
                return Err(StoreError::VersionNotYet {
                    requested: oldest,
                    newest,
                });
            }
            let removed = execute(
                &tx,
                "DELETE FROM records WHERE until_rev IS NOT NULL AND until_rev <= $1",
                &[&(oldest as i64)],
            )
            .await?;
            let current = oldest_of(&tx).await?;
            execute(
                &tx,
                "INSERT INTO meta (key, value) VALUES ('oldest_revision', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&current.max(oldest).to_string()],
            )
            .await?;
            tx.commit().await.map_err(pg_error)?;
            Ok(removed as usize)
        })
    }

    fn live(&self, key: &RecordKey) -> Result<Option<(String, Record)>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let Some((parent, body, origin)) = live_row(&**client, key).await? else {
                return Ok(None);
            };
            Ok(Some((
                origin,
                decode_record(key.kind.as_str(), &key.id, &parent, &body)?,
            )))
        })
    }

    fn last_from(&self, key: &RecordKey, origin: &str) -> Result<Option<Record>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let row = query_opt(
                &**client,
                "SELECT parent, body FROM records WHERE kind = $1 AND id = $2 AND origin = $3
                 ORDER BY since_rev DESC LIMIT 1",
                &[&key.kind.as_str(), &key.id, &origin],
            )
            .await?;
            row.map(|r| decode_record(key.kind.as_str(), &key.id, r.get(0), r.get(1)))
                .transpose()
        })
    }

    fn ever_used(&self, key: &RecordKey) -> Result<bool, StoreError> {
        self.run(async { ever_used_in(&**self.client().await?, key).await })
    }

    fn audit_log(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let rows = query(
                &**client,
                "SELECT actor, action, resource FROM audit_log ORDER BY seq",
                &[],
            )
            .await?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })
    }

    fn wait_for_announcement(&self, known: u64, timeout: Duration) -> Option<u64> {
        let (newest, wake) = &*self.announced;
        let guard = newest.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = wake
            .wait_timeout_while(guard, timeout, |n| *n <= known)
            .unwrap_or_else(|p| p.into_inner());
        (*guard > known).then_some(*guard)
    }
}

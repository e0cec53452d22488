//! `TelemetryStore`: the write path (convert → WAL append + buffer → group-commit sync →
//! acknowledge), background flushing to Parquet, compaction, retention, and per-org tables
//! for queries. Each org has its own WAL directory (`<data>/wal/<org>/`) and its own storage
//! prefix (`org=<org>/<signal>/dt=…/hour=…/<file>.parquet`): no file ever holds two orgs' rows.

use crate::batch_ids::{BatchIds, Claim};
use crate::convert::{self, TimeWindow};
use crate::manifest::{FileEntry, Manifest};
use crate::manifest_log::{self, LogState};
use crate::otlp::ExportRequest;
use crate::parquet_io::{self, partition_day};
use crate::query::{OrgTable, STORE_URL};
use crate::storage::Storage;
use crate::table::Table;
use crate::wal::OrgWal;
use crate::{Signal, schema};
use anyhow::Context as _;
use bytes::Bytes;
use datafusion::catalog::TableProvider;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// WAL segments go under `<data_dir>/wal`, local telemetry under `<data_dir>/telemetry`.
    pub data_dir: PathBuf,
    /// A table's buffer is written to Parquet at least this often...
    pub flush_interval: Duration,
    /// ...or as soon as it holds this many bytes.
    pub flush_bytes: usize,
    /// Rows held in memory across all orgs; past this, ingest answers "unavailable, retry".
    pub max_buffered_bytes: usize,
    /// Largest size a request may expand to as rows (resource attributes are repeated on
    /// every record); larger requests are refused before anything is written.
    pub max_expanded_bytes: u64,
    /// An hour partition with at least this many small files has them merged into one.
    pub compaction_min_files: usize,
    /// How long files replaced by compaction stay readable: longer than any query may run,
    /// so a query planned against them finishes.
    pub delete_grace: Duration,
    /// The retention assumed for an org until the store is told its own
    /// ([`TelemetryStore::set_retention`], or a retention pass): ingest accepts records no
    /// older than this many days.
    pub default_retention_days: u32,
    /// An org with everything flushed and no ingest or query for this long is unloaded: its
    /// write-ahead log files are closed and its tables dropped, so idle orgs hold no open
    /// files. Its next ingest or query loads it again.
    pub idle_unload_after: Duration,
    /// At most this many orgs stay loaded: past it, the least recently used are flushed and
    /// unloaded at once, idle period or not (each loaded org holds a log file open).
    pub max_loaded_orgs: usize,
    /// Logs and spans files keep their frequent attribute and resource keys as columns of
    /// their own (`promote`). Off writes files the way stores before promotion did; both
    /// kinds stay readable side by side.
    pub promote_keys: bool,
}

impl StoreConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            flush_interval: Duration::from_secs(10),
            flush_bytes: 64 << 20,
            max_buffered_bytes: 1 << 30,
            compaction_min_files: 4,
            max_expanded_bytes: 256 << 20,
            delete_grace: Duration::from_secs(60),
            default_retention_days: 30,
            idle_unload_after: Duration::from_secs(60),
            max_loaded_orgs: 256,
            promote_keys: true,
        }
    }
}

/// What happened to one export request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestReport {
    pub signal: Signal,
    pub accepted: u64,
    pub rejected: u64,
    pub rejection: Option<String>,
    /// The request's batch id was stored before: nothing was stored this time.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Too much is buffered; the client should retry after the given seconds.
    #[error("the server is busy writing buffered telemetry; retry in {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    /// The request would become too many bytes of rows (e.g. a large resource attribute
    /// repeated on millions of records).
    #[error(
        "the request expands to {expanded} bytes of rows, over the {limit}-byte limit; send smaller batches"
    )]
    TooLarge { expanded: u64, limit: u64 },
    #[error("telemetry storage failed: {0:#}")]
    Internal(#[from] anyhow::Error),
}

struct OrgTables {
    wal: OrgWal,
    tables: [Arc<Table>; 3],
    /// Held by the org's one running flush.
    flushing: Arc<tokio::sync::Mutex<()>>,
    /// The batch ids the org has stored (exactly-once for clients that send them).
    batch_ids: Arc<BatchIds>,
    /// Last ingest or query of the org (idle orgs are unloaded).
    last_used: std::sync::Mutex<std::time::Instant>,
}

impl OrgTables {
    fn table(&self, signal: Signal) -> &Arc<Table> {
        &self.tables[signal.index()]
    }

    fn watermarks(&self) -> [u64; 3] {
        std::array::from_fn(|i| self.tables[i].manifest().watermark)
    }

    fn touch(&self) {
        *self.last_used.lock().expect("last-used lock") = std::time::Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_used.lock().expect("last-used lock").elapsed()
    }

    /// Bytes of the org's rows in memory (buffered or being flushed).
    fn held_bytes(&self) -> usize {
        self.tables.iter().map(|t| t.held_bytes()).sum()
    }
}

struct Inner {
    config: StoreConfig,
    storage: Storage,
    wal_root: PathBuf,
    orgs: RwLock<HashMap<Uuid, Arc<OrgTables>>>,
    /// One lock per org for loading and unloading it, so one org's long replay keeps no
    /// other org waiting. Entries stay for the life of the process (a few dozen bytes an
    /// org): removing one could let two loads of the same org race.
    loading: std::sync::Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    /// Flushes writing Parquet at once across all orgs (each org runs at most one).
    flush_slots: tokio::sync::Semaphore,
    /// Orgs whose tables failed to load (a damaged manifest, an unreadable log): why, and
    /// when it was last tried. Only they are offline; loading is retried now and then.
    offline: RwLock<HashMap<Uuid, (String, std::time::Instant)>>,
    buffered: AtomicUsize,
    /// Each org's retention in days, as last told (the accepted time window of ingest).
    retention: RwLock<HashMap<Uuid, u32>>,
    /// Files replaced by compaction or retention, deleted once queries that may read them end.
    doomed: std::sync::Mutex<Vec<(std::time::Instant, String)>>,
}

/// Clone-able handle to the store.
#[derive(Clone)]
pub struct TelemetryStore {
    inner: Arc<Inner>,
}

fn org_prefix(org: Uuid) -> String {
    format!("org={org}")
}

fn table_prefix(org: Uuid, signal: Signal) -> String {
    format!("org={org}/{signal}")
}

/// What a signal's records are called in rejection messages.
fn record_noun(signal: Signal) -> &'static str {
    match signal {
        Signal::Logs => "log records",
        Signal::Spans => "spans",
        Signal::Metrics => "data points",
    }
}

fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// How long an org whose tables failed to load stays offline before loading is tried again.
const OFFLINE_RETRY: Duration = Duration::from_secs(60);

/// Flushes encoding and writing Parquet at the same time, across orgs. Each org has at most
/// one running, so one org with a slow flush (many partitions, a slow disk) holds one slot and
/// every other org keeps flushing through the rest.
const FLUSH_SLOTS: usize = 4;

/// An org may hold at most this fraction of `max_buffered_bytes` in memory: past it, its
/// own ingest is asked to retry while other orgs' goes on.
const ORG_BUFFER_SHARE: usize = 4;

/// A compaction pass merges at most this many partitions of one table.
const COMPACT_PARTITIONS_PER_PASS: usize = 16;

/// Parquet files smaller than this are merged by compaction.
const COMPACT_INPUT_BYTES: u64 = 64 << 20;

impl TelemetryStore {
    /// Opens the store on local disk and replays every org's write-ahead log.
    pub async fn open(config: StoreConfig) -> anyhow::Result<Self> {
        let storage = Storage::local(&config.data_dir.join("telemetry"))?;
        let wal_root = config.data_dir.join("wal");
        std::fs::create_dir_all(&wal_root)
            .with_context(|| format!("creating {}", wal_root.display()))?;
        let store = Self {
            inner: Arc::new(Inner {
                config,
                storage,
                wal_root: wal_root.clone(),
                orgs: RwLock::new(HashMap::new()),
                loading: std::sync::Mutex::new(HashMap::new()),
                flush_slots: tokio::sync::Semaphore::new(FLUSH_SLOTS),
                offline: RwLock::new(HashMap::new()),
                buffered: AtomicUsize::new(0),
                retention: RwLock::new(HashMap::new()),
                doomed: std::sync::Mutex::new(Vec::new()),
            }),
        };
        for entry in std::fs::read_dir(&wal_root)? {
            let entry = entry?;
            if let Some(org) = entry
                .file_name()
                .to_str()
                .and_then(|n| Uuid::parse_str(n).ok())
            {
                // One org that cannot load is offline; every other org starts and serves.
                // Orgs are loaded one at a time and unloaded again once nothing of theirs is
                // left unflushed, so starting with thousands of orgs opens few files at once.
                match store.org(org).await {
                    Ok(tables) => {
                        if !tables.tables.iter().all(|t| t.is_idle()) {
                            store.flush_org(org, &tables, true).await;
                        }
                        drop(tables);
                        store.try_unload(org, Duration::ZERO).await;
                    }
                    Err(error) => {
                        tracing::error!(%org, error = format!("{error:#}"), "this org's telemetry is offline: its tables could not be loaded");
                    }
                }
            }
        }
        Ok(store)
    }

    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Bytes of rows currently held in memory across all orgs.
    pub fn buffered_bytes(&self) -> usize {
        self.inner.buffered.load(Ordering::Relaxed)
    }

    fn load_lock(&self, org: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        self.inner
            .loading
            .lock()
            .expect("loading lock")
            .entry(org)
            .or_default()
            .clone()
    }

    /// The org's tables, loading them (manifests, WAL replay) on first use.
    async fn org(&self, org: Uuid) -> anyhow::Result<Arc<OrgTables>> {
        if let Some(tables) = self.inner.orgs.read().expect("orgs lock").get(&org) {
            tables.touch();
            return Ok(tables.clone());
        }
        let _loading = self.load_lock(org).lock_owned().await;
        if let Some(tables) = self.inner.orgs.read().expect("orgs lock").get(&org) {
            tables.touch();
            return Ok(tables.clone());
        }
        if let Some((reason, since)) = self.inner.offline.read().expect("offline lock").get(&org)
            && since.elapsed() < OFFLINE_RETRY
        {
            anyhow::bail!("org {org}'s telemetry is offline: {reason}");
        }
        let loaded = match self.load_org(org).await {
            Ok(loaded) => Arc::new(loaded),
            Err(error) => {
                self.inner
                    .offline
                    .write()
                    .expect("offline lock")
                    .insert(org, (format!("{error:#}"), std::time::Instant::now()));
                return Err(error);
            }
        };
        self.inner
            .offline
            .write()
            .expect("offline lock")
            .remove(&org);
        self.inner
            .orgs
            .write()
            .expect("orgs lock")
            .insert(org, loaded.clone());
        Ok(loaded)
    }

    async fn load_org(&self, org: Uuid) -> anyhow::Result<OrgTables> {
        let mut manifests = Vec::with_capacity(3);
        for signal in Signal::ALL {
            let (manifest, log) =
                manifest_log::load(&self.inner.storage, &table_prefix(org, signal))
                    .await
                    .with_context(|| format!("reading the {signal} manifest of org {org}"))?;
            self.remove_orphans(org, signal, &manifest).await?;
            manifests.push((manifest, log));
        }
        let watermarks: [u64; 3] = std::array::from_fn(|i| manifests[i].0.watermark);
        let dir = self.inner.wal_root.join(org.to_string());
        let mut manifests = manifests.into_iter();
        let tables = Signal::ALL.map(|signal| {
            let (manifest, log) = manifests.next().expect("three manifests");
            Arc::new(Table::new(org, signal, manifest, log))
        });
        // Replay streams: each record is decoded and converted as its segment is read, so
        // only one segment's bytes are held besides the rebuilt rows.
        let replay_tables = tables.clone();
        let (wal, batch_ids, replayed, bytes) = tokio::task::spawn_blocking(move || {
            let (mut replayed, mut bytes) = (0usize, 0usize);
            let batch_ids = BatchIds::open(&dir.join("batches"), now_nanos())
                .with_context(|| format!("opening the batch id journal of org {org}"))?;
            let (wal, _recovery) = OrgWal::open_with(&dir, watermarks, |record| {
                if let Some(id) = &record.batch_id {
                    batch_ids.replayed(id, record.ingest_time);
                }
                let request = ExportRequest::decode_protobuf(record.signal, &record.payload)
                    .map_err(|e| {
                        std::io::Error::other(format!(
                            "replaying write-ahead log record {} of org {org}: {e}",
                            record.seq
                        ))
                    })?;
                let converted = request
                    .convert(record.ingest_time)
                    .map_err(std::io::Error::other)?;
                if let Some(batch) = converted.batch {
                    bytes += replay_tables[record.signal.index()].push(batch, record.seq);
                }
                replayed += 1;
                Ok(())
            })?;
            anyhow::Ok((wal, batch_ids, replayed, bytes))
        })
        .await??;
        // Counted only once the org loaded: a failed load leaves nothing buffered.
        self.inner.buffered.fetch_add(bytes, Ordering::Relaxed);
        if replayed > 0 {
            tracing::info!(%org, records = replayed, "replayed the write-ahead log");
        }
        Ok(OrgTables {
            wal,
            tables,
            flushing: Arc::default(),
            batch_ids: Arc::new(batch_ids),
            last_used: std::sync::Mutex::new(std::time::Instant::now()),
        })
    }

    /// Deletes Parquet files of a table that no manifest lists (a flush or compaction that
    /// crashed before its commit; its rows are still in the WAL or in the files it replaced).
    async fn remove_orphans(
        &self,
        org: Uuid,
        signal: Signal,
        manifest: &Manifest,
    ) -> anyhow::Result<()> {
        let listed: std::collections::HashSet<&str> =
            manifest.files.iter().map(|f| f.path.as_str()).collect();
        // Files replaced while the org was loaded before (it was unloaded since) wait out
        // their grace period: a query planned before may still read them.
        let doomed: std::collections::HashSet<String> = self
            .inner
            .doomed
            .lock()
            .expect("doomed lock")
            .iter()
            .map(|(_, path)| path.clone())
            .collect();
        for object in self.inner.storage.list(&table_prefix(org, signal)).await? {
            let path = object.location.to_string();
            if path.ends_with(".parquet")
                && !listed.contains(path.as_str())
                && !doomed.contains(&path)
            {
                tracing::info!(%path, "removing an uncommitted Parquet file");
                self.inner.storage.delete(&path).await?;
            }
        }
        Ok(())
    }

    /// Makes one export request durable for `org`. Returns once its rows are in the org's
    /// write-ahead log on stable storage and visible to queries. `wire_bytes` are the request's
    /// protobuf bytes when the caller has them (saving a re-encode).
    pub async fn ingest(
        &self,
        org: Uuid,
        request: &ExportRequest,
        wire_bytes: Option<Bytes>,
    ) -> Result<IngestReport, IngestError> {
        self.ingest_batch(org, request, wire_bytes, None).await
    }

    /// [`Self::ingest`] for a request carrying the client's batch id (at most
    /// [`crate::wal::MAX_BATCH_ID_BYTES`] bytes; the caller validates it): the id goes into
    /// the same log record, and if the org stored that batch id before (within
    /// [`crate::batch_ids::KEEP_HOURS`]), nothing is stored and the report says `duplicate`.
    pub async fn ingest_batch(
        &self,
        org: Uuid,
        request: &ExportRequest,
        wire_bytes: Option<Bytes>,
        batch_id: Option<&str>,
    ) -> Result<IngestReport, IngestError> {
        if self.buffered_bytes() >= self.inner.config.max_buffered_bytes {
            return Err(IngestError::Overloaded {
                retry_after_secs: 2,
            });
        }
        let expanded = request.expanded_bytes();
        if expanded > self.inner.config.max_expanded_bytes {
            return Err(IngestError::TooLarge {
                expanded,
                limit: self.inner.config.max_expanded_bytes,
            });
        }
        let signal = request.signal();
        let ingest_time = now_nanos();
        let window = TimeWindow::at(ingest_time, self.retention_days(org));
        // Records outside the window are taken out before conversion, so the log holds only
        // what is accepted and replay (which has no window) rebuilds exactly those rows.
        let outside = convert::count_outside(request, &window);
        let filtered = (outside > 0).then(|| {
            let mut kept = request.clone();
            convert::retain_inside(&mut kept, &window);
            kept
        });
        let request = filtered.as_ref().unwrap_or(request);
        let wire_bytes = if filtered.is_some() { None } else { wire_bytes };
        let converted = request.convert(ingest_time).map_err(anyhow::Error::from)?;
        let window_reason = (outside > 0).then(|| window.reason(outside, record_noun(signal)));
        let report = IngestReport {
            signal,
            accepted: converted.accepted,
            rejected: converted.rejected + outside,
            rejection: match (window_reason, converted.rejection) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            },
            duplicate: false,
        };
        let Some(batch) = converted.batch else {
            return Ok(report);
        };
        let payload = wire_bytes.unwrap_or_else(|| Bytes::from(request.encode_protobuf()));
        let tables = self.org(org).await?;
        // One org whose flushes fall behind fills its own share, not everyone's budget.
        // An org holding nothing may always write (a tiny budget still takes one request).
        let held = tables.held_bytes();
        if held > 0 && held >= self.inner.config.max_buffered_bytes / ORG_BUFFER_SHARE {
            return Err(IngestError::Overloaded {
                retry_after_secs: 2,
            });
        }
        let claim = match batch_id {
            None => None,
            Some(id) => match tables.batch_ids.claim(id).await {
                Claim::Stored => {
                    return Ok(IngestReport {
                        duplicate: true,
                        ..report
                    });
                }
                Claim::New(guard) => Some(guard),
            },
        };
        let table = tables.table(signal).clone();
        let seq = tables
            .wal
            .append_batch(signal, ingest_time, batch_id, &payload, |seq| {
                let bytes = table.push(batch, seq);
                self.inner.buffered.fetch_add(bytes, Ordering::Relaxed);
                seq
            })
            .context("appending to the write-ahead log")?;
        let Some(claim) = claim else {
            tables
                .wal
                .sync(seq)
                .await
                .context("syncing the write-ahead log")?;
            return Ok(report);
        };
        // The record is in the log now and will be stored whatever happens to this request:
        // its batch id must be remembered even if the caller goes away (a client killed
        // mid-request drops this future). So the sync and the marking run on their own task.
        let synced = tokio::spawn(async move {
            let result = tables.wal.sync(seq).await;
            if result.is_ok() {
                claim.stored(ingest_time);
            }
            result
        });
        synced
            .await
            .context("syncing the write-ahead log")?
            .context("syncing the write-ahead log")?;
        Ok(report)
    }

    /// Tells the store `org`'s retention: ingest then accepts records whose time lies within
    /// `[now − retention_days, now + 1 h]`. Until told, an org has the configured default.
    pub fn set_retention(&self, org: Uuid, retention_days: u32) {
        self.inner
            .retention
            .write()
            .expect("retention lock")
            .insert(org, retention_days);
    }

    fn retention_days(&self, org: Uuid) -> u32 {
        self.inner
            .retention
            .read()
            .expect("retention lock")
            .get(&org)
            .copied()
            .unwrap_or(self.inner.config.default_retention_days)
    }

    /// A DataFusion table over `org`'s rows of `signal`, as of now.
    pub async fn table(&self, org: Uuid, signal: Signal) -> anyhow::Result<Arc<OrgTable>> {
        let tables = self.org(org).await?;
        Ok(Arc::new(OrgTable::new(
            signal,
            tables.table(signal).snapshot(),
        )))
    }

    /// The metric names `org` has rows of (in files or in memory), sorted.
    pub async fn metric_names(&self, org: Uuid) -> anyhow::Result<Vec<String>> {
        let tables = self.org(org).await?;
        Ok(tables.table(Signal::Metrics).metric_names())
    }

    /// Same, as a trait object for query planning.
    pub async fn table_provider(
        &self,
        org: Uuid,
        signal: Signal,
    ) -> anyhow::Result<Arc<dyn TableProvider>> {
        Ok(self.table(org, signal).await?)
    }

    /// Registers the telemetry object store with a query session.
    pub fn register_with(&self, ctx: &datafusion::prelude::SessionContext) -> anyhow::Result<()> {
        let url = datafusion::execution::object_store::ObjectStoreUrl::parse(STORE_URL)?;
        ctx.register_object_store(url.as_ref(), self.inner.storage.object_store());
        Ok(())
    }

    fn loaded_orgs(&self) -> Vec<(Uuid, Arc<OrgTables>)> {
        self.inner
            .orgs
            .read()
            .expect("orgs lock")
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// Writes a table's buffered rows to Parquet and commits them to its manifest. Files
    /// written by an attempt that fails before its commit are deleted again (the rows stay in
    /// memory and in the log for the retry), so a failing flush leaves no orphans.
    async fn flush_table(&self, tables: &OrgTables, table: &Table) -> anyhow::Result<()> {
        let mut log = table.commit_lock.lock().await;
        if table.is_idle() {
            return Ok(());
        }
        let _slot = self.inner.flush_slots.acquire().await?;
        let Some(work) = table.begin_flush() else {
            return Ok(());
        };
        let (signal, batches) = (table.signal, work.batches);
        let promote = self.inner.config.promote_keys;
        let encoded = tokio::task::spawn_blocking(move || {
            parquet_io::encode_partitions(signal, &batches, promote)
        })
        .await??;
        let mut manifest = (*table.manifest()).clone();
        let mut written = Vec::new();
        for file in encoded {
            match self.put_file(table.org, table.signal, &file).await {
                Ok(entry) => {
                    written.push(entry.path.clone());
                    manifest.files.push(entry);
                }
                Err(error) => {
                    self.delete_uncommitted(written).await;
                    return Err(error);
                }
            }
        }
        manifest.watermark = manifest.watermark.max(work.max_seq);
        // The batch ids of these rows must outlive their log records, which this commit
        // lets go.
        if let Err(error) = tables.batch_ids.sync() {
            self.delete_uncommitted(written).await;
            return Err(anyhow::Error::from(error).context("syncing the batch id journal"));
        }
        // A failed commit is not cleaned up: the manifest may have reached storage before the
        // error (an fsync failing after the rename), and then these files are the table's.
        self.commit_manifest(table, &mut log, manifest, true)
            .await?;
        self.inner.buffered.fetch_sub(work.bytes, Ordering::Relaxed);
        let watermarks = tables.watermarks();
        tables.wal.trim(watermarks)?;
        Ok(())
    }

    async fn put_file(
        &self,
        org: Uuid,
        signal: Signal,
        file: &parquet_io::EncodedFile,
    ) -> anyhow::Result<FileEntry> {
        let path = format!(
            "{}/{}/{}.parquet",
            table_prefix(org, signal),
            file.partition,
            Uuid::now_v7()
        );
        self.inner.storage.put(&path, file.bytes.clone()).await?;
        Ok(FileEntry {
            path,
            partition: file.partition.clone(),
            min_ts: file.min_ts,
            max_ts: file.max_ts,
            rows: file.rows,
            bytes: file.bytes.len() as u64,
            metric_names: file.metric_names.clone(),
            promoted: file.promoted.clone(),
            counts: file.counts.clone(),
        })
    }

    /// Commits the table's next manifest (its delta, or a checkpoint when one is due) and
    /// installs it. Call with the table's commit lock held; `log` is what it guards.
    async fn commit_manifest(
        &self,
        table: &Table,
        log: &mut LogState,
        mut manifest: Manifest,
        flushed: bool,
    ) -> anyhow::Result<()> {
        let before = table.manifest();
        manifest_log::commit(
            &self.inner.storage,
            &table_prefix(table.org, table.signal),
            &before,
            &mut manifest,
            log,
        )
        .await?;
        table.commit(manifest, flushed);
        Ok(())
    }

    /// Deletes files an attempt wrote and never committed.
    async fn delete_uncommitted(&self, paths: Vec<String>) {
        for path in paths {
            if let Err(e) = self.inner.storage.delete(&path).await {
                tracing::warn!(
                    path,
                    error = format!("{e:#}"),
                    "removing a file of a failed attempt failed; the org's next load sweeps it"
                );
            }
        }
    }

    /// Flushes every table whose buffer is old or large enough (all of them when `all`),
    /// unloads orgs gone idle and, past `max_loaded_orgs`, the least recently used; returns
    /// once every org's flush has finished (waiting for ones already running).
    pub async fn flush(&self, all: bool) -> anyhow::Result<()> {
        let mut failed = 0;
        for task in self.spawn_flushes(all, true) {
            if task.await.is_err() {
                failed += 1;
            }
        }
        anyhow::ensure!(failed == 0, "{failed} org flush task(s) panicked");
        Ok(())
    }

    /// Starts one flush task per loaded org, independent of each other: a slow org's flush
    /// delays no other org's. With `wait_for_running`, an org whose flush is already running
    /// gets a task that runs after it; without, it is skipped (the periodic pass, which
    /// must never queue behind a slow org).
    fn spawn_flushes(&self, all: bool, wait_for_running: bool) -> Vec<tokio::task::JoinHandle<()>> {
        let config = &self.inner.config;
        let pressure = self.buffered_bytes() >= config.max_buffered_bytes / 2;
        let mut loaded = self.loaded_orgs();
        // Too many loaded: the least recently used are flushed whole and unloaded now.
        let excess = loaded.len().saturating_sub(config.max_loaded_orgs);
        loaded.sort_by_key(|(_, tables)| std::cmp::Reverse(tables.idle_for()));
        let mut tasks = Vec::with_capacity(loaded.len());
        for (i, (org, tables)) in loaded.into_iter().enumerate() {
            let evict = i < excess;
            let running = tables.flushing.clone();
            let guard = match running.clone().try_lock_owned() {
                Ok(guard) => Some(guard),
                Err(_) if wait_for_running => None,
                Err(_) => continue,
            };
            let store = self.clone();
            tasks.push(tokio::spawn(async move {
                let _guard = match guard {
                    Some(guard) => guard,
                    None => running.lock_owned().await,
                };
                let flushed = store
                    .flush_org(org, &tables, all || pressure || evict)
                    .await;
                let idle_after = if evict {
                    Duration::ZERO
                } else {
                    store.inner.config.idle_unload_after
                };
                let unload = flushed && tables.idle_for() >= idle_after;
                drop(tables);
                if unload {
                    store.try_unload(org, idle_after).await;
                }
            }));
        }
        tasks
    }

    /// Flushes the org's tables that are due (all of them when `all`) and retires flushed
    /// log segments. Returns whether everything of the org is now committed to Parquet.
    async fn flush_org(&self, org: Uuid, tables: &OrgTables, all: bool) -> bool {
        let config = &self.inner.config;
        tables.batch_ids.expire(now_nanos());
        for table in &tables.tables {
            let due = all
                || table.has_pending_flush()
                || table.buffered_bytes() >= config.flush_bytes
                || table
                    .buffer_age()
                    .is_some_and(|age| age >= config.flush_interval);
            if due && let Err(error) = self.flush_table(tables, table).await {
                tracing::error!(%org, signal = %table.signal, error = format!("{error:#}"), "flush failed; will retry");
            }
        }
        if !tables.tables.iter().all(|t| t.is_idle()) {
            return false;
        }
        // With everything flushed, close the log segment so it can be deleted.
        if tables.wal.disk_bytes() > 64
            && let Err(error) = tables
                .wal
                .rotate()
                .and_then(|()| tables.wal.trim(tables.watermarks()))
        {
            tracing::warn!(%org, error = %error, "could not retire flushed write-ahead log segments; will retry");
            return false;
        }
        true
    }

    /// Unloads `org` if it is loaded, unused for at least `idle_after`, has everything
    /// committed to Parquet and its log healthy, and nothing else holds its tables (no ingest,
    /// query or maintenance in flight): its log files close and its buffers go. Runs under
    /// the org's loading lock, so no load of the org races it.
    async fn try_unload(&self, org: Uuid, idle_after: Duration) -> bool {
        let _loading = self.load_lock(org).lock_owned().await;
        let removed = {
            let mut orgs = self.inner.orgs.write().expect("orgs lock");
            let Some(tables) = orgs.get(&org) else {
                return false;
            };
            // Only the map holds it: no one is using it, and no one can take it while the
            // map is locked.
            let unused = Arc::strong_count(tables) == 1
                && tables.tables.iter().all(|t| Arc::strong_count(t) == 1);
            if !unused
                || tables.idle_for() < idle_after
                || tables.wal.is_poisoned()
                || !tables.tables.iter().all(|t| t.is_idle())
            {
                return false;
            }
            orgs.remove(&org)
        };
        drop(removed);
        tracing::debug!(%org, "unloaded an idle org: its log files are closed");
        true
    }

    /// How many orgs have their tables (and log files) loaded.
    pub fn loaded_org_count(&self) -> usize {
        self.inner.orgs.read().expect("orgs lock").len()
    }

    /// Merges small files: in any hour partition (the current one included, which fills
    /// with a file per flush) holding at least `compaction_min_files` files under
    /// [`COMPACT_INPUT_BYTES`], those files become one. Merged files grow until they stop
    /// being small, so each row is rewritten only a few times.
    pub async fn compact(&self) -> anyhow::Result<usize> {
        self.compact_until(&tokio::sync::watch::channel(false).1)
            .await
    }

    /// [`Self::compact`], stopping between tables once `stop` says so.
    async fn compact_until(
        &self,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<usize> {
        let mut merged = 0;
        let mut failed = 0;
        for (org, tables) in self.loaded_orgs() {
            for table in &tables.tables {
                if *stop.borrow() {
                    return Ok(merged);
                }
                // One table's failure (a missing or unreadable file, storage refusing a
                // write) is logged and skipped: every other org and table still compacts.
                match self.compact_table(table).await {
                    Ok(n) => merged += n,
                    Err(error) => {
                        failed += 1;
                        tracing::warn!(%org, signal = %table.signal, error = format!("{error:#}"), "compaction failed for this table; it is retried on the next pass");
                    }
                }
            }
        }
        if failed > 0 && merged == 0 {
            anyhow::bail!("compaction failed for {failed} table(s)");
        }
        Ok(merged)
    }

    /// Merges one table's small files per partition. Files written by an attempt that fails
    /// before its manifest commit are deleted again, so a failure leaves no orphans.
    async fn compact_table(&self, table: &Table) -> anyhow::Result<usize> {
        let mut written = Vec::new();
        let result = self.compact_table_writing(table, &mut written).await;
        if result.is_err() {
            self.delete_uncommitted(written).await;
        }
        result
    }

    async fn compact_table_writing(
        &self,
        table: &Table,
        written: &mut Vec<String>,
    ) -> anyhow::Result<usize> {
        let mut merged = 0;
        let mut log = table.commit_lock.lock().await;
        let manifest = table.manifest();
        let mut by_partition: HashMap<&str, Vec<&FileEntry>> = HashMap::new();
        for file in manifest
            .files
            .iter()
            .filter(|f| f.bytes < COMPACT_INPUT_BYTES)
        {
            by_partition
                .entry(file.partition.as_str())
                .or_default()
                .push(file);
        }
        let mut next = (*manifest).clone();
        let mut replaced = Vec::new();
        // The partitions with most small files first, and only so many per pass: one org
        // with thousands of partitions to merge takes its turn, then the next org gets its.
        let mut due: Vec<Vec<&FileEntry>> = by_partition
            .into_values()
            .filter(|files| files.len() >= self.inner.config.compaction_min_files)
            .collect();
        due.sort_by_key(|files| std::cmp::Reverse(files.len()));
        due.truncate(COMPACT_PARTITIONS_PER_PASS);
        for files in due {
            let mut batches = Vec::new();
            let schema = schema::for_signal(table.signal);
            for file in &files {
                let bytes = self
                    .inner
                    .storage
                    .get(&file.path)
                    .await?
                    .with_context(|| format!("{} is missing", file.path))?;
                let schema = schema.clone();
                batches.extend(
                    tokio::task::spawn_blocking(move || parquet_io::decode(bytes, &schema))
                        .await??,
                );
            }
            let (signal, promote) = (table.signal, self.inner.config.promote_keys);
            let encoded = tokio::task::spawn_blocking(move || {
                parquet_io::encode_partitions(signal, &batches, promote)
            })
            .await??;
            let old: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
            next.files.retain(|f| !old.contains(&f.path));
            for file in encoded {
                let entry = self.put_file(table.org, table.signal, &file).await?;
                written.push(entry.path.clone());
                next.files.push(entry);
            }
            replaced.extend(old);
            merged += 1;
        }
        if !replaced.is_empty() {
            // Only once the manifest no longer lists them may the old files go. A failed
            // commit keeps the new files (see `flush_table`).
            written.clear();
            self.commit_manifest(table, &mut log, next, false).await?;
            self.doom(replaced);
        }
        Ok(merged)
    }

    /// Drops `org`'s whole day partitions older than `retention_days` days.
    /// Also records the retention for ingest's accepted time window ([`Self::set_retention`]).
    pub async fn enforce_retention(&self, org: Uuid, retention_days: u32) -> anyhow::Result<u64> {
        self.set_retention(org, retention_days);
        let cutoff = chrono::Utc::now().date_naive() - chrono::Days::new(u64::from(retention_days));
        let cutoff = format!("dt={}", cutoff.format("%Y-%m-%d"));
        let loaded = self
            .inner
            .orgs
            .read()
            .expect("orgs lock")
            .get(&org)
            .cloned();
        match loaded {
            Some(tables) => self.retain_loaded(&tables, &cutoff).await,
            None => self.retain_unloaded(org, &cutoff).await,
        }
    }

    /// Retention for a loaded org: through its tables, under each one's commit lock.
    async fn retain_loaded(&self, tables: &OrgTables, cutoff: &str) -> anyhow::Result<u64> {
        let mut removed = 0;
        for table in &tables.tables {
            let mut log = table.commit_lock.lock().await;
            let manifest = table.manifest();
            let (expired, kept): (Vec<FileEntry>, Vec<FileEntry>) = manifest
                .files
                .iter()
                .cloned()
                .partition(|f| partition_day(&f.partition) < cutoff);
            if expired.is_empty() {
                continue;
            }
            removed += expired.iter().map(|f| f.rows).sum::<u64>();
            let next = Manifest {
                files: kept,
                ..(*manifest).clone()
            };
            self.commit_manifest(table, &mut log, next, false).await?;
            self.doom(expired.into_iter().map(|f| f.path).collect());
        }
        Ok(removed)
    }

    /// Retention for an org that is not loaded: its manifests are rewritten in storage
    /// without loading it (no log opened, nothing replayed). Holds its loading lock so the
    /// org cannot load from a manifest being replaced.
    async fn retain_unloaded(&self, org: Uuid, cutoff: &str) -> anyhow::Result<u64> {
        let loading = self.load_lock(org).lock_owned().await;
        let loaded = self
            .inner
            .orgs
            .read()
            .expect("orgs lock")
            .get(&org)
            .cloned();
        if let Some(tables) = loaded {
            drop(loading);
            return self.retain_loaded(&tables, cutoff).await;
        }
        let mut removed = 0;
        for signal in Signal::ALL {
            let prefix = table_prefix(org, signal);
            let (manifest, mut log) = manifest_log::load(&self.inner.storage, &prefix)
                .await
                .with_context(|| format!("reading the {signal} manifest of org {org}"))?;
            let (expired, kept): (Vec<FileEntry>, Vec<FileEntry>) = manifest
                .files
                .iter()
                .cloned()
                .partition(|f| partition_day(&f.partition) < cutoff);
            if expired.is_empty() {
                continue;
            }
            removed += expired.iter().map(|f| f.rows).sum::<u64>();
            let mut next = Manifest {
                files: kept,
                ..manifest.clone()
            };
            manifest_log::commit(&self.inner.storage, &prefix, &manifest, &mut next, &mut log)
                .await?;
            self.doom(expired.into_iter().map(|f| f.path).collect());
        }
        Ok(removed)
    }

    fn doom(&self, paths: Vec<String>) {
        let now = std::time::Instant::now();
        self.inner
            .doomed
            .lock()
            .expect("doomed lock")
            .extend(paths.into_iter().map(|p| (now, p)));
    }

    /// Deletes replaced files whose grace period has passed (all of them when `all`).
    pub async fn delete_replaced_files(&self, all: bool) -> anyhow::Result<()> {
        let due: Vec<String> = {
            let mut doomed = self.inner.doomed.lock().expect("doomed lock");
            let (due, wait): (Vec<_>, Vec<_>) = doomed
                .drain(..)
                .partition(|(t, _)| all || t.elapsed() >= self.inner.config.delete_grace);
            *doomed = wait;
            due.into_iter().map(|(_, p)| p).collect()
        };
        let mut first_error = None;
        for path in due {
            if let Err(e) = self.inner.storage.delete(&path).await {
                first_error.get_or_insert(e);
                self.doom(vec![path]);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs flushing, compaction and deferred deletes until `shutdown` resolves, then flushes
    /// everything. Flushing and compaction are separate loops, so a long compaction pass
    /// delays no flush.
    pub async fn run_maintenance(self, shutdown: impl std::future::Future<Output = ()>) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let compaction = tokio::spawn(self.clone().run_compaction(stopped));
        let mut flush_tick = tokio::time::interval(Duration::from_millis(500));
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = flush_tick.tick() => {
                    // Each org's flush runs on its own; the pass never waits for one.
                    drop(self.spawn_flushes(false, false));
                }
            }
        }
        // The compaction pass stops between tables (never inside a commit).
        let _ = stop.send(true);
        let _ = compaction.await;
        if let Err(error) = self.flush(true).await {
            tracing::error!(
                error = format!("{error:#}"),
                "final flush failed; the write-ahead log keeps the rows"
            );
        }
    }

    async fn run_compaction(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.compact_until(&stop).await {
                tracing::error!(error = format!("{error:#}"), "compaction failed");
            }
            if let Err(error) = self.delete_replaced_files(false).await {
                tracing::error!(
                    error = format!("{error:#}"),
                    "deleting replaced files failed"
                );
            }
        }
    }

    /// Whether every loaded org's write-ahead log can still take writes (readiness).
    pub fn healthy(&self) -> bool {
        self.loaded_orgs()
            .iter()
            .all(|(_, tables)| !tables.wal.is_poisoned())
    }

    /// Orgs whose tables could not be loaded, with the reason, sorted by org (readiness
    /// names them; every other org serves).
    pub fn offline_orgs(&self) -> Vec<(Uuid, String)> {
        let mut orgs: Vec<(Uuid, String)> = self
            .inner
            .offline
            .read()
            .expect("offline lock")
            .iter()
            .map(|(org, (reason, _))| (*org, reason.clone()))
            .collect();
        orgs.sort();
        orgs
    }

    /// The WAL directory of an org (tests look at it).
    pub fn wal_dir(&self, org: Uuid) -> PathBuf {
        self.inner.wal_root.join(org.to_string())
    }

    /// The local directory holding an org's files, when storage is local disk.
    pub fn local_org_dir(&self, org: Uuid) -> Option<PathBuf> {
        self.inner
            .storage
            .local_root()
            .map(|root: &Path| root.join(org_prefix(org)))
    }
}

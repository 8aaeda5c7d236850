//! The state store: an embedded SQLite database that remembers every entry crier has seen
//! (its id, content hash, dates, status and full data), the fingerprints that let unchanged
//! documents skip parsing, and a journal of runs.
//!
//! A cycle's changes are applied by [`Store::apply`] in one transaction, so "seen" is recorded
//! all at once or not at all; the outbox of deliveries will join that same transaction. The
//! schema is versioned with `PRAGMA user_version` and migrated forward on open.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use thiserror::Error;

use crate::entry::Entry;

pub mod outbox;

/// Schema migrations, in order; `user_version` is the number applied so far.
const MIGRATIONS: &[&str] = &[
    // 1: entries, runs and key/value metadata.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE entries (
        id              TEXT PRIMARY KEY,
        source          TEXT NOT NULL,
        doc_key         TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        content_hash    TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('live', 'scheduled', 'removed')),
        url             TEXT NOT NULL,
        title           TEXT NOT NULL,
        language        TEXT NOT NULL,
        translation_key TEXT NOT NULL,
        categories      TEXT NOT NULL,
        published       TEXT NOT NULL,
        published_ts    INTEGER NOT NULL,
        updated         TEXT,
        first_seen      TEXT NOT NULL,
        live_since      TEXT,
        changed_at      TEXT,
        removed_at      TEXT,
        baseline        INTEGER NOT NULL DEFAULT 0,
        data            TEXT NOT NULL
    );
    CREATE INDEX entries_by_document ON entries (source, doc_key);
    CREATE INDEX entries_by_status ON entries (status, published_ts);
    CREATE TABLE runs (
        id            INTEGER PRIMARY KEY,
        started_at    TEXT NOT NULL,
        finished_at   TEXT NOT NULL,
        outcome       TEXT NOT NULL,
        baseline      INTEGER NOT NULL,
        new           INTEGER NOT NULL,
        changed       INTEGER NOT NULL,
        removed       INTEGER NOT NULL,
        scheduled     INTEGER NOT NULL,
        errors        INTEGER NOT NULL,
        feeds_written INTEGER NOT NULL,
        message       TEXT
    );
    "#,
    // 2: the outbox of deliveries (one per new entry and matching channel), channel pauses
    //    and each channel's small persistent memory (sessions, rotated tokens).
    r#"
    CREATE TABLE deliveries (
        id          INTEGER PRIMARY KEY,
        entry_id    TEXT NOT NULL,
        channel     TEXT NOT NULL,
        state       TEXT NOT NULL
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'dead', 'held')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        queued_at   TEXT NOT NULL,
        due_at      TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        sent_at     TEXT,
        remote_id   TEXT,
        remote_url  TEXT,
        last_error  TEXT,
        UNIQUE (entry_id, channel)
    );
    CREATE INDEX deliveries_by_channel ON deliveries (channel, state, due_at);
    CREATE TABLE channel_state (
        channel    TEXT PRIMARY KEY,
        paused     TEXT,
        paused_at  TEXT
    );
    CREATE TABLE channel_memory (
        channel  TEXT NOT NULL,
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (channel, key)
    );
    "#,
];

/// Errors from the state database.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open state database {path}: {reason}")]
    Open {
        /// Database path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The database was written by a newer crier.
    #[error(
        "state database {path} has schema version {found}, newer than this crier understands ({known}); upgrade crier or restore a backup"
    )]
    TooNew {
        /// Database path.
        path: PathBuf,
        /// Version found.
        found: i64,
        /// Latest version known.
        known: i64,
    },
    /// A query failed.
    #[error("state database {path}: {error}")]
    Sql {
        /// Database path.
        path: PathBuf,
        /// SQLite's error (in the message, so not a `#[source]`).
        error: rusqlite::Error,
    },
    /// A stored entry could not be decoded.
    #[error(
        "state database {path}: entry {id:?} has unreadable data ({reason}); run `crier run --once` after touching its file to store it again"
    )]
    Corrupt {
        /// Database path.
        path: PathBuf,
        /// Entry id.
        id: String,
        /// Decoder message.
        reason: String,
    },
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// Published: in the feeds.
    Live,
    /// Dated in the future: waits for its time.
    Scheduled,
    /// Its document is gone or became a draft: out of the feeds, remembered so that it is
    /// never announced twice.
    Removed,
}

impl EntryStatus {
    fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Live => "live",
            EntryStatus::Scheduled => "scheduled",
            EntryStatus::Removed => "removed",
        }
    }

    fn parse(s: &str) -> EntryStatus {
        match s {
            "live" => EntryStatus::Live,
            "scheduled" => EntryStatus::Scheduled,
            _ => EntryStatus::Removed,
        }
    }
}

/// What the store knows of one entry, without its full data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Entry id.
    pub id: String,
    /// Source name.
    pub source: String,
    /// Document key within the source.
    pub doc_key: String,
    /// Document fingerprint when last parsed.
    pub fingerprint: String,
    /// Hash of the entry's data.
    pub content_hash: String,
    /// Current status.
    pub status: EntryStatus,
    /// Publication time, Unix seconds.
    pub published_ts: i64,
    /// Whether it has ever been live (a later return is not "new").
    pub was_live: bool,
}

/// A live entry's fields needed to pick feed items without loading the whole entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEntry {
    /// Entry id.
    pub id: String,
    /// Language tag.
    pub language: String,
    /// Categories.
    pub categories: Vec<String>,
    /// Publication time, Unix seconds.
    pub published_ts: i64,
    /// Hash of the entry's data.
    pub content_hash: String,
}

/// A new or edited entry to write, with its serialised data and hash.
#[derive(Debug, Clone)]
pub struct EntryRecord {
    /// The entry.
    pub entry: Entry,
    /// Source name.
    pub source: String,
    /// Document key.
    pub doc_key: String,
    /// Document fingerprint.
    pub fingerprint: String,
    /// `Entry::content_hash` of the entry.
    pub content_hash: String,
    /// Status to record.
    pub status: EntryStatus,
}

/// Everything one cycle changes, applied atomically by [`Store::apply`].
#[derive(Debug, Default)]
pub struct Batch {
    /// Entries seen for the first time or edited.
    pub upserts: Vec<EntryRecord>,
    /// Entries re-read with identical content: only the fingerprint moves.
    pub fingerprints: Vec<(String, String)>,
    /// Status changes without content change (due, restored, removed).
    pub statuses: Vec<(String, EntryStatus)>,
    /// Per-source settings fingerprints to remember.
    pub source_fingerprints: Vec<(String, String)>,
    /// Per-source HTTP validators to remember.
    pub source_caches: Vec<(String, crate::sources::Cache)>,
    /// Remote sources read in full this cycle, with the time.
    pub full_reads: Vec<(String, DateTime<Utc>)>,
    /// This cycle is the first: mark the baseline.
    pub baseline: bool,
    /// Deliveries to queue, in the same transaction as the entries they announce.
    pub deliveries: Vec<outbox::NewDelivery>,
}

/// A finished run, for the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRecord {
    /// When the cycle started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// `ok`, `partial` (some entries had errors) or `failed`.
    pub outcome: String,
    /// Whether it recorded the baseline.
    pub baseline: bool,
    /// Entries published for the first time.
    pub new: usize,
    /// Live entries edited.
    pub changed: usize,
    /// Entries withdrawn.
    pub removed: usize,
    /// Entries waiting for their date.
    pub scheduled: usize,
    /// Documents or sources that failed.
    pub errors: usize,
    /// Feed files rewritten.
    pub feeds_written: usize,
    /// Free text (first error, say).
    pub message: Option<String>,
}

/// Counts for `crier status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Entries by status: live, scheduled, removed.
    pub live: usize,
    /// Entries waiting for their date.
    pub scheduled: usize,
    /// Entries withdrawn.
    pub removed: usize,
    /// When the baseline was recorded.
    pub baseline_at: Option<String>,
    /// Number of runs recorded.
    pub runs: usize,
    /// The most recent run.
    pub last_run: Option<RunRecord>,
    /// The most recent run that ended `ok`.
    pub last_success: Option<String>,
}

/// The SQLite state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating it and its folder when missing) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_owned(),
                reason: format!("cannot create folder {}: {e}", dir.display()),
            })?;
        }
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        // Channels keep sessions and rotated tokens in the state: only crier's user may read
        // it (SQLite gives its journal files the database's mode).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| StoreError::Open {
                    path: path.to_owned(),
                    reason: format!("cannot restrict its permissions: {e}"),
                },
            )?;
        }
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.configure(true)?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing database without writing to it; `None` when the file does not exist.
    pub fn open_read_only(path: &Path) -> Result<Option<Store>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Open {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let store = Store {
            conn,
            path: path.to_owned(),
        };
        store.configure(false)?;
        store.check_version()?;
        Ok(Some(store))
    }

    /// A private in-memory copy of the database at `path` (or an empty one when it does not
    /// exist), for dry runs: whatever is done to the copy never reaches the file.
    pub fn scratch_copy(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| StoreError::Open {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        if let Some(source) = Store::open_read_only(path)? {
            let copied = rusqlite::backup::Backup::new(&source.conn, &mut store.conn)
                .and_then(|backup| backup.run_to_completion(1024, Duration::ZERO, None));
            copied.map_err(|e| source.sql(e))?;
        }
        store.migrate()?;
        Ok(store)
    }

    /// The database file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: self.path.clone(),
            error: source,
        }
    }

    fn configure(&self, writable: bool) -> Result<(), StoreError> {
        // A rollback journal rather than WAL: a first run writes every entry once instead of
        // twice (WAL, then checkpoint), which halves its state-writing time. Readers such as
        // `crier status` wait out the short write transactions with the busy timeout.
        self.conn
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| self.sql(e))?;
        if writable {
            self.conn
                .pragma_update(None, "journal_mode", "DELETE")
                .map_err(|e| self.sql(e))?;
            self.conn
                .pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| self.sql(e))?;
        }
        Ok(())
    }

    fn version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.sql(e))
    }

    fn check_version(&self) -> Result<i64, StoreError> {
        let found = self.version()?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        Ok(found)
    }

    /// Whether the schema is the one this crier writes; a read-only handle on an older state
    /// (before the first run of an upgraded crier) lacks the newer tables.
    pub fn schema_is_current(&self) -> Result<bool, StoreError> {
        Ok(self.version()? == MIGRATIONS.len() as i64)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current = self.check_version()?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = index as i64 + 1;
            let tx = self.conn.transaction().map_err(|e| StoreError::Sql {
                path: self.path.clone(),
                error: e,
            })?;
            tx.execute_batch(sql)
                .and_then(|()| tx.pragma_update(None, "user_version", version))
                .and_then(|()| tx.commit())
                .map_err(|e| StoreError::Sql {
                    path: self.path.clone(),
                    error: e,
                })?;
            tracing::debug!(version, "state database migrated");
        }
        Ok(())
    }

    /// Whether the first cycle has already recorded its baseline.
    pub fn has_baseline(&self) -> Result<bool, StoreError> {
        Ok(self.meta("baseline_at")?.is_some())
    }

    /// A value from the metadata table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// The settings fingerprint recorded for `source`.
    pub fn source_fingerprint(&self, source: &str) -> Result<Option<String>, StoreError> {
        self.meta(&format!("source_fingerprint:{source}"))
    }

    /// The HTTP validators a remote source left after its last complete read. An unreadable
    /// value (edited by hand) is treated as none: the next read is simply unconditional.
    pub fn source_cache(&self, source: &str) -> Result<crate::sources::Cache, StoreError> {
        Ok(self
            .meta(&format!("source_cache:{source}"))?
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// When a remote source was last read in full (RFC 3339), if ever.
    pub fn source_full_read(&self, source: &str) -> Result<Option<String>, StoreError> {
        self.meta(&format!("source_full_read:{source}"))
    }

    /// Every entry recorded for `source`, without data.
    pub fn entries_of_source(&self, source: &str) -> Result<Vec<StoredEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, source, doc_key, fingerprint, content_hash, status, published_ts,
                        live_since IS NOT NULL
                 FROM entries WHERE source = ?1 ORDER BY doc_key, id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([source], |r| {
                Ok(StoredEntry {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    doc_key: r.get(2)?,
                    fingerprint: r.get(3)?,
                    content_hash: r.get(4)?,
                    status: EntryStatus::parse(&r.get::<_, String>(5)?),
                    published_ts: r.get(6)?,
                    was_live: r.get(7)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// All live entries, light fields only, for feed selection.
    pub fn live_entries(&self) -> Result<Vec<LiveEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, language, categories, published_ts, content_hash
                 FROM entries WHERE status = 'live'",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                let categories: String = r.get(2)?;
                Ok(LiveEntry {
                    id: r.get(0)?,
                    language: r.get(1)?,
                    categories: serde_json::from_str(&categories).unwrap_or_default(),
                    published_ts: r.get(3)?,
                    content_hash: r.get(4)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Sets a value in the metadata table.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Full entries by id, in the order asked; unknown ids are left out.
    pub fn load_entries(&self, ids: &[&str]) -> Result<Vec<Entry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM entries WHERE id = ?1")
            .map_err(|e| self.sql(e))?;
        let mut entries = Vec::with_capacity(ids.len());
        for id in ids {
            let data: Option<String> = stmt
                .query_row([id], |r| r.get(0))
                .optional()
                .map_err(|e| self.sql(e))?;
            if let Some(data) = data {
                let entry = serde_json::from_str(&data).map_err(|e| StoreError::Corrupt {
                    path: self.path.clone(),
                    id: (*id).to_owned(),
                    reason: e.to_string(),
                })?;
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Applies one cycle's changes in a single transaction.
    pub fn apply(&mut self, batch: &Batch, now: DateTime<Utc>) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            error: source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        apply_batch(&tx, batch, &timestamp(now)).map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Appends a run to the journal.
    pub fn record_run(&mut self, run: &RunRecord) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (started_at, finished_at, outcome, baseline, new, changed,
                                   removed, scheduled, errors, feeds_written, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    timestamp(run.started_at),
                    timestamp(run.finished_at),
                    run.outcome,
                    run.baseline,
                    run.new as i64,
                    run.changed as i64,
                    run.removed as i64,
                    run.scheduled as i64,
                    run.errors as i64,
                    run.feeds_written as i64,
                    run.message,
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Counts and the last run, for `crier status`.
    pub fn status(&self) -> Result<Status, StoreError> {
        let mut status = Status::default();
        let mut stmt = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM entries GROUP BY status")
            .map_err(|e| self.sql(e))?;
        let counts: HashMap<String, i64> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.sql(e))?;
        let count = |k: &str| counts.get(k).copied().unwrap_or(0) as usize;
        status.live = count("live");
        status.scheduled = count("scheduled");
        status.removed = count("removed");
        status.baseline_at = self.meta("baseline_at")?;
        status.runs = self
            .conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))
            .map_err(|e| self.sql(e))? as usize;
        status.last_run = self
            .conn
            .query_row(
                "SELECT started_at, finished_at, outcome, baseline, new, changed, removed,
                        scheduled, errors, feeds_written, message
                 FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    let time = |s: String| {
                        DateTime::parse_from_rfc3339(&s)
                            .map(|d| d.with_timezone(&Utc))
                            .unwrap_or_default()
                    };
                    Ok(RunRecord {
                        started_at: time(r.get(0)?),
                        finished_at: time(r.get(1)?),
                        outcome: r.get(2)?,
                        baseline: r.get(3)?,
                        new: r.get::<_, i64>(4)? as usize,
                        changed: r.get::<_, i64>(5)? as usize,
                        removed: r.get::<_, i64>(6)? as usize,
                        scheduled: r.get::<_, i64>(7)? as usize,
                        errors: r.get::<_, i64>(8)? as usize,
                        feeds_written: r.get::<_, i64>(9)? as usize,
                        message: r.get(10)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        status.last_success = self
            .conn
            .query_row(
                "SELECT finished_at FROM runs WHERE outcome = 'ok' ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(status)
    }
}

/// Times are stored as RFC 3339 UTC text so the database reads well in `sqlite3`.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn apply_batch(tx: &Transaction<'_>, batch: &Batch, now: &str) -> rusqlite::Result<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO entries (id, source, doc_key, fingerprint, content_hash, status, url, title,
                              language, translation_key, categories, published, published_ts,
                              updated, first_seen, live_since, baseline, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                 CASE WHEN ?6 = 'live' THEN ?15 END, ?16, ?17)
         ON CONFLICT (id) DO UPDATE SET
             source = excluded.source,
             doc_key = excluded.doc_key,
             fingerprint = excluded.fingerprint,
             changed_at = CASE WHEN content_hash <> excluded.content_hash
                               THEN excluded.first_seen ELSE changed_at END,
             content_hash = excluded.content_hash,
             live_since = CASE WHEN excluded.status = 'live'
                               THEN COALESCE(live_since, excluded.first_seen) ELSE live_since END,
             removed_at = CASE WHEN excluded.status = 'removed' THEN removed_at END,
             status = excluded.status,
             url = excluded.url,
             title = excluded.title,
             language = excluded.language,
             translation_key = excluded.translation_key,
             categories = excluded.categories,
             published = excluded.published,
             published_ts = excluded.published_ts,
             updated = excluded.updated,
             data = excluded.data",
    )?;
    // Entries are serialised here, one at a time into one buffer, rather than all up front:
    // on a first run over thousands of entries that halves the peak memory.
    let mut data = Vec::new();
    for record in &batch.upserts {
        let e = &record.entry;
        data.clear();
        serde_json::to_writer(&mut data, e)
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
        let data = std::str::from_utf8(&data)
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
        upsert.execute(params![
            e.id,
            record.source,
            record.doc_key,
            record.fingerprint,
            record.content_hash,
            record.status.as_str(),
            e.url,
            e.title,
            e.language,
            e.translation_key,
            serde_json::to_string(&e.categories).unwrap_or_else(|_| "[]".into()),
            e.published.to_rfc3339(),
            e.published.timestamp(),
            e.updated.map(|u| u.to_rfc3339()),
            now,
            batch.baseline && record.status == EntryStatus::Live,
            data,
        ])?;
    }
    let mut fingerprint = tx.prepare_cached("UPDATE entries SET fingerprint = ?2 WHERE id = ?1")?;
    for (id, fp) in &batch.fingerprints {
        fingerprint.execute(params![id, fp])?;
    }
    let mut status = tx.prepare_cached(
        "UPDATE entries SET
             status = ?2,
             live_since = CASE WHEN ?2 = 'live' THEN COALESCE(live_since, ?3) ELSE live_since END,
             removed_at = CASE WHEN ?2 = 'removed' THEN ?3 END
         WHERE id = ?1",
    )?;
    for (id, s) in &batch.statuses {
        status.execute(params![id, s.as_str(), now])?;
    }
    let mut meta = tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?;
    for (source, fp) in &batch.source_fingerprints {
        meta.execute(params![format!("source_fingerprint:{source}"), fp])?;
    }
    for (source, cache) in &batch.source_caches {
        // A map of strings always serialises.
        let json = serde_json::to_string(cache).unwrap_or_default();
        meta.execute(params![format!("source_cache:{source}"), json])?;
    }
    for (source, at) in &batch.full_reads {
        meta.execute(params![
            format!("source_full_read:{source}"),
            at.to_rfc3339()
        ])?;
    }
    if batch.baseline {
        meta.execute(params!["baseline_at", now])?;
    }
    outbox::queue(tx, &batch.deliveries)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(id: &str, title: &str) -> Entry {
        Entry {
            title: title.into(),
            content: "<p>x</p>".into(),
            categories: vec!["a".into()],
            ..crate::testing::entry(id, "2024-03-12T09:00:00+01:00")
        }
    }

    fn record(e: Entry, status: EntryStatus) -> EntryRecord {
        EntryRecord {
            content_hash: e.content_hash(),
            source: "content".into(),
            doc_key: format!("{}.md", e.id),
            fingerprint: "1:1".into(),
            status,
            entry: e,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn migrates_a_new_database_and_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.sqlite3");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.version().unwrap(), MIGRATIONS.len() as i64);
        assert!(!store.has_baseline().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.version().unwrap(), MIGRATIONS.len() as i64);
        assert!(store.schema_is_current().unwrap());
    }

    #[test]
    fn an_older_schema_is_migrated_forward_keeping_its_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite3");
        {
            // A state written by the first release: schema 1 only.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('baseline_at', '2024-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        }
        let old = Store::open_read_only(&path).unwrap().unwrap();
        assert!(!old.schema_is_current().unwrap());
        drop(old);
        let store = Store::open(&path).unwrap();
        assert!(store.schema_is_current().unwrap());
        assert!(store.has_baseline().unwrap());
        assert!(store.deliveries().unwrap().is_empty());
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite3");
        let store = Store::open(&path).unwrap();
        store.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(store);
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
        assert!(err.to_string().contains("upgrade crier"));
    }

    #[test]
    fn apply_records_entries_baseline_and_status_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let batch = Batch {
            upserts: vec![
                record(entry("a", "A"), EntryStatus::Live),
                record(entry("b", "B"), EntryStatus::Scheduled),
            ],
            source_fingerprints: vec![("content".into(), "fp".into())],
            baseline: true,
            ..Batch::default()
        };
        store.apply(&batch, now()).unwrap();
        assert!(store.has_baseline().unwrap());
        assert_eq!(
            store.source_fingerprint("content").unwrap().as_deref(),
            Some("fp")
        );
        let stored = store.entries_of_source("content").unwrap();
        assert_eq!(stored.len(), 2);
        assert!(stored[0].was_live && !stored[1].was_live);
        assert_eq!(stored[1].status, EntryStatus::Scheduled);

        store
            .apply(
                &Batch {
                    statuses: vec![
                        ("b".into(), EntryStatus::Live),
                        ("a".into(), EntryStatus::Removed),
                    ],
                    fingerprints: vec![("b".into(), "2:2".into())],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        let live = store.live_entries().unwrap();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].id, "b");
        assert_eq!(live[0].categories, vec!["a".to_owned()]);
        let stored = store.entries_of_source("content").unwrap();
        assert_eq!(stored[1].fingerprint, "2:2");
        assert!(stored[1].was_live);
        let loaded = store.load_entries(&["b", "missing"]).unwrap();
        assert_eq!(loaded, vec![entry("b", "B")]);
    }

    #[test]
    fn upsert_of_an_edit_keeps_first_seen_and_marks_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        store
            .apply(
                &Batch {
                    upserts: vec![record(entry("a", "A"), EntryStatus::Live)],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        let later = now() + chrono::Duration::days(1);
        store
            .apply(
                &Batch {
                    upserts: vec![record(entry("a", "A edited"), EntryStatus::Live)],
                    ..Batch::default()
                },
                later,
            )
            .unwrap();
        let (first_seen, changed_at, title): (String, String, String) = store
            .conn
            .query_row(
                "SELECT first_seen, changed_at, title FROM entries WHERE id = 'a'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(first_seen, "2024-04-01T00:00:00Z");
        assert_eq!(changed_at, "2024-04-02T00:00:00Z");
        assert_eq!(title, "A edited");
    }

    #[test]
    fn scratch_copy_never_writes_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let mut store = Store::open(&path).unwrap();
        store
            .apply(
                &Batch {
                    upserts: vec![record(entry("a", "A"), EntryStatus::Live)],
                    baseline: true,
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        drop(store);
        let mut scratch = Store::scratch_copy(&path).unwrap();
        assert_eq!(scratch.live_entries().unwrap().len(), 1);
        scratch
            .apply(
                &Batch {
                    statuses: vec![("a".into(), EntryStatus::Removed)],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        assert!(scratch.live_entries().unwrap().is_empty());
        let reopened = Store::open_read_only(&path).unwrap().unwrap();
        assert_eq!(reopened.live_entries().unwrap().len(), 1);

        let missing = dir.path().join("none.sqlite3");
        let empty = Store::scratch_copy(&missing).unwrap();
        assert!(!empty.has_baseline().unwrap());
        assert!(!missing.exists());
    }

    #[test]
    fn runs_are_journaled_for_status() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let run = RunRecord {
            started_at: now(),
            finished_at: now(),
            outcome: "partial".into(),
            new: 2,
            errors: 1,
            message: Some("bad.md: missing title".into()),
            ..RunRecord::default()
        };
        store.record_run(&run).unwrap();
        let status = store.status().unwrap();
        assert_eq!(status.runs, 1);
        assert_eq!(status.last_run.as_ref(), Some(&run));
        assert_eq!(status.last_success, None);
    }
}

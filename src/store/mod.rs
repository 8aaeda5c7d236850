//! The state store: an embedded SQLite database that remembers every entry crier has seen
//! (its id, content hash, dates, status and full data), the fingerprints that let unchanged
//! documents skip parsing, the outbox of deliveries and a journal of runs.
//!
//! A cycle's changes are applied by [`Store::apply`] in one transaction, so "seen" is recorded
//! all at once or not at all, together with the deliveries that announce it. The schema is
//! versioned with `PRAGMA user_version` and migrated forward on open (`schema.rs`). Every time
//! crier writes is stored in one format ([`timestamp`]), so that SQL compares times as text.
//! The store sits below the sources: what a remote source keeps between reads is opaque JSON
//! here.
//!
//! The parts: `entries.rs` (entries, failed documents and a cycle's [`Batch`]), `meta.rs`
//! (key/value metadata, per-source fingerprints, caches, full-read times, read health and
//! deferred baselines), `runs.rs` (the journal and `crier status` counts), [`outbox`]
//! (deliveries and channel state) and `hubs.rs` (WebSub notifications waiting for their hub).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};
use thiserror::Error;

mod entries;
mod hubs;
mod meta;
pub mod outbox;
mod runs;
mod schema;

pub use entries::{
    Batch, EntryRecord, EntryStatus, FailedDocument, LiveEntry, SourceFailures, StoredEntry,
};
pub use hubs::{HubPing, HubSummary};
pub use meta::{DeferredBaseline, SourceHealth, SourceRead};
pub use runs::{RunOutcome, RunRecord, Status};

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

/// Formats a time the one way the store keeps times: RFC 3339 in UTC with microseconds and
/// `Z` (`2024-03-12T09:00:00.000000Z`). Every such text has the same length and layout, so
/// text order is time order, which the outbox's SQL comparisons rely on, and the database
/// still reads well in `sqlite3`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a time the store wrote; `None` when the text is not RFC 3339 (edited by hand).
/// Any RFC 3339 text is accepted, so a read-only handle on a state not migrated yet still
/// reads its older values.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Entry;
    use chrono::TimeZone;

    /// An entry of the source `content` with one category.
    pub(super) fn entry(id: &str, title: &str) -> Entry {
        Entry {
            title: title.into(),
            content: "<p>x</p>".into(),
            categories: vec!["a".into()],
            ..crate::testing::entry(id, "2024-03-12T09:00:00+01:00")
        }
    }

    /// `e` as the source `content` would record it.
    pub(super) fn record(e: Entry, status: EntryStatus) -> EntryRecord {
        EntryRecord {
            content_hash: e.content_hash(),
            source: "content".into(),
            doc_key: format!("{}.md", e.id),
            fingerprint: "1:1".into(),
            status,
            entry: e,
        }
    }

    /// The tests' clock.
    pub(super) fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn timestamps_have_one_layout_whose_text_order_is_time_order() {
        let whole = now();
        let half = whole + chrono::Duration::milliseconds(500);
        let nanos = whole + chrono::Duration::nanoseconds(1_234_567);
        assert_eq!(timestamp(whole), "2024-04-01T00:00:00.000000Z");
        assert_eq!(timestamp(half), "2024-04-01T00:00:00.500000Z");
        // Below a microsecond is cut, never rounded up past a later time.
        assert_eq!(timestamp(nanos), "2024-04-01T00:00:00.001234Z");
        assert!(timestamp(whole) < timestamp(nanos) && timestamp(nanos) < timestamp(half));
        assert_eq!(parse_timestamp(&timestamp(half)), Some(half));
        assert_eq!(parse_timestamp("2024-04-01T00:00:00Z"), Some(whole));
        assert_eq!(parse_timestamp("2024-04-01T02:00:00+02:00"), Some(whole));
        assert_eq!(parse_timestamp("yesterday"), None);
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
}

//! The schema of the state database and how an older one is brought forward.
//!
//! `PRAGMA user_version` counts the [`MIGRATIONS`] applied so far. Each step runs in its own
//! transaction together with the bump of that counter, so a crash leaves the database at one
//! version or the next, never between. A step is SQL, or Rust when it must read and rewrite
//! values (version 3 gives every stored time the one format of [`timestamp`]). A database
//! of a newer version than this crier knows is refused rather than misread.

use rusqlite::{Transaction, params};

use super::{Store, StoreError, parse_timestamp, timestamp};

/// One step of the schema's history.
pub(super) enum Migration {
    /// Statements run as one batch.
    Sql(&'static str),
    /// A rewrite of stored values that SQL alone cannot express.
    Rust(fn(&Transaction<'_>) -> rusqlite::Result<()>),
}

/// Schema migrations, in order; `user_version` is the number applied so far.
pub(super) const MIGRATIONS: &[Migration] = &[
    // 1: entries, runs and key/value metadata.
    Migration::Sql(
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
    ),
    // 2: the outbox of deliveries (one per new entry and matching channel), channel pauses
    //    and each channel's small persistent memory (sessions, rotated tokens).
    Migration::Sql(
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
    ),
    // 3: every time crier wrote, in the one format: versions 1 and 2 wrote whole seconds
    //    (`…:00Z`) in entries, runs and the baseline, `+00:00` with a variable fraction for
    //    full reads and microseconds in the outbox, whose texts do not sort as their times.
    Migration::Rust(one_time_format),
    // 4: the post a delivery sends, frozen (JSON, the engine's) in the transaction that marks
    //    its first attempt, so that every later attempt and look-up sends the same post.
    Migration::Sql("ALTER TABLE deliveries ADD COLUMN post TEXT;"),
    // 5: documents that failed, with the fingerprint they failed at and why, so that a broken
    //    file is reported each cycle without being parsed again until it changes.
    Migration::Sql(
        r#"
    CREATE TABLE failed_documents (
        source      TEXT NOT NULL,
        doc_key     TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        location    TEXT NOT NULL,
        message     TEXT NOT NULL,
        PRIMARY KEY (source, doc_key)
    );
    "#,
    ),
    // 6: WebSub notifications waiting for their hub, one per hub and feed URL (a newer change
    //    of the feed replaces the row); `dead` rows are the ones given up.
    Migration::Sql(
        r#"
    CREATE TABLE hub_pings (
        hub        TEXT NOT NULL,
        feed_url   TEXT NOT NULL,
        state      TEXT NOT NULL DEFAULT 'pending',
        queued_at  TEXT NOT NULL,
        due_at     TEXT NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        tried_at   TEXT,
        last_error TEXT,
        PRIMARY KEY (hub, feed_url)
    );
    "#,
    ),
];

/// A column holding times crier wrote, with the rows of it that do (SQL condition). The
/// entries' `published` and `updated` are the entries' own dates, with their offsets, and
/// are not among them.
struct TimeColumn {
    table: &'static str,
    column: &'static str,
    rows: &'static str,
}

/// Every time column as of version 2. The metadata keys are spelled as version 2 wrote them,
/// not taken from [`super::meta`], so that this step stays what it was if they change.
const TIME_COLUMNS: &[TimeColumn] = &[
    TimeColumn {
        table: "entries",
        column: "first_seen",
        rows: "1",
    },
    TimeColumn {
        table: "entries",
        column: "live_since",
        rows: "1",
    },
    TimeColumn {
        table: "entries",
        column: "changed_at",
        rows: "1",
    },
    TimeColumn {
        table: "entries",
        column: "removed_at",
        rows: "1",
    },
    TimeColumn {
        table: "runs",
        column: "started_at",
        rows: "1",
    },
    TimeColumn {
        table: "runs",
        column: "finished_at",
        rows: "1",
    },
    TimeColumn {
        table: "deliveries",
        column: "queued_at",
        rows: "1",
    },
    TimeColumn {
        table: "deliveries",
        column: "due_at",
        rows: "1",
    },
    TimeColumn {
        table: "deliveries",
        column: "updated_at",
        rows: "1",
    },
    TimeColumn {
        table: "deliveries",
        column: "sent_at",
        rows: "1",
    },
    TimeColumn {
        table: "channel_state",
        column: "paused_at",
        rows: "1",
    },
    TimeColumn {
        table: "meta",
        column: "value",
        rows: "key = 'baseline_at' OR key GLOB 'source_full_read:*'",
    },
];

/// Migration 3: rewrites each stored time in the format of [`timestamp`]. A value that is not
/// RFC 3339 (edited by hand) is left as it is, with a warning: it was unreadable before too,
/// and refusing to open the state over it would stop every cycle.
fn one_time_format(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    for TimeColumn {
        table,
        column,
        rows,
    } in TIME_COLUMNS
    {
        let stored: Vec<(i64, String)> = tx
            .prepare(&format!(
                "SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL AND ({rows})"
            ))?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut rewrite = tx.prepare(&format!(
            "UPDATE {table} SET {column} = ?2 WHERE rowid = ?1"
        ))?;
        for (rowid, text) in stored {
            match parse_timestamp(&text) {
                Some(time) if timestamp(time) != text => {
                    rewrite.execute(params![rowid, timestamp(time)])?;
                }
                Some(_) => {}
                None => tracing::warn!(
                    table, column, rowid, value = %text,
                    "state database: not a time, left as it is"
                ),
            }
        }
    }
    Ok(())
}

impl Store {
    fn version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.sql(e))
    }

    pub(super) fn check_version(&self) -> Result<i64, StoreError> {
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

    pub(super) fn migrate(&mut self) -> Result<(), StoreError> {
        let current = self.check_version()?;
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = index as i64 + 1;
            let tx = self.conn.transaction().map_err(|e| StoreError::Sql {
                path: self.path.clone(),
                error: e,
            })?;
            let step = match migration {
                Migration::Sql(sql) => tx.execute_batch(sql),
                Migration::Rust(rewrite) => rewrite(&tx),
            };
            step.and_then(|()| tx.pragma_update(None, "user_version", version))
                .and_then(|()| tx.commit())
                .map_err(|e| StoreError::Sql {
                    path: self.path.clone(),
                    error: e,
                })?;
            tracing::debug!(version, "state database migrated");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Creates the schema of `version` as an older crier left it.
    fn old_schema(conn: &mut Connection, version: usize) {
        for migration in &MIGRATIONS[..version] {
            match migration {
                Migration::Sql(sql) => conn.execute_batch(sql).unwrap(),
                Migration::Rust(rewrite) => {
                    let tx = conn.transaction().unwrap();
                    rewrite(&tx).unwrap();
                    tx.commit().unwrap();
                }
            }
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
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
            let mut conn = Connection::open(&path).unwrap();
            old_schema(&mut conn, 1);
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

    /// Every time column's values with their row, as (table.column, text).
    fn stored_times(conn: &Connection) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for TimeColumn {
            table,
            column,
            rows,
        } in TIME_COLUMNS
        {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND ({rows})"
                ))
                .unwrap();
            let texts = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
            for text in texts {
                out.push((format!("{table}.{column}"), text.unwrap()));
            }
        }
        out
    }

    // Long as one scenario: a version-2 state with every time column filled, migrated, reopened.
    #[test]
    fn version_3_rewrites_every_stored_time_to_the_one_sortable_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.sqlite3");
        {
            // A state written by version 2: whole seconds in entries, runs and the baseline,
            // `to_rfc3339` for full reads, microseconds in the outbox.
            let mut conn = Connection::open(&path).unwrap();
            old_schema(&mut conn, 2);
            conn.execute_batch(
                r#"
                INSERT INTO entries (id, source, doc_key, fingerprint, content_hash, status, url,
                                     title, language, translation_key, categories, published,
                                     published_ts, updated, first_seen, live_since, changed_at,
                                     removed_at, baseline, data)
                VALUES ('a', 'content', 'a.md', '1:1', 'h', 'removed', 'https://e.org/a', 'A',
                        'en', '', '[]', '2024-03-12T10:00:00+01:00', 1710234000,
                        '2024-03-12T11:30:00+01:00', '2024-03-12T09:00:00Z',
                        '2024-03-12T09:00:00Z', '2024-03-12T09:00:02Z', '2024-03-12T09:00:03Z',
                        1, '{}'),
                       ('b', 'content', 'b.md', '1:1', 'h', 'scheduled', 'https://e.org/b', 'B',
                        'en', '', '[]', '2030-01-01T00:00:00+00:00', 1893456000, NULL,
                        '2024-03-12T09:00:01Z', NULL, NULL, NULL, 0, '{}');
                INSERT INTO runs (started_at, finished_at, outcome, baseline, new, changed,
                                  removed, scheduled, errors, feeds_written)
                VALUES ('2024-03-12T08:59:59Z', '2024-03-12T09:00:00Z', 'ok', 1, 0, 0, 0, 0, 0, 0),
                       ('2024-03-12T09:00:01Z', '2024-03-12T09:00:04Z', 'ok', 0, 0, 0, 0, 0, 0, 0);
                INSERT INTO deliveries (entry_id, channel, state, queued_at, due_at, updated_at,
                                        sent_at)
                VALUES ('a', 'masto', 'sent', '2024-03-12T09:00:00.000000Z',
                        '2024-03-12T09:00:00.500000Z', '2024-03-12T09:00:01.750000Z',
                        '2024-03-12T09:00:01.750000Z');
                INSERT INTO channel_state (channel, paused, paused_at)
                VALUES ('masto', 'token expired', '2024-03-12T09:00:02.900000Z');
                INSERT INTO meta (key, value)
                VALUES ('baseline_at', '2024-03-12T09:00:00Z'),
                       ('source_full_read:old', '2024-03-12T09:00:00.250+00:00'),
                       ('source_full_read:whole', '2024-03-12T09:00:03+00:00'),
                       ('source_full_read:edited', 'yesterday'),
                       ('source_fingerprint:content', 'fp'),
                       ('feeds:settings', '2024-03-12T09:00:00Z');
                "#,
            )
            .unwrap();
        }

        let store = Store::open(&path).unwrap();
        assert!(store.schema_is_current().unwrap());
        let times = stored_times(&store.conn);
        assert_eq!(times.len(), 18, "{times:?}");
        for (column, text) in &times {
            if text == "yesterday" {
                continue;
            }
            let parsed = parse_timestamp(text).unwrap_or_else(|| panic!("{column}: {text}"));
            assert_eq!(&timestamp(parsed), text, "{column}");
        }
        // Text order is time order across every table.
        let mut by_text: Vec<&str> = times
            .iter()
            .map(|(_, t)| t.as_str())
            .filter(|t| *t != "yesterday")
            .collect();
        by_text.sort_unstable();
        let by_time: Vec<_> = by_text.iter().filter_map(|t| parse_timestamp(t)).collect();
        assert!(by_time.is_sorted(), "{by_text:?}");
        assert_eq!(
            by_text.first().copied(),
            Some("2024-03-12T08:59:59.000000Z")
        );
        assert_eq!(by_text[1..6], ["2024-03-12T09:00:00.000000Z"; 5]);

        // Values spelled out, through the store's own readers too.
        let row = |sql: &str| -> String { store.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            row("SELECT first_seen || ' ' || removed_at FROM entries WHERE id = 'a'"),
            "2024-03-12T09:00:00.000000Z 2024-03-12T09:00:03.000000Z"
        );
        assert_eq!(
            store.source_full_read("old").unwrap().as_deref(),
            Some("2024-03-12T09:00:00.250000Z")
        );
        assert_eq!(
            store.source_full_read("edited").unwrap().as_deref(),
            Some("yesterday")
        );
        let status = store.status().unwrap();
        assert_eq!(
            status.baseline_at.as_deref(),
            Some("2024-03-12T09:00:00.000000Z")
        );
        assert_eq!(
            status.last_success.as_deref(),
            Some("2024-03-12T09:00:04.000000Z")
        );
        // The entries' own dates and other metadata are data, not crier's times.
        assert_eq!(
            row("SELECT published || ' ' || updated FROM entries WHERE id = 'a'"),
            "2024-03-12T10:00:00+01:00 2024-03-12T11:30:00+01:00"
        );
        assert_eq!(
            row("SELECT published FROM entries WHERE id = 'b'"),
            "2030-01-01T00:00:00+00:00"
        );
        assert_eq!(
            store.meta("feeds:settings").unwrap().as_deref(),
            Some("2024-03-12T09:00:00Z")
        );

        // A second open has nothing to do: an old-format value written now stays as it is.
        store
            .conn
            .execute(
                "UPDATE meta SET value = '2024-03-12T09:00:00Z' WHERE key = 'baseline_at'",
                [],
            )
            .unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(
            store.meta("baseline_at").unwrap().as_deref(),
            Some("2024-03-12T09:00:00Z")
        );
    }

    #[test]
    fn version_4_keeps_the_deliveries_with_no_post_frozen_yet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.sqlite3");
        {
            let mut conn = Connection::open(&path).unwrap();
            old_schema(&mut conn, 3);
            conn.execute_batch(
                "INSERT INTO deliveries (entry_id, channel, state, attempts, queued_at, due_at,
                                         updated_at, remote_url)
                 VALUES ('a', 'bsky', 'sent', 1, '2024-03-12T09:00:00.000000Z',
                         '2024-03-12T09:00:00.000000Z', '2024-03-12T09:00:01.000000Z',
                         'https://bsky.app/profile/did:plc:x/post/3k'),
                        ('b', 'bsky', 'failed', 2, '2024-03-12T09:00:00.000000Z',
                         '2024-03-12T09:10:00.000000Z', '2024-03-12T09:00:02.000000Z', NULL);",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert!(store.schema_is_current().unwrap());
        let deliveries = store.deliveries().unwrap();
        let kept: Vec<_> = deliveries
            .iter()
            .map(|d| {
                (
                    d.entry_id.as_str(),
                    d.state.as_str(),
                    d.attempts,
                    d.post.clone(),
                )
            })
            .collect();
        assert_eq!(kept, [("a", "sent", 1, None), ("b", "failed", 2, None)]);
        assert_eq!(
            deliveries[0].remote_url.as_deref(),
            Some("https://bsky.app/profile/did:plc:x/post/3k")
        );
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
        // Nor is it read, or copied for a dry run, as if it were understood.
        let err = Store::open_read_only(&path).err().unwrap();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
        let err = Store::scratch_copy(&path).err().unwrap();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("schema version 99")
                && message.contains(&MIGRATIONS.len().to_string()),
            "{message}"
        );
    }
}

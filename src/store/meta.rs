//! Key/value metadata: the baseline's time, and per source the settings fingerprint, the
//! HTTP validators of a remote source, the time of its last full read, how its reads have
//! gone lately ([`SourceHealth`]) and, for a source the baseline cycle could not read, a mark
//! that its own baseline is still to be recorded.
//!
//! A source's validators are the source's business: the store keeps them as the JSON text it
//! is given and hands that text back, without knowing its shape. Read health is the store's
//! own: one JSON row per source, so that it needs no table (and no schema migration) and the
//! health listener reads every source's with one query.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Batch, Store, StoreError, parse_timestamp, timestamp};

/// Key of the time the first cycle recorded its baseline.
const BASELINE_AT: &str = "baseline_at";

/// Key of the settings fingerprint recorded for `source`.
fn fingerprint_key(source: &str) -> String {
    format!("source_fingerprint:{source}")
}

/// Key of the HTTP validators kept for `source`.
fn cache_key(source: &str) -> String {
    format!("source_cache:{source}")
}

/// Key of the read health of `source`.
fn health_key(source: &str) -> String {
    format!("{HEALTH_PREFIX}{source}")
}

/// Key of the time `source` was last read in full.
fn full_read_key(source: &str) -> String {
    format!("source_full_read:{source}")
}

/// Prefix of the keys of the sources' read health; the source's name follows.
const HEALTH_PREFIX: &str = "source_health:";

/// Key of the mark of a source whose baseline waits for its first complete read.
fn deferred_baseline_key(source: &str) -> String {
    format!("source_baseline_deferred:{source}")
}

/// The values of a deferred baseline's mark: whether its entries are then announced.
const ANNOUNCE: &str = "announce";
const RECORD: &str = "record";

/// A source the baseline cycle could not read (an outage, a stop during the first cycle):
/// its entries are recorded as its own baseline when it is first read completely, rather than
/// announced as new then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredBaseline {
    /// Source name.
    pub source: String,
    /// Announce the entries then, as the first run was asked to (`--announce-existing`).
    pub announce: bool,
}

const UPSERT: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2)
                      ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// The metadata part of a batch, `now` being the cycle's time as stored.
pub(super) fn write_batch(tx: &Transaction<'_>, batch: &Batch, now: &str) -> rusqlite::Result<()> {
    let mut meta = tx.prepare_cached(UPSERT)?;
    for (source, fp) in &batch.source_fingerprints {
        meta.execute(params![fingerprint_key(source), fp])?;
    }
    for (source, json) in &batch.source_caches {
        meta.execute(params![cache_key(source), json])?;
    }
    for (source, at) in &batch.full_reads {
        meta.execute(params![full_read_key(source), timestamp(*at)])?;
    }
    if batch.baseline {
        meta.execute(params![BASELINE_AT, now])?;
    }
    for deferred in &batch.deferred_baselines {
        let value = if deferred.announce { ANNOUNCE } else { RECORD };
        meta.execute(params![deferred_baseline_key(&deferred.source), value])?;
    }
    let mut clear = tx.prepare_cached("DELETE FROM meta WHERE key = ?1")?;
    for source in &batch.source_baselines {
        clear.execute([deferred_baseline_key(source)])?;
    }
    Ok(())
}

/// A source's read in one cycle, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRead {
    /// The source's name.
    pub source: String,
    /// Why the source could not be read; `None` when it was.
    pub error: Option<String>,
}

/// How a source's reads have gone, for `crier status`, `/healthz` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceHealth {
    /// The source's name.
    pub source: String,
    /// When it was last read successfully (the cycle's time), if ever.
    pub last_success: Option<DateTime<Utc>>,
    /// When the current run of failed reads began; `None` while the last read succeeded.
    pub failing_since: Option<DateTime<Utc>>,
    /// Failed reads in a row, up to the last one.
    pub failures: u64,
    /// Failed reads in all, since the state was created.
    pub errors_total: u64,
    /// The error of the last failed read, while the source is failing.
    pub last_error: Option<String>,
}

impl SourceHealth {
    /// Whether the last read failed.
    pub fn is_failing(&self) -> bool {
        self.failures > 0
    }

    /// The health after `read` at `at`.
    fn after(mut self, read: &SourceRead, at: DateTime<Utc>) -> SourceHealth {
        match &read.error {
            None => {
                self.last_success = Some(at);
                self.failing_since = None;
                self.failures = 0;
                self.last_error = None;
            }
            Some(error) => {
                self.failing_since = self.failing_since.or(Some(at));
                self.failures += 1;
                self.errors_total += 1;
                self.last_error = Some(error.clone());
            }
        }
        self
    }
}

/// [`SourceHealth`] as its row holds it, times in the store's format.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct HealthRow {
    last_success: Option<String>,
    failing_since: Option<String>,
    failures: u64,
    errors_total: u64,
    last_error: Option<String>,
}

impl HealthRow {
    fn of(health: &SourceHealth) -> HealthRow {
        HealthRow {
            last_success: health.last_success.map(timestamp),
            failing_since: health.failing_since.map(timestamp),
            failures: health.failures,
            errors_total: health.errors_total,
            last_error: health.last_error.clone(),
        }
    }

    /// The health of `source` from its row's text; a row that does not parse (edited by hand)
    /// reads as a source with no history rather than failing every reader.
    fn read(source: String, json: &str) -> SourceHealth {
        let row: HealthRow = serde_json::from_str(json).unwrap_or_default();
        SourceHealth {
            source,
            last_success: row.last_success.as_deref().and_then(parse_timestamp),
            failing_since: row.failing_since.as_deref().and_then(parse_timestamp),
            failures: row.failures,
            errors_total: row.errors_total,
            last_error: row.last_error,
        }
    }
}

impl Store {
    /// Records one cycle's reads at `at` (the cycle's time), one per configured source, and
    /// forgets the health of the sources not among them: they left the config, and a failure
    /// of theirs must not keep `/healthz` unhealthy.
    pub fn record_source_reads(
        &mut self,
        reads: &[SourceRead],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut known: Vec<SourceHealth> = self.source_health()?;
        let path = self.path.clone();
        let sql = |error| StoreError::Sql {
            path: path.clone(),
            error,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for read in reads {
            let before = known
                .iter()
                .position(|h| h.source == read.source)
                .map(|i| known.swap_remove(i))
                .unwrap_or_else(|| SourceHealth {
                    source: read.source.clone(),
                    ..SourceHealth::default()
                });
            let row = HealthRow::of(&before.after(read, at));
            // Serialising plain strings and numbers cannot fail.
            let json = serde_json::to_string(&row).unwrap_or_default();
            tx.execute(UPSERT, params![health_key(&read.source), json])
                .map_err(sql)?;
        }
        for gone in &known {
            tx.execute(
                "DELETE FROM meta WHERE key = ?1",
                [health_key(&gone.source)],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// The read health of every source recorded, by name.
    pub fn source_health(&self) -> Result<Vec<SourceHealth>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM meta WHERE key GLOB ?1 ORDER BY key")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([format!("{HEALTH_PREFIX}*")], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, json) = row.map_err(|e| self.sql(e))?;
            let source = key.strip_prefix(HEALTH_PREFIX).unwrap_or(&key).to_owned();
            out.push(HealthRow::read(source, &json));
        }
        Ok(out)
    }

    /// Whether the first cycle has already recorded its baseline.
    pub fn has_baseline(&self) -> Result<bool, StoreError> {
        Ok(self.meta(BASELINE_AT)?.is_some())
    }

    /// When the baseline was recorded (the store's time format), if it was.
    pub(super) fn baseline_at(&self) -> Result<Option<String>, StoreError> {
        self.meta(BASELINE_AT)
    }

    /// A value from the metadata table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Sets a value in the metadata table.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(UPSERT, params![key, value])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The settings fingerprint recorded for `source`.
    pub fn source_fingerprint(&self, source: &str) -> Result<Option<String>, StoreError> {
        self.meta(&fingerprint_key(source))
    }

    /// The HTTP validators a remote source left after its last complete read, as the JSON
    /// text it was given (see `sources::cache_from_json`), if any.
    pub fn source_cache(&self, source: &str) -> Result<Option<String>, StoreError> {
        self.meta(&cache_key(source))
    }

    /// When a remote source was last read in full (the store's time format), if ever.
    pub fn source_full_read(&self, source: &str) -> Result<Option<String>, StoreError> {
        self.meta(&full_read_key(source))
    }

    /// The mark of `source` if the baseline cycle could not read it and it has not been read
    /// completely since.
    pub fn deferred_baseline(&self, source: &str) -> Result<Option<DeferredBaseline>, StoreError> {
        Ok(self
            .meta(&deferred_baseline_key(source))?
            .map(|value| DeferredBaseline {
                source: source.to_owned(),
                announce: value == ANNOUNCE,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::now;

    #[test]
    fn source_metadata_is_kept_as_given_and_full_reads_in_the_store_format() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        assert_eq!(store.source_cache("remote").unwrap(), None);
        assert_eq!(store.source_full_read("remote").unwrap(), None);
        let json = r#"{"https://e.org/feed.xml":{"etag":"\"v1\""}}"#;
        let at = now() + chrono::Duration::microseconds(1_500_001);
        store
            .apply(
                &Batch {
                    source_caches: vec![("remote".into(), json.into())],
                    full_reads: vec![("remote".into(), at)],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(store.source_cache("remote").unwrap().as_deref(), Some(json));
        assert_eq!(
            store.source_full_read("remote").unwrap().as_deref(),
            Some("2024-04-01T00:00:01.500001Z")
        );
        assert_eq!(store.source_cache("other").unwrap(), None);
        assert!(!store.has_baseline().unwrap());
    }

    fn read(source: &str, error: Option<&str>) -> SourceRead {
        SourceRead {
            source: source.into(),
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn a_source_counts_its_failed_reads_in_a_row_until_one_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let at = |minutes| now() + chrono::Duration::minutes(minutes);
        store
            .record_source_reads(&[read("remote", None), read("content", None)], at(0))
            .unwrap();
        for minute in [5, 10] {
            store
                .record_source_reads(
                    &[read("remote", Some("HTTP 500")), read("content", None)],
                    at(minute),
                )
                .unwrap();
        }
        let health = store.source_health().unwrap();
        assert_eq!(
            health,
            [
                SourceHealth {
                    source: "content".into(),
                    last_success: Some(at(10)),
                    ..SourceHealth::default()
                },
                SourceHealth {
                    source: "remote".into(),
                    last_success: Some(at(0)),
                    failing_since: Some(at(5)),
                    failures: 2,
                    errors_total: 2,
                    last_error: Some("HTTP 500".into()),
                },
            ]
        );
        assert!(health[1].is_failing() && !health[0].is_failing());

        store
            .record_source_reads(&[read("remote", None), read("content", None)], at(15))
            .unwrap();
        let remote = &store.source_health().unwrap()[1];
        assert_eq!(
            remote,
            &SourceHealth {
                source: "remote".into(),
                last_success: Some(at(15)),
                errors_total: 2,
                ..SourceHealth::default()
            }
        );
    }

    #[test]
    fn a_source_gone_from_the_config_is_forgotten_and_a_hand_edited_row_reads_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        store
            .record_source_reads(&[read("old", Some("gone"))], now())
            .unwrap();
        store.set_meta("source_health:mangled", "not json").unwrap();
        store
            .record_source_reads(&[read("mangled", Some("HTTP 503"))], now())
            .unwrap();
        let health = store.source_health().unwrap();
        assert_eq!(health.len(), 1, "{health:?}");
        assert_eq!(health[0].source, "mangled");
        assert_eq!((health[0].failures, health[0].errors_total), (1, 1));
        assert_eq!(store.meta("source_health:old").unwrap(), None);
    }

    #[test]
    fn a_deferred_baseline_is_marked_until_its_source_records_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let deferred = |source: &str, announce| DeferredBaseline {
            source: source.into(),
            announce,
        };
        store
            .apply(
                &Batch {
                    baseline: true,
                    deferred_baselines: vec![deferred("down", false), deferred("late", true)],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(
            store.deferred_baseline("down").unwrap(),
            Some(deferred("down", false))
        );
        assert_eq!(
            store.deferred_baseline("late").unwrap(),
            Some(deferred("late", true))
        );
        assert_eq!(store.deferred_baseline("up").unwrap(), None);
        store
            .apply(
                &Batch {
                    source_baselines: vec!["down".into()],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(store.deferred_baseline("down").unwrap(), None);
        assert!(store.deferred_baseline("late").unwrap().is_some());
    }
}

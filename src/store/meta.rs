//! Key/value metadata: the baseline's time, and per source the settings fingerprint, the
//! HTTP validators of a remote source, the time of its last full read and, for a source the
//! baseline cycle could not read, a mark that its own baseline is still to be recorded.
//!
//! A source's validators are the source's business: the store keeps them as the JSON text it
//! is given and hands that text back, without knowing its shape.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Batch, Store, StoreError, timestamp};

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

/// Key of the time `source` was last read in full.
fn full_read_key(source: &str) -> String {
    format!("source_full_read:{source}")
}

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

impl Store {
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

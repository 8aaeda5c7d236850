//! The entries crier has seen, the documents that failed, and a cycle's [`Batch`] of changes.
//!
//! Each entry is kept with its status, content hash, the fingerprint of the document it came
//! from and its full data as JSON, so that feeds can be rendered without reading the sources
//! again. A document that failed is kept with the fingerprint it failed at and the failure, so
//! that it is reported again without being parsed again until it changes. [`Store::apply`]
//! writes a whole batch (entries, failures, source metadata, deliveries) in one transaction,
//! so "seen" and "to announce" are recorded together or not at all.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Store, StoreError, meta, outbox, timestamp};
use crate::entry::Entry;
use crate::progress::Progress;

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
    /// Key shared by the entry's translations.
    pub translation_key: String,
    /// Public URL of the entry's page.
    pub url: String,
    /// Title as plain text.
    pub title: String,
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

/// A document whose last read failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDocument {
    /// Document key within its source.
    pub doc_key: String,
    /// The document's fingerprint when it failed.
    pub fingerprint: String,
    /// File and line, or URL, of the failure.
    pub location: String,
    /// What is wrong, and what to do.
    pub message: String,
}

/// A source's failed documents after a complete read, replacing those remembered before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFailures {
    /// Source name.
    pub source: String,
    /// Its documents that failed, none when all were read.
    pub documents: Vec<FailedDocument>,
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
    /// Per-source HTTP validators to remember, as the source's own JSON (opaque here).
    pub source_caches: Vec<(String, String)>,
    /// Remote sources read in full this cycle, with the time.
    pub full_reads: Vec<(String, DateTime<Utc>)>,
    /// This cycle is the first: mark the baseline.
    pub baseline: bool,
    /// Sources the baseline cycle could not read: each records its own baseline when first
    /// read completely.
    pub deferred_baselines: Vec<meta::DeferredBaseline>,
    /// Sources whose deferred baseline this cycle records: their entries are baseline entries
    /// and their marks are cleared.
    pub source_baselines: Vec<String>,
    /// Sources read completely, with the documents that failed.
    pub failures: Vec<SourceFailures>,
    /// Deliveries to queue, in the same transaction as the entries they announce.
    pub deliveries: Vec<outbox::NewDelivery>,
    /// Deliveries never attempted, decided again because their entry changed.
    pub reconsidered: Vec<outbox::Reconsidered>,
}

impl Store {
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
                "SELECT id, language, categories, published_ts, content_hash, translation_key,
                        url, title
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
                    translation_key: r.get(5)?,
                    url: r.get(6)?,
                    title: r.get(7)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// The live entries as they will be once `batch` is applied (upserts, then status
    /// changes, as [`Store::apply`] does), so that the feeds can be planned before the batch
    /// is written. `None` when a status change makes an entry live: its row is needed then, and
    /// the caller reads the live entries after applying.
    pub fn live_entries_after(&self, batch: &Batch) -> Result<Option<Vec<LiveEntry>>, StoreError> {
        if batch.statuses.iter().any(|(_, s)| *s == EntryStatus::Live) {
            return Ok(None);
        }
        let mut live: HashMap<String, LiveEntry> = self
            .live_entries()?
            .into_iter()
            .map(|e| (e.id.clone(), e))
            .collect();
        for record in &batch.upserts {
            let id = &record.entry.id;
            if record.status == EntryStatus::Live {
                let entry = LiveEntry {
                    id: id.clone(),
                    language: record.entry.language.clone(),
                    categories: record.entry.categories.clone(),
                    published_ts: record.entry.published.timestamp(),
                    content_hash: record.content_hash.clone(),
                    translation_key: record.entry.translation_key.clone(),
                    url: record.entry.url.clone(),
                    title: record.entry.title.clone(),
                };
                live.insert(id.clone(), entry);
            } else {
                live.remove(id);
            }
        }
        for (id, _) in &batch.statuses {
            live.remove(id);
        }
        Ok(Some(live.into_values().collect()))
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

    /// The documents of `source` whose last read failed, by key.
    pub fn failed_documents(&self, source: &str) -> Result<Vec<FailedDocument>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT doc_key, fingerprint, location, message
                 FROM failed_documents WHERE source = ?1 ORDER BY doc_key",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([source], |r| {
                Ok(FailedDocument {
                    doc_key: r.get(0)?,
                    fingerprint: r.get(1)?,
                    location: r.get(2)?,
                    message: r.get(3)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Applies one cycle's changes in a single transaction.
    pub fn apply(&mut self, batch: &Batch, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.apply_counted(batch, now, Progress::ignored())
    }

    /// [`Store::apply`], counting each entry written and each status changed on `progress`.
    pub fn apply_counted(
        &mut self,
        batch: &Batch,
        now: DateTime<Utc>,
        progress: &Progress,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            error: source,
        };
        let now = timestamp(now);
        let tx = self.conn.transaction().map_err(sql)?;
        write_entries(&tx, batch, &now, progress)
            .and_then(|()| write_failures(&tx, &batch.failures))
            .and_then(|()| meta::write_batch(&tx, batch, &now))
            .and_then(|()| outbox::queue(&tx, &batch.deliveries))
            .and_then(|()| outbox::reconsider(&tx, &batch.reconsidered, &now))
            .map_err(sql)?;
        tx.commit().map_err(sql)
    }
}

/// The entries part of a batch: upserts, fingerprints and status changes, `now` being the
/// cycle's time as stored.
fn write_entries(
    tx: &Transaction<'_>,
    batch: &Batch,
    now: &str,
    progress: &Progress,
) -> rusqlite::Result<()> {
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
            // The entry's own dates, with the offset it was written with: its data, not a
            // time of crier's.
            e.published.to_rfc3339(),
            e.published.timestamp(),
            e.updated.map(|u| u.to_rfc3339()),
            now,
            record.status == EntryStatus::Live
                && (batch.baseline || batch.source_baselines.contains(&record.source)),
            data,
        ])?;
        progress.advance(1);
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
        progress.advance(1);
    }
    Ok(())
}

/// Replaces the remembered failures of each source read completely.
fn write_failures(tx: &Transaction<'_>, failures: &[SourceFailures]) -> rusqlite::Result<()> {
    let mut forget = tx.prepare_cached("DELETE FROM failed_documents WHERE source = ?1")?;
    let mut remember = tx.prepare_cached(
        "INSERT INTO failed_documents (source, doc_key, fingerprint, location, message)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for SourceFailures { source, documents } in failures {
        forget.execute([source])?;
        for d in documents {
            remember.execute(params![
                source,
                d.doc_key,
                d.fingerprint,
                d.location,
                d.message
            ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{entry, now, record};

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
        let b = entry("b", "B");
        // What the feeds need to link an entry's translations without loading it.
        assert_eq!(
            (&live[0].translation_key, &live[0].url, &live[0].title),
            (&b.translation_key, &b.url, &b.title)
        );
        let stored = store.entries_of_source("content").unwrap();
        assert_eq!(stored[1].fingerprint, "2:2");
        assert!(stored[1].was_live);
        let loaded = store.load_entries(&["b", "missing"]).unwrap();
        assert_eq!(loaded, vec![entry("b", "B")]);
    }

    #[test]
    fn live_entries_after_a_batch_are_those_the_store_then_holds() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let first = Batch {
            upserts: vec![
                record(entry("a", "A"), EntryStatus::Live),
                record(entry("b", "B"), EntryStatus::Live),
                record(entry("c", "C"), EntryStatus::Scheduled),
            ],
            ..Batch::default()
        };
        let sorted = |mut live: Vec<LiveEntry>| {
            live.sort_by(|x, y| x.id.cmp(&y.id));
            live
        };
        let expected = store.live_entries_after(&first).unwrap().unwrap();
        store.apply(&first, now()).unwrap();
        assert_eq!(sorted(expected), sorted(store.live_entries().unwrap()));

        // An edit, a new scheduled entry and a withdrawal.
        let second = Batch {
            upserts: vec![
                record(entry("a", "A, edited"), EntryStatus::Live),
                record(entry("d", "D"), EntryStatus::Scheduled),
            ],
            statuses: vec![("b".into(), EntryStatus::Removed)],
            ..Batch::default()
        };
        let expected = store.live_entries_after(&second).unwrap().unwrap();
        store.apply(&second, now()).unwrap();
        let live = sorted(store.live_entries().unwrap());
        assert_eq!(sorted(expected), live);
        assert_eq!(live.len(), 1);

        // An entry becoming live needs its stored row: the store is asked after applying.
        let due = Batch {
            statuses: vec![("c".into(), EntryStatus::Live)],
            ..Batch::default()
        };
        assert!(store.live_entries_after(&due).unwrap().is_none());
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
        assert_eq!(first_seen, "2024-04-01T00:00:00.000000Z");
        assert_eq!(changed_at, "2024-04-02T00:00:00.000000Z");
        assert_eq!(title, "A edited");
    }

    #[test]
    fn failures_replace_those_of_their_source_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let failed = |key: &str, fingerprint: &str| FailedDocument {
            doc_key: key.into(),
            fingerprint: fingerprint.into(),
            location: format!("/c/{key}:2"),
            message: "invalid YAML front matter".into(),
        };
        let failures = |source: &str, documents: Vec<FailedDocument>| SourceFailures {
            source: source.into(),
            documents,
        };
        store
            .apply(
                &Batch {
                    failures: vec![
                        failures(
                            "content",
                            vec![failed("a.md", "1:1"), failed("b.md", "2:2")],
                        ),
                        failures("other", vec![failed("a.md", "3:3")]),
                    ],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(
            store.failed_documents("content").unwrap(),
            [failed("a.md", "1:1"), failed("b.md", "2:2")]
        );
        store
            .apply(
                &Batch {
                    failures: vec![failures("content", vec![failed("b.md", "2:3")])],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(
            store.failed_documents("content").unwrap(),
            [failed("b.md", "2:3")]
        );
        assert_eq!(
            store.failed_documents("other").unwrap(),
            [failed("a.md", "3:3")]
        );
        // A batch that does not name a source (its read failed) leaves its failures alone.
        store.apply(&Batch::default(), now()).unwrap();
        assert_eq!(store.failed_documents("other").unwrap().len(), 1);
        assert!(store.failed_documents("none").unwrap().is_empty());
    }
}

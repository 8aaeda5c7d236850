//! One cycle: read every source, decide with the store what is new, changed, removed or due,
//! record that in one transaction, then render and write the feeds from the store.
//!
//! Feeds are always rebuilt from the store's live entries, so they converge to the recorded
//! state even after a crash between recording and writing; the writer leaves unchanged files
//! alone. A document that fails keeps its last good entry, and a source that fails keeps all of
//! its entries: an outage or a typo never empties a feed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use rayon::prelude::*;
use thiserror::Error;

use crate::config::Config;
use crate::entry::Entry;
use crate::feeds::{self, FeedFile, FeedPlan, Publication, PublishError};
use crate::sources::{self, Document, IdClaims, Outcome, SourceConfig};
use crate::store::outbox::{DeliveryState, NewDelivery};
use crate::store::{Batch, EntryRecord, EntryStatus, Store, StoreError, StoredEntry};

/// A failure that stops the cycle (entry and source problems do not: they are reported).
#[derive(Debug, Error)]
pub enum CycleError {
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The feeds could not be published.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// How to run the cycle.
#[derive(Debug, Clone, Copy)]
pub struct CycleOptions {
    /// The current time (injectable so that tests can move it).
    pub now: DateTime<Utc>,
    /// Write feed files; when false, only report which files would change.
    pub write_feeds: bool,
    /// On the first run, announce the entries already published instead of only recording
    /// them (`--announce-existing`).
    pub announce_existing: bool,
    /// Read remote sources in full, sending no validators (`--full-read`).
    pub full_read: bool,
}

/// An entry named in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    /// Entry id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Public URL.
    pub url: String,
    /// Language.
    pub language: String,
    /// Categories.
    pub categories: Vec<String>,
    /// Publication date.
    pub published: DateTime<FixedOffset>,
}

impl EntryRef {
    fn of(entry: &Entry) -> EntryRef {
        EntryRef {
            id: entry.id.clone(),
            title: entry.title.clone(),
            url: entry.url.clone(),
            language: entry.language.clone(),
            categories: entry.categories.clone(),
            published: entry.published,
        }
    }
}

/// What a cycle found and did.
#[derive(Debug, Default)]
pub struct CycleReport {
    /// This cycle recorded the baseline: entries already published are not new.
    pub baseline: bool,
    /// Entries recorded by the baseline.
    pub baseline_entries: usize,
    /// Entries published for the first time (what later gets announced).
    pub new: Vec<EntryRef>,
    /// Live entries whose content changed.
    pub changed: Vec<EntryRef>,
    /// Entries that came back after being withdrawn (not announced again).
    pub restored: Vec<EntryRef>,
    /// Entries withdrawn: file deleted or turned into a draft.
    pub removed: Vec<String>,
    /// Entries dated in the future, waiting.
    pub scheduled: Vec<EntryRef>,
    /// Documents that were not parsed because they had not changed.
    pub unchanged: usize,
    /// Drafts and other deliberately skipped documents.
    pub skipped: usize,
    /// Problems with single documents or whole sources, each naming its file or source.
    pub errors: Vec<String>,
    /// The sources that could not be read (their errors are in `errors` too).
    pub failed_sources: Vec<FailedSource>,
    /// Feed files, sorted by path.
    pub feeds: Vec<FeedFile>,
    /// Deliveries queued for the new entries (pending, or held by a flood guard).
    pub queued: Vec<NewDelivery>,
}

/// A source that could not be read in a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedSource {
    /// The source's name.
    pub source: String,
    /// Why.
    pub error: String,
}

impl CycleReport {
    /// Number of feed files whose bytes changed.
    pub fn feeds_changed(&self) -> usize {
        self.feeds.iter().filter(|f| f.changed).count()
    }
}

/// Runs one cycle against `store`.
pub fn run(
    config: &Config,
    store: &mut Store,
    options: CycleOptions,
) -> Result<CycleReport, CycleError> {
    let baseline = !store.has_baseline()?;
    let mut report = CycleReport {
        baseline,
        ..CycleReport::default()
    };
    let mut batch = Batch {
        baseline,
        ..Batch::default()
    };
    let mut claimed = IdClaims::default();

    for source in &config.sources {
        read_source(
            config,
            store,
            source,
            &options,
            &mut claimed,
            &mut batch,
            &mut report,
        )?;
    }

    // Entries that became due or came back were not parsed: complete them from the state
    // before deciding whom to announce them to.
    fill_light_refs(store, &mut report)?;
    if baseline {
        report.baseline_entries = report.new.len();
        if !options.announce_existing {
            report.new.clear();
        }
    }
    batch.deliveries = queue_announcements(config, &report.new, options.now);
    report.queued = batch.deliveries.clone();
    let entries_changed = !batch.upserts.is_empty() || !batch.statuses.is_empty();
    // The feeds are planned once, from the live entries the cycle leaves, before recording:
    // SQLite records on one core while the others sanitise the fresh entries some feed shows.
    let plan = match entries_changed {
        true => store
            .live_entries_after(&batch)?
            .map(|live| FeedPlan::new(&config.site, &config.feeds, live)),
        false => None,
    };
    let started = std::time::Instant::now();
    let (applied, mut bodies) = rayon::join(
        || store.apply(&batch, options.now),
        || match &plan {
            Some(plan) => {
                plan.prepare_shown(&config.feeds, batch.upserts.par_iter().map(|r| &r.entry))
            }
            None => HashMap::new(),
        },
    );
    applied?;
    tracing::debug!(
        upserts = batch.upserts.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "state recorded"
    );
    let started = std::time::Instant::now();
    let publication = Publication {
        plan,
        // Entries parsed this cycle go straight to the renderers instead of being read back;
        // without a plan made before recording, they are read back and prepared then.
        fresh: batch
            .upserts
            .into_iter()
            .filter_map(|r| {
                let mut entry = r.entry;
                entry.content = bodies.remove(&entry.id)?;
                Some((entry.id.clone(), entry))
            })
            .collect(),
        entries_changed,
        write: options.write_feeds,
    };
    report.feeds = feeds::publish(&config.site, &config.feeds, store, publication)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "feeds done"
    );
    Ok(report)
}

/// Reads one source and compares its documents with what the store holds for it. A source
/// that cannot be read is reported and leaves its entries as they were.
fn read_source(
    config: &Config,
    store: &Store,
    source_config: &SourceConfig,
    options: &CycleOptions,
    claimed: &mut IdClaims,
    batch: &mut Batch,
    report: &mut CycleReport,
) -> Result<(), StoreError> {
    let source = sources::build(&config.site, source_config);
    let name = source.name().to_owned();
    let settings = source_config.fingerprint(&config.site);
    let stored = store.entries_of_source(&name)?;
    // New settings (a permalink pattern, say) can change every entry: parse everything.
    let known = if store.source_fingerprint(&name)?.as_deref() == Some(settings.as_str()) {
        known_documents(&stored)
    } else {
        HashMap::new()
    };
    let last_full_read = store
        .source_full_read(&name)?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc));
    let full_read = sources::full_read_due(
        source_config,
        last_full_read,
        options.now,
        options.full_read,
    );
    // Validators only make sense next to the entries they vouch for.
    let kept = sources::cache_from_json(store.source_cache(&name)?.as_deref());
    let cache = if known.is_empty() || full_read {
        sources::Cache::new()
    } else {
        kept.clone()
    };
    let live = stored
        .iter()
        .filter(|s| s.status == EntryStatus::Live)
        .count();
    let started = std::time::Instant::now();
    let read = source
        .read(&sources::ReadInput {
            known: &known,
            cache: &cache,
        })
        .and_then(|read| sources::check_complete(source_config, &read, live).map(|()| read));
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            tracing::error!(source = %name, error = %e, "source skipped; its entries stay as they were");
            report
                .errors
                .push(format!("{e}; its entries stay as they were"));
            report.failed_sources.push(FailedSource {
                source: name,
                error: e.to_string(),
            });
            return Ok(());
        }
    };
    if full_read {
        batch.full_reads.push((name.clone(), options.now));
    }
    if read.cache != kept {
        batch
            .source_caches
            .push((name.clone(), sources::cache_to_json(&read.cache)));
    }
    tracing::debug!(source = %name, documents = read.documents.len(), elapsed_ms = started.elapsed().as_millis() as u64, "source read");
    diff_source(
        &name,
        read.documents,
        &stored,
        options.now,
        claimed,
        batch,
        report,
    );
    batch.source_fingerprints.push((name, settings));
    Ok(())
}

/// The fingerprints of the documents behind the stored entries. Withdrawn entries are not
/// "known": a remote source answering 304 reports every known document unchanged, which must
/// not bring withdrawn ones back.
fn known_documents(stored: &[StoredEntry]) -> HashMap<String, String> {
    stored
        .iter()
        .filter(|s| s.status != EntryStatus::Removed)
        .map(|s| (s.doc_key.clone(), s.fingerprint.clone()))
        .collect()
}

/// Compares one source's documents with what the store holds for it.
fn diff_source(
    source: &str,
    documents: Vec<Document>,
    stored: &[StoredEntry],
    now: DateTime<Utc>,
    claimed: &mut IdClaims,
    batch: &mut Batch,
    report: &mut CycleReport,
) {
    let mut by_doc: HashMap<&str, Vec<&StoredEntry>> = HashMap::new();
    for s in stored {
        by_doc.entry(s.doc_key.as_str()).or_default().push(s);
    }
    let mut diff = SourceDiff {
        source,
        now,
        by_id: stored.iter().map(|s| (s.id.as_str(), s)).collect(),
        claimed,
        batch,
        report,
        leaving: Vec::new(),
    };
    // Hashing serialises every entry: use every core.
    let prepared: Vec<(Document, Option<String>)> = documents
        .into_par_iter()
        .map(|doc| {
            let hash = match &doc.outcome {
                Outcome::Parsed(entry) => Some(entry.content_hash()),
                _ => None,
            };
            (doc, hash)
        })
        .collect();
    let mut seen_docs: HashSet<String> = HashSet::new();
    for (doc, hash) in prepared {
        seen_docs.insert(doc.key.clone());
        let previous = by_doc.get(doc.key.as_str()).cloned().unwrap_or_default();
        diff.document(doc, hash, previous);
    }
    let gone = stored.iter().filter(|s| !seen_docs.contains(&s.doc_key));
    let leaving = std::mem::take(&mut diff.leaving);
    for old in leaving.into_iter().chain(gone) {
        // An id another document published this cycle lives on under that document: a
        // renamed file keeping its `id`, an html entry whose listing link changed.
        if !diff.claimed.is_held(&old.id) {
            withdraw(old, diff.batch, diff.report);
        }
    }
}

/// One source's comparison in progress.
struct SourceDiff<'a, 's> {
    source: &'a str,
    now: DateTime<Utc>,
    by_id: HashMap<&'s str, &'s StoredEntry>,
    claimed: &'a mut IdClaims,
    batch: &'a mut Batch,
    report: &'a mut CycleReport,
    /// Stored entries their document no longer publishes. Withdrawals wait until every
    /// document is read: a later one may claim the same id.
    leaving: Vec<&'s StoredEntry>,
}

impl<'s> SourceDiff<'_, 's> {
    /// Live once its publication time has come, scheduled until then.
    fn status_for(&self, published_ts: i64) -> EntryStatus {
        if published_ts <= self.now.timestamp() {
            EntryStatus::Live
        } else {
            EntryStatus::Scheduled
        }
    }

    /// Records what one document gave; `previous` are the entries it published last time.
    fn document(&mut self, doc: Document, hash: Option<String>, previous: Vec<&'s StoredEntry>) {
        match doc.outcome {
            Outcome::Unchanged => {
                self.report.unchanged += 1;
                for s in previous.iter().filter(|s| s.fingerprint == doc.fingerprint) {
                    self.claimed.hold(&s.id, &doc.key);
                    self.unchanged(s);
                }
            }
            Outcome::Parsed(entry) => {
                if let Err(e) = self.claimed.claim(&entry.id, &doc.key) {
                    let source = self.source;
                    self.report.errors.push(format!("source {source:?}: {e}"));
                    return;
                }
                // An entry whose id changed leaves its old id behind: withdraw it.
                self.leaving
                    .extend(previous.iter().filter(|s| s.id != entry.id));
                let hash = hash.unwrap_or_default();
                self.parsed(*entry, doc.key, doc.fingerprint, hash);
            }
            Outcome::Skipped(reason) => {
                self.report.skipped += 1;
                tracing::debug!(source = self.source, document = %doc.key, reason, "document skipped");
                self.leaving.extend(previous.iter());
            }
            Outcome::Failed(error) => {
                tracing::warn!(source = self.source, error = %error, "entry skipped");
                self.report.errors.push(error.to_string());
                for s in &previous {
                    self.claimed.hold(&s.id, &doc.key);
                }
            }
        }
    }

    /// An entry whose document did not change: only its time may have come.
    fn unchanged(&mut self, s: &StoredEntry) {
        let wanted = self.status_for(s.published_ts);
        // Only the light row is at hand here; `run` fills in title and URL.
        let light = || EntryRef {
            id: s.id.clone(),
            title: String::new(),
            url: String::new(),
            language: String::new(),
            categories: Vec::new(),
            published: DateTime::from_timestamp(s.published_ts, 0)
                .unwrap_or_default()
                .fixed_offset(),
        };
        if wanted == EntryStatus::Scheduled {
            self.report.scheduled.push(light());
        }
        if s.status != wanted {
            self.batch.statuses.push((s.id.clone(), wanted));
            match wanted {
                EntryStatus::Live if s.was_live => self.report.restored.push(light()),
                EntryStatus::Live => self.report.new.push(light()),
                _ => {}
            }
        }
    }

    /// An entry parsed this cycle: new, changed, restored, scheduled or the same as before.
    fn parsed(&mut self, entry: Entry, doc_key: String, fingerprint: String, hash: String) {
        let wanted = self.status_for(entry.published.timestamp());
        let entry_ref = EntryRef::of(&entry);
        let report = &mut *self.report;
        match (wanted, self.by_id.get(entry.id.as_str())) {
            (EntryStatus::Scheduled, _) => report.scheduled.push(entry_ref),
            (_, None) => report.new.push(entry_ref),
            (_, Some(s)) if !s.was_live => report.new.push(entry_ref),
            (_, Some(s)) if s.status == EntryStatus::Removed => report.restored.push(entry_ref),
            (_, Some(s)) if s.content_hash != hash => report.changed.push(entry_ref),
            _ => {}
        }
        self.batch.upserts.push(EntryRecord {
            source: self.source.to_owned(),
            doc_key,
            fingerprint,
            content_hash: hash,
            status: wanted,
            entry,
        });
    }
}

/// Replaces the id-only rows of entries that were not parsed this cycle with their stored data.
fn fill_light_refs(store: &Store, report: &mut CycleReport) -> Result<(), StoreError> {
    let lists = [&mut report.new, &mut report.restored, &mut report.scheduled];
    let ids: Vec<String> = lists
        .iter()
        .flat_map(|l| l.iter())
        .filter(|r| r.url.is_empty())
        .map(|r| r.id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let loaded: HashMap<String, EntryRef> = store
        .load_entries(&id_refs)?
        .iter()
        .map(|e| (e.id.clone(), EntryRef::of(e)))
        .collect();
    for list in lists {
        for r in list.iter_mut().filter(|r| r.url.is_empty()) {
            if let Some(full) = loaded.get(&r.id) {
                *r = full.clone();
            }
        }
    }
    Ok(())
}

fn withdraw(stored: &StoredEntry, batch: &mut Batch, report: &mut CycleReport) {
    if stored.status != EntryStatus::Removed {
        batch
            .statuses
            .push((stored.id.clone(), EntryStatus::Removed));
        if stored.status == EntryStatus::Live {
            report.removed.push(stored.id.clone());
        }
    }
}

/// One delivery per new entry and enabled channel whose language and category filters match.
/// An entry published longer ago than `announce.max_age` is held, not queued for sending.
fn queue_announcements(config: &Config, new: &[EntryRef], now: DateTime<Utc>) -> Vec<NewDelivery> {
    let max_age =
        chrono::Duration::from_std(config.announce.max_age).unwrap_or(chrono::Duration::MAX);
    let mut out = Vec::new();
    for entry in new {
        let too_old = now.signed_duration_since(entry.published.with_timezone(&Utc)) > max_age;
        let wanting = config
            .channels
            .iter()
            .filter(|c| c.wants(&entry.language, &entry.categories));
        for channel in wanting {
            out.push(NewDelivery {
                entry_id: entry.id.clone(),
                channel: channel.common.name.clone(),
                state: if too_old {
                    DeliveryState::Held
                } else {
                    DeliveryState::Pending
                },
                queued_at: now,
                reason: too_old.then(|| {
                    format!(
                        "held: published {}, longer ago than announce.max_age ({}); `crier retry --entry {}` sends it anyway",
                        entry.published.format("%Y-%m-%d"),
                        humantime::format_duration(config.announce.max_age),
                        entry.id
                    )
                }),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Entry;
    use std::path::Path;

    fn record(id: &str, lang: &str, cats: &[&str], day: u32, status: EntryStatus) -> EntryRecord {
        let entry = Entry {
            language: lang.into(),
            categories: cats.iter().map(|c| (*c).into()).collect(),
            ..crate::testing::entry(id, &format!("2024-01-{day:02}T00:00:00Z"))
        };
        EntryRecord {
            content_hash: entry.content_hash(),
            entry,
            source: "s".into(),
            doc_key: format!("{id}.md"),
            fingerprint: "f".into(),
            status,
        }
    }

    #[test]
    fn announcements_follow_channel_filters_and_hold_old_entries() {
        let text = r#"
[site]
title = "T"
base_url = "https://example.org"
languages = ["en", "fr"]
[[sources]]
type = "directory"
path = "c"
[announce]
max_age = "7d"
[[channels]]
type = "mastodon"
name = "fr-only"
languages = ["fr"]
base_url = "https://m.example"
access_token = { env = "T" }
[[channels]]
type = "mastodon"
name = "prize"
categories = ["prize"]
base_url = "https://m.example"
access_token = { env = "T" }
[[channels]]
type = "mastodon"
name = "off"
enabled = false
base_url = "https://m.example"
access_token = { env = "T" }
"#;
        let mut config = Config::parse(text, Path::new("c.toml")).unwrap();
        config.resolve_paths(Path::new("/tmp"));
        config.validate().unwrap();
        let now = DateTime::parse_from_rfc3339("2024-01-20T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let entry = |id: &str, lang: &str, cats: &[&str], day: u32| EntryRef {
            language: lang.into(),
            categories: cats.iter().map(|c| (*c).into()).collect(),
            ..EntryRef::of(&record(id, lang, cats, day, EntryStatus::Live).entry)
        };
        let queued = queue_announcements(
            &config,
            &[
                entry("fr-new", "fr", &[], 19),
                entry("en-prize", "en", &["Prize"], 18),
                entry("fr-old-prize", "fr", &["PRIZE"], 2),
            ],
            now,
        );
        let got: Vec<(&str, &str, DeliveryState)> = queued
            .iter()
            .map(|d| (d.entry_id.as_str(), d.channel.as_str(), d.state))
            .collect();
        assert_eq!(
            got,
            [
                ("fr-new", "fr-only", DeliveryState::Pending),
                ("en-prize", "prize", DeliveryState::Pending),
                ("fr-old-prize", "fr-only", DeliveryState::Held),
                ("fr-old-prize", "prize", DeliveryState::Held),
            ]
        );
        assert!(queued[2].reason.as_deref().unwrap().contains("max_age"));
    }
}

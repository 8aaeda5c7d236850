//! One cycle: read every source, decide with the store what is new, changed, removed or due,
//! record that in one transaction, then render and write the feeds from the store.
//!
//! Feeds are always rebuilt from the store's live entries, so they converge to the recorded
//! state even after a crash between recording and writing; the writer leaves unchanged files
//! alone. A document that fails keeps its last good entry, and a source that fails keeps all of
//! its entries: an outage or a typo never empties a feed.
//!
//! One source cannot stop the others: a read that fails, even by panicking, is reported as
//! that source's error and the cycle goes on. A failure that lasts until its document changes
//! (a broken file) is remembered with the document's fingerprint and reported again from
//! memory, without parsing the document again. The first cycle records the baseline (what is
//! already published is not new); a source it could not read gets its own baseline when it is
//! first read completely, so that its existing entries are not announced as new then.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use rayon::prelude::*;
use thiserror::Error;

use crate::config::Config;
use crate::entry::{Announce, Entry, Refusal};
use crate::feeds::{self, FeedFile, FeedPlan, Publication, PublishError};
use crate::progress::{Phase, Progress};
use crate::site::Site;
use crate::sources::{
    self, Document, EntryError, IdClaims, Outcome, Source, SourceConfig, SourceError,
};
use crate::store::outbox::{Delivery, DeliveryState, NewDelivery, Reconsidered};
use crate::store::{
    Batch, DeferredBaseline, EntryRecord, EntryStatus, FailedDocument, SourceFailures, Store,
    StoreError, StoredEntry,
};

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
    /// Counts each phase's items: documents read, entries recorded, feed files written.
    pub progress: &'static Progress,
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
    /// The entry's own control of its announcements.
    pub announce: Announce,
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
            announce: entry.announce.clone(),
        }
    }
}

/// What a cycle found and did.
#[derive(Debug, Default)]
pub struct CycleReport {
    /// This cycle recorded the baseline: entries already published are not new.
    pub baseline: bool,
    /// Sources the baseline cycle could not read, whose own baseline this cycle recorded.
    pub baseline_sources: Vec<String>,
    /// Entries recorded by the baseline, or by the sources' own baselines.
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

/// Builds the reader of one configured source: [`sources::build`], or a stand-in in tests.
type BuildSource = dyn Fn(&Site, &SourceConfig) -> Box<dyn Source>;

/// What the reads of one cycle add up to.
#[derive(Default)]
struct Reads {
    /// Which document publishes which entry id, across sources.
    claimed: IdClaims,
    /// What to record.
    batch: Batch,
    /// What to report.
    report: CycleReport,
}

/// Runs one cycle against `store`.
pub fn run(
    config: &Config,
    store: &mut Store,
    options: CycleOptions,
) -> Result<CycleReport, CycleError> {
    run_with(config, store, options, &sources::build)
}

/// [`run`], with the sources' readers made by `build`.
fn run_with(
    config: &Config,
    store: &mut Store,
    options: CycleOptions,
    build: &BuildSource,
) -> Result<CycleReport, CycleError> {
    let baseline = !store.has_baseline()?;
    let mut reads = Reads::default();
    reads.report.baseline = baseline;
    reads.batch.baseline = baseline;

    // Whatever stops the cycle, no phase outlives it.
    let _finish = options.progress.finish_on_drop();
    options.progress.phase(Phase::Reading, None);
    for source_config in &config.sources {
        let source = build(&config.site, source_config);
        read_source(config, store, source_config, &*source, &options, &mut reads)?;
    }
    let Reads {
        mut report,
        mut batch,
        ..
    } = reads;

    // Entries that became due or came back were not parsed: complete them from the state
    // before deciding whom to announce them to.
    fill_light_refs(store, &mut report)?;
    if baseline {
        report.baseline_entries += report.new.len();
        if !options.announce_existing {
            report.new.clear();
        }
    }
    batch.deliveries = queue_announcements(config, &report.new, options.now);
    report.queued = batch.deliveries.clone();
    batch.reconsidered = reconsider_announcements(store, &report.changed, options.now)?;
    report.feeds = record_and_publish(config, store, batch, &options)?;
    Ok(report)
}

/// Records `batch` in the store and publishes the feeds. The feeds are planned once, from the
/// live entries the cycle leaves, before recording: SQLite records on one core while the
/// others sanitise the fresh entries some feed shows.
fn record_and_publish(
    config: &Config,
    store: &mut Store,
    batch: Batch,
    options: &CycleOptions,
) -> Result<Vec<FeedFile>, CycleError> {
    let entries_changed = !batch.upserts.is_empty() || !batch.statuses.is_empty();
    let plan = if entries_changed {
        store
            .live_entries_after(&batch)?
            .map(|live| FeedPlan::new(&config.site, &config.feeds, live))
    } else {
        None
    };
    let started = std::time::Instant::now();
    // Each fresh entry counts twice when a plan prepares it for the feeds beside the state
    // recording it: the phase lasts as long as the slower of the two.
    let prepared = if plan.is_some() {
        batch.upserts.len()
    } else {
        0
    };
    let recorded = batch.upserts.len() + batch.statuses.len() + prepared;
    options
        .progress
        .phase(Phase::Recording, Some(recorded as u64));
    let (applied, mut bodies) = rayon::join(
        || store.apply_counted(&batch, options.now, options.progress),
        || match &plan {
            Some(plan) => plan.prepare_shown(
                batch
                    .upserts
                    .par_iter()
                    .inspect(|_| options.progress.advance(1))
                    .map(|r| &r.entry),
            ),
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
    options.progress.phase(Phase::Writing, None);
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
        accounts: syndication_accounts(config),
        progress: options.progress,
    };
    let files = feeds::publish(&config.site, &config.feeds, store, publication)?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "feeds done"
    );
    Ok(files)
}

/// The configured channels' accounts, which the links back to their posts name.
pub(super) fn syndication_accounts(config: &Config) -> feeds::Accounts {
    config
        .channels
        .iter()
        .map(|channel| {
            let account = feeds::ChannelAccount {
                network: channel.network_name().to_owned(),
                account: channel.account(),
            };
            (channel.common.name.clone(), account)
        })
        .collect()
}

/// Reads one source and compares its documents with what the store holds for it. A source
/// that cannot be read is reported and leaves its entries as they were; in the baseline cycle
/// it is marked to record its own baseline when it is first read.
// The steps (what is known, what to send, the read, what to record) share a dozen locals
// read from the store; split apart, each would take most of them as parameters.
fn read_source(
    config: &Config,
    store: &Store,
    source_config: &SourceConfig,
    source: &dyn Source,
    options: &CycleOptions,
    reads: &mut Reads,
) -> Result<(), StoreError> {
    let name = source.name().to_owned();
    let settings = source_config.fingerprint(&config.site);
    let stored = store.entries_of_source(&name)?;
    // New settings (a permalink pattern, say) can change every entry, and mend a failed
    // one (a language added to the site): parse everything.
    let same_settings = store.source_fingerprint(&name)?.as_deref() == Some(settings.as_str());
    let failed = if source.failures_last() {
        store.failed_documents(&name)?
    } else {
        Vec::new()
    };
    let (known, remembered) = if same_settings {
        let remembered = failed.iter().map(|f| (f.doc_key.as_str(), f)).collect();
        (known_documents(&stored, &failed), remembered)
    } else {
        (HashMap::new(), HashMap::new())
    };
    let full_read = full_read_due(store, &name, source_config, options)?;
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
    let input = sources::ReadInput {
        known: &known,
        cache: &cache,
        now: options.now,
        progress: options.progress,
    };
    let read = sources::read_contained(source, &input)
        .and_then(|read| sources::check_complete(source_config, &read, live).map(|()| read));
    let mut read = match read {
        Ok(read) => read,
        Err(e) => {
            skip_source(name, &e, options, reads);
            return Ok(());
        }
    };
    let batch = &mut reads.batch;
    if full_read {
        batch.full_reads.push((name.clone(), options.now));
    }
    if read.cache != kept {
        batch
            .source_caches
            .push((name.clone(), sources::cache_to_json(&read.cache)));
    }
    tracing::debug!(source = %name, documents = read.documents.len(), elapsed_ms = started.elapsed().as_millis() as u64, "source read");
    log_notices(&name, &read.notices);
    if source.failures_last() {
        recall_failures(&mut read.documents, &remembered);
        remember_failures(&name, &read.documents, &failed, batch);
    }
    let deferred = if batch.baseline {
        None
    } else {
        store.deferred_baseline(&name)?
    };
    let before = reads.report.new.len();
    diff_source(
        &name,
        read.documents,
        &stored,
        options.now,
        &mut reads.claimed,
        &mut reads.batch,
        &mut reads.report,
    );
    if let Some(deferred) = deferred {
        record_own_baseline(deferred, before, reads);
    }
    reads.batch.source_fingerprints.push((name, settings));
    Ok(())
}

/// Logs each cause a read noticed once, with its count and first locations.
fn log_notices(name: &str, notices: &sources::Notices) {
    for (level, line) in notices.lines() {
        match level {
            sources::NoticeLevel::Info => tracing::info!(source = %name, "{line}"),
            sources::NoticeLevel::Warning => tracing::warn!(source = %name, "{line}"),
        }
    }
}

/// Reports a source that could not be read; in the baseline cycle, marks it to record its
/// own baseline when it is first read.
fn skip_source(name: String, e: &SourceError, options: &CycleOptions, reads: &mut Reads) {
    tracing::error!(source = %name, error = %e, "source skipped; its entries stay as they were");
    reads
        .report
        .errors
        .push(format!("{e}; its entries stay as they were"));
    reads.report.failed_sources.push(FailedSource {
        source: name.clone(),
        error: e.to_string(),
    });
    if reads.batch.baseline {
        reads.batch.deferred_baselines.push(DeferredBaseline {
            source: name,
            announce: options.announce_existing,
        });
    }
}

/// Records the failures of a source's read when they differ from those the store holds.
fn remember_failures(
    name: &str,
    documents: &[Document],
    held: &[FailedDocument],
    batch: &mut Batch,
) {
    let failing = failures_of(documents);
    if failing != held {
        batch.failures.push(SourceFailures {
            source: name.to_owned(),
            documents: failing,
        });
    }
}

/// Turns the documents a source found unchanged at the fingerprint they failed at into that
/// failure again: they were not parsed, and would fail the same way.
fn recall_failures(documents: &mut [Document], remembered: &HashMap<&str, &FailedDocument>) {
    for doc in documents {
        let Some(failed) = remembered.get(doc.key.as_str()) else {
            continue;
        };
        if matches!(doc.outcome, Outcome::Unchanged) && doc.fingerprint == failed.fingerprint {
            doc.outcome = Outcome::Failed(EntryError {
                location: failed.location.clone(),
                message: failed.message.clone(),
            });
        }
    }
}

/// The failed documents of a read that a fingerprint vouches for, sorted by key (the store's
/// order).
fn failures_of(documents: &[Document]) -> Vec<FailedDocument> {
    let mut failing: Vec<FailedDocument> = documents
        .iter()
        .filter(|d| !d.fingerprint.is_empty())
        .filter_map(|d| match &d.outcome {
            Outcome::Failed(e) => Some(FailedDocument {
                doc_key: d.key.clone(),
                fingerprint: d.fingerprint.clone(),
                location: e.location.clone(),
                message: e.message.clone(),
            }),
            _ => None,
        })
        .collect();
    failing.sort_by(|a, b| a.doc_key.cmp(&b.doc_key));
    failing
}

/// Records the baseline of a source the baseline cycle could not read, now that it was read:
/// the entries it found new since `before` in the report's list are its existing ones.
fn record_own_baseline(deferred: DeferredBaseline, before: usize, reads: &mut Reads) {
    let existing = reads.report.new.split_off(before);
    tracing::info!(
        source = %deferred.source,
        entries = existing.len(),
        "source read for the first time since the baseline: its own baseline is recorded, existing entries are not new"
    );
    reads.report.baseline_entries += existing.len();
    if deferred.announce {
        reads.report.new.extend(existing);
    }
    reads.report.baseline_sources.push(deferred.source.clone());
    reads.batch.source_baselines.push(deferred.source);
}

/// Whether this read of the remote source `name` must do without the validators kept from
/// the last.
fn full_read_due(
    store: &Store,
    name: &str,
    source: &SourceConfig,
    options: &CycleOptions,
) -> Result<bool, StoreError> {
    let last_full_read = store
        .source_full_read(name)?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(sources::full_read_due(
        source,
        last_full_read,
        options.now,
        options.full_read,
    ))
}

/// The fingerprints of the documents behind the stored entries, and of the documents that
/// failed (a failure is newer than the entry its document published before). Withdrawn
/// entries are not "known": a remote source answering 304 reports every known document
/// unchanged, which must not bring withdrawn ones back.
fn known_documents(stored: &[StoredEntry], failed: &[FailedDocument]) -> HashMap<String, String> {
    let entries = stored
        .iter()
        .filter(|s| s.status != EntryStatus::Removed)
        .map(|s| (s.doc_key.clone(), s.fingerprint.clone()));
    let failures = failed
        .iter()
        .map(|f| (f.doc_key.clone(), f.fingerprint.clone()));
    entries.chain(failures).collect()
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
        failures: sources::Notices::default(),
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
    log_notices(source, &diff.failures);
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
    /// The documents that failed, by cause: one cause met in thousands of files (a language
    /// missing from `site.languages`) is logged once, with a count and the first files.
    failures: sources::Notices,
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
                self.report.errors.push(error.to_string());
                self.failures.add(
                    sources::NoticeLevel::Warning,
                    format!("entry skipped: {}", error.message),
                    error.location,
                );
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
            announce: Announce::default(),
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
/// An entry published longer ago than `announce.max_age` is held, not queued for sending; so
/// is one whose own control keeps it off the channel (`announce = false`, `skip`, `channels`),
/// held rather than left out so that `crier plan` and `crier status` show why it is not
/// posted. An entry's `announce_at` still to come makes its deliveries due then.
fn queue_announcements(config: &Config, new: &[EntryRef], now: DateTime<Utc>) -> Vec<NewDelivery> {
    let max_age =
        chrono::Duration::from_std(config.announce.max_age).unwrap_or(chrono::Duration::MAX);
    let mut out = Vec::new();
    for entry in new {
        let at = entry.announce.at.map(|at| at.with_timezone(&Utc));
        let later = at.filter(|at| *at > now);
        // An entry held back on purpose ages from the time it asked for.
        let since = at.map_or(entry.published, |at| at.fixed_offset().max(entry.published));
        let too_old = now.signed_duration_since(since.with_timezone(&Utc)) > max_age;
        let wanting = config
            .channels
            .iter()
            .filter(|c| c.wants(&entry.language, &entry.categories));
        for channel in wanting {
            let name = &channel.common.name;
            let (state, reason) = if let Some(refusal) = entry.announce.refusal(name) {
                (DeliveryState::Held, Some(held_by_entry(refusal, name)))
            } else if too_old {
                let reason = format!(
                    "held: published {}, {HELD_BY_MAX_AGE} ({}); `crier retry --entry {}` sends it anyway",
                    entry.published.format("%Y-%m-%d"),
                    humantime::format_duration(config.announce.max_age),
                    entry.id
                );
                (DeliveryState::Held, Some(reason))
            } else {
                let reason = later.map(announce_at_reason);
                (DeliveryState::Pending, reason)
            };
            out.push(NewDelivery {
                entry_id: entry.id.clone(),
                channel: name.clone(),
                state,
                queued_at: now,
                due_at: later.filter(|_| state == DeliveryState::Pending),
                reason,
            });
        }
    }
    out
}

/// How every reason [`held_by_entry`] gives starts.
const HELD_BY_ENTRY: &str = "held: the entry";

/// What every reason of a hold by `announce.max_age` says.
const HELD_BY_MAX_AGE: &str = "longer ago than announce.max_age";

/// How every reason [`announce_at_reason`] gives starts.
const WAITS_FOR_ENTRY: &str = "waits for announce_at";

/// Why a delivery to `channel` is held by its entry's own control.
pub fn held_by_entry(refusal: Refusal, channel: &str) -> String {
    format!(
        "{HELD_BY_ENTRY}{}; edit the entry to announce it here",
        refusal
            .explain(channel)
            .strip_prefix("the entry")
            .unwrap_or_default()
    )
}

/// Whether a delivery's reason says it waits for its entry's `announce_at`.
pub fn is_waiting_for_entry(reason: &str) -> bool {
    reason.starts_with(WAITS_FOR_ENTRY)
}

/// Whether a delivery's reason says `announce.max_age` holds it.
pub fn is_held_by_max_age(reason: &str) -> bool {
    reason.starts_with("held: published") && reason.contains(HELD_BY_MAX_AGE)
}

/// Whether a delivery's reason says its entry's own control holds it.
pub fn is_held_by_entry(reason: &str) -> bool {
    reason.starts_with(HELD_BY_ENTRY)
}

/// The deliveries of edited entries that were never attempted, decided again from what the
/// entry says now: a channel it now keeps itself off is held; one it held itself off and now
/// allows is released, due at its `announce_at` or now; a changed `announce_at` moves the due
/// time. A hold by `announce.max_age` stays: only `crier retry` lifts it.
fn reconsider_announcements(
    store: &Store,
    changed: &[EntryRef],
    now: DateTime<Utc>,
) -> Result<Vec<Reconsidered>, StoreError> {
    let mut out = Vec::new();
    for entry in changed {
        for delivery in store.unattempted_deliveries(&entry.id)? {
            if let Some(decided) = decide_again(entry, &delivery, now) {
                out.push(decided);
            }
        }
    }
    Ok(out)
}

/// What `entry`, as it now reads, makes of its never attempted `delivery`; `None` when that
/// is what it already is.
fn decide_again(entry: &EntryRef, delivery: &Delivery, now: DateTime<Utc>) -> Option<Reconsidered> {
    let reason = delivery.last_error.as_deref().unwrap_or_default();
    let held_by_entry_before = delivery.state == DeliveryState::Held && is_held_by_entry(reason);
    let later = (entry.announce.at)
        .map(|at| at.with_timezone(&Utc))
        .filter(|at| *at > now);
    let decided = match entry.announce.refusal(&delivery.channel) {
        Some(refusal) => Reconsidered {
            id: delivery.id,
            state: DeliveryState::Held,
            due_at: delivery.due_at,
            reason: Some(held_by_entry(refusal, &delivery.channel)),
        },
        None if held_by_entry_before || delivery.state == DeliveryState::Pending => {
            let waited = is_waiting_for_entry(reason);
            let due_at = match later {
                Some(at) => at,
                // Released, or no longer waiting for a time that moved or went: due now.
                None if held_by_entry_before || waited => now,
                // Pending for another reason (a cap or spacing moved it): left as it is.
                None => delivery.due_at,
            };
            let reason = match later {
                Some(at) => Some(announce_at_reason(at)),
                None if held_by_entry_before || waited => None,
                None => delivery.last_error.clone(),
            };
            Reconsidered {
                id: delivery.id,
                state: DeliveryState::Pending,
                due_at,
                reason,
            }
        }
        // Held by announce.max_age: the operator's to release.
        None => return None,
    };
    let same = decided.state == delivery.state
        && decided.due_at == delivery.due_at
        && decided.reason == delivery.last_error;
    (!same).then_some(decided)
}

/// Why a delivery waits for its entry's `announce_at`.
pub fn announce_at_reason(at: DateTime<Utc>) -> String {
    format!("{WAITS_FOR_ENTRY} {}", at.to_rfc3339())
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
        // The log groups these holds by what their reason says, and only these.
        let reasons: Vec<&str> = queued.iter().filter_map(|d| d.reason.as_deref()).collect();
        assert!(reasons.iter().all(|r| is_held_by_max_age(r)), "{reasons:?}");
        assert!(!is_held_by_max_age(&held_by_entry(Refusal::Off, "prize")));
    }

    #[test]
    fn the_entrys_own_control_chooses_holds_and_times_its_deliveries() {
        use crate::entry::Announce;
        let text = r#"
[site]
title = "T"
base_url = "https://example.org"
[[sources]]
type = "directory"
path = "c"
[announce]
max_age = "7d"
[[channels]]
type = "mastodon"
name = "masto"
base_url = "https://m.example"
access_token = { env = "T" }
[[channels]]
type = "mastodon"
name = "x"
base_url = "https://m2.example"
access_token = { env = "T" }
"#;
        let mut config = Config::parse(text, Path::new("c.toml")).unwrap();
        config.resolve_paths(Path::new("/tmp"));
        config.validate().unwrap();
        let now = DateTime::parse_from_rfc3339("2024-01-20T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let entry = |id: &str, day: u32, announce: Announce| EntryRef {
            announce,
            ..EntryRef::of(&record(id, "en", &[], day, EntryStatus::Live).entry)
        };
        let at = DateTime::parse_from_rfc3339("2024-01-22T09:00:00+01:00").unwrap();
        let queued = queue_announcements(
            &config,
            &[
                entry(
                    "off",
                    19,
                    Announce {
                        enabled: false,
                        ..Announce::default()
                    },
                ),
                entry(
                    "only",
                    19,
                    Announce {
                        channels: Some(vec!["masto".into()]),
                        ..Announce::default()
                    },
                ),
                entry(
                    "skip",
                    19,
                    Announce {
                        skip: vec!["masto".into()],
                        ..Announce::default()
                    },
                ),
                // Published long ago but announced later on purpose: not too old.
                entry(
                    "later",
                    1,
                    Announce {
                        at: Some(at),
                        ..Announce::default()
                    },
                ),
            ],
            now,
        );
        let got: Vec<(&str, &str, DeliveryState, Option<&str>)> = queued
            .iter()
            .map(|d| {
                let reason = d
                    .reason
                    .as_deref()
                    .map(|r| r.split(';').next().unwrap_or(r));
                (d.entry_id.as_str(), d.channel.as_str(), d.state, reason)
            })
            .collect();
        let held = DeliveryState::Held;
        let pending = DeliveryState::Pending;
        assert_eq!(
            got,
            [
                (
                    "off",
                    "masto",
                    held,
                    Some("held: the entry says `announce = false`")
                ),
                (
                    "off",
                    "x",
                    held,
                    Some("held: the entry says `announce = false`")
                ),
                ("only", "masto", pending, None),
                (
                    "only",
                    "x",
                    held,
                    Some("held: the entry's `channels` list does not name channel \"x\"")
                ),
                (
                    "skip",
                    "masto",
                    held,
                    Some("held: the entry's `skip` names channel \"masto\"")
                ),
                ("skip", "x", pending, None),
                (
                    "later",
                    "masto",
                    pending,
                    Some("waits for announce_at 2024-01-22T08:00:00+00:00")
                ),
                (
                    "later",
                    "x",
                    pending,
                    Some("waits for announce_at 2024-01-22T08:00:00+00:00")
                ),
            ]
        );
        assert_eq!(queued[6].due_at, Some(at.with_timezone(&Utc)));
        assert!(queued[..6].iter().all(|d| d.due_at.is_none()));
    }

    #[test]
    fn an_edited_control_decides_again_what_was_never_attempted() {
        use crate::entry::Announce;
        let now = DateTime::parse_from_rfc3339("2024-01-20T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let later = now + chrono::Duration::hours(5);
        let delivery = |state, reason: Option<String>, due_at| Delivery {
            id: 1,
            entry_id: "e".into(),
            channel: "masto".into(),
            state,
            attempts: 0,
            queued_at: now,
            due_at,
            last_error: reason,
            remote_url: None,
            post: None,
        };
        let entry = |announce: Announce| EntryRef {
            announce,
            ..EntryRef::of(&record("e", "en", &[], 19, EntryStatus::Live).entry)
        };
        let off = Announce {
            enabled: false,
            ..Announce::default()
        };
        let at = Announce {
            at: Some(later.fixed_offset()),
            ..Announce::default()
        };
        let held = held_by_entry(Refusal::Off, "masto");
        let pending = delivery(DeliveryState::Pending, None, now);
        let held_by_entry = delivery(DeliveryState::Held, Some(held.clone()), now);
        let too_old = delivery(DeliveryState::Held, Some("held: published …".into()), now);
        let waiting = delivery(
            DeliveryState::Pending,
            Some(announce_at_reason(later)),
            later,
        );

        let decided = |e: &Announce, d: &Delivery| {
            decide_again(&entry(e.clone()), d, now).map(|r| (r.state, r.due_at, r.reason))
        };
        // Turned off: held with the entry's reason.
        assert_eq!(
            decided(&off, &pending),
            Some((DeliveryState::Held, now, Some(held.clone())))
        );
        // Turned on again: released, due now or at its announce_at.
        let plain = Announce::default();
        assert_eq!(
            decided(&plain, &held_by_entry),
            Some((DeliveryState::Pending, now, None))
        );
        assert_eq!(
            decided(&at, &held_by_entry),
            Some((
                DeliveryState::Pending,
                later,
                Some(announce_at_reason(later))
            ))
        );
        // announce_at removed: due now; unchanged: nothing to do.
        assert_eq!(
            decided(&plain, &waiting),
            Some((DeliveryState::Pending, now, None))
        );
        assert_eq!(decided(&at, &waiting), None);
        assert_eq!(decided(&plain, &pending), None);
        // A hold by max_age is the operator's to lift.
        assert_eq!(decided(&plain, &too_old), None);
    }

    /// A site under `root` with one directory source per name in `folders`, reading the folder
    /// of that name; feeds go to `root/feeds`.
    fn folders(root: &Path, folders: &[&str]) -> Config {
        let mut text = "[site]\ntitle = \"T\"\nbase_url = \"https://example.org\"\n".to_owned();
        for name in folders {
            text.push_str(&format!(
                "[[sources]]\ntype = \"directory\"\nname = \"{name}\"\npath = \"{name}\"\n"
            ));
        }
        let mut config = Config::parse(&text, &root.join("crier.toml")).unwrap();
        config.resolve_paths(root);
        config.validate().unwrap();
        config
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn options(day: u32) -> CycleOptions {
        CycleOptions {
            now: DateTime::parse_from_rfc3339(&format!("2024-03-{day:02}T12:00:00Z"))
                .unwrap()
                .with_timezone(&Utc),
            write_feeds: true,
            announce_existing: false,
            full_read: false,
            progress: Progress::ignored(),
        }
    }

    fn post(title: &str, day: u32) -> String {
        format!("---\ntitle: {title}\ndate: 2024-03-{day:02}\n---\nBody\n")
    }

    /// A source whose read panics, as feed-rs did on a big-endian UTF-16 feed.
    struct Panicking;

    impl Source for Panicking {
        fn name(&self) -> &str {
            "bad"
        }

        fn read(&self, _: &sources::ReadInput<'_>) -> Result<sources::Read, sources::SourceError> {
            panic!("set_encoding() called after prefix buffer was drained")
        }
    }

    #[test]
    fn a_panicking_source_is_reported_and_the_other_sources_publish_and_keep_its_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "good/a.md", &post("Good", 1));
        write(root, "bad/b.md", &post("Bad", 2));
        let config = folders(root, &["good", "bad"]);
        let mut store = Store::open(&root.join("state.sqlite3")).unwrap();
        let panicking = |site: &Site, source: &SourceConfig| -> Box<dyn Source> {
            if source.name() == "bad" {
                Box::new(Panicking)
            } else {
                sources::build(site, source)
            }
        };

        let report = run_with(&config, &mut store, options(10), &panicking).unwrap();
        assert!(report.baseline);
        assert_eq!(report.baseline_entries, 1);
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert!(
            report.errors[0].starts_with("source \"bad\": reading it failed unexpectedly (set_encoding() called after prefix buffer was drained)"),
            "{}",
            report.errors[0]
        );
        let atom = std::fs::read_to_string(root.join("feeds/atom.xml")).unwrap();
        assert!(atom.contains("<title>Good</title>"), "{atom}");
        assert!(store.deferred_baseline("bad").unwrap().is_some());

        // Read at last, the source records its own baseline: its entry is not new.
        let report = run(&config, &mut store, options(11)).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert!(!report.baseline);
        assert_eq!(report.baseline_sources, ["bad"]);
        assert_eq!(report.baseline_entries, 1);
        assert!(report.new.is_empty(), "{:?}", report.new);
        assert!(report.queued.is_empty());
        assert_eq!(store.deferred_baseline("bad").unwrap(), None);
        let atom = std::fs::read_to_string(root.join("feeds/atom.xml")).unwrap();
        assert!(atom.contains("<title>Bad</title>"), "{atom}");
        // From then on its entries are new as any other source's.
        write(root, "bad/c.md", &post("Later", 11));
        let report = run(&config, &mut store, options(12)).unwrap();
        assert!(report.baseline_sources.is_empty());
        let new: Vec<&str> = report.new.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(new, ["Later"]);
    }

    #[test]
    fn a_broken_file_is_reported_every_cycle_but_not_parsed_again_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "content/ok.md", &post("Fine", 1));
        // An unclosed flow sequence; the fix below has the same length.
        let broken = "---\ntitle: [Fixed\ndate: 2024-03-02\n---\nBody\n";
        let fixed = "---\ntitle: Fixed!\ndate: 2024-03-02\n---\nBody\n";
        assert_eq!(broken.len(), fixed.len());
        write(root, "content/broken.md", broken);
        let config = folders(root, &["content"]);
        let mut store = Store::open(&root.join("state.sqlite3")).unwrap();

        let first = run(&config, &mut store, options(10)).unwrap();
        assert_eq!(first.errors.len(), 1, "{:?}", first.errors);
        assert!(
            first.errors[0].contains("broken.md:3: invalid YAML front matter"),
            "{:?}",
            first.errors
        );
        let remembered = store.failed_documents("content").unwrap();
        assert_eq!(remembered.len(), 1);
        assert_eq!(remembered[0].doc_key, "broken.md");

        // Same size and modification time: the store's memory answers, the file is not read.
        let path = root.join("content/broken.md");
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, fixed).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(modified).unwrap();
        drop(file);
        let second = run(&config, &mut store, options(11)).unwrap();
        assert_eq!(second.errors, first.errors);
        assert!(second.new.is_empty(), "{:?}", second.new);
        assert_eq!(second.unchanged, 1);

        // Saved again: parsed, published, forgotten as a failure.
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(modified + std::time::Duration::from_secs(60))
            .unwrap();
        drop(file);
        let third = run(&config, &mut store, options(12)).unwrap();
        assert!(third.errors.is_empty(), "{:?}", third.errors);
        let new: Vec<&str> = third.new.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(new, ["Fixed!"]);
        assert!(store.failed_documents("content").unwrap().is_empty());
    }

    #[test]
    fn failures_without_a_fingerprint_are_not_remembered() {
        let failed = |key: &str, fingerprint: &str| Document {
            key: key.into(),
            fingerprint: fingerprint.into(),
            outcome: Outcome::Failed(EntryError {
                location: format!("/c/{key}"),
                message: "cannot read the file: permission denied".into(),
            }),
        };
        let documents = [
            failed("b.md", "1:1"),
            failed("a.md", ""),
            failed("c.md", "2:2"),
        ];
        let keys: Vec<String> = failures_of(&documents)
            .into_iter()
            .map(|f| f.doc_key)
            .collect();
        assert_eq!(keys, ["b.md", "c.md"]);
    }
}

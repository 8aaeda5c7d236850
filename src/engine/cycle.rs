//! One cycle: read every source, decide with the store what is new, changed, removed or due,
//! record that in one transaction, then render and write the feeds from the store.
//!
//! Feeds are always rebuilt from the store's live entries, so they converge to the recorded
//! state even after a crash between recording and writing; the writer leaves unchanged files
//! alone. A document that fails keeps its last good entry, and a source that fails keeps all of
//! its entries: an outage or a typo never empties a feed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use rayon::prelude::*;
use thiserror::Error;

use crate::config::Config;
use crate::entry::Entry;
use crate::feeds::FeedFormat;
use crate::feeds::set::FeedSpec;
use crate::feeds::writer::StreamError;
use crate::feeds::{self, FeedError};
use crate::sources::{self, Document, Outcome};
use crate::store::outbox::{DeliveryState, NewDelivery};
use crate::store::{Batch, EntryRecord, EntryStatus, LiveEntry, Store, StoreError, StoredEntry};

/// A failure that stops the cycle (entry and source problems do not: they are reported).
#[derive(Debug, Error)]
pub enum CycleError {
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A feed could not be rendered.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// A feed file could not be written.
    #[error(
        "cannot write feed file {path}: {error}; check that the folder exists and is writable by crier"
    )]
    Write {
        /// The feed file.
        path: PathBuf,
        /// The I/O error (in the message, so not a `#[source]`).
        error: std::io::Error,
    },
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

/// A feed file the cycle produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFile {
    /// Path on disk.
    pub path: PathBuf,
    /// Number of entries in it.
    pub items: usize,
    /// Whether its bytes differ from what was on disk (and, unless dry, were written).
    pub changed: bool,
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
    /// Feed files, in writing order.
    pub feeds: Vec<FeedFile>,
    /// Deliveries queued for the new entries (pending, or held by a flood guard).
    pub queued: Vec<NewDelivery>,
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
    let mut claimed: HashMap<String, String> = HashMap::new();

    for source_config in &config.sources {
        let source = sources::build(&config.site, source_config);
        let name = source.name().to_owned();
        let settings = source_config.fingerprint(&config.site);
        let stored = store.entries_of_source(&name)?;
        // New settings (a permalink pattern, say) can change every entry: parse everything.
        let same_settings = store.source_fingerprint(&name)?.as_deref() == Some(settings.as_str());
        // Withdrawn entries are not "known": a remote source answering 304 reports every known
        // document unchanged, which must not bring withdrawn ones back.
        let known: HashMap<String, String> = if same_settings {
            stored
                .iter()
                .filter(|s| s.status != EntryStatus::Removed)
                .map(|s| (s.doc_key.clone(), s.fingerprint.clone()))
                .collect()
        } else {
            HashMap::new()
        };
        // Validators only make sense next to the entries they vouch for, and a full read now
        // and then catches edits the server's validators miss.
        let full_read_due = match source_config.http() {
            None => false,
            Some(_) if options.full_read => true,
            Some(http) => {
                let last = store.source_full_read(&name)?;
                let last = last.and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
                let every = chrono::Duration::from_std(http.full_read_interval())
                    .unwrap_or(chrono::Duration::MAX);
                last.is_none_or(|last| options.now.signed_duration_since(last) >= every)
            }
        };
        let kept = sources::cache_from_json(store.source_cache(&name)?.as_deref());
        let cache = if known.is_empty() || full_read_due {
            sources::Cache::new()
        } else {
            kept.clone()
        };
        let started = std::time::Instant::now();
        let read = match source.read(&sources::ReadInput {
            known: &known,
            cache: &cache,
        }) {
            Ok(read) => read,
            Err(e) => {
                tracing::error!(source = %name, error = %e, "source skipped; its entries stay as they were");
                report
                    .errors
                    .push(format!("{e}; its entries stay as they were"));
                continue;
            }
        };
        let documents = read.documents;
        let live = stored
            .iter()
            .filter(|s| s.status == EntryStatus::Live)
            .count();
        // An empty answer from a server that had entries is an outage, not every entry
        // being withdrawn.
        if source_config.http().is_some() && documents.is_empty() && live > 0 {
            let e = format!(
                "source {name:?}: the server listed no entries at all; the {live} published ones are kept, \
                 as this is more likely an outage than every entry being withdrawn"
            );
            tracing::error!(source = %name, "{e}");
            report.errors.push(e);
            continue;
        }
        if full_read_due {
            batch.full_reads.push((name.clone(), options.now));
        }
        if read.cache != kept {
            batch
                .source_caches
                .push((name.clone(), sources::cache_to_json(&read.cache)));
        }
        tracing::debug!(source = %name, documents = documents.len(), elapsed_ms = started.elapsed().as_millis() as u64, "source read");
        diff_source(
            &name,
            documents,
            &stored,
            options.now,
            &mut claimed,
            &mut batch,
            &mut report,
        );
        batch.source_fingerprints.push((name, settings));
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
    let started = std::time::Instant::now();
    // Recording is one SQLite transaction on one core; meanwhile the other cores sanitise the
    // fresh entries that can appear in a feed, the costliest step of rendering.
    let candidates = feed_candidates(config, &batch);
    let (applied, mut sanitized) = rayon::join(
        || store.apply(&batch, options.now),
        || {
            batch
                .upserts
                .par_iter()
                .filter(|r| candidates.contains(&r.entry.id))
                .map(|r| {
                    let html = feeds::sanitize::clean_html(&r.entry.content, &r.entry.url);
                    (r.entry.id.clone(), html)
                })
                .collect::<HashMap<String, String>>()
        },
    );
    applied?;
    tracing::debug!(
        upserts = batch.upserts.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "state recorded"
    );
    let started = std::time::Instant::now();
    let entries_changed = !batch.upserts.is_empty() || !batch.statuses.is_empty();
    // Entries parsed this cycle go straight to the renderers instead of being read back.
    let fresh: HashMap<String, Entry> = batch
        .upserts
        .into_iter()
        .filter_map(|r| {
            let mut entry = r.entry;
            let html = sanitized.remove(&entry.id)?;
            entry.content = html;
            Some((entry.id.clone(), entry))
        })
        .collect();
    write_feeds(
        config,
        store,
        fresh,
        entries_changed,
        options.write_feeds,
        &mut report,
    )?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "feeds done"
    );
    Ok(report)
}

/// Compares one source's documents with what the store holds for it.
fn diff_source(
    source: &str,
    documents: Vec<Document>,
    stored: &[StoredEntry],
    now: DateTime<Utc>,
    claimed: &mut HashMap<String, String>,
    batch: &mut Batch,
    report: &mut CycleReport,
) {
    let mut by_doc: HashMap<&str, Vec<&StoredEntry>> = HashMap::new();
    for s in stored {
        by_doc.entry(s.doc_key.as_str()).or_default().push(s);
    }
    let by_id: HashMap<&str, &StoredEntry> = stored.iter().map(|s| (s.id.as_str(), s)).collect();
    let due = |published_ts: i64| published_ts <= now.timestamp();
    let status_for = |published_ts: i64| {
        if due(published_ts) {
            EntryStatus::Live
        } else {
            EntryStatus::Scheduled
        }
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
    // Withdrawals wait until every document is read: a later one may claim the same id.
    let mut leaving: Vec<&StoredEntry> = Vec::new();
    for (doc, hashed) in prepared {
        seen_docs.insert(doc.key.clone());
        let previous = by_doc.get(doc.key.as_str()).cloned().unwrap_or_default();
        match doc.outcome {
            Outcome::Unchanged => {
                report.unchanged += 1;
                for s in previous.iter().filter(|s| s.fingerprint == doc.fingerprint) {
                    claimed.insert(s.id.clone(), doc.key.clone());
                    let wanted = status_for(s.published_ts);
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
                        report.scheduled.push(light());
                    }
                    if s.status != wanted {
                        batch.statuses.push((s.id.clone(), wanted));
                        match wanted {
                            EntryStatus::Live if s.was_live => report.restored.push(light()),
                            EntryStatus::Live => report.new.push(light()),
                            _ => {}
                        }
                    }
                }
            }
            Outcome::Parsed(entry) => {
                let hash = hashed.unwrap_or_default();
                if let Some(owner) = claimed.get(&entry.id).filter(|o| **o != doc.key) {
                    report.errors.push(format!(
                        "{}: entry id {:?} is already used by {owner} in source {source:?}; give one of them a distinct `id` or `slug`",
                        doc.key, entry.id
                    ));
                    continue;
                }
                claimed.insert(entry.id.clone(), doc.key.clone());
                let wanted = status_for(entry.published.timestamp());
                let before = by_id.get(entry.id.as_str());
                let entry_ref = EntryRef::of(&entry);
                match (wanted, before) {
                    (EntryStatus::Scheduled, _) => report.scheduled.push(entry_ref),
                    (_, None) => report.new.push(entry_ref),
                    (_, Some(s)) if !s.was_live => report.new.push(entry_ref),
                    (_, Some(s)) if s.status == EntryStatus::Removed => {
                        report.restored.push(entry_ref)
                    }
                    (_, Some(s)) if s.content_hash != hash => report.changed.push(entry_ref),
                    _ => {}
                }
                // An entry whose id changed leaves its old id behind: withdraw it.
                leaving.extend(previous.iter().filter(|s| s.id != entry.id));
                batch.upserts.push(EntryRecord {
                    source: source.to_owned(),
                    doc_key: doc.key,
                    fingerprint: doc.fingerprint,
                    content_hash: hash,
                    status: wanted,
                    entry: *entry,
                });
            }
            Outcome::Skipped(reason) => {
                report.skipped += 1;
                tracing::debug!(source, document = %doc.key, reason, "document skipped");
                leaving.extend(previous.iter());
            }
            Outcome::Failed(error) => {
                tracing::warn!(source, error = %error, "entry skipped");
                report.errors.push(error.to_string());
                for s in &previous {
                    claimed.insert(s.id.clone(), doc.key.clone());
                }
            }
        }
    }
    let gone = stored.iter().filter(|s| !seen_docs.contains(&s.doc_key));
    for old in leaving.into_iter().chain(gone) {
        // An id another document published this cycle lives on under that document: a
        // renamed file keeping its `id`, an html entry whose listing link changed.
        if !claimed.contains_key(&old.id) {
            withdraw(old, batch, report);
        }
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
        for channel in config.channels.iter().filter(|c| c.common.enabled) {
            let common = &channel.common;
            let language_ok =
                common.languages.is_empty() || common.languages.contains(&entry.language);
            let category_ok = common.categories.is_empty()
                || common.categories.iter().any(|want| {
                    entry
                        .categories
                        .iter()
                        .any(|c| c.to_lowercase() == want.to_lowercase())
                });
            if !(language_ok && category_ok) {
                continue;
            }
            out.push(NewDelivery {
                entry_id: entry.id.clone(),
                channel: common.name.clone(),
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

/// Ids of the entries of `batch` that can appear in some feed: those among the newest
/// `feeds.limit` fresh live entries of some planned feed. Fresh entries are a subset of the
/// live ones, so an entry outside these cannot make any feed's selection either.
fn feed_candidates(config: &Config, batch: &Batch) -> HashSet<String> {
    let fresh: Vec<LiveEntry> = batch
        .upserts
        .iter()
        .filter(|r| r.status == EntryStatus::Live)
        .map(|r| LiveEntry {
            id: r.entry.id.clone(),
            language: r.entry.language.clone(),
            categories: r.entry.categories.clone(),
            published_ts: r.entry.published.timestamp(),
            content_hash: String::new(),
        })
        .collect();
    feeds::set::plan(&config.site, &config.feeds, &fresh)
        .iter()
        .flat_map(|spec| spec.select(&fresh, config.feeds.limit))
        .map(str::to_owned)
        .collect()
}

/// Renders every planned feed from the store's live entries and writes the changed ones.
///
/// Each feed file's inputs (format, feed metadata, ids and content hashes of its entries) are
/// hashed; when the hash, the file's size and its modification time all match what was
/// recorded when crier last wrote it, the feed is neither loaded nor rendered. When no entry
/// changed at all and the feed settings are those of the last complete write, even the
/// selection is skipped: only the files' sizes and times are checked.
fn write_feeds(
    config: &Config,
    store: &mut Store,
    fresh: HashMap<String, Entry>,
    entries_changed: bool,
    write: bool,
    report: &mut CycleReport,
) -> Result<(), CycleError> {
    let settings = config.feeds.fingerprint(&config.site);
    if !entries_changed
        && store.meta(FEEDS_SETTINGS)?.as_deref() == Some(settings.as_str())
        && let Some(files) = untouched_feed_files(store)?
    {
        report.feeds = files;
        return Ok(());
    }
    if write {
        // Invalid until every file below is written, so that a cycle failing half-way is never
        // taken for a complete one.
        store.set_meta(FEEDS_SETTINGS, "")?;
    }
    let live = store.live_entries()?;
    let by_id: HashMap<&str, &LiveEntry> = live.iter().map(|e| (e.id.as_str(), e)).collect();
    let specs = feeds::set::plan(&config.site, &config.feeds, &live);
    let limit = config.feeds.limit;

    struct Job<'a> {
        spec: &'a FeedSpec,
        format: FeedFormat,
        ids: Vec<&'a str>,
        path: PathBuf,
        fingerprint: String,
    }
    let mut jobs = Vec::new();
    let mut up_to_date = Vec::new();
    for spec in &specs {
        let ids = spec.select(&live, limit);
        for &format in &config.feeds.formats {
            let path = config
                .feeds
                .output_dir
                .join(&spec.dir)
                .join(format.file_name());
            let fingerprint = feed_fingerprint(spec, format, &ids, &by_id);
            let recorded = store.meta(&feed_meta_key(&path))?;
            if recorded.as_deref() == Some(with_file_stamp(&fingerprint, &path).as_str()) {
                up_to_date.push(FeedFile {
                    path,
                    items: ids.len(),
                    changed: false,
                });
            } else {
                jobs.push(Job {
                    spec,
                    format,
                    ids: ids.clone(),
                    path,
                    fingerprint,
                });
            }
        }
    }

    let mut wanted: Vec<&str> = jobs.iter().flat_map(|j| j.ids.iter().copied()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|id| !fresh.contains_key(*id))
        .collect();
    // Sanitising is the costliest rendering step: do it once per entry, on every core.
    let mut prepared: HashMap<String, Entry> = store
        .load_entries(&missing)?
        .into_par_iter()
        .map(|e| (e.id.clone(), feeds::prepare(e)))
        .collect();
    prepared.extend(fresh);

    // Feeds are independent files: render and write them on every core. A file that fails
    // does not stop the others; the first failure is returned once all are done.
    let results: Vec<(Job, usize, Result<bool, CycleError>)> = jobs
        .into_par_iter()
        .map(|job| {
            let entries: Vec<&Entry> = job.ids.iter().filter_map(|id| prepared.get(*id)).collect();
            let render = |out: &mut dyn std::io::Write| {
                feeds::write_prepared(job.format, &job.spec.meta, &entries, out)
            };
            let result = if write {
                feeds::writer::replace_streaming(&job.path, render)
            } else {
                feeds::writer::would_change(&job.path, render)
            };
            let result = result.map_err(|e| match e {
                StreamError::Render(e) => CycleError::Feed(e),
                StreamError::Io(error) => CycleError::Write {
                    path: job.path.clone(),
                    error,
                },
            });
            let items = entries.len();
            (job, items, result)
        })
        .collect();
    let mut first_error = None;
    for (job, items, result) in results {
        let changed = match result {
            Ok(changed) => changed,
            Err(e) => {
                tracing::error!(path = %job.path.display(), error = %e, "feed not written");
                first_error.get_or_insert(e);
                continue;
            }
        };
        if write {
            store.set_meta(
                &feed_meta_key(&job.path),
                &with_file_stamp(&job.fingerprint, &job.path),
            )?;
            if changed {
                tracing::debug!(path = %job.path.display(), items, "feed written");
            }
        }
        report.feeds.push(FeedFile {
            path: job.path,
            items,
            changed,
        });
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    report.feeds.extend(up_to_date);
    report.feeds.sort_by(|a, b| a.path.cmp(&b.path));
    if write {
        let files: Vec<(String, usize)> = report
            .feeds
            .iter()
            .map(|f| (f.path.display().to_string(), f.items))
            .collect();
        store.set_meta(
            FEEDS_FILES,
            &serde_json::to_string(&files).unwrap_or_default(),
        )?;
        store.set_meta(FEEDS_SETTINGS, &settings)?;
    }
    Ok(())
}

/// Metadata key: fingerprint of the feed settings of the last complete write.
const FEEDS_SETTINGS: &str = "feeds:settings";
/// Metadata key: the feed files of the last complete write, with their item counts.
const FEEDS_FILES: &str = "feeds:files";

/// The feed files of the last complete write, if every one of them is still exactly as crier
/// left it.
fn untouched_feed_files(store: &Store) -> Result<Option<Vec<FeedFile>>, StoreError> {
    let Some(list) = store.meta(FEEDS_FILES)? else {
        return Ok(None);
    };
    let Ok(files) = serde_json::from_str::<Vec<(String, usize)>>(&list) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(files.len());
    for (path, items) in files {
        let path = PathBuf::from(path);
        let Some(recorded) = store.meta(&feed_meta_key(&path))? else {
            return Ok(None);
        };
        let fingerprint = recorded.split(' ').next().unwrap_or_default();
        if with_file_stamp(fingerprint, &path) != recorded {
            return Ok(None);
        }
        out.push(FeedFile {
            path,
            items,
            changed: false,
        });
    }
    Ok(Some(out))
}

fn feed_meta_key(path: &Path) -> String {
    format!("feed:{}", path.display())
}

fn feed_fingerprint(
    spec: &FeedSpec,
    format: FeedFormat,
    ids: &[&str],
    by_id: &HashMap<&str, &LiveEntry>,
) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(format!("{format:?}\n{:?}\n", spec.meta).as_bytes());
    for id in ids {
        let hash = by_id.get(id).map(|e| e.content_hash.as_str()).unwrap_or("");
        hasher.update(format!("{id}\0{hash}\n").as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// The fingerprint plus the file's size and modification time, so that a feed file edited,
/// replaced or deleted behind crier's back is rendered again.
fn with_file_stamp(fingerprint: &str, path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{fingerprint} {} {mtime}", m.len())
        }
        Err(_) => format!("{fingerprint} missing"),
    }
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
    fn feed_candidates_are_the_fresh_entries_some_feed_can_show() {
        let text = r#"
[site]
title = "T"
base_url = "https://example.org"
languages = ["en", "fr"]
[[sources]]
type = "directory"
path = "c"
[feeds]
limit = 2
categories = ["Rare"]
"#;
        let mut config = Config::parse(text, Path::new("c.toml")).unwrap();
        config.resolve_paths(Path::new("/tmp"));
        let batch = Batch {
            upserts: vec![
                record("en-new", "en", &[], 9, EntryStatus::Live),
                record("en-mid", "en", &[], 8, EntryStatus::Live),
                record("en-old", "en", &["Rare"], 1, EntryStatus::Live),
                record("en-oldest", "en", &[], 1, EntryStatus::Live),
                record("fr-old", "fr", &[], 2, EntryStatus::Live),
                record("future", "en", &[], 20, EntryStatus::Scheduled),
            ],
            ..Batch::default()
        };
        let mut got: Vec<String> = feed_candidates(&config, &batch).into_iter().collect();
        got.sort();
        // Main feed: en-new, en-mid; en: the same; fr: fr-old; category "Rare": en-old.
        assert_eq!(got, ["en-mid", "en-new", "en-old", "fr-old"]);
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

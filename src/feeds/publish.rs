//! Publishing: plan the feed set once per cycle from the live entries it leaves
//! ([`FeedPlan`]), render each planned file and write the ones whose bytes changed, keeping a
//! ledger of what was written in the store's metadata so that an unchanged cycle touches
//! nothing.
//!
//! The plan can be made before the cycle's changes are recorded (the store says what its live
//! entries will be): the fresh entries some feed shows are then sanitised, the costliest
//! rendering step, on the other cores while SQLite records the cycle on one.
//!
//! Each feed file's inputs (format, feed metadata, ids and content hashes of its entries) are
//! hashed; when the hash, the file's size and its modification time all match what was
//! recorded when crier last wrote it, the feed is neither loaded nor rendered. When no entry
//! changed at all and the feed settings are those of the last complete write, even the
//! selection is skipped: only the files' sizes and times are checked.
//!
//! With channels configured, the publication also writes the links back to the posts
//! (`syndication.json`, see [`super::syndication`]) and puts them in the JSON Feeds. Which
//! posts were sent is part of the inputs: the store's stamp of its sent posts joins the
//! settings fingerprint, and each JSON Feed's hash covers its entries' links, so a cycle (or a
//! re-publication after a delivery round) that sent nothing new touches nothing, and one that
//! did re-renders only the JSON Feeds that show the announced entries.
//!
//! Items link their translations ([`Translations`], from the plan's live entries, which hold
//! every language): a file's hash covers the translations of its entries, so a translation
//! published, withdrawn or retitled re-renders the feeds showing the entries it translates.
//!
//! Every written publication also writes the autodiscovery files (`head.html`, see
//! [`super::head`]) when their bytes change; they depend on the settings alone, so they are
//! compared even when nothing else is rendered.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use thiserror::Error;

use super::archive::{self, Bounds};
use super::budget::{self, FileBudget};
use super::set::FeedSpec;
use super::syndication::{self, Accounts, Syndication};
use super::translations::Translations;
use super::writer::StreamError;
use super::{FeedError, FeedFormat, FeedMeta, FeedsConfig};
use crate::entry::Entry;
use crate::progress::Progress;
use crate::site::Site;
use crate::store::{LiveEntry, Store, StoreError};

/// Why the feeds could not all be published.
#[derive(Debug, Error)]
pub enum PublishError {
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

/// A feed file a publication produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFile {
    /// Path on disk.
    pub path: PathBuf,
    /// Number of entries in it.
    pub items: usize,
    /// Whether its bytes differ from what was on disk (and, unless dry, were written).
    pub changed: bool,
}

/// The feed set of one cycle and the live entries it was planned from.
#[derive(Debug)]
pub struct FeedPlan {
    live: Vec<LiveEntry>,
    specs: Vec<FeedSpec>,
    /// Per spec, its newest `feeds.limit` entries as positions in `live`, newest first.
    selected: Vec<Vec<usize>>,
    // Size budgets.
    /// `feeds.max_content_bytes`: bodies are cut to it when sanitised.
    max_content_bytes: usize,
    /// The live entries' translations.
    translations: Translations,
    /// Whether every entry is shown, in the archive documents (`feeds.archive`).
    archive: bool,
}

impl FeedPlan {
    /// Plans every feed folder from the live entries.
    pub fn new(site: &Site, feeds: &FeedsConfig, live: Vec<LiveEntry>) -> FeedPlan {
        let specs = super::set::plan(site, feeds, &live);
        let selected = specs
            .iter()
            .map(|spec| spec.select_indices(&live, feeds.limit))
            .collect();
        let translations = Translations::new(&live);
        FeedPlan {
            live,
            specs,
            selected,
            max_content_bytes: feeds.max_content_bytes,
            translations,
            archive: feeds.archive,
        }
    }

    /// The sanitised HTML body of each of `entries` that some feed shows, by id, computed on
    /// every core. An entry no feed shows is left out.
    pub fn prepare_shown<'e>(
        &self,
        entries: impl IntoParallelIterator<Item = &'e Entry>,
    ) -> HashMap<String, String> {
        let shown: HashSet<&str> = self
            .selected
            .iter()
            .flatten()
            .map(|&i| self.live[i].id.as_str())
            .collect();
        entries
            .into_par_iter()
            .filter(|e| self.archive || shown.contains(e.id.as_str()))
            .map(|e| {
                (
                    e.id.clone(),
                    super::clean_body_within(e, self.max_content_bytes),
                )
            })
            .collect()
    }
}

/// What a publication is asked to do.
#[derive(Debug)]
pub struct Publication {
    /// The plan, when the cycle made it before recording; else the live entries are read
    /// from the store and planned here.
    pub plan: Option<FeedPlan>,
    /// Entries recorded this cycle, by id, already through [`super::prepare`] (or
    /// [`FeedPlan::prepare_shown`]): they go to the renderers without being read back.
    pub fresh: HashMap<String, Entry>,
    /// Whether any entry was recorded, changed status or withdrawn this cycle.
    pub entries_changed: bool,
    /// Write the files; when false, only report which would change.
    pub write: bool,
    /// The configured channels' accounts, for the links back to their posts; empty when no
    /// channel is configured.
    pub accounts: Accounts,
    /// Counts the feed files rendered.
    pub progress: &'static Progress,
}

/// Metadata key: fingerprint of the feed settings of the last complete write.
const FEEDS_SETTINGS: &str = "feeds:settings";
/// Metadata key: the feed files of the last complete write, with their item counts.
const FEEDS_FILES: &str = "feeds:files";
/// Metadata key: hash of the last `syndication.json` written (or found up to date), with the
/// file's stamp (see [`with_file_stamp`]).
const SYNDICATION_FILE: &str = "feeds:syndication";

/// One feed file to render: its document's metadata, its format and the entries it holds.
struct Job<'a> {
    meta: FeedMeta,
    format: FeedFormat,
    ids: Vec<&'a str>,
    path: PathBuf,
    fingerprint: String,
}

/// Renders every planned feed from the store's live entries and writes the changed ones;
/// returns every feed file, sorted by path.
pub fn publish(
    site: &Site,
    feeds: &FeedsConfig,
    store: &mut Store,
    publication: Publication,
) -> Result<Vec<FeedFile>, PublishError> {
    let settings = settings(site, feeds, store, &publication.accounts)?;
    let links_path = feeds.output_dir.join(syndication::FILE_NAME);
    if !publication.entries_changed
        && store.meta(FEEDS_SETTINGS)?.as_deref() == Some(settings.as_str())
        && let Some(files) = untouched_feed_files(store)?
        && untouched_file(store, SYNDICATION_FILE, &links_path)?
        && untouched_stylesheets(store)?
    {
        if publication.write {
            write_heads(site, feeds)?;
        }
        return Ok(files);
    }
    let write = publication.write;
    if write {
        // Invalid until every file below is written, so that a cycle failing half-way is never
        // taken for a complete one.
        store.set_meta(FEEDS_SETTINGS, "")?;
    }
    let plan = match publication.plan {
        Some(plan) => plan,
        None => FeedPlan::new(site, feeds, store.live_entries()?),
    };
    let links = if publication.accounts.is_empty() {
        Syndication::default()
    } else {
        Syndication::new(store.sent_posts()?, &publication.accounts)
    };
    let (jobs, mut files, archives) = jobs(feeds, store, &plan, &links)?;
    publication.progress.add_total(jobs.len() as u64);
    let entries = prepare_entries(store, &jobs, publication.fresh, feeds.max_content_bytes)?;
    let rendered = render_all(
        jobs,
        &entries,
        &links,
        &plan.translations,
        write,
        feeds.max_file_bytes,
        publication.progress,
    );
    let mut first_error = None;
    for (job, items, result) in rendered {
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
        files.push(FeedFile {
            path: job.path,
            items,
            changed,
        });
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if write {
        write_links(store, &links, &links_path)?;
        write_heads(site, feeds)?;
        write_stylesheets(site, feeds, store, &plan)?;
        // Only once every page along them is written: a failed cycle cuts them again.
        for archive in archives.iter().filter(|a| a.cut) {
            archive::save_bounds(store, &archive.dir, &archive.bounds)?;
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if write {
        let list: Vec<(String, usize)> = files
            .iter()
            .map(|f| (f.path.display().to_string(), f.items))
            .collect();
        store.set_meta(
            FEEDS_FILES,
            &serde_json::to_string(&list).unwrap_or_default(),
        )?;
        store.set_meta(FEEDS_SETTINGS, &settings)?;
    }
    Ok(files)
}

/// What the feed set depends on besides its entries: the feed settings and, with channels
/// configured, the channels' accounts and the store's stamp of its sent posts.
fn settings(
    site: &Site,
    feeds: &FeedsConfig,
    store: &Store,
    accounts: &Accounts,
) -> Result<String, StoreError> {
    let settings = feeds.fingerprint(site);
    if accounts.is_empty() {
        return Ok(settings);
    }
    let links = format!("{accounts:?}\n{}", store.sent_stamp()?);
    Ok(format!(
        "{settings} {}",
        blake3::hash(links.as_bytes()).to_hex()
    ))
}

/// Writes `syndication.json` when its bytes change, once there is a link to list or the file
/// exists (it then stays current, even when no link is left): a site without announced
/// entries gets no file, and its templates read it only when it is there.
fn write_links(store: &mut Store, links: &Syndication, path: &Path) -> Result<(), PublishError> {
    let bytes = links.render();
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if !links.is_empty() || path.exists() {
        let changed =
            super::writer::write_if_changed(path, &bytes).map_err(|error| PublishError::Write {
                path: path.to_owned(),
                error,
            })?;
        if changed {
            tracing::info!(path = %path.display(), entries = links.len(), "links back to the posts written");
        }
    }
    store.set_meta(SYNDICATION_FILE, &with_file_stamp(&hash, path))?;
    Ok(())
}

/// Writes the `head.html` files whose bytes change. They list the main and per-language
/// feeds only, which the settings decide: the feed set planned without entries has them all.
fn write_heads(site: &Site, feeds: &FeedsConfig) -> Result<(), PublishError> {
    let specs = super::set::plan(site, feeds, &[]);
    for file in super::head::render(&specs, &feeds.formats) {
        let path = feeds
            .output_dir
            .join(&file.dir)
            .join(super::head::FILE_NAME);
        let changed =
            super::writer::write_if_changed(&path, file.html.as_bytes()).map_err(|error| {
                PublishError::Write {
                    path: path.clone(),
                    error,
                }
            })?;
        if changed {
            tracing::info!(path = %path.display(), "feed autodiscovery links written");
        }
    }
    Ok(())
}

/// Metadata key: crier's stylesheet files of the last complete write (a JSON list of paths).
const STYLESHEET_FILES: &str = "feeds:stylesheets";

/// Writes crier's XSL stylesheets (one per language the feeds show) whose bytes changed, each
/// recorded in the ledger like a feed file, and the list of them.
fn write_stylesheets(
    site: &Site,
    feeds: &FeedsConfig,
    store: &mut Store,
    plan: &FeedPlan,
) -> Result<(), PublishError> {
    let languages = plan.specs.iter().map(|spec| spec.meta.language.as_deref());
    let files = super::stylesheet::files(site, feeds, languages)?;
    let mut paths = Vec::with_capacity(files.len());
    for file in files {
        let key = feed_meta_key(&file.path);
        let hash = blake3::hash(&file.bytes).to_hex().to_string();
        if store.meta(&key)? != Some(with_file_stamp(&hash, &file.path)) {
            let changed =
                super::writer::write_if_changed(&file.path, &file.bytes).map_err(|error| {
                    PublishError::Write {
                        path: file.path.clone(),
                        error,
                    }
                })?;
            if changed {
                tracing::info!(path = %file.path.display(), "feed stylesheet written");
            }
            store.set_meta(&key, &with_file_stamp(&hash, &file.path))?;
        }
        paths.push(file.path.display().to_string());
    }
    store.set_meta(
        STYLESHEET_FILES,
        &serde_json::to_string(&paths).unwrap_or_default(),
    )?;
    Ok(())
}

/// Whether crier's stylesheets of the last complete write are all still as it left them.
fn untouched_stylesheets(store: &Store) -> Result<bool, StoreError> {
    let Some(list) = store.meta(STYLESHEET_FILES)? else {
        return Ok(false);
    };
    let Ok(paths) = serde_json::from_str::<Vec<PathBuf>>(&list) else {
        return Ok(false);
    };
    for path in paths {
        if !untouched_file(store, &feed_meta_key(&path), &path)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the file recorded under `key` is still exactly as crier left it (or still absent,
/// when it was not written).
fn untouched_file(store: &Store, key: &str, path: &Path) -> Result<bool, StoreError> {
    let Some(recorded) = store.meta(key)? else {
        return Ok(false);
    };
    let hash = recorded.split(' ').next().unwrap_or_default();
    Ok(with_file_stamp(hash, path) == recorded)
}

/// A feed folder's archive bounds after this publication.
struct Archive {
    dir: String,
    bounds: Bounds,
    /// Whether a page was cut, so that the bounds must be recorded.
    cut: bool,
}

/// The feed files to render, those already up to date (whose ledger entry matches), and the
/// archive bounds of each folder when the feeds are archived.
#[allow(clippy::type_complexity)]
fn jobs<'a>(
    feeds: &FeedsConfig,
    store: &Store,
    plan: &'a FeedPlan,
    links: &Syndication,
) -> Result<(Vec<Job<'a>>, Vec<FeedFile>, Vec<Archive>), StoreError> {
    let mut jobs = Vec::new();
    let mut up_to_date = Vec::new();
    let mut archives = Vec::new();
    for (spec, selected) in plan.specs.iter().zip(&plan.selected) {
        let documents = if feeds.archive {
            let recorded = archive::load_bounds(store, &spec.dir)?;
            let mut bounds = recorded.clone();
            let documents = archive::documents(
                spec,
                selected,
                &plan.live,
                &mut bounds,
                feeds.archive_size(),
            );
            archives.push(Archive {
                dir: spec.dir.clone(),
                cut: bounds != recorded,
                bounds,
            });
            documents
        } else {
            vec![archive::Document {
                dir: spec.dir.clone(),
                meta: spec.meta.clone(),
                entries: selected.to_vec(),
            }]
        };
        for document in documents {
            push_jobs(
                feeds,
                store,
                plan,
                links,
                document,
                &mut jobs,
                &mut up_to_date,
            )?;
        }
    }
    Ok((jobs, up_to_date, archives))
}

/// The jobs of one document's files, one per format, or their up-to-date files.
fn push_jobs<'a>(
    feeds: &FeedsConfig,
    store: &Store,
    plan: &'a FeedPlan,
    links: &Syndication,
    document: archive::Document,
    jobs: &mut Vec<Job<'a>>,
    up_to_date: &mut Vec<FeedFile>,
) -> Result<(), StoreError> {
    let entries: Vec<&LiveEntry> = document.entries.iter().map(|&i| &plan.live[i]).collect();
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    for &format in &feeds.formats {
        let path = feeds
            .output_dir
            .join(&document.dir)
            .join(format.file_name());
        let fingerprint = feed_fingerprint(
            feeds,
            &document.meta,
            format,
            &entries,
            links,
            &plan.translations,
        );
        let recorded = store.meta(&feed_meta_key(&path))?;
        if recorded.as_deref() == Some(with_file_stamp(&fingerprint, &path).as_str()) {
            up_to_date.push(FeedFile {
                path,
                items: ids.len(),
                changed: false,
            });
        } else {
            jobs.push(Job {
                meta: document.meta.clone(),
                format,
                ids: ids.clone(),
                path,
                fingerprint,
            });
        }
    }
    Ok(())
}

/// Every entry some job shows, sanitised once: the fresh ones came prepared, the others are
/// loaded from the store and prepared here, on every core.
fn prepare_entries(
    store: &Store,
    jobs: &[Job<'_>],
    mut fresh: HashMap<String, Entry>,
    max_content_bytes: usize,
) -> Result<HashMap<String, Entry>, StoreError> {
    let mut wanted: Vec<&str> = jobs.iter().flat_map(|j| j.ids.iter().copied()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut prepared = HashMap::with_capacity(wanted.len());
    let mut missing = Vec::new();
    for id in wanted {
        match fresh.remove(id) {
            Some(entry) => {
                prepared.insert(entry.id.clone(), entry);
            }
            None => missing.push(id),
        }
    }
    let loaded: Vec<(String, Entry)> = store
        .load_entries(&missing)?
        .into_par_iter()
        .map(|e| (e.id.clone(), super::prepare_within(e, max_content_bytes)))
        .collect();
    prepared.extend(loaded);
    Ok(prepared)
}

/// Renders (and, when `write`, writes) every job on every core: feeds are independent files.
/// A file that fails does not stop the others. A file whose entries would pass
/// `max_file_bytes` gets its older entries shortened (see [`FileBudget`]).
fn render_all<'a>(
    jobs: Vec<Job<'a>>,
    entries: &HashMap<String, Entry>,
    links: &Syndication,
    translations: &Translations,
    write: bool,
    max_file_bytes: usize,
    progress: &Progress,
) -> Vec<(Job<'a>, usize, Result<bool, PublishError>)> {
    let shortened = Shortened::new(entries, max_file_bytes);
    jobs.into_par_iter()
        .map(|job| {
            let selected: Vec<&Entry> = job.ids.iter().filter_map(|id| entries.get(*id)).collect();
            let selected = shortened.fit(selected);
            let render = |out: &mut dyn std::io::Write| {
                super::write_linked(job.format, &job.meta, &selected, links, translations, out)
            };
            let result = if write {
                super::writer::replace_streaming(&job.path, render)
            } else {
                super::writer::would_change(&job.path, render)
            };
            let result = result.map_err(|e| match e {
                StreamError::Render(e) => PublishError::Feed(e),
                StreamError::Io(error) => PublishError::Write {
                    path: job.path.clone(),
                    error,
                },
            });
            let items = selected.len();
            progress.advance(1);
            (job, items, result)
        })
        .collect()
}

/// The entries' shortened versions for the files that cannot hold all their bodies.
struct Shortened {
    /// The file budget.
    max_file_bytes: usize,
    /// Each entry with its [`super::budget::short_body`], by id; empty when every entry
    /// together fits a file, so no file needs one.
    short: HashMap<String, Entry>,
}

impl Shortened {
    /// Measures `entries` once; shortens them all only when together they pass the budget
    /// (a file holds some of them, so it then fits whole).
    fn new(entries: &HashMap<String, Entry>, max_file_bytes: usize) -> Shortened {
        let total: usize = entries
            .par_iter()
            .map(|(_, e)| budget::written_size(e, &e.content))
            .sum();
        let short = if total <= max_file_bytes {
            HashMap::new()
        } else {
            entries
                .par_iter()
                .map(|(id, e)| {
                    let mut short = e.clone();
                    short.content = budget::short_body(e);
                    (id.clone(), short)
                })
                .collect()
        };
        Shortened {
            max_file_bytes,
            short,
        }
    }

    /// `selected` (newest first) as a file within the budget holds them.
    fn fit<'e>(&'e self, selected: Vec<&'e Entry>) -> Vec<&'e Entry> {
        if self.short.is_empty() {
            return selected;
        }
        let fits = FileBudget::of(&selected, self.max_file_bytes);
        if fits.is_whole(selected.len()) {
            return selected;
        }
        selected
            .iter()
            .take(fits.kept)
            .enumerate()
            .map(|(i, e)| match self.short.get(&e.id) {
                Some(short) if i >= fits.full => short,
                _ => *e,
            })
            .collect()
    }
}

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
        if !untouched_file(store, &feed_meta_key(&path), &path)? {
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
    feeds: &FeedsConfig,
    meta: &FeedMeta,
    format: FeedFormat,
    entries: &[&LiveEntry],
    links: &Syndication,
    translations: &Translations,
) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(format!("{format:?}\n{meta:?}\n").as_bytes());
    // Size budgets: they shape the bodies written.
    let budgets = (feeds.max_content_bytes, feeds.max_file_bytes);
    hasher.update(format!("{budgets:?}\n").as_bytes());
    for entry in entries {
        let (id, hash) = (&entry.id, &entry.content_hash);
        hasher.update(format!("{id}\0{hash}\n").as_bytes());
        // Only the JSON Feed shows the links; an entry without any hashes as it always did.
        let posts = links.links(id);
        if format == FeedFormat::Json && !posts.is_empty() {
            hasher.update(format!("{posts:?}\n").as_bytes());
        }
        // Every format links the translations; an entry without any hashes as it always did.
        let translated = translations.of(&entry.translation_key, &entry.language);
        if !translated.is_empty() {
            hasher.update(format!("{translated:?}\n").as_bytes());
        }
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
    use crate::store::{Batch, EntryRecord, EntryStatus};

    #[test]
    fn a_file_past_its_budget_shortens_its_older_entries() {
        let entries: HashMap<String, Entry> = (0..4)
            .map(|i| {
                let mut e = crate::testing::entry(&format!("e{i}"), "2024-01-01T00:00:00Z");
                e.content = format!("<p>{}</p>", "x".repeat(100_000));
                e.summary = format!("Summary {i}");
                (e.id.clone(), e)
            })
            .collect();
        let newest_first: Vec<&Entry> = (0..4).map(|i| &entries[&format!("e{i}")]).collect();
        // Everything fits: nothing is measured twice or shortened.
        let roomy = Shortened::new(&entries, 1_000_000);
        assert!(roomy.short.is_empty());
        assert_eq!(roomy.fit(newest_first.clone()).len(), 4);
        let tight = Shortened::new(&entries, 250_000);
        let fitted = tight.fit(newest_first.clone());
        let bodies: Vec<&str> = fitted.iter().map(|e| e.content.as_str()).collect();
        assert_eq!(bodies.len(), 4);
        assert!(bodies[0].len() > 100_000 && bodies[1].len() > 100_000);
        assert_eq!(
            bodies[2],
            "<p>Summary 2</p><p><a href=\"https://example.org/e2/\">Continue reading</a></p>"
        );
        // A feed holding only the older entries has room for them whole.
        let older: Vec<&Entry> = newest_first[2..].to_vec();
        assert!(tight.fit(older).iter().all(|e| e.content.len() > 100_000));
    }

    fn record(id: &str, day: u32) -> EntryRecord {
        let entry = crate::testing::entry(id, &format!("2024-01-{day:02}T00:00:00Z"));
        EntryRecord {
            content_hash: entry.content_hash(),
            entry,
            source: "s".into(),
            doc_key: format!("{id}.md"),
            fingerprint: "f".into(),
            status: EntryStatus::Live,
        }
    }

    fn publication(fresh: &[EntryRecord], write: bool) -> Publication {
        Publication {
            plan: None,
            fresh: fresh
                .iter()
                .map(|r| (r.entry.id.clone(), super::super::prepare(r.entry.clone())))
                .collect(),
            entries_changed: !fresh.is_empty(),
            write,
            accounts: Accounts::new(),
            progress: Progress::ignored(),
        }
    }

    #[test]
    fn files_are_written_once_and_again_only_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let site = crate::testing::site("");
        let feeds = FeedsConfig {
            output_dir: dir.path().join("feeds"),
            formats: vec![FeedFormat::Rss, FeedFormat::Json],
            limit: 1,
            ..FeedsConfig::default()
        };
        let mut store = Store::open(&dir.path().join("state.sqlite3")).unwrap();
        let batch = Batch {
            upserts: vec![record("old", 1), record("new", 2)],
            ..Batch::default()
        };
        let now = chrono::Utc::now();
        store.apply(&batch, now).unwrap();

        // A dry publication says what would change and writes nothing.
        let files = publish(
            &site,
            &feeds,
            &mut store,
            publication(&batch.upserts, false),
        )
        .unwrap();
        assert!(files.iter().all(|f| f.changed));
        assert!(!feeds.output_dir.exists());

        let files = publish(&site, &feeds, &mut store, publication(&batch.upserts, true)).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(&feeds.output_dir)
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["feed.json", "rss.xml"]);
        assert!(files.iter().all(|f| f.changed && f.items == 1));
        let rss = std::fs::read_to_string(&files[1].path).unwrap();
        assert!(
            rss.contains("Title new") && !rss.contains("Title old"),
            "{rss}"
        );

        // Nothing changed: nothing is rendered, the same files are reported.
        let again = publish(&site, &feeds, &mut store, publication(&[], true)).unwrap();
        assert_eq!(again.len(), 2);
        assert!(again.iter().all(|f| !f.changed));

        // A file deleted behind crier's back is written again, from the store alone.
        std::fs::remove_file(&files[1].path).unwrap();
        let again = publish(&site, &feeds, &mut store, publication(&[], true)).unwrap();
        let changed: Vec<_> = again.iter().filter(|f| f.changed).collect();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].path, files[1].path);
        assert_eq!(std::fs::read_to_string(&files[1].path).unwrap(), rss);
    }

    #[test]
    fn a_translation_published_retitled_or_withdrawn_rewrites_the_feeds_it_links_from() {
        let dir = tempfile::tempdir().unwrap();
        let site = crate::testing::site("languages = [\"en\", \"fr\"]");
        let feeds = FeedsConfig {
            output_dir: dir.path().join("feeds"),
            formats: vec![FeedFormat::Atom],
            ..FeedsConfig::default()
        };
        let mut store = Store::open(&dir.path().join("state.sqlite3")).unwrap();
        let now = chrono::Utc::now();
        let translated = |id: &str, language: &str, title: &str| {
            let mut r = record(id, 1);
            r.entry.language = language.into();
            r.entry.title = title.into();
            r.entry.translation_key = "river".into();
            r.content_hash = r.entry.content_hash();
            r
        };
        let english = feeds.output_dir.join("en/atom.xml");
        let mut cycle = |batch: Batch| {
            store.apply(&batch, now).unwrap();
            // A withdrawal changes entries too, though it upserts none.
            let publication = Publication {
                entries_changed: true,
                ..publication(&batch.upserts, true)
            };
            let files = publish(&site, &feeds, &mut store, publication);
            let changed: Vec<PathBuf> = files
                .unwrap()
                .into_iter()
                .filter(|f| f.changed)
                .map(|f| f.path)
                .collect();
            (changed, std::fs::read_to_string(&english).unwrap())
        };
        let upsert = |r: EntryRecord| Batch {
            upserts: vec![r],
            ..Batch::default()
        };

        let (_, atom) = cycle(upsert(translated("river.en", "en", "River")));
        assert!(!atom.contains("hreflang"), "{atom}");
        // The French entry is in no English feed, yet the English feed now links it.
        let (changed, atom) = cycle(upsert(translated("river.fr", "fr", "Rivière")));
        assert!(changed.contains(&english), "{changed:?}");
        assert!(
            atom.contains(r#"hreflang="fr" title="Rivière"/>"#),
            "{atom}"
        );
        let (changed, atom) = cycle(upsert(translated("river.fr", "fr", "La rivière")));
        assert!(changed.contains(&english), "{changed:?}");
        assert!(atom.contains(r#"title="La rivière"/>"#), "{atom}");
        let (changed, atom) = cycle(Batch {
            statuses: vec![("river.fr".into(), EntryStatus::Removed)],
            ..Batch::default()
        });
        assert!(changed.contains(&english), "{changed:?}");
        assert!(!atom.contains("hreflang"), "{atom}");

        // The autodiscovery files were written beside the feeds, one per language.
        for dir in ["", "en", "fr"] {
            let head = feeds.output_dir.join(dir).join("head.html");
            let html = std::fs::read_to_string(&head).unwrap();
            assert_eq!(html.lines().count(), 3, "{html}");
        }
    }

    #[test]
    fn stylesheets_are_written_per_language_once_and_kept_in_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let site = crate::testing::site("languages = [\"fr\", \"en\"]");
        let feeds = FeedsConfig {
            output_dir: dir.path().join("feeds"),
            ..FeedsConfig::default()
        };
        let mut store = Store::open(&dir.path().join("state.sqlite3")).unwrap();
        let batch = Batch {
            upserts: vec![record("a", 1)],
            ..Batch::default()
        };
        store.apply(&batch, chrono::Utc::now()).unwrap();
        let fr = feeds.output_dir.join("feed.fr.xsl");
        let en = feeds.output_dir.join("feed.en.xsl");

        // A dry run writes no stylesheet.
        publish(
            &site,
            &feeds,
            &mut store,
            publication(&batch.upserts, false),
        )
        .unwrap();
        assert!(!fr.exists() && !en.exists());

        publish(&site, &feeds, &mut store, publication(&batch.upserts, true)).unwrap();
        // The main feed (both languages) shows the site's first, French; `en/` English.
        let main = std::fs::read_to_string(feeds.output_dir.join("rss.xml")).unwrap();
        assert!(main.contains("href=\"/feeds/feed.fr.xsl\""), "{main}");
        let english = std::fs::read_to_string(feeds.output_dir.join("en/atom.xml")).unwrap();
        assert!(english.contains("href=\"/feeds/feed.en.xsl\""), "{english}");
        assert!(
            std::fs::read_to_string(&fr)
                .unwrap()
                .contains("Comment s’abonner")
        );
        assert!(
            std::fs::read_to_string(&en)
                .unwrap()
                .contains("How to subscribe")
        );

        // Nothing changed: the stylesheets are not touched, even compared.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        std::fs::File::options()
            .write(true)
            .open(&fr)
            .unwrap()
            .set_modified(old)
            .unwrap();
        for _ in 0..2 {
            publish(&site, &feeds, &mut store, publication(&[], true)).unwrap();
        }
        assert_eq!(std::fs::metadata(&fr).unwrap().modified().unwrap(), old);

        // One deleted behind crier's back is written again.
        std::fs::remove_file(&en).unwrap();
        publish(&site, &feeds, &mut store, publication(&[], true)).unwrap();
        assert!(en.exists());

        // Switched off: the feeds lose the instruction.
        let off = FeedsConfig {
            stylesheet: super::super::stylesheet::Stylesheet::Off,
            ..feeds.clone()
        };
        publish(&site, &off, &mut store, publication(&[], true)).unwrap();
        let main = std::fs::read_to_string(feeds.output_dir.join("rss.xml")).unwrap();
        assert!(!main.contains("xml-stylesheet"), "{main}");
    }

    #[test]
    fn a_sent_post_rewrites_the_links_and_the_json_feed_only() {
        use crate::store::outbox::{DeliveryState, NewDelivery};
        let dir = tempfile::tempdir().unwrap();
        let site = crate::testing::site("");
        let feeds = FeedsConfig {
            output_dir: dir.path().join("feeds"),
            formats: vec![FeedFormat::Rss, FeedFormat::Json],
            ..FeedsConfig::default()
        };
        let mut store = Store::open(&dir.path().join("state.sqlite3")).unwrap();
        let now = chrono::Utc::now();
        let batch = Batch {
            upserts: vec![record("a", 1), record("b", 2)],
            deliveries: vec![NewDelivery {
                entry_id: "a".into(),
                channel: "masto".into(),
                state: DeliveryState::Pending,
                queued_at: now,
                reason: None,
                due_at: None,
            }],
            ..Batch::default()
        };
        store.apply(&batch, now).unwrap();
        let accounts = Accounts::from([(
            "masto".to_owned(),
            syndication::ChannelAccount {
                network: "mastodon".into(),
                account: Some("m.example".into()),
            },
        )]);
        let with_accounts = |fresh: &[EntryRecord], write: bool| Publication {
            accounts: accounts.clone(),
            ..publication(fresh, write)
        };
        let links = feeds.output_dir.join("syndication.json");

        // Nothing sent yet: no file of links, no `_crier` in the feed.
        publish(
            &site,
            &feeds,
            &mut store,
            with_accounts(&batch.upserts, true),
        )
        .unwrap();
        assert!(!links.exists());
        let json = feeds.output_dir.join("feed.json");
        assert!(!std::fs::read_to_string(&json).unwrap().contains("_crier"));

        let id = store.due_deliveries("masto", now).unwrap()[0].id;
        store
            .mark_sent(id, Some("1"), Some("https://m.example/@a/1"), now)
            .unwrap();
        // A dry publication writes no links either.
        let files = publish(&site, &feeds, &mut store, with_accounts(&[], false)).unwrap();
        assert!(!links.exists());
        let changed: Vec<_> = files.iter().filter(|f| f.changed).collect();
        assert_eq!(changed.len(), 1, "{files:?}");

        let files = publish(&site, &feeds, &mut store, with_accounts(&[], true)).unwrap();
        let changed: Vec<_> = files
            .iter()
            .filter(|f| f.changed)
            .map(|f| &f.path)
            .collect();
        assert_eq!(changed, [&json], "only the JSON Feed shows the links");
        let feed: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let items = feed["items"].as_array().unwrap();
        assert_eq!(items[0]["id"], "tag:example.org,2024:b");
        assert!(items[0].get("_crier").is_none());
        assert_eq!(
            items[1]["_crier"],
            serde_json::json!({"syndication": [
                {"network": "mastodon", "account": "m.example", "url": "https://m.example/@a/1"}
            ]})
        );
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&links).unwrap()).unwrap();
        assert_eq!(file["by_url"]["https://example.org/a/"], "a");
        assert_eq!(
            file["entries"]["a"]["posts"][0]["url"],
            "https://m.example/@a/1"
        );
        // Written through a temporary file and a rename: nothing else is left in the folder.
        let mut names: Vec<String> = std::fs::read_dir(&feeds.output_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // (crier's stylesheet for the RSS feed, on by default, is written beside them.)
        assert_eq!(
            names,
            [
                "feed.en.xsl",
                "feed.json",
                "head.html",
                "rss.xml",
                "syndication.json"
            ]
        );

        // Nothing new: neither file is touched.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        for path in [&links, &json] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        // Their times no longer match the ledger: they are compared, found equal and left
        // alone; the publication after that does not even compare them.
        for _ in 0..2 {
            let files = publish(&site, &feeds, &mut store, with_accounts(&[], true)).unwrap();
            assert!(files.iter().all(|f| !f.changed), "{files:?}");
        }
        for path in [&links, &json] {
            assert_eq!(std::fs::metadata(path).unwrap().modified().unwrap(), old);
        }

        // The links file deleted behind crier's back is written again.
        std::fs::remove_file(&links).unwrap();
        publish(&site, &feeds, &mut store, with_accounts(&[], true)).unwrap();
        assert!(links.exists());
    }

    #[test]
    fn an_archive_records_its_pages_when_written_and_new_entries_touch_the_newest_only() {
        let dir = tempfile::tempdir().unwrap();
        let site = crate::testing::site("");
        let feeds = FeedsConfig {
            output_dir: dir.path().join("feeds"),
            formats: vec![FeedFormat::Rss],
            limit: 2,
            archive: true,
            ..FeedsConfig::default()
        };
        let mut store = Store::open(&dir.path().join("state.sqlite3")).unwrap();
        let now = chrono::Utc::now();
        let batch = Batch {
            upserts: (1..=5).map(|day| record(&format!("e{day}"), day)).collect(),
            ..Batch::default()
        };
        store.apply(&batch, now).unwrap();
        let names = |files: &[FeedFile], changed_only: bool| -> Vec<String> {
            files
                .iter()
                .filter(|f| f.changed || !changed_only)
                .map(|f| {
                    let rel = f.path.strip_prefix(&feeds.output_dir).unwrap();
                    rel.display().to_string()
                })
                .collect()
        };

        // A dry publication cuts the pages but records nothing.
        let files = publish(
            &site,
            &feeds,
            &mut store,
            publication(&batch.upserts, false),
        )
        .unwrap();
        assert_eq!(
            names(&files, false),
            [
                "archive/1/rss.xml",
                "archive/2/rss.xml",
                "archive/3/rss.xml",
                "rss.xml"
            ]
        );
        assert_eq!(store.meta("feeds:archive:").unwrap(), None);

        publish(&site, &feeds, &mut store, publication(&batch.upserts, true)).unwrap();
        let recorded = store
            .meta("feeds:archive:")
            .unwrap()
            .expect("bounds recorded");
        assert!(
            recorded.contains("e2") && recorded.contains("e4"),
            "{recorded}"
        );

        // A new entry fills page 3 and begins page 4; pages 1 and 2 are neither rendered nor
        // written.
        let new = [record("e6", 6)];
        store
            .apply(
                &Batch {
                    upserts: new.to_vec(),
                    ..Batch::default()
                },
                now,
            )
            .unwrap();
        let files = publish(&site, &feeds, &mut store, publication(&new, true)).unwrap();
        assert_eq!(
            names(&files, true),
            ["archive/3/rss.xml", "archive/4/rss.xml", "rss.xml"]
        );
        let rss = std::fs::read_to_string(feeds.output_dir.join("rss.xml")).unwrap();
        assert!(
            rss.contains(
                r#"href="https://example.org/feeds/archive/3/rss.xml" rel="prev-archive""#
            ),
            "{rss}"
        );
    }
}

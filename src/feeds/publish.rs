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

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use thiserror::Error;

use super::set::FeedSpec;
use super::writer::StreamError;
use super::{FeedError, FeedFormat, FeedsConfig};
use crate::entry::Entry;
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
}

impl FeedPlan {
    /// Plans every feed folder from the live entries.
    pub fn new(site: &Site, feeds: &FeedsConfig, live: Vec<LiveEntry>) -> FeedPlan {
        let specs = super::set::plan(site, feeds, &live);
        let selected = specs
            .iter()
            .map(|spec| spec.select_indices(&live, feeds.limit))
            .collect();
        FeedPlan {
            live,
            specs,
            selected,
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
            .filter(|e| shown.contains(e.id.as_str()))
            .map(|e| (e.id.clone(), super::clean_body(e)))
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
}

/// Metadata key: fingerprint of the feed settings of the last complete write.
const FEEDS_SETTINGS: &str = "feeds:settings";
/// Metadata key: the feed files of the last complete write, with their item counts.
const FEEDS_FILES: &str = "feeds:files";

/// One feed file to render: its folder's spec, its format and the entries it holds.
struct Job<'a> {
    spec: &'a FeedSpec,
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
    let settings = feeds.fingerprint(site);
    if !publication.entries_changed
        && store.meta(FEEDS_SETTINGS)?.as_deref() == Some(settings.as_str())
        && let Some(files) = untouched_feed_files(store)?
    {
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
    let (jobs, mut files) = jobs(feeds, store, &plan)?;
    let entries = prepare_entries(store, &jobs, publication.fresh)?;
    let rendered = render_all(jobs, &entries, write);
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

/// The feed files to render, and those already up to date (whose ledger entry matches).
fn jobs<'a>(
    feeds: &FeedsConfig,
    store: &Store,
    plan: &'a FeedPlan,
) -> Result<(Vec<Job<'a>>, Vec<FeedFile>), StoreError> {
    let mut jobs = Vec::new();
    let mut up_to_date = Vec::new();
    for (spec, selected) in plan.specs.iter().zip(&plan.selected) {
        let entries: Vec<&LiveEntry> = selected.iter().map(|&i| &plan.live[i]).collect();
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        for &format in &feeds.formats {
            let path = feeds.output_dir.join(&spec.dir).join(format.file_name());
            let fingerprint = feed_fingerprint(spec, format, &entries);
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
    Ok((jobs, up_to_date))
}

/// Every entry some job shows, sanitised once: the fresh ones came prepared, the others are
/// loaded from the store and prepared here, on every core.
fn prepare_entries(
    store: &Store,
    jobs: &[Job<'_>],
    mut fresh: HashMap<String, Entry>,
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
        .map(|e| (e.id.clone(), super::prepare(e)))
        .collect();
    prepared.extend(loaded);
    Ok(prepared)
}

/// Renders (and, when `write`, writes) every job on every core: feeds are independent files.
/// A file that fails does not stop the others.
fn render_all<'a>(
    jobs: Vec<Job<'a>>,
    entries: &HashMap<String, Entry>,
    write: bool,
) -> Vec<(Job<'a>, usize, Result<bool, PublishError>)> {
    jobs.into_par_iter()
        .map(|job| {
            let selected: Vec<&Entry> = job.ids.iter().filter_map(|id| entries.get(*id)).collect();
            let render = |out: &mut dyn std::io::Write| {
                super::write_prepared(job.format, &job.spec.meta, &selected, out)
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
            (job, items, result)
        })
        .collect()
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

fn feed_fingerprint(spec: &FeedSpec, format: FeedFormat, entries: &[&LiveEntry]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(format!("{format:?}\n{:?}\n", spec.meta).as_bytes());
    for entry in entries {
        let (id, hash) = (&entry.id, &entry.content_hash);
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
    use crate::store::{Batch, EntryRecord, EntryStatus};

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
}

//! Sources: where entries come from. Each reader implements [`Source`]; [`build`] picks the
//! implementation from the config with one `match`, so adding a reader touches one file and
//! the config enum.
//!
//! A source reads *documents* (a file, later an HTTP response). Each document carries a
//! fingerprint (for files: size and modification time); when the store already holds the same
//! fingerprint the source reports the document as unchanged without parsing it, which keeps a
//! cycle over thousands of unchanged files cheap.
//!
//! Remote sources (`json`, `feed`, `html`) also keep HTTP validators per URL between reads
//! (the [`Cache`]), so that an unchanged source costs one conditional request that answers
//! 304. The cycle stores the cache with the entries, in the same transaction, and passes it
//! back only when the store holds the entries it describes.

pub mod config;
pub mod control;
pub mod dates;
pub mod directory;
pub mod feed;
pub mod finish;
pub mod html;
pub mod http;
pub mod json;
pub mod pager;
pub mod remote;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::entry::Entry;
use crate::progress::Progress;
use crate::site::Site;
pub use config::SourceConfig;

/// A problem with one document: that entry is skipped, every other entry goes on.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{location}: {message}")]
pub struct EntryError {
    /// File (and `:line` where known) or URL of the document.
    pub location: String,
    /// What is wrong, naming the field, and what to do.
    pub message: String,
}

/// A problem that stops a whole source from being read (its folder is missing, say).
#[derive(Debug, Error)]
pub enum SourceError {
    /// The source's folder cannot be listed.
    #[error("source {source_name:?}: cannot read folder {path}: {reason}")]
    Folder {
        /// Source name from the config.
        source_name: String,
        /// The folder.
        path: PathBuf,
        /// Why (the I/O error as text).
        reason: String,
    },
    /// A remote source could not be read completely (its server is down, a page failed).
    #[error("source {source_name:?}: {message}")]
    Remote {
        /// Source name from the config.
        source_name: String,
        /// What failed, naming the URL, and what to check.
        message: String,
    },
    /// Reading the source panicked: a bug in crier or a library it uses, met on this source's
    /// data. The read was given up; the other sources go on.
    #[error(
        "source {source_name:?}: reading it failed unexpectedly ({message}); this is a bug in crier, please report it with this message"
    )]
    Panicked {
        /// Source name from the config.
        source_name: String,
        /// The panic's message.
        message: String,
    },
    /// A directory source with `undated = "git"` whose folder git cannot read (it is not in a
    /// git repository, or git is missing).
    #[error(
        "source {source_name:?}: `undated = \"git\"` cannot date the pages of {path}: {reason}; \
         put the folder under git, or set `undated` to \"file\" or \"skip\""
    )]
    Git {
        /// Source name from the config.
        source_name: String,
        /// The source's folder.
        path: PathBuf,
        /// What git said.
        reason: String,
    },
}

/// What became of one document during a read.
#[derive(Debug)]
pub enum Outcome {
    /// Same fingerprint as last time: not parsed; the stored entry stands.
    Unchanged,
    /// Parsed into an entry.
    Parsed(Box<Entry>),
    /// Deliberately not published (a draft); a stored entry for it is withdrawn.
    Skipped(String),
    /// Could not be read; a stored entry for it is kept as it was. When the source's
    /// failures last ([`Source::failures_last`]) and the document has a fingerprint, the
    /// cycle remembers the failure and the source sees the document as known until its
    /// fingerprint changes.
    Failed(EntryError),
}

/// One document of a source and what reading it gave.
#[derive(Debug)]
pub struct Document {
    /// Key of the document within its source (a relative path with `/` separators).
    pub key: String,
    /// Opaque change marker; equal fingerprints mean the document need not be parsed again.
    pub fingerprint: String,
    /// The result.
    pub outcome: Outcome,
}

/// Which document publishes which entry id, so that two documents never publish one id: the
/// first claim wins and the second document is reported.
#[derive(Debug, Default)]
pub struct IdClaims(HashMap<String, String>);

impl IdClaims {
    /// Records that `doc_key` holds `id` without checking (a document that was not parsed this
    /// time keeps the ids it published).
    pub fn hold(&mut self, id: &str, doc_key: &str) {
        self.0.insert(id.to_owned(), doc_key.to_owned());
    }

    /// Claims `id` for `doc_key`; the error names the document that holds it already and what
    /// to do.
    pub fn claim(&mut self, id: &str, doc_key: &str) -> Result<(), String> {
        match self.0.get(id) {
            Some(owner) if owner != doc_key => Err(format!(
                "{doc_key}: entry id {id:?} is already used by {owner}; give one of them a distinct `id` or `slug`"
            )),
            _ => {
                self.hold(id, doc_key);
                Ok(())
            }
        }
    }

    /// Whether some document holds `id`.
    pub fn is_held(&self, id: &str) -> bool {
        self.0.contains_key(id)
    }
}

/// HTTP validators by URL, kept between reads of a remote source.
pub type Cache = BTreeMap<String, http::Validators>;

/// The cache as the JSON text the store keeps (an object of URL → validators, keys sorted).
pub fn cache_to_json(cache: &Cache) -> String {
    // A map of strings to strings always serialises.
    serde_json::to_string(cache).unwrap_or_default()
}

/// The cache from the JSON text the store kept. None, or a value that does not read (edited by
/// hand), is an empty cache: the next read is simply unconditional.
pub fn cache_from_json(json: Option<&str>) -> Cache {
    json.and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// What a read starts from.
#[derive(Debug, Clone, Copy)]
pub struct ReadInput<'a> {
    /// Document keys mapped to the fingerprints stored last time.
    pub known: &'a HashMap<String, String>,
    /// Validators from the last complete read; empty when the store's entries of this source
    /// cannot be trusted to match them (first read, settings changed) or a full read is due.
    pub cache: &'a Cache,
    /// The cycle's time: a document whose fingerprint says it expires by then is read again.
    pub now: DateTime<Utc>,
    /// Counts the documents read (a source adds their number to the total once listed).
    pub progress: &'a Progress,
}

/// What a read gives.
#[derive(Debug, Default)]
pub struct Read {
    /// Every document of the source; documents absent from the list are gone.
    pub documents: Vec<Document>,
    /// Validators to send next time.
    pub cache: Cache,
    /// What the operator should hear about once per read (files passed over, say), grouped
    /// by cause.
    pub notices: Notices,
}

/// How loudly a [`Notices`] cause is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoticeLevel {
    /// Expected and harmless (pages without a date on a documentation site).
    Info,
    /// Probably not what the operator wants (content files crier cannot read).
    Warning,
}

/// Things a read noticed about some documents, grouped by cause, so that a cause met in a
/// thousand files is logged once, with a count and the first few files, instead of a
/// thousand times.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Notices(BTreeMap<(NoticeLevel, String), Vec<String>>);

impl Notices {
    /// How many locations a log line names before it only counts the rest.
    pub const SHOWN: usize = 3;

    /// Notes `cause` at `location` (a file or URL).
    pub fn add(
        &mut self,
        level: NoticeLevel,
        cause: impl Into<String>,
        location: impl Into<String>,
    ) {
        self.0
            .entry((level, cause.into()))
            .or_default()
            .push(location.into());
    }

    /// Adds every cause and location of `other`.
    pub fn extend(&mut self, other: Notices) {
        for (cause, mut locations) in other.0 {
            self.0.entry(cause).or_default().append(&mut locations);
        }
    }

    /// Whether nothing was noticed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each cause with its level and locations, causes sorted.
    pub fn iter(&self) -> impl Iterator<Item = (NoticeLevel, &str, &[String])> {
        self.0
            .iter()
            .map(|((level, cause), locations)| (*level, cause.as_str(), locations.as_slice()))
    }

    /// One line per cause: `{cause}: {count} (a, b, c and 4 more)`.
    pub fn lines(&self) -> Vec<(NoticeLevel, String)> {
        self.iter()
            .map(|(level, cause, locations)| {
                let shown = locations
                    .iter()
                    .take(Self::SHOWN)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = locations.len().saturating_sub(Self::SHOWN);
                let tail = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                (
                    level,
                    format!("{cause}: {} ({shown}{tail})", locations.len()),
                )
            })
            .collect()
    }
}

/// A reader of entries.
pub trait Source: Send + Sync {
    /// The configured name, which prefixes the ids of this source's entries.
    fn name(&self) -> &str;

    /// Lists and reads every document. A document whose fingerprint matches `input.known` is
    /// returned as [`Outcome::Unchanged`]. A source that cannot list its documents completely
    /// returns an error rather than a partial list (which would withdraw the missing entries).
    fn read(&self, input: &ReadInput<'_>) -> Result<Read, SourceError>;

    /// Whether a document that failed with a fingerprint fails again, the same way, until its
    /// fingerprint changes: then the cycle remembers the failure and passes the fingerprint in
    /// `input.known`, so that the document is not parsed again (a broken file). A source
    /// gives a failure that may pass on its own (a file it could not open) an empty
    /// fingerprint. False by default: a remote source's failures may come from the network.
    fn failures_last(&self) -> bool {
        false
    }
}

/// Reads `source`, turning a panic inside the read into that source's error, so that one
/// source's bad data (a document that trips a parser) cannot stop the other sources.
///
/// Catching the panic is sound although the source is not `UnwindSafe`: whatever state the
/// panicked read left half-changed (its fetcher, its partial list of documents, a rayon
/// job's results) lives inside this call and is dropped with it; the source itself is only
/// read through `&self`, `input` is borrowed immutably, and nothing is recorded in the store
/// for a source whose read failed. The default panic hook still prints the panic with its
/// location first.
pub fn read_contained(source: &dyn Source, input: &ReadInput<'_>) -> Result<Read, SourceError> {
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.read(input)));
    read.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|m| (*m).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Err(SourceError::Panicked {
            source_name: source.name().to_owned(),
            message,
        })
    })
}

/// Whether a read of `source` must ignore the validators kept from the last one. Remote
/// sources are read in full when asked to (`forced`, `--full-read`), when they never were, and
/// every `http.full_read_every`, which catches edits a server's validators miss (an old item
/// edited deep in a paged listing). A directory has no validators: never.
pub fn full_read_due(
    source: &SourceConfig,
    last_full_read: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    forced: bool,
) -> bool {
    let Some(http) = source.http() else {
        return false;
    };
    let every = chrono::Duration::from_std(http.full_read_every).unwrap_or(chrono::Duration::MAX);
    forced || last_full_read.is_none_or(|last| now.signed_duration_since(last) >= every)
}

/// Checks that a read can stand for the source's whole content: an empty answer from a
/// remote source that had `live` published entries is taken for an outage, not for every
/// entry being withdrawn.
pub fn check_complete(source: &SourceConfig, read: &Read, live: usize) -> Result<(), SourceError> {
    if source.http().is_some() && read.documents.is_empty() && live > 0 {
        return Err(SourceError::Remote {
            source_name: source.name().to_owned(),
            message: format!(
                "the server listed no entries at all; the {live} published ones are kept, \
                 as this is more likely an outage than every entry being withdrawn"
            ),
        });
    }
    Ok(())
}

/// Builds the reader for one configured source.
pub fn build(site: &Site, source: &SourceConfig) -> Box<dyn Source> {
    match source {
        SourceConfig::Directory(d) => Box::new(directory::DirectorySource::new(site, d)),
        SourceConfig::Json(j) => Box::new(json::JsonSource::new(site, j)),
        SourceConfig::Feed(f) => Box::new(feed::FeedSource::new(site, f)),
        SourceConfig::Html(h) => Box::new(html::HtmlSource::new(site, h)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_the_json_stored_before_and_reads_bad_json_as_empty() {
        // The text earlier versions stored: existing states keep their validators.
        let stored = r#"{"https://e.org/a.xml":{"etag":"\"v1\""},"https://e.org/b.xml":{"last_modified":"Wed, 01 May 2024 10:00:00 GMT"}}"#;
        let cache = cache_from_json(Some(stored));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache["https://e.org/a.xml"].etag.as_deref(), Some("\"v1\""));
        assert_eq!(cache_to_json(&cache), stored);
        assert_eq!(cache_to_json(&Cache::new()), "{}");
        assert!(cache_from_json(None).is_empty());
        assert!(cache_from_json(Some("not json")).is_empty());
        assert!(cache_from_json(Some(r#"{"u": 3}"#)).is_empty());
    }

    /// A source whose read panics with a formatted message.
    struct Panicking;

    impl Source for Panicking {
        fn name(&self) -> &str {
            "partner"
        }

        fn read(&self, _: &ReadInput<'_>) -> Result<Read, SourceError> {
            let at = 380;
            panic!("quick-xml, encoding.rs:{at}: set_encoding() called too late")
        }
    }

    #[test]
    fn a_panicking_read_becomes_the_error_of_its_source() {
        let (known, cache) = (HashMap::new(), Cache::new());
        let input = ReadInput {
            known: &known,
            cache: &cache,
            now: Utc::now(),
            progress: crate::progress::Progress::ignored(),
        };
        let error = read_contained(&Panicking, &input).unwrap_err();
        assert!(matches!(error, SourceError::Panicked { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "source \"partner\": reading it failed unexpectedly (quick-xml, encoding.rs:380: \
             set_encoding() called too late); this is a bug in crier, please report it with \
             this message"
        );
    }

    #[test]
    fn notices_are_grouped_by_cause_and_name_the_first_locations() {
        let mut notices = Notices::default();
        for file in ["a.org", "b.org", "c.org", "d.org", "e.org"] {
            notices.add(
                NoticeLevel::Warning,
                "content format crier cannot read",
                file,
            );
        }
        let mut more = Notices::default();
        more.add(NoticeLevel::Info, "pages without a date", "about.md");
        notices.extend(more);
        assert_eq!(
            notices.lines(),
            vec![
                (
                    NoticeLevel::Info,
                    "pages without a date: 1 (about.md)".to_owned()
                ),
                (
                    NoticeLevel::Warning,
                    "content format crier cannot read: 5 (a.org, b.org, c.org and 2 more)"
                        .to_owned()
                ),
            ]
        );
        assert!(!notices.is_empty());
        assert!(Notices::default().lines().is_empty());
    }
}

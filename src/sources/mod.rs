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
pub mod dates;
pub mod directory;
pub mod feed;
pub mod html;
pub mod http;
pub mod json;
pub mod pager;
pub mod remote;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use thiserror::Error;

use crate::entry::Entry;
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
    /// Could not be read; a stored entry for it is kept as it was.
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

/// HTTP validators by URL, kept between reads of a remote source.
pub type Cache = BTreeMap<String, http::Validators>;

/// What a read starts from.
#[derive(Debug, Clone, Copy)]
pub struct ReadInput<'a> {
    /// Document keys mapped to the fingerprints stored last time.
    pub known: &'a HashMap<String, String>,
    /// Validators from the last complete read; empty when the store's entries of this source
    /// cannot be trusted to match them (first read, settings changed) or a full read is due.
    pub cache: &'a Cache,
}

/// What a read gives.
#[derive(Debug, Default)]
pub struct Read {
    /// Every document of the source; documents absent from the list are gone.
    pub documents: Vec<Document>,
    /// Validators to send next time.
    pub cache: Cache,
}

/// A reader of entries.
pub trait Source: Send + Sync {
    /// The configured name, which prefixes the ids of this source's entries.
    fn name(&self) -> &str;

    /// Lists and reads every document. A document whose fingerprint matches `input.known` is
    /// returned as [`Outcome::Unchanged`]. A source that cannot list its documents completely
    /// returns an error rather than a partial list (which would withdraw the missing entries).
    fn read(&self, input: &ReadInput<'_>) -> Result<Read, SourceError>;
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

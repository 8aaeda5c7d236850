//! Sources: where entries come from. Each reader implements [`Source`]; [`build`] picks the
//! implementation from the config with one `match`, so adding a reader touches one file and
//! the config enum.
//!
//! A source reads *documents* (a file, later an HTTP response). Each document carries a
//! fingerprint (for files: size and modification time); when the store already holds the same
//! fingerprint the source reports the document as unchanged without parsing it, which keeps a
//! cycle over thousands of unchanged files cheap.

pub mod directory;

use std::collections::HashMap;
use std::path::PathBuf;

use thiserror::Error;

use crate::config::{Config, SourceConfig};
use crate::entry::Entry;

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

/// A reader of entries.
pub trait Source: Send + Sync {
    /// The configured name, which prefixes the ids of this source's entries.
    fn name(&self) -> &str;

    /// Lists and reads every document. `known` maps document keys to the fingerprints stored
    /// last time; a document whose fingerprint matches is returned as [`Outcome::Unchanged`].
    /// Documents absent from the result are gone from the source.
    fn read(&self, known: &HashMap<String, String>) -> Result<Vec<Document>, SourceError>;
}

/// Builds the reader for one configured source.
pub fn build(config: &Config, source: &SourceConfig) -> Box<dyn Source> {
    match source {
        SourceConfig::Directory(d) => Box::new(directory::DirectorySource::new(config, d)),
    }
}

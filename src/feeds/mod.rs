//! Feeds: pure renderers (entries in, bytes out) for RSS 2.0, Atom 1.0 and JSON Feed 1.1, the
//! sanitiser they share, and the atomic writer.
//!
//! Renderers are deterministic: the same [`FeedMeta`] and entries give byte-identical output,
//! so the writer can skip files whose bytes did not change.

pub mod atom;
pub mod jsonfeed;
pub mod rss;
pub mod sanitize;
pub mod writer;

use thiserror::Error;

pub use crate::config::FeedFormat;
use crate::entry::{Entry, Person};

/// A feed could not be rendered.
#[derive(Debug, Error)]
pub enum FeedError {
    /// The XML or JSON writer failed.
    #[error("cannot render {format} feed {title:?}: {reason}")]
    Render {
        /// Format name.
        format: &'static str,
        /// Feed title.
        title: String,
        /// The writer's message.
        reason: String,
    },
}

/// Feed-level data shared by the three formats.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedMeta {
    /// Feed title.
    pub title: String,
    /// Feed description (may be empty).
    pub description: String,
    /// Home page the feed belongs to.
    pub home_url: String,
    /// Public URL of the folder this feed's files are written to, ending in `/`; the self link
    /// is this plus [`FeedFormat::file_name`].
    pub folder_url: String,
    /// Language of the feed, when all its entries share one.
    pub language: Option<String>,
    /// Default author for entries without one (Atom requires an author).
    pub author: Person,
}

impl FeedFormat {
    /// File name written for this format.
    pub fn file_name(self) -> &'static str {
        match self {
            FeedFormat::Rss => "rss.xml",
            FeedFormat::Atom => "atom.xml",
            FeedFormat::Json => "feed.json",
        }
    }

    /// Short name used in config and messages.
    pub fn name(self) -> &'static str {
        match self {
            FeedFormat::Rss => "rss",
            FeedFormat::Atom => "atom",
            FeedFormat::Json => "json",
        }
    }
}

/// Renders one feed. `entries` are already selected and sorted newest first.
pub fn render(format: FeedFormat, meta: &FeedMeta, entries: &[Entry]) -> Result<Vec<u8>, FeedError> {
    match format {
        FeedFormat::Rss => rss::render(meta, entries),
        FeedFormat::Atom => atom::render(meta, entries),
        FeedFormat::Json => jsonfeed::render(meta, entries),
    }
}

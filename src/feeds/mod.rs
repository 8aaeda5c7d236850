//! Feeds: pure renderers (entries in, bytes out) for RSS 2.0, Atom 1.0 and JSON Feed 1.1, the
//! sanitiser they share, and the atomic writer.
//!
//! Renderers are deterministic: the same [`FeedMeta`] and entries give byte-identical output,
//! so the writer can skip files whose bytes did not change.

pub mod atom;
pub mod jsonfeed;
pub mod rss;
pub mod sanitize;
pub mod set;
pub mod writer;

use chrono::{DateTime, FixedOffset};
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

impl FeedMeta {
    /// Public URL of this feed's own file in `format` (the self link).
    pub fn self_url(&self, format: FeedFormat) -> String {
        format!("{}{}", self.folder_url, format.file_name())
    }
}

/// Newest `last_modified()` of the entries: the feed's own update time. Derived from the
/// entries, never from the clock, so rendering stays deterministic.
pub(crate) fn newest_update(entries: &[&Entry]) -> Option<DateTime<FixedOffset>> {
    entries.iter().map(|entry| entry.last_modified()).max()
}

/// The author shown for an entry: its own, else the feed's.
pub(crate) fn author_of<'a>(entry: &'a Entry, meta: &'a FeedMeta) -> &'a Person {
    entry.author.as_ref().unwrap_or(&meta.author)
}

/// Media type of an image guessed from the extension of its URL path, when it is a common one.
pub(crate) fn image_mime_type(url: &str) -> Option<&'static str> {
    // Only the path counts: `photo.jpg?w=800` is a JPEG, `/img?f=a.png` says nothing.
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let file = path.rsplit('/').next().unwrap_or(path);
    let (_, extension) = file.rsplit_once('.')?;
    match extension.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" | "jfif" => Some("image/jpeg"),
        "png" => Some("image/png"),
        "gif" => Some("image/gif"),
        "webp" => Some("image/webp"),
        "avif" => Some("image/avif"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

/// Renders one feed. `entries` are already selected and sorted newest first.
pub fn render(
    format: FeedFormat,
    meta: &FeedMeta,
    entries: &[Entry],
) -> Result<Vec<u8>, FeedError> {
    let prepared: Vec<Entry> = entries.iter().cloned().map(prepare).collect();
    let prepared: Vec<&Entry> = prepared.iter().collect();
    render_prepared(format, meta, &prepared)
}

/// Readies an entry for [`render_prepared`]: sanitises its HTML body (relative URLs resolved
/// against the entry URL). Sanitising is the costly part of rendering and an entry appears in
/// several feeds and formats, so callers rendering many feeds do it once per entry.
pub fn prepare(mut entry: Entry) -> Entry {
    entry.content = sanitize::clean_html(&entry.content, &entry.url);
    entry
}

/// Renders one feed from entries that went through [`prepare`] (their `content` is written as
/// it is), selected and sorted newest first. Characters XML forbids are dropped here, from
/// every text field, so the output is well-formed whatever the entries hold.
pub fn render_prepared(
    format: FeedFormat,
    meta: &FeedMeta,
    entries: &[&Entry],
) -> Result<Vec<u8>, FeedError> {
    let mut bytes = Vec::new();
    write_prepared(format, meta, entries, &mut bytes)?;
    Ok(bytes)
}

/// Like [`render_prepared`], streaming into `out`: a feed of thousands of full-text entries is
/// never held in memory as a whole (see [`writer::replace_streaming`]).
pub fn write_prepared(
    format: FeedFormat,
    meta: &FeedMeta,
    entries: &[&Entry],
    out: &mut dyn std::io::Write,
) -> Result<(), FeedError> {
    match format {
        FeedFormat::Rss => rss::write(meta, entries, out),
        FeedFormat::Atom => atom::write(meta, entries, out),
        FeedFormat::Json => jsonfeed::write(meta, entries, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_mime_type_looks_at_the_path_only() {
        assert_eq!(
            image_mime_type("https://x.org/a/photo.JPG"),
            Some("image/jpeg")
        );
        assert_eq!(
            image_mime_type("https://x.org/a.png?w=800#top"),
            Some("image/png")
        );
        assert_eq!(image_mime_type("https://x.org/img?f=a.png"), None);
        assert_eq!(image_mime_type("https://x.org/v1.2/photo"), None);
        assert_eq!(image_mime_type("https://x.org/a.tiff"), None);
    }
}

//! Feeds: pure renderers (entries in, bytes out) for RSS 2.0, Atom 1.0 and JSON Feed 1.1, the
//! sanitiser they share, the size budgets that keep every file parseable ([`budget`]), the
//! atomic writer, and the links back to the posts that announced
//! the entries (`syndication.json`, and the JSON Feed's `_crier` object), the links between
//! translations, and the autodiscovery tags for the site's pages (`head.html`).
//! sanitiser they share, the atomic writer, the links back to the posts that announced the
//! entries (`syndication.json`, and the JSON Feed's `_crier` object), and the XSL stylesheet
//! that shows RSS and Atom feeds as a page in a browser.
//!
//! Renderers are deterministic: the same [`FeedMeta`] and entries give byte-identical output,
//! so the writer can skip files whose bytes did not change.

pub mod archive;
pub mod atom;
pub mod budget;
mod config;
pub mod head;
pub mod jsonfeed;
mod publish;
pub mod rss;
pub mod sanitize;
pub mod set;
pub mod stylesheet;
pub mod syndication;
pub mod translations;
pub mod websub;
pub mod writer;

use chrono::{DateTime, FixedOffset};
use thiserror::Error;

use crate::entry::{Entry, Person};
pub use archive::ArchiveLinks;
pub use config::{FeedFormat, FeedsConfig};
pub use publish::{FeedFile, FeedPlan, Publication, PublishError, publish};
pub use syndication::{Accounts, ChannelAccount, Syndication};
pub use translations::{Translation, Translations};
pub use websub::WebSubConfig;

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
    // WebSub
    /// WebSub hubs the feed names (`rel="hub"`), with its self link as the topic; empty
    /// without `[feeds.websub]`.
    pub hubs: Vec<String>,
    // Browser-readable feeds (XSL stylesheet).
    /// Address of the XSL stylesheet the RSS and Atom files name, so that a browser shows them
    /// as a page; none when `None`.
    pub stylesheet: Option<String>,
    // Archived feeds (RFC 5005)
    /// Where this document sits in an archived feed; `None` when the feed is not archived.
    pub archive: Option<ArchiveLinks>,
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
    render_with_links(
        format,
        meta,
        entries,
        &Syndication::default(),
        &Translations::default(),
    )
}

/// Like [`render`], the JSON Feed's items carrying the links back to their posts in `links`
/// (the XML formats have no place for them), and every item linking its `translations`.
pub fn render_with_links(
    format: FeedFormat,
    meta: &FeedMeta,
    entries: &[Entry],
    links: &Syndication,
    translations: &Translations,
) -> Result<Vec<u8>, FeedError> {
    let prepared: Vec<Entry> = entries.iter().cloned().map(prepare).collect();
    let prepared: Vec<&Entry> = prepared.iter().collect();
    let mut bytes = Vec::new();
    write_linked(format, meta, &prepared, links, translations, &mut bytes)?;
    Ok(bytes)
}

/// Readies an entry for [`render_prepared`]: sanitises its HTML body (relative URLs resolved
/// against the entry URL). Sanitising is the costly part of rendering and an entry appears in
/// several feeds and formats, so callers rendering many feeds do it once per entry.
pub fn prepare(entry: Entry) -> Entry {
    prepare_within(entry, budget::DEFAULT_MAX_CONTENT_BYTES)
}

/// [`prepare`] with a body of at most `max_content_bytes` (see [`clean_body_within`]); its
/// dates get whole-minute offsets (see [`whole_minutes`]).
pub fn prepare_within(mut entry: Entry, max_content_bytes: usize) -> Entry {
    entry.content = clean_body_within(&entry, max_content_bytes);
    entry.published = whole_minutes(entry.published);
    entry.updated = entry.updated.map(whole_minutes);
    entry
}

/// The entry's HTML body sanitised, relative URLs resolved against the entry's URL: what
/// [`prepare`] puts in `content`.
pub fn clean_body(entry: &Entry) -> String {
    clean_body_within(entry, budget::DEFAULT_MAX_CONTENT_BYTES)
}

/// [`clean_body`] cut to `max_content_bytes` at a block's end, with a "continue reading" link
/// (see [`budget::fit_body`]). A body far beyond the budget is cut raw first, so that the
/// sanitiser does not parse what would be thrown away.
pub fn clean_body_within(entry: &Entry, max_content_bytes: usize) -> String {
    let raw = entry.content.as_str();
    let bound = budget::raw_bound(raw.len(), max_content_bytes);
    let raw = bound.map_or(raw, |bound| budget::cut_raw(raw, bound));
    let clean = sanitize::clean_html(raw, &entry.url);
    match budget::fit_body(
        &clean,
        max_content_bytes,
        bound.is_some(),
        &entry.url,
        &entry.language,
    ) {
        std::borrow::Cow::Borrowed(_) => clean,
        std::borrow::Cow::Owned(cut) => cut,
    }
}

/// `date` in UTC when its offset has seconds, which no feed date can write (Paris was
/// +00:09:21 until 1911), or lies beyond ±14:00: the instant stays exact. Sources check
/// dates as they read them (`sources::dates::fit_for_feeds` refuses the second kind); this
/// keeps entries stored before that check writable too.
pub(crate) fn whole_minutes(date: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    let offset = date.offset().local_minus_utc();
    if offset % 60 == 0 && offset.abs() <= 14 * 3600 {
        date
    } else {
        date.to_utc().fixed_offset()
    }
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
    write_linked(
        format,
        meta,
        entries,
        &Syndication::default(),
        &Translations::default(),
        out,
    )
}

/// Like [`write_prepared`], the JSON Feed's items carrying the links back in `links`, and
/// every item linking its `translations`.
pub fn write_linked(
    format: FeedFormat,
    meta: &FeedMeta,
    entries: &[&Entry],
    links: &Syndication,
    translations: &Translations,
    out: &mut dyn std::io::Write,
) -> Result<(), FeedError> {
    match format {
        FeedFormat::Rss => rss::write(meta, entries, translations, out),
        FeedFormat::Atom => atom::write(meta, entries, translations, out),
        FeedFormat::Json => jsonfeed::write(meta, entries, links, translations, out),
    }
}

/// Items rendered per pass by the XML renderers.
pub(crate) const CHUNK: usize = 256;

/// Writes an XML feed whose items are rendered `chunk_size` at a time, so that the feed crates'
/// item structs, which own a copy of every text, exist for a few hundred entries at once rather
/// than for the whole feed.
///
/// `document(items)` renders the complete document holding only `items`; everything outside
/// the items must not depend on which items are given (callers derive feed-level values such
/// as the update date from all entries). The item-less document is a header followed by a
/// footer; each chunk's document must be that header, its items, then that footer, or the feed
/// is rendered in one pass instead, so the result is always exactly the one-pass output.
pub(crate) fn write_in_chunks(
    entries: &[&Entry],
    chunk_size: usize,
    out: &mut dyn std::io::Write,
    document: impl Fn(&[&Entry]) -> Result<Vec<u8>, FeedError>,
    error: impl Fn(String) -> FeedError,
) -> Result<(), FeedError> {
    let io = |e: std::io::Error| error(e.to_string());
    if entries.len() <= chunk_size {
        return out.write_all(&document(entries)?).map_err(io);
    }
    let empty = document(&[])?;
    let mut header = None;
    for chunk in entries.chunks(chunk_size.max(1)) {
        let doc = document(chunk)?;
        let split = split_items(&empty, &doc);
        match (header, split) {
            (None, Some(split)) => {
                header = Some(split);
                out.write_all(&doc[..split]).map_err(io)?;
            }
            // Nothing written yet: the one-pass rendering is always right.
            (None, None) => {
                #[cfg(test)]
                ONE_PASS_FALLBACKS.with(|n| n.set(n.get() + 1));
                return out.write_all(&document(entries)?).map_err(io);
            }
            (Some(first), Some(split)) if split == first => {}
            (Some(_), _) => {
                return Err(error(
                    "the feed's header changed between chunks of items; please report this"
                        .to_owned(),
                ));
            }
        }
        let split = header.unwrap_or(0);
        let footer = empty.len() - split;
        out.write_all(&doc[split..doc.len() - footer]).map_err(io)?;
    }
    out.write_all(&empty[header.unwrap_or(0)..]).map_err(io)
}

#[cfg(test)]
thread_local! {
    /// How often [`write_in_chunks`] fell back to one pass on this thread (tests check it is 0).
    static ONE_PASS_FALLBACKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Where the items start in `doc`, given the item-less document `empty`: the header is the
/// longest common prefix ending a line, and `doc` must end with the rest of `empty`.
fn split_items(empty: &[u8], doc: &[u8]) -> Option<usize> {
    let common = empty.iter().zip(doc).take_while(|(a, b)| a == b).count();
    let split = empty[..common].iter().rposition(|&b| b == b'\n')? + 1;
    let footer = &empty[split..];
    (doc.len() >= split + footer.len() && doc.ends_with(footer)).then_some(split)
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

    fn many_entries(n: usize) -> Vec<Entry> {
        use chrono::TimeZone;
        (0..n)
            .map(|i| {
                let id = format!("e{i}");
                let base = crate::testing::entry(&id, "2024-01-01T00:00:00+01:00");
                Entry {
                    title: format!("Entry {i} & <more> ]]> 城市 🎉"),
                    summary: if i % 3 == 0 {
                        String::new()
                    } else {
                        format!("Summary {i}")
                    },
                    content: format!(
                        "<p>Body {i} &amp; <a href=\"https://example.org/\">link</a></p>"
                    ),
                    published: base.published + chrono::Duration::minutes(i as i64),
                    updated: (i % 4 == 0).then(|| {
                        chrono::FixedOffset::east_opt(0)
                            .unwrap()
                            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
                            .unwrap()
                    }),
                    language: if i % 5 == 0 { "fr".into() } else { "en".into() },
                    categories: vec![format!("c{}", i % 3)],
                    image: (i % 2 == 0).then(|| crate::entry::Image {
                        url: format!("https://example.org/{i}.jpg"),
                        alt: format!("alt {i}"),
                        path: None,
                    }),
                    author: (i % 7 == 0).then(|| Person {
                        name: "Someone".into(),
                        email: None,
                        uri: None,
                    }),
                    ..base
                }
            })
            .collect()
    }

    #[test]
    fn chunked_xml_output_equals_one_pass_output() {
        let meta = FeedMeta {
            description: "About".into(),
            // The instruction is part of the header every chunk shares.
            stylesheet: Some("/feeds/feed.en.xsl".into()),
            ..crate::testing::feed_meta(Some("en"))
        };
        let mut entries = many_entries(600);
        // Pairs of entries are each other's translations when their languages differ.
        for (i, entry) in entries.iter_mut().enumerate() {
            entry.translation_key = format!("k{}", i / 2);
        }
        let translations = Translations::new(&crate::testing::live_entries(&entries));
        assert!(!translations.is_empty());
        let refs: Vec<&Entry> = entries.iter().collect();
        type Writer = fn(
            &FeedMeta,
            &[&Entry],
            &Translations,
            &mut dyn std::io::Write,
            usize,
        ) -> Result<(), FeedError>;
        let writers: [(&str, Writer); 2] =
            [("rss", rss::write_chunked), ("atom", atom::write_chunked)];
        for (name, write) in writers {
            let mut one_pass = Vec::new();
            write(&meta, &refs, &translations, &mut one_pass, usize::MAX).unwrap();
            for chunk in [1, 7, 256, 599] {
                let mut chunked = Vec::new();
                write(&meta, &refs, &translations, &mut chunked, chunk).unwrap();
                assert!(
                    chunked == one_pass,
                    "{name}: chunk size {chunk} changed the output"
                );
            }
            // The default path (`write`) is the chunked one for a feed this long.
            let mut default = Vec::new();
            write_linked(
                if name == "rss" {
                    FeedFormat::Rss
                } else {
                    FeedFormat::Atom
                },
                &meta,
                &refs,
                &Syndication::default(),
                &translations,
                &mut default,
            )
            .unwrap();
            assert!(default == one_pass, "{name}: default rendering differs");
            assert_eq!(
                ONE_PASS_FALLBACKS.with(|n| n.get()),
                0,
                "{name} fell back to one pass"
            );
            assert_eq!(
                String::from_utf8(one_pass)
                    .unwrap()
                    .matches("https://example.org/e599/")
                    .count(),
                1,
                "{name}"
            );
        }
    }

    /// The cut is made once, in `prepare`: every format carries the same body and link, and
    /// offsets with seconds are written in UTC (the instant kept).
    #[test]
    fn prepared_entries_are_cut_once_for_every_format() {
        let mut entry = crate::testing::entry("long", "2024-03-01T10:00:00Z");
        entry.language = "de".into();
        entry.content = "<p>Absatz <script>x()</script>mit Text.</p>\n".repeat(10_000);
        let lmt = chrono::FixedOffset::east_opt(9 * 60 + 21).unwrap();
        entry.published = entry.published.with_timezone(&lmt);
        let prepared = prepare_within(entry.clone(), 4096);
        assert!(prepared.content.len() <= 4096, "{}", prepared.content.len());
        let link = "<p><a href=\"https://example.org/long/\">Weiterlesen</a></p>";
        assert!(
            prepared.content.ends_with(&format!("</p>{link}")),
            "{}",
            prepared.content
        );
        assert!(!prepared.content.contains("script"), "sanitised first");
        assert_eq!(prepared.published, entry.published);
        assert_eq!(prepared.published.offset().local_minus_utc(), 0);
        assert_eq!(clean_body_within(&entry, 4096), prepared.content);
        let meta = crate::testing::feed_meta(Some("de"));
        for format in [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json] {
            let bytes = render_prepared(format, &meta, &[&prepared]).unwrap();
            let parsed = feed_rs::parser::parse(bytes.as_slice()).unwrap();
            let item = &parsed.entries[0];
            let body = item
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .unwrap_or_default();
            assert_eq!(body, prepared.content, "{format:?}");
            assert_eq!(
                item.published.map(|d| d.timestamp()),
                Some(entry.published.timestamp())
            );
        }
        // An offset no feed can write, stored before readers refused it, is written in UTC.
        let far_east = chrono::DateTime::parse_from_rfc3339("2024-03-12T09:30:00+23:59").unwrap();
        assert_eq!(whole_minutes(far_east), far_east);
        assert_eq!(whole_minutes(far_east).offset().local_minus_utc(), 0);
        // A body within the budget is only sanitised.
        let short = crate::testing::entry("short", "2024-03-01T10:00:00Z");
        assert_eq!(
            prepare_within(short.clone(), 4096).content,
            clean_body(&short)
        );
    }

    #[test]
    fn split_items_needs_the_whole_empty_document_around_the_items() {
        let empty = b"<a>\n  <b/>\n</a>\n";
        assert_eq!(split_items(empty, b"<a>\n  <b/>\n  <i/>\n</a>\n"), Some(11));
        assert_eq!(split_items(empty, b"<a>\n  <c/>\n  <i/>\n</a>\n"), None);
        assert_eq!(split_items(empty, b"<a>\n  <b/>\n  <i/>\n</z>\n"), None);
    }
}

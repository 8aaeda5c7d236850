//! The last step of every source: from the raw fields a source found for one entry (a
//! [`Draft`]) to the [`Entry`] the store keeps. A [`Finisher`] is built once per source from
//! the `Site` and the source's own defaults, and applies the rules every entry follows, so
//! that a Markdown file, a JSON item, a feed item and a web page come out alike:
//! - the id is `{source}:{key}`, the feed guid the upstream one when it is an absolute URI and
//!   otherwise a `tag:` URI of the site's host, the year of publication and the id;
//! - a language the entry names is matched against `site.languages` ([`Site::match_language`]),
//!   one it does not name is the source's default;
//! - text fields become plain text (HTML or front matter, see [`Markup`]); categories get the
//!   source's own added and lose duplicates that differ only in case;
//! - the summary is the one given, else an excerpt of the content, cut at a word;
//! - the image is the one given, else the first `<img>` of the content with its `alt`;
//! - the link, image and author page are made absolute against the page they were read from;
//! - `city` and `country` among the free fields give the place, an update no later than the
//!   publication is no update, and the translation key defaults to the id.
//!
//! What is really a source's own stays with it: the directory source's file names, permalinks,
//! Markdown and front matter keys with their lines, and each remote source's field mapping.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, FixedOffset};
use serde_json::Value;
use thiserror::Error;
use url::Url;

use super::dates::fit_for_feeds;
use crate::entry::{Announce, Entry, Image, Person, Place};
use crate::site::Site;

/// Longest summary, in characters, the ellipsis included.
pub const SUMMARY_MAX_CHARS: usize = 300;

/// What one source sets for all its entries, on top of the site's settings.
#[derive(Debug, Clone, Copy)]
pub struct Defaults<'a> {
    /// Source name: the prefix of its entry ids.
    pub name: &'a str,
    /// Language of entries that do not name theirs; default: the first of `site.languages`.
    pub language: Option<&'a str>,
    /// Time zone of dates written without an offset; default `site.timezone`.
    pub timezone: Option<chrono_tz::Tz>,
    /// Categories added to every entry.
    pub categories: &'a [String],
}

/// Turns the drafts of one source into entries.
#[derive(Debug, Clone)]
pub struct Finisher {
    /// The site, for its host and languages (cloned once per source, never per entry).
    site: Site,
    /// Source name.
    name: String,
    /// Language of entries that do not name theirs, in its configured spelling.
    language: String,
    /// Time zone of offset-less dates.
    timezone: chrono_tz::Tz,
    /// Categories added to every entry.
    categories: Vec<String>,
}

/// The fields a source found for one entry, before checks and defaults.
#[derive(Debug, Default, Clone)]
pub struct Draft {
    /// The entry's id within the source (file path, WordPress post id, feed item id, URL).
    pub key: String,
    /// A globally unique id the source gives; kept as the feed guid when it is an absolute URI.
    pub guid: Option<String>,
    /// Link to the entry's page as the fields give it, absolute or relative to the page they
    /// were read from (see [`Origin::Fetched`]).
    pub url: Option<String>,
    /// How the title, summary, categories, image text and author name are written.
    pub markup: Markup,
    /// Title.
    pub title: Option<String>,
    /// Summary; an excerpt of the content when absent or empty.
    pub summary: Option<String>,
    /// A plain-text excerpt the source made of its content itself (the directory source's
    /// first paragraph or text before `<!--more-->`); else the content's text is used.
    pub excerpt: Option<String>,
    /// Body as HTML.
    pub content: Option<String>,
    /// Publication time.
    pub published: Option<DateTime<FixedOffset>>,
    /// Last update.
    pub updated: Option<DateTime<FixedOffset>>,
    /// Language tag as the source wrote it (`fr`, `fr_FR`); the source's default when absent.
    pub language: Option<String>,
    /// Categories and tags.
    pub categories: Vec<String>,
    /// Lead image (its URL may be relative).
    pub image: Option<Image>,
    /// Author (their page may be relative).
    pub author: Option<Person>,
    /// Place; taken from `extra.city` / `extra.country` when absent.
    pub place: Option<Place>,
    /// Key shared by translations; the entry's own id when absent or empty.
    pub translation_key: Option<String>,
    /// Free fields for templates.
    pub extra: BTreeMap<String, Value>,
    /// The entry's own control of its announcements, read by [`crate::sources::control`].
    pub announce: Announce,
}

/// How a draft's text fields are written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// HTML fragments, as APIs, feeds and web pages give them: tags are dropped, entities
    /// decoded and whitespace collapsed.
    #[default]
    Html,
    /// Plain text, as front matter holds it: only whitespace is collapsed, so `<` and `&`
    /// stay as written.
    Plain,
}

/// Where a draft's fields were read: relative references among them (the link, the image, the
/// author's page) resolve against that page.
pub enum Origin<'a> {
    /// A page a remote source fetched; the entry's link is the draft's `url`.
    Fetched(&'a Url),
    /// The entry's own page, whose link the source built (a directory file's permalink or
    /// `url` key; the draft's `url` is not read), with the resolver of the site's internal
    /// links (Zola's `@/path/page.md`).
    Own {
        /// The entry's link.
        url: Url,
        /// Resolves `@/…` links.
        internal: InternalLinks<'a>,
    },
}

/// Resolves a site's internal links (Zola's `@/path/page.md`) to URLs.
pub type InternalLinks<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A language an entry names that `site.languages` does not list.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("language {tag:?} is not in site.languages")]
pub struct UnknownLanguage {
    /// The tag as the entry wrote it, trimmed.
    pub tag: String,
}

impl Finisher {
    /// Resolves the source's defaults against the site.
    pub fn new(site: &Site, defaults: &Defaults<'_>) -> Finisher {
        let language = defaults
            .language
            .and_then(|l| site.find_language(l))
            .unwrap_or(site.default_language())
            .to_owned();
        Finisher {
            site: site.clone(),
            name: defaults.name.to_owned(),
            language,
            timezone: defaults.timezone.unwrap_or(site.timezone),
            categories: defaults.categories.to_vec(),
        }
    }

    /// The source name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The site the entries belong to.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// The time zone of dates the source writes without an offset.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.timezone
    }

    /// The language of an entry that names `tag` (or none): its configured spelling (`fr_FR`
    /// and `fr-FR` find `fr`, see [`Site::match_language`]), else the source's default.
    pub fn language(&self, tag: Option<&str>) -> Result<&str, UnknownLanguage> {
        let Some(tag) = tag.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(&self.language);
        };
        // The exact spelling is the common case and is found without building a new tag.
        self.site
            .find_language(tag)
            .or_else(|| self.site.match_language(tag))
            .ok_or_else(|| UnknownLanguage {
                tag: tag.to_owned(),
            })
    }

    /// Builds the entry from `draft`, read from `origin`. The error says which field is wrong
    /// and what to do.
    pub fn finish(&self, draft: Draft, origin: Origin<'_>) -> Result<Entry, String> {
        let markup = draft.markup;
        let title = draft.title.map(|t| markup.plain(t)).unwrap_or_default();
        if title.is_empty() {
            return Err("no title: the title field is missing or empty".into());
        }
        let (url, fetched_from, internal) = match origin {
            Origin::Fetched(page) => (link(draft.url.as_deref(), page)?, Some(page), None),
            Origin::Own { url, internal } => (url, None, Some(internal)),
        };
        let links = Links {
            page: fetched_from.unwrap_or(&url),
            internal,
        };
        let published = draft
            .published
            .ok_or_else(|| "no publication date: the date field is missing or empty".to_owned())?;
        // Sources check their dates where they know the field's name; this is the one check
        // no date gets past (a file name's date, a feed item's, git's).
        let published = fit_for_feeds(published).map_err(|e| format!("publication date {e}"))?;
        let updated = draft
            .updated
            .map(|u| fit_for_feeds(u).map_err(|e| format!("update date {e}")))
            .transpose()?;
        let language = self.entry_language(draft.language)?;
        let id = self.id(&draft.key)?;
        let guid = self.guid(draft.guid, published, &id);
        let content = draft.content.unwrap_or_default();
        let summary = summary(markup, draft.summary, draft.excerpt, &content);
        let categories = self.categories(markup, draft.categories);
        let image = draft.image.or_else(|| first_image(&content));
        let image = image.and_then(|image| {
            Some(Image {
                url: links.absolute(&image.url)?,
                alt: markup.plain(image.alt),
                path: image.path,
            })
        });
        let author = draft.author.and_then(|person| {
            let name = markup.plain(person.name);
            let uri = person.uri.and_then(|u| links.absolute(&u));
            (!name.is_empty()).then_some(Person {
                name,
                email: person.email,
                uri,
            })
        });
        let place = draft.place.or_else(|| Place::from_extra(&draft.extra));
        let translation_key = draft
            .translation_key
            .map(trimmed)
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| id.clone());
        Ok(Entry {
            id,
            guid,
            url: url.into(),
            title,
            summary,
            content,
            published,
            updated: updated.filter(|u| *u > published),
            language,
            categories,
            image,
            author,
            place,
            translation_key,
            extra: draft.extra,
            announce: draft.announce,
        })
    }

    /// The configured spelling of the language the draft names, reusing the draft's text when
    /// it already is that spelling.
    fn entry_language(&self, tag: Option<String>) -> Result<String, String> {
        let found = self
            .language(tag.as_deref())
            .map_err(|e| format!("{e}; add it there, or leave entries in that language out"))?;
        Ok(match tag {
            Some(tag) if tag == found => tag,
            _ => found.to_owned(),
        })
    }

    /// `{source}:{key}`.
    fn id(&self, key: &str) -> Result<String, String> {
        let key = key.trim();
        if key.is_empty() {
            return Err("no id: the id field is missing or empty".into());
        }
        Ok(format!("{}:{key}", self.name))
    }

    /// The guid the source gave when it is an absolute URI, else the entry's `tag:` URI.
    fn guid(&self, given: Option<String>, published: DateTime<FixedOffset>, id: &str) -> String {
        match given.map(trimmed) {
            Some(guid) if is_absolute_uri(&guid) => guid,
            _ => tag_uri(self.site.host(), published.year(), id),
        }
    }

    /// The draft's categories as plain text, then the source's, without empty ones or
    /// duplicates that differ only in case (the first spelling wins).
    fn categories(&self, markup: Markup, found: Vec<String>) -> Vec<String> {
        let mut categories: Vec<String> = found
            .into_iter()
            .map(|c| markup.plain(c))
            .chain(self.categories.iter().cloned())
            .collect();
        let mut seen = HashSet::new();
        categories.retain(|c| !c.is_empty() && seen.insert(c.to_lowercase()));
        categories
    }
}

/// The entry's link: `written` resolved against `page`, which must give an http(s) URL.
fn link(written: Option<&str>, page: &Url) -> Result<Url, String> {
    let Some(written) = written.map(str::trim).filter(|u| !u.is_empty()) else {
        return Err("no link: the url field is missing or empty".into());
    };
    match page.join(written) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        _ => Err(format!("link {written:?} is not a usable http(s) URL")),
    }
}

/// How the references of one entry are made absolute.
struct Links<'a> {
    /// What relative references are relative to.
    page: &'a Url,
    /// The resolver of `@/…` links, for sources that have them.
    internal: Option<InternalLinks<'a>>,
}

impl Links<'_> {
    /// `reference` as an absolute URL; `None` when it is empty or cannot be one, so that no
    /// feed gets a link that does not work.
    fn absolute(&self, reference: &str) -> Option<String> {
        let reference = reference.trim();
        if reference.is_empty() {
            return None;
        }
        if let Some(resolve) = self.internal
            && reference.starts_with("@/")
        {
            return resolve(reference);
        }
        self.page.join(reference).ok().map(String::from)
    }
}

impl Markup {
    /// `text` as plain text with whitespace collapsed; `text` itself when it already is.
    fn plain(self, text: String) -> String {
        match self {
            Markup::Html if text.contains(['<', '&']) => plain_text(&text),
            Markup::Html | Markup::Plain => collapsed(text),
        }
    }
}

/// The summary given, else the source's excerpt, else the content's text; cut at a word.
fn summary(
    markup: Markup,
    given: Option<String>,
    excerpt: Option<String>,
    content: &str,
) -> String {
    let text = given
        .map(|s| markup.plain(s))
        .filter(|s| !s.is_empty())
        .or_else(|| excerpt.map(collapsed))
        .unwrap_or_else(|| plain_text(content));
    if text.chars().count() <= SUMMARY_MAX_CHARS {
        text
    } else {
        shorten(&text, SUMMARY_MAX_CHARS)
    }
}

/// The first image of an HTML body with a source (`src`), and its `alt`: an entry's lead
/// image when its source names none. Written as the body has it (it may be relative).
fn first_image(html: &str) -> Option<Image> {
    if !html.contains("<img") && !html.contains("<IMG") {
        return None;
    }
    let fragment = scraper::Html::parse_fragment(html);
    let selector = scraper::Selector::parse("img[src]").ok()?;
    fragment.select(&selector).find_map(|img| {
        let src = img.value().attr("src")?.trim();
        // An inline `data:` image has no address a network or a feed reader could use.
        (!src.is_empty() && !src.starts_with("data:")).then(|| Image {
            url: src.to_owned(),
            alt: img.value().attr("alt").unwrap_or_default().to_owned(),
            path: None,
        })
    })
}

/// Text of an HTML fragment, the one way every source turns HTML into plain text: tags
/// dropped, entities decoded, whitespace collapsed, and the boundaries of blocks (paragraphs,
/// headings, list items, table cells, quotes, `<br>`) made spaces so that `<p>One.</p><p>Two.</p>`
/// reads "One. Two."; see [`text_of`] for what is left out.
pub fn plain_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return collapse(html);
    }
    let fragment = scraper::Html::parse_fragment(html);
    text_of(*fragment.root_element())
}

/// The text of one element of a parsed page, as [`plain_text`] reads a fragment.
pub fn element_text(element: scraper::ElementRef<'_>) -> String {
    text_of(*element)
}

/// Elements whose text is not the entry's text: code and styles, templates, fallbacks for
/// embeds, and struck-through text (no longer true).
const HIDDEN_ELEMENTS: &[&str] = &[
    "script", "style", "template", "noscript", "iframe", "object", "svg", "head", "del", "s",
    "strike",
];

/// Elements that start and end a block of text: a space stands for their boundaries, so that
/// words of neighbouring blocks do not run together. Inline elements (`em`, `a`, `code`) add
/// nothing, since they may end inside a word.
const BLOCK_ELEMENTS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Text below `root`, without [`HIDDEN_ELEMENTS`], with a space at each [`BLOCK_ELEMENTS`]
/// boundary, collapsed. Walks the tree without recursion, so deep markup cannot overflow the
/// stack.
fn text_of(root: ego_tree::NodeRef<'_, scraper::Node>) -> String {
    use ego_tree::iter::Edge;
    use scraper::Node;
    let mut text = String::new();
    let mut hidden = 0usize;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) if HIDDEN_ELEMENTS.contains(&e.name()) => hidden += 1,
                Node::Element(e) if BLOCK_ELEMENTS.contains(&e.name()) => text.push(' '),
                Node::Text(t) if hidden == 0 => text.push_str(t),
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(e) if HIDDEN_ELEMENTS.contains(&e.name()) => {
                    hidden = hidden.saturating_sub(1);
                }
                Node::Element(e) if BLOCK_ELEMENTS.contains(&e.name()) => text.push(' '),
                _ => {}
            },
        }
    }
    collapse(&text)
}

/// Collapses whitespace and cuts to at most `max` characters on a word boundary, ending with
/// "…" when something was cut. The cut falls between grapheme clusters (Unicode's
/// user-perceived characters), so it never splits an emoji sequence and leaves no dangling
/// zero-width joiner, variation selector or combining accent.
pub fn shorten(text: &str, max: usize) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    let collapsed = collapse(text);
    if collapsed.chars().count() <= max {
        return collapsed;
    }
    let keep = max.saturating_sub(1);
    // The byte end of the longest run of whole graphemes within `keep` characters.
    let mut chars = 0;
    let mut cut = 0;
    for (start, grapheme) in collapsed.grapheme_indices(true) {
        chars += grapheme.chars().count();
        if chars > keep {
            break;
        }
        cut = start + grapheme.len();
    }
    let head = &collapsed[..cut];
    // Cut at the last space unless the limit falls right at a word end.
    let head = if collapsed[cut..].starts_with(' ') {
        head
    } else {
        head.rfind(' ').map_or(head, |i| &head[..i])
    };
    let head = head.trim_end_matches(|c: char| c.is_whitespace() || ",;:.-–—".contains(c));
    format!("{head}…")
}

/// Runs of whitespace made one space, none at either end.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// [`collapse`] that hands back `text` itself when there is nothing to collapse, which is
/// the common case and costs no new string.
fn collapsed(text: String) -> String {
    // Only single spaces between words may be left; a leading one counts as a second space.
    let mut previous = ' ';
    let clean = text.chars().all(|c| {
        let fine = !c.is_whitespace() || (c == ' ' && previous != ' ');
        previous = c;
        fine
    }) && !text.ends_with(' ');
    if clean { text } else { collapse(&text) }
}

/// `text` without surrounding whitespace, reusing it when there is none.
fn trimmed(text: String) -> String {
    if text.trim().len() == text.len() {
        text
    } else {
        text.trim().to_owned()
    }
}

/// A URI fit to be a feed guid: an http(s) URL with a host, or a `tag:` or `urn:` URI.
pub fn is_absolute_uri(text: &str) -> bool {
    !text.contains(char::is_whitespace)
        && Url::parse(text).is_ok_and(|u| match u.scheme() {
            "http" | "https" => u.host_str().is_some(),
            "tag" | "urn" => true,
            _ => false,
        })
}

/// `tag:{host},{year}:{id}` (RFC 4151), with `id` percent-encoded except for unreserved
/// characters, `/` and `:`. RFC 4151's year has four digits: year 999 is `0999`.
fn tag_uri(host: &str, year: i32, id: &str) -> String {
    let mut out = format!("tag:{host},{year:04}:");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(char::from(b));
        } else {
            _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn finisher() -> Finisher {
        let site = testing::site("languages = [\"en\", \"fr\", \"pt-BR\"]");
        let categories = vec!["Dosta".to_owned()];
        Finisher::new(
            &site,
            &Defaults {
                name: "wp",
                language: Some("fr"),
                timezone: None,
                categories: &categories,
            },
        )
    }

    fn draft() -> Draft {
        Draft {
            key: "42".into(),
            url: Some("/projets/gand/".into()),
            title: Some("Gand &#8211; <em>école</em>".into()),
            content: Some("<p>Un   projet <b>pour</b> les enfants.</p>".into()),
            published: DateTime::parse_from_rfc3339("2024-03-12T10:00:00+01:00").ok(),
            categories: vec!["Éducation".into(), "dosta".into()],
            image: Some(Image {
                url: "img/gand.jpg".into(),
                alt: "Des enfants".into(),
                path: None,
            }),
            ..Draft::default()
        }
    }

    fn page() -> Url {
        Url::parse("https://cms.example.org/api?page=1").unwrap()
    }

    fn fetched(draft: Draft) -> Result<Entry, String> {
        finisher().finish(draft, Origin::Fetched(&page()))
    }

    #[test]
    fn a_draft_becomes_an_entry_like_a_directory_entry() {
        let entry = fetched(draft()).unwrap();
        assert_eq!(entry.id, "wp:42");
        assert_eq!(entry.guid, "tag:example.org,2024:wp:42");
        assert_eq!(entry.url, "https://cms.example.org/projets/gand/");
        assert_eq!(entry.title, "Gand – école");
        assert_eq!(entry.summary, "Un projet pour les enfants.");
        assert_eq!(entry.language, "fr");
        assert_eq!(entry.categories, ["Éducation", "dosta"]);
        assert_eq!(
            entry.image.unwrap().url,
            "https://cms.example.org/img/gand.jpg"
        );
        assert_eq!(entry.translation_key, "wp:42");
    }

    #[test]
    fn languages_match_loosely_and_unknown_ones_are_named() {
        let s = finisher();
        assert_eq!(s.language(Some("fr_FR")), Ok("fr"));
        assert_eq!(s.language(Some("PT-br")), Ok("pt-BR"));
        assert_eq!(s.language(Some(" en ")), Ok("en"));
        assert_eq!(s.language(None), Ok("fr"));
        assert_eq!(s.language(Some("  ")), Ok("fr"));
        assert_eq!(
            s.language(Some("de")),
            Err(UnknownLanguage { tag: "de".into() })
        );
        let mut d = draft();
        d.language = Some("de_DE".into());
        let err = fetched(d).unwrap_err();
        assert!(
            err.contains("\"de_DE\"") && err.contains("site.languages"),
            "{err}"
        );
        let mut d = draft();
        d.language = Some("pt_br".into());
        assert_eq!(fetched(d).unwrap().language, "pt-BR");
    }

    #[test]
    fn missing_fields_are_named() {
        type Spoil = fn(&mut Draft);
        let cases: [(Spoil, &str); 5] = [
            (|d| d.title = Some(" <b></b> ".into()), "title"),
            (|d| d.url = None, "link"),
            (|d| d.url = Some("mailto:a@example.org".into()), "link"),
            (|d| d.published = None, "date"),
            (|d| d.key = " ".into(), "id"),
        ];
        for (spoil, word) in cases {
            let mut d = draft();
            spoil(&mut d);
            let err = fetched(d).unwrap_err();
            assert!(err.contains(word), "{word}: {err}");
        }
    }

    #[test]
    fn upstream_guids_are_kept_when_they_are_uris() {
        let mut d = draft();
        d.guid = Some(" https://cms.example.org/?p=42 ".into());
        assert_eq!(fetched(d).unwrap().guid, "https://cms.example.org/?p=42");
        for not_a_uri in ["42", "yt:video:abc", "ftp://example.org/42", "urn:a b"] {
            let mut d = draft();
            d.guid = Some(not_a_uri.into());
            assert_eq!(
                fetched(d).unwrap().guid,
                "tag:example.org,2024:wp:42",
                "{not_a_uri}"
            );
        }
    }

    #[test]
    fn summaries_are_cut_at_a_word() {
        let long = "mot ".repeat(200);
        let s = shorten(long.trim(), 20);
        assert_eq!(s, "mot mot mot mot mot…");
        let mut d = draft();
        d.summary = Some(format!("<p>{long}</p>"));
        let summary = fetched(d).unwrap().summary;
        assert!(summary.chars().count() <= SUMMARY_MAX_CHARS, "{summary}");
        assert!(summary.ends_with("mot…"), "{summary}");
    }

    #[test]
    fn shorten_cuts_on_a_word_boundary() {
        assert_eq!(shorten("  a \n b  ", 10), "a b");
        assert_eq!(shorten("alpha beta gamma", 12), "alpha beta…");
        assert_eq!(shorten("alpha beta, gamma", 13), "alpha beta…");
        assert_eq!(shorten("abcdefghijkl", 5), "abcd…");
        let long = "word ".repeat(100);
        let s = shorten(&long, SUMMARY_MAX_CHARS);
        assert!(s.chars().count() <= SUMMARY_MAX_CHARS, "{s}");
        assert!(s.ends_with("word…"), "{s}");
        let accents = "é".repeat(400);
        assert_eq!(shorten(&accents, 300).chars().count(), 300);
    }

    #[test]
    fn tag_uri_years_have_four_digits() {
        assert_eq!(tag_uri("example.org", 999, "a"), "tag:example.org,0999:a");
        assert_eq!(tag_uri("example.org", 7, "a"), "tag:example.org,0007:a");
        // Guids of ordinary years are what they always were.
        assert_eq!(tag_uri("example.org", 2024, "a"), "tag:example.org,2024:a");
    }

    #[test]
    fn dates_unfit_for_feeds_are_refused_and_seconds_offsets_become_utc() {
        let mut d = draft();
        d.published = DateTime::parse_from_rfc3339("0000-01-01T00:00:00Z").ok();
        let err = fetched(d).unwrap_err();
        assert!(
            err.contains("publication date") && err.contains("1 to 9999"),
            "{err}"
        );
        let mut d = draft();
        d.updated = DateTime::parse_from_rfc3339("2024-03-13T10:00:00+23:59").ok();
        let err = fetched(d).unwrap_err();
        assert!(
            err.contains("update date") && err.contains("±14:00"),
            "{err}"
        );
        let mut d = draft();
        let lmt = FixedOffset::east_opt(9 * 60 + 21).unwrap();
        let paris_1900 = DateTime::parse_from_rfc3339("1900-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&lmt);
        d.published = Some(paris_1900);
        let e = fetched(d).unwrap();
        assert_eq!(e.published, paris_1900, "the instant is kept");
        assert_eq!(e.published.offset().local_minus_utc(), 0);
        assert_eq!(e.guid, "tag:example.org,1900:wp:42");
    }

    #[test]
    fn tag_uris_encode_the_id() {
        assert_eq!(
            tag_uri("example.org", 2024, "content:projets/été fr.md"),
            "tag:example.org,2024:content:projets/%C3%A9t%C3%A9%20fr.md"
        );
    }

    #[test]
    fn without_an_image_the_first_img_of_the_content_is_the_lead_image() {
        let mut d = Draft {
            image: None,
            content: Some(
                r#"<p>Text <img src="data:image/png;base64,AA"> <img alt="no source"> <img src="img/plate.jpg" alt="A &amp; plate"></p><img src="/second.jpg">"#
                    .into(),
            ),
            ..draft()
        };
        let image = fetched(d.clone()).unwrap().image.unwrap();
        assert_eq!(image.url, "https://cms.example.org/img/plate.jpg");
        assert_eq!(image.alt, "A & plate");
        d.content = Some("<p>No image.</p>".into());
        assert_eq!(fetched(d).unwrap().image, None);
        // One the source names wins.
        let image = fetched(draft()).unwrap().image.unwrap();
        assert_eq!(image.url, "https://cms.example.org/img/gand.jpg");
    }

    #[test]
    fn plain_text_is_collapsed_and_kept_when_it_already_is() {
        for text in ["", "a", "a b", "é – ü"] {
            assert_eq!(collapsed(text.to_owned()), text);
        }
        for (text, want) in [
            (" a", "a"),
            ("a ", "a"),
            ("a  b", "a b"),
            ("a\tb", "a b"),
            ("a\u{a0}b", "a b"),
            (" ", ""),
        ] {
            assert_eq!(collapsed(text.to_owned()), want, "{text:?}");
        }
        assert_eq!(
            Markup::Plain.plain("R&amp;D <b>x</b>".into()),
            "R&amp;D <b>x</b>"
        );
        assert_eq!(Markup::Html.plain("R&amp;D <b>x</b>".into()), "R&D x");
        assert_eq!(trimmed(" k ".into()), "k");
    }

    #[test]
    fn front_matter_text_is_plain_and_its_excerpt_stands_in_for_the_summary() {
        let internal = |link: &str| Some(format!("https://example.org/{}", &link[2..]));
        let own = Url::parse("https://example.org/en/news/a/").unwrap();
        let d = Draft {
            key: "news/a".into(),
            markup: Markup::Plain,
            title: Some("Fish &amp; <chips>".into()),
            summary: Some("  ".into()),
            excerpt: Some("First paragraph.".into()),
            content: Some("<p>First paragraph.</p><p>Second.</p>".into()),
            published: DateTime::parse_from_rfc3339("2024-03-12T10:00:00+01:00").ok(),
            language: Some("en".into()),
            categories: vec!["  Food ".into(), "food".into(), "".into()],
            image: Some(Image {
                url: "cover.jpg".into(),
                alt: "A <b>plate</b>".into(),
                path: None,
            }),
            author: Some(Person {
                name: "Ada".into(),
                email: None,
                uri: Some("@/about.md".into()),
            }),
            translation_key: Some(" a ".into()),
            ..Draft::default()
        };
        let origin = Origin::Own {
            url: own,
            internal: &internal,
        };
        let e = finisher().finish(d, origin).unwrap();
        assert_eq!(e.url, "https://example.org/en/news/a/");
        assert_eq!(e.title, "Fish &amp; <chips>");
        assert_eq!(e.summary, "First paragraph.");
        assert_eq!(e.categories, ["Food", "Dosta"]);
        let image = e.image.unwrap();
        assert_eq!(image.url, "https://example.org/en/news/a/cover.jpg");
        assert_eq!(image.alt, "A <b>plate</b>");
        assert_eq!(
            e.author.unwrap().uri.as_deref(),
            Some("https://example.org/about.md")
        );
        assert_eq!(e.translation_key, "a");
        assert_eq!(e.language, "en");
    }

    #[test]
    fn unusable_references_and_early_updates_are_dropped() {
        let mut d = draft();
        d.image = Some(Image {
            url: "http://[bad".into(),
            alt: String::new(),
            path: None,
        });
        d.author = Some(Person {
            name: "<b>Kim</b>".into(),
            email: None,
            uri: Some("  ".into()),
        });
        d.updated = d.published;
        let e = fetched(d).unwrap();
        assert_eq!(e.image, None);
        let author = e.author.unwrap();
        assert_eq!((author.name.as_str(), author.uri), ("Kim", None));
        assert_eq!(e.updated, None);

        let mut d = draft();
        d.updated = DateTime::parse_from_rfc3339("2024-03-13T10:00:00+01:00").ok();
        d.place = None;
        d.extra.insert("city".into(), Value::String("Gand".into()));
        let e = fetched(d).unwrap();
        assert!(e.updated.is_some());
        assert_eq!(e.place.and_then(|p| p.city).as_deref(), Some("Gand"));
    }

    /// Regression: `<p>First.</p><p>Second.</p>` read "First.Second.".
    #[test]
    fn html_text_separates_blocks_and_drops_scripts() {
        assert_eq!(plain_text("<p>First.</p><p>Second.</p>"), "First. Second.");
        assert_eq!(
            plain_text(
                "<h2>Title</h2>Line<br>break<ul><li>one</li><li>two</li></ul>\
                 <table><tr><td>a</td><td>b</td></tr></table><blockquote>q</blockquote>end"
            ),
            "Title Line break one two a b q end"
        );
        assert_eq!(
            plain_text(
                "<p>Bon<em>jour</em> <a href=x>l&rsquo;ami</a></p><script>alert(1)</script><style>p{}</style>"
            ),
            "Bonjour l’ami"
        );
        assert_eq!(
            plain_text("Price: <del>10</del> 8 &amp; more"),
            "Price: 8 & more"
        );
        let mut d = draft();
        d.content = Some("<p>First.</p><p>Second.</p>".into());
        assert_eq!(fetched(d).unwrap().summary, "First. Second.");
    }

    /// Regression: a cut summary could end inside an emoji sequence, with a dangling
    /// zero-width joiner.
    #[test]
    fn shorten_never_splits_a_grapheme() {
        let family = "👨\u{200d}👩\u{200d}👧";
        let text = format!("aaaaaaa{family}b");
        let cut = shorten(&text, 10);
        assert_eq!(cut, "aaaaaaa…");
        // Character by character the cut fell right after the first joiner.
        let old_cut: String = text.chars().take(9).collect();
        assert!(old_cut.ends_with('\u{200d}'));
        let heart = "❤\u{fe0f}";
        let text = format!("{}{heart}{heart}", "x".repeat(7));
        assert_eq!(shorten(&text, 9), "xxxxxxx…");
        let words = format!("love {family} {family} {family} always");
        for max in 1..words.chars().count() {
            let cut = shorten(&words, max);
            assert!(cut.chars().count() <= max.max(1), "{max}: {cut}");
            let last = cut.trim_end_matches('…').chars().last();
            assert!(
                !matches!(last, Some('\u{200d}' | '\u{fe0f}')),
                "{max}: {cut:?}"
            );
        }
    }
}

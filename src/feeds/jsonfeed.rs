//! JSON Feed 1.1 renderer: serde structs written by `serde_json`.
//!
//! Spec: <https://www.jsonfeed.org/version/1.1/>. Optional fields are left out rather than
//! written empty. Items without an author inherit the feed's `authors`, as the spec says, so
//! only entries with their own author list one. Text goes through [`xml_text`] like the XML
//! formats, so all three carry the same characters. An item whose entry was announced carries
//! the posts' links in a `_crier` extension object (the spec lets publishers add objects whose
//! names start with `_`, and readers that do not know one ignore it), and an item whose entry
//! has translations lists them there too (`_crier.translations`: language, URL, title). One
//! object for both, because the spec asks an extension to be named after its publisher
//! rather than after each field: readers that know `_crier` find everything crier adds in it.

use std::io::Write;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::Serialize;

use super::archive::file_url;
use super::sanitize::xml_text;
use super::syndication::Syndication;
use super::translations::Translations;
use super::{FeedError, FeedFormat, FeedMeta};
use crate::entry::{Entry, Person};

/// The version URL every JSON Feed 1.1 document starts with.
const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Serialize)]
struct JsonFeed {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub>,
    items: Vec<Item>,
    // Archived feeds (RFC 5005)
    /// The next older page: the newest archive document from the subscription document, the
    /// one before from an archive document.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
}

/// A WebSub hub of the feed (`"type": "WebSub"`, as JSON Feed 1.1 names it).
#[derive(Serialize)]
struct Hub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

/// JSON Feed 1.1 wants at least one of `name` and `url`; empty ones are left out.
#[derive(Serialize)]
struct Author {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Item {
    id: String,
    url: String,
    title: String,
    content_html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    date_published: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_modified: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<Author>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(rename = "_crier", skip_serializing_if = "Option::is_none")]
    crier: Option<Extension>,
}

/// The item's `_crier` object: where the entry was announced, and its translations.
#[derive(Serialize)]
struct Extension {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    syndication: Vec<SyndicationLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    translations: Vec<TranslationLink>,
}

/// The same entry in another language.
#[derive(Serialize)]
struct TranslationLink {
    language: String,
    url: String,
    title: String,
}

/// One post of the entry on a social network.
#[derive(Serialize)]
struct SyndicationLink {
    network: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    url: String,
}

/// Renders the feed from prepared entries (see [`super::prepare`]), each item with the links
/// back to its posts that `links` holds and its `translations`.
pub fn write(
    meta: &FeedMeta,
    entries: &[&Entry],
    links: &Syndication,
    translations: &Translations,
    out: &mut dyn Write,
) -> Result<(), FeedError> {
    let feed = JsonFeed {
        version: VERSION,
        title: text(&meta.title),
        home_page_url: text(&meta.home_url),
        feed_url: text(&meta.self_url(FeedFormat::Json)),
        description: non_empty(&meta.description),
        language: meta.language.as_deref().and_then(non_empty),
        authors: author(&meta.author).into_iter().collect(),
        hubs: meta
            .hubs
            .iter()
            .map(|hub| Hub {
                kind: "WebSub",
                url: text(hub),
            })
            .collect(),
        items: entries
            .iter()
            .map(|entry| item(entry, links, translations))
            .collect(),
        next_url: meta
            .archive
            .as_ref()
            .and_then(|archive| archive.prev.as_deref())
            .map(|folder| text(&file_url(folder, FeedFormat::Json))),
    };
    let error = |reason: String| FeedError::Render {
        format: FeedFormat::Json.name(),
        title: meta.title.clone(),
        reason,
    };
    serde_json::to_writer_pretty(&mut *out, &feed).map_err(|e| error(e.to_string()))?;
    out.write_all(b"\n").map_err(|e| error(e.to_string()))
}

fn item(entry: &Entry, links: &Syndication, translations: &Translations) -> Item {
    let posts = links.links(&entry.id);
    let translated = translations.of(&entry.translation_key, &entry.language);
    Item {
        id: text(&entry.guid),
        url: text(&entry.url),
        title: text(&entry.title),
        content_html: text(&entry.content),
        summary: non_empty(&entry.summary),
        image: entry.image.as_ref().map(|image| text(&image.url)),
        date_published: date(entry.published),
        date_modified: entry.updated.map(date),
        tags: entry.categories.iter().map(|tag| text(tag)).collect(),
        authors: entry.author.as_ref().and_then(author).into_iter().collect(),
        language: non_empty(&entry.language),
        crier: (!posts.is_empty() || !translated.is_empty()).then(|| Extension {
            syndication: posts
                .iter()
                .map(|post| SyndicationLink {
                    network: text(&post.network),
                    account: post.account.as_deref().map(text),
                    url: text(&post.url),
                })
                .collect(),
            translations: translated
                .iter()
                .map(|t| TranslationLink {
                    language: text(&t.language),
                    url: text(&t.url),
                    title: text(&t.title),
                })
                .collect(),
        }),
    }
}

/// JSON Feed authors have a name and a URL but no e-mail: a `mailto:` URL stands in for it.
fn author(person: &Person) -> Option<Author> {
    let url = match (&person.uri, &person.email) {
        (Some(uri), _) => Some(text(uri)),
        (None, Some(email)) => Some(format!("mailto:{}", xml_text(email))),
        (None, None) => None,
    };
    let name = non_empty(&person.name);
    (name.is_some() || url.is_some()).then_some(Author { name, url })
}

fn text(s: &str) -> String {
    xml_text(s).into_owned()
}

fn non_empty(s: &str) -> Option<String> {
    Some(text(s)).filter(|t| !t.trim().is_empty())
}

fn date(date: DateTime<FixedOffset>) -> String {
    date.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::entry::Image;
    use crate::testing;

    fn meta() -> FeedMeta {
        let mut meta = testing::feed_meta(None);
        meta.author.email = Some("team@example.org".to_owned());
        meta
    }

    fn entry() -> Entry {
        Entry {
            title: "A\u{1} & <b>".to_owned(),
            content: r#"<p onclick="x()">Body <img src="i.png"></p>"#.to_owned(),
            language: "hi".to_owned(),
            ..testing::entry("a", "2024-03-01T10:00:00+05:30")
        }
    }

    fn render_value(meta: &FeedMeta, entries: &[Entry]) -> Value {
        let bytes = crate::feeds::render(FeedFormat::Json, meta, entries).unwrap();
        assert!(bytes.ends_with(b"}\n"), "must end with a newline");
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn minimal_item_skips_absent_fields() {
        let value = render_value(&meta(), &[entry()]);
        assert_eq!(
            value,
            json!({
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Site",
                "home_page_url": "https://example.org/",
                "feed_url": "https://example.org/feeds/feed.json",
                "authors": [{"name": "Site Team", "url": "mailto:team@example.org"}],
                "items": [{
                    "id": "tag:example.org,2024:a",
                    "url": "https://example.org/a/",
                    "title": "A & <b>",
                    "content_html": "<p>Body <img src=\"https://example.org/a/i.png\"></p>",
                    "date_published": "2024-03-01T10:00:00+05:30",
                    "language": "hi"
                }]
            })
        );
    }

    #[test]
    fn an_item_lists_its_translations_under_crier() {
        let mut hi = entry();
        let mut en = testing::entry("b", "2024-03-01T10:00:00Z");
        hi.translation_key = "k".to_owned();
        en.translation_key = "k".to_owned();
        let translations = Translations::new(&testing::live_entries(&[hi.clone(), en.clone()]));
        let bytes = crate::feeds::render_with_links(
            FeedFormat::Json,
            &meta(),
            &[hi, en],
            &Syndication::default(),
            &translations,
        )
        .unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value["items"][0]["language"], "hi");
        assert_eq!(
            value["items"][0]["_crier"],
            json!({"translations": [
                {"language": "en", "url": "https://example.org/b/", "title": "Title b"}
            ]})
        );
        assert_eq!(
            value["items"][1]["_crier"],
            json!({"translations": [
                // Control characters dropped, as from every text.
                {"language": "hi", "url": "https://example.org/a/", "title": "A & <b>"}
            ]})
        );
    }

    #[test]
    fn author_without_name_keeps_its_url() {
        let mut meta = meta();
        meta.author.name = String::new();
        let value = render_value(&meta, &[]);
        assert_eq!(
            value["authors"],
            json!([{"url": "mailto:team@example.org"}])
        );
        meta.author.email = None;
        let value = render_value(&meta, &[]);
        assert!(value.get("authors").is_none(), "{value}");
    }

    #[test]
    fn full_item_has_every_field() {
        let mut e = entry();
        e.summary = "Short".to_owned();
        e.updated = Some(DateTime::parse_from_rfc3339("2024-04-01T09:00:00-03:00").unwrap());
        e.categories = vec!["news".to_owned(), "art".to_owned()];
        e.image = Some(Image {
            url: "https://example.org/a/p.jpg".to_owned(),
            alt: "alt".to_owned(),
            path: None,
        });
        e.author = Some(Person {
            name: "Ada".to_owned(),
            email: Some("ada@example.org".to_owned()),
            uri: Some("https://ada.example/".to_owned()),
        });
        let meta = FeedMeta {
            description: "About".to_owned(),
            language: Some("hi".to_owned()),
            ..meta()
        };
        let value = render_value(&meta, &[e]);
        assert_eq!(value["description"], "About");
        assert_eq!(value["language"], "hi");
        let item = &value["items"][0];
        assert_eq!(item["summary"], "Short");
        assert_eq!(item["image"], "https://example.org/a/p.jpg");
        assert_eq!(item["date_modified"], "2024-04-01T09:00:00-03:00");
        assert_eq!(item["tags"], json!(["news", "art"]));
        assert_eq!(
            item["authors"],
            json!([{"name": "Ada", "url": "https://ada.example/"}])
        );
    }

    #[test]
    fn an_archived_feed_pages_with_next_url_to_the_older_page() {
        let archived = |prev: Option<&str>| FeedMeta {
            archive: Some(crate::feeds::ArchiveLinks {
                current: Some("https://example.org/feeds/".to_owned()),
                prev: prev.map(str::to_owned),
                next: None,
            }),
            ..meta()
        };
        let value = render_value(&archived(Some("https://example.org/feeds/archive/4/")), &[]);
        assert_eq!(
            value["next_url"],
            "https://example.org/feeds/archive/4/feed.json"
        );
        // The oldest page ends the chain, and an unarchived feed has none.
        assert!(render_value(&archived(None), &[]).get("next_url").is_none());
        assert!(render_value(&meta(), &[]).get("next_url").is_none());
    }
}

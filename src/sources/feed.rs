//! Feed source: an RSS 0.9x/1.0/2.0, Atom 1.0 or JSON Feed 1.x published elsewhere (an old
//! CMS, a partner's site), read with feed-rs and re-published cleanly and announced.
//!
//! The request (conditional when entries are stored, a 304 meaning "unchanged") is the
//! [`Pager`]'s, reading a list of one page.
//!
//! How upstream items become entries:
//! - The document key is the item's own id (RSS `guid`, Atom `id`, JSON Feed `id`); an item
//!   without one is keyed by its first link, never by a hash of link and title (feed-rs's
//!   default), so that fixing a typo in a title does not make the item new again.
//! - An upstream id that is an absolute URI stays the item's guid, so that readers who
//!   subscribed to the old feed see the same items in ours and do not get them twice.
//! - The body is the item's content, else its summary (many RSS feeds only have
//!   `description`); the summary is always a plain-text excerpt.
//! - An item without a publication date takes its update date; with neither it fails on its
//!   own (a feed reader would date it "now", which would move on every read).
//! - Only the first page is read: feeds list their newest items, and an item that drops off
//!   the upstream feed is withdrawn here too, as it is no longer published there. A site
//!   that needs its whole archive has a `json` or `html` source for that.
//! - The feed's own `language` (or an item's `xml:lang`) sets entry languages.
//! - The document reaches feed-rs as UTF-8, decoded here from UTF-16, UTF-32 or whatever
//!   charset its byte order mark, declaration or HTTP header names (`encoding`).

mod encoding;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::finish::{Draft, Finisher, Markup, Origin};
use super::http::{HttpSettings, Page};
use super::pager::{Paged, Pager, Pages};
use super::remote;
use super::{Document, EntryError, Outcome, Read, ReadInput, Source, SourceError};
use crate::entry::{Image, Person};
use crate::site::Site;
use crate::values::HttpUrl;

/// An RSS, Atom or JSON Feed published elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSourceConfig {
    /// Short name, unique among sources; entry ids are `{name}:{item id}`.
    pub name: String,
    /// URL of the feed.
    pub url: HttpUrl,
    /// Language of entries when the feed does not say; default: the first of `site.languages`.
    pub language: Option<String>,
    /// Categories added to every entry of this source.
    #[serde(default)]
    pub categories: Vec<String>,
    /// IANA timezone entry dates are shown in; default `site.timezone`.
    #[serde(default, with = "crate::values::timezone::option")]
    pub timezone: Option<chrono_tz::Tz>,
    /// HTTP behaviour: timeouts, retries, limits.
    #[serde(default)]
    pub http: HttpSettings,
}

remote::impl_common!(FeedSourceConfig);

impl FeedSourceConfig {
    /// Checks the values serde accepted; the error names the key relative to the source.
    pub fn validate(&self, site: &Site) -> Result<(), (String, String)> {
        self.common().validate(site)
    }
}

/// Reads entries from an upstream feed.
pub struct FeedSource {
    finisher: Finisher,
    /// The feed's URL.
    url: Url,
    http: HttpSettings,
}

impl FeedSource {
    /// Prepares a reader for one configured feed.
    pub fn new(site: &Site, source: &FeedSourceConfig) -> Self {
        FeedSource {
            finisher: Finisher::new(site, &source.common().defaults()),
            url: source.url.url().clone(),
            http: source.http.clone(),
        }
    }

    fn remote_error(&self, message: impl Into<String>) -> SourceError {
        SourceError::Remote {
            source_name: self.finisher.name().to_owned(),
            message: message.into(),
        }
    }

    /// Turns a parsed feed into documents; `page` is the feed's URL after redirects.
    fn documents(
        &self,
        feed: feed_rs::model::Feed,
        page: &Url,
        known: &HashMap<String, String>,
    ) -> Vec<Document> {
        let feed_language = feed.language.clone();
        let mut documents: Vec<Document> = Vec::with_capacity(feed.entries.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, item) in feed.entries.into_iter().enumerate() {
            let key = item_key(&item, page);
            let fingerprint = remote::fingerprint(format!("{item:?}").as_bytes());
            let location = format!("{page} item {}", index + 1);
            if key.is_empty() {
                documents.push(Document {
                    key: format!("#{fingerprint}"),
                    fingerprint,
                    outcome: Outcome::Failed(EntryError {
                        location,
                        message: "the item has neither an id (guid) nor a link, so it cannot be \
                                  told apart from the others; ask the feed's publisher to add one"
                            .into(),
                    }),
                });
                continue;
            }
            if let Some(first) = seen.get(&key) {
                documents.push(Document {
                    key: format!("{key}#{}", index + 1),
                    fingerprint,
                    outcome: Outcome::Failed(EntryError {
                        location,
                        message: format!(
                            "id {key:?} is already used by item {}; only the first is published",
                            first + 1
                        ),
                    }),
                });
                continue;
            }
            seen.insert(key.clone(), index);
            let outcome = if known.get(&key) == Some(&fingerprint) {
                Outcome::Unchanged
            } else {
                match self.draft(item, &key, feed_language.as_deref(), page) {
                    Ok(entry) => Outcome::Parsed(Box::new(entry)),
                    Err(message) => Outcome::Failed(EntryError {
                        location: format!("{location} ({key})"),
                        message,
                    }),
                }
            };
            documents.push(Document {
                key,
                fingerprint,
                outcome,
            });
        }
        documents
    }

    fn draft(
        &self,
        item: feed_rs::model::Entry,
        key: &str,
        feed_language: Option<&str>,
        page: &Url,
    ) -> Result<crate::entry::Entry, String> {
        let link = item
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(item.links.first())
            .map(|l| l.href.clone());
        let content = item
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .filter(|b| !b.trim().is_empty());
        let summary = item.summary.as_ref().map(|s| s.content.clone());
        let (content, summary) = match content {
            Some(body) => (Some(body), summary),
            None => (summary.clone(), None),
        };
        let local = |d: DateTime<Utc>| d.with_timezone(&self.finisher.timezone()).fixed_offset();
        let published = item.published.or(item.updated).map(local);
        let categories = item
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .collect();
        let image = item.media.iter().find_map(|m| {
            let alt = m
                .description
                .as_ref()
                .or(m.title.as_ref())
                .map(|t| t.content.clone())
                .unwrap_or_default();
            let thumbnail = m.thumbnails.first().map(|t| t.image.uri.clone());
            let picture = m
                .content
                .iter()
                .filter(|c| {
                    c.content_type
                        .as_ref()
                        .is_none_or(|t| t.to_string().starts_with("image/"))
                })
                .find_map(|c| c.url.as_ref().map(Url::to_string));
            picture.or(thumbnail).map(|url| Image {
                url,
                alt,
                path: None,
            })
        });
        let author = item.authors.first().and_then(|p| {
            Some(Person {
                name: p.name.clone().filter(|n| !n.trim().is_empty())?,
                email: p.email.clone(),
                uri: p.uri.clone(),
            })
        });
        let draft = Draft {
            key: key.to_owned(),
            guid: Some(item.id.clone()).filter(|id| !id.is_empty()),
            url: link,
            markup: Markup::Html,
            title: item.title.map(|t| t.content),
            summary,
            excerpt: None,
            content,
            published,
            updated: item.updated.map(local),
            language: item.language.or_else(|| feed_language.map(str::to_owned)),
            categories,
            image,
            author,
            place: None,
            translation_key: None,
            extra: BTreeMap::new(),
            announce: Default::default(),
        };
        self.finisher.finish(draft, Origin::Fetched(page))
    }
}

/// The item's id, or its first link (made absolute against the feed's URL) when it has none.
fn item_key(item: &feed_rs::model::Entry, page: &Url) -> String {
    let id = item.id.trim();
    if !id.is_empty() {
        return id.to_owned();
    }
    item.links
        .first()
        .map(|l| {
            page.join(l.href.trim())
                .map_or_else(|_| l.href.trim().to_owned(), String::from)
        })
        .unwrap_or_default()
}

impl Source for FeedSource {
    fn name(&self) -> &str {
        self.finisher.name()
    }

    fn read(&self, input: &ReadInput<'_>) -> Result<Read, SourceError> {
        let fetcher =
            remote::fetcher(&self.http, self.finisher.site()).map_err(|m| self.remote_error(m))?;
        let pager = Pager::new(self.finisher.name(), &fetcher, &self.url);
        let mut feed = FeedPage {
            source: self,
            known: input.known,
            documents: Vec::new(),
        };
        match pager.read(input, &mut feed)? {
            Paged::NotModified => Ok(Pager::unchanged(input)),
            Paged::Read(validators) => Ok(Read {
                documents: feed.documents,
                cache: pager.cache(validators),
                notices: Default::default(),
            }),
        }
    }
}

/// The one page of a feed, and its items as documents.
struct FeedPage<'a> {
    source: &'a FeedSource,
    known: &'a HashMap<String, String>,
    documents: Vec<Document>,
}

impl Pages for FeedPage<'_> {
    /// Reads the feed's items; there is no next page (see the module's notes).
    fn page(
        &mut self,
        _requested: &Url,
        _number: usize,
        page: Page,
    ) -> Result<Option<Url>, String> {
        let parser = feed_rs::parser::Builder::new()
            .base_uri(Some(page.url.as_str()))
            // No invented ids: an item without one is keyed by its link (see `item_key`).
            .id_generator(|_, _, _| String::new())
            .sanitize_content(false)
            .build();
        let body = encoding::to_utf8(&page.body, page.charset().as_deref());
        let feed = parser.parse(body.as_ref()).map_err(|e| {
            format!(
                "{}: not a feed crier can read ({e}); check that the URL serves RSS, Atom or JSON Feed",
                page.url
            )
        })?;
        self.documents = self.source.documents(feed, &page.url, self.known);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> FeedSource {
        let text = r#"
[site]
title = "Alliance"
base_url = "https://example.org/"
languages = ["en", "fr"]
timezone = "Europe/Paris"

[[sources]]
type = "feed"
name = "old"
url = "https://old.example.org/feed.xml"
categories = ["Dosta"]
"#;
        let doc = crate::testing::SourcesDocument::parse(text).expect("parses");
        doc.validate().expect("valid");
        let crate::sources::SourceConfig::Feed(f) = &doc.sources[0] else {
            panic!("a feed source")
        };
        FeedSource::new(&doc.site, f)
    }

    fn read(xml: &str, known: &HashMap<String, String>) -> Vec<Document> {
        let feed = feed_rs::parser::Builder::new()
            .id_generator(|_, _, _| String::new())
            .sanitize_content(false)
            .build()
            .parse(xml.as_bytes())
            .expect("fixture parses");
        let page = Url::parse("https://old.example.org/feed.xml").unwrap();
        source().documents(feed, &page, known)
    }

    const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Old</title><link>https://old.example.org/</link><description>d</description>
<language>fr-FR</language>
<item>
  <title>Gand : une école pour tous</title>
  <link>https://old.example.org/gand</link>
  <guid isPermaLink="false">projet-17</guid>
  <pubDate>Tue, 12 Mar 2024 09:30:00 GMT</pubDate>
  <description>&lt;p&gt;Un projet &lt;b&gt;éducatif&lt;/b&gt; à Gand.&lt;/p&gt;</description>
  <category>Éducation</category>
  <media:content url="https://old.example.org/gand.jpg" medium="image" type="image/jpeg"><media:description>Une classe</media:description></media:content>
</item>
<item>
  <title>Sans guid</title>
  <link>/madrid</link>
  <pubDate>Wed, 13 Mar 2024 09:30:00 GMT</pubDate>
  <description>Texte.</description>
</item>
<item>
  <title>Sans date</title>
  <link>https://old.example.org/sans-date</link>
  <guid>https://old.example.org/?p=3</guid>
</item>
</channel></rss>"#;

    #[test]
    fn rss_items_become_entries() {
        let docs = read(RSS, &HashMap::new());
        assert_eq!(docs.len(), 3);
        let Outcome::Parsed(e) = &docs[0].outcome else {
            panic!("{:?}", docs[0].outcome)
        };
        assert_eq!(docs[0].key, "projet-17");
        assert_eq!(e.id, "old:projet-17");
        assert_eq!(e.guid, "tag:example.org,2024:old:projet-17");
        assert_eq!(e.url, "https://old.example.org/gand");
        assert_eq!(e.title, "Gand : une école pour tous");
        assert_eq!(e.language, "fr");
        assert_eq!(e.published.to_rfc3339(), "2024-03-12T10:30:00+01:00");
        assert_eq!(e.summary, "Un projet éducatif à Gand.");
        assert!(e.content.contains("<b>éducatif</b>"), "{}", e.content);
        assert_eq!(e.categories, ["Éducation", "Dosta"]);
        let image = e.image.as_ref().expect("image");
        assert_eq!(image.url, "https://old.example.org/gand.jpg");
        assert_eq!(image.alt, "Une classe");

        let Outcome::Parsed(e) = &docs[1].outcome else {
            panic!("{:?}", docs[1].outcome)
        };
        assert_eq!(docs[1].key, "https://old.example.org/madrid");
        assert_eq!(e.url, "https://old.example.org/madrid");

        let Outcome::Failed(err) = &docs[2].outcome else {
            panic!("{:?}", docs[2].outcome)
        };
        assert!(err.message.contains("date"), "{err}");
        assert!(err.location.contains("item 3"), "{err}");
    }

    #[test]
    fn known_items_are_not_mapped_again() {
        let first = read(RSS, &HashMap::new());
        let known: HashMap<String, String> = first
            .iter()
            .map(|d| (d.key.clone(), d.fingerprint.clone()))
            .collect();
        let second = read(RSS, &known);
        assert!(
            second
                .iter()
                .all(|d| matches!(d.outcome, Outcome::Unchanged)),
            "{second:?}"
        );
        let edited = RSS.replace("Gand : une école", "Gand : une école ouverte");
        let third = read(&edited, &known);
        assert!(matches!(third[0].outcome, Outcome::Parsed(_)));
        assert!(matches!(third[1].outcome, Outcome::Unchanged));
    }

    #[test]
    fn atom_and_json_feed_are_read_too() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Partner</title><id>urn:uuid:60a76c80-d399-11d9-b91C-0003939e0af6</id>
  <updated>2024-03-12T10:00:00Z</updated>
  <entry>
    <title type="html">Madrid &amp;amp; its schools</title>
    <link rel="alternate" href="https://partner.example/madrid"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <published>2024-03-10T08:00:00+01:00</published>
    <updated>2024-03-11T08:00:00+01:00</updated>
    <author><name>Partner team</name></author>
    <content type="html">&lt;p&gt;Body&lt;/p&gt;</content>
  </entry>
</feed>"#;
        let docs = read(atom, &HashMap::new());
        let Outcome::Parsed(e) = &docs[0].outcome else {
            panic!("{:?}", docs[0].outcome)
        };
        assert_eq!(e.guid, "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a");
        assert_eq!(e.title, "Madrid & its schools");
        assert_eq!(e.language, "en");
        assert_eq!(
            e.author.as_ref().map(|a| a.name.as_str()),
            Some("Partner team")
        );
        assert!(e.updated.is_some());

        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
            {"id":"https://j.example/1","url":"https://j.example/1","title":"One",
             "content_html":"<p>x</p>","date_published":"2024-03-01T12:00:00Z","tags":["a"]}]}"#;
        let docs = read(json, &HashMap::new());
        let Outcome::Parsed(e) = &docs[0].outcome else {
            panic!("{:?}", docs[0].outcome)
        };
        assert_eq!(e.guid, "https://j.example/1");
        assert_eq!(e.categories, ["a", "Dosta"]);
    }

    #[test]
    fn duplicate_and_anonymous_items_fail_alone() {
        let rss = r#"<rss version="2.0"><channel><title>t</title><link>https://o.example/</link><description>d</description>
<item><title>A</title><guid>x</guid><link>https://o.example/a</link><pubDate>Tue, 12 Mar 2024 09:30:00 GMT</pubDate></item>
<item><title>B</title><guid>x</guid><link>https://o.example/b</link><pubDate>Tue, 12 Mar 2024 09:30:00 GMT</pubDate></item>
<item><title>C</title><description>no link, no guid</description></item>
</channel></rss>"#;
        let docs = read(rss, &HashMap::new());
        assert!(matches!(docs[0].outcome, Outcome::Parsed(_)));
        assert!(
            matches!(&docs[1].outcome, Outcome::Failed(e) if e.message.contains("already used"))
        );
        assert!(
            matches!(&docs[2].outcome, Outcome::Failed(e) if e.message.contains("neither an id"))
        );
    }

    #[test]
    fn a_big_endian_utf16_feed_declared_utf16_is_read_instead_of_panicking() {
        let xml = RSS.replace("encoding=\"UTF-8\"", "encoding=\"utf-16\"");
        let body: Vec<u8> = xml.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/rss+xml"),
        );
        let url = Url::parse("https://old.example.org/feed.xml").unwrap();
        let source = source();
        let known = HashMap::new();
        let mut feed = FeedPage {
            source: &source,
            known: &known,
            documents: Vec::new(),
        };
        let page = Page {
            url: url.clone(),
            body,
            headers,
            validators: Default::default(),
        };
        assert_eq!(feed.page(&url, 1, page), Ok(None));
        assert_eq!(feed.documents.len(), 3);
        let Outcome::Parsed(e) = &feed.documents[0].outcome else {
            panic!("{:?}", feed.documents[0].outcome)
        };
        assert_eq!(e.title, "Gand : une école pour tous");
        assert!(e.content.contains("<b>éducatif</b>"), "{}", e.content);
    }
}

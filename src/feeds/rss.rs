//! RSS 2.0 renderer, built on the `rss` crate.
//!
//! Spec: <https://www.rssboard.org/rss-specification>, best practice:
//! <https://www.rssboard.org/rss-profile>. Beyond the core elements, a feed carries an
//! `atom:link rel="self"`, the full sanitised body as `content:encoded`, the author's name as
//! `dc:creator` (RSS's own `author` must be an e-mail address) and the lead image as a Media RSS
//! `media:content` (<https://www.rssboard.org/media-rss>), which feed readers and the W3C
//! validator both understand. An item whose entry has translations links its own page and
//! each translation as `atom:link rel="alternate" hreflang="…"`, RSS having no element of its
//! own for them.

use std::collections::BTreeMap;
use std::io::Write;

use rss::extension::Extension;
use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Guid, Item};

use super::archive::{ArchiveLinks, FH_NAMESPACE, file_url, relations};
use super::sanitize::{escape_html, xml_text};
use super::stylesheet::with_instruction;
use super::translations::Translations;
use super::{
    CHUNK, FeedError, FeedFormat, FeedMeta, author_of, image_mime_type, newest_update,
    write_in_chunks,
};
use crate::entry::{Entry, Image};

/// Namespace of Media RSS, declared on `<rss>` when an item has an image.
const MEDIA_NAMESPACE: &str = "http://search.yahoo.com/mrss/";
/// Namespace of `content:encoded`.
const CONTENT_NAMESPACE: &str = "http://purl.org/rss/1.0/modules/content/";
/// Namespace of Dublin Core (`dc:creator`).
const DC_NAMESPACE: &str = rss::extension::dublincore::NAMESPACE;

/// Writes the feed from prepared entries (see [`super::prepare`]) to `out`, each item linking
/// its `translations`.
pub fn write(
    meta: &FeedMeta,
    entries: &[&Entry],
    translations: &Translations,
    out: &mut dyn Write,
) -> Result<(), FeedError> {
    write_chunked(meta, entries, translations, out, CHUNK)
}

/// [`write`], rendering `chunk` items per pass.
pub(crate) fn write_chunked(
    meta: &FeedMeta,
    entries: &[&Entry],
    translations: &Translations,
    out: &mut dyn Write,
    chunk: usize,
) -> Result<(), FeedError> {
    let title = xml_text(&meta.title).into_owned();
    // RSS requires a channel description; an empty one would fail validation.
    let description = match xml_text(&meta.description) {
        text if text.trim().is_empty() => title.clone(),
        text => text.into_owned(),
    };
    // Feed-level values come from all entries: items are rendered in chunks (see
    // `write_in_chunks`) and every chunk's document must share them.
    // The namespaces of every item are declared up front (the rss crate would derive them
    // from the items of each chunk, which differ).
    let mut namespaces = BTreeMap::from([("content".to_owned(), CONTENT_NAMESPACE.to_owned())]);
    if entries.iter().any(|entry| entry.image.is_some()) {
        namespaces.insert("media".to_owned(), MEDIA_NAMESPACE.to_owned());
    }
    if entries
        .iter()
        .any(|entry| !xml_text(&author_of(entry, meta).name).trim().is_empty())
    {
        namespaces.insert("dc".to_owned(), DC_NAMESPACE.to_owned());
    }
    let mut links = vec![Link {
        href: xml_text(&meta.self_url(FeedFormat::Rss)).into_owned(),
        rel: "self".to_owned(),
        mime_type: Some("application/rss+xml".to_owned()),
        ..Link::default()
    }];
    // WebSub: the hubs, beside the self link that names the topic.
    links.extend(meta.hubs.iter().map(|hub| Link {
        href: xml_text(hub).into_owned(),
        rel: "hub".to_owned(),
        ..Link::default()
    }));
    let mut extensions = BTreeMap::new();
    if let Some(archive) = &meta.archive {
        // RFC 5005 appendix B: in RSS 2.0 the links are `atom:link`s.
        links.extend(archive_links(archive));
        if archive.is_archive() {
            namespaces.insert("fh".to_owned(), FH_NAMESPACE.to_owned());
            extensions.insert("fh".to_owned(), fh_archive());
        }
    }
    let channel = Channel {
        title,
        link: xml_text(&meta.home_url).into_owned(),
        description,
        language: meta.language.as_deref().map(|l| xml_text(l).into_owned()),
        generator: Some("crier".to_owned()),
        last_build_date: newest_update(entries).map(|date| date.to_rfc2822()),
        atom_ext: Some(AtomExtension { links }),
        namespaces,
        extensions,
        ..Channel::default()
    };
    let error = |reason: String| FeedError::Render {
        format: FeedFormat::Rss.name(),
        title: meta.title.clone(),
        reason,
    };
    let document = |chunk: &[&Entry]| {
        let mut channel = channel.clone();
        channel.items = chunk
            .iter()
            .map(|entry| item(meta, entry, translations))
            .collect();
        let bytes = channel
            .pretty_write_to(Vec::new(), b' ', 2)
            .map_err(|e| error(e.to_string()))?;
        let mut bytes = with_instruction(bytes, meta.stylesheet.as_deref());
        bytes.push(b'\n');
        Ok(bytes)
    };
    write_in_chunks(entries, chunk, out, document, error)
}

/// The RFC 5005 links of an archived feed's document, as `atom:link`s to RSS files.
fn archive_links(archive: &ArchiveLinks) -> Vec<Link> {
    relations(archive)
        .map(|(rel, folder)| Link {
            href: xml_text(&file_url(folder, FeedFormat::Rss)).into_owned(),
            rel: rel.to_owned(),
            mime_type: Some("application/rss+xml".to_owned()),
            ..Link::default()
        })
        .collect()
}

/// `<fh:archive>`, which marks an archive document, keyed as the channel's extensions are.
fn fh_archive() -> BTreeMap<String, Vec<Extension>> {
    let element = Extension {
        name: "fh:archive".to_owned(),
        // An empty text keeps the element on one line: the writer's indentation would put its
        // end tag on the next.
        value: Some(String::new()),
        ..Extension::default()
    };
    BTreeMap::from([("archive".to_owned(), vec![element])])
}

/// One `<item>`.
fn item(meta: &FeedMeta, entry: &Entry, translations: &Translations) -> Item {
    let summary = xml_text(&entry.summary);
    let creator = xml_text(&author_of(entry, meta).name);
    let mut extensions = BTreeMap::new();
    if let Some(image) = &entry.image {
        let content = BTreeMap::from([("content".to_owned(), vec![media_content(image)])]);
        extensions.insert("media".to_owned(), content);
    }
    Item {
        title: Some(xml_text(&entry.title).into_owned()),
        link: Some(xml_text(&entry.url).into_owned()),
        // Optional in RSS, and readers show it as the teaser: leave it out rather than empty.
        // Readers treat it as HTML while the summary is plain text, so it is escaped.
        description: (!summary.trim().is_empty()).then(|| escape_html(&summary)),
        categories: entry
            .categories
            .iter()
            .map(|name| Category {
                name: xml_text(name).into_owned(),
                domain: None,
            })
            .collect(),
        guid: Some(Guid {
            value: xml_text(&entry.guid).into_owned(),
            permalink: false,
        }),
        pub_date: Some(entry.published.to_rfc2822()),
        content: Some(xml_text(&entry.content).into_owned()),
        dublin_core_ext: (!creator.trim().is_empty()).then(|| DublinCoreExtension {
            creators: vec![creator.into_owned()],
            ..DublinCoreExtension::default()
        }),
        extensions,
        atom_ext: translation_links(entry, translations),
        ..Item::default()
    }
}

/// The item's own page and its translations as `atom:link rel="alternate"`, each with its
/// language; none when the entry has no translation. The `atom` namespace is always declared:
/// the channel's self link uses it.
fn translation_links(entry: &Entry, translations: &Translations) -> Option<AtomExtension> {
    let translated = translations.of(&entry.translation_key, &entry.language);
    if translated.is_empty() {
        return None;
    }
    let alternate = |url: &str, language: &str, title: Option<&str>| Link {
        href: xml_text(url).into_owned(),
        rel: "alternate".to_owned(),
        hreflang: Some(xml_text(language).into_owned()),
        title: title
            .map(|title| xml_text(title).into_owned())
            .filter(|title| !title.trim().is_empty()),
        ..Link::default()
    };
    let mut links = vec![alternate(&entry.url, &entry.language, None)];
    links.extend(
        translated
            .into_iter()
            .map(|t| alternate(&t.url, &t.language, Some(&t.title))),
    );
    Some(AtomExtension { links })
}

/// `<media:content url="…" medium="image"><media:description>alt</media:description>`.
fn media_content(image: &Image) -> Extension {
    let mut attrs = BTreeMap::from([
        ("url".to_owned(), xml_text(&image.url).into_owned()),
        ("medium".to_owned(), "image".to_owned()),
    ]);
    if let Some(mime_type) = image_mime_type(&image.url) {
        attrs.insert("type".to_owned(), mime_type.to_owned());
    }
    let alt = xml_text(&image.alt);
    let mut children = BTreeMap::new();
    if !alt.trim().is_empty() {
        let description = Extension {
            name: "media:description".to_owned(),
            value: Some(alt.into_owned()),
            attrs: BTreeMap::from([("type".to_owned(), "plain".to_owned())]),
            children: BTreeMap::new(),
        };
        children.insert("description".to_owned(), vec![description]);
    }
    Extension {
        name: "media:content".to_owned(),
        value: None,
        attrs,
        children,
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::entry::Person;
    use crate::testing;

    fn meta() -> FeedMeta {
        testing::feed_meta(Some("en"))
    }

    fn entry(id: &str, published: &str, updated: Option<&str>) -> Entry {
        Entry {
            updated: updated.map(|u| DateTime::parse_from_rfc3339(u).unwrap()),
            ..testing::entry(id, published)
        }
    }

    fn render_str(meta: &FeedMeta, entries: &[Entry]) -> String {
        String::from_utf8(crate::feeds::render(FeedFormat::Rss, meta, entries).unwrap()).unwrap()
    }

    #[test]
    fn channel_has_self_link_and_description_fallback() {
        let xml = render_str(&meta(), &[]);
        assert!(
            xml.contains(r#"<atom:link href="https://example.org/feeds/rss.xml" rel="self" type="application/rss+xml"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"xmlns:atom="http://www.w3.org/2005/Atom""#),
            "{xml}"
        );
        assert!(xml.contains("<description>Site</description>"), "{xml}");
        assert!(xml.contains("<generator>crier</generator>"), "{xml}");
        assert!(!xml.contains("lastBuildDate"), "{xml}");
        assert!(!xml.contains("xmlns:media"), "{xml}");
    }

    #[test]
    fn description_is_kept_when_given() {
        let meta = FeedMeta {
            description: "News & notes".to_owned(),
            ..meta()
        };
        let xml = render_str(&meta, &[]);
        assert!(
            xml.contains("<description>News &amp; notes</description>"),
            "{xml}"
        );
    }

    #[test]
    fn last_build_date_is_the_newest_modification() {
        let entries = [
            entry("a", "2024-03-01T10:00:00+01:00", None),
            entry(
                "b",
                "2024-01-01T10:00:00+01:00",
                Some("2024-05-02T08:30:00-04:00"),
            ),
        ];
        let xml = render_str(&meta(), &entries);
        assert!(
            xml.contains("<lastBuildDate>Thu, 2 May 2024 08:30:00 -0400</lastBuildDate>"),
            "{xml}"
        );
        assert!(
            xml.contains("<pubDate>Fri, 1 Mar 2024 10:00:00 +0100</pubDate>"),
            "{xml}"
        );
    }

    #[test]
    fn an_item_links_its_translations_as_atom_links() {
        let mut en = entry("river.en", "2024-03-01T10:00:00Z", None);
        let mut fr = entry("river.fr", "2024-03-01T10:00:00Z", None);
        fr.language = "fr".to_owned();
        fr.title = "La rivière <3".to_owned();
        en.translation_key = "river".to_owned();
        fr.translation_key = "river".to_owned();
        let alone = entry("alone", "2024-02-01T10:00:00Z", None);
        let translations =
            Translations::new(&testing::live_entries(&[en.clone(), fr, alone.clone()]));
        let mut bytes = Vec::new();
        write(&meta(), &[&en, &alone], &translations, &mut bytes).unwrap();
        let xml = String::from_utf8(bytes).unwrap();
        let first = &xml[xml.find("<item>").unwrap()..xml.find("</item>").unwrap()];
        assert!(
            first.contains(
                r#"<atom:link href="https://example.org/river.en/" rel="alternate" hreflang="en"/>"#
            ),
            "{xml}"
        );
        assert!(
            first.contains(r#"<atom:link href="https://example.org/river.fr/" rel="alternate" hreflang="fr" title="La rivière &lt;3"/>"#),
            "{xml}"
        );
        let second = &xml[xml.rfind("<item>").unwrap()..];
        assert!(!second.contains("atom:link"), "{xml}");
    }

    #[test]
    fn item_guid_is_not_a_permalink() {
        let xml = render_str(&meta(), &[entry("a", "2024-03-01T10:00:00Z", None)]);
        assert!(
            xml.contains(r#"<guid isPermaLink="false">tag:example.org,2024:a</guid>"#),
            "{xml}"
        );
        assert!(xml.contains("<link>https://example.org/a/</link>"), "{xml}");
    }

    #[test]
    fn creator_falls_back_to_the_feed_author() {
        let mut own = entry("a", "2024-03-01T10:00:00Z", None);
        own.author = Some(Person {
            name: "Ada".to_owned(),
            email: Some("ada@example.org".to_owned()),
            uri: None,
        });
        let xml = render_str(&meta(), &[own, entry("b", "2024-02-01T10:00:00Z", None)]);
        assert!(xml.contains("<dc:creator>Ada</dc:creator>"), "{xml}");
        assert!(xml.contains("<dc:creator>Site Team</dc:creator>"), "{xml}");
        assert!(!xml.contains("<author>"), "{xml}");
    }

    #[test]
    fn empty_summary_leaves_out_the_description() {
        let xml = render_str(&meta(), &[entry("a", "2024-03-01T10:00:00Z", None)]);
        let item = &xml[xml.find("<item>").unwrap()..];
        assert!(!item.contains("<description>"), "{xml}");
    }

    #[test]
    fn image_is_media_content_with_alt_text() {
        let mut e = entry("a", "2024-03-01T10:00:00Z", None);
        e.image = Some(Image {
            url: "https://example.org/a/photo.jpg".to_owned(),
            alt: "A bridge & a river".to_owned(),
            path: None,
        });
        let xml = render_str(&meta(), &[e]);
        assert!(
            xml.contains(r#"xmlns:media="http://search.yahoo.com/mrss/""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<media:content medium="image" type="image/jpeg" url="https://example.org/a/photo.jpg">"#),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<media:description type="plain">A bridge &amp; a river</media:description>"#
            ),
            "{xml}"
        );
    }

    #[test]
    fn cdata_terminator_round_trips() {
        let mut e = entry("a", "2024-03-01T10:00:00Z", None);
        e.summary = "s ]]> t & <u>".to_owned();
        e.content = r#"<p>a ]]> b<img src="i.png" alt="x ]]> y"></p>"#.to_owned();
        let xml = render_str(&meta(), &[e]);
        let parsed = Channel::read_from(xml.as_bytes()).unwrap();
        // The summary is plain text and readers read descriptions as HTML: escaped.
        assert_eq!(
            parsed.items[0].description.as_deref(),
            Some("s ]]&gt; t &amp; &lt;u&gt;")
        );
        assert_eq!(
            parsed.items[0].content.as_deref(),
            Some(r#"<p>a ]]&gt; b<img src="https://example.org/a/i.png" alt="x ]]&gt; y"></p>"#)
        );
    }

    #[test]
    fn rss_crate_splits_cdata_terminator() {
        // Escaping keeps `]]>` out of our CDATA sections; should one get through, the crate
        // must still cut it across two sections rather than end the section early.
        let channel = Channel {
            items: vec![Item {
                content: Some("a ]]> b".to_owned()),
                ..Item::default()
            }],
            ..Channel::default()
        };
        let xml = channel.to_string();
        assert!(xml.contains("<![CDATA[a ]]]]><![CDATA[> b]]>"), "{xml}");
        let parsed = Channel::read_from(xml.as_bytes()).unwrap();
        assert_eq!(parsed.items[0].content.as_deref(), Some("a ]]> b"));
    }

    #[test]
    fn control_characters_are_dropped() {
        let mut e = entry("a", "2024-03-01T10:00:00Z", None);
        e.title = "bell\u{7}\u{fffe}".to_owned();
        let xml = render_str(&meta(), &[e]);
        assert!(xml.contains("<title>bell</title>"), "{xml}");
    }

    fn archived(meta: FeedMeta, links: crate::feeds::ArchiveLinks) -> FeedMeta {
        FeedMeta {
            archive: Some(links),
            ..meta
        }
    }

    #[test]
    fn archive_documents_carry_fh_archive_and_their_links() {
        let page = archived(
            FeedMeta {
                folder_url: "https://example.org/feeds/archive/2/".to_owned(),
                ..meta()
            },
            crate::feeds::ArchiveLinks {
                current: Some("https://example.org/feeds/".to_owned()),
                prev: Some("https://example.org/feeds/archive/1/".to_owned()),
                next: Some("https://example.org/feeds/archive/3/".to_owned()),
            },
        );
        let xml = render_str(&page, &[entry("a", "2024-03-01T10:00:00Z", None)]);
        assert!(
            xml.contains(r#"xmlns:fh="http://purl.org/syndication/history/1.0""#),
            "{xml}"
        );
        assert!(xml.contains("<fh:archive></fh:archive>"), "{xml}");
        for (rel, href) in [
            ("self", "https://example.org/feeds/archive/2/rss.xml"),
            ("current", "https://example.org/feeds/rss.xml"),
            (
                "prev-archive",
                "https://example.org/feeds/archive/1/rss.xml",
            ),
            (
                "next-archive",
                "https://example.org/feeds/archive/3/rss.xml",
            ),
        ] {
            let link =
                format!(r#"<atom:link href="{href}" rel="{rel}" type="application/rss+xml"/>"#);
            assert!(xml.contains(&link), "{link} in {xml}");
        }
        let parsed = Channel::read_from(xml.as_bytes()).unwrap();
        assert_eq!(parsed.items.len(), 1);

        // The subscription document links to the newest page only, and is no archive.
        let current = archived(
            meta(),
            crate::feeds::ArchiveLinks {
                prev: Some("https://example.org/feeds/archive/3/".to_owned()),
                ..Default::default()
            },
        );
        let xml = render_str(&current, &[]);
        assert!(xml.contains(r#"<atom:link href="https://example.org/feeds/archive/3/rss.xml" rel="prev-archive" type="application/rss+xml"/>"#), "{xml}");
        assert!(!xml.contains("fh:"), "{xml}");
        assert!(
            !xml.contains("next-archive") && !xml.contains("current"),
            "{xml}"
        );
    }
}

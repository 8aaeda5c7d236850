//! Atom 1.0 renderer, built on `atom_syndication`.
//!
//! Spec: <https://www.rfc-editor.org/rfc/rfc4287>. Atom requires an author for every entry,
//! either its own or the feed's: the feed always carries [`FeedMeta::author`] (rendering fails
//! when it has no name) and entries add theirs when they have one. The lead image becomes a
//! `link rel="enclosure"`, the only place Atom has for it. An entry with translations links
//! each as a `link rel="alternate" hreflang="…"`, its own alternate then carrying its
//! language too.

use atom_syndication::extension::Extension;
use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, Generator, Link, Person as AtomPerson, Text,
    WriteConfig,
};
use std::collections::BTreeMap;
use std::io::Write;

use chrono::DateTime;

use super::archive;
use super::sanitize::xml_text;
use super::stylesheet::with_instruction;
use super::translations::Translations;
use super::{
    CHUNK, FeedError, FeedFormat, FeedMeta, image_mime_type, newest_update, write_in_chunks,
};
use crate::entry::{Entry, Person};

/// Renders the feed from prepared entries (see [`super::prepare`]).
/// Each entry links its `translations`.
pub fn write(
    meta: &FeedMeta,
    entries: &[&Entry],
    translations: &Translations,
    out: &mut dyn Write,
) -> Result<(), FeedError> {
    write_chunked(meta, entries, translations, out, CHUNK)
}

/// [`write`], rendering `chunk` entries per pass.
pub(crate) fn write_chunked(
    meta: &FeedMeta,
    entries: &[&Entry],
    translations: &Translations,
    out: &mut dyn Write,
    chunk: usize,
) -> Result<(), FeedError> {
    let error = |reason: String| FeedError::Render {
        format: FeedFormat::Atom.name(),
        title: meta.title.clone(),
        reason,
    };
    if meta.author.name.trim().is_empty() {
        return Err(error(
            "Atom requires an author: the feed author's name is empty".to_owned(),
        ));
    }
    let self_url = xml_text(&meta.self_url(FeedFormat::Atom)).into_owned();
    // Feed-level values come from all entries: entries are rendered in chunks (see
    // `write_in_chunks`) and every chunk's document must share them.
    let feed = Feed {
        title: Text::plain(xml_text(&meta.title)),
        // The self URL is stable and unique per feed, so it doubles as the feed's id.
        id: self_url.clone(),
        // An empty feed has no date to derive; the epoch keeps the output deterministic.
        updated: newest_update(entries).unwrap_or(DateTime::UNIX_EPOCH.fixed_offset()),
        authors: vec![person(&meta.author)],
        generator: Some(Generator {
            value: "crier".to_owned(),
            uri: None,
            version: None,
        }),
        links: [
            link(&meta.home_url, "alternate", None),
            link(&self_url, "self", Some("application/atom+xml")),
        ]
        .into_iter()
        // WebSub: the hubs, beside the self link that names the topic.
        .chain(meta.hubs.iter().map(|hub| link(hub, "hub", None)))
        .collect(),
        subtitle: Some(xml_text(&meta.description))
            .filter(|text| !text.trim().is_empty())
            .map(Text::plain),
        lang: meta.language.as_deref().map(|l| xml_text(l).into_owned()),
        ..Feed::default()
    };
    let mut feed = feed;
    if let Some(archive) = &meta.archive {
        feed.links
            .extend(archive::relations(archive).map(|(rel, folder)| {
                link(
                    &archive::file_url(folder, FeedFormat::Atom),
                    rel,
                    Some("application/atom+xml"),
                )
            }));
        if archive.is_archive() {
            let element = Extension {
                name: "fh:archive".to_owned(),
                // An empty text keeps the element on one line: the writer's indentation would put its
                // end tag on the next.
                value: Some(String::new()),
                ..Extension::default()
            };
            feed.namespaces
                .insert("fh".to_owned(), archive::FH_NAMESPACE.to_owned());
            feed.extensions.insert(
                "fh".to_owned(),
                BTreeMap::from([("archive".to_owned(), vec![element])]),
            );
        }
    }
    let config = WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    let document = |chunk: &[&Entry]| {
        let mut feed = feed.clone();
        feed.entries = chunk.iter().map(|e| entry(meta, e, translations)).collect();
        let bytes = feed
            .write_with_config(Vec::new(), config)
            .map_err(|e| error(e.to_string()))?;
        let mut bytes = with_instruction(bytes, meta.stylesheet.as_deref());
        bytes.push(b'\n');
        Ok(bytes)
    };
    write_in_chunks(entries, chunk, out, document, error)
}

/// One `<entry>`.
fn entry(meta: &FeedMeta, entry: &Entry, translations: &Translations) -> AtomEntry {
    // Atom has no per-entry language, but its texts take `xml:lang`: set where the entry's
    // language differs from the feed's, so readers pick the right fonts, voice and direction.
    let lang = Some(xml_text(&entry.language))
        .filter(|lang| !lang.is_empty() && meta.language.as_deref() != Some(lang.as_ref()))
        .map(|lang| lang.into_owned());
    let text = |value: &str| Text {
        lang: lang.clone(),
        ..Text::plain(xml_text(value))
    };
    let mut links = vec![link(&entry.url, "alternate", None)];
    let translated = translations.of(&entry.translation_key, &entry.language);
    if !translated.is_empty() {
        // Among several alternates, each says its language (RFC 4287 allows one alternate
        // per type and `hreflang`); an entry without translations keeps its plain link.
        links[0].hreflang = Some(xml_text(&entry.language).into_owned());
        links.extend(translated.into_iter().map(|t| Link {
            hreflang: Some(xml_text(&t.language).into_owned()),
            title: Some(xml_text(&t.title).into_owned()).filter(|title| !title.trim().is_empty()),
            ..link(&t.url, "alternate", None)
        }));
    }
    if let Some(image) = &entry.image {
        let mut enclosure = link(&image.url, "enclosure", image_mime_type(&image.url));
        enclosure.title = Some(xml_text(&image.alt))
            .filter(|alt| !alt.trim().is_empty())
            .map(|alt| alt.into_owned());
        links.push(enclosure);
    }
    AtomEntry {
        title: text(&entry.title),
        id: xml_text(&entry.guid).into_owned(),
        updated: entry.last_modified(),
        authors: entry.author.iter().map(person).collect(),
        categories: entry
            .categories
            .iter()
            .map(|term| Category {
                term: xml_text(term).into_owned(),
                scheme: None,
                label: None,
            })
            .collect(),
        links,
        published: Some(entry.published),
        summary: Some(text(&entry.summary)).filter(|summary| !summary.value.trim().is_empty()),
        content: Some(Content {
            value: Some(xml_text(&entry.content).into_owned()),
            content_type: Some("html".to_owned()),
            lang: lang.clone(),
            ..Content::default()
        }),
        ..AtomEntry::default()
    }
}

fn link(href: &str, rel: &str, mime_type: Option<&str>) -> Link {
    Link {
        href: xml_text(href).into_owned(),
        rel: rel.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        ..Link::default()
    }
}

fn person(person: &Person) -> AtomPerson {
    AtomPerson {
        name: xml_text(&person.name).into_owned(),
        email: person.email.as_deref().map(|e| xml_text(e).into_owned()),
        uri: person.uri.as_deref().map(|u| xml_text(u).into_owned()),
        ..AtomPerson::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Image;
    use crate::testing;

    fn meta() -> FeedMeta {
        let mut meta = testing::feed_meta(Some("fr"));
        meta.author.email = Some("team@example.org".to_owned());
        meta
    }

    fn entry(id: &str, published: &str, updated: Option<&str>) -> Entry {
        Entry {
            updated: updated.map(|u| DateTime::parse_from_rfc3339(u).unwrap()),
            language: "fr".to_owned(),
            ..testing::entry(id, published)
        }
    }

    fn render_str(meta: &FeedMeta, entries: &[Entry]) -> String {
        String::from_utf8(crate::feeds::render(FeedFormat::Atom, meta, entries).unwrap()).unwrap()
    }

    #[test]
    fn feed_has_id_links_author_and_language() {
        let xml = render_str(&meta(), &[]);
        assert!(
            xml.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">"#),
            "{xml}"
        );
        assert!(
            xml.contains("<id>https://example.org/feeds/atom.xml</id>"),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<link href="https://example.org/feeds/atom.xml" rel="self" type="application/atom+xml"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<link href="https://example.org/" rel="alternate"/>"#),
            "{xml}"
        );
        assert!(xml.contains("<name>Site Team</name>"), "{xml}");
        assert!(xml.contains("<generator>crier</generator>"), "{xml}");
        assert!(!xml.contains("<subtitle"), "{xml}");
    }

    #[test]
    fn empty_feed_is_dated_at_the_epoch() {
        let xml = render_str(&meta(), &[]);
        assert!(
            xml.contains("<updated>1970-01-01T00:00:00+00:00</updated>"),
            "{xml}"
        );
        assert_eq!(
            crate::feeds::render(FeedFormat::Atom, &meta(), &[]).unwrap(),
            xml.as_bytes()
        );
    }

    #[test]
    fn feed_without_author_name_is_refused() {
        let mut meta = meta();
        meta.author.name = "  ".to_owned();
        let error = crate::feeds::render(FeedFormat::Atom, &meta, &[]).unwrap_err();
        assert!(error.to_string().contains("author"), "{error}");
    }

    #[test]
    fn entry_author_is_its_own_or_inherited_from_the_feed() {
        let mut own = entry("a", "2024-03-01T10:00:00+01:00", None);
        own.author = Some(Person {
            name: "Ada".to_owned(),
            email: None,
            uri: Some("https://ada.example/".to_owned()),
        });
        let inherits = entry("b", "2024-02-01T10:00:00+01:00", None);
        let xml = render_str(&meta(), &[own, inherits]);
        let first = &xml[xml.find("<entry>").unwrap()..xml.find("</entry>").unwrap()];
        let second = &xml[xml.rfind("<entry>").unwrap()..];
        assert!(first.contains("<name>Ada</name>"), "{xml}");
        assert!(first.contains("<uri>https://ada.example/</uri>"), "{xml}");
        // Atom inheritance: an entry without <author> takes the feed's, which must be there.
        assert!(!second.contains("<author>"), "{xml}");
        let head = &xml[..xml.find("<entry>").unwrap()];
        assert!(head.contains("<author>"), "{xml}");
        assert!(head.contains("<name>Site Team</name>"), "{xml}");
        assert!(head.contains("<email>team@example.org</email>"), "{xml}");
    }

    #[test]
    fn entry_texts_carry_their_language_when_it_differs() {
        let mut other = entry("a", "2024-03-01T10:00:00Z", None);
        other.language = "ar".to_owned();
        other.summary = "ملخص".to_owned();
        let same = entry("b", "2024-02-01T10:00:00Z", None);
        let xml = render_str(&meta(), &[other, same]);
        let first = &xml[xml.find("<entry>").unwrap()..xml.find("</entry>").unwrap()];
        let second = &xml[xml.rfind("<entry>").unwrap()..];
        assert!(
            first.contains(r#"<title xml:lang="ar">Title a</title>"#),
            "{xml}"
        );
        assert!(
            first.contains(r#"<summary xml:lang="ar">ملخص</summary>"#),
            "{xml}"
        );
        assert!(
            first.contains(r#"<content xml:lang="ar" type="html">"#),
            "{xml}"
        );
        assert!(second.contains("<title>Title b</title>"), "{xml}");
        assert!(!second.contains("xml:lang"), "{xml}");
    }

    #[test]
    fn an_entry_links_its_translations_with_their_languages() {
        let mut en = entry("river.en", "2024-03-01T10:00:00Z", None);
        en.language = "en".to_owned();
        let mut fr = entry("river.fr", "2024-03-01T10:00:00Z", None);
        fr.title = "La rivière & nous".to_owned();
        let mut de = entry("river.de", "2024-03-01T10:00:00Z", None);
        de.language = "de".to_owned();
        for e in [&mut en, &mut fr, &mut de] {
            e.translation_key = "river".to_owned();
        }
        let alone = entry("alone", "2024-02-01T10:00:00Z", None);
        let translations = Translations::new(&testing::live_entries(&[
            en.clone(),
            fr.clone(),
            de,
            alone.clone(),
        ]));
        let mut bytes = Vec::new();
        write(&meta(), &[&en, &alone], &translations, &mut bytes).unwrap();
        let xml = String::from_utf8(bytes).unwrap();
        let first = &xml[xml.find("<entry>").unwrap()..xml.find("</entry>").unwrap()];
        let links: Vec<&str> = first
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("<link"))
            .collect();
        assert_eq!(
            links,
            [
                r#"<link href="https://example.org/river.en/" rel="alternate" hreflang="en"/>"#,
                r#"<link href="https://example.org/river.de/" rel="alternate" hreflang="de" title="Title river.de"/>"#,
                r#"<link href="https://example.org/river.fr/" rel="alternate" hreflang="fr" title="La rivière &amp; nous"/>"#,
            ],
            "{xml}"
        );
        // Without translations, the entry's link is as it always was.
        let second = &xml[xml.rfind("<entry>").unwrap()..];
        assert!(
            second.contains(r#"<link href="https://example.org/alone/" rel="alternate"/>"#),
            "{xml}"
        );
    }

    #[test]
    fn updated_is_the_newest_modification() {
        let entries = [
            entry("a", "2024-03-01T10:00:00+01:00", None),
            entry(
                "b",
                "2024-01-01T10:00:00+01:00",
                Some("2024-05-02T08:30:00-04:00"),
            ),
        ];
        let xml = render_str(&meta(), &entries);
        let head = &xml[..xml.find("<entry>").unwrap()];
        assert!(
            head.contains("<updated>2024-05-02T08:30:00-04:00</updated>"),
            "{xml}"
        );
        assert!(
            xml.contains("<published>2024-01-01T10:00:00+01:00</published>"),
            "{xml}"
        );
    }

    #[test]
    fn entry_has_id_link_summary_content_categories_and_enclosure() {
        let mut e = entry("a", "2024-03-01T10:00:00Z", None);
        e.summary = "Short & sweet".to_owned();
        e.content = r#"<p>Hi<script>x()</script> <a href="more">more</a></p>"#.to_owned();
        e.categories = vec!["news".to_owned(), "art & craft".to_owned()];
        e.image = Some(Image {
            url: "https://example.org/a/p.png".to_owned(),
            alt: "A map".to_owned(),
            path: None,
        });
        let xml = render_str(&meta(), &[e]);
        assert!(xml.contains("<id>tag:example.org,2024:a</id>"), "{xml}");
        assert!(
            xml.contains(r#"<link href="https://example.org/a/" rel="alternate"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<link href="https://example.org/a/p.png" rel="enclosure" type="image/png" title="A map"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains("<summary>Short &amp; sweet</summary>"),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<category term="art &amp; craft"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<content type="html">&lt;p&gt;Hi "#),
            "{xml}"
        );
        assert!(xml.contains("https://example.org/a/more"), "{xml}");
        assert!(!xml.contains("script"), "{xml}");
    }

    #[test]
    fn archive_documents_carry_fh_archive_and_their_links() {
        let page = FeedMeta {
            folder_url: "https://example.org/feeds/archive/1/".to_owned(),
            archive: Some(crate::feeds::ArchiveLinks {
                current: Some("https://example.org/feeds/".to_owned()),
                prev: None,
                next: Some("https://example.org/feeds/archive/2/".to_owned()),
            }),
            ..meta()
        };
        let xml = render_str(&page, &[entry("a", "2024-03-01T10:00:00Z", None)]);
        assert!(
            xml.contains(r#"xmlns:fh="http://purl.org/syndication/history/1.0""#),
            "{xml}"
        );
        assert!(xml.contains("<fh:archive></fh:archive>"), "{xml}");
        assert!(
            xml.contains("<id>https://example.org/feeds/archive/1/atom.xml</id>"),
            "{xml}"
        );
        assert!(xml.contains(r#"<link href="https://example.org/feeds/atom.xml" rel="current" type="application/atom+xml"/>"#), "{xml}");
        assert!(xml.contains(r#"<link href="https://example.org/feeds/archive/2/atom.xml" rel="next-archive" type="application/atom+xml"/>"#), "{xml}");
        assert!(
            !xml.contains("prev-archive"),
            "the oldest page has none: {xml}"
        );

        let current = FeedMeta {
            archive: Some(crate::feeds::ArchiveLinks {
                prev: Some("https://example.org/feeds/archive/2/".to_owned()),
                ..Default::default()
            }),
            ..meta()
        };
        let xml = render_str(&current, &[]);
        assert!(xml.contains(r#"<link href="https://example.org/feeds/archive/2/atom.xml" rel="prev-archive" type="application/atom+xml"/>"#), "{xml}");
        assert!(!xml.contains("fh:"), "{xml}");
    }
}

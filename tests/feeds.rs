//! Feed output: the hostile fixture (`tests/golden/hostile.rs`) rendered in all three formats,
//! compared byte for byte with the golden files `tests/golden/hostile.{rss.xml,atom.xml,feed.json}`
//! and parsed back with an independent parser (feed-rs), field by field; the JSON Feed again
//! with links back to posts (`hostile.syndicated.feed.json`, the `_crier` extension); all three
//! again with translations linked (`hostile.translated.*`); plus a property test that
//! arbitrary text survives each format.
//!
//! After an intended change to the output, regenerate the golden files with
//! `CRIER_BLESS=1 cargo test --test feeds` and review the diff before committing it.
//!
//! Expected values are written out by hand, never computed with crier's own sanitiser or
//! escaping: a bug there must show up here.

#[path = "golden/hostile.rs"]
mod hostile;

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, Utc};
use crier::entry::{Entry, Person};
use crier::feeds::{FeedFormat, FeedMeta, Syndication, Translations, render, render_with_links};
use feed_rs::model::{Feed, Text};
use proptest::prelude::*;

const FORMATS: [FeedFormat; 3] = [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json];

fn golden_path(format: FeedFormat) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("hostile.{}", format.file_name()))
}

fn render_hostile(format: FeedFormat) -> Vec<u8> {
    render(format, &hostile::meta(), &hostile::entries()).expect("the fixture renders")
}

/// The golden file of the JSON Feed with links back to posts.
fn syndicated_golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/hostile.syndicated.feed.json")
}

fn render_syndicated() -> Vec<u8> {
    render_with_links(
        FeedFormat::Json,
        &hostile::meta(),
        &hostile::entries(),
        &hostile::links(),
        &Translations::default(),
    )
    .expect("the fixture renders")
}

/// The golden file of the fixture in `format` with translations linked.
fn translated_golden_path(format: FeedFormat) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("hostile.translated.{}", format.file_name()))
}

/// The fixture in `format` with translations linked; the JSON Feed has the links back to posts
/// too, so that both share the `_crier` object.
fn render_translated(format: FeedFormat) -> Vec<u8> {
    let links = match format {
        FeedFormat::Json => hostile::links(),
        _ => Syndication::default(),
    };
    render_with_links(
        format,
        &hostile::meta(),
        &hostile::entries(),
        &links,
        &hostile::translations(),
    )
    .expect("the fixture renders")
}

fn parse(bytes: &[u8]) -> Feed {
    feed_rs::parser::parse(bytes).expect("feed-rs parses the feed")
}

#[test]
fn hostile_feeds_match_golden_files() {
    let bless = std::env::var_os("CRIER_BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    let cases = FORMATS
        .into_iter()
        .map(|format| (golden_path(format), render_hostile(format)))
        .chain([(syndicated_golden_path(), render_syndicated())])
        .chain(FORMATS.map(|format| (translated_golden_path(format), render_translated(format))));
    for (path, actual) in cases {
        if bless {
            std::fs::write(&path, &actual).expect("golden file is writable");
            continue;
        }
        let expected = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (CRIER_BLESS=1 creates it)", path.display()));
        if actual != expected {
            let actual = String::from_utf8_lossy(&actual);
            let expected = String::from_utf8_lossy(&expected);
            let line = actual
                .lines()
                .zip(expected.lines())
                .position(|(a, e)| a != e)
                .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
            stale.push(format!(
                "{}: first difference at line {}:\n  expected: {:?}\n  actual:   {:?}",
                path.display(),
                line + 1,
                expected.lines().nth(line).unwrap_or("<end of file>"),
                actual.lines().nth(line).unwrap_or("<end of file>"),
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "output differs from the golden files (after an intended change: \
         CRIER_BLESS=1 cargo test --test feeds):\n{}",
        stale.join("\n")
    );
}

#[test]
fn rendering_is_deterministic() {
    for format in FORMATS {
        let first = render_hostile(format);
        let second = render(format, &hostile::meta(), &hostile::entries().clone()).unwrap();
        assert_eq!(
            first,
            second,
            "{} differs between two renders",
            format.name()
        );
    }
}

#[test]
fn golden_files_are_valid_utf8_and_free_of_forbidden_characters() {
    for format in FORMATS {
        let text = String::from_utf8(render_hostile(format)).expect("UTF-8");
        let bad = text.chars().find(|&c| {
            matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}')
                || c == '\u{fffe}'
                || c == '\u{ffff}'
        });
        assert_eq!(bad, None, "{}", format.name());
    }
}

// ---------------------------------------------------------------------------------------
// Expected values of the hostile fixture, after sanitising and dropping forbidden characters.

struct Want {
    guid: &'static str,
    url: &'static str,
    title: String,
    /// Plain text; `None` when the entry has none.
    summary: Option<&'static str>,
    /// Sanitised HTML.
    content: &'static str,
    published: &'static str,
    updated: Option<&'static str>,
    categories: &'static [&'static str],
    author: Option<(&'static str, Option<&'static str>, Option<&'static str>)>,
    /// URL, media type, alternative text.
    image: Option<(&'static str, &'static str, &'static str)>,
    language: &'static str,
}

const MARKUP_CONTENT: &str = "<p>Intro &amp; more &lt;escaped&gt; ]]&gt; text</p>\n\n\n\
<p><a rel=\"noopener noreferrer\">bad link</a> \
<a href=\"https://example.org/projects/x\" rel=\"noopener noreferrer\">relative link</a> \
<a href=\"https://other.example/page?a=1&amp;b=2\" rel=\"noopener noreferrer\">absolute</a></p>\n\
<p><img src=\"https://example.org/projects/markup/img.png\" alt=\"A &quot;quoted&quot; map\"></p>\n\
<ul><li>one</li><li><strong>two</strong></li></ul>\n";

fn wanted() -> Vec<Want> {
    vec![
        Want {
            guid: "tag:example.org,2024:projects/markup",
            url: "https://example.org/projects/markup/",
            title: r#"Tags <b>bold</b> & "quotes" 'single' ]]> end"#.to_owned(),
            summary: Some("Summary with <em>markup</em>, a < b & c > d, and ]]> inside"),
            content: MARKUP_CONTENT,
            published: "2024-03-05T10:00:00+05:30",
            updated: Some("2024-03-06T08:15:30-04:00"),
            categories: &["news", "art & craft", "<script>"],
            author: Some((
                "Ada Lovelace",
                Some("ada@example.org"),
                Some("https://ada.example/"),
            )),
            image: Some((
                "https://example.org/projects/markup/lead.jpg",
                "image/jpeg",
                r#"Bridge & "river" <at> night"#,
            )),
            language: "en",
        },
        Want {
            guid: "tag:example.org,2024:projects/controls",
            url: "https://example.org/projects/controls/",
            title: "BellTab\tVTNULEnd".to_owned(),
            summary: Some("startmiddleend"),
            content: "<p>paragraph ok</p>",
            published: "2024-02-29T23:30:00-08:00",
            updated: None,
            categories: &["ctlcat"],
            author: Some(("Ctrl Person", None, None)),
            image: None,
            language: "en",
        },
        Want {
            guid: "tag:example.org,2024:projects/unicode",
            url: "https://example.org/projects/unicode/",
            title: "Emoji 😀🎉👩‍👩‍👧 · CJK 漢字かな한국어 · RTL עברית العربية".to_owned(),
            summary: Some("مرحبا بالعالم — שלום עולם"),
            content: "<p lang=\"ar\" dir=\"rtl\">مرحبا <em>بالعالم</em></p>\
<p lang=\"he\">שלום עולם 😀</p><p>漢字</p>",
            published: "2024-01-15T09:00:00+09:00",
            updated: Some("2024-01-16T12:00:00+02:00"),
            categories: &["日本", "עברית"],
            author: None,
            image: Some((
                "https://example.org/projects/unicode/%E5%9B%BE.png",
                "image/png",
                "图 😀",
            )),
            language: "ar",
        },
        Want {
            guid: "tag:example.org,2024:projects/empty",
            url: "https://example.org/projects/empty/",
            title: "Bare empty".to_owned(),
            summary: None,
            content: "<p>Bare</p>",
            published: "2023-12-31T23:59:59-11:00",
            updated: None,
            categories: &[],
            author: None,
            image: None,
            language: "en",
        },
        Want {
            guid: "tag:example.org,2024:projects/long",
            url: "https://example.org/projects/long/",
            title: hostile::long_title(),
            summary: Some("Long entry."),
            content: "<p>Bare</p>",
            published: "2023-06-01T12:00:00+01:00",
            updated: None,
            categories: &[],
            author: None,
            image: None,
            language: "en",
        },
    ]
}

const FEED_TITLE: &str = "Crier & <friends> ]]> 😀";
const FEED_DESCRIPTION: &str = "Projects & news — 漢字 — עברית";
const NEWEST_UPDATE: &str = "2024-03-06T08:15:30-04:00";

fn utc(rfc3339: &str) -> DateTime<Utc> {
    hostile::date(rfc3339).with_timezone(&Utc)
}

fn text(text: &Option<Text>) -> &str {
    text.as_ref().map_or("", |t| t.content.as_str())
}

/// Escapes `&`, `<` and `>` as HTML text, the way an RSS description carries plain text.
fn html_text(plain: &str) -> String {
    plain
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Checks what all three formats share; returns the parsed feed for format-specific checks.
fn check_common(format: FeedFormat) -> Feed {
    check_common_bytes(format, &render_hostile(format))
}

/// [`check_common`] on `bytes`, the fixture rendered in `format`.
fn check_common_bytes(format: FeedFormat, bytes: &[u8]) -> Feed {
    let feed = parse(bytes);
    let name = format.name();
    assert_eq!(text(&feed.title), FEED_TITLE, "{name} feed title");
    assert_eq!(text(&feed.description), FEED_DESCRIPTION, "{name}");
    assert_eq!(feed.language.as_deref(), Some("en"), "{name}");
    let hrefs: Vec<&str> = feed.links.iter().map(|l| l.href.as_str()).collect();
    assert!(hrefs.contains(&"https://example.org/"), "{name}: {hrefs:?}");
    let self_url = format!("https://example.org/feeds/{}", format.file_name());
    assert!(hrefs.contains(&self_url.as_str()), "{name}: {hrefs:?}");

    let wanted = wanted();
    assert_eq!(feed.entries.len(), wanted.len(), "{name}");
    for (got, want) in feed.entries.iter().zip(&wanted) {
        let at = format!("{name} entry {}", want.guid);
        assert_eq!(got.id, want.guid, "{at}");
        assert_eq!(text(&got.title), want.title, "{at}");
        assert_eq!(got.links[0].href, want.url, "{at}");
        assert_eq!(got.published, Some(utc(want.published)), "{at}");
        let content = got.content.as_ref().and_then(|c| c.body.as_deref());
        // feed-rs trims Atom and JSON content, not RSS's; the comparison trims both sides.
        assert_eq!(
            content.map(str::trim),
            Some(want.content.trim()),
            "{at} content"
        );
        let terms: Vec<&str> = got.categories.iter().map(|c| c.term.as_str()).collect();
        assert_eq!(terms, want.categories, "{at}");
    }
    feed
}

fn assert_person(got: &feed_rs::model::Person, name: &str, email: Option<&str>, uri: Option<&str>) {
    assert_eq!(got.name.as_deref(), Some(name));
    assert_eq!(got.email.as_deref(), email, "{name}");
    assert_eq!(got.uri.as_deref(), uri, "{name}");
}

#[test]
fn rss_parses_back_to_the_fixture() {
    let feed = check_common(FeedFormat::Rss);
    assert_eq!(feed.updated, Some(utc(NEWEST_UPDATE)), "lastBuildDate");
    assert_eq!(
        feed.generator.as_ref().map(|g| g.content.as_str()),
        Some("crier")
    );
    let this = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("self"))
        .expect("atom:link rel=self");
    assert_eq!(this.href, "https://example.org/feeds/rss.xml");
    assert_eq!(this.media_type.as_deref(), Some("application/rss+xml"));

    for (got, want) in feed.entries.iter().zip(wanted()) {
        let at = want.guid;
        // RSS has no per-item update date; feed-rs reports the publication date.
        assert_eq!(got.updated, Some(utc(want.published)), "{at}");
        // The description is HTML: the plain-text summary arrives escaped.
        let summary = want.summary.map(html_text);
        assert_eq!(
            got.summary.as_ref().map(|s| s.content.clone()),
            summary,
            "{at}"
        );
        // dc:creator: the entry's author, else the site's (RSS has no feed-level author).
        let names: Vec<Option<&str>> = got.authors.iter().map(|p| p.name.as_deref()).collect();
        let name = want.author.map_or("Site Team", |a| a.0);
        assert_eq!(names, [Some(name)], "{at}");
        match want.image {
            Some((url, mime, alt)) => {
                assert_eq!(got.media.len(), 1, "{at}");
                let media = &got.media[0];
                assert_eq!(media.content.len(), 1, "{at}");
                assert_eq!(
                    media.content[0].url.as_ref().map(|u| u.as_str()),
                    Some(url),
                    "{at}"
                );
                let mime_got = media.content[0]
                    .content_type
                    .as_ref()
                    .map(|m| m.to_string());
                assert_eq!(mime_got.as_deref(), Some(mime), "{at}");
                assert_eq!(text(&media.description), alt, "{at}");
            }
            None => assert!(got.media.is_empty(), "{at}: {:?}", got.media),
        }
    }
}

#[test]
fn atom_parses_back_to_the_fixture() {
    let feed = check_common(FeedFormat::Atom);
    assert_eq!(feed.id, "https://example.org/feeds/atom.xml");
    assert_eq!(feed.updated, Some(utc(NEWEST_UPDATE)));
    assert_eq!(
        feed.generator.as_ref().map(|g| g.content.as_str()),
        Some("crier")
    );
    assert_eq!(feed.authors.len(), 1);
    assert_person(
        &feed.authors[0],
        "Site Team",
        Some("team@example.org"),
        Some("https://example.org/about/"),
    );
    let rels: Vec<(&str, Option<&str>)> = feed
        .links
        .iter()
        .map(|l| (l.href.as_str(), l.rel.as_deref()))
        .collect();
    assert_eq!(
        rels,
        [
            ("https://example.org/", Some("alternate")),
            ("https://example.org/feeds/atom.xml", Some("self")),
        ]
    );

    for (got, want) in feed.entries.iter().zip(wanted()) {
        let at = want.guid;
        assert_eq!(
            got.updated,
            Some(utc(want.updated.unwrap_or(want.published))),
            "{at}"
        );
        assert_eq!(
            got.summary.as_ref().map(|s| s.content.as_str()),
            want.summary,
            "{at}"
        );
        // Entries without an author inherit the feed's (checked above).
        match want.author {
            Some((name, email, uri)) => {
                assert_eq!(got.authors.len(), 1, "{at}");
                assert_person(&got.authors[0], name, email, uri);
            }
            None => assert!(got.authors.is_empty(), "{at}: {:?}", got.authors),
        }
        assert_eq!(got.links[0].rel.as_deref(), Some("alternate"), "{at}");
        let enclosures: Vec<(&str, Option<String>, Option<&str>)> = got
            .links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("enclosure"))
            .map(|l| (l.href.as_str(), l.media_type.clone(), l.title.as_deref()))
            .collect();
        let expected: Vec<(&str, Option<String>, Option<&str>)> = want
            .image
            .iter()
            .map(|&(url, mime, alt)| (url, Some(mime.to_owned()), Some(alt)))
            .collect();
        assert_eq!(enclosures, expected, "{at}");
    }
}

#[test]
fn atom_marks_entries_in_another_language() {
    let xml = String::from_utf8(render_hostile(FeedFormat::Atom)).unwrap();
    let unicode = xml
        .split("<entry>")
        .find(|e| e.contains("projects/unicode"))
        .unwrap();
    assert!(unicode.contains(r#"<title xml:lang="ar">"#), "{unicode}");
    assert!(
        unicode.contains(r#"<content xml:lang="ar" type="html">"#),
        "{unicode}"
    );
    assert_eq!(xml.matches("xml:lang=\"ar\"").count(), 3, "{xml}");
}

#[test]
fn json_feed_parses_back_to_the_fixture() {
    let feed = check_common(FeedFormat::Json);
    assert_eq!(feed.authors.len(), 1);
    assert_person(
        &feed.authors[0],
        "Site Team",
        None,
        Some("https://example.org/about/"),
    );
    for (got, want) in feed.entries.iter().zip(wanted()) {
        let at = want.guid;
        assert_eq!(got.updated, want.updated.map(utc), "{at}");
        assert_eq!(
            got.summary.as_ref().map(|s| s.content.as_str()),
            want.summary,
            "{at}"
        );
        // feed-rs gives items without authors the feed's, as the spec says.
        let (name, uri) = match want.author {
            Some((name, _, uri)) => (name, uri),
            None => ("Site Team", Some("https://example.org/about/")),
        };
        assert_eq!(got.authors.len(), 1, "{at}");
        assert_person(&got.authors[0], name, None, uri);
    }

    // feed-rs does not read `image`, `language`, the exact dates or the version: read the JSON.
    let value: serde_json::Value =
        serde_json::from_slice(&render_hostile(FeedFormat::Json)).unwrap();
    assert_eq!(value["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(value["feed_url"], "https://example.org/feeds/feed.json");
    let items = value["items"].as_array().unwrap();
    for (item, want) in items.iter().zip(wanted()) {
        let at = want.guid;
        assert_eq!(item["image"].as_str(), want.image.map(|i| i.0), "{at}");
        assert_eq!(item["language"], want.language, "{at}");
        assert_eq!(item["date_published"], want.published, "{at}");
        assert_eq!(item["date_modified"].as_str(), want.updated, "{at}");
        // Absent optional fields are left out, not written empty.
        for key in ["summary", "image", "date_modified", "tags", "authors"] {
            if item.get(key).is_some() {
                assert_ne!(item[key], "", "{at} {key}");
                assert_ne!(item[key], serde_json::json!([]), "{at} {key}");
            }
        }
    }
    let empty = &items[3];
    let keys: Vec<&str> = empty
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // serde_json's map sorts its keys.
    assert_eq!(
        keys,
        [
            "content_html",
            "date_published",
            "id",
            "language",
            "title",
            "url"
        ]
    );
}

/// The links back go in a `_crier` object of the items whose entries were announced, as the
/// JSON Feed spec allows extensions (names starting with `_`); everything else is the feed
/// without links, which readers (feed-rs here) still read in full.
#[test]
fn syndicated_json_feed_adds_only_the_crier_links() {
    let bytes = render_syndicated();
    check_common_bytes(FeedFormat::Json, &bytes);
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let items = value["items"].as_array_mut().unwrap();
    let links: Vec<(String, serde_json::Value)> = items
        .iter_mut()
        .filter_map(|item| {
            let id = item["id"].as_str().unwrap().to_owned();
            let links = item.as_object_mut().unwrap().remove("_crier")?;
            Some((id, links))
        })
        .collect();
    assert_eq!(
        links,
        [
            (
                "tag:example.org,2024:projects/markup".to_owned(),
                serde_json::json!({"syndication": [
                    {
                        "network": "bluesky",
                        "account": "alliance.bsky.social",
                        "url": "https://bsky.app/profile/did:plc:abc/post/3k"
                    },
                    {
                        "network": "mastodon",
                        "account": "m.example & <co>",
                        "url": "https://m.example/@alliance/1?a=1&b=\"2\""
                    }
                ]})
            ),
            (
                "tag:example.org,2024:projects/unicode".to_owned(),
                serde_json::json!({"syndication": [
                    {"network": "x", "url": "https://x.com/i/web/status/漢字"}
                ]})
            ),
        ]
    );
    let plain: serde_json::Value =
        serde_json::from_slice(&render_hostile(FeedFormat::Json)).unwrap();
    assert_eq!(value, plain, "the links changed something else");
}

/// The alternate links of the translated fixture's entries that carry a language, by entry:
/// (URL, language, title).
type Alternates = Vec<(String, Vec<(String, String, Option<String>)>)>;

fn alternates(feed: &Feed) -> Alternates {
    feed.entries
        .iter()
        .map(|entry| {
            let links = entry
                .links
                .iter()
                .filter_map(|l| {
                    let lang = l.href_lang.clone()?;
                    Some((l.href.clone(), lang, l.title.clone()))
                })
                .collect();
            (entry.id.clone(), links)
        })
        .filter(|(_, links): &(String, Vec<_>)| !links.is_empty())
        .collect()
}

/// Each translation is an alternate link with its language and title, the entry's own link
/// then carrying its language too; everything else reads back as without translations.
/// feed-rs reads no `atom:link` in an RSS item: the RSS feed must read back as without them,
/// and `tests/feedparser.rs` checks its links with feedparser, which reads them.
#[test]
fn translated_xml_feeds_link_each_translation_with_its_language() {
    let link = |href: &str, lang: &str, title: Option<&str>| {
        (href.to_owned(), lang.to_owned(), title.map(str::to_owned))
    };
    let expected: Alternates = vec![
        (
            "tag:example.org,2024:projects/markup".to_owned(),
            vec![
                link("https://example.org/projects/markup/", "en", None),
                link(
                    "https://example.org/fr/projets/balises/?a=1&b=2",
                    "fr",
                    Some(r#"Balises <b>gras</b> & "guillemets" ]]> fin"#),
                ),
                link(
                    "https://example.org/pt-br/projetos/marcas/",
                    "pt-BR",
                    Some("Marcação"),
                ),
            ],
        ),
        (
            "tag:example.org,2024:projects/unicode".to_owned(),
            vec![
                link("https://example.org/projects/unicode/", "ar", None),
                link(
                    "https://example.org/en/projects/unicode/",
                    "en",
                    Some("Emoji and scripts"),
                ),
            ],
        ),
    ];
    let feed = check_common_bytes(FeedFormat::Atom, &render_translated(FeedFormat::Atom));
    assert_eq!(alternates(&feed), expected);
    let rss = render_translated(FeedFormat::Rss);
    assert_eq!(parse(&rss), parse(&render_hostile(FeedFormat::Rss)));
}

/// The JSON Feed lists the translations in the `_crier` object, beside the links back to the
/// posts; everything else is the feed with links back only.
#[test]
fn translated_json_feed_adds_only_the_crier_translations() {
    let bytes = render_translated(FeedFormat::Json);
    check_common_bytes(FeedFormat::Json, &bytes);
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut translations = Vec::new();
    for item in value["items"].as_array_mut().unwrap() {
        let id = item["id"].as_str().unwrap().to_owned();
        let crier = item.get_mut("_crier").and_then(|c| c.as_object_mut());
        if let Some(list) = crier.and_then(|c| c.remove("translations")) {
            translations.push((id, list));
        }
    }
    assert_eq!(
        translations,
        [
            (
                "tag:example.org,2024:projects/markup".to_owned(),
                serde_json::json!([
                    {
                        "language": "fr",
                        "url": "https://example.org/fr/projets/balises/?a=1&b=2",
                        "title": "Balises <b>gras</b> & \"guillemets\" ]]> fin"
                    },
                    {"language": "pt-BR", "url": "https://example.org/pt-br/projetos/marcas/", "title": "Marcação"}
                ])
            ),
            (
                "tag:example.org,2024:projects/unicode".to_owned(),
                serde_json::json!([
                    {"language": "en", "url": "https://example.org/en/projects/unicode/", "title": "Emoji and scripts"}
                ])
            ),
        ]
    );
    let syndicated: serde_json::Value = serde_json::from_slice(&render_syndicated()).unwrap();
    assert_eq!(value, syndicated, "the translations changed something else");
}

// ---------------------------------------------------------------------------------------
// Property: arbitrary text round-trips through every format.

/// Characters XML, HTML and JSON treat specially, forbidden ones included, mixed with any
/// `char` at all.
fn hostile_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '&', '<', '>', '"', '\'', ']', ';', '#', '\\', '/', '\u{0}', '\u{1}', '\u{8}', '\u{b}',
        '\u{c}', '\u{1f}', '\u{7f}', '\u{85}', '\t', '\n', '\r', ' ', '\u{a0}', '\u{2028}',
        '\u{200f}', '\u{fffd}', '\u{fffe}', '\u{ffff}', '😀', '漢', 'ع', 'א',
    ]);
    prop::collection::vec(prop_oneof![special, any::<char>()], 0..48)
        .prop_map(|chars| chars.into_iter().collect())
}

/// The input with the characters XML 1.0 forbids removed: the expected output.
fn allowed_chars(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}')
                && c != '\u{fffe}'
                && c != '\u{ffff}'
        })
        .collect()
}

/// A paragraph of `text` as HTML source.
fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", html_text(text))
}

/// What the sanitiser gives back for [`paragraph`]: HTML parsing turns CR and CRLF into LF,
/// and the serialiser escapes `&`, `<`, `>` and no-break spaces.
fn expected_paragraph(text: &str) -> String {
    let text = allowed_chars(&text.replace("\r\n", "\n").replace('\r', "\n"));
    format!("<p>{}</p>", html_text(&text).replace('\u{a0}', "&nbsp;"))
}

fn property_meta() -> FeedMeta {
    FeedMeta {
        title: "Property".to_owned(),
        description: String::new(),
        home_url: "https://example.org/".to_owned(),
        folder_url: "https://example.org/".to_owned(),
        language: Some("en".to_owned()),
        author: Person {
            name: "Site".to_owned(),
            email: None,
            uri: None,
        },
        hubs: Vec::new(),
        // Browser-readable feeds: every generated feed names a stylesheet, so the parsers
        // read the instruction too.
        stylesheet: Some("/feed.en.xsl".to_owned()),
        archive: None,
    }
}

fn property_entry(title: &str, summary: &str, paragraph_text: &str) -> Entry {
    let published: DateTime<FixedOffset> = hostile::date("2024-05-06T07:08:09+03:00");
    Entry {
        title: title.to_owned(),
        summary: summary.to_owned(),
        content: paragraph(paragraph_text),
        ..hostile::bare("prop", &published.to_rfc3339())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_text_round_trips(
        title in hostile_text(),
        summary in hostile_text(),
        body in hostile_text(),
    ) {
        let entries = [property_entry(&title, &summary, &body)];
        // feed-rs trims surrounding whitespace from text fields: so does the expectation.
        let want_title = allowed_chars(&title).trim().to_owned();
        let want_summary = allowed_chars(&summary).trim().to_owned();
        let want_content = expected_paragraph(&body);
        for format in FORMATS {
            let bytes = render(format, &property_meta(), &entries).unwrap();
            let feed = feed_rs::parser::parse(&bytes[..]).map_err(|e| {
                TestCaseError::fail(format!(
                    "{}: {e}\n{}", format.name(), String::from_utf8_lossy(&bytes)
                ))
            })?;
            prop_assert_eq!(feed.entries.len(), 1);
            let entry = &feed.entries[0];
            prop_assert_eq!(text(&entry.title), want_title.as_str(), "{} title", format.name());
            let summary = if format == FeedFormat::Rss {
                html_text(&want_summary)
            } else {
                want_summary.clone()
            };
            prop_assert_eq!(text(&entry.summary), summary, "{} summary", format.name());
            let content = entry.content.as_ref().and_then(|c| c.body.as_deref());
            prop_assert_eq!(content, Some(want_content.as_str()), "{} content", format.name());
        }
    }
}

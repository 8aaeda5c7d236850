//! Tests of the directory source over small sites written into temporary folders, and over the
//! sample sites in `tests/fixtures/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tempfile::TempDir;

use super::DirectorySource;
use crate::entry::Entry;
use crate::sources::SourceConfig;
use crate::sources::{Document, NoticeLevel, Outcome, Read, Source, SourceError};
use crate::testing::SourcesDocument;

/// A site with languages `en` and `fr`, timezone Europe/Paris, and `source` lines added to
/// its one directory source reading `root`.
fn source_for(root: &Path, source: &str) -> DirectorySource {
    let text = format!(
        "[site]\ntitle = \"Test\"\nbase_url = \"https://example.org/\"\n\
         languages = [\"en\", \"fr\"]\ntimezone = \"Europe/Paris\"\n\n\
         [[sources]]\ntype = \"directory\"\npath = '{}'\n{source}\n",
        root.display()
    );
    let doc = SourcesDocument::parse(&text).expect("test config parses");
    doc.validate().expect("test config is valid");
    let SourceConfig::Directory(directory) = &doc.sources[0] else {
        panic!("a directory source")
    };
    DirectorySource::new(&doc.site, directory)
}

/// Writes `files` (relative path, contents) under a new temporary folder.
fn site(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, contents) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }
    dir
}

fn read(root: &Path, source: &str) -> Vec<Document> {
    docs(&source_for(root, source), &HashMap::new()).expect("source reads")
}

fn docs(
    source: &DirectorySource,
    known: &HashMap<String, String>,
) -> Result<Vec<Document>, SourceError> {
    read_at(source, known, Utc::now()).map(|r| r.documents)
}

/// Reads `source` at time `now`, with its notices.
fn read_at(
    source: &DirectorySource,
    known: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Read, SourceError> {
    let cache = crate::sources::Cache::new();
    source.read(&crate::sources::ReadInput {
        known,
        cache: &cache,
        now,
        progress: crate::progress::Progress::ignored(),
    })
}

/// The reason `key` was skipped.
fn skipped<'a>(documents: &'a [Document], key: &str) -> &'a str {
    match outcome(documents, key) {
        Outcome::Skipped(reason) => reason,
        other => panic!("{key}: expected skipped, got {other:?}"),
    }
}

fn keys(documents: &[Document]) -> Vec<&str> {
    documents.iter().map(|d| d.key.as_str()).collect()
}

/// The outcome for `key`.
fn outcome<'a>(documents: &'a [Document], key: &str) -> &'a Outcome {
    &documents
        .iter()
        .find(|d| d.key == key)
        .unwrap_or_else(|| panic!("no document {key}; have {:?}", keys(documents)))
        .outcome
}

fn entry<'a>(documents: &'a [Document], key: &str) -> &'a Entry {
    match outcome(documents, key) {
        Outcome::Parsed(entry) => entry,
        other => panic!("{key}: expected an entry, got {other:?}"),
    }
}

/// Reads one file `name` with `contents` and returns its entry.
fn one(name: &str, contents: &str) -> Entry {
    let dir = site(&[(name, contents.as_bytes())]);
    entry(&read(dir.path(), ""), name).clone()
}

/// Reads one file `name` with `contents` and returns its error as `(location, message)`.
fn failure(name: &str, contents: &[u8]) -> (String, String, PathBuf) {
    let dir = site(&[(name, contents)]);
    let documents = read(dir.path(), "");
    match outcome(&documents, name) {
        Outcome::Failed(e) => (e.location.clone(), e.message.clone(), dir.path().join(name)),
        other => panic!("{name}: expected a failure, got {other:?}"),
    }
}

#[test]
fn toml_front_matter() {
    let e = one(
        "news/garden.md",
        "+++\ntitle = \"Garden  opens\"\ndate = 2024-03-12T09:30:00+01:00\n\
         summary = \"A new garden.\"\ncategories = [\"Food\"]\ntags = [\"garden\", \"food\"]\n+++\n\
         The **garden** opens.\n",
    );
    assert_eq!(e.title, "Garden opens");
    assert_eq!(e.published.to_rfc3339(), "2024-03-12T09:30:00+01:00");
    assert_eq!(e.updated, None);
    assert_eq!(e.summary, "A new garden.");
    assert_eq!(e.categories, ["Food", "garden"]);
    assert_eq!(e.language, "en");
    assert_eq!(e.url, "https://example.org/en/news/garden/");
    assert_eq!(e.id, "content:news/garden");
    assert_eq!(e.guid, "tag:example.org,2024:content:news/garden");
    assert_eq!(e.translation_key, "news/garden");
    assert_eq!(e.content, "<p>The <strong>garden</strong> opens.</p>\n");
    assert!(e.extra.is_empty(), "{:?}", e.extra);
}

#[test]
fn yaml_front_matter_with_bom_and_crlf() {
    let e = one(
        "post.md",
        "\u{feff}---\r\ntitle: Repair café\r\ndate: 2024-06-01 18:00\r\n\
         tags: [tools, repair]\r\nauthor: Sam Doe <sam@example.org>\r\n---\r\n\
         First paragraph\r\non two lines.\r\n\r\nSecond.\r\n",
    );
    assert_eq!(e.title, "Repair café");
    assert_eq!(e.published.to_rfc3339(), "2024-06-01T18:00:00+02:00");
    assert_eq!(e.categories, ["tools", "repair"]);
    assert_eq!(e.summary, "First paragraph on two lines.");
    let author = e.author.expect("author");
    assert_eq!(author.name, "Sam Doe");
    assert_eq!(author.email.as_deref(), Some("sam@example.org"));
    assert!(e.content.starts_with("<p>First paragraph"), "{}", e.content);
}

#[test]
fn hugo_style_leaf_bundle() {
    let dir = site(&[
        (
            "projects/river-cleanup/index.fr.md",
            b"---\ntitle: Nettoyage de la rivi\xc3\xa8re\npublishDate: 2024-02-10\n\
              lastmod: 2024-02-12T08:00:00Z\ntranslationKey: river\ndraft: false\n\
              images: [cover.jpg, other.jpg]\nweight: 3\nvolunteers: 12\n\
              params:\n  city: Lindenfeld\n  partner_url: /partners/\n---\n\
              Texte.\n",
        ),
        (
            "projects/river-cleanup/index.md",
            b"+++\ntitle = \"River cleanup\"\ndate = 2024-02-10\ntranslationKey = \"river\"\n+++\n",
        ),
        (
            "projects/river-cleanup/notes.md",
            b"not a page: a bundle resource",
        ),
    ]);
    let documents = read(dir.path(), "");
    assert_eq!(
        keys(&documents),
        [
            "projects/river-cleanup/index.fr.md",
            "projects/river-cleanup/index.md"
        ]
    );
    let fr = entry(&documents, "projects/river-cleanup/index.fr.md");
    assert_eq!(fr.language, "fr");
    assert_eq!(fr.url, "https://example.org/fr/projects/river-cleanup/");
    assert_eq!(fr.published.to_rfc3339(), "2024-02-10T00:00:00+01:00");
    assert_eq!(
        fr.updated.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-02-12T08:00:00+00:00")
    );
    assert_eq!(fr.translation_key, "river");
    assert_eq!(fr.id, "content:projects/river-cleanup/index.fr");
    let image = fr.image.as_ref().expect("image");
    assert_eq!(
        image.url,
        "https://example.org/fr/projects/river-cleanup/cover.jpg"
    );
    assert_eq!(fr.extra["volunteers"], 12);
    assert_eq!(fr.extra["city"], "Lindenfeld");
    assert_eq!(fr.extra["partner_url"], "https://example.org/partners/");
    assert!(!fr.extra.contains_key("weight"), "{:?}", fr.extra);
    assert!(!fr.extra.contains_key("params"), "{:?}", fr.extra);
    assert_eq!(
        fr.place.as_ref().and_then(|p| p.city.as_deref()),
        Some("Lindenfeld")
    );
    let en = entry(&documents, "projects/river-cleanup/index.md");
    assert_eq!(en.url, "https://example.org/en/projects/river-cleanup/");
    assert_eq!(en.translation_key, fr.translation_key);
}

#[test]
fn hugo_publish_date_later_than_date_wins() {
    let e = one(
        "a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\npublishDate = 2024-05-01T10:00:00+02:00\n+++\n",
    );
    assert_eq!(e.published.to_rfc3339(), "2024-05-01T10:00:00+02:00");
}

#[test]
fn zola_style_file() {
    let e = one(
        "blog/workshop.md",
        "+++\ntitle = \"Workshop\"\ndate = 2024-11-05\nupdated = 2024-11-06T10:00:00\n\
         description = \"Hands-on session.\"\nauthors = [\"Ada\"]\n\
         [taxonomies]\ncategories = [\"Events\"]\ntags = [\"tools\", \"events\"]\nseries = [\"Basics\"]\n\
         [extra]\ncity = \"Lindenfeld\"\ncountry = \"Freedonia\"\nimage = \"/img/w.png\"\n\
         image_alt = \"People at tables\"\nstarts = 2024-11-20T18:00:00+01:00\n+++\n\
         Body with [a link](../other/) and ![pic](pic.png).\n",
    );
    assert_eq!(
        e.updated.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-11-06T10:00:00+01:00")
    );
    assert_eq!(e.summary, "Hands-on session.");
    assert_eq!(e.categories, ["Events", "tools"]);
    assert_eq!(e.author.as_ref().map(|a| a.name.as_str()), Some("Ada"));
    let place = e.place.as_ref().expect("place");
    assert_eq!(place.city.as_deref(), Some("Lindenfeld"));
    assert_eq!(place.country.as_deref(), Some("Freedonia"));
    assert_eq!(e.extra["city"], "Lindenfeld");
    assert_eq!(e.extra["starts"], "2024-11-20T18:00:00+01:00");
    assert_eq!(e.extra["series"], serde_json::json!(["Basics"]));
    let image = e.image.as_ref().expect("image from extra");
    assert_eq!(image.url, "https://example.org/img/w.png");
    assert_eq!(image.alt, "People at tables");
    assert!(
        e.content
            .contains(r#"href="https://example.org/en/blog/other/""#),
        "{}",
        e.content
    );
    assert!(
        e.content
            .contains(r#"src="https://example.org/en/blog/workshop/pic.png""#),
        "{}",
        e.content
    );
}

#[test]
fn language_suffix_links_translations() {
    let dir = site(&[
        ("x.en.md", b"+++\ntitle = \"X\"\ndate = 2024-01-01\n+++\n"),
        (
            "x.fr.md",
            b"+++\ntitle = \"X fr\"\ndate = 2024-01-01\n+++\n",
        ),
        (
            "v1.2.md",
            b"+++\ntitle = \"Dots\"\ndate = 2024-01-01\n+++\n",
        ),
    ]);
    let documents = read(dir.path(), "");
    let en = entry(&documents, "x.en.md");
    let fr = entry(&documents, "x.fr.md");
    assert_eq!((en.language.as_str(), fr.language.as_str()), ("en", "fr"));
    assert_eq!(en.translation_key, "x");
    assert_eq!(fr.translation_key, "x");
    assert_eq!(en.url, "https://example.org/en/x/");
    assert_eq!(fr.url, "https://example.org/fr/x/");
    assert_eq!(fr.id, "content:x.fr");
    let dots = entry(&documents, "v1.2.md");
    assert_eq!(dots.language, "en");
    assert_eq!(dots.url, "https://example.org/en/v1.2/");
}

#[test]
fn lang_key_wins_and_is_checked() {
    let e = one(
        "a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\nlang = \"FR\"\n+++\n",
    );
    assert_eq!(e.language, "fr");
    let (location, message, path) = failure(
        "b.md",
        b"+++\ntitle = \"B\"\ndate = 2024-01-01\n\nlang = \"de\"\n+++\n",
    );
    assert_eq!(location, format!("{}:5", path.display()));
    assert_eq!(
        message,
        "language \"de\" is not in site.languages; add it there or fix `lang`"
    );
}

#[test]
fn lang_key_is_matched_like_every_source_language() {
    for tag in ["fr_FR", "fr-FR", " fr-be "] {
        let e = one(
            "a.md",
            &format!("+++\ntitle = \"A\"\ndate = 2024-01-01\nlang = \"{tag}\"\n+++\n"),
        );
        assert_eq!(e.language, "fr", "{tag}");
        assert_eq!(e.url, "https://example.org/fr/a/", "{tag}");
    }
    let (location, message, path) = failure(
        "b.md",
        b"+++\ntitle = \"B\"\ndate = 2024-01-01\nlang = \"\"\n+++\n",
    );
    assert_eq!(location, format!("{}:4", path.display()));
    assert_eq!(
        message,
        "language \"\" is not in site.languages; add it there or fix `lang`"
    );
}

#[test]
fn an_update_no_later_than_the_publication_is_no_update() {
    let same = one(
        "a.md",
        "+++\ntitle = \"A\"\ndate = 2024-03-01\nlastmod = 2024-03-01\n+++\n",
    );
    assert_eq!(same.updated, None);
    let earlier = one(
        "b.md",
        "---\ntitle: B\npublishDate: 2024-05-01\nlastmod: 2024-04-01\n---\n",
    );
    assert_eq!(earlier.updated, None);
}

#[test]
fn guid_keys_must_be_uris_fit_for_feeds() {
    let e = one(
        "a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\nguid = \" tag:example.org,2020:a \"\n+++\n",
    );
    assert_eq!(e.guid, "tag:example.org,2020:a");
    for bad in ["legacy-7", "doi:10.1000/182", "c:\\posts\\a.md"] {
        let text = format!("+++\ntitle = \"B\"\ndate = 2024-01-01\nguid = '{bad}'\n+++\n");
        let (location, message, path) = failure("b.md", text.as_bytes());
        assert_eq!(location, format!("{}:4", path.display()), "{bad}");
        assert!(
            message.starts_with("`guid`") && message.contains("not an absolute URI"),
            "{bad}: {message}"
        );
    }
}

#[test]
fn front_matter_text_stays_as_written_and_source_categories_are_added() {
    let dir = site(&[(
        "a.md",
        b"+++\ntitle = \"R&amp;D <3\"\ndate = 2024-01-01\n\
          summary = \"Fish & chips  < 5 EUR\"\ncategories = [\"news\", \" Food  and drink\"]\n+++\n",
    )]);
    let documents = read(dir.path(), "categories = [\"News\", \"Network\"]");
    let e = entry(&documents, "a.md");
    assert_eq!(e.title, "R&amp;D <3");
    assert_eq!(e.summary, "Fish & chips < 5 EUR");
    assert_eq!(e.categories, ["news", "Food and drink", "Network"]);
}

#[test]
fn image_and_author_links_are_made_valid_or_dropped() {
    let e = one(
        "news/a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\nimage = \"http://[broken/x.jpg\"\n\
         [author]\nname = \" Kim  Lee \"\nuri = \"http://[broken/\"\n+++\n",
    );
    assert_eq!(e.image, None);
    let author = e.author.expect("author");
    assert_eq!((author.name.as_str(), author.uri), ("Kim Lee", None));

    let e = one(
        "news/b.md",
        "+++\ntitle = \"B\"\ndate = 2024-01-01\nimage = \"https://CDN.example.org/my photo.jpg\"\n\
         [author]\nname = \"Kim\"\nuri = \"@/about.md\"\n+++\n",
    );
    assert_eq!(
        e.image.expect("image").url,
        "https://cdn.example.org/my%20photo.jpg"
    );
    assert_eq!(
        e.author.and_then(|a| a.uri).as_deref(),
        Some("https://example.org/en/about/")
    );
}

#[test]
fn drafts_are_skipped_even_when_incomplete() {
    let dir = site(&[
        ("a.md", b"+++\ndraft = true\n+++\nWork in progress.\n"),
        (
            "b.md",
            b"---\ntitle: B\ndate: 2024-01-01\ndraft: true\n---\n",
        ),
    ]);
    let documents = read(dir.path(), "");
    for key in ["a.md", "b.md"] {
        match outcome(&documents, key) {
            Outcome::Skipped(reason) => assert_eq!(reason, "draft"),
            other => panic!("{key}: expected skipped, got {other:?}"),
        }
    }
}

#[test]
fn naive_dates_use_the_site_timezone() {
    let winter = one(
        "w.md",
        "+++\ntitle = \"W\"\ndate = 2024-01-15T10:00:00\n+++\n",
    );
    assert_eq!(winter.published.to_rfc3339(), "2024-01-15T10:00:00+01:00");
    let summer = one("s.md", "---\ntitle: S\ndate: \"2024-07-15 10:00\"\n---\n");
    assert_eq!(summer.published.to_rfc3339(), "2024-07-15T10:00:00+02:00");
    let offset = one(
        "o.md",
        "+++\ntitle = \"O\"\ndate = \"2024-07-15T10:00:00-04:00\"\n+++\n",
    );
    assert_eq!(offset.published.to_rfc3339(), "2024-07-15T10:00:00-04:00");
}

#[test]
fn permalink_placeholders_and_default_language_in_root() {
    let dir = site(&[
        (
            "news/Big_Day Out.md",
            b"+++\ntitle = \"A\"\ndate = 2024-03-05T23:30:00-05:00\n+++\n",
        ),
        (
            "news/big-day.fr.md",
            b"+++\ntitle = \"B\"\ndate = 2024-03-05\n+++\n",
        ),
        (
            "top.md",
            b"+++\ntitle = \"C\"\ndate = 2024-03-05\nslug = \"My Top\"\n+++\n",
        ),
    ]);
    let source = "permalink = \"/{lang}/{section}/{year}/{month}/{day}/{slug}/\"\n\
                  default_language_in_root = true";
    let documents = read(dir.path(), source);
    assert_eq!(
        entry(&documents, "news/Big_Day Out.md").url,
        "https://example.org/news/2024/03/05/big-day-out/"
    );
    assert_eq!(
        entry(&documents, "news/big-day.fr.md").url,
        "https://example.org/fr/news/2024/03/05/big-day/"
    );
    assert_eq!(
        entry(&documents, "top.md").url,
        "https://example.org/2024/03/05/my-top/"
    );

    let documents = read(dir.path(), "default_language_in_root = true");
    assert_eq!(
        entry(&documents, "news/Big_Day Out.md").url,
        "https://example.org/news/big-day-out/"
    );
    assert_eq!(
        entry(&documents, "top.md").url,
        "https://example.org/my-top/"
    );
}

#[test]
fn non_ascii_paths_are_percent_encoded() {
    let e = one(
        "projets/été.fr.md",
        "+++\ntitle = \"É\"\ndate = 2024-01-01\n+++\n",
    );
    assert_eq!(e.url, "https://example.org/fr/projets/%C3%A9t%C3%A9/");
    assert_eq!(
        e.guid,
        "tag:example.org,2024:content:projets/%C3%A9t%C3%A9.fr"
    );
    assert!(url::Url::parse(&e.url).is_ok());
}

#[test]
fn url_id_and_guid_keys() {
    let e = one(
        "a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\nurl = \"/special/place/\"\nid = \"legacy-7\"\n\
         guid = \"urn:uuid:0b8e3f0e-2c1c-4a7e-9d43-3f6f2a9c1d10\"\n+++\n[rel](sub/)\n",
    );
    assert_eq!(e.url, "https://example.org/special/place/");
    assert_eq!(e.id, "content:legacy-7");
    assert_eq!(e.guid, "urn:uuid:0b8e3f0e-2c1c-4a7e-9d43-3f6f2a9c1d10");
    assert!(
        e.content.contains("https://example.org/special/place/sub/"),
        "{}",
        e.content
    );

    let e = one(
        "b.md",
        "+++\ntitle = \"B\"\ndate = 2024-01-01\nurl = \"https://other.example/b\"\n+++\n",
    );
    assert_eq!(e.url, "https://other.example/b");

    let (location, message, path) = failure(
        "c.md",
        b"+++\ntitle = \"C\"\ndate = 2024-01-01\nurl = \"c/d\"\n+++\n",
    );
    assert_eq!(location, format!("{}:4", path.display()));
    assert!(message.contains("`url`"), "{message}");
}

#[test]
fn unknown_keys_are_kept_in_extra() {
    let e = one(
        "a.md",
        "---\ntitle: A\ndate: 2024-01-01\nprize: Gold\nrank: 2\nteam:\n  lead: Kim\n\
         extra:\n  prize: Silver\n---\n",
    );
    assert_eq!(e.extra["prize"], "Silver");
    assert_eq!(e.extra["rank"], 2);
    assert_eq!(e.extra["team"], serde_json::json!({"lead": "Kim"}));
}

#[test]
fn summary_sources() {
    let more = one(
        "a.md",
        "+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n# Head\n\nIntro *text*.\n\n<!--more-->\n\nRest.\n",
    );
    assert_eq!(more.summary, "Head Intro text.");
    // Hugo: a manual summary takes precedence over a front matter summary.
    let both = one(
        "c.md",
        "+++\ntitle = \"C\"\ndate = 2024-01-01\nsummary = \"Given.\"\n+++\nIntro.\n<!--more-->\nRest.\n",
    );
    assert_eq!(both.summary, "Intro.");
    let given = one(
        "d.md",
        "+++\ntitle = \"D\"\ndate = 2024-01-01\nsummary = \"Given.\"\n+++\nIntro.\n\nRest.\n",
    );
    assert_eq!(given.summary, "Given.");
    let long = one(
        "b.md",
        &format!(
            "+++\ntitle = \"B\"\ndate = 2024-01-01\n+++\n{}\n",
            "lorem ipsum ".repeat(60)
        ),
    );
    assert!(long.summary.chars().count() <= 300);
    assert!(long.summary.ends_with("…"), "{}", long.summary);
}

#[test]
fn bad_toml_names_the_line() {
    let (location, message, path) = failure(
        "bad.md",
        b"+++\ntitle = \"A\"\ndate = 2024-01-01\ntags = [\"a\", \n\nsummary = oops\n+++\n",
    );
    assert!(
        message.starts_with("invalid TOML front matter"),
        "{message}"
    );
    let line: usize = location
        .strip_prefix(&format!("{}:", path.display()))
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("no line in {location}"));
    assert!((5..=6).contains(&line), "{location}: {message}");

    let (location, _, path) = failure(
        "dup.md",
        b"+++\ntitle = \"A\"\ndate = 2024-01-01\ntitle = \"B\"\n+++\n",
    );
    assert_eq!(location, format!("{}:4", path.display()));
}

#[test]
fn bad_yaml_names_the_line() {
    let (location, message, path) = failure(
        "bad.md",
        b"---\ntitle: A\ndate: 2024-01-01\ntags: [a, b\n---\n",
    );
    assert!(
        message.starts_with("invalid YAML front matter"),
        "{message}"
    );
    assert!(!message.contains(" at line "), "{message}");
    assert!(
        location.starts_with(&format!("{}:", path.display())),
        "{location}"
    );
    let (location, _, path) = failure("tab.md", b"---\ntitle: A\n date: x\n  - y\n---\n");
    assert!(
        location.starts_with(&format!("{}:", path.display())),
        "{location}"
    );
}

#[test]
fn a_400_kb_nested_yaml_front_matter_is_refused_by_its_size_and_depth_before_parsing() {
    // 400 KB of `[`, which the YAML parser took minutes to refuse: more than the size limit.
    let huge = format!(
        "---\ntitle: Deep\nx: {}\n---\nBody\n",
        "[".repeat(400 * 1024)
    );
    let (location, message, path) = failure("deep.md", huge.as_bytes());
    assert_eq!(location, format!("{}:1", path.display()));
    assert!(
        message.contains("401 KiB long, more than the 64 KiB"),
        "{message}"
    );
    // Within the size limit, the nesting is refused on the line that goes too deep.
    let nested = format!(
        "---\ntitle: Deep\nx: {}\n---\nBody\n",
        "[".repeat(60 * 1024)
    );
    let (location, message, path) = failure("nested.md", nested.as_bytes());
    assert_eq!(location, format!("{}:3", path.display()));
    assert!(
        message.contains("nests more than 32 levels deep here"),
        "{message}"
    );
    let indented: String = (0..40)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let (location, message, path) = failure(
        "indented.md",
        format!("---\ntitle: Deep\n{indented}---\n").as_bytes(),
    );
    assert_eq!(location, format!("{}:35", path.display()));
    assert!(message.contains("32 levels"), "{message}");
    // TOML front matter has the same size limit.
    let long = format!("+++\ntitle = \"{}\"\n+++\n", "a".repeat(70 * 1024));
    let (location, message, _) = failure("long.md", long.as_bytes());
    assert!(location.ends_with("long.md:1"), "{location}");
    assert!(message.contains("more than the 64 KiB"), "{message}");
}

#[test]
fn missing_title_or_front_matter_fails() {
    let (location, message, path) = failure("a.md", b"+++\ndate = 2024-01-01\n+++\n");
    assert_eq!(location, path.display().to_string());
    assert!(message.contains("missing `title`"), "{message}");
    let (_, message, _) = failure("b.md", b"---\ntitle: \"  \"\ndate: 2024-01-01\n---\n");
    assert!(message.contains("`title` is empty"), "{message}");
    let (location, message, path) = failure("c.md", b"# Just Markdown\n");
    assert_eq!(location, format!("{}:1", path.display()));
    assert!(message.starts_with("no front matter"), "{message}");
    let (location, message, path) = failure("d.md", b"+++\ntitle = \"D\"\n");
    assert_eq!(location, format!("{}:1", path.display()));
    assert!(message.contains("never closed"), "{message}");
}

/// A page without a date was an error ("missing `date`") and made the run exit 3; Hugo and
/// Zola publish it, only not in their date-ordered lists.
#[test]
fn a_page_without_a_date_is_left_out_quietly_with_one_notice() {
    let dir = site(&[
        ("about.md", b"+++\ntitle = \"About\"\n+++\n" as &[u8]),
        ("docs/install.md", b"---\ntitle: Install\n---\n"),
        ("docs/use.md", b"---\ntitle: Use\n---\n"),
        ("docs/faq.md", b"---\ntitle: FAQ\n---\n"),
        ("news/a.md", b"+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n"),
    ]);
    let source = source_for(dir.path(), "");
    let read = read_at(&source, &HashMap::new(), Utc::now()).expect("read");
    for key in ["about.md", "docs/faq.md", "docs/install.md", "docs/use.md"] {
        assert_eq!(skipped(&read.documents, key), "undated");
    }
    entry(&read.documents, "news/a.md");
    let lines = read.notices.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (level, line) = &lines[0];
    assert_eq!(*level, NoticeLevel::Info);
    assert!(
        line.starts_with(
            "pages without a date, left out of the feeds as Hugo and Zola leave them out of \
             date-ordered lists: 4 ("
        ),
        "{line}"
    );
    assert!(line.ends_with(" and 1 more)"), "{line}");
}

#[test]
fn bad_date_names_the_line_of_its_key() {
    let (location, message, path) = failure(
        "a.md",
        b"+++\ntitle = \"A\"\n# when\ndate = \"12/03/2024\"\n+++\n",
    );
    assert_eq!(location, format!("{}:4", path.display()));
    assert!(
        message.starts_with("`date`: \"12/03/2024\" is not a date"),
        "{message}"
    );
    assert!(message.contains("2024-03-12T09:30:00+01:00"), "{message}");
    let (location, message, path) = failure(
        "b.md",
        b"---\ntitle: B\ndate: 2024-01-01\nlastmod: soon\n---\n",
    );
    assert_eq!(location, format!("{}:4", path.display()));
    assert!(message.starts_with("`lastmod`"), "{message}");
}

#[test]
fn dates_no_feed_can_write_name_their_key_and_line() {
    let (location, message, path) =
        failure("zero.md", b"+++\ntitle = \"A\"\ndate = 0000-01-01\n+++\n");
    assert_eq!(location, format!("{}:3", path.display()));
    assert!(message.starts_with("`date`: "), "{message}");
    assert!(message.contains("1 to 9999"), "{message}");
    let (location, message, path) = failure(
        "east.md",
        b"+++\ntitle = \"A\"\ndate = 2024-01-01\nupdated = 2024-03-12T09:30:00+23:59\n+++\n",
    );
    assert_eq!(location, format!("{}:4", path.display()));
    assert!(message.starts_with("`updated`: "), "{message}");
    assert!(message.contains("±14:00"), "{message}");
}

#[test]
fn invalid_utf8_names_the_line() {
    let (location, message, path) = failure(
        "latin1.md",
        b"+++\ntitle = \"Caf\xe9\"\ndate = 2024-01-01\n+++\n",
    );
    assert_eq!(location, format!("{}:2", path.display()));
    assert!(message.starts_with("not valid UTF-8"), "{message}");
    assert!(message.contains("save the file as UTF-8"), "{message}");
}

#[test]
fn ignored_files() {
    let page = b"+++\ntitle = \"P\"\ndate = 2024-01-01\n+++\n" as &[u8];
    let dir = site(&[
        ("_index.md", page),
        ("news/_index.md", page),
        ("news/_index.fr.md", page),
        (".hidden.md", page),
        (".git/x.md", page),
        ("news/.#a.md", page),
        ("news/a.md~", page),
        ("news/a.md.swp", page),
        ("news/a.txt", page),
        ("news/a.md", page),
        ("drafts/b.md", page),
        ("news/c.fr.md", page),
        ("news/d.md", page),
    ]);
    let documents = read(dir.path(), "exclude = [\"drafts\", \"*.fr.md\"]");
    assert_eq!(keys(&documents), ["news/a.md", "news/d.md"]);
}

#[test]
fn result_is_sorted_by_key() {
    let page = b"+++\ntitle = \"P\"\ndate = 2024-01-01\n+++\n" as &[u8];
    let dir = site(&[
        ("b.md", page),
        ("a/z.md", page),
        ("a-b.md", page),
        ("a/b/c.md", page),
    ]);
    let documents = read(dir.path(), "");
    assert_eq!(keys(&documents), ["a-b.md", "a/b/c.md", "a/z.md", "b.md"]);
    for d in &documents {
        assert!(
            matches!(d.outcome, Outcome::Parsed(_)),
            "{}: {:?}",
            d.key,
            d.outcome
        );
    }
}

#[test]
fn known_fingerprint_is_not_read_again() {
    let original = b"+++\ntitle = \"P\"\ndate = 2024-01-01\n+++\nBody.\n";
    let dir = site(&[("p.md", original)]);
    let source = source_for(dir.path(), "");
    let first = docs(&source, &HashMap::new()).expect("read");
    let fingerprint = first[0].fingerprint.clone();
    let (size, nanos) = fingerprint.split_once(':').expect("size:nanos");
    assert_eq!(size, original.len().to_string());
    assert!(nanos.parse::<u128>().is_ok_and(|n| n > 0), "{fingerprint}");

    // Corrupt the file but give it back the same size and modification time.
    let path = dir.path().join("p.md");
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::fs::write(&path, vec![0xFF; original.len()]).expect("corrupt");
    let file = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open");
    file.set_modified(modified).expect("set mtime");
    drop(file);

    let known = HashMap::from([("p.md".to_owned(), fingerprint.clone())]);
    let second = docs(&source, &known).expect("read");
    assert_eq!(second[0].fingerprint, fingerprint);
    assert!(
        matches!(second[0].outcome, Outcome::Unchanged),
        "{:?}",
        second[0].outcome
    );

    // Proof that the file would have failed had it been read.
    let third = docs(&source, &HashMap::new()).expect("read");
    assert!(
        matches!(third[0].outcome, Outcome::Failed(_)),
        "{:?}",
        third[0].outcome
    );
}

#[test]
fn missing_root_is_a_source_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere");
    match docs(&source_for(&missing, ""), &HashMap::new()) {
        Err(SourceError::Folder {
            source_name, path, ..
        }) => {
            assert_eq!(source_name, "content");
            assert_eq!(path, missing);
        }
        other => panic!("expected a folder error, got {other:?}"),
    }
}

/// Reads a sample site under `tests/fixtures/{name}/content` and checks that every file parses.
fn read_fixture(name: &str) -> Vec<Document> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("content");
    let documents = read(&root, "");
    assert!(documents.len() >= 3, "{name}: {:?}", keys(&documents));
    for d in &documents {
        assert!(
            matches!(d.outcome, Outcome::Parsed(_)),
            "{name} {}: {:?}",
            d.key,
            d.outcome
        );
    }
    documents
}

#[test]
fn hugo_fixture_reads_without_errors() {
    let documents = read_fixture("hugo");
    let languages: Vec<&str> = documents
        .iter()
        .filter_map(|d| match &d.outcome {
            Outcome::Parsed(e) => Some(e.language.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        languages.contains(&"en") && languages.contains(&"fr"),
        "{languages:?}"
    );
}

#[test]
fn zola_fixture_reads_without_errors() {
    let documents = read_fixture("zola");
    assert!(documents.iter().all(|d| !d.key.ends_with("_index.md")));
    // Zola's internal link `@/blog/repair-cafe/index.md` points at the bundle's page.
    let workshop = entry(&documents, "blog/first-workshop.md");
    assert!(
        workshop
            .content
            .contains(r#"href="https://example.org/en/blog/repair-cafe/""#),
        "{}",
        workshop.content
    );
}

/// A time in UTC, for reads at a given moment.
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

/// A Zola site's `.markdown` or `.html` file with front matter was published, though Zola
/// makes pages of `.md` files only and copies any other file as an asset.
#[test]
fn zola_reads_only_md_files() {
    let page = |title: &str| format!("+++\ntitle = \"{title}\"\ndate = 2024-01-01\n+++\nBody.\n");
    let dir = site(&[
        ("blog/a.md", page("A").as_bytes()),
        ("blog/b.markdown", page("B").as_bytes()),
        ("blog/c.html", page("C").as_bytes()),
        ("blog/d.org", b"#+TITLE: D\n"),
        ("blog/trip/index.markdown", page("Trip").as_bytes()),
    ]);
    let zola = source_for(dir.path(), "generator = \"zola\"");
    let read = read_at(&zola, &HashMap::new(), Utc::now()).expect("read");
    assert_eq!(keys(&read.documents), ["blog/a.md"]);
    assert!(
        read.notices.lines().is_empty(),
        "{:?}",
        read.notices.lines()
    );
    // Hugo reads them all.
    let hugo = source_for(dir.path(), "generator = \"hugo\"");
    let read = read_at(&hugo, &HashMap::new(), Utc::now()).expect("read");
    assert_eq!(
        keys(&read.documents),
        [
            "blog/a.md",
            "blog/b.markdown",
            "blog/c.html",
            "blog/trip/index.markdown"
        ]
    );
}

/// A Hugo blog kept many posts as `.markdown` (and a few `.html`) files, which crier passed
/// over without a word; Hugo's formats crier cannot read were ignored silently too.
#[test]
fn markdown_and_html_content_files_are_read_and_other_formats_noticed() {
    let page = |title: &str| format!("+++\ntitle = \"{title}\"\ndate = 2024-01-01\n+++\nBody.\n");
    let dir = site(&[
        ("posts/a.markdown", page("A").as_bytes()),
        ("posts/b.mdown", page("B").as_bytes()),
        ("posts/b.fr.markdown", page("B fr").as_bytes()),
        ("posts/_index.markdown", page("Section").as_bytes()),
        ("posts/trip/index.markdown", page("Trip").as_bytes()),
        ("posts/trip/notes.markdown", b"a resource of the bundle"),
        ("posts/trip/more.org", b"a resource too, not noticed"),
        ("pages/c.html", b"---\ntitle: C\ndate: 2024-01-01\n---\n<p>Hello <a href=\"x/\">x</a></p>\n<!--more-->\n<p>Rest</p>\n"),
        ("pages/static.html", b"<!doctype html><p>A static file.</p>\n"),
        ("pages/gallery/index.html", page("Gallery").as_bytes()),
        ("pages/gallery/photo.html", b"<p>resource</p>"),
        ("old/one.org", b"#+TITLE: One\n"),
        ("old/two.org", b"#+TITLE: Two\n"),
        ("old/three.adoc", b"= Three\n"),
        ("old/four.rst", b"Four\n====\n"),
        ("old/notes.txt", b"not content"),
    ]);
    let source = source_for(dir.path(), "");
    let read = read_at(&source, &HashMap::new(), Utc::now()).expect("read");
    assert_eq!(
        keys(&read.documents),
        [
            "pages/c.html",
            "pages/gallery/index.html",
            "posts/a.markdown",
            "posts/b.fr.markdown",
            "posts/b.mdown",
            "posts/trip/index.markdown",
        ]
    );
    let a = entry(&read.documents, "posts/a.markdown");
    assert_eq!(a.id, "content:posts/a");
    assert_eq!(a.url, "https://example.org/en/posts/a/");
    assert_eq!(a.content, "<p>Body.</p>\n");
    let b_fr = entry(&read.documents, "posts/b.fr.markdown");
    assert_eq!(
        (b_fr.language.as_str(), b_fr.translation_key.as_str()),
        ("fr", "posts/b")
    );
    assert_eq!(b_fr.id, "content:posts/b.fr");
    let trip = entry(&read.documents, "posts/trip/index.markdown");
    assert_eq!(trip.url, "https://example.org/en/posts/trip/");
    let gallery = entry(&read.documents, "pages/gallery/index.html");
    assert_eq!(gallery.url, "https://example.org/en/pages/gallery/");
    // The HTML body is kept as written, not run through Markdown.
    let c = entry(&read.documents, "pages/c.html");
    assert_eq!(c.id, "content:pages/c");
    assert_eq!(
        c.content,
        "<p>Hello <a href=\"x/\">x</a></p>\n<!--more-->\n<p>Rest</p>"
    );
    assert_eq!(c.summary, "Hello x");
    assert_eq!(
        read.notices.lines(),
        [
            (
                NoticeLevel::Warning,
                format!(
                    "AsciiDoc content files, which crier cannot read: skipped: 1 ({})",
                    dir.path().join("old/three.adoc").display()
                )
            ),
            (
                NoticeLevel::Warning,
                format!(
                    "Emacs Org content files, which crier cannot read: skipped: 2 ({}, {})",
                    dir.path().join("old/one.org").display(),
                    dir.path().join("old/two.org").display()
                )
            ),
            (
                NoticeLevel::Warning,
                format!(
                    "reStructuredText content files, which crier cannot read: skipped: 1 ({})",
                    dir.path().join("old/four.rst").display()
                )
            ),
        ]
    );
}

/// Zola dates a page by its file name (`2024-03-12-slug.md`) and drops the date from its
/// slug; crier refused such files with "missing `date`".
#[test]
fn zola_dates_and_slugs_from_file_names() {
    let dir = site(&[
        (
            "blog/2024-03-12-spring-fair.md",
            b"+++\ntitle = \"Fair\"\n+++\n" as &[u8],
        ),
        (
            "blog/2024-03-13_repair_cafe.md",
            b"+++\ntitle = \"Cafe\"\n+++\n",
        ),
        (
            "blog/2024-03-14-trip/index.md",
            b"+++\ntitle = \"Trip\"\n+++\n",
        ),
        ("blog/2024-03-14-trip/photos.md", b"resource"),
        (
            "blog/2024-03-15T18:30:00+01:00-concert.md",
            b"+++\ntitle = \"Concert\"\n+++\n",
        ),
        (
            "blog/2024-03-16-own-date.md",
            b"+++\ntitle = \"Own\"\ndate = 2024-04-01\n+++\n",
        ),
        ("blog/2024-03-17.md", b"+++\ntitle = \"Bare\"\n+++\n"),
        (
            "blog/2024-13-01-not-a-date.md",
            b"+++\ntitle = \"No\"\n+++\n",
        ),
    ]);
    let documents = read(dir.path(), "");
    let cases = [
        (
            "blog/2024-03-12-spring-fair.md",
            "2024-03-12T00:00:00+01:00",
            "/en/blog/spring-fair/",
        ),
        (
            "blog/2024-03-13_repair_cafe.md",
            "2024-03-13T00:00:00+01:00",
            "/en/blog/repair-cafe/",
        ),
        (
            "blog/2024-03-14-trip/index.md",
            "2024-03-14T00:00:00+01:00",
            "/en/blog/trip/",
        ),
        (
            "blog/2024-03-15T18:30:00+01:00-concert.md",
            "2024-03-15T18:30:00+01:00",
            "/en/blog/concert/",
        ),
        // The front matter's date wins; the slug still loses the prefix, as in Zola.
        (
            "blog/2024-03-16-own-date.md",
            "2024-04-01T00:00:00+02:00",
            "/en/blog/own-date/",
        ),
        (
            "blog/2024-03-17.md",
            "2024-03-17T00:00:00+01:00",
            "/en/blog/2024-03-17/",
        ),
    ];
    for (key, date, path) in cases {
        let e = entry(&documents, key);
        assert_eq!(e.published.to_rfc3339(), date, "{key}");
        assert_eq!(e.url, format!("https://example.org{path}"), "{key}");
    }
    // The id keeps the whole file name: renaming the slug part alone is another entry.
    assert_eq!(
        entry(&documents, "blog/2024-03-12-spring-fair.md").id,
        "content:blog/2024-03-12-spring-fair"
    );
    assert_eq!(
        skipped(&documents, "blog/2024-13-01-not-a-date.md"),
        "undated"
    );
    assert_eq!(documents.len(), 7, "{:?}", keys(&documents));
}

/// Hugo reads JSON front matter and dates in RFC 1123 and its other layouts; crier refused
/// them.
#[test]
fn json_front_matter_and_hugo_date_layouts() {
    let e = one(
        "a.md",
        "{\n  \"title\": \"JSON {braces} \\\"quoted\\\"\",\n  \"date\": \"Tue, 12 Mar 2024 10:00:00 GMT\",\n  \
         \"lastmod\": 1710320400,\n  \"tags\": [\"x\"],\n  \"params\": { \"rank\": 2 }\n}\nThe *body*.\n",
    );
    assert_eq!(e.title, "JSON {braces} \"quoted\"");
    // A zone name gives no offset: Hugo reads the wall clock in the site's time zone.
    assert_eq!(e.published.to_rfc3339(), "2024-03-12T10:00:00+01:00");
    assert_eq!(
        e.updated.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-13T09:00:00+00:00")
    );
    assert_eq!(e.categories, ["x"]);
    assert_eq!(e.extra["rank"], 2);
    assert_eq!(e.content, "<p>The <em>body</em>.</p>\n");
    for (date, want) in [
        ("12 Mar 24 10:00 +0200", "2024-03-12T10:00:00+02:00"),
        ("Tue Mar 12 10:00:00 2024", "2024-03-12T10:00:00+01:00"),
        ("12 Mar 2024", "2024-03-12T00:00:00+01:00"),
    ] {
        let e = one("b.md", &format!("---\ntitle: B\ndate: {date}\n---\n"));
        assert_eq!(e.published.to_rfc3339(), want, "{date}");
    }

    let (location, message, path) = failure(
        "bad.md",
        b"{\n  \"title\": \"A\",\n  \"date\": 2024-01-01\n}\n",
    );
    assert_eq!(location, format!("{}:3", path.display()));
    assert!(
        message.starts_with("invalid JSON front matter"),
        "{message}"
    );
    let (location, message, path) = failure("open.md", b"{\n  \"title\": \"A\"\n");
    assert_eq!(location, format!("{}:1", path.display()));
    assert!(message.contains("never closed"), "{message}");
    let (_, message, _) = failure("c.md", b"+++\ntitle = \"C\"\ndate = \"soon\"\n+++\n");
    assert!(
        message.contains("Tue, 12 Mar 2024 09:30:00 GMT (RFC 1123)"),
        "{message}"
    );
}

/// Hugo does not publish a page whose `expiryDate` has passed. An unchanged file is not
/// parsed again, so the expiry rides in the fingerprint and the entry still leaves.
#[test]
fn an_expired_page_leaves_even_when_its_file_does_not_change() {
    let dir = site(&[
        (
            "offer.md",
            b"---\ntitle: Offer\ndate: 2024-03-01\nexpiryDate: 2024-03-31T12:00:00Z\n---\n"
                as &[u8],
        ),
        (
            "old.md",
            b"+++\ntitle = \"Old\"\ndate = 2024-01-01\nunpublishdate = 2024-02-01\n+++\n",
        ),
        ("p.md", b"+++\ntitle = \"P\"\ndate = 2024-01-01\n+++\n"),
    ]);
    let source = source_for(dir.path(), "");
    let before = read_at(&source, &HashMap::new(), at("2024-03-20T00:00:00Z")).expect("read");
    entry(&before.documents, "offer.md");
    assert_eq!(skipped(&before.documents, "old.md"), "expired");
    let offer = &before.documents[0];
    assert!(
        offer.fingerprint.ends_with(":until=2024-03-31T12:00:00Z"),
        "{}",
        offer.fingerprint
    );
    let p = &before.documents[2];
    assert!(!p.fingerprint.contains("until"), "{}", p.fingerprint);
    let known: HashMap<String, String> = before
        .documents
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Parsed(_)))
        .map(|d| (d.key.clone(), d.fingerprint.clone()))
        .collect();

    // Before the expiry, nothing is parsed again.
    let still = read_at(&source, &known, at("2024-03-31T11:59:59Z")).expect("read");
    assert!(matches!(still.documents[0].outcome, Outcome::Unchanged));
    assert_eq!(still.documents[0].fingerprint, offer.fingerprint);
    assert!(matches!(still.documents[2].outcome, Outcome::Unchanged));
    // Once it has passed, the unchanged file is read again and withdrawn.
    let after = read_at(&source, &known, at("2024-03-31T12:00:00Z")).expect("read");
    assert_eq!(skipped(&after.documents, "offer.md"), "expired");
    assert!(matches!(after.documents[2].outcome, Outcome::Unchanged));
}

#[test]
fn undated_file_dates_a_page_by_its_modification_time() {
    let dir = site(&[("about.md", b"+++\ntitle = \"About\"\n+++\n" as &[u8])]);
    let path = dir.path().join("about.md");
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_710_237_600);
    let file = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open");
    file.set_modified(when).expect("set mtime");
    drop(file);
    let source = source_for(dir.path(), "undated = \"file\"");
    let read = read_at(&source, &HashMap::new(), Utc::now()).expect("read");
    let e = entry(&read.documents, "about.md");
    assert_eq!(e.published.to_rfc3339(), "2024-03-12T11:00:00+01:00");
    assert!(read.notices.is_empty(), "{:?}", read.notices.lines());
}

/// Runs git in `dir` with a fixed identity and dates.
fn git(dir: &Path, args: &[&str], date: &str) {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[test]
fn undated_git_dates_a_page_by_its_first_and_last_commits() {
    let dir = site(&[
        (
            "content/about.md",
            b"+++\ntitle = \"About\"\n+++\nv1\n" as &[u8],
        ),
        (
            "content/news/a.md",
            b"+++\ntitle = \"A\"\ndate = 2024-01-01\n+++\n",
        ),
    ]);
    let root = dir.path();
    git(root, &["init", "-q"], "2024-03-01T10:00:00+01:00");
    git(root, &["add", "."], "2024-03-01T10:00:00+01:00");
    git(
        root,
        &["commit", "-q", "-m", "one"],
        "2024-03-01T10:00:00+01:00",
    );
    std::fs::write(
        root.join("content/about.md"),
        "+++\ntitle = \"About\"\n+++\nv2\n",
    )
    .expect("write");
    git(
        root,
        &["commit", "-q", "-am", "two"],
        "2024-04-02T10:00:00+02:00",
    );
    std::fs::write(root.join("content/new.md"), "+++\ntitle = \"New\"\n+++\n").expect("write");

    let source = source_for(&root.join("content"), "undated = \"git\"");
    let read = read_at(&source, &HashMap::new(), Utc::now()).expect("read");
    let about = entry(&read.documents, "about.md");
    assert_eq!(about.published.to_rfc3339(), "2024-03-01T10:00:00+01:00");
    assert_eq!(
        about.updated.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-04-02T10:00:00+02:00")
    );
    let a = entry(&read.documents, "news/a.md");
    assert_eq!(a.published.to_rfc3339(), "2024-01-01T00:00:00+01:00");
    assert!(
        read.documents[0]
            .fingerprint
            .ends_with(":git=2024-04-02T08:00:00Z"),
        "{}",
        read.documents[0].fingerprint
    );
    // Not committed yet: nothing dates it.
    assert_eq!(skipped(&read.documents, "new.md"), "undated");
    let lines = read.notices.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]
            .1
            .starts_with("pages without a date and not committed yet"),
        "{lines:?}"
    );

    // The same reading twice gives the same dates and fingerprints.
    let again = read_at(&source, &HashMap::new(), Utc::now()).expect("read");
    let about_again = entry(&again.documents, "about.md");
    assert_eq!(about_again.published, about.published);
    assert_eq!(
        again.documents[0].fingerprint,
        read.documents[0].fingerprint
    );
}

#[test]
fn undated_git_outside_a_repository_is_an_error_naming_the_source() {
    let dir = site(&[("about.md", b"+++\ntitle = \"About\"\n+++\n" as &[u8])]);
    let source = source_for(dir.path(), "undated = \"git\"");
    let error = match read_at(&source, &HashMap::new(), Utc::now()) {
        Err(e) => e,
        Ok(read) => panic!("expected an error, read {:?}", keys(&read.documents)),
    };
    let message = error.to_string();
    assert!(matches!(error, SourceError::Git { .. }), "{message}");
    assert!(
        message.starts_with("source \"content\": `undated = \"git\"`"),
        "{message}"
    );
    assert!(message.contains("not a git repository"), "{message}");
    assert!(
        message.contains("set `undated` to \"file\" or \"skip\""),
        "{message}"
    );
}

/// A small site mixing every kind of file: the run reads it without one error.
#[test]
fn a_mixed_site_reads_without_errors() {
    let dir = site(&[
        ("_index.md", b"+++\ntitle = \"Home\"\n+++\n" as &[u8]),
        ("about.md", b"+++\ntitle = \"About\"\n+++\n"),
        ("blog/2024-03-12-fair.md", b"+++\ntitle = \"Fair\"\n+++\n"),
        (
            "blog/old-post.markdown",
            b"---\ntitle: Old\ndate: Mon, 02 Jan 2006 15:04:05 MST\n---\n",
        ),
        (
            "blog/json.md",
            b"{ \"title\": \"J\", \"date\": \"2024-05-01\" }\n",
        ),
        (
            "blog/gone.md",
            b"+++\ntitle = \"Gone\"\ndate = 2024-01-01\nexpiryDate = 2024-02-01\n+++\n",
        ),
        ("blog/draft.md", b"+++\ntitle = \"D\"\ndraft = true\n+++\n"),
        (
            "page.html",
            b"{\"title\": \"H\", \"date\": \"2024-06-01\"}\n<p>HTML</p>\n",
        ),
        ("static.html", b"<html></html>\n"),
        ("notes.org", b"* notes\n"),
    ]);
    let source = source_for(dir.path(), "");
    let read = read_at(&source, &HashMap::new(), Utc::now()).expect("read");
    let failed: Vec<_> = read
        .documents
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Failed(_)))
        .map(|d| &d.key)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    let parsed: Vec<(&str, String, String)> = read
        .documents
        .iter()
        .filter_map(|d| match &d.outcome {
            Outcome::Parsed(e) => Some((e.id.as_str(), e.published.to_rfc3339(), e.url.clone())),
            _ => None,
        })
        .collect();
    let want = [
        (
            "content:blog/2024-03-12-fair",
            "2024-03-12T00:00:00+01:00",
            "/en/blog/fair/",
        ),
        (
            "content:blog/json",
            "2024-05-01T00:00:00+02:00",
            "/en/blog/json/",
        ),
        (
            "content:blog/old-post",
            "2006-01-02T15:04:05+01:00",
            "/en/blog/old-post/",
        ),
        ("content:page", "2024-06-01T00:00:00+02:00", "/en/page/"),
    ];
    let want: Vec<(&str, String, String)> = want
        .iter()
        .map(|(id, date, path)| (*id, date.to_string(), format!("https://example.org{path}")))
        .collect();
    assert_eq!(parsed, want);
    assert_eq!(skipped(&read.documents, "about.md"), "undated");
    assert_eq!(skipped(&read.documents, "blog/gone.md"), "expired");
    assert_eq!(skipped(&read.documents, "blog/draft.md"), "draft");
    assert_eq!(read.documents.len(), 7, "{:?}", keys(&read.documents));
    let levels: Vec<(NoticeLevel, usize)> = read
        .notices
        .iter()
        .map(|(level, _, locations)| (level, locations.len()))
        .collect();
    assert_eq!(levels, [(NoticeLevel::Info, 1), (NoticeLevel::Warning, 1)]);
}

/// Whether `key` was skipped, with its reason.
fn skipped_reason<'a>(documents: &'a [Document], key: &str) -> &'a str {
    match outcome(documents, key) {
        Outcome::Skipped(reason) => reason,
        other => panic!("{key}: expected it skipped, got {other:?}"),
    }
}

fn assert_no_failure(documents: &[Document]) {
    for d in documents {
        assert!(
            !matches!(d.outcome, Outcome::Failed(_)),
            "{}: {:?}",
            d.key,
            d.outcome
        );
    }
}

const PAGE: &[u8] = b"+++\ntitle = \"P\"\ndate = 2024-01-01\n+++\nBody.\n";

#[test]
fn hugo_tree_publishes_only_what_hugo_renders() {
    let dir = site(&[
        // Headless snippets hidden by a section's cascade: no title, no date, never rendered.
        (
            "snippets/_index.md",
            b"---\ntitle: Snippets\ncascade:\n  _build:\n    render: never\n    list: never\n---\n",
        ),
        ("snippets/footer/index.md", b"---\nweight: 1\n---\nFooter text.\n"),
        ("snippets/banner.md", b"Just a banner, no front matter at all.\n"),
        // A headless bundle on its own.
        (
            "about/team/index.md",
            b"---\nheadless: true\n---\nTeam members.\n",
        ),
        // Build options on single pages.
        (
            "news/never.md",
            b"+++\ntitle = \"N\"\ndate = 2024-01-01\n[build]\nrender = \"never\"\n+++\n",
        ),
        (
            "news/off.md",
            b"---\ntitle: O\ndate: 2024-01-01\n_build:\n  render: false\n---\n",
        ),
        (
            "news/unlisted.md",
            b"+++\ntitle = \"U\"\ndate = 2024-01-01\nbuild = { list = \"never\" }\n+++\n",
        ),
        (
            "news/local.md",
            b"+++\ntitle = \"L\"\ndate = 2024-01-01\nbuild = { list = \"local\" }\n+++\n",
        ),
        ("news/plain.md", PAGE),
        // A cascade with a target: only the archive's pages are hidden, and a page may
        // override the cascaded value.
        (
            "blog/_index.md",
            b"+++\ntitle = \"Blog\"\n[[cascade]]\n[cascade.build]\nrender = \"never\"\n\
              [cascade._target]\npath = \"/blog/archive/**\"\n\
              [[cascade]]\n[cascade.params]\ncity = \"Lindenfeld\"\n+++\n",
        ),
        ("blog/archive/old.md", b"+++\ntitle = \"Old\"\n+++\n"),
        (
            "blog/archive/kept.md",
            b"+++\ntitle = \"Kept\"\ndate = 2024-01-01\n[build]\nrender = \"always\"\n+++\n",
        ),
        ("blog/new.md", PAGE),
        // A redirect-only page.
        (
            "news/moved.md",
            b"---\ntitle: Moved\ndate: 2024-01-01\nlayout: redirect\nparams:\n  redirect_to: https://other.example/\n---\n",
        ),
    ]);
    let documents = read(dir.path(), "generator = \"hugo\"");
    assert_no_failure(&documents);
    assert!(
        !keys(&documents).iter().any(|k| k.ends_with("_index.md")),
        "{:?}",
        keys(&documents)
    );
    for key in ["snippets/footer/index.md", "snippets/banner.md"] {
        assert!(
            skipped_reason(&documents, key).contains("_build.render = never"),
            "{key}"
        );
    }
    assert!(skipped_reason(&documents, "about/team/index.md").contains("headless"));
    assert!(skipped_reason(&documents, "news/never.md").contains("build.render = never"));
    assert!(skipped_reason(&documents, "news/off.md").contains("_build.render = never"));
    assert!(skipped_reason(&documents, "news/unlisted.md").contains("build.list = never"));
    assert!(skipped_reason(&documents, "news/moved.md").contains("redirect"));
    assert!(skipped_reason(&documents, "blog/archive/old.md").contains("build.render"));
    entry(&documents, "news/local.md");
    entry(&documents, "news/plain.md");
    entry(&documents, "blog/archive/kept.md");
    let new = entry(&documents, "blog/new.md");
    assert_eq!(new.extra["city"], "Lindenfeld");
    assert_eq!(new.url, "https://example.org/en/blog/new/");
}

#[test]
fn zola_tree_follows_zolas_section_settings() {
    let dir = site(&[
        // Zola still renders the pages of a section whose own page is not rendered, that
        // redirects, or that is transparent.
        (
            "hidden/_index.md",
            b"+++\ntitle = \"Hidden\"\nrender = false\n+++\n",
        ),
        ("hidden/a.md", PAGE),
        ("moved/_index.md", b"+++\nredirect_to = \"blog\"\n+++\n"),
        ("moved/b.md", PAGE),
        ("blog/_index.md", b"+++\nsort_by = \"date\"\n+++\n"),
        ("blog/2024/_index.md", b"+++\ntransparent = true\n+++\n"),
        ("blog/2024/Kraków_Nowa Huta.md", PAGE),
        // A page Zola does not render.
        (
            "blog/draft-ish.md",
            b"+++\ntitle = \"D\"\ndate = 2024-01-01\nrender = false\n+++\n",
        ),
    ]);
    let documents = read(
        dir.path(),
        "generator = \"zola\"\ndefault_language_in_root = true",
    );
    assert_no_failure(&documents);
    assert_eq!(
        entry(&documents, "hidden/a.md").url,
        "https://example.org/hidden/a/"
    );
    assert_eq!(
        entry(&documents, "moved/b.md").url,
        "https://example.org/moved/b/"
    );
    assert_eq!(
        entry(&documents, "blog/2024/Kraków_Nowa Huta.md").url,
        "https://example.org/blog/2024/krakow-nowa-huta/"
    );
    assert!(skipped_reason(&documents, "blog/draft-ish.md").contains("render = false"));
}

/// The pages of a Zola section with `draft = true` were published, though Zola does not walk
/// a drafted section's folder at all.
#[test]
fn a_drafted_zola_section_hides_every_page_below_it() {
    let dir = site(&[
        (
            "ideas/_index.md",
            b"+++\ntitle = \"Ideas\"\ndraft = true\n+++\n",
        ),
        ("ideas/a.md", PAGE),
        ("ideas/a.fr.md", PAGE),
        ("ideas/deeper/b.md", PAGE),
        ("blog/c.md", PAGE),
    ]);
    let documents = read(dir.path(), "generator = \"zola\"");
    assert_no_failure(&documents);
    for key in ["ideas/a.md", "ideas/a.fr.md", "ideas/deeper/b.md"] {
        assert_eq!(skipped(&documents, key), "draft", "{key}");
    }
    entry(&documents, "blog/c.md");
    // The rule is Zola's: other sources keep what they did.
    let documents = read(dir.path(), "");
    entry(&documents, "ideas/a.md");
}

#[test]
fn slugify_modes_and_generators() {
    let dir = site(&[("Kraków_Nowa Huta.md", PAGE), ("Städte/Ünter Den.md", PAGE)]);
    let url = |source: &str, key: &str| entry(&read(dir.path(), source), key).url.clone();
    let krakow = "Kraków_Nowa Huta.md";
    // `auto` keeps crier's rule, so existing URLs do not move.
    assert_eq!(
        url("", krakow),
        "https://example.org/en/krak%C3%B3w-nowa-huta/"
    );
    assert_eq!(
        url("generator = \"zola\"", krakow),
        "https://example.org/en/krakow-nowa-huta/"
    );
    assert_eq!(
        url("slugify = \"safe\"", krakow),
        "https://example.org/en/Krak%C3%B3w_Nowa%20Huta/"
    );
    assert_eq!(
        url("generator = \"hugo\"", krakow),
        "https://example.org/en/krak%C3%B3w_nowa-huta/"
    );
    assert_eq!(
        url("generator = \"hugo\"\nremove_path_accents = true", krakow),
        "https://example.org/en/krakow_nowa-huta/"
    );
    assert_eq!(
        url("generator = \"hugo\"\ndisable_path_to_lower = true", krakow),
        "https://example.org/en/Krak%C3%B3w_Nowa-Huta/"
    );
    // Zola leaves the folders as they are; Hugo sanitises the whole path.
    let nested = "Städte/Ünter Den.md";
    assert_eq!(
        url("generator = \"zola\"", nested),
        "https://example.org/en/St%C3%A4dte/unter-den/"
    );
    assert_eq!(
        url("generator = \"hugo\"\nremove_path_accents = true", nested),
        "https://example.org/en/stadte/unter-den/"
    );
}

#[test]
fn per_section_permalinks_override_the_pattern() {
    let dir = site(&[
        ("news/garden.md", PAGE),
        ("projects/ghent.md", PAGE),
        ("top.md", PAGE),
    ]);
    let documents = read(
        dir.path(),
        "permalink = \"/{lang}/{slug}/\"\n\
         permalinks = { news = \"/{lang}/actualites/{year}/{month}/{slug}/\" }",
    );
    assert_eq!(
        entry(&documents, "news/garden.md").url,
        "https://example.org/en/actualites/2024/01/garden/"
    );
    assert_eq!(
        entry(&documents, "projects/ghent.md").url,
        "https://example.org/en/ghent/"
    );
    assert_eq!(
        entry(&documents, "top.md").url,
        "https://example.org/en/top/"
    );
}

#[test]
fn new_keys_are_validated_with_their_key() {
    let validate = |source: &str| {
        let text = format!(
            "[site]\ntitle = \"T\"\nbase_url = \"https://example.org/\"\nlanguages = [\"en\", \"fr\"]\n\n\
             [[sources]]\ntype = \"directory\"\npath = \"content\"\n{source}\n"
        );
        SourcesDocument::parse(&text)
            .map_err(|e| e.to_string())
            .and_then(|doc| doc.validate().map_err(|e| e.to_string()))
    };
    let bad = validate("permalinks = { news = \"/{lang}/news/\" }").unwrap_err();
    assert!(
        bad.contains("sources[0].permalinks.news") && bad.contains("{slug} or {path}"),
        "{bad}"
    );
    let bad = validate("permalinks = { news = \"/{slug}/{week}/\" }").unwrap_err();
    assert!(bad.contains("unknown placeholder {week}"), "{bad}");
    let bad = validate("language = \"de\"").unwrap_err();
    assert!(
        bad.contains("sources[0].language") && bad.contains("site.languages"),
        "{bad}"
    );
    let bad = validate("slugify = \"ascii\"").unwrap_err();
    assert!(bad.contains("slugify"), "{bad}");
    let bad = validate("generator = \"jekyll\"").unwrap_err();
    assert!(bad.contains("generator"), "{bad}");
    assert!(validate("language = \"FR\"\ngenerator = \"zola\"\nslugify = \"off\"").is_ok());
}

#[test]
fn one_content_folder_per_language_gives_linked_translations() {
    let dir = site(&[
        ("en/news/garden.md", PAGE),
        ("en/news/_index.md", b"+++\ntitle = \"News\"\n+++\n"),
        (
            "fr/news/garden.md",
            b"+++\ntitle = \"Jardin\"\ndate = 2024-01-01\n+++\n",
        ),
        ("fr/news/only.md", PAGE),
        (
            "fr/news/keyed.md",
            b"+++\ntitle = \"K\"\ndate = 2024-01-01\ntranslationKey = \"garden-k\"\n+++\n",
        ),
    ]);
    let en = docs(
        &source_for(&dir.path().join("en"), "name = \"en\"\nlanguage = \"en\""),
        &HashMap::new(),
    )
    .expect("reads");
    let fr = docs(
        &source_for(&dir.path().join("fr"), "name = \"fr\"\nlanguage = \"fr\""),
        &HashMap::new(),
    )
    .expect("reads");
    let en_garden = entry(&en, "news/garden.md");
    let fr_garden = entry(&fr, "news/garden.md");
    assert_eq!(en_garden.language, "en");
    assert_eq!(fr_garden.language, "fr");
    assert_eq!(fr_garden.url, "https://example.org/fr/news/garden/");
    assert_eq!(en_garden.translation_key, fr_garden.translation_key);
    assert_ne!(en_garden.id, fr_garden.id);
    assert_eq!(entry(&fr, "news/only.md").language, "fr");
    assert_eq!(entry(&fr, "news/keyed.md").translation_key, "garden-k");
}

#[test]
fn a_section_file_of_the_pages_language_applies() {
    let hide = b"+++\n[cascade]\nbuild = { render = \"never\" }\n+++\n" as &[u8];
    let dir = site(&[
        ("news/_index.fr.md", hide),
        ("news/a.md", PAGE),
        ("news/a.fr.md", PAGE),
    ]);
    let documents = read(dir.path(), "");
    entry(&documents, "news/a.md");
    skipped_reason(&documents, "news/a.fr.md");
    // In a French content folder the plain `_index.md` is French.
    let dir = site(&[("news/_index.md", hide), ("news/a.md", PAGE)]);
    let documents = read(dir.path(), "language = \"fr\"");
    skipped_reason(&documents, "news/a.md");
}

#[test]
fn an_edited_section_file_makes_its_pages_be_read_again() {
    let dir = site(&[
        ("news/_index.md", b"+++\ntitle = \"News\"\n+++\n"),
        ("news/a.md", PAGE),
        ("other/b.md", PAGE),
    ]);
    let source = source_for(dir.path(), "");
    let first = docs(&source, &HashMap::new()).expect("read");
    entry(&first, "news/a.md");
    let known: HashMap<String, String> = first
        .iter()
        .map(|d| (d.key.clone(), d.fingerprint.clone()))
        .collect();

    // Unchanged: nothing is read.
    let again = docs(&source, &known).expect("read");
    assert!(
        again
            .iter()
            .all(|d| matches!(d.outcome, Outcome::Unchanged))
    );

    // The section now hides its pages; a different length changes its fingerprint.
    std::fs::write(
        dir.path().join("news/_index.md"),
        "+++\ntitle = \"News\"\ncascade = { headless = true }\n+++\n",
    )
    .expect("write");
    let second = docs(&source, &known).expect("read");
    assert!(skipped_reason(&second, "news/a.md").contains("headless"));
    assert!(matches!(outcome(&second, "other/b.md"), Outcome::Unchanged));
    assert_ne!(
        second[0].fingerprint, known["news/a.md"],
        "the page's fingerprint covers its section file"
    );
}

#[test]
fn a_broken_section_file_fails_its_pages_and_names_itself() {
    let dir = site(&[
        (
            "news/_index.md",
            b"+++\ntitle = \"News\"\ncascade = \"never\"\n+++\n",
        ),
        ("news/a.md", PAGE),
        ("b.md", PAGE),
    ]);
    let documents = read(dir.path(), "");
    entry(&documents, "b.md");
    match outcome(&documents, "news/a.md") {
        Outcome::Failed(e) => {
            let section = dir.path().join("news/_index.md");
            assert!(
                e.message
                    .contains(&format!("section file {}:3", section.display())),
                "{}",
                e.message
            );
            assert!(
                e.message.contains("`cascade` must be a table"),
                "{}",
                e.message
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A page of a Hugo site using shortcodes: the feed body gets their HTML, the summary their
/// text, and the unknown ones are removed and reported once per read, by name.
#[test]
fn shortcodes_are_rendered_in_content_and_summary() {
    let page = "+++\ntitle = \"Cats\"\ndate = 2024-03-12\n+++\n\
                {{< figure src=\"cat.jpg\" caption=\"A cat\" >}}\n\n\
                Our cat {{< aside >}}sleeps{{< /aside >}} all day {{< badge new >}}.\n\n\
                {{% include \"footer.md\" %}}\n";
    let other = "+++\ntitle = \"Dogs\"\ndate = 2024-03-12\n\
                 summary = \"**Dogs** {{< badge >}} <em>bark</em>\"\n+++\nWoof.\n";
    let dir = site(&[
        ("news/cats.md", page.as_bytes()),
        ("news/dogs.md", other.as_bytes()),
    ]);
    let source = source_for(
        dir.path(),
        "[sources.shortcodes]\naside = \"<aside>{{ body }}</aside>\"",
    );
    let read = read_at(&source, &HashMap::new(), Utc::now()).expect("source reads");
    let cats = entry(&read.documents, "news/cats.md");
    assert_eq!(
        cats.content,
        "<figure><img src=\"https://example.org/en/news/cats/cat.jpg\" alt=\"A cat\">\
         <figcaption><p>A cat</p></figcaption></figure>\n\
         <p>Our cat <aside>sleeps</aside> all day .</p>\n"
    );
    assert_eq!(cats.summary, "Our cat sleeps all day .");
    let dogs = entry(&read.documents, "news/dogs.md");
    assert_eq!(dogs.summary, "Dogs bark");
    let lines = read.notices.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let badge = &lines[0].1;
    assert!(
        badge.contains("`badge`") && badge.contains("cats.md") && badge.contains("dogs.md"),
        "{badge}"
    );
    assert!(lines[1].1.contains("`include`"), "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|(level, _)| *level == NoticeLevel::Warning)
    );
}

#[test]
fn shortcode_templates_are_checked_when_the_config_is_read() {
    let text = "[site]\ntitle = \"Test\"\nbase_url = \"https://example.org/\"\n\n\
                [[sources]]\ntype = \"directory\"\npath = 'content'\n\
                [sources.shortcodes]\naside = \"<aside>{{ .Inner }}</aside>\"\n";
    let err = SourcesDocument::parse(text).unwrap_err().to_string();
    assert!(
        err.contains("shortcodes.aside") && err.contains("unknown placeholder `{{ .Inner }}`"),
        "{err}"
    );
}

/// Hugo dates a page by `published` (an alias of `publishDate`), and one with neither `date`
/// nor `publishDate` by its `lastmod`
/// (<https://gohugo.io/configuration/front-matter/#dates>); crier took such pages for undated.
/// Zola's `updated` dates nothing: a Zola page with only `updated` stays undated.
#[test]
fn hugo_dates_a_page_by_published_or_else_lastmod() {
    let dir = site(&[
        (
            "a.md",
            b"---\ntitle: A\npublished: 2024-03-12\n---\nBody.\n" as &[u8],
        ),
        (
            "b.md",
            b"---\ntitle: B\nlastmod: 2024-04-01T10:00:00Z\n---\nBody.\n",
        ),
        (
            "c.md",
            b"+++\ntitle = \"C\"\nupdated = 2024-05-01\n+++\nBody.\n",
        ),
    ]);
    let source = source_for(dir.path(), "");
    let read = read_at(&source, &HashMap::new(), Utc::now()).expect("read");
    let a = entry(&read.documents, "a.md");
    assert_eq!(a.published.to_rfc3339(), "2024-03-12T00:00:00+01:00");
    let b = entry(&read.documents, "b.md");
    assert_eq!(b.published.to_rfc3339(), "2024-04-01T10:00:00+00:00");
    // Dated by its own update, it has no later update to show.
    assert_eq!(b.updated, None);
    assert_eq!(skipped(&read.documents, "c.md"), "undated");
}

/// Reads one file `name` with `contents` under a site whose config has the channels
/// `mastodon` and `x-main`.
fn with_channels(name: &str, contents: &str) -> Outcome {
    let dir = site(&[(name, contents.as_bytes())]);
    let text = format!(
        "[site]\ntitle = \"Test\"\nbase_url = \"https://example.org/\"\n\
         timezone = \"Europe/Paris\"\n\n[[sources]]\ntype = \"directory\"\npath = '{}'\n",
        dir.path().display()
    );
    let doc = SourcesDocument::parse(&text).expect("test config parses");
    let SourceConfig::Directory(directory) = &doc.sources[0] else {
        panic!("a directory source")
    };
    let mut site = doc.site.clone();
    site.channels = vec!["mastodon".into(), "x-main".into()];
    let source = DirectorySource::new(&site, directory);
    let mut documents = docs(&source, &HashMap::new()).expect("source reads");
    documents.remove(0).outcome
}

#[test]
fn the_announcement_control_is_read_from_extra_params_or_the_top_in_every_language() {
    let toml = "+++\ntitle = \"A\"\ndate = 2024-03-12\n[extra.crier]\nskip = [\"x-main\"]\n\
                hashtags = [\"Ghent\"]\nannounce_at = 2024-03-13T08:00:00\n\
                text.x = \"Read {{ url }}\"\n+++\nBody\n";
    let Outcome::Parsed(e) = with_channels("a.md", toml) else {
        panic!("parsed")
    };
    assert_eq!(e.announce.skip, ["x-main"]);
    assert_eq!(e.announce.hashtags, ["Ghent"]);
    assert_eq!(e.announce.text.x.as_deref(), Some("Read {{ url }}"));
    // An offset-less time is in the source's timezone (Paris, UTC+1 in March).
    assert_eq!(
        e.announce.at.unwrap().to_rfc3339(),
        "2024-03-13T08:00:00+01:00"
    );
    // The control is not a free field for templates and feeds.
    assert!(!e.extra.contains_key("crier"), "{:?}", e.extra);

    let hugo = "+++\ntitle = \"A\"\ndate = 2024-03-12\n[params.crier]\nannounce = false\n+++\n";
    let yaml = "---\ntitle: A\ndate: 2024-03-12\ncrier:\n  channels: [mastodon]\n---\n";
    let json =
        "{\n\"title\": \"A\", \"date\": \"2024-03-12\",\n\"crier\": {\"skip\": \"mastodon\"}\n}\n";
    let announce = |contents: &str| match with_channels("a.md", contents) {
        Outcome::Parsed(e) => e.announce,
        other => panic!("{contents}: {other:?}"),
    };
    assert!(!announce(hugo).enabled);
    assert_eq!(announce(yaml).channels, Some(vec!["mastodon".to_owned()]));
    assert_eq!(announce(json).skip, ["mastodon"]);
    // Without a control the entry hashes as it did before there was one.
    let Outcome::Parsed(plain) = with_channels("a.md", "---\ntitle: A\ndate: 2024-03-12\n---\n")
    else {
        panic!("parsed")
    };
    assert!(plain.announce.is_default());
    assert!(!serde_json::to_string(&*plain).unwrap().contains("announce"));
}

#[test]
fn a_mistake_in_the_announcement_control_fails_the_file_naming_the_key_and_its_line() {
    let failed = |contents: &str| match with_channels("a.md", contents) {
        Outcome::Failed(e) => (e.location, e.message),
        other => panic!("expected a failure, got {other:?}"),
    };
    let (location, message) =
        failed("+++\ntitle = \"A\"\ndate = 2024-03-12\n[extra.crier]\nskip = [\"x_main\"]\n+++\n");
    assert!(location.ends_with("a.md:5"), "{location}");
    assert!(
        message.starts_with("`extra.crier.skip`: unknown channel `x_main`"),
        "{message}"
    );
    assert!(message.contains("did you mean `x-main`?"), "{message}");
    let (location, message) =
        failed("---\ntitle: A\ndate: 2024-03-12\ncrier:\n  anounce: false\n---\n");
    assert!(location.ends_with("a.md:5"), "{location}");
    assert!(
        message.contains("`crier.anounce`: unknown key `anounce`"),
        "{message}"
    );
    assert!(message.contains("did you mean `announce`?"), "{message}");
    let (_, message) = failed(
        "+++\ntitle = \"A\"\ndate = 2024-03-12\ncrier = { announce = false }\n\
         [extra.crier]\nannounce = true\n+++\n",
    );
    assert!(
        message.contains("`crier` and `extra.crier` both set"),
        "{message}"
    );
}

#[test]
fn images_found_on_disk_are_kept_with_their_file() {
    let dir = site(&[
        (
            "content/news/ghent/index.md",
            b"+++\ntitle = \"Ghent\"\ndate = 2024-01-01\nimage = \"cover.png\"\n+++\n",
        ),
        ("content/news/ghent/cover.png", b"png"),
        (
            "content/news/lyon.md",
            b"+++\ntitle = \"Lyon\"\ndate = 2024-01-02\n+++\n![A square](/img/lyon.png)\n",
        ),
        ("static/img/lyon.png", b"png"),
        (
            "content/news/oslo.md",
            b"+++\ntitle = \"Oslo\"\ndate = 2024-01-03\nimage = \"https://cdn.example.net/oslo.png\"\n+++\n",
        ),
    ]);
    let documents = read(&dir.path().join("content"), "");
    let image = |key: &str| entry(&documents, key).image.clone().expect("an image");
    let ghent = image("news/ghent/index.md");
    assert_eq!(ghent.url, "https://example.org/en/news/ghent/cover.png");
    assert_eq!(
        ghent.path,
        Some(dir.path().join("content/news/ghent/cover.png"))
    );
    // The first image of the body, with its alt text, from the site's static folder.
    let lyon = image("news/lyon.md");
    assert_eq!(lyon.url, "https://example.org/img/lyon.png");
    assert_eq!(lyon.alt, "A square");
    assert_eq!(lyon.path, Some(dir.path().join("static/img/lyon.png")));
    // On another host: downloaded when posted.
    assert_eq!(image("news/oslo.md").path, None);
}

#[test]
fn image_alt_describes_the_body_image_too() {
    let dir = site(&[(
        "a.md",
        b"+++\ntitle = \"A\"\ndate = 2024-01-01\nimage_alt = \"Two bikes\"\n+++\n![bikes](/b.png)\n",
    )]);
    let documents = read(dir.path(), "");
    let image = entry(&documents, "a.md")
        .image
        .clone()
        .expect("the body's image");
    assert_eq!(image.url, "https://example.org/b.png");
    assert_eq!(image.alt, "Two bikes");
}

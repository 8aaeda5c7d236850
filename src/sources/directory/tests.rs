//! Tests of the directory source over small sites written into temporary folders, and over the
//! sample sites in `tests/fixtures/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::DirectorySource;
use crate::entry::Entry;
use crate::sources::SourceConfig;
use crate::sources::{Document, NoticeLevel, Outcome, Source, SourceError};
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
    let cache = crate::sources::Cache::new();
    source
        .read(&crate::sources::ReadInput {
            known,
            cache: &cache,
        })
        .map(|r| r.documents)
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
    let (_, message, _) = failure("e.md", b"+++\ntitle = \"E\"\n+++\n");
    assert!(message.contains("missing `date`"), "{message}");
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
    let known = HashMap::new();
    let cache = crate::sources::Cache::new();
    let read = source
        .read(&crate::sources::ReadInput {
            known: &known,
            cache: &cache,
        })
        .expect("source reads");
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

//! The hostile fixture's feeds, checked by an independent, widely used parser: Python's
//! `feedparser` must read the RSS and Atom files without setting `bozo`, and the JSON Feed must
//! hold the keys the spec requires (`common::check_feeds`, which says when the check is
//! skipped).
//!
//! The second test runs the real binary on the shipped sample (`config/example.toml` and
//! `content/`) and checks every feed file it writes.

mod common;
#[path = "golden/hostile.rs"]
mod hostile;

use std::path::PathBuf;

use common::{HreflangLink, check_feeds as check};
use crier::feeds::{FeedFormat, Syndication, render, render_with_links};

#[test]
fn feedparser_reads_every_feed_of_the_sample_run() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("config")).expect("config dir");
    std::fs::copy(
        root.join("config/example.toml"),
        dir.path().join("config/example.toml"),
    )
    .expect("config copied");
    std::os::unix::fs::symlink(root.join("content"), dir.path().join("content"))
        .expect("content linked");
    let status = common::Crier::new(dir.path().join("config/example.toml"))
        .now("2026-01-01T00:00:00Z")
        .log("crier=warn")
        .args(["run", "--once"])
        .command()
        .status()
        .expect("crier runs");
    assert!(status.success(), "{status}");
    let mut files: Vec<PathBuf> = Vec::new();
    let mut folders = vec![dir.path().join("feeds")];
    while let Some(folder) = folders.pop() {
        for item in std::fs::read_dir(&folder).expect("feeds folder") {
            let path = item.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    // The autodiscovery tags beside the main feeds and each language's are no feeds.
    let heads: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.ends_with("head.html"))
        .cloned()
        .collect();
    let feeds = dir.path().join("feeds");
    assert_eq!(
        heads,
        [
            feeds.join("en/head.html"),
            feeds.join("fr/head.html"),
            feeds.join("head.html")
        ]
    );
    files.retain(|f| !f.ends_with("head.html"));
    // Beside the feeds, the stylesheets that show them in a browser, one per language.
    let (stylesheets, files): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|f| f.extension().is_some_and(|e| e == "xsl"));
    assert_eq!(stylesheets.len(), 2, "{stylesheets:?}");
    // all, en, fr, the two category folders and each one's in its language, three formats each.
    assert_eq!(files.len(), 21, "{files:?}");
    if let Some(stdout) = check(&files, None) {
        assert_eq!(stdout.matches(": ok\n").count(), files.len(), "{stdout}");
    }
}

#[test]
fn feedparser_reads_the_hostile_feeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let meta = hostile::meta();
    let entries = hostile::entries();
    let mut files = Vec::new();
    for format in [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json] {
        let path = dir.path().join(format.file_name());
        let bytes = render(format, &meta, &entries).expect("the fixture renders");
        std::fs::write(&path, bytes).expect("feed written");
        files.push(path);
    }
    if let Some(stdout) = check(&files, Some(entries.len())) {
        assert_eq!(stdout.matches(": ok\n").count(), 3, "{stdout}");
    }
}

#[test]
fn the_json_feed_with_links_back_holds_what_the_spec_requires() {
    let dir = tempfile::tempdir().expect("temp dir");
    let entries = hostile::entries();
    let path = dir.path().join("feed.json");
    let bytes = render_with_links(
        FeedFormat::Json,
        &hostile::meta(),
        &entries,
        &hostile::links(),
        &hostile::translations(),
    )
    .expect("the fixture renders");
    std::fs::write(&path, bytes).expect("feed written");
    if let Some(stdout) = check(&[&path], Some(entries.len())) {
        assert_eq!(stdout.matches(": ok\n").count(), 1, "{stdout}");
    }
}

/// The fixture's RSS and Atom feeds with translations: feedparser reads each translation as a
/// link with its language and title (RSS's through `atom:link`), and the entry's own link with
/// its language.
#[test]
fn feedparser_reads_the_translations_of_the_hostile_feeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = |hreflang: &str, href: &str, title: Option<&str>| HreflangLink {
        hreflang: hreflang.to_owned(),
        href: href.to_owned(),
        title: title.map(str::to_owned),
    };
    let markup = vec![
        link("en", "https://example.org/projects/markup/", None),
        link(
            "fr",
            "https://example.org/fr/projets/balises/?a=1&b=2",
            Some(r#"Balises <b>gras</b> & "guillemets" ]]> fin"#),
        ),
        link(
            "pt-BR",
            "https://example.org/pt-br/projetos/marcas/",
            Some("Marcação"),
        ),
    ];
    let unicode = vec![
        link("ar", "https://example.org/projects/unicode/", None),
        link(
            "en",
            "https://example.org/en/projects/unicode/",
            Some("Emoji and scripts"),
        ),
    ];
    // Newest first: markup, controls, unicode, empty, long.
    let expected = vec![markup, Vec::new(), unicode, Vec::new(), Vec::new()];
    for format in [FeedFormat::Rss, FeedFormat::Atom] {
        let path = dir.path().join(format.file_name());
        let bytes = render_with_links(
            format,
            &hostile::meta(),
            &hostile::entries(),
            &Syndication::default(),
            &hostile::translations(),
        )
        .expect("the fixture renders");
        std::fs::write(&path, bytes).expect("feed written");
        if let Some(links) = common::hreflang_links(&path) {
            assert_eq!(links, expected, "{}", format.name());
        }
    }
}

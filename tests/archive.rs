//! Archived feeds (RFC 5005), end to end through the binary: 2.5 pages of entries give two full
//! archive documents and the newest, partial one in every format and feed folder; new entries
//! change only the newest archive document and the subscription document (same bytes, same
//! modification times for the others); following `prev-archive` (or the JSON Feed's
//! `next_url`) from the subscription document reaches every entry, each in exactly one archive
//! document, and only full ones while the subscription document shows the newest page's
//! entries; every document parses back with feed-rs and feedparser, which sees `fh:archive`
//! and the links. A small archive (three entries, pages of two) in each format is compared
//! byte for byte with the golden files under `tests/golden/archive/` (after an intended change:
//! `CRIER_BLESS=1 cargo test --test archive`, and review the diff).

mod common;
// Only its metadata and bare entries are used here.
#[allow(dead_code)]
#[path = "golden/hostile.rs"]
mod hostile;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::{OutputText, Site, check_feeds, entry_file};
use crier::feeds::{ArchiveLinks, FeedFormat, FeedMeta, render};
use serde_json::Value;

const NOW: &str = "2024-06-01T00:00:00Z";
const FEEDS: &str = "https://example.org/feeds/";

fn site() -> Site {
    Site::new(
        r#"
[site]
title = "Network"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/projects/{slug}/"

[feeds]
limit = 4
archive = true
categories = ["Prize"]
"#,
    )
}

/// Writes entry `n` (published on day `n` of January 2024); every fourth is in "Prize".
fn write_entry(site: &Site, n: u32) {
    let mut entry = entry_file(&format!("Entry {n:02}"), &format!("2024-01-{n:02}"));
    if n % 4 == 1 {
        entry = entry.category("Prize");
    }
    site.write_entry(&format!("content/e{n:02}.md"), &entry);
}

fn run(site: &Site) {
    let output = site.crier().now(NOW).args(["run", "--once"]).output();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        output.stdout_text(),
        output.stderr_text()
    );
}

/// Every feed file under `feeds/` (not the stylesheets and `head.html` beside them) with its
/// bytes and modification time.
fn snapshot(site: &Site) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    site.feed_files("feeds")
        .into_iter()
        .filter(|file| common::is_feed_file(&file.path))
        .map(|file| {
            let modified = std::fs::metadata(&file.path)
                .and_then(|m| m.modified())
                .expect("a feed file's time");
            let rel = file
                .path
                .strip_prefix(site.path("feeds"))
                .expect("under feeds/")
                .to_owned();
            (rel, (file.bytes, modified))
        })
        .collect()
}

/// The paths (relative to `feeds/`) whose bytes or time differ between two snapshots, or that
/// only one has.
fn changed(
    before: &BTreeMap<PathBuf, (Vec<u8>, SystemTime)>,
    after: &BTreeMap<PathBuf, (Vec<u8>, SystemTime)>,
) -> BTreeSet<String> {
    let paths: BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    paths
        .into_iter()
        .filter(|path| before.get(*path) != after.get(*path))
        .map(|path| path.display().to_string())
        .collect()
}

fn documents(folder: &str, pages: &[u32]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in ["rss.xml", "atom.xml", "feed.json"] {
        out.insert(format!("{folder}{file}"));
        for page in pages {
            out.insert(format!("{folder}archive/{page}/{file}"));
        }
    }
    out
}

/// The local file behind a public feed URL.
fn local(site: &Site, url: &str) -> PathBuf {
    let rel = url
        .strip_prefix(FEEDS)
        .unwrap_or_else(|| panic!("{url} is a feed URL"));
    site.path("feeds").join(rel)
}

/// Walks an XML feed the RFC 5005 way with feed-rs: the subscription document at `start`, then
/// `prev-archive` until the oldest archive document. Returns each archive document's entry ids
/// (newest document first) and the subscription document's.
fn walk_xml(site: &Site, start: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let parse = |path: &Path| {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        feed_rs::parser::parse(bytes.as_slice())
            .unwrap_or_else(|e| panic!("{} parses: {e}", path.display()))
    };
    let prev = |feed: &feed_rs::model::Feed| {
        feed.links
            .iter()
            .find(|l| l.rel.as_deref() == Some("prev-archive"))
            .map(|l| l.href.clone())
    };
    let ids = |feed: &feed_rs::model::Feed| feed.entries.iter().map(|e| e.id.clone()).collect();
    let current = parse(start);
    let mut pages = Vec::new();
    let mut next = prev(&current);
    while let Some(url) = next {
        let page = parse(&local(site, &url));
        pages.push(ids(&page));
        next = prev(&page);
        assert!(pages.len() < 100, "prev-archive links loop");
    }
    (ids(&current), pages)
}

/// The same for the JSON Feed, along `next_url`.
fn walk_json(site: &Site, start: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let parse = |path: &Path| -> Value {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_slice(&bytes).expect("a JSON Feed")
    };
    let ids = |feed: &Value| {
        feed["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["id"].as_str().expect("an id").to_owned())
            .collect()
    };
    let current = parse(start);
    let mut pages = Vec::new();
    let mut next = current["next_url"].as_str().map(str::to_owned);
    while let Some(url) = next {
        let page = parse(&local(site, &url));
        pages.push(ids(&page));
        next = page["next_url"].as_str().map(str::to_owned);
        assert!(pages.len() < 100, "next_url links loop");
    }
    (ids(&current), pages)
}

/// Checks that walking from `start` reaches `pages` archive documents, which hold no entry
/// twice, and that they and the subscription document together hold `expected` entries
/// (RFC 5005 lets the two overlap).
fn assert_reconstructs(site: &Site, start: &str, pages: usize, expected: usize) {
    let path = site.path(start);
    let (current, archive) = if start.ends_with(".json") {
        walk_json(site, &path)
    } else {
        walk_xml(site, &path)
    };
    assert_eq!(archive.len(), pages, "{start}: {archive:?}");
    let all: Vec<&String> = archive.iter().flatten().collect();
    let unique: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "{start}: an entry in two pages");
    let mut feed = unique;
    feed.extend(current.iter());
    assert_eq!(feed.len(), expected, "{start}: {current:?} {archive:?}");
}

/// What feedparser sees of the RSS and Atom documents: `fh:archive` and the RFC 5005 links.
fn feedparser_view(files: &[String]) -> Option<Vec<Value>> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/feed_links.py");
    let out = common::reference::run("python3", &script, files, "CRIER_REQUIRE_PYTHON_CHECKS")?;
    Some(
        out.lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect(),
    )
}

#[test]
fn archives_fill_page_by_page_and_full_pages_never_change() {
    let site = site();
    for n in 1..=10 {
        write_entry(&site, n);
    }
    run(&site);
    let first = snapshot(&site);
    let names: BTreeSet<String> = first.keys().map(|p| p.display().to_string()).collect();
    let mut expected = documents("", &[1, 2, 3]);
    expected.extend(documents("categories/prize/", &[1]));
    assert_eq!(names, expected);
    // 2.5 pages: two full ones, the newest half full. The subscription document shows all of
    // the newest page's entries, so it links to the newest full page.
    assert_eq!(site.feed_titles("feeds/archive/1/atom.xml").len(), 4);
    assert_eq!(site.feed_titles("feeds/archive/2/rss.xml").len(), 4);
    assert_eq!(
        site.feed_titles("feeds/archive/3/rss.xml"),
        ["Entry 10", "Entry 09"]
    );
    assert_eq!(
        site.feed_titles("feeds/categories/prize/archive/1/atom.xml"),
        ["Entry 09", "Entry 05", "Entry 01"]
    );
    for start in ["feeds/rss.xml", "feeds/atom.xml", "feeds/feed.json"] {
        assert_reconstructs(&site, start, 2, 10);
    }
    // Prize's only page is still filling, and its feed shows all of it: nothing to link to.
    for start in [
        "feeds/categories/prize/rss.xml",
        "feeds/categories/prize/feed.json",
    ] {
        assert_reconstructs(&site, start, 0, 3);
    }

    // One more entry: only the newest archive document and the subscription document change.
    write_entry(&site, 11);
    run(&site);
    let second = snapshot(&site);
    assert_eq!(
        changed(&first, &second),
        documents("", &[3]),
        "only archive/3 and the subscription documents"
    );

    // Two more: page 3 fills up and page 4 begins; pages 1 and 2 stay as they were.
    write_entry(&site, 12);
    write_entry(&site, 13);
    run(&site);
    let third = snapshot(&site);
    // Prize's only page fills up too: its next page begins, empty.
    let mut expected = documents("", &[3, 4]);
    expected.extend(documents("categories/prize/", &[1, 2]));
    assert_eq!(changed(&second, &third), expected);
    assert!(
        site.feed_titles("feeds/categories/prize/archive/2/atom.xml")
            .is_empty()
    );
    for start in ["feeds/rss.xml", "feeds/atom.xml", "feeds/feed.json"] {
        assert_reconstructs(&site, start, 3, 13);
    }
    assert_reconstructs(&site, "feeds/categories/prize/atom.xml", 1, 4);

    // Nothing new: nothing is touched.
    run(&site);
    assert!(changed(&third, &snapshot(&site)).is_empty());

    // An old entry edited: only its page (and no other) changes.
    site.write_entry(
        "content/e02.md",
        &entry_file("Entry 02, corrected", "2024-01-02"),
    );
    run(&site);
    let edited = snapshot(&site);
    assert_eq!(changed(&third, &edited), documents("archive/1/", &[]));

    // An old entry withdrawn: its page loses it, the other pages keep their entries.
    std::fs::remove_file(site.path("content/e06.md")).expect("entry removed");
    run(&site);
    let withdrawn = snapshot(&site);
    assert_eq!(changed(&edited, &withdrawn), documents("archive/2/", &[]));
    assert_eq!(site.feed_titles("feeds/archive/2/rss.xml").len(), 3);
    for start in ["feeds/rss.xml", "feeds/atom.xml", "feeds/feed.json"] {
        assert_reconstructs(&site, start, 3, 12);
    }

    // Every document parses with feedparser (the check wants entries: the empty page was
    // parsed with feed-rs above); the archive documents say so and link back.
    let files: Vec<PathBuf> = withdrawn
        .keys()
        .filter(|rel| !rel.starts_with("categories/prize/archive/2"))
        .map(|rel| site.path("feeds").join(rel))
        .collect();
    if let Some(stdout) = check_feeds(&files, None) {
        assert_eq!(stdout.matches(": ok\n").count(), files.len(), "{stdout}");
    }
    let xml: Vec<String> = [
        "rss.xml",
        "atom.xml",
        "archive/1/rss.xml",
        "archive/2/atom.xml",
        "archive/4/rss.xml",
    ]
    .iter()
    .map(|rel| site.path("feeds").join(rel).display().to_string())
    .collect();
    if let Some(views) = feedparser_view(&xml) {
        let link = |view: &Value, rel: &str| view["links"][rel].as_str().map(str::to_owned);
        for view in &views {
            assert_eq!(view["bozo"], false, "{view}");
        }
        let [rss, atom, first_page, second_page, newest] = &views[..] else {
            panic!("{views:?}");
        };
        assert_eq!(rss["archive"], false);
        assert_eq!(
            link(rss, "prev-archive").as_deref(),
            Some("https://example.org/feeds/archive/3/rss.xml")
        );
        assert_eq!(
            link(atom, "prev-archive").as_deref(),
            Some("https://example.org/feeds/archive/3/atom.xml")
        );
        assert_eq!(first_page["archive"], true, "{first_page}");
        assert_eq!(link(first_page, "prev-archive"), None);
        assert_eq!(
            link(first_page, "next-archive").as_deref(),
            Some("https://example.org/feeds/archive/2/rss.xml")
        );
        assert_eq!(
            link(first_page, "current").as_deref(),
            Some("https://example.org/feeds/rss.xml")
        );
        assert_eq!(second_page["archive"], true);
        assert_eq!(
            link(second_page, "prev-archive").as_deref(),
            Some("https://example.org/feeds/archive/1/atom.xml")
        );
        assert_eq!(
            link(second_page, "next-archive").as_deref(),
            Some("https://example.org/feeds/archive/3/atom.xml")
        );
        assert_eq!(newest["archive"], true);
        assert_eq!(link(newest, "next-archive"), None, "{newest}");
        assert_eq!(newest["ids"].as_array().map(Vec::len), Some(1));
    }
    // In the XML itself, not only in what a parser makes of it.
    let page = site.read("feeds/archive/1/atom.xml");
    assert!(
        page.contains(r#"xmlns:fh="http://purl.org/syndication/history/1.0""#)
            && page.contains("<fh:archive></fh:archive>"),
        "{page}"
    );
}

#[test]
fn without_archive_no_archive_is_written_and_the_feeds_link_to_none() {
    let site = site();
    site.set_config(&site.read("crier.toml").replace("archive = true\n", ""));
    for n in 1..=6 {
        write_entry(&site, n);
    }
    run(&site);
    assert!(!site.path("feeds/archive").exists());
    let rss = site.read("feeds/rss.xml");
    assert!(!rss.contains("archive"), "{rss}");
    let json = site.read("feeds/feed.json");
    assert!(!json.contains("next_url"), "{json}");
}

/// The small archive of the golden files: the subscription document (`limit` 2) and two pages of
/// two, as (name, metadata, entries).
fn golden_archive() -> Vec<(String, FeedMeta, Vec<crier::entry::Entry>)> {
    let entry =
        |slug: &str, day: u32| hostile::bare(slug, &format!("2024-03-0{day}T09:00:00+01:00"));
    let (one, two, three) = (entry("one", 1), entry("two", 2), entry("three", 3));
    let folder = |page: u32| format!("{FEEDS}archive/{page}/");
    let meta = FeedMeta {
        title: "Network".to_owned(),
        description: "Projects".to_owned(),
        folder_url: FEEDS.to_owned(),
        ..hostile::meta()
    };
    let page = |number: u32, links: ArchiveLinks| FeedMeta {
        folder_url: folder(number),
        archive: Some(ArchiveLinks {
            current: Some(FEEDS.to_owned()),
            ..links
        }),
        ..meta.clone()
    };
    vec![
        (
            "current".to_owned(),
            FeedMeta {
                archive: Some(ArchiveLinks {
                    prev: Some(folder(2)),
                    ..ArchiveLinks::default()
                }),
                ..meta.clone()
            },
            vec![three.clone(), two.clone()],
        ),
        (
            "1".to_owned(),
            page(
                1,
                ArchiveLinks {
                    next: Some(folder(2)),
                    ..ArchiveLinks::default()
                },
            ),
            vec![two, one],
        ),
        (
            "2".to_owned(),
            page(
                2,
                ArchiveLinks {
                    prev: Some(folder(1)),
                    ..ArchiveLinks::default()
                },
            ),
            vec![three],
        ),
    ]
}

#[test]
fn a_small_archive_matches_the_golden_files() {
    let bless = std::env::var_os("CRIER_BLESS").is_some_and(|v| v == "1");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/archive");
    let mut stale = Vec::new();
    for (name, meta, entries) in golden_archive() {
        for format in [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json] {
            let bytes = render(format, &meta, &entries).expect("the archive renders");
            let parsed = feed_rs::parser::parse(bytes.as_slice())
                .unwrap_or_else(|e| panic!("{name} {format:?} parses: {e}"));
            assert_eq!(parsed.entries.len(), entries.len(), "{name} {format:?}");
            let path = dir.join(format!("{name}.{}", format.file_name()));
            if bless {
                std::fs::create_dir_all(&dir).expect("golden folder");
                std::fs::write(&path, &bytes).expect("golden file is writable");
                continue;
            }
            let expected = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (CRIER_BLESS=1 creates it)", path.display()));
            if bytes != expected {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "output differs from the golden files (after an intended change: \
         CRIER_BLESS=1 cargo test --test archive): {stale:?}"
    );
}

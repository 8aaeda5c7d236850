//! Feeds valid for every input, through the binary: entries dated in year 0 or with an offset
//! beyond ±14:00 are reported with their file and key while the others are published; a Paris
//! date of 1900 (local mean time, +00:09:21) keeps its instant; a 20 MB entry and a Markdown
//! table that expands to megabytes of HTML are cut to `feeds.max_content_bytes` with a
//! "continue reading" link, and a file past `feeds.max_file_bytes` shortens its older entries.
//! Every feed file parses back with feed-rs, feedparser, Python's expat and libxml2's xmllint
//! (which refuses a text node of 10 MB or more).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{OutputText, Site};

/// `feeds.max_content_bytes` of the test (the default is 512 KiB; smaller runs faster).
const MAX_CONTENT_BYTES: usize = 256 * 1024;
/// `feeds.max_file_bytes` of the test: the two big entries do not both fit whole.
const MAX_FILE_BYTES: usize = 768 * 1024;

fn site() -> Site {
    let site = Site::new(&format!(
        r#"
[site]
title = "Network"
base_url = "https://example.org"
languages = ["en", "fr"]
timezone = "Europe/Paris"

[[sources]]
type = "directory"
path = "content"

[feeds]
max_content_bytes = {MAX_CONTENT_BYTES}
max_file_bytes = {MAX_FILE_BYTES}
"#
    ));
    let page = |name: &str, date: &str, body: &str| {
        site.write(
            &format!("content/{name}.md"),
            &format!("+++\ntitle = \"{name}\"\ndate = {date}\n+++\n{body}\n"),
        );
    };
    page("year0", "0000-01-01", "Too early.");
    page("offset", "2024-03-12T09:30:00+23:59", "Too far east.");
    page(
        "paris1900",
        "1900-01-01T12:00:00",
        "Noon in Paris, local mean time.",
    );
    page("normal", "2024-05-01", "An ordinary entry.");
    // 20 MB of paragraphs, in French.
    let paragraph = "Un très long paragraphe &amp; des mots, encore des mots. ".repeat(20);
    let huge = format!("{paragraph}\n\n").repeat(20 * 1024 * 1024 / (paragraph.len() + 2));
    page("huge.fr", "2024-05-03", &format!("Le début.\n\n{huge}"));
    // 2 MB of Markdown table, centred columns: several times that in HTML.
    let mut table = String::from("The table.\n\n| a | b | c |\n|:-:|:-:|:-:|\n");
    while table.len() < 2 * 1024 * 1024 {
        table.push_str("|1|<b>2</b>|é|\n");
    }
    page("table", "2024-05-02", &table);
    site
}

#[test]
fn bad_dates_are_reported_and_big_entries_are_cut() {
    let site = site();
    let run = site
        .crier()
        .now("2026-01-01T00:00:00Z")
        .args(["run", "--once"])
        .output();
    let log = run.stderr_text();
    // README: exit 3 when some entries had errors, the others published.
    assert_eq!(run.status.code(), Some(3), "{log}");
    for (file, words) in [
        ("content/year0.md", ["`date`", "1 to 9999"]),
        ("content/offset.md", ["`date`", "±14:00"]),
    ] {
        let line = log
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} is not reported:\n{log}"));
        for word in words {
            assert!(line.contains(word), "{word} in {line}");
        }
    }

    let files = feed_files(&site.path("feeds"));
    assert!(files.len() >= 9, "{files:?}");
    for file in &files {
        let size = std::fs::metadata(file).expect("feed file").len() as usize;
        assert!(size <= MAX_FILE_BYTES, "{}: {size} bytes", file.display());
        parse_with_feed_rs(file);
        if file.extension().is_some_and(|e| e == "xml") {
            xmllint(file);
            expat(file);
        }
    }
    common::check_feeds(&files, None);

    let feed = site.feed("feeds/atom.xml");
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.clone().map(|t| t.content).unwrap_or_default())
        .collect();
    assert_eq!(titles, ["huge.fr", "table", "normal", "paris1900"]);
    let body = |feed: &feed_rs::model::Feed, i: usize| {
        feed.entries[i]
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default()
    };
    let tail = |text: &str| {
        let start = (0..=text.len().saturating_sub(200))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text[start..].to_owned()
    };
    // The newest, 20 MB, is cut at the end of a paragraph; its link is in French.
    let huge = body(&feed, 0);
    assert!(
        huge.len() <= MAX_CONTENT_BYTES && huge.len() > MAX_CONTENT_BYTES - 4096,
        "{}",
        huge.len()
    );
    assert!(huge.starts_with("<p>Le début.</p>"), "{}", huge.len());
    let huge_link = format!(
        "<p><a href=\"{}\">Lire la suite</a></p>",
        feed.entries[0].links[0].href
    );
    assert!(
        huge.ends_with(&format!("</p>{huge_link}")),
        "{}",
        tail(&huge)
    );
    // The file has no room for the table's body as well: its summary and the link.
    let table = body(&feed, 1);
    assert_eq!(
        table,
        "<p>The table.</p><p><a href=\"https://example.org/en/table/\">Continue reading</a></p>"
    );
    // The English feed holds the table whole, cut after a row and closed.
    let en = site.feed("feeds/en/atom.xml");
    let table = body(&en, 0);
    assert!(table.len() <= MAX_CONTENT_BYTES, "{}", table.len());
    assert!(
        table.ends_with(
            "</tr></tbody></table><p><a href=\"https://example.org/en/table/\">Continue reading</a></p>"
        ),
        "{}",
        tail(&table)
    );
    assert_eq!(body(&en, 1).trim(), "<p>An ordinary entry.</p>");

    // Noon in Paris on 1 January 1900 was 11:50:39 UTC: written in UTC, to the second.
    let paris = feed.entries[3].published.expect("a publication date");
    assert_eq!(paris.to_rfc3339(), "1900-01-01T11:50:39+00:00");
    let atom = site.read("feeds/atom.xml");
    assert!(
        atom.contains("<published>1900-01-01T11:50:39+00:00</published>"),
        "the Atom date"
    );
    let rss = site.read("feeds/rss.xml");
    assert!(
        rss.contains("<pubDate>Mon, 1 Jan 1900 11:50:39 +0000</pubDate>"),
        "the RSS date"
    );
    let json = site.read("feeds/feed.json");
    assert!(
        json.contains("\"date_published\": \"1900-01-01T11:50:39+00:00\""),
        "the JSON Feed date"
    );
    let rss_paris = site.feed("feeds/rss.xml").entries[3].published;
    assert_eq!(rss_paris, Some(paris));
}

/// Every feed file under `dir` (not the `head.html`, stylesheets or links files beside them).
fn feed_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for item in std::fs::read_dir(&folder).expect("feeds folder") {
            let path = item.expect("folder item").path();
            if path.is_dir() {
                folders.push(path);
            } else if common::is_feed_file(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn parse_with_feed_rs(file: &Path) {
    let bytes = std::fs::read(file).expect("feed file");
    feed_rs::parser::parse(bytes.as_slice())
        .unwrap_or_else(|e| panic!("{} does not parse with feed-rs: {e}", file.display()));
}

/// libxml2's own reader, without `--huge`: it refuses a text node of 10 MB or more.
fn xmllint(file: &Path) {
    match Command::new("xmllint").arg("--noout").arg(file).output() {
        Ok(out) => assert!(
            out.status.success(),
            "xmllint refuses {}: {}",
            file.display(),
            out.stderr_text()
        ),
        Err(e) => common::reference::skip(
            "CRIER_REQUIRE_XMLLINT",
            &format!("cannot run xmllint ({e}); apt-get install libxml2-utils"),
        ),
    }
}

/// Python's standard XML parser (expat).
fn expat(file: &Path) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as T; T.parse(sys.argv[1])",
        ])
        .arg(file)
        .output();
    match out {
        Ok(out) => assert!(
            out.status.success(),
            "expat refuses {}: {}",
            file.display(),
            out.stderr_text()
        ),
        Err(e) => common::skip_python_check(&format!("cannot run python3 ({e})")),
    }
}

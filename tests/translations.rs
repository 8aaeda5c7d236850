//! Translations and autodiscovery, end to end: the real binary on a two-language site writes
//! feed items that link their translations in all three formats (read back by feed-rs and
//! feedparser), French category feeds with the French title, description and home page, and
//! `head.html` files with the feeds' `<link rel="alternate">` tags; `crier plan` writes no
//! `head.html`, an unchanged run rewrites none, and a new translation rewrites the feeds that
//! link it. Hugo itself then renders a page whose `<head>` includes `head.html` with the
//! snippet of docs/FEEDS.md.

mod common;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use common::{HreflangLink, OutputText, Site, entry_file};
use serde_json::{Value, json};

const CONFIG: &str = r#"
[site]
title = "Network"
description = "Roma inclusion projects"
base_url = "https://example.org"
languages = ["en", "fr"]

[site.language.fr]
title = "Réseau & co"
description = "Projets pour l'inclusion des Roms"
home = "https://example.org/fr/"

[[sources]]
type = "directory"
name = "projects"
path = "content"
permalink = "/{lang}/projects/{slug}/"

[feeds]
output_dir = "static/feeds"
categories = ["*"]
"#;

const NOW: &str = "2024-06-01T12:00:00Z";

/// Ghent in English and French (categories "Prize" and "Prix"), Madrid in English only.
fn site() -> Site {
    let site = Site::new(CONFIG);
    site.write_entry(
        "content/ghent.en.md",
        &entry_file("Ghent", "2024-03-05").category("Prize"),
    );
    site.write_entry(
        "content/ghent.fr.md",
        &entry_file("Gand", "2024-03-05").category("Prix"),
    );
    site.write_entry(
        "content/madrid.en.md",
        &entry_file("Madrid", "2024-03-26").category("Prize"),
    );
    site
}

fn run(site: &Site, args: &[&str]) -> String {
    let output = site.crier().now(NOW).args(args).output();
    assert!(output.status.success(), "{}", output.stderr_text());
    output.stderr_text()
}

/// Every feed file under `static/feeds`, sorted.
fn feed_files(site: &Site) -> Vec<PathBuf> {
    site.feed_files("static/feeds")
        .into_iter()
        .map(|f| f.path)
        .filter(|p| common::is_feed_file(p))
        .collect()
}

fn link(hreflang: &str, href: &str, title: Option<&str>) -> HreflangLink {
    HreflangLink {
        hreflang: hreflang.to_owned(),
        href: href.to_owned(),
        title: title.map(str::to_owned),
    }
}

#[test]
fn items_link_their_translations_and_french_feeds_speak_french() {
    let site = site();
    run(&site, &["run", "--once"]);

    // Atom, read by feed-rs: the English Ghent links the French Gand, which is in no English
    // feed, and its own page with its language.
    let feed = site.feed("static/feeds/en/atom.xml");
    let ghent = feed
        .entries
        .iter()
        .find(|e| e.title.as_ref().is_some_and(|t| t.content == "Ghent"))
        .expect("Ghent in the English feed");
    let alternates: Vec<(&str, Option<&str>, Option<&str>)> = ghent
        .links
        .iter()
        .map(|l| (l.href.as_str(), l.href_lang.as_deref(), l.title.as_deref()))
        .collect();
    assert_eq!(
        alternates,
        [
            ("https://example.org/en/projects/ghent/", Some("en"), None),
            (
                "https://example.org/fr/projects/ghent/",
                Some("fr"),
                Some("Gand")
            ),
        ]
    );

    // RSS, read by feedparser: Gand links Ghent; Madrid has no translation.
    let rss = site.path("static/feeds/fr/rss.xml");
    if let Some(links) = common::hreflang_links(&rss) {
        assert_eq!(
            links,
            [vec![
                link("fr", "https://example.org/fr/projects/ghent/", None),
                link(
                    "en",
                    "https://example.org/en/projects/ghent/",
                    Some("Ghent")
                ),
            ]]
        );
    }
    if let Some(links) = common::hreflang_links(&site.path("static/feeds/rss.xml")) {
        assert_eq!(
            links.iter().filter(|l| l.is_empty()).count(),
            1,
            "{links:?}"
        );
    }

    // JSON Feed: the item's language and `_crier.translations`.
    let json: Value = serde_json::from_str(&site.read("static/feeds/feed.json")).expect("JSON");
    let items = json["items"].as_array().expect("items");
    let by_title = |title: &str| {
        items
            .iter()
            .find(|i| i["title"] == title)
            .unwrap_or_else(|| panic!("{title} in {json}"))
    };
    assert_eq!(by_title("Gand")["language"], "fr");
    assert_eq!(
        by_title("Gand")["_crier"],
        json!({"translations": [
            {"language": "en", "url": "https://example.org/en/projects/ghent/", "title": "Ghent"}
        ]})
    );
    assert!(by_title("Madrid").get("_crier").is_none());

    // The French category, in the main categories folder and in the French one.
    for rel in [
        "static/feeds/categories/prix/atom.xml",
        "static/feeds/fr/categories/prix/rss.xml",
        "static/feeds/fr/categories/prix/feed.json",
    ] {
        let feed = site.feed(rel);
        assert_eq!(
            feed.title.as_ref().map(|t| t.content.as_str()),
            Some("Réseau & co: Prix"),
            "{rel}"
        );
        assert_eq!(
            feed.description.as_ref().map(|t| t.content.as_str()),
            Some("Projets pour l'inclusion des Roms"),
            "{rel}"
        );
        let hrefs: Vec<&str> = feed.links.iter().map(|l| l.href.as_str()).collect();
        assert!(
            hrefs.contains(&"https://example.org/fr/"),
            "{rel}: {hrefs:?}"
        );
        assert_eq!(feed.language.as_deref(), Some("fr"), "{rel}");
    }
    // The English category has its English feed too, and no French one.
    assert_eq!(
        site.feed_titles("static/feeds/en/categories/prize/atom.xml"),
        ["Madrid", "Ghent"]
    );
    assert!(!site.path("static/feeds/fr/categories/prize").exists());

    // Every feed reads back with feed-rs and feedparser.
    let files = feed_files(&site);
    assert_eq!(files.len(), 7 * 3, "{files:?}");
    for file in &files {
        feed_rs::parser::parse(fs::read(file).expect("a feed").as_slice())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    if let Some(stdout) = common::check_feeds(&files, None) {
        assert_eq!(stdout.matches(": ok\n").count(), files.len(), "{stdout}");
    }
}

#[test]
fn head_files_list_each_languages_feeds_first() {
    let site = site();
    // `crier plan` writes no feed, and no head.html either.
    run(&site, &["plan"]);
    assert!(!site.path("static/feeds/head.html").exists());

    run(&site, &["run", "--once"]);
    let line = |title: &str, format: &str, mime: &str, href: &str, lang: Option<&str>| {
        let lang = lang
            .map(|l| format!(" hreflang=\"{l}\""))
            .unwrap_or_default();
        format!(
            "<link rel=\"alternate\" type=\"{mime}\" title=\"{title} ({format})\" href=\"https://example.org/feeds/{href}\"{lang}>"
        )
    };
    let set = |title: &str, dir: &str, lang: Option<&str>| {
        [
            line(
                title,
                "RSS",
                "application/rss+xml",
                &format!("{dir}rss.xml"),
                lang,
            ),
            line(
                title,
                "Atom",
                "application/atom+xml",
                &format!("{dir}atom.xml"),
                lang,
            ),
            line(
                title,
                "JSON Feed",
                "application/feed+json",
                &format!("{dir}feed.json"),
                lang,
            ),
        ]
    };
    let all = set("Network", "", None);
    let en = set("Network", "en/", Some("en"));
    let fr = set("Réseau &amp; co", "fr/", Some("fr"));
    let lines = |rel: &str| -> Vec<String> { site.read(rel).lines().map(str::to_owned).collect() };
    assert_eq!(
        lines("static/feeds/fr/head.html"),
        [fr.clone(), en.clone(), all.clone()].concat()
    );
    assert_eq!(
        lines("static/feeds/en/head.html"),
        [en.clone(), fr.clone(), all.clone()].concat()
    );
    assert_eq!(lines("static/feeds/head.html"), [all, en, fr].concat());
    assert!(!site.path("static/feeds/categories/prix/head.html").exists());

    // An unchanged run rewrites none of them.
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let heads = ["static/feeds/head.html", "static/feeds/fr/head.html"];
    for rel in heads {
        fs::File::options()
            .write(true)
            .open(site.path(rel))
            .and_then(|f| f.set_modified(long_ago))
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
    }
    run(&site, &["run", "--once"]);
    for rel in heads {
        let modified = fs::metadata(site.path(rel)).and_then(|m| m.modified());
        assert_eq!(modified.ok(), Some(long_ago), "{rel} rewritten");
    }
    // One deleted behind crier's back comes back at the next run.
    fs::remove_file(site.path("static/feeds/fr/head.html")).expect("removed");
    run(&site, &["run", "--once"]);
    assert!(site.path("static/feeds/fr/head.html").is_file());
}

#[test]
fn a_new_translation_rewrites_the_feeds_that_link_it() {
    let site = site();
    run(&site, &["run", "--once"]);
    let before = site.read("static/feeds/en/atom.xml");
    assert!(
        !before.contains("madrid/\" rel=\"alternate\" hreflang"),
        "{before}"
    );
    site.write_entry(
        "content/madrid.fr.md",
        &entry_file("Madrid (FR)", "2024-03-26").category("Prix"),
    );
    run(&site, &["run", "--once"]);
    let after = site.read("static/feeds/en/atom.xml");
    assert!(
        after.contains(
            r#"<link href="https://example.org/fr/projects/madrid/" rel="alternate" hreflang="fr" title="Madrid (FR)"/>"#
        ),
        "{after}"
    );
}

/// The first fenced block of `language` in docs/FEEDS.md's autodiscovery section.
/// The Hugo snippet the docs give, run by Hugo itself over the files a real run wrote, on a
/// two-language site: each language's pages carry that language's feeds first, and a site
/// without the files builds. Skipped without `hugo` unless `CRIER_REQUIRE_HUGO_CHECKS=1`
/// (`.ci/run` installs Debian's).
#[test]
fn the_hugo_snippet_of_the_docs_puts_the_links_in_the_head() {
    let site = site();
    run(&site, &["run", "--once"]);

    let hugo = common::hugo::HugoSite::new();
    hugo.write(
        "config.toml",
        "baseURL = \"https://example.org/\"\ntitle = \"Network\"\n\
         defaultContentLanguage = \"en\"\n\
         [languages.en]\nweight = 1\n[languages.fr]\nweight = 2\n",
    );
    hugo.write("content/ghent.en.md", "---\ntitle: Ghent\n---\nBody\n");
    hugo.write("content/ghent.fr.md", "---\ntitle: Gand\n---\nCorps\n");
    hugo.write("layouts/_default/list.html", "list");
    hugo.write(
        "layouts/_default/single.html",
        &format!(
            "<html><head>\n{}</head><body><h1>{{{{ .Title }}}}</h1></body></html>\n",
            common::hugo::docs_snippet("### `head.html`", "go-html-template")
        ),
    );
    // Before crier ever ran there is no file, and the site still builds.
    if hugo.build("a site without head.html").is_none() {
        return;
    }
    for rel in ["head.html", "en/head.html", "fr/head.html"] {
        hugo.write(
            &format!("static/feeds/{rel}"),
            &site.read(&format!("static/feeds/{rel}")),
        );
    }
    hugo.build("the site with head.html")
        .expect("hugo ran before");
    let head = |rel: &str| {
        let page = hugo.read(rel);
        let end = page
            .find("</head>")
            .unwrap_or_else(|| panic!("{rel}: {page}"));
        page[..end].to_owned()
    };
    let french = head("public/fr/ghent/index.html");
    let first = french
        .lines()
        .find(|l| l.starts_with("<link"))
        .unwrap_or_else(|| panic!("no link in {french}"));
    assert_eq!(
        first,
        r#"<link rel="alternate" type="application/rss+xml" title="Réseau &amp; co (RSS)" href="https://example.org/feeds/fr/rss.xml" hreflang="fr">"#
    );
    assert_eq!(
        french.matches("<link rel=\"alternate\"").count(),
        9,
        "{french}"
    );
    let english = head("public/ghent/index.html");
    assert!(
        english.contains(
            "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Network (RSS)\" href=\"https://example.org/feeds/en/rss.xml\" hreflang=\"en\">\n<link"
        ),
        "{english}"
    );
    assert!(
        english.find("feeds/en/rss.xml") < english.find("feeds/fr/rss.xml"),
        "{english}"
    );
}

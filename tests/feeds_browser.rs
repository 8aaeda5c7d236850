//! Feeds opened in a browser: the binary writes the feeds of a two-language network (English
//! and French) with its XSL stylesheets, a local server hands them out over HTTP (Chromium
//! applies no stylesheet to a `file://` page), and headless Chromium shows each one as a page:
//! the test reads the DOM it built (the entry titles, the texts in the feed's language, the
//! dates in its words, the links to the other formats). Screenshots are kept under
//! `target/feeds-browser/` and their paths printed.
//!
//! Without Chromium the test prints why and passes, unless `CRIER_REQUIRE_BROWSER_CHECKS=1`
//! (CI sets it). The feeds also go through feed-rs and feedparser, instruction included.

mod common;

use common::browser::{artefacts, chromium, serve_folder};
use common::{OutputText, Site, check_feeds, entry_file};

const CONFIG: &str = r#"
[site]
title = "Dosta! network"
description = "Roma inclusion, city by city"
base_url = "https://dosta.example.org"
languages = ["en", "fr"]
timezone = "Europe/Paris"

[site.language.fr]
title = "Réseau Dosta!"
description = "L’inclusion des Roms, ville par ville"

[[sources]]
type = "directory"
name = "cities"
path = "content"
permalink = "/{lang}/cities/{slug}/"

[feeds]
output_dir = "public/feeds"
categories = ["Prize"]

[store]
path = "state/crier.sqlite3"
"#;

const NOW: &str = "2024-06-01T12:00:00Z";

/// The network: Ghent in English and French, Lyon in French only, Madrid in English only.
fn site() -> Site {
    let site = Site::new(CONFIG);
    site.write_entry(
        "content/ghent.en.md",
        &entry_file("Ghent wins the Dosta! prize", "2024-03-05")
            .category("Prize")
            .body("The mediators of Ghent & Lyon came first, 1 < 2."),
    );
    site.write_entry(
        "content/ghent.fr.md",
        &entry_file("Gand remporte le prix Dosta!", "2024-03-05")
            .category("Prize")
            .body("Les médiateurs de Gand arrivent premiers."),
    );
    site.write_entry(
        "content/lyon.fr.md",
        &entry_file("Lyon rejoint le réseau", "2024-04-10")
            .body("La ville de Lyon signe la charte Dosta!"),
    );
    site.write_entry(
        "content/madrid.en.md",
        &entry_file("Madrid comes third", "2024-03-26").body("Third place for Madrid."),
    );
    site
}

/// What one feed's page must show.
struct Expected {
    /// The feed, under `public/feeds/`.
    file: &'static str,
    lang: &'static str,
    texts: &'static [&'static str],
}

const PAGES: [Expected; 4] = [
    Expected {
        file: "rss.xml",
        lang: "en",
        texts: &[
            "<h1>Dosta! network</h1>",
            "Roma inclusion, city by city",
            "How to subscribe",
            "https://dosta.example.org/feeds/rss.xml",
            "Ghent wins the Dosta! prize",
            "Gand remporte le prix Dosta!",
            "Madrid comes third",
            "Published <time datetime=\"2024-03-26\">26 March 2024</time>",
            // The summary crier escaped as HTML, shown as the text it was.
            "The mediators of Ghent &amp; Lyon came first, 1 &lt; 2.",
        ],
    },
    Expected {
        file: "atom.xml",
        lang: "en",
        texts: &[
            "<h1>Dosta! network</h1>",
            "Latest entries",
            "https://dosta.example.org/feeds/atom.xml",
            "Madrid comes third",
            "Published <time datetime=\"2024-03-05\">5 March 2024</time>",
            "The mediators of Ghent &amp; Lyon came first, 1 &lt; 2.",
        ],
    },
    Expected {
        file: "fr/rss.xml",
        lang: "fr",
        texts: &[
            "<h1>Réseau Dosta!</h1>",
            "L’inclusion des Roms, ville par ville",
            "Comment s’abonner",
            "Copiez l’adresse ci-dessous et ajoutez-la à votre lecteur de flux.",
            "Adresse du flux",
            "https://dosta.example.org/feeds/fr/rss.xml",
            "Dernières publications",
            "Gand remporte le prix Dosta!",
            "Lyon rejoint le réseau",
            "Publié le <time datetime=\"2024-04-10\">10 avril 2024</time>",
            "Publié le <time datetime=\"2024-03-05\">5 mars 2024</time>",
            "Les médiateurs de Gand arrivent premiers.",
        ],
    },
    Expected {
        file: "fr/atom.xml",
        lang: "fr",
        texts: &[
            "<h1>Réseau Dosta!</h1>",
            "Comment s’abonner",
            "Gand remporte le prix Dosta!",
            "Publié le <time datetime=\"2024-03-05\">5 mars 2024</time>",
        ],
    },
];

#[tokio::test(flavor = "multi_thread")]
async fn feeds_open_in_a_browser_as_pages_in_their_language() {
    let site = site();
    let run = site
        .crier()
        .now(NOW)
        .args(["run", "--once"])
        .output_async()
        .await;
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr_text());

    // One stylesheet per language the feeds show, named right after the XML declaration.
    for lang in ["en", "fr"] {
        assert!(
            site.path(&format!("public/feeds/feed.{lang}.xsl"))
                .is_file()
        );
    }
    let xml: Vec<_> = PAGES
        .iter()
        .map(|page| site.path(&format!("public/feeds/{}", page.file)))
        .collect();
    for (page, path) in PAGES.iter().zip(&xml) {
        let text = site.read(&format!("public/feeds/{}", page.file));
        let second = text.lines().nth(1).unwrap_or_default();
        assert_eq!(
            second,
            format!(
                "<?xml-stylesheet type=\"text/xsl\" href=\"/feeds/feed.{}.xsl\"?>",
                page.lang
            ),
            "{}",
            path.display()
        );
        assert!(
            !site
                .feed_titles(&format!("public/feeds/{}", page.file))
                .is_empty()
        );
    }
    // feedparser reads them without complaint, instruction included.
    check_feeds(&xml, None);
    let json = site.read("public/feeds/feed.json");
    assert!(!json.contains(".xsl"), "{json}");

    // Served from another host than the public URL's: the stylesheet's path still finds it.
    let server = serve_folder(&site.path("public/feeds"), "/feeds/").await;
    let out = artefacts("feeds-browser");
    let profile = tempfile::tempdir().expect("a temporary folder");
    for page in &PAGES {
        let url = format!("{}/feeds/{}", server.uri(), page.file);
        let Some(dom) = chromium(&url, &["--dump-dom"], profile.path()) else {
            return;
        };
        assert!(
            dom.contains(&format!("<html lang=\"{}\">", page.lang)),
            "{url}: {dom}"
        );
        for text in page.texts {
            assert!(dom.contains(text), "{url} shows no {text:?}: {dom}");
        }
        // Each title links to its entry's page, on the site's host.
        let link = format!("<a href=\"https://dosta.example.org/{}/cities/", page.lang);
        assert!(dom.contains(&link), "{url}: {dom}");
        // A page, not the XML tree: no element of the feed is left.
        assert!(
            !dom.contains("<channel") && !dom.contains("<entry"),
            "{url}: {dom}"
        );
        assert!(!dom.contains("&amp;amp;"), "{url}: {dom}");
        // The other formats are linked beside the feed, the current one marked.
        let current = page.file.rsplit('/').next().unwrap_or(page.file);
        for file in ["rss.xml", "atom.xml", "feed.json"] {
            assert!(dom.contains(&format!("<a href=\"{file}\"")), "{url}: {dom}");
        }
        assert!(
            dom.contains(&format!("<a href=\"{current}\" type=\"application/")),
            "{url}: {dom}"
        );
        assert_eq!(dom.matches("aria-current=\"page\"").count(), 1, "{url}");
        // No language's texts leak into another's page.
        let other = if page.lang == "fr" {
            "How to subscribe"
        } else {
            "Comment s’abonner"
        };
        assert!(!dom.contains(other), "{url}: {dom}");
    }

    // What a person sees: a phone's width and a desktop's, and the picture in the docs
    // (`docs/feed-in-browser.png`), without Chromium's banner on XSLT's removal so that the
    // page shows whole (the docs tell of the banner).
    for (name, size, file, banner) in [
        ("fr-rss-phone.png", "400,900", "fr/rss.xml", true),
        ("atom-desktop.png", "1000,800", "atom.xml", true),
        ("feed-in-browser.png", "640,900", "fr/rss.xml", false),
    ] {
        let shot = out.join(name);
        let _ = std::fs::remove_file(&shot);
        let url = format!("{}/feeds/{file}", server.uri());
        let mut args = vec![
            format!("--screenshot={}", shot.display()),
            format!("--window-size={size}"),
        ];
        if !banner {
            args.push("--disable-features=GenerateXSLTWarningBanner".to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chromium(&url, &args, profile.path());
        let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
        assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", shot.display());
        println!("feed screenshot: {}", shot.display());
    }
}

//! `crier preview` of the Zola fixture site (`tests/fixtures/sites/zola`), its pages served by a
//! local mock, opened in a real browser: Debian's Chromium, headless. The test reads the DOM
//! Chromium built (one card per post and network, the lengths, the alt text, the warnings) and
//! checks that a `<script>` written into an entry stayed text: had it run, it would have marked
//! the document. The screenshot is kept under `target/preview-browser/` and its path printed.
//!
//! Without Chromium the test prints why and passes, unless `CRIER_REQUIRE_BROWSER_CHECKS=1`
//! (CI sets it), which makes that a failure. The page is also served by the daemon's health
//! listener at `/preview` (tested here on the same state, without a browser).

mod common;

use common::browser::{artefacts, chromium, file_url};
use common::{OutputText, Site, entry_file};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The baseline run: after the fixture's dates but the ceremony's.
const BASELINE: &str = "2024-06-01T12:00:00Z";
/// The preview, a day later: the two entries written meanwhile are new.
const NOW: &str = "2024-06-02T12:00:00Z";
/// What the entry's script would set on the document, had it run.
const RAN: &str = "data-script-ran";

/// The page of the award entry: every Open Graph tag a card needs.
const AWARD_PAGE: &str = r#"<!DOCTYPE html><html><head><title>Award</title>
<meta property="og:title" content="Ghent wins the 2024 prize">
<meta property="og:description" content="The jury chose Ghent's Roma mediators.">
<meta property="og:image" content="/img/award.svg">
<meta property="og:image:alt" content="The jury on stage">
</head><body>Award</body></html>"#;

/// A page without Open Graph tags: the networks' cards would be empty.
const BARE_PAGE: &str =
    "<!DOCTYPE html><html><head><title>Bare</title></head><body>Bare</body></html>";

const IMAGE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><rect width="600" height="300" fill="#2f6f4f"/><text x="40" y="170" font-size="48" fill="#fff">Roma prize 2024</text></svg>"##;

/// The Zola fixture with crier's config written by `crier init`, the site's URL pointing at
/// `server`, three channels (never called: any request to them fails the test) and five posts
/// a run, and the baseline recorded.
async fn fixture(server: &MockServer) -> Site {
    let site = Site::copy_of("tests/fixtures/sites/zola");
    let root = site.root().to_str().expect("a UTF-8 temporary path");
    let init = site
        .crier()
        .args(["init", "--from", root])
        .output_async()
        .await;
    assert_eq!(init.status.code(), Some(0), "{}", init.stderr_text());
    let config = site
        .read("crier.toml")
        .replace("https://prizes.example.org", &server.uri());
    site.set_config(&config);
    let token = site.secret("token", "t").inline();
    site.append_config(&format!(
        r#"
[announce]
per_run_cap = 5

[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{base}"
access_token = {token}

[[channels]]
type = "bluesky"
name = "bluesky"
base_url = "{base}"
handle = "prizes.example.org"
app_password = {token}

[[channels]]
type = "x"
name = "x"
base_url = "{base}"
image = "none"
[channels.oauth1]
consumer_key = {token}
consumer_secret = {token}
access_token = {token}
access_token_secret = {token}
"#,
        base = server.uri(),
    ));
    let run = site
        .crier()
        .now(BASELINE)
        .args(["run", "--once"])
        .output_async()
        .await;
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr_text());
    // Two entries published after the baseline: one whose page has its Open Graph tags, with an
    // image and a script in its title, and one whose page has none.
    let script = format!("<script>document.documentElement.setAttribute('{RAN}', 'yes')</script>");
    site.write_entry(
        "content/blog/2024-06-02-award.md",
        &entry_file(&format!("Ghent wins {script}"), "2024-06-02")
            .body("The jury chose the mediators of Ghent.")
            .extra("image", "/img/award.svg")
            .extra("image_alt", "The jury on stage in Ghent"),
    );
    site.write_entry(
        "content/blog/2024-06-02-bare.md",
        &entry_file("Lyon joins the network", "2024-06-02").body("Lyon signs up."),
    );
    site
}

/// Serves the entries' pages and the image; nothing else may be asked, POSTs least of all.
async fn mock_site() -> MockServer {
    let server = MockServer::start().await;
    let html = |body: &str| {
        ResponseTemplate::new(200).set_body_raw(body.to_owned(), "text/html; charset=utf-8")
    };
    Mock::given(method("GET"))
        .and(path_regex("award/?$"))
        .respond_with(html(AWARD_PAGE))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("bare/?$"))
        .respond_with(html(BARE_PAGE))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/img/award.svg"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(IMAGE, "image/svg+xml"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("a network request")
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preview_shows_every_post_in_a_browser_and_runs_no_entry_script() {
    let server = mock_site().await;
    let site = fixture(&server).await;
    let out = artefacts("preview-browser");
    let page = out.join("preview.html");
    let run = site
        .crier()
        .now(NOW)
        .args(["preview", "--output"])
        .args([&page])
        .output_async()
        .await;
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr_text());
    assert!(
        run.stdout_text().contains("6 posts of 2 entries"),
        "{}",
        run.stdout_text()
    );

    let profile = tempfile::tempdir().expect("a temporary folder");
    let Some(dom) = chromium(&file_url(&page), &["--dump-dom"], profile.path()) else {
        return;
    };
    // One card per post and network: two entries on three channels.
    assert_eq!(dom.matches("<article class=\"post ").count(), 6, "{dom}");
    for network in ["mastodon", "bluesky", "x"] {
        assert_eq!(
            dom.matches(&format!("data-network=\"{network}\"")).count(),
            2,
            "{network}: {dom}"
        );
    }
    assert!(dom.contains(" / 500 characters"), "{dom}");
    assert!(dom.contains(" / 300 graphemes"), "{dom}");
    assert!(dom.contains(" / 280 weighted characters"), "{dom}");
    // The image of the entry, with its alt text, on the post that attaches it (Mastodon; X is
    // set not to, and Bluesky shows it in its link card), which then has no link card.
    assert_eq!(
        dom.matches("Alt text: <span class=\"alt\">The jury on stage in Ghent</span>")
            .count(),
        1,
        "{dom}"
    );
    // Mastodon and X build their cards from the pages: the award page's tags (on X; Mastodon
    // attaches the image instead), the bare page's missing ones. Bluesky's card is the one
    // crier sends, from the entry.
    let count = |text: &str| dom.matches(text).count();
    assert_eq!(count("The jury chose Ghent's Roma mediators."), 1, "{dom}");
    assert_eq!(
        count("No link card: a post with an image shows the image instead."),
        1,
        "{dom}"
    );
    assert_eq!(
        count("The page has no og:title, og:description, og:image: the link card will be empty."),
        2,
        "{dom}"
    );
    assert_eq!(count("Card sent by crier from the entry"), 2, "{dom}");
    // The entry's script is shown as text and did not run.
    assert!(
        !dom.contains(&format!("{RAN}=\"yes\"")),
        "the entry's script ran: {dom}"
    );
    assert!(dom.contains("Ghent wins &lt;script&gt;"), "{dom}");
    // Six posts, five per run: the last one waits, and says so.
    assert_eq!(
        dom.matches("Held back: announce.per_run_cap (5) reached for this run")
            .count(),
        1,
        "{dom}"
    );
    // The fixture's scheduled ceremony is named at the top.
    assert!(dom.contains("scheduled: "), "{dom}");

    let shot = out.join("preview.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &file_url(&page),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1400",
        ],
        profile.path(),
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", shot.display());
    println!("preview screenshot: {}", shot.display());
}

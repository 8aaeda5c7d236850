//! Links back to the posts, end to end: the real binary announces a new entry on a Mastodon
//! and a Facebook mock (127.0.0.1), and the same run leaves `syndication.json` beside the feeds
//! listing both posts, and the JSON Feed's item with the `_crier` links; a run with nothing new
//! rewrites neither file.

mod common;

use std::fs;
use std::process::Output;
use std::time::{Duration, SystemTime};

use common::{OutputText, Site, entry_file};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: &str = "2024-05-10T12:00:00Z";

/// Both networks on one mock server, answering as their APIs document: Mastodon's status
/// (`POST /api/v1/statuses`) with its `id` and `url`, the Graph API's Page post
/// (`POST /{version}/{page-id}/feed`) with its `id`.
async fn networks() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("authorization", "Bearer masto-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "110",
            "url": "https://m.example/@alliance/110",
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v25.0/123456/feed"))
        .and(body_string_contains("madrid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "123456_789"})))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn site(server: &MockServer) -> Site {
    let site = Site::new(
        r#"
[site]
title = "Network"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/projects/{slug}/"
"#,
    );
    let channels = format!(
        r#"
[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{base}"
access_token = {masto}

[[channels]]
type = "facebook"
name = "facebook-page"
base_url = "{base}"
page_id = "123456"
page_token = {fb}
"#,
        base = server.uri(),
        masto = site.secret("masto", "masto-token").inline(),
        fb = site.secret("fb", "fb-page-token").inline(),
    );
    site.append_config(&channels);
    site.write_entry("content/ghent.md", &entry_file("Ghent", "2024-05-01"));
    site
}

async fn run(site: &Site) -> Output {
    site.run_once_at(NOW).await
}

fn json_file(site: &Site, rel: &str) -> Value {
    serde_json::from_str(&site.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn back_date(site: &Site, rel: &str) -> SystemTime {
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(site.path(rel))
        .and_then(|file| file.set_modified(long_ago))
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    long_ago
}

#[tokio::test(flavor = "multi_thread")]
async fn the_run_that_posts_lists_every_post_in_syndication_json_and_the_json_feed() {
    let server = networks().await;
    let site = site(&server);

    // The baseline announces nothing: no links, no file.
    run(&site).await;
    assert!(!site.path("feeds/syndication.json").exists());

    site.write_entry("content/madrid.md", &entry_file("Madrid", "2024-05-09"));
    run(&site).await;

    let links = json_file(&site, "feeds/syndication.json");
    let id = "content:madrid";
    let url = "https://example.org/projects/madrid/";
    assert_eq!(links["version"], 1);
    assert_eq!(links["by_url"], json!({ url: id }));
    assert_eq!(links["by_path"], json!({"/projects/madrid/": id}));
    let entry = &links["entries"][id];
    assert_eq!(entry["url"], url);
    let posts = entry["posts"].as_array().expect("a list of posts");
    let mut listed: Vec<(&str, &str, &str, &str, &str)> = posts
        .iter()
        .map(|p| {
            let text = |key: &str| p[key].as_str().unwrap_or_else(|| panic!("{key}: {p}"));
            (
                text("network"),
                text("channel"),
                text("account"),
                text("url"),
                text("id"),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            (
                "facebook",
                "facebook-page",
                "123456",
                "https://www.facebook.com/123456_789",
                "123456_789"
            ),
            (
                "mastodon",
                "mastodon",
                "127.0.0.1",
                "https://m.example/@alliance/110",
                "110"
            ),
        ]
    );
    assert!(posts.iter().all(|p| p["sent_at"] == NOW), "{posts:?}");

    // The JSON Feed's item of the announced entry has the links; the other item has none.
    let feed = json_file(&site, "feeds/feed.json");
    let items = feed["items"].as_array().expect("items");
    let madrid = items.iter().find(|i| i["url"] == url).expect("madrid item");
    let mut on: Vec<(&str, &str)> = madrid["_crier"]["syndication"]
        .as_array()
        .expect("_crier.syndication")
        .iter()
        .map(|l| (l["network"].as_str().unwrap(), l["url"].as_str().unwrap()))
        .collect();
    on.sort();
    assert_eq!(
        on,
        [
            ("facebook", "https://www.facebook.com/123456_789"),
            ("mastodon", "https://m.example/@alliance/110"),
        ]
    );
    let ghent = items.iter().find(|i| i["url"] != url).expect("ghent item");
    assert!(ghent.get("_crier").is_none(), "{ghent}");
    // An independent reader still reads the feed, extension and all.
    if let Some(out) = common::check_feeds(&[site.path("feeds/feed.json")], Some(2)) {
        assert!(out.contains(": ok"), "{out}");
    }
    let parsed = feed_rs::parser::parse(site.read("feeds/feed.json").as_bytes())
        .expect("feed-rs reads the JSON Feed");
    assert_eq!(parsed.entries.len(), 2);

    // Nothing new: neither file is written again.
    let old = back_date(&site, "feeds/syndication.json");
    back_date(&site, "feeds/feed.json");
    let again = run(&site).await;
    for rel in ["feeds/syndication.json", "feeds/feed.json"] {
        let modified = fs::metadata(site.path(rel)).unwrap().modified().unwrap();
        assert_eq!(modified, old, "{rel} was written again");
    }
    assert!(
        again.stderr_text().contains("feeds_written=0"),
        "{}",
        again.stderr_text()
    );
    assert_eq!(json_file(&site, "feeds/syndication.json"), links);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_and_plan_write_no_links() {
    let server = MockServer::start().await;
    let site = site(&server);
    run(&site).await;
    site.write_entry("content/madrid.md", &entry_file("Madrid", "2024-05-09"));
    for args in [&["run", "--once", "--dry-run"][..], &["plan"]] {
        let output = site.crier().now(NOW).args(args).output_async().await;
        assert!(output.status.success(), "{}", output.stderr_text());
        assert!(
            !site.path("feeds/syndication.json").exists(),
            "{args:?} wrote links"
        );
    }
    let feed = site.read("feeds/feed.json");
    assert!(!feed.contains("_crier"), "{feed}");
}

/// Between two cycles, the daemon sends the posts whose retry falls due
/// (`engine::job::deliver_due`); the links back follow them there too. On today's clock:
/// Mastodon's retry within its idempotency window (read on the real clock) sends again rather
/// than looking the status up first.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_sent_between_cycles_writes_its_links() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "111",
            "url": "https://m.example/@alliance/111",
        })))
        .mount(&server)
        .await;
    let site = Site::new(
        r#"
[site]
title = "Network"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/projects/{slug}/"
"#,
    );
    let channel = format!(
        "[[channels]]\ntype = \"mastodon\"\nname = \"mastodon\"\nbase_url = \"{}\"\naccess_token = {}\n",
        server.uri(),
        site.secret("masto", "masto-token").inline(),
    );
    site.append_config(&channel);
    let now = chrono::Utc::now();
    let day = |days_ago: i64| {
        (now - chrono::Duration::days(days_ago))
            .format("%Y-%m-%d")
            .to_string()
    };
    site.write_entry("content/ghent.md", &entry_file("Ghent", &day(9)));
    site.run_once_at(&now.to_rfc3339()).await;
    site.write_entry("content/madrid.md", &entry_file("Madrid", &day(1)));
    site.run_once_at(&now.to_rfc3339()).await;
    assert!(
        !site.path("feeds/syndication.json").exists(),
        "nothing was posted yet"
    );

    let config = crier::config::Config::load(&site.config_path()).expect("the config loads");
    let later = now + chrono::Duration::minutes(10);
    let report = crier::engine::job::deliver_due(
        std::sync::Arc::new(config),
        later,
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("the delivery round runs");
    assert_eq!(report.sent.len(), 1, "{report:?}");
    let links = json_file(&site, "feeds/syndication.json");
    let posts = &links["entries"]["content:madrid"]["posts"];
    assert_eq!(posts[0]["url"], "https://m.example/@alliance/111");
    assert_eq!(
        posts[0]["sent_at"],
        later.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert!(
        site.read("feeds/feed.json")
            .contains("https://m.example/@alliance/111")
    );
}

/// The first fenced block of `language` in docs/FEEDS.md's "Links back to the posts".
/// The Hugo snippet the docs give, run by Hugo itself over the file a real run wrote: the
/// announced page links its posts, the other page nothing, and a site without the file builds.
/// Skipped without `hugo` unless `CRIER_REQUIRE_HUGO_CHECKS=1` (`.ci/run` installs Debian's).
#[tokio::test(flavor = "multi_thread")]
async fn the_hugo_snippet_of_the_docs_renders_the_links() {
    let server = networks().await;
    let site = site(&server);
    run(&site).await;
    site.write_entry("content/madrid.md", &entry_file("Madrid", "2024-05-09"));
    run(&site).await;

    let hugo = common::hugo::HugoSite::new();
    hugo.write(
        "config.toml",
        "baseURL = \"https://example.org/\"\ntitle = \"Network\"\n",
    );
    hugo.write(
        "content/projects/madrid.md",
        "---\ntitle: Madrid\n---\nBody\n",
    );
    hugo.write("content/projects/lyon.md", "---\ntitle: Lyon\n---\nBody\n");
    hugo.write("layouts/_default/list.html", "list");
    hugo.write(
        "layouts/_default/single.html",
        &format!(
            "<h1>{{{{ .Title }}}}</h1>\n{}",
            common::hugo::docs_snippet("## Links back to the posts", "go-html-template")
        ),
    );

    // Before crier ever posted there is no file, and the site still builds.
    if hugo.build("a site without syndication.json").is_none() {
        return;
    }
    hugo.write(
        "static/feeds/syndication.json",
        &site.read("feeds/syndication.json"),
    );
    hugo.build("the site with the links")
        .expect("hugo ran before");
    let page = |rel: &str| hugo.read(rel);
    let madrid = page("public/projects/madrid/index.html");
    assert!(
        madrid.contains(
            r#"<a class="u-syndication" href="https://m.example/@alliance/110">Mastodon</a>"#
        ),
        "{madrid}"
    );
    assert!(madrid.contains(">Facebook</a>"), "{madrid}");
    assert!(!page("public/projects/lyon/index.html").contains("u-syndication"));
}

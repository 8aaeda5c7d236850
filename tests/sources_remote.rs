//! Remote sources end to end: the real binary reads an upstream feed from a mock on
//! 127.0.0.1, writes feeds and announces on a Mastodon mock. An unchanged upstream costs one
//! conditional request; an outage of two cycles leaves the feeds as they were; after it, no
//! entry is announced twice.

mod common;

use std::fs;
use std::process::Output;
use std::sync::{Arc, Mutex};

use common::{FeedFile, OutputText, Site};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What the upstream site does right now.
#[derive(Clone)]
enum Upstream {
    /// Serves these items (title, date) with an ETag, and 304 to a matching If-None-Match.
    Items(Vec<(&'static str, &'static str)>),
    /// Answers 500 to everything.
    Down,
    /// Serves a well-formed feed with no items (a CMS misconfigured during maintenance).
    Empty,
    /// Serves an HTML error page with a 200 status, as some CMSs do.
    Garbage,
}

/// One request the upstream saw: the If-None-Match it carried, the status it got.
type Seen = (Option<String>, u16);

#[derive(Clone)]
struct Feed {
    state: Arc<Mutex<Upstream>>,
    /// Requests seen: (If-None-Match sent, status answered).
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Feed {
    fn new(items: Vec<(&'static str, &'static str)>) -> Feed {
        Feed {
            state: Arc::new(Mutex::new(Upstream::Items(items))),
            log: Arc::default(),
        }
    }

    fn set(&self, upstream: Upstream) {
        *self.state.lock().unwrap() = upstream;
    }

    /// Takes the requests seen so far.
    fn requests(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// An upstream on 127.0.0.1 serving `items` as its feed at any path.
async fn upstream(items: Vec<(&'static str, &'static str)>) -> (MockServer, Feed) {
    let server = MockServer::start().await;
    let feed = Feed::new(items);
    Mock::given(method("GET"))
        .respond_with(feed.clone())
        .mount(&server)
        .await;
    (server, feed)
}

fn rss(items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(slug, date)| {
            format!(
                "<item><title>Project {slug}</title><link>https://old.example.org/{slug}</link>\
                 <guid isPermaLink=\"false\">{slug}</guid><pubDate>{date}</pubDate>\
                 <description>&lt;p&gt;About {slug}.&lt;/p&gt;</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Old site</title>\
         <link>https://old.example.org/</link><description>d</description>{items}</channel></rss>"
    )
}

impl Respond for Feed {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let sent = request
            .headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, response) = match &*self.state.lock().unwrap() {
            Upstream::Down => (
                500,
                ResponseTemplate::new(500).set_body_string("database is down"),
            ),
            Upstream::Empty => (200, ResponseTemplate::new(200).set_body_string(rss(&[]))),
            Upstream::Garbage => (
                200,
                ResponseTemplate::new(200).set_body_string("<html><body><p>Maintenance<br></body>"),
            ),
            Upstream::Items(items) => {
                let body = rss(items);
                let etag = format!("\"{}\"", body.len());
                if sent.as_deref() == Some(etag.as_str()) {
                    (304, ResponseTemplate::new(304))
                } else {
                    let ok = ResponseTemplate::new(200)
                        .insert_header("etag", etag.as_str())
                        .insert_header("content-type", "application/rss+xml")
                        .set_body_string(body);
                    (200, ok)
                }
            }
        };
        self.log.lock().unwrap().push((sent, status));
        response
    }
}

#[derive(Clone, Default)]
struct Statuses(Arc<Mutex<Vec<String>>>);

impl Respond for Statuses {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let mut all = self.0.lock().unwrap();
        all.push(body["status"].as_str().unwrap_or_default().to_owned());
        let id = all.len().to_string();
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": id, "url": format!("https://m.example/@a/{id}")}))
    }
}

/// A site reading the feed of `upstream` and announcing on the Mastodon at `mastodon`.
fn site(upstream: &str, mastodon: &str) -> Site {
    let site = Site::new(&format!(
        r#"
[site]
title = "Network"
base_url = "https://example.org"

[[sources]]
type = "feed"
name = "old"
url = "{upstream}/feed.xml"
categories = ["archive"]
[sources.http]
retries = 1
retry_delay = "10ms"
timeout = "5s"

[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{mastodon}"
access_token = {{ file = "mastodon.token" }}
template = "{{{{ title }}}} {{{{ url }}}}"
"#
    ));
    site.secret("mastodon.token", "tok");
    site
}

/// All feed files, by name, to compare two states of the output.
fn feeds(site: &Site) -> Vec<FeedFile> {
    site.feed_files("feeds")
}

async fn crier(site: &Site, args: &[&str]) -> Output {
    crier_at(site, "2024-05-10T12:00:00Z", args).await
}

async fn crier_at(site: &Site, now: &str, args: &[&str]) -> Output {
    site.crier().now(now).args(args).output_async().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_keeps_the_feeds_and_nothing_is_announced_twice() {
    let (upstream, feed) = upstream(vec![
        ("ghent", "Wed, 01 May 2024 10:00:00 GMT"),
        ("madrid", "Thu, 02 May 2024 10:00:00 GMT"),
    ])
    .await;
    let mastodon = MockServer::start().await;
    let statuses = Statuses::default();
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(statuses.clone())
        .mount(&mastodon)
        .await;
    let site = site(&upstream.uri(), &mastodon.uri());

    // Baseline: the two upstream items are recorded, not announced.
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(feed.requests(), [(None, 200)]);
    let atom = fs::read_to_string(site.path("feeds/atom.xml")).unwrap();
    assert!(atom.contains("Project ghent") && atom.contains("Project madrid"));
    assert!(atom.contains("<category term=\"archive\""), "{atom}");
    assert!(statuses.0.lock().unwrap().is_empty());

    // Unchanged upstream: one conditional request answered 304, nothing else.
    let before = feeds(&site);
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let requests = feed.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].0.is_some(), "validators sent: {requests:?}");
    assert_eq!(requests[0].1, 304);
    assert_eq!(feeds(&site), before);
    // A day later (`http.full_read_every`) the read is unconditional once, then 304s again.
    for (now, sent, status) in [
        ("2024-05-11T12:00:00Z", false, 200),
        ("2024-05-11T12:05:00Z", true, 304),
    ] {
        let out = crier_at(&site, now, &["run", "--once"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
        let requests = feed.requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        assert_eq!(
            (requests[0].0.is_some(), requests[0].1),
            (sent, status),
            "{now}"
        );
    }
    assert_eq!(feeds(&site), before);
    // `--full-read` skips the validators on demand.
    let out = crier(&site, &["run", "--once", "--full-read"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(feed.requests(), [(None, 200)]);

    // A new item upstream is published and announced once.
    feed.set(Upstream::Items(vec![
        ("ghent", "Wed, 01 May 2024 10:00:00 GMT"),
        ("madrid", "Thu, 02 May 2024 10:00:00 GMT"),
        ("kragujevac", "Thu, 09 May 2024 10:00:00 GMT"),
    ]));
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(statuses.0.lock().unwrap().len(), 1);
    assert!(statuses.0.lock().unwrap()[0].contains("Project kragujevac"));
    let published = feeds(&site);
    feed.requests();

    // Two cycles of outage: partial exit, the error names the source and URL, feeds untouched.
    feed.set(Upstream::Down);
    for _ in 0..2 {
        let out = crier(&site, &["run", "--once"]).await;
        assert_eq!(out.status.code(), Some(3), "{}", out.stderr_text());
        let log = out.stderr_text();
        assert!(
            log.contains("source \"old\"") && log.contains("/feed.xml") && log.contains("500"),
            "{log}"
        );
        assert_eq!(feeds(&site), published);
    }
    // One retry per cycle, as configured.
    assert_eq!(feed.requests().len(), 4);

    // An empty answer is taken as an outage too, and so is an answer that is not a feed.
    for (upstream, said) in [
        (Upstream::Empty, "listed no entries"),
        (Upstream::Garbage, "not a feed crier can read"),
    ] {
        feed.set(upstream);
        let out = crier(&site, &["run", "--once"]).await;
        let log = out.stderr_text();
        assert_eq!(out.status.code(), Some(3), "{log}");
        assert!(log.contains(said), "{log}");
        assert_eq!(feeds(&site), published);
    }

    // Recovery: same items; nothing is new, nothing is announced again, feeds identical.
    feed.set(Upstream::Items(vec![
        ("ghent", "Wed, 01 May 2024 10:00:00 GMT"),
        ("madrid", "Thu, 02 May 2024 10:00:00 GMT"),
        ("kragujevac", "Thu, 09 May 2024 10:00:00 GMT"),
    ]));
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(feeds(&site), published);
    assert_eq!(statuses.0.lock().unwrap().len(), 1);

    let status = crier(&site, &["status"]).await;
    assert_eq!(status.status.code(), Some(0), "{}", status.stderr_text());
    let stdout = status.stdout_text();
    assert!(
        stdout.contains(
            "old (feed): 3 live entries; validators kept for 1 URL; last full read 2024-05-10T12:00:00.000000Z"
        ),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_down_during_the_first_cycle_gets_its_own_baseline_instead_of_announcing_its_backlog()
 {
    // Recent items: `announce.max_age` (14 days) would not hold them back.
    let items = vec![
        ("ghent", "Wed, 08 May 2024 10:00:00 GMT"),
        ("madrid", "Thu, 09 May 2024 10:00:00 GMT"),
    ];
    let (upstream, feed) = upstream(items.clone()).await;
    let mastodon = MockServer::start().await;
    let statuses = Statuses::default();
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(statuses.clone())
        .mount(&mastodon)
        .await;
    let site = site(&upstream.uri(), &mastodon.uri());

    // The first cycle records the baseline without the source, which is down.
    feed.set(Upstream::Down);
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr_text());

    // Back up: what it had published already is recorded as its baseline, not announced.
    feed.set(Upstream::Items(items.clone()));
    let out = crier(&site, &["run", "--once"]).await;
    let log = out.stderr_text();
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        statuses.0.lock().unwrap().is_empty(),
        "{:?}",
        statuses.0.lock().unwrap()
    );
    let atom = fs::read_to_string(site.path("feeds/atom.xml")).unwrap();
    assert!(atom.contains("Project ghent") && atom.contains("Project madrid"));
    assert!(log.contains("its own baseline is recorded"), "{log}");

    // What it publishes afterwards is new, and announced once.
    let mut more = items;
    more.push(("kragujevac", "Fri, 10 May 2024 10:00:00 GMT"));
    feed.set(Upstream::Items(more));
    for _ in 0..2 {
        let out = crier(&site, &["run", "--once"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    }
    let sent = statuses.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("Project kragujevac"), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_endian_utf16_feed_is_read_and_fails_no_other_source() {
    let (upstream, _feed) = upstream(vec![("ghent", "Wed, 01 May 2024 10:00:00 GMT")]).await;
    // As a partner's CMS serves it: UTF-16, big-endian, no byte order mark, declared.
    let xml = rss(&[("café", "Thu, 02 May 2024 10:00:00 GMT")]).replace(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
    );
    let body: Vec<u8> = xml.encode_utf16().flat_map(u16::to_be_bytes).collect();
    Mock::given(method("GET"))
        .and(path("/partner.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/rss+xml"))
        .with_priority(1)
        .mount(&upstream)
        .await;
    let site = Site::new(&format!(
        r#"
[site]
title = "Network"
base_url = "https://example.org"

[[sources]]
type = "feed"
name = "old"
url = "{upstream}/feed.xml"

[[sources]]
type = "feed"
name = "partner"
url = "{upstream}/partner.xml"
"#,
        upstream = upstream.uri()
    ));

    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let titles = site.feed_titles("feeds/atom.xml");
    assert_eq!(titles, ["Project café", "Project ghent"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_shows_mapped_entries_of_a_remote_source() {
    let (upstream, feed) = upstream(vec![
        ("ghent", "Wed, 01 May 2024 10:00:00 GMT"),
        ("madrid", "Thu, 02 May 2024 10:00:00 GMT"),
    ])
    .await;
    let site = site(&upstream.uri(), "http://127.0.0.1:9");
    let out = crier(&site, &["check", "--show", "1"]).await;
    let stdout = out.stdout_text();
    assert!(
        stdout.contains("source \"old\" (feed): 2 documents, 2 entries"),
        "{stdout}"
    );
    assert!(stdout.contains("old:madrid"), "{stdout}");
    assert!(stdout.contains("title:     Project madrid"), "{stdout}");
    assert!(!stdout.contains("old:ghent"), "only one shown: {stdout}");

    feed.set(Upstream::Down);
    let out = crier(&site, &["check"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", out.stdout_text());
    let stdout = out.stdout_text();
    assert!(stdout.contains("error: source \"old\": GET"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sources_with_the_same_item_ids_do_not_collide() {
    let (upstream, _feed) = upstream(vec![("ghent", "Wed, 01 May 2024 10:00:00 GMT")]).await;
    let base = upstream.uri();
    let site = Site::new(&format!(
        r#"
[site]
title = "Network"
base_url = "https://example.org"
languages = ["en", "fr"]

[[sources]]
type = "feed"
name = "partners-en"
url = "{base}/en.xml"
categories = ["partners"]

[[sources]]
type = "feed"
name = "partners-fr"
url = "{base}/fr.xml"
language = "fr"
categories = ["partenaires"]
"#
    ));
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());

    let all = fs::read_to_string(site.path("feeds/feed.json")).unwrap();
    let all: serde_json::Value = serde_json::from_str(&all).unwrap();
    let mut ids: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "tag:example.org,2024:partners-en:ghent",
            "tag:example.org,2024:partners-fr:ghent"
        ]
    );
    let fr = fs::read_to_string(site.path("feeds/fr/feed.json")).unwrap();
    let fr: serde_json::Value = serde_json::from_str(&fr).unwrap();
    let items = fr["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], "tag:example.org,2024:partners-fr:ghent");
    assert_eq!(items[0]["tags"], json!(["partenaires"]));
    let en = fs::read_to_string(site.path("feeds/en/feed.json")).unwrap();
    let en: serde_json::Value = serde_json::from_str(&en).unwrap();
    assert_eq!(en["items"][0]["tags"], json!(["partners"]));
}

fn fixture(path: &str) -> Vec<u8> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sources")
        .join(path);
    fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wordpress_and_web_pages_reach_the_feeds() {
    use wiremock::matchers::{query_param, query_param_is_missing};

    let server = MockServer::start().await;
    let uri = server.uri();
    let projects = "/wp-json/wp/v2/projects";
    let page2 = format!("{uri}{projects}?_embed&per_page=100&page=2");
    Mock::given(path(projects))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json; charset=UTF-8")
                .set_body_raw(fixture("json/wp-posts-page2.json"), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(path(projects))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{page2}>; rel=\"next\"").as_str())
                .set_body_raw(fixture("json/wp-posts-page1.json"), "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/fr/prix/"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("html/listing-1.html"), "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/fr/prix/"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("html/listing-2.html"), "text/html"),
        )
        .mount(&server)
        .await;
    for (name, file) in [
        ("gand", "gand"),
        ("kragujevac", "kragujevac"),
        ("reggio", "reggio"),
        ("madrid", "madrid"),
        ("brouillon", "malformed"),
    ] {
        Mock::given(path(format!("/fr/prix/{name}/")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(fixture(&format!("html/{file}.html")), "text/html"),
            )
            .mount(&server)
            .await;
    }
    let site = Site::new(&format!(
        r#"
[site]
title = "Villes"
base_url = "https://villes.example.org/"
languages = ["fr", "en"]
timezone = "Europe/Paris"

[[sources]]
type = "json"
name = "wp"
preset = "wordpress"
url = "{uri}{projects}"

[[sources]]
type = "html"
name = "prix"
url = "{uri}/fr/prix/"
[sources.listing]
links = ".laureats h2 a"
next = "a[rel=next]"
[sources.selectors]
published = ".date"
[sources.selectors.extra]
city = ".ville"
country = ".pays"
"#
    ));

    let check = crier(&site, &["check", "--show", "1"]).await;
    let stdout = check.stdout_text();
    assert!(
        stdout.contains("source \"wp\" (json): 6 documents, 6 entries"),
        "{stdout}"
    );
    assert!(
        stdout.contains("source \"prix\" (html): 5 documents, 4 entries"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/fr/prix/brouillon/"),
        "the broken page is named: {stdout}"
    );

    // The broken page fails alone: exit 3, every other entry published.
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr_text());
    let feed = site.feed("feeds/atom.xml");
    assert_eq!(feed.entries.len(), 10);
    let french = site.feed("feeds/fr/atom.xml");
    let gand = french
        .entries
        .iter()
        .find(|e| e.id == "https://villes.example.org/fr/prix/gand/")
        .expect("the Ghent page, by its canonical URL");
    assert_eq!(
        gand.published.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-12T08:30:00+00:00")
    );
    assert!(
        french.entries.iter().all(|e| {
            let title = e.title.as_ref().map(|t| t.content.as_str()).unwrap_or("");
            !title.contains("&#")
        }),
        "titles are decoded text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_withdrawn_upstream_stays_withdrawn_through_304s() {
    let (upstream, feed) = upstream(vec![
        ("a", "Wed, 01 May 2024 10:00:00 GMT"),
        ("b", "Thu, 02 May 2024 10:00:00 GMT"),
    ])
    .await;
    let site = site(&upstream.uri(), "http://127.0.0.1:9");
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());

    feed.set(Upstream::Items(vec![(
        "a",
        "Wed, 01 May 2024 10:00:00 GMT",
    )]));
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let without_b = feeds(&site);
    assert!(
        !fs::read_to_string(site.path("feeds/atom.xml"))
            .unwrap()
            .contains("Project b")
    );
    feed.requests();

    // The upstream now answers 304: b must not come back.
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(
        feed.requests(),
        [(
            Some(
                "\"".to_owned()
                    + &rss(&[("a", "Wed, 01 May 2024 10:00:00 GMT")])
                        .len()
                        .to_string()
                    + "\""
            ),
            304
        )]
    );
    assert_eq!(feeds(&site), without_b);
}

/// A small site of web pages whose listing and pages a test can change between cycles.
#[derive(Clone, Default)]
struct Pages(Arc<Mutex<std::collections::HashMap<String, (u16, String)>>>);

impl Pages {
    fn set(&self, path: &str, status: u16, body: &str) {
        self.0
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, body.to_owned()));
    }
}

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let pages = self.0.lock().unwrap();
        let Some((status, body)) = pages.get(request.url.path()) else {
            return ResponseTemplate::new(404);
        };
        let etag = format!("\"{}\"", remote_hash(body));
        let sent = request
            .headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok());
        if *status == 200 && sent == Some(etag.as_str()) {
            return ResponseTemplate::new(304);
        }
        ResponseTemplate::new(*status)
            .insert_header("etag", etag.as_str())
            .set_body_raw(body.clone().into_bytes(), "text/html; charset=utf-8")
    }
}

fn remote_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

fn listing(links: &[&str]) -> String {
    let items: String = links
        .iter()
        .map(|l| format!("<li><a href=\"{l}\">x</a></li>"))
        .collect();
    format!("<html><body><ul class=\"list\">{items}</ul></body></html>")
}

fn project(slug: &str, date: &str) -> String {
    format!(
        "<html lang=\"fr\"><head><link rel=\"canonical\" href=\"https://villes.example.org/p/{slug}/\"></head>\
         <body><h1>Projet {slug}</h1><p class=\"date\">{date}</p><article><p>Texte {slug}.</p></article></body></html>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_survive_changing_links_and_failed_pages_are_fetched_again() {
    let server = MockServer::start().await;
    let pages = Pages::default();
    Mock::given(method("GET"))
        .respond_with(pages.clone())
        .mount(&server)
        .await;
    pages.set("/p/", 200, &listing(&["/p/a/?from=home"]));
    pages.set("/p/a/", 200, &project("a", "12 mars 2024"));
    let site = Site::new(&format!(
        r#"
[site]
title = "Villes"
base_url = "https://villes.example.org/"
languages = ["fr"]

[[sources]]
type = "html"
name = "p"
url = "{}/p/"
[sources.http]
retries = 0
[sources.listing]
links = ".list a"
[sources.selectors]
published = ".date"
"#,
        server.uri()
    ));
    let atom = || fs::read_to_string(site.path("feeds/atom.xml")).unwrap();
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(atom().contains("Projet a"));

    // The listing links to the same page with another tracking parameter: same entry, kept.
    pages.set("/p/", 200, &listing(&["/p/a/?from=news"]));
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(
        !out.stderr_text().contains("entry removed"),
        "{}",
        out.stderr_text()
    );
    assert!(atom().contains("Projet a"));

    // A new page fails when it first appears; once it works it is read, although the
    // listing itself has not changed since.
    pages.set("/p/", 200, &listing(&["/p/a/?from=news", "/p/b/"]));
    pages.set("/p/b/", 503, "busy");
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr_text());
    assert!(!atom().contains("Projet b"));
    pages.set("/p/b/", 200, &project("b", "13 mars 2024"));
    let out = crier(&site, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(atom().contains("Projet b"), "{}", out.stderr_text());
    assert!(atom().contains("Projet a"));
}

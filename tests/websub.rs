//! WebSub end to end: the real binary, with `[feeds.websub]` naming hub mocks on 127.0.0.1,
//! names the hubs in all three feed formats (which still parse back with feed-rs and
//! feedparser), notifies each hub once per changed feed with a form-encoded publish request,
//! nothing when no feed changed, retries a hub that answered 503 on a later run (not before its
//! `Retry-After`), and gives up on a 400 with a log line that says what to do.

mod common;

use std::process::Command;

use common::{OutputText, Site, entry_file};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const NOW: &str = "2024-05-10T12:00:00Z";
const FEEDS: [&str; 3] = ["atom.xml", "feed.json", "rss.xml"];

fn site(hubs: &[String]) -> Site {
    let hubs: Vec<String> = hubs.iter().map(|h| format!("{h:?}")).collect();
    let site = Site::new(&format!(
        r#"
[site]
title = "Network"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/projects/{{slug}}/"

[feeds.websub]
hubs = [{}]
"#,
        hubs.join(", ")
    ));
    site.write_entry("content/ghent.md", &entry_file("Ghent", "2024-05-01"));
    site
}

/// The requests `server` received at `hub_path`.
async fn requests(server: &MockServer, hub_path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == hub_path)
        .collect()
}

/// The feed URLs named by publish requests, after checking each is one, as the hubs read it.
fn published(requests: &[Request]) -> Vec<String> {
    let mut urls = Vec::new();
    for request in requests {
        assert_eq!(request.method.as_str(), "POST");
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/x-www-form-urlencoded"));
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert_eq!(pairs[0], ("hub.mode".to_owned(), "publish".to_owned()));
        assert_eq!(pairs[1].0, "hub.url");
        urls.push(pairs[1].1.clone());
    }
    urls.sort();
    urls
}

fn feed_urls(folder: &str) -> Vec<String> {
    FEEDS
        .iter()
        .map(|f| format!("https://example.org/feeds/{folder}{f}"))
        .collect()
}

fn status(site: &Site) -> String {
    let output = site.crier().now(NOW).args(["status"]).output();
    assert!(output.status.success(), "{}", output.stderr_text());
    output.stdout_text()
}

/// A hub mock at `/hub` that accepts every notification (204), and its URL.
async fn accepting_hub() -> (MockServer, String) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hub"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let hub = format!("{}/hub", server.uri());
    (server, hub)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_changed_feed_is_published_to_each_hub_once_and_an_unchanged_run_publishes_nothing() {
    let (server, hub) = accepting_hub().await;
    let site = site(std::slice::from_ref(&hub));

    // The first run writes every feed: each is new to the hub.
    let first = site.run_once_at(NOW).await;
    assert_eq!(
        published(&requests(&server, "/hub").await),
        feed_urls(""),
        "{}",
        first.stderr_text()
    );
    assert!(first.stderr_text().contains("hub notified"));

    // Nothing changed: no feed is written, no hub is told.
    site.run_once_at("2024-05-10T12:05:00Z").await;
    assert_eq!(requests(&server, "/hub").await.len(), 3);

    // A new entry changes the three feeds: three more notifications, one per feed.
    site.write_entry("content/madrid.md", &entry_file("Madrid", "2024-05-09"));
    site.run_once_at("2024-05-10T12:10:00Z").await;
    let all = requests(&server, "/hub").await;
    assert_eq!(all.len(), 6);
    assert_eq!(published(&all[3..]), feed_urls(""));
    assert!(status(&site).contains("hub notifications: none waiting"));

    // Every format names the hub beside its self link, and still parses.
    for file in FEEDS {
        let feed = site.feed(&format!("feeds/{file}"));
        assert_eq!(feed.entries.len(), 2, "{file}");
        if file != "feed.json" {
            let hubs: Vec<&str> = feed
                .links
                .iter()
                .filter(|l| l.rel.as_deref() == Some("hub"))
                .map(|l| l.href.as_str())
                .collect();
            assert_eq!(hubs, [hub.as_str()], "{file}");
        }
    }
    let json: serde_json::Value = serde_json::from_str(&site.read("feeds/feed.json")).unwrap();
    assert_eq!(
        json["hubs"],
        serde_json::json!([{"type": "WebSub", "url": hub}])
    );
    let paths: Vec<_> = FEEDS
        .iter()
        .map(|f| site.path(&format!("feeds/{f}")))
        .collect();
    common::check_feeds(&paths, Some(2));
    feedparser_hubs(&site, &hub);
}

/// feedparser exposes the feed's links, the hub among them with rel `hub`.
fn feedparser_hubs(site: &Site, hub: &str) {
    let script = "import sys\n\
        try:\n    import feedparser\n\
        except ImportError:\n    sys.exit(77)\n\
        for path in sys.argv[1:]:\n    \
            feed = feedparser.parse(path).feed\n    \
            print(path.rsplit('/', 1)[-1], ' '.join(l['href'] for l in feed.get('links', []) if l.get('rel') == 'hub'))\n";
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(site.path("feeds/rss.xml"))
        .arg(site.path("feeds/atom.xml"))
        .output();
    let output = match output {
        Ok(output) if output.status.code() == Some(77) => {
            return common::skip_python_check("feedparser is not installed");
        }
        Ok(output) => output,
        Err(error) => return common::skip_python_check(&format!("cannot run python3 ({error})")),
    };
    assert!(output.status.success(), "{}", output.stderr_text());
    assert_eq!(
        output.stdout_text(),
        format!("rss.xml {hub}\natom.xml {hub}\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_hub_is_retried_on_a_later_run_and_a_refusal_is_given_up() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/busy"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", "120")
                .set_body_string("try later"),
        )
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/wrong"))
        .respond_with(ResponseTemplate::new(400).set_body_string("hub.url is not a known topic"))
        .mount(&server)
        .await;
    let busy = format!("{}/busy", server.uri());
    let wrong = format!("{}/wrong", server.uri());
    let site = site(&[busy.clone(), wrong.clone()]);

    let first = site.run_once_at(NOW).await;
    let log = first.stderr_text();
    assert_eq!(published(&requests(&server, "/busy").await), feed_urls(""));
    assert_eq!(published(&requests(&server, "/wrong").await), feed_urls(""));
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("hub refused the notification"))
        .collect();
    assert_eq!(refused.len(), 3, "{log}");
    for line in refused {
        assert!(line.contains("ERROR"), "{line}");
        assert!(line.contains(&wrong), "{line}");
        assert!(
            line.contains("HTTP 400 Bad Request: hub.url is not a known topic"),
            "{line}"
        );
        assert!(line.contains("feeds.websub.hubs"), "{line}");
    }
    let waiting = status(&site);
    assert!(
        waiting.contains(&format!(
            "  {busy}: 3 pending (next 2024-05-10T12:02:00+00:00), 0 given up\n    last error: HTTP 503 Service Unavailable: try later"
        )),
        "{waiting}"
    );
    assert!(
        waiting.contains(&format!(
            "  {wrong}: 0 pending, 3 given up\n    last error: HTTP 400 Bad Request"
        )),
        "{waiting}"
    );

    // Before the hub's Retry-After nothing is sent again.
    site.run_once_at("2024-05-10T12:01:00Z").await;
    assert_eq!(requests(&server, "/busy").await.len(), 3);

    // Once due, the busy hub is told again and takes it; the refusing hub is not asked again.
    let later = site.run_once_at("2024-05-10T12:03:00Z").await;
    let busy_requests = requests(&server, "/busy").await;
    assert_eq!(busy_requests.len(), 6, "{}", later.stderr_text());
    assert_eq!(published(&busy_requests[3..]), feed_urls(""));
    assert_eq!(requests(&server, "/wrong").await.len(), 3);
    let settled = status(&site);
    assert!(!settled.contains(&format!("{busy}:")), "{settled}");
    assert!(
        settled.contains(&format!("{wrong}: 0 pending, 3 given up")),
        "{settled}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_leaves_its_notifications_to_the_next_run() {
    let (server, hub) = accepting_hub().await;
    let site = site(std::slice::from_ref(&hub));
    let dry = site
        .crier()
        .now(NOW)
        .args(["run", "--once", "--dry-run"])
        .output_async()
        .await;
    assert!(dry.status.success(), "{}", dry.stderr_text());
    assert!(requests(&server, "/hub").await.is_empty());
    assert!(status(&site).contains(&format!("{hub}: 3 pending")));
    site.run_once_at(NOW).await;
    assert_eq!(published(&requests(&server, "/hub").await), feed_urls(""));
}

#[test]
fn an_unknown_key_or_a_wrong_hub_url_is_named() {
    let check = |site: &Site| {
        let output = site.crier().args(["check"]).output();
        assert!(!output.status.success());
        format!("{}{}", output.stdout_text(), output.stderr_text())
    };
    let typo = site(&["https://hub.example/".to_owned()]);
    typo.append_config("max_attempt = 3\n");
    let text = check(&typo);
    assert!(text.contains("`feeds.websub.max_attempt`"), "{text}");
    assert!(text.contains("did you mean `max_attempts`?"), "{text}");

    let text = check(&site(&["ftp://hub.example/".to_owned()]));
    assert!(text.contains("`feeds.websub.hubs"), "{text}");
    assert!(
        text.contains("must start with https:// or http://"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_sends_a_retry_when_it_falls_due_between_ticks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hub"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hub"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(&server)
        .await;
    let hub = format!("{}/hub", server.uri());
    let site = site(std::slice::from_ref(&hub));
    // A schedule that will not tick during the test: after the first cycle, only the
    // notifications' due time can wake the daemon.
    site.append_config("\n[daemon]\nschedule = \"0 0 1 1 *\"\n");
    let stopped = tokio::task::spawn_blocking(move || {
        let mut daemon = site.crier().args(["run"]).spawn();
        daemon.wait_for_log("hub notification failed; it will be tried again");
        daemon.wait_for_log("hub notified");
        daemon.stop()
    })
    .await
    .expect("the daemon's thread");
    assert!(stopped.status.success(), "{}", stopped.log);
    let all = requests(&server, "/hub").await;
    assert_eq!(all.len(), 6, "{}", stopped.log);
    assert_eq!(published(&all[3..]), feed_urls(""));
    assert_eq!(
        stopped.log.matches("hub notified").count(),
        3,
        "{}",
        stopped.log
    );
}

//! What an operator finds after the failures they meet most, driven through the real binary
//! against local mocks: an expired Facebook Page token (the channel pauses, says how to get a
//! new one, and the other channels go on), X rate limiting (the post waits for the announced
//! reset, then goes out), an expired Bluesky session (refreshed without anyone noticing),
//! `crier retry` of a delivery given up after a timeout (its post is found, not made twice),
//! and the runs after a pause or a post given up (each exits 3 and says why until the retry).

mod common;

use std::process::Output;
use std::sync::{Arc, Mutex};

use common::{OutputText, Site, entry_file};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const NOW: &str = "2024-05-10T12:00:00Z";

/// A site with one entry recorded by a first run.
async fn site() -> Site {
    let site = Site::new(
        r#"
[site]
title = "Network"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/{slug}/"
"#,
    );
    entry(&site, "ghent", "2024-05-01");
    let first = crier(&site, &["run", "--once"], NOW).await;
    assert!(first.status.success(), "{}", first.stderr_text());
    site
}

/// An entry file `content/{slug}.md` titled `slug`.
fn entry(site: &Site, slug: &str, date: &str) {
    site.write_entry(&format!("content/{slug}.md"), &entry_file(slug, date));
}

async fn crier(site: &Site, args: &[&str], now: &str) -> Output {
    site.crier().now(now).args(args).output_async().await
}

async fn crier_status(site: &Site) -> String {
    crier(site, &["status"], NOW).await.stdout_text()
}

/// Writes a secret file and returns its `{ file = "…" }` reference.
fn secret_ref(site: &Site, name: &str, value: &str) -> String {
    site.secret(name, value).inline()
}

/// Counts the requests it answers with a fixed template.
#[derive(Clone)]
struct Counted(Arc<Mutex<usize>>, ResponseTemplate);

impl Respond for Counted {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        *self.0.lock().unwrap() += 1;
        self.1.clone()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_page_token_pauses_facebook_only_and_says_how_to_renew_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v25.0/123456/feed"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Error validating access token: Session has expired on Friday, 10-May-24 11:00:00 PDT.",
            "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "Abc"
        }})))
        .mount(&server)
        .await;
    let masto_posts = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(Counted(
            masto_posts.clone(),
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "1", "url": "https://m.example/1"})),
        ))
        .mount(&server)
        .await;
    let site = site().await;
    let channels = format!(
        r#"
[[channels]]
type = "facebook"
name = "facebook"
base_url = "{base}"
page_id = "123456"
page_token = {fb}

[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{base}"
access_token = {masto}
"#,
        base = server.uri(),
        fb = secret_ref(&site, "fb", "fb-page-token-expired"),
        masto = secret_ref(&site, "masto", "masto-token"),
    );
    site.append_config(&channels);

    entry(&site, "madrid", "2024-05-09");
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert_eq!(run.status.code(), Some(3), "{}", run.stderr_text());
    assert!(!run.stderr_text().contains("fb-page-token-expired"));
    // The other channel posted in the same run.
    assert_eq!(*masto_posts.lock().unwrap(), 1);

    let status = crier_status(&site).await;
    assert!(status.contains("facebook: 1 pending"), "{status}");
    assert!(status.contains("PAUSED"), "{status}");
    assert!(status.contains("Page access token"), "{status}");
    assert!(
        status.contains("crier retry --channel facebook"),
        "{status}"
    );
    assert!(status.contains("mastodon: 1 sent"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn x_rate_limiting_waits_for_the_announced_reset() {
    let server = MockServer::start().await;
    // Reset at 2024-05-10T12:15:00Z.
    let reset = "1715343300";
    let limited = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(Counted(
            limited.clone(),
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-reset", reset)
                .insert_header("x-rate-limit-remaining", "0")
                .set_body_json(json!({"title": "Too Many Requests", "status": 429})),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let posted = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(Counted(
            posted.clone(),
            ResponseTemplate::new(201).set_body_json(json!({"data": {"id": "9", "text": "t"}})),
        ))
        .mount(&server)
        .await;
    // The retry comes 15 minutes after the delivery was queued, past X's duplicate window:
    // crier first looks through the account's posts (none), then posts.
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"id": "42", "name": "N", "username": "n"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/users/42/tweets"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"meta": {"result_count": 0}})),
        )
        .mount(&server)
        .await;
    let site = site().await;
    let channels = format!(
        r#"
[[channels]]
type = "x"
name = "x"
base_url = "{base}"
[channels.oauth1]
consumer_key = {a}
consumer_secret = {b}
access_token = {c}
access_token_secret = {d}
"#,
        base = server.uri(),
        a = secret_ref(&site, "a", "ck"),
        b = secret_ref(&site, "b", "cs"),
        c = secret_ref(&site, "c", "at"),
        d = secret_ref(&site, "d", "ats"),
    );
    site.append_config(&channels);

    entry(&site, "madrid", "2024-05-09");
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert!(run.status.success(), "{}", run.stderr_text());
    assert_eq!(*limited.lock().unwrap(), 1);
    let status = crier_status(&site).await;
    assert!(status.contains("x: 1 failed"), "{status}");
    assert!(status.contains("429"), "{status}");

    // Before the reset nothing is tried; after it the post goes out.
    crier(&site, &["run", "--once"], "2024-05-10T12:14:00Z").await;
    assert_eq!(*posted.lock().unwrap(), 0);
    let run = crier(&site, &["run", "--once"], "2024-05-10T12:15:01Z").await;
    assert!(run.status.success(), "{}", run.stderr_text());
    assert_eq!(*posted.lock().unwrap(), 1);
    assert!(crier_status(&site).await.contains("x: 1 sent"));
}

/// A PDS whose first access token expires after one use.
#[derive(Clone, Default)]
struct Pds {
    sessions: Arc<Mutex<usize>>,
    refreshes: Arc<Mutex<usize>>,
    records: Arc<Mutex<usize>>,
}

impl Respond for Pds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let session = |access: &str| {
            ResponseTemplate::new(200).set_body_json(json!({
                "accessJwt": access, "refreshJwt": "refresh-1",
                "did": "did:plc:abc", "handle": "alliance.example.com"
            }))
        };
        match request.url.path() {
            "/xrpc/com.atproto.server.createSession" => {
                *self.sessions.lock().unwrap() += 1;
                session("access-1")
            }
            "/xrpc/com.atproto.server.refreshSession" if auth == "Bearer refresh-1" => {
                *self.refreshes.lock().unwrap() += 1;
                session("access-2")
            }
            "/xrpc/com.atproto.repo.createRecord" if auth == "Bearer access-2" => {
                *self.records.lock().unwrap() += 1;
                ResponseTemplate::new(200).set_body_json(json!({
                    "uri": "at://did:plc:abc/app.bsky.feed.post/3kabc", "cid": "bafy"
                }))
            }
            "/xrpc/com.atproto.repo.createRecord" | "/xrpc/com.atproto.repo.getRecord"
                if auth == "Bearer access-1" =>
            {
                ResponseTemplate::new(400)
                    .set_body_json(json!({"error": "ExpiredToken", "message": "Token has expired"}))
            }
            "/xrpc/com.atproto.repo.getRecord" => ResponseTemplate::new(400)
                .set_body_json(json!({"error": "RecordNotFound", "message": "not found"})),
            _ => ResponseTemplate::new(401)
                .set_body_json(json!({"error": "AuthenticationRequired", "message": "no"})),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_bluesky_session_is_refreshed_and_the_post_goes_out() {
    let server = MockServer::start().await;
    let pds = Pds::default();
    Mock::given(wiremock::matchers::path_regex("^/xrpc/"))
        .respond_with(pds.clone())
        .mount(&server)
        .await;
    let site = site().await;
    let channels = format!(
        r#"
[[channels]]
type = "bluesky"
name = "bluesky"
base_url = "{base}"
handle = "alliance.example.com"
app_password = {pw}
"#,
        base = server.uri(),
        pw = secret_ref(&site, "pw", "app-password-xyz"),
    );
    site.append_config(&channels);

    entry(&site, "madrid", "2024-05-09");
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert!(run.status.success(), "{}", run.stderr_text());
    assert!(!run.stderr_text().contains("app-password-xyz"));
    assert_eq!(*pds.sessions.lock().unwrap(), 1);
    assert_eq!(*pds.refreshes.lock().unwrap(), 1);
    assert_eq!(*pds.records.lock().unwrap(), 1);
    assert!(crier_status(&site).await.contains("bluesky: 1 sent"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_app_password_pauses_bluesky_with_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.createSession"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}),
        ))
        .mount(&server)
        .await;
    let site = site().await;
    let channels = format!(
        r#"
[[channels]]
type = "bluesky"
name = "bluesky"
base_url = "{base}"
handle = "alliance.example.com"
app_password = {pw}
"#,
        base = server.uri(),
        pw = secret_ref(&site, "pw", "revoked-app-password"),
    );
    site.append_config(&channels);
    entry(&site, "madrid", "2024-05-09");
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert_eq!(run.status.code(), Some(3), "{}", run.stderr_text());
    let status = crier_status(&site).await;
    assert!(status.contains("PAUSED"), "{status}");
    assert!(status.contains("App passwords"), "{status}");
    assert!(!status.contains("revoked-app-password"), "{status}");
}

/// A Page feed: posts are kept with their link, listed newest first; the first post is
/// answered only after `first_delay`, past the client's timeout.
#[derive(Clone)]
struct PageFeed {
    posts: Arc<Mutex<Vec<String>>>,
    first_delay: std::time::Duration,
}

impl Respond for PageFeed {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut posts = self.posts.lock().unwrap();
        if request.method.as_str() == "POST" {
            let link = url::form_urlencoded::parse(&request.body)
                .find(|(k, _)| k == "link")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            posts.push(link);
            let answer = ResponseTemplate::new(200)
                .set_body_json(json!({"id": format!("123456_{}", posts.len())}));
            return if posts.len() == 1 {
                answer.set_delay(self.first_delay)
            } else {
                answer
            };
        }
        let created = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S+0000")
            .to_string();
        let data: Vec<_> = posts
            .iter()
            .enumerate()
            .rev()
            .map(|(i, link)| {
                json!({
                    "id": format!("123456_{}", i + 1), "message": "", "created_time": created,
                    "attachments": {"data": [{"unshimmed_url": link}]}
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
    }
}

/// `crier retry` used to reset a delivery's attempts: one given up after a timeout, whose post
/// had in fact gone out, was then sent as a blind first attempt and posted twice.
#[tokio::test(flavor = "multi_thread")]
async fn crier_retry_of_a_timed_out_delivery_finds_its_post_instead_of_posting_twice() {
    let server = MockServer::start().await;
    let feed = PageFeed {
        posts: Arc::default(),
        first_delay: std::time::Duration::from_secs(3),
    };
    Mock::given(path("/v25.0/123456/feed"))
        .respond_with(feed.clone())
        .mount(&server)
        .await;
    let site = site().await;
    let channels = format!(
        r#"
[announce]
request_timeout = "1s"

[[channels]]
type = "facebook"
name = "facebook"
base_url = "{base}"
page_id = "123456"
page_token = {fb}
max_attempts = 1
"#,
        base = server.uri(),
        fb = secret_ref(&site, "fb", "fb-page-token"),
    );
    site.append_config(&channels);

    entry(&site, "madrid", "2024-05-09");
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert_eq!(run.status.code(), Some(3), "{}", run.stderr_text());
    let status = crier_status(&site).await;
    assert!(status.contains("facebook: 1 dead"), "{status}");
    // The Page got the post all the same.
    assert_eq!(feed.posts.lock().unwrap().len(), 1);

    let retry = crier(&site, &["retry", "--channel", "facebook"], NOW).await;
    assert!(
        retry.stdout_text().contains("1 deliveries re-queued"),
        "{}",
        retry.stdout_text()
    );
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert!(run.status.success(), "{}", run.stderr_text());
    assert_eq!(
        *feed.posts.lock().unwrap(),
        ["https://example.org/madrid/"],
        "posted twice"
    );
    let status = crier_status(&site).await;
    assert!(status.contains("facebook: 1 sent"), "{status}");
}

/// A Mastodon channel `mastodon` on `server`, for the runs that follow a pause or a post
/// given up.
fn mastodon_channel(site: &Site, server: &MockServer) -> String {
    format!(
        r#"
[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{base}"
access_token = {token}
"#,
        base = server.uri(),
        token = secret_ref(site, "masto", "masto-token"),
    )
}

/// Mastodon answering `first` once, then creating statuses, counted.
async fn mastodon_after(first: ResponseTemplate) -> (MockServer, Arc<Mutex<usize>>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(first)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let posted = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(Counted(
            posted.clone(),
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "1", "url": "https://m.example/1"})),
        ))
        .mount(&server)
        .await;
    (server, posted)
}

/// Only the run that paused a channel used to exit 3: the next ones, with the channel still
/// paused, exited 0 and logged `paused_channels=0`. Every run now exits 3 and says which
/// channel waits, until `crier retry` lifts the pause.
#[tokio::test(flavor = "multi_thread")]
async fn runs_after_a_pause_exit_3_until_the_retry() {
    let (server, posted) = mastodon_after(
        ResponseTemplate::new(401).set_body_json(json!({"error": "The access token is invalid"})),
    )
    .await;
    let site = site().await;
    site.append_config(&mastodon_channel(&site, &server));
    entry(&site, "madrid", "2024-05-09");
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert_eq!(run.status.code(), Some(3), "{}", run.stderr_text());

    for _ in 0..2 {
        let later = crier(&site, &["run", "--once"], NOW).await;
        let log = later.stderr_text();
        assert_eq!(later.status.code(), Some(3), "{log}");
        assert!(
            log.contains("waiting for the operator: 1 channel paused (mastodon)"),
            "{log}"
        );
        assert!(log.contains("paused_channels=1"), "{log}");
    }
    assert_eq!(*posted.lock().unwrap(), 0, "a paused channel posts nothing");

    crier(&site, &["retry", "--channel", "mastodon"], NOW).await;
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert!(run.status.success(), "{}", run.stderr_text());
    assert!(!run.stderr_text().contains("waiting for the operator"));
    assert_eq!(*posted.lock().unwrap(), 1);
}

/// Only the run that gave a post up used to exit 3: every run now does, and says so, while
/// the delivery stays given up.
#[tokio::test(flavor = "multi_thread")]
async fn runs_after_a_post_given_up_exit_3_until_the_retry() {
    let (server, posted) = mastodon_after(
        ResponseTemplate::new(422)
            .set_body_json(json!({"error": "Validation failed: Text too long"})),
    )
    .await;
    let site = site().await;
    site.append_config(&mastodon_channel(&site, &server));
    entry(&site, "madrid", "2024-05-09");
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert_eq!(run.status.code(), Some(3), "{}", run.stderr_text());
    assert!(crier_status(&site).await.contains("mastodon: 1 dead"));

    let later = crier(&site, &["run", "--once"], NOW).await;
    let log = later.stderr_text();
    assert_eq!(later.status.code(), Some(3), "{log}");
    assert!(
        log.contains("waiting for the operator: 1 delivery given up"),
        "{log}"
    );

    crier(&site, &["retry", "--channel", "mastodon"], NOW).await;
    let run = crier(&site, &["run", "--once"], NOW).await;
    assert!(run.status.success(), "{}", run.stderr_text());
    assert_eq!(*posted.lock().unwrap(), 1);
}

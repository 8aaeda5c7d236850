//! The Facebook Page channel against a local Graph API (wiremock on 127.0.0.1): what it sends,
//! how it classifies each failure, and how `recover` avoids posting twice.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use crier::channels::facebook::{Facebook, FacebookConfig};
use crier::channels::{
    Channel, ChannelContext, ImageMode, InMemory, Post, PostError, Published, http,
};
use crier::entry::Image;
use crier::secrets::SecretRef;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use tempfile::TempDir;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PAGE: &str = "1234567890";
const TOKEN: &str = "EAAGpagetoken0123456789";
const APP_SECRET: &str = "0a1b2c3d4e5f";
const FEED: &str = "/v25.0/1234567890/feed";
const CHANNEL: &str = "fb-page";

/// Every request of these tests times out after this long.
const TIMEOUT: Duration = Duration::from_secs(1);

/// The channel, with its token (and app secret) in files of `_dir`.
struct Setup {
    channel: Facebook,
    _dir: TempDir,
}

/// A secret file of one line.
fn secret_file(dir: &TempDir, name: &str, value: &str) -> SecretRef {
    common::secret_file(dir.path(), name, &format!("{value}\n")).secret_ref()
}

fn channel(base_url: &str, with_app_secret: bool) -> Setup {
    channel_showing(base_url, with_app_secret, ImageMode::Card)
}

/// The channel, showing images as `image` says.
fn channel_showing(base_url: &str, with_app_secret: bool, image: ImageMode) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = FacebookConfig {
        base_url: crier::values::HttpUrl::parse(base_url).expect("mock server URL"),
        graph_version: "v25.0".into(),
        page_id: PAGE.into(),
        page_token: secret_file(&dir, "page.token", TOKEN),
        app_secret: with_app_secret.then(|| secret_file(&dir, "app.secret", APP_SECRET)),
        image,
    };
    let context = ChannelContext {
        http: http::client(TIMEOUT),
        memory: Arc::new(InMemory::default()),
    };
    Setup {
        channel: Facebook::new(CHANNEL.into(), config, context),
        _dir: dir,
    }
}

fn post() -> Post {
    Post {
        queued_at: Utc::now(),
        title: "A solar oven".into(),
        summary: "Cooking with sunlight".into(),
        ..common::post(
            "solar-oven",
            "New project: a solar oven https://example.org/solar-oven/",
            "https://example.org/solar-oven/",
        )
    }
}

/// The proof computed here, independently of the channel.
fn expected_proof() -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(TOKEN.as_bytes());
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> serde_json::Value {
    json!({"error": {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_subcode": subcode,
        "fbtrace_id": "AxYz123",
    }})
}

fn created_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

async fn posts_received(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .count()
}

#[tokio::test]
async fn publishes_message_link_token_and_proof_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1234567890_555"})))
        .expect(1)
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), true);

    let published = setup.channel.publish(&post()).await.unwrap();

    assert_eq!(
        published,
        Published {
            remote_id: Some("1234567890_555".into()),
            remote_url: Some("https://www.facebook.com/1234567890_555".into()),
        }
    );
    let requests = server.received_requests().await.unwrap();
    let request = &requests[0];
    assert_eq!(request.url.query(), None, "nothing in the URL");
    let body = form(request);
    assert_eq!(body["message"], post().text);
    assert_eq!(body["link"], post().url);
    assert_eq!(body["access_token"], TOKEN);
    assert_eq!(body["appsecret_proof"], expected_proof());
    assert_eq!(body.len(), 4, "{body:?}");
}

#[tokio::test]
async fn without_an_app_secret_no_proof_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1234567890_1"})))
        .expect(1)
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), false);

    setup.channel.publish(&post()).await.unwrap();

    let body = form(&server.received_requests().await.unwrap()[0]);
    assert_eq!(body["access_token"], TOKEN);
    assert!(!body.contains_key("appsecret_proof"), "{body:?}");
}

#[tokio::test]
async fn length_is_counted_in_characters() {
    let setup = channel("http://127.0.0.1:9", false);
    assert_eq!(setup.channel.max_length(), 63_206);
    assert_eq!(setup.channel.count("héllo ☀"), 7);
}

#[tokio::test]
async fn an_invalid_token_pauses_with_instructions_and_without_the_token() {
    let server = MockServer::start().await;
    // A server echoing the token must not get it into the reason.
    let message = format!("Error validating access token {TOKEN}: Session has expired");
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(400).set_body_json(graph_error(
            190,
            Some(463),
            &message,
        )))
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), true);

    let error = setup.channel.publish(&post()).await.unwrap_err();

    let PostError::Pause { reason } = error else {
        panic!("expected a pause, got {error:?}");
    };
    assert!(!reason.contains(TOKEN), "{reason}");
    assert!(!reason.contains(APP_SECRET), "{reason}");
    assert!(reason.contains("Graph API Explorer"), "{reason}");
    assert!(reason.contains("System users"), "{reason}");
    assert!(reason.contains("pages_manage_posts"), "{reason}");
    assert!(reason.contains("pages_read_engagement"), "{reason}");
    assert!(reason.contains("crier retry --channel fb-page"), "{reason}");
}

#[tokio::test]
async fn throttling_retries_when_the_usage_headers_say() {
    let buc = json!({PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 20,
        "total_time": 40, "estimated_time_to_regain_access": 42}]})
    .to_string();
    let app = json!({"call_count": 100, "total_cputime": 10, "total_time": 10,
        "estimated_time_to_regain_access": 5})
    .to_string();
    let cases = [
        (32, Some(("X-Business-Use-Case-Usage", buc.as_str())), 42),
        (613, Some(("X-Business-Use-Case-Usage", &buc)), 42),
        (4, Some(("X-App-Usage", &app)), 5),
        (17, None, 15),
    ];
    for (code, usage, minutes) in cases {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(400).set_body_json(graph_error(
            code,
            None,
            "(#32) Page request limit reached",
        ));
        if let Some((name, value)) = usage {
            response = response.insert_header(name, value);
        }
        Mock::given(method("POST"))
            .and(path(FEED))
            .respond_with(response)
            .mount(&server)
            .await;
        let setup = channel(&server.uri(), false);

        let before = Utc::now();
        let error = setup.channel.publish(&post()).await.unwrap_err();
        let after = Utc::now();

        let PostError::Retry {
            after: Some(at), ..
        } = error
        else {
            panic!("code {code}: expected a retry with a time, got {error:?}");
        };
        let wait = TimeDelta::minutes(minutes);
        assert!(
            at >= before + wait && at <= after + wait,
            "code {code}: retry at {at}, expected {minutes} minutes from now"
        );
    }
}

#[tokio::test]
async fn a_duplicate_is_already_posted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(400).set_body_json(graph_error(
            506,
            None,
            "(#506) Duplicate status message",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), false);

    let published = setup.channel.publish(&post()).await.unwrap();

    assert_eq!(
        published,
        Published {
            remote_id: None,
            remote_url: None
        }
    );
}

#[tokio::test]
async fn a_duplicate_takes_the_id_found_in_the_feed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(400).set_body_json(graph_error(
            506,
            None,
            "(#506) Duplicate status message",
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": "1234567890_77",
            "message": post().text,
            "created_time": created_time(Utc::now()),
        }]})))
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), false);

    let published = setup.channel.publish(&post()).await.unwrap();

    assert_eq!(published.remote_id.as_deref(), Some("1234567890_77"));
}

#[tokio::test]
async fn a_policy_block_is_rejected() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(403).set_body_json(graph_error(
            368,
            Some(1_390_008),
            "The action attempted has been deemed abusive or is otherwise disallowed",
        )))
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), false);

    let error = setup.channel.publish(&post()).await.unwrap_err();

    let PostError::Reject { reason } = error else {
        panic!("expected a rejection, got {error:?}");
    };
    assert!(reason.contains("policies"), "{reason}");
    assert!(
        reason.contains("AxYz123"),
        "fbtrace_id for support: {reason}"
    );
}

#[tokio::test]
async fn missing_permissions_pause_and_name_the_permission() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(403).set_body_json(graph_error(
            200,
            None,
            "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts permission",
        )))
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), false);

    let error = setup.channel.publish(&post()).await.unwrap_err();

    let PostError::Pause { reason } = error else {
        panic!("expected a pause, got {error:?}");
    };
    assert!(
        reason.contains("missing pages_read_engagement, pages_manage_posts"),
        "{reason}"
    );
    assert!(reason.contains("crier retry --channel fb-page"), "{reason}");
}

/// Graph answers a wrong app secret, and a missing one for an app with "Require App Secret",
/// with code 100 (`GraphMethodException`): every post would fail alike, so the channel
/// pauses and says to fix `app_secret`, as it does for an expired token.
#[tokio::test]
async fn a_refused_appsecret_proof_pauses_the_channel_instead_of_giving_up_the_post() {
    let cases = [
        (true, "Invalid appsecret_proof provided in the API argument"),
        (
            false,
            "API calls from the server require an appsecret_proof argument",
        ),
    ];
    for (with_app_secret, message) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(FEED))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
                "message": message,
                "type": "GraphMethodException",
                "code": 100,
                "fbtrace_id": "AxYz123",
            }})))
            .expect(1)
            .mount(&server)
            .await;
        let setup = channel(&server.uri(), with_app_secret);

        let error = setup.channel.publish(&post()).await.unwrap_err();

        let PostError::Pause { reason } = error else {
            panic!("{message}: expected a pause, got {error:?}");
        };
        assert!(reason.contains(message), "{reason}");
        assert!(reason.contains("`app_secret`"), "{reason}");
        assert!(reason.contains("App secret"), "{reason}");
        assert!(reason.contains("crier retry --channel fb-page"), "{reason}");
        assert!(!reason.contains(APP_SECRET), "{reason}");
        assert!(!reason.contains(TOKEN), "{reason}");
    }
}

#[tokio::test]
async fn transient_graph_errors_and_5xx_are_retried() {
    let cases = [
        ResponseTemplate::new(500).set_body_json(graph_error(1, None, "An unknown error occurred")),
        ResponseTemplate::new(503).set_body_json(graph_error(
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
        )),
        ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"),
    ];
    for response in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(FEED))
            .respond_with(response)
            .mount(&server)
            .await;
        let setup = channel(&server.uri(), false);

        let error = setup.channel.publish(&post()).await.unwrap_err();

        assert!(matches!(error, PostError::Retry { .. }), "{error:?}");
    }
}

#[tokio::test]
async fn a_hung_request_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "1234567890_1"}))
                .set_delay(TIMEOUT * 10),
        )
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), true);

    let error = setup.channel.publish(&post()).await.unwrap_err();

    let PostError::Retry { reason, .. } = error else {
        panic!("expected a retry, got {error:?}");
    };
    assert!(reason.contains("timed out"), "{reason}");
    assert!(!reason.contains(TOKEN), "{reason}");
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // Read the start of the request, then hang up without answering.
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buffer = [0u8; 512];
            let _ = stream.read(&mut buffer);
        }
    });
    let setup = channel(&format!("http://{address}"), false);

    let error = setup.channel.publish(&post()).await.unwrap_err();

    let PostError::Retry { reason, .. } = error else {
        panic!("expected a retry, got {error:?}");
    };
    assert!(!reason.contains(TOKEN), "{reason}");
}

/// A Page whose posts exist as soon as they are sent.
#[derive(Clone, Default)]
struct Page {
    posts: Arc<Mutex<Vec<serde_json::Value>>>,
}

/// Creates the post, then answers too late for the client.
struct CreateThenHang(Page);

impl Respond for CreateThenHang {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = form(request);
        let mut posts = self.0.posts.lock().unwrap();
        let id = format!("{PAGE}_{}", 900 + posts.len());
        posts.push(json!({
            "id": id,
            "message": body["message"],
            "created_time": created_time(Utc::now()),
            "attachments": {"data": [{"unshimmed_url": body["link"], "type": "share"}]},
        }));
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": id}))
            .set_delay(TIMEOUT * 10)
    }
}

/// Lists the Page's posts, newest first, after an older unrelated one.
struct ListFeed(Page);

impl Respond for ListFeed {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut data: Vec<_> = self.0.posts.lock().unwrap().iter().rev().cloned().collect();
        data.push(json!({
            "id": format!("{PAGE}_1"),
            "message": "An older post",
            "created_time": "2020-01-01T00:00:00+0000",
            "attachments": {"data": [{"unshimmed_url": "https://example.org/older/"}]},
        }));
        ResponseTemplate::new(200).set_body_json(json!({"data": data}))
    }
}

#[tokio::test]
async fn recover_finds_the_post_of_a_timed_out_attempt() {
    let server = MockServer::start().await;
    let page = Page::default();
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(CreateThenHang(page.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(FEED))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("appsecret_proof", expected_proof().as_str()))
        .and(query_param(
            "fields",
            "id,message,created_time,attachments{unshimmed_url}",
        ))
        .and(query_param("limit", "25"))
        .respond_with(ListFeed(page.clone()))
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), true);
    let post = post();

    let first = setup.channel.publish(&post).await.unwrap_err();
    assert!(matches!(first, PostError::Retry { .. }), "{first:?}");

    let recovered = setup.channel.recover(&post).await.unwrap();

    assert_eq!(
        recovered,
        Published {
            remote_id: Some("1234567890_900".into()),
            remote_url: Some("https://www.facebook.com/1234567890_900".into()),
        }
    );
    assert_eq!(posts_received(&server).await, 1);
    assert_eq!(
        page.posts.lock().unwrap().len(),
        1,
        "exactly one post exists"
    );
    let listing = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method == wiremock::http::Method::GET)
        .unwrap();
    assert!(
        !listing.url.as_str().contains(TOKEN),
        "token kept out of the URL: {}",
        listing.url
    );
}

#[tokio::test]
async fn recover_posts_once_when_nothing_is_there() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(FEED))
        .respond_with(ListFeed(Page::default()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1234567890_2"})))
        .expect(1)
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), false);

    let published = setup.channel.recover(&post()).await.unwrap();

    assert_eq!(published.remote_id.as_deref(), Some("1234567890_2"));
    assert_eq!(posts_received(&server).await, 1);
}

#[tokio::test]
async fn recover_does_not_post_when_the_feed_cannot_be_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(500).set_body_json(graph_error(
            2,
            None,
            "Service temporarily unavailable",
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1234567890_3"})))
        .expect(0)
        .mount(&server)
        .await;
    let setup = channel(&server.uri(), false);

    let error = setup.channel.recover(&post()).await.unwrap_err();

    assert!(matches!(error, PostError::Retry { .. }), "{error:?}");
}

/// [`post`] with a PNG of its own on disk, as a directory source finds it.
fn post_with_image(dir: &TempDir) -> (Post, Vec<u8>) {
    let png = common::images::png(40, 30);
    let file = dir.path().join("oven.png");
    std::fs::write(&file, &png).unwrap();
    let post = Post {
        image: Some(Image {
            url: "https://example.org/solar-oven/oven.png".into(),
            alt: "A box lined with foil in the sun".into(),
            path: Some(file),
        }),
        ..post()
    };
    (post, png)
}

#[tokio::test]
async fn an_attached_image_makes_a_photo_post_captioned_with_the_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/photos")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "5550001", "post_id": format!("{PAGE}_777")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (post, png) = post_with_image(&dir);
    let setup = channel_showing(&server.uri(), true, ImageMode::Attach);

    // The photo post is the upload: nothing goes before it.
    assert_eq!(setup.channel.upload(&post).await.unwrap(), None);
    let published = setup.channel.publish(&post).await.unwrap();

    assert_eq!(published.remote_id.as_deref(), Some("1234567890_777"));
    let requests = server.received_requests().await.unwrap();
    let parts = common::images::multipart(&requests[0]);
    let source = common::images::part(&parts, "source");
    assert_eq!(source.body, png);
    assert_eq!(source.content_type.as_deref(), Some("image/png"));
    assert_eq!(source.file_name.as_deref(), Some("image.png"));
    assert_eq!(common::images::part(&parts, "caption").text(), post.text);
    assert_eq!(
        common::images::part(&parts, "alt_text_custom").text(),
        "A box lined with foil in the sun"
    );
    assert_eq!(common::images::part(&parts, "access_token").text(), TOKEN);
    assert_eq!(
        common::images::part(&parts, "appsecret_proof").text(),
        expected_proof()
    );
    assert!(
        requests[0].url.query().is_none(),
        "the token stays out of the URL"
    );
}

#[tokio::test]
async fn a_refused_photo_falls_back_to_the_link_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/photos")))
        .respond_with(ResponseTemplate::new(400).set_body_json(graph_error(
            324,
            None,
            "Missing or invalid image file",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1234567890_1"})))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (post, _) = post_with_image(&dir);
    let setup = channel_showing(&server.uri(), false, ImageMode::Attach);

    let published = setup.channel.publish(&post).await.unwrap();

    assert_eq!(published.remote_id.as_deref(), Some("1234567890_1"));
    server.verify().await;
}

#[tokio::test]
async fn the_default_card_keeps_the_link_post_for_an_entry_with_an_image() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(FEED))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1234567890_2"})))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (post, _) = post_with_image(&dir);
    let setup = channel(&server.uri(), false);

    setup.channel.publish(&post).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        form(&requests[0])["link"],
        "https://example.org/solar-oven/"
    );
    server.verify().await;
}

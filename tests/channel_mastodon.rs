//! The Mastodon channel against a local mock server: what it sends, and how every kind of
//! failure is classified.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use crier::channels::http::client;
use crier::channels::mastodon::idempotency_key;
use crier::channels::{
    Channel, ChannelConfig, ChannelContext, InMemory, Post, PostError, Published, build,
};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "mastodon-test-token-5ecret";

/// A channel named `mastodon-test` posting to `base_url`, its token in a file under `dir`.
fn channel(base_url: &str, dir: &Path, timeout: Duration) -> Box<dyn Channel> {
    let token = common::secret_file(dir, "mastodon.token", &format!("{TOKEN}\n"));
    let config = config(&[
        ("name", "mastodon-test".into()),
        ("base_url", base_url.into()),
        ("access_token", token.toml()),
        ("visibility", "unlisted".into()),
    ]);
    build(&config, context(timeout))
}

/// A `[[channels]]` table of type `mastodon`, as the config file would give it.
fn config(fields: &[(&str, toml::Value)]) -> ChannelConfig {
    common::channel_config("mastodon", fields)
}

/// A secret reference such as `{ file = "..." }`.
fn secret(kind: &str, value: &str) -> toml::Value {
    let mut table = toml::Table::new();
    table.insert(kind.into(), value.into());
    toml::Value::Table(table)
}

fn context(timeout: Duration) -> ChannelContext {
    ChannelContext {
        http: client(timeout),
        memory: Arc::new(InMemory::default()),
    }
}

/// A post queued just now, as the engine hands it over on its first attempts.
fn post() -> Post {
    Post {
        delivery_id: 42,
        queued_at: Utc::now(),
        title: "Kragujevac".into(),
        summary: "A new project.".into(),
        language: "en-GB".into(),
        ..common::post(
            "projects/kragujevac",
            "Kragujevac\n\nA new project.\n\nhttps://example.org/en/projects/kragujevac/",
            "https://example.org/en/projects/kragujevac/",
        )
    }
}

/// The request the channel must send for [`post`], whatever the answer.
fn status_request(p: &Post) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("idempotency-key", idempotency_key(p).as_str()))
        .and(body_partial_json(json!({
            "status": p.text,
            "language": "en",
            "visibility": "unlisted",
        })))
}

fn status_json(id: &str) -> serde_json::Value {
    json!({
        "id": id,
        "url": format!("https://mastodon.example/@crier/{id}"),
        "content": "<p>Kragujevac</p>",
        "visibility": "unlisted",
    })
}

async fn publish_against(server: &MockServer, timeout: Duration) -> Result<Published, PostError> {
    let dir = tempfile::tempdir().unwrap();
    channel(&server.uri(), dir.path(), timeout)
        .publish(&post())
        .await
}

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(5);

#[tokio::test]
async fn publishes_a_status() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(ResponseTemplate::new(200).set_body_json(status_json("1100")))
        .expect(1)
        .mount(&server)
        .await;
    let published = publish_against(&server, LONG).await.unwrap();
    assert_eq!(
        published,
        Published {
            remote_id: Some("1100".into()),
            remote_url: Some("https://mastodon.example/@crier/1100".into()),
        }
    );
    let key = idempotency_key(&post());
    assert!(key.starts_with("crier-42-"), "{key}");
}

#[test]
fn the_idempotency_key_depends_on_the_delivery_and_entry() {
    let a = post();
    let mut b = post();
    b.text = "another text, same delivery".into();
    assert_eq!(idempotency_key(&a), idempotency_key(&b));
    b.delivery_id = 43;
    assert_ne!(idempotency_key(&a), idempotency_key(&b));
    let mut c = post();
    c.entry_id = "projects/nis".into();
    assert_ne!(idempotency_key(&a), idempotency_key(&c));
}

#[tokio::test]
async fn a_refused_token_pauses_without_showing_it() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "The access token is invalid"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let PostError::Pause { reason } = publish_against(&server, LONG).await.unwrap_err() else {
        panic!("a refused token must pause the channel");
    };
    assert!(reason.contains("The access token is invalid"), "{reason}");
    assert!(reason.contains("write:statuses"), "{reason}");
    assert!(reason.contains("Preferences → Development"), "{reason}");
    assert!(
        reason.contains("crier retry --channel mastodon-test"),
        "{reason}"
    );
    assert!(!reason.contains(TOKEN), "{reason}");
}

#[tokio::test]
async fn a_token_without_the_scope_pauses() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": "This action is outside the authorized scopes"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = publish_against(&server, LONG).await.unwrap_err();
    assert!(
        matches!(&err, PostError::Pause { reason } if reason.contains("outside the authorized scopes") && !reason.contains(TOKEN)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_missing_token_pauses_and_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(status_json("1")))
        .expect(0)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let channel = channel(&server.uri(), dir.path(), LONG);
    std::fs::remove_file(dir.path().join("mastodon.token")).unwrap();
    let PostError::Pause { reason } = channel.publish(&post()).await.unwrap_err() else {
        panic!("a missing token must pause the channel");
    };
    assert!(reason.contains("mastodon.token"), "{reason}");
    assert!(
        reason.contains("crier retry --channel mastodon-test"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_validation_failure_rejects_the_post() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(ResponseTemplate::new(422).set_body_json(
            json!({"error": "Validation failed: Text character limit of 500 exceeded"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = publish_against(&server, LONG).await.unwrap_err();
    assert_eq!(
        err,
        PostError::Reject {
            reason: "mastodon: HTTP 422 Unprocessable Entity: Validation failed: Text character limit of 500 exceeded".into()
        }
    );
}

#[tokio::test]
async fn a_rate_limit_retries_after_the_reset() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-RateLimit-Limit", "300")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-Reset", "2031-01-01T10:30:00.000Z")
                .set_body_json(json!({"error": "Too many requests"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = publish_against(&server, LONG).await.unwrap_err();
    let reset: DateTime<Utc> = Utc.with_ymd_and_hms(2031, 1, 1, 10, 30, 0).unwrap();
    assert!(
        matches!(&err, PostError::Retry { after: Some(after), reason } if *after == reset && reason.contains("Too many requests")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_error_retries() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(ResponseTemplate::new(503).set_body_string("<h1>Maintenance</h1>"))
        .expect(1)
        .mount(&server)
        .await;
    let err = publish_against(&server, LONG).await.unwrap_err();
    assert!(
        matches!(err, PostError::Retry { after: None, .. }),
        "{err:?}"
    );
}

/// Mastodon sends its rate-limit headers with every answer: a 503 while requests are left in
/// the window retries on the backoff, not at the window's reset.
#[tokio::test]
async fn a_server_error_retries_on_the_backoff_not_at_the_rate_limit_reset() {
    let server = MockServer::start().await;
    let reset = Utc::now() + chrono::TimeDelta::minutes(4);
    status_request(&post())
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("X-RateLimit-Limit", "300")
                .insert_header("X-RateLimit-Remaining", "297")
                .insert_header(
                    "X-RateLimit-Reset",
                    reset
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                        .as_str(),
                )
                .set_body_string("<h1>Maintenance</h1>"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = publish_against(&server, LONG).await.unwrap_err();
    assert!(
        matches!(err, PostError::Retry { after: None, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_wrong_base_url_pauses() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>Parked domain</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let err = publish_against(&server, LONG).await.unwrap_err();
    assert!(
        matches!(&err, PostError::Pause { reason } if reason.contains("base_url")),
        "{err:?}"
    );

    let server = MockServer::start().await;
    let err = publish_against(&server, LONG).await.unwrap_err();
    assert!(
        matches!(&err, PostError::Pause { reason } if reason.contains("HTTP 404") && reason.contains("base_url")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_hung_request_times_out_and_retries() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(status_json("1"))
                .set_delay(Duration::from_secs(3)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = publish_against(&server, SHORT).await.unwrap_err();
    assert!(
        matches!(&err, PostError::Retry { reason, after: None } if reason.contains("timed out")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_dropped_connection_retries() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let channel = channel(&format!("http://{address}"), dir.path(), LONG);
    let err = channel.publish(&post()).await.unwrap_err();
    assert!(
        matches!(&err, PostError::Retry { after: None, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains(TOKEN), "{err}");
}

/// A statuses endpoint that behaves like Mastodon's with `Idempotency-Key`: a repeated key
/// gets the status created the first time. The first answer comes too late for the client.
#[derive(Clone, Default)]
struct IdempotentStatuses {
    /// Idempotency key → status id.
    created: Arc<Mutex<HashMap<String, String>>>,
    requests: Arc<Mutex<usize>>,
}

impl Respond for IdempotentStatuses {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut requests = self.requests.lock().unwrap();
        *requests += 1;
        let Some(key) = request.headers.get("idempotency-key") else {
            return ResponseTemplate::new(400);
        };
        let key = key.to_str().unwrap().to_owned();
        let mut created = self.created.lock().unwrap();
        let next = format!("{}", 2000 + created.len());
        let id = created.entry(key).or_insert(next).clone();
        let answer = ResponseTemplate::new(200).set_body_json(status_json(&id));
        if *requests == 1 {
            // Created, but the answer is lost to the client's timeout.
            answer.set_delay(Duration::from_secs(3))
        } else {
            answer
        }
    }
}

#[tokio::test]
async fn recovering_after_a_timeout_creates_one_status() {
    let server = MockServer::start().await;
    let statuses = IdempotentStatuses::default();
    status_request(&post())
        .respond_with(statuses.clone())
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let channel = channel(&server.uri(), dir.path(), SHORT);

    let first = channel.publish(&post()).await.unwrap_err();
    assert!(matches!(first, PostError::Retry { .. }), "{first:?}");
    let recovered = channel.recover(&post()).await.unwrap();

    let created = statuses.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1, "{created:?}");
    let id = created.values().next().unwrap();
    assert_eq!(recovered.remote_id.as_ref(), Some(id));
    assert_eq!(*statuses.requests.lock().unwrap(), 2);
}

// --- Past the idempotency window ---------------------------------------------------------

const ACCOUNT_ID: &str = "109348123456789012";

/// A post queued two hours ago: Mastodon has forgotten its idempotency key.
fn old_post() -> Post {
    Post {
        queued_at: Utc::now() - chrono::TimeDelta::hours(2),
        ..post()
    }
}

/// A status as `GET /api/v1/accounts/:id/statuses` lists it, created `minutes_ago`, linking
/// to `url` the way Mastodon writes a link in its HTML.
fn listed_status(id: &str, minutes_ago: i64, url: &str) -> serde_json::Value {
    let created = Utc::now() - chrono::TimeDelta::minutes(minutes_ago);
    let shown = url.trim_start_matches("https://");
    json!({
        "id": id,
        "created_at": created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "url": format!("https://mastodon.example/@crier/{id}"),
        "visibility": "unlisted",
        "content": format!(
            "<p>Kragujevac</p><p>A new project.</p><p><a href=\"{url}\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"ellipsis\">{}</span><span class=\"invisible\">{}</span></a></p>",
            &shown[..20],
            &shown[20..]
        ),
        "card": null,
    })
}

/// verify_credentials with the channel's token, expected `times`.
async fn mount_verify_credentials(server: &MockServer, times: u64) {
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/verify_credentials"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": ACCOUNT_ID, "username": "crier", "acct": "crier"
        })))
        .expect(times)
        .mount(server)
        .await;
}

/// The account's statuses, newest first, as one page.
async fn mount_account_statuses(server: &MockServer, statuses: serde_json::Value, times: u64) {
    Mock::given(method("GET"))
        .and(path(
            format!("/api/v1/accounts/{ACCOUNT_ID}/statuses").as_str(),
        ))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("limit", "40"))
        .respond_with(ResponseTemplate::new(200).set_body_json(statuses))
        .expect(times)
        .mount(server)
        .await;
}

/// A statuses endpoint whose keys have expired, as they do after an hour: every request
/// creates a new status.
async fn mount_forgetful_statuses(server: &MockServer, times: u64) {
    status_request(&old_post())
        .respond_with(ResponseTemplate::new(200).set_body_json(status_json("3000")))
        .expect(times)
        .mount(server)
        .await;
}

/// Today's failure: past Mastodon's one-hour window the same `Idempotency-Key` no longer finds
/// the status of the earlier attempt, so publishing again made a second status.
#[tokio::test]
async fn recovering_past_the_idempotency_window_finds_the_status_instead_of_posting_twice() {
    let server = MockServer::start().await;
    mount_forgetful_statuses(&server, 0).await;
    mount_verify_credentials(&server, 1).await;
    let p = old_post();
    mount_account_statuses(
        &server,
        json!([
            listed_status("2999", 5, "https://example.org/en/projects/nis/"),
            listed_status("2998", 100, &p.url),
            listed_status("2000", 60 * 24, "https://example.org/en/projects/older/"),
        ]),
        2,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let channel = channel(&server.uri(), dir.path(), LONG);

    let recovered = channel.recover(&p).await.unwrap();
    assert_eq!(
        recovered,
        Published {
            remote_id: Some("2998".into()),
            remote_url: Some("https://mastodon.example/@crier/2998".into()),
        }
    );
    // The account id is remembered: a second recovery asks only for the statuses.
    channel.recover(&p).await.unwrap();
}

#[tokio::test]
async fn past_the_window_a_status_that_is_not_there_is_posted_once() {
    let server = MockServer::start().await;
    mount_forgetful_statuses(&server, 1).await;
    mount_verify_credentials(&server, 1).await;
    let p = old_post();
    // The same link posted before the delivery was queued is another status.
    mount_account_statuses(
        &server,
        json!([
            listed_status("2999", 5, "https://example.org/en/projects/nis/"),
            listed_status("2500", 60 * 3, &p.url),
        ]),
        1,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let channel = channel(&server.uri(), dir.path(), LONG);

    let published = channel.recover(&p).await.unwrap();
    assert_eq!(published.remote_id.as_deref(), Some("3000"));
}

#[tokio::test]
async fn within_the_window_recovery_relies_on_the_key_and_reads_nothing() {
    let server = MockServer::start().await;
    status_request(&post())
        .respond_with(ResponseTemplate::new(200).set_body_json(status_json("1100")))
        .expect(1)
        .mount(&server)
        .await;
    mount_verify_credentials(&server, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let channel = channel(&server.uri(), dir.path(), LONG);
    let recovered = channel.recover(&post()).await.unwrap();
    assert_eq!(recovered.remote_id.as_deref(), Some("1100"));
}

#[tokio::test]
async fn a_token_that_cannot_read_pauses_the_recovery_with_the_scopes_to_grant() {
    let server = MockServer::start().await;
    mount_forgetful_statuses(&server, 0).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/verify_credentials"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": "This action is outside the authorized scopes"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let channel = channel(&server.uri(), dir.path(), LONG);

    let error = channel.recover(&old_post()).await.unwrap_err();
    let PostError::Pause { reason } = &error else {
        panic!("expected a pause, got {error:?}");
    };
    assert!(reason.contains("outside the authorized scopes"), "{reason}");
    assert!(reason.contains("read:accounts"), "{reason}");
    assert!(reason.contains("read:statuses"), "{reason}");
    assert!(
        reason.contains("crier retry --channel mastodon-test"),
        "{reason}"
    );
    assert!(!reason.contains(TOKEN), "{reason}");
}

#[tokio::test]
async fn a_failed_look_up_retries_without_posting() {
    let server = MockServer::start().await;
    mount_forgetful_statuses(&server, 0).await;
    mount_verify_credentials(&server, 1).await;
    Mock::given(method("GET"))
        .and(path(
            format!("/api/v1/accounts/{ACCOUNT_ID}/statuses").as_str(),
        ))
        .respond_with(ResponseTemplate::new(503).set_body_string("<h1>Maintenance</h1>"))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let channel = channel(&server.uri(), dir.path(), LONG);
    let error = channel.recover(&old_post()).await.unwrap_err();
    assert!(matches!(error, PostError::Retry { .. }), "{error:?}");
}

#[test]
fn length_is_counted_as_mastodon_does() {
    let dir = tempfile::tempdir().unwrap();
    let channel = channel("https://mastodon.example", dir.path(), LONG);
    assert_eq!(channel.max_length(), 500);
    let url = "https://example.org/en/projects/a-rather-long-project-name-indeed/";
    assert_eq!(channel.count(url), 23);
    assert_eq!(channel.count(&format!("Kragujevac\n\n{url}")), 12 + 23);
    assert_eq!(channel.count("Ćevapi 🇷🇸 👩‍🍳"), 10);
    assert_eq!(channel.count("クラグイェヴァツ"), 8);
    assert_eq!(channel.count("Cafe\u{301}"), 4);
}

#[test]
fn the_limit_follows_the_instance() {
    let config = config(&[
        ("name", "big".into()),
        ("base_url", "https://mastodon.example".into()),
        ("access_token", secret("env", "CRIER_TEST_UNUSED")),
        ("max_characters", 5000.into()),
    ]);
    assert_eq!(build(&config, context(LONG)).max_length(), 5000);
}

/// [`post`] with a PNG on disk as its image; the PNG.
fn post_with_image(dir: &Path) -> (Post, Vec<u8>) {
    let png = common::images::png(60, 40);
    let file = dir.join("kragujevac.png");
    std::fs::write(&file, &png).unwrap();
    let post = Post {
        image: Some(crier::entry::Image {
            url: "https://example.org/en/projects/kragujevac/cover.png".into(),
            alt: "Children at a workshop table".into(),
            path: Some(file),
        }),
        ..post()
    };
    (post, png)
}

/// `POST /api/v2/media`, answered `status` with attachment `id`.
async fn mount_media_upload(server: &MockServer, status: u16, id: &str) {
    Mock::given(method("POST"))
        .and(path("/api/v2/media"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({
            "id": id, "type": "image",
            "url": (status == 200).then(|| format!("https://files.example/{id}.png")),
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_image_is_uploaded_with_its_description_then_attached() {
    let server = MockServer::start().await;
    mount_media_upload(&server, 200, "2200").await;
    status_request(&post())
        .and(body_partial_json(json!({"media_ids": ["2200"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(status_json("1101")))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (post, png) = post_with_image(dir.path());
    let channel = channel(&server.uri(), dir.path(), LONG);

    let media = channel.upload(&post).await.unwrap().unwrap();
    assert_eq!(media.id, "2200");
    assert!(media.expires_at > Utc::now() + chrono::Duration::hours(20));
    channel
        .publish(&Post {
            media: Some(media),
            ..post
        })
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let parts = common::images::multipart(&requests[0]);
    let file = common::images::part(&parts, "file");
    assert_eq!(file.body, png);
    assert_eq!(file.content_type.as_deref(), Some("image/png"));
    assert_eq!(file.file_name.as_deref(), Some("image.png"));
    assert_eq!(
        common::images::part(&parts, "description").text(),
        "Children at a workshop table"
    );
    server.verify().await;
}

#[tokio::test]
async fn an_upload_still_processing_is_waited_for() {
    let server = MockServer::start().await;
    mount_media_upload(&server, 202, "2201").await;
    // 206 while processing, then 200.
    Mock::given(method("GET"))
        .and(path("/api/v1/media/2201"))
        .respond_with(ResponseTemplate::new(206).set_body_json(json!({"id": "2201", "url": null})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/media/2201"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "2201"})))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (post, _) = post_with_image(dir.path());

    let media = channel(&server.uri(), dir.path(), LONG)
        .upload(&post)
        .await
        .unwrap();

    assert_eq!(media.map(|m| m.id).as_deref(), Some("2201"));
    server.verify().await;
}

#[tokio::test]
async fn an_image_the_instance_refuses_is_left_off_and_a_token_without_the_scope_pauses() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/media"))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(json!({"error": "Validation failed: File content type is invalid"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/media"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": "This action is outside the authorized scopes"})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (post, _) = post_with_image(dir.path());
    let channel = channel(&server.uri(), dir.path(), LONG);

    assert_eq!(channel.upload(&post).await.unwrap(), None);
    let Err(PostError::Pause { reason }) = channel.upload(&post).await else {
        panic!("a token that cannot upload pauses the channel");
    };
    assert!(
        reason.contains("write:media") && reason.contains("image = \"none\""),
        "{reason}"
    );
    assert!(!reason.contains(TOKEN));
}

#[tokio::test]
async fn with_image_none_nothing_is_uploaded() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = common::secret_file(dir.path(), "mastodon.token", TOKEN);
    let config = config(&[
        ("name", "mastodon-test".into()),
        ("base_url", server.uri().into()),
        ("access_token", token.toml()),
        ("image", "none".into()),
    ]);
    let (post, _) = post_with_image(dir.path());

    let media = build(&config, context(LONG)).upload(&post).await.unwrap();

    assert_eq!(media, None);
    assert!(server.received_requests().await.unwrap().is_empty());
}

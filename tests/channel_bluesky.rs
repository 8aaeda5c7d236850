//! The Bluesky channel against a mock PDS on 127.0.0.1: the session's life (creation, reuse
//! across runs, refresh, refusal), the exact record sent, link-card images, and every way a
//! post can fail or half-succeed without ending up posted twice, or counted as posted when
//! the record under its key is another post. The last tests drive the delivery engine over
//! a state, which chooses the record keys.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crier::channels::bluesky::{Bluesky, BlueskyConfig};
use crier::channels::{
    Attempt, Channel, ChannelContext, ImageMode, InMemory, Memory, Post, PostError,
};
use crier::config::Config;
use crier::engine::deliver::{DeliverOptions, DeliveryReport};
use crier::entry::Image;
use crier::secrets::SecretRef;
use crier::store::outbox::{DeliveryState, NewDelivery};
use crier::store::{Batch, EntryRecord, EntryStatus, Store};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const HANDLE: &str = "alliance.bsky.social";
const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const PASSWORD: &str = "abcd-efgh-ijkl-mnop";
const TEXT: &str = "Fête à Montréal 🎉👩‍👩‍👧 — https://example.org/fete/?lang=fr";

struct Fixture {
    server: MockServer,
    memory: Arc<InMemory>,
    password: SecretRef,
    dir: TempDir,
    /// The channel's `image` setting.
    image: ImageMode,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let password =
            common::secret_file(dir.path(), "bluesky.password", &format!("{PASSWORD}\n"));
        Fixture {
            server: MockServer::start().await,
            memory: Arc::new(InMemory::default()),
            password: password.secret_ref(),
            dir,
            image: ImageMode::Card,
        }
    }

    fn channel(&self) -> Bluesky {
        self.channel_at(&self.server.uri(), Duration::from_secs(5))
    }

    fn channel_at(&self, base_url: &str, timeout: Duration) -> Bluesky {
        let config = BlueskyConfig {
            base_url: crier::values::HttpUrl::parse(&format!("{base_url}/"))
                .expect("mock server URL"),
            handle: HANDLE.into(),
            app_password: self.password.clone(),
            image: self.image,
        };
        let context = ChannelContext {
            http: crier::channels::http::client(timeout),
            memory: self.memory.clone(),
        };
        Bluesky::new("bsky".into(), config, context)
    }

    /// createSession, expected exactly `times` with the handle and app password.
    async fn expect_session(&self, times: u64) {
        Mock::given(method("POST"))
            .and(path("/xrpc/com.atproto.server.createSession"))
            .and(body_json(
                json!({"identifier": HANDLE, "password": PASSWORD}),
            ))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(session("access-1", "refresh-1")),
            )
            .expect(times)
            .mount(&self.server)
            .await;
    }

    /// A session left in memory by an earlier run.
    fn remember_session(&self, access: &str, refresh: &str) {
        let stored =
            json!({"did": DID, "accessJwt": access, "refreshJwt": refresh, "identifier": HANDLE});
        self.memory.set("session", &stored.to_string());
    }

    async fn requests_to(&self, method: &str) -> Vec<Request> {
        let suffix = format!("/xrpc/{method}");
        let all = self.server.received_requests().await.unwrap();
        all.into_iter().filter(|r| r.url.path() == suffix).collect()
    }
}

fn session(access: &str, refresh: &str) -> Value {
    json!({
        "did": DID,
        "handle": HANDLE,
        "email": "team@example.org",
        "accessJwt": access,
        "refreshJwt": refresh,
        "active": true,
    })
}

fn xrpc_error(status: u16, error: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": error, "message": message}))
}

fn queued_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-01T12:00:00.123456Z")
        .unwrap()
        .to_utc()
}

/// A post of delivery `delivery_id`, with the record key the engine would have given it.
fn post(delivery_id: i64) -> Post {
    Post {
        delivery_id,
        queued_at: queued_at(),
        title: "Fête à Montréal".into(),
        summary: "Une fête de quartier.".into(),
        language: "fr".into(),
        media: None,
        key: Some(expected_rkey(delivery_id)),
        ..common::post("fete", TEXT, "https://example.org/fete/?lang=fr")
    }
}

/// The TID of the spec (<https://atproto.com/specs/tid>), written again from it.
fn tid(micros: u64, clock_id: u64) -> String {
    let value = (micros << 10) | (clock_id % 1024);
    let alphabet = b"234567abcdefghijklmnopqrstuvwxyz";
    (0..13)
        .rev()
        .map(|digit| char::from(alphabet[((value >> (5 * digit)) & 31) as usize]))
        .collect()
}

/// The record key of [`post`]`(delivery_id)`: a TID of a stamp, clock id 0.
fn expected_rkey(delivery_id: i64) -> String {
    tid(1_748_779_200_000_000 + delivery_id as u64, 0)
}

fn created(rkey: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "uri": format!("at://{DID}/app.bsky.feed.post/{rkey}"),
        "cid": "bafyreig2fjxi3rptqdgylg7e5hmjl6mcke7rn2b6cugzlqq3i4zu6rq52q",
        "commit": {"cid": "bafyreib", "rev": "3l25zusnsfck2"},
        "validationStatus": "valid",
    }))
}

async fn mount_create(server: &MockServer, token: &str, answer: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.createRecord"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(answer)
        .expect(times)
        .mount(server)
        .await;
}

fn retry_reason(result: Result<crier::channels::Published, PostError>) -> String {
    match result {
        Err(PostError::Retry { reason, .. }) => reason,
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[tokio::test]
async fn creates_a_session_then_the_exact_record() {
    let f = Fixture::new().await;
    f.expect_session(1).await;
    let rkey = expected_rkey(42);
    mount_create(&f.server, "access-1", created(&rkey), 1).await;

    let published = f.channel().publish(&post(42)).await.unwrap();

    assert_eq!(
        published.remote_id.as_deref(),
        Some(format!("at://{DID}/app.bsky.feed.post/{rkey}").as_str())
    );
    assert_eq!(
        published.remote_url.as_deref(),
        Some(format!("https://bsky.app/profile/{DID}/post/{rkey}").as_str())
    );
    // The record key is a TID: 13 base32-sortable characters, first one 2–j.
    assert_eq!(rkey.len(), 13);
    assert!(
        rkey.bytes()
            .all(|c| b"234567abcdefghijklmnopqrstuvwxyz".contains(&c))
    );
    assert!(b"234567abcdefghij".contains(&rkey.as_bytes()[0]));

    let requests = f.requests_to("com.atproto.repo.createRecord").await;
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    // "Fête à Montréal 🎉👩‍👩‍👧 — " is 30 characters but 46 bytes: offsets count bytes.
    assert_eq!(TEXT.find("https").unwrap(), 46);
    assert_eq!(TEXT.len(), 79);
    assert_eq!(
        body,
        json!({
            "repo": DID,
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": {
                "$type": "app.bsky.feed.post",
                "text": TEXT,
                "createdAt": "2025-06-01T12:00:00.123Z",
                "langs": ["fr"],
                "facets": [{
                    "index": {"byteStart": 46, "byteEnd": 79},
                    "features": [{
                        "$type": "app.bsky.richtext.facet#link",
                        "uri": "https://example.org/fete/?lang=fr",
                    }],
                }],
                "embed": {
                    "$type": "app.bsky.embed.external",
                    "external": {
                        "uri": "https://example.org/fete/?lang=fr",
                        "title": "Fête à Montréal",
                        "description": "Une fête de quartier.",
                    },
                },
            },
        })
    );
    assert_eq!(
        requests[0].headers.get("content-type").unwrap(),
        "application/json"
    );
}

#[tokio::test]
async fn the_session_is_reused_across_runs() {
    let f = Fixture::new().await;
    f.expect_session(1).await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.createRecord"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            created(body["rkey"].as_str().unwrap())
        })
        .expect(2)
        .mount(&f.server)
        .await;

    // Two runs: two channel instances sharing the state database.
    f.channel().publish(&post(1)).await.unwrap();
    f.channel().publish(&post(2)).await.unwrap();

    let stored: Value = serde_json::from_str(&f.memory.get("session").unwrap()).unwrap();
    assert_eq!(stored["did"], DID);
    assert_eq!(stored["accessJwt"], "access-1");
}

#[tokio::test]
async fn an_expired_token_is_refreshed() {
    let f = Fixture::new().await;
    f.remember_session("access-old", "refresh-old");
    f.expect_session(0).await;
    let rkey = expected_rkey(3);
    mount_create(
        &f.server,
        "access-old",
        xrpc_error(400, "ExpiredToken", "Token has expired"),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.refreshSession"))
        .and(header("authorization", "Bearer refresh-old"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session("access-2", "refresh-2")))
        .expect(1)
        .mount(&f.server)
        .await;
    mount_create(&f.server, "access-2", created(&rkey), 1).await;

    f.channel().publish(&post(3)).await.unwrap();

    let stored: Value = serde_json::from_str(&f.memory.get("session").unwrap()).unwrap();
    assert_eq!(stored["accessJwt"], "access-2");
    assert_eq!(stored["refreshJwt"], "refresh-2");
}

#[tokio::test]
async fn a_failed_refresh_creates_a_new_session() {
    let f = Fixture::new().await;
    f.remember_session("access-old", "refresh-old");
    mount_create(
        &f.server,
        "access-old",
        xrpc_error(400, "ExpiredToken", "Token has expired"),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.refreshSession"))
        .respond_with(xrpc_error(400, "ExpiredToken", "Token has expired"))
        .expect(1)
        .mount(&f.server)
        .await;
    f.expect_session(1).await;
    mount_create(&f.server, "access-1", created(&expected_rkey(4)), 1).await;

    f.channel().publish(&post(4)).await.unwrap();
}

#[tokio::test]
async fn a_refused_app_password_pauses_the_channel() {
    let f = Fixture::new().await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.createSession"))
        .respond_with(xrpc_error(
            401,
            "AuthenticationRequired",
            "Invalid identifier or password",
        ))
        .expect(1)
        .mount(&f.server)
        .await;
    mount_create(&f.server, "access-1", created("x"), 0).await;

    let reason = match f.channel().publish(&post(5)).await {
        Err(PostError::Pause { reason }) => reason,
        other => panic!("expected Pause, got {other:?}"),
    };
    assert!(reason.contains("App passwords"), "{reason}");
    assert!(reason.contains("crier retry --channel bsky"), "{reason}");
    assert!(!reason.contains(PASSWORD), "{reason}");
    assert!(f.memory.get("session").is_none());
}

#[tokio::test]
async fn a_missing_app_password_pauses_with_the_loader_message() {
    let mut f = Fixture::new().await;
    f.password = SecretRef::File(f.dir.path().join("nowhere"));
    f.expect_session(0).await;

    let reason = match f.channel().publish(&post(6)).await {
        Err(PostError::Pause { reason }) => reason,
        other => panic!("expected Pause, got {other:?}"),
    };
    assert!(reason.contains("cannot read secret file"), "{reason}");
    assert!(reason.contains("nowhere"), "{reason}");
}

/// Serves `bytes` at `/fete.jpg` as `content_type`.
async fn mount_image(server: &MockServer, content_type: &str, bytes: Vec<u8>) -> Vec<u8> {
    Mock::given(method("GET"))
        .and(path("/fete.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(bytes.clone(), content_type))
        .mount(server)
        .await;
    bytes
}

fn with_image(server: &MockServer, delivery_id: i64) -> Post {
    Post {
        image: Some(Image {
            url: format!("{}/fete.jpg", server.uri()),
            alt: "Des tables dans un jardin".into(),
            path: None,
        }),
        ..post(delivery_id)
    }
}

#[tokio::test]
async fn the_image_becomes_the_link_card_thumbnail() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let image = mount_image(&f.server, "image/jpeg", common::images::png(30, 20)).await;
    let blob = json!({
        "$type": "blob",
        "ref": {"$link": "bafkreibabalobzn6cd366ukcsjycp4yymjymgfxcv6xczmlgpemzkz3cfa"},
        "mimeType": "image/jpeg",
        "size": 2048,
    });
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.uploadBlob"))
        .and(header("authorization", "Bearer access-1"))
        .and(header("content-type", "image/png"))
        .and(move |request: &Request| request.body == image)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blob": blob})))
        .expect(1)
        .mount(&f.server)
        .await;
    mount_create(&f.server, "access-1", created(&expected_rkey(7)), 1).await;

    let post = with_image(&f.server, 7);
    let media = f.channel().upload(&post).await.unwrap().unwrap();
    assert_eq!(serde_json::from_str::<Value>(&media.id).unwrap(), blob);
    f.channel()
        .publish(&Post {
            media: Some(media),
            ..post
        })
        .await
        .unwrap();

    let requests = f.requests_to("com.atproto.repo.createRecord").await;
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["record"]["embed"]["external"]["thumb"], blob);
}

#[tokio::test]
async fn an_attached_image_is_shown_full_size_with_its_alt_text() {
    let mut f = Fixture::new().await;
    f.image = ImageMode::Attach;
    f.remember_session("access-1", "refresh-1");
    mount_image(&f.server, "image/png", common::images::png(30, 20)).await;
    let blob =
        json!({"$type": "blob", "ref": {"$link": "bafkrei"}, "mimeType": "image/png", "size": 90});
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.uploadBlob"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blob": blob})))
        .expect(1)
        .mount(&f.server)
        .await;
    mount_create(&f.server, "access-1", created(&expected_rkey(9)), 1).await;

    let post = with_image(&f.server, 9);
    let media = f.channel().upload(&post).await.unwrap();
    f.channel().publish(&Post { media, ..post }).await.unwrap();

    let requests = f.requests_to("com.atproto.repo.createRecord").await;
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        body["record"]["embed"],
        json!({"$type": "app.bsky.embed.images", "images": [{
            "image": blob, "alt": "Des tables dans un jardin",
            "aspectRatio": {"width": 30, "height": 20},
        }]})
    );
}

#[tokio::test]
async fn a_file_that_is_no_image_is_left_out_not_the_post() {
    for (content_type, bytes) in [
        ("text/html", b"<html>not found</html>".to_vec()),
        ("image/png", vec![7; 2000]),
    ] {
        let f = Fixture::new().await;
        f.remember_session("access-1", "refresh-1");
        mount_image(&f.server, content_type, bytes).await;
        Mock::given(path("/xrpc/com.atproto.repo.uploadBlob"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&f.server)
            .await;
        mount_create(&f.server, "access-1", created(&expected_rkey(8)), 1).await;

        let post = with_image(&f.server, 8);
        assert_eq!(f.channel().upload(&post).await.unwrap(), None);
        f.channel().publish(&post).await.unwrap();

        let requests = f.requests_to("com.atproto.repo.createRecord").await;
        let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
        let external = &body["record"]["embed"]["external"];
        assert_eq!(external["uri"], "https://example.org/fete/?lang=fr");
        assert!(
            external.get("thumb").is_none(),
            "{content_type}: {external}"
        );
    }
}

#[tokio::test]
async fn a_rate_limit_retries_after_its_reset() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let limited = xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        .insert_header("ratelimit-limit", "5000")
        .insert_header("ratelimit-remaining", "0")
        .insert_header("ratelimit-reset", "1900000000");
    mount_create(&f.server, "access-1", limited, 1).await;

    match f.channel().publish(&post(9)).await {
        Err(PostError::Retry { reason, after }) => {
            assert_eq!(after, DateTime::from_timestamp(1_900_000_000, 0));
            assert!(reason.contains("rate limited"), "{reason}");
        }
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_record_is_rejected() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let refused = xrpc_error(
        400,
        "InvalidRequest",
        "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
    );
    mount_create(&f.server, "access-1", refused, 1).await;

    match f.channel().publish(&post(10)).await {
        Err(PostError::Reject { reason }) => assert!(reason.contains("300 graphemes"), "{reason}"),
        other => panic!("expected Reject, got {other:?}"),
    }
}

/// A PDS that keeps its posts: createRecord stores (and, like released PDS versions, answers
/// 500 to a second creation of the same key), getRecord reads. The next creation can be made
/// to hang after the record is stored, as when the answer is lost on the way back.
#[derive(Clone, Default)]
struct Pds {
    records: Arc<Mutex<BTreeMap<String, Value>>>,
    hang_next_create: Arc<Mutex<Option<Duration>>>,
}

impl Respond for Pds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            "Bearer access-1"
        );
        let mut records = self.records.lock().unwrap();
        match request.url.path() {
            "/xrpc/com.atproto.repo.createRecord" => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let rkey = body["rkey"].as_str().unwrap().to_owned();
                if records.contains_key(&rkey) {
                    return xrpc_error(500, "InternalServerError", "Internal Server Error");
                }
                records.insert(rkey.clone(), body["record"].clone());
                match self.hang_next_create.lock().unwrap().take() {
                    Some(delay) => created(&rkey).set_delay(delay),
                    None => created(&rkey),
                }
            }
            "/xrpc/com.atproto.repo.getRecord" => {
                let query: HashMap<_, _> = request.url.query_pairs().into_owned().collect();
                assert_eq!(query["repo"], DID);
                assert_eq!(query["collection"], "app.bsky.feed.post");
                let rkey = &query["rkey"];
                match records.get(rkey) {
                    Some(value) => ResponseTemplate::new(200).set_body_json(json!({
                        "uri": format!("at://{DID}/app.bsky.feed.post/{rkey}"),
                        "cid": "bafyreig2fjxi3rptqdgylg7e5hmjl6mcke7rn2b6cugzlqq3i4zu6rq52q",
                        "value": value,
                    })),
                    None => xrpc_error(
                        400,
                        "RecordNotFound",
                        &format!("Could not locate record: at://{DID}/app.bsky.feed.post/{rkey}"),
                    ),
                }
            }
            other => panic!("unexpected request to {other}"),
        }
    }
}

async fn mount_pds(f: &Fixture) -> Pds {
    let pds = Pds::default();
    Mock::given(wiremock::matchers::path_regex(
        "^/xrpc/com\\.atproto\\.repo\\.(createRecord|getRecord)$",
    ))
    .respond_with(pds.clone())
    .mount(&f.server)
    .await;
    pds
}

#[tokio::test]
async fn a_create_lost_on_the_way_back_is_found_by_recover() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let pds = mount_pds(&f).await;
    *pds.hang_next_create.lock().unwrap() = Some(Duration::from_secs(5));
    let channel = f.channel_at(&f.server.uri(), Duration::from_millis(500));

    let reason = retry_reason(channel.publish(&post(11)).await);
    assert!(reason.contains("timed out"), "{reason}");

    let rkey = expected_rkey(11);
    let published = channel.recover(&post(11)).await.unwrap();
    assert_eq!(
        published.remote_url.as_deref(),
        Some(format!("https://bsky.app/profile/{DID}/post/{rkey}").as_str())
    );
    assert_eq!(pds.records.lock().unwrap().len(), 1);
    assert_eq!(
        f.requests_to("com.atproto.repo.createRecord").await.len(),
        1
    );
    assert_eq!(f.requests_to("com.atproto.repo.getRecord").await.len(), 1);

    // Recovering a delivery that never reached the PDS posts it.
    channel.recover(&post(12)).await.unwrap();
    assert_eq!(pds.records.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_second_create_answered_500_is_confirmed_with_get_record() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let pds = mount_pds(&f).await;
    let channel = f.channel();

    let first = channel.publish(&post(13)).await.unwrap();
    // A crash before the outcome was recorded: the engine sends the same delivery again.
    let second = channel.publish(&post(13)).await.unwrap();

    assert_eq!(first, second);
    assert_eq!(pds.records.lock().unwrap().len(), 1);
    assert_eq!(
        f.requests_to("com.atproto.repo.createRecord").await.len(),
        2
    );
    assert_eq!(f.requests_to("com.atproto.repo.getRecord").await.len(), 1);
}

#[tokio::test]
async fn a_server_error_without_the_record_retries() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    mount_create(
        &f.server,
        "access-1",
        xrpc_error(502, "UpstreamFailure", "Upstream Failure"),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.repo.getRecord"))
        .and(query_param("rkey", expected_rkey(14)))
        .respond_with(xrpc_error(400, "RecordNotFound", "Could not locate record"))
        .expect(1)
        .mount(&f.server)
        .await;

    let reason = retry_reason(f.channel().publish(&post(14)).await);
    assert!(reason.contains("502"), "{reason}");
}

/// A PDS sends its rate-limit headers with every answer; a 500 with thousands of requests left
/// in the hourly window used to wait for that window's reset instead of the backoff.
#[tokio::test]
async fn a_server_error_retries_on_the_backoff_not_at_the_hourly_reset() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let reset = (Utc::now() + chrono::TimeDelta::minutes(58)).timestamp();
    let limits = |answer: ResponseTemplate| {
        answer
            .insert_header("ratelimit-limit", "5000")
            .insert_header("ratelimit-remaining", "4990")
            .insert_header("ratelimit-reset", reset.to_string().as_str())
            .insert_header("ratelimit-policy", "5000;w=3600")
    };
    mount_create(
        &f.server,
        "access-1",
        limits(xrpc_error(
            500,
            "InternalServerError",
            "Internal Server Error",
        )),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.repo.getRecord"))
        .and(query_param("rkey", expected_rkey(15)))
        .respond_with(limits(xrpc_error(
            400,
            "RecordNotFound",
            "Could not locate record",
        )))
        .expect(1)
        .mount(&f.server)
        .await;

    match f.channel().publish(&post(15)).await {
        Err(PostError::Retry { reason, after }) => {
            assert_eq!(after, None, "{reason}");
            assert!(reason.contains("500"), "{reason}");
        }
        other => panic!("expected Retry, got {other:?}"),
    }
}

#[tokio::test]
async fn a_hung_request_retries() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    mount_create(
        &f.server,
        "access-1",
        created("x").set_delay(Duration::from_secs(5)),
        1,
    )
    .await;
    let channel = f.channel_at(&f.server.uri(), Duration::from_millis(300));

    let reason = retry_reason(channel.publish(&post(15)).await);
    assert!(reason.contains("timed out"), "{reason}");
}

#[tokio::test]
async fn a_dropped_connection_retries() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // Read the start of each request, then close without answering.
        for stream in listener.incoming().take(4) {
            let mut stream = stream.unwrap();
            let mut buffer = [0; 1024];
            let _ = stream.read(&mut buffer);
        }
    });
    let channel = f.channel_at(&format!("http://{address}"), Duration::from_secs(5));

    retry_reason(channel.publish(&post(16)).await);
}

#[tokio::test]
async fn length_is_counted_in_graphemes() {
    let f = Fixture::new().await;
    let channel = f.channel();
    assert_eq!(channel.max_length(), 300);
    assert_eq!(channel.count("👩‍👩‍👧 é"), 3);
    assert_eq!(channel.count("e\u{301}"), 1);
    assert_eq!(channel.name(), "bsky");
}

/// What the mock PDS holds under `rkey`, as createRecord would have stored `text` and `url`.
fn stored_record(text: &str, url: &str) -> Value {
    json!({
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2025-06-01T12:00:00.123Z",
        "embed": {"$type": "app.bsky.embed.external", "external": {"uri": url, "title": "", "description": ""}},
    })
}

#[tokio::test]
async fn a_delivery_an_older_crier_attempted_is_looked_up_under_the_key_it_derived() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let pds = mount_pds(&f).await;
    // Queue time and the delivery id's low 10 bits: the key crier derived before keys were kept.
    let derived = tid(queued_at().timestamp_micros() as u64, 21);
    pds.records.lock().unwrap().insert(
        derived.clone(),
        stored_record(TEXT, "https://example.org/fete/?lang=fr"),
    );

    let older = Post {
        media: None,
        key: None,
        ..post(21)
    };
    let published = f.channel().recover(&older).await.unwrap();

    assert_eq!(
        published.remote_url.as_deref(),
        Some(format!("https://bsky.app/profile/{DID}/post/{derived}").as_str())
    );
    assert_eq!(pds.records.lock().unwrap().len(), 1);
    assert!(
        f.requests_to("com.atproto.repo.createRecord")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_look_up_finding_a_different_post_does_not_count_as_this_one() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let pds = mount_pds(&f).await;
    let rkey = expected_rkey(22);
    let other = stored_record(
        "Another entry https://example.org/other/",
        "https://example.org/other/",
    );
    pds.records
        .lock()
        .unwrap()
        .insert(rkey.clone(), other.clone());
    let channel = f.channel();

    // After an unknown outcome: getRecord finds the other post.
    let reason = retry_reason(channel.recover(&post(22)).await);
    assert!(reason.contains("another post"), "{reason}");
    assert!(reason.contains(&rkey), "{reason}");
    // A first attempt: createRecord answers 500, getRecord finds the other post.
    let reason = retry_reason(channel.publish(&post(22)).await);
    assert!(reason.contains("another post"), "{reason}");
    // The engine's call tells it apart, to give the post a new key.
    assert!(matches!(
        channel.attempt(&post(22), true).await,
        Ok(Attempt::KeyTaken { .. })
    ));
    assert_eq!(
        *pds.records.lock().unwrap(),
        BTreeMap::from([(rkey, other)])
    );

    // Under a fresh key it is posted.
    let fresh = Post {
        media: None,
        key: Some(expected_rkey(23)),
        ..post(22)
    };
    channel.publish(&fresh).await.unwrap();
    let records = pds.records.lock().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[&expected_rkey(23)]["text"], TEXT);
}

/// A state holding entries `e0`…`e1024`, all queued in one cycle: `e0` and `e1024` on the
/// Bluesky channel `bsky` (deliveries 1 and 1025, 1,024 apart), the others on a channel that
/// is not configured, so that only those two are sent.
fn state_past_1024(dir: &std::path::Path, at: DateTime<Utc>) -> Store {
    let mut store = Store::open(&dir.join("state.sqlite3")).unwrap();
    let mut batch = Batch::default();
    for i in 0..=1024 {
        let entry = common::entry(&format!("e{i}"), "2025-06-01T10:00:00Z");
        batch.deliveries.push(NewDelivery {
            entry_id: entry.id.clone(),
            channel: if i % 1024 == 0 { "bsky" } else { "elsewhere" }.into(),
            state: DeliveryState::Pending,
            queued_at: at,
            due_at: None,
            reason: None,
        });
        batch.upserts.push(EntryRecord {
            content_hash: entry.content_hash(),
            doc_key: format!("{}.md", entry.id),
            entry,
            source: "content".into(),
            fingerprint: "1:1".into(),
            status: EntryStatus::Live,
        });
    }
    store.apply(&batch, at).unwrap();
    store
}

/// A config with the one channel `bsky` on the fixture's server.
fn engine_config(f: &Fixture) -> Config {
    let password = common::secret_file(f.dir.path(), "bluesky.password", PASSWORD);
    let text = format!(
        r#"
[site]
title = "T"
base_url = "https://example.org"
[[sources]]
type = "directory"
path = "content"
[announce]
per_run_cap = 2000
[[channels]]
type = "bluesky"
name = "bsky"
base_url = "{}"
handle = "{HANDLE}"
app_password = {}
template = "{{{{ title }}}} {{{{ url }}}}"
"#,
        f.server.uri(),
        password.inline()
    );
    let mut config = Config::parse(&text, &f.dir.path().join("crier.toml")).unwrap();
    config.resolve_paths(f.dir.path());
    config.validate().unwrap();
    config
}

/// One delivery round at `at`.
async fn deliver(config: &Config, store: &Arc<Mutex<Store>>, at: DateTime<Utc>) -> DeliveryReport {
    let options = DeliverOptions {
        now: at,
        dry_run: false,
    };
    crier::engine::deliver::deliver(config, store.clone(), options, &CancellationToken::new())
        .await
        .unwrap()
}

/// The texts the PDS holds, sorted.
fn texts(pds: &Pds) -> Vec<String> {
    let records = pds.records.lock().unwrap();
    let mut texts: Vec<String> = records
        .values()
        .map(|r| r["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    texts
}

#[tokio::test]
async fn two_deliveries_1024_apart_in_one_cycle_are_both_posted() {
    let f = Fixture::new().await;
    f.expect_session(1).await;
    let pds = mount_pds(&f).await;
    let config = engine_config(&f);
    let at = queued_at();
    let store = Arc::new(Mutex::new(state_past_1024(f.dir.path(), at)));

    let report = deliver(&config, &store, at).await;

    assert_eq!(report.sent.len(), 2, "{report:?}");
    // Once the second shared the first's key: its createRecord failed, getRecord found the
    // first one's post, and it was marked sent without ever being posted.
    assert_eq!(
        texts(&pds),
        [
            "Title e0 https://example.org/e0/",
            "Title e1024 https://example.org/e1024/"
        ]
    );
    let sent: Vec<_> = store
        .lock()
        .unwrap()
        .deliveries()
        .unwrap()
        .into_iter()
        .filter(|d| d.channel == "bsky")
        .map(|d| (d.state, d.remote_url))
        .collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(state, _)| *state == DeliveryState::Sent));
    assert_ne!(sent[0].1, sent[1].1);
}

#[tokio::test]
async fn a_retry_finding_another_deliverys_post_under_its_key_posts_its_own() {
    let f = Fixture::new().await;
    f.expect_session(1).await;
    let pds = mount_pds(&f).await;
    let config = engine_config(&f);
    let at = queued_at();
    let store = Arc::new(Mutex::new(state_past_1024(f.dir.path(), at)));
    // As an older crier left it: e0 posted under the key it derived (queue time, clock id
    // 1025 mod 1024 = 1), e1024 killed while sending under the same derived key.
    let shared = tid(at.timestamp_micros() as u64, 1);
    pds.records.lock().unwrap().insert(
        shared.clone(),
        stored_record(
            "Title e0 https://example.org/e0/",
            "https://example.org/e0/",
        ),
    );
    {
        let mut store = store.lock().unwrap();
        let ids: Vec<_> = store
            .deliveries()
            .unwrap()
            .into_iter()
            .filter(|d| d.channel == "bsky")
            .map(|d| d.id)
            .collect();
        assert_eq!(ids, [1, 1025]);
        store.mark_sending(ids[0], at).unwrap();
        store
            .mark_sent(ids[0], None, Some("https://bsky.app/e0"), at)
            .unwrap();
        store.mark_sending(ids[1], at).unwrap();
    }

    let report = deliver(&config, &store, at + chrono::Duration::minutes(1)).await;

    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert_eq!(
        texts(&pds),
        [
            "Title e0 https://example.org/e0/",
            "Title e1024 https://example.org/e1024/"
        ]
    );
    let e1024 = store
        .lock()
        .unwrap()
        .deliveries()
        .unwrap()
        .into_iter()
        .find(|d| d.entry_id == "e1024")
        .unwrap();
    assert_eq!(e1024.state, DeliveryState::Sent);
    assert_ne!(
        e1024.remote_url.as_deref(),
        Some(format!("https://bsky.app/profile/{DID}/post/{shared}").as_str())
    );
}

/// Mounts the `method` endpoint answering `refused` to `access-old` and `accepted` to
/// `access-1` (the session createSession gives).
async fn refuse_old_token(
    f: &Fixture,
    verb: &str,
    method_name: &str,
    refused: ResponseTemplate,
    accepted: ResponseTemplate,
) {
    let endpoint = format!("/xrpc/{method_name}");
    Mock::given(method(verb))
        .and(path(endpoint.as_str()))
        .and(header("authorization", "Bearer access-old"))
        .respond_with(refused)
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method(verb))
        .and(path(endpoint.as_str()))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(accepted)
        .expect(1)
        .mount(&f.server)
        .await;
}

/// The three ways a PDS refuses a token that refreshing cannot fix.
fn refusals() -> [ResponseTemplate; 3] {
    [
        xrpc_error(400, "InvalidToken", "Token could not be verified"),
        xrpc_error(401, "AuthenticationRequired", "Authentication Required"),
        // A bare 401, without an XRPC error body.
        ResponseTemplate::new(401),
    ]
}

#[tokio::test]
async fn a_refused_token_on_a_post_creates_a_new_session_once() {
    for refused in refusals() {
        let f = Fixture::new().await;
        f.remember_session("access-old", "refresh-old");
        f.expect_session(1).await;
        let rkey = expected_rkey(21);
        refuse_old_token(
            &f,
            "POST",
            "com.atproto.repo.createRecord",
            refused,
            created(&rkey),
        )
        .await;

        let published = f.channel().publish(&post(21)).await.unwrap();

        assert!(published.remote_id.unwrap().ends_with(&rkey));
        let stored: Value = serde_json::from_str(&f.memory.get("session").unwrap()).unwrap();
        assert_eq!(stored["accessJwt"], "access-1");
        f.server.verify().await;
    }
}

#[tokio::test]
async fn a_refused_token_on_a_look_up_creates_a_new_session_once() {
    for refused in refusals() {
        let f = Fixture::new().await;
        f.remember_session("access-old", "refresh-old");
        f.expect_session(1).await;
        let rkey = expected_rkey(22);
        let found = ResponseTemplate::new(200).set_body_json(json!({
            "uri": format!("at://{DID}/app.bsky.feed.post/{rkey}"),
            "value": stored_record(TEXT, "https://example.org/fete/?lang=fr"),
        }));
        refuse_old_token(&f, "GET", "com.atproto.repo.getRecord", refused, found).await;
        mount_create(&f.server, "access-1", created(&rkey), 0).await;

        let published = f.channel().recover(&post(22)).await.unwrap();

        assert!(published.remote_id.unwrap().ends_with(&rkey));
        f.server.verify().await;
    }
}

#[tokio::test]
async fn a_refused_token_on_an_image_upload_creates_a_new_session_once() {
    for refused in refusals() {
        let f = Fixture::new().await;
        f.remember_session("access-old", "refresh-old");
        f.expect_session(1).await;
        mount_image(&f.server, "image/jpeg", common::images::png(5, 5)).await;
        let blob = json!({"$type": "blob", "ref": {"$link": "bafkrei"}, "mimeType": "image/jpeg", "size": 100});
        let uploaded = ResponseTemplate::new(200).set_body_json(json!({"blob": blob}));
        refuse_old_token(&f, "POST", "com.atproto.repo.uploadBlob", refused, uploaded).await;
        mount_create(&f.server, "access-1", created(&expected_rkey(23)), 1).await;

        let post = with_image(&f.server, 23);
        let media = f.channel().upload(&post).await.unwrap();
        f.channel().publish(&Post { media, ..post }).await.unwrap();

        let requests = f.requests_to("com.atproto.repo.createRecord").await;
        let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
        assert_eq!(body["record"]["embed"]["external"]["thumb"], blob);
        f.server.verify().await;
    }
}

#[tokio::test]
async fn a_token_refused_again_after_renewal_pauses_without_renewing_again() {
    let f = Fixture::new().await;
    f.remember_session("access-old", "refresh-old");
    f.expect_session(1).await;
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.repo.createRecord"))
        .respond_with(xrpc_error(
            401,
            "InvalidToken",
            "Token could not be verified",
        ))
        .expect(2)
        .mount(&f.server)
        .await;

    // Renewing in a loop would never end: bound the wait.
    let result = tokio::time::timeout(Duration::from_secs(10), f.channel().publish(&post(24)))
        .await
        .expect("the session is renewed once, not in a loop");

    let reason = match result {
        Err(PostError::Pause { reason }) => reason,
        other => panic!("expected Pause, got {other:?}"),
    };
    assert!(reason.contains("even after renewing"), "{reason}");
}

#[tokio::test]
async fn a_refusal_that_is_not_about_the_token_keeps_the_session() {
    let f = Fixture::new().await;
    f.remember_session("access-old", "refresh-old");
    f.expect_session(0).await;
    mount_create(
        &f.server,
        "access-old",
        xrpc_error(400, "InvalidRequest", "Invalid app.bsky.feed.post record"),
        1,
    )
    .await;

    let result = f.channel().publish(&post(25)).await;

    assert!(
        matches!(result, Err(PostError::Reject { .. })),
        "{result:?}"
    );
    let stored: Value = serde_json::from_str(&f.memory.get("session").unwrap()).unwrap();
    assert_eq!(stored["accessJwt"], "access-old");
}

#[tokio::test]
async fn a_409_without_record_already_exists_is_confirmed_with_get_record() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let rkey = expected_rkey(26);
    mount_create(
        &f.server,
        "access-1",
        xrpc_error(409, "InvalidSwap", "Record already exists"),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.repo.getRecord"))
        .and(query_param("rkey", rkey.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "uri": format!("at://{DID}/app.bsky.feed.post/{rkey}"),
            "value": stored_record(TEXT, "https://example.org/fete/?lang=fr"),
        })))
        .expect(1)
        .mount(&f.server)
        .await;

    let published = f.channel().publish(&post(26)).await.unwrap();

    assert!(published.remote_id.unwrap().ends_with(&rkey));
}

#[tokio::test]
async fn an_image_of_exactly_the_cap_is_uploaded_as_it_is() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let image = mount_image(
        &f.server,
        "image/png",
        common::images::padded_png(1_000_000),
    )
    .await;
    Mock::given(path("/xrpc/com.atproto.repo.uploadBlob"))
        .and(move |request: &Request| request.body == image)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blob": {"size": 1}})))
        .expect(1)
        .mount(&f.server)
        .await;

    let media = f
        .channel()
        .upload(&with_image(&f.server, 28))
        .await
        .unwrap();
    assert!(media.is_some());
}

#[tokio::test]
async fn an_oversize_image_is_scaled_down_to_a_jpeg_under_the_cap() {
    let f = Fixture::new().await;
    f.remember_session("access-1", "refresh-1");
    let seed = common::seed::seed();
    // Noise does not compress: about 1.4 MB as PNG.
    let original = common::images::noisy_png(700, 700, seed as u32);
    assert!(original.len() > 1_000_000);
    mount_image(&f.server, "image/png", original).await;
    Mock::given(path("/xrpc/com.atproto.repo.uploadBlob"))
        .and(header("content-type", "image/jpeg"))
        .and(|request: &Request| {
            request.body.len() <= 1_000_000 && request.body.starts_with(&[0xFF, 0xD8])
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blob": {"size": 1}})))
        .expect(1)
        .mount(&f.server)
        .await;

    let media = f
        .channel()
        .upload(&with_image(&f.server, 29))
        .await
        .unwrap();
    assert!(media.is_some());
    f.server.verify().await;
}

/// Serves one PNG of `size` bytes, chunked (no Content-Length), on a fresh port; its URL.
fn chunked_image(size: usize) -> String {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let Some(Ok(mut stream)) = listener.incoming().next() else {
            return;
        };
        // Read the request head (a GET has no body).
        let mut head = Vec::new();
        let mut byte = [0; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        );
        // A PNG padded to `size`: what crier reads before it fits the image.
        let padded = common::images::padded_png(size.min(1_000_000));
        let mut left = size;
        let mut sent = 0;
        while left > 0 {
            let n = left.min(65_536);
            let chunk: Vec<u8> = (sent..sent + n)
                .map(|i| padded.get(i).copied().unwrap_or(0))
                .collect();
            sent += n;
            if stream.write_all(format!("{n:x}\r\n").as_bytes()).is_err()
                || stream.write_all(&chunk).is_err()
                || stream.write_all(b"\r\n").is_err()
            {
                return;
            }
            left -= n;
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    format!("http://{address}/fete.png")
}

#[tokio::test]
async fn an_image_streamed_without_length_is_capped_while_it_downloads() {
    let cap = crier::channels::media::READ_LIMIT;
    for (size, uploads) in [(cap + 1, 0), (1_000_000, 1)] {
        let f = Fixture::new().await;
        f.remember_session("access-1", "refresh-1");
        Mock::given(path("/xrpc/com.atproto.repo.uploadBlob"))
            .and(move |request: &Request| request.body.len() == size)
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blob": {"size": size}})))
            .expect(uploads)
            .mount(&f.server)
            .await;
        mount_create(&f.server, "access-1", created(&expected_rkey(27)), 1).await;
        let post = Post {
            image: Some(Image {
                url: chunked_image(size),
                alt: String::new(),
                path: None,
            }),
            ..post(27)
        };

        let media = f.channel().upload(&post).await.unwrap();
        f.channel().publish(&Post { media, ..post }).await.unwrap();

        let requests = f.requests_to("com.atproto.repo.createRecord").await;
        let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
        let thumb = &body["record"]["embed"]["external"]["thumb"];
        assert_eq!(thumb.is_null(), uploads == 0, "{size} bytes: {thumb}");
        f.server.verify().await;
    }
}

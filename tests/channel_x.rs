//! The X channel against a local mock server: the signed request it sends, the OAuth 2.0
//! refresh, and how every kind of failure is classified.
//!
//! The OAuth 1.0a signature is checked by recomputing it here from the request the server
//! received, with a second, independent implementation of X's documented algorithm.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use crier::channels::http::client;
use crier::channels::{
    Channel, ChannelConfig, ChannelContext, InMemory, Post, PostError, Published, build,
};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::json;
use sha1::Sha1;
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

const CONSUMER_KEY: &str = "x-consumer-key-0001";
const CONSUMER_SECRET: &str = "x-consumer-5ecret+/=";
const ACCESS_TOKEN: &str = "1234-x-access-token";
const ACCESS_TOKEN_SECRET: &str = "x-token-5ecret&more";
const CLIENT_ID: &str = "crier-client-id";
const CLIENT_SECRET: &str = "x-client-5ecret";
const REFRESH_TOKEN: &str = "x-refresh-token-1";

const TEXT: &str = "Repair café on Saturday 🛠️ https://example.org/news/repair-cafe";

/// Writes a secret file of one line, readable by its owner only, and returns `{ file = "..." }`.
fn secret_file(dir: &Path, name: &str, value: &str) -> toml::Value {
    common::secret_file(dir, name, &format!("{value}\n")).toml()
}

/// A `[[channels]]` table of type `x` named `x-test`, as the config file would give it.
fn config(base_url: &str, auth: (&str, toml::Table)) -> ChannelConfig {
    config_with(base_url, auth, &[])
}

/// [`config`] with more keys.
fn config_with(
    base_url: &str,
    auth: (&str, toml::Table),
    extra: &[(&str, toml::Value)],
) -> ChannelConfig {
    let mut fields = vec![
        ("name", "x-test".into()),
        ("base_url", base_url.into()),
        (auth.0, toml::Value::Table(auth.1)),
    ];
    fields.extend(extra.iter().cloned());
    common::channel_config("x", &fields)
}

fn oauth1(dir: &Path) -> (&'static str, toml::Table) {
    let mut t = toml::Table::new();
    t.insert("consumer_key".into(), secret_file(dir, "ck", CONSUMER_KEY));
    t.insert(
        "consumer_secret".into(),
        secret_file(dir, "cs", CONSUMER_SECRET),
    );
    t.insert("access_token".into(), secret_file(dir, "at", ACCESS_TOKEN));
    t.insert(
        "access_token_secret".into(),
        secret_file(dir, "ats", ACCESS_TOKEN_SECRET),
    );
    ("oauth1", t)
}

fn oauth2(dir: &Path) -> (&'static str, toml::Table) {
    let mut t = toml::Table::new();
    t.insert("client_id".into(), CLIENT_ID.into());
    t.insert(
        "client_secret".into(),
        secret_file(dir, "cls", CLIENT_SECRET),
    );
    t.insert(
        "refresh_token".into(),
        secret_file(dir, "rt", REFRESH_TOKEN),
    );
    ("oauth2", t)
}

struct Setup {
    channel: Box<dyn Channel>,
    memory: Arc<InMemory>,
    _dir: tempfile::TempDir,
}

fn setup(base_url: &str, oauth2_auth: bool, timeout: Duration) -> Setup {
    setup_with(base_url, oauth2_auth, timeout, &[])
}

fn setup_with(
    base_url: &str,
    oauth2_auth: bool,
    timeout: Duration,
    extra: &[(&str, toml::Value)],
) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let auth = if oauth2_auth {
        oauth2(dir.path())
    } else {
        oauth1(dir.path())
    };
    let memory = Arc::new(InMemory::default());
    let context = ChannelContext {
        http: client(timeout),
        memory: memory.clone(),
    };
    Setup {
        channel: build(&config_with(base_url, auth, extra), context),
        memory,
        _dir: dir,
    }
}

/// A post queued just now, as the engine hands it over on its first attempts.
fn post(text: &str) -> Post {
    Post {
        queued_at: Utc::now(),
        title: "Repair café".into(),
        summary: "Bring what is broken.".into(),
        ..common::post(
            "news/repair-cafe",
            text,
            "https://example.org/news/repair-cafe",
        )
    }
}

fn created(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({ "data": { "id": id, "text": TEXT } }))
}

fn duplicate() -> ResponseTemplate {
    ResponseTemplate::new(403).set_body_json(json!({
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403
    }))
}

fn assert_no_secret(message: &str) {
    for secret in [
        CONSUMER_KEY,
        CONSUMER_SECRET,
        ACCESS_TOKEN,
        ACCESS_TOKEN_SECRET,
        CLIENT_SECRET,
        REFRESH_TOKEN,
    ] {
        assert!(!message.contains(secret), "secret leaked in {message:?}");
    }
}

// --- An independent OAuth 1.0a verifier -------------------------------------------------

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Checks the `Authorization: OAuth …` header of `request` against the test credentials.
fn verify_oauth1(request: &Request) -> Result<(), String> {
    let value = request
        .headers
        .get("authorization")
        .ok_or("no Authorization header")?
        .to_str()
        .map_err(|e| e.to_string())?;
    let fields = value.strip_prefix("OAuth ").ok_or("not an OAuth header")?;
    let mut params = BTreeMap::new();
    for field in fields.split(", ") {
        let (key, quoted) = field.split_once('=').ok_or("malformed field")?;
        let raw = quoted
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or("unquoted value")?;
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|e| e.to_string())?;
        params.insert(key.to_owned(), decoded.into_owned());
    }
    let signature = params.remove("oauth_signature").ok_or("no signature")?;
    let expect = |key: &str, value: &str| {
        (params.get(key).map(String::as_str) == Some(value))
            .then_some(())
            .ok_or(format!("{key} is not {value}"))
    };
    expect("oauth_consumer_key", CONSUMER_KEY)?;
    expect("oauth_token", ACCESS_TOKEN)?;
    expect("oauth_signature_method", "HMAC-SHA1")?;
    expect("oauth_version", "1.0")?;
    if params.get("oauth_nonce").is_none_or(|n| n.len() < 16) {
        return Err("short nonce".into());
    }
    let timestamp: i64 = params["oauth_timestamp"].parse().map_err(|_| "timestamp")?;
    if (Utc::now().timestamp() - timestamp).abs() > 300 {
        return Err("stale timestamp".into());
    }
    let mut pairs: Vec<String> = params
        .iter()
        .map(|(k, v)| (enc(k), enc(v)))
        .chain(request.url.query_pairs().map(|(k, v)| (enc(&k), enc(&v))))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.sort();
    // As a server sees it: the Host header and the request path.
    let host = request
        .headers
        .get("host")
        .ok_or("no Host header")?
        .to_str()
        .map_err(|e| e.to_string())?;
    let base_url = format!("http://{host}{}", request.url.path());
    let base = format!(
        "{}&{}&{}",
        request.method.as_str(),
        enc(&base_url),
        enc(&pairs.join("&"))
    );
    let key = format!("{}&{}", enc(CONSUMER_SECRET), enc(ACCESS_TOKEN_SECRET));
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(base.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (expected == signature)
        .then_some(())
        .ok_or(format!("signature {signature} is not {expected}"))
}

struct SignedWithOAuth1;

impl Match for SignedWithOAuth1 {
    fn matches(&self, request: &Request) -> bool {
        verify_oauth1(request).is_ok()
    }
}

// --- Publishing ----------------------------------------------------------------------------

#[tokio::test]
async fn publishes_a_signed_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "text": TEXT })))
        .and(SignedWithOAuth1)
        .respond_with(created("1445880548472328192"))
        .expect(1)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), false, Duration::from_secs(5));

    let published = setup.channel.publish(&post(TEXT)).await.unwrap();
    assert_eq!(
        published,
        Published {
            remote_id: Some("1445880548472328192".into()),
            remote_url: Some("https://x.com/i/web/status/1445880548472328192".into()),
        }
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    verify_oauth1(&requests[0]).unwrap();
}

#[tokio::test]
async fn every_request_has_a_fresh_nonce() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(SignedWithOAuth1)
        .respond_with(created("1"))
        .expect(2)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), false, Duration::from_secs(5));
    setup.channel.publish(&post("one")).await.unwrap();
    setup.channel.publish(&post("two")).await.unwrap();
    let nonces: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let value = r.headers.get("authorization").unwrap().to_str().unwrap();
            let start = value.find("oauth_nonce=\"").unwrap() + 13;
            value[start..start + value[start..].find('"').unwrap()].to_owned()
        })
        .collect();
    assert_ne!(nonces[0], nonces[1]);
}

#[tokio::test]
async fn oauth2_refreshes_then_posts_and_keeps_the_rotated_refresh_token() {
    let server = MockServer::start().await;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(
            format!("refresh_token={REFRESH_TOKEN}").as_str(),
        ))
        .and(body_string_contains(
            format!("client_id={CLIENT_ID}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": "access-1",
            "scope": "tweet.write tweet.read users.read offline.access",
            "refresh_token": "x-refresh-token-2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header("authorization", "Bearer access-1"))
        .and(body_json(json!({ "text": TEXT })))
        .respond_with(created("20"))
        .expect(2)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), true, Duration::from_secs(5));

    let published = setup.channel.publish(&post(TEXT)).await.unwrap();
    assert_eq!(published.remote_id.as_deref(), Some("20"));
    let stored = setup.memory.values();
    assert!(
        stored.contains(&"x-refresh-token-2".to_owned()),
        "{stored:?}"
    );
    assert!(stored.contains(&"access-1".to_owned()), "{stored:?}");
    // The access token lasts: the second post needs no refresh.
    setup.channel.publish(&post(TEXT)).await.unwrap();
}

#[tokio::test]
async fn oauth2_refreshes_once_on_401_with_the_stored_refresh_token() {
    let server = MockServer::start().await;
    for (refresh, access, next) in [
        (REFRESH_TOKEN, "access-1", "x-refresh-token-2"),
        ("x-refresh-token-2", "access-2", "x-refresh-token-3"),
    ] {
        Mock::given(method("POST"))
            .and(path("/2/oauth2/token"))
            .and(body_string_contains(
                format!("refresh_token={refresh}&").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": access,
                "refresh_token": next
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    // access-1 works once, then X revokes it early.
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(created("1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header("authorization", "Bearer access-2"))
        .respond_with(created("2"))
        .expect(1)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), true, Duration::from_secs(5));

    setup.channel.publish(&post("first")).await.unwrap();
    let second = setup.channel.publish(&post("second")).await.unwrap();
    assert_eq!(second.remote_id.as_deref(), Some("2"));
    assert!(
        setup
            .memory
            .values()
            .contains(&"x-refresh-token-3".to_owned())
    );
}

#[tokio::test]
async fn oauth2_refused_refresh_token_pauses() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), true, Duration::from_secs(5));
    let error = setup.channel.publish(&post(TEXT)).await.unwrap_err();
    let PostError::Pause { reason } = &error else {
        panic!("expected a pause, got {error:?}");
    };
    assert!(reason.contains("authorise crier again"), "{reason}");
    assert!(reason.contains("crier retry --channel x-test"), "{reason}");
    assert_no_secret(reason);
}

// --- Failures ------------------------------------------------------------------------------

async fn answer(response: ResponseTemplate) -> Result<Published, PostError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), false, Duration::from_secs(5));
    setup.channel.publish(&post(TEXT)).await
}

#[tokio::test]
async fn unauthorized_pauses_with_the_fix_and_no_secret() {
    let error = answer(ResponseTemplate::new(401).set_body_json(json!({
        "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"
    })))
    .await
    .unwrap_err();
    let PostError::Pause { reason } = &error else {
        panic!("expected a pause, got {error:?}");
    };
    assert!(
        reason.contains("regenerate the access token and secret"),
        "{reason}"
    );
    assert!(reason.contains("crier retry --channel x-test"), "{reason}");
    assert_no_secret(reason);
}

#[tokio::test]
async fn duplicate_content_means_already_posted() {
    let published = answer(duplicate()).await.unwrap();
    assert_eq!(
        published,
        Published {
            remote_id: None,
            remote_url: None
        }
    );
}

#[tokio::test]
async fn missing_write_permission_pauses_with_the_fix() {
    let error = answer(ResponseTemplate::new(403).set_body_json(json!({
        "title": "Forbidden",
        "detail": "Your client app is not configured with the appropriate oauth1 app permissions for this endpoint.",
        "type": "https://api.twitter.com/2/problems/oauth1-permissions",
        "status": 403
    })))
    .await
    .unwrap_err();
    let PostError::Pause { reason } = &error else {
        panic!("expected a pause, got {error:?}");
    };
    assert!(reason.contains("Read and write"), "{reason}");
    assert!(reason.contains("regenerate the access token"), "{reason}");
}

#[tokio::test]
async fn rate_limit_retries_after_the_reset() {
    let error = answer(
        ResponseTemplate::new(429)
            .insert_header("x-rate-limit-reset", "1900000000")
            .set_body_json(json!({ "title": "Too Many Requests", "status": 429 })),
    )
    .await
    .unwrap_err();
    let PostError::Retry { after, .. } = error else {
        panic!("expected a retry, got {error:?}");
    };
    assert_eq!(after, DateTime::from_timestamp(1_900_000_000, 0));
}

#[tokio::test]
async fn spent_daily_cap_retries_after_its_reset() {
    let error = answer(
        ResponseTemplate::new(429)
            .insert_header("x-rate-limit-reset", "1900000000")
            .insert_header("x-user-limit-24hour-remaining", "0")
            .insert_header("x-user-limit-24hour-reset", "1900050000"),
    )
    .await
    .unwrap_err();
    let PostError::Retry { after, .. } = error else {
        panic!("expected a retry, got {error:?}");
    };
    assert_eq!(after, DateTime::from_timestamp(1_900_050_000, 0));
}

#[tokio::test]
async fn server_errors_retry() {
    let error = answer(ResponseTemplate::new(503)).await.unwrap_err();
    assert!(matches!(error, PostError::Retry { .. }), "{error:?}");
}

/// X sends its 15-minute window's headers with every answer: a 503 with requests left in the
/// window used to wait for the window's reset instead of the backoff.
#[tokio::test]
async fn a_server_error_retries_on_the_backoff_not_at_the_rate_limit_reset() {
    let reset = (Utc::now() + chrono::TimeDelta::minutes(15)).timestamp();
    let error = answer(
        ResponseTemplate::new(503)
            .insert_header("x-rate-limit-limit", "100")
            .insert_header("x-rate-limit-remaining", "99")
            .insert_header("x-rate-limit-reset", reset.to_string().as_str())
            .set_body_json(json!({ "title": "Service Unavailable", "status": 503 })),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, PostError::Retry { after: None, .. }),
        "{error:?}"
    );
    // With the window spent, its reset is when a retry may come.
    let error = answer(
        ResponseTemplate::new(503)
            .insert_header("x-rate-limit-remaining", "0")
            .insert_header("x-rate-limit-reset", reset.to_string().as_str()),
    )
    .await
    .unwrap_err();
    let PostError::Retry { after, .. } = error else {
        panic!("expected a retry, got {error:?}");
    };
    assert_eq!(after, DateTime::from_timestamp(reset, 0));
}

#[tokio::test]
async fn refused_text_is_rejected() {
    let error = answer(ResponseTemplate::new(400).set_body_json(json!({
        "errors": [{ "message": "Your Tweet text is too long." }],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request"
    })))
    .await
    .unwrap_err();
    assert!(matches!(error, PostError::Reject { .. }), "{error:?}");
}

#[tokio::test]
async fn hung_request_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(created("1").set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), false, Duration::from_millis(300));
    let error = setup.channel.publish(&post(TEXT)).await.unwrap_err();
    let PostError::Retry { reason, .. } = &error else {
        panic!("expected a retry, got {error:?}");
    };
    assert!(reason.contains("timed out"), "{reason}");
    assert_no_secret(reason);
}

#[tokio::test]
async fn dropped_connection_retries() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 1024];
        let _ = socket.read(&mut buffer).await;
        // Closed without a word.
    });
    let setup = setup(&format!("http://{address}"), false, Duration::from_secs(5));
    let error = setup.channel.publish(&post(TEXT)).await.unwrap_err();
    assert!(matches!(error, PostError::Retry { .. }), "{error:?}");
    server.await.unwrap();
}

/// A server that creates a post for each new text and refuses a repeated one, as X does; the
/// first creation answers only after `delay`.
struct Timeline {
    posts: Arc<Mutex<Vec<String>>>,
    delay: Duration,
}

impl Respond for Timeline {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let text = request.body_json::<serde_json::Value>().unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut posts = self.posts.lock().unwrap();
        if posts.contains(&text) {
            return duplicate();
        }
        posts.push(text);
        let response = created(&posts.len().to_string());
        if posts.len() == 1 {
            response.set_delay(self.delay)
        } else {
            response
        }
    }
}

#[tokio::test]
async fn a_post_created_while_the_client_timed_out_is_recovered_once() {
    let server = MockServer::start().await;
    let posts = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(SignedWithOAuth1)
        .respond_with(Timeline {
            posts: posts.clone(),
            delay: Duration::from_secs(3),
        })
        .expect(2)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), false, Duration::from_millis(500));

    let first = setup.channel.publish(&post(TEXT)).await.unwrap_err();
    assert!(matches!(first, PostError::Retry { .. }), "{first:?}");
    let recovered = setup.channel.recover(&post(TEXT)).await.unwrap();
    assert_eq!(
        recovered,
        Published {
            remote_id: None,
            remote_url: None
        }
    );
    assert_eq!(*posts.lock().unwrap(), vec![TEXT.to_owned()]);
}

// --- Past the duplicate window -----------------------------------------------------------------

const USER_ID: &str = "2244994945";

/// A post queued an hour ago: X may no longer refuse its text as a duplicate.
fn old_post() -> Post {
    Post {
        queued_at: Utc::now() - chrono::TimeDelta::hours(1),
        ..post(TEXT)
    }
}

/// A post of the timeline, linking to `url` (its text only holds the t.co link).
fn timeline_post(id: &str, url: &str) -> serde_json::Value {
    json!({
        "id": id,
        "text": "Repair café on Saturday 🛠️ https://t.co/abcdEFGH12",
        "created_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "edit_history_tweet_ids": [id],
        "entities": {"urls": [{
            "start": 27, "end": 50,
            "url": "https://t.co/abcdEFGH12",
            "expanded_url": url,
            "display_url": url.trim_start_matches("https://"),
        }]},
    })
}

/// `GET /2/users/me`, signed, expected `times`.
async fn mount_me(server: &MockServer, times: u64) {
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .and(SignedWithOAuth1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"id": USER_ID, "name": "Alliance", "username": "alliance"}
        })))
        .expect(times)
        .mount(server)
        .await;
}

/// The account's timeline since the delivery was queued (minus the skew margin), signed.
async fn mount_timeline(server: &MockServer, queued_at: DateTime<Utc>, answer: ResponseTemplate) {
    let since = (queued_at - chrono::TimeDelta::minutes(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{USER_ID}/tweets").as_str()))
        .and(query_param("start_time", since.as_str()))
        .and(query_param("tweet.fields", "created_at,entities"))
        .and(query_param("max_results", "100"))
        .and(SignedWithOAuth1)
        .respond_with(answer)
        .expect(1)
        .mount(server)
        .await;
}

/// Today's failure: past X's duplicate window, re-sending the text was taken on trust to be
/// refused if the post existed; X accepted it and the entry was announced twice.
#[tokio::test]
async fn recovering_past_the_duplicate_window_finds_the_post_instead_of_posting_twice() {
    let server = MockServer::start().await;
    // X no longer refuses the text: a post request would make a second post.
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(created("1900000000000000002"))
        .expect(0)
        .mount(&server)
        .await;
    mount_me(&server, 1).await;
    let p = old_post();
    mount_timeline(
        &server,
        p.queued_at,
        ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                timeline_post("1900000000000000001", "https://example.org/news/other"),
                timeline_post("1899999999999999999", &p.url),
            ],
            "meta": {"result_count": 2, "newest_id": "1900000000000000001", "oldest_id": "1899999999999999999"}
        })),
    )
    .await;
    let setup = setup(&server.uri(), false, Duration::from_secs(5));

    let recovered = setup.channel.recover(&p).await.unwrap();
    assert_eq!(
        recovered,
        Published {
            remote_id: Some("1899999999999999999".into()),
            remote_url: Some("https://x.com/i/web/status/1899999999999999999".into()),
        }
    );
    for request in server.received_requests().await.unwrap() {
        verify_oauth1(&request).unwrap();
    }
    // The user id is remembered for the next recovery.
    assert!(
        setup.memory.values().iter().any(|v| v.ends_with(USER_ID)),
        "{:?}",
        setup.memory.values()
    );
}

#[tokio::test]
async fn past_the_window_a_post_that_is_not_there_is_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(body_json(json!({ "text": TEXT })))
        .and(SignedWithOAuth1)
        .respond_with(created("1900000000000000003"))
        .expect(1)
        .mount(&server)
        .await;
    mount_me(&server, 1).await;
    let p = old_post();
    mount_timeline(
        &server,
        p.queued_at,
        ResponseTemplate::new(200).set_body_json(json!({"meta": {"result_count": 0}})),
    )
    .await;
    let setup = setup(&server.uri(), false, Duration::from_secs(5));
    let published = setup.channel.recover(&p).await.unwrap();
    assert_eq!(published.remote_id.as_deref(), Some("1900000000000000003"));
}

#[tokio::test]
async fn with_lookup_off_the_post_is_sent_again_without_reading() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(duplicate())
        .expect(1)
        .mount(&server)
        .await;
    mount_me(&server, 0).await;
    let setup = setup_with(
        &server.uri(),
        false,
        Duration::from_secs(5),
        &[("lookup", false.into())],
    );
    let published = setup.channel.recover(&old_post()).await.unwrap();
    assert_eq!(published.remote_id, None);
}

#[tokio::test]
async fn a_look_up_refused_by_the_access_level_pauses_with_both_fixes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(created("1"))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "client_id": "29014", "required_enrollment": "Appropriate Level of API Access",
            "registration_url": "https://developer.x.com/en/portal/product",
            "title": "Client Forbidden", "reason": "client-not-enrolled",
            "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.",
            "type": "https://api.twitter.com/2/problems/client-forbidden"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), false, Duration::from_secs(5));
    let error = setup.channel.recover(&old_post()).await.unwrap_err();
    let PostError::Pause { reason } = &error else {
        panic!("expected a pause, got {error:?}");
    };
    assert!(reason.contains("lookup = false"), "{reason}");
    assert!(reason.contains("crier retry --channel x-test"), "{reason}");
    assert_no_secret(reason);
}

#[tokio::test]
async fn a_rate_limited_look_up_waits_for_the_reset_without_posting() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(created("1"))
        .expect(0)
        .mount(&server)
        .await;
    mount_me(&server, 1).await;
    let p = old_post();
    mount_timeline(
        &server,
        p.queued_at,
        ResponseTemplate::new(429)
            .insert_header("x-rate-limit-remaining", "0")
            .insert_header("x-rate-limit-reset", "1900000000")
            .set_body_json(json!({ "title": "Too Many Requests", "status": 429 })),
    )
    .await;
    let setup = setup(&server.uri(), false, Duration::from_secs(5));
    let error = setup.channel.recover(&p).await.unwrap_err();
    let PostError::Retry { after, .. } = error else {
        panic!("expected a retry, got {error:?}");
    };
    assert_eq!(after, DateTime::from_timestamp(1_900_000_000, 0));
}

#[tokio::test]
async fn oauth2_looks_up_with_its_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "bearer", "expires_in": 7200,
            "access_token": "access-1", "refresh_token": "x-refresh-token-2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"id": USER_ID, "name": "Alliance", "username": "alliance"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = old_post();
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{USER_ID}/tweets").as_str()))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [timeline_post("77", &p.url)], "meta": {"result_count": 1}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let setup = setup(&server.uri(), true, Duration::from_secs(5));
    let found = setup.channel.recover(&p).await.unwrap();
    assert_eq!(found.remote_id.as_deref(), Some("77"));
}

// --- Length ----------------------------------------------------------------------------------

#[test]
fn counts_as_x_does() {
    let dir = tempfile::tempdir().unwrap();
    let channel = build(
        &config("http://127.0.0.1:9", oauth1(dir.path())),
        ChannelContext {
            http: client(Duration::from_secs(1)),
            memory: Arc::new(InMemory::default()),
        },
    );
    assert_eq!(channel.max_length(), 280);
    // "Repair café on Saturday " (24) + emoji (2) + " " (1) + a link (23).
    assert_eq!(channel.count(TEXT), 50);
    assert_eq!(channel.count("故人西辞"), 8);
    assert_eq!(channel.count("👩\u{200D}👩\u{200D}👧 ok"), 5);
}

/// [`post`] of [`TEXT`] with a PNG on disk as its image; the PNG.
fn post_with_image(dir: &Path) -> (Post, Vec<u8>) {
    let png = common::images::png(50, 50);
    let file = dir.join("repair.png");
    std::fs::write(&file, &png).unwrap();
    let post = Post {
        image: Some(crier::entry::Image {
            url: "https://example.org/news/repair.png".into(),
            alt: "A soldering iron on a workbench".into(),
            path: Some(file),
        }),
        ..post(TEXT)
    };
    (post, png)
}

#[tokio::test]
async fn an_image_is_uploaded_signed_given_its_alt_text_then_attached() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload"))
        .and(SignedWithOAuth1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": "1880028106020515840", "media_key": "3_1880028106020515840",
            "size": 90, "expires_after_secs": 86400,
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/metadata"))
        .and(SignedWithOAuth1)
        .and(body_json(json!({
            "id": "1880028106020515840",
            "metadata": {"alt_text": {"text": "A soldering iron on a workbench"}},
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": "1880028106020515840",
            "associated_metadata": {"alt_text": {"text": "A soldering iron on a workbench"}},
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(SignedWithOAuth1)
        .and(body_json(json!({
            "text": TEXT,
            "media": {"media_ids": ["1880028106020515840"]},
        })))
        .respond_with(created("1880028106020515841"))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (post, png) = post_with_image(dir.path());
    let s = setup(&server.uri(), false, Duration::from_secs(5));

    let media = s.channel.upload(&post).await.unwrap().unwrap();
    assert_eq!(media.id, "1880028106020515840");
    s.channel
        .publish(&Post {
            media: Some(media),
            ..post
        })
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let parts = common::images::multipart(&requests[0]);
    let media = common::images::part(&parts, "media");
    assert_eq!(media.body, png);
    assert_eq!(media.content_type.as_deref(), Some("image/png"));
    assert_eq!(
        common::images::part(&parts, "media_category").text(),
        "tweet_image"
    );
    server.verify().await;
}

#[tokio::test]
async fn an_upload_without_the_media_scope_pauses_and_a_refused_image_is_left_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "title": "Invalid Request", "detail": "media type unsupported", "status": 400,
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "title": "Forbidden", "detail": "Forbidden", "status": 403,
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (post, _) = post_with_image(dir.path());
    let s = setup(&server.uri(), false, Duration::from_secs(5));

    assert_eq!(s.channel.upload(&post).await.unwrap(), None);
    let Err(PostError::Pause { reason }) = s.channel.upload(&post).await else {
        panic!("a refused upload pauses the channel");
    };
    assert!(reason.contains("media.write"), "{reason}");
    assert_no_secret(&reason);
}

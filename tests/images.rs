//! Images on posts, end to end: the real binary announces an entry whose front matter names
//! an image in its page bundle, on mock Mastodon, Bluesky, X and Facebook that take uploads
//! as the platforms document them (multipart fields checked). The image is uploaded once and
//! attached with its alt text on each network, an oversize one is scaled down, and when the
//! process is killed after the uploads, while the posts wait for their answers, the next run
//! attaches the uploads on record instead of uploading again.

#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::images::{multipart, part};
use common::{Site, entry_file};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ALT: &str = "Tables in a garden";
const PAGE: &str = "123456";

/// What the mock platforms received, by network.
#[derive(Default)]
struct Received {
    /// Uploads (the file bytes), by network.
    uploads: HashMap<&'static str, Vec<Vec<u8>>>,
    /// Alt texts given with uploads, by network.
    alts: HashMap<&'static str, Vec<String>>,
    /// The media each post request attached, by network (empty: none).
    attached: HashMap<&'static str, Vec<Vec<String>>>,
    /// Mastodon's statuses by Idempotency-Key, Bluesky's records by rkey, X's texts,
    /// Facebook's posts (id, message).
    statuses: HashMap<String, String>,
    records: HashMap<String, Value>,
    tweets: Vec<String>,
    fb_posts: Vec<(String, String)>,
}

/// Mastodon, Bluesky, X and Facebook on one server, told apart by path. While `hang` is set,
/// post requests are recorded (the post exists) but answered only after a minute, as when
/// the answer is lost.
#[derive(Clone, Default)]
struct Platforms {
    received: Arc<Mutex<Received>>,
    hang: Arc<AtomicBool>,
}

impl Platforms {
    fn received(&self) -> std::sync::MutexGuard<'_, Received> {
        self.received.lock().unwrap()
    }

    fn posted(&self, network: &'static str, media: Vec<String>) {
        self.received()
            .attached
            .entry(network)
            .or_default()
            .push(media);
    }

    fn uploaded(&self, network: &'static str, bytes: Vec<u8>, alt: Option<String>) {
        let mut received = self.received();
        received.uploads.entry(network).or_default().push(bytes);
        if let Some(alt) = alt {
            received.alts.entry(network).or_default().push(alt);
        }
    }

    fn answer_post(&self, answer: ResponseTemplate) -> ResponseTemplate {
        if self.hang.load(Ordering::SeqCst) {
            answer.set_delay(Duration::from_secs(60))
        } else {
            answer
        }
    }

    fn mastodon(&self, request: &Request) -> ResponseTemplate {
        match request.url.path() {
            "/api/v2/media" => {
                let parts = multipart(request);
                let file = part(&parts, "file");
                assert!(file.file_name.is_some() && file.content_type.is_some());
                let done = self.received().uploads.get("mastodon").map_or(0, Vec::len);
                let id = format!("m{}", done + 1);
                self.uploaded(
                    "mastodon",
                    file.body.clone(),
                    Some(part(&parts, "description").text()),
                );
                ResponseTemplate::new(200).set_body_json(json!({"id": id, "type": "image"}))
            }
            _ => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let media = strings(&body["media_ids"]);
                self.posted("mastodon", media);
                let key = header(request, "idempotency-key");
                let id = {
                    let mut received = self.received();
                    let next = (received.statuses.len() + 1).to_string();
                    received.statuses.entry(key).or_insert(next).clone()
                };
                self.answer_post(
                    ResponseTemplate::new(200).set_body_json(
                        json!({"id": id, "url": format!("https://m.example/@a/{id}")}),
                    ),
                )
            }
        }
    }

    fn bluesky(&self, request: &Request) -> ResponseTemplate {
        let did = "did:plc:imagetest";
        match request.url.path().trim_start_matches("/xrpc/") {
            "com.atproto.server.createSession" => ResponseTemplate::new(200).set_body_json(json!({
                "accessJwt": "a", "refreshJwt": "r", "did": did,
                "handle": "alliance.example.com", "active": true
            })),
            "com.atproto.repo.uploadBlob" => {
                assert!(header(request, "content-type").starts_with("image/"));
                self.uploaded("bluesky", request.body.clone(), None);
                ResponseTemplate::new(200).set_body_json(json!({"blob": {
                    "$type": "blob", "ref": {"$link": "bafkreiimage"},
                    "mimeType": header(request, "content-type"), "size": request.body.len(),
                }}))
            }
            "com.atproto.repo.createRecord" => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let images = &body["record"]["embed"]["images"];
                let media = images
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| i["image"]["ref"]["$link"].as_str().unwrap().to_owned())
                    .collect();
                if let Some(alt) = images[0]["alt"].as_str() {
                    self.received()
                        .alts
                        .entry("bluesky")
                        .or_default()
                        .push(alt.to_owned());
                }
                self.posted("bluesky", media);
                let rkey = body["rkey"].as_str().unwrap().to_owned();
                self.received()
                    .records
                    .insert(rkey.clone(), body["record"].clone());
                self.answer_post(ResponseTemplate::new(200).set_body_json(json!({
                    "uri": format!("at://{did}/app.bsky.feed.post/{rkey}"), "cid": "bafy"
                })))
            }
            "com.atproto.repo.getRecord" => {
                let rkey = query(request, "rkey");
                match self.received().records.get(&rkey) {
                    Some(value) => ResponseTemplate::new(200).set_body_json(json!({
                        "uri": format!("at://{did}/app.bsky.feed.post/{rkey}"),
                        "cid": "bafy", "value": value
                    })),
                    None => ResponseTemplate::new(400).set_body_json(
                        json!({"error": "RecordNotFound", "message": "Could not locate record"}),
                    ),
                }
            }
            other => panic!("unexpected Bluesky call {other}"),
        }
    }

    fn x(&self, request: &Request) -> ResponseTemplate {
        match request.url.path() {
            "/2/media/upload" => {
                let parts = multipart(request);
                assert_eq!(part(&parts, "media_category").text(), "tweet_image");
                self.uploaded("x", part(&parts, "media").body.clone(), None);
                ResponseTemplate::new(200).set_body_json(json!({"data": {
                    "id": "1880000000000000001", "media_key": "3_1880000000000000001",
                    "expires_after_secs": 86400,
                }}))
            }
            "/2/media/metadata" => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let alt = body["metadata"]["alt_text"]["text"].as_str().unwrap();
                self.received()
                    .alts
                    .entry("x")
                    .or_default()
                    .push(alt.to_owned());
                ResponseTemplate::new(200).set_body_json(json!({"data": {"id": body["id"]}}))
            }
            _ => {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                self.posted("x", strings(&body["media"]["media_ids"]));
                let text = body["text"].as_str().unwrap().to_owned();
                let mut received = self.received();
                if received.tweets.contains(&text) {
                    return ResponseTemplate::new(403).set_body_json(json!({
                        "detail": "You are not allowed to create a Tweet with duplicate content.",
                        "type": "about:blank", "title": "Forbidden", "status": 403
                    }));
                }
                received.tweets.push(text);
                let id = (2_000 + received.tweets.len()).to_string();
                drop(received);
                self.answer_post(
                    ResponseTemplate::new(201).set_body_json(json!({"data": {"id": id}})),
                )
            }
        }
    }

    fn facebook(&self, request: &Request) -> ResponseTemplate {
        if request.method.as_str() == "GET" {
            let now = chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S+0000")
                .to_string();
            let data: Vec<Value> = self
                .received()
                .fb_posts
                .iter()
                .map(|(id, message)| json!({"id": id, "message": message, "created_time": now}))
                .collect();
            return ResponseTemplate::new(200).set_body_json(json!({"data": data}));
        }
        if request.url.path().ends_with("/feed") {
            // A link post.
            let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            let mut received = self.received();
            let id = format!("{PAGE}_{}", received.fb_posts.len() + 1);
            received
                .fb_posts
                .push((id.clone(), form["message"].clone()));
            return ResponseTemplate::new(200).set_body_json(json!({"id": id}));
        }
        let parts = multipart(request);
        let caption = part(&parts, "caption").text();
        self.uploaded(
            "facebook",
            part(&parts, "source").body.clone(),
            Some(part(&parts, "alt_text_custom").text()),
        );
        self.posted("facebook", vec!["photo".into()]);
        let id = {
            let mut received = self.received();
            let id = format!("{PAGE}_{}", received.fb_posts.len() + 1);
            received.fb_posts.push((id.clone(), caption));
            id
        };
        self.answer_post(
            ResponseTemplate::new(200).set_body_json(json!({"id": "photo-1", "post_id": id})),
        )
    }
}

impl Respond for Platforms {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        if path.starts_with("/api/") {
            self.mastodon(request)
        } else if path.starts_with("/xrpc/") {
            self.bluesky(request)
        } else if path.starts_with("/2/") {
            self.x(request)
        } else if path.starts_with(&format!("/v25.0/{PAGE}/")) {
            self.facebook(request)
        } else {
            ResponseTemplate::new(404)
        }
    }
}

fn header(request: &Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn query(request: &Request, name: &str) -> String {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A site with one entry, `ghent`, whose bundle holds `image` as `cover.png`, announced on
/// the four networks of `server`, each attaching images.
async fn site_with_image(server: &MockServer, image: &[u8]) -> Site {
    let site = Site::empty();
    site.write_entry(
        "content/ghent/index.md",
        &entry_file("Ghent", "2025-03-01")
            .extra("image", "cover.png")
            .extra("image_alt", ALT),
    );
    std::fs::write(site.path("content/ghent/cover.png"), image).unwrap();
    let base = server.uri();
    let file = |name: &str, value: &str| site.secret(name, value).inline();
    site.set_config(&format!(
        r#"
[site]
title = "Images"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/{{slug}}/"

[announce]
request_timeout = "90s"
max_age = "3650d"

[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{base}"
access_token = {masto}

[[channels]]
type = "bluesky"
name = "bluesky"
base_url = "{base}"
handle = "alliance.example.com"
app_password = {bsky}
image = "attach"

[[channels]]
type = "x"
name = "x"
base_url = "{base}"
[channels.oauth1]
consumer_key = {ck}
consumer_secret = {cs}
access_token = {at}
access_token_secret = {ats}

[[channels]]
type = "facebook"
name = "facebook"
base_url = "{base}"
page_id = "{PAGE}"
page_token = {fb}
image = "attach"
"#,
        masto = file("masto", "masto-token"),
        bsky = file("bsky", "bsky-password"),
        ck = file("ck", "ck"),
        cs = file("cs", "cs"),
        at = file("at", "at"),
        ats = file("ats", "ats"),
        fb = file("fb", "fb-token"),
    ));
    site
}

async fn server(platforms: &Platforms) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(platforms.clone())
        .mount(&server)
        .await;
    server
}

const NETWORKS: [&str; 4] = ["mastodon", "bluesky", "x", "facebook"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_is_uploaded_once_and_attached_with_its_alt_text_on_each_network() {
    let platforms = Platforms::default();
    let server = server(&platforms).await;
    let png = common::images::png(64, 48);
    let site = site_with_image(&server, &png).await;

    let output = site
        .crier()
        .args(["run", "--once", "--announce-existing"])
        .output_async()
        .await;
    assert!(
        output.status.success(),
        "{}",
        common::OutputText::stderr_text(&output)
    );

    let received = platforms.received();
    for network in NETWORKS {
        assert_eq!(
            received.uploads[network],
            std::slice::from_ref(&png),
            "{network}: one upload of the file"
        );
        assert_eq!(received.alts[network], [ALT], "{network}: its alt text");
        assert_eq!(received.attached[network].len(), 1, "{network}: one post");
        assert_eq!(
            received.attached[network][0].len(),
            1,
            "{network}: the image attached"
        );
    }
    assert_eq!(received.attached["mastodon"][0], ["m1"]);
    assert_eq!(received.attached["x"][0], ["1880000000000000001"]);
    assert_eq!(received.attached["bluesky"][0], ["bafkreiimage"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_image_is_scaled_down_where_a_network_needs_it_and_the_posts_go_out() {
    let platforms = Platforms::default();
    let server = server(&platforms).await;
    let seed = common::seed::seed();
    // Noise does not compress: about 2.9 MB as PNG, over Bluesky's 1 MB and Facebook's
    // limits for no network but Bluesky (X takes 5 MB, Mastodon 10 MB, Facebook 4 MB).
    let png = common::images::noisy_png(1000, 1000, seed as u32);
    assert!(png.len() > 1_000_000);
    let site = site_with_image(&server, &png).await;

    let output = site
        .crier()
        .args(["run", "--once", "--announce-existing"])
        .output_async()
        .await;
    assert!(
        output.status.success(),
        "{}",
        common::OutputText::stderr_text(&output)
    );

    let received = platforms.received();
    let bluesky = &received.uploads["bluesky"][0];
    assert!(bluesky.len() <= 1_000_000, "{} bytes", bluesky.len());
    assert!(bluesky.starts_with(&[0xFF, 0xD8]), "re-encoded as JPEG");
    for network in ["mastodon", "x", "facebook"] {
        assert_eq!(
            received.uploads[network],
            std::slice::from_ref(&png),
            "{network}: as it is"
        );
    }
    for network in NETWORKS {
        assert_eq!(received.attached[network].len(), 1, "{network}: posted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_be_read_is_left_off_with_a_warning_and_the_posts_go_out() {
    let platforms = Platforms::default();
    let server = server(&platforms).await;
    let site = site_with_image(&server, b"not an image at all").await;

    let output = site
        .crier()
        .args(["run", "--once", "--announce-existing"])
        .output_async()
        .await;
    let log = common::OutputText::stderr_text(&output);
    assert!(output.status.success(), "{log}");

    let received = platforms.received();
    assert!(received.uploads.is_empty());
    for network in ["mastodon", "bluesky", "x"] {
        assert_eq!(
            received.attached[network],
            [Vec::<String>::new()],
            "{network}"
        );
    }
    // Facebook made a link post instead of the photo post.
    assert!(!received.attached.contains_key("facebook"));
    for channel in NETWORKS {
        let warned = log.lines().any(|l| {
            l.contains("posting without the image")
                && l.contains(&format!("channel={channel}"))
                && l.contains("content/ghent/cover.png")
        });
        assert!(warned, "no warning naming {channel} and the image:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_between_upload_and_post_the_recorded_upload_is_attached() {
    let platforms = Platforms::default();
    platforms.hang.store(true, Ordering::SeqCst);
    let server = server(&platforms).await;
    let png = common::images::png(64, 48);
    let site = site_with_image(&server, &png).await;

    // The posts reach the networks, their answers never come back: the process is killed.
    let mut run = site
        .crier()
        .args(["run", "--once", "--announce-existing"])
        .spawn();
    run.wait_until("every network got its post", || {
        let received = platforms.received();
        NETWORKS
            .iter()
            .all(|n| received.attached.get(n).is_some_and(|a| !a.is_empty()))
    });
    run.signal("KILL");
    drop(run);
    platforms.hang.store(false, Ordering::SeqCst);

    let output = site.crier().args(["run", "--once"]).output_async().await;
    assert!(
        output.status.success(),
        "{}",
        common::OutputText::stderr_text(&output)
    );

    let received = platforms.received();
    for network in NETWORKS {
        assert_eq!(
            received.uploads[network].len(),
            1,
            "{network}: uploaded once"
        );
    }
    // Mastodon and X were sent the post again (the key and the duplicate refusal keep it
    // single), with the same upload; Bluesky and Facebook found theirs.
    assert_eq!(received.attached["mastodon"], [["m1"], ["m1"]]);
    let x = ["1880000000000000001"];
    assert_eq!(received.attached["x"], [x, x]);
    assert_eq!(received.attached["bluesky"].len(), 1);
    assert_eq!(received.attached["facebook"].len(), 1);
    assert_eq!(received.statuses.len(), 1);
    assert_eq!(received.tweets.len(), 1);
}

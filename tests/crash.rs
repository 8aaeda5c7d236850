//! Exactly once through crashes: the real binary announces a batch of new entries on four mock
//! platforms (Mastodon, Bluesky, X, Facebook, each answering after a random delay and keeping
//! the state the real one keeps) and is killed with SIGKILL at random moments, 50 times. Then
//! it runs to completion, and every entry must be on every channel exactly once. Every line
//! crier printed in all those runs is also checked for the secrets.
//!
//! The batch is large enough that one cycle queues more than 1,024 deliveries (an older crier
//! gave two Bluesky deliveries of such a cycle the same record key, and lost one of the
//! posts), and after each kill the entries a network has but another lacks (those in flight)
//! get a new title: a retry that rendered the entry again would give X and Facebook a
//! different text, which they would post a second time.
//!
//! The delays, the moments of the kills and so the edits come from a generator seeded by
//! `CRIER_TEST_SEED` (printed when the test starts), so a failing sequence can be run again.

#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{OutputText, Site, entry_file};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// New entries at the start: on four channels, 1,040 deliveries queued by one cycle. One more
/// is added after every run that finished before its kill, so that there is always something
/// in flight to interrupt.
const FIRST_BATCH: usize = 260;
const KILLS: usize = 50;
const SECRETS: [&str; 7] = [
    "masto-secret-token-11",
    "bsky-app-password-22",
    "x-consumer-secret-33",
    "x-token-secret-44",
    "fb-page-token-55",
    "x-consumer-key-66",
    "x-access-token-77",
];

/// Posts each mock accepted, by the entry URL they carry.
#[derive(Clone, Default)]
struct Ledger(Arc<Mutex<HashMap<String, usize>>>);

impl Ledger {
    fn record(&self, text: &str) {
        let url = text
            .split_whitespace()
            .find(|w| w.starts_with("https://example.org/"))
            .unwrap_or("<no url>")
            .to_owned();
        *self.0.lock().unwrap().entry(url).or_default() += 1;
    }

    fn counts(&self) -> HashMap<String, usize> {
        self.0.lock().unwrap().clone()
    }
}

/// Answers as `R` does, after a delay of 0 to 40 ms drawn from the test's seeded generator.
struct Delayed<R> {
    inner: R,
    delays: Arc<Mutex<StdRng>>,
}

impl<R> Delayed<R> {
    fn new(inner: R, delays: &Arc<Mutex<StdRng>>) -> Delayed<R> {
        Delayed {
            inner,
            delays: Arc::clone(delays),
        }
    }
}

impl<R: Respond> Respond for Delayed<R> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let ms = self.delays.lock().unwrap().random_range(0..40);
        self.inner
            .respond(request)
            .set_delay(Duration::from_millis(ms))
    }
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// Mastodon: a repeated Idempotency-Key returns the status created the first time.
#[derive(Clone, Default)]
struct Mastodon {
    ledger: Ledger,
    keys: Arc<Mutex<HashMap<String, String>>>,
}

impl Respond for Mastodon {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let mut keys = self.keys.lock().unwrap();
        let id = match keys.get(&key) {
            Some(id) => id.clone(),
            None => {
                self.ledger
                    .record(body["status"].as_str().unwrap_or_default());
                let id = (keys.len() + 1).to_string();
                keys.insert(key, id.clone());
                id
            }
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "id": id, "url": format!("https://m.example/@a/{id}")
        }))
    }
}

/// Bluesky: sessions, records keyed by rkey (a second create with the same key is answered
/// 500, as released PDS versions do), and getRecord.
#[derive(Clone, Default)]
struct Bluesky {
    ledger: Ledger,
    records: Arc<Mutex<HashMap<String, Value>>>,
}

impl Respond for Bluesky {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let method = request.url.path().trim_start_matches("/xrpc/");
        let did = "did:plc:crashtest";
        match method {
            "com.atproto.server.createSession" | "com.atproto.server.refreshSession" => {
                ResponseTemplate::new(200).set_body_json(json!({
                    "accessJwt": "access-jwt", "refreshJwt": "refresh-jwt",
                    "did": did, "handle": "alliance.example.com", "active": true
                }))
            }
            "com.atproto.repo.createRecord" => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let rkey = body["rkey"].as_str().unwrap_or_default().to_owned();
                let mut records = self.records.lock().unwrap();
                if records.contains_key(&rkey) {
                    return ResponseTemplate::new(500).set_body_json(
                        json!({"error": "InternalServerError", "message": "Internal Server Error"}),
                    );
                }
                self.ledger
                    .record(body["record"]["text"].as_str().unwrap_or_default());
                records.insert(rkey.clone(), body["record"].clone());
                ResponseTemplate::new(200).set_body_json(json!({
                    "uri": format!("at://{did}/app.bsky.feed.post/{rkey}"), "cid": "bafy"
                }))
            }
            "com.atproto.repo.getRecord" => {
                let rkey = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "rkey")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                match self.records.lock().unwrap().get(&rkey) {
                    Some(value) => ResponseTemplate::new(200).set_body_json(json!({
                        "uri": format!("at://{did}/app.bsky.feed.post/{rkey}"),
                        "cid": "bafy", "value": value
                    })),
                    None => ResponseTemplate::new(400).set_body_json(json!({
                        "error": "RecordNotFound", "message": "Could not locate record"
                    })),
                }
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

/// X: a text already posted is refused as duplicate content.
#[derive(Clone, Default)]
struct X {
    ledger: Ledger,
    texts: Arc<Mutex<Vec<String>>>,
}

impl Respond for X {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let text = body["text"].as_str().unwrap_or_default().to_owned();
        let mut texts = self.texts.lock().unwrap();
        if texts.contains(&text) {
            return ResponseTemplate::new(403).set_body_json(json!({
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank", "title": "Forbidden", "status": 403
            }));
        }
        self.ledger.record(&text);
        texts.push(text.clone());
        let id = (1_000 + texts.len()).to_string();
        ResponseTemplate::new(201).set_body_json(json!({"data": {"id": id, "text": text}}))
    }
}

/// Facebook: posts to the Page feed, and the feed listing that recovery reads.
#[derive(Clone, Default)]
struct Facebook {
    ledger: Ledger,
    posts: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl Respond for Facebook {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut posts = self.posts.lock().unwrap();
        if request.method.as_str() == "POST" {
            let fields = form(request);
            let message = fields.get("message").cloned().unwrap_or_default();
            self.ledger.record(&message);
            let id = format!("100_{}", posts.len() + 1);
            let created = chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S+0000")
                .to_string();
            posts.push((id.clone(), message, created));
            return ResponseTemplate::new(200).set_body_json(json!({"id": id}));
        }
        let data: Vec<Value> = posts
            .iter()
            .rev()
            .map(|(id, message, created)| {
                let url = message
                    .split_whitespace()
                    .find(|w| w.starts_with("https://"))
                    .unwrap_or_default();
                json!({
                    "id": id, "message": message, "created_time": created,
                    "attachments": {"data": [{"unshimmed_url": url}]}
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": data}))
    }
}

fn entry(site: &Site, i: usize, date: &str) {
    titled(site, i, &format!("Project {i}"), date);
}

/// Entry `i` with `title`; its URL comes from its file name and stays.
fn titled(site: &Site, i: usize, title: &str, date: &str) {
    site.write_entry(
        &format!("content/project-{i}.md"),
        &entry_file(title, date).body("A project."),
    );
}

/// When a run is killed: once it logged `posts` announcements (0: counting from its start,
/// which also lands in the cycle), `delay` later.
struct KillAt {
    posts: usize,
    delay: Duration,
}

impl KillAt {
    fn draw(rng: &mut StdRng) -> KillAt {
        let posts = rng.random_range(0..6);
        let ms = if posts == 0 {
            rng.random_range(2..90)
        } else {
            rng.random_range(0..40)
        };
        KillAt {
            posts,
            delay: Duration::from_millis(ms),
        }
    }
}

/// Runs `command` and kills it with SIGKILL at `at` (no handler, no cleanup, like a power
/// cut), unless it ends first. Returns its output and whether the kill was what ended it.
fn run_until_killed(mut command: Command, at: &KillAt) -> (Output, bool) {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let posted = Arc::new(AtomicUsize::new(0));
    let stderr = child.stderr.take().unwrap();
    let counter = Arc::clone(&posted);
    let log = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            if String::from_utf8_lossy(&line).contains(" posted") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            text.append(&mut line);
        }
        text
    });
    let mut stdout = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let give_up = Instant::now() + Duration::from_secs(60);
    while posted.load(Ordering::SeqCst) < at.posts
        && child.try_wait().unwrap().is_none()
        && Instant::now() < give_up
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(at.delay);
    let killed = child.kill().is_ok();
    let status = child.wait().unwrap();
    let output = Output {
        status,
        stdout: out.join().unwrap(),
        stderr: log.join().unwrap(),
    };
    (output, killed)
}

/// The numbers of the entries some network has and another lacks: in flight at a kill.
fn in_flight(ledgers: &[&Ledger], entries: usize) -> Vec<usize> {
    let counts: Vec<HashMap<String, usize>> = ledgers.iter().map(|l| l.counts()).collect();
    (1..=entries)
        .filter(|i| {
            let url = format!("https://example.org/project-{i}/");
            let posted = counts.iter().filter(|c| c.contains_key(&url)).count();
            posted > 0 && posted < counts.len()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entry_is_announced_exactly_once_through_fifty_kills() {
    let started = std::time::Instant::now();
    let mut rng = common::seed::rng();
    let delays = Arc::new(Mutex::new(StdRng::seed_from_u64(rng.random())));
    let (mastodon, bluesky, x, facebook) = (
        Mastodon::default(),
        Bluesky::default(),
        X::default(),
        Facebook::default(),
    );
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(Delayed::new(mastodon.clone(), &delays))
        .mount(&server)
        .await;
    Mock::given(path_regex("^/xrpc/"))
        .respond_with(Delayed::new(bluesky.clone(), &delays))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(Delayed::new(x.clone(), &delays))
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/123456/feed"))
        .respond_with(Delayed::new(facebook.clone(), &delays))
        .mount(&server)
        .await;

    let site = Site::empty();
    let base = server.uri();
    let file = |name: &str, value: &str| site.secret(name, value).inline();
    let config = format!(
        r#"
[site]
title = "Crash test"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/{{slug}}/"

[announce]
per_run_cap = 5000
max_attempts = 1000
request_timeout = "5s"

[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{base}"
access_token = {masto}
template = "{{{{ title }}}} {{{{ url }}}}"

[[channels]]
type = "bluesky"
name = "bluesky"
base_url = "{base}"
handle = "alliance.example.com"
app_password = {bsky}
template = "{{{{ title }}}} {{{{ url }}}}"

[[channels]]
type = "x"
name = "x"
base_url = "{base}"
template = "{{{{ title }}}} {{{{ url }}}}"
[channels.oauth1]
consumer_key = {ck}
consumer_secret = {cs}
access_token = {at}
access_token_secret = {ats}

[[channels]]
type = "facebook"
name = "facebook"
base_url = "{base}"
page_id = "123456"
page_token = {fb}
template = "{{{{ title }}}} {{{{ url }}}}"
"#,
        masto = file("masto", SECRETS[0]),
        bsky = file("bsky", SECRETS[1]),
        cs = file("cs", SECRETS[2]),
        ats = file("ats", SECRETS[3]),
        fb = file("fb", SECRETS[4]),
        ck = file("ck", SECRETS[5]),
        at = file("at", SECRETS[6]),
    );
    site.set_config(&config);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    entry(&site, 0, &today);

    let run = site.crier().log("trace").args(["run", "--once"]);
    let mut logs = String::new();
    let mut collect = |output: std::process::Output| {
        logs.push_str(&output.stdout_text());
        logs.push_str(&output.stderr_text());
    };

    // Baseline, then the batch of new entries.
    collect(run.clone().output_async().await);
    let mut entries = FIRST_BATCH;
    for i in 1..=entries {
        entry(&site, i, &today);
    }

    let ledgers = [
        &mastodon.ledger,
        &bluesky.ledger,
        &x.ledger,
        &facebook.ledger,
    ];
    let mut kills = 0;
    let mut attempts = 0;
    let mut edits = 0;
    while kills < KILLS && attempts < KILLS * 8 {
        attempts += 1;
        let at = KillAt::draw(&mut rng);
        let command = run.command();
        let (output, killed) = tokio::task::spawn_blocking(move || run_until_killed(command, &at))
            .await
            .unwrap();
        if killed && output.status.code().is_none() {
            kills += 1;
            // A post that reached a network without its answer reaching crier is retried by the
            // next run, after this edit.
            for i in in_flight(&ledgers, entries) {
                edits += 1;
                titled(&site, i, &format!("Project {i}, edit {edits}"), &today);
            }
        } else {
            entries += 1;
            entry(&site, entries, &today);
        }
        collect(output);
    }
    assert!(kills >= KILLS, "only {kills} runs were killed mid-way");
    assert!(edits > 0, "no entry was in flight at a kill");

    // Let it finish: a few undisturbed runs until nothing is due.
    for _ in 0..5 {
        collect(run.clone().output_async().await);
    }

    for (name, ledger) in [
        ("mastodon", &mastodon.ledger),
        ("bluesky", &bluesky.ledger),
        ("x", &x.ledger),
        ("facebook", &facebook.ledger),
    ] {
        let counts = ledger.counts();
        for i in 1..=entries {
            let url = format!("https://example.org/project-{i}/");
            assert_eq!(
                counts.get(&url).copied().unwrap_or(0),
                1,
                "{name}: project-{i} posted {:?} times (all: {counts:?})",
                counts.get(&url)
            );
        }
        assert!(
            !counts.contains_key("https://example.org/project-0/"),
            "{name} announced the baseline entry"
        );
    }
    for secret in SECRETS {
        assert!(!logs.contains(secret), "a secret appeared in the logs");
    }
    let status = site.crier().args(["status"]).output().stdout_text();
    for channel in ["mastodon", "bluesky", "x", "facebook"] {
        assert!(
            status.contains(&format!("{channel}: {entries} sent")),
            "{channel} not fully sent:\n{status}"
        );
    }
    eprintln!(
        "{kills} kills in {attempts} runs, {entries} entries, {edits} edits, {:?}",
        started.elapsed()
    );
}

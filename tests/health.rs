//! The health and metrics listener against real requests on 127.0.0.1: `/healthz` through the
//! cycle states, `/metrics` parsed line by line over a real state database, the feeds folder
//! with its validators and refusals, the preview page, and shutdown. Each test binds its own
//! listener on port 0 and hands it over, so no port is chosen, released and bound again by
//! someone else.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::logs::Logs;
use common::{entry, wait};
use crier::daemon::health::{HealthConfig, HealthServer, HealthState};
use crier::store::outbox::{DeliveryState, NewDelivery};
use crier::store::{Batch, EntryRecord, EntryStatus, RunOutcome, RunRecord, SourceRead, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::subscriber::DefaultGuard;

const MAX_AGE: Duration = Duration::from_secs(900);
const SOURCE_MAX_AGE: Duration = Duration::from_secs(3600);

/// What the listener logs when shutdown had to cut connections after its grace period instead
/// of closing them between two requests.
const GRACE_RAN_OUT: &str = "closing slow connections";

/// A listener on 127.0.0.1:0 over `dir/state.sqlite3`, serving `dir/feeds` when asked, its log
/// captured (the tests run on one thread, which the listener's tasks share).
struct Running {
    addr: SocketAddr,
    state: Arc<HealthState>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    dir: tempfile::TempDir,
    logs: Logs,
    _capture: DefaultGuard,
}

impl Running {
    async fn start(serve_feeds: bool) -> Running {
        Running::start_with(serve_feeds, false).await
    }

    /// [`Running::start`], also serving `/preview` when `preview` is set.
    async fn start_with(serve_feeds: bool, preview: bool) -> Running {
        let (logs, capture) = Logs::capture_thread();
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bound = listener.local_addr().unwrap();
        let config = HealthConfig {
            listen: bound,
            max_age: MAX_AGE,
            source_max_age: SOURCE_MAX_AGE,
            serve_feeds: serve_feeds.then(|| dir.path().join("feeds")),
        };
        let mut server = HealthServer::from_listener(listener, config).unwrap();
        if preview {
            server = server.with_preview();
        }
        let addr = server.local_addr();
        assert_eq!(addr, bound, "serves on the listener it was given");
        let state = Arc::new(HealthState::default());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.run(
            state.clone(),
            dir.path().join("state.sqlite3"),
            shutdown.clone(),
        ));
        Running {
            addr,
            state,
            shutdown,
            task,
            dir,
            logs,
            _capture: capture,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn store_path(&self) -> PathBuf {
        self.dir.path().join("state.sqlite3")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
    }

    async fn health(&self) -> (u16, serde_json::Value) {
        let response = self.get("/healthz").await;
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "healthz content type"
        );
        (status, response.json().await.unwrap())
    }

    /// Cancels and waits for serve to end; connections a client keeps open must be closed
    /// at once, not cut when the grace period runs out.
    async fn stop(self) {
        self.shutdown.cancel();
        wait::guarded("serve after shutdown", self.task)
            .await
            .unwrap()
            .unwrap();
        assert!(
            self.logs.lines_with(&[GRACE_RAN_OUT]).is_empty(),
            "shutdown waited for idle connections:\n{}",
            self.logs.text()
        );
    }
}

/// Sends `request` as-is over a new connection and returns the status code, so that paths
/// reach the server exactly as written (an HTTP client would normalise `..` away).
async fn raw_status(addr: SocketAddr, request: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    let status_line = response.lines().next().unwrap_or_default();
    status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"))
}

fn raw_get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

#[tokio::test]
async fn healthz_follows_the_cycles() {
    let running = Running::start(false).await;

    let (status, body) = running.health().await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        serde_json::json!({"status": "unhealthy", "reason": "no successful cycle yet"})
    );

    let now = Utc::now();
    running.state.cycle_started(now);
    running
        .state
        .cycle_finished(now, Duration::from_millis(300), RunOutcome::Ok, None);
    let (status, body) = running.health().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert!(body["age_seconds"].as_u64().unwrap() < 60, "{body}");
    let last_success = body["last_success"].as_str().unwrap();
    assert!(DateTime::parse_from_rfc3339(last_success).is_ok());

    running.state.cycle_started(Utc::now());
    let (status, body) = running.health().await;
    assert_eq!(status, 200, "a running cycle does not change the verdict");
    assert!(body["cycle_running_since"].is_string(), "{body}");

    running.state.cycle_finished(
        Utc::now(),
        Duration::from_secs(2),
        RunOutcome::Failed,
        Some("cannot read content/: permission denied".into()),
    );
    let (status, body) = running.health().await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(
        body["reason"],
        "last cycle failed: cannot read content/: permission denied"
    );

    let two_hours_ago = Utc::now() - chrono::Duration::hours(2);
    running
        .state
        .cycle_finished(two_hours_ago, Duration::from_secs(1), RunOutcome::Ok, None);
    let (status, body) = running.health().await;
    assert_eq!(status, 503);
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.starts_with("last success 7"), "{reason}");
    assert!(
        reason.ends_with("s ago, more than max_age 900 s"),
        "{reason}"
    );

    // HEAD answers the same status without a body.
    let head = reqwest::Client::new()
        .head(running.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 503);
    assert!(head.bytes().await.unwrap().is_empty());

    running.stop().await;
}

#[tokio::test]
async fn healthz_reads_the_journal_before_the_first_cycle_of_this_process() {
    let running = Running::start(false).await;
    let mut store = Store::open(&running.store_path()).unwrap();
    let finished = Utc::now() - chrono::Duration::minutes(5);
    store
        .record_run(&RunRecord {
            started_at: finished - chrono::Duration::seconds(3),
            finished_at: finished,
            outcome: RunOutcome::Ok,
            ..RunRecord::default()
        })
        .unwrap();
    let (status, body) = running.health().await;
    assert_eq!(status, 200, "{body}");
    assert!(body["age_seconds"].as_u64().unwrap() >= 299, "{body}");

    store
        .record_run(&RunRecord {
            started_at: Utc::now(),
            finished_at: Utc::now(),
            outcome: RunOutcome::Failed,
            message: Some("site folder missing".into()),
            ..RunRecord::default()
        })
        .unwrap();
    let (status, body) = running.health().await;
    assert_eq!(status, 503);
    assert_eq!(body["reason"], "last cycle failed: site folder missing");
    running.stop().await;
}

/// A run whose source could not be read used to count as a success: the journal said
/// `partial`, and `/healthz` took the time it ended for the last success.
#[tokio::test]
async fn healthz_reads_a_partial_run_in_the_journal_as_no_success() {
    let running = Running::start(false).await;
    let mut store = Store::open(&running.store_path()).unwrap();
    let succeeded = Utc::now() - chrono::Duration::hours(2);
    store
        .record_run(&RunRecord {
            started_at: succeeded,
            finished_at: succeeded,
            outcome: RunOutcome::Ok,
            ..RunRecord::default()
        })
        .unwrap();
    store
        .record_run(&RunRecord {
            started_at: Utc::now(),
            finished_at: Utc::now(),
            outcome: RunOutcome::Partial,
            errors: 1,
            message: Some("source \"news\": HTTP 500".into()),
            ..RunRecord::default()
        })
        .unwrap();
    let (status, body) = running.health().await;
    assert_eq!(status, 503, "{body}");
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.starts_with("last success 7"), "{reason}");
    let samples = parse_exposition(&running.get("/metrics").await.text().await.unwrap());
    let last_success = value(&samples, "crier_last_success_timestamp_seconds", &[]).unwrap();
    assert!((last_success - succeeded.timestamp_millis() as f64 / 1000.0).abs() < 0.001);
    running.stop().await;
}

/// With a source answering 500 every cycle, `/healthz` used to stay ok: it now names the
/// source once it has failed for longer than `source_max_age`, and `/metrics` counts its
/// errors.
#[tokio::test]
async fn healthz_names_a_source_failing_longer_than_source_max_age_and_metrics_count_it() {
    let running = Running::start(false).await;
    let mut store = Store::open(&running.store_path()).unwrap();
    let read = |source: &str, error: Option<&str>| SourceRead {
        source: source.into(),
        error: error.map(str::to_owned),
    };
    let start = Utc::now() - chrono::Duration::hours(3);
    store
        .record_source_reads(&[read("content", None), read("news", None)], start)
        .unwrap();
    for minutes in [5, 10, 15] {
        store
            .record_source_reads(
                &[
                    read("content", None),
                    read("news", Some("feed https://e.org/feed.xml: HTTP 500")),
                ],
                start + chrono::Duration::minutes(minutes),
            )
            .unwrap();
    }
    // The daemon's own cycle just ended well (a source failing is no failed cycle).
    running
        .state
        .cycle_finished(Utc::now(), Duration::from_secs(1), RunOutcome::Ok, None);

    let (status, body) = running.health().await;
    assert_eq!(status, 503, "{body}");
    let reason = body["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("source \"news\" has failed every read for "),
        "{reason}"
    );
    assert!(
        reason.ends_with(
            "s (3 in a row), more than source_max_age 3600 s: feed https://e.org/feed.xml: HTTP 500"
        ),
        "{reason}"
    );
    let failing = body["failing_sources"].as_array().unwrap();
    assert_eq!(failing.len(), 1, "{body}");
    assert_eq!(failing[0]["source"], "news");
    assert_eq!(failing[0]["failed_reads"], 3);

    let text = running.get("/metrics").await.text().await.unwrap();
    let samples = parse_exposition(&text);
    assert_eq!(
        value(&samples, "crier_source_errors_total", &[("source", "news")]),
        Some(3.0)
    );
    assert_eq!(
        value(
            &samples,
            "crier_source_errors_total",
            &[("source", "content")]
        ),
        Some(0.0)
    );
    let news_success = value(
        &samples,
        "crier_source_last_success_timestamp_seconds",
        &[("source", "news")],
    )
    .unwrap_or_else(|| panic!("no last success of news in\n{text}"));
    assert!((news_success - start.timestamp_millis() as f64 / 1000.0).abs() < 0.001);

    // A read that works again ends it.
    store
        .record_source_reads(&[read("content", None), read("news", None)], Utc::now())
        .unwrap();
    let (status, body) = running.health().await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("failing_sources").is_none(), "{body}");
    running.stop().await;
}

fn record(id: &str, status: EntryStatus) -> EntryRecord {
    let entry = entry(id, "2024-03-12T09:00:00+01:00");
    EntryRecord {
        content_hash: entry.content_hash(),
        source: "content".into(),
        doc_key: format!("{id}.md"),
        fingerprint: "1:1".into(),
        status,
        entry,
    }
}

fn queued(entry: &str, channel: &str, state: DeliveryState, now: DateTime<Utc>) -> NewDelivery {
    NewDelivery {
        entry_id: entry.into(),
        channel: channel.into(),
        state,
        queued_at: now,
        due_at: None,
        reason: (state == DeliveryState::Held).then(|| "older than max_age".into()),
    }
}

/// A state with 3 live, 1 scheduled and 1 removed entries; `masto` has one sent and one
/// pending delivery, `fb "page"` one dead and one held and is paused.
fn fill_state(path: &Path) {
    let now = Utc::now();
    let mut store = Store::open(path).unwrap();
    let batch = Batch {
        upserts: vec![
            record("a", EntryStatus::Live),
            record("b", EntryStatus::Live),
            record("c", EntryStatus::Live),
            record("d", EntryStatus::Scheduled),
            record("e", EntryStatus::Removed),
        ],
        deliveries: vec![
            queued("a", "masto", DeliveryState::Pending, now),
            queued("b", "masto", DeliveryState::Pending, now),
            queued("a", "fb \"page\"", DeliveryState::Pending, now),
            queued("b", "fb \"page\"", DeliveryState::Held, now),
        ],
        ..Batch::default()
    };
    store.apply(&batch, now).unwrap();
    let id = store.due_deliveries("masto", now).unwrap()[0].id;
    store.mark_sending(id, now).unwrap();
    store.mark_sent(id, Some("1"), None, now).unwrap();
    let id = store.due_deliveries("fb \"page\"", now).unwrap()[0].id;
    store.mark_sending(id, now).unwrap();
    store.mark_dead(id, "code 368: blocked", now).unwrap();
    store
        .pause_channel("fb \"page\"", "token expired", now)
        .unwrap();
}

/// One sample of the exposition: name, labels in order, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// Parses the text exposition format strictly: every line is `# HELP name text`,
/// `# TYPE name kind` or `name{label="value",…} value`, and every sample belongs to a family
/// declared before it with both HELP and TYPE.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut helped = Vec::new();
    let mut typed: Vec<(String, String)> = Vec::new();
    let mut samples = Vec::new();
    assert!(text.ends_with('\n'), "the exposition ends with a line feed");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a text");
            assert!(is_metric_name(name) && !help.is_empty(), "{line}");
            helped.push(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
            assert!(is_metric_name(name), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                !typed.iter().any(|(n, _)| n == name),
                "one TYPE per family: {line}"
            );
            typed.push((name.to_owned(), kind.to_owned()));
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line {line:?}"
        );
        let sample = parse_sample(line);
        let family = typed
            .iter()
            .find(|(name, kind)| {
                *name == sample.name
                    || (kind == "histogram"
                        && ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|suffix| sample.name == format!("{name}{suffix}")))
            })
            .unwrap_or_else(|| panic!("no TYPE before {line}"));
        assert!(helped.contains(&family.0), "no HELP for {}", family.0);
        samples.push(sample);
    }
    samples
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value in {line}"));
    let name = &line[..name_end];
    assert!(is_metric_name(name), "bad name in {line}");
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            let (label, after) = inner
                .split_once("=\"")
                .unwrap_or_else(|| panic!("label=\"value\" in {line}"));
            assert!(is_metric_name(label), "bad label {label:?} in {line}");
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().expect("closing quote") {
                    (_, '\\') => match chars.next().expect("escape").1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        c => panic!("bad escape \\{c} in {line}"),
                    },
                    (i, '"') => break i,
                    (_, c) => value.push(c),
                }
            };
            labels.push((label.to_owned(), value));
            let tail = &after[end + 1..];
            if let Some(next) = tail.strip_prefix(',') {
                inner = next;
            } else if let Some(after_labels) = tail.strip_prefix('}') {
                rest = after_labels;
                break;
            } else {
                panic!("unexpected {tail:?} in {line}");
            }
        }
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("one space before the value in {line}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("numeric value in {line}")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && s.labels
                    .iter()
                    .zip(labels)
                    .all(|((k, v), (ek, ev))| k == ek && v == ev)
        })
        .map(|s| s.value)
}

#[tokio::test]
async fn metrics_show_cycles_and_the_state_database() {
    let running = Running::start(false).await;

    // No database yet: cycles and zero entries, still well formed.
    let response = running.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let samples = parse_exposition(&response.text().await.unwrap());
    assert_eq!(
        value(&samples, "crier_entries", &[("state", "live")]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "crier_last_success_timestamp_seconds", &[]),
        None
    );

    fill_state(&running.store_path());
    let finished = Utc::now();
    running
        .state
        .cycle_finished(finished, Duration::from_millis(1500), RunOutcome::Ok, None);
    running.state.cycle_finished(
        finished,
        Duration::from_secs(40),
        RunOutcome::Failed,
        Some("x".into()),
    );
    running.state.cycle_started(Utc::now());

    let text = running.get("/metrics").await.text().await.unwrap();
    let samples = parse_exposition(&text);
    let v = |name: &str, labels: &[(&str, &str)]| {
        value(&samples, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"))
    };
    assert_eq!(v("crier_cycles_total", &[("outcome", "ok")]), 1.0);
    assert_eq!(v("crier_cycles_total", &[("outcome", "failed")]), 1.0);
    assert_eq!(v("crier_cycle_duration_seconds_count", &[]), 2.0);
    assert_eq!(v("crier_cycle_duration_seconds_sum", &[]), 41.5);
    assert_eq!(
        v("crier_cycle_duration_seconds_bucket", &[("le", "1")]),
        0.0
    );
    assert_eq!(
        v("crier_cycle_duration_seconds_bucket", &[("le", "2.5")]),
        1.0
    );
    assert_eq!(
        v("crier_cycle_duration_seconds_bucket", &[("le", "60")]),
        2.0
    );
    assert_eq!(
        v("crier_cycle_duration_seconds_bucket", &[("le", "+Inf")]),
        2.0
    );
    assert_eq!(v("crier_cycle_running", &[]), 1.0);
    let last_success = v("crier_last_success_timestamp_seconds", &[]);
    assert!((last_success - finished.timestamp_millis() as f64 / 1000.0).abs() < 0.001);
    assert_eq!(v("crier_state_readable", &[]), 1.0);

    assert_eq!(v("crier_entries", &[("state", "live")]), 3.0);
    assert_eq!(v("crier_entries", &[("state", "scheduled")]), 1.0);
    assert_eq!(v("crier_entries", &[("state", "removed")]), 1.0);

    let deliveries = |channel: &str, state: &str| {
        v(
            "crier_deliveries",
            &[("channel", channel), ("state", state)],
        )
    };
    assert_eq!(deliveries("masto", "sent"), 1.0);
    assert_eq!(deliveries("masto", "pending"), 1.0);
    assert_eq!(deliveries("masto", "dead"), 0.0);
    assert_eq!(deliveries("fb \"page\"", "dead"), 1.0);
    assert_eq!(deliveries("fb \"page\"", "held"), 1.0);
    assert_eq!(deliveries("fb \"page\"", "pending"), 0.0);
    assert_eq!(
        v("crier_channel_paused", &[("channel", "fb \"page\"")]),
        1.0
    );
    assert_eq!(v("crier_channel_paused", &[("channel", "masto")]), 0.0);
    assert!(
        text.contains(r#"crier_channel_paused{channel="fb \"page\""} 1"#),
        "escaped label value in\n{text}"
    );

    // An unreadable database is flagged, and the daemon's own numbers remain.
    std::fs::write(running.store_path(), b"not a database, not at all").unwrap();
    let samples = parse_exposition(&running.get("/metrics").await.text().await.unwrap());
    assert_eq!(value(&samples, "crier_state_readable", &[]), Some(0.0));
    assert_eq!(
        value(&samples, "crier_cycles_total", &[("outcome", "ok")]),
        Some(1.0)
    );
    assert_eq!(value(&samples, "crier_entries", &[("state", "live")]), None);

    running.stop().await;
}

#[tokio::test]
async fn feeds_are_served_with_validators() {
    let running = Running::start(true).await;
    let feeds = running.dir.path().join("feeds");
    std::fs::create_dir_all(feeds.join("en/categories/art")).unwrap();
    let rss = "<?xml version=\"1.0\"?><rss version=\"2.0\"></rss>\n";
    std::fs::write(feeds.join("rss.xml"), rss).unwrap();
    std::fs::write(feeds.join("en/categories/art/atom.xml"), "<feed/>").unwrap();
    std::fs::write(feeds.join("feed.json"), "{}").unwrap();
    std::fs::write(feeds.join(".rss.xml.abc123.tmp"), "partial").unwrap();
    std::fs::write(running.dir.path().join("secret.txt"), "secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(running.dir.path().join("secret.txt"), feeds.join("out.xml"))
        .unwrap();

    let client = reqwest::Client::new();
    let response = running.get("/feeds/rss.xml").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    // As web servers send `.xml`, so that a browser applies the feeds' stylesheet.
    assert_eq!(headers["content-type"], "application/xml; charset=utf-8");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );
    let last_modified = headers["last-modified"].to_str().unwrap().to_owned();
    assert!(
        DateTime::parse_from_rfc2822(&last_modified).is_ok() && last_modified.ends_with(" GMT"),
        "{last_modified}"
    );
    assert_eq!(response.text().await.unwrap(), rss);

    for (path, content_type) in [
        (
            "/feeds/en/categories/art/atom.xml",
            "application/xml; charset=utf-8",
        ),
        ("/feeds/feed.json", "application/feed+json; charset=utf-8"),
    ] {
        let response = running.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
    }

    let conditional = |name: &'static str, value: String| {
        let request = client
            .get(running.url("/feeds/rss.xml"))
            .header(name, value);
        async move { request.send().await.unwrap() }
    };
    let not_modified = conditional("if-none-match", etag.clone()).await;
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["etag"], etag.as_str());
    assert!(not_modified.bytes().await.unwrap().is_empty());
    let not_modified = conditional("if-none-match", format!("\"other\", W/{etag}")).await;
    assert_eq!(not_modified.status(), 304);
    assert_eq!(
        conditional("if-none-match", "\"other\"".into())
            .await
            .status(),
        200
    );
    assert_eq!(
        conditional("if-modified-since", last_modified.clone())
            .await
            .status(),
        304
    );
    assert_eq!(
        conditional("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT".into())
            .await
            .status(),
        200
    );

    // A changed feed has a new validator.
    std::fs::write(
        feeds.join("rss.xml"),
        "<rss version=\"2.0\"><channel/></rss>",
    )
    .unwrap();
    let changed = conditional("if-none-match", etag.clone()).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());

    let head = client
        .head(running.url("/feeds/feed.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "2");
    assert!(head.bytes().await.unwrap().is_empty());

    for missing in [
        "/feeds/missing.xml",
        "/feeds/en",
        "/feeds/en/",
        "/feeds/",
        "/feeds/.rss.xml.abc123.tmp",
        "/feeds/out.xml",
        "/elsewhere",
    ] {
        assert_eq!(running.get(missing).await.status(), 404, "{missing}");
    }
    for escape in [
        "/feeds/../secret.txt",
        "/feeds/en/../../secret.txt",
        "/feeds/%2e%2e/secret.txt",
        "/feeds/%2E%2E%2Fsecret.txt",
        "/feeds//etc/passwd",
        "/feeds/%2Fetc/passwd",
    ] {
        assert_eq!(
            raw_status(running.addr, &raw_get(escape)).await,
            404,
            "{escape}"
        );
    }
    // The raw requests do reach files when the path is legitimate.
    assert_eq!(
        raw_status(running.addr, &raw_get("/feeds/rss.xml")).await,
        200
    );

    let post = client
        .post(running.url("/feeds/rss.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    assert_eq!(
        client
            .delete(running.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );

    running.stop().await;
}

#[tokio::test]
async fn feeds_are_not_served_unless_asked() {
    let running = Running::start(false).await;
    let feeds = running.dir.path().join("feeds");
    std::fs::create_dir_all(&feeds).unwrap();
    std::fs::write(feeds.join("rss.xml"), "<rss/>").unwrap();
    assert_eq!(running.get("/feeds/rss.xml").await.status(), 404);
    running.stop().await;
}

#[tokio::test]
async fn shutdown_ends_serve_with_a_kept_alive_connection_open() {
    let running = Running::start(false).await;
    // The client keeps its connection open for the next request.
    let client = reqwest::Client::new();
    let response = client.get(running.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    response.bytes().await.unwrap();
    let addr = running.addr;
    running.stop().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn serve_runs_until_cancelled() {
    let (logs, _capture) = Logs::capture_thread();
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(crier::daemon::health::serve(
        HealthConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            max_age: MAX_AGE,
            source_max_age: SOURCE_MAX_AGE,
            serve_feeds: None,
        },
        Arc::new(HealthState::default()),
        dir.path().join("state.sqlite3"),
        shutdown.clone(),
    ));
    // It binds port 0 itself: the address it got is in its log.
    let started = logs.wait_for(&["health listener started"]).await;
    let addr: SocketAddr = started
        .split("listen=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {started:?}"));
    // An answer proves it serves after starting, rather than returning at once.
    assert_eq!(raw_status(addr, &raw_get("/healthz")).await, 503);
    assert!(!task.is_finished(), "serves until cancelled");
    shutdown.cancel();
    wait::guarded("serve after shutdown", task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_port_in_use_is_reported_at_bind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let error = HealthServer::bind(HealthConfig {
        listen: taken.local_addr().unwrap(),
        max_age: MAX_AGE,
        source_max_age: SOURCE_MAX_AGE,
        serve_feeds: None,
    })
    .await
    .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
    assert!(error.to_string().contains("health and metrics"), "{error}");
}

/// The config `fill_state`'s deliveries belong to: a Mastodon channel `masto` and a Facebook
/// Page `fb "page"`.
fn preview_config() -> crier::config::Config {
    let text = r#"
[site]
title = "Roma <b>Voices</b>"
base_url = "https://example.org"
[[sources]]
type = "directory"
path = "content"
[[channels]]
type = "mastodon"
name = "masto"
base_url = "https://m.example"
access_token = { env = "UNUSED" }
template = "{{ title }} {{ url }}"
[[channels]]
type = "facebook"
name = 'fb "page"'
page_id = "123456"
page_token = { env = "UNUSED" }
template = "{{ title }} {{ url }}"
"#;
    let mut config = crier::config::Config::parse(text, Path::new("crier.toml")).unwrap();
    // Not validated: `fb "page"` (a name that tests the metrics' label escaping) is one a
    // config file may not use, and the listener renders whatever channels it is handed.
    config.resolve_paths(Path::new("/tmp"));
    config
}

#[tokio::test]
async fn the_preview_is_served_from_the_state_with_a_strict_policy_when_asked() {
    let running = Running::start_with(false, true).await;
    running.state.set_config(Arc::new(preview_config()));
    // No state yet: an empty page that says so.
    let empty = running.get("/preview").await;
    assert_eq!(empty.status(), 200);
    let html = empty.text().await.unwrap();
    assert!(html.contains("no state yet"), "{html}");

    fill_state(&running.store_path());
    let response = running.get("/preview").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    assert!(policy.ends_with("frame-ancestors 'none'"), "{policy}");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("What crier will post for Roma &lt;b&gt;Voices&lt;&#x2f;b&gt;"),
        "{html}"
    );
    // masto: b pending (a was sent); fb "page": a dead (not shown), b held and the channel paused.
    assert_eq!(html.matches("<article class=\"post ").count(), 2, "{html}");
    assert!(
        html.contains("Title b https:&#x2f;&#x2f;example.org&#x2f;b&#x2f;"),
        "{html}"
    );
    assert!(
        html.contains("Held back: channel paused: token expired"),
        "{html}"
    );
    assert!(
        html.contains("Link card not checked: the daemon reads no page on request"),
        "{html}"
    );
    let head = reqwest::Client::new()
        .head(running.url("/preview"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    running.stop().await;
}

#[tokio::test]
async fn the_preview_is_not_served_unless_asked() {
    let running = Running::start(false).await;
    running.state.set_config(Arc::new(preview_config()));
    fill_state(&running.store_path());
    assert_eq!(running.get("/preview").await.status(), 404);
    running.stop().await;
}

/// A config whose `[daemon.health]` listens on `listen`, in `dir`.
fn healthcheck_config(dir: &Path, listen: Option<SocketAddr>) -> PathBuf {
    let health = listen.map_or_else(String::new, |addr| {
        format!("\n[daemon.health]\nlisten = \"{addr}\"\n")
    });
    let text = format!(
        "[site]\ntitle = \"Network\"\nbase_url = \"https://example.org\"\n\n\
         [[sources]]\ntype = \"directory\"\nname = \"news\"\npath = \"content\"\n\n\
         [store]\npath = \"state.sqlite3\"\n{health}"
    );
    let path = dir.join("crier.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `crier healthcheck` through the binary, against the listener: 0 and "healthy" on a 200,
/// 1 with the listener's reason on a 503, 1 naming the URL when nothing listens, and 1 with
/// what to add when the config has no listener.
#[tokio::test]
async fn healthcheck_exits_0_only_when_the_listener_says_healthy() {
    let running = Running::start(false).await;
    // Outside the listener's folder, which goes when it stops.
    let dir = tempfile::tempdir().unwrap();
    let config = healthcheck_config(dir.path(), Some(running.addr));
    let check = || {
        common::Crier::new(&config)
            .args(["healthcheck", "--timeout", "5s"])
            .output_async()
    };
    use common::OutputText;

    let unhealthy = check().await;
    assert_eq!(
        unhealthy.status.code(),
        Some(1),
        "{}",
        unhealthy.stderr_text()
    );
    assert!(
        unhealthy.stderr_text().contains(&format!(
            "unhealthy: http://{}/healthz answered 503: no successful cycle yet",
            running.addr
        )),
        "{}",
        unhealthy.stderr_text()
    );

    let now = Utc::now();
    running.state.cycle_started(now);
    running
        .state
        .cycle_finished(now, Duration::from_millis(300), RunOutcome::Ok, None);
    let healthy = check().await;
    assert_eq!(healthy.status.code(), Some(0), "{}", healthy.stderr_text());
    assert_eq!(
        healthy.stdout_text(),
        format!("healthy (http://{}/healthz)\n", running.addr)
    );

    let addr = running.addr;
    running.stop().await;
    let gone = check().await;
    assert_eq!(gone.status.code(), Some(1));
    assert!(
        gone.stderr_text()
            .contains(&format!("cannot reach http://{addr}/healthz")),
        "{}",
        gone.stderr_text()
    );

    let other = tempfile::tempdir().unwrap();
    let no_listener = healthcheck_config(other.path(), None);
    let none = common::Crier::new(&no_listener)
        .args(["healthcheck"])
        .output_async()
        .await;
    assert_eq!(none.status.code(), Some(1));
    assert!(
        none.stderr_text().contains("has no [daemon.health] table"),
        "{}",
        none.stderr_text()
    );
}

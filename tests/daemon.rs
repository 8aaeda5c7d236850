//! The daemon (`crier run`) as an operator runs it: on a one-second schedule, against a
//! second instance, through SIGHUP with a broken config, and through SIGTERM in the middle of
//! a slow post.

#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn config(extra: &str) -> String {
    format!(
        r#"
[site]
title = "Daemon test"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/{{slug}}/"

[daemon]
schedule = "* * * * * *"
{extra}
"#
    )
}

fn entry(dir: &Path, slug: &str) {
    let content = dir.join("content");
    fs::create_dir_all(&content).unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d");
    fs::write(
        content.join(format!("{slug}.md")),
        format!("+++\ntitle = \"{slug}\"\ndate = {today}\n+++\nBody.\n"),
    )
    .unwrap();
}

/// The timing checks (3 s, 2 s) are about crier, not about six daemons competing for two
/// cores: the tests of this file take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running daemon, killed if a failing test leaves it behind.
struct Daemon(Option<Child>);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start(dir: &Path) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_crier"))
        .arg("--config")
        .arg(dir.join("crier.toml"))
        .arg("run")
        .env("CRIER_LOG", "crier=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Daemon(Some(child))
}

fn signal(daemon: &Daemon, name: &str) {
    let child = daemon.0.as_ref().expect("running");
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Polls `check` every 50 ms until it holds or `limit` passes; returns the time it took.
fn within(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn feed(dir: &Path) -> String {
    fs::read_to_string(dir.join("feeds/rss.xml")).unwrap_or_default()
}

fn stop(mut daemon: Daemon) -> (std::process::ExitStatus, String) {
    signal(&daemon, "TERM");
    let mut child = daemon.0.take().expect("running");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() >= Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the daemon did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    (status, log)
}

#[test]
fn a_new_entry_reaches_the_feeds_within_three_seconds_and_sigterm_exits_0() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("crier.toml"), config("")).unwrap();
    entry(dir.path(), "first");
    let daemon = start(dir.path());
    assert!(
        within(Duration::from_secs(5), || feed(dir.path())
            .contains("first"))
        .is_some(),
        "the first cycle did not write the feeds"
    );
    entry(dir.path(), "second");
    let took = within(Duration::from_secs(3), || {
        feed(dir.path()).contains("second")
    });
    assert!(took.is_some(), "a new entry was not published within 3 s");
    let (status, log) = stop(daemon);
    assert!(status.success(), "exit {status}: {log}");
    assert!(log.contains("crier daemon stopped"), "{log}");
}

#[test]
fn a_second_instance_exits_with_code_4_and_touches_nothing() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("crier.toml"), config("")).unwrap();
    entry(dir.path(), "first");
    let daemon = start(dir.path());
    assert!(
        within(Duration::from_secs(5), || feed(dir.path())
            .contains("first"))
        .is_some()
    );
    let second = Command::new(env!("CARGO_BIN_EXE_crier"))
        .arg("--config")
        .arg(dir.path().join("crier.toml"))
        .args(["run", "--once"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(4));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another crier is running"), "{err}");
    assert!(err.contains("crier.lock"), "{err}");
    let (status, _) = stop(daemon);
    assert!(status.success());
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one_running() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("crier.toml");
    fs::write(&config_path, config("")).unwrap();
    entry(dir.path(), "first");
    let daemon = start(dir.path());
    assert!(
        within(Duration::from_secs(5), || feed(dir.path())
            .contains("first"))
        .is_some()
    );
    fs::write(&config_path, "[site]\ntitle = \n").unwrap();
    signal(&daemon, "HUP");
    std::thread::sleep(Duration::from_millis(300));
    entry(dir.path(), "after-hup");
    assert!(
        within(Duration::from_secs(4), || feed(dir.path())
            .contains("after-hup"))
        .is_some(),
        "the daemon stopped working after a refused reload"
    );
    let (status, log) = stop(daemon);
    assert!(status.success(), "{log}");
    assert!(log.contains("new configuration refused"), "{log}");
    assert!(log.contains("crier.toml"), "{log}");
}

/// A Mastodon that takes `delay` to answer and keeps idempotency keys.
#[derive(Clone)]
struct SlowMastodon {
    delay: Duration,
    created: Arc<Mutex<Vec<String>>>,
}

impl Respond for SlowMastodon {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut created = self.created.lock().unwrap();
        if !created.contains(&key) {
            created.push(key);
        }
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": "1", "url": "https://m.example/1"}))
            .set_delay(self.delay)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_slow_post_exits_0_and_the_post_is_neither_lost_nor_doubled() {
    let server = MockServer::start().await;
    let mastodon = SlowMastodon {
        delay: Duration::from_secs(2),
        created: Arc::default(),
    };
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(mastodon.clone())
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let d: PathBuf = dir.path().to_owned();
    fs::write(d.join("token"), "t0ken").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(d.join("token"), fs::Permissions::from_mode(0o600)).unwrap();
    let channels = format!(
        r#"
[announce]
request_timeout = "10s"

[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{}"
access_token = {{ file = "token" }}
"#,
        server.uri()
    );
    // The daemon table must come last in the file: append the channels before it.
    let text = config("").replace("[daemon]", &format!("{channels}\n[daemon]"));
    fs::write(d.join("crier.toml"), text).unwrap();
    entry(&d, "first");

    let d2 = d.clone();
    let created = mastodon.created.clone();
    tokio::task::spawn_blocking(move || {
        let _turn = one_at_a_time();
        let daemon = start(&d2);
        assert!(within(Duration::from_secs(5), || feed(&d2).contains("first")).is_some());
        entry(&d2, "slow");
        // Wait until the post is in flight, then stop.
        assert!(
            within(Duration::from_secs(5), || !created
                .lock()
                .unwrap()
                .is_empty())
            .is_some(),
            "the post never left"
        );
        let (status, log) = stop(daemon);
        assert!(status.success(), "exit {status}: {log}");

        // Restart once: the post is either recorded as sent or resolved, never sent twice.
        let once = Command::new(env!("CARGO_BIN_EXE_crier"))
            .arg("--config")
            .arg(d2.join("crier.toml"))
            .args(["run", "--once"])
            .output()
            .unwrap();
        assert!(
            once.status.success(),
            "{}",
            String::from_utf8_lossy(&once.stderr)
        );
        let status = Command::new(env!("CARGO_BIN_EXE_crier"))
            .arg("--config")
            .arg(d2.join("crier.toml"))
            .arg("status")
            .output()
            .unwrap();
        let status = String::from_utf8_lossy(&status.stdout).into_owned();
        assert!(status.contains("mastodon: 1 sent"), "{status}");
    })
    .await
    .unwrap();
    assert_eq!(mastodon.created.lock().unwrap().len(), 1, "posted twice");
}

#[test]
fn watch_mode_publishes_a_saved_file_within_two_seconds() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    // A schedule that will not tick during the test: only the watcher can run the cycle.
    let text =
        config("watch = true").replace("schedule = \"* * * * * *\"", "schedule = \"0 0 1 1 *\"");
    fs::write(dir.path().join("crier.toml"), text).unwrap();
    entry(dir.path(), "first");
    let daemon = start(dir.path());
    assert!(
        within(Duration::from_secs(5), || feed(dir.path())
            .contains("first"))
        .is_some()
    );
    std::thread::sleep(Duration::from_millis(300));
    entry(dir.path(), "watched");
    let took = within(Duration::from_secs(2), || {
        feed(dir.path()).contains("watched")
    });
    assert!(took.is_some(), "watch mode did not publish within 2 s");
    // An editor's swap file triggers nothing visible, and the daemon keeps running.
    fs::write(dir.path().join("content/.watched.md.swp"), "x").unwrap();
    let (status, log) = stop(daemon);
    assert!(status.success(), "{log}");
    assert!(log.contains("entry files changed"), "{log}");
}

#[test]
fn health_and_metrics_are_served_on_127_0_0_1() {
    let _turn = one_at_a_time();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let text = config(&format!(
        "[daemon.health]\nlisten = \"127.0.0.1:{port}\"\nmax_age = \"1h\"\nserve_feeds = true"
    ));
    fs::write(dir.path().join("crier.toml"), text).unwrap();
    entry(dir.path(), "first");
    let daemon = start(dir.path());
    assert!(
        within(Duration::from_secs(5), || feed(dir.path())
            .contains("first"))
        .is_some()
    );
    let get = |path: &str| -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let code = response[9..12].parse().unwrap();
        (code, response)
    };
    let healthy = within(Duration::from_secs(3), || get("/healthz").0 == 200);
    assert!(healthy.is_some(), "{}", get("/healthz").1);
    let (code, metrics) = get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("crier_cycles_total{outcome=\"ok\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crier_entries{state=\"live\"} 1"),
        "{metrics}"
    );
    let (code, rss) = get("/feeds/rss.xml");
    assert_eq!(code, 200);
    assert!(rss.to_lowercase().contains("etag:"), "{rss}");
    let (status, log) = stop(daemon);
    assert!(status.success(), "{log}");
}

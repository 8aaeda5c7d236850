//! The daemon (`crier run`) as an operator runs it: on a one-second schedule, against a
//! second instance, through SIGHUP with a broken config or one it cannot apply in full,
//! through SIGTERM in the middle of a slow post or of a remote read that hangs, with its log
//! reader gone, in watch mode, with its health listener, and asked for a fixed clock. Each
//! test waits for what it expects (a feed listing an entry, a log line, an answer, an exit)
//! rather than for a fixed time.

#![cfg(unix)]

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Daemon, OutputText, Site, entry_file, wait};
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

/// An entry file `content/{slug}.md` published today, so that it is live at once.
fn entry(site: &Site, slug: &str) {
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    site.write_entry(&format!("content/{slug}.md"), &entry_file(slug, &today));
}

/// The daemons run their schedule every second and [`Daemon::stop`] gives each ten seconds
/// to exit: six at once on a small machine would test the machine. The tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// `crier run` on `site`, logging down to debug.
fn start(site: &Site) -> Daemon {
    site.crier().log("crier=debug").args(["run"]).spawn()
}

fn feed(site: &Site) -> String {
    fs::read_to_string(site.path("feeds/rss.xml")).unwrap_or_default()
}

/// Waits until the feed lists `slug`.
fn wait_for_entry(daemon: &mut Daemon, site: &Site, slug: &str) {
    daemon.wait_until(&format!("{slug} in the feed"), || feed(site).contains(slug));
}

#[test]
fn a_new_entry_reaches_the_feeds_and_sigterm_exits_0() {
    let _turn = one_at_a_time();
    let site = Site::new(&config(""));
    entry(&site, "first");
    let mut daemon = start(&site);
    wait_for_entry(&mut daemon, &site, "first");
    entry(&site, "second");
    wait_for_entry(&mut daemon, &site, "second");
    let stopped = daemon.stop();
    assert!(
        stopped.status.success(),
        "exit {}: {}",
        stopped.status,
        stopped.log
    );
    assert!(
        stopped.log.contains("crier daemon stopped"),
        "{}",
        stopped.log
    );
}

#[test]
fn a_second_instance_exits_with_code_4_and_touches_nothing() {
    let _turn = one_at_a_time();
    let site = Site::new(&config(""));
    entry(&site, "first");
    let mut daemon = start(&site);
    wait_for_entry(&mut daemon, &site, "first");
    let second = site.crier().args(["run", "--once"]).output();
    assert_eq!(second.status.code(), Some(4));
    let err = second.stderr_text();
    assert!(err.contains("another crier is running"), "{err}");
    assert!(err.contains("crier.lock"), "{err}");
    let stopped = daemon.stop();
    assert!(stopped.status.success());
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one_running() {
    let _turn = one_at_a_time();
    let site = Site::new(&config(""));
    entry(&site, "first");
    let mut daemon = start(&site);
    wait_for_entry(&mut daemon, &site, "first");
    site.set_config("[site]\ntitle = \n");
    daemon.signal("HUP");
    // The entry is written once the reload is over, so that only the old config can publish it.
    let refused = daemon.wait_for_log("new configuration refused");
    assert!(refused.contains("crier.toml"), "{refused}");
    entry(&site, "after-hup");
    wait_for_entry(&mut daemon, &site, "after-hup");
    let stopped = daemon.stop();
    assert!(stopped.status.success(), "{}", stopped.log);
    assert!(
        stopped.log.contains("new configuration refused"),
        "{}",
        stopped.log
    );
    assert!(stopped.log.contains("crier.toml"), "{}", stopped.log);
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
    let site = Site::empty();
    site.secret("token", "t0ken");
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
    site.set_config(&config("").replace("[daemon]", &format!("{channels}\n[daemon]")));
    entry(&site, "first");

    let created = mastodon.created.clone();
    tokio::task::spawn_blocking(move || {
        let _turn = one_at_a_time();
        let mut daemon = start(&site);
        wait_for_entry(&mut daemon, &site, "first");
        entry(&site, "slow");
        // Wait until the post is in flight, then stop.
        daemon.wait_until("a request for the post", || {
            !created.lock().unwrap().is_empty()
        });
        let stopped = daemon.stop();
        assert!(
            stopped.status.success(),
            "exit {}: {}",
            stopped.status,
            stopped.log
        );

        // Restart once: the post is either recorded as sent or resolved, never sent twice.
        let once = site.crier().args(["run", "--once"]).output();
        assert!(once.status.success(), "{}", once.stderr_text());
        let status = site.crier().args(["status"]).output().stdout_text();
        assert!(status.contains("mastodon: 1 sent"), "{status}");
    })
    .await
    .unwrap();
    assert_eq!(mastodon.created.lock().unwrap().len(), 1, "posted twice");
}

#[test]
fn watch_mode_publishes_a_saved_file() {
    let _turn = one_at_a_time();
    // A schedule that will not tick during the test: only the watcher can run the cycle.
    let site = Site::new(
        &config("watch = true").replace("schedule = \"* * * * * *\"", "schedule = \"0 0 1 1 *\""),
    );
    entry(&site, "first");
    let mut daemon = start(&site);
    daemon.wait_for_log("watching entry files");
    // The first cycle has read the content folder once its feed lists the entry: what is
    // saved from now on can only reach the feed through the watcher.
    wait_for_entry(&mut daemon, &site, "first");
    entry(&site, "watched");
    wait_for_entry(&mut daemon, &site, "watched");
    // An editor's swap file triggers nothing visible, and the daemon keeps running.
    site.write("content/.watched.md.swp", "x");
    let stopped = daemon.stop();
    assert!(stopped.status.success(), "{}", stopped.log);
    assert!(
        stopped.log.contains("entry files changed"),
        "{}",
        stopped.log
    );
}

#[test]
fn health_and_metrics_are_served_on_127_0_0_1() {
    let _turn = one_at_a_time();
    // Port 0: the system picks a free port when crier binds, and crier logs the address.
    let site = Site::new(&config(
        "[daemon.health]\nlisten = \"127.0.0.1:0\"\nmax_age = \"1h\"\nserve_feeds = true",
    ));
    entry(&site, "first");
    let mut daemon = start(&site);
    let started = daemon.wait_for_log("health and metrics listener started");
    let address: SocketAddr = started
        .split("address=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("no address in {started:?}"));
    assert!(
        address.ip().is_loopback() && address.port() != 0,
        "{address}"
    );
    wait_for_entry(&mut daemon, &site, "first");
    let get = |path: &str| -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
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
    daemon.wait_until("a 200 from /healthz", || get("/healthz").0 == 200);
    let (_, health) = get("/healthz");
    assert!(health.contains(r#""status":"ok""#), "{health}");
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
    let stopped = daemon.stop();
    assert!(stopped.status.success(), "{}", stopped.log);
}

/// The health listener's address, from the daemon's log line.
fn health_address(daemon: &mut Daemon) -> SocketAddr {
    let started = daemon.wait_for_log("health and metrics listener started");
    started
        .split("address=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("no address in {started:?}"))
}

/// `GET path` on `address`: the status code and the body.
fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    (code, body)
}

/// Answers 500 to every request, counting them.
#[derive(Clone, Default)]
struct Failing(Arc<AtomicUsize>);

impl Respond for Failing {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(500).set_body_string("upstream broken")
    }
}

/// With an upstream answering 500 every cycle, `/healthz` used to say ok and
/// `crier_last_success_timestamp_seconds` to advance, every cycle counted a success while
/// `crier status` said the last successful run was old. No cycle succeeds now: `/healthz`
/// says so and lists the source, and `/metrics` counts its errors.
#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_answering_500_every_cycle_is_no_success_for_healthz_or_metrics() {
    let server = MockServer::start().await;
    let upstream = Failing::default();
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(upstream.clone())
        .mount(&server)
        .await;
    let source = format!(
        r#"
[[sources]]
type = "feed"
name = "upstream"
url = "{}/feed.xml"
[sources.http]
retries = 0
"#,
        server.uri()
    );
    let site = Site::new(
        &config("[daemon.health]\nlisten = \"127.0.0.1:0\"\nmax_age = \"1h\"")
            .replace("[daemon]", &format!("{source}\n[daemon]")),
    );
    entry(&site, "first");
    let requests = upstream.0.clone();
    tokio::task::spawn_blocking(move || {
        let _turn = one_at_a_time();
        let mut daemon = start(&site);
        let address = health_address(&mut daemon);
        wait_for_entry(&mut daemon, &site, "first");
        daemon.wait_until("two cycles reading the upstream", || {
            requests.load(Ordering::SeqCst) >= 2
        });
        daemon.wait_for_log("cycle finished");

        let (code, health) = http_get(address, "/healthz");
        assert_eq!(code, 503, "{health}");
        let health: serde_json::Value = serde_json::from_str(&health).unwrap();
        assert_eq!(health["reason"], "no successful cycle yet", "{health}");
        assert_eq!(
            health["failing_sources"][0]["source"], "upstream",
            "{health}"
        );
        assert!(
            health["failing_sources"][0]["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("500")),
            "{health}"
        );

        let (_, metrics) = http_get(address, "/metrics");
        assert!(
            !metrics
                .lines()
                .any(|l| l.starts_with("crier_last_success_timestamp_seconds ")),
            "{metrics}"
        );
        assert!(
            metrics.contains("crier_cycles_total{outcome=\"ok\"} 0"),
            "{metrics}"
        );
        let errors = metrics
            .lines()
            .find_map(|l| l.strip_prefix("crier_source_errors_total{source=\"upstream\"} "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no error count of the upstream in\n{metrics}"));
        assert!(errors >= 1.0, "{metrics}");
        assert!(
            metrics.contains("crier_source_errors_total{source=\"content\"} 0"),
            "{metrics}"
        );
        assert!(
            metrics.contains("crier_source_last_success_timestamp_seconds{source=\"content\"}"),
            "{metrics}"
        );
        let stopped = daemon.stop();
        assert!(stopped.status.success(), "{}", stopped.log);
    })
    .await
    .unwrap();
}

/// A server on 127.0.0.1 that accepts connections and never answers, as a hung site does;
/// its address and the number of connections it took.
fn silent_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        // Held open, unanswered, until the test process ends.
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (address, connections)
}

#[test]
fn sigterm_during_a_hanging_remote_read_exits_within_the_stop_time() {
    let _turn = one_at_a_time();
    let (address, connections) = silent_server();
    // A read that would hang for a minute per attempt, retried twice.
    let site = Site::new(&format!(
        r#"
[site]
title = "Daemon test"
base_url = "https://example.org"

[[sources]]
type = "feed"
name = "hung"
url = "http://{address}/feed.xml"
[sources.http]
timeout = "60s"

[daemon]
schedule = "* * * * * *"
"#
    ));
    let mut daemon = start(&site);
    daemon.wait_until("the read under way", || {
        connections.load(Ordering::SeqCst) > 0
    });
    // Within the harness's stop limit (10 s, what the unit's TimeoutStopSec allows with room).
    let stopped = daemon.stop();
    assert!(stopped.status.success(), "{}", stopped.log);
    assert!(stopped.log.contains("crier is stopping"), "{}", stopped.log);
    // The cycle cut short recorded its state before the daemon said it stopped, and nothing
    // ran after: the lock was released with no work left.
    let last = stopped.log.lines().last().unwrap_or_default();
    assert!(last.contains("crier daemon stopped"), "{}", stopped.log);
    let status = site.crier().args(["status"]).output().stdout_text();
    assert!(status.contains("runs: 1"), "{status}");
}

/// `crier run` started by hand: its stderr piped to the test, stdout discarded.
fn spawn_piped(site: &Site) -> Child {
    site.crier()
        .log("crier=debug")
        .args(["run"])
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("crier starts")
}

/// Sends the signal `name` to `child`.
fn kill(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill starts");
    assert!(status.success(), "kill -{name}: {status}");
}

/// Waits for `child` to exit within `limit`; kills it and fails otherwise.
fn exit_within(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            return status;
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: crier was still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_closed_stderr_neither_crashes_the_daemon_nor_deafens_it_to_sigterm() {
    let _turn = one_at_a_time();
    let site = Site::new(&config(""));
    entry(&site, "first");
    let mut child = spawn_piped(&site);
    let mut log = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut line = String::new();
    while !line.contains("crier daemon started") {
        line.clear();
        let read = log.read_line(&mut line).expect("the log reads");
        assert!(read > 0, "crier exited before it started");
    }
    // The log collector goes away: every line from now on meets a broken pipe.
    drop(log);
    entry(&site, "unlogged");
    wait::until("the entry published without a log reader", || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("crier exited ({status}) once its log reader was gone");
        }
        feed(&site).contains("unlogged")
    });
    // The signal listener logs each signal it acts on: it must survive that too.
    kill(&child, "HUP");
    entry(&site, "after-hup");
    wait::until("the entry published after SIGHUP", || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("crier exited ({status}) after SIGHUP without a log reader");
        }
        feed(&site).contains("after-hup")
    });
    kill(&child, "TERM");
    let status = exit_within(&mut child, Duration::from_secs(10), "SIGTERM");
    assert!(status.success(), "{status}");
}

#[test]
fn sighup_with_a_config_it_cannot_apply_in_full_is_refused_and_the_daemon_runs_on() {
    let _turn = one_at_a_time();
    let site = Site::new(&config("watch = true"));
    entry(&site, "first");
    let mut daemon = start(&site);
    wait_for_entry(&mut daemon, &site, "first");

    // A watched folder that does not exist.
    site.set_config(&config("watch = true").replace("path = \"content\"", "path = \"gone\""));
    daemon.signal("HUP");
    let refused = daemon.wait_for_log("new configuration refused");
    assert!(refused.contains("gone"), "{refused}");

    // Another state folder: the lock, the health listener and the state stay where they were
    // taken at the start, so the reload says a restart is needed instead.
    site.set_config(&config("watch = true").replace(
        "[daemon]",
        "[store]\npath = \"elsewhere/crier.sqlite3\"\n\n[daemon]",
    ));
    daemon.signal("HUP");
    let refused = daemon.wait_for_log("store.path can only change with a restart");
    assert!(refused.contains("new configuration refused"), "{refused}");
    assert!(
        !daemon.log().contains("configuration reloaded"),
        "{}",
        daemon.log()
    );

    // The running config still publishes, into the state it started with.
    entry(&site, "after-hup");
    wait_for_entry(&mut daemon, &site, "after-hup");
    let stopped = daemon.stop();
    assert!(stopped.status.success(), "{}", stopped.log);
    assert!(!site.path("elsewhere").exists());
}

#[test]
fn crier_run_with_a_fixed_clock_is_refused_with_exit_2() {
    let _turn = one_at_a_time();
    let site = Site::new(&config(""));
    entry(&site, "first");
    let mut child = site
        .crier()
        .now("2027-06-01T08:00:00Z")
        .args(["run"])
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("crier starts");
    let status = exit_within(&mut child, Duration::from_secs(20), "CRIER_NOW");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains("CRIER_NOW") && err.contains("run --once"),
        "{err}"
    );
    assert!(!site.path("feeds/rss.xml").exists(), "the daemon ran");
}

//! The cron recipe, `deploy/cron/crier.cron`, run as cron runs it: its command taken from the
//! file, given to `sh -c` with the test's binary and config in place of the installed ones,
//! and its log lines received on a syslog socket the test binds (`CRIER_SYSLOG_SOCKET`), so
//! that no syslog daemon or journald is needed. The shell must exit with crier's own status,
//! and each line must arrive with its level's priority (facility daemon).

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use common::{EntryFile, Site, entry_file};

/// The installed paths the cron line names, replaced by the test's.
const PROGRAM: &str = "/usr/bin/crier";
const CONFIG_PATH: &str = "/etc/crier/crier.toml";

/// `<PRI>` of facility daemon (3) with severities err (3), warning (4) and info (6).
const DAEMON_ERR: &str = "<27>";
const DAEMON_WARNING: &str = "<28>";
const DAEMON_INFO: &str = "<30>";

const CONFIG: &str = r#"
[site]
title = "Test network"
base_url = "https://example.org"
languages = ["en"]
timezone = "Europe/Paris"

[[sources]]
type = "directory"
name = "news"
path = "content"
permalink = "/news/{slug}/"

[feeds]
output_dir = "public/feeds"

[store]
path = "state/crier.sqlite3"
"#;

/// The shell command of the schedule line: what follows the five time fields and the user.
fn cron_command() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/cron/crier.cron");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let line = text
        .lines()
        .find(|l| !l.trim_start().starts_with('#') && l.contains(PROGRAM))
        .expect("crier.cron: no schedule line running /usr/bin/crier");
    let fields = regex::Regex::new(r"^\s*(?:\S+\s+){6}(.+)$").unwrap();
    fields
        .captures(line)
        .map(|c| c[1].to_owned())
        .unwrap_or_else(|| panic!("crier.cron: not `m h dom mon dow user command`: {line}"))
}

/// A test syslog daemon: a datagram socket in a temporary folder, read by a thread until told
/// to stop (a full queue would block crier, as with a real daemon that does not read).
struct Syslog {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    reader: thread::JoinHandle<Vec<String>>,
    _dir: tempfile::TempDir,
}

impl Syslog {
    fn bind() -> Syslog {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let reader = thread::spawn(move || {
            let mut lines = Vec::new();
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                match socket.recv(&mut buffer) {
                    Ok(size) => lines.push(String::from_utf8_lossy(&buffer[..size]).into_owned()),
                    // Nothing queued: done once the run has ended (its lines are all queued).
                    Err(_) if stopping.load(Ordering::SeqCst) => return lines,
                    Err(_) => {}
                }
            }
        });
        Syslog {
            path,
            stop,
            reader,
            _dir: dir,
        }
    }

    /// Every datagram received, once the run is over.
    fn lines(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.reader.join().expect("the reader thread")
    }
}

/// What the cron line did: the shell's status, its stderr and the syslog lines.
struct CronRun {
    status: ExitStatus,
    stderr: String,
    syslog: Vec<String>,
}

impl CronRun {
    fn text(&self) -> String {
        format!(
            "status {}\nstderr:\n{}\nsyslog:\n{}",
            self.status,
            self.stderr,
            self.syslog.join("\n")
        )
    }

    fn with_priority(&self, priority: &str, needle: &str) -> bool {
        let tag = format!("{priority}crier[");
        self.syslog
            .iter()
            .any(|l| l.starts_with(&tag) && l.contains(needle))
    }
}

/// Runs the cron line with `sh -c`, crier and its config replaced by the test's.
fn run_cron_line(site: &Site) -> CronRun {
    let command = cron_command()
        .replace(PROGRAM, env!("CARGO_BIN_EXE_crier"))
        .replace(CONFIG_PATH, &site.config_path().display().to_string());
    let syslog = Syslog::bind();
    let output = Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(site.root())
        .env("CRIER_SYSLOG_SOCKET", &syslog.path)
        .env("CRIER_LOG", "crier=info")
        .env_remove("CRIER_CONFIG")
        .env_remove("CRIER_NOW")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET")
        .output()
        .expect("sh runs");
    CronRun {
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        syslog: syslog.lines(),
    }
}

fn news(title: &str) -> EntryFile {
    entry_file(title, "2024-03-05").body("Some news.")
}

#[test]
fn the_cron_line_keeps_crier_exit_status_and_levels_for_a_broken_entry() {
    let site = Site::new(CONFIG);
    site.write_entry("content/good.md", &news("Good"));
    site.write(
        "content/broken.md",
        "---\ntitle: Broken\ndate: 0000-01-01\n---\nA date no feed can hold.\n",
    );
    let run = run_cron_line(&site);
    let text = run.text();
    assert_eq!(run.status.code(), Some(3), "{text}");
    let broken = run
        .syslog
        .iter()
        .filter(|l| l.contains("broken.md"))
        .collect::<Vec<_>>();
    assert!(!broken.is_empty(), "{text}");
    for line in broken {
        assert!(
            line.starts_with(DAEMON_ERR) || line.starts_with(DAEMON_WARNING),
            "an entry error must be daemon.err or daemon.warning: {line}\n{text}"
        );
    }
    assert!(
        run.with_priority(DAEMON_INFO, "cycle finished"),
        "the cycle's report is daemon.info\n{text}"
    );
    // One timestamp, the syslog daemon's: the line starts with the level, not a time.
    for line in &run.syslog {
        let message = line.split_once("]: ").map_or("", |(_, m)| m);
        assert!(
            message.starts_with(['E', 'W', 'I', 'D', 'T']),
            "a line with a time of its own, or without the `crier[PID]: ` tag: {line}"
        );
    }
    // The failure branch speaks on stderr, which cron mails.
    assert!(run.stderr.contains("crier exited with status 3"), "{text}");
}

#[test]
fn the_cron_line_exits_4_and_logs_an_error_when_another_crier_holds_the_lock() {
    let site = Site::new(CONFIG);
    site.write_entry("content/good.md", &news("Good"));
    let _held = crier::daemon::lock::InstanceLock::acquire(&site.path("state/crier.sqlite3"))
        .expect("the test takes the lock");
    let run = run_cron_line(&site);
    let text = run.text();
    assert_eq!(run.status.code(), Some(4), "{text}");
    assert!(
        run.with_priority(DAEMON_ERR, "another crier is running"),
        "{text}"
    );
    assert!(run.stderr.contains("crier exited with status 4"), "{text}");
}

#[test]
fn the_cron_line_is_quiet_on_stderr_when_all_went_well() {
    let site = Site::new(CONFIG);
    site.write_entry("content/good.md", &news("Good"));
    let run = run_cron_line(&site);
    let text = run.text();
    assert_eq!(run.status.code(), Some(0), "{text}");
    // Nothing for cron to mail; the run's lines are in syslog.
    assert_eq!(run.stderr, "", "{text}");
    assert!(run.with_priority(DAEMON_INFO, "cycle finished"), "{text}");
}

/// A cron container without a syslog daemon: the lines go to stderr, which cron mails,
/// rather than nowhere.
#[test]
fn without_a_syslog_socket_the_lines_go_to_stderr() {
    let site = Site::new(CONFIG);
    site.write_entry("content/good.md", &news("Good"));
    let output = site
        .crier()
        .args(["--log-format", "syslog", "run", "--once"])
        .command()
        .env("CRIER_SYSLOG_SOCKET", site.path("no-syslog-here"))
        .output()
        .expect("crier runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("cycle finished"), "{stderr}");
}

//! The `crier` binary as the tests run it. [`Crier::command`] is the one place that sets what a
//! run sees of its environment: the log filter (`CRIER_LOG`), the clock (`CRIER_NOW`, or the
//! real one, never the caller's), progress lines (`CRIER_PROGRESS_INTERVAL`, off unless a test
//! asks: a slow machine must not add lines to logs that other tests compare), and nothing of the caller's shell that would change crier's
//! behaviour or output (`CRIER_CONFIG`, systemd's `JOURNAL_STREAM` and `NOTIFY_SOCKET`). Logs
//! are plain text: stderr is a pipe, so crier writes no colours.
//!
//! A run can be asserted on with `assert_cmd` ([`Crier::assert`]), collected from an async
//! test without blocking the runtime that serves its mocks ([`Crier::output_async`]), or
//! started as a daemon whose log is read as it comes ([`Crier::spawn`]).

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use assert_cmd::assert::Assert;
use assert_cmd::prelude::OutputAssertExt;

use super::wait;

/// The log filter of a run unless the test asks for another: the binary's own default, set
/// explicitly so that a `CRIER_LOG` in the developer's shell changes nothing.
const DEFAULT_LOG: &str = "crier=info";

/// How long a daemon may take to exit after SIGTERM: it finishes the post in flight, within
/// its own grace period, and stops.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// One invocation of `crier --config <file> …`, built up, then run.
#[derive(Debug, Clone)]
pub struct Crier {
    config: PathBuf,
    current_dir: Option<PathBuf>,
    now: Option<String>,
    log: String,
    progress_interval: String,
    args: Vec<OsString>,
}

impl Crier {
    /// `crier --config <config>` with no command yet.
    pub fn new(config: impl Into<PathBuf>) -> Crier {
        Crier {
            config: config.into(),
            current_dir: None,
            now: None,
            log: DEFAULT_LOG.to_owned(),
            progress_interval: "off".to_owned(),
            args: Vec::new(),
        }
    }

    /// Runs from `dir` (a relative `--config` is read from there).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Crier {
        self.current_dir = Some(dir.into());
        self
    }

    /// Fixes crier's clock (`CRIER_NOW`, RFC 3339).
    pub fn now(mut self, now: &str) -> Crier {
        self.now = Some(now.to_owned());
        self
    }

    /// Replaces the log filter (`CRIER_LOG`), e.g. `trace` to look for secrets in every line.
    pub fn log(mut self, filter: &str) -> Crier {
        filter.clone_into(&mut self.log);
        self
    }

    /// Logs a progress line every `interval` (`CRIER_PROGRESS_INTERVAL`, e.g. `20ms`) while a
    /// phase of a cycle lasts.
    pub fn progress_interval(mut self, interval: &str) -> Crier {
        interval.clone_into(&mut self.progress_interval);
        self
    }

    /// Adds arguments after `--config <file>`: the command and its flags.
    pub fn args<I, S>(mut self, args: I) -> Crier
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// The process to start, its environment set.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crier"));
        command
            .arg("--config")
            .arg(&self.config)
            .args(&self.args)
            .env("CRIER_LOG", &self.log)
            .env("CRIER_PROGRESS_INTERVAL", &self.progress_interval)
            .env_remove("CRIER_CONFIG")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET");
        match &self.now {
            Some(now) => command.env("CRIER_NOW", now),
            None => command.env_remove("CRIER_NOW"),
        };
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        command
    }

    /// Runs to the end, for `assert_cmd`'s checks.
    pub fn assert(&self) -> Assert {
        self.command().assert()
    }

    /// Runs to the end and returns what it printed.
    pub fn output(&self) -> Output {
        self.command().output().expect("crier starts")
    }

    /// [`Crier::output`] off the async runtime, which keeps serving the test's mock servers
    /// meanwhile.
    pub async fn output_async(self) -> Output {
        tokio::task::spawn_blocking(move || self.output())
            .await
            .expect("the blocking task runs")
    }

    /// Starts a long-running command (`crier run`), its stderr collected line by line.
    pub fn spawn(&self) -> Daemon {
        Daemon::start(self.command())
    }
}

/// What a finished run printed, as text.
pub trait OutputText {
    /// Standard output, invalid UTF-8 replaced.
    fn stdout_text(&self) -> String;
    /// Standard error (the log), invalid UTF-8 replaced.
    fn stderr_text(&self) -> String;
}

impl OutputText for Output {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl OutputText for Assert {
    fn stdout_text(&self) -> String {
        self.get_output().stdout_text()
    }

    fn stderr_text(&self) -> String {
        self.get_output().stderr_text()
    }
}

/// A running `crier run`, killed if a failing test leaves it behind. Its log (stderr) is read
/// on a thread as it is written, so a test can wait for the line that marks an event.
pub struct Daemon {
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

/// How a daemon ended.
#[derive(Debug)]
pub struct Stopped {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it logged.
    pub log: String,
}

impl Daemon {
    fn start(mut command: Command) -> Daemon {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("crier starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        let reader = thread::spawn(move || {
            let mut stderr = BufReader::new(stderr);
            let mut line = Vec::new();
            // Ends at end of file, when the daemon has exited.
            while stderr.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                lock(&sink).push_str(&String::from_utf8_lossy(&line));
                line.clear();
            }
        });
        Daemon {
            child: Some(child),
            log,
            reader: Some(reader),
        }
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the daemon is running")
    }

    /// Sends the signal `name` (`TERM`, `HUP`, …).
    pub fn signal(&mut self, name: &str) {
        let pid = self.child().id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill starts");
        assert!(status.success(), "kill -{name} {pid}: {status}");
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        lock(&self.log).clone()
    }

    /// Polls `check` until it holds; fails at once, with the log, if the daemon exits first.
    pub fn wait_until(&mut self, what: &str, mut check: impl FnMut() -> bool) {
        let log = Arc::clone(&self.log);
        let child = self.child();
        wait::until(what, || {
            if check() {
                return true;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("crier exited ({status}) before {what}:\n{}", lock(&log));
            }
            false
        });
    }

    /// Waits for a log line that contains `needle`, and returns it.
    pub fn wait_for_log(&mut self, needle: &str) -> String {
        let log = Arc::clone(&self.log);
        let find = || {
            lock(&log)
                .lines()
                .find(|l| l.contains(needle))
                .map(str::to_owned)
        };
        self.wait_until(&format!("a log line with {needle:?}"), || find().is_some());
        find().expect("the line was found")
    }

    /// Waits for a command that ends on its own (`crier run --once`) to exit.
    pub fn finish(mut self) -> Stopped {
        let mut child = self.child.take().expect("the command is running");
        let status = child.wait().expect("the command's status");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the log reader ends with the command");
        }
        Stopped {
            status,
            log: self.log(),
        }
    }

    /// Sends SIGTERM and waits for the exit, at most [`STOP_LIMIT`].
    pub fn stop(mut self) -> Stopped {
        self.signal("TERM");
        let mut child = self.child.take().expect("the daemon is running");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("the daemon's status") {
                break status;
            }
            if started.elapsed() >= STOP_LIMIT {
                let _ = child.kill();
                panic!("the daemon did not stop within {STOP_LIMIT:?} of SIGTERM");
            }
            thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the log reader ends with the daemon");
        }
        Stopped {
            status,
            log: self.log(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

fn lock(log: &Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    // A reader that panicked mid-line leaves a log that is still worth showing.
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

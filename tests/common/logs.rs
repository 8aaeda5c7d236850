//! The log lines crier's library code writes while a test drives it in-process, kept as text
//! (`LEVEL target: message field=value`, no time, no colour) so that a test can wait for the
//! line that marks an event, or show that a line was never written.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::wait;

/// What is captured: crier's own events down to `debug`.
const FILTER: &str = "crier=debug";

/// A buffer of captured log lines; clones share it.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

/// Appends one formatted event to a [`Logs`] buffer.
pub struct Writer(Arc<Mutex<Vec<u8>>>);

impl Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over each event in one call, so lines of two threads never mix.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Writer;

    fn make_writer(&'a self) -> Writer {
        Writer(self.0.clone())
    }
}

impl Logs {
    /// Captures what this thread logs until the guard is dropped; on a current-thread tokio
    /// runtime that includes every task the test spawns.
    pub fn capture_thread() -> (Logs, DefaultGuard) {
        let logs = Logs::default();
        let guard = tracing::subscriber::set_default(logs.subscriber());
        (logs, guard)
    }

    /// Captures what every thread of this test binary logs, for library code that runs on
    /// threads of its own (the file watcher's). One buffer serves all the tests of the binary:
    /// each must pick its own lines out by a path or an address that only it uses.
    pub fn capture_all() -> Logs {
        static ALL: OnceLock<Logs> = OnceLock::new();
        ALL.get_or_init(|| {
            let logs = Logs::default();
            tracing::subscriber::set_global_default(logs.subscriber())
                .expect("no other global subscriber in the tests");
            logs
        })
        .clone()
    }

    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(FILTER))
            .with_writer(self.clone())
            .with_ansi(false)
            .without_time()
            .finish()
    }

    /// Every line captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// The lines that contain every one of `needles`.
    pub fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| needles.iter().all(|needle| line.contains(needle)))
            .map(str::to_owned)
            .collect()
    }

    /// Waits for a line that contains every one of `needles`, and returns the first.
    pub async fn wait_for(&self, needles: &[&str]) -> String {
        let what = format!("a log line with {needles:?}");
        wait::until_async(&what, || !self.lines_with(needles).is_empty()).await;
        self.lines_with(needles).remove(0)
    }
}

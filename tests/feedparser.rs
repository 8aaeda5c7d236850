//! The hostile fixture's feeds, checked by an independent, widely used parser: Python's
//! `feedparser` (through `tests/tools/check_feeds.py`) must read the RSS and Atom files without
//! setting `bozo`, and the JSON Feed must hold the keys the spec requires.
//!
//! Without Python or feedparser the test prints a "skipped" line and passes, unless
//! `CRIER_REQUIRE_PYTHON_CHECKS=1` (set it in CI), which makes the missing tool a failure.
//! `pip install feedparser` provides it.

#[path = "golden/hostile.rs"]
mod hostile;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use crier::feeds::{FeedFormat, render};

/// Exit status of `check_feeds.py` when feedparser cannot be imported.
const SKIPPED: i32 = 77;

fn skip(reason: &str) {
    let required = std::env::var_os("CRIER_REQUIRE_PYTHON_CHECKS").is_some_and(|v| v == "1");
    assert!(
        !required,
        "{reason}, and CRIER_REQUIRE_PYTHON_CHECKS=1 requires the check"
    );
    // Written straight to stderr: the test harness would swallow `eprintln!` of a passing test.
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

#[test]
fn feedparser_reads_the_hostile_feeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let meta = hostile::meta();
    let entries = hostile::entries();
    let mut files = Vec::new();
    for format in [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json] {
        let path = dir.path().join(format.file_name());
        let bytes = render(format, &meta, &entries).expect("the fixture renders");
        std::fs::write(&path, bytes).expect("feed written");
        files.push(path);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/check_feeds.py");
    let output = match Command::new("python3")
        .arg(&script)
        .arg("--expect-entries")
        .arg(entries.len().to_string())
        .args(&files)
        .output()
    {
        Ok(output) => output,
        Err(error) => return skip(&format!("cannot run python3 ({error})")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(SKIPPED) {
        return skip(stderr.trim());
    }
    assert!(
        output.status.success(),
        "check_feeds.py failed ({}):\n{stdout}{stderr}",
        output.status
    );
    assert_eq!(stdout.matches(": ok\n").count(), 3, "{stdout}");
}

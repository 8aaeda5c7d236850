//! Feed files checked by an independent, widely used parser: Python's `feedparser` (through
//! `tests/tools/check_feeds.py`) must read RSS and Atom files without setting `bozo`, and a
//! JSON Feed must hold the keys the spec requires.
//!
//! Without Python or feedparser the check prints a "skipped" line and passes, unless
//! `CRIER_REQUIRE_PYTHON_CHECKS=1` (set it in CI), which makes the missing tool a failure.
//! `pip install feedparser` provides it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether `path` is a feed file crier writes (`rss.xml`, `atom.xml`, `feed.json`), not one of
/// the files beside the feeds (`head.html`, the stylesheets, `syndication.json`).
pub fn is_feed_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| ["rss.xml", "atom.xml", "feed.json"].contains(&name))
}

/// Reports a Python check that cannot run: a "skipped" line, or a failure when
/// `CRIER_REQUIRE_PYTHON_CHECKS=1`.
pub fn skip(reason: &str) {
    super::reference::skip("CRIER_REQUIRE_PYTHON_CHECKS", reason);
}

/// Runs `check_feeds.py` on `files` (each must hold `expect_entries` entries when given) and
/// returns what it printed, one `path: ok` line per good file; `None` when the check had to
/// be skipped. A failing file fails the test, with the script's report.
pub fn check_feeds<P: AsRef<Path>>(files: &[P], expect_entries: Option<usize>) -> Option<String> {
    run_check(files, expect_entries, false)
}

/// One link of a feed entry that feedparser read with an `hreflang`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct HreflangLink {
    /// The link's language.
    pub hreflang: String,
    /// Its URL.
    pub href: String,
    /// Its title, when it has one.
    pub title: Option<String>,
}

/// Checks the RSS or Atom file `path` as [`check_feeds`] does and returns, per entry, the
/// links feedparser read with an `hreflang`; `None` when the check had to be skipped.
pub fn hreflang_links(path: &Path) -> Option<Vec<Vec<HreflangLink>>> {
    let stdout = run_check(&[path], None, true)?;
    let prefix = format!("{}: hreflang ", path.display());
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no hreflang line for {}:\n{stdout}", path.display()));
    Some(serde_json::from_str(line).expect("check_feeds.py prints JSON"))
}

fn run_check<P: AsRef<Path>>(
    files: &[P],
    expect_entries: Option<usize>,
    hreflang: bool,
) -> Option<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/check_feeds.py");
    let mut command = Command::new("python3");
    command.arg(&script);
    if hreflang {
        command.arg("--hreflang");
    }
    if let Some(n) = expect_entries {
        command.arg("--expect-entries").arg(n.to_string());
    }
    command.args(files.iter().map(AsRef::as_ref));
    let output = match command.output() {
        Ok(output) => output,
        Err(error) => {
            skip(&format!("cannot run python3 ({error})"));
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(super::reference::SKIPPED) {
        skip(stderr.trim());
        return None;
    }
    assert!(
        output.status.success(),
        "check_feeds.py failed ({}):\n{stdout}{stderr}",
        output.status
    );
    Some(stdout)
}

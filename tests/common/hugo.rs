//! A throwaway Hugo project for the tests that run the template snippets docs/FEEDS.md gives
//! in Debian's `hugo`. Without `hugo` a build is skipped (with a line saying so), unless
//! `CRIER_REQUIRE_HUGO_CHECKS=1`, which `.ci/run` sets after installing it.

use std::fs;
use std::path::Path;
use std::process::Command;

/// A Hugo project in a temporary folder.
pub struct HugoSite {
    dir: tempfile::TempDir,
}

impl HugoSite {
    /// An empty project.
    pub fn new() -> HugoSite {
        HugoSite {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// The project's folder.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `rel`, creating its folders.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
        fs::write(path, text).expect("a file");
    }

    /// Reads the built file `rel` (under `public/`, say).
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Runs `hugo` on the project, which must succeed (`what` names the case in the failure);
    /// `None` when hugo cannot run and the check is skipped.
    pub fn build(&self, what: &str) -> Option<()> {
        let output = match Command::new("hugo")
            .arg("--quiet")
            .current_dir(self.root())
            .output()
        {
            Ok(output) => output,
            Err(e) => {
                super::reference::skip(
                    "CRIER_REQUIRE_HUGO_CHECKS",
                    &format!("cannot run hugo ({e})"),
                );
                return None;
            }
        };
        assert!(
            output.status.success(),
            "hugo failed on {what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(())
    }
}

/// The first code block fenced as `language` after the heading `heading` in docs/FEEDS.md:
/// the snippet the docs give, so the test runs exactly what a reader copies.
pub fn docs_snippet(heading: &str, language: &str) -> String {
    let docs = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FEEDS.md"))
        .expect("docs/FEEDS.md");
    let section = &docs[docs
        .find(heading)
        .unwrap_or_else(|| panic!("docs/FEEDS.md has no {heading:?}"))..];
    let fence = format!("```{language}\n");
    let start = section.find(&fence).expect("the snippet") + fence.len();
    let end = start + section[start..].find("```").expect("the snippet's end");
    section[start..end].to_owned()
}

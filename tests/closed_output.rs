//! The binary with nobody left to read it: a report command piped into `head -1`, a run whose
//! log collector went away. A closed pipe ends the output, never the work, and never with a
//! panic (exit 101).

#![cfg(unix)]

mod common;

use std::process::{Command, Output, Stdio};

use common::{OutputText, Site, entry_file};

const CONFIG: &str = r#"
[site]
title = "Closed pipes"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"
permalink = "/{slug}/"
"#;

/// A site with one entry.
fn site() -> Site {
    let site = Site::new(CONFIG);
    site.write_entry("content/first.md", &entry_file("first", "2024-03-05"));
    site
}

/// Runs `command` with the read end of stdout (`stdout`) or of stderr closed at once, and
/// collects what is left.
fn with_closed(mut command: Command, stdout: bool) -> Output {
    command.stdin(Stdio::null());
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("crier starts");
    if stdout {
        drop(child.stdout.take());
    } else {
        drop(child.stderr.take());
    }
    child.wait_with_output().expect("crier ends")
}

#[test]
fn a_report_whose_reader_is_gone_exits_0_without_a_message() {
    let site = site();
    let once = site.crier().args(["run", "--once"]).output();
    assert!(once.status.success(), "{}", once.stderr_text());
    for report in [&["status"][..], &["plan"], &["check"]] {
        let out = with_closed(site.crier().args(report).command(), true);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{report:?}: {}",
            out.stderr_text()
        );
        assert_eq!(out.stderr_text(), "", "{report:?}");
    }
}

#[test]
fn a_run_whose_log_reader_is_gone_completes_and_records_the_baseline() {
    let site = site();
    let out = with_closed(
        site.crier()
            .log("crier=debug")
            .args(["run", "--once"])
            .command(),
        false,
    );
    assert_eq!(out.status.code(), Some(0), "the run did not complete");
    let status = site.crier().args(["status"]).output().stdout_text();
    assert!(!status.contains("baseline: not recorded yet"), "{status}");
    assert!(site.read("feeds/rss.xml").contains("first"));
}

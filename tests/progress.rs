//! A long first run, off a terminal (stderr is a pipe here): progress log lines appear while
//! the cycle runs, before its summary, with counts that only grow, and no progress bar is
//! drawn. A cause met in many files is logged once, with its count and the first files.

mod common;

use common::{Site, entry_file};

const CONFIG: &str = r#"
[site]
title = "Progress"
base_url = "https://example.org"
languages = ["en"]
timezone = "Europe/Paris"

[[sources]]
type = "directory"
name = "news"
path = "content"
permalink = "/{section}/{slug}/"

[feeds]
output_dir = "feeds"

[store]
path = "state/crier.sqlite3"
"#;

/// A site of `count` entries spread over ten folders.
fn site_of(count: usize) -> Site {
    let site = Site::new(CONFIG);
    let body = "A paragraph with [a link](https://example.org/a) & <b>bold</b> text. ".repeat(20);
    for i in 0..count {
        let day = 1 + i % 28;
        site.write_entry(
            &format!("content/s{}/entry-{i:05}.md", i % 10),
            &entry_file(&format!("Entry {i}"), &format!("2024-02-{day:02}")).body(&body),
        );
    }
    site
}

/// The `done` count of a progress line of `phase`, if `line` is one.
fn done_of(line: &str, phase: &str) -> Option<u64> {
    if !line.contains(" progress ") || !line.contains(&format!("phase={phase} ")) {
        return None;
    }
    let (_, rest) = line.split_once(" done=")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn a_long_run_logs_progress_while_it_runs_and_before_its_summary() {
    let site = site_of(600);
    let mut run = site
        .crier()
        .progress_interval("20ms")
        .now("2024-03-01T12:00:00Z")
        .args(["run", "--once"])
        .spawn();
    // Seen while crier still runs: lines come as the cycle goes, not at its end.
    let first = run.wait_for_log(" progress phase=");
    assert!(first.contains(" done="), "{first}");
    let ended = run.finish();
    assert!(ended.status.success(), "{}", ended.log);
    let log = ended.log;
    let lines: Vec<&str> = log.lines().collect();
    let summary = lines
        .iter()
        .position(|l| l.contains("cycle finished"))
        .unwrap_or_else(|| panic!("no summary line:\n{log}"));
    let progress: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(" progress phase="))
        .collect();
    assert!(progress.len() >= 2, "fewer than two progress lines:\n{log}");
    assert!(
        progress.iter().all(|&i| i < summary),
        "a progress line after the summary:\n{log}"
    );
    // Within a phase the counts never go back, and reading (600 files, a line every 20 ms) moves on
    // between two lines.
    let reading: Vec<u64> = lines.iter().filter_map(|l| done_of(l, "reading")).collect();
    assert!(
        reading.windows(2).all(|w| w[0] <= w[1]),
        "counts went back: {reading:?}"
    );
    assert!(
        reading.first() < reading.last(),
        "reading showed no progress between its lines: {reading:?}\n{log}"
    );
    // Until the folder is listed the total is not known, and not shown; then it is the files'.
    assert!(
        lines
            .iter()
            .filter(|l| l.contains(" progress phase=reading ") && l.contains(" total="))
            .all(|l| l.contains(" total=600 ")),
        "{log}"
    );
    // A phase that printed lines ends with its final counts.
    assert!(
        log.contains("phase done phase=reading done=600 total=600"),
        "{log}"
    );
    // Off a terminal, no bar: no carriage return, no cursor movement, no colour.
    assert!(!log.contains('\r') && !log.contains('\x1b'), "{log:?}");
}

#[test]
fn progress_lines_are_off_for_a_short_phase_and_when_turned_off() {
    let site = site_of(5);
    let ran = site
        .crier()
        .progress_interval("1h")
        .args(["run", "--once"])
        .assert()
        .success();
    let log = String::from_utf8_lossy(&ran.get_output().stderr).into_owned();
    assert!(log.contains("cycle finished"), "{log}");
    assert!(!log.contains("progress"), "{log}");

    let refused = site
        .crier()
        .progress_interval("often")
        .args(["run", "--once"])
        .assert()
        .code(2);
    let message = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(
        message.contains("CRIER_PROGRESS_INTERVAL=\"often\" is not a duration"),
        "{message}"
    );
}

#[test]
fn a_language_missing_from_the_site_is_one_warning_with_its_count_and_first_files() {
    let site = Site::new(CONFIG);
    for i in 0..200 {
        site.write(
            &format!("content/de/eintrag-{i:03}.md"),
            &format!(
                "+++\ntitle = \"Eintrag {i}\"\ndate = 2024-02-01\nlang = \"de\"\n+++\nText.\n"
            ),
        );
    }
    site.write_entry("content/en/entry.md", &entry_file("Entry", "2024-02-01"));
    let ran = site
        .crier()
        .now("2024-03-01T12:00:00Z")
        .args(["run", "--once"])
        .assert()
        .code(3);
    let log = String::from_utf8_lossy(&ran.get_output().stderr).into_owned();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    let warning = warnings[0];
    assert!(
        warning.contains(
            "entry skipped: language \"de\" is not in site.languages; add it there or fix `lang`: 200 ("
        ),
        "{warning}"
    );
    assert!(
        warning.contains("content/de/eintrag-000.md:4, ")
            && warning.contains("content/de/eintrag-002.md:4 and 197 more)"),
        "{warning}"
    );
    assert!(warning.contains("source=news"), "{warning}");
    // Every file still counts as an error of the run.
    assert!(log.contains("errors=200"), "{log}");
}

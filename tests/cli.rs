//! End-to-end tests of the real `crier` binary on fixture folders in a temporary directory:
//! baseline, new, changed, removed, scheduled and broken entries, dry runs and exit codes.
//! The clock is injected with `CRIER_NOW`.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use assert_cmd::assert::Assert;
use common::{Crier, EntryFile, OutputText, Site, entry_file};
use predicates::prelude::*;

const CONFIG: &str = r#"
[site]
title = "Test network"
description = "Good practices"
base_url = "https://example.org"
languages = ["en", "fr"]
timezone = "Europe/Paris"

[[sources]]
type = "directory"
name = "projects"
path = "content"
permalink = "/{lang}/projects/{slug}/"

[feeds]
output_dir = "public/feeds"
categories = ["Prize"]

[store]
path = "state/crier.sqlite3"
"#;

/// An entry of the "Prize" category, in Ghent.
fn entry(title: &str, date: &str, body: &str) -> EntryFile {
    entry_file(title, date)
        .category("Prize")
        .extra("city", "Ghent")
        .body(body)
}

/// The test network: Ghent in English and French, Madrid in English.
fn site() -> Site {
    let site = Site::new(CONFIG);
    site.write_entry(
        "content/ghent.en.md",
        &entry("Ghent", "2024-03-05", "First place."),
    );
    site.write_entry(
        "content/ghent.fr.md",
        &entry("Gand", "2024-03-05", "Première place."),
    );
    site.write_entry(
        "content/madrid.en.md",
        &entry("Madrid", "2024-03-26", "Third place."),
    );
    site
}

fn crier(site: &Site, args: &[&str], now: &str) -> Assert {
    site.crier().now(now).args(args).assert()
}

fn run(site: &Site, now: &str) -> Assert {
    crier(site, &["run", "--once"], now)
}

const NOW: &str = "2024-06-01T12:00:00Z";
const LATER: &str = "2024-06-02T12:00:00Z";

#[test]
fn first_run_writes_every_feed_and_announces_nothing() {
    let site = site();
    let log = run(&site, NOW).success().stderr_text();
    assert!(log.contains("baseline recorded"), "{log}");
    assert!(!log.contains("new entry"), "{log}");
    for dir in ["", "en/", "fr/", "categories/prize/"] {
        for file in ["rss.xml", "atom.xml", "feed.json"] {
            let rel = format!("public/feeds/{dir}{file}");
            assert!(site.path(&rel).is_file(), "{rel} missing");
        }
    }
    assert_eq!(
        site.feed_titles("public/feeds/atom.xml"),
        // Same date: the id breaks the tie (projects:ghent.en before projects:ghent.fr).
        ["Madrid", "Ghent", "Gand"]
    );
    assert_eq!(site.feed_titles("public/feeds/fr/rss.xml"), ["Gand"]);
    assert_eq!(
        site.feed_titles("public/feeds/en/feed.json"),
        ["Madrid", "Ghent"]
    );
    let status = crier(&site, &["status"], NOW).success();
    let out = status.stdout_text();
    assert!(
        out.contains("entries: 3 live, 0 scheduled, 0 removed"),
        "{out}"
    );
    assert!(out.contains("(ok,"), "{out}");
}

#[test]
fn new_changed_and_deleted_files_are_reported_and_reach_the_feeds() {
    let site = site();
    run(&site, NOW).success();

    site.write_entry(
        "content/reggio.en.md",
        &entry("Reggio nell'Emilia", "2024-03-19", "Second place."),
    );
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("new entry"), "{log}");
    assert!(log.contains("projects:reggio.en"), "{log}");
    assert!(
        site.feed_titles("public/feeds/rss.xml")
            .contains(&"Reggio nell'Emilia".into())
    );

    site.write_entry(
        "content/madrid.en.md",
        &entry("Madrid, revised", "2024-03-26", "Third place, with more."),
    );
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("entry changed"), "{log}");
    assert!(!log.contains("new entry"), "{log}");
    assert!(
        site.feed_titles("public/feeds/rss.xml")
            .contains(&"Madrid, revised".into())
    );

    fs::remove_file(site.path("content/ghent.en.md")).unwrap();
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("entry removed"), "{log}");
    let titles = site.feed_titles("public/feeds/en/atom.xml");
    assert_eq!(titles, ["Madrid, revised", "Reggio nell'Emilia"]);

    // Putting the file back restores the entry without announcing it again.
    site.write_entry(
        "content/ghent.en.md",
        &entry("Ghent", "2024-03-05", "First place."),
    );
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("entry restored"), "{log}");
    assert!(!log.contains("new entry"), "{log}");
}

#[test]
fn a_future_entry_waits_for_its_time_then_is_new() {
    let site = site();
    site.write_entry(
        "content/call.en.md",
        &entry(
            "Call for applications",
            "2024-07-01T09:00:00+02:00",
            "Soon.",
        ),
    );
    let log = run(&site, NOW).success().stderr_text();
    assert!(!log.contains("new entry"), "{log}");
    assert!(
        !site
            .feed_titles("public/feeds/rss.xml")
            .contains(&"Call for applications".into())
    );
    let plan = crier(&site, &["plan"], "2024-07-01T06:59:00Z")
        .success()
        .stdout_text();
    assert!(plan.contains("scheduled (1)"), "{plan}");
    assert!(!plan.contains("new ("), "{plan}");

    // 09:00 in Paris summer time is 07:00 UTC.
    let log = run(&site, "2024-07-01T07:00:00Z").success().stderr_text();
    assert!(log.contains("new entry"), "{log}");
    assert!(log.contains("Call for applications"), "{log}");
    assert_eq!(
        site.feed_titles("public/feeds/rss.xml")[0],
        "Call for applications"
    );
    let log = run(&site, "2024-07-02T07:00:00Z").success().stderr_text();
    assert!(!log.contains("new entry"), "{log}");
}

#[test]
fn a_broken_file_is_named_and_the_others_are_published() {
    let site = site();
    site.write(
        "content/broken.en.md",
        "+++\ntitle = \"Bad date\"\ndate = \"soon\"\n+++\nBody\n",
    );
    site.write(
        "content/badtoml.en.md",
        "+++\ntitle = \"Unclosed\ndate = 2024-01-01\n+++\n",
    );
    // A page without a date is no problem: Hugo and Zola publish it outside their
    // date-ordered lists, and crier leaves it out of the feeds with one line per read.
    site.write("content/about.en.md", "+++\ntitle = \"About\"\n+++\nBody\n");
    let log = run(&site, NOW).code(3).stderr_text();
    assert!(log.contains("broken.en.md"), "{log}");
    assert!(log.contains("badtoml.en.md"), "{log}");
    assert!(log.contains("pages without a date"), "{log}");
    assert_eq!(site.feed_titles("public/feeds/rss.xml").len(), 3);

    let check = crier(&site, &["check"], NOW).code(3);
    let out = check.stdout_text();
    assert!(out.contains("broken.en.md"), "{out}");
    assert!(out.contains("date"), "{out}");
    assert!(out.contains("badtoml.en.md:2"), "{out}");
    assert!(out.contains("2 problems found"), "{out}");

    let status = crier(&site, &["status"], NOW).success().stdout_text();
    assert!(status.contains("(partial,"), "{status}");
}

#[test]
fn a_file_that_breaks_keeps_its_last_good_entry() {
    let site = site();
    run(&site, NOW).success();
    site.write(
        "content/madrid.en.md",
        "+++\ntitle = \"Madrid\"\ndate = \"soon\"\n+++\n",
    );
    let log = run(&site, LATER).code(3).stderr_text();
    assert!(log.contains("madrid.en.md"), "{log}");
    assert!(!log.contains("entry removed"), "{log}");
    assert!(
        site.feed_titles("public/feeds/rss.xml")
            .contains(&"Madrid".into())
    );
}

/// A source failing run after run used to show in `status` only as the last run's first
/// error: its line now says how many reads in a row failed since when, and the last
/// successful run stays the last one that read every source.
#[test]
fn status_shows_a_failing_source_s_run_of_failed_reads() {
    let site = site();
    run(&site, NOW).success();
    fs::rename(site.path("content"), site.path("content.moved")).unwrap();
    run(&site, LATER).code(3);
    run(&site, "2024-06-03T12:00:00Z").code(3);
    let status = crier(&site, &["status"], NOW).success().stdout_text();
    assert!(
        status.contains(
            "  projects (directory): 3 live entries\n    FAILING: 2 reads in a row since \
             2024-06-02T12:00:00+00:00; last successful read 2024-06-01T12:00:00+00:00\n    \
             last error: source \"projects\""
        ),
        "{status}"
    );
    let time_after = |label: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .unwrap_or_else(|| panic!("no {label:?} time in {status}"))
    };
    assert!(status.contains("(partial,"), "{status}");
    assert!(
        time_after("last successful run: ") < time_after("last run: "),
        "{status}"
    );

    fs::rename(site.path("content.moved"), site.path("content")).unwrap();
    run(&site, "2024-06-04T12:00:00Z").success();
    let status = crier(&site, &["status"], NOW).success().stdout_text();
    assert!(!status.contains("FAILING"), "{status}");
}

#[test]
fn drafts_are_skipped_and_a_page_turned_draft_leaves_the_feeds() {
    let site = site();
    site.write(
        "content/draft.en.md",
        "+++\ntitle = \"Draft\"\ndate = 2024-01-01\ndraft = true\n+++\n",
    );
    run(&site, NOW).success();
    assert!(
        !site
            .feed_titles("public/feeds/rss.xml")
            .contains(&"Draft".into())
    );
    site.write(
        "content/madrid.en.md",
        "+++\ntitle = \"Madrid\"\ndate = 2024-03-26\ndraft = true\n+++\n",
    );
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("entry removed"), "{log}");
    assert!(
        !site
            .feed_titles("public/feeds/rss.xml")
            .contains(&"Madrid".into())
    );
}

#[test]
fn an_unchanged_cycle_rewrites_no_feed_file() {
    let site = site();
    run(&site, NOW).success();
    let files = [
        "public/feeds/rss.xml",
        "public/feeds/fr/atom.xml",
        "public/feeds/categories/prize/feed.json",
        "public/feeds/feed.fr.xsl",
    ];
    // Dated back to 2001 rather than waiting for the clock to move: a rewritten file would
    // carry today's time, whatever the file system's time resolution.
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for f in files {
        fs::File::options()
            .write(true)
            .open(site.path(f))
            .and_then(|file| file.set_modified(long_ago))
            .unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let bytes: Vec<_> = files.iter().map(|f| site.read(f)).collect();
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("feeds_written=0"), "{log}");
    for (i, f) in files.iter().enumerate() {
        assert_eq!(
            fs::metadata(site.path(f)).unwrap().modified().unwrap(),
            long_ago,
            "{f}"
        );
        assert_eq!(site.read(f), bytes[i], "{f}");
    }
    let leftovers: Vec<_> = fs::read_dir(site.path("public/feeds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            ![
                "rss.xml",
                "atom.xml",
                "feed.json",
                "head.html",
                "feed.en.xsl",
                "feed.fr.xsl",
                "en",
                "fr",
                "categories",
            ]
            .contains(&n.as_str())
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_feed_file_changed_behind_crier_s_back_is_written_again() {
    let site = site();
    run(&site, NOW).success();
    let original = site.read("public/feeds/rss.xml");
    fs::remove_file(site.path("public/feeds/fr/atom.xml")).unwrap();
    fs::write(site.path("public/feeds/rss.xml"), "truncated").unwrap();
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("feeds_written=2"), "{log}");
    assert_eq!(site.read("public/feeds/rss.xml"), original);
    assert!(site.path("public/feeds/fr/atom.xml").is_file());
    // A change of feed settings alone (no entry changed) re-renders too.
    site.set_config(&CONFIG.replace("title = \"Test network\"", "title = \"Renamed network\""));
    let log = run(&site, LATER).success().stderr_text();
    assert!(!log.contains("feeds_written=0"), "{log}");
    assert!(
        site.read("public/feeds/rss.xml")
            .contains("Renamed network")
    );
}

#[test]
fn content_is_sanitised_whether_parsed_this_cycle_or_read_from_the_state() {
    let site = site();
    site.write_entry(
        "content/xss.en.md",
        &entry(
            "Hostile",
            "2024-04-01",
            "Hello <script>alert(1)</script><img src=\"pic.png\" onerror=\"x()\"> [rel](../other/)",
        ),
    );
    run(&site, NOW).success();
    let check = |xml: &str| {
        assert!(
            !xml.contains("<script") && !xml.contains("&lt;script"),
            "{xml}"
        );
        assert!(!xml.contains("onerror"), "{xml}");
        assert!(
            xml.contains("https://example.org/en/projects/xss/pic.png"),
            "{xml}"
        );
        assert!(
            xml.contains("https://example.org/en/projects/other/"),
            "{xml}"
        );
    };
    check(&site.read("public/feeds/atom.xml"));
    // Editing another entry re-renders the feeds with this one read back from the state.
    site.write_entry(
        "content/madrid.en.md",
        &entry("Madrid 2", "2024-03-26", "x"),
    );
    run(&site, LATER).success();
    let atom = site.read("public/feeds/atom.xml");
    assert!(atom.contains("Madrid 2"));
    check(&atom);
    check(&site.read("public/feeds/en/rss.xml"));
}

#[test]
fn plan_writes_nothing_and_shows_what_would_change() {
    let site = site();
    let out = crier(&site, &["plan"], NOW).success().stdout_text();
    assert!(out.contains("first run: 3 published entries"), "{out}");
    // All, en, fr, the Prize category, and its English and French feeds: 6 folders.
    assert!(out.contains("feeds to write (18 of 18)"), "{out}");
    assert!(!site.path("state").exists());
    assert!(!site.path("public").exists());

    run(&site, NOW).success();
    let state = fs::read(site.path("state/crier.sqlite3")).unwrap();
    site.write_entry("content/new.en.md", &entry("Brand new", "2024-05-01", "x"));
    let out = crier(&site, &["plan"], LATER).success().stdout_text();
    assert!(out.contains("new (1):"), "{out}");
    assert!(out.contains("Brand new"), "{out}");
    assert!(out.contains("public/feeds/rss.xml"), "{out}");
    assert_eq!(fs::read(site.path("state/crier.sqlite3")).unwrap(), state);
    // The real run still sees the entry as new.
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("new entry"), "{log}");
}

#[test]
fn preview_writes_only_the_page_and_shows_the_posts_planned() {
    let site = site();
    // Before the first run: the baseline is named, and nothing waits.
    let out = crier(&site, &["preview", "--offline"], NOW)
        .success()
        .stdout_text();
    assert!(out.starts_with("<!DOCTYPE html>"), "{out}");
    assert!(out.contains("first run: 3 published entries"), "{out}");
    assert!(out.contains("No post is waiting or planned."), "{out}");
    assert!(!site.path("state").exists());

    run(&site, NOW).success();
    let token = site.secret("token", "t").inline();
    site.append_config(&format!(
        "[[channels]]\ntype = \"mastodon\"\nname = \"masto\"\nbase_url = \"https://m.example\"\naccess_token = {token}\n"
    ));
    let state = fs::read(site.path("state/crier.sqlite3")).unwrap();
    site.write_entry(
        "content/new.en.md",
        &entry("Brand <i>new</i>", "2024-06-02", "x"),
    );
    let out = crier(&site, &["preview", "--offline"], LATER)
        .success()
        .stdout_text();
    assert_eq!(out.matches("<article class=\"post ").count(), 1, "{out}");
    assert!(out.contains("Brand &lt;i&gt;new&lt;&#x2f;i&gt;"), "{out}");
    assert!(
        out.contains(r#"<span class="state">planned</span>"#),
        "{out}"
    );
    assert!(out.contains(" / 500 characters"), "{out}");
    assert!(out.contains("Link card not checked."), "{out}");
    let out = crier(
        &site,
        &["preview", "--offline", "--output", "preview.html"],
        LATER,
    )
    .success()
    .stdout_text();
    assert_eq!(out, "wrote preview.html: 1 posts of 1 entries\n");
    assert!(
        site.read("preview.html")
            .contains(r#"data-network="mastodon""#)
    );
    assert_eq!(fs::read(site.path("state/crier.sqlite3")).unwrap(), state);
    // The real run still sees the entry as new.
    let log = run(&site, LATER).success().stderr_text();
    assert!(log.contains("new entry"), "{log}");
}

#[test]
fn a_bad_config_names_the_file_and_key_and_exits_1() {
    let site = site();
    site.set_config(&CONFIG.replace(
        "timezone = \"Europe/Paris\"",
        "timezone = \"Europe/Pariss\"",
    ));
    let err = run(&site, NOW).code(1).stderr_text();
    assert!(err.contains("crier.toml"), "{err}");
    assert!(err.contains("site.timezone"), "{err}");
    let out = crier(&site, &["check"], NOW).code(1).stdout_text();
    assert!(out.contains("site.timezone"), "{out}");

    site.set_config(&format!("{CONFIG}\nsurprise = 1\n"));
    let err = run(&site, NOW).code(1).stderr_text();
    assert!(err.contains("surprise"), "{err}");
}

#[test]
fn check_exits_1_on_an_unreadable_secret_and_names_the_channel_and_key() {
    let site = site();
    let channel = "\n[[channels]]\ntype = \"mastodon\"\nname = \"mastodon-en\"\n\
                   base_url = \"https://mastodon.example\"\n\
                   access_token = { file = \"mastodon.token\" }\n";
    site.set_config(&format!("{CONFIG}{channel}"));
    let out = crier(&site, &["check"], NOW).code(1).stdout_text();
    assert!(
        out.contains("channel \"mastodon-en\" (mastodon): secrets missing"),
        "{out}"
    );
    assert!(
        out.contains(
            "error: channel \"mastodon-en\": `channels[0].access_token`: cannot read secret file"
        ),
        "{out}"
    );
    assert!(out.contains("mastodon.token"), "{out}");
    assert!(out.contains("chmod 600"), "{out}");
    assert!(out.contains("1 problem found"), "{out}");

    // A disabled channel's secrets are not needed.
    let disabled = channel.replace("name =", "enabled = false\nname =");
    site.set_config(&format!("{CONFIG}{disabled}"));
    let out = crier(&site, &["check"], NOW).success().stdout_text();
    assert!(out.contains("no problems found"), "{out}");

    site.set_config(&format!("{CONFIG}{channel}"));
    site.write("mastodon.token", "token");
    let out = crier(&site, &["check"], NOW).success().stdout_text();
    assert!(
        out.contains("channel \"mastodon-en\" (mastodon): secrets readable"),
        "{out}"
    );
    assert!(out.contains("no problems found"), "{out}");
}

#[test]
fn check_shows_what_a_read_noticed_and_still_exits_0() {
    let site = site();
    // Emacs Org is a Hugo content format crier cannot read; an undated page is one Hugo and
    // Zola leave out of their date-ordered lists. Neither is a problem, but an editor running
    // `check` should learn of both.
    site.write("content/notes.org", "#+TITLE: Notes\n");
    site.write("content/ideas.org", "#+TITLE: Ideas\n");
    site.write("content/about.en.md", "+++\ntitle = \"About\"\n+++\nBody\n");
    let out = crier(&site, &["check"], NOW).success().stdout_text();
    let org = out
        .find("warning: Emacs Org content files, which crier cannot read: skipped: 2")
        .unwrap_or_else(|| panic!("no Org warning in {out}"));
    // Every file a warning names, one a line (the log names only the first three).
    for org in ["content/ideas.org", "content/notes.org"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("    /") && l.ends_with(org)),
            "{org} not listed in {out}"
        );
    }
    let undated = out
        .find("info: pages without a date, left out of the feeds")
        .unwrap_or_else(|| panic!("no undated notice in {out}"));
    assert!(out.contains("about.en.md"), "{out}");
    // After the source's entries, before the verdict.
    let entries = out.find("source \"projects\"").expect("the source line");
    let verdict = out.find("no problems found").expect("the verdict");
    assert!(entries < org && org < verdict, "{out}");
    assert!(entries < undated && undated < verdict, "{out}");
}

#[test]
fn a_missing_config_says_which_file() {
    let site = site();
    Crier::new("nope.toml")
        .current_dir(site.root())
        .args(["run", "--once"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.toml"))
        // The cause is printed once, not repeated by the error chain.
        .stderr(predicate::str::contains("No such file or directory").count(1));
}

#[test]
fn status_without_state_says_how_to_start() {
    let site = site();
    let out = crier(&site, &["status"], NOW).success().stdout_text();
    assert!(out.contains("no state yet"), "{out}");
    assert!(!site.path("state").exists());
}

#[test]
fn json_logs_are_one_object_per_line() {
    let site = site();
    let run = crier(&site, &["--log-format", "json", "run", "--once"], NOW).success();
    let log = run.stderr_text();
    let mut lines = 0;
    for line in log.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(value.get("level").is_some(), "{line}");
        lines += 1;
    }
    assert!(lines > 0);
    assert!(log.contains("\"feeds_written\":18"), "{log}");
}

#[test]
fn one_run_flags_without_once_are_refused() {
    let site = site();
    let err = crier(&site, &["run", "--dry-run"], NOW)
        .code(1)
        .stderr_text();
    assert!(err.contains("--once"), "{err}");
    assert!(
        !site.path("state").exists(),
        "a refused command touched the state"
    );
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let site = site();
    // Run from another folder: paths must still land beside crier.toml.
    let elsewhere = tempfile::tempdir().unwrap();
    Crier::new(site.config_path())
        .current_dir(elsewhere.path())
        .now(NOW)
        .args(["run", "--once"])
        .assert()
        .success();
    assert!(site.path("public/feeds/rss.xml").is_file());
    assert!(site.path("state/crier.sqlite3").is_file());
    assert!(is_empty(elsewhere.path()));
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

/// Under systemd (`JOURNAL_STREAM` set) every line starts with its syslog priority, so that
/// `journalctl -p warning` finds the warnings and errors, and carries no time stamp of its own.
#[test]
fn under_journald_each_line_starts_with_its_priority() {
    let site = site();
    site.write(
        "content/broken.md",
        "---\ntitle: Broken\ndate: 0000-01-01\n---\nA date no feed can hold.\n",
    );
    let output = site
        .crier()
        .args(["run", "--once", "--dry-run"])
        .command()
        .env("JOURNAL_STREAM", "8:12345")
        .output()
        .expect("crier runs");
    assert_eq!(output.status.code(), Some(3));
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = log.lines().collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(
            ["<3>", "<4>", "<6>", "<7>"]
                .iter()
                .any(|p| line.starts_with(p)),
            "no priority: {line}\n{log}"
        );
        // No time stamp: the level follows the priority (the journal stamps lines itself).
        assert!(
            line[3..]
                .trim_start()
                .starts_with(['E', 'W', 'I', 'D', 'T']),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>") && l.contains("INFO")),
        "{log}"
    );
    let broken: Vec<&&str> = lines.iter().filter(|l| l.contains("broken.md")).collect();
    assert!(!broken.is_empty(), "{log}");
    for line in broken {
        assert!(
            line.starts_with("<3>") || line.starts_with("<4>"),
            "an entry error must reach `journalctl -p warning`: {line}"
        );
    }
}

/// `crier --help` ends with the exit codes, each of the five the binary uses.
#[test]
fn help_lists_the_exit_codes() {
    let output = assert_cmd::Command::cargo_bin("crier")
        .expect("the binary")
        .arg("--help")
        .output()
        .expect("crier runs");
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    let codes = &help[help.find("Exit codes:").expect("an exit code list")..];
    for code in [
        "0  success",
        "1  failure",
        "2  wrong command line",
        "3  done",
        "4  another crier",
    ] {
        assert!(codes.contains(code), "{code}:\n{codes}");
    }
}

//! End-to-end tests of the real `crier` binary on fixture folders in a temporary directory:
//! baseline, new, changed, removed, scheduled and broken entries, dry runs and exit codes.
//! The clock is injected with `CRIER_NOW`.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

/// A throwaway site: config, content folder, feeds and state under one temp dir.
struct Site {
    dir: tempfile::TempDir,
}

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

fn entry(title: &str, date: &str, body: &str) -> String {
    format!(
        "+++\ntitle = \"{title}\"\ndate = {date}\ncategories = [\"Prize\"]\n[extra]\ncity = \"Ghent\"\n+++\n\n{body}\n"
    )
}

impl Site {
    fn new() -> Site {
        let site = Site {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::write(site.path("crier.toml"), CONFIG).unwrap();
        site.write(
            "content/ghent.en.md",
            &entry("Ghent", "2024-03-05", "First place."),
        );
        site.write(
            "content/ghent.fr.md",
            &entry("Gand", "2024-03-05", "Première place."),
        );
        site.write(
            "content/madrid.en.md",
            &entry("Madrid", "2024-03-26", "Third place."),
        );
        site
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn crier(&self, args: &[&str], now: &str) -> assert_cmd::assert::Assert {
        Command::cargo_bin("crier")
            .unwrap()
            .current_dir(self.dir.path())
            .env("CRIER_NOW", now)
            .env("CRIER_LOG", "crier=info")
            .env_remove("CRIER_CONFIG")
            .arg("--config")
            .arg(self.path("crier.toml"))
            .args(args)
            .assert()
    }

    fn run(&self, now: &str) -> assert_cmd::assert::Assert {
        self.crier(&["run", "--once"], now)
    }
}

const NOW: &str = "2024-06-01T12:00:00Z";
const LATER: &str = "2024-06-02T12:00:00Z";

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn feed_titles(xml: &str) -> Vec<String> {
    let feed = feed_rs::parser::parse(xml.as_bytes()).expect("feed parses");
    feed.entries
        .into_iter()
        .map(|e| e.title.map(|t| t.content).unwrap_or_default())
        .collect()
}

#[test]
fn first_run_writes_every_feed_and_announces_nothing() {
    let site = Site::new();
    let run = site.run(NOW).success();
    let log = stderr(&run);
    assert!(log.contains("baseline recorded"), "{log}");
    assert!(!log.contains("new entry"), "{log}");
    for dir in ["", "en/", "fr/", "categories/prize/"] {
        for file in ["rss.xml", "atom.xml", "feed.json"] {
            let rel = format!("public/feeds/{dir}{file}");
            assert!(site.path(&rel).is_file(), "{rel} missing");
        }
    }
    assert_eq!(
        feed_titles(&site.read("public/feeds/atom.xml")),
        // Same date: the id breaks the tie (projects:ghent.en before projects:ghent.fr).
        ["Madrid", "Ghent", "Gand"]
    );
    assert_eq!(feed_titles(&site.read("public/feeds/fr/rss.xml")), ["Gand"]);
    assert_eq!(
        feed_titles(&site.read("public/feeds/en/feed.json")),
        ["Madrid", "Ghent"]
    );
    let status = site.crier(&["status"], NOW).success();
    let out = stdout(&status);
    assert!(
        out.contains("entries: 3 live, 0 scheduled, 0 removed"),
        "{out}"
    );
    assert!(out.contains("(ok,"), "{out}");
}

#[test]
fn new_changed_and_deleted_files_are_reported_and_reach_the_feeds() {
    let site = Site::new();
    site.run(NOW).success();

    site.write(
        "content/reggio.en.md",
        &entry("Reggio nell'Emilia", "2024-03-19", "Second place."),
    );
    let log = stderr(&site.run(LATER).success());
    assert!(log.contains("new entry"), "{log}");
    assert!(log.contains("projects:reggio.en"), "{log}");
    assert!(feed_titles(&site.read("public/feeds/rss.xml")).contains(&"Reggio nell'Emilia".into()));

    site.write(
        "content/madrid.en.md",
        &entry("Madrid, revised", "2024-03-26", "Third place, with more."),
    );
    let log = stderr(&site.run(LATER).success());
    assert!(log.contains("entry changed"), "{log}");
    assert!(!log.contains("new entry"), "{log}");
    assert!(feed_titles(&site.read("public/feeds/rss.xml")).contains(&"Madrid, revised".into()));

    fs::remove_file(site.path("content/ghent.en.md")).unwrap();
    let log = stderr(&site.run(LATER).success());
    assert!(log.contains("entry removed"), "{log}");
    let titles = feed_titles(&site.read("public/feeds/en/atom.xml"));
    assert_eq!(titles, ["Madrid, revised", "Reggio nell'Emilia"]);

    // Putting the file back restores the entry without announcing it again.
    site.write(
        "content/ghent.en.md",
        &entry("Ghent", "2024-03-05", "First place."),
    );
    let log = stderr(&site.run(LATER).success());
    assert!(log.contains("entry restored"), "{log}");
    assert!(!log.contains("new entry"), "{log}");
}

#[test]
fn a_future_entry_waits_for_its_time_then_is_new() {
    let site = Site::new();
    site.write(
        "content/call.en.md",
        &entry(
            "Call for applications",
            "2024-07-01T09:00:00+02:00",
            "Soon.",
        ),
    );
    let log = stderr(&site.run(NOW).success());
    assert!(!log.contains("new entry"), "{log}");
    assert!(
        !feed_titles(&site.read("public/feeds/rss.xml")).contains(&"Call for applications".into())
    );
    let plan = stdout(&site.crier(&["plan"], "2024-07-01T06:59:00Z").success());
    assert!(plan.contains("scheduled (1)"), "{plan}");
    assert!(!plan.contains("new ("), "{plan}");

    // 09:00 in Paris summer time is 07:00 UTC.
    let log = stderr(&site.run("2024-07-01T07:00:00Z").success());
    assert!(log.contains("new entry"), "{log}");
    assert!(log.contains("Call for applications"), "{log}");
    assert_eq!(
        feed_titles(&site.read("public/feeds/rss.xml"))[0],
        "Call for applications"
    );
    let log = stderr(&site.run("2024-07-02T07:00:00Z").success());
    assert!(!log.contains("new entry"), "{log}");
}

#[test]
fn a_broken_file_is_named_and_the_others_are_published() {
    let site = Site::new();
    site.write(
        "content/broken.en.md",
        "+++\ntitle = \"No date\"\n+++\nBody\n",
    );
    site.write(
        "content/badtoml.en.md",
        "+++\ntitle = \"Unclosed\ndate = 2024-01-01\n+++\n",
    );
    let run = site.run(NOW).code(3);
    let log = stderr(&run);
    assert!(log.contains("broken.en.md"), "{log}");
    assert!(log.contains("badtoml.en.md"), "{log}");
    assert_eq!(feed_titles(&site.read("public/feeds/rss.xml")).len(), 3);

    let check = site.crier(&["check"], NOW).code(3);
    let out = stdout(&check);
    assert!(out.contains("broken.en.md"), "{out}");
    assert!(out.contains("date"), "{out}");
    assert!(out.contains("badtoml.en.md:2"), "{out}");
    assert!(out.contains("2 problems found"), "{out}");

    let status = stdout(&site.crier(&["status"], NOW).success());
    assert!(status.contains("(partial,"), "{status}");
}

#[test]
fn a_file_that_breaks_keeps_its_last_good_entry() {
    let site = Site::new();
    site.run(NOW).success();
    site.write(
        "content/madrid.en.md",
        "+++\ntitle = \"Madrid\"\ndate = \"soon\"\n+++\n",
    );
    let log = stderr(&site.run(LATER).code(3));
    assert!(log.contains("madrid.en.md"), "{log}");
    assert!(!log.contains("entry removed"), "{log}");
    assert!(feed_titles(&site.read("public/feeds/rss.xml")).contains(&"Madrid".into()));
}

#[test]
fn drafts_are_skipped_and_a_page_turned_draft_leaves_the_feeds() {
    let site = Site::new();
    site.write(
        "content/draft.en.md",
        "+++\ntitle = \"Draft\"\ndate = 2024-01-01\ndraft = true\n+++\n",
    );
    site.run(NOW).success();
    assert!(!feed_titles(&site.read("public/feeds/rss.xml")).contains(&"Draft".into()));
    site.write(
        "content/madrid.en.md",
        "+++\ntitle = \"Madrid\"\ndate = 2024-03-26\ndraft = true\n+++\n",
    );
    let log = stderr(&site.run(LATER).success());
    assert!(log.contains("entry removed"), "{log}");
    assert!(!feed_titles(&site.read("public/feeds/rss.xml")).contains(&"Madrid".into()));
}

#[test]
fn an_unchanged_cycle_rewrites_no_feed_file() {
    let site = Site::new();
    site.run(NOW).success();
    let files = [
        "public/feeds/rss.xml",
        "public/feeds/fr/atom.xml",
        "public/feeds/categories/prize/feed.json",
    ];
    let before: Vec<_> = files
        .iter()
        .map(|f| fs::metadata(site.path(f)).unwrap().modified().unwrap())
        .collect();
    let bytes: Vec<_> = files.iter().map(|f| site.read(f)).collect();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let log = stderr(&site.run(LATER).success());
    assert!(log.contains("feeds_written=0"), "{log}");
    for (i, f) in files.iter().enumerate() {
        assert_eq!(
            fs::metadata(site.path(f)).unwrap().modified().unwrap(),
            before[i],
            "{f}"
        );
        assert_eq!(site.read(f), bytes[i], "{f}");
    }
    let leftovers: Vec<_> = fs::read_dir(site.path("public/feeds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !["rss.xml", "atom.xml", "feed.json", "en", "fr", "categories"].contains(&n.as_str())
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_feed_file_changed_behind_crier_s_back_is_written_again() {
    let site = Site::new();
    site.run(NOW).success();
    let original = site.read("public/feeds/rss.xml");
    fs::remove_file(site.path("public/feeds/fr/atom.xml")).unwrap();
    fs::write(site.path("public/feeds/rss.xml"), "truncated").unwrap();
    let log = stderr(&site.run(LATER).success());
    assert!(log.contains("feeds_written=2"), "{log}");
    assert_eq!(site.read("public/feeds/rss.xml"), original);
    assert!(site.path("public/feeds/fr/atom.xml").is_file());
    // A change of feed settings alone (no entry changed) re-renders too.
    fs::write(
        site.path("crier.toml"),
        CONFIG.replace("title = \"Test network\"", "title = \"Renamed network\""),
    )
    .unwrap();
    let log = stderr(&site.run(LATER).success());
    assert!(!log.contains("feeds_written=0"), "{log}");
    assert!(
        site.read("public/feeds/rss.xml")
            .contains("Renamed network")
    );
}

#[test]
fn content_is_sanitised_whether_parsed_this_cycle_or_read_from_the_state() {
    let site = Site::new();
    site.write(
        "content/xss.en.md",
        &entry(
            "Hostile",
            "2024-04-01",
            "Hello <script>alert(1)</script><img src=\"pic.png\" onerror=\"x()\"> [rel](../other/)",
        ),
    );
    site.run(NOW).success();
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
    site.write(
        "content/madrid.en.md",
        &entry("Madrid 2", "2024-03-26", "x"),
    );
    site.run(LATER).success();
    let atom = site.read("public/feeds/atom.xml");
    assert!(atom.contains("Madrid 2"));
    check(&atom);
    check(&site.read("public/feeds/en/rss.xml"));
}

#[test]
fn plan_writes_nothing_and_shows_what_would_change() {
    let site = Site::new();
    let out = stdout(&site.crier(&["plan"], NOW).success());
    assert!(out.contains("first run: 3 published entries"), "{out}");
    assert!(out.contains("feeds to write (12 of 12)"), "{out}");
    assert!(!site.path("state").exists());
    assert!(!site.path("public").exists());

    site.run(NOW).success();
    let state = fs::read(site.path("state/crier.sqlite3")).unwrap();
    site.write("content/new.en.md", &entry("Brand new", "2024-05-01", "x"));
    let out = stdout(&site.crier(&["plan"], LATER).success());
    assert!(out.contains("new (1):"), "{out}");
    assert!(out.contains("Brand new"), "{out}");
    assert!(out.contains("public/feeds/rss.xml"), "{out}");
    assert_eq!(fs::read(site.path("state/crier.sqlite3")).unwrap(), state);
    // The real run still sees the entry as new.
    let log = stderr(&site.run(LATER).success());
    assert!(log.contains("new entry"), "{log}");
}

#[test]
fn a_bad_config_names_the_file_and_key_and_exits_1() {
    let site = Site::new();
    fs::write(
        site.path("crier.toml"),
        CONFIG.replace(
            "timezone = \"Europe/Paris\"",
            "timezone = \"Europe/Pariss\"",
        ),
    )
    .unwrap();
    let run = site.run(NOW).code(1);
    let err = stderr(&run);
    assert!(err.contains("crier.toml"), "{err}");
    assert!(err.contains("site.timezone"), "{err}");
    let out = stdout(&site.crier(&["check"], NOW).code(1));
    assert!(out.contains("site.timezone"), "{out}");

    fs::write(site.path("crier.toml"), format!("{CONFIG}\nsurprise = 1\n")).unwrap();
    let err = stderr(&site.run(NOW).code(1));
    assert!(err.contains("surprise"), "{err}");
}

#[test]
fn check_exits_1_on_an_unreadable_secret_and_names_the_channel_and_key() {
    let site = Site::new();
    let channel = "\n[[channels]]\ntype = \"mastodon\"\nname = \"mastodon-en\"\n\
                   base_url = \"https://mastodon.example\"\n\
                   access_token = { file = \"mastodon.token\" }\n";
    fs::write(site.path("crier.toml"), format!("{CONFIG}{channel}")).unwrap();
    let out = stdout(&site.crier(&["check"], NOW).code(1));
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
    fs::write(site.path("crier.toml"), format!("{CONFIG}{disabled}")).unwrap();
    let out = stdout(&site.crier(&["check"], NOW).success());
    assert!(out.contains("no problems found"), "{out}");

    fs::write(site.path("crier.toml"), format!("{CONFIG}{channel}")).unwrap();
    site.write("mastodon.token", "token");
    let out = stdout(&site.crier(&["check"], NOW).success());
    assert!(
        out.contains("channel \"mastodon-en\" (mastodon): secrets readable"),
        "{out}"
    );
    assert!(out.contains("no problems found"), "{out}");
}

#[test]
fn a_missing_config_says_which_file() {
    let site = Site::new();
    Command::cargo_bin("crier")
        .unwrap()
        .current_dir(site.dir.path())
        .env_remove("CRIER_CONFIG")
        .args(["--config", "nope.toml", "run", "--once"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.toml"))
        // The cause is printed once, not repeated by the error chain.
        .stderr(predicate::str::contains("No such file or directory").count(1));
}

#[test]
fn status_without_state_says_how_to_start() {
    let site = Site::new();
    let out = stdout(&site.crier(&["status"], NOW).success());
    assert!(out.contains("no state yet"), "{out}");
    assert!(!site.path("state").exists());
}

#[test]
fn json_logs_are_one_object_per_line() {
    let site = Site::new();
    let run = site
        .crier(&["--log-format", "json", "run", "--once"], NOW)
        .success();
    let log = stderr(&run);
    let mut lines = 0;
    for line in log.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(value.get("level").is_some(), "{line}");
        lines += 1;
    }
    assert!(lines > 0);
    assert!(log.contains("\"feeds_written\":12"), "{log}");
}

#[test]
fn one_run_flags_without_once_are_refused() {
    let site = Site::new();
    let err = stderr(&site.crier(&["run", "--dry-run"], NOW).code(1));
    assert!(err.contains("--once"), "{err}");
    assert!(
        !site.path("state").exists(),
        "a refused command touched the state"
    );
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let site = Site::new();
    // Run from another folder: paths must still land beside crier.toml.
    let elsewhere = tempfile::tempdir().unwrap();
    Command::cargo_bin("crier")
        .unwrap()
        .current_dir(elsewhere.path())
        .env("CRIER_NOW", NOW)
        .args(["--config"])
        .arg(site.path("crier.toml"))
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

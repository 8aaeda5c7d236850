//! The output meant for scripts and packagers, through the real binary: `status --json` and
//! `plan --json` parsed with serde_json on known states, `crier config` (defaults written,
//! secrets by their source, the output loading back as the same config), the completion
//! scripts and the manual page.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use clap::CommandFactory;
use common::{Crier, OutputText, Site, entry_file};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CONFIG: &str = r#"
[site]
title = "Test network"
base_url = "https://example.org"
languages = ["en"]

[[sources]]
type = "directory"
name = "projects"
path = "content"
permalink = "/projects/{slug}/"

[feeds]
output_dir = "public/feeds"
"#;

const NOW: &str = "2024-06-01T12:00:00Z";

/// The test network with two entries.
fn site() -> Site {
    let site = Site::new(CONFIG);
    site.write_entry("content/ghent.md", &entry_file("Ghent", "2024-03-05"));
    site.write_entry("content/madrid.md", &entry_file("Madrid", "2024-03-26"));
    site
}

/// Runs crier with `args` at `now` and parses its standard output as JSON.
fn json(site: &Site, args: &[&str], now: &str) -> Value {
    let output = site.crier().now(now).args(args).output();
    assert!(output.status.success(), "{}", output.stderr_text());
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: not JSON:\n{}", output.stdout_text()))
}

/// A time the JSON gives: RFC 3339, in UTC.
fn assert_utc(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("no time: {value}"));
    assert!(text.ends_with('Z'), "{text} is not UTC");
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
}

#[test]
fn status_json_carries_the_counts_the_last_run_and_the_sources() {
    let site = site();
    let before = json(&site, &["status", "--json"], NOW);
    assert_eq!(before["version"], 1);
    assert_eq!(before["state_exists"], false);
    assert_eq!(before["last_run"], Value::Null);

    let run = site.crier().now(NOW).args(["run", "--once"]).output();
    assert!(run.status.success(), "{}", run.stderr_text());
    let status = json(&site, &["status", "--json"], NOW);
    assert_eq!(status["version"], 1);
    assert_eq!(status["state_exists"], true);
    assert_eq!(status["schema_current"], true);
    assert_eq!(
        status["entries"],
        serde_json::json!({"live": 2, "scheduled": 0, "removed": 0})
    );
    assert_eq!(status["runs"], 1);
    let last = &status["last_run"];
    assert_eq!(last["outcome"], "ok");
    assert_eq!(last["baseline"], true);
    assert_eq!(last["errors"], 0);
    assert_utc(&last["started_at"]);
    assert_utc(&last["finished_at"]);
    assert_utc(&status["baseline_at"]);
    assert_utc(&status["last_success"]);
    let source = &status["sources"][0];
    assert_eq!(source["name"], "projects");
    assert_eq!(source["type"], "directory");
    assert_eq!(source["live_entries"], 2);
    assert_eq!(source["remote"], Value::Null);
    assert_eq!(source["health"]["failing"], false);
    assert_eq!(status["channels"], serde_json::json!([]));
    assert_eq!(status["deliveries"], serde_json::json!([]));
    assert_eq!(status["hubs"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_json_shows_a_paused_channel_and_the_delivery_waiting_for_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "The access token is invalid"})),
        )
        .mount(&server)
        .await;
    let site = site();
    let first = site
        .crier()
        .now(NOW)
        .args(["run", "--once"])
        .output_async()
        .await;
    assert!(first.status.success(), "{}", first.stderr_text());
    site.append_config(&mastodon(&site, &server.uri()));
    site.write_entry("content/lyon.md", &entry_file("Lyon", "2024-05-31"));
    let run = site
        .crier()
        .now(NOW)
        .args(["run", "--once"])
        .output_async()
        .await;
    assert_eq!(run.status.code(), Some(3), "{}", run.stderr_text());

    let status = json(&site, &["status", "--json"], NOW);
    let channel = &status["channels"][0];
    assert_eq!(channel["name"], "mastodon");
    assert_eq!(channel["counts"]["pending"], 1);
    assert_eq!(channel["counts"]["sent"], 0);
    let paused = channel["paused"].as_str().expect("a pause reason");
    assert!(paused.contains("access token"), "{paused}");
    let delivery = &status["deliveries"][0];
    assert_eq!(delivery["channel"], "mastodon");
    assert_eq!(delivery["entry_id"], "projects:lyon");
    assert_eq!(delivery["state"], "pending");
    assert_utc(&delivery["due_at"]);
}

/// A Mastodon channel on `base` whose token is read from a file.
fn mastodon(site: &Site, base: &str) -> String {
    format!(
        r#"
[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "{base}"
access_token = {token}
"#,
        token = site.secret("masto", "masto-token").inline()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_json_lists_the_new_entries_the_feeds_and_the_posts_with_why_one_waits() {
    // The plan renders posts without sending: the mock answers nothing.
    let server = MockServer::start().await;
    let site = site();
    let first = site
        .crier()
        .now(NOW)
        .args(["run", "--once"])
        .output_async()
        .await;
    assert!(first.status.success(), "{}", first.stderr_text());
    site.append_config(&mastodon(&site, &server.uri()));
    site.write_entry("content/lyon.md", &entry_file("Lyon", "2024-05-31"));
    // Older than announce.max_age (14 days): held rather than posted.
    site.write_entry("content/old.md", &entry_file("Old news", "2024-04-01"));

    let plan = json(&site, &["plan", "--json"], NOW);
    assert_eq!(plan["version"], 1);
    assert_eq!(plan["baseline"], false);
    assert_eq!(plan["announcing"], true);
    let new: Vec<&str> = plan["new"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["title"].as_str().expect("a title"))
        .collect();
    assert_eq!(new, ["Lyon", "Old news"]);
    assert_eq!(plan["new"][0]["url"], "https://example.org/projects/lyon/");
    assert_utc(&plan["new"][0]["published"]);
    let feeds = plan["feeds"].as_array().expect("a list");
    assert!(!feeds.is_empty());
    assert!(feeds.iter().all(|f| f["changed"] == true), "{feeds:?}");
    let post = &plan["posts"][0];
    assert_eq!(post["channel"], "mastodon");
    assert_eq!(post["entry_id"], "projects:lyon");
    let text = post["text"].as_str().expect("a text");
    assert!(
        text.contains("https://example.org/projects/lyon/"),
        "{text}"
    );
    assert!(post["length"].as_u64() <= post["limit"].as_u64(), "{post}");
    let held = &plan["waiting"][0];
    assert_eq!(held["entry_id"], "projects:old");
    assert_eq!(held["state"], "held");
    assert!(held["reason"].as_str().is_some(), "{held}");
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0));

    // The text names the same things.
    let text = site.crier().now(NOW).args(["plan"]).output().stdout_text();
    assert!(text.contains("new (2):"), "{text}");
    assert!(text.contains("held for mastodon: projects:old"), "{text}");
    assert!(text.contains("--- mastodon · projects:lyon"), "{text}");
}

#[test]
fn config_prints_every_default_and_secrets_by_their_source_and_loads_back() {
    let site = site();
    site.append_config(
        r#"
[[channels]]
type = "mastodon"
name = "mastodon"
base_url = "https://mastodon.example"
access_token = { env = "CRIER_TEST_CONFIG_TOKEN" }
"#,
    );
    let printed = |config: &std::path::Path| {
        let output = Crier::new(config)
            .args(["config"])
            .command()
            .env("CRIER_TEST_CONFIG_TOKEN", "value-never-printed")
            .output()
            .expect("crier starts");
        assert!(output.status.success(), "{}", output.stderr_text());
        output.stdout_text()
    };
    let effective = printed(&site.config_path());
    assert!(!effective.contains("value-never-printed"), "{effective}");
    assert!(
        effective.contains(
            "access_token = { env = \"CRIER_TEST_CONFIG_TOKEN\" } # <from env CRIER_TEST_CONFIG_TOKEN>"
        ),
        "{effective}"
    );
    // Defaults the file does not write.
    for line in [
        "limit = 50",
        "per_run_cap = 10",
        "max_age = \"14days\"",
        "timezone = \"UTC\"",
    ] {
        assert!(effective.contains(line), "{line} not in\n{effective}");
    }
    // Loaded back from another file, it gives the same effective config (past the first
    // comment line, which names the file).
    let copy = site.path("effective.toml");
    std::fs::write(&copy, &effective).expect("writing the copy");
    let again = printed(&copy);
    let body = |text: &str| text.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&again), body(&effective));
}

#[test]
fn config_refuses_an_invalid_config_as_check_does() {
    let site = site();
    site.append_config("[announce]\nper_run_cap = \"many\"\n");
    let config = site.crier().args(["config"]).output();
    assert_eq!(config.status.code(), Some(1), "{}", config.stderr_text());
    assert!(config.stdout.is_empty(), "{}", config.stdout_text());
    let check = site.crier().args(["check"]).output();
    assert_eq!(check.status.code(), Some(1));
    assert!(
        config.stderr_text().contains("announce.per_run_cap"),
        "{}",
        config.stderr_text()
    );
    assert!(
        check.stdout_text().contains("announce.per_run_cap"),
        "{}",
        check.stdout_text()
    );
}

/// The subcommands a user can call, from the clap definitions.
fn subcommands() -> Vec<String> {
    crier::cli::Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect()
}

#[test]
fn the_bash_completions_parse_and_offer_every_command() {
    let site = Site::empty();
    let script = site.crier().args(["completions", "bash"]).output();
    assert!(script.status.success(), "{}", script.stderr_text());
    let script = script.stdout_text();
    for command in subcommands() {
        assert!(script.contains(&command), "{command} not offered");
    }
    let path = site.path("crier.bash");
    std::fs::write(&path, &script).expect("writing the script");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash runs");
    assert!(syntax.status.success(), "{}", syntax.stderr_text());
}

#[test]
fn the_manual_renders_with_every_command_and_the_exit_codes() {
    let site = Site::empty();
    let page = site.crier().args(["man"]).output();
    assert!(page.status.success(), "{}", page.stderr_text());
    let roff = page.stdout_text();
    assert!(roff.contains("\n.TH crier 1 "), "{roff}");
    let Some(rendered) = render_roff(&page.stdout) else {
        return;
    };
    for command in subcommands() {
        assert!(
            rendered.contains(&format!("crier {command}")),
            "{command} not in\n{rendered}"
        );
    }
    let exit = rendered
        .split("EXIT STATUS")
        .nth(1)
        .unwrap_or_else(|| panic!("no EXIT STATUS in\n{rendered}"));
    for code in ["0", "1", "2", "3", "4"] {
        assert!(
            exit.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "exit code {code} not in\n{exit}"
        );
    }
}

/// The page as groff renders it for a terminal, or `None` (printing why) without groff,
/// unless `CRIER_REQUIRE_GROFF=1` requires it.
fn render_roff(roff: &[u8]) -> Option<String> {
    let child = Command::new("groff")
        // Plain text: no escape sequences, no overstriking for bold and underlines.
        .args(["-man", "-Tutf8", "-P-c", "-P-b", "-P-o", "-P-u", "-ww"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            let required = std::env::var_os("CRIER_REQUIRE_GROFF").is_some_and(|v| v == "1");
            assert!(
                !required,
                "groff: {e}, and CRIER_REQUIRE_GROFF=1 requires it"
            );
            let _ = writeln!(
                std::io::stderr(),
                "skipped rendering the manual: groff: {e}"
            );
            return None;
        }
    };
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(roff)
        .expect("groff reads the page");
    let output = child.wait_with_output().expect("groff ends");
    let warnings = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && warnings.is_empty(),
        "groff: {warnings}"
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn the_readme_lists_every_command() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for command in subcommands() {
        assert!(
            readme.contains(&format!("| `crier {command}")),
            "README.md's commands table has no row for `crier {command}`"
        );
    }
}

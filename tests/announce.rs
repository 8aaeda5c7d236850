//! Announcing, end to end: the real binary, a content folder in a temp dir, and a Mastodon
//! mock on 127.0.0.1. Baseline, new entries, dry runs, `plan`, a paused channel and `retry`,
//! and no secret in any log line.

use std::fs;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "tok-mastodon-9f8e7d6c5b4a";

/// A Mastodon that records every status it creates and answers as the real API does.
#[derive(Clone, Default)]
struct Statuses(Arc<Mutex<Vec<serde_json::Value>>>);

impl Respond for Statuses {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let mut all = self.0.lock().unwrap();
        all.push(body);
        let id = all.len().to_string();
        ResponseTemplate::new(200).set_body_json(json!({
            "id": id,
            "url": format!("https://m.example/@alliance/{id}"),
        }))
    }
}

impl Statuses {
    fn texts(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["status"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(mastodon: &str) -> Site {
        let site = Site {
            dir: tempfile::tempdir().unwrap(),
        };
        let token = site.path("mastodon.token");
        fs::write(&token, TOKEN).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).unwrap();
        }
        fs::write(
            site.path("crier.toml"),
            format!(
                r#"
[site]
title = "Network"
base_url = "https://example.org"
languages = ["en", "fr"]

[[sources]]
type = "directory"
path = "content"
permalink = "/{{lang}}/projects/{{slug}}/"

[[channels]]
type = "mastodon"
name = "mastodon-en"
languages = ["en"]
base_url = "{mastodon}"
access_token = {{ file = "mastodon.token" }}
template = "{{{{ title }}}} ({{{{ city }}}}) {{{{ url }}}}"
"#
            ),
        )
        .unwrap();
        site.write("ghent.en.md", "Ghent", "2024-05-01");
        site.write("gand.fr.md", "Gand", "2024-05-01");
        site
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, file: &str, title: &str, date: &str) {
        let path = self.path(&format!("content/{file}"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            path,
            format!(
                "+++\ntitle = \"{title}\"\ndate = {date}\n[extra]\ncity = \"{title}\"\n+++\nBody.\n"
            ),
        )
        .unwrap();
    }

    /// Runs crier off the async runtime that serves the mock.
    async fn crier(&self, args: &[&str]) -> Output {
        let config = self.path("crier.toml");
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_crier"))
                .arg("--config")
                .arg(config)
                .args(args)
                .env("CRIER_NOW", "2024-05-10T12:00:00Z")
                .env("CRIER_LOG", "trace")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn mastodon() -> (MockServer, Statuses) {
    let server = MockServer::start().await;
    let statuses = Statuses::default();
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(statuses.clone())
        .mount(&server)
        .await;
    (server, statuses)
}

fn assert_no_secret(output: &Output) {
    for stream in [&output.stdout, &output.stderr] {
        let s = text(stream);
        assert!(!s.contains(TOKEN), "the token leaked:\n{s}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn new_entries_are_announced_once_on_matching_channels() {
    let (server, statuses) = mastodon().await;
    let site = Site::new(&server.uri());

    let first = site.crier(&["run", "--once"]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_no_secret(&first);
    assert!(
        statuses.texts().is_empty(),
        "the baseline announced something"
    );

    site.write("madrid.en.md", "Madrid", "2024-05-09");
    site.write("madrid.fr.md", "Madrid FR", "2024-05-09");
    let second = site.crier(&["run", "--once"]).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_no_secret(&second);
    assert_eq!(
        statuses.texts(),
        ["Madrid (Madrid) https://example.org/en/projects/madrid/"]
    );

    let third = site.crier(&["run", "--once"]).await;
    assert!(third.status.success());
    assert_eq!(statuses.texts().len(), 1, "posted twice");

    let status = site.crier(&["status"]).await;
    let out = text(&status.stdout);
    assert!(out.contains("mastodon-en: 1 sent"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_and_plan_show_posts_and_send_nothing() {
    let (server, statuses) = mastodon().await;
    let site = Site::new(&server.uri());
    site.crier(&["run", "--once"]).await;
    site.write("madrid.en.md", "Madrid", "2024-05-09");

    let plan = site.crier(&["plan"]).await;
    let out = text(&plan.stdout);
    assert!(out.contains("posts to send (1):"), "{out}");
    assert!(
        // The URL counts 23 characters on Mastodon: 16 + 23.
        out.contains("--- mastodon-en · content:madrid.en · 39/500\nMadrid (Madrid) https://example.org/en/projects/madrid/"),
        "{out}"
    );

    let dry = site.crier(&["run", "--once", "--dry-run"]).await;
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(text(&dry.stderr).contains("dry run: would post"));
    assert!(statuses.texts().is_empty(), "a dry run sent a post");

    // The post stays queued for the next real run.
    site.crier(&["run", "--once"]).await;
    assert_eq!(statuses.texts().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn announce_existing_and_max_age_on_the_first_run() {
    let (server, statuses) = mastodon().await;
    let site = Site::new(&server.uri());
    site.write("old.en.md", "Old", "2023-01-01");
    let run = site.crier(&["run", "--once", "--announce-existing"]).await;
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(
        statuses.texts(),
        ["Ghent (Ghent) https://example.org/en/projects/ghent/"]
    );
    let log = text(&run.stderr);
    assert!(log.contains("announcement held"), "{log}");
    let status = text(&site.crier(&["status"]).await.stdout);
    assert!(status.contains("mastodon-en: 1 sent, 1 held"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_pauses_the_channel_until_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "The access token is invalid"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let statuses = Statuses::default();
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(statuses.clone())
        .mount(&server)
        .await;
    let site = Site::new(&server.uri());
    site.crier(&["run", "--once"]).await;
    site.write("madrid.en.md", "Madrid", "2024-05-09");

    let run = site.crier(&["run", "--once"]).await;
    assert_eq!(run.status.code(), Some(3), "{}", text(&run.stderr));
    assert_no_secret(&run);
    let status = text(&site.crier(&["status"]).await.stdout);
    assert!(status.contains("PAUSED"), "{status}");
    assert!(
        status.contains("crier retry --channel mastodon-en"),
        "{status}"
    );

    // Still paused: nothing is attempted.
    site.crier(&["run", "--once"]).await;
    assert!(statuses.texts().is_empty());

    let retry = site.crier(&["retry", "--channel", "mastodon-en"]).await;
    assert!(
        text(&retry.stdout).contains("1 channels resumed"),
        "{}",
        text(&retry.stdout)
    );
    let run = site.crier(&["run", "--once"]).await;
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(statuses.texts().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_fails_on_a_missing_secret() {
    let (server, _statuses) = mastodon().await;
    let site = Site::new(&server.uri());
    let check = site.crier(&["check"]).await;
    assert!(check.status.success(), "{}", text(&check.stdout));
    assert!(text(&check.stdout).contains("channel \"mastodon-en\" (mastodon): secrets readable"));
    fs::remove_file(site.path("mastodon.token")).unwrap();
    let check = site.crier(&["check"]).await;
    let out = text(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "error: channel \"mastodon-en\": `channels[0].access_token`: cannot read secret file"
        ),
        "{out}"
    );
    assert!(out.contains("1 problem found"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_file_readable_by_others_is_used_with_a_warning() {
    let (server, statuses) = mastodon().await;
    let site = Site::new(&server.uri());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            site.path("mastodon.token"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    site.crier(&["run", "--once"]).await;
    site.write("madrid.en.md", "Madrid", "2024-05-09");
    let run = site.crier(&["run", "--once"]).await;
    assert!(run.status.success(), "{}", text(&run.stderr));
    let log = text(&run.stderr);
    assert!(log.contains("readable by other users"), "{log}");
    assert!(log.contains("chmod 600"), "{log}");
    assert_no_secret(&run);
    assert_eq!(statuses.texts().len(), 1);
}

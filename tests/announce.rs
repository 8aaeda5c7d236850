//! Announcing, end to end: the real binary, a content folder in a temp dir, and a Mastodon
//! mock on 127.0.0.1. Baseline, new entries, dry runs, `plan`, a paused channel and `retry`,
//! and no secret in any log line.

mod common;

use std::fs;
use std::process::Output;
use std::sync::{Arc, Mutex};

use common::{OutputText, Site, entry_file};
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

/// The network's site: English and French entries, one English Mastodon channel whose token
/// is in `mastodon.token` beside the config.
fn site(mastodon: &str) -> Site {
    let site = Site::new(&format!(
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
    ));
    site.secret("mastodon.token", TOKEN);
    write(&site, "ghent.en.md", "Ghent", "2024-05-01");
    write(&site, "gand.fr.md", "Gand", "2024-05-01");
    site
}

/// An entry file in `content/` whose city is its title.
fn write(site: &Site, file: &str, title: &str, date: &str) {
    site.write_entry(
        &format!("content/{file}"),
        &entry_file(title, date).extra("city", title),
    );
}

/// Runs crier at a fixed time, logging everything (no line may hold the token).
async fn crier(site: &Site, args: &[&str]) -> Output {
    site.crier()
        .now("2024-05-10T12:00:00Z")
        .log("trace")
        .args(args)
        .output_async()
        .await
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
    for s in [output.stdout_text(), output.stderr_text()] {
        assert!(!s.contains(TOKEN), "the token leaked:\n{s}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn new_entries_are_announced_once_on_matching_channels() {
    let (server, statuses) = mastodon().await;
    let site = site(&server.uri());

    let first = crier(&site, &["run", "--once"]).await;
    assert!(first.status.success(), "{}", first.stderr_text());
    assert_no_secret(&first);
    assert!(
        statuses.texts().is_empty(),
        "the baseline announced something"
    );

    write(&site, "madrid.en.md", "Madrid", "2024-05-09");
    write(&site, "madrid.fr.md", "Madrid FR", "2024-05-09");
    let second = crier(&site, &["run", "--once"]).await;
    assert!(second.status.success(), "{}", second.stderr_text());
    assert_no_secret(&second);
    assert_eq!(
        statuses.texts(),
        ["Madrid (Madrid) https://example.org/en/projects/madrid/"]
    );

    let third = crier(&site, &["run", "--once"]).await;
    assert!(third.status.success());
    assert_eq!(statuses.texts().len(), 1, "posted twice");

    let status = crier(&site, &["status"]).await;
    let out = status.stdout_text();
    assert!(out.contains("mastodon-en: 1 sent"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_and_plan_show_posts_and_send_nothing() {
    let (server, statuses) = mastodon().await;
    let site = site(&server.uri());
    crier(&site, &["run", "--once"]).await;
    write(&site, "madrid.en.md", "Madrid", "2024-05-09");

    let plan = crier(&site, &["plan"]).await;
    let out = plan.stdout_text();
    assert!(out.contains("posts to send (1):"), "{out}");
    assert!(
        // The URL counts 23 characters on Mastodon: 16 + 23.
        out.contains("--- mastodon-en · content:madrid.en · 39/500\nMadrid (Madrid) https://example.org/en/projects/madrid/"),
        "{out}"
    );

    let dry = crier(&site, &["run", "--once", "--dry-run"]).await;
    assert!(dry.status.success(), "{}", dry.stderr_text());
    assert!(dry.stderr_text().contains("dry run: would post"));
    assert!(statuses.texts().is_empty(), "a dry run sent a post");

    // The post stays queued for the next real run.
    crier(&site, &["run", "--once"]).await;
    assert_eq!(statuses.texts().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn announce_existing_and_max_age_on_the_first_run() {
    let (server, statuses) = mastodon().await;
    let site = site(&server.uri());
    write(&site, "old.en.md", "Old", "2023-01-01");
    let run = crier(&site, &["run", "--once", "--announce-existing"]).await;
    assert!(run.status.success(), "{}", run.stderr_text());
    assert_eq!(
        statuses.texts(),
        ["Ghent (Ghent) https://example.org/en/projects/ghent/"]
    );
    let log = run.stderr_text();
    // One line per channel, counting the entries held and naming the first.
    assert!(
        log.contains(
            "announcement held on channel mastodon-en: published longer ago than \
             announce.max_age; `crier retry --entry ID` sends one anyway: 1 ("
        ),
        "{log}"
    );
    let status = crier(&site, &["status"]).await.stdout_text();
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
    let site = site(&server.uri());
    crier(&site, &["run", "--once"]).await;
    write(&site, "madrid.en.md", "Madrid", "2024-05-09");

    let run = crier(&site, &["run", "--once"]).await;
    assert_eq!(run.status.code(), Some(3), "{}", run.stderr_text());
    assert_no_secret(&run);
    let status = crier(&site, &["status"]).await.stdout_text();
    assert!(status.contains("PAUSED"), "{status}");
    assert!(
        status.contains("crier retry --channel mastodon-en"),
        "{status}"
    );

    // Still paused: nothing is attempted.
    crier(&site, &["run", "--once"]).await;
    assert!(statuses.texts().is_empty());

    let retry = crier(&site, &["retry", "--channel", "mastodon-en"]).await;
    assert!(
        retry.stdout_text().contains("1 channels resumed"),
        "{}",
        retry.stdout_text()
    );
    let run = crier(&site, &["run", "--once"]).await;
    assert!(run.status.success(), "{}", run.stderr_text());
    assert_eq!(statuses.texts().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_fails_on_a_missing_secret() {
    let (server, _statuses) = mastodon().await;
    let site = site(&server.uri());
    let check = crier(&site, &["check"]).await;
    assert!(check.status.success(), "{}", check.stdout_text());
    assert!(
        check
            .stdout_text()
            .contains("channel \"mastodon-en\" (mastodon): secrets readable")
    );
    fs::remove_file(site.path("mastodon.token")).unwrap();
    let check = crier(&site, &["check"]).await;
    let out = check.stdout_text();
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
    let site = site(&server.uri());
    site.secret("mastodon.token", TOKEN).set_mode(0o644);
    crier(&site, &["run", "--once"]).await;
    write(&site, "madrid.en.md", "Madrid", "2024-05-09");
    let run = crier(&site, &["run", "--once"]).await;
    assert!(run.status.success(), "{}", run.stderr_text());
    let log = run.stderr_text();
    assert!(log.contains("readable by other users"), "{log}");
    assert!(log.contains("chmod 600"), "{log}");
    assert_no_secret(&run);
    assert_eq!(statuses.texts().len(), 1);
}

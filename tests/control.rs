//! Per-entry control of announcements, end to end: the real binary, a content folder whose
//! front matter says where, when and how each entry is announced (`[extra.crier]`), and
//! Mastodon and X mocks on 127.0.0.1 that answer as the APIs document
//! (<https://docs.joinmastodon.org/methods/statuses/#create>,
//! <https://docs.x.com/x-api/posts/create-post>). The clock is crier's own (`CRIER_NOW`).

mod common;

use std::process::Output;
use std::sync::{Arc, Mutex};

use common::{OutputText, Site};
use serde_json::{Value, json};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const T0: &str = "2024-05-10T12:00:00Z";

/// A network that records the JSON body of every post it creates and answers as its API does.
#[derive(Clone)]
struct Posts {
    bodies: Arc<Mutex<Vec<Value>>>,
    /// The text field of the body: `status` on Mastodon, `text` on X.
    field: &'static str,
}

impl Respond for Posts {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let mut all = self.bodies.lock().unwrap();
        all.push(body);
        let id = all.len().to_string();
        match self.field {
            "status" => ResponseTemplate::new(200).set_body_json(json!({
                "id": id,
                "url": format!("https://m.example/@alliance/{id}"),
            })),
            _ => ResponseTemplate::new(201).set_body_json(json!({
                "data": { "id": id, "text": all.last().map(|b| b["text"].clone()) }
            })),
        }
    }
}

impl Posts {
    fn texts(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b[self.field].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Mastodon's `POST /api/v1/statuses` and X's `POST /2/tweets` on one mock server.
async fn networks() -> (MockServer, Posts, Posts) {
    let server = MockServer::start().await;
    let mastodon = Posts {
        bodies: Arc::default(),
        field: "status",
    };
    let x = Posts {
        bodies: Arc::default(),
        field: "text",
    };
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header_exists("idempotency-key"))
        .respond_with(mastodon.clone())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .and(header_exists("authorization"))
        .respond_with(x.clone())
        .mount(&server)
        .await;
    (server, mastodon, x)
}

/// A site with one existing entry and the channels `masto` (Mastodon) and `x` (X, OAuth 1.0a)
/// on the mock server `base`.
fn site(base: &str) -> Site {
    let site = Site::empty();
    let secret = |name: &str| site.secret(name, &format!("{name}-value")).inline();
    site.set_config(&format!(
        r#"
[site]
title = "Network"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"

[[channels]]
type = "mastodon"
name = "masto"
base_url = "{base}"
access_token = {token}
template = "{{{{ title }}}} {{{{ url }}}}"

[[channels]]
type = "x"
name = "x"
base_url = "{base}"
template = "{{{{ title }}}} {{{{ url }}}}"
# A retry re-sends the frozen post rather than read the account's posts first.
lookup = false
oauth1 = {{ consumer_key = {ck}, consumer_secret = {cs}, access_token = {at}, access_token_secret = {ats} }}
"#,
        token = secret("masto-token"),
        ck = secret("ck"),
        cs = secret("cs"),
        at = secret("at"),
        ats = secret("ats"),
    ));
    post(&site, "old", "2024-05-01", "");
    site
}

/// Writes `content/{slug}.md` titled after its slug, with `crier` lines as its
/// `[extra.crier]` table (none when empty).
fn post(site: &Site, slug: &str, date: &str, crier: &str) {
    let control = if crier.is_empty() {
        String::new()
    } else {
        format!("[extra.crier]\n{crier}\n")
    };
    site.write(
        &format!("content/{slug}.md"),
        &format!("+++\ntitle = \"Post {slug}\"\ndate = {date}\n{control}+++\nBody.\n"),
    );
}

async fn crier(site: &Site, now: &str, args: &[&str]) -> Output {
    site.crier().now(now).args(args).output_async().await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_entry_chooses_its_channels_text_and_time() {
    let (server, mastodon, x) = networks().await;
    let site = site(&server.uri());
    site.run_once_at(T0).await;

    post(&site, "quiet", "2024-05-10", "announce = false");
    post(&site, "masto-only", "2024-05-10", "channels = [\"masto\"]");
    post(&site, "not-on-x", "2024-05-10", "skip = [\"x\"]");
    // Longer than X's 280: fitted by X's rules, the entry's URL kept whole.
    let long = "word ".repeat(70);
    post(
        &site,
        "custom",
        "2024-05-10",
        &format!(
            "text.x = \"Written for X: {{{{ title }}}} {long}{{{{ url }}}}\"\nhashtags = [\"Ghent\"]"
        ),
    );
    post(
        &site,
        "tomorrow",
        "2024-05-10",
        "announce_at = 2024-05-11T09:00:00Z",
    );

    // The plan says why each post is held back, before anything is sent.
    let plan = crier(&site, T0, &["plan"]).await;
    let plan = plan.stdout_text();
    assert!(
        plan.contains("held for masto: content:quiet (held: the entry says `announce = false`"),
        "{plan}"
    );
    assert!(
        plan.contains(
            "held for x: content:masto-only (held: the entry's `channels` list does not name channel \"x\""
        ),
        "{plan}"
    );
    assert!(
        plan.contains(
            "waiting for x: content:tomorrow (waits for announce_at 2024-05-11T09:00:00+00:00)"
        ),
        "{plan}"
    );
    assert!(mastodon.texts().is_empty() && x.texts().is_empty());

    site.run_once_at(T0).await;
    let mut on_mastodon = mastodon.texts();
    on_mastodon.sort();
    assert_eq!(
        on_mastodon,
        [
            "Post custom https://example.org/en/custom/\n\n#Ghent",
            "Post masto-only https://example.org/en/masto-only/",
            "Post not-on-x https://example.org/en/not-on-x/",
        ]
    );
    let on_x = x.texts();
    assert_eq!(on_x.len(), 1, "{on_x:?}");
    let custom = &on_x[0];
    assert!(
        custom.starts_with("Written for X: Post custom word word"),
        "{custom}"
    );
    assert!(
        custom.ends_with("… https://example.org/en/custom/\n\n#Ghent"),
        "{custom}"
    );
    // X counts the URL as 23: 280 at most.
    let counted = custom.chars().count() - "https://example.org/en/custom/".len() + 23;
    assert!(counted <= 280, "{counted}: {custom}");

    let status = crier(&site, T0, &["status"]).await.stdout_text();
    assert!(status.contains("held"), "{status}");

    // Not before its time; then on both.
    site.run_once_at("2024-05-11T08:59:00Z").await;
    assert_eq!(mastodon.texts().len(), 3);
    site.run_once_at("2024-05-11T09:00:00Z").await;
    assert_eq!(mastodon.texts().len(), 4);
    assert_eq!(
        x.texts().last().map(String::as_str),
        Some("Post tomorrow https://example.org/en/tomorrow/")
    );

    // The editor changes their mind: the held deliveries are released.
    post(&site, "quiet", "2024-05-10", "");
    site.run_once_at("2024-05-11T10:00:00Z").await;
    assert_eq!(
        mastodon.texts().last().map(String::as_str),
        Some("Post quiet https://example.org/en/quiet/")
    );
    assert_eq!(
        x.texts().last().map(String::as_str),
        Some("Post quiet https://example.org/en/quiet/")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_before_the_first_attempt_is_honoured_and_after_it_is_not() {
    let server = MockServer::start().await;
    let site = site(&server.uri());
    site.run_once_at(T0).await;
    let (mastodon, x) = (
        Posts {
            bodies: Arc::default(),
            field: "status",
        },
        Posts {
            bodies: Arc::default(),
            field: "text",
        },
    );
    // The first attempt on X gets no answer crier can trust (503): the post may be out.
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(x.clone())
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(mastodon.clone())
        .mount(&server)
        .await;

    post(&site, "tried", "2024-05-10", "channels = [\"x\"]");
    post(
        &site,
        "waiting",
        "2024-05-10",
        "announce_at = 2024-05-10T12:05:00Z",
    );
    let first = crier(&site, T0, &["run", "--once"]).await;
    assert!(x.texts().is_empty() && mastodon.texts().is_empty());
    assert!(
        first.stderr_text().contains("will retry"),
        "{}",
        first.stderr_text()
    );

    // Both entries are edited: "waiting" was never attempted, "tried" was.
    post(
        &site,
        "waiting",
        "2024-05-10",
        "announce_at = 2024-05-10T12:05:00Z\nskip = [\"x\"]\ntext.mastodon = \"New words {{ url }}\"",
    );
    post(
        &site,
        "tried",
        "2024-05-10",
        "announce = false\ntext.x = \"Never mind\"",
    );
    site.run_once_at("2024-05-10T12:05:00Z").await;
    assert_eq!(
        mastodon.texts(),
        ["New words https://example.org/en/waiting/"]
    );
    // The frozen post goes as it was first sent.
    assert_eq!(x.texts(), ["Post tried https://example.org/en/tried/"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_control_naming_a_channel_the_config_lacks_fails_the_entry_naming_file_and_key() {
    let (server, mastodon, _x) = networks().await;
    let site = site(&server.uri());
    site.run_once_at(T0).await;
    post(&site, "typo", "2024-05-10", "skip = [\"mastoo\"]");
    let out = crier(&site, T0, &["run", "--once"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr_text());
    let log = out.stderr_text();
    assert!(log.contains("typo.md:5"), "{log}");
    assert!(
        log.contains("`extra.crier.skip`: unknown channel `mastoo`"),
        "{log}"
    );
    assert!(log.contains("did you mean `masto`?"), "{log}");
    assert!(mastodon.texts().is_empty());
}

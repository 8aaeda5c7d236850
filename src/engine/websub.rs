//! Telling WebSub hubs that feeds changed. The cycle queues, in the state, one notification
//! per configured hub and feed file it changed ([`queue_changed`]); [`notify_due`] then sends
//! the due ones, after the feeds are written and beside the delivery round, so neither the
//! feeds nor the posts wait for a hub.
//!
//! Each request has the short `feeds.websub.timeout`, and a round gives up waiting after three
//! of them: whatever is unanswered then stays pending for the next round (`run --once` ends,
//! the daemon's next tick or due time sends it). A hub that answers 5xx, 429 or 408, or not at
//! all, is tried again with a growing wait (its `Retry-After` honoured); any other refusal is
//! given up at once and logged with the hub's answer.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::channels::http;
use crate::config::Config;
use crate::feeds::FeedFile;
use crate::feeds::websub::{self, Verdict};
use crate::store::{HubPing, Store, StoreError};

/// Requests in flight at once in a round.
const CONCURRENCY: usize = 8;

/// What a round of notifications did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubReport {
    /// Notifications the hubs took.
    pub sent: usize,
    /// Notifications that failed and will be tried again.
    pub retrying: usize,
    /// Notifications given up.
    pub given_up: usize,
    /// Notifications left unanswered when the round ended; still pending.
    pub unanswered: usize,
}

/// Queues a notification to every configured hub for each feed file of `files` whose bytes
/// changed; returns how many feed URLs were queued. Without hubs, nothing.
pub fn queue_changed(
    config: &Config,
    store: &mut Store,
    files: &[FeedFile],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let hubs = &config.feeds.websub.hubs;
    if hubs.is_empty() {
        return Ok(0);
    }
    let public_url = config.feeds.public_url(&config.site);
    let urls: Vec<String> = files
        .iter()
        .filter(|file| file.changed)
        .filter_map(|file| websub::feed_url(&public_url, &config.feeds.output_dir, &file.path))
        .collect();
    if !urls.is_empty() {
        let hubs: Vec<&str> = hubs.iter().map(|h| h.as_str()).collect();
        store.queue_hub_pings(&hubs, &urls, now)?;
    }
    Ok(urls.len())
}

/// The result of one request.
#[derive(Debug)]
enum Attempt {
    /// The hub took it.
    Accepted,
    /// Worth another try, at the hub's announced time if it gave one.
    Retry {
        reason: String,
        after: Option<DateTime<Utc>>,
    },
    /// Refused for good.
    Refused { reason: String },
}

/// Sends the due notifications (`now` by the job's clock) and records each answer. Stops
/// waiting when `stop` is cancelled or the round's time is up; the notifications unanswered
/// then stay pending. Without hubs, forgets any notification left from an older config.
pub async fn notify_due(
    config: Arc<Config>,
    store: Arc<Mutex<Store>>,
    now: DateTime<Utc>,
    stop: &CancellationToken,
) -> Result<HubReport> {
    let hubs: Vec<String> = config
        .feeds
        .websub
        .hubs
        .iter()
        .map(|h| h.to_string())
        .collect();
    let read_store = store.clone();
    let due = tokio::task::spawn_blocking(move || {
        let mut store = read_store.lock().unwrap_or_else(PoisonError::into_inner);
        let hubs: Vec<&str> = hubs.iter().map(String::as_str).collect();
        store.forget_other_hubs(&hubs)?;
        store.due_hub_pings(now)
    })
    .await
    .context("the state's thread failed")??;
    if due.is_empty() {
        return Ok(HubReport::default());
    }
    let websub = &config.feeds.websub;
    let client = http::client(websub.timeout);
    let round_limit = websub.timeout.saturating_mul(3).max(Duration::from_secs(1));
    let deadline = tokio::time::sleep(round_limit);
    tokio::pin!(deadline);
    let total = due.len();
    let mut answers = futures_util::stream::iter(due)
        .map(|ping| {
            let client = client.clone();
            async move {
                let attempt = send(&client, &ping, now).await;
                (ping, attempt)
            }
        })
        .buffer_unordered(CONCURRENCY);
    let mut settled = Vec::with_capacity(total);
    loop {
        tokio::select! {
            answer = answers.next() => match answer {
                Some(answer) => settled.push(answer),
                None => break,
            },
            () = &mut deadline => break,
            () = stop.cancelled() => break,
        }
    }
    drop(answers);
    let unanswered = total - settled.len();
    if unanswered > 0 {
        tracing::warn!(
            unanswered,
            "hubs did not answer in time; their notifications are sent again on the next run"
        );
    }
    let max_attempts = websub.max_attempts;
    let mut report = tokio::task::spawn_blocking(move || {
        let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
        settle(&mut store, settled, max_attempts, now)
    })
    .await
    .context("the state's thread failed")??;
    report.unanswered = unanswered;
    Ok(report)
}

/// Posts one publish notification.
async fn send(client: &reqwest::Client, ping: &HubPing, now: DateTime<Utc>) -> Attempt {
    let request = client
        .post(&ping.hub)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(websub::publish_body(&ping.feed_url));
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            return Attempt::Retry {
                reason: format!("no answer: {error}"),
                after: None,
            };
        }
    };
    let status = response.status();
    let after = http::retry_after(response.headers(), now);
    let body = response.text().await.unwrap_or_default();
    let reason = format!("HTTP {status}: {}", http::excerpt(&body));
    match websub::verdict(status.as_u16()) {
        Verdict::Accepted => Attempt::Accepted,
        Verdict::Retry => Attempt::Retry { reason, after },
        Verdict::Refused => Attempt::Refused { reason },
    }
}

/// Records each answer in the state and logs it.
fn settle(
    store: &mut Store,
    answers: Vec<(HubPing, Attempt)>,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<HubReport, StoreError> {
    let mut report = HubReport::default();
    for (ping, attempt) in answers {
        let (hub, feed_url) = (ping.hub.as_str(), ping.feed_url.as_str());
        match attempt {
            Attempt::Accepted => {
                store.hub_ping_sent(&ping)?;
                report.sent += 1;
                tracing::info!(hub, feed_url, "hub notified");
            }
            Attempt::Retry { reason, after } => {
                let attempts = ping.attempts + 1;
                match websub::next_attempt(attempts, max_attempts, now, after) {
                    Some(at) => {
                        store.hub_ping_failed(&ping, &reason, now, Some(at))?;
                        report.retrying += 1;
                        tracing::warn!(hub, feed_url, attempts, error = %reason, retry_at = %at.to_rfc3339(), "hub notification failed; it will be tried again");
                    }
                    None => {
                        store.hub_ping_failed(&ping, &reason, now, None)?;
                        report.given_up += 1;
                        tracing::error!(hub, feed_url, attempts, error = %reason, "hub notification given up after feeds.websub.max_attempts; the hub still reads the feed when polled, and the next change of the feed notifies it again");
                    }
                }
            }
            Attempt::Refused { reason } => {
                store.hub_ping_failed(&ping, &reason, now, None)?;
                report.given_up += 1;
                tracing::error!(hub, feed_url, error = %reason, "hub refused the notification; given up. Check the hub's URL in feeds.websub.hubs and that the hub accepts this feed (feeds.public_url must be its public address)");
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn config(hubs: &[&str]) -> Config {
        let hubs: Vec<String> = hubs.iter().map(|h| format!("{h:?}")).collect();
        let text = format!(
            "[site]\ntitle = \"Site\"\nbase_url = \"https://example.org\"\n\n\
             [[sources]]\ntype = \"directory\"\npath = \"content\"\n\n\
             [feeds]\noutput_dir = \"/srv/feeds\"\n\n[feeds.websub]\nhubs = [{}]\n",
            hubs.join(", ")
        );
        Config::parse(&text, std::path::Path::new("/srv/crier.toml")).unwrap()
    }

    /// A whole microsecond, as the store keeps times.
    fn test_now() -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2024, 5, 10, 12, 0, 0).unwrap()
    }

    fn file(path: &str, changed: bool) -> FeedFile {
        FeedFile {
            path: PathBuf::from(path),
            items: 1,
            changed,
        }
    }

    #[test]
    fn only_changed_feeds_are_queued_once_per_hub() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let now = test_now();
        let files = [
            file("/srv/feeds/rss.xml", true),
            file("/srv/feeds/atom.xml", false),
            file("/srv/feeds/fr/feed.json", true),
        ];
        let config = config(&["https://hub.example/", "https://b.example/"]);
        assert_eq!(queue_changed(&config, &mut store, &files, now).unwrap(), 2);
        let mut due: Vec<(String, String)> = store
            .due_hub_pings(now)
            .unwrap()
            .into_iter()
            .map(|p| (p.hub, p.feed_url))
            .collect();
        due.sort();
        let pair = |h: &str, f: &str| (h.to_owned(), format!("https://example.org/feeds/{f}"));
        assert_eq!(
            due,
            [
                pair("https://b.example/", "fr/feed.json"),
                pair("https://b.example/", "rss.xml"),
                pair("https://hub.example/", "fr/feed.json"),
                pair("https://hub.example/", "rss.xml"),
            ]
        );
        let off = self::config(&[]);
        assert_eq!(queue_changed(&off, &mut store, &files, now).unwrap(), 0);
    }

    #[test]
    fn answers_are_settled_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let now = test_now();
        let feeds: Vec<String> = ["a", "b", "c", "d"]
            .iter()
            .map(|f| format!("https://example.org/feeds/{f}"))
            .collect();
        store
            .queue_hub_pings(&["https://hub.example/"], &feeds, now)
            .unwrap();
        let mut due = store.due_hub_pings(now).unwrap();
        due.sort_by(|a, b| a.feed_url.cmp(&b.feed_url));
        let retry = |after| Attempt::Retry {
            reason: "HTTP 503".into(),
            after,
        };
        let announced = now + chrono::Duration::minutes(10);
        let mut last = due[3].clone();
        last.attempts = 7;
        let answers = vec![
            (due[0].clone(), Attempt::Accepted),
            (due[1].clone(), retry(Some(announced))),
            (
                due[2].clone(),
                Attempt::Refused {
                    reason: "HTTP 400".into(),
                },
            ),
            (last, retry(None)),
        ];
        let report = settle(&mut store, answers, 8, now).unwrap();
        assert_eq!(
            report,
            HubReport {
                sent: 1,
                retrying: 1,
                given_up: 2,
                unanswered: 0,
            }
        );
        assert!(store.due_hub_pings(now).unwrap().is_empty());
        assert_eq!(store.next_hub_ping_due().unwrap(), Some(announced));
        let summary = store.hub_summary().unwrap();
        assert_eq!((summary[0].pending, summary[0].given_up), (1, 2));
    }
}

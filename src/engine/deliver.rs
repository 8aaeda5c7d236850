//! Delivery: sends the outbox's due deliveries, every channel concurrently and each channel's
//! own deliveries one after the other, paced by its caps and spacing.
//!
//! Each delivery is marked `sending` (committed) before its request leaves, then `sent`,
//! `failed` (due again after an exponential backoff with jitter, or at the rate-limit reset
//! the network announced), or `dead`. A delivery found in `sending`, or retried after an
//! attempt whose outcome is unknown, goes through the channel's `recover`, which never posts
//! twice. A channel that pauses (expired token) or fails never holds up the others: each runs
//! in its own task, and the feeds were written before any of this started.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::channels::{
    self, Channel, ChannelConfig, ChannelContext, Memory, Post, PostError, template,
};
use crate::config::Config;
use crate::store::outbox::{Delivery, DeliveryState};
use crate::store::{Store, StoreError};

/// How long deliveries held back by `announce.per_run_cap` wait in the daemon (a run
/// started by `--once` takes them at its next tick anyway).
const PER_RUN_CAP_PAUSE: chrono::Duration = chrono::Duration::minutes(1);

/// How to deliver.
#[derive(Debug, Clone, Copy)]
pub struct DeliverOptions {
    /// The current time.
    pub now: DateTime<Utc>,
    /// Render and log every post, send nothing, change nothing.
    pub dry_run: bool,
}

/// A post as it would be or was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPost {
    /// Channel name.
    pub channel: String,
    /// Entry announced.
    pub entry_id: String,
    /// The text.
    pub text: String,
    /// Its length as the network counts it.
    pub length: usize,
    /// The network's limit.
    pub limit: usize,
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// Channel name.
    pub channel: String,
    /// Entry announced.
    pub entry_id: String,
    /// Post URL when sent; the error otherwise.
    pub detail: String,
}

/// What a delivery round did.
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// Posts published.
    pub sent: Vec<DeliveryOutcome>,
    /// Failures that will be retried.
    pub failed: Vec<DeliveryOutcome>,
    /// Deliveries given up.
    pub dead: Vec<DeliveryOutcome>,
    /// Channels paused, with the reason (what the operator must do).
    pub paused: Vec<(String, String)>,
    /// Deliveries kept for later by a guard: (channel, reason, how many).
    pub deferred: Vec<(String, String, usize)>,
    /// Rendered posts (dry run, or sent).
    pub rendered: Vec<RenderedPost>,
}

impl DeliveryReport {
    /// Whether an operator needs to look at something (a pause or a delivery given up).
    pub fn needs_attention(&self) -> bool {
        !self.paused.is_empty() || !self.dead.is_empty()
    }

    fn merge(&mut self, other: DeliveryReport) {
        self.sent.extend(other.sent);
        self.failed.extend(other.failed);
        self.dead.extend(other.dead);
        self.paused.extend(other.paused);
        self.deferred.extend(other.deferred);
        self.rendered.extend(other.rendered);
    }
}

/// A channel's memory, kept in the state database.
struct StoreMemory {
    store: Arc<Mutex<Store>>,
    channel: String,
}

impl Memory for StoreMemory {
    fn get(&self, key: &str) -> Option<String> {
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store.memory_get(&self.channel, key).unwrap_or_else(|e| {
            tracing::warn!(channel = %self.channel, error = %e, "channel memory unreadable");
            None
        })
    }

    fn set(&self, key: &str, value: &str) {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = store.memory_set(&self.channel, key, value) {
            tracing::warn!(channel = %self.channel, error = %e, "channel memory not saved");
        }
    }
}

/// Sends every due delivery of every enabled channel.
/// Stops starting new posts once `stop` is cancelled (a post in flight finishes).
pub async fn deliver(
    config: &Config,
    store: Arc<Mutex<Store>>,
    options: DeliverOptions,
    stop: &CancellationToken,
) -> Result<DeliveryReport, StoreError> {
    let http = channels::http::client(config.announce.request_timeout);
    let budget = Arc::new(AtomicUsize::new(config.announce.per_run_cap));
    let rounds = config
        .channels
        .iter()
        .filter(|c| c.common.enabled)
        .map(|channel_config| {
            let context = ChannelContext {
                http: http.clone(),
                memory: Arc::new(StoreMemory {
                    store: store.clone(),
                    channel: channel_config.common.name.clone(),
                }),
            };
            let channel = channels::build(channel_config, context);
            deliver_channel(
                config,
                channel_config,
                channel,
                store.clone(),
                budget.clone(),
                options,
                stop,
            )
        });
    let mut report = DeliveryReport::default();
    for result in futures_util::future::join_all(rounds).await {
        report.merge(result?);
    }
    Ok(report)
}

/// One channel's round: its due deliveries in order, until a guard says stop.
async fn deliver_channel(
    config: &Config,
    channel_config: &ChannelConfig,
    channel: Box<dyn Channel>,
    store: Arc<Mutex<Store>>,
    budget: Arc<AtomicUsize>,
    options: DeliverOptions,
    stop: &CancellationToken,
) -> Result<DeliveryReport, StoreError> {
    let name = channel_config.common.name.clone();
    let now = options.now;
    let mut report = DeliveryReport::default();
    let lock = || store.lock().unwrap_or_else(|p| p.into_inner());

    let (due, paused) = {
        let s = lock();
        (s.due_deliveries(&name, now)?, s.channel_paused(&name)?)
    };
    if due.is_empty() {
        return Ok(report);
    }
    if let Some(reason) = paused.filter(|_| !options.dry_run) {
        tracing::warn!(channel = %name, waiting = due.len(), reason, "channel paused; run `crier retry --channel {name}` once fixed");
        report
            .deferred
            .push((name.clone(), format!("channel paused: {reason}"), due.len()));
        return Ok(report);
    }
    let max_attempts = channel_config
        .common
        .max_attempts
        .unwrap_or(config.announce.max_attempts);
    // A run posts at most once per channel when a minimum spacing is set: the rest waits for
    // a later run (the daemon will wake for it).
    let spacing = channel_config.min_spacing();

    for (index, delivery) in due.iter().enumerate() {
        let waiting = due.len() - index;
        if stop.is_cancelled() {
            report
                .deferred
                .push((name.clone(), "crier is stopping".into(), waiting));
            break;
        }
        if !options.dry_run {
            // Bound first: a guard in the `if let` would hold the lock through the block.
            let held = hold_back(&lock(), channel_config, spacing, now)?;
            if let Some((reason, until)) = held {
                tracing::info!(channel = %name, waiting, reason, until = %until, "deliveries wait");
                lock().defer(&name, until, now)?;
                report.deferred.push((name.clone(), reason, waiting));
                break;
            }
            if budget
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_err()
            {
                let reason = format!(
                    "announce.per_run_cap ({}) reached for this run",
                    config.announce.per_run_cap
                );
                tracing::info!(channel = %name, waiting, reason, "deliveries wait");
                lock().defer(&name, now + PER_RUN_CAP_PAUSE, now)?;
                report.deferred.push((name.clone(), reason, waiting));
                break;
            }
        }
        let prepared = prepare_post(&lock(), channel_config, channel.as_ref(), delivery)?;
        let post = match prepared {
            Ok(post) => post,
            Err(reason) => {
                tracing::error!(channel = %name, entry_id = %delivery.entry_id, reason, "delivery given up");
                if !options.dry_run {
                    lock().mark_dead(delivery.id, &reason, now)?;
                }
                report.dead.push(outcome(&name, delivery, reason));
                continue;
            }
        };
        let length = channel.count(&post.text);
        report.rendered.push(RenderedPost {
            channel: name.clone(),
            entry_id: delivery.entry_id.clone(),
            text: post.text.clone(),
            length,
            limit: channel.max_length(),
        });
        if options.dry_run {
            tracing::info!(channel = %name, entry_id = %delivery.entry_id, length, limit = channel.max_length(), text = %post.text, "dry run: would post");
            continue;
        }

        // Anything but a first, clean attempt may already have reached the network.
        let uncertain = delivery.state == DeliveryState::Sending || delivery.attempts > 0;
        lock().mark_sending(delivery.id, now)?;
        let attempt = async {
            if uncertain {
                channel.recover(&post).await
            } else {
                channel.publish(&post).await
            }
        };
        // Each request has its own timeout; this bounds a network that strings several along.
        let limit = config.announce.request_timeout * 4;
        let result = tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(PostError::Retry {
                    reason: format!("{name}: no answer within {}s", limit.as_secs()),
                    after: None,
                })
            });
        let attempts = delivery.attempts + 1;
        match result {
            Ok(published) => {
                lock().mark_sent(
                    delivery.id,
                    published.remote_id.as_deref(),
                    published.remote_url.as_deref(),
                    now,
                )?;
                let url = published.remote_url.unwrap_or_default();
                tracing::info!(channel = %name, entry_id = %delivery.entry_id, url, "posted");
                report.sent.push(outcome(&name, delivery, url));
                if let Some(spacing) = spacing {
                    let rest = waiting - 1;
                    if rest > 0 {
                        let until = now + chrono::Duration::from_std(spacing).unwrap_or_default();
                        lock().defer(&name, until, now)?;
                        report.deferred.push((
                            name.clone(),
                            "min_spacing: one post per run".into(),
                            rest,
                        ));
                    }
                    break;
                }
            }
            Err(PostError::Retry { reason, after }) if attempts < max_attempts => {
                let due = retry_time(attempts, after, now);
                tracing::warn!(channel = %name, entry_id = %delivery.entry_id, attempts, retry_at = %due, reason, "post failed, will retry");
                lock().mark_failed(delivery.id, &reason, due, now)?;
                report.failed.push(outcome(&name, delivery, reason));
            }
            Err(PostError::Retry { reason, .. }) => {
                let reason = format!("{reason} (gave up after {attempts} attempts)");
                tracing::error!(channel = %name, entry_id = %delivery.entry_id, reason, "delivery given up; `crier retry` re-queues it");
                lock().mark_dead(delivery.id, &reason, now)?;
                report.dead.push(outcome(&name, delivery, reason));
            }
            Err(PostError::Reject { reason }) => {
                tracing::error!(channel = %name, entry_id = %delivery.entry_id, reason, "post refused, delivery given up");
                lock().mark_dead(delivery.id, &reason, now)?;
                report.dead.push(outcome(&name, delivery, reason));
            }
            Err(PostError::Pause { reason }) => {
                tracing::error!(channel = %name, reason, "channel paused");
                {
                    let mut s = lock();
                    s.release(delivery.id, &reason, now)?;
                    s.pause_channel(&name, &reason, now)?;
                }
                report.paused.push((name.clone(), reason.clone()));
                report
                    .deferred
                    .push((name.clone(), format!("channel paused: {reason}"), waiting));
                break;
            }
        }
    }
    Ok(report)
}

/// Why the channel must not post now (daily cap, spacing), and until when, if it must not.
fn hold_back(
    store: &Store,
    channel: &ChannelConfig,
    spacing: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
    let name = &channel.common.name;
    if let Some(cap) = channel.common.daily_cap {
        let day = chrono::Duration::hours(24);
        let sent = store.sent_since(name, now - day)?;
        if sent >= cap as usize {
            // The cap frees a place when the oldest post of the window turns 24 hours old.
            let until = store
                .first_sent_since(name, now - day)?
                .map_or(now + day, |t| t + day);
            return Ok(Some((
                format!("daily_cap ({cap} posts in 24 hours) reached"),
                until,
            )));
        }
    }
    if let (Some(spacing), Some(last)) = (spacing, store.last_sent_at(name)?) {
        let next = last + chrono::Duration::from_std(spacing).unwrap_or_default();
        if next > now {
            return Ok(Some((
                format!("min_spacing: next post not before {next}"),
                next,
            )));
        }
    }
    Ok(None)
}

/// The post for a delivery, or why it can never be sent.
fn prepare_post(
    store: &Store,
    channel_config: &ChannelConfig,
    channel: &dyn Channel,
    delivery: &Delivery,
) -> Result<Result<Post, String>, StoreError> {
    if !store.entry_is_live(&delivery.entry_id)? {
        return Ok(Err(format!(
            "entry {} was withdrawn before it was announced",
            delivery.entry_id
        )));
    }
    let Some(entry) = store.load_entries(&[delivery.entry_id.as_str()])?.pop() else {
        return Ok(Err(format!(
            "entry {} is not in the state",
            delivery.entry_id
        )));
    };
    let template = channel_config.template_for(&entry.language);
    let fitted = match template::render(template, &entry, channel.max_length(), &|t| {
        channel.count(t)
    }) {
        Ok(fitted) => fitted,
        Err(e) => return Ok(Err(format!("channel {}: {e}", channel_config.common.name))),
    };
    Ok(Ok(Post {
        delivery_id: delivery.id,
        queued_at: delivery.queued_at,
        entry_id: entry.id,
        text: fitted.text,
        url: entry.url,
        title: entry.title,
        summary: entry.summary,
        language: entry.language,
        image: entry.image,
    }))
}

/// When a failed delivery is due again: the time the network announced (rate-limit reset)
/// when it gave one, else an exponential backoff from one minute, capped at six hours, with
/// ±20% jitter so that deliveries do not retry in lockstep.
fn retry_time(attempts: u32, after: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    let base = 60.0 * 2f64.powi(attempts.saturating_sub(1).min(16) as i32);
    let capped = base.min(6.0 * 3600.0);
    let jitter = 0.8 + 0.4 * rand::random::<f64>();
    match after {
        Some(after) => after.max(now),
        None => now + chrono::Duration::milliseconds((capped * jitter * 1000.0) as i64),
    }
}

fn outcome(channel: &str, delivery: &Delivery, detail: String) -> DeliveryOutcome {
    DeliveryOutcome {
        channel: channel.to_owned(),
        entry_id: delivery.entry_id.clone(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::Published;
    use crate::store::Batch;
    use crate::store::outbox::NewDelivery;
    use async_trait::async_trait;
    use chrono::TimeZone;
    use std::collections::VecDeque;
    use std::path::Path;

    /// A channel that answers from a script and records what it was asked.
    struct Scripted {
        answers: Mutex<VecDeque<Result<Published, PostError>>>,
        calls: Mutex<Vec<(&'static str, String)>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Published, PostError>>) -> Arc<Scripted> {
            Arc::new(Scripted {
                answers: Mutex::new(answers.into()),
                calls: Mutex::new(Vec::new()),
            })
        }
        fn calls(&self) -> Vec<(&'static str, String)> {
            self.calls.lock().unwrap().clone()
        }
    }

    struct Handle(Arc<Scripted>);

    #[async_trait]
    impl Channel for Handle {
        fn name(&self) -> &str {
            "fake"
        }
        fn max_length(&self) -> usize {
            500
        }
        fn count(&self, text: &str) -> usize {
            text.chars().count()
        }
        async fn publish(&self, post: &Post) -> Result<Published, PostError> {
            self.0
                .calls
                .lock()
                .unwrap()
                .push(("publish", post.entry_id.clone()));
            self.0
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("scripted answer")
        }
        async fn recover(&self, post: &Post) -> Result<Published, PostError> {
            self.0
                .calls
                .lock()
                .unwrap()
                .push(("recover", post.entry_id.clone()));
            self.0
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("scripted answer")
        }
    }

    fn ok(id: &str) -> Result<Published, PostError> {
        Ok(Published {
            remote_id: Some(id.into()),
            remote_url: Some(format!("https://social.example/{id}")),
        })
    }

    fn retry() -> Result<Published, PostError> {
        Err(PostError::Retry {
            reason: "HTTP 503".into(),
            after: None,
        })
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    fn config(channel_extra: &str, announce: &str) -> Config {
        let text = format!(
            r#"
[site]
title = "T"
base_url = "https://example.org"
[[sources]]
type = "directory"
path = "c"
[announce]
{announce}
[[channels]]
type = "mastodon"
name = "fake"
base_url = "https://m.example"
access_token = {{ env = "UNUSED" }}
template = "{{{{ title }}}} {{{{ url }}}}"
{channel_extra}
"#
        );
        let mut c = Config::parse(&text, Path::new("c.toml")).unwrap();
        c.resolve_paths(Path::new("/tmp"));
        c.validate().unwrap();
        c
    }

    /// A store with live entries `ids`, each with a pending delivery on "fake".
    fn store_with(ids: &[&str]) -> (tempfile::TempDir, Arc<Mutex<Store>>) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let mut batch = Batch::default();
        for id in ids {
            let entry = crate::testing::entry(id, "2024-05-31T10:00:00Z");
            batch.upserts.push(crate::store::EntryRecord {
                content_hash: entry.content_hash(),
                entry,
                source: "s".into(),
                doc_key: format!("{id}.md"),
                fingerprint: "f".into(),
                status: crate::store::EntryStatus::Live,
            });
            batch.deliveries.push(NewDelivery {
                entry_id: (*id).into(),
                channel: "fake".into(),
                state: DeliveryState::Pending,
                queued_at: now(),
                reason: None,
            });
        }
        store.apply(&batch, now()).unwrap();
        (dir, Arc::new(Mutex::new(store)))
    }

    async fn round(
        config: &Config,
        store: &Arc<Mutex<Store>>,
        script: &Arc<Scripted>,
        at: DateTime<Utc>,
        dry_run: bool,
    ) -> DeliveryReport {
        deliver_channel(
            config,
            &config.channels[0],
            Box::new(Handle(script.clone())),
            store.clone(),
            Arc::new(AtomicUsize::new(config.announce.per_run_cap)),
            DeliverOptions { now: at, dry_run },
            &CancellationToken::new(),
        )
        .await
        .unwrap()
    }

    fn states(store: &Arc<Mutex<Store>>) -> Vec<(String, DeliveryState, u32)> {
        store
            .lock()
            .unwrap()
            .deliveries()
            .unwrap()
            .into_iter()
            .map(|d| (d.entry_id, d.state, d.attempts))
            .collect()
    }

    #[tokio::test]
    async fn sends_renders_and_records_remote_ids() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a", "b"]);
        let script = Scripted::new(vec![ok("1"), ok("2")]);
        let report = round(&config, &store, &script, now(), false).await;
        assert_eq!(report.sent.len(), 2);
        assert_eq!(report.rendered[0].text, "Title a https://example.org/a/");
        assert_eq!(
            script.calls(),
            [("publish", "a".into()), ("publish", "b".into())]
        );
        assert_eq!(
            states(&store),
            [
                ("a".into(), DeliveryState::Sent, 1),
                ("b".into(), DeliveryState::Sent, 1)
            ]
        );
        // Nothing is due any more: a second round sends nothing.
        let again = round(&config, &store, &script, now(), false).await;
        assert!(again.sent.is_empty() && again.rendered.is_empty());
    }

    #[tokio::test]
    async fn a_retry_goes_through_recover_and_gives_up_after_max_attempts() {
        let config = config("max_attempts = 2", "");
        let (_dir, store) = store_with(&["a"]);
        let script = Scripted::new(vec![retry(), retry()]);
        let report = round(&config, &store, &script, now(), false).await;
        assert_eq!(report.failed.len(), 1);
        assert_eq!(states(&store), [("a".into(), DeliveryState::Failed, 1)]);
        // Not due before its backoff (at least 48 s).
        let early = round(
            &config,
            &store,
            &script,
            now() + chrono::Duration::seconds(30),
            false,
        )
        .await;
        assert!(early.rendered.is_empty());
        let later = now() + chrono::Duration::minutes(5);
        let report = round(&config, &store, &script, later, false).await;
        assert_eq!(report.dead.len(), 1);
        assert!(report.dead[0].detail.contains("gave up after 2 attempts"));
        assert_eq!(
            script.calls(),
            [("publish", "a".into()), ("recover", "a".into())]
        );
        assert_eq!(states(&store), [("a".into(), DeliveryState::Dead, 2)]);
    }

    #[tokio::test]
    async fn a_delivery_left_sending_by_a_crash_is_recovered_not_republished() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        let id = store.lock().unwrap().deliveries().unwrap()[0].id;
        store.lock().unwrap().mark_sending(id, now()).unwrap();
        let script = Scripted::new(vec![ok("1")]);
        round(&config, &store, &script, now(), false).await;
        assert_eq!(script.calls(), [("recover", "a".into())]);
        assert_eq!(states(&store), [("a".into(), DeliveryState::Sent, 2)]);
    }

    #[tokio::test]
    async fn a_pause_stops_the_channel_and_keeps_the_delivery() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a", "b"]);
        let script = Scripted::new(vec![Err(PostError::Pause {
            reason: "token expired: renew it".into(),
        })]);
        let report = round(&config, &store, &script, now(), false).await;
        assert_eq!(
            report.paused,
            [("fake".into(), "token expired: renew it".into())]
        );
        assert!(report.needs_attention());
        assert_eq!(
            states(&store),
            [
                ("a".into(), DeliveryState::Pending, 0),
                ("b".into(), DeliveryState::Pending, 0)
            ]
        );
        // While paused nothing is attempted.
        let report = round(&config, &store, &script, now(), false).await;
        assert_eq!(script.calls().len(), 1);
        assert_eq!(report.deferred[0].2, 2);
        store
            .lock()
            .unwrap()
            .retry(Some("fake"), None, now())
            .unwrap();
        let script = Scripted::new(vec![ok("1"), ok("2")]);
        assert_eq!(
            round(&config, &store, &script, now(), false)
                .await
                .sent
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn a_rejected_post_is_given_up_and_the_next_goes_on() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a", "b"]);
        let script = Scripted::new(vec![
            Err(PostError::Reject {
                reason: "blocked".into(),
            }),
            ok("2"),
        ]);
        let report = round(&config, &store, &script, now(), false).await;
        assert_eq!((report.dead.len(), report.sent.len()), (1, 1));
    }

    #[tokio::test]
    async fn spacing_daily_and_per_run_caps_hold_posts_back() {
        let spaced = config("min_spacing = \"10m\"", "");
        let (_dir, store) = store_with(&["a", "b"]);
        let script = Scripted::new(vec![ok("1"), ok("2")]);
        let report = round(&spaced, &store, &script, now(), false).await;
        assert_eq!(report.sent.len(), 1);
        assert_eq!(report.deferred[0].2, 1);
        // The rest waits for the spacing: the daemon must not wake for it before then.
        let ten = now() + chrono::Duration::minutes(10);
        assert_eq!(store.lock().unwrap().next_due().unwrap(), Some(ten));
        let five = now() + chrono::Duration::minutes(5);
        let report = round(&spaced, &store, &script, five, false).await;
        assert!(report.sent.is_empty() && report.rendered.is_empty());
        assert_eq!(script.calls().len(), 1);
        // A delivery queued meanwhile is held by the spacing, and waits for it too.
        {
            let entry = crate::testing::entry("c", "2024-05-31T10:00:00Z");
            let batch = Batch {
                upserts: vec![crate::store::EntryRecord {
                    content_hash: entry.content_hash(),
                    entry,
                    source: "s".into(),
                    doc_key: "c.md".into(),
                    fingerprint: "f".into(),
                    status: crate::store::EntryStatus::Live,
                }],
                deliveries: vec![NewDelivery {
                    entry_id: "c".into(),
                    channel: "fake".into(),
                    state: DeliveryState::Pending,
                    queued_at: five,
                    reason: None,
                }],
                ..Batch::default()
            };
            store.lock().unwrap().apply(&batch, five).unwrap();
        }
        let report = round(&spaced, &store, &script, five, false).await;
        assert!(report.sent.is_empty());
        assert!(report.deferred[0].1.contains("min_spacing"));
        assert_eq!(store.lock().unwrap().next_due().unwrap(), Some(ten));
        let report = round(
            &spaced,
            &store,
            &script,
            now() + chrono::Duration::minutes(11),
            false,
        )
        .await;
        assert_eq!(report.sent.len(), 1);

        let capped = config("daily_cap = 1", "");
        let (_dir2, store) = store_with(&["a", "b"]);
        let report = round(&capped, &store, &Scripted::new(vec![ok("1")]), now(), false).await;
        assert_eq!(report.sent.len(), 1);
        assert!(report.deferred[0].1.contains("daily_cap"));
        // A place frees up when the first post of the window is 24 hours old.
        assert_eq!(
            store.lock().unwrap().next_due().unwrap(),
            Some(now() + chrono::Duration::hours(24))
        );

        let per_run = config("", "per_run_cap = 1");
        let (_dir3, store) = store_with(&["a", "b"]);
        let report = round(
            &per_run,
            &store,
            &Scripted::new(vec![ok("1")]),
            now(),
            false,
        )
        .await;
        assert_eq!(report.sent.len(), 1);
        assert!(report.deferred[0].1.contains("per_run_cap"));
        assert_eq!(
            store.lock().unwrap().next_due().unwrap(),
            Some(now() + PER_RUN_CAP_PAUSE)
        );
    }

    #[tokio::test]
    async fn an_entry_withdrawn_before_its_announcement_is_given_up() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a", "b"]);
        store
            .lock()
            .unwrap()
            .apply(
                &Batch {
                    statuses: vec![("a".into(), crate::store::EntryStatus::Removed)],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        let script = Scripted::new(vec![ok("2")]);
        let report = round(&config, &store, &script, now(), false).await;
        assert_eq!(report.dead.len(), 1);
        assert!(report.dead[0].detail.contains("withdrawn"));
        assert_eq!(script.calls(), [("publish", "b".into())]);
        assert_eq!(
            states(&store),
            [
                ("a".into(), DeliveryState::Dead, 0),
                ("b".into(), DeliveryState::Sent, 1)
            ]
        );
    }

    #[tokio::test]
    async fn a_dry_run_renders_and_changes_nothing() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        let script = Scripted::new(vec![]);
        let report = round(&config, &store, &script, now(), true).await;
        assert_eq!(report.rendered.len(), 1);
        assert!(script.calls().is_empty());
        assert_eq!(states(&store), [("a".into(), DeliveryState::Pending, 0)]);
    }

    #[test]
    fn backoff_grows_is_capped_jittered_and_honours_the_network() {
        let now = now();
        for (attempts, base) in [(1, 60), (2, 120), (5, 960), (30, 21_600)] {
            let due = retry_time(attempts, None, now);
            let secs = (due - now).num_milliseconds() as f64 / 1000.0;
            assert!(
                secs >= base as f64 * 0.8 - 0.001 && secs <= base as f64 * 1.2 + 0.001,
                "attempt {attempts}: {secs}s"
            );
        }
        let reset = now + chrono::Duration::minutes(15);
        assert_eq!(retry_time(1, Some(reset), now), reset);
    }
}

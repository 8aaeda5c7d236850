//! Delivery: sends the outbox's due deliveries, every channel concurrently and each channel's
//! own deliveries one after the other, paced by its caps and spacing.
//!
//! Each delivery is marked `sending` (committed) before its request leaves, then `sent`,
//! `failed` (due again after an exponential backoff with jitter, or at the rate-limit reset
//! the network announced), or `dead`. A delivery found in `sending`, or retried after an
//! attempt whose outcome is unknown, goes through the channel's `recover`, which never posts
//! twice. A channel that pauses (expired token) or fails never holds up the others: each runs
//! in its own task, and the feeds were written before any of this started.
//!
//! A post is rendered once, for its delivery's first attempt, and frozen in the outbox in the
//! transaction that marks that attempt, with the key the network stores it under where crier
//! chooses it (Bluesky). Every later attempt sends the frozen post, so an entry edited between
//! a lost answer and the retry cannot give the network a second, different post, and a
//! network recognises its own post on look-up by what was really sent. Only a post the
//! network refused for good, which is known not to be there, is dropped: `crier retry` renders
//! it again.
//!
//! An image the channel uploads apart from the post (`Channel::upload`) is uploaded after
//! `sending` is committed, and the network's media id is recorded with the frozen post before
//! the post request leaves: a later attempt attaches that upload rather than making another,
//! until the network may have forgotten it (its expiry), when it is uploaded again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::channels::{
    self, AnnounceConfig, Attempt, Channel, ChannelConfig, ChannelContext, Media, Memory, Post,
    PostError, Published, template,
};
use crate::config::Config;
use crate::engine::cycle;
use crate::entry::Image;
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

/// A channel that paused during the round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    /// Channel name.
    pub channel: String,
    /// What happened and what the operator must do.
    pub reason: String,
}

/// Deliveries of one channel a guard kept for a later round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    /// Channel name.
    pub channel: String,
    /// Which guard, and until when where it says.
    pub reason: String,
    /// How many deliveries wait.
    pub waiting: usize,
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
    pub paused: Vec<Paused>,
    /// Deliveries kept for later by a guard.
    pub deferred: Vec<Deferred>,
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
            let round = ChannelRound {
                config: channel_config,
                announce: &config.announce,
                channel: channels::build(channel_config, context),
                store: store.clone(),
                budget: budget.clone(),
                options,
                report: DeliveryReport::default(),
            };
            round.run(stop)
        });
    let mut report = DeliveryReport::default();
    for result in futures_util::future::join_all(rounds).await {
        report.merge(result?);
    }
    Ok(report)
}

/// One channel's round: its due deliveries in order, each through guard (may it post now?),
/// prepare (render and fit the post), attempt (`sending` committed, then the request) and
/// settle (sent, failed with a backoff, given up, or the channel paused).
struct ChannelRound<'a> {
    config: &'a ChannelConfig,
    announce: &'a AnnounceConfig,
    channel: Box<dyn Channel>,
    store: Arc<Mutex<Store>>,
    /// Posts left for this run, all channels together (`announce.per_run_cap`).
    budget: Arc<AtomicUsize>,
    options: DeliverOptions,
    report: DeliveryReport,
}

/// Whether a round goes on with its next delivery after settling one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Continue,
    Stop,
}

impl ChannelRound<'_> {
    fn name(&self) -> &str {
        &self.config.common.name
    }

    /// The state; a panic elsewhere while it was held leaves it usable (every write is a
    /// transaction of its own).
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn defer(&mut self, reason: String, waiting: usize) {
        let channel = self.name().to_owned();
        self.report.deferred.push(Deferred {
            channel,
            reason,
            waiting,
        });
    }

    async fn run(mut self, stop: &CancellationToken) -> Result<DeliveryReport, StoreError> {
        let name = self.name().to_owned();
        let now = self.options.now;
        let (due, paused) = {
            let s = self.store();
            (s.due_deliveries(&name, now)?, s.channel_paused(&name)?)
        };
        if due.is_empty() {
            return Ok(self.report);
        }
        if let Some(reason) = paused.filter(|_| !self.options.dry_run) {
            tracing::warn!(channel = %name, waiting = due.len(), reason, "channel paused; run `crier retry --channel {name}` once fixed");
            self.defer(format!("channel paused: {reason}"), due.len());
            return Ok(self.report);
        }
        for (index, delivery) in due.iter().enumerate() {
            let waiting = due.len() - index;
            if let Some(reason) = self.guard(waiting, stop)? {
                self.defer(reason, waiting);
                break;
            }
            let Some(post) = self.prepare(delivery)? else {
                continue;
            };
            if self.options.dry_run {
                continue;
            }
            let result = self.attempt(delivery, post).await?;
            if self.settle(delivery, result, waiting)? == Next::Stop {
                break;
            }
        }
        Ok(self.report)
    }

    /// Why the next delivery must wait, if it must: crier is stopping, the channel's daily cap
    /// or spacing, or the run's cap. The wait is recorded in the outbox. A dry run only stops
    /// for a stop.
    fn guard(
        &mut self,
        waiting: usize,
        stop: &CancellationToken,
    ) -> Result<Option<String>, StoreError> {
        if stop.is_cancelled() {
            return Ok(Some("crier is stopping".into()));
        }
        if self.options.dry_run {
            return Ok(None);
        }
        let (name, now) = (self.name().to_owned(), self.options.now);
        // Bound first: a guard in the `if let` would hold the lock through the block.
        let held = hold_back(&self.store(), self.config, now)?;
        if let Some((reason, until)) = held {
            tracing::info!(channel = %name, waiting, reason, until = %until, "deliveries wait");
            self.store().defer(&name, until, now)?;
            return Ok(Some(reason));
        }
        if self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
        {
            let reason = format!(
                "announce.per_run_cap ({}) reached for this run",
                self.announce.per_run_cap
            );
            tracing::info!(channel = %name, waiting, reason, "deliveries wait");
            self.store().defer(&name, now + PER_RUN_CAP_PAUSE, now)?;
            return Ok(Some(reason));
        }
        Ok(None)
    }

    /// The post for `delivery`, rendered, fitted and counted into the report; `None` when it
    /// can never be sent (then the delivery is given up).
    fn prepare(&mut self, delivery: &Delivery) -> Result<Option<Post>, StoreError> {
        let name = self.name().to_owned();
        let now = self.options.now;
        let prepared = prepare_post(
            &self.store(),
            self.config,
            self.channel.as_ref(),
            delivery,
            now,
        )?;
        let post = match prepared {
            Prepared::Post(post) => *post,
            Prepared::Held(reason) => {
                tracing::info!(channel = %name, entry_id = %delivery.entry_id, reason, "delivery held by its entry");
                if !self.options.dry_run {
                    self.store().hold(delivery.id, &reason, now)?;
                }
                let reason = format!("entry {}: {reason}", delivery.entry_id);
                self.defer(reason, 1);
                return Ok(None);
            }
            Prepared::Later(until) => {
                let reason = cycle::announce_at_reason(until);
                tracing::info!(channel = %name, entry_id = %delivery.entry_id, reason, "delivery waits");
                if !self.options.dry_run {
                    self.store().postpone(delivery.id, until, &reason, now)?;
                }
                let reason = format!("entry {}: {reason}", delivery.entry_id);
                self.defer(reason, 1);
                return Ok(None);
            }
            Prepared::GiveUp(reason) => {
                tracing::error!(channel = %name, entry_id = %delivery.entry_id, reason, "delivery given up");
                if !self.options.dry_run {
                    self.store()
                        .mark_dead(delivery.id, &reason, self.options.now)?;
                }
                self.report.dead.push(outcome(&name, delivery, reason));
                return Ok(None);
            }
        };
        let length = self.channel.count(&post.text);
        let limit = self.channel.max_length();
        if self.options.dry_run {
            tracing::info!(channel = %name, entry_id = %delivery.entry_id, length, limit, text = %post.text, "dry run: would post");
        }
        self.report.rendered.push(RenderedPost {
            channel: name,
            entry_id: delivery.entry_id.clone(),
            text: post.text.clone(),
            length,
            limit,
        });
        Ok(Some(post))
    }

    /// Sends `post`: `sending` is committed before the request leaves, the first time with
    /// the post frozen; an attempt after one whose outcome is unknown goes through the
    /// channel's `recover`, which never posts twice.
    async fn attempt(
        &self,
        delivery: &Delivery,
        mut post: Post,
    ) -> Result<Result<Published, PostError>, StoreError> {
        // Anything but a first, clean attempt may already have reached the network.
        let uncertain = delivery.state == DeliveryState::Sending || delivery.attempts > 0;
        let now = self.options.now;
        if delivery.post.is_some() {
            self.store().mark_sending(delivery.id, now)?;
        } else {
            let channel = self.channel.as_ref();
            self.store().mark_sending_first(delivery.id, now, |stamp| {
                // Uncertain without a frozen post: an older crier attempted it, under the key
                // it derived from the delivery, which the channel falls back to without one.
                if !uncertain {
                    post.key = channel.new_key(stamp);
                }
                FrozenPost::json(&post)
            })?;
        }
        if let Err(e) = self.upload(delivery, &mut post).await? {
            return Ok(Err(e));
        }
        match self.send(&post, uncertain).await {
            Ok(Attempt::Published(published)) => Ok(Ok(published)),
            Ok(Attempt::KeyTaken { reason }) => self.rekey(delivery, &mut post, reason).await,
            Err(e) => Ok(Err(e)),
        }
    }

    /// Uploads the post's image where the channel takes it apart from the post, unless an
    /// earlier attempt's upload is on record and still usable, and records the upload with
    /// the frozen post before the post leaves: a crash between the two then neither loses the
    /// post nor uploads the image again. An upload the network forgot (unused past its
    /// expiry) is made again.
    async fn upload(
        &self,
        delivery: &Delivery,
        post: &mut Post,
    ) -> Result<Result<(), PostError>, StoreError> {
        let now = self.options.now;
        let recorded = post.media.as_ref().is_some_and(|m| m.usable(now));
        if post.image.is_none() || recorded {
            return Ok(Ok(()));
        }
        let limit = self.announce.request_timeout * 4;
        let uploaded = tokio::time::timeout(limit, self.channel.upload(post))
            .await
            .unwrap_or_else(|_| {
                Err(PostError::Retry {
                    reason: format!(
                        "{}: the image upload got no answer within {}s",
                        self.name(),
                        limit.as_secs()
                    ),
                    after: None,
                })
            });
        match uploaded {
            Ok(Some(media)) => {
                tracing::info!(channel = %self.name(), entry_id = %delivery.entry_id, media_id = %media.id, "image uploaded");
                post.media = Some(media);
                self.store()
                    .record_post(delivery.id, now, &FrozenPost::json(post))?;
                Ok(Ok(()))
            }
            Ok(None) => {
                // An expired upload must not be attached.
                post.media = None;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Sends `post` again under a fresh key, which is frozen before the request leaves: its
    /// key turned out to hold another post, so it was never created under that one.
    async fn rekey(
        &self,
        delivery: &Delivery,
        post: &mut Post,
        reason: String,
    ) -> Result<Result<Published, PostError>, StoreError> {
        let channel = self.channel.as_ref();
        let mut rekeyed = false;
        self.store()
            .rekey_post(delivery.id, self.options.now, |stamp| {
                if let Some(key) = channel.new_key(stamp) {
                    post.key = Some(key);
                    rekeyed = true;
                }
                FrozenPost::json(post)
            })?;
        let retry = |reason| {
            Ok(Err(PostError::Retry {
                reason,
                after: None,
            }))
        };
        if !rekeyed {
            return retry(reason);
        }
        tracing::info!(channel = %self.name(), entry_id = %delivery.entry_id, key = post.key.as_deref(), "sending under a new key");
        // Nothing was ever sent under the fresh key, so no look-up first.
        match self.send(post, false).await {
            Ok(Attempt::Published(published)) => Ok(Ok(published)),
            // Taken again (by something other than crier): the next attempt looks it up.
            Ok(Attempt::KeyTaken { reason }) => retry(reason),
            Err(e) => Ok(Err(e)),
        }
    }

    /// One request (or chain of them) to the network, bounded in time.
    async fn send(&self, post: &Post, uncertain: bool) -> Result<Attempt, PostError> {
        // Each request has its own timeout; this bounds a network that strings several along.
        let limit = self.announce.request_timeout * 4;
        tokio::time::timeout(limit, self.channel.attempt(post, uncertain))
            .await
            .unwrap_or_else(|_| {
                Err(PostError::Retry {
                    reason: format!("{}: no answer within {}s", self.name(), limit.as_secs()),
                    after: None,
                })
            })
    }

    /// Records what the attempt gave, and whether the round goes on.
    fn settle(
        &mut self,
        delivery: &Delivery,
        result: Result<Published, PostError>,
        waiting: usize,
    ) -> Result<Next, StoreError> {
        let (name, now) = (self.name().to_owned(), self.options.now);
        let attempts = delivery.attempts + 1;
        let max_attempts = self
            .config
            .common
            .max_attempts
            .unwrap_or(self.announce.max_attempts);
        match result {
            Ok(published) => {
                self.store().mark_sent(
                    delivery.id,
                    published.remote_id.as_deref(),
                    published.remote_url.as_deref(),
                    now,
                )?;
                let url = published.remote_url.unwrap_or_default();
                tracing::info!(channel = %name, entry_id = %delivery.entry_id, url, "posted");
                self.report.sent.push(outcome(&name, delivery, url));
                // With a minimum spacing a run posts at most once per channel: the rest waits
                // for a later run (the daemon wakes for it).
                if let Some(spacing) = self.config.min_spacing() {
                    let rest = waiting - 1;
                    if rest > 0 {
                        let until = now + chrono::Duration::from_std(spacing).unwrap_or_default();
                        self.store().defer(&name, until, now)?;
                        self.defer("min_spacing: one post per run".into(), rest);
                    }
                    return Ok(Next::Stop);
                }
            }
            Err(PostError::Retry { reason, after }) if attempts < max_attempts => {
                let due = retry_time(attempts, after, now);
                tracing::warn!(channel = %name, entry_id = %delivery.entry_id, attempts, retry_at = %due, reason, "post failed, will retry");
                self.store().mark_failed(delivery.id, &reason, due, now)?;
                self.report.failed.push(outcome(&name, delivery, reason));
            }
            Err(PostError::Retry { reason, .. }) => {
                let reason = format!("{reason} (gave up after {attempts} attempts)");
                tracing::error!(channel = %name, entry_id = %delivery.entry_id, reason, "delivery given up; `crier retry` re-queues it");
                self.store().mark_dead(delivery.id, &reason, now)?;
                self.report.dead.push(outcome(&name, delivery, reason));
            }
            Err(PostError::Reject { reason }) => {
                tracing::error!(channel = %name, entry_id = %delivery.entry_id, reason, "post refused, delivery given up");
                self.store().mark_refused(delivery.id, &reason, now)?;
                self.report.dead.push(outcome(&name, delivery, reason));
            }
            Err(PostError::Pause { reason }) => {
                tracing::error!(channel = %name, reason, "channel paused");
                {
                    let mut s = self.store();
                    s.release(delivery.id, &reason, now)?;
                    s.pause_channel(&name, &reason, now)?;
                }
                self.report.paused.push(Paused {
                    channel: name,
                    reason: reason.clone(),
                });
                self.defer(format!("channel paused: {reason}"), waiting);
                return Ok(Next::Stop);
            }
        }
        Ok(Next::Continue)
    }
}

/// Why the channel must not post now (daily cap, spacing), and until when, if it must not.
pub(super) fn hold_back(
    store: &Store,
    channel: &ChannelConfig,
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
    if let (Some(spacing), Some(last)) = (channel.min_spacing(), store.last_sent_at(name)?) {
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

/// A delivery's post as the outbox keeps it from its first attempt on (JSON in the
/// deliveries' `post` column): what the network was sent, to send again as it was.
#[derive(Debug, Serialize, Deserialize)]
struct FrozenPost {
    text: String,
    url: String,
    title: String,
    summary: String,
    language: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// The image as uploaded to the network, recorded before the post is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media: Option<Media>,
}

impl FrozenPost {
    /// The JSON kept for `post`.
    fn json(post: &Post) -> String {
        let frozen = FrozenPost {
            text: post.text.clone(),
            url: post.url.clone(),
            title: post.title.clone(),
            summary: post.summary.clone(),
            language: post.language.clone(),
            image: post.image.clone(),
            key: post.key.clone(),
            media: post.media.clone(),
        };
        serde_json::to_string(&frozen).expect("strings and options always serialise")
    }

    /// The post of `delivery` its frozen `json` describes.
    fn read(json: &str, delivery: &Delivery) -> Result<Post, serde_json::Error> {
        let frozen: FrozenPost = serde_json::from_str(json)?;
        Ok(Post {
            delivery_id: delivery.id,
            queued_at: delivery.queued_at,
            entry_id: delivery.entry_id.clone(),
            text: frozen.text,
            url: frozen.url,
            title: frozen.title,
            summary: frozen.summary,
            language: frozen.language,
            image: frozen.image,
            media: frozen.media,
            key: frozen.key,
        })
    }
}

/// What the delivery engine does with a due delivery.
#[derive(Debug)]
pub(super) enum Prepared {
    /// Send this post.
    Post(Box<Post>),
    /// Hold the delivery: the entry's own control now keeps it off the channel (the reason).
    Held(String),
    /// Wait: the entry's `announce_at` is still to come.
    Later(DateTime<Utc>),
    /// Give the delivery up: it can never be sent (the reason).
    GiveUp(String),
}

/// The post for a delivery, or why it is not sent now: the frozen one once the delivery was
/// attempted, as it was whatever the entry says now; before that, rendered from the entry as
/// it stands, whose own control (`announce`, `skip`, `channels`, `announce_at`, the text for
/// this network) is honoured.
pub(super) fn prepare_post(
    store: &Store,
    channel_config: &ChannelConfig,
    channel: &dyn Channel,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> Result<Prepared, StoreError> {
    if !store.entry_is_live(&delivery.entry_id)? {
        return Ok(Prepared::GiveUp(format!(
            "entry {} was withdrawn before it was announced",
            delivery.entry_id
        )));
    }
    if let Some(json) = &delivery.post {
        // Rendering again could give the network a second, different post.
        return Ok(match FrozenPost::read(json, delivery) {
            Ok(post) => Prepared::Post(Box::new(post)),
            Err(e) => Prepared::GiveUp(format!(
                "the post kept for entry {} in the state is unreadable ({e}); it is not sent again, as it may already be on the network",
                delivery.entry_id
            )),
        });
    }
    let Some(entry) = store.load_entries(&[delivery.entry_id.as_str()])?.pop() else {
        return Ok(Prepared::GiveUp(format!(
            "entry {} is not in the state",
            delivery.entry_id
        )));
    };
    let name = &channel_config.common.name;
    // Left in `sending` by an older crier that kept no post: it may be out already.
    let attempted = delivery.state == DeliveryState::Sending || delivery.attempts > 0;
    if !attempted {
        if let Some(refusal) = entry.announce.refusal(name) {
            return Ok(Prepared::Held(cycle::held_by_entry(refusal, name)));
        }
        if let Some(at) = entry.announce.at.map(|at| at.with_timezone(&Utc))
            && at > now
        {
            return Ok(Prepared::Later(at));
        }
    }
    let network = channel_config.network_name();
    let count = |t: &str| channel.count(t);
    let fitted = match entry.announce.text.for_network(network) {
        Some(text) => template::render_custom(text, &entry, channel.max_length(), &count)
            .map_err(|e| format!("channel {name}: the entry's `text.{network}`: {e}")),
        None => {
            let template = channel_config.template_for(&entry.language);
            template::render(template, &entry, channel.max_length(), &count)
                .map_err(|e| format!("channel {name}: {e}"))
        }
    };
    let fitted = match fitted {
        Ok(fitted) => fitted,
        Err(reason) => return Ok(Prepared::GiveUp(reason)),
    };
    Ok(Prepared::Post(Box::new(Post {
        delivery_id: delivery.id,
        queued_at: delivery.queued_at,
        entry_id: entry.id,
        text: fitted.text,
        url: entry.url,
        title: entry.title,
        summary: entry.summary,
        language: entry.language,
        image: entry.image,
        media: None,
        key: None,
    })))
}

/// When a failed delivery is due again: the time the network announced (rate-limit reset)
/// when it gave one, else an exponential backoff from one minute, capped at six hours, with
/// ±20% jitter so that deliveries do not retry in lockstep.
fn retry_time(attempts: u32, after: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    match after {
        Some(after) => after.max(now),
        None => now + backoff(attempts, 0.8 + 0.4 * rand::random::<f64>()),
    }
}

/// The wait after `attempts` failed attempts, scaled by `jitter` (0.8 to 1.2).
fn backoff(attempts: u32, jitter: f64) -> chrono::Duration {
    let base = 60.0 * 2f64.powi(attempts.saturating_sub(1).min(16) as i32);
    let capped = base.min(6.0 * 3600.0);
    chrono::Duration::milliseconds((capped * jitter * 1000.0) as i64)
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

    /// One request the scripted channel got.
    #[derive(Debug, Clone)]
    struct Call {
        /// "publish" or "recover".
        kind: &'static str,
        post: Post,
        /// The delivery's post as the state held it when the request left.
        frozen: Option<String>,
    }

    /// A channel that answers from a script, records what it was asked and, when watching a
    /// state, what the state held at that moment. Its keys are `key-<stamp>`.
    struct Scripted {
        answers: Mutex<VecDeque<Result<Attempt, PostError>>>,
        calls: Mutex<Vec<Call>>,
        state: Option<Arc<Mutex<Store>>>,
        /// Uploads made, each `media-<n>`, kept by the network for a day from [`now`].
        uploads: Mutex<usize>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Attempt, PostError>>) -> Arc<Scripted> {
            Arc::new(Scripted {
                answers: Mutex::new(answers.into()),
                calls: Mutex::new(Vec::new()),
                state: None,
                uploads: Mutex::new(0),
            })
        }
        fn watching(
            answers: Vec<Result<Attempt, PostError>>,
            store: &Arc<Mutex<Store>>,
        ) -> Arc<Scripted> {
            Arc::new(Scripted {
                answers: Mutex::new(answers.into()),
                calls: Mutex::new(Vec::new()),
                state: Some(store.clone()),
                uploads: Mutex::new(0),
            })
        }
        fn calls(&self) -> Vec<(&'static str, String)> {
            self.requests()
                .into_iter()
                .map(|c| (c.kind, c.post.entry_id))
                .collect()
        }
        fn requests(&self) -> Vec<Call> {
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
        async fn publish(&self, _post: &Post) -> Result<Published, PostError> {
            unreachable!("the engine calls attempt")
        }
        fn new_key(&self, stamp: u64) -> Option<String> {
            Some(format!("key-{stamp}"))
        }
        async fn upload(&self, post: &Post) -> Result<Option<Media>, PostError> {
            if post.image.is_none() {
                return Ok(None);
            }
            let mut uploads = self.0.uploads.lock().unwrap();
            *uploads += 1;
            Ok(Some(Media {
                id: format!("media-{uploads}"),
                expires_at: now() + chrono::Duration::hours(24),
                size: None,
            }))
        }
        async fn attempt(&self, post: &Post, uncertain: bool) -> Result<Attempt, PostError> {
            let frozen = self.0.state.as_ref().and_then(|store| {
                let store = store.lock().unwrap();
                let deliveries = store.deliveries().unwrap();
                let delivery = deliveries.iter().find(|d| d.id == post.delivery_id);
                delivery.and_then(|d| d.post.clone())
            });
            self.0.calls.lock().unwrap().push(Call {
                kind: if uncertain { "recover" } else { "publish" },
                post: post.clone(),
                frozen,
            });
            self.0
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("scripted answer")
        }
    }

    fn ok(id: &str) -> Result<Attempt, PostError> {
        Ok(Attempt::Published(Published {
            remote_id: Some(id.into()),
            remote_url: Some(format!("https://social.example/{id}")),
        }))
    }

    fn retry() -> Result<Attempt, PostError> {
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
                due_at: None,
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
        let round = ChannelRound {
            config: &config.channels[0],
            announce: &config.announce,
            channel: Box::new(Handle(script.clone())),
            store: store.clone(),
            budget: Arc::new(AtomicUsize::new(config.announce.per_run_cap)),
            options: DeliverOptions { now: at, dry_run },
            report: DeliveryReport::default(),
        };
        round.run(&CancellationToken::new()).await.unwrap()
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
    async fn deliver_reports_what_every_channel_round_rendered() {
        // The entry point over all channels, in a dry run (no request leaves): its report is
        // the rounds' reports put together.
        let config = config("", "");
        let (_dir, store) = store_with(&["a", "b"]);
        let options = DeliverOptions {
            now: now(),
            dry_run: true,
        };
        let report = deliver(&config, store.clone(), options, &CancellationToken::new())
            .await
            .unwrap();
        let texts: Vec<&str> = report.rendered.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Title a https://example.org/a/",
                "Title b https://example.org/b/"
            ]
        );
        // A dry run sends nothing and leaves the deliveries as they were.
        assert!(report.sent.is_empty());
        assert_eq!(
            states(&store),
            [
                ("a".into(), DeliveryState::Pending, 0),
                ("b".into(), DeliveryState::Pending, 0)
            ]
        );
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

    /// Stores live entry `id` as `change` makes it (from the entry `store_with` recorded), as a
    /// cycle does when its file changed.
    fn edit_entry(
        store: &Arc<Mutex<Store>>,
        id: &str,
        at: DateTime<Utc>,
        change: impl FnOnce(&mut crate::entry::Entry),
    ) {
        let mut entry = crate::testing::entry(id, "2024-05-31T10:00:00Z");
        change(&mut entry);
        let batch = Batch {
            upserts: vec![crate::store::EntryRecord {
                content_hash: entry.content_hash(),
                entry,
                source: "s".into(),
                doc_key: format!("{id}.md"),
                fingerprint: "f2".into(),
                status: crate::store::EntryStatus::Live,
            }],
            ..Batch::default()
        };
        store.lock().unwrap().apply(&batch, at).unwrap();
    }

    /// Gives live entry `id` of the store a new title.
    fn edit_title(store: &Arc<Mutex<Store>>, id: &str, title: &str, at: DateTime<Utc>) {
        edit_entry(store, id, at, |entry| entry.title = title.into());
    }

    /// Gives live entry `id` of the store the announcement control `announce`.
    fn edit_control(
        store: &Arc<Mutex<Store>>,
        id: &str,
        announce: crate::entry::Announce,
        at: DateTime<Utc>,
    ) {
        edit_entry(store, id, at, |entry| entry.announce = announce);
    }

    #[tokio::test]
    async fn the_entrys_control_is_honoured_until_the_first_attempt() {
        use crate::entry::Announce;
        let config = config("", "");
        let (_dir, store) = store_with(&["off", "skipped", "later", "custom"]);
        edit_control(
            &store,
            "off",
            Announce {
                enabled: false,
                ..Announce::default()
            },
            now(),
        );
        let skip = Announce {
            skip: vec!["fake".into()],
            ..Announce::default()
        };
        edit_control(&store, "skipped", skip, now());
        let tomorrow = now() + chrono::Duration::days(1);
        let later = Announce {
            at: Some(tomorrow.fixed_offset()),
            ..Announce::default()
        };
        edit_control(&store, "later", later, now());
        let mut custom = Announce {
            hashtags: vec!["Ghent".into()],
            ..Announce::default()
        };
        custom.text.mastodon = Some("Read “{{ title }}” {{ url }}".into());
        edit_control(&store, "custom", custom, now());

        // A dry run (`crier plan`) says why and changes nothing.
        let script = Scripted::new(vec![ok("1")]);
        let plan = round(&config, &store, &script, now(), true).await;
        let reasons: Vec<&str> = plan.deferred.iter().map(|d| d.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "entry off: held: the entry says `announce = false`; edit the entry to announce it here",
                "entry skipped: held: the entry's `skip` names channel \"fake\"; edit the entry to announce it here",
                "entry later: waits for announce_at 2024-06-02T12:00:00+00:00",
            ]
        );
        assert!(states(&store).iter().all(|s| s.1 == DeliveryState::Pending));

        let report = round(&config, &store, &script, now(), false).await;
        assert_eq!(
            report.rendered[0].text,
            "Read “Title custom” https://example.org/custom/\n\n#Ghent"
        );
        assert_eq!(
            states(&store),
            [
                ("off".into(), DeliveryState::Held, 0),
                ("skipped".into(), DeliveryState::Held, 0),
                ("later".into(), DeliveryState::Pending, 0),
                ("custom".into(), DeliveryState::Sent, 1),
            ]
        );
        let deliveries = store.lock().unwrap().deliveries().unwrap();
        assert_eq!(deliveries[2].due_at, tomorrow);
        assert!(
            deliveries[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("announce = false")
        );
        // Released by `crier retry` while the entry still says no: held again.
        store
            .lock()
            .unwrap()
            .retry(None, Some("off"), now())
            .unwrap();
        round(&config, &store, &script, now(), false).await;
        assert_eq!(states(&store)[0].1, DeliveryState::Held);
        // Due once its time has come.
        let script = Scripted::new(vec![ok("2")]);
        round(&config, &store, &script, tomorrow, false).await;
        assert_eq!(script.calls(), [("publish", "later".into())]);
    }

    #[tokio::test]
    async fn a_control_edited_after_the_first_attempt_is_not_honoured() {
        use crate::entry::Announce;
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        let script = Scripted::new(vec![retry(), ok("1")]);
        round(&config, &store, &script, now(), false).await;
        let later = now() + chrono::Duration::minutes(5);
        let mut off = Announce {
            enabled: false,
            ..Announce::default()
        };
        off.text.mastodon = Some("Something else".into());
        edit_control(&store, "a", off, later);
        let report = round(&config, &store, &script, later, false).await;
        // The post may be out already: the frozen one goes, through the look-up.
        assert_eq!(
            script.calls(),
            [("publish", "a".into()), ("recover", "a".into())]
        );
        assert_eq!(report.rendered[0].text, "Title a https://example.org/a/");
        assert_eq!(states(&store), [("a".into(), DeliveryState::Sent, 2)]);
    }

    /// Gives entry `id` of `store` an image.
    fn give_image(store: &Arc<Mutex<Store>>, id: &str) {
        edit_entry(store, id, now(), |entry| {
            entry.image = Some(Image {
                url: format!("https://example.org/{id}/cover.jpg"),
                alt: "A cover".into(),
                path: None,
            });
        });
    }

    #[tokio::test]
    async fn the_upload_is_recorded_before_the_post_and_attached_again_after_a_lost_answer() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        give_image(&store, "a");
        let script = Scripted::watching(vec![retry(), ok("1")], &store);
        round(&config, &store, &script, now(), false).await;
        let later = now() + chrono::Duration::minutes(30);
        round(&config, &store, &script, later, false).await;

        assert_eq!(*script.uploads.lock().unwrap(), 1, "uploaded once");
        let calls = script.requests();
        assert_eq!(
            calls.iter().map(|c| c.kind).collect::<Vec<_>>(),
            ["publish", "recover"]
        );
        for call in &calls {
            assert_eq!(
                call.post.media.as_ref().map(|m| m.id.as_str()),
                Some("media-1")
            );
            // On record before the request left.
            let frozen: serde_json::Value =
                serde_json::from_str(call.frozen.as_deref().unwrap()).unwrap();
            assert_eq!(frozen["media"]["id"], "media-1");
        }
        assert_eq!(states(&store), [("a".into(), DeliveryState::Sent, 2)]);
    }

    #[tokio::test]
    async fn an_upload_the_network_forgot_is_made_again() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        give_image(&store, "a");
        let script = Scripted::watching(vec![retry(), ok("1")], &store);
        round(&config, &store, &script, now(), false).await;
        // Past the day the network keeps an unattached upload.
        let next_day = now() + chrono::Duration::hours(25);
        round(&config, &store, &script, next_day, false).await;

        assert_eq!(*script.uploads.lock().unwrap(), 2);
        let calls = script.requests();
        assert_eq!(calls[1].post.media.as_ref().unwrap().id, "media-2");
        assert!(calls[1].frozen.as_deref().unwrap().contains("media-2"));
    }

    #[tokio::test]
    async fn an_entry_without_image_uploads_nothing() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        let script = Scripted::watching(vec![ok("1")], &store);
        round(&config, &store, &script, now(), false).await;
        assert_eq!(*script.uploads.lock().unwrap(), 0);
        assert!(
            !script.requests()[0]
                .frozen
                .as_deref()
                .unwrap()
                .contains("media")
        );
    }

    #[tokio::test]
    async fn an_entry_edited_between_a_lost_answer_and_the_retry_gives_the_network_the_same_text() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        // The answer is lost: the post may exist.
        let script = Scripted::watching(vec![retry(), ok("1")], &store);
        round(&config, &store, &script, now(), false).await;
        let later = now() + chrono::Duration::minutes(5);
        edit_title(&store, "a", "Title a, edited", later);
        let report = round(&config, &store, &script, later, false).await;

        let calls = script.requests();
        assert_eq!(
            calls.iter().map(|c| c.kind).collect::<Vec<_>>(),
            ["publish", "recover"]
        );
        // The retry looks up and sends what the first attempt sent, not the edited entry.
        assert_eq!(calls[0].post.text, "Title a https://example.org/a/");
        assert_eq!(calls[1].post, calls[0].post);
        assert_eq!(report.rendered[0].text, "Title a https://example.org/a/");
        // Frozen, key included, before the first request left.
        let frozen: serde_json::Value =
            serde_json::from_str(calls[0].frozen.as_deref().expect("frozen")).unwrap();
        assert_eq!(frozen["text"], "Title a https://example.org/a/");
        assert_eq!(frozen["key"], calls[0].post.key.as_deref().unwrap());
        assert_eq!(calls[1].frozen, calls[0].frozen);
        assert_eq!(states(&store), [("a".into(), DeliveryState::Sent, 2)]);
        // The edit is the entry's all the same: a new delivery would render it.
        let stored = store.lock().unwrap().load_entries(&["a"]).unwrap();
        assert_eq!(stored[0].title, "Title a, edited");
    }

    #[tokio::test]
    async fn a_look_up_finding_a_different_post_does_not_mark_the_delivery_sent() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        let taken = || {
            Ok(Attempt::KeyTaken {
                reason: "record key holds another post".into(),
            })
        };
        // A crash while sending: the retry looks the post up under its key, finds another post
        // there, and is sent under a fresh key recorded first; the fresh key is taken too (by
        // something else than crier): it waits for the next attempt rather than counting
        // as sent.
        let script = Scripted::watching(vec![retry(), taken(), taken()], &store);
        round(&config, &store, &script, now(), false).await;
        let later = now() + chrono::Duration::minutes(5);
        let report = round(&config, &store, &script, later, false).await;
        assert!(report.sent.is_empty(), "{report:?}");
        assert_eq!(report.failed.len(), 1);
        assert!(report.failed[0].detail.contains("another post"));
        assert_eq!(states(&store), [("a".into(), DeliveryState::Failed, 2)]);

        let calls = script.requests();
        let keys: Vec<_> = calls.iter().map(|c| c.post.key.clone().unwrap()).collect();
        assert_eq!(
            calls.iter().map(|c| c.kind).collect::<Vec<_>>(),
            ["publish", "recover", "publish"]
        );
        assert_eq!(keys[0], keys[1]);
        assert_ne!(keys[2], keys[1]);
        // The fresh key was in the state before the post went out under it.
        let frozen: serde_json::Value =
            serde_json::from_str(calls[2].frozen.as_deref().unwrap()).unwrap();
        assert_eq!(frozen["key"], keys[2]);
        assert_eq!(calls[2].post.text, calls[0].post.text);

        // The next attempt looks the post up under the fresh key.
        let script = Scripted::watching(vec![ok("1")], &store);
        let report = round(
            &config,
            &store,
            &script,
            later + chrono::Duration::hours(1),
            false,
        )
        .await;
        assert_eq!(report.sent.len(), 1);
        let calls = script.requests();
        assert_eq!(calls[0].kind, "recover");
        assert_eq!(calls[0].post.key.as_deref(), Some(keys[2].as_str()));
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
            [Paused {
                channel: "fake".into(),
                reason: "token expired: renew it".into()
            }]
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
        assert_eq!(report.deferred[0].waiting, 2);
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
    async fn a_refused_post_is_rendered_again_after_crier_retry() {
        let config = config("", "");
        let (_dir, store) = store_with(&["a"]);
        let refused = Err(PostError::Reject {
            reason: "text refused".into(),
        });
        let script = Scripted::new(vec![refused, ok("1")]);
        round(&config, &store, &script, now(), false).await;
        assert_eq!(store.lock().unwrap().deliveries().unwrap()[0].post, None);
        // The operator changes what was refused, then re-queues the delivery.
        edit_title(&store, "a", "Title a, reworded", now());
        store.lock().unwrap().retry(None, Some("a"), now()).unwrap();
        round(&config, &store, &script, now(), false).await;
        let calls = script.requests();
        assert_eq!(calls[0].post.text, "Title a https://example.org/a/");
        assert_eq!(calls[1].kind, "publish");
        assert_eq!(
            calls[1].post.text,
            "Title a, reworded https://example.org/a/"
        );
        assert_ne!(calls[1].post.key, calls[0].post.key);
        assert_eq!(states(&store), [("a".into(), DeliveryState::Sent, 1)]);
    }

    #[tokio::test]
    async fn spacing_daily_and_per_run_caps_hold_posts_back() {
        let spaced = config("min_spacing = \"10m\"", "");
        let (_dir, store) = store_with(&["a", "b"]);
        let script = Scripted::new(vec![ok("1"), ok("2")]);
        let report = round(&spaced, &store, &script, now(), false).await;
        assert_eq!(report.sent.len(), 1);
        assert_eq!(report.deferred[0].waiting, 1);
        // A lone post leaves nothing waiting, and the report says no delivery was held.
        let (_lone_dir, lone) = store_with(&["z"]);
        let alone = round(&spaced, &lone, &Scripted::new(vec![ok("9")]), now(), false).await;
        assert_eq!((alone.sent.len(), alone.deferred.len()), (1, 0));
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
                    due_at: None,
                    reason: None,
                }],
                ..Batch::default()
            };
            store.lock().unwrap().apply(&batch, five).unwrap();
        }
        let report = round(&spaced, &store, &script, five, false).await;
        assert!(report.sent.is_empty());
        assert!(report.deferred[0].reason.contains("min_spacing"));
        assert_eq!(store.lock().unwrap().next_due().unwrap(), Some(ten));
        // Exactly when the spacing is over, the next post goes.
        let report = round(&spaced, &store, &script, ten, false).await;
        assert_eq!(report.sent.len(), 1);

        let capped = config("daily_cap = 1", "");
        let (_dir2, store) = store_with(&["a", "b"]);
        let report = round(&capped, &store, &Scripted::new(vec![ok("1")]), now(), false).await;
        assert_eq!(report.sent.len(), 1);
        assert!(report.deferred[0].reason.contains("daily_cap"));
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
        assert!(report.deferred[0].reason.contains("per_run_cap"));
        // Held back by the guard before the second post: one delivery waits.
        assert_eq!(report.deferred[0].waiting, 1);
        assert_eq!(
            store.lock().unwrap().next_due().unwrap(),
            Some(now() + PER_RUN_CAP_PAUSE)
        );
    }

    #[tokio::test]
    async fn a_daily_cap_frees_up_when_the_oldest_post_of_the_window_turns_a_day_old() {
        let capped = config("daily_cap = 1", "");
        let (_dir, store) = store_with(&["a", "b"]);
        let script = Scripted::new(vec![ok("1"), ok("2")]);
        let report = round(&capped, &store, &script, now(), false).await;
        assert_eq!(report.sent.len(), 1);
        assert!(
            report.deferred[0]
                .reason
                .contains("daily_cap (1 posts in 24 hours)")
        );
        // Six hours on, the cap still holds "b", until "a" is 24 hours old: not 24 hours
        // from then.
        let six = now() + chrono::Duration::hours(6);
        let day = now() + chrono::Duration::hours(24);
        assert_eq!(store.lock().unwrap().next_due().unwrap(), Some(day));
        let later = day + chrono::Duration::minutes(1);
        {
            let store = store.lock().unwrap();
            let capped = &capped.channels[0];
            let held = hold_back(&store, capped, six).unwrap();
            assert_eq!(held.map(|(_, until)| until), Some(day));
            // A post older than a day no longer counts.
            assert_eq!(hold_back(&store, capped, later).unwrap(), None);
        }
        let report = round(&capped, &store, &script, later, false).await;
        assert_eq!(report.sent.len(), 1);
        assert_eq!(script.calls().len(), 2);
    }

    #[test]
    fn channel_memory_lives_in_the_state_per_channel_and_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let store = Arc::new(Mutex::new(Store::open(&path).unwrap()));
        let memory = |channel: &str, store: &Arc<Mutex<Store>>| StoreMemory {
            store: store.clone(),
            channel: channel.into(),
        };
        let x = memory("x", &store);
        assert_eq!(x.get("refresh_token"), None);
        x.set("refresh_token", "first");
        x.set("refresh_token", "rotated");
        assert_eq!(x.get("refresh_token").as_deref(), Some("rotated"));
        // Another channel has its own memory.
        assert_eq!(memory("bsky", &store).get("refresh_token"), None);
        drop((x, store));
        // A second run (a new process opening the same state) reuses what the first saved.
        let again = Arc::new(Mutex::new(Store::open(&path).unwrap()));
        assert_eq!(
            memory("x", &again).get("refresh_token").as_deref(),
            Some("rotated")
        );
    }

    /// A channel that answers after `delay`, publishing.
    struct Slow(std::time::Duration);

    #[async_trait]
    impl Channel for Slow {
        fn name(&self) -> &str {
            "fake"
        }
        fn max_length(&self) -> usize {
            500
        }
        fn count(&self, text: &str) -> usize {
            text.chars().count()
        }
        async fn publish(&self, _post: &Post) -> Result<Published, PostError> {
            tokio::time::sleep(self.0).await;
            Ok(Published {
                remote_id: Some("1".into()),
                remote_url: None,
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_attempt_is_bounded_by_four_request_timeouts() {
        let config = config("", "request_timeout = \"1s\"");
        let attempt = |delay: u64| {
            let config = &config;
            async move {
                let (dir, store) = store_with(&["a"]);
                let round = ChannelRound {
                    config: &config.channels[0],
                    announce: &config.announce,
                    channel: Box::new(Slow(std::time::Duration::from_secs(delay))),
                    store: store.clone(),
                    budget: Arc::new(AtomicUsize::new(config.announce.per_run_cap)),
                    options: DeliverOptions {
                        now: now(),
                        dry_run: false,
                    },
                    report: DeliveryReport::default(),
                };
                let report = round.run(&CancellationToken::new()).await.unwrap();
                drop(dir);
                report
            }
        };
        // A network that strings requests along for three seconds is still waited for.
        let report = attempt(3).await;
        assert_eq!((report.sent.len(), report.failed.len()), (1, 0));
        // Past four seconds the attempt is abandoned, to be retried.
        let report = attempt(5).await;
        assert_eq!((report.sent.len(), report.failed.len()), (0, 1));
        assert!(
            report.failed[0].detail.contains("no answer within 4s"),
            "{}",
            report.failed[0].detail
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
        // A reset already past is no reason to wait.
        assert_eq!(
            retry_time(1, Some(now - chrono::Duration::minutes(1)), now),
            now
        );
        // The jitter's ends, exactly.
        let secs = |attempts, jitter| backoff(attempts, jitter).num_milliseconds();
        assert_eq!(secs(1, 0.8), 48_000);
        assert_eq!(secs(1, 1.2), 72_000);
        assert_eq!(secs(3, 1.0), 240_000);
        assert_eq!(secs(40, 1.0), 21_600_000);
    }
}

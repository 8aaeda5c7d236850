//! One job: a cycle (read, record, write feeds) then the due deliveries. `crier run --once`
//! runs one job; the daemon runs one per schedule tick or watched change, and
//! [`deliver_due`] alone when a retry falls due between ticks.
//!
//! The job decides what a successful run is, once for everything that reports on runs (the
//! journal, `crier status`, `/healthz`, `/metrics`): every source was read and every document
//! parsed ([`run_outcome`]). Delivery problems do not make a run unsuccessful: a paused channel
//! or a post given up leaves the feeds current, waits for the operator rather than for another
//! cycle, and is reported on its own ([`Attention`], read from the state after each job, so that
//! every run says so for as long as it lasts, not only the run where it happened).
//!
//! The feeds are published by the cycle, before the posts go out; a delivery round that sent
//! something publishes them again, so that the links back to the new posts
//! (`syndication.json`, the JSON Feed's `_crier` object) are there at the end of the same run.
//! The feeds' ledger makes that cheap: only the files that show an announced entry change.
//! Each feed file either publication changed queues a notification to the WebSub hubs, sent
//! beside the delivery round ([`super::websub`]); a dry run queues them for the next run.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::cycle::{self, CycleOptions, CycleReport};
use super::deliver::{self, DeliverOptions, DeliveryReport};
use super::websub;
use crate::config::Config;
use crate::feeds::{self, Publication};
use crate::progress::Progress;
use crate::sources::{NoticeLevel, Notices, http};
use crate::store::outbox::DeliveryState;
use crate::store::{RunOutcome, RunRecord, SourceRead, Store, StoreError};

/// How to run a job.
#[derive(Debug, Clone, Copy)]
pub struct JobOptions {
    /// The time to act at; `None` is the clock's time when the job starts.
    pub now: Option<DateTime<Utc>>,
    /// Render and log posts, send nothing.
    pub dry_run: bool,
    /// On the first run, announce what is already published.
    pub announce_existing: bool,
    /// Read remote sources without conditional requests.
    pub full_read: bool,
    /// Counts the cycle's items per phase ([`Progress::ignored`] by default).
    pub progress: &'static Progress,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            now: None,
            dry_run: false,
            announce_existing: false,
            full_read: false,
            progress: Progress::ignored(),
        }
    }
}

/// What a job did.
#[derive(Debug)]
pub struct JobOutcome {
    /// The cycle's report.
    pub cycle: CycleReport,
    /// The delivery round, when channels are configured.
    pub delivery: Option<DeliveryReport>,
    /// What waits for the operator in the state once the job is done.
    pub attention: Attention,
}

/// The one definition of a successful run: every source was read and every document parsed.
pub fn run_outcome(cycle: &CycleReport) -> RunOutcome {
    if cycle.errors.is_empty() {
        RunOutcome::Ok
    } else {
        RunOutcome::Partial
    }
}

impl JobOutcome {
    /// How the run ended ([`run_outcome`]).
    pub fn outcome(&self) -> RunOutcome {
        run_outcome(&self.cycle)
    }

    /// Whether the run succeeded ([`run_outcome`]).
    pub fn succeeded(&self) -> bool {
        self.outcome() == RunOutcome::Ok
    }

    /// Whether something needs an operator: entry or source errors, a channel paused or a post
    /// given up, in this job or before it and not yet retried.
    pub fn needs_attention(&self) -> bool {
        !self.succeeded()
            || !self.attention.is_empty()
            || self
                .delivery
                .as_ref()
                .is_some_and(DeliveryReport::needs_attention)
    }

    /// One line for logs and systemd's status text.
    pub fn summary(&self) -> String {
        let c = &self.cycle;
        let mut line = format!(
            "{} new, {} changed, {} removed, {} errors, {} feed files written",
            c.new.len(),
            c.changed.len(),
            c.removed.len(),
            c.errors.len(),
            c.feeds_changed()
        );
        if let Some(d) = &self.delivery {
            line.push_str(&format!(
                "; {} posted, {} to retry",
                d.sent.len(),
                d.failed.len()
            ));
        }
        if !self.attention.is_empty() {
            line.push_str(&format!("; waiting for the operator: {}", self.attention));
        }
        line
    }
}

/// What waits for the operator in the state, whichever job caused it: the paused channels and
/// the deliveries given up, of the channels configured and enabled, until `crier retry`.
/// Held deliveries are not part of it: `announce.max_age` holds them on purpose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attention {
    /// Paused channels, by name.
    pub paused: Vec<String>,
    /// Deliveries given up (`dead`).
    pub given_up: usize,
}

impl Attention {
    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.paused.is_empty() && self.given_up == 0
    }

    /// Reads it from `store`. Channels no longer configured, or disabled, are left out: their
    /// rows stay in the state, but no run of this config acts on them.
    pub fn read(store: &Store, config: &Config) -> Result<Attention, StoreError> {
        let mut attention = Attention::default();
        let active = |name: &str| {
            config
                .channels
                .iter()
                .any(|c| c.common.enabled && c.common.name == name)
        };
        for channel in store.delivery_summary()? {
            if !active(&channel.channel) {
                continue;
            }
            if channel.paused.is_some() {
                attention.paused.push(channel.channel.clone());
            }
            attention.given_up += channel
                .counts
                .iter()
                .filter(|(state, _)| *state == DeliveryState::Dead)
                .map(|(_, n)| n)
                .sum::<usize>();
        }
        Ok(attention)
    }
}

/// `1 channel paused (mastodon-en), 2 deliveries given up`: only what there is.
impl fmt::Display for Attention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.paused.is_empty() {
            let n = self.paused.len();
            parts.push(format!(
                "{n} channel{} paused ({})",
                if n == 1 { "" } else { "s" },
                self.paused.join(", ")
            ));
        }
        if self.given_up > 0 {
            let n = self.given_up;
            parts.push(format!(
                "{n} deliver{} given up",
                if n == 1 { "y" } else { "ies" }
            ));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Runs a cycle and then the due deliveries. The cycle itself (file reading, SQLite) runs on
/// a blocking thread; posting is async. `stop` ends the remote reads under way at once (their
/// sources are skipped for this cycle, which then completes and records its state) and the
/// delivery round early (between posts).
pub async fn run(
    config: Arc<Config>,
    options: JobOptions,
    stop: CancellationToken,
) -> Result<JobOutcome> {
    let now = options.now.unwrap_or_else(Utc::now);
    let cycle_config = config.clone();
    let cycle_stop = stop.clone();
    let (store, report) = tokio::task::spawn_blocking(move || {
        http::stop_reads_with(&cycle_stop, || {
            record_cycle(&cycle_config, options, now, &cycle_stop)
        })
    })
    .await
    .context("the cycle's thread failed")??;
    log_report(&report);
    let store = Arc::new(Mutex::new(store));
    if config.channels.is_empty() {
        notify_hubs(config.clone(), store, now, options.dry_run, &stop).await;
        return Ok(JobOutcome {
            cycle: report,
            delivery: None,
            attention: Attention::default(),
        });
    }
    // The hubs are told beside the delivery round: neither waits for the other.
    let (delivery, ()) = tokio::join!(
        send(&config, store.clone(), now, options.dry_run, &stop),
        notify_hubs(config.clone(), store.clone(), now, options.dry_run, &stop)
    );
    let delivery = delivery?;
    if !options.dry_run
        && !delivery.sent.is_empty()
        && publish_links(config.clone(), store.clone(), now).await?
    {
        notify_hubs(config.clone(), store.clone(), now, false, &stop).await;
    }
    let attention = attention(config, store).await?;
    log_delivery(&delivery, &attention, options.dry_run);
    Ok(JobOutcome {
        cycle: report,
        delivery: Some(delivery),
        attention,
    })
}

/// Sends the deliveries that fell due between two cycles.
pub async fn deliver_due(
    config: Arc<Config>,
    now: DateTime<Utc>,
    stop: CancellationToken,
) -> Result<DeliveryReport> {
    let path = config.store.path.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&path))
        .await
        .context("the state's thread failed")??;
    let store = Arc::new(Mutex::new(store));
    let (delivered, ()) = tokio::join!(
        send(&config, store.clone(), now, false, &stop),
        notify_hubs(config.clone(), store.clone(), now, false, &stop)
    );
    let delivered = delivered?;
    if !delivered.sent.is_empty() && publish_links(config.clone(), store.clone(), now).await? {
        notify_hubs(config.clone(), store.clone(), now, false, &stop).await;
    }
    let attention = attention(config, store).await?;
    log_delivery(&delivered, &attention, false);
    Ok(delivered)
}

/// One delivery round on `store`.
async fn send(
    config: &Config,
    store: Arc<Mutex<Store>>,
    now: DateTime<Utc>,
    dry_run: bool,
    stop: &CancellationToken,
) -> Result<DeliveryReport> {
    let options = DeliverOptions { now, dry_run };
    Ok(deliver::deliver(config, store, options, stop).await?)
}

/// Publishes the feeds again after a delivery round that sent posts, for the links back to
/// them. No entry changed since the cycle: only the JSON Feeds showing an announced entry and
/// `syndication.json` are rendered. A failure is logged, not returned: the posts are out and
/// recorded, and the next cycle, finding its ledger incomplete, writes the files. Returns
/// whether hub notifications were queued for the feeds it changed.
async fn publish_links(
    config: Arc<Config>,
    store: Arc<Mutex<Store>>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let publish = tokio::task::spawn_blocking(move || {
        let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
        let publication = Publication {
            plan: None,
            fresh: Default::default(),
            entries_changed: false,
            write: true,
            accounts: cycle::syndication_accounts(&config),
            progress: Progress::ignored(),
        };
        let files = feeds::publish(&config.site, &config.feeds, &mut store, publication)?;
        let queued = queue_hub_pings(&config, &mut store, &files, now);
        Ok::<_, feeds::PublishError>((files, queued))
    });
    match publish.await.context("the feeds' thread failed")? {
        Ok((files, queued)) => {
            let written = files.iter().filter(|f| f.changed).count();
            tracing::debug!(
                feeds_written = written,
                "feeds published again for the links back to the posts"
            );
            Ok(queued > 0)
        }
        Err(error) => {
            tracing::error!(
                %error,
                "the links back to the posts just sent could not be written; the next cycle writes them"
            );
            Ok(false)
        }
    }
}

/// Queues the WebSub notifications of the changed feed `files`; how many feeds were queued.
/// A failure is logged: the feeds are written, only their hubs go untold.
fn queue_hub_pings(
    config: &Config,
    store: &mut Store,
    files: &[feeds::FeedFile],
    now: DateTime<Utc>,
) -> usize {
    websub::queue_changed(config, store, files, now).unwrap_or_else(|error| {
        tracing::error!(%error, "the hubs' notifications of the changed feeds could not be queued; the next change of each feed notifies them");
        0
    })
}

/// Sends the due WebSub notifications; a dry run sends none and leaves them for the next run.
/// A failure of the state is logged, not returned: the feeds and the posts do not depend on it.
async fn notify_hubs(
    config: Arc<Config>,
    store: Arc<Mutex<Store>>,
    now: DateTime<Utc>,
    dry_run: bool,
    stop: &CancellationToken,
) {
    if dry_run {
        if config.feeds.websub.is_on() {
            tracing::info!("dry run: no hub notified; the notifications wait for the next run");
        }
        return;
    }
    match websub::notify_due(config, store, now, stop).await {
        Ok(report) if report == websub::HubReport::default() => {}
        Ok(report) => tracing::info!(
            notified = report.sent,
            to_retry = report.retrying,
            given_up = report.given_up,
            unanswered = report.unanswered,
            "hub notifications done"
        ),
        Err(error) => {
            tracing::error!(%error, "the hubs could not be notified; the next run tries again")
        }
    }
}

/// What waits for the operator in `store` after a delivery round.
async fn attention(config: Arc<Config>, store: Arc<Mutex<Store>>) -> Result<Attention> {
    let read = tokio::task::spawn_blocking(move || {
        let store = store.lock().unwrap_or_else(PoisonError::into_inner);
        Attention::read(&store, &config)
    });
    Ok(read.await.context("the state's thread failed")??)
}

/// The cycle, its journal entry and the health of each source's read. A cycle that `stop`
/// cut short records no read health: its reads were given up, the sources did not fail.
fn record_cycle(
    config: &Config,
    options: JobOptions,
    now: DateTime<Utc>,
    stop: &CancellationToken,
) -> Result<(Store, CycleReport)> {
    let started = Utc::now();
    let mut store = Store::open(&config.store.path)?;
    let cycle_options = CycleOptions {
        now,
        write_feeds: true,
        announce_existing: options.announce_existing,
        full_read: options.full_read,
        progress: options.progress,
    };
    let report = match cycle::run(config, &mut store, cycle_options) {
        Ok(report) => {
            // Queued before anything else can fail: the feeds are written, their hubs must hear.
            queue_hub_pings(config, &mut store, &report.feeds, now);
            report
        }
        Err(e) => {
            let run = RunRecord {
                started_at: started,
                finished_at: Utc::now(),
                outcome: RunOutcome::Failed,
                message: Some(e.to_string()),
                ..RunRecord::default()
            };
            if let Err(journal) = store.record_run(&run) {
                tracing::warn!(error = %journal, "could not journal the failed run");
            }
            return Err(e.into());
        }
    };
    let run = RunRecord {
        started_at: started,
        finished_at: Utc::now(),
        outcome: run_outcome(&report),
        baseline: report.baseline,
        new: report.new.len(),
        changed: report.changed.len(),
        removed: report.removed.len(),
        scheduled: report.scheduled.len(),
        errors: report.errors.len(),
        feeds_written: report.feeds_changed(),
        message: report.errors.first().cloned(),
    };
    store
        .record_run(&run)
        .context("the cycle completed but could not be journaled")?;
    if !stop.is_cancelled() {
        let reads: Vec<SourceRead> = config
            .sources
            .iter()
            .map(|source| SourceRead {
                source: source.name().to_owned(),
                error: report
                    .failed_sources
                    .iter()
                    .find(|failed| failed.source == source.name())
                    .map(|failed| failed.error.clone()),
            })
            .collect();
        store
            .record_source_reads(&reads, now)
            .context("the cycle completed but its sources' health could not be recorded")?;
    }
    Ok((store, report))
}

/// The round's numbers, then what waits for the operator (`paused_channels` counts the
/// channels paused now, whichever round paused them).
fn log_delivery(report: &DeliveryReport, attention: &Attention, dry_run: bool) {
    if dry_run {
        tracing::info!(posts = report.rendered.len(), "dry run: nothing was sent");
    } else {
        tracing::info!(
            sent = report.sent.len(),
            failed = report.failed.len(),
            given_up = report.dead.len(),
            paused_channels = attention.paused.len(),
            waiting = report.deferred.iter().map(|d| d.waiting).sum::<usize>(),
            "delivery finished"
        );
    }
    if !attention.is_empty() {
        tracing::warn!(
            "waiting for the operator: {attention}; `crier status` says why, and `crier retry` sends them again once fixed"
        );
    }
}

fn log_report(report: &CycleReport) {
    if report.baseline {
        tracing::info!(
            entries = report.baseline_entries,
            "first run: baseline recorded, existing entries are not new"
        );
    }
    for e in &report.new {
        tracing::info!(entry_id = %e.id, title = %e.title, url = %e.url, "new entry");
    }
    for e in &report.changed {
        tracing::info!(entry_id = %e.id, title = %e.title, "entry changed");
    }
    for e in &report.restored {
        tracing::info!(entry_id = %e.id, title = %e.title, "entry restored");
    }
    for id in &report.removed {
        tracing::info!(entry_id = %id, "entry removed");
    }
    // Held by `announce.max_age`: on a first run with `--announce-existing` that can be every
    // entry, so each channel gets one line with a count and the first entries.
    let mut held = Notices::default();
    for d in &report.queued {
        match &d.reason {
            None => {
                tracing::info!(entry_id = %d.entry_id, channel = %d.channel, "announcement queued")
            }
            // The entry's own choice (a time, a channel left out) is no problem to warn of.
            Some(reason) if d.state == DeliveryState::Pending => {
                tracing::info!(entry_id = %d.entry_id, channel = %d.channel, reason, "announcement queued")
            }
            Some(reason) if cycle::is_held_by_entry(reason) => {
                tracing::info!(entry_id = %d.entry_id, channel = %d.channel, reason, "announcement held by its entry")
            }
            Some(reason) if cycle::is_held_by_max_age(reason) => held.add(
                NoticeLevel::Warning,
                format!(
                    "announcement held on channel {}: published longer ago than \
                     announce.max_age; `crier retry --entry ID` sends one anyway",
                    d.channel
                ),
                d.entry_id.clone(),
            ),
            // Any other hold is one entry's own story: its reason, as the delivery keeps it.
            Some(reason) => {
                tracing::warn!(entry_id = %d.entry_id, channel = %d.channel, reason, "announcement held")
            }
        }
    }
    for (_, line) in held.lines() {
        tracing::warn!("{line}");
    }
    tracing::info!(
        new = report.new.len(),
        changed = report.changed.len(),
        removed = report.removed.len(),
        scheduled = report.scheduled.len(),
        unchanged = report.unchanged,
        errors = report.errors.len(),
        feeds_written = report.feeds_changed(),
        "cycle finished"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::deliver::DeliveryOutcome;

    fn sent(channel: &str) -> DeliveryOutcome {
        DeliveryOutcome {
            channel: channel.into(),
            entry_id: "e".into(),
            detail: "https://m.example/1".into(),
        }
    }

    #[test]
    fn a_run_with_an_unread_source_is_partial_and_needs_attention() {
        let outcome = JobOutcome {
            cycle: CycleReport {
                errors: vec!["source \"remote\": HTTP 500".into()],
                ..CycleReport::default()
            },
            delivery: None,
            attention: Attention::default(),
        };
        assert_eq!(outcome.outcome(), RunOutcome::Partial);
        assert!(!outcome.succeeded());
        assert!(outcome.needs_attention());
        assert_eq!(
            outcome.summary(),
            "0 new, 0 changed, 0 removed, 1 errors, 0 feed files written"
        );
    }

    /// A channel paused by an earlier run used to leave later runs at exit 0, their summary
    /// saying "0 channels paused": what the state holds now is what they report.
    #[test]
    fn a_channel_paused_earlier_keeps_the_run_needing_attention_and_the_summary_says_so() {
        let outcome = JobOutcome {
            cycle: CycleReport::default(),
            delivery: Some(DeliveryReport {
                sent: vec![sent("bluesky")],
                ..DeliveryReport::default()
            }),
            attention: Attention {
                paused: vec!["mastodon-en".into()],
                given_up: 2,
            },
        };
        assert!(outcome.succeeded(), "delivery problems are no failed run");
        assert!(outcome.needs_attention());
        assert_eq!(
            outcome.summary(),
            "0 new, 0 changed, 0 removed, 0 errors, 0 feed files written; 1 posted, 0 to retry; \
             waiting for the operator: 1 channel paused (mastodon-en), 2 deliveries given up"
        );
        let quiet = JobOutcome {
            attention: Attention::default(),
            ..outcome
        };
        assert!(!quiet.needs_attention());
        assert!(quiet.summary().ends_with("; 1 posted, 0 to retry"));
    }

    #[test]
    fn attention_names_only_what_there_is() {
        let one = Attention {
            paused: Vec::new(),
            given_up: 1,
        };
        assert_eq!(one.to_string(), "1 delivery given up");
        let two = Attention {
            paused: vec!["a".into(), "b".into()],
            given_up: 0,
        };
        assert_eq!(two.to_string(), "2 channels paused (a, b)");
        assert!(Attention::default().is_empty());
    }

    #[test]
    fn attention_reads_the_enabled_configured_channels_of_the_state() {
        use crate::store::Batch;
        use crate::store::outbox::NewDelivery;
        let text = r#"
[site]
title = "T"
base_url = "https://example.org"
[[sources]]
type = "directory"
path = "c"
[[channels]]
type = "mastodon"
name = "masto"
base_url = "https://m.example"
access_token = { env = "T" }
[[channels]]
type = "mastodon"
name = "off"
enabled = false
base_url = "https://m.example"
access_token = { env = "T" }
"#;
        let config = Config::parse(text, std::path::Path::new("c.toml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let now = Utc::now();
        let queued = |entry: &str, channel: &str| NewDelivery {
            entry_id: entry.into(),
            channel: channel.into(),
            state: DeliveryState::Pending,
            queued_at: now,
            due_at: None,
            reason: None,
        };
        let deliveries = ["masto", "off", "removed"]
            .iter()
            .flat_map(|channel| [queued("a", channel), queued("b", channel)])
            .collect();
        store
            .apply(
                &Batch {
                    deliveries,
                    ..Batch::default()
                },
                now,
            )
            .unwrap();
        assert!(Attention::read(&store, &config).unwrap().is_empty());
        for channel in ["masto", "off", "removed"] {
            for delivery in store.due_deliveries(channel, now).unwrap() {
                store.mark_dead(delivery.id, "refused", now).unwrap();
            }
            store.pause_channel(channel, "token expired", now).unwrap();
        }
        assert_eq!(
            Attention::read(&store, &config).unwrap(),
            Attention {
                paused: vec!["masto".into()],
                given_up: 2,
            }
        );
    }
}

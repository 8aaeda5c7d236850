//! One job: a cycle (read, record, write feeds) then the due deliveries. `crier run --once`
//! runs one job; the daemon runs one per schedule tick or watched change, and
//! [`deliver_due`] alone when a retry falls due between ticks.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::cycle::{self, CycleOptions, CycleReport};
use super::deliver::{self, DeliverOptions, DeliveryReport};
use crate::config::Config;
use crate::sources::http;
use crate::store::{RunRecord, Store};

/// How to run a job.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobOptions {
    /// The time to act at; `None` is the clock's time when the job starts.
    pub now: Option<DateTime<Utc>>,
    /// Render and log posts, send nothing.
    pub dry_run: bool,
    /// On the first run, announce what is already published.
    pub announce_existing: bool,
    /// Read remote sources without conditional requests.
    pub full_read: bool,
}

/// What a job did.
#[derive(Debug)]
pub struct JobOutcome {
    /// The cycle's report.
    pub cycle: CycleReport,
    /// The delivery round, when channels are configured.
    pub delivery: Option<DeliveryReport>,
}

impl JobOutcome {
    /// Whether something needs an operator: entry or source errors, a paused channel, a post
    /// given up.
    pub fn needs_attention(&self) -> bool {
        !self.cycle.errors.is_empty()
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
                "; {} posted, {} to retry, {} given up, {} channels paused",
                d.sent.len(),
                d.failed.len(),
                d.dead.len(),
                d.paused.len()
            ));
        }
        line
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
        http::stop_reads_with(&cycle_stop, || record_cycle(&cycle_config, options, now))
    })
    .await
    .context("the cycle's thread failed")??;
    log_report(&report);
    let delivery = if config.channels.is_empty() {
        None
    } else {
        Some(send(&config, store, now, options.dry_run, &stop).await?)
    };
    Ok(JobOutcome {
        cycle: report,
        delivery,
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
    send(&config, store, now, false, &stop).await
}

/// One delivery round on `store`, logged.
async fn send(
    config: &Config,
    store: Store,
    now: DateTime<Utc>,
    dry_run: bool,
    stop: &CancellationToken,
) -> Result<DeliveryReport> {
    let options = DeliverOptions { now, dry_run };
    let delivered = deliver::deliver(config, Arc::new(Mutex::new(store)), options, stop).await?;
    log_delivery(&delivered, dry_run);
    Ok(delivered)
}

/// The cycle and its journal entry.
fn record_cycle(
    config: &Config,
    options: JobOptions,
    now: DateTime<Utc>,
) -> Result<(Store, CycleReport)> {
    let started = Utc::now();
    let mut store = Store::open(&config.store.path)?;
    let cycle_options = CycleOptions {
        now,
        write_feeds: true,
        announce_existing: options.announce_existing,
        full_read: options.full_read,
    };
    let report = match cycle::run(config, &mut store, cycle_options) {
        Ok(report) => report,
        Err(e) => {
            let run = RunRecord {
                started_at: started,
                finished_at: Utc::now(),
                outcome: "failed".into(),
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
        outcome: if report.errors.is_empty() {
            "ok"
        } else {
            "partial"
        }
        .into(),
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
    Ok((store, report))
}

fn log_delivery(report: &DeliveryReport, dry_run: bool) {
    if dry_run {
        tracing::info!(posts = report.rendered.len(), "dry run: nothing was sent");
        return;
    }
    tracing::info!(
        sent = report.sent.len(),
        failed = report.failed.len(),
        given_up = report.dead.len(),
        paused_channels = report.paused.len(),
        waiting = report.deferred.iter().map(|d| d.waiting).sum::<usize>(),
        "delivery finished"
    );
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
    for d in &report.queued {
        match &d.reason {
            None => {
                tracing::info!(entry_id = %d.entry_id, channel = %d.channel, "announcement queued")
            }
            Some(reason) => {
                tracing::warn!(entry_id = %d.entry_id, channel = %d.channel, reason, "announcement held")
            }
        }
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

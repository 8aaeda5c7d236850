//! `crier status`: the state database read without writing (entry counts, the runs, each
//! source's health, the deliveries per channel and the ones waiting, the hub notifications),
//! gathered into a [`StatusReport`] that renders as text or as JSON.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::sources;
use crate::store::outbox::DeliveryState;
use crate::store::{EntryStatus, RunRecord, SourceHealth, Store, StoreError};

/// Everything `crier status` shows. Its fields are the JSON schema (see `docs/OPERATIONS.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    /// The schema version, [`super::VERSION`].
    pub version: u32,
    /// The state database's path.
    pub state: String,
    /// Whether the state database exists (false before the first run; the rest is empty then).
    pub state_exists: bool,
    /// Whether the state's schema is this crier's; an older one has no deliveries to show
    /// until the next `crier run` upgrades it.
    pub schema_current: bool,
    /// Entries by status.
    pub entries: EntryCounts,
    /// When the baseline was recorded.
    pub baseline_at: Option<String>,
    /// Runs recorded.
    pub runs: usize,
    /// The most recent run.
    pub last_run: Option<LastRun>,
    /// When the most recent successful run ended.
    pub last_success: Option<String>,
    /// Each configured source, in config order.
    pub sources: Vec<SourceStatus>,
    /// Deliveries per channel, for the channels that have any or are paused.
    pub channels: Vec<ChannelStatus>,
    /// Every delivery not yet sent, by channel then age.
    pub deliveries: Vec<WaitingDelivery>,
    /// Whether `[feeds.websub]` names hubs to notify.
    pub websub: bool,
    /// WebSub notifications waiting or given up, per hub.
    pub hubs: Vec<HubStatus>,
}

/// Entries by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EntryCounts {
    /// Published and in the feeds.
    pub live: usize,
    /// Dated in the future, waiting.
    pub scheduled: usize,
    /// Withdrawn.
    pub removed: usize,
}

/// The most recent run, from the state's journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastRun {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How long it took, in seconds.
    pub duration_seconds: f64,
    /// `ok`, `partial` or `failed`.
    pub outcome: String,
    /// Whether it recorded the baseline.
    pub baseline: bool,
    /// Entries published for the first time.
    pub new: usize,
    /// Live entries edited.
    pub changed: usize,
    /// Entries withdrawn.
    pub removed: usize,
    /// Entries waiting for their date.
    pub scheduled: usize,
    /// Documents or sources that failed.
    pub errors: usize,
    /// Feed files rewritten.
    pub feeds_written: usize,
    /// The run's message (its first error, say).
    pub message: Option<String>,
}

impl From<&RunRecord> for LastRun {
    fn from(r: &RunRecord) -> LastRun {
        LastRun {
            started_at: r.started_at,
            finished_at: r.finished_at,
            duration_seconds: (r.finished_at - r.started_at).num_milliseconds() as f64 / 1000.0,
            outcome: r.outcome.as_str().to_owned(),
            baseline: r.baseline,
            new: r.new,
            changed: r.changed,
            removed: r.removed,
            scheduled: r.scheduled,
            errors: r.errors,
            feeds_written: r.feeds_written,
            message: r.message.clone(),
        }
    }
}

/// One configured source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceStatus {
    /// Its name.
    pub name: String,
    /// Its `type`: `directory`, `json`, `feed` or `html`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its live entries.
    pub live_entries: usize,
    /// For a remote source, what it keeps between reads; `null` for a directory.
    pub remote: Option<RemoteStatus>,
    /// Its reads, once it has been read.
    pub health: Option<SourceReads>,
}

/// What a remote source keeps between reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteStatus {
    /// URLs whose HTTP validators (ETag, Last-Modified) are kept.
    pub validators: usize,
    /// When it was last read in full.
    pub last_full_read: Option<String>,
}

/// A source's reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceReads {
    /// When it was last read successfully.
    pub last_success: Option<DateTime<Utc>>,
    /// Whether its last read failed.
    pub failing: bool,
    /// When the current run of failed reads began.
    pub failing_since: Option<DateTime<Utc>>,
    /// Failed reads in a row.
    pub failures: u64,
    /// Failed reads in all.
    pub errors_total: u64,
    /// The last failed read's error, while it fails.
    pub last_error: Option<String>,
}

impl From<&SourceHealth> for SourceReads {
    fn from(h: &SourceHealth) -> SourceReads {
        SourceReads {
            last_success: h.last_success,
            failing: h.is_failing(),
            failing_since: h.failing_since,
            failures: h.failures,
            errors_total: h.errors_total,
            last_error: h.last_error.clone(),
        }
    }
}

/// One channel's deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelStatus {
    /// The channel's name.
    pub name: String,
    /// Deliveries per state.
    pub counts: DeliveryCounts,
    /// Why the channel is paused (what to fix); `null` when it is not.
    pub paused: Option<String>,
    /// The most recent error of a failed or given-up delivery.
    pub last_error: Option<String>,
}

/// Deliveries per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryCounts {
    /// Waiting to be sent.
    pub pending: usize,
    /// A request may have been in flight.
    pub sending: usize,
    /// Published.
    pub sent: usize,
    /// Failed, to be retried.
    pub failed: usize,
    /// Given up (`crier retry` re-queues them).
    pub dead: usize,
    /// Kept back by a flood guard or the entry's own control.
    pub held: usize,
}

impl DeliveryCounts {
    /// The states in the order a delivery goes through them.
    const STATES: [DeliveryState; 6] = [
        DeliveryState::Pending,
        DeliveryState::Sending,
        DeliveryState::Sent,
        DeliveryState::Failed,
        DeliveryState::Dead,
        DeliveryState::Held,
    ];

    /// The counter of `state`.
    fn of(&mut self, state: DeliveryState) -> &mut usize {
        match state {
            DeliveryState::Pending => &mut self.pending,
            DeliveryState::Sending => &mut self.sending,
            DeliveryState::Sent => &mut self.sent,
            DeliveryState::Failed => &mut self.failed,
            DeliveryState::Dead => &mut self.dead,
            DeliveryState::Held => &mut self.held,
        }
    }

    /// The states with deliveries and their counts, in [`Self::STATES`] order.
    fn nonzero(mut self) -> Vec<(DeliveryState, usize)> {
        Self::STATES
            .into_iter()
            .map(|state| (state, *self.of(state)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// A delivery not yet sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitingDelivery {
    /// The channel.
    pub channel: String,
    /// The entry announced.
    pub entry_id: String,
    /// `pending`, `sending`, `failed`, `dead` or `held`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Why it was held or given up, or its last failure.
    pub reason: Option<String>,
}

/// One hub's notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubStatus {
    /// The hub's URL.
    pub hub: String,
    /// Notifications waiting.
    pub pending: usize,
    /// Notifications given up.
    pub given_up: usize,
    /// When the next one is due.
    pub next_due: Option<DateTime<Utc>>,
    /// The most recent failed attempt's error.
    pub last_error: Option<String>,
}

/// Reads the state at `config.store.path` without writing (an absent state is reported so).
pub fn gather(config: &Config) -> Result<StatusReport, StoreError> {
    let path = &config.store.path;
    let mut report = StatusReport {
        version: super::VERSION,
        state: path.display().to_string(),
        state_exists: false,
        schema_current: false,
        entries: EntryCounts::default(),
        baseline_at: None,
        runs: 0,
        last_run: None,
        last_success: None,
        sources: Vec::new(),
        channels: Vec::new(),
        deliveries: Vec::new(),
        websub: config.feeds.websub.is_on(),
        hubs: Vec::new(),
    };
    let Some(store) = Store::open_read_only(path)? else {
        return Ok(report);
    };
    report.state_exists = true;
    let counts = store.status()?;
    report.entries = EntryCounts {
        live: counts.live,
        scheduled: counts.scheduled,
        removed: counts.removed,
    };
    report.baseline_at = counts.baseline_at;
    report.runs = counts.runs;
    report.last_run = counts.last_run.as_ref().map(LastRun::from);
    report.last_success = counts.last_success;
    report.sources = gather_sources(config, &store)?;
    report.schema_current = store.schema_is_current()?;
    if !report.schema_current {
        return Ok(report);
    }
    report.channels = store
        .delivery_summary()?
        .into_iter()
        .map(|c| {
            let mut counts = DeliveryCounts::default();
            for (state, n) in c.counts {
                *counts.of(state) += n;
            }
            ChannelStatus {
                name: c.channel,
                counts,
                paused: c.paused,
                last_error: c.last_error,
            }
        })
        .collect();
    report.deliveries = store
        .deliveries()?
        .into_iter()
        .filter(|d| d.state != DeliveryState::Sent)
        .map(|d| WaitingDelivery {
            channel: d.channel,
            entry_id: d.entry_id,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            queued_at: d.queued_at,
            due_at: d.due_at,
            reason: d.last_error,
        })
        .collect();
    report.hubs = store
        .hub_summary()?
        .into_iter()
        .map(|h| HubStatus {
            hub: h.hub,
            pending: h.pending,
            given_up: h.given_up,
            next_due: h.next_due,
            last_error: h.last_error,
        })
        .collect();
    Ok(report)
}

/// Each configured source's live entries, what a remote one keeps, and its reads.
fn gather_sources(config: &Config, store: &Store) -> Result<Vec<SourceStatus>, StoreError> {
    let health = store.source_health()?;
    let mut out = Vec::with_capacity(config.sources.len());
    for source in &config.sources {
        let name = source.name();
        let live_entries = store
            .entries_of_source(name)?
            .iter()
            .filter(|e| e.status == EntryStatus::Live)
            .count();
        let remote = match source.http() {
            Some(_) => Some(RemoteStatus {
                validators: sources::cache_from_json(store.source_cache(name)?.as_deref()).len(),
                last_full_read: store.source_full_read(name)?,
            }),
            None => None,
        };
        out.push(SourceStatus {
            name: name.to_owned(),
            kind: source.kind().to_owned(),
            live_entries,
            remote,
            health: health
                .iter()
                .find(|h| h.source == name)
                .map(SourceReads::from),
        });
    }
    Ok(out)
}

/// The report as text, as `crier status` prints it.
pub fn render_text(report: &StatusReport, out: &mut dyn Write) -> std::io::Result<()> {
    if !report.state_exists {
        return writeln!(
            out,
            "no state yet at {}: run `crier run --once` to record the baseline",
            report.state
        );
    }
    writeln!(out, "state: {}", report.state)?;
    render_runs(report, out)?;
    render_sources(&report.sources, out)?;
    if !report.schema_current {
        return writeln!(
            out,
            "deliveries: the state was written by an older crier; the next `crier run` upgrades it"
        );
    }
    render_channels(&report.channels, out)?;
    render_hubs(report, out)
}

/// The entry counts, baseline, and last run and last successful run.
fn render_runs(s: &StatusReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "entries: {} live, {} scheduled, {} removed",
        s.entries.live, s.entries.scheduled, s.entries.removed
    )?;
    writeln!(
        out,
        "baseline: {}",
        s.baseline_at.as_deref().unwrap_or("not recorded yet")
    )?;
    writeln!(out, "runs: {}", s.runs)?;
    match &s.last_run {
        Some(r) => {
            writeln!(
                out,
                "last run: {} ({}, {:.1}s): {} new, {} changed, {} removed, {} scheduled, {} errors, {} feed files written",
                r.finished_at.to_rfc3339(),
                r.outcome,
                r.duration_seconds,
                r.new,
                r.changed,
                r.removed,
                r.scheduled,
                r.errors,
                r.feeds_written
            )?;
            if let Some(m) = &r.message {
                writeln!(out, "last run message: {m}")?;
            }
        }
        None => writeln!(out, "last run: none")?,
    }
    writeln!(
        out,
        "last successful run: {}",
        s.last_success.as_deref().unwrap_or("none")
    )
}

/// A line per source: its live entries and, for a remote source, the validators kept and the
/// last full read; then, for a source whose last read failed, its run of failures.
fn render_sources(sources: &[SourceStatus], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "sources:")?;
    for source in sources {
        let mut line = format!(
            "  {} ({}): {} live entries",
            source.name, source.kind, source.live_entries
        );
        if let Some(remote) = &source.remote {
            line.push_str(&format!(
                "; validators kept for {} URL{}; last full read {}",
                remote.validators,
                if remote.validators == 1 { "" } else { "s" },
                remote.last_full_read.as_deref().unwrap_or("never")
            ));
        }
        writeln!(out, "{line}")?;
        if let Some(failing) = source.health.as_ref().filter(|h| h.failing) {
            render_failing(failing, out)?;
        }
    }
    Ok(())
}

/// A failing source's run of failed reads, its last successful read and its last error.
fn render_failing(health: &SourceReads, out: &mut dyn Write) -> std::io::Result<()> {
    let time = |t: Option<DateTime<Utc>>| t.map_or("never".to_owned(), |t| t.to_rfc3339());
    writeln!(
        out,
        "    FAILING: {} read{} in a row since {}; last successful read {}",
        health.failures,
        if health.failures == 1 { "" } else { "s" },
        time(health.failing_since),
        time(health.last_success)
    )?;
    if let Some(error) = &health.last_error {
        writeln!(out, "    last error: {error}")?;
    }
    Ok(())
}

/// The deliveries per channel and state, with a paused channel's reason and what to run once
/// it is fixed, and the channel's last error.
fn render_channels(channels: &[ChannelStatus], out: &mut dyn Write) -> std::io::Result<()> {
    if !channels.is_empty() {
        writeln!(out, "deliveries:")?;
    }
    for c in channels {
        let counts: Vec<String> = c
            .counts
            .nonzero()
            .into_iter()
            .map(|(state, n)| format!("{n} {}", state.as_str()))
            .collect();
        writeln!(out, "  {}: {}", c.name, counts.join(", "))?;
        if let Some(reason) = &c.paused {
            writeln!(
                out,
                "    PAUSED: {reason}\n    (fix it, then `crier retry --channel {}`)",
                c.name
            )?;
        }
        if let Some(error) = &c.last_error {
            writeln!(out, "    last error: {error}")?;
        }
    }
    Ok(())
}

/// The WebSub notifications per hub: waiting, given up, the next due and the last error.
fn render_hubs(report: &StatusReport, out: &mut dyn Write) -> std::io::Result<()> {
    if report.hubs.is_empty() {
        if report.websub {
            writeln!(out, "hub notifications: none waiting")?;
        }
        return Ok(());
    }
    writeln!(out, "hub notifications:")?;
    for hub in &report.hubs {
        let next = hub
            .next_due
            .map(|at| format!(" (next {})", at.to_rfc3339()))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}: {} pending{next}, {} given up",
            hub.hub, hub.pending, hub.given_up
        )?;
        if let Some(error) = &hub.last_error {
            writeln!(out, "    last error: {error}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_counts_show_in_the_order_a_delivery_goes() {
        let counts = DeliveryCounts {
            held: 2,
            pending: 1,
            sent: 3,
            ..DeliveryCounts::default()
        };
        assert_eq!(
            counts.nonzero(),
            [
                (DeliveryState::Pending, 1),
                (DeliveryState::Sent, 3),
                (DeliveryState::Held, 2)
            ]
        );
    }

    #[test]
    fn status_text_and_json_come_from_one_report() {
        let report = StatusReport {
            version: 1,
            state: "/s/crier.sqlite3".into(),
            state_exists: true,
            schema_current: true,
            entries: EntryCounts {
                live: 3,
                scheduled: 1,
                removed: 0,
            },
            baseline_at: Some("2024-06-01T12:00:00.000000Z".into()),
            runs: 1,
            last_run: None,
            last_success: None,
            sources: Vec::new(),
            channels: vec![ChannelStatus {
                name: "mastodon".into(),
                counts: DeliveryCounts {
                    pending: 1,
                    ..DeliveryCounts::default()
                },
                paused: Some("token refused".into()),
                last_error: None,
            }],
            deliveries: Vec::new(),
            websub: false,
            hubs: Vec::new(),
        };
        let mut text = Vec::new();
        render_text(&report, &mut text).expect("writing to a Vec");
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.contains("entries: 3 live, 1 scheduled, 0 removed"),
            "{text}"
        );
        assert!(
            text.contains("  mastodon: 1 pending\n    PAUSED: token refused"),
            "{text}"
        );
        let json = serde_json::to_value(&report).expect("a report serialises");
        assert_eq!(json["entries"]["live"], 3);
        assert_eq!(json["channels"][0]["counts"]["pending"], 1);
        assert_eq!(json["channels"][0]["paused"], "token refused");
    }
}

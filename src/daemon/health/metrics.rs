//! `/metrics` in the Prometheus text exposition format (version 0.0.4):
//! <https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>.
//!
//! Gauges read from the state database are written for every state, zeros included, so that a
//! series does not vanish when its count drops to zero. The sources' error counters come from
//! the state database too, so they count since the state was created, across restarts.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::Snapshot;
use crate::store::outbox::{ChannelSummary, DeliveryState};
use crate::store::{HubSummary, SourceHealth, Status, parse_timestamp};

/// Upper bounds of the cycle duration buckets, in seconds: a quiet site takes well under a
/// second, a large first run with announcements a few minutes.
const BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

const DELIVERY_STATES: [DeliveryState; 6] = [
    DeliveryState::Pending,
    DeliveryState::Sending,
    DeliveryState::Sent,
    DeliveryState::Failed,
    DeliveryState::Dead,
    DeliveryState::Held,
];

/// Cycle durations, counted per bucket (not cumulative; rendering accumulates).
#[derive(Debug, Clone, Default)]
pub(super) struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    pub(super) fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|&le| seconds <= le) {
            self.buckets[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// What was read from the state database for this scrape.
pub(super) enum Stored {
    /// Counts, channels and the sources' read health.
    Read {
        status: Box<Status>,
        channels: Vec<ChannelSummary>,
        sources: Vec<SourceHealth>,
        /// WebSub notifications per hub: every configured hub, and any with rows left.
        hubs: Vec<HubSummary>,
    },
    /// No database yet: no entries, no deliveries.
    Missing,
    /// It could not be read (logged by the caller).
    Failed,
}

/// The whole exposition: the daemon's own families, then those read from the state database
/// (left out when it could not be read).
pub(super) fn render(snapshot: &Snapshot, stored: &Stored) -> String {
    let mut out = Exposition::default();
    out.cycles(snapshot);
    out.durations(&snapshot.durations);
    out.running(snapshot);
    out.last_success(snapshot, stored);
    out.state_readable(stored);
    let missing = Status::default();
    let (status, channels, sources, hubs) = match stored {
        Stored::Read {
            status,
            channels,
            sources,
            hubs,
        } => (
            status.as_ref(),
            channels.as_slice(),
            sources.as_slice(),
            hubs.as_slice(),
        ),
        Stored::Missing => (&missing, &[][..], &[][..], &[][..]),
        Stored::Failed => return out.text,
    };
    out.entries(status);
    out.deliveries(channels);
    out.paused(channels);
    out.source_errors(sources);
    out.source_last_success(sources);
    out.hub_notifications(hubs);
    out.text
}

/// The exposition being written: one method per metric family, over the two line writers.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn cycles(&mut self, snapshot: &Snapshot) {
        self.family(
            "crier_cycles_total",
            "counter",
            "Cycles finished since the daemon started, by outcome (ok: every source read and every document parsed).",
        );
        self.sample(
            "crier_cycles_total",
            &[("outcome", "ok")],
            snapshot.ok as f64,
        );
        self.sample(
            "crier_cycles_total",
            &[("outcome", "partial")],
            snapshot.partial as f64,
        );
        self.sample(
            "crier_cycles_total",
            &[("outcome", "failed")],
            snapshot.failed as f64,
        );
    }

    fn durations(&mut self, h: &Histogram) {
        self.family(
            "crier_cycle_duration_seconds",
            "histogram",
            "Duration of the cycles finished since the daemon started.",
        );
        let mut cumulative = 0;
        for (le, count) in BUCKETS.iter().zip(h.buckets) {
            cumulative += count;
            self.sample(
                "crier_cycle_duration_seconds_bucket",
                &[("le", &le.to_string())],
                cumulative as f64,
            );
        }
        self.sample(
            "crier_cycle_duration_seconds_bucket",
            &[("le", "+Inf")],
            h.count as f64,
        );
        self.sample("crier_cycle_duration_seconds_sum", &[], h.sum);
        self.sample("crier_cycle_duration_seconds_count", &[], h.count as f64);
    }

    fn running(&mut self, snapshot: &Snapshot) {
        self.family(
            "crier_cycle_running",
            "gauge",
            "1 while a cycle is running, 0 between cycles.",
        );
        let running = if snapshot.running_since.is_some() {
            1.0
        } else {
            0.0
        };
        self.sample("crier_cycle_running", &[], running);
    }

    fn last_success(&mut self, snapshot: &Snapshot, stored: &Stored) {
        // The daemon's own report or the journal, whichever is later: the journal covers the
        // time before this process's first cycle.
        let journal_success = match stored {
            Stored::Read { status, .. } => status.last_success.as_deref().and_then(parse_timestamp),
            _ => None,
        };
        self.family(
            "crier_last_success_timestamp_seconds",
            "gauge",
            "Unix time at which the last successful cycle ended: every source read and every document parsed (absent until there is one).",
        );
        if let Some(at) = snapshot.last_success.max(journal_success) {
            self.sample("crier_last_success_timestamp_seconds", &[], seconds(at));
        }
    }

    fn state_readable(&mut self, stored: &Stored) {
        self.family(
            "crier_state_readable",
            "gauge",
            "1 when the state database could be read for this scrape (or does not exist yet), 0 otherwise.",
        );
        let readable = if matches!(stored, Stored::Failed) {
            0.0
        } else {
            1.0
        };
        self.sample("crier_state_readable", &[], readable);
    }

    fn entries(&mut self, status: &Status) {
        self.family(
            "crier_entries",
            "gauge",
            "Entries in the state database, by state.",
        );
        for (state, count) in [
            ("live", status.live),
            ("scheduled", status.scheduled),
            ("removed", status.removed),
        ] {
            self.sample("crier_entries", &[("state", state)], count as f64);
        }
    }

    fn deliveries(&mut self, channels: &[ChannelSummary]) {
        self.family(
            "crier_deliveries",
            "gauge",
            "Deliveries in the outbox, by channel and state.",
        );
        for channel in channels {
            for state in DELIVERY_STATES {
                let count = channel
                    .counts
                    .iter()
                    .find(|(s, _)| *s == state)
                    .map_or(0, |(_, n)| *n);
                self.sample(
                    "crier_deliveries",
                    &[("channel", &channel.channel), ("state", state.as_str())],
                    count as f64,
                );
            }
        }
    }

    fn paused(&mut self, channels: &[ChannelSummary]) {
        self.family(
            "crier_channel_paused",
            "gauge",
            "1 when the channel is paused until `crier retry`, 0 otherwise.",
        );
        for channel in channels {
            let paused = if channel.paused.is_some() { 1.0 } else { 0.0 };
            self.sample(
                "crier_channel_paused",
                &[("channel", &channel.channel)],
                paused,
            );
        }
    }

    fn source_errors(&mut self, sources: &[SourceHealth]) {
        self.family(
            "crier_source_errors_total",
            "counter",
            "Reads of the source that failed, since the state database was created.",
        );
        for source in sources {
            self.sample(
                "crier_source_errors_total",
                &[("source", &source.source)],
                source.errors_total as f64,
            );
        }
    }

    fn source_last_success(&mut self, sources: &[SourceHealth]) {
        self.family(
            "crier_source_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the source's last successful read (absent until there is one).",
        );
        for source in sources {
            if let Some(at) = source.last_success {
                self.sample(
                    "crier_source_last_success_timestamp_seconds",
                    &[("source", &source.source)],
                    seconds(at),
                );
            }
        }
    }

    /// Left out without WebSub hubs, so a site without them sees no family it does not use.
    fn hub_notifications(&mut self, hubs: &[HubSummary]) {
        if hubs.is_empty() {
            return;
        }
        self.family(
            "crier_hub_notifications",
            "gauge",
            "WebSub notifications in the state, by hub and state (pending: to send or retry; given_up: refused or out of attempts).",
        );
        for hub in hubs {
            for (state, count) in [("pending", hub.pending), ("given_up", hub.given_up)] {
                self.sample(
                    "crier_hub_notifications",
                    &[("hub", &hub.hub), ("state", state)],
                    count as f64,
                );
            }
        }
    }

    fn family(&mut self, name: &str, kind: &str, help: &str) {
        // Help texts are constants without backslashes or newlines: nothing to escape.
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// A time as a Unix timestamp in seconds, to the millisecond.
fn seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

/// A label value as the format wants it: backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunOutcome;
    use std::time::Duration;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("line\nnext"), "line\\nnext");
    }

    #[test]
    fn the_histogram_is_cumulative_and_ends_at_inf() {
        let state = super::super::HealthState::default();
        let now = chrono::Utc::now();
        state.cycle_finished(now, Duration::from_millis(200), RunOutcome::Ok, None);
        state.cycle_finished(
            now,
            Duration::from_secs(3),
            RunOutcome::Failed,
            Some("x".into()),
        );
        state.cycle_finished(now, Duration::from_secs(4000), RunOutcome::Ok, None);
        let text = render(&state.snapshot(), &Stored::Missing);
        for line in [
            "crier_cycles_total{outcome=\"ok\"} 2",
            "crier_cycles_total{outcome=\"failed\"} 1",
            "crier_cycle_duration_seconds_bucket{le=\"0.1\"} 0",
            "crier_cycle_duration_seconds_bucket{le=\"0.25\"} 1",
            "crier_cycle_duration_seconds_bucket{le=\"5\"} 2",
            "crier_cycle_duration_seconds_bucket{le=\"600\"} 2",
            "crier_cycle_duration_seconds_bucket{le=\"+Inf\"} 3",
            "crier_cycle_duration_seconds_sum 4003.2",
            "crier_cycle_duration_seconds_count 3",
            "crier_entries{state=\"live\"} 0",
            "crier_state_readable 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }

    #[test]
    fn channels_show_every_state_and_their_pause() {
        let stored = Stored::Read {
            status: Box::new(Status {
                live: 3,
                ..Status::default()
            }),
            channels: vec![ChannelSummary {
                channel: "fb \"page\"".into(),
                counts: vec![(DeliveryState::Dead, 2)],
                last_error: None,
                paused: Some("token expired".into()),
            }],
            sources: Vec::new(),
            hubs: Vec::new(),
        };
        let text = render(&Snapshot::default(), &stored);
        assert!(text.contains("crier_deliveries{channel=\"fb \\\"page\\\"\",state=\"dead\"} 2\n"));
        assert!(text.contains("crier_deliveries{channel=\"fb \\\"page\\\"\",state=\"sent\"} 0\n"));
        assert!(text.contains("crier_channel_paused{channel=\"fb \\\"page\\\"\"} 1\n"));
        assert!(text.contains("crier_entries{state=\"live\"} 3\n"));
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("crier_last_success_timestamp_seconds"))
        );
    }

    /// The whole exposition for one daemon and state, byte for byte, so that the text
    /// scrapers parse cannot drift unnoticed.
    #[test]
    fn the_exposition_is_pinned() {
        let started = DateTime::parse_from_rfc3339("2024-06-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let mut durations = Histogram::default();
        durations.observe(0.3);
        durations.observe(42.0);
        let snapshot = Snapshot {
            running_since: Some(started),
            ok: 1,
            partial: 1,
            failed: 1,
            durations,
            ..Snapshot::default()
        };
        let stored = Stored::Read {
            status: Box::new(Status {
                live: 9,
                scheduled: 1,
                removed: 2,
                last_success: Some("2024-06-01T09:55:00.250000Z".into()),
                ..Status::default()
            }),
            channels: vec![
                ChannelSummary {
                    channel: "bluesky".into(),
                    counts: vec![(DeliveryState::Sent, 12), (DeliveryState::Failed, 1)],
                    last_error: Some("HTTP 502".into()),
                    paused: None,
                },
                ChannelSummary {
                    channel: "mastodon-fr".into(),
                    counts: vec![(DeliveryState::Pending, 1)],
                    last_error: None,
                    paused: Some("HTTP 401".into()),
                },
            ],
            sources: vec![
                SourceHealth {
                    source: "content".into(),
                    last_success: Some(started),
                    ..SourceHealth::default()
                },
                SourceHealth {
                    source: "events".into(),
                    last_success: None,
                    failing_since: Some(started),
                    failures: 3,
                    errors_total: 3,
                    last_error: Some("HTTP 500".into()),
                },
                SourceHealth {
                    source: "news".into(),
                    last_success: Some(started),
                    errors_total: 7,
                    ..SourceHealth::default()
                },
            ],
            hubs: Vec::new(),
        };
        assert_eq!(render(&snapshot, &stored), PINNED);
    }

    #[test]
    fn hubs_show_their_pending_and_given_up_notifications() {
        let stored = |hubs| Stored::Read {
            status: Box::new(Status::default()),
            channels: Vec::new(),
            sources: Vec::new(),
            hubs,
        };
        let text = render(
            &Snapshot::default(),
            &stored(vec![HubSummary {
                hub: "https://hub.example/".into(),
                pending: 3,
                given_up: 1,
                ..HubSummary::default()
            }]),
        );
        assert!(text.contains("# TYPE crier_hub_notifications gauge\n"));
        assert!(text.contains(
            "crier_hub_notifications{hub=\"https://hub.example/\",state=\"pending\"} 3\n"
        ));
        assert!(text.contains(
            "crier_hub_notifications{hub=\"https://hub.example/\",state=\"given_up\"} 1\n"
        ));
        let none = render(&Snapshot::default(), &stored(Vec::new()));
        assert!(!none.contains("crier_hub_notifications"));
    }

    const PINNED: &str = r#"# HELP crier_cycles_total Cycles finished since the daemon started, by outcome (ok: every source read and every document parsed).
# TYPE crier_cycles_total counter
crier_cycles_total{outcome="ok"} 1
crier_cycles_total{outcome="partial"} 1
crier_cycles_total{outcome="failed"} 1
# HELP crier_cycle_duration_seconds Duration of the cycles finished since the daemon started.
# TYPE crier_cycle_duration_seconds histogram
crier_cycle_duration_seconds_bucket{le="0.1"} 0
crier_cycle_duration_seconds_bucket{le="0.25"} 0
crier_cycle_duration_seconds_bucket{le="0.5"} 1
crier_cycle_duration_seconds_bucket{le="1"} 1
crier_cycle_duration_seconds_bucket{le="2.5"} 1
crier_cycle_duration_seconds_bucket{le="5"} 1
crier_cycle_duration_seconds_bucket{le="10"} 1
crier_cycle_duration_seconds_bucket{le="30"} 1
crier_cycle_duration_seconds_bucket{le="60"} 2
crier_cycle_duration_seconds_bucket{le="120"} 2
crier_cycle_duration_seconds_bucket{le="300"} 2
crier_cycle_duration_seconds_bucket{le="600"} 2
crier_cycle_duration_seconds_bucket{le="+Inf"} 2
crier_cycle_duration_seconds_sum 42.3
crier_cycle_duration_seconds_count 2
# HELP crier_cycle_running 1 while a cycle is running, 0 between cycles.
# TYPE crier_cycle_running gauge
crier_cycle_running 1
# HELP crier_last_success_timestamp_seconds Unix time at which the last successful cycle ended: every source read and every document parsed (absent until there is one).
# TYPE crier_last_success_timestamp_seconds gauge
crier_last_success_timestamp_seconds 1717235700.25
# HELP crier_state_readable 1 when the state database could be read for this scrape (or does not exist yet), 0 otherwise.
# TYPE crier_state_readable gauge
crier_state_readable 1
# HELP crier_entries Entries in the state database, by state.
# TYPE crier_entries gauge
crier_entries{state="live"} 9
crier_entries{state="scheduled"} 1
crier_entries{state="removed"} 2
# HELP crier_deliveries Deliveries in the outbox, by channel and state.
# TYPE crier_deliveries gauge
crier_deliveries{channel="bluesky",state="pending"} 0
crier_deliveries{channel="bluesky",state="sending"} 0
crier_deliveries{channel="bluesky",state="sent"} 12
crier_deliveries{channel="bluesky",state="failed"} 1
crier_deliveries{channel="bluesky",state="dead"} 0
crier_deliveries{channel="bluesky",state="held"} 0
crier_deliveries{channel="mastodon-fr",state="pending"} 1
crier_deliveries{channel="mastodon-fr",state="sending"} 0
crier_deliveries{channel="mastodon-fr",state="sent"} 0
crier_deliveries{channel="mastodon-fr",state="failed"} 0
crier_deliveries{channel="mastodon-fr",state="dead"} 0
crier_deliveries{channel="mastodon-fr",state="held"} 0
# HELP crier_channel_paused 1 when the channel is paused until `crier retry`, 0 otherwise.
# TYPE crier_channel_paused gauge
crier_channel_paused{channel="bluesky"} 0
crier_channel_paused{channel="mastodon-fr"} 1
# HELP crier_source_errors_total Reads of the source that failed, since the state database was created.
# TYPE crier_source_errors_total counter
crier_source_errors_total{source="content"} 0
crier_source_errors_total{source="events"} 3
crier_source_errors_total{source="news"} 7
# HELP crier_source_last_success_timestamp_seconds Unix time of the source's last successful read (absent until there is one).
# TYPE crier_source_last_success_timestamp_seconds gauge
crier_source_last_success_timestamp_seconds{source="content"} 1717236000
crier_source_last_success_timestamp_seconds{source="news"} 1717236000
"#;

    #[test]
    fn an_unreadable_state_is_flagged_without_store_counts() {
        let text = render(&Snapshot::default(), &Stored::Failed);
        assert!(text.contains("crier_state_readable 0\n"));
        assert!(!text.contains("crier_entries"));
    }
}

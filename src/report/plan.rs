//! `crier plan`: what the next cycle would change (entries, feed files) and what a run would
//! post now, gathered from the cycle run on a scratch copy of the state and the dry delivery
//! round into a [`PlanReport`] that renders as text or as JSON.

use std::io::Write;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Serialize, Serializer};

use crate::engine::cycle::{CycleReport, EntryRef};
use crate::engine::deliver::DeliveryReport;
use crate::store::outbox::DeliveryState;

/// Everything `crier plan` shows. Its fields are the JSON schema (see `docs/OPERATIONS.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// The schema version, [`super::VERSION`].
    pub version: u32,
    /// Whether the next run records the baseline (nothing is new then).
    pub baseline: bool,
    /// Entries the baseline would record.
    pub baseline_entries: usize,
    /// Entries published for the first time (announced).
    pub new: Vec<PlannedEntry>,
    /// Live entries whose content changed.
    pub changed: Vec<PlannedEntry>,
    /// Entries back after being withdrawn (not announced again).
    pub restored: Vec<PlannedEntry>,
    /// Ids of the entries withdrawn.
    pub removed: Vec<String>,
    /// Entries dated in the future, waiting for their date.
    pub scheduled: Vec<PlannedEntry>,
    /// Problems with documents or sources, each naming its file or source.
    pub errors: Vec<String>,
    /// Every planned feed file, and whether its bytes would change.
    pub feeds: Vec<PlannedFeed>,
    /// Whether any channel is configured (without one, nothing below is planned).
    pub announcing: bool,
    /// New deliveries that would be held back or wait for the entry's `announce_at`.
    pub waiting: Vec<WaitingPost>,
    /// The posts a run would send now, as they would go out.
    pub posts: Vec<PlannedPost>,
    /// Deliveries that can never be sent (given up).
    pub cannot_post: Vec<UnsendablePost>,
    /// Deliveries a guard keeps for a later round, per channel.
    pub deferred: Vec<DeferredPosts>,
}

/// An entry named by the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedEntry {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its language.
    pub language: String,
    /// Its public URL.
    pub url: String,
    /// Its publication date (in UTC in the JSON; the text keeps the entry's own offset).
    #[serde(serialize_with = "in_utc")]
    pub published: DateTime<FixedOffset>,
}

impl From<&EntryRef> for PlannedEntry {
    fn from(e: &EntryRef) -> PlannedEntry {
        PlannedEntry {
            id: e.id.clone(),
            title: e.title.clone(),
            language: e.language.clone(),
            url: e.url.clone(),
            published: e.published,
        }
    }
}

/// Every time in the JSON is UTC, whatever offset the entry was written with.
fn in_utc<S: Serializer>(time: &DateTime<FixedOffset>, serializer: S) -> Result<S::Ok, S::Error> {
    time.with_timezone(&Utc).serialize(serializer)
}

/// A feed file of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFeed {
    /// Its path.
    pub path: String,
    /// Entries in it.
    pub items: usize,
    /// Whether its bytes would change (the run writes it).
    pub changed: bool,
}

/// A new delivery kept back or waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitingPost {
    /// The channel.
    pub channel: String,
    /// The entry.
    pub entry_id: String,
    /// `held` (until released) or `pending` (until its due time).
    pub state: String,
    /// When it falls due.
    pub due_at: Option<DateTime<Utc>>,
    /// Why.
    pub reason: String,
}

/// A post a run would send now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedPost {
    /// The channel.
    pub channel: String,
    /// The entry announced.
    pub entry_id: String,
    /// Its length as the network counts it.
    pub length: usize,
    /// The network's limit.
    pub limit: usize,
    /// The text, as it would go out.
    pub text: String,
}

/// A delivery that can never be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnsendablePost {
    /// The channel.
    pub channel: String,
    /// The entry.
    pub entry_id: String,
    /// Why.
    pub reason: String,
}

/// Deliveries of one channel kept for a later round by a guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeferredPosts {
    /// The channel.
    pub channel: String,
    /// Which guard, and until when where it says.
    pub reason: String,
    /// How many deliveries wait.
    pub count: usize,
}

/// The plan from the cycle's report and, when channels are configured, the dry delivery
/// round's.
pub fn gather(cycle: &CycleReport, delivered: Option<&DeliveryReport>) -> PlanReport {
    let entries = |list: &[EntryRef]| list.iter().map(PlannedEntry::from).collect();
    let delivered_default = DeliveryReport::default();
    let round = delivered.unwrap_or(&delivered_default);
    PlanReport {
        version: super::VERSION,
        baseline: cycle.baseline,
        baseline_entries: cycle.baseline_entries,
        new: entries(&cycle.new),
        changed: entries(&cycle.changed),
        restored: entries(&cycle.restored),
        removed: cycle.removed.clone(),
        scheduled: entries(&cycle.scheduled),
        errors: cycle.errors.clone(),
        feeds: cycle
            .feeds
            .iter()
            .map(|f| PlannedFeed {
                path: f.path.display().to_string(),
                items: f.items,
                changed: f.changed,
            })
            .collect(),
        announcing: delivered.is_some(),
        waiting: cycle
            .queued
            .iter()
            .filter_map(|d| {
                Some(WaitingPost {
                    channel: d.channel.clone(),
                    entry_id: d.entry_id.clone(),
                    state: d.state.as_str().to_owned(),
                    due_at: d.due_at,
                    reason: d.reason.clone()?,
                })
            })
            .collect(),
        posts: round
            .rendered
            .iter()
            .map(|p| PlannedPost {
                channel: p.channel.clone(),
                entry_id: p.entry_id.clone(),
                length: p.length,
                limit: p.limit,
                text: p.text.clone(),
            })
            .collect(),
        cannot_post: round
            .dead
            .iter()
            .map(|d| UnsendablePost {
                channel: d.channel.clone(),
                entry_id: d.entry_id.clone(),
                reason: d.detail.clone(),
            })
            .collect(),
        deferred: round
            .deferred
            .iter()
            .map(|d| DeferredPosts {
                channel: d.channel.clone(),
                reason: d.reason.clone(),
                count: d.waiting,
            })
            .collect(),
    }
}

/// The plan as text, as `crier plan` prints it.
pub fn render_text(plan: &PlanReport, out: &mut dyn Write) -> std::io::Result<()> {
    render_entries(plan, out)?;
    render_feeds(&plan.feeds, out)?;
    if plan.announcing {
        render_waiting(&plan.waiting, out)?;
        render_posts(plan, out)?;
    }
    Ok(())
}

/// The baseline, then new, changed, restored, removed and scheduled entries, then the
/// problems.
fn render_entries(plan: &PlanReport, out: &mut dyn Write) -> std::io::Result<()> {
    if plan.baseline {
        writeln!(
            out,
            "first run: {} published entries would be recorded as the baseline (not new)",
            plan.baseline_entries
        )?;
    }
    render_section(out, "new", &plan.new)?;
    render_section(out, "changed", &plan.changed)?;
    render_section(out, "restored", &plan.restored)?;
    if !plan.removed.is_empty() {
        writeln!(out, "removed ({}):", plan.removed.len())?;
        for id in &plan.removed {
            writeln!(out, "  {id}")?;
        }
    }
    if !plan.scheduled.is_empty() {
        writeln!(out, "scheduled ({}):", plan.scheduled.len())?;
        for e in &plan.scheduled {
            writeln!(
                out,
                "  {}  {} at {}",
                e.id,
                e.title,
                e.published.to_rfc3339()
            )?;
        }
    }
    for e in &plan.errors {
        writeln!(out, "error: {e}")?;
    }
    Ok(())
}

/// One list of entries under its name and count; nothing when it is empty.
fn render_section(out: &mut dyn Write, name: &str, list: &[PlannedEntry]) -> std::io::Result<()> {
    if !list.is_empty() {
        writeln!(out, "{name} ({}):", list.len())?;
        for e in list {
            writeln!(out, "  {}  {} [{}] {}", e.id, e.title, e.language, e.url)?;
        }
    }
    Ok(())
}

/// The feed files whose bytes would change, out of all planned.
fn render_feeds(feeds: &[PlannedFeed], out: &mut dyn Write) -> std::io::Result<()> {
    let changed: Vec<_> = feeds.iter().filter(|f| f.changed).collect();
    writeln!(
        out,
        "feeds to write ({} of {}):",
        changed.len(),
        feeds.len()
    )?;
    for f in changed {
        writeln!(out, "  {} ({} items)", f.path, f.items)?;
    }
    Ok(())
}

/// The deliveries a flood guard or the entry's own control would hold back instead of
/// queueing, and those that would wait for the entry's `announce_at`, with the reason.
fn render_waiting(waiting: &[WaitingPost], out: &mut dyn Write) -> std::io::Result<()> {
    for held in waiting {
        let label = if held.state == DeliveryState::Held.as_str() {
            "held for"
        } else {
            "waiting for"
        };
        writeln!(
            out,
            "{label} {}: {} ({})",
            held.channel, held.entry_id, held.reason
        )?;
    }
    Ok(())
}

/// The posts a run would send now, each under a `--- channel · entry · length/limit` line,
/// then those that can never be sent, then those a guard keeps for later.
fn render_posts(plan: &PlanReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "posts to send ({}):", plan.posts.len())?;
    for post in &plan.posts {
        writeln!(
            out,
            "--- {} · {} · {}/{}",
            post.channel, post.entry_id, post.length, post.limit
        )?;
        writeln!(out, "{}", post.text)?;
    }
    for dead in &plan.cannot_post {
        writeln!(
            out,
            "cannot post {} on {}: {}",
            dead.entry_id, dead.channel, dead.reason
        )?;
    }
    // Queued before, and now kept back by what the entry says.
    for deferred in &plan.deferred {
        writeln!(out, "not now on {}: {}", deferred.channel, deferred.reason)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(published: &str) -> PlannedEntry {
        PlannedEntry {
            id: "projects:ghent".into(),
            title: "Ghent".into(),
            language: "en".into(),
            url: "https://example.org/ghent/".into(),
            published: DateTime::parse_from_rfc3339(published).expect("a test date"),
        }
    }

    #[test]
    fn a_scheduled_entry_keeps_its_offset_in_text_and_is_utc_in_json() {
        let plan = PlanReport {
            scheduled: vec![entry("2024-07-01T09:00:00+02:00")],
            ..gather(&CycleReport::default(), None)
        };
        let mut text = Vec::new();
        render_text(&plan, &mut text).expect("writing to a Vec");
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.contains("projects:ghent  Ghent at 2024-07-01T09:00:00+02:00"),
            "{text}"
        );
        // Without channels nothing about posts is printed.
        assert!(!text.contains("posts to send"), "{text}");
        let json = serde_json::to_value(&plan).expect("a plan serialises");
        assert_eq!(json["scheduled"][0]["published"], "2024-07-01T07:00:00Z");
        assert_eq!(json["version"], 1);
        assert_eq!(json["announcing"], false);
    }
}

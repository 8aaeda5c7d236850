//! What the report commands show, for people and for scripts: `crier status` and `crier plan`
//! gather their findings once into typed structs ([`status::StatusReport`],
//! [`plan::PlanReport`]) that render both as the text an operator reads and, with `--json`,
//! as one JSON document; `crier config` prints the effective config ([`config`]).
//!
//! The JSON field names are the structs' own (snake_case) and form a schema whose number is
//! [`VERSION`]: within a version fields are only ever added, never renamed or removed, so a
//! script written against it keeps working. `docs/OPERATIONS.md` lists every field, and a
//! test compares that list with what is emitted.

pub mod config;
pub mod plan;
pub mod status;

use std::io::Write;

use serde::Serialize;

/// The version of the JSON documents' schema, their `version` field.
pub const VERSION: u32 = 1;

/// Writes `report` as one pretty-printed JSON document followed by a line break.
pub fn write_json<T: Serialize>(report: &T, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::Value;

    use super::plan::*;
    use super::status::*;

    /// Every field path of `value`: `a`, `a.b`, and `a[].c` for the items of a list.
    fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    out.insert(path.clone());
                    paths(inner, &path, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    paths(item, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }

    /// The field paths docs/OPERATIONS.md lists in the table under `heading`: every
    /// backquoted path in a row's first cell.
    fn documented(heading: &str) -> BTreeSet<String> {
        let docs = include_str!("../../docs/OPERATIONS.md");
        let section = docs
            .split(heading)
            .nth(1)
            .unwrap_or_else(|| panic!("no {heading:?} in docs/OPERATIONS.md"));
        section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .flat_map(|row| {
                let cell = row.split('|').nth(1).unwrap_or_default();
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn time() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    /// A status with every field set and one item in every list.
    fn full_status() -> StatusReport {
        StatusReport {
            version: super::VERSION,
            state: "/var/lib/crier/crier.sqlite3".into(),
            state_exists: true,
            schema_current: true,
            entries: EntryCounts::default(),
            baseline_at: Some("2024-06-01T12:00:00.000000Z".into()),
            runs: 1,
            last_run: Some(LastRun {
                started_at: time(),
                finished_at: time(),
                duration_seconds: 0.5,
                outcome: "ok".into(),
                baseline: false,
                new: 1,
                changed: 0,
                removed: 0,
                scheduled: 0,
                errors: 0,
                feeds_written: 3,
                message: Some("m".into()),
            }),
            last_success: Some("2024-06-01T12:00:00.000000Z".into()),
            sources: vec![SourceStatus {
                name: "events".into(),
                kind: "feed".into(),
                live_entries: 2,
                remote: Some(RemoteStatus {
                    validators: 1,
                    last_full_read: Some("2024-06-01T12:00:00.000000Z".into()),
                }),
                health: Some(SourceReads {
                    last_success: Some(time()),
                    failing: true,
                    failing_since: Some(time()),
                    failures: 1,
                    errors_total: 1,
                    last_error: Some("e".into()),
                }),
            }],
            channels: vec![ChannelStatus {
                name: "mastodon".into(),
                counts: DeliveryCounts::default(),
                paused: Some("p".into()),
                last_error: Some("e".into()),
            }],
            deliveries: vec![WaitingDelivery {
                channel: "mastodon".into(),
                entry_id: "projects:a".into(),
                state: "pending".into(),
                attempts: 0,
                queued_at: time(),
                due_at: time(),
                reason: Some("r".into()),
            }],
            websub: true,
            hubs: vec![HubStatus {
                hub: "https://hub.example/".into(),
                pending: 1,
                given_up: 0,
                next_due: Some(time()),
                last_error: Some("e".into()),
            }],
        }
    }

    /// A plan with one item in every list.
    fn full_plan() -> PlanReport {
        let entry = PlannedEntry {
            id: "projects:a".into(),
            title: "A".into(),
            language: "en".into(),
            url: "https://example.org/a/".into(),
            published: time().fixed_offset(),
        };
        PlanReport {
            version: super::VERSION,
            baseline: false,
            baseline_entries: 0,
            new: vec![entry.clone()],
            changed: vec![entry.clone()],
            restored: vec![entry.clone()],
            removed: vec!["projects:b".into()],
            scheduled: vec![entry],
            errors: vec!["e".into()],
            feeds: vec![PlannedFeed {
                path: "feeds/rss.xml".into(),
                items: 1,
                changed: true,
            }],
            announcing: true,
            waiting: vec![WaitingPost {
                channel: "mastodon".into(),
                entry_id: "projects:a".into(),
                state: "held".into(),
                due_at: Some(time()),
                reason: "r".into(),
            }],
            posts: vec![PlannedPost {
                channel: "mastodon".into(),
                entry_id: "projects:a".into(),
                length: 10,
                limit: 500,
                text: "t".into(),
            }],
            cannot_post: vec![UnsendablePost {
                channel: "x".into(),
                entry_id: "projects:a".into(),
                reason: "r".into(),
            }],
            deferred: vec![DeferredPosts {
                channel: "bluesky".into(),
                reason: "r".into(),
                count: 1,
            }],
        }
    }

    fn emitted(report: &impl serde::Serialize) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        paths(&serde_json::to_value(report).unwrap(), "", &mut out);
        out
    }

    #[test]
    fn the_documented_status_fields_are_the_fields_emitted() {
        assert_eq!(
            documented("### `crier status --json`"),
            emitted(&full_status())
        );
    }

    #[test]
    fn the_documented_plan_fields_are_the_fields_emitted() {
        assert_eq!(documented("### `crier plan --json`"), emitted(&full_plan()));
    }

    #[test]
    fn every_document_starts_with_its_version() {
        let mut out = Vec::new();
        super::write_json(&full_status(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("{\n  \"version\": 1,"), "{text}");
        assert!(text.ends_with("}\n"), "{text}");
    }
}

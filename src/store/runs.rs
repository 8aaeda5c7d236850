//! The journal of runs, one row per cycle, and the counts `crier status` and the health
//! listener read from it. A run's [`RunOutcome`] is decided by the engine's job (the one
//! definition of success); here `ok` rows are simply what "the last successful run" means.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, parse_timestamp, timestamp};

/// How a run ended, as the journal stores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    /// Every source was read and every document parsed: a successful run.
    Ok,
    /// The cycle completed and wrote its feeds, but a source or some documents failed.
    Partial,
    /// The cycle stopped before completing (the state or the feeds could not be written).
    #[default]
    Failed,
}

impl RunOutcome {
    /// The name stored in the journal and shown by `crier status`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Partial => "partial",
            RunOutcome::Failed => "failed",
        }
    }

    /// Reads a stored name; an unknown one (edited by hand) is no success.
    fn parse(text: &str) -> RunOutcome {
        match text {
            "ok" => RunOutcome::Ok,
            "partial" => RunOutcome::Partial,
            _ => RunOutcome::Failed,
        }
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finished run, for the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRecord {
    /// When the cycle started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub outcome: RunOutcome,
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
    /// Free text (first error, say).
    pub message: Option<String>,
}

/// Counts for `crier status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Entries by status: live, scheduled, removed.
    pub live: usize,
    /// Entries waiting for their date.
    pub scheduled: usize,
    /// Entries withdrawn.
    pub removed: usize,
    /// When the baseline was recorded.
    pub baseline_at: Option<String>,
    /// Number of runs recorded.
    pub runs: usize,
    /// The most recent run.
    pub last_run: Option<RunRecord>,
    /// When the most recent successful run ([`RunOutcome::Ok`]) ended.
    pub last_success: Option<String>,
}

impl Store {
    /// Appends a run to the journal.
    pub fn record_run(&mut self, run: &RunRecord) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (started_at, finished_at, outcome, baseline, new, changed,
                                   removed, scheduled, errors, feeds_written, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    timestamp(run.started_at),
                    timestamp(run.finished_at),
                    run.outcome.as_str(),
                    run.baseline,
                    run.new as i64,
                    run.changed as i64,
                    run.removed as i64,
                    run.scheduled as i64,
                    run.errors as i64,
                    run.feeds_written as i64,
                    run.message,
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Counts and the last run, for `crier status`.
    pub fn status(&self) -> Result<Status, StoreError> {
        let mut status = Status::default();
        let mut stmt = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM entries GROUP BY status")
            .map_err(|e| self.sql(e))?;
        let counts: HashMap<String, i64> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.sql(e))?;
        let count = |k: &str| counts.get(k).copied().unwrap_or(0) as usize;
        status.live = count("live");
        status.scheduled = count("scheduled");
        status.removed = count("removed");
        status.baseline_at = self.baseline_at()?;
        status.runs = self
            .conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))
            .map_err(|e| self.sql(e))? as usize;
        status.last_run = self
            .conn
            .query_row(
                "SELECT started_at, finished_at, outcome, baseline, new, changed, removed,
                        scheduled, errors, feeds_written, message
                 FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    let time = |s: String| parse_timestamp(&s).unwrap_or_default();
                    Ok(RunRecord {
                        started_at: time(r.get(0)?),
                        finished_at: time(r.get(1)?),
                        outcome: RunOutcome::parse(&r.get::<_, String>(2)?),
                        baseline: r.get(3)?,
                        new: r.get::<_, i64>(4)? as usize,
                        changed: r.get::<_, i64>(5)? as usize,
                        removed: r.get::<_, i64>(6)? as usize,
                        scheduled: r.get::<_, i64>(7)? as usize,
                        errors: r.get::<_, i64>(8)? as usize,
                        feeds_written: r.get::<_, i64>(9)? as usize,
                        message: r.get(10)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        status.last_success = self
            .conn
            .query_row(
                "SELECT finished_at FROM runs WHERE outcome = 'ok' ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::now;

    #[test]
    fn runs_are_journaled_for_status() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let run = RunRecord {
            started_at: now(),
            finished_at: now(),
            outcome: RunOutcome::Partial,
            new: 2,
            errors: 1,
            message: Some("bad.md: missing title".into()),
            ..RunRecord::default()
        };
        store.record_run(&run).unwrap();
        let status = store.status().unwrap();
        assert_eq!(status.runs, 1);
        assert_eq!(status.last_run.as_ref(), Some(&run));
        assert_eq!(status.last_success, None);
    }

    #[test]
    fn a_run_keeps_its_times_to_the_microsecond() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let finished = now() + chrono::Duration::microseconds(1_250_000);
        let run = RunRecord {
            started_at: now(),
            finished_at: finished,
            outcome: RunOutcome::Ok,
            ..RunRecord::default()
        };
        store.record_run(&run).unwrap();
        let status = store.status().unwrap();
        assert_eq!(status.last_run.map(|r| r.finished_at), Some(finished));
        assert_eq!(
            status.last_success.as_deref(),
            Some("2024-04-01T00:00:01.250000Z")
        );
    }
}

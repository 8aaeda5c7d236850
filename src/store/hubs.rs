//! WebSub notifications waiting to be sent: one row per hub and feed URL (`hub_pings`), so a
//! feed that changes again before its hub was told is notified once, and a notification that
//! a crash or the end of `run --once` interrupted is sent by the next run.
//!
//! A row is `pending` until the hub takes it (the row is then deleted) or it is given up
//! (`dead`, kept for `crier status` until the feed changes again). Each row remembers when it
//! was queued: an answer settles the row only while that time is unchanged, so a change
//! queued while a notification was in flight is never taken as told.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Store, StoreError, parse_timestamp, timestamp};

/// A notification to send: tell `hub` that `feed_url` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubPing {
    /// The hub's URL.
    pub hub: String,
    /// The changed feed's public URL (its self link).
    pub feed_url: String,
    /// When the change was queued, as stored: the row's version.
    pub queued_at: String,
    /// Attempts made so far.
    pub attempts: u32,
}

/// How a hub's notifications stand, for `crier status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubSummary {
    /// The hub's URL.
    pub hub: String,
    /// Notifications waiting (not yet tried, or to be retried).
    pub pending: usize,
    /// Notifications given up.
    pub given_up: usize,
    /// When the next one is due.
    pub next_due: Option<DateTime<Utc>>,
    /// The error of the most recent failed attempt still waiting or given up.
    pub last_error: Option<String>,
}

impl Store {
    /// Queues a notification to each of `hubs` for each of `feed_urls`, due at `now`. A row
    /// already there for the same hub and feed (pending or given up) is replaced: the newer
    /// change supersedes it, with its attempts counted afresh.
    pub fn queue_hub_pings(
        &mut self,
        hubs: &[&str],
        feed_urls: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = timestamp(now);
        let path = self.path.clone();
        let sql = |error| StoreError::Sql {
            path: path.clone(),
            error,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO hub_pings (hub, feed_url, state, queued_at, due_at, attempts)
                     VALUES (?1, ?2, 'pending', ?3, ?3, 0)
                     ON CONFLICT (hub, feed_url) DO UPDATE SET
                         state = 'pending', queued_at = excluded.queued_at,
                         due_at = excluded.due_at, attempts = 0",
                )
                .map_err(sql)?;
            for hub in hubs {
                for url in feed_urls {
                    upsert.execute(params![hub, url, now]).map_err(sql)?;
                }
            }
        }
        tx.commit().map_err(sql)
    }

    /// Forgets the notifications of hubs not among `hubs` (taken out of the config).
    pub fn forget_other_hubs(&mut self, hubs: &[&str]) -> Result<usize, StoreError> {
        let list = serde_json::to_string(hubs).unwrap_or_else(|_| "[]".to_owned());
        self.conn
            .execute(
                "DELETE FROM hub_pings WHERE hub NOT IN (SELECT value FROM json_each(?1))",
                [list],
            )
            .map_err(|e| self.sql(e))
    }

    /// The pending notifications due at `now`, oldest change first.
    pub fn due_hub_pings(&self, now: DateTime<Utc>) -> Result<Vec<HubPing>, StoreError> {
        let sql = |e| self.sql(e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT hub, feed_url, queued_at, attempts FROM hub_pings
                 WHERE state = 'pending' AND due_at <= ?1
                 ORDER BY queued_at, hub, feed_url",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([timestamp(now)], |r| {
                Ok(HubPing {
                    hub: r.get(0)?,
                    feed_url: r.get(1)?,
                    queued_at: r.get(2)?,
                    attempts: r.get(3)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<Result<_, _>>().map_err(sql)
    }

    /// When the next pending notification falls due.
    pub fn next_hub_ping_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(due_at) FROM hub_pings WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(next.as_deref().and_then(parse_timestamp))
    }

    /// The hub took `ping`: its row goes, unless a newer change was queued meanwhile.
    pub fn hub_ping_sent(&mut self, ping: &HubPing) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM hub_pings WHERE hub = ?1 AND feed_url = ?2 AND queued_at = ?3",
                params![ping.hub, ping.feed_url, ping.queued_at],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// An attempt at `ping` failed with `error` at `now`: due again at `retry_at`, or given up
    /// when `None`. A row superseded meanwhile is left as it is.
    pub fn hub_ping_failed(
        &mut self,
        ping: &HubPing,
        error: &str,
        now: DateTime<Utc>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let (state, due_at) = match retry_at {
            Some(at) => ("pending", timestamp(at)),
            None => ("dead", timestamp(now)),
        };
        self.conn
            .execute(
                "UPDATE hub_pings
                 SET state = ?4, due_at = ?5, attempts = attempts + 1, tried_at = ?6,
                     last_error = ?7
                 WHERE hub = ?1 AND feed_url = ?2 AND queued_at = ?3",
                params![
                    ping.hub,
                    ping.feed_url,
                    ping.queued_at,
                    state,
                    due_at,
                    timestamp(now),
                    error
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Each hub with notifications waiting or given up, by hub URL.
    pub fn hub_summary(&self) -> Result<Vec<HubSummary>, StoreError> {
        let sql = |e| self.sql(e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT hub,
                        SUM(state = 'pending'),
                        SUM(state = 'dead'),
                        MIN(CASE WHEN state = 'pending' THEN due_at END),
                        (SELECT last_error FROM hub_pings AS p
                         WHERE p.hub = h.hub AND last_error IS NOT NULL
                         ORDER BY tried_at DESC LIMIT 1)
                 FROM hub_pings AS h GROUP BY hub ORDER BY hub",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(HubSummary {
                    hub: r.get(0)?,
                    pending: r.get::<_, i64>(1)? as usize,
                    given_up: r.get::<_, i64>(2)? as usize,
                    next_due: r
                        .get::<_, Option<String>>(3)?
                        .as_deref()
                        .and_then(parse_timestamp),
                    last_error: r.get(4)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<Result<_, _>>().map_err(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;

    const HUB: &str = "https://hub.example/";
    const OTHER: &str = "https://other.example/";

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        (dir, store)
    }

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn one_row_per_hub_and_feed_and_a_newer_change_supersedes() {
        let (_dir, mut store) = store();
        let feeds = urls(&[
            "https://e.org/feeds/rss.xml",
            "https://e.org/feeds/atom.xml",
        ]);
        store.queue_hub_pings(&[HUB, OTHER], &feeds, now()).unwrap();
        let due = store.due_hub_pings(now()).unwrap();
        assert_eq!(due.len(), 4);
        let first = due[0].clone();
        let later = now() + chrono::Duration::minutes(5);
        store
            .hub_ping_failed(&first, "HTTP 503", now(), Some(later))
            .unwrap();
        assert_eq!(store.due_hub_pings(now()).unwrap().len(), 3);
        assert_eq!(store.next_hub_ping_due().unwrap(), Some(now()));
        // The feed changes again: one row still, due now, attempts counted afresh.
        let again = now() + chrono::Duration::seconds(1);
        store
            .queue_hub_pings(&[&first.hub], std::slice::from_ref(&first.feed_url), again)
            .unwrap();
        let due = store.due_hub_pings(again).unwrap();
        assert_eq!(due.len(), 4);
        let renewed = due
            .iter()
            .find(|p| p.feed_url == first.feed_url && p.hub == first.hub);
        assert_eq!(renewed.map(|p| p.attempts), Some(0));
        // The answer to the superseded notification settles nothing.
        store.hub_ping_sent(&first).unwrap();
        assert_eq!(store.due_hub_pings(again).unwrap().len(), 4);
        for ping in store.due_hub_pings(again).unwrap() {
            store.hub_ping_sent(&ping).unwrap();
        }
        assert!(store.due_hub_pings(again).unwrap().is_empty());
        assert_eq!(store.next_hub_ping_due().unwrap(), None);
        assert!(store.hub_summary().unwrap().is_empty());
    }

    #[test]
    fn failures_count_attempts_and_the_summary_shows_the_last_error() {
        let (_dir, mut store) = store();
        let feeds = urls(&[
            "https://e.org/feeds/rss.xml",
            "https://e.org/feeds/feed.json",
        ]);
        store.queue_hub_pings(&[HUB], &feeds, now()).unwrap();
        let due = store.due_hub_pings(now()).unwrap();
        let retry_at = now() + chrono::Duration::minutes(1);
        store
            .hub_ping_failed(&due[0], "HTTP 503: busy", now(), Some(retry_at))
            .unwrap();
        let later = now() + chrono::Duration::seconds(10);
        store
            .hub_ping_failed(&due[1], "HTTP 400: bad topic", later, None)
            .unwrap();
        assert_eq!(
            store.hub_summary().unwrap(),
            vec![HubSummary {
                hub: HUB.to_owned(),
                pending: 1,
                given_up: 1,
                next_due: Some(retry_at),
                last_error: Some("HTTP 400: bad topic".to_owned()),
            }]
        );
        assert!(store.due_hub_pings(later).unwrap().is_empty());
        let retried = store.due_hub_pings(retry_at).unwrap();
        assert_eq!(retried.len(), 1);
        assert_eq!(retried[0].attempts, 1);
        // A given-up notification comes back when its feed changes again.
        store
            .queue_hub_pings(&[HUB], std::slice::from_ref(&due[1].feed_url), retry_at)
            .unwrap();
        assert_eq!(store.due_hub_pings(retry_at).unwrap().len(), 2);
    }

    #[test]
    fn hubs_taken_out_of_the_config_are_forgotten() {
        let (_dir, mut store) = store();
        let feeds = urls(&["https://e.org/feeds/rss.xml"]);
        store.queue_hub_pings(&[HUB, OTHER], &feeds, now()).unwrap();
        assert_eq!(store.forget_other_hubs(&[HUB]).unwrap(), 1);
        let due = store.due_hub_pings(now()).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].hub, HUB);
        assert_eq!(store.forget_other_hubs(&[]).unwrap(), 1);
    }
}

//! The outbox: one delivery per new entry and matching channel, queued in the same transaction
//! that records the entry as seen, and moved through its states by the delivery engine:
//!
//! ```text
//! pending ──► sending ──► sent (remote id kept)
//!    ▲           │
//!    └── failed ◄┘ (retryable: due again later)
//!                └──► dead (permanent error or attempts exhausted; `crier retry` re-queues)
//! held: kept back by a flood guard (max_age); `crier retry` releases it
//! ```
//!
//! `sending` is committed before a request leaves, so a delivery found in `sending` later is
//! one whose outcome is unknown; the engine resolves it through the channel's `recover`. The
//! first `sending` also stores the post the delivery sends (the engine's JSON, opaque here),
//! so that every later attempt sends and looks up that post, whatever became of the entry.
//! A post may carry a key the network stores it under (Bluesky's record key); keys are made
//! from key stamps, numbers the outbox never issues twice (see
//! [`Store::mark_sending_first`]).
//! Times are in the store's one format ([`super::timestamp`]), whose text order is time order:
//! the queries below compare and sort them as text.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Store, StoreError, parse_timestamp, timestamp};

/// Metadata key of the last key stamp issued: a decimal number of microseconds.
const LAST_KEY_STAMP: &str = "outbox:last_key_stamp";

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeliveryState {
    /// Waiting to be sent.
    Pending,
    /// A request may be in flight (or was, when crier stopped).
    Sending,
    /// Published.
    Sent,
    /// Failed, will be retried at its due time.
    Failed,
    /// Given up; `crier retry` re-queues it.
    Dead,
    /// Kept back by a flood guard; `crier retry` releases it.
    Held,
}

impl DeliveryState {
    /// The name stored in the database and shown by `crier status`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Dead => "dead",
            DeliveryState::Held => "held",
        }
    }

    fn parse(s: &str) -> DeliveryState {
        match s {
            "pending" => DeliveryState::Pending,
            "sending" => DeliveryState::Sending,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            "held" => DeliveryState::Held,
            _ => DeliveryState::Dead,
        }
    }
}

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// Entry announced.
    pub entry_id: String,
    /// Channel name.
    pub channel: String,
    /// `Pending`, or `Held` with a reason.
    pub state: DeliveryState,
    /// When it was queued (the cycle's time).
    pub queued_at: DateTime<Utc>,
    /// Not sent before this time (the entry's `announce_at`); `None`: due when queued.
    pub due_at: Option<DateTime<Utc>>,
    /// Why it is held, or waits.
    pub reason: Option<String>,
}

/// A delivery never attempted, decided again (its entry's own control changed): its new
/// state (`pending` or `held`), due time and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconsidered {
    /// Outbox id.
    pub id: i64,
    /// `Pending` or `Held`.
    pub state: DeliveryState,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Why it is held or waits; `None` when it does neither.
    pub reason: Option<String>,
}

/// A queued delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Outbox id.
    pub id: i64,
    /// Entry announced.
    pub entry_id: String,
    /// Channel name.
    pub channel: String,
    /// Current state.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// The last failure or hold reason.
    pub last_error: Option<String>,
    /// Public URL of the post once sent.
    pub remote_url: Option<String>,
    /// The post as its first attempt sent it (the engine's JSON); `None` before that.
    pub post: Option<String>,
}

/// A post that went out, with the entry it announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPost {
    /// Entry announced.
    pub entry_id: String,
    /// The entry's URL as stored now.
    pub entry_url: String,
    /// Channel name.
    pub channel: String,
    /// The network's id of the post, when it gave one.
    pub remote_id: Option<String>,
    /// Public URL of the post, when the network gave one.
    pub remote_url: Option<String>,
    /// When it was recorded as sent.
    pub sent_at: DateTime<Utc>,
}

/// Deliveries of one channel, for `crier status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelSummary {
    /// Channel name.
    pub channel: String,
    /// Count per state, in state order.
    pub counts: Vec<(DeliveryState, usize)>,
    /// The most recent error of a failed or dead delivery.
    pub last_error: Option<String>,
    /// Why the channel is paused, when it is.
    pub paused: Option<String>,
}

/// A stored time; an unreadable one (edited by hand) reads as the epoch rather than failing
/// the whole listing.
fn parse_time(s: &str) -> DateTime<Utc> {
    parse_timestamp(s).unwrap_or_default()
}

/// Queues deliveries inside the cycle's transaction; one already queued for the same entry
/// and channel is left alone, so nothing is ever queued twice.
pub(super) fn queue(tx: &Transaction<'_>, deliveries: &[NewDelivery]) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO deliveries
             (entry_id, channel, state, queued_at, due_at, updated_at, last_error)
         VALUES (?1, ?2, ?3, ?4, ?6, ?4, ?5)",
    )?;
    for d in deliveries {
        insert.execute(params![
            d.entry_id,
            d.channel,
            d.state.as_str(),
            timestamp(d.queued_at),
            d.reason,
            timestamp(d.due_at.unwrap_or(d.queued_at))
        ])?;
    }
    Ok(())
}

/// Applies decisions taken again inside the cycle's transaction, only to deliveries still
/// never attempted (a delivery attempted since keeps its frozen post and state).
pub(super) fn reconsider(
    tx: &Transaction<'_>,
    decisions: &[Reconsidered],
    now: &str,
) -> rusqlite::Result<()> {
    let mut update = tx.prepare_cached(
        "UPDATE deliveries SET state = ?2, due_at = ?3, last_error = ?4, updated_at = ?5
         WHERE id = ?1 AND post IS NULL AND attempts = 0 AND state IN ('pending', 'held')",
    )?;
    for d in decisions {
        update.execute(params![
            d.id,
            d.state.as_str(),
            timestamp(d.due_at),
            d.reason,
            now
        ])?;
    }
    Ok(())
}

const COLUMNS: &str =
    "id, entry_id, channel, state, attempts, queued_at, due_at, last_error, remote_url, post";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        entry_id: r.get(1)?,
        channel: r.get(2)?,
        state: DeliveryState::parse(&r.get::<_, String>(3)?),
        attempts: r.get(4)?,
        queued_at: parse_time(&r.get::<_, String>(5)?),
        due_at: parse_time(&r.get::<_, String>(6)?),
        last_error: r.get(7)?,
        remote_url: r.get(8)?,
        post: r.get(9)?,
    })
}

impl Store {
    /// Deliveries of `channel` due at `now` (pending, failed, or left in `sending`), oldest
    /// first.
    pub fn due_deliveries(
        &self,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM deliveries
                 WHERE channel = ?1 AND state IN ('pending', 'failed', 'sending') AND due_at <= ?2
                 ORDER BY due_at, id"
            ))
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![channel, timestamp(now)], row)
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// When the next pending or failed delivery of an active channel falls due, so that the
    /// daemon can wake for it between two cycles.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(due_at) FROM deliveries
                 WHERE state IN ('pending', 'failed')
                   AND channel NOT IN (SELECT channel FROM channel_state WHERE paused IS NOT NULL)",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(next.as_deref().map(parse_time))
    }

    /// The deliveries of `entry_id` never attempted (pending or held, with no post), whose
    /// entry's own control may still decide them.
    pub fn unattempted_deliveries(&self, entry_id: &str) -> Result<Vec<Delivery>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM deliveries
                 WHERE entry_id = ?1 AND post IS NULL AND attempts = 0
                   AND state IN ('pending', 'held')
                 ORDER BY channel, id"
            ))
            .map_err(|e| self.sql(e))?;
        let rows = stmt.query_map([entry_id], row).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Every delivery, for reports and tests.
    pub fn deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM deliveries ORDER BY channel, id"
            ))
            .map_err(|e| self.sql(e))?;
        let rows = stmt.query_map([], row).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Records that a request is about to leave; committed before it does.
    pub fn mark_sending(&mut self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?2
             WHERE id = ?1",
            params![id, timestamp(now)],
        )
    }

    /// Marks a delivery `sending` for its first attempt and stores the post it sends, in one
    /// transaction: a post that may have left is always on record. `freeze` gets a key stamp
    /// and returns the post (JSON); see [`Store::rekey_post`] for what a stamp is.
    pub fn mark_sending_first(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        freeze: impl FnOnce(u64) -> String,
    ) -> Result<(), StoreError> {
        self.store_post(id, now, true, freeze)
    }

    /// Replaces the stored post of a delivery (its key turned out to be another post's), before
    /// the new one is sent. `freeze` gets a key stamp: `now` in microseconds since the epoch,
    /// or one more than the last stamp issued when that is not smaller, so that stamps only
    /// grow for the life of the state (a clock set back included) and a key made from one
    /// was never made before. The stamp is recorded in the same transaction as the post.
    pub fn rekey_post(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        freeze: impl FnOnce(u64) -> String,
    ) -> Result<(), StoreError> {
        self.store_post(id, now, false, freeze)
    }

    fn store_post(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        first_attempt: bool,
        freeze: impl FnOnce(u64) -> String,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |error| StoreError::Sql {
            path: path.clone(),
            error,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let last: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [LAST_KEY_STAMP],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        // An unreadable value (edited by hand) cannot be trusted to be the largest: the
        // clock's microseconds are then the only floor, as on a state that never issued one.
        let last = last.and_then(|text| text.parse::<u64>().ok());
        let clock = u64::try_from(now.timestamp_micros()).unwrap_or(0);
        let stamp = last.map_or(clock, |last| clock.max(last.saturating_add(1)));
        let post = freeze(stamp);
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![LAST_KEY_STAMP, stamp.to_string()],
        )
        .map_err(sql)?;
        let update = if first_attempt {
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?2,
                 post = ?3
             WHERE id = ?1"
        } else {
            "UPDATE deliveries SET updated_at = ?2, post = ?3 WHERE id = ?1"
        };
        tx.execute(update, params![id, timestamp(now), post])
            .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Replaces the stored post of a delivery with the same post and what was uploaded for it
    /// (an image's media id), before the post is sent.
    pub fn record_post(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        post: &str,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET post = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, post, timestamp(now)],
        )
    }

    /// Records a published post.
    pub fn mark_sent(
        &mut self,
        id: i64,
        remote_id: Option<&str>,
        remote_url: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET state = 'sent', sent_at = ?2, updated_at = ?2,
                 remote_id = ?3, remote_url = ?4, last_error = NULL
             WHERE id = ?1",
            params![id, timestamp(now), remote_id, remote_url],
        )
    }

    /// Records a retryable failure; the delivery is due again at `due`.
    pub fn mark_failed(
        &mut self,
        id: i64,
        error: &str,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET state = 'failed', last_error = ?2, due_at = ?3, updated_at = ?4
             WHERE id = ?1",
            params![id, error, timestamp(due), timestamp(now)],
        )
    }

    /// Gives a delivery up.
    pub fn mark_dead(
        &mut self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET state = 'dead', last_error = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, error, timestamp(now)],
        )
    }

    /// Gives up a post the network refused for good. Nothing was published, so the frozen post
    /// is dropped and the attempts are forgotten: after `crier retry`, the entry (changed to
    /// get past the refusal) is rendered again and sent as a first attempt, not through the
    /// look-ups that guard a post that may already be out.
    pub fn mark_refused(
        &mut self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET state = 'dead', last_error = ?2, updated_at = ?3, post = NULL,
                 attempts = 0
             WHERE id = ?1",
            params![id, error, timestamp(now)],
        )
    }

    /// Puts a delivery back to `pending` without counting the attempt (its channel paused
    /// before anything was published).
    pub fn release(&mut self, id: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET state = 'pending', attempts = MAX(attempts - 1, 0),
                 last_error = ?2, updated_at = ?3
             WHERE id = ?1",
            params![id, error, timestamp(now)],
        )
    }

    /// Holds a delivery that was never attempted, with the reason (the entry's own control
    /// now keeps it off the channel); `crier retry` releases it.
    pub fn hold(&mut self, id: i64, reason: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET state = 'held', last_error = ?2, updated_at = ?3
             WHERE id = ?1 AND post IS NULL",
            params![id, reason, timestamp(now)],
        )
    }

    /// Makes a delivery that was never attempted due at `until`, with the reason (the entry's
    /// `announce_at` moved later).
    pub fn postpone(
        &mut self,
        id: i64,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET due_at = ?2, last_error = ?3, updated_at = ?4
             WHERE id = ?1 AND post IS NULL",
            params![id, timestamp(until), reason, timestamp(now)],
        )
    }

    /// Posts sent on `channel` since `since` (daily cap).
    pub fn sent_since(&self, channel: &str, since: DateTime<Utc>) -> Result<usize, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM deliveries WHERE channel = ?1 AND state = 'sent' AND sent_at >= ?2",
                params![channel, timestamp(since)],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.sql(e))
    }

    /// When the oldest post sent on `channel` since `since` went out (daily cap).
    pub fn first_sent_since(
        &self,
        channel: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let first: Option<String> = self
            .conn
            .query_row(
                "SELECT MIN(sent_at) FROM deliveries WHERE channel = ?1 AND state = 'sent' AND sent_at >= ?2",
                params![channel, timestamp(since)],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(first.as_deref().map(parse_time))
    }

    /// Moves the due time of `channel`'s waiting deliveries to `until` at the earliest: a
    /// guard held them back, and the daemon must not wake for them before then.
    pub fn defer(
        &mut self,
        channel: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(
            "UPDATE deliveries SET due_at = ?2, updated_at = ?3
             WHERE channel = ?1 AND state IN ('pending', 'failed') AND due_at < ?2",
            params![channel, timestamp(until), timestamp(now)],
        )
    }

    /// When `channel` last published (minimum spacing).
    pub fn last_sent_at(&self, channel: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let last: Option<String> = self
            .conn
            .query_row(
                "SELECT MAX(sent_at) FROM deliveries WHERE channel = ?1 AND state = 'sent'",
                [channel],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(last.as_deref().map(parse_time))
    }

    /// Every post sent for an entry that is live now, with that entry's URL, ordered by entry
    /// id, then time sent, then channel: what links back to the entries.
    pub fn sent_posts(&self) -> Result<Vec<SentPost>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT d.entry_id, e.url, d.channel, d.remote_id, d.remote_url, d.sent_at
                 FROM deliveries d JOIN entries e ON e.id = d.entry_id
                 WHERE d.state = 'sent' AND e.status = 'live'
                 ORDER BY d.entry_id, d.sent_at, d.channel",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SentPost {
                    entry_id: r.get(0)?,
                    entry_url: r.get(1)?,
                    channel: r.get(2)?,
                    remote_id: r.get(3)?,
                    remote_url: r.get(4)?,
                    sent_at: parse_time(&r.get::<_, Option<String>>(5)?.unwrap_or_default()),
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// A short text that changes whenever a post is recorded as sent: the number of sent
    /// deliveries, the largest id among them and the latest time sent. Sent deliveries are
    /// never changed or removed, so an equal stamp means the same sent posts; a cycle compares
    /// it instead of reading every sent post again.
    pub fn sent_stamp(&self) -> Result<String, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(MAX(sent_at), '')
                 FROM deliveries WHERE state = 'sent'",
                [],
                |r| {
                    Ok(format!(
                        "{} {} {}",
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?
                    ))
                },
            )
            .map_err(|e| self.sql(e))
    }

    /// Pauses `channel` until the operator runs `crier retry`.
    pub fn pause_channel(
        &mut self,
        channel: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update(
            "INSERT INTO channel_state (channel, paused, paused_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel) DO UPDATE SET paused = excluded.paused, paused_at = excluded.paused_at",
            params![channel, reason, timestamp(now)],
        )
    }

    /// Why `channel` is paused, if it is.
    pub fn channel_paused(&self, channel: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT paused FROM channel_state WHERE channel = ?1",
                [channel],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.sql(e))
    }

    /// Re-queues dead, failed and held deliveries (optionally of one channel or one entry)
    /// to be sent now with fresh attempts, and lifts the pause of the channels concerned.
    /// A delivery that was attempted keeps one attempt on its count: an earlier attempt may
    /// have published the post, and a count above zero is what makes the engine resolve it
    /// through the channel's `recover` instead of posting blind.
    /// Returns (deliveries re-queued, channels un-paused).
    pub fn retry(
        &mut self,
        channel: Option<&str>,
        entry: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), StoreError> {
        let tx = self.conn.transaction().map_err(|e| StoreError::Sql {
            path: self.path.clone(),
            error: e,
        })?;
        let requeued = tx
            .execute(
                "UPDATE deliveries SET state = 'pending', attempts = MIN(attempts, 1), due_at = ?3,
                     updated_at = ?3
                 WHERE state IN ('dead', 'failed', 'held')
                   AND (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR entry_id = ?2)",
                params![channel, entry, timestamp(now)],
            )
            .and_then(|n| {
                let unpaused = tx.execute(
                    "UPDATE channel_state SET paused = NULL, paused_at = NULL
                     WHERE paused IS NOT NULL AND (?1 IS NULL OR channel = ?1)",
                    params![channel],
                )?;
                tx.commit()?;
                Ok((n, unpaused))
            })
            .map_err(|e| StoreError::Sql {
                path: self.path.clone(),
                error: e,
            })?;
        Ok(requeued)
    }

    /// Deliveries per channel and state, last error and pause, for `crier status`.
    pub fn delivery_summary(&self) -> Result<Vec<ChannelSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT channel, state, COUNT(*) FROM deliveries GROUP BY channel, state
                 UNION SELECT channel, NULL, 0 FROM channel_state WHERE paused IS NOT NULL
                 ORDER BY 1",
            )
            .map_err(|e| self.sql(e))?;
        let rows: Vec<(String, Option<String>, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.sql(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.sql(e))?;
        let mut out: Vec<ChannelSummary> = Vec::new();
        for (channel, state, count) in rows {
            if out.last().is_none_or(|s| s.channel != channel) {
                out.push(ChannelSummary {
                    channel: channel.clone(),
                    ..ChannelSummary::default()
                });
            }
            if let (Some(summary), Some(state)) = (out.last_mut(), state) {
                summary
                    .counts
                    .push((DeliveryState::parse(&state), count as usize));
            }
        }
        for summary in &mut out {
            summary.counts.sort();
            summary.paused = self.channel_paused(&summary.channel)?;
            summary.last_error = self
                .conn
                .query_row(
                    "SELECT last_error FROM deliveries
                     WHERE channel = ?1 AND state IN ('failed', 'dead') AND last_error IS NOT NULL
                     ORDER BY updated_at DESC LIMIT 1",
                    [&summary.channel],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.sql(e))?;
        }
        Ok(out)
    }

    /// Whether entry `id` is published (not scheduled, not withdrawn).
    pub fn entry_is_live(&self, id: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT status = 'live' FROM entries WHERE id = ?1",
                [id],
                |r| r.get::<_, bool>(0),
            )
            .optional()
            .map(|live| live.unwrap_or(false))
            .map_err(|e| self.sql(e))
    }

    /// A value of `channel`'s persistent memory.
    pub fn memory_get(&self, channel: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM channel_memory WHERE channel = ?1 AND key = ?2",
                [channel, key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Stores a value in `channel`'s persistent memory.
    pub fn memory_set(&mut self, channel: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.update(
            "INSERT INTO channel_memory (channel, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel, key) DO UPDATE SET value = excluded.value",
            params![channel, key, value],
        )
    }

    fn update(&mut self, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
        self.conn
            .execute(sql, params)
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Batch;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    fn queued(entry: &str, channel: &str, state: DeliveryState) -> NewDelivery {
        NewDelivery {
            entry_id: entry.into(),
            channel: channel.into(),
            state,
            queued_at: now(),
            due_at: None,
            reason: (state == DeliveryState::Held).then(|| "older than max_age".into()),
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        (dir, store)
    }

    #[test]
    fn an_entrys_time_holds_and_new_decisions_touch_only_deliveries_never_attempted() {
        let (_dir, mut store) = store();
        let later = now() + chrono::Duration::hours(3);
        let timed = NewDelivery {
            due_at: Some(later),
            reason: Some("waits for announce_at".into()),
            ..queued("a", "masto", DeliveryState::Pending)
        };
        let batch = Batch {
            deliveries: vec![timed, queued("b", "masto", DeliveryState::Pending)],
            ..Batch::default()
        };
        store.apply(&batch, now()).unwrap();
        assert!(store.due_deliveries("masto", now()).unwrap()[0].entry_id == "b");
        assert_eq!(store.next_due().unwrap(), Some(now()));
        assert_eq!(store.due_deliveries("masto", later).unwrap().len(), 2);
        let ids: Vec<i64> = store.deliveries().unwrap().iter().map(|d| d.id).collect();
        // "b" goes out (its post frozen); both are then decided again.
        store
            .mark_sending_first(ids[1], now(), |_| "{}".into())
            .unwrap();
        assert_eq!(store.unattempted_deliveries("b").unwrap(), []);
        assert_eq!(store.unattempted_deliveries("a").unwrap().len(), 1);
        let decisions: Vec<Reconsidered> = ids
            .iter()
            .map(|&id| Reconsidered {
                id,
                state: DeliveryState::Held,
                due_at: now(),
                reason: Some("held: the entry says no".into()),
            })
            .collect();
        let batch = Batch {
            reconsidered: decisions,
            ..Batch::default()
        };
        store.apply(&batch, now()).unwrap();
        let states: Vec<(String, DeliveryState)> = (store.deliveries().unwrap().into_iter())
            .map(|d| (d.entry_id, d.state))
            .collect();
        assert_eq!(
            states,
            [
                ("a".into(), DeliveryState::Held),
                ("b".into(), DeliveryState::Sending)
            ]
        );
        // `hold` and `postpone` leave an attempted delivery alone too.
        store.hold(ids[1], "no", now()).unwrap();
        store.postpone(ids[1], later, "later", now()).unwrap();
        let b = &store.deliveries().unwrap()[1];
        assert_eq!((b.state, b.due_at), (DeliveryState::Sending, now()));
    }

    #[test]
    fn deliveries_are_queued_once_and_walk_their_states() {
        let (_dir, mut store) = store();
        let batch = Batch {
            deliveries: vec![
                queued("a", "masto", DeliveryState::Pending),
                queued("b", "masto", DeliveryState::Held),
            ],
            ..Batch::default()
        };
        store.apply(&batch, now()).unwrap();
        // The same entry and channel again: ignored.
        store.apply(&batch, now()).unwrap();
        assert_eq!(store.deliveries().unwrap().len(), 2);

        let due = store.due_deliveries("masto", now()).unwrap();
        assert_eq!(due.len(), 1);
        let d = &due[0];
        assert_eq!(
            (d.entry_id.as_str(), d.state, d.attempts),
            ("a", DeliveryState::Pending, 0)
        );
        assert_eq!(d.queued_at, now());

        store.mark_sending(d.id, now()).unwrap();
        let later = now() + chrono::Duration::minutes(5);
        store.mark_failed(d.id, "HTTP 503", later, now()).unwrap();
        assert!(store.due_deliveries("masto", now()).unwrap().is_empty());
        let again = store.due_deliveries("masto", later).unwrap();
        assert_eq!(
            (again[0].state, again[0].attempts),
            (DeliveryState::Failed, 1)
        );

        store.mark_sending(d.id, later).unwrap();
        store
            .mark_sent(d.id, Some("123"), Some("https://m.example/@a/123"), later)
            .unwrap();
        assert_eq!(store.sent_since("masto", now()).unwrap(), 1);
        assert_eq!(store.last_sent_at("masto").unwrap(), Some(later));
        assert!(store.due_deliveries("masto", later).unwrap().is_empty());
    }

    #[test]
    fn the_first_attempt_freezes_the_post_and_key_stamps_only_grow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let mut store = Store::open(&path).unwrap();
        let batch = Batch {
            deliveries: vec![
                queued("a", "bsky", DeliveryState::Pending),
                queued("b", "bsky", DeliveryState::Pending),
            ],
            ..Batch::default()
        };
        store.apply(&batch, now()).unwrap();
        let due = store.due_deliveries("bsky", now()).unwrap();
        let (a, b) = (due[0].id, due[1].id);
        assert_eq!(due[0].post, None);

        let mut stamps = Vec::new();
        let mut freeze = |name: &str, stamp: u64| {
            stamps.push(stamp);
            format!("{name}:{stamp}")
        };
        store
            .mark_sending_first(a, now(), |s| freeze("a", s))
            .unwrap();
        // The same microsecond, then a clock set back by an hour.
        store
            .mark_sending_first(b, now(), |s| freeze("b", s))
            .unwrap();
        let earlier = now() - chrono::Duration::hours(1);
        store.rekey_post(a, earlier, |s| freeze("a", s)).unwrap();
        let micros = now().timestamp_micros() as u64;
        assert_eq!(stamps, [micros, micros + 1, micros + 2]);

        // A later attempt keeps the post; the new key did not count as an attempt.
        store.mark_sending(b, now()).unwrap();
        let posts: Vec<_> = store
            .deliveries()
            .unwrap()
            .into_iter()
            .map(|d| (d.post.unwrap(), d.state, d.attempts))
            .collect();
        assert_eq!(
            posts,
            [
                (format!("a:{}", micros + 2), DeliveryState::Sending, 1),
                (format!("b:{}", micros + 1), DeliveryState::Sending, 2)
            ]
        );

        // Remembered across runs; a later clock is taken as it is.
        drop(store);
        let mut store = Store::open(&path).unwrap();
        let mut next = 0;
        store
            .rekey_post(b, now(), |s| {
                next = s;
                String::new()
            })
            .unwrap();
        assert_eq!(next, micros + 3);
        let later = now() + chrono::Duration::seconds(1);
        store
            .rekey_post(b, later, |s| {
                next = s;
                String::new()
            })
            .unwrap();
        assert_eq!(next, later.timestamp_micros() as u64);
    }

    #[test]
    fn a_delivery_left_sending_is_due_again() {
        let (_dir, mut store) = store();
        store
            .apply(
                &Batch {
                    deliveries: vec![queued("a", "x", DeliveryState::Pending)],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        let id = store.due_deliveries("x", now()).unwrap()[0].id;
        store.mark_sending(id, now()).unwrap();
        let due = store.due_deliveries("x", now()).unwrap();
        assert_eq!(due[0].state, DeliveryState::Sending);
    }

    #[test]
    fn retry_requeues_and_unpauses_and_status_summarises() {
        let (_dir, mut store) = store();
        store
            .apply(
                &Batch {
                    deliveries: vec![
                        queued("a", "fb", DeliveryState::Pending),
                        queued("b", "fb", DeliveryState::Held),
                        queued("a", "x", DeliveryState::Pending),
                    ],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        let id = store.due_deliveries("fb", now()).unwrap()[0].id;
        store.mark_sending(id, now()).unwrap();
        store.mark_dead(id, "code 368: blocked", now()).unwrap();
        store.pause_channel("fb", "token expired", now()).unwrap();
        assert_eq!(
            store.channel_paused("fb").unwrap().as_deref(),
            Some("token expired")
        );

        let summary = store.delivery_summary().unwrap();
        assert_eq!(summary.len(), 2);
        assert_eq!(summary[0].channel, "fb");
        assert_eq!(
            summary[0].counts,
            [(DeliveryState::Dead, 1), (DeliveryState::Held, 1)]
        );
        assert_eq!(summary[0].last_error.as_deref(), Some("code 368: blocked"));
        assert_eq!(summary[0].paused.as_deref(), Some("token expired"));

        assert_eq!(store.retry(Some("x"), None, now()).unwrap(), (0, 0));
        assert_eq!(store.retry(Some("fb"), None, now()).unwrap(), (2, 1));
        assert_eq!(store.channel_paused("fb").unwrap(), None);
        let due = store.due_deliveries("fb", now()).unwrap();
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|d| d.state == DeliveryState::Pending));
        // The attempted one keeps that it may be out; the held one was never sent.
        let attempts: Vec<(&str, u32)> = due
            .iter()
            .map(|d| (d.entry_id.as_str(), d.attempts))
            .collect();
        assert_eq!(attempts, [("a", 1), ("b", 0)]);
    }

    /// `crier retry` used to set attempts to 0, so a delivery given up after a timeout (its
    /// post maybe out) was next sent as a blind first attempt, through `publish`.
    #[test]
    fn retry_keeps_that_an_attempted_delivery_may_already_be_posted() {
        let (_dir, mut store) = store();
        store
            .apply(
                &Batch {
                    deliveries: vec![queued("a", "masto", DeliveryState::Pending)],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        let id = store.due_deliveries("masto", now()).unwrap()[0].id;
        for _ in 0..3 {
            store.mark_sending(id, now()).unwrap();
            store
                .mark_failed(id, "mastodon: request timed out", now(), now())
                .unwrap();
        }
        store
            .mark_dead(id, "gave up after 3 attempts", now())
            .unwrap();

        assert_eq!(store.retry(None, None, now()).unwrap(), (1, 0));

        let due = store.due_deliveries("masto", now()).unwrap();
        assert_eq!(due[0].state, DeliveryState::Pending);
        // Above zero: the engine's next try goes through `recover`, with fresh attempts left.
        assert_eq!(due[0].attempts, 1);
    }

    #[test]
    fn sent_posts_list_the_live_entries_posts_and_the_stamp_moves_with_them() {
        use crate::store::{EntryRecord, EntryStatus};
        let (_dir, mut store) = store();
        let record = |id: &str| {
            let entry = crate::testing::entry(id, "2024-05-01T00:00:00Z");
            EntryRecord {
                content_hash: entry.content_hash(),
                entry,
                source: "s".into(),
                doc_key: format!("{id}.md"),
                fingerprint: "f".into(),
                status: EntryStatus::Live,
            }
        };
        store
            .apply(
                &Batch {
                    upserts: vec![record("a"), record("b")],
                    deliveries: vec![
                        queued("a", "masto", DeliveryState::Pending),
                        queued("a", "bsky", DeliveryState::Pending),
                        queued("b", "masto", DeliveryState::Pending),
                    ],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        let empty = store.sent_stamp().unwrap();
        assert!(store.sent_posts().unwrap().is_empty());

        let later = now() + chrono::Duration::minutes(1);
        for (channel, at) in [("masto", later), ("bsky", now())] {
            for d in store.due_deliveries(channel, now()).unwrap() {
                let url = format!("https://{channel}.example/{}", d.entry_id);
                store.mark_sent(d.id, Some("r1"), Some(&url), at).unwrap();
            }
        }
        let stamp = store.sent_stamp().unwrap();
        assert_ne!(stamp, empty);
        let posts = store.sent_posts().unwrap();
        let listed: Vec<(&str, &str, Option<&str>)> = posts
            .iter()
            .map(|p| {
                (
                    p.entry_id.as_str(),
                    p.channel.as_str(),
                    p.remote_url.as_deref(),
                )
            })
            .collect();
        // By entry, then time sent: Bluesky's post of `a` went out first.
        assert_eq!(
            listed,
            [
                ("a", "bsky", Some("https://bsky.example/a")),
                ("a", "masto", Some("https://masto.example/a")),
                ("b", "masto", Some("https://masto.example/b")),
            ]
        );
        assert_eq!(posts[0].entry_url, "https://example.org/a/");
        assert_eq!(posts[0].sent_at, now());
        assert_eq!(posts[0].remote_id.as_deref(), Some("r1"));

        // A withdrawn entry's posts are not listed; the stamp only follows sent deliveries.
        store
            .apply(
                &Batch {
                    statuses: vec![("b".into(), EntryStatus::Removed)],
                    ..Batch::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(store.sent_posts().unwrap().len(), 2);
        assert_eq!(store.sent_stamp().unwrap(), stamp);
    }

    #[test]
    fn memory_is_per_channel() {
        let (_dir, mut store) = store();
        store.memory_set("bsky", "session", "s1").unwrap();
        store.memory_set("bsky", "session", "s2").unwrap();
        assert_eq!(
            store.memory_get("bsky", "session").unwrap().as_deref(),
            Some("s2")
        );
        assert_eq!(store.memory_get("other", "session").unwrap(), None);
    }
}

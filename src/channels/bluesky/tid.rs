//! Record keys: a post's record key must be a TID (timestamp identifier). crier makes one per
//! delivery from a key stamp, a microsecond count the state never issues twice, and keeps it
//! with the delivery's post, so that every attempt of a delivery targets the same record, a
//! retry can look it up instead of posting twice, and no two deliveries share a key.
//!
//! Older crier versions derived the key from the delivery's queue time and the low 10 bits of
//! its id, which gave two deliveries of one cycle the same key once it queued more than 1,024;
//! [`for_delivery`] still names the record such a crier may have created, for its deliveries
//! still waiting.
//!
//! Spec: <https://atproto.com/specs/tid>. A TID is a 64-bit integer (top bit 0, then 53 bits of
//! microseconds since the UNIX epoch, then a 10-bit clock id) written big-endian in 13
//! characters of base32-sortable, so that TIDs sort as strings in time order.

use chrono::{DateTime, Utc};

const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
const TIMESTAMP_BITS: u32 = 53;
const CLOCK_ID_BITS: u32 = 10;

/// The TID of `micros` microseconds since the epoch and `clock_id` (low 10 bits kept).
pub(super) fn encode(micros: u64, clock_id: u16) -> String {
    let timestamp = micros & ((1 << TIMESTAMP_BITS) - 1);
    let value = (timestamp << CLOCK_ID_BITS) | (u64::from(clock_id) & ((1 << CLOCK_ID_BITS) - 1));
    // 13 digits of 5 bits: the first one holds the top 4 bits (of which the highest is 0).
    (0..13)
        .map(|digit| {
            let shift = 60 - 5 * digit;
            char::from(ALPHABET[((value >> shift) & 0x1f) as usize])
        })
        .collect()
}

/// The record key of a key stamp, as unique as the stamp (the clock id stays 0).
pub(super) fn from_stamp(stamp: u64) -> String {
    encode(stamp, 0)
}

/// The record key older crier versions gave a delivery: its queue time, and a clock id from
/// its id, which repeats every 1,024 deliveries.
pub(super) fn for_delivery(queued_at: DateTime<Utc>, delivery_id: i64) -> String {
    let micros = u64::try_from(queued_at.timestamp_micros()).unwrap_or(0);
    // rem_euclid(1024) is in 0..1024, which fits a u16.
    let clock_id = delivery_id.rem_euclid(1 << CLOCK_ID_BITS) as u16;
    encode(micros, clock_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(tid: &str) -> u64 {
        tid.bytes().fold(0, |value, c| {
            let digit = ALPHABET.iter().position(|&a| a == c).expect("TID digit");
            (value << 5) | digit as u64
        })
    }

    fn is_valid(tid: &str) -> bool {
        // The spec's syntax: ^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$
        tid.len() == 13
            && b"234567abcdefghij".contains(&tid.as_bytes()[0])
            && tid.bytes().all(|c| ALPHABET.contains(&c))
    }

    #[test]
    fn encodes_like_other_implementations() {
        assert_eq!(encode(0, 0), "2222222222222");
        // Vector from @atcute/tid's documentation.
        assert_eq!(encode(1_724_171_495_793_000, 512), "3l25zusnsfck2");
        assert_eq!(decode("3l25zusnsfck2"), (1_724_171_495_793_000 << 10) | 512);
    }

    #[test]
    fn keys_are_valid_and_deterministic() {
        let at = DateTime::parse_from_rfc3339("2025-03-04T05:06:07.123456Z")
            .unwrap()
            .to_utc();
        let key = for_delivery(at, 42);
        assert!(is_valid(&key), "{key}");
        assert_eq!(key, for_delivery(at, 42));
        assert_ne!(key, for_delivery(at, 43));
        assert_eq!(decode(&key) >> 10, at.timestamp_micros() as u64);
        assert_eq!(decode(&key) & 0x3ff, 42);
        // Extremes stay in the syntax.
        assert!(is_valid(&encode(u64::MAX, u16::MAX)));
        assert!(is_valid(&for_delivery(DateTime::UNIX_EPOCH, -1)));
        assert!(is_valid(&for_delivery(DateTime::<Utc>::MAX_UTC, i64::MAX)));
    }

    #[test]
    fn stamps_make_distinct_keys_where_deliveries_collided() {
        let at = DateTime::parse_from_rfc3339("2025-03-04T05:06:07.123456Z")
            .unwrap()
            .to_utc();
        // The old derivation: deliveries 1 and 1025 of one cycle shared a key.
        assert_eq!(for_delivery(at, 1), for_delivery(at, 1025));
        let stamp = at.timestamp_micros() as u64;
        let keys: Vec<String> = (0..2048).map(|i| from_stamp(stamp + i)).collect();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique, keys, "distinct and in stamp order");
        assert!(keys.iter().all(|k| is_valid(k)));
        assert_eq!(decode(&keys[5]), (stamp + 5) << 10);
    }

    #[test]
    fn keys_sort_by_time() {
        let start = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let steps = [
            0,
            1,
            999,
            1_000_000,
            86_400_000_000,
            10 * 365 * 86_400_000_000,
        ];
        let keys: Vec<String> = steps
            .iter()
            .enumerate()
            .map(|(i, micros)| {
                // A later delivery may have a smaller clock id: time still decides.
                let id = 1023 - i as i64 * 100;
                for_delivery(start + chrono::Duration::microseconds(*micros), id)
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}

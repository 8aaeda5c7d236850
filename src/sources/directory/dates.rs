//! Reading the date values Hugo and Zola accept: RFC 3339 and its common relaxations, with or
//! without an offset, with or without seconds, or a bare date.
//!
//! A value without an offset is a wall-clock time in the site timezone, read by the rule
//! every source shares ([`in_timezone`]: the offset before a clock change decides).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::sources::dates::in_timezone;

/// The accepted spellings, for error messages.
pub(super) const ACCEPTED: &str = "2024-03-12, 2024-03-12 09:30, 2024-03-12T09:30:00 or \
                                   2024-03-12T09:30:00+01:00 (RFC 3339)";

/// Parses `text`; `None` when it is not one of the [`ACCEPTED`] forms.
pub(super) fn parse(text: &str, timezone: Tz) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    let date_part = text.get(..10)?;
    let date = NaiveDate::parse_from_str(date_part, "%Y-%m-%d").ok()?;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(in_timezone(date.and_time(NaiveTime::MIN), timezone));
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?.trim_start();
    let (time_part, offset) = split_offset(rest)?;
    let time = NaiveTime::parse_from_str(time_part, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(time_part, "%H:%M"))
        .ok()?;
    let naive = date.and_time(time);
    match offset {
        Some(offset) => offset.from_local_datetime(&naive).single(),
        None => Some(in_timezone(naive, timezone)),
    }
}

/// Splits `09:30:00+01:00` into the time and its offset (`Z`, `±HH:MM`, `±HHMM` or `±HH`,
/// optionally after a space).
fn split_offset(text: &str) -> Option<(&str, Option<FixedOffset>)> {
    if let Some(time) = text.strip_suffix(['Z', 'z']) {
        return Some((time.trim_end(), FixedOffset::east_opt(0)));
    }
    let Some(sign_at) = text.find(['+', '-']) else {
        return Some((text, None));
    };
    let (time, offset) = text.split_at(sign_at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(|&c| c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    let offset = FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?;
    Some((time.trim_end(), Some(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str, tz: &str) -> Option<String> {
        parse(text, tz.parse().unwrap()).map(|d| d.to_rfc3339())
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            ("2024-03-12", "UTC", "2024-03-12T00:00:00+00:00"),
            ("2024-03-12", "Europe/Paris", "2024-03-12T00:00:00+01:00"),
            (
                "2024-07-12 09:30",
                "Europe/Paris",
                "2024-07-12T09:30:00+02:00",
            ),
            (
                "2024-07-12T09:30:15",
                "Europe/Paris",
                "2024-07-12T09:30:15+02:00",
            ),
            (
                "2024-07-12T09:30:15Z",
                "Europe/Paris",
                "2024-07-12T09:30:15+00:00",
            ),
            (
                "2024-07-12T09:30:15.250-05:00",
                "UTC",
                "2024-07-12T09:30:15.250-05:00",
            ),
            ("2024-07-12 09:30 +0530", "UTC", "2024-07-12T09:30:00+05:30"),
            ("2024-07-12T09:30+01", "UTC", "2024-07-12T09:30:00+01:00"),
            ("  2024-07-12  ", "UTC", "2024-07-12T00:00:00+00:00"),
        ];
        for (text, tz, want) in cases {
            assert_eq!(p(text, tz).as_deref(), Some(want), "{text} in {tz}");
        }
    }

    #[test]
    fn rejected_forms() {
        for text in [
            "",
            "12/03/2024",
            "2024-13-01",
            "2024-03-12T25:00",
            "2024-03-12 9h",
            "yesterday",
            "2024-03-12T09:30+1:00:00",
            "07:30:00",
            "2024-03-12X09:30",
        ] {
            assert_eq!(p(text, "UTC"), None, "{text}");
        }
    }

    #[test]
    fn dst_gap_and_overlap() {
        // 02:30 does not exist in Paris on 2024-03-31; 02:30 exists twice on 2024-10-27.
        assert_eq!(
            p("2024-03-31 02:30", "Europe/Paris").as_deref(),
            Some("2024-03-31T03:30:00+02:00")
        );
        assert_eq!(
            p("2024-10-27 02:30", "Europe/Paris").as_deref(),
            Some("2024-10-27T02:30:00+02:00")
        );
        // The rule shared with the remote sources: the offset before the gap, not "one hour
        // later" (Lord Howe moves its clocks by 30 minutes).
        assert_eq!(
            p("2024-10-06 02:15", "Australia/Lord_Howe").as_deref(),
            Some("2024-10-06T02:45:00+11:00")
        );
    }
}

//! Reading the date values Hugo and Zola accept: RFC 3339 and its common relaxations, with or
//! without an offset, with or without seconds, or a bare date (Zola, Hugo); and the other
//! layouts of Hugo's date parser (`cast.StringToDateInDefaultLocation`, whose list Hugo's
//! [front matter dates](https://gohugo.io/content-management/front-matter/#dates) go
//! through): RFC 1123, RFC 822, RFC 850, ANSI C, Unix and Ruby dates, Go's `Time.String()`
//! and `02 Jan 2006`.
//!
//! A value without an offset is a wall-clock time in the site timezone, read by the rule
//! every source shares ([`in_timezone`]: the offset before a clock change decides). So is a
//! value whose zone is only a name (`GMT`, `CET`): Go parses such a name with no offset, and
//! Hugo then reads the wall clock in its default location, the site's `timeZone`; crier does
//! the same so that the entry has the time the site shows. Go's time-only layouts (`3:04PM`,
//! `Jan _2 15:04:05`) are not read: they give Hugo a date in year 0.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::sources::dates::in_timezone;

/// The accepted spellings, for error messages.
pub(super) const ACCEPTED: &str = "2024-03-12, 2024-03-12 09:30, 2024-03-12T09:30:00, \
    2024-03-12T09:30:00+01:00 (RFC 3339), Tue, 12 Mar 2024 09:30:00 GMT (RFC 1123), \
    12 Mar 24 09:30 +0100 (RFC 822), Tue Mar 12 09:30:00 2024 (ANSI C) or 12 Mar 2024";

/// Hugo's layouts with a numeric offset, as chrono formats, once the weekday and a zone name
/// are taken off: RFC 1123Z, RFC 822Z, Ruby's date and Go's `Time.String()`.
const WITH_OFFSET: [&str; 4] = [
    "%d %b %Y %H:%M:%S %z",
    "%d %b %y %H:%M %z",
    "%b %d %H:%M:%S %z %Y",
    "%Y-%m-%d %H:%M:%S%.f %z",
];

/// Hugo's layouts without an offset (or with a zone name only, taken off): RFC 1123, RFC 822,
/// RFC 850, and ANSI C and Unix dates.
const WITHOUT_OFFSET: [&str; 4] = [
    "%d %b %Y %H:%M:%S",
    "%d %b %y %H:%M",
    "%d-%b-%y %H:%M:%S",
    "%b %d %H:%M:%S %Y",
];

/// Parses `text`; `None` when it is not one of the forms Hugo or Zola accept.
pub(super) fn parse(text: &str, timezone: Tz) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    iso(text, timezone).or_else(|| go_layouts(text, timezone))
}

/// RFC 3339 and its relaxations: `2024-03-12`, `2024-03-12 09:30`, `2024-03-12T09:30:00Z`,
/// `2024-03-12 09:30:00 -0700`.
fn iso(text: &str, timezone: Tz) -> Option<DateTime<FixedOffset>> {
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

/// The layouts of Hugo's list that are not ISO 8601. Go checks a weekday's spelling but not
/// that it matches the date, so it is taken off before chrono (which would check) reads the
/// rest; a zone name is taken off too (see the module header).
fn go_layouts(text: &str, timezone: Tz) -> Option<DateTime<FixedOffset>> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let (first, rest) = tokens.split_first()?;
    let tokens = if is_weekday(first.trim_end_matches(',')) {
        rest
    } else {
        &tokens[..]
    };
    let kept: Vec<&str> = tokens
        .iter()
        .copied()
        .filter(|t| !is_zone_name(t))
        .collect();
    let text = kept.join(" ");
    if let Some(d) = WITH_OFFSET
        .iter()
        .find_map(|f| DateTime::parse_from_str(&text, f).ok())
    {
        return Some(d);
    }
    let naive = WITHOUT_OFFSET
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(&text, "%d %b %Y")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })?;
    Some(in_timezone(naive, timezone))
}

fn is_weekday(word: &str) -> bool {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let word = word.to_ascii_lowercase();
    word.len() >= 3 && DAYS.iter().any(|d| *d == word || d[..3] == word)
}

/// A time zone abbreviation as Go's `MST` matches it: three to five capital letters (month
/// names are written `Jan`, never `JAN`, in these layouts).
fn is_zone_name(word: &str) -> bool {
    (3..=5).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_uppercase())
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
            // Hugo's other layouts (cast's `timeFormats`).
            (
                "Tue, 12 Mar 2024 10:00:00 +0100",
                "UTC",
                "2024-03-12T10:00:00+01:00",
            ),
            // A zone name gives no offset: the wall clock in the site timezone, as in Hugo.
            (
                "Tue, 12 Mar 2024 10:00:00 GMT",
                "Europe/Paris",
                "2024-03-12T10:00:00+01:00",
            ),
            (
                "Tue, 12 Mar 2024 10:00:00 GMT",
                "UTC",
                "2024-03-12T10:00:00+00:00",
            ),
            // The weekday is not checked against the date, as in Go.
            (
                "Monday, 12 Mar 2024 10:00:00 UTC",
                "UTC",
                "2024-03-12T10:00:00+00:00",
            ),
            ("12 Mar 24 10:00 -0500", "UTC", "2024-03-12T10:00:00-05:00"),
            (
                "12 Mar 24 10:00 CET",
                "Europe/Paris",
                "2024-03-12T10:00:00+01:00",
            ),
            (
                "Tuesday, 12-Mar-24 10:00:00 CET",
                "Europe/Paris",
                "2024-03-12T10:00:00+01:00",
            ),
            (
                "Tue Mar  5 10:00:00 2024",
                "UTC",
                "2024-03-05T10:00:00+00:00",
            ),
            (
                "Tue Mar 12 10:00:00 CET 2024",
                "Europe/Paris",
                "2024-03-12T10:00:00+01:00",
            ),
            (
                "Tue Mar 12 10:00:00 -0700 2024",
                "UTC",
                "2024-03-12T10:00:00-07:00",
            ),
            (
                "2024-03-12 10:00:00.5 +0200 EET",
                "UTC",
                "2024-03-12T10:00:00.500+02:00",
            ),
            (
                "2024-03-12 10:00:00 -07:00",
                "UTC",
                "2024-03-12T10:00:00-07:00",
            ),
            (
                "2024-03-12 10:00:00Z",
                "Europe/Paris",
                "2024-03-12T10:00:00+00:00",
            ),
            ("12 Mar 2024", "Europe/Paris", "2024-03-12T00:00:00+01:00"),
            ("02 Jan 2006", "UTC", "2006-01-02T00:00:00+00:00"),
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
            "3:04PM",
            "Mar 12 10:00:00",
            "Tue, 32 Mar 2024 10:00:00 GMT",
            "Tue, 12 Mar 2024 10:00:00 +2500",
            "12 March",
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

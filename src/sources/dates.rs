//! Dates as remote sources write them: RFC 3339 and ISO 8601 variants, RFC 2822 (feeds,
//! HTTP), explicit `strftime` formats from the config, and dates written out in a language,
//! such as "12 mars 2024", "1er avril 2024", "12. März 2024", "March 12, 2024" or
//! "12/03/2024" (day first, as Europe writes it).
//!
//! A value without an offset is a wall-clock time in the source's timezone, read by
//! [`in_timezone`], whose rule for daylight-saving changes every source shares. Whatever a
//! source read, [`fit_for_feeds`] is the one check every date goes through before it can reach
//! a feed: years 1 to 9999, offsets within ±14:00, and whole-minute offsets.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime,
    Offset, TimeZone,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Spellings accepted without a configured format, for error messages.
pub const ACCEPTED: &str = "2024-03-12, 2024-03-12T09:30:00+01:00 (RFC 3339), \
    Tue, 12 Mar 2024 09:30:00 GMT (RFC 2822), 12/03/2024, 12 mars 2024 or March 12, 2024";

/// Month names (and common abbreviations) in the languages of the network's members, in
/// lower case without a trailing dot. Index + 1 is the month.
const MONTHS: &[[&str; 12]] = &[
    // English
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    // French
    [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    [
        "janv", "févr", "mars", "avr", "mai", "juin", "juil", "août", "sept", "oct", "nov", "déc",
    ],
    // German
    [
        "januar",
        "februar",
        "märz",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "dezember",
    ],
    // Spanish
    [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    // Italian
    [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ],
    // Dutch
    [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    // Portuguese
    [
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
    // Romanian
    [
        "ianuarie",
        "februarie",
        "martie",
        "aprilie",
        "mai",
        "iunie",
        "iulie",
        "august",
        "septembrie",
        "octombrie",
        "noiembrie",
        "decembrie",
    ],
];

/// The furthest offsets from UTC in use anywhere (Kiribati's +14:00, Baker Island's −12:00 the
/// other way): XML Schema's `dateTime`, which feed validators read Atom's RFC 3339 dates with,
/// allows no more, and readers that build a time zone from an RFC 822 offset refuse more.
pub const MAX_OFFSET_SECONDS: i32 = 14 * 3600;

/// Why a date cannot be written into a feed: each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Unfit {
    /// The year (of the date as written or of its UTC instant) is outside 1 to 9999, which
    /// RFC 3339 and RFC 822 dates cannot spell.
    #[error(
        "{date}: the year is outside 1 to 9999, which feed dates cannot hold; write the real date"
    )]
    Year {
        /// The date as read.
        date: String,
    },
    /// The offset lies beyond ±14:00, which no place uses: most likely a typo.
    #[error(
        "{date}: the offset {offset} is beyond ±14:00, which no place on Earth uses and feed \
         readers refuse; write the offset in force where the entry was published, or Z for UTC"
    )]
    Offset {
        /// The date as read.
        date: String,
        /// The offset, `+23:59`.
        offset: String,
    },
}

/// `date` made fit for every feed format, or why it cannot be.
///
/// - A year outside 1 to 9999 (as written or in UTC) and an offset beyond ±14:00 are refused:
///   both mean the date is wrong, and guessing another would publish a wrong time.
/// - An offset with seconds (a tz-database zone before standard time: Paris was +00:09:21
///   until 1911) becomes UTC, so the instant is kept exactly: RFC 3339 and RFC 822 offsets
///   have minutes only, and an offset cut to minutes would move the instant or show a local
///   time no clock showed either.
pub fn fit_for_feeds(date: DateTime<FixedOffset>) -> Result<DateTime<FixedOffset>, Unfit> {
    let offset = date.offset().local_minus_utc();
    if offset.abs() > MAX_OFFSET_SECONDS {
        return Err(Unfit::Offset {
            date: date.to_rfc3339(),
            offset: date.offset().to_string(),
        });
    }
    let date = if offset % 60 == 0 {
        date
    } else {
        date.to_utc().fixed_offset()
    };
    let years = 1..=9999;
    if !years.contains(&date.year()) || !years.contains(&date.to_utc().year()) {
        return Err(Unfit::Year {
            date: date.to_rfc3339(),
        });
    }
    Ok(date)
}

/// Parses `text` with the configured `formats` first (chrono `strftime` syntax, with or
/// without an offset, or date only), then the [`ACCEPTED`] spellings.
pub fn parse(text: &str, timezone: Tz, formats: &[DateFormat]) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    for format in formats {
        if let Some(d) = with_format(text, format.as_str(), timezone) {
            return Some(d);
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d);
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(text) {
        return Some(d);
    }
    iso(text, timezone)
        .or_else(|| numeric(text, timezone))
        .or_else(|| words(text, timezone))
}

/// One configured `date_formats` entry: a chrono `strftime` format, checked when the config
/// is read (chrono's parsers take the format as text, so the text is what is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat(String);

impl DateFormat {
    /// Checks `format`; the error shows it and an example.
    pub fn parse(format: &str) -> Result<DateFormat, String> {
        use chrono::format::{Item, StrftimeItems};
        if format.trim().is_empty()
            || StrftimeItems::new(format).any(|item| matches!(item, Item::Error))
        {
            return Err(format!(
                "{format:?} is not a chrono strftime format such as \"%d/%m/%Y %H:%M\""
            ));
        }
        Ok(DateFormat(format.to_owned()))
    }

    /// The format as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for DateFormat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DateFormat {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateFormat::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A Unix timestamp in seconds.
pub fn from_timestamp(seconds: i64) -> Option<DateTime<FixedOffset>> {
    DateTime::from_timestamp(seconds, 0).map(|d| d.fixed_offset())
}

fn with_format(text: &str, format: &str, timezone: Tz) -> Option<DateTime<FixedOffset>> {
    if let Ok(d) = DateTime::parse_from_str(text, format) {
        return Some(d);
    }
    if let Ok(n) = NaiveDateTime::parse_from_str(text, format) {
        return Some(in_timezone(n, timezone));
    }
    NaiveDate::parse_from_str(text, format)
        .ok()
        .map(|d| in_timezone(d.and_time(NaiveTime::MIN), timezone))
}

/// `2024-03-12`, `2024-03-12 09:30`, `2024-03-12T09:30:00.123` (offset-less ISO 8601).
fn iso(text: &str, timezone: Tz) -> Option<DateTime<FixedOffset>> {
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(text, format) {
            return Some(in_timezone(n, timezone));
        }
    }
    // An offset without a colon (`+0100`) or a space before it, which RFC 3339 refuses.
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(text, format) {
            return Some(d);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|d| in_timezone(d.and_time(NaiveTime::MIN), timezone))
}

/// `12/03/2024`, `12.03.2024`, `12-03-2024`, day first, optionally followed by `HH:MM`.
fn numeric(text: &str, timezone: Tz) -> Option<DateTime<FixedOffset>> {
    let (date, time) = split_time(text);
    let parts: Vec<&str> = date.split(['/', '.', '-']).map(str::trim).collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    if y.len() != 4 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some(in_timezone(date.and_time(time?), timezone))
}

/// "12 mars 2024", "1er avril 2024 à 10h30", "12. März 2024", "March 12, 2024",
/// "mardi 12 mars 2024", "12 de marzo de 2024".
fn words(text: &str, timezone: Tz) -> Option<DateTime<FixedOffset>> {
    let (date, time) = split_time(text);
    let lower = date.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == ',' || c == '/')
        .map(|t| t.trim_end_matches('.'))
        .filter(|t| !t.is_empty() && !matches!(*t, "de" | "del" | "le" | "the" | "of"))
        .collect();
    let mut day = None;
    let mut month = None;
    let mut year = None;
    for token in tokens {
        if let Some(m) = month_number(token) {
            month.get_or_insert(m);
            continue;
        }
        let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            continue; // a weekday name, "er", "st", …
        }
        let suffix = &token[digits.len()..];
        if !matches!(suffix, "" | "er" | "st" | "nd" | "rd" | "th" | "º" | "°") {
            return None;
        }
        let n: u32 = digits.parse().ok()?;
        if digits.len() == 4 {
            year.get_or_insert(n as i32);
        } else if day.is_none() && (1..=31).contains(&n) {
            day = Some(n);
        } else {
            return None;
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    Some(in_timezone(date.and_time(time?), timezone))
}

fn month_number(token: &str) -> Option<u32> {
    MONTHS
        .iter()
        .find_map(|names| names.iter().position(|n| *n == token).map(|i| i as u32 + 1))
}

/// Splits a trailing time (`10:30`, `10h30`, `10:30:15`, after `à`, `at`, `um`, `,`) from
/// the date. The time is midnight when there is none, and `None` when one is there but
/// unreadable.
fn split_time(text: &str) -> (&str, Option<NaiveTime>) {
    let Some(at) = text.rfind(|c: char| c.is_whitespace() || c == ',') else {
        return (text, Some(NaiveTime::MIN));
    };
    let last = text[at..].trim_matches(|c: char| c.is_whitespace() || c == ',');
    let looks_like_time = last.contains(':')
        || (last.contains('h') && last.starts_with(|c: char| c.is_ascii_digit()));
    if !looks_like_time {
        return (text, Some(NaiveTime::MIN));
    }
    let normalised = last.replace('h', ":");
    let normalised = if normalised.ends_with(':') {
        format!("{normalised}00")
    } else {
        normalised
    };
    let time = NaiveTime::parse_from_str(&normalised, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(&normalised, "%H:%M"))
        .ok();
    let mut date = text[..at].trim_end();
    for word in [" à", " at", " um", " a las", " alle", " om", " às", ","] {
        date = date.strip_suffix(word).unwrap_or(date).trim_end();
    }
    (date, time)
}

/// How far back [`in_timezone`] looks for the wall-clock time before a gap: the longest gap
/// on record is a whole skipped day (Samoa, 30 December 2011).
const GAP_SEARCH: Duration = Duration::hours(48);

/// The step of that search: shorter than any gap (they last 30 minutes, one or two hours, or
/// a day), so the first valid time found lies just before the gap, on the offset before it.
const GAP_STEP: Duration = Duration::minutes(15);

/// `naive` read as a wall-clock time in `timezone`, the one rule every source follows (the
/// directory source too): the UTC offset in force *before* the clock change decides, as
/// iCalendar prescribes (RFC 5545 §3.3.5) and `java.time` does.
/// - In a gap (spring forward), the time is read with the offset before the gap, so it lands
///   as far past the gap's end as it was past its start: 02:30 in Paris on 31 March 2024 is
///   03:30+02:00, and 02:15 at Lord Howe (a 30-minute change) is 02:45+11:00. Hugo does the
///   same (Go's `time.Date` looks the offset up again before the gap).
/// - In an overlap (fall back), the earlier of the two instants is taken, the one still on
///   the offset before the change: 02:30 in Paris on 27 October 2024 is 02:30+02:00. Go's
///   choice here depends on the sign of the offset (later in Paris, earlier in New York) and
///   its documentation leaves it open, so crier does not copy it. Zola has no site time zone
///   and reads offset-less dates as they are.
pub fn in_timezone(naive: NaiveDateTime, timezone: Tz) -> DateTime<FixedOffset> {
    match timezone.from_local_datetime(&naive) {
        LocalResult::Single(d) => d.fixed_offset(),
        LocalResult::Ambiguous(earlier, _) => earlier.fixed_offset(),
        LocalResult::None => {
            let steps = GAP_SEARCH.num_minutes() / GAP_STEP.num_minutes();
            let before_gap = (1..=steps).find_map(|n| {
                timezone
                    .from_local_datetime(&(naive - GAP_STEP * n as i32))
                    .latest()
            });
            match before_gap {
                Some(before) => {
                    let offset = before.offset().fix();
                    let instant = naive - Duration::seconds(i64::from(offset.local_minus_utc()));
                    timezone.from_utc_datetime(&instant).fixed_offset()
                }
                // No zone has a gap two days long; read the time as UTC rather than fail.
                None => naive.and_utc().fixed_offset(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<String> {
        parse(text, chrono_tz::Europe::Paris, &[]).map(|d| d.to_rfc3339())
    }

    #[test]
    fn machine_formats() {
        assert_eq!(
            at("2024-03-12T09:30:00Z").as_deref(),
            Some("2024-03-12T09:30:00+00:00")
        );
        assert_eq!(
            at("2024-03-12").as_deref(),
            Some("2024-03-12T00:00:00+01:00")
        );
        assert_eq!(
            at("2024-03-12T10:00:00").as_deref(),
            Some("2024-03-12T10:00:00+01:00")
        );
        assert_eq!(
            at("2024-07-12 10:00").as_deref(),
            Some("2024-07-12T10:00:00+02:00")
        );
        assert_eq!(
            at("2024-03-12T10:00:00+0100").as_deref(),
            Some("2024-03-12T10:00:00+01:00")
        );
        assert_eq!(
            at("Tue, 12 Mar 2024 09:30:00 GMT").as_deref(),
            Some("2024-03-12T09:30:00+00:00")
        );
    }

    #[test]
    fn dates_in_words() {
        let cases = [
            ("12 mars 2024", "2024-03-12T00:00:00+01:00"),
            ("1er avril 2024", "2024-04-01T00:00:00+02:00"),
            ("mardi 12 mars 2024 à 10h30", "2024-03-12T10:30:00+01:00"),
            ("12 Décembre 2023", "2023-12-12T00:00:00+01:00"),
            ("3 févr. 2024", "2024-02-03T00:00:00+01:00"),
            ("12. März 2024", "2024-03-12T00:00:00+01:00"),
            ("March 12, 2024", "2024-03-12T00:00:00+01:00"),
            ("12 March 2024, 14:05", "2024-03-12T14:05:00+01:00"),
            ("12 de marzo de 2024", "2024-03-12T00:00:00+01:00"),
            ("12 maart 2024", "2024-03-12T00:00:00+01:00"),
            ("12/03/2024", "2024-03-12T00:00:00+01:00"),
            ("12.03.2024 18:00", "2024-03-12T18:00:00+01:00"),
        ];
        for (text, want) in cases {
            assert_eq!(at(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn nonsense_is_refused() {
        for text in [
            "",
            "soon",
            "31 février 2024",
            "12 mars",
            "mars 2024",
            "12 13 2024",
            "2024-13-01",
            "12 mars 2024 à 25h00",
        ] {
            assert_eq!(at(text), None, "{text}");
        }
    }

    #[test]
    fn configured_formats_come_first() {
        let formats = vec![DateFormat::parse("%m/%d/%Y").unwrap()];
        let d = parse("03/12/2024", chrono_tz::UTC, &formats).unwrap();
        assert_eq!(d.to_rfc3339(), "2024-03-12T00:00:00+00:00");
        let d = parse("03/12/2024", chrono_tz::UTC, &[]).unwrap();
        assert_eq!(d.to_rfc3339(), "2024-12-03T00:00:00+00:00");
    }

    #[test]
    fn configured_formats_are_checked() {
        assert_eq!(DateFormat::parse("%d %B %Y").unwrap().as_str(), "%d %B %Y");
        let err = DateFormat::parse("%Q").unwrap_err();
        assert!(err.contains("\"%Q\"") && err.contains("strftime"), "{err}");
        assert!(DateFormat::parse(" ").is_err());
    }

    #[test]
    fn daylight_saving_edges() {
        // 31 March 2024, 02:30 does not exist in Paris; 27 October 02:30 happens twice.
        assert_eq!(
            at("2024-03-31 02:30").as_deref(),
            Some("2024-03-31T03:30:00+02:00")
        );
        assert_eq!(
            at("2024-10-27 02:30").as_deref(),
            Some("2024-10-27T02:30:00+02:00")
        );
    }

    /// The one rule of [`in_timezone`]: the offset before the change decides, in a gap of
    /// any length and in an overlap. Both functions this replaced added one hour in a gap,
    /// which is wrong at Lord Howe (a 30-minute change) and in Samoa (a skipped day).
    #[test]
    fn the_offset_before_a_clock_change_decides() {
        let read = |text: &str, zone: Tz| {
            let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
            in_timezone(naive, zone).to_rfc3339()
        };
        use chrono_tz::{Australia, Europe, Pacific};
        let cases = [
            // Gaps: as far past the gap's end as the time was past its start.
            (
                "2024-03-31 02:30",
                Europe::Paris,
                "2024-03-31T03:30:00+02:00",
            ),
            (
                "2024-10-06 02:15",
                Australia::Lord_Howe,
                "2024-10-06T02:45:00+11:00",
            ),
            (
                "2011-12-30 10:00",
                Pacific::Apia,
                "2011-12-31T10:00:00+14:00",
            ),
            // Overlaps: the earlier instant, still on summer time.
            (
                "2024-10-27 02:30",
                Europe::Paris,
                "2024-10-27T02:30:00+02:00",
            ),
            (
                "2024-04-07 01:45",
                Australia::Lord_Howe,
                "2024-04-07T01:45:00+11:00",
            ),
            (
                "2024-11-03 01:30",
                chrono_tz::America::New_York,
                "2024-11-03T01:30:00-04:00",
            ),
            // Ordinary times are untouched.
            (
                "2024-07-12 09:30",
                Europe::Paris,
                "2024-07-12T09:30:00+02:00",
            ),
        ];
        for (text, zone, want) in cases {
            assert_eq!(read(text, zone), want, "{text} in {zone}");
        }
    }

    fn rfc3339(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn years_outside_1_to_9999_are_refused() {
        for text in [
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
        ] {
            let err = fit_for_feeds(rfc3339(text)).unwrap_err();
            assert!(matches!(err, Unfit::Year { .. }), "{text}: {err}");
            assert!(err.to_string().contains("1 to 9999"), "{err}");
        }
        let far = NaiveDate::from_ymd_opt(10000, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);
        assert!(fit_for_feeds(far.and_utc().fixed_offset()).is_err());
        let before = NaiveDate::from_ymd_opt(-44, 3, 15)
            .unwrap()
            .and_time(NaiveTime::MIN);
        assert!(fit_for_feeds(before.and_utc().fixed_offset()).is_err());
        for text in [
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-03-12T09:30:00+01:00",
        ] {
            assert_eq!(fit_for_feeds(rfc3339(text)), Ok(rfc3339(text)), "{text}");
        }
    }

    #[test]
    fn offsets_beyond_14_hours_are_refused() {
        for text in ["2024-03-12T09:30:00+23:59", "2024-03-12T09:30:00-14:01"] {
            let err = fit_for_feeds(rfc3339(text)).unwrap_err();
            assert!(matches!(err, Unfit::Offset { .. }), "{text}: {err}");
            assert!(err.to_string().contains("±14:00"), "{err}");
        }
        assert!(fit_for_feeds(rfc3339("2024-03-12T09:30:00+14:00")).is_ok());
        assert!(fit_for_feeds(rfc3339("2024-03-12T09:30:00-12:00")).is_ok());
    }

    /// Paris kept its local mean time, +00:09:21, until 1911: the instant is kept, in UTC.
    #[test]
    fn offsets_with_seconds_become_utc_and_keep_the_instant() {
        let naive = NaiveDateTime::parse_from_str("1900-01-01 00:00", "%Y-%m-%d %H:%M").unwrap();
        let read = in_timezone(naive, chrono_tz::Europe::Paris);
        assert_eq!(read.offset().local_minus_utc(), 9 * 60 + 21);
        let fit = fit_for_feeds(read).unwrap();
        assert_eq!(fit, read, "the same instant");
        assert_eq!(fit.to_rfc3339(), "1899-12-31T23:50:39+00:00");
        assert_eq!(fit.to_rfc2822(), "Sun, 31 Dec 1899 23:50:39 +0000");
    }
}

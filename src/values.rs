//! Typed config values every section shares, parsed once when the config is read: http(s)
//! URLs, time zones, durations, sizes, and [`Invalid`], the "this key is wrong" error each section's
//! `validate` returns.
//!
//! The serde helpers here produce messages a person can act on (the value, what was expected,
//! an example, and a "did you mean" where a near name exists); the TOML parser adds the line
//! and the config loader the key path. [`read_table`] reads a section from the parsed
//! document and reports a mistake as [`Refused`]: its key path, its place in the file, and a
//! "did you mean" for a misspelt key; [`take_tag`] serves the tables whose `type` decides
//! their other keys.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use url::Url;

/// A value that parsed but cannot be used: the key (relative to the section that found it)
/// and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted key path, e.g. `permalink` or `http.max_pages`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Invalid {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same problem seen from the enclosing table `prefix` (`sources[1]`, `site`).
    pub fn under(self, prefix: &str) -> Invalid {
        Invalid {
            key: join_key(prefix, &self.key),
            ..self
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.key, self.message)
    }
}

/// `key` (relative to the table `prefix`) as seen from the table enclosing `prefix`.
fn join_key(prefix: &str, key: &str) -> String {
    if key.is_empty() {
        prefix.to_owned()
    } else if prefix.is_empty() {
        key.to_owned()
    } else if key.starts_with('[') {
        format!("{prefix}{key}")
    } else {
        format!("{prefix}.{key}")
    }
}

/// A value serde refused while reading a table of the config document: its key path
/// (relative to the table read), what is wrong, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Dotted key path, e.g. `http.max_pages`; empty for the table itself.
    pub key: String,
    /// What is wrong, with a "did you mean" for a misspelt name.
    pub message: String,
    /// Byte range in the document of the key or value at fault, when the parser knows it.
    pub span: Option<Range<usize>>,
}

impl Refused {
    /// The same mistake seen from the enclosing table `prefix` (`channels[1]`).
    pub fn under(self, prefix: &str) -> Refused {
        Refused {
            key: join_key(prefix, &self.key),
            ..self
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.key, self.message)
        }
    }
}

/// Reads `T` from a table of the parsed config document. A mistake keeps the key path serde
/// was at and the place toml's parser recorded, which a value copied out of the document
/// (`toml::Table`) would have lost.
pub fn read_table<'de, T: Deserialize<'de>>(table: Spanned<DeTable<'de>>) -> Result<T, Refused> {
    let span = table.span();
    let value = Spanned::new(span, DeValue::Table(table.into_inner()));
    serde_path_to_error::deserialize(toml::de::ValueDeserializer::from(value)).map_err(|e| {
        // serde_path_to_error writes the empty path as ".".
        let key = Some(e.path().to_string()).filter(|k| k != ".");
        Refused {
            key: key.unwrap_or_default(),
            message: suggest_name(e.inner().message().trim_end()),
            span: e.inner().span(),
        }
    })
}

/// Takes the tag `key` (`type`) out of a table whose other keys depend on it, and returns the
/// choice it names: `choices` pairs each accepted name with what the caller does for it.
/// `what` names the tag in messages (`channel type`).
pub fn take_tag<'c, T>(
    table: &mut Spanned<DeTable<'_>>,
    key: &str,
    what: &str,
    choices: &'c [(&'static str, T)],
) -> Result<&'c T, Refused> {
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let refused = |message: String, span: Range<usize>| Refused {
        key: key.to_owned(),
        message,
        span: Some(span),
    };
    let table_span = table.span();
    let Some(value) = table.get_mut().remove(key) else {
        return Err(refused(
            format!("missing field `{key}`; use one of {}", list(&names)),
            table_span,
        ));
    };
    let Some(name) = value.get_ref().as_str() else {
        return Err(refused(
            format!("`{key}` must be a string, one of {}", list(&names)),
            value.span(),
        ));
    };
    choices
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, choice)| choice)
        .ok_or_else(|| refused(unknown_name(what, name, &names), value.span()))
}

/// The message for a name nobody expects, in serde's words ("unknown field `limmit`, expected
/// one of …") and with the nearest expected name when one is near enough to be a typo.
pub fn unknown_name(what: &str, name: &str, names: &[&str]) -> String {
    let hint = did_you_mean(name, names.iter().copied())
        .map(|near| format!("; did you mean `{near}`?"))
        .unwrap_or_default();
    format!("unknown {what} `{name}`, {}{hint}", expected(names))
}

/// serde's "expected `a`", "expected `a` or `b`", "expected one of `a`, `b`, `c`".
fn expected(names: &[&str]) -> String {
    match names {
        [one] => format!("expected `{one}`"),
        [one, two] => format!("expected `{one}` or `{two}`"),
        _ => format!("expected one of {}", list(names)),
    }
}

/// "`a`, `b`".
fn list(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

/// serde's message for an unknown field or variant, with [`unknown_name`]'s "did you mean";
/// any other message as it is. serde knows the expected names but not the nearest one, and
/// its derived code calls no hook that could add it, so its words are read back here.
fn suggest_name(message: &str) -> String {
    let parse = || {
        let (what, rest) = message.strip_prefix("unknown ")?.split_once(" `")?;
        let (name, list) = rest.split_once("`, expected ")?;
        let names = match list.strip_prefix("one of ") {
            Some(list) => list.split(", ").collect(),
            None => list.split(" or ").collect::<Vec<_>>(),
        };
        let names = names
            .into_iter()
            .map(|n| n.strip_prefix('`')?.strip_suffix('`'))
            .collect::<Option<Vec<_>>>()?;
        Some(unknown_name(what, name, &names))
    };
    parse().unwrap_or_else(|| message.to_owned())
}

/// The keys a struct's derived `Deserialize` reads, asked of the derive itself so that the
/// list cannot drift from the struct.
pub fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    /// A deserializer that only notes the fields a struct asks for, then stops.
    struct Fields<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("fields noted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // The error is the expected end of the walk: the fields were noted before it.
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// Reads a table that did not come from the config file (a `toml::Table` a test or another
/// format built) with `read`, the reader of the parsed document, by writing it back as TOML:
/// one reader for both, at the price of lines that mean nothing here.
pub fn read_detached<T>(
    table: toml::Table,
    read: impl FnOnce(Spanned<DeTable<'_>>) -> Result<T, Refused>,
) -> Result<T, String> {
    let text = toml::to_string(&table).map_err(|e| e.to_string())?;
    let table = DeTable::parse(&text).map_err(|e| e.message().to_owned())?;
    read(table).map_err(|e| e.to_string())
}

/// Checks the `name` of a source or channel: it prefixes entry ids and names the channel in
/// logs, `status` and `retry --channel`, so it is kept to letters, digits, `-` and `_`.
pub fn check_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Invalid::new(
            "name",
            format!("{name:?}: use letters, digits, '-' and '_' only"),
        ));
    }
    Ok(())
}

/// An absolute `http://` or `https://` URL with a host, kept as written (so that
/// `format!("{base}/path")` joins as the operator expects) and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    text: String,
    url: Url,
}

impl HttpUrl {
    /// Parses `text`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<HttpUrl, String> {
        let url = Url::parse(text).map_err(|e| format!("{text:?} is not an absolute URL ({e})"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(format!("{text:?} must start with https:// or http://"));
        }
        if url.host_str().is_none() {
            return Err(format!("{text:?} has no host name"));
        }
        Ok(HttpUrl {
            text: text.to_owned(),
            url,
        })
    }

    /// The URL as written in the config.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host name.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for HttpUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        HttpUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde for durations written as `"30s"`, `"10m"`, `"14d"` (humantime).
pub mod duration {
    use super::*;

    /// Parses a humantime duration; the error shows the value and an example.
    pub fn parse(text: &str) -> Result<Duration, String> {
        humantime::parse_duration(text.trim()).map_err(|e| {
            format!("{text:?} is not a duration such as \"30s\", \"10m\" or \"14d\" ({e})")
        })
    }

    /// Reads a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    /// Writes a duration the way it is read.
    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    /// The same for an optional duration.
    pub mod option {
        use super::*;

        /// Reads an optional duration.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            let text = Option::<String>::deserialize(deserializer)?;
            text.map(|t| parse(&t).map_err(serde::de::Error::custom))
                .transpose()
        }

        /// Writes an optional duration.
        pub fn serialize<S: Serializer>(
            value: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(d) => super::serialize(d, serializer),
                None => serializer.serialize_none(),
            }
        }
    }
}

/// Serde for sizes written as `"10MB"`, `"512 KiB"`, `"1GB"` or a plain number of bytes.
pub mod size {
    use super::*;

    /// Units a size may be written in, lower case, with their factor.
    const UNITS: [(&str, u64); 7] = [
        ("b", 1),
        ("kb", 1_000),
        ("kib", 1_024),
        ("mb", 1_000_000),
        ("mib", 1_048_576),
        ("gb", 1_000_000_000),
        ("gib", 1_073_741_824),
    ];

    /// Parses a size in bytes (1 byte to 1 TB); the error shows the value and an example.
    pub fn parse(text: &str) -> Result<u64, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size such as \"10MB\" or \"512KiB\""))?;
        let unit = unit.trim().to_ascii_lowercase();
        // `k`, `m` and `g` alone are the decimal units.
        let unit = match unit.as_str() {
            "" => "b".to_owned(),
            "k" | "m" | "g" => format!("{unit}b"),
            _ => unit,
        };
        let Some((_, factor)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "{text:?}: unknown unit {unit:?}; use B, KB, KiB, MB, MiB, GB or GiB"
            ));
        };
        let bytes = number * *factor as f64;
        if !(1.0..=1e12).contains(&bytes) {
            return Err(format!("{text:?} is out of range (1 byte to 1 TB)"));
        }
        Ok(bytes as u64)
    }

    /// Reads a size.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    /// Writes a size the way it is read: in the first of GB, GiB, MB, MiB, KB and KiB that
    /// divides it, else in bytes.
    pub fn serialize<S: Serializer>(bytes: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        let text = ["GB", "GiB", "MB", "MiB", "KB", "KiB"]
            .into_iter()
            .find_map(|unit| {
                let (_, factor) = UNITS
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(unit))?;
                (*bytes >= *factor && bytes.is_multiple_of(*factor))
                    .then(|| format!("{}{unit}", bytes / factor))
            })
            .unwrap_or_else(|| bytes.to_string());
        serializer.serialize_str(&text)
    }
}

/// Serde for IANA time zone names (`"Europe/Paris"`, `"UTC"`).
pub mod timezone {
    use super::*;
    use chrono_tz::Tz;

    /// Parses a time zone name; the error suggests the nearest known name.
    pub fn parse(text: &str) -> Result<Tz, String> {
        text.parse::<Tz>().map_err(|_| {
            let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
            let hint = did_you_mean(text, names)
                .map(|near| format!("; did you mean {near:?}?"))
                .unwrap_or_default();
            format!(
                "{text:?} is not an IANA time zone name such as \"Europe/Paris\" or \"UTC\"{hint}"
            )
        })
    }

    /// Reads a time zone.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    /// Writes a time zone by name.
    pub fn serialize<S: Serializer>(value: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.name())
    }

    /// The same for an optional time zone.
    pub mod option {
        use super::*;

        /// Reads an optional time zone.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Tz>, D::Error> {
            let text = Option::<String>::deserialize(deserializer)?;
            text.map(|t| parse(&t).map_err(serde::de::Error::custom))
                .transpose()
        }

        /// Writes an optional time zone.
        pub fn serialize<S: Serializer>(
            value: &Option<Tz>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(tz) => serializer.serialize_str(tz.name()),
                None => serializer.serialize_none(),
            }
        }
    }
}

/// The candidate nearest to `word` when it is near enough to be a slip of the keyboard: at
/// most a third of the word's length in edits (and at least one), case ignored.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    let allowed = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word_lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_keep_their_text_and_refuse_other_schemes() {
        let url = HttpUrl::parse("https://api.x.com").unwrap();
        assert_eq!(url.as_str(), "https://api.x.com");
        assert_eq!(url.host(), "api.x.com");
        assert!(
            HttpUrl::parse("example.org")
                .unwrap_err()
                .contains("absolute URL")
        );
        assert!(
            HttpUrl::parse("ftp://example.org")
                .unwrap_err()
                .contains("https://")
        );
        assert!(HttpUrl::parse("http:/").is_err());
    }

    #[test]
    fn durations_and_time_zones_say_what_was_expected() {
        assert_eq!(duration::parse("10m"), Ok(Duration::from_secs(600)));
        assert!(duration::parse("soon").unwrap_err().contains("\"30s\""));
        assert_eq!(
            timezone::parse("Europe/Paris"),
            Ok(chrono_tz::Europe::Paris)
        );
        let err = timezone::parse("Europe/Pari").unwrap_err();
        assert!(err.contains("did you mean \"Europe/Paris\"?"), "{err}");
        let err = timezone::parse("Mars/Olympus").unwrap_err();
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn sizes() {
        assert_eq!(size::parse("10MB"), Ok(10_000_000));
        assert_eq!(size::parse("512 KiB"), Ok(524_288));
        assert_eq!(size::parse("2048"), Ok(2048));
        assert_eq!(size::parse("1.5mb"), Ok(1_500_000));
        assert_eq!(size::parse("2k"), Ok(2_000));
        assert!(size::parse("ten").unwrap_err().contains("\"10MB\""));
        assert!(
            size::parse("10 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(size::parse("0").unwrap_err().contains("out of range"));
    }

    #[test]
    fn sizes_are_written_as_they_are_read() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Limit {
            #[serde(with = "size")]
            max: u64,
        }
        for (bytes, text) in [
            (20_000_000, "20MB"),
            (524_288, "512KiB"),
            (1_500_000, "1500KB"),
            (1_234, "1234"),
        ] {
            let written = serde_json::to_value(Limit { max: bytes }).unwrap();
            assert_eq!(written["max"], text);
            let read: Limit = serde_json::from_value(written).unwrap();
            assert_eq!(read.max, bytes);
        }
    }

    #[test]
    fn suggestions_are_near_and_case_blind() {
        let keys = ["limit", "formats", "per_language"];
        assert_eq!(did_you_mean("limmit", keys), Some("limit"));
        assert_eq!(did_you_mean("Formats", keys), Some("formats"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn invalid_keys_nest() {
        let e = Invalid::new("http.max_pages", "must be at least 1").under("sources[2]");
        assert_eq!(e.key, "sources[2].http.max_pages");
        let e = Invalid::new("[1]", "bad").under("site.languages");
        assert_eq!(e.key, "site.languages[1]");
        assert_eq!(e.to_string(), "`site.languages[1]`: bad");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // Only read, to see what serde says.
    struct Http {
        max_pages: usize,
        #[serde(default)]
        retries: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Table {
        http: Http,
    }

    #[test]
    fn a_refused_value_keeps_its_key_and_place_and_gets_a_suggestion() {
        let text = "[http]\nmax_pages = \"x\"\n";
        let err = read_table::<Table>(DeTable::parse(text).unwrap()).unwrap_err();
        assert_eq!(err.key, "http.max_pages");
        assert_eq!(err.span.clone().map(|s| &text[s]), Some("\"x\""));
        assert_eq!(
            err.under("sources[1]").to_string(),
            "`sources[1].http.max_pages`: invalid type: string \"x\", expected usize"
        );

        let text = "[http]\nmax_pages = 1\nretires = 2\n";
        let err = read_table::<Table>(DeTable::parse(text).unwrap()).unwrap_err();
        assert_eq!(err.key, "http.retires");
        assert_eq!(err.span.clone().map(|s| &text[s]), Some("retires"));
        assert_eq!(
            err.message,
            "unknown field `retires`, expected `max_pages` or `retries`; did you mean `retries`?"
        );
    }

    #[test]
    fn only_serde_unknown_name_messages_get_a_suggestion() {
        assert_eq!(
            suggest_name("unknown variant `rsss`, expected one of `rss`, `atom`, `json`"),
            "unknown variant `rsss`, expected one of `rss`, `atom`, `json`; did you mean `rss`?"
        );
        assert_eq!(
            suggest_name("unknown field `zzz`, expected `limit`"),
            "unknown field `zzz`, expected `limit`"
        );
        assert_eq!(
            suggest_name("unknown field `limt`, expected `limit`"),
            "unknown field `limt`, expected `limit`; did you mean `limit`?"
        );
        for as_is in [
            "unknown field `x`, there are no fields",
            "invalid type: string \"50\", expected usize",
        ] {
            assert_eq!(suggest_name(as_is), as_is);
        }
    }

    #[test]
    fn a_tag_is_taken_out_and_checked() {
        let choices = [("feed", 1), ("html", 2)];
        let text = "type = \"html\"\nname = \"n\"\n";
        let mut table = DeTable::parse(text).unwrap();
        assert_eq!(
            take_tag(&mut table, "type", "source type", &choices),
            Ok(&2)
        );
        assert!(!table.get_ref().contains_key("type"));

        let text = "type = \"fead\"\n";
        let err = take_tag(
            &mut DeTable::parse(text).unwrap(),
            "type",
            "source type",
            &choices,
        )
        .unwrap_err();
        assert_eq!(err.key, "type");
        assert_eq!(err.span.clone().map(|s| &text[s]), Some("\"fead\""));
        assert_eq!(
            err.message,
            "unknown source type `fead`, expected `feed` or `html`; did you mean `feed`?"
        );
        let err = take_tag(
            &mut DeTable::parse("type = 3").unwrap(),
            "type",
            "t",
            &choices,
        );
        assert_eq!(
            err.unwrap_err().message,
            "`type` must be a string, one of `feed`, `html`"
        );
        let err = take_tag(&mut DeTable::parse("").unwrap(), "type", "t", &choices);
        assert_eq!(
            err.unwrap_err().message,
            "missing field `type`; use one of `feed`, `html`"
        );
    }

    #[test]
    fn struct_fields_come_from_the_derive() {
        assert_eq!(struct_fields::<Http>(), ["max_pages", "retries"]);
        assert!(struct_fields::<String>().is_empty());
    }

    #[test]
    fn a_detached_table_is_read_by_the_same_reader() {
        let table: toml::Table = toml::from_str("[http]\nmax_pages = 2").unwrap();
        let read = read_detached(table, |t| read_table::<Table>(t)).unwrap();
        assert_eq!(read.http.max_pages, 2);
        let table: toml::Table = toml::from_str("[http]\nmax_pages = -1").unwrap();
        let err = read_detached(table, |t| read_table::<Table>(t)).unwrap_err();
        assert!(err.starts_with("`http.max_pages`: invalid value"), "{err}");
    }
}

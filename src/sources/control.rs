//! An entry's own control of its announcements: the `crier` table of its front matter
//! (`[extra.crier]`, `[params.crier]`, `crier:`) or the field a remote source maps to it,
//! read once into [`Announce`]. Every source reads it here, so that a Markdown file and a JSON
//! item say the same things the same way:
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `announce` | boolean | `false`: announced on no channel |
//! | `channels` | list of channel names | only these channels |
//! | `skip` | list of channel names | not these channels |
//! | `text` | table: `mastodon`, `bluesky`, `x`, `facebook` | a template replacing the channel's for that network |
//! | `hashtags` | list of words | added to the categories' hashtags |
//! | `announce_at` | date and time | not announced before then |
//!
//! Channel names must be those of the config's `[[channels]]` (a typo would otherwise silently
//! announce everywhere, or nowhere); a custom text must compile as a template. Mistakes are
//! [`Invalid`] with the key inside the table, for the source to place (a line, a mapped path).

use chrono_tz::Tz;
use serde_json::Value;

use crate::entry::{Announce, PostTexts};
use crate::site::Site;
use crate::sources::dates;
use crate::values::{Invalid, unknown_name};

/// The keys of the table, in the order the documentation lists them.
pub const KEYS: [&str; 6] = [
    "announce",
    "channels",
    "skip",
    "text",
    "hashtags",
    "announce_at",
];

/// The networks a custom text may be written for.
pub const NETWORKS: [&str; 4] = ["mastodon", "bluesky", "x", "facebook"];

/// Reads the control table `value` of an entry of `site`, whose offset-less dates are in
/// `timezone`. An error's key is relative to the table (`skip`, `text.x`).
pub fn read(value: &Value, site: &Site, timezone: Tz) -> Result<Announce, Invalid> {
    let Value::Object(table) = value else {
        return Err(Invalid::new(
            "",
            "must be a table of announcement settings, e.g. `{ skip = [\"x\"] }`",
        ));
    };
    let mut announce = Announce::default();
    for (key, value) in table {
        if value.is_null() {
            // An empty YAML value says nothing.
            continue;
        }
        match key.as_str() {
            "announce" => {
                announce.enabled = value
                    .as_bool()
                    .ok_or_else(|| Invalid::new(key, "must be true or false"))?;
            }
            "channels" => announce.channels = Some(channel_names(key, value, site)?),
            "skip" => announce.skip = channel_names(key, value, site)?,
            "text" => announce.text = texts(value)?,
            "hashtags" => announce.hashtags = hashtags(value)?,
            "announce_at" => announce.at = Some(time(value, timezone)?),
            other => return Err(Invalid::new(other, unknown_name("key", other, &KEYS))),
        }
    }
    Ok(announce)
}

/// A list of words (one word alone counts as a list of one), as text.
fn words(key: &str, value: &Value, example: &str) -> Result<Vec<String>, Invalid> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        one => std::slice::from_ref(one),
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err(Invalid::new(
                key,
                format!("must be a list of names, e.g. {example}"),
            )),
        })
        .collect()
}

/// Names of configured channels.
fn channel_names(key: &str, value: &Value, site: &Site) -> Result<Vec<String>, Invalid> {
    let names = words(key, value, "[\"mastodon\"]")?;
    let known: Vec<&str> = site.channels.iter().map(String::as_str).collect();
    for name in &names {
        if known.contains(&name.as_str()) {
            continue;
        }
        let message = if known.is_empty() {
            format!("no channel {name:?}: the config has no [[channels]]")
        } else {
            let message = unknown_name("channel", name, &known);
            if message.ends_with('?') {
                message
            } else {
                format!(
                    "{message}; entries name channels by the `name` of their [[channels]] table"
                )
            }
        };
        return Err(Invalid::new(key, message));
    }
    Ok(names)
}

/// The custom text per network; each must compile as a template.
fn texts(value: &Value) -> Result<PostTexts, Invalid> {
    let Value::Object(table) = value else {
        return Err(Invalid::new(
            "text",
            "must be a table of texts by network, e.g. `text.x = \"…\"` or `text = { x = \"…\" }`",
        ));
    };
    let mut texts = PostTexts::default();
    for (network, text) in table {
        let key = format!("text.{network}");
        let slot = match network.as_str() {
            "mastodon" => &mut texts.mastodon,
            "bluesky" => &mut texts.bluesky,
            "x" => &mut texts.x,
            "facebook" => &mut texts.facebook,
            other => {
                return Err(Invalid::new(key, unknown_name("network", other, &NETWORKS)));
            }
        };
        let Value::String(text) = text else {
            return Err(Invalid::new(key, "must be text"));
        };
        if text.trim().is_empty() {
            return Err(Invalid::new(
                key,
                "is empty; remove it to use the channel's template",
            ));
        }
        // The same engine the channels render with: a mistake is caught here, with its key,
        // rather than when the post is due.
        minijinja::Environment::new()
            .template_from_str(text)
            .map_err(|e| Invalid::new(&key, format!("is not a valid template: {e}")))?;
        *slot = Some(text.clone());
    }
    Ok(texts)
}

/// Hashtags without their `#`, without empty ones or repeats (ignoring case).
fn hashtags(value: &Value) -> Result<Vec<String>, Invalid> {
    let mut tags: Vec<String> = Vec::new();
    for word in words("hashtags", value, "[\"OpenData\", \"Ghent\"]")? {
        let tag = word.trim_start_matches('#').trim().to_owned();
        if !tag.is_empty() && !tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

/// A date and time: text (a TOML datetime arrives as its text) or a Unix time in seconds.
fn time(value: &Value, timezone: Tz) -> Result<chrono::DateTime<chrono::FixedOffset>, Invalid> {
    let found = match value {
        Value::Number(n) => n.as_i64().and_then(dates::from_timestamp),
        Value::String(text) => dates::parse(text, timezone, &[]),
        _ => None,
    };
    found.ok_or_else(|| {
        Invalid::new(
            "announce_at",
            format!(
                "{value} is not a date; write e.g. 2024-03-12T09:30:00+01:00 (without an offset \
                 the timezone {timezone} applies)"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn site() -> Site {
        let mut site = crate::testing::site("");
        site.channels = vec!["mastodon".into(), "x-main".into()];
        site
    }

    fn read_json(value: Value) -> Result<Announce, Invalid> {
        read(&value, &site(), chrono_tz::Europe::Brussels)
    }

    #[test]
    fn every_key_is_read() {
        let got = read_json(json!({
            "announce": true,
            "channels": ["mastodon"],
            "skip": "x-main",
            "text": { "x": "Read {{ title }}: {{ url }}", "mastodon": "Plain words" },
            "hashtags": ["#OpenData", "ghent", "opendata", "Ghent"],
            "announce_at": "2024-03-12 09:30",
        }))
        .unwrap();
        assert!(got.enabled);
        assert_eq!(got.channels, Some(vec!["mastodon".to_owned()]));
        assert_eq!(got.skip, ["x-main"]);
        assert_eq!(got.text.x.as_deref(), Some("Read {{ title }}: {{ url }}"));
        assert_eq!(got.text.for_network("mastodon"), Some("Plain words"));
        assert_eq!(got.text.for_network("bluesky"), None);
        assert_eq!(got.hashtags, ["OpenData", "ghent"]);
        // Offset-less: the timezone given (Brussels is UTC+1 in March).
        assert_eq!(
            got.at.unwrap().to_rfc3339(),
            "2024-03-12T09:30:00+01:00",
            "{got:?}"
        );
        assert!(read_json(json!({})).unwrap().is_default());
        assert!(!read_json(json!({ "announce": false })).unwrap().enabled);
    }

    #[test]
    fn mistakes_name_the_key_and_suggest_the_near_name() {
        let key = |value: Value| read_json(value).unwrap_err();
        let e = key(json!({ "skp": ["x-main"] }));
        assert_eq!(e.key, "skp");
        assert!(e.message.contains("did you mean `skip`?"), "{e}");
        let e = key(json!({ "skip": ["x_main"] }));
        assert_eq!(e.key, "skip");
        assert!(e.message.contains("unknown channel `x_main`"), "{e}");
        assert!(e.message.contains("did you mean `x-main`?"), "{e}");
        let e = key(json!({ "announce": "no" }));
        assert_eq!(
            (e.key.as_str(), e.message.as_str()),
            ("announce", "must be true or false")
        );
        let e = key(json!({ "text": { "twitter": "hi" } }));
        assert_eq!(e.key, "text.twitter");
        assert!(e.message.contains("expected one of `mastodon`"), "{e}");
        let e = key(json!({ "text": { "x": "{{ title" } }));
        assert_eq!(e.key, "text.x");
        assert!(e.message.starts_with("is not a valid template"), "{e}");
        let e = key(json!({ "text": "hello" }));
        assert_eq!(e.key, "text");
        let e = key(json!({ "hashtags": [3] }));
        assert_eq!(e.key, "hashtags");
        let e = key(json!({ "announce_at": "soon" }));
        assert_eq!(e.key, "announce_at");
        assert!(e.message.contains("\"soon\" is not a date"), "{e}");
        let e = key(json!(["x"]));
        assert!(e.message.starts_with("must be a table"), "{e}");
        let none = read(
            &json!({ "channels": ["mastodon"] }),
            &crate::testing::site(""),
            chrono_tz::UTC,
        )
        .unwrap_err();
        assert!(
            none.message.contains("the config has no [[channels]]"),
            "{none}"
        );
    }
}

//! Values to hand the library directly: a post for a channel, an entry for the feeds or the
//! store, a `[[channels]]` table. Each is a plain default that a test adjusts with struct
//! update syntax (`Post { delivery_id: 42, ..post(…) }`), so that what a test relies on is
//! written in the test.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use crier::channels::{ChannelConfig, Post};
use crier::entry::Entry;

/// A post of `text` announcing `url` for `entry_id`: delivery 7, queued on 2025-03-01 at
/// 12:00 UTC, in English, titled "Title", no summary, no image.
pub fn post(entry_id: &str, text: &str, url: &str) -> Post {
    Post {
        delivery_id: 7,
        queued_at: Utc
            .with_ymd_and_hms(2025, 3, 1, 12, 0, 0)
            .single()
            .expect("a valid date"),
        entry_id: entry_id.to_owned(),
        text: text.to_owned(),
        url: url.to_owned(),
        title: "Title".to_owned(),
        summary: String::new(),
        language: "en".to_owned(),
        image: None,
        media: None,
        key: None,
    }
}

/// A minimal English entry `id` of `https://example.org/`, published at `published`
/// (RFC 3339): the integration tests' twin of the unit tests' `testing::entry`.
pub fn entry(id: &str, published: &str) -> Entry {
    Entry {
        id: id.to_owned(),
        guid: format!("tag:example.org,2024:{id}"),
        url: format!("https://example.org/{id}/"),
        title: format!("Title {id}"),
        summary: String::new(),
        content: "<p>Body</p>".to_owned(),
        published: DateTime::parse_from_rfc3339(published).expect("a test date in RFC 3339"),
        updated: None,
        language: "en".to_owned(),
        categories: Vec::new(),
        image: None,
        author: None,
        place: None,
        translation_key: id.to_owned(),
        extra: BTreeMap::new(),
        announce: Default::default(),
    }
}

/// A `[[channels]]` table of type `kind` with `fields`, read as the config file's would be.
pub fn channel_config(kind: &str, fields: &[(&str, toml::Value)]) -> ChannelConfig {
    let mut table = toml::Table::new();
    table.insert("type".into(), kind.into());
    for (key, value) in fields {
        table.insert((*key).into(), value.clone());
    }
    toml::Value::Table(table)
        .try_into()
        .unwrap_or_else(|e| panic!("a valid {kind} channel table: {e}"))
}

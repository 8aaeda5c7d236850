//! The `Entry` type: one published item as every source yields it and every feed and channel
//! consumes it. Sources fill it in; nothing downstream re-reads the original file.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// One published item (a project page, a news post) in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Stable internal identity, unique across all sources (e.g. `content:projects/ghent.en`).
    pub id: String,
    /// Globally unique id written to feeds (RSS `guid`, Atom `id`, JSON Feed `id`).
    pub guid: String,
    /// Absolute public URL of the entry's page.
    pub url: String,
    /// Title as plain text.
    pub title: String,
    /// Short plain-text summary (from front matter, or an excerpt of the body).
    pub summary: String,
    /// Full body as HTML; links are absolute. Not yet sanitised: feeds sanitise on output.
    pub content: String,
    /// First publication time, with the offset the author wrote (site timezone if none).
    pub published: DateTime<FixedOffset>,
    /// Last significant update, when the source says so.
    pub updated: Option<DateTime<FixedOffset>>,
    /// BCP 47 language tag (`en`, `fr`, `pt-BR`).
    pub language: String,
    /// Categories and tags, in source order, without duplicates.
    pub categories: Vec<String>,
    /// Lead image.
    pub image: Option<Image>,
    /// Author; feeds fall back to the site author when absent.
    pub author: Option<Person>,
    /// Where the project takes place.
    pub place: Option<Place>,
    /// Key shared by the translations of one entry.
    pub translation_key: String,
    /// Free fields (`prize`, `rank`, custom Hugo params) for templates.
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// An image with its alternative text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Absolute URL.
    pub url: String,
    /// Alternative text; empty when the source gives none.
    pub alt: String,
    /// The image's file on this machine, when the source found one (a directory source's
    /// page bundle or `static/` folder): channels upload it from there instead of downloading
    /// `url`, which may not be published yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<std::path::PathBuf>,
}

/// A person or organisation credited as author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// Contact e-mail address.
    pub email: Option<String>,
    /// Home page.
    pub uri: Option<String>,
}

/// The place an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// City or region name.
    pub city: Option<String>,
    /// Country name.
    pub country: Option<String>,
}

impl Place {
    /// `city` and `country` from an entry's free fields (front matter `[extra]`, an API's
    /// custom fields), when either is set.
    pub fn from_extra(extra: &BTreeMap<String, serde_json::Value>) -> Option<Place> {
        let text = |k: &str| {
            extra
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let place = Place {
            city: text("city"),
            country: text("country"),
        };
        (place.city.is_some() || place.country.is_some()).then_some(place)
    }
}

impl Entry {
    /// Last time the entry changed, for feeds: `updated`, else `published`.
    pub fn last_modified(&self) -> DateTime<FixedOffset> {
        self.updated.unwrap_or(self.published)
    }

    /// Hash of everything a feed or a post could show, to detect edits.
    pub fn content_hash(&self) -> String {
        // serde_json keeps struct field order and BTreeMap keeps key order, so equal entries
        // always serialise to equal bytes; they stream into the hasher without a buffer.
        let mut hasher = blake3::Hasher::new();
        // Writing to a hasher cannot fail, and an Entry always serialises.
        let _ = serde_json::to_writer(&mut hasher, self);
        hasher.finalize().to_hex().to_string()
    }
}

/// Newest first, then by id, so every output built from a list of entries is deterministic.
pub fn sort_newest_first(entries: &mut [Entry]) {
    entries.sort_by(|a, b| b.published.cmp(&a.published).then_with(|| a.id.cmp(&b.id)));
}

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
    /// What the entry asks of its own announcements; absent from the stored JSON (and the
    /// content hash) while it asks nothing, so entries without it hash as they always did.
    #[serde(default, skip_serializing_if = "Announce::is_default")]
    pub announce: Announce,
}

/// An entry's own control of its announcements (front matter `[extra.crier]`, a mapped field
/// of a remote source). The default announces as the channels are configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Announce {
    /// False (`announce = false`): announced on no channel.
    pub enabled: bool,
    /// Only these channels (by configured name), when given.
    pub channels: Option<Vec<String>>,
    /// Not these channels.
    pub skip: Vec<String>,
    /// A text that replaces the channel's template, per network.
    pub text: PostTexts,
    /// Hashtags added to the entry's categories on the post, without `#`.
    pub hashtags: Vec<String>,
    /// Not announced before this time.
    pub at: Option<DateTime<FixedOffset>>,
}

/// Custom post texts, one per network (minijinja templates over the entry's fields, like a
/// channel's `template`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostTexts {
    /// For Mastodon channels.
    pub mastodon: Option<String>,
    /// For Bluesky channels.
    pub bluesky: Option<String>,
    /// For X channels.
    pub x: Option<String>,
    /// For Facebook channels.
    pub facebook: Option<String>,
}

/// Why an entry's control keeps it off a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `announce = false`.
    Off,
    /// `skip` names the channel.
    Skipped,
    /// `channels` is given and does not name the channel.
    NotListed,
}

impl Default for Announce {
    fn default() -> Self {
        Announce {
            enabled: true,
            channels: None,
            skip: Vec::new(),
            text: PostTexts::default(),
            hashtags: Vec::new(),
            at: None,
        }
    }
}

impl Announce {
    /// Whether the entry asks nothing of its announcements.
    pub fn is_default(&self) -> bool {
        *self == Announce::default()
    }

    /// Why the entry is not to be announced on `channel`, if it is not.
    pub fn refusal(&self, channel: &str) -> Option<Refusal> {
        if !self.enabled {
            Some(Refusal::Off)
        } else if self.skip.iter().any(|c| c == channel) {
            Some(Refusal::Skipped)
        } else if self
            .channels
            .as_ref()
            .is_some_and(|only| !only.iter().any(|c| c == channel))
        {
            Some(Refusal::NotListed)
        } else {
            None
        }
    }
}

impl Refusal {
    /// What the entry says, as a delivery's reason: "the entry says `announce = false`".
    pub fn explain(self, channel: &str) -> String {
        match self {
            Refusal::Off => "the entry says `announce = false`".to_owned(),
            Refusal::Skipped => format!("the entry's `skip` names channel {channel:?}"),
            Refusal::NotListed => {
                format!("the entry's `channels` list does not name channel {channel:?}")
            }
        }
    }
}

impl PostTexts {
    /// The custom text for `network` (`mastodon`, `bluesky`, `x`, `facebook`), if any.
    pub fn for_network(&self, network: &str) -> Option<&str> {
        match network {
            "mastodon" => self.mastodon.as_deref(),
            "bluesky" => self.bluesky.as_deref(),
            "x" => self.x.as_deref(),
            "facebook" => self.facebook.as_deref(),
            _ => None,
        }
    }
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

//! Channels: the social networks new entries are announced on. Each network implements
//! [`Channel`] in one file; [`build`] picks the implementation from the config with one
//! `match`, so adding a network touches one file and the config enum.
//!
//! A channel turns a [`Post`] (text already rendered from the template and fitted to the
//! network's length rules) into a published post, and classifies every failure as a
//! [`PostError`]: retry later, pause the channel until the operator acts, or give up on this
//! post. Sending, retrying, pacing and recording are the delivery engine's job, not the
//! channel's.

pub mod bluesky;
pub mod facebook;
pub mod http;
pub mod mastodon;
pub mod template;
pub mod x;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::entry::Image;

/// One announcement, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Delivery id in the outbox: stable across retries and restarts (idempotency keys).
    pub delivery_id: i64,
    /// When the delivery was queued: stable across retries (Bluesky derives its record key).
    pub queued_at: DateTime<Utc>,
    /// Entry announced.
    pub entry_id: String,
    /// The text to publish, already fitted to the network's limit.
    pub text: String,
    /// The entry's URL (also inside `text`).
    pub url: String,
    /// Entry title, for link cards.
    pub title: String,
    /// Entry summary, for link cards.
    pub summary: String,
    /// BCP 47 language of the text.
    pub language: String,
    /// Lead image, for link cards.
    pub image: Option<Image>,
}

/// A post that exists on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The network's id of the post, when it told us (X's duplicate refusal does not).
    pub remote_id: Option<String>,
    /// Public URL of the post, when known.
    pub remote_url: Option<String>,
}

/// Why a post did not go through, classified for the delivery engine.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum PostError {
    /// Transient: try again later (5xx, timeout, reset, rate limit). `after` is the earliest
    /// time the network accepts a retry, when it said so (rate-limit reset).
    #[error("{reason}")]
    Retry {
        /// What happened.
        reason: String,
        /// Earliest retry time announced by the network.
        after: Option<DateTime<Utc>>,
    },
    /// The channel cannot post until the operator acts (expired token, revoked app): every
    /// delivery of the channel waits. The reason says what to do.
    #[error("{reason}")]
    Pause {
        /// What happened and what to do.
        reason: String,
    },
    /// This post will never go through (refused content, blocked account): it is given up.
    #[error("{reason}")]
    Reject {
        /// What happened.
        reason: String,
    },
}

/// Small persistent key-value memory a channel may use across runs (a Bluesky session, an
/// OAuth 2.0 token pair). Backed by the state database.
pub trait Memory: Send + Sync {
    /// Value stored under `key` for this channel.
    fn get(&self, key: &str) -> Option<String>;
    /// Stores `value` under `key` for this channel.
    fn set(&self, key: &str, value: &str);
}

/// A [`Memory`] that lives only as long as the process (tests, rehearsals).
#[derive(Debug, Default)]
pub struct InMemory(std::sync::Mutex<BTreeMap<String, String>>);

impl InMemory {
    /// Every value stored, in key order.
    pub fn values(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}

impl Memory for InMemory {
    fn get(&self, key: &str) -> Option<String> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn set(&self, key: &str, value: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key.to_owned(), value.to_owned());
        }
    }
}

/// What every channel gets when it is built.
#[derive(Clone)]
pub struct ChannelContext {
    /// HTTP client shared by all channels (timeouts, User-Agent, TLS).
    pub http: reqwest::Client,
    /// The channel's persistent memory.
    pub memory: Arc<dyn Memory>,
}

/// A social network account crier announces on.
#[async_trait]
pub trait Channel: Send + Sync {
    /// The configured channel name.
    fn name(&self) -> &str;

    /// The most the network accepts, in the unit of [`Channel::count`].
    fn max_length(&self) -> usize;

    /// Length of `text` as the network counts it (X weighs characters and URLs, Bluesky
    /// counts graphemes, Mastodon counts URLs as 23 characters).
    fn count(&self, text: &str) -> usize;

    /// Publishes `post`. Called for a delivery's first attempt.
    async fn publish(&self, post: &Post) -> Result<Published, PostError>;

    /// Publishes `post` after an attempt whose outcome is unknown (a crash while sending, a
    /// timeout, a dropped connection): the post may already exist and must not be created
    /// twice. The default relies on `publish` being idempotent for a given delivery; networks
    /// where it is not look the post up first.
    async fn recover(&self, post: &Post) -> Result<Published, PostError> {
        self.publish(post).await
    }
}

/// Settings every channel has, whatever its network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CommonConfig {
    /// Unique name, used in logs, `crier status` and `crier retry --channel`.
    pub name: String,
    /// Post on this channel; `false` keeps the config but queues nothing.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Only entries in these languages (all when empty).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Only entries with one of these categories (all when empty).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Message template (minijinja); the network's default when absent.
    pub template: Option<String>,
    /// Message template per language, overriding `template`.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// At most this many posts in 24 hours on this channel.
    pub daily_cap: Option<u32>,
    /// At least this long between two posts on this channel (e.g. `"10m"`).
    pub min_spacing: Option<String>,
    /// Attempts before a delivery is given up (default: `announce.max_attempts`).
    pub max_attempts: Option<u32>,
}

fn default_true() -> bool {
    true
}

/// Keys of [`CommonConfig`]; the rest of a `[[channels]]` table belongs to its network.
const COMMON_KEYS: [&str; 9] = [
    "name",
    "enabled",
    "languages",
    "categories",
    "template",
    "templates",
    "daily_cap",
    "min_spacing",
    "max_attempts",
];

/// Network-specific settings.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkConfig {
    /// A Mastodon account.
    Mastodon(mastodon::MastodonConfig),
    /// A Bluesky account.
    Bluesky(bluesky::BlueskyConfig),
    /// An X account.
    X(x::XConfig),
    /// A Facebook Page.
    Facebook(facebook::FacebookConfig),
}

/// One `[[channels]]` table: common settings plus the network's own.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    /// Settings every channel has.
    pub common: CommonConfig,
    /// The network and its settings.
    pub network: NetworkConfig,
}

impl ChannelConfig {
    /// Network name as written in `type`.
    pub fn network_name(&self) -> &'static str {
        match self.network {
            NetworkConfig::Mastodon(_) => "mastodon",
            NetworkConfig::Bluesky(_) => "bluesky",
            NetworkConfig::X(_) => "x",
            NetworkConfig::Facebook(_) => "facebook",
        }
    }

    /// Minimum spacing between two posts, parsed (validated with the config).
    pub fn min_spacing(&self) -> Option<Duration> {
        self.common
            .min_spacing
            .as_deref()
            .and_then(|s| humantime::parse_duration(s).ok())
    }

    /// The channel's secret references, by config key.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut crate::secrets::SecretRef)> {
        match &mut self.network {
            NetworkConfig::Mastodon(c) => c.secrets_mut(),
            NetworkConfig::Bluesky(c) => c.secrets_mut(),
            NetworkConfig::X(c) => c.secrets_mut(),
            NetworkConfig::Facebook(c) => c.secrets_mut(),
        }
    }

    /// Makes relative secret file paths absolute against the config folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        for (_, secret) in self.secrets_mut() {
            secret.resolve_path(base);
        }
    }

    /// Secrets that cannot be read now, as `(key, reason)`; the values are never returned.
    pub fn unreadable_secrets(&self) -> Vec<(&'static str, String)> {
        let mut copy = self.clone();
        copy.secrets_mut()
            .into_iter()
            .filter_map(|(key, secret)| secret.load().err().map(|e| (key, e.to_string())))
            .collect()
    }

    /// The network's base URL (validated with the config).
    pub fn base_url(&self) -> &str {
        match &self.network {
            NetworkConfig::Mastodon(c) => &c.base_url,
            NetworkConfig::Bluesky(c) => &c.base_url,
            NetworkConfig::X(c) => &c.base_url,
            NetworkConfig::Facebook(c) => &c.base_url,
        }
    }
}

impl<'de> Deserialize<'de> for ChannelConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(deserializer)?;
        let network = match table.remove("type") {
            Some(toml::Value::String(t)) => t,
            Some(_) => return Err(D::Error::custom("`type` must be a string")),
            None => {
                return Err(D::Error::custom(
                    "missing `type`: one of \"mastodon\", \"bluesky\", \"x\", \"facebook\"",
                ));
            }
        };
        let mut common = toml::Table::new();
        for key in COMMON_KEYS {
            if let Some(value) = table.remove(key) {
                common.insert(key.to_owned(), value);
            }
        }
        let common =
            CommonConfig::deserialize(toml::Value::Table(common)).map_err(D::Error::custom)?;
        let rest = toml::Value::Table(table);
        let network = match network.as_str() {
            "mastodon" => {
                NetworkConfig::Mastodon(Deserialize::deserialize(rest).map_err(D::Error::custom)?)
            }
            "bluesky" => {
                NetworkConfig::Bluesky(Deserialize::deserialize(rest).map_err(D::Error::custom)?)
            }
            "x" => NetworkConfig::X(Deserialize::deserialize(rest).map_err(D::Error::custom)?),
            "facebook" => {
                NetworkConfig::Facebook(Deserialize::deserialize(rest).map_err(D::Error::custom)?)
            }
            other => {
                return Err(D::Error::custom(format!(
                    "unknown channel type {other:?}: use \"mastodon\", \"bluesky\", \"x\" or \"facebook\""
                )));
            }
        };
        Ok(ChannelConfig { common, network })
    }
}

/// Builds the channel for one configured `[[channels]]` table.
pub fn build(config: &ChannelConfig, context: ChannelContext) -> Box<dyn Channel> {
    let name = config.common.name.clone();
    match &config.network {
        NetworkConfig::Mastodon(c) => Box::new(mastodon::Mastodon::new(name, c.clone(), context)),
        NetworkConfig::Bluesky(c) => Box::new(bluesky::Bluesky::new(name, c.clone(), context)),
        NetworkConfig::X(c) => Box::new(x::X::new(name, c.clone(), context)),
        NetworkConfig::Facebook(c) => Box::new(facebook::Facebook::new(name, c.clone(), context)),
    }
}

/// The default message template of a network, used when the channel sets none.
pub fn default_template(network: &NetworkConfig) -> &'static str {
    match network {
        // X counts every URL as 23 characters and the summary is cut to fit.
        NetworkConfig::X(_) => {
            "{{ title }}{% if city %} ({{ city }}{% if country %}, {{ country }}{% endif %}){% endif %}\n\n{{ summary }}\n\n{{ url }}"
        }
        NetworkConfig::Facebook(_) => "{{ title }}\n\n{{ summary }}\n\n{{ url }}",
        _ => {
            "{{ title }}{% if city %} ({{ city }}{% if country %}, {{ country }}{% endif %}){% endif %}\n\n{{ summary }}\n\n{{ url }}{% if hashtags %}\n\n{{ hashtags }}{% endif %}"
        }
    }
}

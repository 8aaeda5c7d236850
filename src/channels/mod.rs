//! Channels: the social networks new entries are announced on. Each network implements
//! [`Channel`] in one file; [`build`] picks the implementation from the config with one
//! `match`, so adding a network touches one file and the config enum.
//!
//! A channel turns a [`Post`] (text already rendered from the template and fitted to the
//! network's length rules) into a published post, and classifies every failure as a
//! [`PostError`]: retry later, pause the channel until the operator acts, or give up on this
//! post. Sending, retrying, pacing and recording are the delivery engine's job, not the
//! channel's. The engine stores a delivery's post when it first goes out and sends that same
//! post at every later attempt, so a channel recognises its own post on look-up by comparing
//! what it finds with the [`Post`] it is given.

pub mod bluesky;
mod config;
pub mod facebook;
pub mod http;
pub mod mastodon;
pub mod media;
pub mod template;
mod tlds;
pub mod x;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::entry::Image;
pub use config::{AnnounceConfig, ChannelConfig, CommonConfig, NetworkConfig, UnreadableSecret};
pub use media::{ImageMode, Media};

/// One announcement, ready to send: rendered for a delivery's first attempt, then the same at
/// every later one (the engine keeps it with the delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Delivery id in the outbox: stable across retries and restarts (idempotency keys).
    pub delivery_id: i64,
    /// When the delivery was queued: stable across retries (Bluesky's `createdAt`, the start
    /// of Facebook's look-up window).
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
    /// Lead image, attached or shown in the link card as the channel's `image` setting says.
    pub image: Option<Image>,
    /// The image as uploaded to the network apart from the post ([`Channel::upload`]), kept
    /// with the delivery so that a later attempt attaches it rather than uploading it again.
    pub media: Option<Media>,
    /// The key the network stores the post under, where crier chooses it (Bluesky's record
    /// key, from [`Channel::new_key`]); `None` where the network names its posts, and for a
    /// delivery an older crier attempted before posts were kept (Bluesky then uses the key
    /// that crier derived from the delivery).
    pub key: Option<String>,
}

/// A post that exists on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The network's id of the post, when it told us (X's duplicate refusal does not).
    pub remote_id: Option<String>,
    /// Public URL of the post, when known.
    pub remote_url: Option<String>,
}

/// How an attempt that did not fail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The post exists on the network.
    Published(Published),
    /// The post's key holds another post, so this one was not created under it: the engine
    /// records a fresh key ([`Channel::new_key`]) and sends the post again under it.
    KeyTaken {
        /// What was found.
        reason: String,
    },
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

    /// Uploads the image of `post` where the network takes images apart from posts, before
    /// the post: the engine keeps what it returns with the delivery and hands it back in
    /// [`Post::media`] to this attempt and every later one, so that a post sent again after a
    /// crash attaches the same upload. `Ok(None)` when the channel uploads nothing (no image,
    /// the image goes with the post itself, or it was left off with a warning: an image never
    /// fails a post). The default uploads nothing.
    async fn upload(&self, post: &Post) -> Result<Option<Media>, PostError> {
        let _ = post;
        Ok(None)
    }

    /// Publishes `post`. Called for a delivery's first attempt.
    async fn publish(&self, post: &Post) -> Result<Published, PostError>;

    /// Publishes `post` after an attempt whose outcome is unknown (a crash while sending, a
    /// timeout, a dropped connection): the post may already exist and must not be created
    /// twice. The default relies on `publish` being idempotent for a given delivery; networks
    /// where it is not look the post up first.
    async fn recover(&self, post: &Post) -> Result<Published, PostError> {
        self.publish(post).await
    }

    /// The key a delivery's post is to be stored under, where crier chooses it (Bluesky's
    /// record key); `None`, the default, where the network names its posts. `stamp` is a
    /// number the state never issued before (microseconds, growing): the engine asks once per
    /// delivery, and again when the key turns out to be taken, and stores the key with the
    /// post before any request uses it.
    fn new_key(&self, stamp: u64) -> Option<String> {
        let _ = stamp;
        None
    }

    /// One attempt at `post`: [`Channel::recover`] when an earlier attempt may have reached
    /// the network (`uncertain`), [`Channel::publish`] otherwise. A network whose keys crier
    /// chooses overrides it to tell a key taken by another post from a failure.
    async fn attempt(&self, post: &Post, uncertain: bool) -> Result<Attempt, PostError> {
        let published = if uncertain {
            self.recover(post).await?
        } else {
            self.publish(post).await?
        };
        Ok(Attempt::Published(published))
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

//! Bluesky: a session from handle + app password, then `com.atproto.repo.createRecord` of an
//! `app.bsky.feed.post`.
//!
//! API: <https://docs.bsky.app/docs/advanced-guides/posts>

use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Channel, ChannelContext, Post, PostError, Published};
use crate::secrets::SecretRef;

/// Settings of a Bluesky channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    /// The PDS (or entryway) URL.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The account's handle (`alliance.bsky.social`) or DID.
    pub handle: String,
    /// An app password (Settings → App passwords), never the account password.
    #[serde(skip_serializing)]
    pub app_password: SecretRef,
}

fn default_base_url() -> String {
    "https://bsky.social".to_owned()
}

impl BlueskyConfig {
    /// Makes relative secret paths absolute.
    pub fn resolve_paths(&mut self, base: &Path) {
        self.app_password.resolve_path(base);
    }

    /// Checks values serde accepted: `(key, message)` on error.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.handle.trim().is_empty() {
            return Err(("handle".into(), "must not be empty".into()));
        }
        Ok(())
    }
}

/// A Bluesky channel.
pub struct Bluesky {
    name: String,
    #[allow(dead_code)]
    config: BlueskyConfig,
    #[allow(dead_code)]
    context: ChannelContext,
}

impl Bluesky {
    /// Builds the channel.
    pub fn new(name: String, config: BlueskyConfig, context: ChannelContext) -> Self {
        Bluesky {
            name,
            config,
            context,
        }
    }
}

#[async_trait]
impl Channel for Bluesky {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_length(&self) -> usize {
        300
    }

    fn count(&self, text: &str) -> usize {
        text.chars().count()
    }

    async fn publish(&self, _post: &Post) -> Result<Published, PostError> {
        Err(PostError::Reject {
            reason: "bluesky: not implemented yet".into(),
        })
    }
}

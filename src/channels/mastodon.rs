//! Mastodon: `POST /api/v1/statuses`.
//!
//! API: <https://docs.joinmastodon.org/methods/statuses/#create>

use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Channel, ChannelContext, Post, PostError, Published};
use crate::secrets::SecretRef;

/// Settings of a Mastodon channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    /// The instance's URL, e.g. `https://mastodon.social`.
    pub base_url: String,
    /// An access token with the `write:statuses` scope.
    #[serde(skip_serializing)]
    pub access_token: SecretRef,
    /// `public`, `unlisted`, `private` or `direct`.
    #[serde(default = "default_visibility")]
    pub visibility: String,
}

fn default_visibility() -> String {
    "public".to_owned()
}

impl MastodonConfig {
    /// Makes relative secret paths absolute.
    pub fn resolve_paths(&mut self, base: &Path) {
        self.access_token.resolve_path(base);
    }

    /// Checks values serde accepted: `(key, message)` on error.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !["public", "unlisted", "private", "direct"].contains(&self.visibility.as_str()) {
            return Err((
                "visibility".into(),
                format!(
                    "{:?}: use \"public\", \"unlisted\", \"private\" or \"direct\"",
                    self.visibility
                ),
            ));
        }
        Ok(())
    }
}

/// A Mastodon account.
pub struct Mastodon {
    name: String,
    #[allow(dead_code)]
    config: MastodonConfig,
    #[allow(dead_code)]
    context: ChannelContext,
}

impl Mastodon {
    /// Builds the channel.
    pub fn new(name: String, config: MastodonConfig, context: ChannelContext) -> Self {
        Mastodon {
            name,
            config,
            context,
        }
    }
}

#[async_trait]
impl Channel for Mastodon {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_length(&self) -> usize {
        500
    }

    fn count(&self, text: &str) -> usize {
        text.chars().count()
    }

    async fn publish(&self, _post: &Post) -> Result<Published, PostError> {
        Err(PostError::Reject {
            reason: "mastodon: not implemented yet".into(),
        })
    }
}

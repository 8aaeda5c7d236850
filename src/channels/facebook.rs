//! Facebook Page: `POST /{version}/{page-id}/feed` with a Page access token.
//!
//! API: <https://developers.facebook.com/docs/pages-api/posts>

use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Channel, ChannelContext, Post, PostError, Published};
use crate::secrets::SecretRef;

/// Settings of a Facebook Page channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacebookConfig {
    /// The Graph API's URL.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Graph API version, e.g. `v25.0`.
    #[serde(default = "default_version")]
    pub graph_version: String,
    /// The Page's id.
    pub page_id: String,
    /// A Page access token with `pages_manage_posts`.
    #[serde(skip_serializing)]
    pub page_token: SecretRef,
    /// The app secret; when set, every call carries `appsecret_proof`.
    #[serde(skip_serializing)]
    pub app_secret: Option<SecretRef>,
}

fn default_base_url() -> String {
    "https://graph.facebook.com".to_owned()
}

fn default_version() -> String {
    "v25.0".to_owned()
}

impl FacebookConfig {
    /// Makes relative secret paths absolute.
    pub fn resolve_paths(&mut self, base: &Path) {
        self.page_token.resolve_path(base);
        if let Some(s) = &mut self.app_secret {
            s.resolve_path(base);
        }
    }

    /// Checks values serde accepted: `(key, message)` on error.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.page_id.trim().is_empty() || !self.page_id.chars().all(|c| c.is_ascii_digit()) {
            return Err((
                "page_id".into(),
                format!("{:?} is not a numeric Page id", self.page_id),
            ));
        }
        let version_ok = self
            .graph_version
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
        if !version_ok {
            return Err((
                "graph_version".into(),
                format!("{:?}: write it as \"v25.0\"", self.graph_version),
            ));
        }
        Ok(())
    }
}

/// A Facebook channel.
pub struct Facebook {
    name: String,
    #[allow(dead_code)]
    config: FacebookConfig,
    #[allow(dead_code)]
    context: ChannelContext,
}

impl Facebook {
    /// Builds the channel.
    pub fn new(name: String, config: FacebookConfig, context: ChannelContext) -> Self {
        Facebook {
            name,
            config,
            context,
        }
    }
}

#[async_trait]
impl Channel for Facebook {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_length(&self) -> usize {
        63206
    }

    fn count(&self, text: &str) -> usize {
        text.chars().count()
    }

    async fn publish(&self, _post: &Post) -> Result<Published, PostError> {
        Err(PostError::Reject {
            reason: "facebook: not implemented yet".into(),
        })
    }
}

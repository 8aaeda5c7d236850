//! X: `POST /2/tweets` (API v2), OAuth 1.0a user context or an OAuth 2.0 user token.
//!
//! API: <https://docs.x.com/x-api/posts/create-post>

use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Channel, ChannelContext, Post, PostError, Published};
use crate::secrets::SecretRef;

/// Settings of an X channel. Exactly one of `oauth1` and `oauth2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XConfig {
    /// The API's URL.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// OAuth 1.0a user-context credentials (the app's consumer key pair and the account's
    /// access token pair).
    #[serde(skip_serializing)]
    pub oauth1: Option<OAuth1Config>,
    /// OAuth 2.0 user token, refreshed with its refresh token.
    #[serde(skip_serializing)]
    pub oauth2: Option<OAuth2Config>,
}

/// OAuth 1.0a credentials.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth1Config {
    /// API key (consumer key).
    pub consumer_key: SecretRef,
    /// API key secret (consumer secret).
    pub consumer_secret: SecretRef,
    /// The account's access token.
    pub access_token: SecretRef,
    /// The account's access token secret.
    pub access_token_secret: SecretRef,
}

/// OAuth 2.0 credentials (authorization code with PKCE, `offline.access` scope).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret (confidential clients only).
    pub client_secret: Option<SecretRef>,
    /// The refresh token obtained when the account authorised the app.
    pub refresh_token: SecretRef,
}

fn default_base_url() -> String {
    "https://api.x.com".to_owned()
}

impl XConfig {
    /// Makes relative secret paths absolute.
    pub fn resolve_paths(&mut self, base: &Path) {
        if let Some(o) = &mut self.oauth1 {
            for s in [
                &mut o.consumer_key,
                &mut o.consumer_secret,
                &mut o.access_token,
                &mut o.access_token_secret,
            ] {
                s.resolve_path(base);
            }
        }
        if let Some(o) = &mut self.oauth2 {
            o.refresh_token.resolve_path(base);
            if let Some(s) = &mut o.client_secret {
                s.resolve_path(base);
            }
        }
    }

    /// Checks values serde accepted: `(key, message)` on error.
    pub fn validate(&self) -> Result<(), (String, String)> {
        match (&self.oauth1, &self.oauth2) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err((
                "oauth1".into(),
                "set exactly one of [channels.oauth1] (OAuth 1.0a keys) and [channels.oauth2] (OAuth 2.0 refresh token)".into(),
            )),
        }
    }
}

/// A X channel.
pub struct X {
    name: String,
    #[allow(dead_code)]
    config: XConfig,
    #[allow(dead_code)]
    context: ChannelContext,
}

impl X {
    /// Builds the channel.
    pub fn new(name: String, config: XConfig, context: ChannelContext) -> Self {
        X {
            name,
            config,
            context,
        }
    }
}

#[async_trait]
impl Channel for X {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_length(&self) -> usize {
        280
    }

    fn count(&self, text: &str) -> usize {
        text.chars().count()
    }

    async fn publish(&self, _post: &Post) -> Result<Published, PostError> {
        Err(PostError::Reject {
            reason: "x: not implemented yet".into(),
        })
    }
}

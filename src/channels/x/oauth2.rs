//! OAuth 2.0 user tokens for X: a short-lived access token (two hours) renewed with a refresh
//! token at `POST /2/oauth2/token` (<https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token>).
//!
//! X rotates refresh tokens: each refresh returns a new one and voids the old. The new one is
//! kept in the channel's memory and used from then on instead of the configured one, which is
//! spent. The memory also records a fingerprint of the configured token the chain started
//! from, so that when the operator re-authorises and configures a new refresh token, crier
//! starts again from that one instead of the stale chain.

use std::sync::Arc;

use chrono::Utc;
use reqwest::StatusCode;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::OAuth2Config;
use crate::channels::http::{classify_status, excerpt, transport_error};
use crate::channels::{Memory, PostError};
use crate::secrets::Secret;

/// Memory keys.
const REFRESH_TOKEN: &str = "oauth2.refresh_token";
const ACCESS_TOKEN: &str = "oauth2.access_token";
const EXPIRES_AT: &str = "oauth2.expires_at";
const ORIGIN: &str = "oauth2.origin";

/// An access token is renewed this long before X says it expires (clock skew, slow requests).
const EXPIRY_MARGIN_SECONDS: i64 = 120;

/// What X grants when `expires_in` is missing.
const DEFAULT_LIFETIME_SECONDS: i64 = 7200;

/// Hands out access tokens, refreshing them when needed; one refresh at a time, since two
/// concurrent refreshes with the same refresh token would void each other.
pub(super) struct TokenSource {
    config: OAuth2Config,
    token_url: String,
    lock: Mutex<()>,
}

/// An access token, and whether it was obtained by a refresh just now.
pub(super) struct Access {
    pub token: Secret,
    pub refreshed: bool,
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
}

#[derive(Deserialize, Default)]
struct Refused {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenSource {
    pub(super) fn new(config: OAuth2Config, base_url: &str) -> Self {
        TokenSource {
            config,
            token_url: format!("{}/2/oauth2/token", base_url.trim_end_matches('/')),
            lock: Mutex::new(()),
        }
    }

    /// A valid access token: the stored one while it lasts, else a refreshed one. `rejected`
    /// is a token X just refused (HTTP 401): it is refreshed even if not yet expired, unless
    /// another request already replaced it.
    pub(super) async fn access_token(
        &self,
        http: &reqwest::Client,
        memory: &Arc<dyn Memory>,
        channel: &str,
        rejected: Option<&Secret>,
    ) -> Result<Access, PostError> {
        let _one_at_a_time = self.lock.lock().await;
        let configured = self
            .config
            .refresh_token
            .load()
            .map_err(|e| PostError::Pause {
                reason: format!("x: {e}"),
            })?;
        let origin = fingerprint(&configured);
        let chain_is_current = memory.get(ORIGIN).as_deref() == Some(origin.as_str());
        if chain_is_current
            && let Some(token) = memory.get(ACCESS_TOKEN)
            && rejected.is_none_or(|r| r.expose() != token)
            && memory
                .get(EXPIRES_AT)
                .and_then(|at| at.parse::<i64>().ok())
                .is_some_and(|at| Utc::now().timestamp() + EXPIRY_MARGIN_SECONDS < at)
        {
            return Ok(Access {
                token: Secret::new(token),
                refreshed: false,
            });
        }
        let refresh_token = chain_is_current
            .then(|| memory.get(REFRESH_TOKEN))
            .flatten()
            .map_or(configured, Secret::new);
        let granted = self.refresh(http, channel, &refresh_token).await?;
        // The old refresh token is void now: keep the new one before anything else.
        let next = granted
            .refresh_token
            .unwrap_or_else(|| refresh_token.expose().to_owned());
        memory.set(REFRESH_TOKEN, &next);
        memory.set(ORIGIN, &origin);
        let lifetime = granted
            .expires_in
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_LIFETIME_SECONDS);
        memory.set(ACCESS_TOKEN, &granted.access_token);
        memory.set(EXPIRES_AT, &(Utc::now().timestamp() + lifetime).to_string());
        tracing::info!(channel, "x: refreshed the OAuth 2.0 access token");
        Ok(Access {
            token: Secret::new(granted.access_token),
            refreshed: true,
        })
    }

    async fn refresh(
        &self,
        http: &reqwest::Client,
        channel: &str,
        refresh_token: &Secret,
    ) -> Result<Granted, PostError> {
        let mut request = http.post(&self.token_url).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", self.config.client_id.as_str()),
        ]);
        if let Some(secret) = &self.config.client_secret {
            let secret = secret.load().map_err(|e| PostError::Pause {
                reason: format!("x: {e}"),
            })?;
            request = request.basic_auth(&self.config.client_id, Some(secret.expose()));
        }
        let response = request
            .send()
            .await
            .map_err(|e| refresh_transport_error(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| refresh_transport_error(&e))?;
        if status.is_success() {
            return serde_json::from_str(&body).map_err(|e| PostError::Retry {
                reason: format!("x: unexpected answer to the OAuth 2.0 token refresh: {e}"),
                after: None,
            });
        }
        // The body of a refusal is `{"error": …, "error_description": …}`; only those fields
        // are repeated, never the raw body of a token endpoint.
        let refused: Refused = serde_json::from_str(&body).unwrap_or_default();
        let why = format!(
            "x: the OAuth 2.0 token refresh was refused (HTTP {status}: {} {})",
            refused.error,
            excerpt(&refused.error_description)
        );
        Err(match status {
            StatusCode::UNAUTHORIZED if self.config.client_secret.is_some() => PostError::Pause {
                reason: format!(
                    "{why}; check `client_id` and `client_secret` against the app's OAuth 2.0 keys in the developer portal, then run `crier retry --channel {channel}`"
                ),
            },
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                PostError::Pause {
                    reason: format!(
                        "{why}: the refresh token was revoked, expired or already used; authorise crier again (OAuth 2.0 with PKCE, scopes tweet.read tweet.write users.read offline.access), put the new refresh token in {}, then run `crier retry --channel {channel}`",
                        self.config.refresh_token.describe()
                    ),
                }
            }
            s if s.is_client_error() && s != StatusCode::TOO_MANY_REQUESTS => PostError::Pause {
                reason: format!("{why}; run `crier retry --channel {channel}` once fixed"),
            },
            _ => match classify_status("x", status, &headers, "") {
                PostError::Retry { after, .. } => PostError::Retry { reason: why, after },
                other => other,
            },
        })
    }
}

fn refresh_transport_error(error: &reqwest::Error) -> PostError {
    match transport_error("x", error) {
        PostError::Retry { reason, after } => PostError::Retry {
            reason: format!("{reason} (OAuth 2.0 token refresh)"),
            after,
        },
        other => other,
    }
}

/// SHA-256 of a token, hex: tells whether the configured token changed without storing it.
fn fingerprint(token: &Secret) -> String {
    Sha256::digest(token.expose().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

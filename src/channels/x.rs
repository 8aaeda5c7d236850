//! X: `POST /2/tweets` (API v2), OAuth 1.0a user context or an OAuth 2.0 user token.
//!
//! API: <https://docs.x.com/x-api/posts/create-post>
//!
//! X has no idempotency key, but it refuses a post whose text repeats a recent one with
//! "duplicate content" (HTTP 403). crier's texts carry the entry's URL, so that refusal means
//! the post already exists: an attempt whose outcome was unknown is simply sent again and the
//! refusal counts as success (without the post's id, which X does not give). Length follows
//! twitter-text's weighted count ([`weighted_length`]).

mod length;
mod oauth1;
mod oauth2;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use url::Url;

pub use length::{MAX_WEIGHTED_LENGTH, weighted_length};

use super::http::{classify_status, excerpt, retry_after, transport_error};
use super::{Channel, ChannelContext, Post, PostError, Published};
use crate::secrets::{Secret, SecretRef};
use crate::values::HttpUrl;

/// Settings of an X channel. Exactly one of `oauth1` and `oauth2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XConfig {
    /// The API's URL.
    #[serde(default = "default_base_url")]
    pub base_url: HttpUrl,
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

fn default_base_url() -> HttpUrl {
    HttpUrl::parse("https://api.x.com").expect("a static URL parses")
}

impl XConfig {
    /// The secrets of this channel, by config key.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut SecretRef)> {
        let mut secrets = Vec::new();
        if let Some(o) = &mut self.oauth1 {
            secrets.push(("oauth1.consumer_key", &mut o.consumer_key));
            secrets.push(("oauth1.consumer_secret", &mut o.consumer_secret));
            secrets.push(("oauth1.access_token", &mut o.access_token));
            secrets.push(("oauth1.access_token_secret", &mut o.access_token_secret));
        }
        if let Some(o) = &mut self.oauth2 {
            secrets.push(("oauth2.refresh_token", &mut o.refresh_token));
            if let Some(s) = &mut o.client_secret {
                secrets.push(("oauth2.client_secret", s));
            }
        }
        secrets
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

/// An X channel.
pub struct X {
    name: String,
    config: XConfig,
    context: ChannelContext,
    tweets_url: String,
    oauth2: Option<oauth2::TokenSource>,
}

/// How a request is authorised.
enum Auth {
    OAuth1,
    OAuth2,
}

/// X's answer to a create request.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

#[derive(Deserialize)]
struct Created {
    data: CreatedData,
}

#[derive(Deserialize)]
struct CreatedData {
    id: String,
}

impl X {
    /// Builds the channel.
    pub fn new(name: String, config: XConfig, context: ChannelContext) -> Self {
        let base = config.base_url.trim_end_matches('/');
        let tweets_url = format!("{base}/2/tweets");
        let oauth2 = config
            .oauth2
            .clone()
            .map(|c| oauth2::TokenSource::new(c, base));
        X {
            name,
            config,
            context,
            tweets_url,
            oauth2,
        }
    }

    /// Sends the create request once.
    async fn create(
        &self,
        url: &Url,
        authorization: String,
        text: &str,
    ) -> Result<Reply, PostError> {
        let mut value = HeaderValue::from_str(&authorization).map_err(|_| PostError::Pause {
            reason: format!(
                "x: the credentials of channel {} hold characters HTTP headers cannot carry; check the secret files",
                self.name
            ),
        })?;
        value.set_sensitive(true);
        let response = self
            .context
            .http
            .post(url.clone())
            .header(AUTHORIZATION, value)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .map_err(|e| transport_error("x", &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        // A body cut short leaves the outcome unknown, like a timeout.
        let body = response
            .text()
            .await
            .map_err(|e| transport_error("x", &e))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn oauth1_header(&self, config: &OAuth1Config, url: &Url) -> Result<String, PostError> {
        let load = |secret: &SecretRef| -> Result<Secret, PostError> {
            secret.load().map_err(|e| PostError::Pause {
                reason: format!("x: {e}"),
            })
        };
        let credentials = oauth1::Credentials {
            consumer_key: load(&config.consumer_key)?,
            consumer_secret: load(&config.consumer_secret)?,
            token: load(&config.access_token)?,
            token_secret: load(&config.access_token_secret)?,
        };
        Ok(oauth1::authorization(
            "POST",
            url,
            &[],
            &credentials,
            &oauth1::nonce(),
            Utc::now().timestamp(),
        ))
    }

    /// What X's answer means for the post.
    fn outcome(&self, reply: Reply, auth: Auth) -> Result<Published, PostError> {
        let Reply {
            status,
            headers,
            body,
        } = reply;
        if status.is_success() {
            return Ok(match serde_json::from_str::<Created>(&body) {
                Ok(created) => Published {
                    remote_url: Some(format!("https://x.com/i/web/status/{}", created.data.id)),
                    remote_id: Some(created.data.id),
                },
                Err(e) => {
                    // The post exists; sending it again would only meet the duplicate refusal.
                    tracing::warn!(channel = %self.name, error = %e, "x: post created but its id is unreadable");
                    Published {
                        remote_id: None,
                        remote_url: None,
                    }
                }
            });
        }
        let detail = format!("x: HTTP {status}: {}", excerpt(&body));
        let channel = &self.name;
        match status {
            StatusCode::UNAUTHORIZED => Err(PostError::Pause {
                reason: match auth {
                    Auth::OAuth1 => format!(
                        "{detail}: X refused the OAuth 1.0a credentials; regenerate the access token and secret (and the API key and secret if they were regenerated) in the developer portal under Keys and tokens, put them in the configured secret files, check the system clock, then run `crier retry --channel {channel}`"
                    ),
                    Auth::OAuth2 => format!(
                        "{detail}: X refused a freshly refreshed OAuth 2.0 access token; authorise crier again (scopes tweet.read tweet.write users.read offline.access), put the new refresh token in the configured secret, then run `crier retry --channel {channel}`"
                    ),
                },
            }),
            StatusCode::FORBIDDEN => forbidden(&detail, &body, channel, auth),
            StatusCode::TOO_MANY_REQUESTS => Err(PostError::Retry {
                reason: format!("{detail} (rate limited)"),
                after: rate_limit_reset(&headers, Utc::now()),
            }),
            _ => Err(classify_status("x", status, &headers, &body)),
        }
    }
}

/// X's error document (RFC 7807 problem details, or the v1.1 `errors` list some gateways
/// still send).
#[derive(Deserialize, Default)]
struct Problem {
    #[serde(default)]
    detail: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    errors: Vec<LegacyError>,
}

#[derive(Deserialize)]
struct LegacyError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// HTTP 403: the duplicate refusal (the post exists), or a setting the operator must fix.
fn forbidden(detail: &str, body: &str, channel: &str, auth: Auth) -> Result<Published, PostError> {
    let problem: Problem = serde_json::from_str(body).unwrap_or_default();
    let duplicate = problem
        .detail
        .to_ascii_lowercase()
        .contains("duplicate content")
        || problem
            .errors
            .iter()
            .any(|e| e.code == 187 || e.message.to_ascii_lowercase().contains("duplicate"));
    if duplicate {
        return Ok(Published {
            remote_id: None,
            remote_url: None,
        });
    }
    let fix = if problem.kind.contains("oauth1-permissions")
        || problem.detail.contains("oauth1 app permissions")
    {
        "the app may only read: in the developer portal set the app's User authentication settings to \"Read and write\", then regenerate the access token and secret (a token keeps the permissions it was created with) and put them in the configured secret files".to_owned()
    } else if problem.reason == "client-not-enrolled" || problem.kind.contains("client-forbidden") {
        "the app is not allowed to use API v2: attach it to a Project in the developer portal, with an access level that allows posting".to_owned()
    } else {
        match auth {
            Auth::OAuth1 => "check in the developer portal that the app has \"Read and write\" permission and that the account is not locked or suspended".to_owned(),
            Auth::OAuth2 => "check that crier was authorised with the tweet.write scope and that the account is not locked or suspended".to_owned(),
        }
    };
    Err(PostError::Pause {
        reason: format!("{detail}: {fix}; then run `crier retry --channel {channel}`"),
    })
}

/// When a rate-limited request may be sent again: the 15-minute window's reset, or the later
/// 24-hour reset of the user's or the app's posting cap when that cap is spent.
fn rate_limit_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let daily = ["x-user-limit-24hour", "x-app-limit-24hour"]
        .into_iter()
        .filter(|prefix| header(&format!("{prefix}-remaining")) == Some("0"))
        .filter_map(|prefix| header(&format!("{prefix}-reset"))?.parse::<i64>().ok())
        .filter_map(|epoch| DateTime::from_timestamp(epoch, 0));
    retry_after(headers, now).into_iter().chain(daily).max()
}

#[async_trait]
impl Channel for X {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_length(&self) -> usize {
        MAX_WEIGHTED_LENGTH
    }

    fn count(&self, text: &str) -> usize {
        weighted_length(text)
    }

    async fn publish(&self, post: &Post) -> Result<Published, PostError> {
        let url = Url::parse(&self.tweets_url).map_err(|e| PostError::Pause {
            reason: format!("x: base_url {:?} is not a URL: {e}", self.config.base_url),
        })?;
        if let Some(config) = &self.config.oauth1 {
            let header = self.oauth1_header(config, &url)?;
            let reply = self.create(&url, header, &post.text).await?;
            return self.outcome(reply, Auth::OAuth1);
        }
        let Some(tokens) = &self.oauth2 else {
            return Err(PostError::Pause {
                reason: format!(
                    "x: channel {} has no credentials: set [channels.oauth1] or [channels.oauth2]",
                    self.name
                ),
            });
        };
        let (http, memory) = (&self.context.http, &self.context.memory);
        let mut access = tokens.access_token(http, memory, &self.name, None).await?;
        let mut reply = self
            .create(
                &url,
                format!("Bearer {}", access.token.expose()),
                &post.text,
            )
            .await?;
        // A stored token X no longer takes (revoked early, clock skew): refresh it, once.
        if reply.status == StatusCode::UNAUTHORIZED && !access.refreshed {
            access = tokens
                .access_token(http, memory, &self.name, Some(&access.token))
                .await?;
            reply = self
                .create(
                    &url,
                    format!("Bearer {}", access.token.expose()),
                    &post.text,
                )
                .await?;
        }
        self.outcome(reply, Auth::OAuth2)
    }

    /// Sends the post again: if the first attempt went through, X refuses the repeat as
    /// duplicate content, which [`X::publish`] reports as published. Looking the post up
    /// instead would need read access that X's lower API tiers barely grant.
    async fn recover(&self, post: &Post) -> Result<Published, PostError> {
        tracing::info!(channel = %self.name, entry_id = %post.entry_id, "x: re-sending a post whose outcome is unknown; a duplicate refusal means it was published");
        self.publish(post).await
    }
}

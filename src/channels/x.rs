//! X: `POST /2/tweets` (API v2), OAuth 1.0a user context or an OAuth 2.0 user token.
//!
//! API: <https://docs.x.com/x-api/posts/create-post>,
//! <https://docs.x.com/x-api/users/get-my-user>, <https://docs.x.com/x-api/users/get-posts>,
//! <https://docs.x.com/x-api/media/upload-media>, <https://docs.x.com/x-api/media/create-media-metadata>
//!
//! An entry's image is uploaded first (`POST /2/media/upload`, multipart, one request for an
//! image of up to 5 MB; OAuth 2.0 tokens need the `media.write` scope), its alt text set with
//! `POST /2/media/metadata`, and the post attaches it as `media.media_ids`. The engine keeps
//! the media id with the delivery while X keeps it (`expires_after_secs`, a day).
//!
//! X has no idempotency key, but it refuses a post whose text repeats a recent one with
//! "duplicate content" (HTTP 403). crier's texts carry the entry's URL, so that refusal means
//! the post already exists: an attempt whose outcome was unknown is sent again and the refusal
//! counts as success (without the post's id, which X does not give). X refuses repeats only
//! for a while ([`DUPLICATE_WINDOW`]); past it, [`Channel::recover`] first looks for the post
//! among the account's own recent posts (`GET /2/users/me`, then `/2/users/:id/tweets`),
//! unless the channel sets `lookup = false`. Length follows twitter-text's weighted count
//! ([`weighted_length`]) of the text as sent ([`sendable`]: without the characters X refuses,
//! links in ASCII form).

mod length;
mod lookup;
mod oauth1;
mod oauth2;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;

pub use length::{MAX_WEIGHTED_LENGTH, sendable, weighted_length};

use super::http::{classify_status, excerpt, retry_after, transport_error};
use super::media::{self, ImageFile, Limits};
use super::{Channel, ChannelContext, ImageMode, Media, Post, PostError, Published};
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
    pub oauth1: Option<OAuth1Config>,
    /// OAuth 2.0 user token, refreshed with its refresh token.
    pub oauth2: Option<OAuth2Config>,
    /// Before sending again a post whose outcome is unknown and older than X's duplicate
    /// window, look for it among the account's recent posts (reads X bills). Default: true.
    #[serde(default = "default_lookup")]
    pub lookup: bool,
    /// The entry's image: `"attach"` (uploaded with its alt text, the default) or `"none"`.
    #[serde(default = "default_image")]
    pub image: ImageMode,
}

fn default_image() -> ImageMode {
    ImageMode::Attach
}

/// What X takes as a post's image (<https://docs.x.com/x-api/media>: 5 MB; JPEG, PNG, GIF,
/// WEBP). X shows images up to 4096 pixels a side.
const IMAGE_LIMITS: Limits = Limits {
    max_bytes: 5 * 1024 * 1024,
    types: &["image/jpeg", "image/png", "image/gif", "image/webp"],
    max_side: 4096,
};

/// Longest alt text X takes.
const MAX_ALT_TEXT: usize = 1000;

/// How long X keeps an upload no post uses, when its answer does not say.
const MEDIA_LIFETIME: TimeDelta = TimeDelta::hours(24);

/// On by default: a look-up happens only for a delivery whose outcome is unknown and older
/// than [`DUPLICATE_WINDOW`] (a crash or lost answer, then a late retry), and costs one or two
/// reads returning the few posts made since the delivery was queued; a blind re-send risks a
/// public duplicate, which X may also count against the account as repeated content.
fn default_lookup() -> bool {
    true
}

/// How long crier relies on X refusing a repeated text. X documents no duration: its staff
/// spoke of "a few hours" (twitter-development-talk, 2009), and publishing services now tell
/// users that the same text goes through again after about 30 minutes. Half of that shortest
/// report keeps crier on the safe side.
pub const DUPLICATE_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// OAuth 1.0a credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        if self.image == ImageMode::Card {
            return Err((
                "image".into(),
                "\"card\": X makes the link card from the page itself; use \"attach\" or \"none\""
                    .into(),
            ));
        }
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
    /// `base_url` without its trailing slash.
    base: String,
    oauth2: Option<oauth2::TokenSource>,
}

/// How a request is authorised.
enum Auth {
    OAuth1,
    OAuth2,
}

/// What a request carries.
#[derive(Clone, Copy)]
enum Body<'a> {
    Empty,
    Json(&'a serde_json::Value),
    /// An image for `/2/media/upload`, as multipart form data.
    Image(&'a ImageFile),
}

/// `POST /2/media/upload`'s answer.
#[derive(Deserialize)]
struct Uploaded {
    data: UploadedData,
}

#[derive(Deserialize)]
struct UploadedData {
    id: String,
    expires_after_secs: Option<i64>,
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

fn published(id: String) -> Published {
    Published {
        remote_url: Some(format!("https://x.com/i/web/status/{id}")),
        remote_id: Some(id),
    }
}

impl X {
    /// Builds the channel.
    pub fn new(name: String, config: XConfig, context: ChannelContext) -> Self {
        let base = config.base_url.trim_end_matches('/').to_owned();
        let oauth2 = config
            .oauth2
            .clone()
            .map(|c| oauth2::TokenSource::new(c, &base));
        X {
            name,
            config,
            context,
            base,
            oauth2,
        }
    }

    fn no_credentials(&self) -> PostError {
        PostError::Pause {
            reason: format!(
                "x: channel {} has no credentials: set [channels.oauth1] or [channels.oauth2]",
                self.name
            ),
        }
    }

    /// The URL of an API path such as `/2/tweets`.
    fn endpoint(&self, path: &str) -> Result<Url, PostError> {
        Url::parse(&format!("{}{path}", self.base)).map_err(|e| PostError::Pause {
            reason: format!("x: base_url {:?} is not a URL: {e}", self.config.base_url),
        })
    }

    /// Sends one request with the channel's credentials; with OAuth 2.0, a stored access token
    /// X no longer takes (revoked early, clock skew) is refreshed and the request sent again,
    /// once.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Body<'_>,
    ) -> Result<(Reply, Auth), PostError> {
        if let Some(config) = &self.config.oauth1 {
            let header = self.oauth1_header(config, &method, url)?;
            let reply = self.request(method, url, header, body).await?;
            return Ok((reply, Auth::OAuth1));
        }
        let Some(tokens) = &self.oauth2 else {
            return Err(self.no_credentials());
        };
        let (http, memory) = (&self.context.http, &self.context.memory);
        let access = tokens.access_token(http, memory, &self.name, None).await?;
        let bearer = |token: &Secret| format!("Bearer {}", token.expose());
        let reply = self
            .request(method.clone(), url, bearer(&access.token), body)
            .await?;
        if reply.status != StatusCode::UNAUTHORIZED || access.refreshed {
            return Ok((reply, Auth::OAuth2));
        }
        let access = tokens
            .access_token(http, memory, &self.name, Some(&access.token))
            .await?;
        let reply = self
            .request(method, url, bearer(&access.token), body)
            .await?;
        Ok((reply, Auth::OAuth2))
    }

    /// Sends the request once.
    async fn request(
        &self,
        method: Method,
        url: &Url,
        authorization: String,
        body: Body<'_>,
    ) -> Result<Reply, PostError> {
        let mut value = HeaderValue::from_str(&authorization).map_err(|_| PostError::Pause {
            reason: format!(
                "x: the credentials of channel {} hold characters HTTP headers cannot carry; check the secret files",
                self.name
            ),
        })?;
        value.set_sensitive(true);
        let mut request = self
            .context
            .http
            .request(method, url.clone())
            .header(AUTHORIZATION, value);
        match body {
            Body::Empty => {}
            Body::Json(json) => request = request.json(json),
            // Multipart bodies are not part of the OAuth 1.0a signature.
            Body::Image(file) => {
                let part = reqwest::multipart::Part::bytes(file.bytes.clone())
                    .file_name(file.file_name())
                    .mime_str(file.mime)
                    .map_err(|e| transport_error("x", &e))?;
                let form = reqwest::multipart::Form::new()
                    .part("media", part)
                    .text("media_category", "tweet_image")
                    .text("media_type", file.mime);
                request = request.multipart(form);
            }
        }
        let response = request.send().await.map_err(|e| transport_error("x", &e))?;
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

    fn oauth1_header(
        &self,
        config: &OAuth1Config,
        method: &Method,
        url: &Url,
    ) -> Result<String, PostError> {
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
        // The query (the look-up's parameters) is signed from the URL itself.
        Ok(oauth1::authorization(
            method.as_str(),
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
                Ok(created) => published(created.data.id),
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
            StatusCode::UNAUTHORIZED => Err(credentials_refused(&detail, channel, auth)),
            StatusCode::FORBIDDEN => forbidden(&detail, &body, channel, auth),
            StatusCode::TOO_MANY_REQUESTS => Err(PostError::Retry {
                reason: format!("{detail} (rate limited)"),
                after: rate_limit_reset(&headers, Utc::now()),
            }),
            _ => Err(classify_status("x", status, &headers, &body)),
        }
    }
}

impl X {
    /// Uploads `file`, then sets its alt text: the media X keeps for a post.
    async fn upload_media(&self, file: &ImageFile, alt: &str) -> Result<Media, PostError> {
        let url = self.endpoint("/2/media/upload")?;
        let (reply, auth) = self.send(Method::POST, &url, Body::Image(file)).await?;
        if !reply.status.is_success() {
            return Err(self.upload_failure(reply, auth));
        }
        let uploaded: Uploaded =
            serde_json::from_str(&reply.body).map_err(|e| PostError::Retry {
                reason: format!(
                    "x: unexpected answer from /2/media/upload ({e}): {}",
                    excerpt(&reply.body)
                ),
                after: None,
            })?;
        let alt = media::alt_text(alt, MAX_ALT_TEXT);
        if !alt.is_empty() {
            let url = self.endpoint("/2/media/metadata")?;
            let body = serde_json::json!({
                "id": uploaded.data.id,
                "metadata": { "alt_text": { "text": alt } },
            });
            let (reply, auth) = self.send(Method::POST, &url, Body::Json(&body)).await?;
            if !reply.status.is_success() {
                return Err(self.upload_failure(reply, auth));
            }
        }
        let lifetime = uploaded
            .data
            .expires_after_secs
            .map_or(MEDIA_LIFETIME, TimeDelta::seconds);
        Ok(Media::new(uploaded.data.id, Utc::now(), lifetime))
    }

    /// A failed upload or alt text: a token that may not upload pauses the channel with what
    /// to do; a refused image is left off the post by the caller.
    fn upload_failure(&self, reply: Reply, auth: Auth) -> PostError {
        let detail = format!("x: HTTP {}: {}", reply.status, excerpt(&reply.body));
        match reply.status {
            StatusCode::UNAUTHORIZED => credentials_refused(&detail, &self.name, auth),
            StatusCode::FORBIDDEN => PostError::Pause {
                reason: format!(
                    "{detail}: X refused the image upload. With OAuth 2.0 the token needs the \
                     `media.write` scope (authorise the app again with it); or set `image = \
                     \"none\"` on the channel. Then run `crier retry --channel {}`",
                    self.name
                ),
            },
            StatusCode::TOO_MANY_REQUESTS => PostError::Retry {
                reason: format!("{detail} (rate limited)"),
                after: rate_limit_reset(&reply.headers, Utc::now()),
            },
            status => classify_status("x", status, &reply.headers, &reply.body),
        }
    }
}

/// HTTP 401: the credentials (a freshly refreshed OAuth 2.0 token included) were refused.
fn credentials_refused(detail: &str, channel: &str, auth: Auth) -> PostError {
    PostError::Pause {
        reason: match auth {
            Auth::OAuth1 => format!(
                "{detail}: X refused the OAuth 1.0a credentials; regenerate the access token and secret (and the API key and secret if they were regenerated) in the developer portal under Keys and tokens, put them in the configured secret files, check the system clock, then run `crier retry --channel {channel}`"
            ),
            Auth::OAuth2 => format!(
                "{detail}: X refused a freshly refreshed OAuth 2.0 access token; authorise crier again (scopes tweet.read tweet.write users.read offline.access), put the new refresh token in the configured secret, then run `crier retry --channel {channel}`"
            ),
        },
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

    /// Counts the text as it will be sent ([`sendable`]).
    fn count(&self, text: &str) -> usize {
        weighted_length(&sendable(text))
    }

    async fn upload(&self, post: &Post) -> Result<Option<Media>, PostError> {
        let Some(image) = post
            .image
            .as_ref()
            .filter(|_| self.config.image == ImageMode::Attach)
        else {
            return Ok(None);
        };
        let Some(file) =
            media::load_or_leave_off(&self.context.http, &self.name, post, image, &IMAGE_LIMITS)
                .await
        else {
            return Ok(None);
        };
        match self.upload_media(&file, &image.alt).await {
            Ok(media) => Ok(Some(media)),
            // X refused this image: the post goes without.
            Err(PostError::Reject { reason }) => {
                media::left_off(&self.name, post, &reason);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn publish(&self, post: &Post) -> Result<Published, PostError> {
        let url = self.endpoint("/2/tweets")?;
        let mut body = serde_json::json!({ "text": sendable(&post.text) });
        if let Some(media) = &post.media {
            body["media"] = serde_json::json!({ "media_ids": [media.id] });
        }
        let (reply, auth) = self.send(Method::POST, &url, Body::Json(&body)).await?;
        self.outcome(reply, auth)
    }

    /// Within [`DUPLICATE_WINDOW`] of the delivery, sends the post again: if an earlier attempt
    /// went through, X refuses the repeat as duplicate content, which [`X::publish`] reports as
    /// published. Past it, looks for the post among the account's recent posts first, unless
    /// `lookup = false`; a failed look-up is returned as is rather than risk a second post.
    async fn recover(&self, post: &Post) -> Result<Published, PostError> {
        // The first attempt, and any post it made, came after the delivery was queued.
        let within_window = Utc::now() - post.queued_at < DUPLICATE_WINDOW;
        if within_window || !self.config.lookup {
            if !within_window {
                tracing::warn!(channel = %self.name, entry_id = %post.entry_id, "x: re-sending a post whose outcome is unknown without looking for it (lookup = false); X may no longer refuse it as a duplicate");
            }
            tracing::info!(channel = %self.name, entry_id = %post.entry_id, "x: re-sending a post whose outcome is unknown; a duplicate refusal means it was published");
            return self.publish(post).await;
        }
        match self.find(post).await? {
            Some(found) => {
                tracing::info!(
                    channel = %self.name,
                    entry_id = %post.entry_id,
                    remote_id = found.remote_id.as_deref().unwrap_or_default(),
                    "x: found the post of an earlier attempt"
                );
                Ok(found)
            }
            None => self.publish(post).await,
        }
    }
}

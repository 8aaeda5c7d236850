//! Facebook Page: `POST /{version}/{page-id}/feed` with a Page access token.
//!
//! A post is the rendered text as `message` plus the entry as `link`, which Facebook turns into
//! a link card. The Page token travels in the form body, never in the URL, so it cannot end up
//! in a logged URL; with an app secret configured, every call also carries `appsecret_proof`
//! (HMAC-SHA256 of the token keyed with the app secret), which an app with "Require App
//! Secret" demands (a wrong or missing secret pauses the channel, like an expired token).
//! Graph API errors carry a numeric `code` that says more than the HTTP status, so they are
//! classified here before falling back to [`http::classify_status`].
//! Creating a post is not idempotent, so [`Facebook::recover`] looks for the post in the
//! Page's feed before posting again.
//!
//! With `image = "attach"` an entry with an image is a photo post instead
//! (`POST /{page-id}/photos`: the image uploaded as `source`, the text as `caption`, the alt
//! text as `alt_text_custom`), one request that is the post itself, found again in the feed
//! by its text like any post. The default, `"card"`, keeps the link post, whose card shows
//! the page's Open Graph image.
//!
//! API: <https://developers.facebook.com/docs/pages-api/posts>,
//! <https://developers.facebook.com/docs/graph-api/reference/page/photos>
//! Errors: <https://developers.facebook.com/docs/graph-api/guides/error-handling>
//! Rate limits: <https://developers.facebook.com/docs/graph-api/overview/rate-limiting>
//! Proof: <https://developers.facebook.com/docs/graph-api/securing-requests#appsecret_proof>

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::media::{self, ImageFile, Limits};
use super::{Channel, ChannelContext, ImageMode, Post, PostError, Published, http};
use crate::secrets::{Secret, SecretRef};
use crate::values::HttpUrl;

/// Network name in messages.
const NETWORK: &str = "facebook";

/// Wait after a throttling error when Facebook does not say how long.
const THROTTLE_BACKOFF_MINUTES: i64 = 15;

/// Posts of the feed searched by [`Facebook::recover`]: a crier post that may have gone
/// through is one of the latest few.
const RECOVER_LIMIT: &str = "25";

/// A feed post older than its delivery by more than this is not the delivery's post (the
/// margin covers clock skew between this host and Facebook).
const RECOVER_SKEW_MINUTES: i64 = 10;

/// Settings of a Facebook Page channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacebookConfig {
    /// The Graph API's URL.
    #[serde(default = "default_base_url")]
    pub base_url: HttpUrl,
    /// Graph API version, e.g. `v25.0`.
    #[serde(default = "default_version")]
    pub graph_version: String,
    /// The Page's id.
    pub page_id: String,
    /// A Page access token with `pages_manage_posts`.
    pub page_token: SecretRef,
    /// The app secret; when set, every call carries `appsecret_proof`.
    pub app_secret: Option<SecretRef>,
    /// The entry's image: `"card"` (a link post; Facebook's card shows the page's Open Graph
    /// image, the default) or `"attach"` (a photo post with the text as caption).
    #[serde(default = "default_image")]
    pub image: ImageMode,
}

fn default_image() -> ImageMode {
    ImageMode::Card
}

/// What crier sends as a Page photo: JPEG, PNG or GIF of at most 4 MB (the Photo reference
/// takes static images under 10 MB; a smaller file uploads faster and well within it).
const IMAGE_LIMITS: Limits = Limits {
    max_bytes: 4 * 1024 * 1024,
    types: &["image/jpeg", "image/png", "image/gif"],
    max_side: 4096,
};

fn default_base_url() -> HttpUrl {
    HttpUrl::parse("https://graph.facebook.com").expect("a static URL parses")
}

fn default_version() -> String {
    "v25.0".to_owned()
}

impl FacebookConfig {
    /// The secrets of this channel, by config key.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut SecretRef)> {
        let mut secrets = vec![("page_token", &mut self.page_token)];
        if let Some(s) = &mut self.app_secret {
            secrets.push(("app_secret", s));
        }
        secrets
    }

    /// Checks values serde accepted: `(key, message)` on error.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.page_id.trim().is_empty() || !self.page_id.chars().all(|c| c.is_ascii_digit()) {
            return Err((
                "page_id".into(),
                format!("{:?} is not a numeric Page id", self.page_id),
            ));
        }
        if self.image == ImageMode::None {
            return Err((
                "image".into(),
                "\"none\": a link post's card always shows the page's Open Graph image; use \"card\" or \"attach\"".into(),
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
    config: FacebookConfig,
    context: ChannelContext,
}

/// The Page token and its proof, read for one call (so a renewed token file is picked up
/// without a restart).
struct Credentials {
    token: Secret,
    proof: Option<String>,
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

    fn feed_url(&self) -> String {
        format!(
            "{}/{}/{}/feed",
            self.config.base_url.trim_end_matches('/'),
            self.config.graph_version,
            self.config.page_id
        )
    }

    fn credentials(&self) -> Result<Credentials, PostError> {
        let unreadable = |what: &str, error: crate::secrets::SecretError| PostError::Pause {
            reason: format!(
                "{NETWORK}: cannot read the {what}: {error}; fix it and run `crier retry --channel {}`",
                self.name
            ),
        };
        let token = self
            .config
            .page_token
            .load()
            .map_err(|e| unreadable("Page token (`page_token`)", e))?;
        let proof = match &self.config.app_secret {
            Some(secret) => {
                let secret = secret
                    .load()
                    .map_err(|e| unreadable("app secret (`app_secret`)", e))?;
                Some(appsecret_proof(token.expose(), secret.expose()))
            }
            None => None,
        };
        Ok(Credentials { token, proof })
    }

    fn photos_url(&self) -> String {
        format!(
            "{}/{}/{}/photos",
            self.config.base_url.trim_end_matches('/'),
            self.config.graph_version,
            self.config.page_id
        )
    }

    /// Creates the post: a photo post when the channel attaches images and the image could be
    /// read, else a link post.
    async fn create(&self, post: &Post, credentials: &Credentials) -> Result<Published, PostError> {
        if let Some(image) = post
            .image
            .as_ref()
            .filter(|_| self.config.image == ImageMode::Attach)
        {
            let file = media::load_or_leave_off(
                &self.context.http,
                &self.name,
                post,
                image,
                &IMAGE_LIMITS,
            )
            .await;
            if let Some(file) = file {
                match self.create_photo(post, file, &image.alt, credentials).await {
                    // Refused for good (the image, most likely): the link post goes instead.
                    Err(PostError::Reject { reason }) => media::left_off(&self.name, post, &reason),
                    other => return other,
                }
            }
        }
        self.create_link(post, credentials).await
    }

    /// A photo post of `file` captioned with the post's text.
    async fn create_photo(
        &self,
        post: &Post,
        file: ImageFile,
        alt: &str,
        credentials: &Credentials,
    ) -> Result<Published, PostError> {
        let name = file.file_name();
        let part = reqwest::multipart::Part::bytes(file.bytes)
            .file_name(name)
            .mime_str(file.mime)
            .map_err(|e| http::transport_error(NETWORK, &e))?;
        let mut form = reqwest::multipart::Form::new()
            .part("source", part)
            .text("caption", post.text.clone())
            .text("access_token", credentials.token.expose().to_owned());
        if !alt.trim().is_empty() {
            form = form.text("alt_text_custom", alt.trim().to_owned());
        }
        if let Some(proof) = &credentials.proof {
            form = form.text("appsecret_proof", proof.clone());
        }
        let response = self
            .context
            .http
            .post(self.photos_url())
            .multipart(form)
            .send()
            .await
            .map_err(|e| http::transport_error(NETWORK, &e))?;
        self.created_or_classified(response, post, credentials)
            .await
    }

    /// What the Graph API answered to a new post (photo or link): the post, a duplicate found
    /// again, or the classified refusal.
    async fn created_or_classified(
        &self,
        response: reqwest::Response,
        post: &Post,
        credentials: &Credentials,
    ) -> Result<Published, PostError> {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| http::transport_error(NETWORK, &e))?;
        if status.is_success() {
            return Ok(created(&body));
        }
        if graph_error(&body).is_some_and(|e| e.code == 506) {
            return Ok(self.duplicate(post, credentials).await);
        }
        Err(redact(
            classify(&self.name, status, &headers, &body, Utc::now()),
            &credentials.token,
        ))
    }

    /// A link post: the text as `message`, the entry as `link`.
    async fn create_link(
        &self,
        post: &Post,
        credentials: &Credentials,
    ) -> Result<Published, PostError> {
        let mut form = vec![
            ("message", post.text.as_str()),
            ("link", post.url.as_str()),
            ("access_token", credentials.token.expose()),
        ];
        if let Some(proof) = &credentials.proof {
            form.push(("appsecret_proof", proof));
        }
        let response = self
            .context
            .http
            .post(self.feed_url())
            .form(&form)
            .send()
            .await
            .map_err(|e| http::transport_error(NETWORK, &e))?;
        self.created_or_classified(response, post, credentials)
            .await
    }

    /// Facebook refused the post as a duplicate of a recent one: it is out, so the delivery is
    /// done; its id is looked up on a best-effort basis.
    async fn duplicate(&self, post: &Post, credentials: &Credentials) -> Published {
        match self.find(post, credentials).await {
            Ok(Some(published)) => published,
            Ok(None) | Err(_) => {
                tracing::info!(
                    channel = %self.name,
                    delivery_id = post.delivery_id,
                    "facebook refused the post as a duplicate: it is already on the Page"
                );
                Published {
                    remote_id: None,
                    remote_url: None,
                }
            }
        }
    }

    /// Looks for `post` among the Page's latest posts.
    async fn find(
        &self,
        post: &Post,
        credentials: &Credentials,
    ) -> Result<Option<Published>, PostError> {
        let mut query = vec![
            (
                "fields",
                "id,message,created_time,attachments{unshimmed_url}",
            ),
            ("limit", RECOVER_LIMIT),
        ];
        if let Some(proof) = &credentials.proof {
            query.push(("appsecret_proof", proof));
        }
        let response = self
            .context
            .http
            .get(self.feed_url())
            .query(&query)
            .bearer_auth(credentials.token.expose())
            .send()
            .await
            .map_err(|mut e| {
                // The query holds the proof: keep it out of the message.
                if let Some(url) = e.url_mut() {
                    url.set_query(None);
                }
                http::transport_error(NETWORK, &e)
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| http::transport_error(NETWORK, &e.without_url()))?;
        if !status.is_success() {
            return Err(redact(
                classify(&self.name, status, &headers, &body, Utc::now()),
                &credentials.token,
            ));
        }
        let feed: Feed = serde_json::from_str(&body).map_err(|e| PostError::Retry {
            reason: format!(
                "{NETWORK}: unreadable feed listing while checking for an earlier attempt ({e}): {}",
                http::excerpt(&body)
            ),
            after: None,
        })?;
        Ok(feed
            .data
            .into_iter()
            .find(|item| is_same_post(post, item))
            .map(|item| published(item.id)))
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

    async fn publish(&self, post: &Post) -> Result<Published, PostError> {
        let credentials = self.credentials()?;
        self.create(post, &credentials).await
    }

    /// Creating a post has no idempotency key: look for it in the Page's feed first, and post
    /// only when it is not there. A failed lookup is returned as is rather than risk a second
    /// post.
    async fn recover(&self, post: &Post) -> Result<Published, PostError> {
        let credentials = self.credentials()?;
        match self.find(post, &credentials).await? {
            Some(found) => {
                tracing::info!(
                    channel = %self.name,
                    delivery_id = post.delivery_id,
                    remote_id = found.remote_id.as_deref().unwrap_or_default(),
                    "found the post of an earlier attempt on the Page"
                );
                Ok(found)
            }
            None => self.create(post, &credentials).await,
        }
    }
}

/// `appsecret_proof`: lowercase hex HMAC-SHA256 of the access token keyed with the app secret.
fn appsecret_proof(token: &str, app_secret: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(token.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn published(id: String) -> Published {
    Published {
        remote_url: Some(format!("https://www.facebook.com/{id}")),
        remote_id: Some(id),
    }
}

/// A 2xx answer to the post: Facebook created it, so the delivery is done even when the
/// answer is unreadable (retrying would post twice).
fn created(body: &str) -> Published {
    #[derive(Deserialize)]
    struct Created {
        id: String,
        /// A photo post's: `id` is then the photo's.
        post_id: Option<String>,
    }
    match serde_json::from_str::<Created>(body) {
        Ok(Created {
            post_id: Some(id), ..
        }) if !id.is_empty() => published(id),
        Ok(created) if !created.id.is_empty() => published(created.id),
        _ => {
            tracing::warn!(
                body = %http::excerpt(body),
                "facebook accepted the post without giving its id"
            );
            Published {
                remote_id: None,
                remote_url: None,
            }
        }
    }
}

/// `{"error": {...}}`, the body of every Graph API error.
#[derive(Debug, Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    kind: String,
    code: i64,
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
    error_user_msg: Option<String>,
    fbtrace_id: Option<String>,
}

impl GraphError {
    /// `code 190/463 OAuthException: message (user message) [fbtrace_id …]`, for reasons.
    fn describe(&self) -> String {
        let mut text = format!("code {}", self.code);
        if let Some(sub) = self.error_subcode {
            text.push_str(&format!("/{sub}"));
        }
        if !self.kind.is_empty() {
            text.push_str(&format!(" {}", self.kind));
        }
        text.push_str(&format!(": {}", http::excerpt(&self.message)));
        if let Some(user) = self.error_user_msg.as_deref().filter(|m| !m.is_empty()) {
            text.push_str(&format!(" ({})", http::excerpt(user)));
        }
        if let Some(trace) = &self.fbtrace_id {
            text.push_str(&format!(" [fbtrace_id {trace}]"));
        }
        text
    }
}

fn graph_error(body: &str) -> Option<GraphError> {
    #[derive(Deserialize)]
    struct Envelope {
        error: GraphError,
    }
    serde_json::from_str::<Envelope>(body).ok().map(|e| e.error)
}

/// Classifies a failed Graph API call; `name` is the channel's, for `crier retry`. One arm per
/// error code of Facebook's guide, kept in one `match` so that it reads as that table does.
fn classify(
    name: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    now: DateTime<Utc>,
) -> PostError {
    let Some(error) = graph_error(body) else {
        return http::classify_status(NETWORK, status, headers, body);
    };
    let detail = error.describe();
    match error.code {
        // 102 is the older session error, handled by Facebook's guide as 190.
        190 | 102 => PostError::Pause {
            reason: format!(
                "{NETWORK}: the Page access token was refused ({detail}){}. Get a new \
                 long-lived Page token with pages_manage_posts and pages_read_engagement: in the \
                 Graph API Explorer, get a user token with them, extend it in the Access Token \
                 Debugger and take the Page's token from `me/accounts`; or in Business Settings → \
                 Users → System users, generate a token for the app on a system user that has the \
                 Page as an asset. Store it where `page_token` points, then run `crier retry \
                 --channel {name}`",
                token_hint(error.error_subcode)
            ),
        },
        // 80001 is the Pages business-use-case rate limit.
        4 | 17 | 32 | 613 | 80001 => PostError::Retry {
            reason: format!("{NETWORK}: rate limited ({detail})"),
            after: Some(
                regain_access(headers, now)
                    .or_else(|| http::retry_after(headers, now))
                    .unwrap_or(now + TimeDelta::minutes(THROTTLE_BACKOFF_MINUTES)),
            ),
        },
        368 => PostError::Reject {
            reason: format!(
                "{NETWORK}: Facebook blocked this post as against its policies ({detail}); it is \
                 given up. Check the Page's notifications and Page quality in Meta Business Suite \
                 before more posts are blocked, and request a review if it is a mistake"
            ),
        },
        1 | 2 => PostError::Retry {
            reason: format!("{NETWORK}: temporary Graph API failure ({detail})"),
            after: http::announced_retry(status, headers, now),
        },
        10 | 200..=299 => PostError::Pause {
            reason: format!(
                "{NETWORK}: permission denied ({detail}): {}. Generate a new Page token with \
                 pages_manage_posts and pages_read_engagement, from an account or system user \
                 allowed to create content on the Page, store it where `page_token` points, then \
                 run `crier retry --channel {name}`",
                missing_permissions(&error.message)
            ),
        },
        // Object not found or not accessible: a wrong `page_id`, or a token of another Page.
        100 if error.error_subcode == Some(33) => PostError::Pause {
            reason: format!(
                "{NETWORK}: the Page cannot be reached ({detail}): check `page_id` and that \
                 `page_token` is a token of that Page, then run `crier retry --channel {name}`"
            ),
        },
        // A wrong app secret (`Invalid appsecret_proof provided in the API argument`) or none
        // for an app that requires one (`API calls from the server require an appsecret_proof
        // argument`): every call fails the same way until the operator fixes `app_secret`.
        100 if error
            .message
            .to_ascii_lowercase()
            .contains("appsecret_proof") =>
        {
            PostError::Pause {
                reason: format!(
                    "{NETWORK}: the call's appsecret_proof was refused ({detail}). Set \
                     `app_secret` to the App Secret of the app that issued the Page token (App \
                     Dashboard → App settings → Basic → App secret); it is required when the \
                     app has \"Require App Secret\" on. Store it where `app_secret` points, then \
                     run `crier retry --channel {name}`"
                ),
            }
        }
        _ if error.is_transient => PostError::Retry {
            reason: format!("{NETWORK}: transient Graph API error ({detail})"),
            after: http::announced_retry(status, headers, now),
        },
        _ => http::classify_status(NETWORK, status, headers, body),
    }
}

/// What a code-190 subcode means, per Facebook's error guide.
fn token_hint(subcode: Option<i64>) -> &'static str {
    match subcode {
        Some(463) => ": the token expired",
        Some(460) => ": the password of its account changed",
        Some(458) => ": the app was removed from the account",
        Some(459 | 464) => ": the account must log in to Facebook to fix a checkpoint",
        Some(467) => ": the token is invalid or was revoked",
        Some(492) => ": its account no longer has a role on the Page",
        _ => "",
    }
}

/// The permissions a Graph error message names (`pages_manage_posts`, `publish_to_groups`).
fn missing_permissions(message: &str) -> String {
    let mut named: Vec<&str> = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("pages_") || w.starts_with("publish_"))
        .collect();
    named.dedup();
    if named.is_empty() {
        "the token lacks a permission or a Page task".to_owned()
    } else {
        format!("missing {}", named.join(", "))
    }
}

/// The end of a throttle from `X-App-Usage` / `X-Business-Use-Case-Usage`, whose JSON carries
/// `estimated_time_to_regain_access` in minutes (per business object and usage type).
fn regain_access(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    fn minutes(value: &serde_json::Value, found: &mut Option<i64>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    let n = v
                        .as_i64()
                        .or_else(|| v.as_f64().map(|f| f.ceil() as i64))
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                    match n {
                        Some(n) if key == "estimated_time_to_regain_access" => {
                            *found = Some(found.map_or(n, |m| m.max(n)));
                        }
                        _ => minutes(v, found),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| minutes(v, found)),
            _ => {}
        }
    }
    let mut found = None;
    for name in ["x-business-use-case-usage", "x-app-usage"] {
        for value in headers.get_all(name) {
            if let Some(json) = value
                .to_str()
                .ok()
                .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
            {
                minutes(&json, &mut found);
            }
        }
    }
    found
        .filter(|&m| m > 0)
        .map(|m| now + TimeDelta::minutes(m))
}

/// Replaces the token in a reason, should Facebook ever echo it.
fn redact(error: PostError, token: &Secret) -> PostError {
    let token = token.expose();
    if token.is_empty() {
        return error;
    }
    let clean = |reason: String| reason.replace(token, "<redacted>");
    match error {
        PostError::Retry { reason, after } => PostError::Retry {
            reason: clean(reason),
            after,
        },
        PostError::Pause { reason } => PostError::Pause {
            reason: clean(reason),
        },
        PostError::Reject { reason } => PostError::Reject {
            reason: clean(reason),
        },
    }
}

/// `GET /{page-id}/feed` with `fields=id,message,created_time,attachments{unshimmed_url}`.
#[derive(Debug, Deserialize)]
struct Feed {
    #[serde(default)]
    data: Vec<FeedPost>,
}

#[derive(Debug, Deserialize)]
struct FeedPost {
    id: String,
    message: Option<String>,
    created_time: Option<String>,
    attachments: Option<Attachments>,
}

#[derive(Debug, Deserialize)]
struct Attachments {
    #[serde(default)]
    data: Vec<Attachment>,
}

#[derive(Debug, Deserialize)]
struct Attachment {
    unshimmed_url: Option<String>,
}

/// Whether a feed post is `post`: created after it was queued, with its link as attachment
/// (the `link` field cannot be read back since Graph v3.3) or its text as message.
fn is_same_post(post: &Post, item: &FeedPost) -> bool {
    let earliest = post.queued_at - TimeDelta::minutes(RECOVER_SKEW_MINUTES);
    // Graph writes `2024-05-01T12:00:00+0000`; an unreadable time does not rule a post out.
    let too_old = item
        .created_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%z").ok())
        .is_some_and(|t| t < earliest);
    if too_old {
        return false;
    }
    let same_link = item.attachments.as_ref().is_some_and(|a| {
        a.data
            .iter()
            .any(|d| d.unshimmed_url.as_deref() == Some(post.url.as_str()))
    });
    let same_text = item
        .message
        .as_deref()
        .is_some_and(|m| m.trim() == post.text.trim());
    same_link || same_text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn error_body(code: i64, subcode: Option<i64>) -> String {
        serde_json::json!({"error": {
            "message": format!("(#{code}) something"),
            "type": "OAuthException",
            "code": code,
            "error_subcode": subcode,
            "fbtrace_id": "AbC",
        }})
        .to_string()
    }

    fn post(text: &str, url: &str) -> Post {
        Post {
            delivery_id: 1,
            queued_at: now(),
            entry_id: "e".into(),
            text: text.into(),
            url: url.into(),
            title: String::new(),
            summary: String::new(),
            language: "en".into(),
            image: None,
            media: None,
            key: None,
        }
    }

    #[test]
    fn proof_is_hmac_sha256_in_hex() {
        // RFC 4231, test case 2: key "Jefe".
        assert_eq!(
            appsecret_proof("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn graph_codes_are_classified() {
        let h = HeaderMap::new();
        let bad = StatusCode::BAD_REQUEST;
        let class = |code, sub| classify("fb", bad, &h, &error_body(code, sub), now());
        let pause = class(190, Some(463));
        assert!(matches!(&pause, PostError::Pause { reason }
            if reason.contains("expired") && reason.contains("crier retry --channel fb")
                && reason.contains("pages_manage_posts")));
        for code in [4, 17, 32, 613] {
            assert_eq!(
                class(code, None),
                PostError::Retry {
                    reason: format!(
                        "facebook: rate limited (code {code} OAuthException: (#{code}) something [fbtrace_id AbC])"
                    ),
                    after: Some(now() + TimeDelta::minutes(15)),
                }
            );
        }
        assert!(matches!(class(368, None), PostError::Reject { .. }));
        assert!(matches!(class(1, None), PostError::Retry { .. }));
        assert!(matches!(class(2, None), PostError::Retry { .. }));
        assert!(matches!(class(10, None), PostError::Pause { .. }));
        assert!(matches!(class(200, None), PostError::Pause { .. }));
        assert!(matches!(class(100, Some(33)), PostError::Pause { .. }));
        assert!(matches!(class(100, None), PostError::Reject { .. }));
        let proof = serde_json::json!({"error": {
            "message": "Invalid appsecret_proof provided in the API argument",
            "type": "GraphMethodException", "code": 100,
        }})
        .to_string();
        assert!(matches!(classify("fb", bad, &h, &proof, now()),
            PostError::Pause { reason } if reason.contains("`app_secret`")));
        assert!(matches!(
            classify("fb", StatusCode::BAD_GATEWAY, &h, "<html>", now()),
            PostError::Retry { .. }
        ));
    }

    #[test]
    fn permission_errors_name_the_missing_permission() {
        let message = "(#200) If posting to a page, requires both pages_read_engagement and \
                       pages_manage_posts permission";
        assert_eq!(
            missing_permissions(message),
            "missing pages_read_engagement, pages_manage_posts"
        );
        assert!(missing_permissions("(#10) no").contains("lacks a permission"));
    }

    #[test]
    fn throttles_end_when_usage_headers_say() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"123":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":7}]}"#,
            ),
        );
        h.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_count":100,"estimated_time_to_regain_access":3}"#),
        );
        assert_eq!(
            regain_access(&h, now()),
            Some(now() + TimeDelta::minutes(7))
        );
        let idle = HeaderMap::from_iter([(
            "x-app-usage".parse().unwrap(),
            HeaderValue::from_static(r#"{"call_count":5,"total_time":1,"total_cputime":1}"#),
        )]);
        assert_eq!(regain_access(&idle, now()), None);
    }

    #[test]
    fn reasons_never_carry_the_token() {
        let error = PostError::Pause {
            reason: "bad token EAAB123".into(),
        };
        assert_eq!(
            redact(error, &Secret::new("EAAB123")),
            PostError::Pause {
                reason: "bad token <redacted>".into()
            }
        );
    }

    #[test]
    fn feed_posts_match_by_link_or_text_and_age() {
        let p = post("New: thing https://e.org/a/", "https://e.org/a/");
        let item = |message: Option<&str>, url: Option<&str>, time: &str| FeedPost {
            id: "1_2".into(),
            message: message.map(str::to_owned),
            created_time: Some(time.to_owned()),
            attachments: url.map(|u| Attachments {
                data: vec![Attachment {
                    unshimmed_url: Some(u.to_owned()),
                }],
            }),
        };
        let recent = "2023-11-14T22:20:00+0000";
        assert!(is_same_post(
            &p,
            &item(Some("edited"), Some("https://e.org/a/"), recent)
        ));
        assert!(is_same_post(
            &p,
            &item(Some("New: thing https://e.org/a/\n"), None, recent)
        ));
        assert!(!is_same_post(
            &p,
            &item(Some("other"), Some("https://e.org/b/"), recent)
        ));
        assert!(!is_same_post(
            &p,
            &item(None, Some("https://e.org/a/"), "2023-01-01T00:00:00+0000")
        ));
    }

    #[test]
    fn answers_without_id_still_count_as_published() {
        assert_eq!(
            created(r#"{"id":"1_2"}"#),
            Published {
                remote_id: Some("1_2".into()),
                remote_url: Some("https://www.facebook.com/1_2".into()),
            }
        );
        assert_eq!(created("").remote_id, None);
    }
}

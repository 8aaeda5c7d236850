//! Mastodon: `POST /api/v1/statuses` with a user access token.
//!
//! API: <https://docs.joinmastodon.org/methods/statuses/#create>,
//! <https://docs.joinmastodon.org/methods/accounts/#statuses>,
//! <https://docs.joinmastodon.org/methods/media/#v2>
//!
//! An entry's image is uploaded first (`POST /api/v2/media`, its alt text as `description`;
//! a 202 means the instance is still processing it, and `GET /api/v1/media/:id` is polled
//! until it answers 200), then attached with `media_ids[]`. The engine keeps the media id with
//! the delivery, so a post sent again attaches the same upload while the instance keeps it
//! (unattached media is cleaned up after a day).
//!
//! Every request carries an `Idempotency-Key` derived from the delivery: Mastodon answers a
//! repeated key with the status it already created, but only for an hour after creating it
//! (`PostStatusService` keeps the key in Redis for 3600 s). [`Channel::recover`] therefore
//! publishes again while the delivery is younger than that window; past it, it first looks for
//! the status among the account's own recent statuses (the account id comes from
//! `verify_credentials` and is kept in the channel's memory), matching on the entry's URL.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::http::{classify_status, excerpt, retry_after, transport_error};
use super::media::{self, Limits};
use super::{Channel, ChannelContext, ImageMode, Media, Post, PostError, Published};
use crate::secrets::{Secret, SecretRef};
use crate::values::HttpUrl;

mod length;

pub use length::{URL_LENGTH, count};

/// How long Mastodon answers a repeated `Idempotency-Key` with the status it created.
pub const IDEMPOTENCY_WINDOW: TimeDelta = TimeDelta::hours(1);

/// The window is relied on only up to this long before its end: a later attempt's request
/// takes time to reach the instance, and this host's clock is not the instance's.
const WINDOW_MARGIN: TimeDelta = TimeDelta::minutes(10);

/// The scopes crier's access token needs: posting, and finding a status of an earlier attempt
/// (`read:accounts` for `verify_credentials`, `read:statuses` for the account's statuses).
const SCOPES: &str = "write:statuses, write:media, read:accounts and read:statuses";

/// What Mastodon takes as an image: 10 MB on instances before 4.0 (16 MB since; an instance
/// publishes its own as `configuration.media_attachments.image_size_limit`), in the types
/// every version takes. Larger sides are scaled down by the instance itself.
const IMAGE_LIMITS: Limits = Limits {
    max_bytes: 10 * 1024 * 1024,
    types: &["image/jpeg", "image/png", "image/gif", "image/webp"],
    max_side: 8192,
};

/// Longest alt text (`description`) Mastodon accepts.
const MAX_DESCRIPTION: usize = 1500;

/// How long an instance keeps media no status uses (its media cleanup removes it after a day).
const MEDIA_LIFETIME: TimeDelta = TimeDelta::hours(24);

/// How often, and how many times, an upload still being processed is asked about.
const PROCESSING_POLL: std::time::Duration = std::time::Duration::from_secs(1);
const PROCESSING_POLLS: usize = 30;

/// Memory key of the account id, stored as `<owner>:<id>` (see [`owner`]).
const ACCOUNT: &str = "account";

/// Statuses per page of the account's statuses (the API's maximum), and pages read at most:
/// a crier account seldom posts 200 statuses while a delivery waits.
const LOOKUP_PAGE_SIZE: usize = 40;
const LOOKUP_PAGES: usize = 5;

/// A status created before its delivery was queued is not the delivery's (the margin covers
/// clock skew between this host and the instance).
const LOOKUP_SKEW: TimeDelta = TimeDelta::minutes(10);

/// Settings of a Mastodon channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    /// The instance's URL, e.g. `https://mastodon.social`.
    pub base_url: HttpUrl,
    /// An access token with the `write:statuses` scope.
    pub access_token: SecretRef,
    /// `public`, `unlisted`, `private` or `direct`.
    #[serde(default = "default_visibility")]
    pub visibility: String,
    /// The instance's post length limit (500 on most instances; the instance publishes its
    /// own as `configuration.statuses.max_characters` at `/api/v2/instance`).
    #[serde(default = "default_max_characters")]
    pub max_characters: usize,
    /// The entry's image: `"attach"` (uploaded with its alt text, the default) or `"none"`.
    #[serde(default = "default_image")]
    pub image: ImageMode,
}

fn default_image() -> ImageMode {
    ImageMode::Attach
}

fn default_visibility() -> String {
    "public".to_owned()
}

fn default_max_characters() -> usize {
    500
}

impl MastodonConfig {
    /// The secrets of this channel, by config key.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut SecretRef)> {
        vec![("access_token", &mut self.access_token)]
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
        if self.image == ImageMode::Card {
            return Err((
                "image".into(),
                "\"card\": Mastodon makes the link card from the page itself; use \"attach\" or \"none\"".into(),
            ));
        }
        // Below a URL's length no announcement can fit.
        if self.max_characters <= URL_LENGTH {
            return Err((
                "max_characters".into(),
                format!(
                    "{}: must be more than {URL_LENGTH} (a URL alone counts {URL_LENGTH}); most instances allow 500",
                    self.max_characters
                ),
            ));
        }
        Ok(())
    }
}

/// A Mastodon account.
pub struct Mastodon {
    name: String,
    config: MastodonConfig,
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

    fn api_url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn statuses_url(&self) -> String {
        self.api_url("/api/v1/statuses")
    }

    /// The access token, read at each use so a renewed token is picked up without a restart.
    fn token(&self) -> Result<Secret, PostError> {
        self.config.access_token.load().map_err(|e| PostError::Pause {
            reason: format!(
                "mastodon: cannot read access_token: {e}. Once it is readable, run `crier retry --channel {}`",
                self.name
            ),
        })
    }

    /// The status of `post` among the account's statuses created since the delivery was
    /// queued, newest first, if it is there.
    async fn find(&self, post: &Post, token: &Secret) -> Result<Option<Published>, PostError> {
        let account = self.account_id(token).await?;
        let url = self.api_url(&format!("/api/v1/accounts/{account}/statuses"));
        let earliest = post.queued_at - LOOKUP_SKEW;
        let page_size = LOOKUP_PAGE_SIZE.to_string();
        let mut older_than: Option<String> = None;
        for _ in 0..LOOKUP_PAGES {
            let mut query = vec![("limit", page_size.as_str()), ("exclude_reblogs", "true")];
            if let Some(id) = &older_than {
                query.push(("max_id", id));
            }
            let statuses: Vec<ListedStatus> = self.read(&url, &query, token).await?;
            if let Some(found) = statuses
                .iter()
                .find(|s| s.created_at >= earliest && s.links_to(&post.url))
            {
                return Ok(Some(Published {
                    remote_id: Some(found.id.clone()),
                    remote_url: found.url.clone(),
                }));
            }
            match statuses.last() {
                Some(last) if last.created_at >= earliest => older_than = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
        tracing::warn!(
            channel = %self.name,
            entry_id = %post.entry_id,
            "mastodon: the status was not among the account's {} latest; posting it",
            LOOKUP_PAGES * LOOKUP_PAGE_SIZE
        );
        Ok(None)
    }

    /// The id of the token's account: from memory, else from `verify_credentials` (then
    /// remembered). The memory keeps whose id it is, so a token of another account or
    /// instance looks it up again.
    async fn account_id(&self, token: &Secret) -> Result<String, PostError> {
        let owner = owner(&self.config.base_url, token);
        let stored = self.context.memory.get(ACCOUNT);
        if let Some((whose, id)) = stored.as_deref().and_then(|s| s.split_once(':'))
            && whose == owner
        {
            return Ok(id.to_owned());
        }
        #[derive(Deserialize)]
        struct Account {
            id: String,
        }
        let url = self.api_url("/api/v1/accounts/verify_credentials");
        let account: Account = self.read(&url, &[], token).await?;
        // The id goes into a URL path: anything but Mastodon's digits is not an account id.
        if account.id.is_empty() || !account.id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(PostError::Pause {
                reason: format!(
                    "mastodon: {url} answered an account id {:?}, which is not Mastodon's. \
                     Check base_url, then run `crier retry --channel {}`",
                    excerpt(&account.id),
                    self.name
                ),
            });
        }
        self.context
            .memory
            .set(ACCOUNT, &format!("{owner}:{}", account.id));
        Ok(account.id)
    }

    /// A GET of the look-up, its answer read as `T`.
    async fn read<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, &str)],
        token: &Secret,
    ) -> Result<T, PostError> {
        let Answer {
            status,
            headers,
            text,
        } = Answer::send(
            self.context
                .http
                .get(url)
                .query(query)
                .bearer_auth(token.expose()),
        )
        .await?;
        if !status.is_success() {
            return Err(self.classify_lookup(url, status, &headers, &text));
        }
        serde_json::from_str(&text).map_err(|e| PostError::Pause {
            reason: format!(
                "mastodon: {url} answered HTTP {status} but not as Mastodon does ({e}): {}. \
                 Check base_url, then run `crier retry --channel {}`",
                excerpt(&text),
                self.name
            ),
        })
    }

    /// Uploads `file` with `alt` as its description, and waits until the instance has
    /// processed it: the media id.
    async fn upload_media(
        &self,
        file: media::ImageFile,
        alt: &str,
        token: &Secret,
    ) -> Result<String, PostError> {
        let name = file.file_name();
        let part = reqwest::multipart::Part::bytes(file.bytes)
            .file_name(name)
            .mime_str(file.mime)
            .map_err(|e| transport_error("mastodon", &e))?;
        let mut form = reqwest::multipart::Form::new().part("file", part);
        let description = media::alt_text(alt, MAX_DESCRIPTION);
        if !description.is_empty() {
            form = form.text("description", description);
        }
        let url = self.api_url("/api/v2/media");
        let Answer {
            status,
            headers,
            text,
        } = Answer::send(
            self.context
                .http
                .post(&url)
                .bearer_auth(token.expose())
                .multipart(form),
        )
        .await?;
        if !status.is_success() {
            return Err(self.classify_upload(&url, status, &headers, &text));
        }
        let attachment: Attachment = serde_json::from_str(&text).map_err(|e| PostError::Pause {
            reason: format!(
                "mastodon: {url} answered HTTP {status} but not with a media attachment ({e}): {}. \
                 Check base_url, then run `crier retry --channel {}`",
                excerpt(&text),
                self.name
            ),
        })?;
        // 200: processed already; 202: the full-size file is still being processed, and a
        // status cannot attach it until it is.
        if status == StatusCode::ACCEPTED {
            self.wait_for_processing(&attachment.id, token).await?;
        }
        Ok(attachment.id)
    }

    /// Polls `GET /api/v1/media/:id` until the instance answers 200 (206 while processing).
    async fn wait_for_processing(&self, id: &str, token: &Secret) -> Result<(), PostError> {
        let url = self.api_url(&format!("/api/v1/media/{id}"));
        for _ in 0..PROCESSING_POLLS {
            let response = self
                .context
                .http
                .get(&url)
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| transport_error("mastodon", &e))?;
            let status = response.status();
            if status == StatusCode::OK {
                return Ok(());
            }
            if status != StatusCode::PARTIAL_CONTENT {
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                return Err(self.classify_upload(&url, status, &headers, &text));
            }
            tokio::time::sleep(PROCESSING_POLL).await;
        }
        Err(PostError::Retry {
            reason: format!(
                "mastodon: the image uploaded as media {id} was still being processed after {PROCESSING_POLLS} checks"
            ),
            after: None,
        })
    }

    /// A failed upload: a token without `write:media` pauses the channel with what to do;
    /// an image refused for itself (422, 413) is left off the post by the caller.
    fn classify_upload(
        &self,
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> PostError {
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => PostError::Pause {
                reason: format!(
                    "mastodon: uploading the image was refused (HTTP {status} from {url}: {}). \
                     Create an access token with the {SCOPES} scopes in Preferences → \
                     Development on {}, put it where access_token points ({}), or set \
                     `image = \"none\"` on the channel; then run `crier retry --channel {}`",
                    error_message(body),
                    self.config.base_url,
                    self.config.access_token.describe(),
                    self.name
                ),
            },
            StatusCode::PAYLOAD_TOO_LARGE => PostError::Reject {
                reason: format!("mastodon: HTTP {status}: the instance takes no image this large"),
            },
            _ => self.classify(status, headers, body),
        }
    }

    /// A failed look-up: whether the status exists stays unknown, so nothing is posted.
    fn classify_lookup(
        &self,
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> PostError {
        let message = error_message(body);
        match status {
            // A token made for posting only (write:statuses) cannot read.
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => PostError::Pause {
                reason: format!(
                    "mastodon: looking for the status of an earlier attempt was refused (HTTP \
                     {status} from {url}: {message}). That attempt is older than Mastodon's \
                     one-hour idempotency window, so crier must look before posting again. \
                     Create an access token with the {SCOPES} scopes in Preferences → \
                     Development on {}, put it where access_token points ({}), then run `crier \
                     retry --channel {}`",
                    self.config.base_url,
                    self.config.access_token.describe(),
                    self.name
                ),
            },
            _ => match self.classify(status, headers, body) {
                PostError::Reject { reason } => PostError::Retry {
                    reason: format!("{reason} (cannot tell whether the status exists)"),
                    after: None,
                },
                other => other,
            },
        }
    }

    /// Turns an error answer into a [`PostError`], refining [`classify_status`] with what
    /// Mastodon's statuses mean.
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> PostError {
        let message = error_message(body);
        match status {
            // A revoked or expired token (401), a token without `write:statuses` or a disabled
            // account (403): nothing posts until the operator makes a new token.
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => PostError::Pause {
                reason: format!(
                    "mastodon: HTTP {status}: {message}. Create a new access token with the \
                     {SCOPES} scopes in Preferences → Development on {}, put it where \
                     access_token points ({}), then run `crier retry --channel {}`",
                    self.config.base_url,
                    self.config.access_token.describe(),
                    self.name
                ),
            },
            // No statuses endpoint there: every post would fail the same way.
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => PostError::Pause {
                reason: format!(
                    "mastodon: HTTP {status} from {}: {message}. Check base_url (the \
                     instance's address, e.g. https://mastodon.social), then run `crier retry \
                     --channel {}`",
                    self.statuses_url(),
                    self.name
                ),
            },
            // Validation failed (text too long, empty text): this post never goes through.
            StatusCode::UNPROCESSABLE_ENTITY => PostError::Reject {
                reason: format!("mastodon: HTTP {status}: {message}"),
            },
            StatusCode::TOO_MANY_REQUESTS => PostError::Retry {
                reason: format!("mastodon: HTTP {status}: {message} (rate limited)"),
                after: retry_after(headers, Utc::now()),
            },
            _ => classify_status("mastodon", status, headers, body),
        }
    }
}

#[async_trait]
impl Channel for Mastodon {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_length(&self) -> usize {
        self.config.max_characters
    }

    fn count(&self, text: &str) -> usize {
        count(text)
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
        let token = self.token()?;
        match self.upload_media(file, &image.alt, &token).await {
            Ok(id) => Ok(Some(Media::new(id, Utc::now(), MEDIA_LIFETIME))),
            // The instance refused this image (its type, its size): the post goes without.
            Err(PostError::Reject { reason }) => {
                media::left_off(&self.name, post, &reason);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn publish(&self, post: &Post) -> Result<Published, PostError> {
        let token = self.token()?;
        let body = NewStatus {
            status: &post.text,
            language: language(&post.language),
            visibility: &self.config.visibility,
            media_ids: post.media.iter().map(|m| m.id.as_str()).collect(),
        };
        let url = self.statuses_url();
        let Answer {
            status,
            headers,
            text,
        } = Answer::send(
            self.context
                .http
                .post(&url)
                .bearer_auth(token.expose())
                .header("Idempotency-Key", idempotency_key(post))
                .json(&body),
        )
        .await?;
        if !status.is_success() {
            return Err(self.classify(status, &headers, &text));
        }
        match serde_json::from_str::<CreatedStatus>(&text) {
            Ok(created) => Ok(Published {
                remote_id: Some(created.id),
                remote_url: created.url,
            }),
            // Only something that is not Mastodon answers a status creation with anything
            // else (a login page, a parked domain): a wrong base_url.
            Err(e) => Err(PostError::Pause {
                reason: format!(
                    "mastodon: {url} answered HTTP {status} but not with a status ({e}): {}. \
                     Check base_url, then run `crier retry --channel {}`",
                    excerpt(&text),
                    self.name
                ),
            }),
        }
    }

    /// Within the idempotency window the same key returns the status of the earlier attempt,
    /// if there was one; past it, the key is forgotten and the account's statuses are looked
    /// through first. A failed look-up is returned as is rather than risk a second status.
    async fn recover(&self, post: &Post) -> Result<Published, PostError> {
        if within_window(post.queued_at, Utc::now()) {
            return self.publish(post).await;
        }
        let token = self.token()?;
        match self.find(post, &token).await? {
            Some(found) => {
                tracing::info!(
                    channel = %self.name,
                    entry_id = %post.entry_id,
                    remote_id = found.remote_id.as_deref().unwrap_or_default(),
                    "mastodon: found the status of an earlier attempt"
                );
                Ok(found)
            }
            None => self.publish(post).await,
        }
    }
}

/// Whether a delivery queued at `queued_at` is still inside Mastodon's idempotency window at
/// `now`. Its first attempt, and so any status it created, came after it was queued: a
/// delivery queued less than the window ago cannot have a status whose key was forgotten.
fn within_window(queued_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - queued_at < IDEMPOTENCY_WINDOW - WINDOW_MARGIN
}

/// Whose account id is remembered: a hash of the instance and the token, so that the memory
/// tells a changed token without storing it.
fn owner(base_url: &str, token: &Secret) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(base_url.as_bytes());
    hasher.update(b"\n");
    hasher.update(token.expose().as_bytes());
    hasher.finalize().to_hex()[..16].to_owned()
}

/// A status of `GET /api/v1/accounts/:id/statuses`.
#[derive(Deserialize)]
struct ListedStatus {
    id: String,
    created_at: DateTime<Utc>,
    url: Option<String>,
    #[serde(default)]
    content: String,
    card: Option<Card>,
}

#[derive(Deserialize)]
struct Card {
    url: Option<String>,
}

impl ListedStatus {
    /// Whether the status links to `url`: a link of its HTML content (`href`), or its preview
    /// card. The text itself is not in the answer, only the HTML Mastodon made of it.
    fn links_to(&self, url: &str) -> bool {
        let card = self.card.as_ref().and_then(|c| c.url.as_deref());
        card.is_some_and(|c| same_url(c, url)) || hrefs(&self.content).any(|h| same_url(&h, url))
    }
}

/// The `href` values of `<a>` tags in Mastodon's HTML, unescaped.
fn hrefs(html: &str) -> impl Iterator<Item = String> + '_ {
    html.split("href=\"").skip(1).filter_map(|rest| {
        let value = &rest[..rest.find('"')?];
        Some(
            value
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    })
}

/// Whether two URLs are the same once normalised (case of scheme and host, default port,
/// percent-encoding), as Mastodon normalises a link before writing it.
fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The `Idempotency-Key` of a delivery: the same for every attempt of the delivery, different
/// for another delivery (the entry id's hash keeps keys apart if delivery ids are ever reused,
/// e.g. after the state database was recreated).
pub fn idempotency_key(post: &Post) -> String {
    let hash = blake3::hash(post.entry_id.as_bytes()).to_hex();
    format!("crier-{}-{}", post.delivery_id, &hash[..16])
}

/// Mastodon accepts ISO 639 codes and quietly replaces anything else with the account's
/// default language, so a BCP 47 tag is cut to its language subtag (`pt-BR` → `pt`).
fn language(tag: &str) -> Option<String> {
    let primary = tag.split(['-', '_']).next().unwrap_or_default().trim();
    (!primary.is_empty()).then(|| primary.to_ascii_lowercase())
}

#[derive(Serialize)]
struct NewStatus<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    visibility: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    media_ids: Vec<&'a str>,
}

/// A media attachment as `POST /api/v2/media` and `GET /api/v1/media/:id` answer it.
#[derive(Deserialize)]
struct Attachment {
    id: String,
}

#[derive(Deserialize)]
struct CreatedStatus {
    id: String,
    url: Option<String>,
}

/// Mastodon's `{"error": "...", "error_description": "..."}`, or the start of the body.
fn error_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody {
            error,
            error_description: Some(description),
        }) if !description.is_empty() => format!("{error}: {description}"),
        Ok(ErrorBody { error, .. }) => error,
        Err(_) if body.trim().is_empty() => "(empty answer)".to_owned(),
        Err(_) => excerpt(body),
    }
}

/// An instance's whole answer: status, headers and body.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    /// Sends `request` and reads the answer to its end; no answer, or a body cut short, is a
    /// transport error, like a timeout.
    async fn send(request: reqwest::RequestBuilder) -> Result<Answer, PostError> {
        let response = request
            .send()
            .await
            .map_err(|e| transport_error("mastodon", &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| transport_error("mastodon", &e))?;
        Ok(Answer {
            status,
            headers,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_counts_23() {
        let long = "https://example.org/en/projects/a-very-long-project-name/with/a/deep/path/";
        assert_eq!(count(long), 23);
        assert_eq!(count("http://a.io"), 23);
        assert_eq!(count(&format!("See {long} now")), 4 + 23 + 4);
        assert_eq!(count(&format!("{long}\n{long}")), 23 + 1 + 23);
        assert_eq!(count("HTTPS://EXAMPLE.ORG/X"), 23);
    }

    #[test]
    fn trailing_punctuation_is_not_part_of_the_url() {
        assert_eq!(count("Read https://example.org/post."), 5 + 23 + 1);
        assert_eq!(count("(https://example.org/post)"), 1 + 23 + 1);
        assert_eq!(count("https://example.org."), 23 + 1);
        assert_eq!(count("https://example.org/?q=1!"), 23 + 1);
        // Balanced parentheses belong to the URL (Wikipedia).
        assert_eq!(count("https://en.wikipedia.org/wiki/Crier_(job)"), 23);
        // `»` is no ASCII punctuation: Mastodon's path may end on it, so it joins the URL.
        assert_eq!(count("«https://example.org/»"), 1 + 23);
    }

    #[test]
    fn what_is_not_a_url_counts_in_full() {
        assert_eq!(count("http://localhost/x"), 18);
        assert_eq!(count("xhttps://example.org"), 20);
        assert_eq!(count("example.org/no/protocol"), 23);
        assert_eq!(count("https://"), 8);
    }

    #[test]
    fn graphemes_not_code_points() {
        // Decomposed accents: 2 code points, 1 grapheme each.
        assert_eq!(count("e\u{301}te\u{301}"), 3);
        assert_eq!(count("été"), 3);
        // A family emoji (7 code points) and a flag (2) are one each.
        assert_eq!(count("👨‍👩‍👧‍👦"), 1);
        assert_eq!(count("🇷🇸 ok"), 4);
        assert_eq!(count("日本語のテキスト"), 8);
        assert_eq!(count("Крагуевац"), 9);
        assert_eq!(count(""), 0);
    }

    #[test]
    fn urls_take_paths_in_other_scripts() {
        // Mastodon's path takes any character but white space, `<>()?` (and ends on any but
        // ASCII punctuation), so `記事` is part of the URL.
        assert_eq!(count("見てhttps://example.jp/記事"), 2 + 23);
        assert_eq!(count("https://example.org/Крагуевац"), 23);
    }

    #[test]
    fn languages_are_iso_639() {
        assert_eq!(language("pt-BR").as_deref(), Some("pt"));
        assert_eq!(language("EN").as_deref(), Some("en"));
        assert_eq!(language("sr_Latn").as_deref(), Some("sr"));
        assert_eq!(language(""), None);
    }

    #[test]
    fn error_bodies_are_read() {
        assert_eq!(
            error_message(r#"{"error":"The access token is invalid"}"#),
            "The access token is invalid"
        );
        assert_eq!(
            error_message(r#"{"error":"invalid_token","error_description":"revoked"}"#),
            "invalid_token: revoked"
        );
        assert_eq!(error_message("<html>oops</html>"), "<html>oops</html>");
        assert_eq!(error_message(""), "(empty answer)");
    }

    #[test]
    fn the_idempotency_key_is_relied_on_well_within_its_hour() {
        let queued = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert!(within_window(queued, queued + TimeDelta::minutes(49)));
        assert!(!within_window(queued, queued + TimeDelta::minutes(50)));
        assert!(!within_window(queued, queued + TimeDelta::days(3)));
    }

    #[test]
    fn statuses_match_on_their_links_or_card() {
        let url = "https://example.org/en/projects/a?x=1&y=2";
        let status = |content: &str, card: Option<&str>| ListedStatus {
            id: "1".into(),
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            url: None,
            content: content.into(),
            card: card.map(|u| Card {
                url: Some(u.into()),
            }),
        };
        let linked = r#"<p>New <a href="https://example.org/en/projects/a?x=1&amp;y=2" rel="nofollow"><span class="invisible">https://</span>example.org/en/projects/a?x=1&amp;y=2</a></p>"#;
        assert!(status(linked, None).links_to(url));
        assert!(status("<p>text only</p>", Some(url)).links_to(url));
        // A longer URL that starts the same is another entry.
        let other = r#"<a href="https://example.org/en/projects/a?x=1&amp;y=23">"#;
        assert!(!status(other, None).links_to(url));
        assert!(
            !status("<p>https://example.org/en/projects/a?x=1&amp;y=2</p>", None).links_to(url)
        );
    }

    #[test]
    fn max_characters_is_validated() {
        let mut config: MastodonConfig = toml::from_str(
            r#"
            base_url = "https://mastodon.example"
            access_token = { env = "CRIER_MASTODON_TOKEN" }
            "#,
        )
        .unwrap();
        assert_eq!(config.max_characters, 500);
        assert!(config.validate().is_ok());
        config.max_characters = 20;
        assert_eq!(config.validate().unwrap_err().0, "max_characters");
    }
}

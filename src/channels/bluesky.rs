//! Bluesky: a session from handle + app password, then `com.atproto.repo.createRecord` of an
//! `app.bsky.feed.post` with link and tag facets and a link card.
//!
//! API: <https://docs.bsky.app/docs/advanced-guides/posts>,
//! <https://docs.bsky.app/docs/api/com-atproto-repo-create-record>
//!
//! createRecord is not idempotent, so each delivery gets a record key of its own (a TID made
//! from a stamp the state never issues twice, see [`tid`]) that the engine keeps with the
//! post: after an attempt with an unknown outcome, `recover` asks
//! `com.atproto.repo.getRecord` whether the post exists before creating it. Released PDS
//! versions answer the creation of an existing record with a 500 (others with 409
//! `RecordAlreadyExists`), so such answers are also checked with getRecord before they count as
//! failures. A record found under the key counts as this post only if it is this post (same
//! text and link): anything else under the key is another post, and this one gets a new key.
//!
//! An entry's image is uploaded as a blob (`com.atproto.repo.uploadBlob`, at most 1,000,000
//! bytes) before the record is created, and shown as the channel's `image` says: `"card"`
//! (the default) makes it the link card's thumbnail (`app.bsky.embed.external`), which keeps
//! the card that leads readers to the entry; `"attach"` shows it full size with its alt text
//! (`app.bsky.embed.images`), and the link stays clickable in the text (a post has one
//! embed). The engine keeps the blob with the delivery, and a PDS forgets a blob no record
//! uses within minutes, after which it is uploaded again (blobs are content-addressed, so the
//! same bytes give the same blob).

pub mod facets;
mod session;
mod tid;
mod xrpc;

use async_trait::async_trait;
use chrono::SecondsFormat;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use unicode_segmentation::UnicodeSegmentation;

use self::session::{Renewal, Session};
use self::xrpc::{Answer, NETWORK};
use super::media::{self, Limits};
use super::{Attempt, Channel, ChannelContext, ImageMode, Media, Post, PostError, Published};
use crate::secrets::SecretRef;
use crate::values::HttpUrl;

/// Settings of a Bluesky channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    /// The PDS (or entryway) URL.
    #[serde(default = "default_base_url")]
    pub base_url: HttpUrl,
    /// The account's handle (`alliance.bsky.social`) or DID.
    pub handle: String,
    /// An app password (Settings → App passwords), never the account password.
    pub app_password: SecretRef,
    /// The entry's image: `"card"` (the link card's thumbnail, the default), `"attach"`
    /// (shown full size with its alt text) or `"none"`.
    #[serde(default = "default_image")]
    pub image: ImageMode,
}

fn default_image() -> ImageMode {
    ImageMode::Card
}

fn default_base_url() -> HttpUrl {
    HttpUrl::parse("https://bsky.social").expect("a static URL parses")
}

impl BlueskyConfig {
    /// The secrets of this channel, by config key.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut SecretRef)> {
        vec![("app_password", &mut self.app_password)]
    }

    /// Checks values serde accepted: `(key, message)` on error.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.handle.trim().is_empty() {
            return Err(("handle".into(), "must not be empty".into()));
        }
        Ok(())
    }
}

/// The collection of posts.
const POSTS: &str = "app.bsky.feed.post";
/// What Bluesky takes as an image: 1,000,000 bytes (the `app.bsky.embed.images` and
/// `app.bsky.embed.external` lexicons' `maxSize`); the app shows at most 2000 pixels a side.
const IMAGE_LIMITS: Limits = Limits {
    max_bytes: 1_000_000,
    types: &["image/jpeg", "image/png", "image/webp"],
    max_side: 2000,
};

/// How long crier counts on a PDS keeping a blob no record uses yet: uploadBlob's
/// documentation says minutes.
const BLOB_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
/// Most graphemes in a post's text (the lexicon's `maxGraphemes`).
const MAX_GRAPHEMES: usize = 300;
/// Most UTF-8 bytes in a post's text (the lexicon's `maxLength`): a PDS refuses a longer one
/// with "string too big", whatever its graphemes.
const MAX_BYTES: usize = 3000;

/// A post text's length in both units the `app.bsky.feed.post` lexicon limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLength {
    /// Extended grapheme clusters (what a reader sees as characters).
    pub graphemes: usize,
    /// UTF-8 bytes.
    pub bytes: usize,
}

impl TextLength {
    /// The length of `text`.
    pub fn of(text: &str) -> Self {
        TextLength {
            graphemes: text.graphemes(true).count(),
            bytes: text.len(),
        }
    }

    /// Whether a text of this length fits both of Bluesky's limits.
    pub fn fits(self) -> bool {
        self.graphemes <= MAX_GRAPHEMES && self.bytes <= MAX_BYTES
    }

    /// The one number the fitter compares with [`MAX_GRAPHEMES`]: the graphemes, or the bytes
    /// scaled to graphemes (a tenth, rounded up) when they are more. It is at most 300
    /// exactly when both limits hold, so the template's fitter, which knows a single
    /// limit and count, keeps a post within both; and it only grows as text is added, which
    /// its search for the longest fitting summary relies on. The alternative, a second
    /// limit in the `Channel` trait, would change every channel and the fitter for the one
    /// network that has two.
    pub fn for_fitting(self) -> usize {
        self.graphemes
            .max(self.bytes.div_ceil(MAX_BYTES / MAX_GRAPHEMES))
    }
}

/// A Bluesky channel.
pub struct Bluesky {
    name: String,
    config: BlueskyConfig,
    context: ChannelContext,
    /// Serialises session creation and renewal within this process, so that concurrent
    /// requests finding an expired token refresh it once.
    session_lock: tokio::sync::Mutex<()>,
}

impl Bluesky {
    /// Builds the channel.
    pub fn new(name: String, config: BlueskyConfig, context: ChannelContext) -> Self {
        Bluesky {
            name,
            config,
            context,
            session_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn xrpc(&self, method: &str) -> String {
        format!(
            "{}/xrpc/{method}",
            self.config.base_url.trim_end_matches('/')
        )
    }

    /// Sends the request `build` makes for the session, renewing the session once when the
    /// PDS refuses its token. Only transport and session failures are errors; the caller reads
    /// every other answer.
    async fn call(
        &self,
        build: impl Fn(&Session) -> reqwest::RequestBuilder,
    ) -> Result<(Session, Answer), PostError> {
        let mut session = self.session().await?;
        let mut renewed = false;
        loop {
            let answer = xrpc::send(build(&session)).await?;
            if renewed || answer.status.is_success() {
                return Ok((session, answer));
            }
            let renewal = match answer.error().as_deref() {
                Some("ExpiredToken") => Renewal::Refresh,
                Some("InvalidToken" | "AuthenticationRequired") => Renewal::Create,
                _ if answer.status == StatusCode::UNAUTHORIZED => Renewal::Create,
                _ => return Ok((session, answer)),
            };
            session = self.renew(&session, renewal).await?;
            renewed = true;
        }
    }

    /// Creates the post's record.
    async fn create(&self, post: &Post, rkey: &str) -> Result<Attempt, PostError> {
        const METHOD: &str = "com.atproto.repo.createRecord";
        let blob = post.media.as_ref().and_then(|m| {
            let blob = serde_json::from_str::<Value>(&m.id).ok()?;
            Some(Blob { blob, size: m.size })
        });
        let record = record(post, blob, self.config.image);
        let (session, answer) = self
            .call(|session| {
                self.context
                    .http
                    .post(self.xrpc(METHOD))
                    .bearer_auth(&session.access_jwt)
                    .json(&json!({
                        "repo": session.did,
                        "collection": POSTS,
                        "rkey": rkey,
                        "record": record,
                    }))
            })
            .await?;
        if answer.status.is_success() {
            #[derive(Deserialize)]
            struct Created {
                uri: String,
            }
            let created: Created = answer.json(METHOD)?;
            let published = published(&session.did, rkey, Some(created.uri));
            return Ok(Attempt::Published(published));
        }
        let exists = answer.status == StatusCode::CONFLICT
            || answer.error().as_deref() == Some("RecordAlreadyExists");
        if !exists && !answer.status.is_server_error() {
            return Err(answer.classify(&self.name, METHOD));
        }
        // The record may exist: from an earlier attempt (a PDS answers 500 or 409 to a second
        // creation), or from this one if the PDS failed after writing it.
        let failure = match answer.classify(&self.name, METHOD) {
            PostError::Reject { reason } => PostError::Retry {
                reason,
                after: None,
            },
            other => other,
        };
        match self.lookup(rkey).await {
            Ok(Some(found)) if found.is(post) => {
                tracing::info!(
                    channel = %self.name,
                    rkey,
                    "createRecord failed but the post exists: {}",
                    answer.describe()
                );
                Ok(Attempt::Published(found.published))
            }
            Ok(Some(_)) => Ok(self.key_taken(post, rkey)),
            Ok(None) | Err(_) => Err(failure),
        }
    }

    /// What to do when the record under `rkey` is not `post`. A PDS never replaces a record
    /// on createRecord, so while another record holds the key, this post was not created under
    /// it, whatever an earlier attempt's fate: creating it under a fresh key cannot make a
    /// duplicate. Looking for it elsewhere would not find it either: every key this delivery
    /// used before was recorded with its post and checked the same way. Posting again under
    /// this key would fail forever, and counting the other post as this one (what crier once
    /// did) would lose this one. The engine records the fresh key before sending under it, so
    /// an attempt interrupted after that looks the post up under the fresh key.
    fn key_taken(&self, post: &Post, rkey: &str) -> Attempt {
        let reason = format!(
            "{NETWORK}: record key {rkey} holds another post than delivery {}'s",
            post.delivery_id
        );
        tracing::warn!(channel = %self.name, entry_id = %post.entry_id, rkey, "{reason}; posting under a new key");
        Attempt::KeyTaken { reason }
    }

    /// The record under `rkey`, if there is one.
    async fn lookup(&self, rkey: &str) -> Result<Option<Found>, PostError> {
        const METHOD: &str = "com.atproto.repo.getRecord";
        let (session, answer) = self
            .call(|session| {
                self.context
                    .http
                    .get(self.xrpc(METHOD))
                    .bearer_auth(&session.access_jwt)
                    .query(&[
                        ("repo", session.did.as_str()),
                        ("collection", POSTS),
                        ("rkey", rkey),
                    ])
            })
            .await?;
        if answer.status.is_success() {
            #[derive(Deserialize)]
            struct Record {
                uri: Option<String>,
                #[serde(default)]
                value: Value,
            }
            let found: Record = answer.json(METHOD)?;
            return Ok(Some(Found {
                published: published(&session.did, rkey, found.uri),
                record: found.value,
            }));
        }
        if answer.error().as_deref() == Some("RecordNotFound") {
            return Ok(None);
        }
        // Whether the post exists is unknown, and creating it could make a duplicate.
        Err(match answer.classify(&self.name, METHOD) {
            PostError::Reject { reason } => PostError::Retry {
                reason: format!("{reason} (cannot tell whether the post exists)"),
                after: None,
            },
            other => other,
        })
    }

    /// Uploads `file` as a blob: the blob reference, as JSON.
    async fn upload_blob(&self, file: media::ImageFile) -> Result<String, PostError> {
        const METHOD: &str = "com.atproto.repo.uploadBlob";
        let (_, answer) = self
            .call(|session| {
                self.context
                    .http
                    .post(self.xrpc(METHOD))
                    .bearer_auth(&session.access_jwt)
                    .header(CONTENT_TYPE, file.mime)
                    .body(file.bytes.clone())
            })
            .await?;
        if !answer.status.is_success() {
            return Err(answer.classify(&self.name, METHOD));
        }
        #[derive(Deserialize)]
        struct Uploaded {
            blob: Value,
        }
        Ok(answer.json::<Uploaded>(METHOD)?.blob.to_string())
    }
}

/// An uploaded image: its blob reference, and its size when known.
struct Blob {
    blob: Value,
    size: Option<media::Size>,
}

/// A record read with getRecord.
struct Found {
    /// Its names, as for a post created under its key.
    published: Published,
    /// The record itself.
    record: Value,
}

impl Found {
    /// Whether the record is `post`: its text and its link card's URL (none without a URL)
    /// are the post's. Those two tell announcements apart: each entry has its own URL, and
    /// the text is the one kept with the delivery, which no later edit of the entry changes.
    fn is(&self, post: &Post) -> bool {
        let text = self.record.get("text").and_then(Value::as_str);
        let card = self
            .record
            .pointer("/embed/external/uri")
            .and_then(Value::as_str);
        // A post showing its image full size has no card: its link is a facet of the text.
        let facet_links = self
            .record
            .get("facets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("features")?.as_array())
            .flatten()
            .filter_map(|feature| feature.get("uri")?.as_str());
        let url = Some(post.url.as_str()).filter(|u| !u.is_empty());
        text == Some(post.text.as_str())
            && match (url, card) {
                (Some(url), Some(card)) => card == url,
                (Some(url), None) => facet_links.into_iter().any(|l| l == url),
                (None, card) => card.is_none(),
            }
    }
}

/// The record key `post` is stored under: the one kept with it, or for a delivery an older
/// crier attempted before keys were kept, the one that crier derived.
fn record_key(post: &Post) -> String {
    post.key
        .clone()
        .unwrap_or_else(|| tid::for_delivery(post.queued_at, post.delivery_id))
}

/// The published post with record key `rkey` in `did`'s repository.
fn published(did: &str, rkey: &str, uri: Option<String>) -> Published {
    Published {
        remote_id: Some(uri.unwrap_or_else(|| format!("at://{did}/{POSTS}/{rkey}"))),
        remote_url: Some(format!("https://bsky.app/profile/{did}/post/{rkey}")),
    }
}

/// The `app.bsky.feed.post` record of `post`. It depends on the post alone (and the uploaded
/// image's `blob`, shown as `mode` says), so every attempt of a delivery writes the same
/// record.
fn record(post: &Post, blob: Option<Blob>, mode: ImageMode) -> Value {
    let mut record = json!({
        "$type": POSTS,
        "text": post.text,
        "createdAt": post.queued_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    });
    if !post.language.is_empty() {
        record["langs"] = json!([post.language]);
    }
    let facets = facets::facets(&post.text);
    if !facets.is_empty() {
        record["facets"] = Value::Array(facets);
    }
    let alt = post
        .image
        .as_ref()
        .map(|i| i.alt.as_str())
        .unwrap_or_default();
    match (blob, mode) {
        (Some(Blob { blob, size }), ImageMode::Attach) => {
            let mut image = json!({"image": blob, "alt": alt});
            if let Some(size) = size {
                image["aspectRatio"] = json!({"width": size.width, "height": size.height});
            }
            record["embed"] = json!({"$type": "app.bsky.embed.images", "images": [image]});
        }
        (blob, _) => embed_card(
            &mut record,
            post,
            blob.filter(|_| mode == ImageMode::Card).map(|b| b.blob),
        ),
    }
    record
}

/// The link card of `post`, with `thumb` as its image.
fn embed_card(record: &mut Value, post: &Post, thumb: Option<Value>) {
    if !post.url.is_empty() {
        let mut external = json!({
            "uri": post.url,
            "title": post.title,
            "description": post.summary,
        });
        if let Some(thumb) = thumb {
            external["thumb"] = thumb;
        }
        record["embed"] = json!({"$type": "app.bsky.embed.external", "external": external});
    }
}

#[async_trait]
impl Channel for Bluesky {
    fn name(&self) -> &str {
        &self.name
    }

    fn max_length(&self) -> usize {
        MAX_GRAPHEMES
    }

    fn count(&self, text: &str) -> usize {
        TextLength::of(text).for_fitting()
    }

    async fn upload(&self, post: &Post) -> Result<Option<Media>, PostError> {
        // A post without a link has no card to show a thumbnail in.
        let shown = match self.config.image {
            ImageMode::Attach => true,
            ImageMode::Card => !post.url.is_empty(),
            ImageMode::None => false,
        };
        let Some(image) = post.image.as_ref().filter(|_| shown) else {
            return Ok(None);
        };
        let Some(file) =
            media::load_or_leave_off(&self.context.http, &self.name, post, image, &IMAGE_LIMITS)
                .await
        else {
            return Ok(None);
        };
        let uploaded = Media::new(String::new(), chrono::Utc::now(), BLOB_LIFETIME).of(&file);
        match self.upload_blob(file).await {
            Ok(blob) => Ok(Some(Media {
                id: blob,
                ..uploaded
            })),
            // The PDS refused this image: the post goes without.
            Err(PostError::Reject { reason }) => {
                media::left_off(&self.name, post, &reason);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn publish(&self, post: &Post) -> Result<Published, PostError> {
        published_or_retry(self.attempt(post, false).await)
    }

    async fn recover(&self, post: &Post) -> Result<Published, PostError> {
        published_or_retry(self.attempt(post, true).await)
    }

    fn new_key(&self, stamp: u64) -> Option<String> {
        Some(tid::from_stamp(stamp))
    }

    async fn attempt(&self, post: &Post, uncertain: bool) -> Result<Attempt, PostError> {
        let rkey = record_key(post);
        if !uncertain {
            return self.create(post, &rkey).await;
        }
        match self.lookup(&rkey).await? {
            Some(found) if found.is(post) => {
                tracing::info!(channel = %self.name, rkey, "the post already exists");
                Ok(Attempt::Published(found.published))
            }
            Some(_) => Ok(self.key_taken(post, &rkey)),
            None => self.create(post, &rkey).await,
        }
    }
}

/// A taken key as a failure, for callers of `publish` and `recover` that cannot give the post
/// a new key: it is not posted, and is not lost either.
fn published_or_retry(attempt: Result<Attempt, PostError>) -> Result<Published, PostError> {
    match attempt? {
        Attempt::Published(published) => Ok(published),
        Attempt::KeyTaken { reason } => Err(PostError::Retry {
            reason,
            after: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Image;
    use chrono::DateTime;

    #[test]
    fn the_settings_name_their_secret_and_refuse_an_empty_handle() {
        let mut config = BlueskyConfig {
            base_url: default_base_url(),
            handle: "alliance.bsky.social".into(),
            app_password: SecretRef::Env("BSKY_APP_PASSWORD".into()),
            image: default_image(),
        };
        // Config loading resolves (and `check` reads) every secret this names.
        let secrets: Vec<&str> = config.secrets_mut().into_iter().map(|(k, _)| k).collect();
        assert_eq!(secrets, ["app_password"]);
        assert_eq!(config.validate(), Ok(()));
        config.handle = "  ".into();
        assert_eq!(
            config.validate(),
            Err(("handle".into(), "must not be empty".into()))
        );
    }

    fn post() -> Post {
        Post {
            delivery_id: 7,
            queued_at: DateTime::parse_from_rfc3339("2025-06-01T12:00:00.123456Z")
                .unwrap()
                .to_utc(),
            entry_id: "fete".into(),
            text: "Fête 🎉 #Garden\n\nhttps://example.org/fete/".into(),
            url: "https://example.org/fete/".into(),
            title: "Fête".into(),
            summary: "A garden party.".into(),
            language: "fr".into(),
            image: Some(Image {
                url: "https://example.org/fete.jpg".into(),
                alt: "Des tables dans un jardin".into(),
                path: None,
            }),
            media: None,
            key: Some("3l25zusnsfck2".into()),
        }
    }

    #[test]
    fn a_found_record_is_this_post_only_with_its_text_and_link() {
        let found = |record: Value| Found {
            published: published("did:plc:abc", "3l25zusnsfck2", None),
            record,
        };
        let this = record(&post(), None, ImageMode::Card);
        assert!(found(this.clone()).is(&post()));
        // Another entry's post under the same key, as when two deliveries shared one.
        let other = record(
            &Post {
                text: "Other https://example.org/other/".into(),
                url: "https://example.org/other/".into(),
                ..post()
            },
            None,
            ImageMode::Card,
        );
        assert!(!found(other).is(&post()));
        // Same link, other text (an edited entry rendered again): not what was sent.
        let mut edited = this.clone();
        edited["text"] = json!("Fête (updated) https://example.org/fete/");
        assert!(!found(edited).is(&post()));
        // Same text, other card.
        let mut recarded = this;
        recarded["embed"]["external"]["uri"] = json!("https://example.org/else/");
        assert!(!found(recarded).is(&post()));
        assert!(!found(json!({})).is(&post()));
        // A post without URL has no card.
        let bare = record_without_extras();
        let plain = Post {
            text: "plain".into(),
            url: String::new(),
            ..post()
        };
        assert!(found(bare).is(&plain));
    }

    #[test]
    fn the_kept_key_is_used_and_older_deliveries_keep_their_derived_one() {
        assert_eq!(record_key(&post()), "3l25zusnsfck2");
        let older = Post {
            media: None,
            key: None,
            ..post()
        };
        assert_eq!(
            record_key(&older),
            tid::for_delivery(older.queued_at, older.delivery_id)
        );
    }

    #[test]
    fn records_carry_facets_languages_and_a_card() {
        let blob = json!({"$type": "blob", "ref": {"$link": "bafkrei"}, "mimeType": "image/jpeg", "size": 3});
        let record = record(
            &post(),
            Some(Blob {
                blob: blob.clone(),
                size: None,
            }),
            ImageMode::Card,
        );
        assert_eq!(record["$type"], POSTS);
        assert_eq!(record["createdAt"], "2025-06-01T12:00:00.123Z");
        assert_eq!(record["langs"], json!(["fr"]));
        let link = &record["facets"][1];
        assert_eq!(link["index"], json!({"byteStart": 20, "byteEnd": 45}));
        assert_eq!(record["facets"][0]["features"][0]["tag"], "Garden");
        assert_eq!(
            record["embed"],
            json!({"$type": "app.bsky.embed.external", "external": {
                "uri": "https://example.org/fete/",
                "title": "Fête",
                "description": "A garden party.",
                "thumb": blob,
            }})
        );
        let bare = record_without_extras();
        assert!(bare.get("langs").is_none() && bare.get("facets").is_none());
        assert!(bare.get("embed").is_none());
    }

    #[test]
    fn an_attached_image_replaces_the_card_and_the_link_is_found_in_the_facets() {
        let blob = json!({"$type": "blob", "ref": {"$link": "bafkrei"}, "mimeType": "image/jpeg", "size": 3});
        let size = Some(media::Size {
            width: 1200,
            height: 800,
        });
        let uploaded = Blob {
            blob: blob.clone(),
            size,
        };
        let attached = record(&post(), Some(uploaded), ImageMode::Attach);
        assert_eq!(
            attached["embed"],
            json!({"$type": "app.bsky.embed.images", "images": [{
                "image": blob, "alt": "Des tables dans un jardin",
                "aspectRatio": {"width": 1200, "height": 800},
            }]})
        );
        let found = Found {
            published: published("did:plc:abc", "3l25zusnsfck2", None),
            record: attached,
        };
        assert!(found.is(&post()));
        // Without an upload the card stays, without image; `none` never shows one.
        let card = record(&post(), None, ImageMode::Attach);
        assert_eq!(card["embed"]["$type"], "app.bsky.embed.external");
        let none = record(&post(), Some(Blob { blob, size: None }), ImageMode::None);
        assert!(none["embed"]["external"].get("thumb").is_none());
    }

    fn record_without_extras() -> Value {
        record(
            &Post {
                text: "plain".into(),
                url: String::new(),
                language: String::new(),
                ..post()
            },
            None,
            ImageMode::Card,
        )
    }

    #[test]
    fn the_fitting_length_holds_both_limits() {
        let ascii = TextLength::of(&"a".repeat(300));
        assert_eq!((ascii.for_fitting(), ascii.fits()), (300, true));
        // At most 300 exactly when both limits hold.
        for (graphemes, bytes) in [(300, 3000), (1, 3000), (300, 2991)] {
            let length = TextLength { graphemes, bytes };
            assert_eq!(length.for_fitting(), 300, "{length:?}");
            assert!(length.fits());
        }
        for (graphemes, bytes) in [(301, 301), (1, 3001), (299, 3009)] {
            let length = TextLength { graphemes, bytes };
            assert!(length.for_fitting() > 300, "{length:?}");
            assert!(!length.fits());
        }
    }

    /// Regression: a title of family emoji is 200 graphemes but 5,000 bytes, which crier
    /// counted as fitting and the PDS refused ("string too big (maximum 3000, got …)").
    #[test]
    fn a_post_of_family_emoji_is_fitted_to_3000_bytes() {
        let channel = Bluesky::new(
            "bsky".into(),
            BlueskyConfig {
                base_url: default_base_url(),
                handle: "alliance.bsky.social".into(),
                app_password: SecretRef::Env("BSKY_PASSWORD".into()),
                image: default_image(),
            },
            ChannelContext {
                http: reqwest::Client::new(),
                memory: std::sync::Arc::new(crate::channels::InMemory::default()),
            },
        );
        let family = "👨‍👩‍👧‍👦";
        let mut entry = crate::testing::entry("fete", "2025-06-01T12:00:00Z");
        entry.title = "Fête".into();
        entry.summary = vec![family; 200].join(" ");
        let fitted = crate::channels::template::render(
            "{{ title }}: {{ summary }}",
            &entry,
            channel.max_length(),
            &|text| channel.count(text),
        )
        .unwrap();
        let length = TextLength::of(&fitted.text);
        assert!(fitted.shortened);
        assert!(length.fits(), "{length:?}");
        assert!(
            length.graphemes < 300,
            "the bytes, not the graphemes, limited it"
        );
        assert!(
            length.bytes > 2900,
            "{length:?}: fitted to the limit, not far below"
        );
    }

    #[test]
    fn published_names_the_post() {
        let p = published("did:plc:abc", "3l25zusnsfck2", None);
        assert_eq!(
            p.remote_id.as_deref(),
            Some("at://did:plc:abc/app.bsky.feed.post/3l25zusnsfck2")
        );
        assert_eq!(
            p.remote_url.as_deref(),
            Some("https://bsky.app/profile/did:plc:abc/post/3l25zusnsfck2")
        );
    }
}

//! Mastodon: `POST /api/v1/statuses` with a user access token.
//!
//! API: <https://docs.joinmastodon.org/methods/statuses/#create>
//!
//! Every request carries an `Idempotency-Key` derived from the delivery: Mastodon answers a
//! repeated key with the status it already created (it remembers keys for about an hour), so
//! [`Channel::recover`] keeps the trait's default and simply publishes again.

use async_trait::async_trait;
use chrono::Utc;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use super::http::{classify_status, excerpt, retry_after, transport_error};
use super::{Channel, ChannelContext, Post, PostError, Published};
use crate::secrets::SecretRef;
use crate::values::HttpUrl;

/// How Mastodon counts any URL, whatever its length (`StatusLengthValidator`).
pub const URL_LENGTH: usize = 23;

/// Settings of a Mastodon channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    /// The instance's URL, e.g. `https://mastodon.social`.
    pub base_url: HttpUrl,
    /// An access token with the `write:statuses` scope.
    #[serde(skip_serializing)]
    pub access_token: SecretRef,
    /// `public`, `unlisted`, `private` or `direct`.
    #[serde(default = "default_visibility")]
    pub visibility: String,
    /// The instance's post length limit (500 on most instances; the instance publishes its
    /// own as `configuration.statuses.max_characters` at `/api/v2/instance`).
    #[serde(default = "default_max_characters")]
    pub max_characters: usize,
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

    fn statuses_url(&self) -> String {
        format!(
            "{}/api/v1/statuses",
            self.config.base_url.trim_end_matches('/')
        )
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
                     write:statuses scope in Preferences → Development on {}, put it where \
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

    async fn publish(&self, post: &Post) -> Result<Published, PostError> {
        // Read at each post so a renewed token is picked up without a restart.
        let token = self
            .config
            .access_token
            .load()
            .map_err(|e| PostError::Pause {
                reason: format!(
                    "mastodon: cannot read access_token: {e}. Once it is readable, run `crier retry --channel {}`",
                    self.name
                ),
            })?;
        let body = NewStatus {
            status: &post.text,
            language: language(&post.language),
            visibility: &self.config.visibility,
        };
        let url = self.statuses_url();
        let response = self
            .context
            .http
            .post(&url)
            .bearer_auth(token.expose())
            .header("Idempotency-Key", idempotency_key(post))
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error("mastodon", &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| transport_error("mastodon", &e))?;
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

/// Length of `text` as Mastodon's `StatusLengthValidator` counts it: extended grapheme
/// clusters (`each_grapheme_cluster.size`), after every `http://` or `https://` URL its
/// extractor recognises is replaced by 23 characters.
///
/// Mastodon also counts a mention `@user@example.social` as `@user`; that is not done here,
/// so a text with mentions is counted longer than it is, never shorter.
pub fn count(text: &str) -> usize {
    let mut countable = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in urls(text) {
        countable.push_str(&text[last..start]);
        countable.extend(std::iter::repeat_n('x', URL_LENGTH));
        last = end;
    }
    countable.push_str(&text[last..]);
    countable.graphemes(true).count()
}

/// Byte ranges of the URLs Mastodon's extractor (twitter-text's, with the protocol required)
/// finds in `text`: a protocol not glued to a word, a domain with a top-level domain, an
/// optional port, then a path and query that do not end on punctuation (`/foo.` leaves the
/// period out) or on an unbalanced `)`.
fn urls(text: &str) -> Vec<(usize, usize)> {
    // ASCII lowercasing keeps every byte offset.
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("http") {
        let start = from + at;
        from = start + 4;
        let host_start = if lower[start..].starts_with("https://") {
            start + 8
        } else if lower[start..].starts_with("http://") {
            start + 7
        } else {
            continue;
        };
        if text[..start].chars().next_back().is_some_and(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '@' | '＠' | '$' | '#' | '＃')
        }) {
            continue;
        }
        if let Some(end) = url_end(text, host_start) {
            found.push((start, end));
            from = end;
        }
    }
    found
}

/// Where the URL whose domain starts at `host_start` ends, if there is a valid domain.
fn url_end(text: &str, host_start: usize) -> Option<usize> {
    let rest = &text[host_start..];
    let host_len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    let host = rest[..host_len].trim_end_matches(['.', '-']);
    if !valid_host(host) {
        return None;
    }
    let mut end = host.len();
    if end < host_len {
        // `https://example.org.` ends before the period.
        return Some(host_start + end);
    }
    if let Some(port) = rest[end..].strip_prefix(':') {
        let digits = port
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(port.len());
        if digits > 0 {
            end += 1 + digits;
        }
    }
    if rest[end..].starts_with(['/', '?', '#']) {
        let tail = &rest[end..];
        let len = tail.find(|c: char| !is_path_char(c)).unwrap_or(tail.len());
        end += trim_path_end(&tail[..len]).len();
    }
    Some(host_start + end)
}

/// At least two labels, none empty, and a top-level domain of letters (or punycode).
fn valid_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
        && (tld.starts_with("xn--")
            || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)))
}

/// Latin and Cyrillic letters, which twitter-text accepts in paths besides ASCII.
fn is_latin_or_cyrillic(c: char) -> bool {
    c.is_alphabetic()
        && matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' | '\u{0400}'..='\u{052F}')
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!*';:=+,.$/%#[]-_~&|@()?".contains(c)
        || c == '\u{2013}'
        || is_latin_or_cyrillic(c)
}

/// Drops the trailing characters a URL may not end on.
fn trim_path_end(mut path: &str) -> &str {
    while let Some(last) = path.chars().next_back() {
        let keep = last.is_ascii_alphanumeric()
            || is_latin_or_cyrillic(last)
            || matches!(last, '/' | '=' | '_' | '#' | '+' | '-' | '&')
            || (last == ')' && path.matches('(').count() >= path.matches(')').count());
        if keep {
            break;
        }
        path = &path[..path.len() - last.len_utf8()];
    }
    path
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
        assert_eq!(count("«https://example.org/»"), 1 + 23 + 1);
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
    fn urls_followed_by_text_in_other_scripts_stop_there() {
        assert_eq!(count("見てhttps://example.jp/記事"), 2 + 23 + 2);
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

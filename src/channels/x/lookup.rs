//! Looking for the post of an earlier attempt among the account's own recent posts, which
//! `recover` does past X's duplicate window: the account's id from `GET /2/users/me` (kept in
//! the channel's memory), then `GET /2/users/:id/tweets` since the delivery was queued,
//! matching the entry's URL against each post's expanded links. X bills these reads;
//! `lookup = false` turns them off.

use chrono::{SecondsFormat, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::{Auth, Body, Reply, X, credentials_refused, published, rate_limit_reset};
use crate::channels::http::{classify_status, excerpt};
use crate::channels::{Post, PostError, Published};

/// A post created before its delivery was queued is not the delivery's (the margin covers
/// clock skew between this host and X).
const LOOKUP_SKEW: TimeDelta = TimeDelta::minutes(10);

/// Posts per page of the timeline (the API's maximum) and pages read at most; the look-up asks
/// only for posts since the delivery was queued, which a crier account rarely has 500 of.
const LOOKUP_PAGE_SIZE: usize = 100;
const LOOKUP_PAGES: usize = 5;

/// Memory key of the account's user id, stored as `<owner>:<id>` (see [`X::owner`]).
const USER_ID: &str = "user_id";

/// `GET /2/users/me`.
#[derive(Deserialize)]
struct Me {
    data: MeData,
}

#[derive(Deserialize)]
struct MeData {
    id: String,
}

/// A page of `GET /2/users/:id/tweets` with `tweet.fields=entities`.
#[derive(Deserialize)]
struct Timeline {
    #[serde(default)]
    data: Vec<Tweet>,
    #[serde(default)]
    meta: TimelineMeta,
}

#[derive(Deserialize, Default)]
struct TimelineMeta {
    next_token: Option<String>,
}

#[derive(Deserialize)]
struct Tweet {
    id: String,
    #[serde(default)]
    entities: Entities,
}

#[derive(Deserialize, Default)]
struct Entities {
    #[serde(default)]
    urls: Vec<UrlEntity>,
}

/// A link of a post: `url` is X's t.co link, `expanded_url` the URL as written.
#[derive(Deserialize)]
struct UrlEntity {
    expanded_url: Option<String>,
    unwound_url: Option<String>,
}

impl Tweet {
    /// Whether the post links to `url` (the text only holds t.co links).
    fn links_to(&self, url: &str) -> bool {
        self.entities.urls.iter().any(|u| {
            [&u.expanded_url, &u.unwound_url]
                .into_iter()
                .flatten()
                .any(|candidate| same_url(candidate, url))
        })
    }
}

/// Whether two URLs are the same once normalised (case of scheme and host, default port).
fn same_url(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl X {
    /// The post of `post` among the account's posts since the delivery was queued, if it is
    /// there.
    pub(super) async fn find(&self, post: &Post) -> Result<Option<Published>, PostError> {
        let user = self.user_id().await?;
        let mut url = self.endpoint(&format!("/2/users/{user}/tweets"))?;
        let since = (post.queued_at - LOOKUP_SKEW).to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut next: Option<String> = None;
        for _ in 0..LOOKUP_PAGES {
            {
                let mut query = url.query_pairs_mut();
                query
                    .clear()
                    .append_pair("max_results", &LOOKUP_PAGE_SIZE.to_string())
                    .append_pair("start_time", &since)
                    .append_pair("tweet.fields", "created_at,entities")
                    .append_pair("exclude", "retweets");
                if let Some(token) = &next {
                    query.append_pair("pagination_token", token);
                }
            }
            let timeline: Timeline = self.read(&url).await?;
            if let Some(found) = timeline.data.iter().find(|t| t.links_to(&post.url)) {
                return Ok(Some(published(found.id.clone())));
            }
            match timeline.meta.next_token {
                Some(token) => next = Some(token),
                None => return Ok(None),
            }
        }
        tracing::warn!(
            channel = %self.name,
            entry_id = %post.entry_id,
            "x: the post was not among the account's {} latest; sending it",
            LOOKUP_PAGES * LOOKUP_PAGE_SIZE
        );
        Ok(None)
    }

    /// The account's user id: from memory, else from `GET /2/users/me` (then remembered). The
    /// memory keeps whose id it is, so other credentials look it up again.
    async fn user_id(&self) -> Result<String, PostError> {
        let owner = self.owner()?;
        let stored = self.context.memory.get(USER_ID);
        if let Some((whose, id)) = stored.as_deref().and_then(|s| s.split_once(':'))
            && whose == owner
        {
            return Ok(id.to_owned());
        }
        let me: Me = self.read(&self.endpoint("/2/users/me")?).await?;
        let id = me.data.id;
        // The id goes into a URL path: X's ids are digits.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(PostError::Retry {
                reason: format!(
                    "x: /2/users/me answered a user id {:?}, which is not X's (cannot tell whether the post exists)",
                    excerpt(&id)
                ),
                after: None,
            });
        }
        self.context.memory.set(USER_ID, &format!("{owner}:{id}"));
        Ok(id)
    }

    /// Whose user id is remembered: a hash of the API and the configured account credential
    /// (the OAuth 1.0a access token, or the OAuth 2.0 refresh token the chain started from).
    fn owner(&self) -> Result<String, PostError> {
        let credential = match (&self.config.oauth1, &self.config.oauth2) {
            (Some(o), _) => &o.access_token,
            (None, Some(o)) => &o.refresh_token,
            (None, None) => return Err(self.no_credentials()),
        };
        let secret = credential.load().map_err(|e| PostError::Pause {
            reason: format!("x: {e}"),
        })?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.base.as_bytes());
        hasher.update(b"\n");
        hasher.update(secret.expose().as_bytes());
        Ok(hasher.finalize().to_hex()[..16].to_owned())
    }

    /// A GET of the look-up, its answer read as `T`.
    async fn read<T: DeserializeOwned>(&self, url: &Url) -> Result<T, PostError> {
        let (reply, auth) = self.send(Method::GET, url, Body::Empty).await?;
        if !reply.status.is_success() {
            return Err(self.lookup_failure(reply, auth));
        }
        serde_json::from_str(&reply.body).map_err(|e| PostError::Retry {
            reason: format!(
                "x: unexpected answer from {} ({e}): {} (cannot tell whether the post exists)",
                url.path(),
                excerpt(&reply.body)
            ),
            after: None,
        })
    }

    /// A failed look-up: whether the post exists stays unknown, so nothing is sent.
    fn lookup_failure(&self, reply: Reply, auth: Auth) -> PostError {
        let Reply {
            status,
            headers,
            body,
        } = reply;
        let channel = &self.name;
        let detail = format!("x: HTTP {status}: {}", excerpt(&body));
        match status {
            StatusCode::UNAUTHORIZED => credentials_refused(&detail, channel, auth),
            // The access level or the token's scopes do not cover reading.
            StatusCode::FORBIDDEN => PostError::Pause {
                reason: format!(
                    "{detail}: X refused to list the account's recent posts, which crier reads before sending again a post whose first attempt is older than X's duplicate window. Give the app an access level that can read posts (with OAuth 2.0, authorise the scopes tweet.read and users.read), or set `lookup = false` on this channel to send it again without looking (a repeat is then caught only while X still refuses the same text); then run `crier retry --channel {channel}`"
                ),
            },
            StatusCode::TOO_MANY_REQUESTS => PostError::Retry {
                reason: format!("{detail} (rate limited while looking for an earlier attempt)"),
                after: rate_limit_reset(&headers, Utc::now()),
            },
            _ => match classify_status("x", status, &headers, &body) {
                PostError::Reject { reason } => PostError::Retry {
                    reason: format!("{reason} (cannot tell whether the post exists)"),
                    after: None,
                },
                other => other,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(expanded: Option<&str>, unwound: Option<&str>) -> Tweet {
        Tweet {
            id: "1".into(),
            entities: Entities {
                urls: vec![UrlEntity {
                    expanded_url: expanded.map(str::to_owned),
                    unwound_url: unwound.map(str::to_owned),
                }],
            },
        }
    }

    #[test]
    fn posts_match_on_their_expanded_links() {
        let url = "https://example.org/news/repair-cafe";
        assert!(tweet(Some(url), None).links_to(url));
        assert!(tweet(Some("HTTPS://Example.org:443/news/repair-cafe"), None).links_to(url));
        assert!(tweet(Some("https://bit.ly/x"), Some(url)).links_to(url));
        assert!(!tweet(Some("https://example.org/news/repair-cafe-2"), None).links_to(url));
        assert!(!tweet(None, None).links_to(url));
        let bare: Tweet = serde_json::from_str(r#"{"id": "2", "text": "no links"}"#).unwrap();
        assert!(!bare.links_to(url));
    }
}

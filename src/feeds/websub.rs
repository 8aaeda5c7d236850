//! WebSub (<https://www.w3.org/TR/websub/>), the publisher's side: the `[feeds.websub]` table,
//! and the pure parts of telling hubs that a feed changed — which URL a feed file is published
//! at, the body of a publish notification, what a hub's answer means and when to try again.
//! The feeds name the hubs (`rel="hub"` links, written by each renderer); the engine queues a
//! notification per hub and changed feed in the state and sends them.
//!
//! The W3C Recommendation leaves the publish request to the hubs; the common ones (Google's
//! <https://pubsubhubbub.appspot.com/>, Superfeedr, WebSub.rocks, Switchboard) all take a
//! form-encoded `POST` of `hub.mode=publish` and `hub.url=<feed URL>` and answer 204. Google's
//! hub takes `hub.url` repeated and Superfeedr `hub.url[]` or a comma-separated list: since the
//! hubs disagree on how to name several feeds, crier sends one request per feed URL, which
//! every hub reads alike and which lets each feed's notification be retried on its own.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{HttpUrl, Invalid};

/// `[feeds.websub]`: the hubs every feed names and that crier notifies when a feed changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSubConfig {
    /// Hub URLs (e.g. `"https://pubsubhubbub.appspot.com/"`); none turns WebSub off.
    #[serde(default)]
    pub hubs: Vec<HttpUrl>,
    /// Longest wait for one hub's answer (e.g. `"10s"`).
    #[serde(default = "default_timeout", with = "crate::values::duration")]
    pub timeout: Duration,
    /// Attempts before a notification is given up (the hub still reads the feed when its
    /// subscribers' readers poll, so nothing is lost for good).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
}

impl Default for WebSubConfig {
    fn default() -> Self {
        WebSubConfig {
            hubs: Vec::new(),
            timeout: default_timeout(),
            max_attempts: default_max_attempts(),
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_attempts() -> u32 {
    8
}

impl WebSubConfig {
    /// Whether hubs are configured.
    pub fn is_on(&self) -> bool {
        !self.hubs.is_empty()
    }

    /// Checks what serde cannot; keys are relative to `[feeds.websub]`.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (i, hub) in self.hubs.iter().enumerate() {
            if self.hubs[..i].iter().any(|h| h.as_str() == hub.as_str()) {
                return Err(Invalid::new(
                    format!("hubs[{i}]"),
                    format!("{hub} is listed twice; list each hub once"),
                ));
            }
        }
        if self.timeout.is_zero() {
            return Err(Invalid::new(
                "timeout",
                "must be longer than 0s, e.g. \"10s\"",
            ));
        }
        if self.max_attempts == 0 {
            return Err(Invalid::new("max_attempts", "must be at least 1"));
        }
        Ok(())
    }
}

/// The public URL of the feed file at `path`, written under `output_dir` whose public URL is
/// `public_url` (ending in `/`); `None` for a file outside `output_dir`.
pub fn feed_url(public_url: &str, output_dir: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(output_dir).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| format!("{public_url}{}", parts.join("/")))
}

/// The form-encoded body of a publish notification for `feed_url`.
pub fn publish_body(feed_url: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("hub.mode", "publish")
        .append_pair("hub.url", feed_url)
        .finish()
}

/// What a hub's answer to a publish notification means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Taken (any 2xx; hubs answer 204).
    Accepted,
    /// Try again later: a 5xx, 429 or 408, or no complete answer.
    Retry,
    /// Refused for good: any other status (a wrong hub URL, a feed the hub will not serve).
    Refused,
}

/// The meaning of the HTTP status a hub answered.
pub fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Accepted,
        408 | 429 | 500..=599 => Verdict::Retry,
        _ => Verdict::Refused,
    }
}

/// Wait before the next attempt after `attempts` failed ones: one minute, doubling, at most
/// an hour (eight attempts span about two hours; hubs are time-sensitive, a ping days late
/// is worth little).
pub fn backoff(attempts: u32) -> Duration {
    const FIRST: u64 = 60;
    const LONGEST: u64 = 3600;
    let doublings = attempts.saturating_sub(1).min(16);
    Duration::from_secs((FIRST << doublings).min(LONGEST))
}

/// When to try again after the `attempts`-th attempt failed and could be retried (the hub may
/// have announced when, with `Retry-After`); `None` once `max_attempts` are spent.
pub fn next_attempt(
    attempts: u32,
    max_attempts: u32,
    now: DateTime<Utc>,
    announced: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    if attempts >= max_attempts {
        return None;
    }
    let backoff = chrono::Duration::from_std(backoff(attempts)).unwrap_or(chrono::Duration::MAX);
    Some(announced.filter(|at| *at > now).unwrap_or(now + backoff))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_body_is_form_encoded() {
        assert_eq!(
            publish_body("https://example.org/feeds/fr/rss.xml?a=1&b=é"),
            "hub.mode=publish&hub.url=https%3A%2F%2Fexample.org%2Ffeeds%2Ffr%2Frss.xml%3Fa%3D1%26b%3D%C3%A9"
        );
    }

    #[test]
    fn a_feed_file_gets_its_public_url() {
        let out = Path::new("/srv/feeds");
        let base = "https://example.org/feeds/";
        assert_eq!(
            feed_url(base, out, Path::new("/srv/feeds/rss.xml")).as_deref(),
            Some("https://example.org/feeds/rss.xml")
        );
        assert_eq!(
            feed_url(base, out, Path::new("/srv/feeds/categories/news/feed.json")).as_deref(),
            Some("https://example.org/feeds/categories/news/feed.json")
        );
        assert_eq!(feed_url(base, out, Path::new("/srv/other/rss.xml")), None);
        assert_eq!(feed_url(base, out, out), None);
    }

    #[test]
    fn statuses_mean_taken_retry_or_refused() {
        for status in [200, 202, 204] {
            assert_eq!(verdict(status), Verdict::Accepted, "{status}");
        }
        for status in [408, 429, 500, 502, 503, 599] {
            assert_eq!(verdict(status), Verdict::Retry, "{status}");
        }
        for status in [301, 400, 401, 403, 404, 410, 422] {
            assert_eq!(verdict(status), Verdict::Refused, "{status}");
        }
    }

    #[test]
    fn the_backoff_doubles_from_a_minute_to_an_hour() {
        let minutes: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(0), Duration::from_secs(60));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn the_next_attempt_honours_retry_after_and_the_attempts_left() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
        let later = now + chrono::Duration::minutes(30);
        assert_eq!(
            next_attempt(1, 8, now, None),
            Some(now + chrono::Duration::minutes(1))
        );
        assert_eq!(
            next_attempt(3, 8, now, None),
            Some(now + chrono::Duration::minutes(4))
        );
        assert_eq!(next_attempt(1, 8, now, Some(later)), Some(later));
        // A Retry-After already past is no reason to hammer the hub.
        assert_eq!(
            next_attempt(2, 8, now, Some(now - chrono::Duration::minutes(5))),
            Some(now + chrono::Duration::minutes(2))
        );
        assert_eq!(next_attempt(8, 8, now, Some(later)), None);
    }

    #[test]
    fn every_format_names_the_hubs_beside_its_self_link() {
        use crate::feeds::{FeedFormat, FeedMeta, render};
        let meta = FeedMeta {
            hubs: vec![
                "https://hub.example/".to_owned(),
                "https://other.example/hub?a=1&b=2".to_owned(),
            ],
            ..crate::testing::feed_meta(Some("en"))
        };
        let entries = [crate::testing::entry("a", "2024-03-01T10:00:00+01:00")];
        let text = |format| String::from_utf8(render(format, &meta, &entries).unwrap()).unwrap();
        let rss = text(FeedFormat::Rss);
        assert!(
            rss.contains(r#"<atom:link href="https://example.org/feeds/rss.xml" rel="self" type="application/rss+xml"/>"#),
            "{rss}"
        );
        assert!(
            rss.contains(r#"<atom:link href="https://hub.example/" rel="hub"/>"#),
            "{rss}"
        );
        assert!(
            rss.contains(r#"<atom:link href="https://other.example/hub?a=1&amp;b=2" rel="hub"/>"#),
            "{rss}"
        );
        let atom = text(FeedFormat::Atom);
        assert!(atom.contains(r#"rel="self""#), "{atom}");
        assert!(
            atom.contains(r#"<link href="https://hub.example/" rel="hub"/>"#),
            "{atom}"
        );
        let json: serde_json::Value = serde_json::from_str(&text(FeedFormat::Json)).unwrap();
        assert_eq!(json["feed_url"], "https://example.org/feeds/feed.json");
        assert_eq!(
            json["hubs"],
            serde_json::json!([
                {"type": "WebSub", "url": "https://hub.example/"},
                {"type": "WebSub", "url": "https://other.example/hub?a=1&b=2"},
            ])
        );
        // Without hubs, nothing of WebSub is written.
        let plain = crate::testing::feed_meta(Some("en"));
        for format in [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json] {
            let bytes = render(format, &plain, &entries).unwrap();
            let text = String::from_utf8(bytes).unwrap();
            assert!(!text.contains("hub"), "{text}");
        }
    }

    #[test]
    fn validate_names_the_key() {
        let hub = HttpUrl::parse("https://hub.example/").unwrap();
        let twice = WebSubConfig {
            hubs: vec![hub.clone(), hub.clone()],
            ..WebSubConfig::default()
        };
        assert_eq!(twice.validate().unwrap_err().key, "hubs[1]");
        let zero = WebSubConfig {
            hubs: vec![hub],
            max_attempts: 0,
            ..WebSubConfig::default()
        };
        assert_eq!(zero.validate().unwrap_err().key, "max_attempts");
        assert!(WebSubConfig::default().validate().is_ok());
        assert!(!WebSubConfig::default().is_on());
    }
}

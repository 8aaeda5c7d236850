//! HTTP plumbing shared by the channels: the client, and the one place where transport
//! failures and HTTP statuses are classified as retryable, pausing or permanent. Each network
//! refines this with its own error codes before falling back to [`classify_status`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::PostError;

/// The HTTP client all channels share: rustls, a User-Agent naming crier, bounded redirects,
/// and a timeout for every request.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("crier/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        // Only TLS backend initialisation can fail here, which rustls does not.
        .unwrap_or_default()
}

/// A request that never got a complete answer: the post may or may not exist, so it is
/// retried through [`super::Channel::recover`].
pub fn transport_error(network: &str, error: &reqwest::Error) -> PostError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    // reqwest's message names the URL but never headers or bodies; channels keep secrets out
    // of URLs (Facebook's token goes in the body), so no secret leaks through it.
    PostError::Retry {
        reason: format!("{network}: request {what}: {error}"),
        after: None,
    }
}

/// Generic meaning of an HTTP error status, for what a network's own codes do not cover.
/// A 5xx is retried on the engine's backoff unless the answer itself says when to come back
/// (see [`announced_retry`]).
pub fn classify_status(
    network: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
) -> PostError {
    let detail = format!("{network}: HTTP {status}: {}", excerpt(body));
    match status {
        StatusCode::TOO_MANY_REQUESTS => PostError::Retry {
            reason: format!("{detail} (rate limited)"),
            after: retry_after(headers, Utc::now()),
        },
        StatusCode::UNAUTHORIZED => PostError::Pause {
            reason: format!(
                "{detail}: the credentials were refused; renew them and run `crier retry --channel <name>`"
            ),
        },
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => PostError::Retry {
            reason: detail,
            after: announced_retry(status, headers, Utc::now()),
        },
        _ => PostError::Reject { reason: detail },
    }
}

/// The rate-limit headers that count the requests left in the window: X's, Bluesky's (the
/// IETF draft's) and Mastodon's.
const REMAINING: [&str; 3] = [
    "x-rate-limit-remaining",
    "ratelimit-remaining",
    "x-ratelimit-remaining",
];

/// Whether the answer says the rate limit is spent: a 429, or a window with no request left.
pub fn limit_spent(status: StatusCode, headers: &HeaderMap) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || REMAINING.iter().any(|name| {
            header(headers, name)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|left| left <= 0)
        })
}

/// When a failed request may be sent again, as its answer announces it: `Retry-After`
/// whenever it is given, the rate-limit window's reset only when the limit is spent. Networks
/// send their window's headers with every answer, a 500 included, and the reset is then only
/// the end of a window that still has room (up to 15 minutes away on X, an hour on Bluesky):
/// `None` there, so the retry follows the backoff.
pub fn announced_retry(
    status: StatusCode,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if limit_spent(status, headers) {
        retry_after(headers, now)
    } else {
        retry_after_header(headers, now)
    }
}

/// When the network says a retry may come: `Retry-After` (seconds or HTTP date), or the reset
/// time of a rate-limit window (`x-rate-limit-reset` on X, `ratelimit-reset` on Bluesky and
/// Mastodon's `x-ratelimit-reset`), whichever is given. Meant for an answer whose limit is
/// spent; [`announced_retry`] decides for any answer.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(at) = retry_after_header(headers, now) {
        return Some(at);
    }
    for name in ["x-rate-limit-reset", "ratelimit-reset"] {
        if let Some(epoch) = header(headers, name).and_then(|v| v.parse::<i64>().ok()) {
            return DateTime::from_timestamp(epoch, 0);
        }
    }
    header(headers, "x-ratelimit-reset")
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .map(|date| date.with_timezone(&Utc))
}

/// `Retry-After`, in seconds or as an HTTP date.
fn retry_after_header(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = header(headers, "retry-after")?;
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(now + chrono::Duration::seconds(seconds.max(0)));
    }
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The start of a response body, for error messages.
pub fn excerpt(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn statuses_are_classified() {
        let h = HeaderMap::new();
        assert!(matches!(
            classify_status("x", StatusCode::BAD_GATEWAY, &h, ""),
            PostError::Retry { .. }
        ));
        assert!(matches!(
            classify_status("x", StatusCode::UNAUTHORIZED, &h, "bad token"),
            PostError::Pause { .. }
        ));
        assert!(matches!(
            classify_status("x", StatusCode::UNPROCESSABLE_ENTITY, &h, ""),
            PostError::Reject { .. }
        ));
        let limited = classify_status(
            "x",
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("x-rate-limit-reset", "1900000000")]),
            "",
        );
        assert_eq!(
            limited,
            PostError::Retry {
                reason: "x: HTTP 429 Too Many Requests:  (rate limited)".into(),
                after: DateTime::from_timestamp(1_900_000_000, 0),
            }
        );
    }

    #[test]
    fn a_server_error_waits_for_the_window_reset_only_when_the_limit_is_spent() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        let room = headers(&[
            ("x-rate-limit-remaining", "299"),
            ("x-rate-limit-reset", "1900"),
        ]);
        assert_eq!(
            announced_retry(StatusCode::INTERNAL_SERVER_ERROR, &room, now),
            None
        );
        assert_eq!(
            classify_status("x", StatusCode::INTERNAL_SERVER_ERROR, &room, ""),
            PostError::Retry {
                reason: "x: HTTP 500 Internal Server Error: ".into(),
                after: None,
            }
        );
        let spent = headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "1900")]);
        assert_eq!(
            announced_retry(StatusCode::BAD_GATEWAY, &spent, now),
            DateTime::from_timestamp(1_900, 0)
        );
        assert_eq!(
            announced_retry(StatusCode::TOO_MANY_REQUESTS, &room, now),
            DateTime::from_timestamp(1_900, 0)
        );
        // The server's own word on this failure is always taken.
        let told = headers(&[("retry-after", "120"), ("x-ratelimit-remaining", "10")]);
        assert_eq!(
            announced_retry(StatusCode::SERVICE_UNAVAILABLE, &told, now),
            DateTime::from_timestamp(1_120, 0)
        );
    }

    #[test]
    fn retry_after_reads_every_header_form() {
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        assert_eq!(
            retry_after(&headers(&[("retry-after", "30")]), now),
            DateTime::from_timestamp(1_030, 0)
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
                now
            ),
            DateTime::from_timestamp(1_445_412_480, 0)
        );
        assert_eq!(
            retry_after(&headers(&[("ratelimit-reset", "2000")]), now),
            DateTime::from_timestamp(2_000, 0)
        );
        assert_eq!(
            retry_after(
                &headers(&[("x-ratelimit-reset", "2024-01-01T00:00:00.000Z")]),
                now
            ),
            DateTime::from_timestamp(1_704_067_200, 0)
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn excerpts_are_bounded() {
        assert_eq!(excerpt(" short "), "short");
        assert_eq!(excerpt(&"é".repeat(400)).chars().count(), 301);
    }
}

//! The HTTP client every remote source fetches with, and the politeness and safety rules they
//! share: conditional GET (ETag and Last-Modified), a User-Agent naming crier, timeouts,
//! retries with backoff, a maximum response size, limited redirects, http and https only, and
//! TLS verified (rustls with the WebPKI roots; there is no switch to turn verification off).
//!
//! [`Fetcher::get`] blocks on purpose: sources run inside the cycle, which runs on a blocking
//! thread (the daemon's `spawn_blocking`) or on the main thread (`check`, `plan`). Underneath,
//! each request is made with reqwest's async client on one small runtime of its own thread,
//! shared by every fetcher, so that a request and a retry's wait can be given up the moment
//! the daemon is asked to stop: a blocking read could only end at its timeout. The stop
//! signal is the one of the job reading on the calling thread ([`stop_reads_with`]).

use std::cell::RefCell;
use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap};
use reqwest::{Client, Response, StatusCode};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use url::Url;

/// Longest wait a `Retry-After` header may impose between two attempts inside one cycle;
/// a server asking for longer gets no retry in this cycle.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How a remote source talks HTTP (`[sources.http]`). Durations and sizes are parsed when the
/// config is read, so a value that does not parse is a config error naming its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Longest time one request may take, body included (`"30s"`).
    #[serde(default = "default_timeout", with = "crate::values::duration")]
    pub timeout: Duration,
    /// Extra attempts after a network error, a timeout, a 429 or a 5xx answer.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Wait before the first retry; it doubles for each further one (`"2s"`).
    #[serde(default = "default_retry_delay", with = "crate::values::duration")]
    pub retry_delay: Duration,
    /// Largest response body accepted, in bytes (written `"10MB"`, `"512KiB"`).
    #[serde(default = "default_max_size", with = "crate::values::size")]
    pub max_size: u64,
    /// Most pages followed in one read (listing pages and, for `html`, entry pages count apart).
    #[serde(default = "default_max_pages")]
    pub max_pages: usize,
    /// Most redirects followed for one request.
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    /// Replaces the default User-Agent (`crier/{version} (+{site.base_url})`).
    pub user_agent: Option<String>,
    /// Longest time between two unconditional reads. In between, a source whose first page
    /// answers 304 counts as unchanged; a full read now and then also catches edits that a
    /// server's validators miss (an old item edited deep in a paged listing).
    #[serde(default = "default_full_read_every", with = "crate::values::duration")]
    pub full_read_every: Duration,
    /// Longest time one read of the source may take, all its requests together; what is
    /// left then fails for this cycle, so that one slow site cannot hold up the others.
    #[serde(default = "default_max_read_time", with = "crate::values::duration")]
    pub max_read_time: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: default_timeout(),
            retries: default_retries(),
            retry_delay: default_retry_delay(),
            max_size: default_max_size(),
            max_pages: default_max_pages(),
            max_redirects: default_max_redirects(),
            user_agent: None,
            full_read_every: default_full_read_every(),
            max_read_time: default_max_read_time(),
        }
    }
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_retries() -> u32 {
    2
}
fn default_retry_delay() -> Duration {
    Duration::from_secs(2)
}
fn default_max_size() -> u64 {
    20_000_000
}
fn default_max_pages() -> usize {
    50
}
fn default_max_redirects() -> usize {
    5
}
fn default_full_read_every() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_max_read_time() -> Duration {
    Duration::from_secs(5 * 60)
}

impl HttpSettings {
    /// Checks what serde cannot; the error names the key (relative to `[sources.http]`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.max_pages == 0 {
            return Err(("http.max_pages".into(), "must be at least 1".into()));
        }
        if let Some(ua) = &self.user_agent
            && (ua.trim().is_empty() || header::HeaderValue::from_str(ua).is_err())
        {
            return Err((
                "http.user_agent".into(),
                "must be non-empty printable ASCII text".into(),
            ));
        }
        Ok(())
    }
}

/// What a server said about a response so that it can be asked "changed since?" next time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The `Last-Modified` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether the server gave anything to revalidate with.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }

    fn from_headers(headers: &HeaderMap) -> Validators {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Validators {
            etag: text(header::ETAG),
            last_modified: text(header::LAST_MODIFIED),
        }
    }
}

/// A fetched response body with what the sources need from its headers.
#[derive(Debug)]
pub struct Page {
    /// Where the body came from, after redirects.
    pub url: Url,
    /// The body, at most `max_size` bytes.
    pub body: Vec<u8>,
    /// The response headers.
    pub headers: HeaderMap,
    /// Validators for the next conditional request.
    pub validators: Validators,
}

impl Page {
    /// The target of a `Link: <…>; rel="next"` header (RFC 8288), resolved against the page.
    pub fn link_next(&self) -> Option<Url> {
        self.headers
            .get_all(header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| link_with_rel(v, "next"))
            .and_then(|target| self.url.join(&target).ok())
    }

    /// The body as text, decoded with the charset the `Content-Type` header names (UTF-8
    /// when it names none); `<meta charset>` is the HTML source's business.
    pub fn text(&self) -> String {
        decode(&self.body, self.charset().as_deref())
    }

    /// The `charset` the `Content-Type` header names, if any.
    pub fn charset(&self) -> Option<String> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| {
                ct.split(';')
                    .skip(1)
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
                    .map(|(_, v)| v.trim().trim_matches('"').to_owned())
            })
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Decodes `body` with `charset` (a WHATWG label); unknown labels and `None` mean UTF-8.
/// Undecodable bytes become U+FFFD rather than failing the entry.
pub fn decode(body: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(body);
    text.into_owned()
}

/// The target of the first link in a `Link` header value whose `rel` includes `rel`.
fn link_with_rel(value: &str, rel: &str) -> Option<String> {
    // Values look like `<a>; rel="next", <b>; rel="prev"`; URLs cannot contain `>`.
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let params_end = rest[end..].find('<').map_or(rest.len(), |i| end + i);
        let params = rest[end + 1..params_end].trim().trim_end_matches(',');
        let matches = params.split(';').any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case(rel))
            })
        });
        if matches {
            return Some(target.trim().to_owned());
        }
        rest = &rest[params_end..];
    }
    None
}

/// The answer to a (conditional) GET.
// One value per request, moved straight into its reader: boxing the page would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Fetched {
    /// 304: what we have is still current.
    NotModified,
    /// 2xx with a body.
    Page(Page),
}

/// Why a GET failed, after any retries; every message names the URL and says what to check.
#[derive(Debug, Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error(
        "GET {url}: the server answered {status}{detail}; check the URL and that the site is up"
    )]
    Status {
        /// The URL requested.
        url: String,
        /// The status.
        status: StatusCode,
        /// A short excerpt of the body, when it says something.
        detail: String,
    },
    /// The body is larger than `max_size`.
    #[error(
        "GET {url}: the response is larger than {limit} bytes; raise `http.max_size` if it is really that big"
    )]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The configured limit.
        limit: u64,
    },
    /// No complete answer within `timeout`.
    #[error(
        "GET {url}: no complete answer within {timeout:?}; the site may be down or slow (`http.timeout`)"
    )]
    Timeout {
        /// The URL requested.
        url: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// Too many redirects, a redirect loop, or a redirect to another scheme.
    #[error("GET {url}: {reason}; fix the URL to point at the final address")]
    Redirect {
        /// The URL requested.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The source's `max_read_time` ran out before this request could be made or finished.
    #[error(
        "GET {url}: not fetched, the read of this source already took {budget:?} (`http.max_read_time`); the next cycle tries again"
    )]
    OutOfTime {
        /// The URL requested.
        url: String,
        /// The configured budget.
        budget: Duration,
    },
    /// The job reading was asked to stop (the daemon is stopping) before this answer came.
    #[error("GET {url}: not fetched, crier is stopping; the next cycle reads it")]
    Stopped {
        /// The URL requested.
        url: String,
    },
    /// The URL is not http or https.
    #[error("{url}: only http and https URLs are fetched")]
    Scheme {
        /// The URL.
        url: String,
    },
    /// Connection refused, DNS failure, TLS failure, connection dropped.
    #[error("GET {url}: {reason}; check the URL and that this machine can reach the server")]
    Network {
        /// The URL requested.
        url: String,
        /// The transport error, with its causes.
        reason: String,
    },
}

impl FetchError {
    /// Errors worth another attempt within the same cycle.
    fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            FetchError::Timeout { .. } | FetchError::Network { .. } => true,
            _ => false,
        }
    }
}

/// A configured HTTP client for one source's read.
pub struct Fetcher {
    client: Client,
    /// The runtime the requests run on.
    runtime: Handle,
    /// Cancelled when the job reading asks to stop: the request or wait under way ends.
    stop: CancellationToken,
    timeout: Duration,
    /// `max_read_time`, and when it runs out.
    budget: Duration,
    deadline: Instant,
    retries: u32,
    retry_delay: Duration,
    max_size: u64,
    max_pages: usize,
}

thread_local! {
    /// The stop signal of the job reading on this thread, set by [`stop_reads_with`].
    static STOP: RefCell<Option<CancellationToken>> = const { RefCell::new(None) };
}

/// Runs `read` with `stop` as the stop signal of every [`Fetcher`] made on this thread
/// meanwhile (the daemon's job passes its shutdown token here).
///
/// The signal travels with the thread rather than through every source's arguments: a source
/// makes its fetcher on the thread the cycle reads on (and may then share it with helper
/// threads), and every fetch of a stopping job must end, whichever source made it.
pub fn stop_reads_with<T>(stop: &CancellationToken, read: impl FnOnce() -> T) -> T {
    /// Puts the previous signal back, even if `read` panics.
    struct Restore(Option<CancellationToken>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            STOP.with(|current| *current.borrow_mut() = previous);
        }
    }
    let previous = STOP.with(|current| current.replace(Some(stop.clone())));
    let _restore = Restore(previous);
    read()
}

/// The runtime every fetcher's requests run on: one worker thread, made at the first fetch
/// and kept for the life of the process (a runtime cannot be dropped from async code, and
/// a fetcher may be dropped anywhere).
fn shared_runtime() -> Result<Handle, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("crier-http")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the HTTP client's runtime: {e}"))
        })
        .as_ref()
        .map(|runtime| runtime.handle().clone())
        .map_err(Clone::clone)
}

impl Fetcher {
    /// A client with `settings`; `site_url` goes into the default User-Agent so that a site
    /// owner can see who is calling. It stops with the job reading on this thread, if any
    /// ([`stop_reads_with`]).
    pub fn new(settings: &HttpSettings, site_url: &str) -> Result<Fetcher, String> {
        let timeout = settings.timeout;
        let user_agent = settings
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("crier/{} (+{site_url})", env!("CARGO_PKG_VERSION")));
        let max_redirects = settings.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if !matches!(attempt.url().scheme(), "http" | "https") {
                let scheme = attempt.url().scheme().to_owned();
                attempt.error(format!("redirected to a {scheme}: URL"))
            } else if attempt.previous().iter().any(|u| u == attempt.url()) {
                attempt.error("redirect loop")
            } else if attempt.previous().len() > max_redirects {
                attempt.error(format!("more than {max_redirects} redirects"))
            } else {
                attempt.follow()
            }
        });
        let client = Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(policy)
            .https_only(false)
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        let stop = STOP
            .with(|current| current.borrow().clone())
            .unwrap_or_default();
        Ok(Fetcher {
            client,
            runtime: shared_runtime()?,
            stop,
            timeout,
            budget: settings.max_read_time,
            deadline: Instant::now() + settings.max_read_time,
            retries: settings.retries,
            retry_delay: settings.retry_delay,
            max_size: settings.max_size,
            max_pages: settings.max_pages.max(1),
        })
    }

    /// The same fetcher, stopped by `stop` instead.
    pub fn with_stop(mut self, stop: CancellationToken) -> Fetcher {
        self.stop = stop;
        self
    }

    /// Most pages one read may follow.
    pub fn max_pages(&self) -> usize {
        self.max_pages
    }

    /// GET `url`, sending `validators` as `If-None-Match` / `If-Modified-Since` when given;
    /// transient failures are retried with exponential backoff (or the server's `Retry-After`).
    /// A stop request ends the request or the wait under way at once.
    pub fn get(&self, url: &Url, validators: Option<&Validators>) -> Result<Fetched, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme {
                url: url.to_string(),
            });
        }
        let out_of_time = || FetchError::OutOfTime {
            url: url.to_string(),
            budget: self.budget,
        };
        let stopped = || FetchError::Stopped {
            url: url.to_string(),
        };
        let mut attempt = 0;
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(out_of_time());
            }
            let (result, retry_after) = self
                .until_stopped(self.attempt(url, validators, left))
                .ok_or_else(stopped)?;
            let left = self.deadline.saturating_duration_since(Instant::now());
            match result {
                Err(FetchError::Timeout { .. }) if left.is_zero() => return Err(out_of_time()),
                Err(e) if e.is_transient() && attempt < self.retries => {
                    let backoff = self.retry_delay * 2u32.saturating_pow(attempt);
                    let wait = retry_after.unwrap_or(backoff).min(MAX_RETRY_AFTER);
                    if wait >= left || retry_after.is_some_and(|r| r > MAX_RETRY_AFTER) {
                        return Err(e);
                    }
                    tracing::debug!(url = %url, error = %e, wait_ms = wait.as_millis() as u64, "retrying");
                    // Made inside the runtime: a timer needs one from its creation.
                    self.until_stopped(async { tokio::time::sleep(wait).await })
                        .ok_or_else(stopped)?;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Runs `work` to its end on the fetchers' runtime, or until the stop signal: `None` then,
    /// and `work` is dropped (a request in flight is hung up).
    fn until_stopped<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        self.runtime.block_on(async {
            tokio::select! {
                biased;
                () = self.stop.cancelled() => None,
                out = work => Some(out),
            }
        })
    }

    /// One request, given at most `left` of the read's time.
    async fn attempt(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        left: Duration,
    ) -> (Result<Fetched, FetchError>, Option<Duration>) {
        let mut request = self.client.get(url.clone()).timeout(self.timeout.min(left));
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, date);
            }
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return (Err(self.transport_error(url, &e)), None),
        };
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return (Ok(Fetched::NotModified), None);
        }
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let detail = self
                .read_body(url, response)
                .await
                .ok()
                .map(|b| excerpt(&b))
                .filter(|s| !s.is_empty())
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let error = FetchError::Status {
                url: url.to_string(),
                status,
                detail,
            };
            return (Err(error), retry_after);
        }
        let final_url = response.url().clone();
        let headers = response.headers().clone();
        let body = match self.read_body(url, response).await {
            Ok(b) => b,
            Err(e) => return (Err(e), None),
        };
        let validators = Validators::from_headers(&headers);
        let page = Page {
            url: final_url,
            body,
            headers,
            validators,
        };
        (Ok(Fetched::Page(page)), None)
    }

    /// Reads the body, refusing more than `max_size` bytes whether or not the server
    /// announced its length.
    async fn read_body(&self, url: &Url, mut response: Response) -> Result<Vec<u8>, FetchError> {
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit: self.max_size,
        };
        if response.content_length().is_some_and(|n| n > self.max_size) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() as u64 > self.max_size {
                        return Err(too_large());
                    }
                }
                Ok(None) => return Ok(body),
                Err(e) if e.is_timeout() => {
                    return Err(FetchError::Timeout {
                        url: url.to_string(),
                        timeout: self.timeout,
                    });
                }
                Err(e) => {
                    return Err(FetchError::Network {
                        url: url.to_string(),
                        reason: format!(
                            "the connection broke while reading the answer: {}",
                            chain(&e)
                        ),
                    });
                }
            }
        }
    }

    fn transport_error(&self, url: &Url, e: &reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout {
                url: url.to_string(),
                timeout: self.timeout,
            };
        }
        if e.is_redirect() {
            return FetchError::Redirect {
                url: url.to_string(),
                reason: chain(e),
            };
        }
        FetchError::Network {
            url: url.to_string(),
            reason: chain(e),
        }
    }
}

/// An error with its causes, `a: b: c`, since reqwest's top-level message alone is vague
/// (and only repeats the URL, which the error names already).
fn chain(e: &dyn std::error::Error) -> String {
    let (mut text, mut source) = match e.source() {
        Some(cause) if e.to_string().starts_with("error sending request") => {
            (cause.to_string(), cause.source())
        }
        _ => (e.to_string(), e.source()),
    };
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

/// The first 200 characters of an error body, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let v = r#"<https://x.example/wp-json/wp/v2/posts?page=1>; rel="prev", <https://x.example/wp-json/wp/v2/posts?page=3>; rel="next""#;
        assert_eq!(
            link_with_rel(v, "next").as_deref(),
            Some("https://x.example/wp-json/wp/v2/posts?page=3")
        );
        assert_eq!(
            link_with_rel(v, "prev").as_deref(),
            Some("https://x.example/wp-json/wp/v2/posts?page=1")
        );
        assert_eq!(
            link_with_rel("</p2>; rel=\"next last\"", "next").as_deref(),
            Some("/p2")
        );
        assert_eq!(
            link_with_rel("</p2>; rel=next", "next").as_deref(),
            Some("/p2")
        );
        assert_eq!(link_with_rel("</p2>; rel=\"prev\"", "next"), None);
        assert_eq!(link_with_rel("garbage", "next"), None);
    }

    #[test]
    fn charsets() {
        assert_eq!(decode(b"caf\xe9", Some("iso-8859-1")), "café");
        assert_eq!(decode("café".as_bytes(), None), "café");
        assert_eq!(decode("café".as_bytes(), Some("no-such-charset")), "café");
    }

    #[test]
    fn settings_are_validated() {
        assert!(HttpSettings::default().validate().is_ok());
        let bad = HttpSettings {
            max_pages: 0,
            ..HttpSettings::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "http.max_pages");
        let bad = HttpSettings {
            user_agent: Some(" ".into()),
            ..HttpSettings::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "http.user_agent");
    }

    /// A server on 127.0.0.1 that accepts connections and never answers; its URL.
    fn silent_server() -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!(
            "http://{}/feed.xml",
            listener.local_addr().unwrap()
        ));
        std::thread::spawn(move || {
            // Held open, unanswered, until the test process ends.
            let held: Vec<_> = listener.incoming().collect();
            drop(held);
        });
        url.unwrap()
    }

    #[test]
    fn a_stop_request_ends_a_hanging_read_at_once() {
        let settings = HttpSettings {
            timeout: Duration::from_secs(60),
            ..HttpSettings::default()
        };
        let stop = CancellationToken::new();
        // Made the way a job makes it: on the thread that reads, under the job's stop signal.
        let fetcher =
            stop_reads_with(&stop, || Fetcher::new(&settings, "https://example.org/")).unwrap();
        let url = silent_server();
        let cancel = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            cancel.cancel();
        });
        let started = Instant::now();
        let error = fetcher.get(&url, None).unwrap_err();
        assert!(matches!(error, FetchError::Stopped { .. }), "{error:?}");
        assert!(error.to_string().contains("crier is stopping"), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the read went on for {:?} after the stop request",
            started.elapsed()
        );
        // Once stopped, no request is even made.
        let started = Instant::now();
        assert!(matches!(
            fetcher.get(&url, None),
            Err(FetchError::Stopped { .. })
        ));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_stop_request_ends_a_retry_wait() {
        let settings = HttpSettings {
            timeout: Duration::from_millis(100),
            retries: 1,
            retry_delay: Duration::from_secs(50),
            ..HttpSettings::default()
        };
        let stop = CancellationToken::new();
        let fetcher = Fetcher::new(&settings, "https://example.org/")
            .unwrap()
            .with_stop(stop.clone());
        let cancel = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            cancel.cancel();
        });
        let started = Instant::now();
        let error = fetcher.get(&silent_server(), None).unwrap_err();
        assert!(matches!(error, FetchError::Stopped { .. }), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn the_stop_signal_belongs_to_the_reading_thread_only_while_it_reads() {
        let stop = CancellationToken::new();
        stop.cancel();
        let settings = HttpSettings::default();
        let inside =
            stop_reads_with(&stop, || Fetcher::new(&settings, "https://example.org/")).unwrap();
        assert!(inside.stop.is_cancelled());
        let after = Fetcher::new(&settings, "https://example.org/").unwrap();
        assert!(!after.stop.is_cancelled());
    }

    /// Reads `[sources.http]` text the way the config loader does, key path included.
    fn parse(text: &str) -> Result<HttpSettings, String> {
        let document = toml::de::Deserializer::parse(text).map_err(|e| e.to_string())?;
        serde_path_to_error::deserialize(document)
            .map_err(|e| format!("`{}`: {}", e.path(), e.inner().message()))
    }

    #[test]
    fn durations_and_sizes_are_parsed_with_the_config() {
        let defaults = parse("").unwrap();
        assert_eq!(defaults, HttpSettings::default());
        assert_eq!(defaults.timeout, Duration::from_secs(30));
        assert_eq!(defaults.max_size, 20_000_000);
        assert_eq!(defaults.full_read_every, Duration::from_secs(24 * 3600));
        let set =
            parse("timeout = \"10s\"\nmax_size = \"512KiB\"\nmax_read_time = \"1m\"").unwrap();
        assert_eq!(set.timeout, Duration::from_secs(10));
        assert_eq!(set.max_size, 524_288);
        assert_eq!(set.max_read_time, Duration::from_secs(60));

        let err = parse("timeout = \"soon\"").unwrap_err();
        assert!(
            err.starts_with("`timeout`") && err.contains("\"30s\""),
            "{err}"
        );
        let err = parse("full_read_every = \"daily\"").unwrap_err();
        assert!(err.starts_with("`full_read_every`"), "{err}");
        let err = parse("max_size = \"10 parsecs\"").unwrap_err();
        assert!(
            err.starts_with("`max_size`") && err.contains("unknown unit"),
            "{err}"
        );
    }
}

//! How every remote source walks its list of pages (a JSON API's pages, an HTML listing, a
//! feed, which is a list of one page): the [`Pager`] owns the rules they share, and each
//! source supplies, through [`Pages`], only what a page gives and where the next one is.
//!
//! The shared rules:
//! - **Only the first request is conditional**, and only when the store holds entries of the
//!   source: the validators vouch for those entries. A 304 there means "nothing changed" and
//!   the read costs that one request ([`Paged::NotModified`]). Later pages are fetched without
//!   validators, since a 304 on page 3 would leave nothing to read.
//! - **A 304 to a request that asked for no comparison** is the server's (or a cache's) error.
//! - **A list is read completely or not at all**: a page that cannot be fetched, or that the
//!   source cannot read, fails the whole read, naming the URL. A truncated list would withdraw
//!   the entries it lost, and the validators of a failed read are not kept.
//! - **The end of the list** is a page without a next page, or a next page that was already
//!   read (requested, or reached through a redirect): a loop ends the list rather than the
//!   read. More than `http.max_pages` pages is an error, not a truncated list.
//! - **Validators out**: the first page's validators come back with the pages, for the
//!   source to keep ([`Pager::cache`]) once the whole read has succeeded.

use std::collections::HashSet;

use url::Url;

use super::http::{FetchError, Fetched, Fetcher, Page, Validators};
use super::{Cache, Read, ReadInput, SourceError, remote};

/// What differs from one paged source to another.
pub trait Pages {
    /// Takes what one page gives. `requested` is the URL asked for (`page.url` is where
    /// redirects led) and `number` counts from 1. Returns the next page's URL, `None` at the
    /// end of the list; an error (naming the URL) fails the whole read.
    fn page(&mut self, requested: &Url, number: usize, page: Page) -> Result<Option<Url>, String>;

    /// Whether `error`, the answer to a request for a page after the first, marks the end of
    /// the list rather than a failure.
    fn ends_list(&self, _error: &FetchError) -> bool {
        false
    }

    /// What to check when the list seems endless, for the `http.max_pages` message.
    fn next_setting(&self) -> &str {
        "how the source finds its next page"
    }
}

/// What a paged read gave.
#[derive(Debug)]
pub enum Paged {
    /// The first page answered 304 to the validators of the last complete read.
    NotModified,
    /// Every page was read: the first page's validators (empty when the server gave none).
    Read(Validators),
}

/// One read of a source's pages, from its first URL.
pub struct Pager<'a> {
    /// The source's name, for errors.
    source: &'a str,
    fetcher: &'a Fetcher,
    first: &'a Url,
}

impl<'a> Pager<'a> {
    /// A pager for the source named `source`, whose list starts at `first`.
    pub fn new(source: &'a str, fetcher: &'a Fetcher, first: &'a Url) -> Pager<'a> {
        Pager {
            source,
            fetcher,
            first,
        }
    }

    /// Fetches the first page (conditionally when `input` allows), hands it to `pages`, and
    /// follows the next pages it names until the end of the list.
    pub fn read(
        &self,
        input: &ReadInput<'_>,
        pages: &mut impl Pages,
    ) -> Result<Paged, SourceError> {
        let validators = if input.known.is_empty() {
            None
        } else {
            input.cache.get(self.first.as_str())
        };
        let mut url = self.first.clone();
        let mut visited = HashSet::from([url.clone()]);
        let mut first_validators = None;
        let mut number = 0;
        loop {
            number += 1;
            let sent = if number == 1 { validators } else { None };
            let page = match self.fetcher.get(&url, sent) {
                Ok(Fetched::Page(page)) => page,
                Ok(Fetched::NotModified) if sent.is_some() => return Ok(Paged::NotModified),
                Ok(Fetched::NotModified) => {
                    return Err(self.error(format!(
                        "GET {url}: the server answered 304 Not Modified to a request that asked for no comparison; check the server or a cache in front of it"
                    )));
                }
                Err(e) if number > 1 && pages.ends_list(&e) => break,
                Err(e) => return Err(self.error(e.to_string())),
            };
            first_validators.get_or_insert_with(|| page.validators.clone());
            visited.insert(page.url.clone());
            let next = pages.page(&url, number, page).map_err(|m| self.error(m))?;
            let Some(next) = next.filter(|n| !visited.contains(n)) else {
                break;
            };
            if number >= self.fetcher.max_pages() {
                return Err(self.error(format!(
                    "{} leads to more than {number} pages (next: {next}); raise `http.max_pages` if the list is really that long, or check {}",
                    self.first,
                    pages.next_setting()
                )));
            }
            visited.insert(next.clone());
            url = next;
        }
        Ok(Paged::Read(first_validators.unwrap_or_default()))
    }

    /// The validators to keep after a complete read: the first page's, under the first URL,
    /// when the server gave any.
    pub fn cache(&self, validators: Validators) -> Cache {
        let mut cache = Cache::new();
        if !validators.is_empty() {
            cache.insert(self.first.to_string(), validators);
        }
        cache
    }

    /// What [`Paged::NotModified`] means: every stored document stands, and so do the
    /// validators that vouched for them.
    pub fn unchanged(input: &ReadInput<'_>) -> Read {
        Read {
            documents: remote::all_unchanged(input.known),
            cache: input.cache.clone(),
            notices: Default::default(),
        }
    }

    fn error(&self, message: String) -> SourceError {
        SourceError::Remote {
            source_name: self.source.to_owned(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::sources::http::HttpSettings;

    /// Pages whose body is the path of the next page (an empty body ends the list).
    #[derive(Debug, Default)]
    struct Chain {
        /// `number path` of every page read, the path as requested.
        read: Vec<String>,
        /// Whether a 404 after the first page ends the list.
        ends_on_404: bool,
    }

    impl Pages for Chain {
        fn page(
            &mut self,
            requested: &Url,
            number: usize,
            page: Page,
        ) -> Result<Option<Url>, String> {
            self.read.push(format!("{number} {}", requested.path()));
            let next = String::from_utf8_lossy(&page.body).trim().to_owned();
            if next.is_empty() {
                return Ok(None);
            }
            page.url.join(&next).map(Some).map_err(|e| e.to_string())
        }

        fn ends_list(&self, error: &FetchError) -> bool {
            self.ends_on_404
                && matches!(error, FetchError::Status { status, .. } if status.as_u16() == 404)
        }
    }

    /// What one read left: its result and the pages it read.
    struct Outcome {
        result: Result<Paged, SourceError>,
        chain: Chain,
    }

    /// Reads the list at `first` on a blocking thread (the fetcher is blocking); `stored`
    /// says whether the store holds entries, so that the cache's validators may be sent.
    async fn read(first: String, stored: bool, cache: Cache, mut chain: Chain) -> Outcome {
        tokio::task::spawn_blocking(move || {
            let settings = HttpSettings {
                timeout: Duration::from_secs(2),
                retries: 0,
                max_pages: 3,
                ..HttpSettings::default()
            };
            let fetcher = Fetcher::new(&settings, "https://example.org/").expect("client");
            let first = Url::parse(&first).expect("mock URL");
            let known = if stored {
                HashMap::from([("a".to_owned(), "print".to_owned())])
            } else {
                HashMap::new()
            };
            let input = ReadInput {
                known: &known,
                cache: &cache,
                now: chrono::Utc::now(),
                progress: crate::progress::Progress::ignored(),
            };
            let result = Pager::new("test", &fetcher, &first).read(&input, &mut chain);
            Outcome { result, chain }
        })
        .await
        .expect("the read does not panic")
    }

    fn error_message(result: Result<Paged, SourceError>) -> String {
        match result {
            Err(SourceError::Remote { message, .. }) => message,
            other => panic!("expected a remote error, got {other:?}"),
        }
    }

    async fn serve(server: &MockServer, at: &str, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(response)
            .mount(server)
            .await;
    }

    fn body(next: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_string(next)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn only_the_first_request_is_conditional_and_its_validators_come_out() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/1"))
            .and(header("if-none-match", "\"v1\""))
            .respond_with(ResponseTemplate::new(304))
            .with_priority(1)
            .mount(&server)
            .await;
        serve(&server, "/1", body("/2").insert_header("etag", "\"v1\"")).await;
        serve(&server, "/2", body("").insert_header("etag", "\"v2\"")).await;
        let first = format!("{}/1", server.uri());
        let v1 = Validators {
            etag: Some("\"v1\"".into()),
            last_modified: None,
        };
        let cache = Cache::from([(first.clone(), v1.clone())]);

        // Nothing stored: the validators are not sent, every page is read.
        let out = read(first.clone(), false, cache.clone(), Chain::default()).await;
        let Ok(Paged::Read(validators)) = out.result else {
            panic!("{:?}", out.result)
        };
        assert_eq!(
            validators, v1,
            "the first page's validators, not the last's"
        );
        assert_eq!(out.chain.read, ["1 /1", "2 /2"]);
        let sent = |requests: &[wiremock::Request]| -> Vec<Option<String>> {
            requests
                .iter()
                .map(|r| {
                    let etag = r.headers.get("if-none-match")?;
                    etag.to_str().ok().map(str::to_owned)
                })
                .collect()
        };
        assert_eq!(
            sent(&server.received_requests().await.unwrap()),
            [None, None]
        );

        // Stored entries and stale validators: only the first request carries them.
        server.reset().await;
        serve(&server, "/1", body("/2").insert_header("etag", "\"v1\"")).await;
        serve(&server, "/2", body("").insert_header("etag", "\"v2\"")).await;
        let stale = Validators {
            etag: Some("\"v0\"".into()),
            last_modified: None,
        };
        let out = read(
            first.clone(),
            true,
            Cache::from([(first.clone(), stale)]),
            Chain::default(),
        )
        .await;
        assert!(matches!(out.result, Ok(Paged::Read(_))), "{:?}", out.result);
        assert_eq!(
            sent(&server.received_requests().await.unwrap()),
            [Some("\"v0\"".to_owned()), None]
        );

        // Entries stored: the first request is conditional, and its 304 ends the read.
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/1"))
            .and(header("if-none-match", "\"v1\""))
            .respond_with(ResponseTemplate::new(304))
            .mount(&server)
            .await;
        let out = read(first.clone(), true, cache, Chain::default()).await;
        assert!(
            matches!(out.result, Ok(Paged::NotModified)),
            "{:?}",
            out.result
        );
        assert!(out.chain.read.is_empty());
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_304_to_a_request_without_validators_is_an_error() {
        let server = MockServer::start().await;
        serve(&server, "/1", ResponseTemplate::new(304)).await;
        let first = format!("{}/1", server.uri());
        let out = read(first.clone(), true, Cache::new(), Chain::default()).await;
        let message = error_message(out.result);
        assert!(
            message.contains(&first) && message.contains("asked for no comparison"),
            "{message}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_next_page_already_read_ends_the_list_even_through_a_redirect() {
        let server = MockServer::start().await;
        serve(&server, "/1", body("/2")).await;
        serve(
            &server,
            "/2",
            ResponseTemplate::new(302).insert_header("location", "/3"),
        )
        .await;
        // Page 3 (reached as page 2) names itself as the next page.
        serve(&server, "/3", body("/3")).await;
        let out = read(
            format!("{}/1", server.uri()),
            false,
            Cache::new(),
            Chain::default(),
        )
        .await;
        assert!(matches!(out.result, Ok(Paged::Read(_))), "{:?}", out.result);
        assert_eq!(out.chain.read, ["1 /1", "2 /2"]);
        let to_3 = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/3")
            .count();
        assert_eq!(to_3, 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn more_pages_than_max_pages_is_an_error_not_a_truncated_list() {
        let server = MockServer::start().await;
        for n in 1..=5 {
            serve(&server, &format!("/{n}"), body(&format!("/{}", n + 1))).await;
        }
        let first = format!("{}/1", server.uri());
        let out = read(first.clone(), false, Cache::new(), Chain::default()).await;
        assert_eq!(out.chain.read.len(), 3);
        let message = error_message(out.result);
        assert!(
            message.starts_with(&format!("{first} leads to more than 3 pages (next: "))
                && message.contains("/4)")
                && message.contains("`http.max_pages`")
                && message.contains("how the source finds its next page"),
            "{message}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_failed_page_fails_the_read_unless_the_source_says_it_ends_the_list() {
        let server = MockServer::start().await;
        serve(&server, "/1", body("/2")).await;
        serve(&server, "/2", ResponseTemplate::new(404)).await;
        let first = format!("{}/1", server.uri());

        let out = read(first.clone(), false, Cache::new(), Chain::default()).await;
        let message = error_message(out.result);
        assert!(
            message.contains("/2") && message.contains("404"),
            "{message}"
        );

        let ends = Chain {
            ends_on_404: true,
            ..Chain::default()
        };
        let out = read(first, false, Cache::new(), ends).await;
        assert!(matches!(out.result, Ok(Paged::Read(_))), "{:?}", out.result);
        assert_eq!(out.chain.read, ["1 /1"]);

        // The first page failing is never the end of the list.
        let ends = Chain {
            ends_on_404: true,
            ..Chain::default()
        };
        let out = read(format!("{}/2", server.uri()), false, Cache::new(), ends).await;
        assert!(error_message(out.result).contains("404"));
    }

    #[test]
    fn only_validators_worth_sending_are_kept() {
        let settings = HttpSettings::default();
        let fetcher = Fetcher::new(&settings, "https://example.org/").expect("client");
        let first = Url::parse("https://x.example/list").unwrap();
        let pager = Pager::new("test", &fetcher, &first);
        assert!(pager.cache(Validators::default()).is_empty());
        let v = Validators {
            etag: None,
            last_modified: Some("Tue, 12 Mar 2024 09:30:00 GMT".into()),
        };
        assert_eq!(
            pager.cache(v.clone()),
            Cache::from([("https://x.example/list".to_owned(), v)])
        );
    }
}

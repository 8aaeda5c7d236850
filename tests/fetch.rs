//! The HTTP client every remote source uses, against servers on 127.0.0.1 that misbehave the
//! ways real sites do: a User-Agent naming crier, conditional requests, retries that honour
//! `Retry-After`, errors that are not retried, bodies that are too large (announced or not),
//! bodies that stall, redirect loops and redirects to other schemes, and a TLS certificate
//! that is not trusted. No test measures time: a stalled server stalls until crier hangs up,
//! and the attempts crier made are counted on the server's side.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::wait;

use crier::sources::http::{FetchError, Fetched, Fetcher, HttpSettings, Validators};
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn settings(extra: impl FnOnce(&mut HttpSettings)) -> HttpSettings {
    let mut s = HttpSettings {
        timeout: Duration::from_secs(1),
        retries: 2,
        retry_delay: Duration::from_millis(10),
        ..HttpSettings::default()
    };
    extra(&mut s);
    s
}

/// Runs a blocking fetch off the async runtime that serves the mock.
async fn get(
    settings: HttpSettings,
    url: String,
    validators: Option<Validators>,
) -> Result<Fetched, FetchError> {
    tokio::task::spawn_blocking(move || {
        let fetcher = Fetcher::new(&settings, "https://example.org/").expect("client");
        fetcher.get(&Url::parse(&url).unwrap(), validators.as_ref())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_a_user_agent_and_revalidates() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feed"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .insert_header("last-modified", "Tue, 12 Mar 2024 09:30:00 GMT")
                .set_body_string("hello"),
        )
        .mount(&server)
        .await;
    let url = format!("{}/feed", server.uri());

    let Fetched::Page(page) = get(settings(|_| {}), url.clone(), None).await.unwrap() else {
        panic!("expected a page")
    };
    assert_eq!(page.body, b"hello");
    assert_eq!(page.validators.etag.as_deref(), Some("\"v1\""));
    let agent = server.received_requests().await.unwrap()[0]
        .headers
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        agent,
        format!(
            "crier/{} (+https://example.org/)",
            env!("CARGO_PKG_VERSION")
        )
    );

    let again = get(settings(|_| {}), url, Some(page.validators)).await;
    assert!(matches!(again, Ok(Fetched::NotModified)), "{again:?}");
    // (wiremock's header matcher splits values at commas, so the date is checked here.)
    let requests = server.received_requests().await.unwrap();
    let since = requests[1].headers.get("if-modified-since").unwrap();
    assert_eq!(since.to_str().unwrap(), "Tue, 12 Mar 2024 09:30:00 GMT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_server_errors_but_not_client_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    Mock::given(path("/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_string("<h1>Not Found</h1>"))
        .mount(&server)
        .await;

    let ok = get(settings(|_| {}), format!("{}/flaky", server.uri()), None).await;
    assert!(matches!(ok, Ok(Fetched::Page(_))), "{ok:?}");

    let err = get(settings(|_| {}), format!("{}/gone", server.uri()), None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/gone") && text.contains("404") && text.contains("Not Found"),
        "{text}"
    );
    let gone = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/gone")
        .count();
    assert_eq!(gone, 1, "a 404 is not retried");

    // Three attempts in all, then the error.
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let err = get(settings(|_| {}), format!("{}/down", server.uri()), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    let down = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/down")
        .count();
    assert_eq!(down, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_bodies_over_the_limit() {
    let server = MockServer::start().await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 50_000_000]))
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = get(
        settings(|s| s.max_size = 10_000_000),
        format!("{}/big", server.uri()),
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("http.max_size"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Without a Content-Length the limit holds while reading.
    let url = raw_server(|mut stream| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        );
        let chunk = vec![b'y'; 65_536];
        for _ in 0..100 {
            let head = format!("{:x}\r\n", chunk.len());
            if stream.write_all(head.as_bytes()).is_err()
                || stream.write_all(&chunk).is_err()
                || stream.write_all(b"\r\n").is_err()
            {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    })
    .url;
    let err = get(settings(|s| s.max_size = 1_000_000), url, None)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_answer_times_out() {
    // Headers arrive, then the body never does.
    let server = raw_server(|mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial");
        hold_until_hang_up(stream);
    });
    let err = wait::guarded(
        "the fetch",
        get(settings(|s| s.retries = 1), server.url.clone(), None),
    )
    .await
    .unwrap_err();
    // The answer never completes: only crier's own timeout, the configured second, ends it.
    assert!(
        matches!(err, FetchError::Timeout { timeout, .. } if timeout == Duration::from_secs(1)),
        "{err:?}"
    );
    assert!(err.to_string().contains("http.timeout"), "{err}");
    // Two attempts, each ended by that timeout.
    assert_eq!(server.connections_after_at_least(2).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_limited_and_stay_on_http() {
    let server = MockServer::start().await;
    Mock::given(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/loop"))
        .mount(&server)
        .await;
    Mock::given(path("/hop/1"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/hop/2"))
        .mount(&server)
        .await;
    Mock::given(path("/hop/2"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/hop/3"))
        .mount(&server)
        .await;
    Mock::given(path("/hop/3"))
        .respond_with(ResponseTemplate::new(200).set_body_string("there"))
        .mount(&server)
        .await;
    Mock::given(path("/file"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "file:///etc/passwd"))
        .mount(&server)
        .await;

    let err = get(settings(|_| {}), format!("{}/loop", server.uri()), None)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Redirect { .. }), "{err:?}");
    assert!(err.to_string().contains("redirect loop"), "{err}");

    let Fetched::Page(page) = get(settings(|_| {}), format!("{}/hop/1", server.uri()), None)
        .await
        .unwrap()
    else {
        panic!("expected a page")
    };
    assert_eq!(page.url.path(), "/hop/3", "the final URL is reported");

    let err = get(
        settings(|s| s.max_redirects = 1),
        format!("{}/hop/1", server.uri()),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("more than 1 redirects"), "{err}");

    let err = get(settings(|_| {}), format!("{}/file", server.uri()), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("file:"), "{err}");

    let err = get(settings(|_| {}), "ftp://127.0.0.1/x".into(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Scheme { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused() {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let chain = vec![cert.cert.der().clone()];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1) {
            let Ok(mut stream) = stream else { return };
            let mut conn = rustls::ServerConnection::new(tls.clone()).unwrap();
            let mut tls_stream = rustls::Stream::new(&mut conn, &mut stream);
            // The handshake fails on the client's side; whatever happens here is ignored.
            let mut buf = [0u8; 1024];
            if tls_stream.read(&mut buf).is_ok() {
                let _ = tls_stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        }
    });
    let err = get(
        settings(|s| s.retries = 0),
        format!("https://127.0.0.1:{port}/feed"),
        None,
    )
    .await
    .unwrap_err();
    let text = err.to_string().to_lowercase();
    assert!(text.contains("certificate"), "{text}");
}

/// An HTTP server on 127.0.0.1 for behaviour wiremock cannot produce (stalled or
/// unannounced bodies), and the number of connections it has accepted.
struct RawServer {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl RawServer {
    /// The connections accepted, once there are at least `least`: the fetch may return
    /// before the server's thread has counted its last connection.
    async fn connections_after_at_least(&self, least: usize) -> usize {
        let count = || self.connections.load(Ordering::SeqCst);
        wait::until_async(&format!("{least} connections"), || count() >= least).await;
        count()
    }
}

/// Keeps a connection open, sending nothing more, until the client closes it.
fn hold_until_hang_up(mut stream: std::net::TcpStream) {
    let mut rest = [0u8; 64];
    while stream.read(&mut rest).is_ok_and(|n| n > 0) {}
}

/// A [`RawServer`] that answers every connection, each on its own thread, with `answer`.
fn raw_server(answer: fn(std::net::TcpStream)) -> RawServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            accepted.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                // Read the request head before answering.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                answer(stream);
            });
        }
    });
    RawServer {
        url: format!("http://127.0.0.1:{port}/"),
        connections,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_site_cannot_hold_a_read_past_its_budget() {
    let server = raw_server(|mut stream| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial");
        hold_until_hang_up(stream);
    });
    let url = server.url.clone();
    let settings = settings(|s| {
        s.timeout = Duration::from_secs(1);
        s.retries = 10;
        s.max_read_time = Duration::from_millis(1500);
    });
    let first_and_second = tokio::task::spawn_blocking(move || {
        let fetcher = Fetcher::new(&settings, "https://example.org/").expect("client");
        let url = Url::parse(&url).unwrap();
        (fetcher.get(&url, None), fetcher.get(&url, None))
    });
    let (first, second) = wait::guarded("the two fetches", first_and_second)
        .await
        .unwrap();
    // Ten retries were allowed; the budget of 1.5 s leaves room for two attempts of one
    // second's timeout, and none for the second request.
    let connections = server.connections_after_at_least(1).await;
    assert!((1..=2).contains(&connections), "{connections} attempts");
    let first = first.unwrap_err();
    assert!(matches!(first, FetchError::OutOfTime { .. }), "{first:?}");
    assert!(first.to_string().contains("http.max_read_time"), "{first}");
    // Later requests of the same read fail at once.
    let second = second.unwrap_err();
    assert!(matches!(second, FetchError::OutOfTime { .. }), "{second:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_retry_after_is_left_to_the_next_cycle() {
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    // Waiting out the hour would trip the hang guard.
    let fetch = get(settings(|_| {}), format!("{}/busy", server.uri()), None);
    let err = wait::guarded("the fetch", fetch).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status, .. } if status.as_u16() == 429),
        "{err:?}"
    );
    assert!(err.to_string().contains("429"), "{err}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no retry"
    );
}

//! The `html` source against a local web server: listing pagination, French dates,
//! canonical ids, conditional GET, and failures that stay local to one page.
//!
//! The fetcher is blocking, so every read runs on a blocking thread, never inside async code.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crier::config::Config;
use crier::sources::{self, Cache, Document, Outcome, Read, ReadInput, SourceError};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ENTRIES: [&str; 5] = ["gand", "kragujevac", "reggio", "madrid", "brouillon"];
const HTML: &str = "text/html; charset=utf-8";
const ETAG: &str = "\"v1\"";

fn fixture(name: &str) -> Vec<u8> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sources/html")
        .join(name);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// A valid config reading `{uri}/fr/prix/`; `http` is the body of `[sources.http]`.
fn config(uri: &str, http: &str) -> Config {
    let http = if http.contains("timeout") {
        http.to_owned()
    } else {
        format!("timeout = \"2s\"\n{http}")
    };
    let text = format!(
        r#"
[site]
title = "Villes"
base_url = "https://villes.example.org/"
languages = ["fr", "en"]
timezone = "Europe/Paris"

[[sources]]
type = "html"
name = "prix"
url = "{uri}/fr/prix/"

[sources.http]
retry_delay = "10ms"
{http}

[sources.listing]
links = ".laureats h2 a"
next = "a[rel=next]"

[sources.selectors]
published = ".date"
author = ".auteur"
categories = ".etiquettes a"
extra = {{ city = ".ville", country = ".pays", rank = ".rang" }}
"#
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("config parses");
    config.validate().expect("config is valid");
    config
}

/// Reads the config's only source on a blocking thread.
async fn read(
    config: &Config,
    known: &HashMap<String, String>,
    cache: &Cache,
) -> Result<Read, SourceError> {
    let (config, known, cache) = (config.clone(), known.clone(), cache.clone());
    tokio::task::spawn_blocking(move || {
        let source = sources::build(&config.site, &config.sources[0]);
        source.read(&ReadInput {
            known: &known,
            cache: &cache,
            now: chrono::Utc::now(),
            progress: crier::progress::Progress::ignored(),
        })
    })
    .await
    .expect("the read thread does not panic")
}

fn page(body: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(body, HTML)
        .insert_header("ETag", ETAG)
}

/// The two listing pages.
async fn mount_listing(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/fr/prix/"))
        .and(query_param_is_missing("page"))
        .respond_with(page(fixture("listing-1.html")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fr/prix/"))
        .and(query_param("page", "2"))
        .respond_with(page(fixture("listing-2.html")))
        .mount(server)
        .await;
}

/// Every entry page, except those in `except` (a test mounts its own there).
async fn mount_entries(server: &MockServer, except: &[&str]) {
    for name in ENTRIES.iter().filter(|n| !except.contains(n)) {
        let file = if *name == "brouillon" {
            "malformed.html".to_owned()
        } else {
            format!("{name}.html")
        };
        let response = if *name == "madrid" {
            // ISO-8859-1 bytes and no charset in the header: only `<meta http-equiv>` says so.
            ResponseTemplate::new(200)
                .set_body_raw(fixture(&file), "text/html")
                .insert_header("ETag", ETAG)
        } else {
            page(fixture(&file))
        };
        Mock::given(method("GET"))
            .and(path(format!("/fr/prix/{name}/")))
            .respond_with(response)
            .mount(server)
            .await;
    }
}

async fn site() -> (MockServer, Config) {
    let server = MockServer::start().await;
    mount_listing(&server).await;
    mount_entries(&server, &[]).await;
    let config = config(&server.uri(), "");
    (server, config)
}

fn doc<'a>(read: &'a Read, uri: &str, name: &str) -> &'a Document {
    let key = format!("{uri}/fr/prix/{name}/");
    read.documents
        .iter()
        .find(|d| d.key == key)
        .unwrap_or_else(|| panic!("no document {key}"))
}

fn failure(document: &Document) -> String {
    match &document.outcome {
        Outcome::Failed(e) => e.to_string(),
        other => panic!("{}: expected a failure, got {other:?}", document.key),
    }
}

/// What the store would hold after `read`: the fingerprints of parsed documents.
fn stored(read: &Read) -> HashMap<String, String> {
    read.documents
        .iter()
        .filter(|d| matches!(d.outcome, Outcome::Parsed(_)))
        .map(|d| (d.key.clone(), d.fingerprint.clone()))
        .collect()
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_listing_pages_lead_to_every_entry() {
    let (server, config) = site().await;
    let uri = server.uri();
    let read = read(&config, &HashMap::new(), &Cache::new()).await.unwrap();

    let keys: Vec<String> = read.documents.iter().map(|d| d.key.clone()).collect();
    let expected: Vec<String> = ENTRIES
        .iter()
        .map(|n| format!("{uri}/fr/prix/{n}/"))
        .collect();
    assert_eq!(keys, expected, "in listing order, each once");

    let entry = |name| match &doc(&read, &uri, name).outcome {
        Outcome::Parsed(e) => e.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let gand = entry("gand");
    assert_eq!(gand.id, "prix:https://villes.example.org/fr/prix/gand/");
    assert_eq!(gand.url, "https://villes.example.org/fr/prix/gand/");
    assert_eq!(gand.guid, gand.url);
    assert_eq!(gand.published.to_rfc3339(), "2024-03-12T09:30:00+01:00");
    assert_eq!(gand.language, "fr");
    assert_eq!(gand.categories, ["Éducation", "Jeunesse"]);
    let place = gand.place.as_ref().unwrap();
    assert_eq!(place.city.as_deref(), Some("Gand"));
    assert_eq!(place.country.as_deref(), Some("Belgique"));
    assert_eq!(gand.extra["rank"], "1er prix");
    assert!(gand.summary.starts_with("Premier prix Dosta!"));

    let kragujevac = entry("kragujevac");
    assert_eq!(kragujevac.id, format!("prix:{uri}/fr/prix/kragujevac/"));
    assert_eq!(
        kragujevac.published.to_rfc3339(),
        "2024-04-01T00:00:00+02:00"
    );
    assert!(kragujevac.summary.starts_with("Les trois premières années"));

    let reggio = entry("reggio");
    assert_eq!(
        reggio.id,
        format!("prix:{uri}/fr/prix/reggio/"),
        "no canonical link"
    );
    assert_eq!(reggio.published.to_rfc3339(), "2023-06-05T14:30:00+02:00");

    let madrid = entry("madrid");
    assert_eq!(madrid.title, "Madrid - Médiateurs de quartier");
    assert_eq!(madrid.published.to_rfc3339(), "2023-11-20T00:00:00+01:00");

    let broken = failure(doc(&read, &uri, "brouillon"));
    assert!(
        broken.contains("/fr/prix/brouillon/")
            && broken.contains("`selectors.published` (`.date`)"),
        "{broken}"
    );
    assert!(broken.contains("crier check"), "{broken}");

    // With a page failed, the listing's validators are not kept: a 304 on the listing would
    // keep the failed page from being fetched again.
    assert!(!read.cache.contains_key(&format!("{uri}/fr/prix/")));
    assert!(read.cache.contains_key(&format!("{uri}/fr/prix/gand/")));
    assert!(
        !read
            .cache
            .contains_key(&format!("{uri}/fr/prix/brouillon/")),
        "a failed page is fetched again next time"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_listing_costs_one_request() {
    let (server, config) = site().await;
    // Every page reads: the broken one is repaired (as a page without a canonical link).
    Mock::given(method("GET"))
        .and(path("/fr/prix/brouillon/"))
        .respond_with(page(fixture("reggio.html")))
        .with_priority(1)
        .mount(&server)
        .await;
    let first = read(&config, &HashMap::new(), &Cache::new()).await.unwrap();
    assert_eq!(
        first.cache[&format!("{}/fr/prix/", server.uri())]
            .etag
            .as_deref(),
        Some(ETAG)
    );
    let known = stored(&first);
    Mock::given(method("GET"))
        .and(path("/fr/prix/"))
        .and(header("If-None-Match", ETAG))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;

    let before = requests(&server).await;
    let second = read(&config, &known, &first.cache).await.unwrap();
    assert_eq!(requests(&server).await - before, 1);
    assert_eq!(second.documents.len(), known.len());
    for d in &second.documents {
        assert!(matches!(d.outcome, Outcome::Unchanged), "{}", d.key);
        assert_eq!(known[&d.key], d.fingerprint);
    }
    assert_eq!(second.cache, first.cache);
}

#[tokio::test(flavor = "multi_thread")]
async fn entry_pages_answering_304_are_not_parsed_again() {
    let (server, config) = site().await;
    let uri = server.uri();
    let first = read(&config, &HashMap::new(), &Cache::new()).await.unwrap();
    let known = stored(&first);
    // The listing changed (no 304 for it); the entry pages did not.
    Mock::given(method("GET"))
        .and(header("If-None-Match", ETAG))
        .and(wiremock::matchers::path_regex("^/fr/prix/[a-z]+/$"))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;

    let second = read(&config, &known, &first.cache).await.unwrap();
    for name in ["gand", "kragujevac", "reggio", "madrid"] {
        let d = doc(&second, &uri, name);
        assert!(matches!(d.outcome, Outcome::Unchanged), "{name}");
        assert_eq!(d.fingerprint, known[&d.key]);
    }
    failure(doc(&second, &uri, "brouillon"));
    let not_modified = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() != "/fr/prix/" && r.headers.contains_key("if-none-match"))
        .count();
    assert_eq!(
        not_modified, 4,
        "only pages the store knows are asked conditionally"
    );
    assert_eq!(second.cache, first.cache);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_body_is_unchanged_without_validators() {
    let (server, config) = site().await;
    let uri = server.uri();
    let first = read(&config, &HashMap::new(), &Cache::new()).await.unwrap();
    let known = stored(&first);
    let second = read(&config, &known, &Cache::new()).await.unwrap();
    assert!(matches!(
        doc(&second, &uri, "gand").outcome,
        Outcome::Unchanged
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_error_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/fr/prix/"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_listing(&server).await;
    mount_entries(&server, &[]).await;
    let config = config(&server.uri(), "retries = 1");
    let read = read(&config, &HashMap::new(), &Cache::new()).await.unwrap();
    assert_eq!(read.documents.len(), ENTRIES.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_that_keeps_failing_fails_the_source() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/fr/prix/"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_listing(&server).await;
    mount_entries(&server, &[]).await;
    let config = config(&server.uri(), "retries = 1");
    let err = read(&config, &HashMap::new(), &Cache::new())
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Remote { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("page=2") && message.contains("503"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_entry_page_fails_alone() {
    let server = MockServer::start().await;
    mount_listing(&server).await;
    mount_entries(&server, &["kragujevac"]).await;
    Mock::given(method("GET"))
        .and(path("/fr/prix/kragujevac/"))
        .respond_with(page(fixture("kragujevac.html")).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let config = config(&server.uri(), "retries = 0\ntimeout = \"300ms\"");
    let read = read(&config, &HashMap::new(), &Cache::new()).await.unwrap();
    // The page answers after 5 s: only the configured 300 ms can have ended its request.
    let message = failure(doc(&read, &server.uri(), "kragujevac"));
    assert!(message.contains("no complete answer"), "{message}");
    assert!(message.contains("within 300ms"), "{message}");
    assert!(matches!(
        doc(&read, &server.uri(), "gand").outcome,
        Outcome::Parsed(_)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_entry_page_fails_alone() {
    let server = MockServer::start().await;
    mount_listing(&server).await;
    mount_entries(&server, &["madrid"]).await;
    Mock::given(method("GET"))
        .and(path("/fr/prix/madrid/"))
        .respond_with(page(vec![b' '; 50_000_000]))
        .mount(&server)
        .await;
    let config = config(&server.uri(), "max_size = \"5MB\"");
    let read = read(&config, &HashMap::new(), &Cache::new()).await.unwrap();
    let message = failure(doc(&read, &server.uri(), "madrid"));
    assert!(message.contains("max_size"), "{message}");
    assert!(matches!(
        doc(&read, &server.uri(), "reggio").outcome,
        Outcome::Parsed(_)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_loop_on_the_listing_is_an_error() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(path("/fr/prix/"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/fr/laureats/"))
        .mount(&server)
        .await;
    Mock::given(path("/fr/laureats/"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", "/fr/prix/"))
        .mount(&server)
        .await;
    let config = config(&uri, "");
    let err = read(&config, &HashMap::new(), &Cache::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redirect"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_longer_than_max_pages_is_an_error() {
    let (server, _) = site().await;
    let config = config(&server.uri(), "max_pages = 1");
    let err = read(&config, &HashMap::new(), &Cache::new())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("http.max_pages") && message.contains("page=2"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_next_link_back_to_a_read_page_ends_the_listing() {
    let server = MockServer::start().await;
    let looping = String::from_utf8(fixture("listing-2.html"))
        .unwrap()
        .replace(r#"rel="prev""#, r#"rel="next""#);
    Mock::given(path("/fr/prix/"))
        .and(query_param("page", "2"))
        .respond_with(page(looping.into_bytes()))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_listing(&server).await;
    mount_entries(&server, &[]).await;
    let config = config(&server.uri(), "max_pages = 5");
    let read = read(&config, &HashMap::new(), &Cache::new()).await.unwrap();
    assert_eq!(read.documents.len(), ENTRIES.len());
    let listing_requests = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/fr/prix/")
        .count();
    assert_eq!(listing_requests, 2);
}

//! The `json` source against a mock API on 127.0.0.1: the WordPress preset over two pages,
//! one 304 for an unchanged source, the three kinds of pagination, and every way a server
//! can fail (5xx, hanging, huge, redirect loop, not JSON, too many pages), each failing the
//! whole source with a message that names the URL and the setting to look at.
//!
//! The fetcher is blocking, so reads run on `spawn_blocking` threads, never inside the
//! runtime that drives the mock server.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crier::config::Config;
use crier::sources::{self, Cache, Outcome, Read, ReadInput, Source, SourceError};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROJECTS: &str = "/wp-json/wp/v2/projects";

/// Builds the first source of a config whose `[[sources]]` table is `type = "json"`, `url`,
/// then `body`; `http` goes into `[sources.http]` over fast test defaults.
fn source(url: &str, body: &str, http: &str) -> Arc<dyn Source> {
    let defaults: String = ["retry_delay = \"10ms\"", "timeout = \"1s\""]
        .iter()
        .filter(|line| !http.contains(line.split(' ').next().unwrap_or_default()))
        .map(|line| format!("{line}\n"))
        .collect();
    let text = format!(
        "[site]\ntitle = \"Dosta! cities\"\nbase_url = \"https://network.example.org/\"\n\
         languages = [\"en\", \"fr\"]\ntimezone = \"Europe/Brussels\"\n\n\
         [[sources]]\ntype = \"json\"\nname = \"cities\"\nurl = \"{url}\"\n{body}\n\
         [sources.http]\n{defaults}{http}\n"
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("config parses");
    config.validate().expect("config is valid");
    Arc::from(sources::build(&config.site, &config.sources[0]))
}

/// Fields of the small generic API used for pagination tests.
const GENERIC: &str =
    "[sources.fields]\nid = \"/id\"\ntitle = \"/title\"\nurl = \"/url\"\npublished = \"/date\"\n";

/// Reads on a blocking thread with what a previous read left.
async fn read(
    source: &Arc<dyn Source>,
    known: HashMap<String, String>,
    cache: Cache,
) -> Result<Read, SourceError> {
    let source = Arc::clone(source);
    tokio::task::spawn_blocking(move || {
        source.read(&ReadInput {
            known: &known,
            cache: &cache,
            now: chrono::Utc::now(),
            progress: crier::progress::Progress::ignored(),
        })
    })
    .await
    .expect("read thread")
}

async fn first_read(source: &Arc<dyn Source>) -> Result<Read, SourceError> {
    read(source, HashMap::new(), Cache::new()).await
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/sources/json/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Generic items `first..=last`.
fn items(first: u32, last: u32) -> Vec<Value> {
    (first..=last)
        .map(|n| {
            json!({
                "id": n,
                "title": format!("Project {n}"),
                "url": format!("https://cities.example.eu/projects/{n}"),
                "date": format!("2024-03-{n:02}T10:00:00Z"),
            })
        })
        .collect()
}

fn parsed_ids(read: &Read) -> Vec<String> {
    read.documents
        .iter()
        .filter_map(|d| match &d.outcome {
            Outcome::Parsed(e) => Some(e.id.clone()),
            _ => None,
        })
        .collect()
}

fn remote_message(result: Result<Read, SourceError>) -> String {
    match result {
        Err(SourceError::Remote { message, .. }) => message,
        other => panic!("expected the source to fail, got {other:?}"),
    }
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn wordpress_over_two_pages_then_one_304() {
    let server = MockServer::start().await;
    let next = format!("{}{PROJECTS}?_embed&per_page=100&page=2", server.uri());
    Mock::given(method("GET"))
        .and(path(PROJECTS))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(PROJECTS))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json; charset=UTF-8")
                .insert_header("x-wp-totalpages", "2")
                .set_body_string(fixture("wp-posts-page2.json")),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(PROJECTS))
        .and(query_param("_embed", ""))
        .and(query_param("per_page", "100"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json; charset=UTF-8")
                .insert_header("etag", "\"v1\"")
                .insert_header("x-wp-total", "6")
                .insert_header("x-wp-totalpages", "2")
                .insert_header("link", format!("<{next}>; rel=\"next\"").as_str())
                .set_body_string(fixture("wp-posts-page1.json")),
        )
        .with_priority(3)
        .mount(&server)
        .await;
    let wp = source(
        &format!("{}{PROJECTS}", server.uri()),
        "preset = \"wordpress\"",
        "",
    );

    let read1 = first_read(&wp).await.expect("first read");
    assert_eq!(
        parsed_ids(&read1),
        [
            "cities:214",
            "cities:213",
            "cities:188",
            "cities:190",
            "cities:175",
            "cities:160"
        ]
    );
    assert_eq!(requests(&server).await, 2);
    let first_url = format!("{}{PROJECTS}?_embed&per_page=100", server.uri());
    assert_eq!(
        read1.cache.get(&first_url).and_then(|v| v.etag.as_deref()),
        Some("\"v1\"")
    );
    let Outcome::Parsed(ghent_fr) = &read1.documents[3].outcome else {
        panic!("page 2 parsed")
    };
    assert_eq!(ghent_fr.language, "fr");
    assert_eq!(ghent_fr.translation_key, "cities:188");
    assert_eq!(
        ghent_fr.place.as_ref().unwrap().city.as_deref(),
        Some("Gand")
    );

    let known: HashMap<String, String> = read1
        .documents
        .iter()
        .map(|d| (d.key.clone(), d.fingerprint.clone()))
        .collect();
    let read2 = read(&wp, known.clone(), read1.cache.clone())
        .await
        .expect("second read");
    assert_eq!(requests(&server).await, 3, "one conditional request");
    assert_eq!(read2.documents.len(), 6);
    assert!(
        read2
            .documents
            .iter()
            .all(|d| matches!(d.outcome, Outcome::Unchanged) && known[&d.key] == d.fingerprint)
    );
    assert_eq!(read2.cache, read1.cache);

    // Without validators (a full read) every page is fetched, but nothing is mapped again.
    let read3 = read(&wp, known, Cache::new()).await.expect("full read");
    assert_eq!(requests(&server).await, 5);
    assert!(
        read3
            .documents
            .iter()
            .all(|d| matches!(d.outcome, Outcome::Unchanged))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn page_numbers_until_a_short_page() {
    let server = MockServer::start().await;
    for (page, body) in [("1", items(1, 2)), ("2", items(3, 4)), ("3", items(5, 5))] {
        Mock::given(method("GET"))
            .and(path("/api/projects"))
            .and(query_param("p", page))
            .and(query_param("limit", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": body })))
            .mount(&server)
            .await;
    }
    let api = source(
        &format!("{}/api/projects", server.uri()),
        &format!(
            "[sources.pagination]\nkind = \"page\"\nparam = \"p\"\nper_page_param = \"limit\"\nper_page = 2\n\
             {GENERIC}items = \"data\"\n"
        ),
        "",
    );
    let read = first_read(&api).await.expect("read");
    assert_eq!(parsed_ids(&read).len(), 5);
    assert_eq!(requests(&server).await, 3, "page 3 is short: no page 4");
}

#[tokio::test(flavor = "multi_thread")]
async fn page_numbers_until_wordpress_says_400() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items(1, 3)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": "rest_post_invalid_page_number",
            "message": "The page number requested is larger than the number of pages available.",
            "data": {"status": 400}
        })))
        .mount(&server)
        .await;
    let api = source(
        &format!("{}/list", server.uri()),
        &format!("[sources.pagination]\nkind = \"page\"\n{GENERIC}"),
        "",
    );
    let read = first_read(&api)
        .await
        .expect("400 past the last page ends the list");
    assert_eq!(parsed_ids(&read).len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_ignores_the_page_number_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items(1, 3)))
        .mount(&server)
        .await;
    let api = source(
        &format!("{}/list", server.uri()),
        &format!("[sources.pagination]\nkind = \"page\"\n{GENERIC}"),
        "",
    );
    let message = remote_message(first_read(&api).await);
    assert!(message.contains("pagination"), "{message}");
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn next_urls_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("cursor", "b"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"results": items(3, 4), "links": {"next": null}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param_is_missing("cursor"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"results": items(1, 2), "links": {"next": "/feed?cursor=b"}}),
            ),
        )
        .mount(&server)
        .await;
    let api = source(
        &format!("{}/feed", server.uri()),
        &format!(
            "[sources.pagination]\nkind = \"next\"\nnext = \"links.next\"\n{GENERIC}items = \"results\"\n"
        ),
        "",
    );
    let read = first_read(&api).await.expect("read");
    assert_eq!(
        parsed_ids(&read),
        ["cities:1", "cities:2", "cities:3", "cities:4"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn link_headers_by_default() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items(3, 3)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    "</list?page=2>; rel=\"next\", </list>; rel=\"first\"",
                )
                .set_body_json(items(1, 2)),
        )
        .mount(&server)
        .await;
    let api = source(&format!("{}/list", server.uri()), GENERIC, "");
    let read = first_read(&api).await.expect("read");
    assert_eq!(parsed_ids(&read), ["cities:1", "cities:2", "cities:3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_is_retried_within_the_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(items(1, 2)))
        .with_priority(2)
        .mount(&server)
        .await;
    let api = source(&format!("{}/list", server.uri()), GENERIC, "");
    let read = first_read(&api).await.expect("the retry succeeds");
    assert_eq!(parsed_ids(&read).len(), 2);
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lasting_500_fails_the_source_naming_the_url() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("database is down"))
        .mount(&server)
        .await;
    let url = format!("{}/list", server.uri());
    let api = source(&url, GENERIC, "");
    let message = remote_message(first_read(&api).await);
    assert!(
        message.contains(&url) && message.contains("500"),
        "{message}"
    );
    assert_eq!(requests(&server).await, 3, "the first try and two retries");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(items(1, 1))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let api = source(
        &format!("{}/list", server.uri()),
        GENERIC,
        "timeout = \"300ms\"\nretries = 1\n",
    );
    let message = remote_message(first_read(&api).await);
    // The server answers after 5 s: only the configured 300 ms can have ended the requests.
    assert!(message.contains("http.timeout"), "{message}");
    assert!(message.contains("within 300ms"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_answer_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b' '; 50_000_000]))
        .mount(&server)
        .await;
    let api = source(
        &format!("{}/list", server.uri()),
        GENERIC,
        "max_size = \"10MB\"\n",
    );
    let message = remote_message(first_read(&api).await);
    assert!(message.contains("http.max_size"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_loop_is_an_error() {
    let server = MockServer::start().await;
    let url = format!("{}/list", server.uri());
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", url.as_str()))
        .mount(&server)
        .await;
    let api = source(&url, GENERIC, "");
    let message = remote_message(first_read(&api).await);
    assert!(message.contains("redirect"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_names_the_url_and_the_place() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("[{\"id\": 1,\n \"title\": \"x\",,}]"),
        )
        .mount(&server)
        .await;
    let url = format!("{}/list", server.uri());
    let api = source(&url, GENERIC, "");
    let message = remote_message(first_read(&api).await);
    assert!(
        message.contains(&url) && message.contains("line 2"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_missing_a_field_fails_alone() {
    let server = MockServer::start().await;
    let mut list = items(1, 3);
    list[1].as_object_mut().unwrap().remove("date");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .mount(&server)
        .await;
    let api = source(&format!("{}/list", server.uri()), GENERIC, "");
    let read = first_read(&api).await.expect("read");
    assert_eq!(parsed_ids(&read), ["cities:1", "cities:3"]);
    let Outcome::Failed(error) = &read.documents[1].outcome else {
        panic!("the item without a date fails")
    };
    assert_eq!(read.documents[1].key, "2");
    assert!(error.location.ends_with("item 1 (id 2)"), "{error}");
    assert!(error.message.contains("`fields.published`"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn more_pages_than_max_pages_is_an_error() {
    let server = MockServer::start().await;
    for page in 1..=5 {
        let answer = ResponseTemplate::new(200)
            .insert_header(
                "link",
                format!("</list?page={}>; rel=\"next\"", page + 1).as_str(),
            )
            .set_body_json(items(page, page));
        let mock = Mock::given(method("GET"));
        let mock = if page == 1 {
            mock.and(query_param_is_missing("page"))
        } else {
            mock.and(query_param("page", page.to_string()))
        };
        mock.respond_with(answer).mount(&server).await;
    }
    let api = source(
        &format!("{}/list", server.uri()),
        GENERIC,
        "max_pages = 3\n",
    );
    let message = remote_message(first_read(&api).await);
    assert!(message.contains("http.max_pages"), "{message}");
    assert_eq!(requests(&server).await, 3);
}

//! The optional health and metrics listener of the daemon: `/healthz` answers 200 while a
//! cycle succeeded recently (every source read, every document parsed: the job's definition)
//! and no source has been failing for long, and 503 with a JSON reason otherwise; `/metrics`
//! exposes cycles, entries, deliveries and each source's errors in the Prometheus text
//! format; `/feeds/…` can serve the feeds folder with validators (`ETag`,
//! `Last-Modified`) for setups without a web server; and `/preview`, when asked for, serves
//! the preview page of the posts waiting (`crier preview`), rendered from the state database
//! with the config in force, reading no entry page and sending nothing.
//!
//! The daemon writes what it knows of its cycles into a shared [`HealthState`]; the listener
//! only reads it, and reads the state database (read-only, off the async threads) on each
//! request, so the numbers are those of the database, not of a cache that could drift: the
//! run journal (which also covers the time before this process's first cycle) and each
//! source's read health.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::job::JobOutcome;
use crate::engine::preview;
use crate::store::{RunOutcome, SourceHealth, Store};

mod files;
mod metrics;
pub mod probe;

/// How long in-flight responses get to finish once shutdown is requested.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// A client must send its request head within this time (slow clients hold a connection).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 256;

/// Settings of the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// Address to listen on (`127.0.0.1:…` unless the operator chooses otherwise).
    pub listen: SocketAddr,
    /// `/healthz` answers 503 when the last successful cycle is older than this.
    pub max_age: Duration,
    /// `/healthz` answers 503 when a source has failed every read for longer than this.
    pub source_max_age: Duration,
    /// Feeds folder to serve under `/feeds/`; `None` serves no files.
    pub serve_feeds: Option<PathBuf>,
}

/// Shared between the daemon (writer) and the listener (reader).
#[derive(Debug, Default)]
pub struct HealthState {
    inner: Mutex<Snapshot>,
    /// The config in force, which `/preview` renders the posts with (templates, limits, caps).
    config: Mutex<Option<Arc<Config>>>,
}

/// What the daemon has reported so far.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    /// Start of the cycle in progress, if one is.
    running_since: Option<DateTime<Utc>>,
    /// The last finished cycle.
    last: Option<Finished>,
    /// End of the last successful cycle.
    last_success: Option<DateTime<Utc>>,
    /// Cycles finished, by outcome.
    ok: u64,
    partial: u64,
    failed: u64,
    /// Durations of finished cycles.
    durations: metrics::Histogram,
}

/// A finished cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finished {
    at: DateTime<Utc>,
    outcome: RunOutcome,
    message: Option<String>,
}

impl HealthState {
    /// A cycle began at `at`.
    pub fn cycle_started(&self, at: DateTime<Utc>) {
        self.lock().running_since = Some(at);
    }

    /// A job's cycle ended at `at` after `duration`, with `result`: an error is a failed
    /// cycle, an outcome counts as the job decided ([`JobOutcome::outcome`]).
    pub fn job_finished(
        &self,
        at: DateTime<Utc>,
        duration: Duration,
        result: &anyhow::Result<JobOutcome>,
    ) {
        let (outcome, message) = match result {
            Ok(job) => (job.outcome(), job.cycle.errors.first().cloned()),
            Err(e) => (RunOutcome::Failed, Some(format!("{e:#}"))),
        };
        self.cycle_finished(at, duration, outcome, message);
    }

    /// A cycle ended at `at` after `duration` with `outcome`; `message` says why when it did
    /// not succeed.
    pub fn cycle_finished(
        &self,
        at: DateTime<Utc>,
        duration: Duration,
        outcome: RunOutcome,
        message: Option<String>,
    ) {
        let mut inner = self.lock();
        inner.running_since = None;
        match outcome {
            RunOutcome::Ok => {
                inner.ok += 1;
                inner.last_success = Some(at);
            }
            RunOutcome::Partial => inner.partial += 1,
            RunOutcome::Failed => inner.failed += 1,
        }
        inner.durations.observe(duration.as_secs_f64());
        inner.last = Some(Finished {
            at,
            outcome,
            message,
        });
    }

    /// The config in force: at the start and after each reload.
    pub fn set_config(&self, config: Arc<Config>) {
        *self.config.lock().unwrap_or_else(PoisonError::into_inner) = Some(config);
    }

    fn config(&self) -> Option<Arc<Config>> {
        self.config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn snapshot(&self) -> Snapshot {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        // Plain counters and times: a writer that panicked cannot leave them half-updated in a
        // way that matters more than losing the health endpoint would.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The listener, bound but not yet serving; [`HealthServer::local_addr`] gives the port
/// chosen for `…:0`.
#[derive(Debug)]
pub struct HealthServer {
    listener: TcpListener,
    addr: SocketAddr,
    config: HealthConfig,
    /// Serve `/preview` ([`HealthServer::with_preview`]).
    preview: bool,
}

impl HealthServer {
    /// Binds `config.listen`, so that a port already in use is reported before serving.
    pub async fn bind(config: HealthConfig) -> io::Result<HealthServer> {
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot listen on {} for health and metrics: {e}",
                    config.listen
                ),
            )
        })?;
        HealthServer::from_listener(listener, config)
    }

    /// Serves on a listener the caller has already bound (a test binds `127.0.0.1:0` and keeps
    /// the socket, so no other process can take the port in between); the listener's address
    /// replaces `config.listen`.
    pub fn from_listener(listener: TcpListener, config: HealthConfig) -> io::Result<HealthServer> {
        let addr = listener.local_addr()?;
        Ok(HealthServer {
            listener,
            addr,
            config: HealthConfig {
                listen: addr,
                ..config
            },
            preview: false,
        })
    }

    /// Also serves `/preview`: the posts waiting, as [`HealthState::set_config`]'s config
    /// renders them. It shows posts not published yet, hence off unless asked for.
    pub fn with_preview(mut self) -> HealthServer {
        self.preview = true;
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` is cancelled, then stops accepting and gives in-flight
    /// responses a few seconds to finish.
    pub async fn run(
        self,
        state: Arc<HealthState>,
        store_path: PathBuf,
        shutdown: CancellationToken,
    ) -> io::Result<()> {
        let HealthServer {
            listener,
            addr,
            config,
            preview,
        } = self;
        tracing::info!(
            listen = %addr,
            feeds = config.serve_feeds.is_some(),
            preview,
            "health listener started"
        );
        let shared = Arc::new(Shared {
            state,
            store_path,
            config,
            preview,
        });
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            // Out of file descriptors, say: wait a little rather than spin.
                            tracing::warn!(error = %e, "health listener cannot accept");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    if connections.len() >= MAX_CONNECTIONS {
                        tracing::debug!(%peer, "health listener busy, connection closed");
                        continue;
                    }
                    connections.spawn(connection(stream, shared.clone(), shutdown.clone()));
                }
            }
        }
        drop(listener);
        let drain = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
            tracing::debug!(
                connections = connections.len(),
                "health listener: closing slow connections"
            );
            connections.shutdown().await;
        }
        tracing::info!("health listener stopped");
        Ok(())
    }
}

/// Binds `config.listen` and serves until `shutdown` is cancelled. Use [`HealthServer`]
/// directly to learn the port bound for `…:0` before serving.
pub async fn serve(
    config: HealthConfig,
    state: Arc<HealthState>,
    store_path: PathBuf,
    shutdown: CancellationToken,
) -> io::Result<()> {
    HealthServer::bind(config)
        .await?
        .run(state, store_path, shutdown)
        .await
}

/// What every request handler needs.
struct Shared {
    state: Arc<HealthState>,
    store_path: PathBuf,
    config: HealthConfig,
    preview: bool,
}

async fn connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(route(&shared, req).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown.cancelled() => {
            // Finishes the response in flight, if any, then closes the connection.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "health connection ended with an error");
    }
}

/// The endpoints.
enum Route<'a> {
    Health,
    Metrics,
    Preview,
    /// The feeds folder and the path asked for under it.
    Feed(&'a Path, &'a str),
}

async fn route(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let route = match path {
        "/healthz" => Route::Health,
        "/metrics" => Route::Metrics,
        "/preview" if shared.preview => Route::Preview,
        _ => match (path.strip_prefix("/feeds/"), &shared.config.serve_feeds) {
            (Some(rest), Some(root)) => Route::Feed(root, rest),
            _ => return text(StatusCode::NOT_FOUND, "not found\n"),
        },
    };
    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
    };
    let response = match route {
        Route::Health => healthz(shared).await,
        Route::Metrics => metrics(shared).await,
        Route::Preview => preview_page(shared).await,
        Route::Feed(root, rest) => {
            files::serve(root.to_owned(), rest.to_owned(), req.headers()).await
        }
    };
    if head {
        // hyper sends no body for HEAD; drop it here and keep the length it would have had.
        let (parts, body) = response.into_parts();
        let mut response = Response::from_parts(parts, Full::new(Bytes::new()));
        if let Some(len) = hyper::body::Body::size_hint(&body).exact()
            && response.status() != StatusCode::NOT_MODIFIED
        {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        return response;
    }
    response
}

/// `/healthz`: the daemon's own report of its cycles, completed by the state database's run
/// journal (so that a restart does not read as unhealthy until the next scheduled cycle), and
/// the read health of the sources.
async fn healthz(shared: &Shared) -> Response<Full<Bytes>> {
    let snapshot = shared.state.snapshot();
    let journal = journal(shared.store_path.clone()).await;
    let facts = Facts {
        last: snapshot.last.or(journal.last),
        // The later of the two (`None` is earlier than any time): the journal's is the
        // later one after a restart, the daemon's when the journal could not be written.
        last_success: snapshot.last_success.max(journal.last_success),
        running_since: snapshot.running_since,
        sources: journal.sources,
    };
    let (status, body) = verdict(&facts, Utc::now(), &shared.config);
    let mut response = Response::new(Full::new(Bytes::from(body.to_string() + "\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(response)
}

/// What `/healthz` judges from.
#[derive(Debug, Default)]
struct Facts {
    /// The last finished cycle.
    last: Option<Finished>,
    /// When the last successful cycle ended.
    last_success: Option<DateTime<Utc>>,
    /// Start of the cycle in progress.
    running_since: Option<DateTime<Utc>>,
    /// Each source's read health.
    sources: Vec<SourceHealth>,
}

/// What the state database says: its journal's last run and last successful run, and the
/// sources' read health. Empty when there is no database yet or it cannot be read (logged).
async fn journal(store_path: PathBuf) -> Facts {
    let read = tokio::task::spawn_blocking(move || {
        let Some(store) = Store::open_read_only(&store_path)? else {
            return Ok(None);
        };
        Ok::<_, crate::store::StoreError>(Some((store.status()?, store.source_health()?)))
    })
    .await;
    let (status, sources) = match read {
        Ok(Ok(Some(read))) => read,
        Ok(Ok(None)) => return Facts::default(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check cannot read the state database");
            return Facts::default();
        }
        Err(e) => {
            tracing::warn!(error = %e, "health check: reading the state database failed");
            return Facts::default();
        }
    };
    Facts {
        last: status.last_run.map(|run| Finished {
            at: run.finished_at,
            outcome: run.outcome,
            message: run.message,
        }),
        last_success: status
            .last_success
            .as_deref()
            .and_then(crate::store::parse_timestamp),
        running_since: None,
        sources,
    }
}

/// The answer of `/healthz`, from what is known of the cycles and the sources. The most
/// specific reason wins: a failed cycle, then a source failing for too long, then the age of
/// the last success. A source failing at all is listed, whatever the verdict.
fn verdict(
    facts: &Facts,
    now: DateTime<Utc>,
    config: &HealthConfig,
) -> (StatusCode, serde_json::Value) {
    let mut body = serde_json::Map::new();
    let age = facts
        .last_success
        .map(|at| (now - at).num_seconds().max(0) as u64);
    if let (Some(at), Some(age)) = (facts.last_success, age) {
        body.insert("last_success".into(), json!(rfc3339(at)));
        body.insert("age_seconds".into(), json!(age));
    }
    if let Some(since) = facts.running_since {
        body.insert("cycle_running_since".into(), json!(rfc3339(since)));
    }
    let failing: Vec<&SourceHealth> = facts.sources.iter().filter(|s| s.is_failing()).collect();
    if !failing.is_empty() {
        let listed = failing.iter().map(|s| failing_source(s, now)).collect();
        body.insert("failing_sources".into(), serde_json::Value::Array(listed));
    }
    let failing_too_long = failing
        .iter()
        .map(|s| (s, failing_for(s, now)))
        .filter(|(_, seconds)| *seconds > config.source_max_age.as_secs())
        .max_by_key(|(_, seconds)| *seconds);
    let reason = match (&facts.last, age, failing_too_long) {
        (Some(last), _, _) if last.outcome == RunOutcome::Failed => Some(format!(
            "last cycle failed: {}",
            last.message.as_deref().unwrap_or("no message")
        )),
        (_, _, Some((source, seconds))) => Some(format!(
            "source {:?} has failed every read for {seconds} s ({} in a row), more than source_max_age {} s: {}",
            source.source,
            source.failures,
            config.source_max_age.as_secs(),
            source.last_error.as_deref().unwrap_or("no message")
        )),
        (_, None, _) => Some("no successful cycle yet".to_owned()),
        (_, Some(age), _) if age > config.max_age.as_secs() => Some(format!(
            "last success {age} s ago, more than max_age {} s",
            config.max_age.as_secs()
        )),
        _ => None,
    };
    let mut head = serde_json::Map::new();
    let status = match reason {
        Some(reason) => {
            head.insert("status".into(), json!("unhealthy"));
            head.insert("reason".into(), json!(reason));
            StatusCode::SERVICE_UNAVAILABLE
        }
        None => {
            head.insert("status".into(), json!("ok"));
            StatusCode::OK
        }
    };
    head.extend(body);
    (status, serde_json::Value::Object(head))
}

/// Seconds since `source` began failing (0 when it is not).
fn failing_for(source: &SourceHealth, now: DateTime<Utc>) -> u64 {
    source
        .failing_since
        .map_or(0, |since| (now - since).num_seconds().max(0) as u64)
}

/// A failing source as `/healthz` lists it.
fn failing_source(source: &SourceHealth, now: DateTime<Utc>) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    out.insert("source".into(), json!(source.source));
    if let Some(since) = source.failing_since {
        out.insert("failing_since".into(), json!(rfc3339(since)));
        out.insert("failing_seconds".into(), json!(failing_for(source, now)));
    }
    out.insert("failed_reads".into(), json!(source.failures));
    if let Some(at) = source.last_success {
        out.insert("last_success".into(), json!(rfc3339(at)));
    }
    if let Some(error) = &source.last_error {
        out.insert("last_error".into(), json!(error));
    }
    serde_json::Value::Object(out)
}

/// `/metrics`: the daemon's counters and the state database's counts.
async fn metrics(shared: &Shared) -> Response<Full<Bytes>> {
    let snapshot = shared.state.snapshot();
    let store_path = shared.store_path.clone();
    let hubs: Vec<String> = shared.state.config().map_or_else(Vec::new, |config| {
        config
            .feeds
            .websub
            .hubs
            .iter()
            .map(|h| h.to_string())
            .collect()
    });
    let read = tokio::task::spawn_blocking(move || {
        let Some(store) = Store::open_read_only(&store_path)? else {
            return Ok(None);
        };
        Ok::<_, crate::store::StoreError>(Some((
            store.status()?,
            store.delivery_summary()?,
            store.source_health()?,
            hub_summary(&store, hubs)?,
        )))
    })
    .await;
    let stored = match read {
        Ok(Ok(Some((status, channels, sources, hubs)))) => metrics::Stored::Read {
            status: Box::new(status),
            channels,
            sources,
            hubs,
        },
        Ok(Ok(None)) => metrics::Stored::Missing,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics cannot read the state database");
            metrics::Stored::Failed
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: reading the state database failed");
            metrics::Stored::Failed
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(metrics::render(&snapshot, &stored))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    no_store(response)
}

/// The WebSub notifications of every hub in `configured` (zeros included, so that a hub's
/// series does not vanish once all is sent) and of any other hub with rows left, by hub URL.
/// A state not yet upgraded has no notifications.
fn hub_summary(
    store: &Store,
    configured: Vec<String>,
) -> Result<Vec<crate::store::HubSummary>, crate::store::StoreError> {
    let mut hubs = if store.schema_is_current()? {
        store.hub_summary()?
    } else {
        Vec::new()
    };
    for hub in configured {
        if !hubs.iter().any(|h| h.hub == hub) {
            hubs.push(crate::store::HubSummary {
                hub,
                ..Default::default()
            });
        }
    }
    hubs.sort_by(|a, b| a.hub.cmp(&b.hub));
    Ok(hubs)
}

/// `/preview`: the posts waiting in the state database, rendered with the config in force.
/// Nothing is sent and no entry page is read (a request here must not make crier call out).
async fn preview_page(shared: &Shared) -> Response<Full<Bytes>> {
    let Some(config) = shared.state.config() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "no configuration yet\n");
    };
    let store_path = shared.store_path.clone();
    let now = Utc::now();
    let read = tokio::task::spawn_blocking(move || {
        let mut page = match Store::open_read_only(&store_path)? {
            Some(store) => preview::gather(&config, &store, now, &[])?,
            None => preview::Preview {
                site: config.site.title.clone(),
                generated_at: rfc3339(now),
                notes: vec!["no state yet: the daemon's first cycle records the baseline".into()],
                entries: Vec::new(),
            },
        };
        for entry in &mut page.entries {
            entry.card.note =
                Some("the daemon reads no page on request; `crier preview` reads the cards".into());
        }
        Ok::<_, crate::store::StoreError>(preview::page::render(&page))
    })
    .await;
    let html = match read {
        Ok(Ok(Ok(html))) => html,
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "preview page cannot be rendered");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "preview cannot be rendered\n",
            );
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "preview cannot read the state database");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the state database cannot be read\n",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "preview: reading the state database failed");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the state database cannot be read\n",
            );
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(html)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The page's own policy, and no framing, which a `<meta>` policy cannot forbid.
    let policy = format!(
        "{}; frame-ancestors 'none'",
        preview::page::CONTENT_SECURITY_POLICY
    );
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    no_store(response)
}

fn no_store(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    const MAX_AGE: Duration = Duration::from_secs(900);
    const SOURCE_MAX_AGE: Duration = Duration::from_secs(6 * 3600);

    fn config() -> HealthConfig {
        HealthConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            max_age: MAX_AGE,
            source_max_age: SOURCE_MAX_AGE,
            serve_feeds: None,
        }
    }

    fn finished(ago: i64, outcome: RunOutcome, message: Option<&str>) -> Finished {
        Finished {
            at: now() - chrono::Duration::seconds(ago),
            outcome,
            message: message.map(str::to_owned),
        }
    }

    /// The facts of a last cycle that is also the last success.
    fn succeeded(ago: i64) -> Facts {
        let last = finished(ago, RunOutcome::Ok, None);
        Facts {
            last_success: Some(last.at),
            last: Some(last),
            ..Facts::default()
        }
    }

    #[test]
    fn no_cycle_is_unhealthy() {
        let (status, body) = verdict(&Facts::default(), now(), &config());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"status": "unhealthy", "reason": "no successful cycle yet"})
        );
    }

    #[test]
    fn a_recent_success_is_healthy() {
        let (status, body) = verdict(&succeeded(12), now(), &config());
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"status": "ok", "last_success": "2024-06-01T11:59:48Z", "age_seconds": 12})
        );
    }

    #[test]
    fn a_failure_after_a_success_is_unhealthy_and_says_why() {
        let facts = Facts {
            last: Some(finished(
                10,
                RunOutcome::Failed,
                Some("cannot read content/"),
            )),
            last_success: Some(now() - chrono::Duration::seconds(100)),
            running_since: Some(now()),
            ..Facts::default()
        };
        let (status, body) = verdict(&facts, now(), &config());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["reason"], "last cycle failed: cannot read content/");
        assert_eq!(body["age_seconds"], 100);
        assert_eq!(body["cycle_running_since"], "2024-06-01T12:00:00Z");
    }

    #[test]
    fn an_old_success_is_unhealthy() {
        let (status, body) = verdict(&succeeded(3600), now(), &config());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body["reason"],
            "last success 3600 s ago, more than max_age 900 s"
        );
    }

    /// A cycle with a source error used to count as a success: `/healthz` stayed ok while the
    /// source failed every cycle.
    #[test]
    fn a_partial_cycle_is_no_success() {
        let facts = Facts {
            last: Some(finished(10, RunOutcome::Partial, Some("HTTP 500"))),
            last_success: Some(now() - chrono::Duration::seconds(3600)),
            ..Facts::default()
        };
        let (status, body) = verdict(&facts, now(), &config());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body["reason"],
            "last success 3600 s ago, more than max_age 900 s"
        );
        let state = HealthState::default();
        state.cycle_finished(now(), Duration::from_secs(1), RunOutcome::Partial, None);
        let snapshot = state.snapshot();
        assert_eq!(snapshot.last_success, None);
        assert_eq!((snapshot.ok, snapshot.partial, snapshot.failed), (0, 1, 0));
    }

    fn failing(source: &str, since_ago: i64, failures: u64) -> SourceHealth {
        SourceHealth {
            source: source.into(),
            last_success: Some(now() - chrono::Duration::seconds(since_ago + 300)),
            failing_since: Some(now() - chrono::Duration::seconds(since_ago)),
            failures,
            errors_total: failures + 3,
            last_error: Some("feed https://e.org/feed.xml: HTTP 500".into()),
        }
    }

    #[test]
    fn a_source_failing_longer_than_source_max_age_is_named() {
        let facts = Facts {
            sources: vec![
                failing("events", 600, 2),
                failing("news", 7 * 3600, 84),
                SourceHealth {
                    source: "content".into(),
                    last_success: Some(now()),
                    ..SourceHealth::default()
                },
            ],
            ..succeeded(12)
        };
        let (status, body) = verdict(&facts, now(), &config());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body["reason"],
            "source \"news\" has failed every read for 25200 s (84 in a row), more than \
             source_max_age 21600 s: feed https://e.org/feed.xml: HTTP 500"
        );
        assert_eq!(
            body["failing_sources"],
            json!([
                {
                    "source": "events", "failing_since": "2024-06-01T11:50:00Z",
                    "failing_seconds": 600, "failed_reads": 2,
                    "last_success": "2024-06-01T11:45:00Z",
                    "last_error": "feed https://e.org/feed.xml: HTTP 500"
                },
                {
                    "source": "news", "failing_since": "2024-06-01T05:00:00Z",
                    "failing_seconds": 25200, "failed_reads": 84,
                    "last_success": "2024-06-01T04:55:00Z",
                    "last_error": "feed https://e.org/feed.xml: HTTP 500"
                }
            ])
        );
    }

    #[test]
    fn a_source_failing_briefly_is_listed_without_changing_the_verdict() {
        let facts = Facts {
            sources: vec![failing("events", 600, 2)],
            ..succeeded(12)
        };
        let (status, body) = verdict(&facts, now(), &config());
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["failing_sources"][0]["source"], "events");
    }

    #[test]
    fn the_state_counts_cycles() {
        let state = HealthState::default();
        state.cycle_started(now());
        assert_eq!(state.snapshot().running_since, Some(now()));
        state.cycle_finished(now(), Duration::from_millis(1500), RunOutcome::Ok, None);
        state.cycle_finished(
            now(),
            Duration::from_secs(2),
            RunOutcome::Failed,
            Some("boom".into()),
        );
        let snapshot = state.snapshot();
        assert_eq!((snapshot.ok, snapshot.failed), (1, 1));
        assert_eq!(snapshot.running_since, None);
        assert_eq!(snapshot.last_success, Some(now()));
        assert_eq!(
            snapshot.last,
            Some(finished(0, RunOutcome::Failed, Some("boom")))
        );
    }

    #[test]
    fn a_job_counts_as_its_outcome_says() {
        use crate::engine::cycle::CycleReport;
        let state = HealthState::default();
        let partial = JobOutcome {
            cycle: CycleReport {
                errors: vec!["source \"news\": HTTP 500".into()],
                ..CycleReport::default()
            },
            delivery: None,
            attention: Default::default(),
        };
        state.job_finished(now(), Duration::from_secs(1), &Ok(partial));
        let snapshot = state.snapshot();
        assert_eq!(snapshot.last_success, None);
        assert_eq!(
            snapshot.last,
            Some(finished(
                0,
                RunOutcome::Partial,
                Some("source \"news\": HTTP 500")
            ))
        );
        state.job_finished(
            now(),
            Duration::from_secs(1),
            &Err(anyhow::anyhow!("disk full")),
        );
        assert_eq!(
            state.snapshot().last,
            Some(finished(0, RunOutcome::Failed, Some("disk full")))
        );
    }
}

//! The daemon (`crier run`): its loop, the instance [`lock`], file [`watch`]ing and the
//! [`health`] listener.
//!
//! The daemon runs a cycle at start, then at each tick of `daemon.schedule` (read in
//! `daemon.timezone`, with `croner`, which handles 5- and 6-field expressions and daylight
//! saving), when a watched entry file changes, and sends deliveries whose retry time falls
//! between two ticks at that time. The next tick is always computed from the clock after a
//! cycle, so ticks missed while a cycle ran long, or while the machine slept, coalesce into one
//! cycle. Naps are short (at most 30 s, or half the systemd watchdog period), so a wake-up
//! after suspend is noticed from the wall clock rather than from a monotonic timer that did
//! not run.

pub mod health;
pub mod lock;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::job::{self, JobOptions};
use crate::schedule::Ticks;
use health::{HealthConfig, HealthServer, HealthState};
use lock::InstanceLock;

/// Called after each job of the daemon, before it naps (the binary hands its allocator's
/// "give memory back" here, so that an idle daemon stays small).
static AFTER_JOB: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets the function the daemon calls after each job; the first call wins.
pub fn set_after_job(hook: fn()) {
    let _ = AFTER_JOB.set(hook);
}

/// Longest nap between two looks at the wall clock.
const MAX_NAP: Duration = Duration::from_secs(30);
/// How long a stopping daemon waits for the job in flight.
const STOP_GRACE: Duration = Duration::from_secs(8);

/// Where the time comes from: the system, or a test's.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Why the daemon woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A schedule tick: run a cycle.
    Tick,
    /// A delivery fell due between ticks: send it.
    Due,
    /// A watched file changed: run a cycle.
    Watch,
    /// SIGHUP: reload the config.
    Reload,
    /// A nap ended with nothing to do (the systemd watchdog is fed in between).
    Nap,
}

/// Waits for the next reason to act. `None` when `shutdown` is cancelled.
pub async fn next_wake(
    clock: &dyn Clock,
    tick: DateTime<Utc>,
    due: Option<DateTime<Utc>>,
    nap: Duration,
    watch: &mut Option<mpsc::Receiver<()>>,
    reload: &mut mpsc::Receiver<()>,
    shutdown: &CancellationToken,
) -> Option<Wake> {
    let now = clock.now();
    let wake = due.map_or(tick, |due| due.min(tick));
    if wake <= now {
        return Some(if wake == tick { Wake::Tick } else { Wake::Due });
    }
    let until = (wake - now).to_std().unwrap_or_default().min(nap);
    let watched = async {
        match watch {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => None,
        Some(()) = reload.recv() => Some(Wake::Reload),
        Some(()) = watched => Some(Wake::Watch),
        _ = tokio::time::sleep(until) => {
            let now = clock.now();
            Some(if tick <= now {
                Wake::Tick
            } else if due.is_some_and(|d| d <= now) {
                Wake::Due
            } else {
                Wake::Nap
            })
        }
    }
}

/// Tells systemd how the daemon is doing (a no-op outside systemd).
fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::debug!(error = %e, "systemd notification failed");
    }
}

/// Reads, parses and validates the config again (SIGHUP); the old one stays on error.
fn reload(path: &Path, current: &Arc<Config>) -> Arc<Config> {
    match Config::load(path) {
        Ok(config) => {
            tracing::info!(config = %path.display(), "configuration reloaded");
            Arc::new(config)
        }
        Err(e) => {
            tracing::error!(error = %e, "new configuration refused; keeping the running one");
            current.clone()
        }
    }
}

/// `crier run`: the daemon. Returns when SIGTERM or SIGINT arrives, after the job in flight
/// finished or was left safely recorded.
pub async fn daemon(config_path: PathBuf, config: Config) -> Result<()> {
    let lock = InstanceLock::acquire(&config.store.path)?;
    tracing::debug!(lock = %lock.path().display(), "instance lock taken");
    let shutdown = CancellationToken::new();
    let (reload_tx, mut reload_rx) = mpsc::channel(1);
    spawn_signal_handlers(shutdown.clone(), reload_tx)?;

    let mut config = Arc::new(config);
    let mut ticks = Ticks::new(&config.daemon, config.site.timezone);
    let mut watch = start_watching(&config)?;
    let health = Arc::new(HealthState::default());
    start_health(&config, health.clone(), &shutdown).await?;
    let watchdog = watchdog_period();
    let nap = watchdog.map_or(MAX_NAP, |w| (w / 2).min(MAX_NAP));
    let clock = SystemClock;

    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("started; first cycle running"),
    ]);
    tracing::info!(schedule = %config.daemon.schedule, "crier daemon started");

    let mut next_tick = clock.now();
    loop {
        notify(&[sd_notify::NotifyState::Watchdog]);
        let due = next_due(&config).await;
        let Some(wake) = next_wake(
            &clock,
            next_tick,
            due,
            nap,
            &mut watch.1,
            &mut reload_rx,
            &shutdown,
        )
        .await
        else {
            break;
        };
        match wake {
            Wake::Nap => continue,
            Wake::Reload => {
                let reloaded = reload(&config_path, &config);
                if !Arc::ptr_eq(&reloaded, &config) {
                    config = reloaded;
                    ticks = Ticks::new(&config.daemon, config.site.timezone);
                    watch = start_watching(&config)?;
                    next_tick = ticks
                        .next_after(clock.now())
                        .unwrap_or_else(|| clock.now() + chrono::Duration::days(1));
                }
                continue;
            }
            Wake::Due => {
                let work = job::deliver_due(config.clone(), clock.now(), shutdown.clone());
                if let Err(e) = finish_or_grace(work, &shutdown, watchdog).await {
                    tracing::error!("delivery failed: {e:#}");
                }
            }
            Wake::Tick | Wake::Watch => {
                if wake == Wake::Watch {
                    tracing::info!("entry files changed: running a cycle");
                }
                let work = job::run(config.clone(), JobOptions::default(), shutdown.clone());
                let started = std::time::Instant::now();
                health.cycle_started(clock.now());
                let result = finish_or_grace(work, &shutdown, watchdog).await;
                health.cycle_finished(
                    clock.now(),
                    started.elapsed(),
                    result.is_ok(),
                    result.as_ref().err().map(|e| format!("{e:#}")),
                );
                let status = match result {
                    Ok(outcome) => {
                        let line = outcome.summary();
                        format!(
                            "last cycle {}: {line}",
                            clock.now().format("%Y-%m-%d %H:%M:%S UTC")
                        )
                    }
                    Err(e) => {
                        tracing::error!("cycle failed: {e:#}");
                        format!("last cycle failed: {e:#}")
                    }
                };
                notify(&[sd_notify::NotifyState::Status(&status)]);
            }
        }
        if shutdown.is_cancelled() {
            break;
        }
        if let Some(hook) = AFTER_JOB.get() {
            hook();
        }
        // From the clock, not from the previous tick: missed ticks coalesce into this cycle.
        let now = clock.now();
        if matches!(wake, Wake::Tick) || next_tick <= now {
            next_tick = ticks
                .next_after(now)
                .map(|t| t + ticks.jitter())
                .unwrap_or_else(|| now + chrono::Duration::days(1));
            tracing::debug!(next_tick = %next_tick, "next cycle");
        }
    }
    notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("crier daemon stopped");
    drop(lock);
    Ok(())
}

/// Awaits `work`; when a stop is asked meanwhile, gives it [`STOP_GRACE`] to finish (it stops
/// starting new posts by itself) and then lets it go: every post it may interrupt is recorded
/// as `sending` and resolved without duplicates by the next start.
async fn finish_or_grace<T>(
    work: impl std::future::Future<Output = Result<T>>,
    shutdown: &CancellationToken,
    watchdog: Option<Duration>,
) -> Result<T> {
    tokio::pin!(work);
    let mut feed = tokio::time::interval(watchdog.map_or(MAX_NAP, |w| w / 2));
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = feed.tick() => notify(&[sd_notify::NotifyState::Watchdog]),
            _ = shutdown.cancelled() => {
                return tokio::time::timeout(STOP_GRACE, work)
                    .await
                    .unwrap_or_else(|_| anyhow::bail!("stopped before the job finished; its state is recorded"));
            }
        }
    }
}

/// When the next delivery falls due (none without channels).
async fn next_due(config: &Arc<Config>) -> Option<DateTime<Utc>> {
    if config.channels.is_empty() {
        return None;
    }
    let path = config.store.path.clone();
    tokio::task::spawn_blocking(move || {
        crate::store::Store::open_read_only(&path)
            .ok()
            .flatten()
            .and_then(|s| s.next_due().ok().flatten())
    })
    .await
    .ok()
    .flatten()
}

/// The systemd watchdog period, when systemd asks for pings.
fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

/// The watcher (kept alive while it is in use) and its triggers.
type Watching = (Option<watch::Watch>, Option<mpsc::Receiver<()>>);

/// Watches the folders of the directory sources when `daemon.watch` asks for it.
fn start_watching(config: &Config) -> Result<Watching> {
    if !config.daemon.watch {
        return Ok((None, None));
    }
    let folders: Vec<PathBuf> = config
        .sources
        .iter()
        .filter_map(|source| match source {
            crate::sources::SourceConfig::Directory(d) => Some(d.path.clone()),
            _ => None,
        })
        .collect();
    if folders.is_empty() {
        tracing::warn!(
            "daemon.watch is on but no source is a directory; remote sources are read on the schedule only"
        );
        return Ok((None, None));
    }
    let (watch, triggers) = watch::watch(&folders, WATCH_DEBOUNCE)?;
    tracing::info!(folders = folders.len(), "watching entry files");
    Ok((Some(watch), Some(triggers)))
}

/// Quiet time after the last change of a burst (an editor's save, a `git pull`).
const WATCH_DEBOUNCE: Duration = Duration::from_millis(300);

/// Starts the health and metrics listener when `[daemon.health]` is set.
async fn start_health(
    config: &Config,
    state: Arc<HealthState>,
    shutdown: &CancellationToken,
) -> Result<()> {
    let Some(health) = &config.daemon.health else {
        return Ok(());
    };
    let listen = health.listen;
    let server = HealthServer::bind(HealthConfig {
        listen,
        max_age: health.max_age,
        serve_feeds: health.serve_feeds.then(|| config.feeds.output_dir.clone()),
    })
    .await
    .with_context(|| format!("cannot listen on {listen} (daemon.health.listen)"))?;
    tracing::info!(address = %server.local_addr(), "health and metrics listener started");
    let store_path = config.store.path.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        if let Err(e) = server.run(state, store_path, shutdown).await {
            tracing::error!(error = %e, "health listener stopped");
        }
    });
    Ok(())
}

fn spawn_signal_handlers(shutdown: CancellationToken, reload: mpsc::Sender<()>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => {
                    tracing::info!("SIGTERM: stopping");
                    shutdown.cancel();
                    break;
                }
                _ = int.recv() => {
                    tracing::info!("SIGINT: stopping");
                    shutdown.cancel();
                    break;
                }
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    let _ = reload.try_send(());
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ticks(expression: &str) -> Ticks {
        let daemon = crate::schedule::DaemonConfig {
            schedule: crate::schedule::Schedule::parse(expression).unwrap(),
            ..Default::default()
        };
        Ticks::new(&daemon, Paris)
    }

    /// A wall clock that moves with tokio's (paused) clock.
    struct TestClock {
        wall: DateTime<Utc>,
        start: tokio::time::Instant,
    }

    impl Clock for TestClock {
        fn now(&self) -> DateTime<Utc> {
            self.wall + chrono::Duration::from_std(self.start.elapsed()).unwrap()
        }
    }

    /// Runs the wake logic for `span` of virtual time; each cycle takes `work` of it.
    async fn simulate(
        ticks: &Ticks,
        start: &str,
        span: Duration,
        work: Duration,
        due: Option<&str>,
    ) -> Vec<(Wake, String)> {
        let clock = TestClock {
            wall: utc(start),
            start: tokio::time::Instant::now(),
        };
        let (_tx, mut reload) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        let mut due = due.map(utc);
        let mut next_tick = ticks.next_after(clock.now()).unwrap();
        let mut seen = Vec::new();
        while clock.start.elapsed() < span {
            let wake = next_wake(
                &clock,
                next_tick,
                due,
                MAX_NAP,
                &mut None,
                &mut reload,
                &shutdown,
            )
            .await
            .unwrap();
            if wake == Wake::Nap {
                continue;
            }
            if clock.start.elapsed() > span {
                break;
            }
            seen.push((
                wake,
                clock
                    .now()
                    .with_timezone(&Paris)
                    .format("%H:%M:%S")
                    .to_string(),
            ));
            tokio::time::sleep(work).await;
            if wake == Wake::Due {
                due = None;
            } else {
                next_tick = ticks.next_after(clock.now()).unwrap();
            }
        }
        seen
    }

    #[tokio::test(start_paused = true)]
    async fn every_minute_and_every_five_minutes_under_a_paused_clock() {
        let minute = ticks("* * * * *");
        let seen = simulate(
            &minute,
            "2024-06-01T10:00:30Z",
            Duration::from_secs(185),
            Duration::from_secs(1),
            None,
        )
        .await;
        let times: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(times, ["12:01:00", "12:02:00", "12:03:00"]);
        let five = ticks("*/5 * * * *");
        let seen = simulate(
            &five,
            "2024-06-01T10:00:30Z",
            Duration::from_secs(600),
            Duration::ZERO,
            None,
        )
        .await;
        let times: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(times, ["12:05:00", "12:10:00"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_cycle_coalesces_missed_ticks() {
        let minute = ticks("* * * * *");
        // Each cycle takes 150 s: the ticks it spans collapse into the next one.
        let seen = simulate(
            &minute,
            "2024-06-01T10:00:30Z",
            Duration::from_secs(400),
            Duration::from_secs(150),
            None,
        )
        .await;
        let times: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(times, ["12:01:00", "12:04:00", "12:07:00"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delivery_due_between_ticks_is_sent_at_its_time() {
        let five = ticks("*/5 * * * *");
        let seen = simulate(
            &five,
            "2024-06-01T10:00:30Z",
            Duration::from_secs(300),
            Duration::ZERO,
            Some("2024-06-01T10:02:10Z"),
        )
        .await;
        assert_eq!(
            seen,
            [
                (Wake::Due, "12:02:10".to_owned()),
                (Wake::Tick, "12:05:00".to_owned())
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_and_reload_interrupt_a_nap() {
        let clock = SystemClock;
        let (tx, mut reload) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        let far = Utc::now() + chrono::Duration::hours(1);
        tx.send(()).await.unwrap();
        let wake = next_wake(
            &clock,
            far,
            None,
            MAX_NAP,
            &mut None,
            &mut reload,
            &shutdown,
        )
        .await;
        assert_eq!(wake, Some(Wake::Reload));
        shutdown.cancel();
        let wake = next_wake(
            &clock,
            far,
            None,
            MAX_NAP,
            &mut None,
            &mut reload,
            &shutdown,
        )
        .await;
        assert_eq!(wake, None);
        let _ = Utc.timestamp_opt(0, 0);
    }
}

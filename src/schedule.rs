//! When crier works: the cron schedule of the daemon, the single-instance lock, signals and
//! the daemon loop itself.
//!
//! The daemon runs a cycle at start, then at each tick of `daemon.schedule` (read in
//! `daemon.timezone`, with `croner`, which handles 5- and 6-field expressions and daylight
//! saving), when a watched entry file changes, and sends deliveries whose retry time falls
//! between two ticks at that time. The next tick is always computed from the clock after a
//! cycle, so ticks missed while a cycle ran long, or while the machine slept, coalesce into one
//! cycle. Naps are short (at most 30 s, or half the systemd watchdog period), so a wake-up
//! after suspend is noticed from the wall clock rather than from a monotonic timer that did
//! not run.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::health::{HealthConfig, HealthServer, HealthState};
use crate::job::{self, JobOptions};

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

/// Parses a cron expression of 5 fields (minutes) or 6 (seconds first).
pub fn parse_schedule(expression: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expression)
        .map_err(|e| {
            format!(
                "{expression:?} is not a cron expression ({e}); write 5 fields such as \"*/5 * * * *\" or 6 with seconds first"
            )
        })
}

/// The ticks of a schedule in its timezone.
#[derive(Debug, Clone)]
pub struct Ticks {
    cron: Cron,
    timezone: chrono_tz::Tz,
    jitter: Duration,
}

impl Ticks {
    /// The daemon's ticks from the config (validated with it).
    pub fn from_config(config: &Config) -> Result<Ticks, String> {
        Ok(Ticks {
            cron: parse_schedule(&config.daemon.schedule)?,
            timezone: config.schedule_timezone(),
            jitter: config.daemon.jitter(),
        })
    }

    /// A schedule without jitter (tests).
    pub fn new(expression: &str, timezone: chrono_tz::Tz) -> Result<Ticks, String> {
        Ok(Ticks {
            cron: parse_schedule(expression)?,
            timezone,
            jitter: Duration::ZERO,
        })
    }

    /// The first tick strictly after `after`, jitter not included.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// A random delay in `0..jitter` for one tick.
    fn jitter(&self) -> chrono::Duration {
        if self.jitter.is_zero() {
            return chrono::Duration::zero();
        }
        let ms = (self.jitter.as_millis() as f64 * rand::random::<f64>()) as i64;
        chrono::Duration::milliseconds(ms)
    }
}

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

/// Another crier holds the instance lock, or the lock file cannot be made.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another instance runs (an overlapping cron tick, a daemon beside a timer).
    #[error("another crier is running: {path} is locked; this run changed nothing (exit code 4)")]
    Held {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("cannot use lock file {path}: {reason}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// An exclusive lock on `crier.lock` in the state folder, held by the daemon and by each
/// `run --once` for their whole run, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock beside the state database, or fails at once if it is held.
    pub fn acquire(state_path: &Path) -> Result<InstanceLock, LockError> {
        let folder = state_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let path = folder.join("crier.lock");
        let io = |e: std::io::Error| LockError::Io {
            path: path.clone(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(folder).map_err(io)?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(InstanceLock { _file: file, path }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held { path }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
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
    let mut ticks = Ticks::from_config(&config).map_err(anyhow::Error::msg)?;
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
                    match Ticks::from_config(&reloaded) {
                        Ok(t) => {
                            config = reloaded;
                            ticks = t;
                            watch = start_watching(&config)?;
                            next_tick = ticks
                                .next_after(clock.now())
                                .unwrap_or_else(|| clock.now() + chrono::Duration::days(1));
                        }
                        Err(e) => tracing::error!(error = %e, "new schedule refused"),
                    }
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
type Watching = (Option<crate::watch::Watch>, Option<mpsc::Receiver<()>>);

/// Watches the folders of the directory sources when `daemon.watch` asks for it.
fn start_watching(config: &Config) -> Result<Watching> {
    if !config.daemon.watch {
        return Ok((None, None));
    }
    let folders: Vec<PathBuf> = config
        .sources
        .iter()
        .filter_map(|source| match source {
            crate::config::SourceConfig::Directory(d) => Some(d.path.clone()),
            _ => None,
        })
        .collect();
    if folders.is_empty() {
        tracing::warn!(
            "daemon.watch is on but no source is a directory; remote sources are read on the schedule only"
        );
        return Ok((None, None));
    }
    let (watch, triggers) = crate::watch::watch(&folders, WATCH_DEBOUNCE)?;
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
    let listen = health
        .listen
        .parse()
        .context("daemon.health.listen was validated")?;
    let server = HealthServer::bind(HealthConfig {
        listen,
        max_age: humantime::parse_duration(&health.max_age).unwrap_or(Duration::from_secs(1800)),
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

    fn ticks_from(ticks: &Ticks, start: &str, n: usize) -> Vec<String> {
        let mut t = utc(start);
        (0..n)
            .map(|_| {
                t = ticks.next_after(t).unwrap();
                t.with_timezone(&Paris).to_rfc3339()
            })
            .collect()
    }

    #[test]
    fn five_and_six_field_expressions() {
        assert!(parse_schedule("*/5 * * * *").is_ok());
        assert!(parse_schedule("*/10 * * * * *").is_ok());
        let err = parse_schedule("every five minutes").unwrap_err();
        assert!(err.contains("5 fields"), "{err}");
        let every_minute = Ticks::new("* * * * *", chrono_tz::UTC).unwrap();
        assert_eq!(
            every_minute.next_after(utc("2024-01-01T10:00:30Z")),
            Some(utc("2024-01-01T10:01:00Z"))
        );
        // Strictly after: a time on a tick gives the next one.
        assert_eq!(
            every_minute.next_after(utc("2024-01-01T10:01:00Z")),
            Some(utc("2024-01-01T10:02:00Z"))
        );
        let every_second = Ticks::new("* * * * * *", chrono_tz::UTC).unwrap();
        assert_eq!(
            every_second.next_after(utc("2024-01-01T10:00:00.500Z")),
            Some(utc("2024-01-01T10:00:01Z"))
        );
    }

    #[test]
    fn daylight_saving_in_paris() {
        // Spring forward, 2024-03-31: 02:00–03:00 does not exist.
        let five = Ticks::new("*/30 * * * *", Paris).unwrap();
        assert_eq!(
            ticks_from(&five, "2024-03-31T00:15:00Z", 3),
            [
                "2024-03-31T01:30:00+01:00",
                "2024-03-31T03:00:00+02:00",
                "2024-03-31T03:30:00+02:00"
            ]
        );
        // A daily 02:30 job still runs once on that day, not never.
        let daily = Ticks::new("30 2 * * *", Paris).unwrap();
        let runs = ticks_from(&daily, "2024-03-30T12:00:00Z", 3);
        assert_eq!(runs.len(), 3);
        assert!(runs[0].starts_with("2024-03-31T03:"), "{runs:?}");
        assert!(runs[1].starts_with("2024-04-01T02:30:00+02:00"), "{runs:?}");
        // Fall back, 2024-10-27: 02:30 happens twice; the job runs once.
        let runs = ticks_from(&daily, "2024-10-26T12:00:00Z", 2);
        assert_eq!(runs[0], "2024-10-27T02:30:00+02:00");
        assert_eq!(runs[1], "2024-10-28T02:30:00+01:00");
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
        let minute = Ticks::new("* * * * *", Paris).unwrap();
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
        let five = Ticks::new("*/5 * * * *", Paris).unwrap();
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
        let minute = Ticks::new("* * * * *", Paris).unwrap();
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
        let five = Ticks::new("*/5 * * * *", Paris).unwrap();
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

    #[test]
    fn the_instance_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/crier.sqlite3");
        let first = InstanceLock::acquire(&state).unwrap();
        assert_eq!(first.path(), dir.path().join("state/crier.lock"));
        match InstanceLock::acquire(&state) {
            Err(LockError::Held { path }) => assert_eq!(path, first.path()),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        assert!(InstanceLock::acquire(&state).is_ok());
    }
}

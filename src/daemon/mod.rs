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
//!
//! A stop request (SIGTERM, SIGINT) cancels one token that reaches the job in flight: its
//! remote reads end at once and its delivery round starts no new post, so it completes and
//! records its state within moments; a post already sent gets [`STOP_GRACE`]. A reload
//! (SIGHUP) applies completely or not at all: the new config is read, its watcher started and
//! the settings that only a restart can change (`store.path`, `[daemon.health]`) compared
//! before anything is swapped; otherwise the running config stays, and the log says why.
//!
//! [`run`] takes everything it works with from its caller, the way mini-redis's
//! `server::run(listener, shutdown)` does: the config and a way to read it again, a wall
//! [`Clock`], the [`Jobs`] it schedules, a shutdown token, a reload channel, the bound health
//! listener and an after-job hook. The caller (`cli`, at the binary's start) takes the
//! instance lock, turns signals into the token and the channel, and releases the lock only
//! once the runtime and its job threads are done; the tests drive this same loop under
//! tokio's paused clock with fake jobs.

pub mod health;
pub mod lock;
pub mod watch;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::deliver::DeliveryReport;
use crate::engine::job::{self, JobOptions, JobOutcome};
use crate::progress::Progress;
use crate::schedule::Ticks;
use health::{HealthServer, HealthState};

/// Longest nap between two looks at the wall clock.
const MAX_NAP: Duration = Duration::from_secs(30);
/// How long a stopping daemon waits for the job in flight (a post already sent, whose answer
/// is worth recording); with the rest of the stop this keeps the exit within 10 s.
const STOP_GRACE: Duration = Duration::from_secs(8);
/// Quiet time after the last change of a burst (an editor's save, a `git pull`).
const WATCH_DEBOUNCE: Duration = Duration::from_millis(300);

/// Where the wall time comes from: the system, or a test's. The loop's naps do not ask it:
/// they sleep on tokio's clock, so a test that pauses that clock drives them.
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

/// The work the daemon schedules: [`Engine`] in production, a fake in the tests.
pub trait Jobs {
    /// A cycle then the due deliveries, acting at `now`; `stop` ends the deliveries early.
    fn cycle(
        &self,
        config: Arc<Config>,
        now: DateTime<Utc>,
        stop: CancellationToken,
    ) -> impl Future<Output = Result<JobOutcome>> + Send;

    /// The deliveries due at `now`, between two cycles.
    fn deliver_due(
        &self,
        config: Arc<Config>,
        now: DateTime<Utc>,
        stop: CancellationToken,
    ) -> impl Future<Output = Result<DeliveryReport>> + Send;

    /// When the next delivery falls due, if one waits.
    fn next_due(&self, config: Arc<Config>) -> impl Future<Output = Option<DateTime<Utc>>> + Send;
}

/// The engine's jobs on the state database: [`job::run`], [`job::deliver_due`] and the
/// outbox's (or a WebSub notification's) next retry time.
pub struct Engine {
    /// Counts each cycle's items (the binary shows them).
    pub progress: &'static Progress,
}

impl Jobs for Engine {
    fn cycle(
        &self,
        config: Arc<Config>,
        now: DateTime<Utc>,
        stop: CancellationToken,
    ) -> impl Future<Output = Result<JobOutcome>> + Send {
        let options = JobOptions {
            now: Some(now),
            progress: self.progress,
            ..JobOptions::default()
        };
        job::run(config, options, stop)
    }

    fn deliver_due(
        &self,
        config: Arc<Config>,
        now: DateTime<Utc>,
        stop: CancellationToken,
    ) -> impl Future<Output = Result<DeliveryReport>> + Send {
        job::deliver_due(config, now, stop)
    }

    async fn next_due(&self, config: Arc<Config>) -> Option<DateTime<Utc>> {
        let deliveries = !config.channels.is_empty();
        let hubs = config.feeds.websub.is_on();
        if !deliveries && !hubs {
            return None;
        }
        let path = config.store.path.clone();
        tokio::task::spawn_blocking(move || {
            let store = crate::store::Store::open_read_only(&path).ok().flatten()?;
            let delivery = deliveries
                .then(|| store.next_due().ok().flatten())
                .flatten();
            // A WebSub notification to retry falls due like a delivery.
            let ping = hubs
                .then(|| store.next_hub_ping_due().ok().flatten())
                .flatten();
            delivery.into_iter().chain(ping).min()
        })
        .await
        .ok()
        .flatten()
    }
}

/// Reads the config again when a reload is asked: the binary loads its file again, a test
/// hands the next config. An error keeps the running config.
pub type ReloadConfig = Box<dyn FnMut() -> Result<Config> + Send>;

/// Everything the daemon loop works with, handed in by its caller.
pub struct Daemon<J> {
    /// The config at start.
    pub config: Config,
    /// How to read the config again on a reload request.
    pub reload_config: ReloadConfig,
    /// The wall time.
    pub clock: Box<dyn Clock>,
    /// The work to schedule.
    pub jobs: J,
    /// Cancelled to stop (SIGTERM, SIGINT); the job in flight gets [`STOP_GRACE`].
    pub shutdown: CancellationToken,
    /// One message per reload request (SIGHUP). Its sender lives as long as the signal
    /// listener: once it is gone the daemon could no longer be stopped or reloaded, so it
    /// stops with an error (and a service manager starts it again).
    pub reloads: mpsc::Receiver<()>,
    /// The health and metrics listener, already bound; `None` without `[daemon.health]`.
    pub health: Option<HealthServer>,
    /// Called after each job, before the nap (the binary gives its allocator's memory back
    /// there, so that an idle daemon stays small).
    pub after_job: Option<fn()>,
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
    /// The signal listener is gone (the reload channel closed): stop.
    SignalsLost,
    /// A nap ended with nothing to do (the systemd watchdog is fed in between).
    Nap,
}

/// Runs the daemon until `shutdown` is cancelled: a cycle at start, then one per tick or
/// watched change, and the deliveries that fall due between ticks. Returns after the job in
/// flight finished or was left safely recorded; an error when the signal listener was lost.
pub async fn run<J: Jobs>(daemon: Daemon<J>) -> Result<()> {
    let Daemon {
        config,
        reload_config,
        clock,
        jobs,
        shutdown,
        reloads,
        health,
        after_job,
    } = daemon;
    let watching = Watching::start(&config)?;
    let health_state = Arc::new(HealthState::default());
    let config = Arc::new(config);
    health_state.set_config(config.clone());
    if let Some(server) = health {
        serve_health(server, &config, health_state.clone(), &shutdown);
    }
    let watchdog = sd_notify::watchdog_enabled();
    let next_tick = clock.now();
    let mut state = Loop {
        ticks: Ticks::new(&config.daemon, config.site.timezone),
        config,
        reload_config,
        clock,
        jobs,
        shutdown,
        reloads,
        watching,
        health: health_state,
        next_tick,
        nap: watchdog.map_or(MAX_NAP, |w| (w / 2).min(MAX_NAP)),
        watchdog,
    };
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("started; first cycle running"),
    ]);
    tracing::info!(schedule = %state.config.daemon.schedule, "crier daemon started");

    let mut signals_lost = false;
    while let Some(wake) = state.wake().await {
        match wake {
            Wake::Nap => continue,
            Wake::Reload => {
                state.on_reload();
                continue;
            }
            Wake::SignalsLost => {
                tracing::error!(
                    "the signal listener is gone: crier could no longer be stopped or reloaded; stopping"
                );
                signals_lost = true;
                state.shutdown.cancel();
                break;
            }
            Wake::Due => state.on_due().await,
            Wake::Tick | Wake::Watch => state.on_cycle(wake).await,
        }
        if state.shutdown.is_cancelled() {
            break;
        }
        if let Some(hook) = after_job {
            hook();
        }
        state.schedule_next(wake);
    }
    notify(&[sd_notify::NotifyState::Stopping]);
    if signals_lost {
        anyhow::bail!("stopped: the signal listener ended");
    }
    Ok(())
}

/// The loop's state between two wakes.
struct Loop<J> {
    config: Arc<Config>,
    reload_config: ReloadConfig,
    clock: Box<dyn Clock>,
    jobs: J,
    shutdown: CancellationToken,
    reloads: mpsc::Receiver<()>,
    ticks: Ticks,
    watching: Watching,
    health: Arc<HealthState>,
    /// The next cycle, jitter included; the start time at first, so that a cycle runs at once.
    next_tick: DateTime<Utc>,
    /// Longest sleep between two looks at the wall clock.
    nap: Duration,
    /// The systemd watchdog period, when systemd asks for pings.
    watchdog: Option<Duration>,
}

impl<J: Jobs> Loop<J> {
    /// Feeds the watchdog, then waits for the next reason to act; `None` once stopped.
    async fn wake(&mut self) -> Option<Wake> {
        notify(&[sd_notify::NotifyState::Watchdog]);
        let due = self.jobs.next_due(self.config.clone()).await;
        next_wake(
            &*self.clock,
            self.next_tick,
            due,
            self.nap,
            &mut self.watching.triggers,
            &mut self.reloads,
            &self.shutdown,
        )
        .await
    }

    /// Reads the config again and applies all of it, or none: the new one brings its
    /// schedule and watches, and the next tick is counted from now. A config that does not
    /// load, whose folders cannot be watched, or that changes what only a restart can change
    /// leaves the running one in place, and the log says why.
    fn on_reload(&mut self) {
        match self.prepare_reload() {
            Ok((config, watching)) => {
                tracing::info!(config = %config.file.display(), "configuration reloaded");
                self.apply(config, watching);
            }
            Err(e) => {
                tracing::error!(error = %e, "new configuration refused; keeping the running one");
            }
        }
    }

    /// Everything a reload can fail on, done before anything is swapped: the new config and
    /// its watcher.
    fn prepare_reload(&mut self) -> Result<(Config, Watching), ReloadRefused> {
        let config = (self.reload_config)().map_err(ReloadRefused::Unreadable)?;
        let settings = restart_only_changes(&self.config, &config);
        if !settings.is_empty() {
            return Err(ReloadRefused::NeedsRestart { settings });
        }
        let watching = Watching::start(&config)?;
        Ok((config, watching))
    }

    /// Puts a prepared config in force.
    fn apply(&mut self, config: Config, watching: Watching) {
        self.config = Arc::new(config);
        self.health.set_config(self.config.clone());
        self.ticks = Ticks::new(&self.config.daemon, self.config.site.timezone);
        self.watching = watching;
        let now = self.clock.now();
        self.next_tick = self
            .ticks
            .next_after(now)
            .unwrap_or_else(|| now + chrono::Duration::days(1));
    }

    /// A delivery fell due between ticks: sends what is due.
    async fn on_due(&mut self) {
        let work =
            self.jobs
                .deliver_due(self.config.clone(), self.clock.now(), self.shutdown.clone());
        if let Err(e) = finish_or_grace(work, &self.shutdown, self.watchdog).await {
            tracing::error!("delivery failed: {e:#}");
        }
    }

    /// A tick or a watched change: runs a cycle and tells the health listener and systemd
    /// how it went.
    async fn on_cycle(&mut self, wake: Wake) {
        if wake == Wake::Watch {
            tracing::info!("entry files changed: running a cycle");
        }
        let now = self.clock.now();
        let work = self
            .jobs
            .cycle(self.config.clone(), now, self.shutdown.clone());
        let started = tokio::time::Instant::now();
        self.health.cycle_started(now);
        let result = finish_or_grace(work, &self.shutdown, self.watchdog).await;
        let finished = self.clock.now();
        self.health
            .job_finished(finished, started.elapsed(), &result);
        if let Err(e) = &result {
            tracing::error!("cycle failed: {e:#}");
        }
        notify(&[sd_notify::NotifyState::Status(&cycle_status(
            &result, finished,
        ))]);
    }

    /// After a job, the next tick: from the clock, not from the previous tick, so that the
    /// ticks missed while the job ran coalesce into the one just run. A delivery between
    /// ticks keeps the tick planned unless the delivery ran past it.
    fn schedule_next(&mut self, wake: Wake) {
        let now = self.clock.now();
        if wake == Wake::Tick || self.next_tick <= now {
            self.next_tick = self
                .ticks
                .next_after(now)
                .map(|t| t + self.ticks.jitter())
                .unwrap_or_else(|| now + chrono::Duration::days(1));
            tracing::debug!(next_tick = %self.next_tick, "next cycle");
        }
    }
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
        // A stop comes first: the signal listener's end may follow it.
        biased;
        _ = shutdown.cancelled() => None,
        request = reload.recv() => Some(match request {
            Some(()) => Wake::Reload,
            None => Wake::SignalsLost,
        }),
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

/// systemd's status line after a cycle that finished at `at`.
fn cycle_status(result: &Result<JobOutcome>, at: DateTime<Utc>) -> String {
    match result {
        Ok(outcome) => format!(
            "last cycle {}: {}",
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            outcome.summary()
        ),
        Err(e) => format!("last cycle failed: {e:#}"),
    }
}

/// Awaits `work`; when a stop is asked meanwhile, gives it [`STOP_GRACE`] to finish (it stops
/// starting new posts by itself) and then lets it go: every post it may interrupt is recorded
/// as `sending` and resolved without duplicates by the next start.
async fn finish_or_grace<T>(
    work: impl Future<Output = Result<T>>,
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

/// Why a reload was refused; the running config stays in force.
#[derive(Debug, thiserror::Error)]
pub enum ReloadRefused {
    /// The config file does not load.
    #[error("{0:#}")]
    Unreadable(anyhow::Error),
    /// Settings that the running daemon cannot change changed.
    #[error(
        "{} can only change with a restart (`systemctl restart crier`)",
        settings.join(", ")
    )]
    NeedsRestart {
        /// The settings, as the config names them.
        settings: Vec<&'static str>,
    },
    /// A folder of the new config cannot be watched.
    #[error(transparent)]
    Watch(#[from] watch::WatchError),
}

/// The settings that differ between `running` and `new` but are only read at the start: the
/// state (the instance lock is taken beside it) and the health listener (bound once, serving
/// the feeds folder it was given).
fn restart_only_changes(running: &Config, new: &Config) -> Vec<&'static str> {
    let mut settings = Vec::new();
    if running.store.path != new.store.path {
        settings.push("store.path");
    }
    if running.daemon.health != new.daemon.health {
        settings.push("daemon.health");
    }
    let serves_feeds = running
        .daemon
        .health
        .as_ref()
        .is_some_and(|health| health.serve_feeds);
    if serves_feeds && running.feeds.output_dir != new.feeds.output_dir {
        settings.push("feeds.output_dir (served by daemon.health)");
    }
    settings
}

/// The watcher of the directory sources, kept alive while in use, and its triggers; empty
/// when `daemon.watch` is off.
#[derive(Default)]
struct Watching {
    _watch: Option<watch::Watch>,
    triggers: Option<mpsc::Receiver<()>>,
}

impl Watching {
    /// Watches the folders of the directory sources when `daemon.watch` asks for it.
    fn start(config: &Config) -> Result<Watching, watch::WatchError> {
        if !config.daemon.watch {
            return Ok(Watching::default());
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
            return Ok(Watching::default());
        }
        let (watch, triggers) = watch::watch(&folders, WATCH_DEBOUNCE)?;
        tracing::info!(folders = folders.len(), "watching entry files");
        Ok(Watching {
            _watch: Some(watch),
            triggers: Some(triggers),
        })
    }
}

/// Serves the health listener on the loop's shared state until `shutdown`.
fn serve_health(
    server: HealthServer,
    config: &Config,
    state: Arc<HealthState>,
    shutdown: &CancellationToken,
) {
    tracing::info!(address = %server.local_addr(), "health and metrics listener started");
    let store_path = config.store.path.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        if let Err(e) = server.run(state, store_path, shutdown).await {
            tracing::error!(error = %e, "health listener stopped");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono_tz::Europe::Paris;
    use rand::{RngExt, SeedableRng};
    use tokio::time::Instant;

    use crate::engine::cycle::CycleReport;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The test config on `schedule`, read in Paris.
    fn config(schedule: &str) -> Config {
        let mut config = crate::testing::config_with("");
        config.daemon.schedule = crate::schedule::Schedule::parse(schedule).unwrap();
        config.daemon.timezone = Some(Paris);
        config
    }

    /// A wall clock that starts at `wall` and moves with tokio's (paused) clock.
    struct TestClock {
        wall: DateTime<Utc>,
        start: Instant,
    }

    impl Clock for TestClock {
        fn now(&self) -> DateTime<Utc> {
            self.wall + chrono::Duration::from_std(self.start.elapsed()).unwrap()
        }
    }

    /// What kind of job the fake ran.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Cycle,
        Due,
    }

    /// A job the fake ran, and the wall time the loop gave it.
    #[derive(Debug, Clone, Copy)]
    struct JobRun {
        kind: Kind,
        at: DateTime<Utc>,
    }

    impl JobRun {
        /// The Paris time, `HH:MM:SS`.
        fn paris(&self) -> String {
            self.at.with_timezone(&Paris).format("%H:%M:%S").to_string()
        }
    }

    /// Jobs that take `work` of virtual time each and record what ran when; one delivery
    /// waits in `due` until a delivery round sends it.
    #[derive(Clone, Default)]
    struct FakeJobs {
        work: Duration,
        due: Arc<Mutex<Option<DateTime<Utc>>>>,
        runs: Arc<Mutex<Vec<JobRun>>>,
    }

    impl FakeJobs {
        fn taking(work: Duration) -> FakeJobs {
            FakeJobs {
                work,
                ..FakeJobs::default()
            }
        }

        fn record(&self, kind: Kind, at: DateTime<Utc>) {
            self.runs.lock().unwrap().push(JobRun { kind, at });
        }

        /// Every job, as `cycle HH:MM:SS` or `due HH:MM:SS` in Paris time.
        fn runs(&self) -> Vec<String> {
            let runs = self.runs.lock().unwrap();
            runs.iter()
                .map(|run| match run.kind {
                    Kind::Cycle => format!("cycle {}", run.paris()),
                    Kind::Due => format!("due {}", run.paris()),
                })
                .collect()
        }

        /// The Paris times of the cycles.
        fn cycles(&self) -> Vec<String> {
            let runs = self.runs.lock().unwrap();
            runs.iter()
                .filter(|run| run.kind == Kind::Cycle)
                .map(JobRun::paris)
                .collect()
        }
    }

    impl Jobs for FakeJobs {
        async fn cycle(
            &self,
            _config: Arc<Config>,
            now: DateTime<Utc>,
            _stop: CancellationToken,
        ) -> Result<JobOutcome> {
            self.record(Kind::Cycle, now);
            tokio::time::sleep(self.work).await;
            Ok(JobOutcome {
                cycle: CycleReport::default(),
                delivery: None,
                attention: Default::default(),
            })
        }

        async fn deliver_due(
            &self,
            _config: Arc<Config>,
            now: DateTime<Utc>,
            _stop: CancellationToken,
        ) -> Result<DeliveryReport> {
            self.record(Kind::Due, now);
            self.due.lock().unwrap().take();
            tokio::time::sleep(self.work).await;
            Ok(DeliveryReport::default())
        }

        async fn next_due(&self, _config: Arc<Config>) -> Option<DateTime<Utc>> {
            *self.due.lock().unwrap()
        }
    }

    /// A daemon on `config` whose wall clock starts at `start`, its reload sender and its
    /// shutdown token; reloads fail unless the test sets `reload_config`.
    fn daemon(
        config: Config,
        start: &str,
        jobs: &FakeJobs,
    ) -> (Daemon<FakeJobs>, mpsc::Sender<()>, CancellationToken) {
        let (reload, reloads) = mpsc::channel(1);
        let shutdown = CancellationToken::new();
        let daemon = Daemon {
            config,
            reload_config: Box::new(|| anyhow::bail!("this test reloads nothing")),
            clock: Box::new(TestClock {
                wall: utc(start),
                start: Instant::now(),
            }),
            jobs: jobs.clone(),
            shutdown: shutdown.clone(),
            reloads,
            health: None,
            after_job: None,
        };
        (daemon, reload, shutdown)
    }

    /// Runs the real loop for `span` of virtual time, then stops it; returns when it stopped.
    async fn run_for(
        daemon: Daemon<FakeJobs>,
        shutdown: CancellationToken,
        span: Duration,
    ) -> Duration {
        let start = Instant::now();
        let (result, ()) = tokio::join!(run(daemon), async {
            tokio::time::sleep(span).await;
            shutdown.cancel();
        });
        result.unwrap();
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn every_minute_and_every_five_minutes_under_a_paused_clock() {
        let jobs = FakeJobs::taking(Duration::from_secs(1));
        let (d, _reload, shutdown) = daemon(config("* * * * *"), "2024-06-01T10:00:30Z", &jobs);
        run_for(d, shutdown, Duration::from_secs(185)).await;
        // A cycle at start, then one per tick.
        assert_eq!(
            jobs.cycles(),
            ["12:00:30", "12:01:00", "12:02:00", "12:03:00"]
        );

        let jobs = FakeJobs::default();
        let (d, _reload, shutdown) = daemon(config("*/5 * * * *"), "2024-06-01T10:00:30Z", &jobs);
        run_for(d, shutdown, Duration::from_secs(600)).await;
        assert_eq!(jobs.cycles(), ["12:00:30", "12:05:00", "12:10:00"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_cycle_coalesces_missed_ticks() {
        // Each cycle takes 150 s: the ticks it spans collapse into the next one.
        let jobs = FakeJobs::taking(Duration::from_secs(150));
        let (d, _reload, shutdown) = daemon(config("* * * * *"), "2024-06-01T10:01:00Z", &jobs);
        run_for(d, shutdown, Duration::from_secs(400)).await;
        assert_eq!(jobs.cycles(), ["12:01:00", "12:04:00", "12:07:00"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delivery_due_between_ticks_is_sent_at_its_time() {
        let jobs = FakeJobs::default();
        *jobs.due.lock().unwrap() = Some(utc("2024-06-01T10:02:10Z"));
        let (d, _reload, shutdown) = daemon(config("*/5 * * * *"), "2024-06-01T10:00:30Z", &jobs);
        run_for(d, shutdown, Duration::from_secs(300)).await;
        assert_eq!(
            jobs.runs(),
            ["cycle 12:00:30", "due 12:02:10", "cycle 12:05:00"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_the_loop_between_jobs_at_once() {
        let jobs = FakeJobs::taking(Duration::from_secs(1));
        let (d, _reload, shutdown) = daemon(config("* * * * *"), "2024-06-01T10:00:30Z", &jobs);
        // 12:01:15: the 12:01 cycle is over, the loop naps.
        let stopped = run_for(d, shutdown, Duration::from_secs(45)).await;
        assert_eq!(stopped, Duration::from_secs(45));
        assert_eq!(jobs.cycles(), ["12:00:30", "12:01:00"]);
    }

    /// Jobs finished and followed by the after-job hook (one test uses it: it is global).
    static AFTER_JOBS: AtomicUsize = AtomicUsize::new(0);

    #[tokio::test(start_paused = true)]
    async fn shutdown_lets_the_job_in_flight_finish_and_starts_no_other() {
        let jobs = FakeJobs::taking(Duration::from_secs(5));
        let (mut d, _reload, shutdown) = daemon(config("* * * * *"), "2024-06-01T10:00:30Z", &jobs);
        d.after_job = Some(|| {
            AFTER_JOBS.fetch_add(1, Ordering::SeqCst);
        });
        // 12:01:02: the 12:01 cycle runs until 12:01:05.
        let stopped = run_for(d, shutdown, Duration::from_secs(32)).await;
        assert_eq!(stopped, Duration::from_secs(35));
        assert_eq!(jobs.cycles(), ["12:00:30", "12:01:00"]);
        // The hook ran after the first cycle only: a stopping daemon goes straight out.
        assert_eq!(AFTER_JOBS.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_gives_a_slow_job_its_grace_period_only() {
        let jobs = FakeJobs::taking(Duration::from_secs(60));
        let (d, _reload, shutdown) = daemon(config("* * * * *"), "2024-06-01T10:00:30Z", &jobs);
        let stopped = run_for(d, shutdown, Duration::from_secs(5)).await;
        assert_eq!(stopped, Duration::from_secs(5) + STOP_GRACE);
        assert_eq!(jobs.cycles(), ["12:00:30"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_replaces_the_schedule_and_a_refused_one_keeps_it() {
        let jobs = FakeJobs::default();
        let (mut d, reload, shutdown) =
            daemon(config("*/5 * * * *"), "2024-06-01T10:00:30Z", &jobs);
        let mut attempts = 0;
        d.reload_config = Box::new(move || {
            attempts += 1;
            if attempts == 1 {
                anyhow::bail!("test.toml: broken");
            }
            Ok(config("* * * * *"))
        });
        let requests = async {
            // 12:01:30: refused, the five-minute schedule stays.
            tokio::time::sleep(Duration::from_secs(60)).await;
            reload.send(()).await.unwrap();
            // 12:05:30: every minute from now on.
            tokio::time::sleep(Duration::from_secs(240)).await;
            reload.send(()).await.unwrap();
        };
        let (stopped, ()) = tokio::join!(run_for(d, shutdown, Duration::from_secs(400)), requests);
        assert_eq!(stopped, Duration::from_secs(400));
        assert_eq!(
            jobs.cycles(),
            ["12:00:30", "12:05:00", "12:06:00", "12:07:00"]
        );
    }

    /// Runs the loop on a five-minute schedule while one reload, at 12:01:30, asks for
    /// `next`; returns the cycles' Paris times.
    async fn cycles_around_a_reload(next: fn() -> Config) -> Vec<String> {
        let jobs = FakeJobs::default();
        let (mut d, reload, shutdown) =
            daemon(config("*/5 * * * *"), "2024-06-01T10:00:30Z", &jobs);
        d.reload_config = Box::new(move || Ok(next()));
        let request = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            reload.send(()).await.unwrap();
        };
        let (stopped, ()) = tokio::join!(run_for(d, shutdown, Duration::from_secs(400)), request);
        assert_eq!(stopped, Duration::from_secs(400));
        jobs.cycles()
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_whose_watched_folder_is_missing_is_refused_and_the_daemon_runs_on() {
        let cycles = cycles_around_a_reload(|| {
            let mut next = config("* * * * *");
            next.daemon.watch = true;
            if let crate::sources::SourceConfig::Directory(d) = &mut next.sources[0] {
                d.path = PathBuf::from("/nonexistent/crier-test/content");
            }
            next
        })
        .await;
        // The every-minute schedule came with a folder that cannot be watched: none of it
        // applies.
        assert_eq!(cycles, ["12:00:30", "12:05:00"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_that_moves_the_state_is_refused_and_the_old_schedule_kept() {
        let cycles = cycles_around_a_reload(|| {
            let mut next = config("* * * * *");
            next.store.path = PathBuf::from("elsewhere/crier.sqlite3");
            next
        })
        .await;
        assert_eq!(cycles, ["12:00:30", "12:05:00"]);
    }

    #[test]
    fn a_refused_reload_names_the_settings_that_need_a_restart() {
        let running = config("* * * * *");
        let mut next = running.clone();
        assert!(restart_only_changes(&running, &next).is_empty());
        next.daemon.schedule = crate::schedule::Schedule::parse("*/5 * * * *").unwrap();
        next.daemon.watch = true;
        assert!(restart_only_changes(&running, &next).is_empty());

        next.store.path = PathBuf::from("elsewhere/crier.sqlite3");
        next.daemon.health = Some(crate::schedule::HealthListenConfig {
            listen: "127.0.0.1:9464".parse().unwrap(),
            max_age: Duration::from_secs(60),
            source_max_age: Duration::from_secs(3600),
            serve_feeds: true,
            preview: false,
        });
        let settings = restart_only_changes(&running, &next);
        assert_eq!(settings, ["store.path", "daemon.health"]);
        let message = ReloadRefused::NeedsRestart { settings }.to_string();
        assert!(
            message.contains("store.path, daemon.health can only change with a restart"),
            "{message}"
        );

        // The health listener serves the feeds folder it was given at the start.
        let mut serving = running.clone();
        serving.daemon.health = next.daemon.health.clone();
        let mut moved = serving.clone();
        moved.feeds.output_dir = PathBuf::from("elsewhere/feeds");
        assert_eq!(
            restart_only_changes(&serving, &moved),
            ["feeds.output_dir (served by daemon.health)"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_signal_listener_stops_the_daemon_with_an_error() {
        let jobs = FakeJobs::default();
        let (d, reload, _shutdown) = daemon(config("* * * * *"), "2024-06-01T10:00:30Z", &jobs);
        // The binary's signal listener holds the sender: its end closes the channel.
        drop(reload);
        let stopped = tokio::time::timeout(Duration::from_secs(3600), run(d))
            .await
            .expect("the daemon stops by itself");
        let error = stopped.expect_err("a daemon deaf to signals stops with an error");
        assert!(error.to_string().contains("signal listener"), "{error}");
        assert_eq!(jobs.cycles(), ["12:00:30"]);
    }

    /// The seed of a test's randomness: `CRIER_TEST_SEED` when set, else a fresh one; printed
    /// so that a failure can be replayed.
    fn test_seed() -> u64 {
        let seed = std::env::var("CRIER_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        println!("CRIER_TEST_SEED={seed}");
        seed
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_delays_each_tick_within_its_bound() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(test_seed());
        let bound = Duration::from_secs(rng.random_range(1..=50));
        let work = Duration::from_secs(rng.random_range(0..=5));
        // The first cycle (at start) must end before the first tick, or the daemon rightly
        // skips that tick as missed while busy: start early enough in the minute for `work`.
        let latest_start = 59 - work.as_secs() as i64;
        let start = utc("2024-06-01T10:00:00Z")
            + chrono::Duration::seconds(rng.random_range(0..latest_start));
        let mut jittered = config("* * * * *");
        jittered.daemon.jitter = bound;
        let jobs = FakeJobs::taking(work);
        let (d, _reload, shutdown) = daemon(jittered, &start.to_rfc3339(), &jobs);
        run_for(d, shutdown, Duration::from_secs(20 * 60)).await;

        let runs = jobs.runs();
        let ticked: Vec<DateTime<Utc>> = jobs.runs.lock().unwrap()[1..]
            .iter()
            .map(|run| run.at)
            .collect();
        assert!(
            ticked.len() >= 19,
            "bound {bound:?}, work {work:?}: {runs:?}"
        );
        let minute = |at: &DateTime<Utc>| at.timestamp_millis().div_euclid(60_000);
        let late = |at: &DateTime<Utc>| {
            Duration::from_millis(at.timestamp_millis().rem_euclid(60_000).unsigned_abs())
        };
        let first = minute(&start) + 1;
        for (n, at) in ticked.iter().enumerate() {
            // One cycle per minute, none skipped, each within the bound after its tick.
            assert_eq!(minute(at), first + n as i64, "bound {bound:?}: {runs:?}");
            assert!(
                late(at) < bound,
                "{:?} after the tick, bound {bound:?}: {runs:?}",
                late(at)
            );
        }
        assert!(
            ticked.iter().any(|at| !late(at).is_zero()),
            "no tick was delayed: {runs:?}"
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
    }
}

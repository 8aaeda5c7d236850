//! How far a long cycle has come: the engine names each phase ([`Progress::phase`]) and the
//! layers doing the work count their items ([`Progress::advance`]: a file read, an entry
//! recorded, a feed file written) on plain atomic counters, so that counting costs next to
//! nothing whether or not anyone looks.
//!
//! Looking is the binary's choice ([`Progress::show`]): on a terminal an `indicatif` bar once
//! a phase has lasted a second (a short cycle shows nothing, so nothing flickers); off one (the
//! journal, a file, cron) a `progress` log line every interval while a phase lasts, none for a
//! phase shorter than that, and a `phase done` line closing a phase that printed any. A small
//! thread ([`Progress::watch`]) looks at the counters a few times a second; the workers never
//! wait for it. Log lines written while a bar is shown go through [`Progress::suspend`], which
//! clears the bar for the line and draws it again below.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A phase of a cycle, named as the progress lines name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the sources' documents (counted per document).
    Reading,
    /// Recording entries in the state database and preparing them for the feeds, both at once
    /// (counted per entry, for each of the two).
    Recording,
    /// Rendering and writing the feed files (counted per file).
    Writing,
}

impl Phase {
    /// The name in log lines (`phase=reading`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Reading => "reading",
            Phase::Recording => "recording",
            Phase::Writing => "writing",
        }
    }
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Not at all: only the counters move.
    Hidden,
    /// A log line every `interval` while a phase lasts longer than that.
    Lines {
        /// Time between two lines of one phase.
        interval: Duration,
    },
    /// A bar on the terminal (stderr) once a phase has lasted `after`.
    Bar {
        /// How long a phase runs before its bar appears.
        after: Duration,
    },
}

/// The counters of the running phase and how they are shown. One per process in the binary;
/// tests make their own.
pub struct Progress {
    /// Items done in the running phase.
    done: AtomicU64,
    /// Items the running phase will do; 0 while unknown.
    total: AtomicU64,
    /// The phase and its display: locked when a phase starts or ends and when the watcher
    /// looks, never per item.
    state: Mutex<State>,
}

struct State {
    show: Show,
    running: Option<Running>,
    bar: Option<ProgressBar>,
}

/// The phase under way.
struct Running {
    phase: Phase,
    started: Instant,
    /// When the next log line is due.
    next_line: Instant,
    /// Whether a line was logged for it (then its end is logged too).
    reported: bool,
}

/// One progress report: the fields of a `progress` or `phase done` log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The phase.
    pub phase: Phase,
    /// Items done so far.
    pub done: u64,
    /// Items in all, when known.
    pub total: Option<u64>,
    /// Time since the phase started.
    pub elapsed: Duration,
    /// Whether the phase is over (`phase done`) or under way (`progress`).
    pub finished: bool,
}

impl Line {
    /// Logs it at INFO: `progress phase=reading done=12000 total=50000 elapsed_ms=5000`.
    pub fn log(&self) {
        let elapsed_ms = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX);
        let phase = self.phase.name();
        // Shown with Display: `phase=reading`, not `phase="reading"`.
        let phase = tracing::field::display(phase);
        if self.finished {
            tracing::info!(
                phase,
                done = self.done,
                total = self.total,
                elapsed_ms,
                "phase done"
            );
        } else {
            tracing::info!(
                phase,
                done = self.done,
                total = self.total,
                elapsed_ms,
                "progress"
            );
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("done", &self.done)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// Counters that nobody shows until [`Progress::show`] says how.
    pub const fn new() -> Progress {
        Progress {
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            state: Mutex::new(State {
                show: Show::Hidden,
                running: None,
                bar: None,
            }),
        }
    }

    /// Counters nobody looks at, for callers that show no progress (tests, one-off reads).
    pub fn ignored() -> &'static Progress {
        static IGNORED: Progress = Progress::new();
        &IGNORED
    }

    /// Chooses how progress is shown from now on.
    pub fn show(&self, show: Show) {
        self.lock().show = show;
    }

    /// Starts a thread that looks at the counters a few times a second and shows them, for
    /// the life of the process; none when progress is hidden.
    pub fn watch(&'static self) -> std::io::Result<()> {
        let period = match self.lock().show {
            Show::Hidden => return Ok(()),
            Show::Lines { interval } => interval.min(Duration::from_millis(100)),
            Show::Bar { .. } => Duration::from_millis(100),
        };
        std::thread::Builder::new()
            .name("crier-progress".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(period);
                    self.tick();
                }
            })
            .map(drop)
    }

    /// Starts `phase`, ending the one before; `total` is the number of items when known
    /// ([`Progress::add_total`] adds to it later).
    pub fn phase(&self, phase: Phase, total: Option<u64>) {
        if let Some(line) = self.phase_at(phase, total, Instant::now()) {
            line.log();
        }
    }

    /// A guard that ends the running phase when dropped: a cycle that fails or panics
    /// half-way leaves no phase behind to be reported on.
    pub fn finish_on_drop(&self) -> Finish<'_> {
        Finish(self)
    }

    /// Ends the running phase.
    pub fn finish(&self) {
        if let Some(line) = self.finish_at(Instant::now()) {
            line.log();
        }
    }

    /// Adds `n` items to the running phase's total (a source that has listed its files).
    pub fn add_total(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` items done.
    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// Items done and in all (0: unknown) in the running phase.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// Runs `write` (a log line going to stderr) with the bar cleared, then draws the bar
    /// again, so that lines and bar never tear each other.
    pub fn suspend<R>(&self, write: impl FnOnce() -> R) -> R {
        // The bar is cloned out of the lock, which is never held while a line is logged.
        let bar = self.lock().bar.clone();
        match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Looks at the counters now and shows them.
    pub fn tick(&self) {
        if let Some(line) = self.tick_at(Instant::now()) {
            line.log();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Progress::phase`] at `now`; the line closing the phase before, if it was reported.
    fn phase_at(&self, phase: Phase, total: Option<u64>, now: Instant) -> Option<Line> {
        let closing = self.finish_at(now);
        let mut state = self.lock();
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total.unwrap_or(0), Ordering::Relaxed);
        let interval = match state.show {
            Show::Lines { interval } => interval,
            _ => Duration::ZERO,
        };
        state.running = Some(Running {
            phase,
            started: now,
            next_line: now + interval,
            reported: false,
        });
        closing
    }

    /// [`Progress::finish`] at `now`: clears the bar; the `phase done` line of a reported phase.
    fn finish_at(&self, now: Instant) -> Option<Line> {
        let mut state = self.lock();
        if let Some(bar) = state.bar.take() {
            bar.finish_and_clear();
        }
        let running = state.running.take()?;
        running.reported.then(|| self.line(&running, now, true))
    }

    /// What a look at `now` shows: a line when one is due, else the bar's new position.
    fn tick_at(&self, now: Instant) -> Option<Line> {
        let mut state = self.lock();
        let show = state.show;
        let running = state.running.as_mut()?;
        match show {
            Show::Hidden => None,
            Show::Lines { interval } => {
                if now < running.next_line || interval.is_zero() {
                    return None;
                }
                running.reported = true;
                // Catch up after a stall without printing the lines it missed.
                while running.next_line <= now {
                    running.next_line += interval;
                }
                let running = state.running.as_ref()?;
                Some(self.line(running, now, false))
            }
            Show::Bar { after } => {
                if now.duration_since(running.started) < after {
                    return None;
                }
                let (phase, started) = (running.phase, running.started);
                let (done, total) = self.counts();
                let bar = state.bar.get_or_insert_with(|| new_bar(phase, started));
                if total > 0 {
                    bar.set_length(total);
                } else {
                    bar.unset_length();
                }
                bar.set_position(done);
                None
            }
        }
    }

    fn line(&self, running: &Running, now: Instant, finished: bool) -> Line {
        let (done, total) = self.counts();
        Line {
            phase: running.phase,
            done,
            total: (total > 0).then_some(total),
            elapsed: now.saturating_duration_since(running.started),
            finished,
        }
    }

    /// Whether a bar is shown now.
    #[cfg(test)]
    fn has_bar(&self) -> bool {
        self.lock().bar.is_some()
    }
}

/// Ends the running phase when dropped ([`Progress::finish_on_drop`]).
#[must_use = "the phase ends when the guard is dropped"]
pub struct Finish<'a>(&'a Progress);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// A bar on stderr for `phase`, counting from `started`.
fn new_bar(phase: Phase, started: Instant) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix:>10} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        .with_style(style)
        .with_prefix(phase.name())
        .with_elapsed(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(interval_ms: u64) -> Progress {
        let progress = Progress::new();
        progress.show(Show::Lines {
            interval: Duration::from_millis(interval_ms),
        });
        progress
    }

    #[test]
    fn a_phase_shorter_than_the_interval_logs_nothing() {
        let progress = lines(5000);
        let t0 = Instant::now();
        progress.phase_at(Phase::Reading, Some(10), t0);
        progress.advance(10);
        assert_eq!(progress.tick_at(t0 + Duration::from_millis(4999)), None);
        assert_eq!(progress.finish_at(t0 + Duration::from_millis(4999)), None);
        // Nothing runs: a look shows nothing either.
        assert_eq!(progress.tick_at(t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn a_long_phase_logs_once_per_interval_with_its_counts_then_its_end() {
        let progress = lines(5000);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        progress.phase_at(Phase::Reading, None, t0);
        progress.add_total(300);
        progress.advance(100);
        let first = progress.tick_at(at(5000)).expect("a line at the interval");
        assert_eq!(
            first,
            Line {
                phase: Phase::Reading,
                done: 100,
                total: Some(300),
                elapsed: Duration::from_secs(5),
                finished: false,
            }
        );
        // Looks between two intervals print nothing.
        assert_eq!(progress.tick_at(at(5100)), None);
        assert_eq!(progress.tick_at(at(9999)), None);
        progress.advance(150);
        let second = progress.tick_at(at(10_000)).expect("a second line");
        assert_eq!((second.done, second.total), (250, Some(300)));
        // A stall of three intervals gives one line, not three.
        assert!(progress.tick_at(at(25_000)).is_some());
        assert_eq!(progress.tick_at(at(29_999)), None);
        progress.advance(50);
        // The next phase closes this one with its final counts.
        let end = progress
            .phase_at(Phase::Recording, Some(7), at(26_000))
            .expect("the phase's end");
        assert_eq!(
            end,
            Line {
                phase: Phase::Reading,
                done: 300,
                total: Some(300),
                elapsed: Duration::from_secs(26),
                finished: true,
            }
        );
        // The new phase counts from zero, with its own start.
        assert_eq!(progress.counts(), (0, 7));
        assert_eq!(progress.tick_at(at(30_999)), None);
        let line = progress
            .tick_at(at(31_000))
            .expect("a line of the new phase");
        assert_eq!(
            (line.phase, line.done, line.total),
            (Phase::Recording, 0, Some(7))
        );
        assert_eq!(line.elapsed, Duration::from_secs(5));
    }

    #[test]
    fn a_total_still_unknown_is_left_out_of_the_line() {
        let progress = lines(1000);
        let t0 = Instant::now();
        progress.phase_at(Phase::Reading, None, t0);
        progress.advance(7);
        let line = progress
            .tick_at(t0 + Duration::from_secs(1))
            .expect("a line");
        assert_eq!((line.done, line.total), (7, None));
        progress.add_total(9);
        let line = progress
            .tick_at(t0 + Duration::from_secs(2))
            .expect("a line");
        assert_eq!((line.done, line.total), (7, Some(9)));
    }

    #[test]
    fn the_bar_takes_the_total_once_known() {
        let progress = Progress::new();
        progress.show(Show::Bar {
            after: Duration::ZERO,
        });
        let t0 = Instant::now();
        progress.phase_at(Phase::Reading, None, t0);
        progress.advance(3);
        progress.tick_at(t0);
        let length = || progress.lock().bar.as_ref().and_then(|bar| bar.length());
        assert_eq!(length(), None, "no length while the total is unknown");
        progress.add_total(40);
        progress.tick_at(t0 + Duration::from_millis(100));
        assert_eq!(length(), Some(40));
    }

    #[test]
    fn hidden_progress_only_counts() {
        let progress = Progress::new();
        let t0 = Instant::now();
        progress.phase_at(Phase::Writing, Some(3), t0);
        progress.advance(2);
        assert_eq!(progress.tick_at(t0 + Duration::from_secs(600)), None);
        assert_eq!(progress.finish_at(t0 + Duration::from_secs(600)), None);
        assert!(!progress.has_bar());
        assert_eq!(progress.counts(), (2, 3));
    }

    #[test]
    fn the_bar_appears_only_once_a_phase_lasts_and_goes_with_it() {
        let progress = Progress::new();
        progress.show(Show::Bar {
            after: Duration::from_secs(1),
        });
        let t0 = Instant::now();
        progress.phase_at(Phase::Reading, Some(50), t0);
        assert_eq!(progress.tick_at(t0 + Duration::from_millis(999)), None);
        assert!(!progress.has_bar(), "no bar for a short phase");
        progress.advance(20);
        assert_eq!(progress.tick_at(t0 + Duration::from_secs(1)), None);
        assert!(progress.has_bar());
        // A log line meanwhile is written through the bar.
        assert_eq!(progress.suspend(|| 42), 42);
        // A bar never logs: its phase's end has no line either.
        assert_eq!(progress.finish_at(t0 + Duration::from_secs(2)), None);
        assert!(!progress.has_bar());
    }

    #[test]
    fn the_guard_ends_the_phase_even_when_the_work_fails() {
        let progress = lines(20);
        let t0 = Instant::now();
        let failing = || -> Result<(), &str> {
            let _finish = progress.finish_on_drop();
            progress.phase_at(Phase::Recording, Some(2), t0);
            Err("the state database failed")
        };
        assert!(failing().is_err());
        assert_eq!(progress.tick_at(t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn counting_from_many_threads_loses_nothing() {
        let progress = Progress::new();
        progress.phase_at(Phase::Reading, Some(8000), Instant::now());
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        progress.advance(1);
                    }
                });
            }
        });
        assert_eq!(progress.counts(), (8000, 8000));
    }
}

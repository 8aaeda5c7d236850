//! The command line: clap definitions, the commands (`run --once`, `check`, `plan`, `preview`,
//! `status`) and their exit codes. Commands write their human output to the writer they are
//! given ([`ReportOut`] in the binary, which notes a reader that went away); logs go through
//! `tracing` to stderr, and a log line that cannot be written is dropped rather than allowed
//! to stop crier.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::daemon::{
    self,
    health::{self, HealthConfig, HealthServer},
    lock::InstanceLock,
};
use crate::engine::cycle::{self, CycleOptions};
use crate::engine::deliver::{self, DeliverOptions, DeliveryReport};
use crate::engine::job::{self, JobOptions};
use crate::engine::preview;
use crate::entry::Entry;
use crate::feeds::writer::write_if_changed;
use crate::progress::{Progress, Show};
use crate::report;
use crate::sources::{self, NoticeLevel, Outcome};
use crate::store::Store;

mod manual;

pub mod syslog;

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything went well.
    Ok = 0,
    /// Nothing or little was done: bad config, unusable state, unwritable feeds.
    Failure = 1,
    /// The command line was wrong (clap uses 2 as well).
    Usage = 2,
    /// The work completed, but something needs a look: entry or source errors in this run, or
    /// a channel paused or a post given up (by this run or an earlier one, until retried).
    Partial = 3,
    /// Another crier holds the instance lock; nothing was done.
    Locked = 4,
}

impl Exit {
    /// The exit code for an error that ended a command.
    pub fn for_error(error: &anyhow::Error) -> Exit {
        if error.downcast_ref::<UsageError>().is_some() {
            return Exit::Usage;
        }
        match error.downcast_ref::<crate::daemon::lock::LockError>() {
            Some(crate::daemon::lock::LockError::Held { .. }) => Exit::Locked,
            _ => Exit::Failure,
        }
    }
}

/// A command line or environment asking for something the command cannot do (exit 2, which
/// the systemd unit does not restart after: it needs an edit).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// The exit codes, as `--help` lists them after the options (the README's table says more).
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure: invalid or missing config, unusable state database, a feed file not written
  2  wrong command line (for `init`: the output exists, or PATH is no Hugo or Zola site)
  3  done, but something needs a look: entry or source errors, a paused channel or a post
     given up (every run exits 3 until `crier retry`); `check`: a source or entry problem
  4  another crier holds the lock beside the state; nothing was done";

/// crier: publish new entries as RSS, Atom and JSON feeds.
#[derive(Debug, Parser)]
#[command(name = "crier", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        short,
        global = true,
        env = "CRIER_CONFIG",
        default_value = "crier.toml"
    )]
    pub config: PathBuf,

    /// Log line format on stderr (`syslog`: to the local syslog socket instead).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Pretend the current time is this RFC 3339 instant (for tests and rehearsals).
    #[arg(long, global = true, env = "CRIER_NOW", hide = true, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
    /// Each line to the local syslog socket (`/dev/log`, or `CRIER_SYSLOG_SOCKET`), facility
    /// daemon, with its level's severity (for cron); stderr when there is no socket.
    Syslog,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a daemon on the schedule of `[daemon]`; with --once, run one cycle and exit.
    Run {
        /// Run one cycle and exit (for cron or a systemd timer).
        #[arg(long)]
        once: bool,
        /// Render and log every post, send nothing (feeds and state are still written;
        /// queued posts stay queued for a real run).
        #[arg(long)]
        dry_run: bool,
        /// On the first run, announce the entries already published instead of only
        /// recording them (flood guards still apply).
        #[arg(long)]
        announce_existing: bool,
        /// Read remote sources in full, without conditional requests (after an upstream
        /// fixed something its validators did not show).
        #[arg(long)]
        full_read: bool,
    },
    /// Re-queue dead, failed and held deliveries and lift channel pauses.
    Retry {
        /// Only this channel.
        #[arg(long)]
        channel: Option<String>,
        /// Only this entry (its id, as `crier status` or the log shows it).
        #[arg(long)]
        entry: Option<String>,
    },
    /// Validate the config, read every source (remote ones too) and list every problem,
    /// with a few mapped entries per source to check a mapping or selectors by trial and
    /// what each read noticed (files passed over, say).
    Check {
        /// Entries shown per source (newest first); 0 shows none.
        #[arg(long, default_value_t = 3)]
        show: usize,
    },
    /// Show what the next cycle would change, writing nothing.
    Plan {
        /// Print one JSON document (schema in docs/OPERATIONS.md) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write one HTML page showing every pending and planned post as each network will show
    /// it (text and length, link card, image and alt text, why a post waits); sends nothing.
    Preview {
        /// Write the page to this file instead of standard output (it shows unpublished
        /// posts: keep it out of the public feeds folder).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Do not read the entries' pages for their Open Graph tags (the link cards).
        #[arg(long)]
        offline: bool,
    },
    /// Show entry counts and the last run from the state database.
    Status {
        /// Print one JSON document (schema in docs/OPERATIONS.md) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Ask the running daemon's health listener (`[daemon.health]`) for `/healthz`: exits 0
    /// when it answers 200, 1 otherwise (a container's HEALTHCHECK, a monitoring script).
    Healthcheck {
        /// Longest wait for the answer.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Write a commented crier config for a Hugo or Zola site, from the site's own config.
    Init {
        /// The site's folder (the one holding hugo.toml, config/_default/ or Zola's
        /// config.toml).
        #[arg(long)]
        from: PathBuf,
        /// Where to write the config (default: crier.toml in the site's folder); an existing
        /// file is never replaced.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Print the effective config as TOML: the file as read with every default filled in and
    /// relative paths resolved; each secret shows where it is read from, never its value.
    Config,
    /// Print the completion script for SHELL on standard output (install lines in
    /// docs/OPERATIONS.md).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page crier(1) as roff on standard output (`crier man | man -l -`).
    Man,
}

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time such as 2024-03-12T09:00:00Z ({e})"))
}

/// Sets up `tracing` on stderr; the filter comes from `CRIER_LOG` (default `crier=info`).
/// Colours only on a terminal and without `NO_COLOR`; under systemd (`JOURNAL_STREAM` set) no
/// time stamp, the journal's own, and each line starts with its syslog priority (`<3>` error,
/// `<4>` warning, `<6>` info, `<7>` debug) so that `journalctl -p warning` finds them. Lines that
/// cannot be written are dropped, and a value's line breaks are escaped ([`LogWriter`]). With
/// `--log-format syslog`, lines go to the syslog socket instead ([`syslog`]).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CRIER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("crier=info"));
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter)
        // tracing would report a failed write on stderr, the very thing that failed, and
        // `eprintln!` panics then.
        .log_internal_errors(false)
        .with_ansi(colour)
        .with_target(false);
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    // A second initialisation (tests calling `main` twice) is harmless: keep the first.
    let _ = match format {
        LogFormat::Text if journal => builder
            .event_format(Prioritised(
                tracing_subscriber::fmt::format()
                    .without_time()
                    .with_target(false)
                    .with_ansi(colour),
            ))
            .try_init(),
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        // The syslog daemon stamps the time on receipt, and a datagram has no colours.
        LogFormat::Syslog => builder
            .with_writer(syslog::Syslog::from_env())
            .without_time()
            .with_ansi(false)
            .try_init(),
    };
}

/// The process's progress counters: the cycles of `run` and `plan` count on them, and
/// [`show_progress`] shows them.
static PROGRESS: Progress = Progress::new();

/// The environment variable setting the time between two progress lines off a terminal.
const PROGRESS_INTERVAL: &str = "CRIER_PROGRESS_INTERVAL";

/// Shows the progress of long cycles on stderr: a bar on a terminal, else a log line every
/// `CRIER_PROGRESS_INTERVAL` (default 5 s; `0` or `off`: none).
fn show_progress(format: LogFormat) -> Result<()> {
    let show = progress_display(
        std::io::stderr().is_terminal() && format == LogFormat::Text,
        std::env::var_os(PROGRESS_INTERVAL).as_deref(),
    )
    .map_err(UsageError)?;
    PROGRESS.show(show);
    PROGRESS
        .watch()
        .context("cannot start the thread showing progress")
}

/// How progress is shown: a bar when stderr is a terminal that takes text logs, else lines
/// every `interval` (the value of `CRIER_PROGRESS_INTERVAL`, a duration such as `5s`).
fn progress_display(bar: bool, interval: Option<&std::ffi::OsStr>) -> Result<Show, String> {
    let interval = match interval.map(|v| v.to_str().map(str::trim)) {
        None | Some(Some("")) => std::time::Duration::from_secs(5),
        Some(Some("0" | "off")) => return Ok(Show::Hidden),
        Some(Some(text)) => humantime::parse_duration(text).map_err(|e| {
            format!(
                "{PROGRESS_INTERVAL}={text:?} is not a duration ({e}): use one such as `5s` or \
                 `500ms`, or `off` to show no progress"
            )
        })?,
        Some(None) => {
            return Err(format!(
                "{PROGRESS_INTERVAL} is not valid UTF-8: use a duration such as `5s`, or `off`"
            ));
        }
    };
    Ok(if interval.is_zero() {
        Show::Hidden
    } else if bar {
        Show::Bar {
            after: std::time::Duration::from_secs(1),
        }
    } else {
        Show::Lines { interval }
    })
}

/// Whether log lines get colours: on a terminal, unless `NO_COLOR` is set to anything but the
/// empty string (<https://no-color.org>).
fn use_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

/// A text line prefixed with its syslog priority, which journald reads from a service's stderr
/// (`SyslogLevelPrefix=`, on by default) and strips.
struct Prioritised<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for Prioritised<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        writer.write_str(syslog_priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// The `<N>` prefix of a level: 3 error, 4 warning, 6 info, 7 debug and trace.
fn syslog_priority(level: tracing::Level) -> &'static str {
    match level {
        tracing::Level::ERROR => "<3>",
        tracing::Level::WARN => "<4>",
        tracing::Level::INFO => "<6>",
        _ => "<7>",
    }
}

/// Where log lines go: stderr, whose write errors are ignored. With stderr closed (a broken
/// pipe, a log collector restarting, `crier … 2>&1 | head -1`) a log line has nowhere to go,
/// and failing the line would stop the work it reports on: a cycle half done, a signal
/// listener gone.
///
/// Each event arrives as one write of one line; a line break inside it (a post text, an
/// upstream's error body) is written as `\n` (`\r` for a carriage return), so that one event
/// stays one line for `grep`, the journal and log collectors.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        // A progress bar on the terminal is cleared for the line and drawn again below it.
        let _ = PROGRESS.suspend(|| std::io::stderr().write_all(&one_line(bytes)));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// `line` with its inner line breaks escaped, its final newline kept.
fn one_line(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    if !body.iter().any(|&b| b == b'\n' || b == b'\r') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len() + 8);
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
    if body.len() < line.len() {
        out.push(b'\n');
    }
    std::borrow::Cow::Owned(out)
}

/// The report commands' output (standard output in the binary), noting when its reader went
/// away (`crier status | head -1`): the write fails with a broken pipe, the command ends
/// there, and the binary exits 0 without a message, as Unix filters do.
pub struct ReportOut<W> {
    inner: W,
    reader_gone: bool,
}

impl<W: Write> ReportOut<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> ReportOut<W> {
        ReportOut {
            inner,
            reader_gone: false,
        }
    }

    /// Whether a write failed because nobody reads any more.
    pub fn reader_gone(&self) -> bool {
        self.reader_gone
    }

    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.reader_gone = true;
        }
        result
    }
}

impl<W: Write> Write for ReportOut<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(bytes);
        self.note(result)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

/// What only the binary may set up for the whole process, handed to [`execute`].
pub struct Process {
    /// Installs the process's signal handlers, from inside the daemon's runtime: a stop
    /// request cancels the token, a reload request sends on the channel.
    pub install_signals: fn(CancellationToken, mpsc::Sender<()>) -> Result<()>,
    /// Called after each daemon job (the binary returns its allocator's free memory).
    pub after_job: Option<fn()>,
}

/// Runs the parsed command line, writing human output to `out`; the daemon gets its signals
/// and its after-job hook from `process`.
pub fn execute(cli: &Cli, out: &mut dyn Write, process: &Process) -> Result<Exit> {
    let now = cli.now.unwrap_or_else(Utc::now);
    match &cli.command {
        Command::Run {
            once,
            dry_run,
            announce_existing,
            full_read,
        } => {
            let config = load_config(&cli.config)?;
            show_progress(cli.log_format)?;
            if !once {
                if *dry_run || *announce_existing || *full_read {
                    anyhow::bail!(
                        "--dry-run, --announce-existing and --full-read go with --once: try `crier run --once --dry-run`"
                    );
                }
                if cli.now.is_some() {
                    // On a fixed clock the next tick would never come, and the health
                    // listener and the state's journal read the real one.
                    return Err(UsageError(
                        "--now (or CRIER_NOW) goes with `crier run --once`, `plan` and `retry`; \
                         the daemon keeps the real time: unset CRIER_NOW (check the service's \
                         Environment= and crier.env)"
                            .to_owned(),
                    )
                    .into());
                }
                return daemon(&cli.config, config, process);
            }
            run_once(
                &config,
                JobOptions {
                    now: cli.now,
                    dry_run: *dry_run,
                    announce_existing: *announce_existing,
                    full_read: *full_read,
                    progress: &PROGRESS,
                },
            )
        }
        Command::Retry { channel, entry } => {
            let config = load_config(&cli.config)?;
            retry(&config, channel.as_deref(), entry.as_deref(), now, out)
        }
        Command::Check { show } => check(&cli.config, *show, out),
        Command::Plan { json } => {
            let config = load_config(&cli.config)?;
            show_progress(cli.log_format)?;
            plan(&config, now, *json, out)
        }
        Command::Preview { output, offline } => {
            let config = load_config(&cli.config)?;
            preview(&config, now, output.as_deref(), *offline, out)
        }
        Command::Status { json } => {
            let config = load_config(&cli.config)?;
            status(&config, *json, out)
        }
        Command::Healthcheck { timeout } => {
            let config = load_config(&cli.config)?;
            healthcheck(&config, *timeout, out)
        }
        Command::Init { from, output } => init(from, output.as_deref(), out),
        Command::Config => {
            let config = load_config(&cli.config)?;
            report::config::write(&config, out)?;
            Ok(Exit::Ok)
        }
        Command::Completions { shell } => {
            manual::completions(*shell, out);
            Ok(Exit::Ok)
        }
        Command::Man => {
            manual::man(out)?;
            Ok(Exit::Ok)
        }
    }
}

/// `crier init`: writes the config and says what to check and run next. An existing output
/// file or a folder that is not a site is a usage error (exit 2).
pub fn init(from: &Path, output: Option<&Path>, out: &mut dyn Write) -> Result<Exit> {
    let written = match crate::init::init(from, output) {
        Ok(written) => written,
        Err(e) if e.is_usage() => return Err(UsageError(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    let read: Vec<String> = written
        .read
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    writeln!(
        out,
        "wrote {} from the {} site's config ({})",
        written.path.display(),
        written.generator.title(),
        read.join(", ")
    )?;
    if !written.notes.is_empty() {
        writeln!(out, "to check (also noted at the top of the file):")?;
        for note in &written.notes {
            writeln!(out, "- {note}")?;
        }
    }
    writeln!(out, "next: crier --config {} check", written.path.display())?;
    Ok(Exit::Ok)
}

fn load_config(path: &Path) -> Result<Config> {
    Ok(Config::load(path)?)
}

/// One cycle and the due posts: `crier run --once`. Holds the instance lock meanwhile.
pub fn run_once(config: &Config, options: JobOptions) -> Result<Exit> {
    let _lock = InstanceLock::acquire(&config.store.path)?;
    let runtime = runtime()?;
    let outcome = runtime.block_on(job::run(
        Arc::new(config.clone()),
        options,
        CancellationToken::new(),
    ))?;
    Ok(if outcome.needs_attention() {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// `crier run` without `--once`: the daemon, under the instance lock, with the health listener
/// bound and the signals installed here, at the binary's start (SIGTERM and SIGINT stop it,
/// SIGHUP reloads the config file). Returns once stopped and every thread of its work is done.
fn daemon(config_path: &Path, config: Config, process: &Process) -> Result<Exit> {
    let lock = InstanceLock::acquire(&config.store.path)?;
    tracing::debug!(lock = %lock.path().display(), "instance lock taken");
    let path = config_path.to_owned();
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let (reload, reloads) = mpsc::channel(1);
        (process.install_signals)(shutdown.clone(), reload)?;
        let health = bind_health(&config).await?;
        daemon::run(daemon::Daemon {
            config,
            reload_config: Box::new(move || Ok(Config::load(&path)?)),
            clock: Box::new(daemon::SystemClock),
            jobs: daemon::Engine {
                progress: &PROGRESS,
            },
            shutdown,
            reloads,
            health,
            after_job: process.after_job,
        })
        .await
    });
    // Dropping the runtime waits for its blocking threads: a cycle that a stop cut short is
    // still recording its state there. The lock is released only after them, so that a
    // timer's run or a restart never works on the state beside this process.
    drop(runtime);
    if result.is_ok() {
        tracing::info!("crier daemon stopped");
    }
    drop(lock);
    result?;
    Ok(Exit::Ok)
}

/// `crier healthcheck`: 0 when the daemon's listener answers 200, an error (exit 1) naming
/// the reason otherwise.
fn healthcheck(config: &Config, timeout: std::time::Duration, out: &mut dyn Write) -> Result<Exit> {
    let Some(health) = &config.daemon.health else {
        anyhow::bail!(
            "the config has no [daemon.health] table, so the daemon has no listener to ask; add \
             `[daemon.health]` with `listen = \"127.0.0.1:9464\"` and restart the daemon"
        );
    };
    let probe = runtime()?.block_on(health::probe::probe(health.listen, timeout))?;
    let url = health::probe::url(health.listen);
    match probe {
        health::probe::Probe::Healthy => {
            writeln!(out, "healthy ({url})")?;
            Ok(Exit::Ok)
        }
        health::probe::Probe::Unhealthy { status, reason } => {
            anyhow::bail!("unhealthy: {url} answered {status}: {reason}")
        }
    }
}

/// Binds the health and metrics listener when `[daemon.health]` is set, before the daemon
/// starts, so that a port in use stops the start.
async fn bind_health(config: &Config) -> Result<Option<HealthServer>> {
    let Some(health) = &config.daemon.health else {
        return Ok(None);
    };
    let listen = health.listen;
    let server = HealthServer::bind(HealthConfig {
        listen,
        max_age: health.max_age,
        source_max_age: health.source_max_age,
        serve_feeds: health.serve_feeds.then(|| config.feeds.output_dir.clone()),
    })
    .await
    .with_context(|| format!("cannot listen on {listen} (daemon.health.listen)"))?;
    Ok(Some(if health.preview {
        server.with_preview()
    } else {
        server
    }))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Renders the due deliveries without sending anything (`plan`).
fn render_due(config: &Config, store: Store, now: DateTime<Utc>) -> Result<DeliveryReport> {
    let options = DeliverOptions { now, dry_run: true };
    let store = Arc::new(Mutex::new(store));
    Ok(runtime()?.block_on(deliver::deliver(
        config,
        store,
        options,
        &CancellationToken::new(),
    ))?)
}

/// `crier check`: the config, then every document of every source with what its read noticed,
/// then the secrets of every enabled channel, each problem listed. Exit 1 when the config cannot be used or a secret
/// cannot be read, 3 for other problems.
pub fn check(config_path: &Path, show: usize, out: &mut dyn Write) -> Result<Exit> {
    let config = match Config::load(config_path) {
        Ok(config) => config,
        Err(e) => {
            writeln!(out, "config: {e}")?;
            writeln!(out, "1 problem found")?;
            return Ok(Exit::Failure);
        }
    };
    writeln!(out, "config: {} is valid", config_path.display())?;
    let mut problems = Vec::new();
    let mut ids = sources::IdClaims::default();
    for source_config in &config.sources {
        let source = sources::build(&config.site, source_config);
        let (known, cache) = (HashMap::new(), sources::Cache::new());
        let input = sources::ReadInput {
            known: &known,
            cache: &cache,
            now: Utc::now(),
            progress: Progress::ignored(),
        };
        let read = match sources::read_contained(source.as_ref(), &input) {
            Ok(read) => read,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let documents = &read.documents;
        let (mut entries, mut skipped) = (0, 0);
        let mut sample: Vec<&Entry> = Vec::new();
        for doc in documents {
            match &doc.outcome {
                Outcome::Parsed(entry) => {
                    entries += 1;
                    sample.push(entry);
                    if let Err(e) = ids.claim(&entry.id, &doc.key) {
                        problems.push(e);
                    }
                }
                Outcome::Skipped(_) => skipped += 1,
                Outcome::Failed(e) => problems.push(e.to_string()),
                Outcome::Unchanged => {}
            }
        }
        writeln!(
            out,
            "source {:?} ({}): {} documents, {entries} entries, {skipped} skipped",
            source.name(),
            source_config.kind(),
            documents.len()
        )?;
        sample.sort_by(|a, b| b.published.cmp(&a.published).then_with(|| a.id.cmp(&b.id)));
        for entry in sample.into_iter().take(show) {
            show_entry(entry, out)?;
        }
        show_notices(&read.notices, out)?;
    }
    let unreadable = check_secrets(&config, &mut problems, out)?;
    for p in &problems {
        writeln!(out, "error: {p}")?;
    }
    if problems.is_empty() {
        writeln!(out, "no problems found")?;
        Ok(Exit::Ok)
    } else {
        writeln!(
            out,
            "{} problem{} found",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        )?;
        Ok(if unreadable > 0 {
            Exit::Failure
        } else {
            Exit::Partial
        })
    }
}

/// What a source's read noticed, after its entries: each warning's cause with every file it
/// names, so that an editor sees all the files passed over (the log names the first few), and
/// each info's cause as its count line. Notices are no problems: they do not change the exit
/// code.
fn show_notices(notices: &sources::Notices, out: &mut dyn Write) -> std::io::Result<()> {
    for (level, cause, locations) in notices.iter() {
        if level == NoticeLevel::Warning {
            writeln!(out, "  warning: {cause}: {}", locations.len())?;
            for location in locations {
                writeln!(out, "    {location}")?;
            }
        }
    }
    for (level, line) in notices.lines() {
        if level == NoticeLevel::Info {
            writeln!(out, "  info: {line}")?;
        }
    }
    Ok(())
}

/// Says for each enabled channel whether its secrets can be read, adds one problem per
/// secret that cannot, and returns how many those are.
// An unreadable secret fails the check (exit 1) rather than asking for a look (3): that
// channel would pause at its first post, which `check` is run beforehand to prevent. `run`
// still starts then, and pauses only that channel.
fn check_secrets(
    config: &Config,
    problems: &mut Vec<String>,
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let mut unreadable = 0;
    for (i, channel) in config.channels.iter().enumerate() {
        if !channel.common.enabled {
            continue;
        }
        let missing = channel.unreadable_secrets();
        for secret in &missing {
            problems.push(format!(
                "channel {:?}: `channels[{i}].{}`: {}",
                channel.common.name, secret.key, secret.reason
            ));
        }
        unreadable += missing.len();
        let state = if missing.is_empty() {
            "secrets readable"
        } else {
            "secrets missing"
        };
        writeln!(
            out,
            "channel {:?} ({}): {state}",
            channel.common.name,
            channel.network_name()
        )?;
    }
    Ok(unreadable)
}

/// A mapped entry as `check` shows it: every field an operator maps, on a few lines.
fn show_entry(entry: &Entry, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "  - {}", entry.id)?;
    writeln!(out, "    title:     {}", entry.title)?;
    writeln!(out, "    url:       {}", entry.url)?;
    let updated = entry
        .updated
        .map(|u| format!(" (updated {})", u.to_rfc3339()))
        .unwrap_or_default();
    writeln!(
        out,
        "    published: {}{updated}",
        entry.published.to_rfc3339()
    )?;
    writeln!(out, "    language:  {}", entry.language)?;
    if !entry.categories.is_empty() {
        writeln!(out, "    categories: {}", entry.categories.join(", "))?;
    }
    if let Some(image) = &entry.image {
        writeln!(out, "    image:     {}", image.url)?;
    }
    if let Some(author) = &entry.author {
        writeln!(out, "    author:    {}", author.name)?;
    }
    if let Some(place) = &entry.place {
        let parts: Vec<&str> = [&place.city, &place.country]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        writeln!(out, "    place:     {}", parts.join(", "))?;
    }
    let summary: String = entry.summary.chars().take(120).collect();
    let more = if entry.summary.chars().count() > 120 {
        "…"
    } else {
        ""
    };
    writeln!(out, "    summary:   {summary}{more}")?;
    writeln!(
        out,
        "    content:   {} characters of HTML",
        entry.content.chars().count()
    )?;
    if !entry.extra.is_empty() {
        let keys: Vec<&str> = entry.extra.keys().map(String::as_str).collect();
        writeln!(out, "    extra:     {}", keys.join(", "))?;
    }
    Ok(())
}

/// `crier plan`: a full cycle on a private copy of the state, feeds compared but not written,
/// then the posts a run would send now; as text or, with `json`, as one JSON document.
pub fn plan(config: &Config, now: DateTime<Utc>, json: bool, out: &mut dyn Write) -> Result<Exit> {
    let mut scratch = Store::scratch_copy(&config.store.path)?;
    let cycle = cycle::run(
        config,
        &mut scratch,
        CycleOptions {
            now,
            write_feeds: false,
            announce_existing: false,
            full_read: false,
            progress: &PROGRESS,
        },
    )?;
    // The posts due now, exactly as a run would send them (rendered on the scratch copy).
    let delivered = if config.channels.is_empty() {
        None
    } else {
        Some(render_due(config, scratch, now)?)
    };
    let plan = report::plan::gather(&cycle, delivered.as_ref());
    if json {
        report::write_json(&plan, out)?;
    } else {
        report::plan::render_text(&plan, out)?;
    }
    Ok(if cycle.errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Partial
    })
}

pub fn preview(
    config: &Config,
    now: DateTime<Utc>,
    output: Option<&Path>,
    offline: bool,
    out: &mut dyn Write,
) -> Result<Exit> {
    let mut scratch = Store::scratch_copy(&config.store.path)?;
    let report = cycle::run(
        config,
        &mut scratch,
        CycleOptions {
            now,
            write_feeds: false,
            announce_existing: false,
            full_read: false,
            progress: &PROGRESS,
        },
    )?;
    let mut page = preview::gather(config, &scratch, now, &report.queued)?;
    page.notes.splice(0..0, preview::cycle_notes(&report));
    if !offline {
        preview::cards::check(&mut page, &config.site.base_url);
    }
    let html = preview::page::render(&page)?;
    match output {
        Some(path) => {
            write_if_changed(path, html.as_bytes())
                .with_context(|| format!("cannot write the preview to {}", path.display()))?;
            let posts: usize = page.entries.iter().map(|e| e.posts.len()).sum();
            writeln!(
                out,
                "wrote {}: {posts} posts of {} entries",
                path.display(),
                page.entries.len()
            )?;
        }
        None => out.write_all(html.as_bytes())?,
    }
    Ok(if report.errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Partial
    })
}

/// `crier status`: counts and the last run, read without writing; as text or, with `json`, as
/// one JSON document.
pub fn status(config: &Config, json: bool, out: &mut dyn Write) -> Result<Exit> {
    let status = report::status::gather(config)?;
    if json {
        report::write_json(&status, out)?;
    } else {
        report::status::render_text(&status, out)?;
    }
    Ok(Exit::Ok)
}

/// `crier retry`: dead, failed and held deliveries back to pending, pauses lifted.
pub fn retry(
    config: &Config,
    channel: Option<&str>,
    entry: Option<&str>,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Exit> {
    if let Some(name) = channel
        && !config.channels.iter().any(|c| c.common.name == name)
    {
        anyhow::bail!(
            "no channel named {name:?} in {}; the channels are: {}",
            config.file.display(),
            config
                .channels
                .iter()
                .map(|c| c.common.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut store = Store::open(&config.store.path)?;
    let (requeued, unpaused) = store.retry(channel, entry, now)?;
    writeln!(
        out,
        "{requeued} deliveries re-queued, {unpaused} channels resumed; the next `crier run --once` sends them"
    )?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Notices;

    #[test]
    fn colours_need_a_terminal_and_no_no_color() {
        use std::ffi::OsStr;
        assert!(use_colour(true, None));
        assert!(!use_colour(false, None));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(true, Some(OsStr::new("false"))));
        // NO_COLOR set to the empty string does not count (no-color.org).
        assert!(use_colour(true, Some(OsStr::new(""))));
    }

    #[test]
    fn progress_is_a_bar_on_a_terminal_lines_elsewhere_and_can_be_turned_off() {
        use std::ffi::OsStr;
        use std::time::Duration;
        let lines = |interval| Ok(Show::Lines { interval });
        assert_eq!(progress_display(false, None), lines(Duration::from_secs(5)));
        assert_eq!(
            progress_display(false, Some(OsStr::new("50ms"))),
            lines(Duration::from_millis(50))
        );
        assert_eq!(
            progress_display(true, None),
            Ok(Show::Bar {
                after: Duration::from_secs(1)
            })
        );
        for off in ["0", "off", "0s"] {
            assert_eq!(
                progress_display(true, Some(OsStr::new(off))),
                Ok(Show::Hidden)
            );
            assert_eq!(
                progress_display(false, Some(OsStr::new(off))),
                Ok(Show::Hidden)
            );
        }
        let refused = progress_display(false, Some(OsStr::new("soon"))).unwrap_err();
        assert!(
            refused.starts_with("CRIER_PROGRESS_INTERVAL=\"soon\" is not a duration"),
            "{refused}"
        );
    }

    #[test]
    fn a_log_line_keeps_to_one_line() {
        let line = |s: &str| String::from_utf8(one_line(s.as_bytes()).into_owned()).unwrap();
        assert_eq!(
            line("WARN post refused text=\"a\nb\r\nc\"\n"),
            "WARN post refused text=\"a\\nb\\r\\nc\"\n"
        );
        assert_eq!(line("INFO plain\n"), "INFO plain\n");
        assert!(matches!(
            one_line(b"INFO plain\n"),
            std::borrow::Cow::Borrowed(_)
        ));
        // A last line break is the line's own; only one at the very end.
        assert_eq!(line("INFO a\n\n"), "INFO a\\n\n");
        assert_eq!(line("no end\nhere"), "no end\\nhere");
    }

    #[test]
    fn each_level_has_its_syslog_priority() {
        assert_eq!(syslog_priority(tracing::Level::ERROR), "<3>");
        assert_eq!(syslog_priority(tracing::Level::WARN), "<4>");
        assert_eq!(syslog_priority(tracing::Level::INFO), "<6>");
        assert_eq!(syslog_priority(tracing::Level::DEBUG), "<7>");
        assert_eq!(syslog_priority(tracing::Level::TRACE), "<7>");
    }

    #[test]
    fn check_lists_every_file_of_a_warning_and_counts_the_infos() {
        let mut notices = Notices::default();
        for i in 1..=5 {
            notices.add(
                NoticeLevel::Warning,
                "AsciiDoc files skipped",
                format!("{i}.adoc"),
            );
            notices.add(NoticeLevel::Info, "pages without a date", format!("{i}.md"));
        }
        let mut out = Vec::new();
        show_notices(&notices, &mut out).expect("writing to a Vec");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "  warning: AsciiDoc files skipped: 5\n    1.adoc\n    2.adoc\n    3.adoc\n    \
             4.adoc\n    5.adoc\n  info: pages without a date: 5 (1.md, 2.md, 3.md and 2 more)\n"
        );
    }

    #[test]
    fn check_prints_nothing_when_nothing_was_noticed() {
        let mut out = Vec::new();
        show_notices(&Notices::default(), &mut out).expect("writing to a Vec");
        assert!(out.is_empty());
    }
}

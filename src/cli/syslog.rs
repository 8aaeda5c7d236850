//! `--log-format syslog`: each log line sent as one datagram to the local syslog socket
//! (`/dev/log`, which rsyslog, syslog-ng, busybox syslogd and journald all serve), in the
//! local form glibc's `syslog(3)` uses: `<PRI>crier[PID]: message`, facility `daemon`, the
//! severity of the line's level. A cron job then keeps its levels (`grep crier.*err`,
//! `journalctl -p warning`) and its exit status (no pipe to `logger`), with one timestamp:
//! the one the syslog daemon stamps on receipt. Without a socket to send to, lines go to stderr,
//! where cron mails them.
//!
//! A few lines over `UnixDatagram` rather than the `syslog` crate: the line is already
//! formatted by `tracing_subscriber`, and only the header and the socket are left to do.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Arc;

use tracing_subscriber::fmt::MakeWriter;

/// The syslog socket, unless `CRIER_SYSLOG_SOCKET` names another (the tests bind their own).
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// The environment variable naming another socket than [`DEFAULT_SOCKET`].
pub const SOCKET_VAR: &str = "CRIER_SYSLOG_SOCKET";

/// The `daemon` facility (3), times 8, as the priority value counts it (RFC 5424, 6.2.1).
const FACILITY_DAEMON: u8 = 3 << 3;

/// Makes one [`SyslogLine`] per event, knowing its level.
#[derive(Clone)]
pub struct Syslog {
    inner: Arc<Inner>,
}

struct Inner {
    socket: Option<UnixDatagram>,
    path: PathBuf,
    /// `crier[PID]: `, the same for every line of this process.
    tag: String,
}

impl Syslog {
    /// Sends to the socket `CRIER_SYSLOG_SOCKET` names, or `/dev/log`.
    pub fn from_env() -> Syslog {
        Syslog::new(socket_path(std::env::var_os(SOCKET_VAR)))
    }

    /// Sends to the socket at `path`.
    pub fn new(path: PathBuf) -> Syslog {
        Syslog {
            inner: Arc::new(Inner {
                // An unbound socket sending to the path each time: a syslog daemon restarted
                // between two lines is found again, which a connected socket would not do.
                socket: UnixDatagram::unbound().ok(),
                path,
                tag: format!("crier[{}]: ", std::process::id()),
            }),
        }
    }
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = SyslogLine;

    fn make_writer(&'a self) -> SyslogLine {
        self.line(tracing::Level::INFO)
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> SyslogLine {
        self.line(*meta.level())
    }
}

impl Syslog {
    fn line(&self, level: tracing::Level) -> SyslogLine {
        SyslogLine {
            syslog: Arc::clone(&self.inner),
            priority: priority(level),
        }
    }
}

/// The writer of one event: its bytes, a header put before them, go out as one datagram.
pub struct SyslogLine {
    syslog: Arc<Inner>,
    priority: u8,
}

impl Write for SyslogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let body = super::one_line(bytes);
        // The level's padding (` INFO`, aligning columns on a terminal) would follow the tag's
        // space.
        let body = body.strip_suffix(b"\n").unwrap_or(&body).trim_ascii_start();
        let mut datagram = format!("<{}>{}", self.priority, self.syslog.tag).into_bytes();
        datagram.extend_from_slice(body);
        let sent = self
            .syslog
            .socket
            .as_ref()
            .is_some_and(|s| s.send_to(&datagram, &self.syslog.path).is_ok());
        if !sent {
            // No syslog here (a bare container) or it is gone for a moment: the line goes to
            // stderr, as without the option, rather than nowhere; a failed write is dropped
            // there as in `LogWriter`.
            let _ = super::LogWriter.write_all(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The socket a `CRIER_SYSLOG_SOCKET` value names: `/dev/log` when unset or empty.
fn socket_path(value: Option<std::ffi::OsString>) -> PathBuf {
    value
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_SOCKET), PathBuf::from)
}

/// The priority value of a level's line: facility `daemon` plus the severity (3 err,
/// 4 warning, 6 info, 7 debug and trace).
fn priority(level: tracing::Level) -> u8 {
    let severity = match level {
        tracing::Level::ERROR => 3,
        tracing::Level::WARN => 4,
        tracing::Level::INFO => 6,
        _ => 7,
    };
    FACILITY_DAEMON | severity
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(socket: &UnixDatagram) -> String {
        let mut buffer = [0u8; 1024];
        let size = socket.recv(&mut buffer).unwrap();
        String::from_utf8_lossy(&buffer[..size]).into_owned()
    }

    #[test]
    fn the_socket_is_dev_log_unless_a_path_is_named() {
        assert_eq!(socket_path(None), PathBuf::from("/dev/log"));
        assert_eq!(socket_path(Some("".into())), PathBuf::from("/dev/log"));
        assert_eq!(
            socket_path(Some("/run/test/log".into())),
            PathBuf::from("/run/test/log")
        );
    }

    #[test]
    fn each_level_gets_the_daemon_facility_and_its_severity() {
        assert_eq!(priority(tracing::Level::ERROR), 27);
        assert_eq!(priority(tracing::Level::WARN), 28);
        assert_eq!(priority(tracing::Level::INFO), 30);
        assert_eq!(priority(tracing::Level::DEBUG), 31);
        assert_eq!(priority(tracing::Level::TRACE), 31);
    }

    #[test]
    fn a_line_is_one_datagram_with_the_header_and_no_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let syslog = Syslog::new(path);
        let meta = tracing::Level::WARN;
        let mut line = syslog.line(meta);
        line.write_all(b" WARN a post\nwith two lines\n").unwrap();
        assert_eq!(
            received(&server),
            format!(
                "<28>crier[{}]: WARN a post\\nwith two lines",
                std::process::id()
            )
        );
    }

    #[test]
    fn without_a_socket_the_line_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut line = Syslog::new(dir.path().join("absent")).line(tracing::Level::ERROR);
        assert_eq!(line.write(b"ERROR lost?\n").unwrap(), 12);
    }
}

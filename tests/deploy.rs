//! The files in `deploy/`, checked by the programs that will read them.
//!
//! - `tests/tools/verify_units.sh` runs systemd's own parsers (`systemd-analyze verify`,
//!   `systemd-sysusers`, `systemd-tmpfiles`) on `deploy/systemd/`; no running systemd is
//!   needed. Without `systemd-analyze` the test prints a "skipped" line and passes, unless
//!   `CRIER_REQUIRE_SYSTEMD=1` (set it in CI), which makes the missing tool a failure.
//!   `apt-get install systemd` provides it.
//! - Every crier command line in the systemd units, the cron file and the Containerfile is
//!   given to the real binary, so that a renamed option or command fails here rather than on
//!   a server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Exit status of `verify_units.sh` when `systemd-analyze` is not installed.
const SKIPPED: i32 = 77;

/// The config path the deploy files use.
const CONFIG: &str = "/etc/crier/crier.toml";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn skip(reason: &str) {
    let required = std::env::var_os("CRIER_REQUIRE_SYSTEMD").is_some_and(|v| v == "1");
    assert!(
        !required,
        "{reason}, and CRIER_REQUIRE_SYSTEMD=1 requires the check"
    );
    // Written straight to stderr: the test harness would swallow `eprintln!` of a passing test.
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

#[test]
fn systemd_accepts_the_unit_files() {
    let script = repo().join("tests/tools/verify_units.sh");
    let output = match Command::new("bash").arg(&script).output() {
        Ok(output) => output,
        Err(error) => return skip(&format!("cannot run bash ({error})")),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    match output.status.code() {
        Some(0) => {}
        Some(SKIPPED) => skip("systemd-analyze is not installed (apt-get install systemd)"),
        _ => panic!("{} found problems:\n{text}", script.display()),
    }
}

/// The arguments after the program in `ExecStart=` of a unit file.
fn exec_start(unit: &str) -> Vec<String> {
    let text = read(unit);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("{unit}: no ExecStart="));
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/crier"), "{unit}: {line}");
    words.map(str::to_owned).collect()
}

/// The arguments of crier in the cron line (up to a redirection, a pipe or `||`).
fn cron_command() -> Vec<String> {
    let text = read("deploy/cron/crier.cron");
    let line = text
        .lines()
        .find(|l| !l.trim_start().starts_with('#') && l.contains("/usr/local/bin/crier"))
        .expect("deploy/cron/crier.cron: no schedule line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let program = words
        .iter()
        .position(|w| *w == "/usr/local/bin/crier")
        .unwrap_or_else(|| panic!("cron line without /usr/local/bin/crier: {line}"));
    words[program + 1..]
        .iter()
        .take_while(|w| !w.starts_with('|') && !w.starts_with("2>"))
        .map(|w| (*w).to_owned())
        .collect()
}

/// The JSON-array form of a Containerfile instruction, e.g. `CMD ["--config", …]` (for
/// `HEALTHCHECK`, its `CMD`'s).
fn container_instruction(name: &str) -> Vec<String> {
    let text = read("deploy/container/Containerfile");
    let prefix = format!("{name} ");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("Containerfile: no {name}"));
    let json = line.find('[').map_or(line, |at| &line[at..]);
    serde_json::from_str(json).unwrap_or_else(|e| panic!("Containerfile {name} {json}: {e}"))
}

/// Runs crier with `args`, the config path replaced by a file that does not exist: the
/// command line must parse (anything but clap's exit code 2), and nothing else may happen.
fn assert_parses(origin: &str, args: &[String], missing: &Path) {
    assert!(
        args.iter().any(|a| a == CONFIG),
        "{origin}: expected `--config {CONFIG}` in {args:?}"
    );
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a == CONFIG {
                missing.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let output = assert_cmd::Command::cargo_bin("crier")
        .unwrap()
        .args(&args)
        .env_remove("CRIER_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{origin}: `crier {}` should parse and then fail on the missing config, got {:?}:\n{stderr}",
        args.join(" "),
        output.status
    );
    assert!(!stderr.contains("Usage:"), "{origin}: {stderr}");
}

#[test]
fn the_binary_accepts_every_deployed_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");

    let daemon = exec_start("deploy/systemd/crier.service");
    assert_eq!(daemon.last().map(String::as_str), Some("run"), "{daemon:?}");
    assert_parses("crier.service", &daemon, &missing);

    let once = exec_start("deploy/systemd/crier-once.service");
    assert!(once.ends_with(&["run".into(), "--once".into()]), "{once:?}");
    assert_parses("crier-once.service", &once, &missing);

    let cron = cron_command();
    assert!(cron.ends_with(&["run".into(), "--once".into()]), "{cron:?}");
    assert_parses("crier.cron", &cron, &missing);

    let entrypoint = container_instruction("ENTRYPOINT");
    assert_eq!(entrypoint, ["/usr/local/bin/crier"]);
    let cmd = container_instruction("CMD");
    assert_eq!(cmd.last().map(String::as_str), Some("run"), "{cmd:?}");
    assert_parses("Containerfile", &cmd, &missing);

    let check = container_instruction("HEALTHCHECK");
    assert_eq!(
        check.first().map(String::as_str),
        Some("/usr/local/bin/crier")
    );
    assert!(check.iter().any(|a| a == "healthcheck"), "{check:?}");
    assert_parses("Containerfile HEALTHCHECK", &check[1..], &missing);
}

#[test]
fn the_timer_starts_the_oneshot_and_not_the_daemon() {
    // A timer starts the service of its own name unless told otherwise: crier.service.
    let timer = read("deploy/systemd/crier.timer");
    assert!(
        timer.lines().any(|l| l == "Unit=crier-once.service"),
        "crier.timer must name Unit=crier-once.service"
    );
}

/// The Rust version the docs and the Containerfile ask for is Cargo.toml's `rust-version`, the
/// one cargo enforces: every "1.NN or newer" in them names it.
#[test]
fn the_docs_ask_for_the_rust_version_cargo_enforces() {
    let manifest = read("Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_owned())
        .expect("Cargo.toml: rust-version");
    let asked = regex::Regex::new(r"(?:Rust|stable,) (1\.\d+) or newer").unwrap();
    let mut seen = 0;
    for file in [
        "README.md",
        "docs/OPERATIONS.md",
        "deploy/container/Containerfile",
    ] {
        let text = read(file);
        let found: Vec<&str> = asked
            .captures_iter(&text)
            .map(|c| c.get(1).map_or("", |m| m.as_str()))
            .collect();
        assert!(!found.is_empty(), "{file} names no Rust version");
        for v in found {
            assert_eq!(
                v, version,
                "{file} asks for Rust {v}, Cargo.toml for {version}"
            );
            seen += 1;
        }
    }
    assert!(seen >= 3);
}

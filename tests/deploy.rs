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
//! - The Debian package's metadata (`[package.metadata.deb]` in Cargo.toml): every file it
//!   packs exists or is made by `deploy/debian/build`, it ships the units of `deploy/systemd/`,
//!   and its conffile is a config that loads, with the paths the units use. Building and
//!   installing the package is `.ci/package`'s job (a release build: too slow for a test).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Exit status of `verify_units.sh` when `systemd-analyze` is not installed.
const SKIPPED: i32 = 77;

/// The config path the deploy files use.
const CONFIG: &str = "/etc/crier/crier.toml";

/// Where the units run crier from: the Debian package installs it there, and the hand install
/// in docs/OPERATIONS.md too.
const BINARY: &str = "/usr/bin/crier";

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
    assert_eq!(words.next(), Some(BINARY), "{unit}: {line}");
    words.map(str::to_owned).collect()
}

/// The arguments of crier in the cron line (up to a redirection, a pipe or `||`).
fn cron_command() -> Vec<String> {
    let text = read("deploy/cron/crier.cron");
    let line = text
        .lines()
        .find(|l| !l.trim_start().starts_with('#') && l.contains(BINARY))
        .expect("deploy/cron/crier.cron: no schedule line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let program = words
        .iter()
        .position(|w| *w == BINARY)
        .unwrap_or_else(|| panic!("cron line without {BINARY}: {line}"));
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

/// One file the Debian package packs: `[source, destination, mode]` in Cargo.toml.
#[derive(Debug)]
struct Asset {
    source: String,
    dest: String,
    mode: String,
}

/// `[package.metadata.deb]` of Cargo.toml.
fn deb_metadata() -> toml::Table {
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml parses");
    manifest
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("deb"))
        .and_then(toml::Value::as_table)
        .cloned()
        .expect("Cargo.toml: [package.metadata.deb]")
}

fn deb_assets() -> Vec<Asset> {
    let metadata = deb_metadata();
    let assets = metadata
        .get("assets")
        .and_then(toml::Value::as_array)
        .expect("[package.metadata.deb] assets");
    assets
        .iter()
        .map(|asset| {
            let fields: Vec<&str> = asset
                .as_array()
                .unwrap_or_else(|| panic!("asset {asset} is not [source, dest, mode]"))
                .iter()
                .filter_map(toml::Value::as_str)
                .collect();
            let [source, dest, mode] = fields[..] else {
                panic!("asset {asset} is not [source, dest, mode]");
            };
            Asset {
                source: source.to_owned(),
                dest: dest.to_owned(),
                mode: mode.to_owned(),
            }
        })
        .collect()
}

/// The installed path of an asset: a destination ending in `/` keeps the source's file name.
fn installed(asset: &Asset) -> String {
    if asset.dest.ends_with('/') {
        let name = Path::new(&asset.source)
            .file_name()
            .and_then(|n| n.to_str())
            .expect("asset source with a file name");
        format!("/{}{name}", asset.dest)
    } else {
        format!("/{}", asset.dest)
    }
}

#[test]
fn every_file_the_package_packs_exists_or_is_built() {
    let build = read("deploy/debian/build");
    let assets = deb_assets();
    assert!(!assets.is_empty());
    for asset in &assets {
        if let Some(binary) = asset.source.strip_prefix("target/release/") {
            // Built by cargo: it must be this crate's binary.
            assert_eq!(binary, "crier", "{asset:?}");
        } else if let Some(generated) = asset.source.strip_prefix("target/deb-assets/") {
            assert!(
                build
                    .lines()
                    .any(|l| !l.trim_start().starts_with('#') && l.contains(generated)),
                "{asset:?}: deploy/debian/build does not make {generated}"
            );
        } else {
            assert!(
                repo().join(&asset.source).is_file(),
                "{asset:?}: no file {} in the repository",
                asset.source
            );
        }
        assert!(
            u32::from_str_radix(&asset.mode, 8).is_ok_and(|m| m & 0o002 == 0),
            "{asset:?}: mode must be octal and not world-writable"
        );
    }
    let installed: Vec<String> = assets.iter().map(installed).collect();
    for expected in [
        BINARY,
        CONFIG,
        "/usr/lib/sysusers.d/crier.conf",
        "/usr/lib/tmpfiles.d/crier.conf",
        "/usr/share/doc/crier/README.md",
        "/usr/share/doc/crier/OPERATIONS.md",
    ] {
        assert!(
            installed.iter().any(|i| i == expected),
            "the package does not install {expected}: {installed:?}"
        );
    }
}

#[test]
fn the_package_ships_the_units_of_deploy_systemd() {
    let mut in_repo: Vec<String> = std::fs::read_dir(repo().join("deploy/systemd"))
        .expect("deploy/systemd")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".service") || n.ends_with(".timer"))
        .map(|n| format!("deploy/systemd/{n}"))
        .collect();
    in_repo.sort();
    let assets = deb_assets();
    let mut packed: Vec<String> = assets
        .iter()
        .filter(|a| installed(a).starts_with("/usr/lib/systemd/system/"))
        .map(|a| {
            // Installed under their own names: the units name each other (Unit=crier-once.service).
            assert!(a.dest.ends_with('/'), "{a:?}");
            assert_eq!(a.mode, "644", "{a:?}");
            a.source.clone()
        })
        .collect();
    packed.sort();
    assert_eq!(packed, in_repo, "units packed vs units in deploy/systemd/");

    let source_of = |dest: &str| {
        assets
            .iter()
            .find(|a| installed(a) == dest)
            .map(|a| a.source.as_str())
    };
    assert_eq!(
        source_of("/usr/lib/sysusers.d/crier.conf"),
        Some("deploy/systemd/crier.sysusers")
    );
    assert_eq!(
        source_of("/usr/lib/tmpfiles.d/crier.conf"),
        Some("deploy/systemd/crier.tmpfiles")
    );

    // Shipped, but never enabled or started by the package: the config needs editing first,
    // and only one of the daemon and the timer may run.
    let metadata = deb_metadata();
    let units = metadata
        .get("systemd-units")
        .and_then(toml::Value::as_table)
        .expect("[package.metadata.deb] systemd-units = { … }");
    assert_eq!(units.get("enable"), Some(&toml::Value::Boolean(false)));
    assert_eq!(units.get("start"), Some(&toml::Value::Boolean(false)));
    // cargo-deb inserts its systemd fragments at this token, and fails without it.
    let scripts = metadata
        .get("maintainer-scripts")
        .and_then(toml::Value::as_str)
        .expect("maintainer-scripts");
    for script in ["postinst", "postrm"] {
        let path = format!("{}{script}", scripts);
        assert!(read(&path).contains("\n#DEBHELPER#\n"), "{path}");
        let status = Command::new("sh")
            .arg("-n")
            .arg(repo().join(&path))
            .status();
        if let Ok(status) = status {
            assert!(status.success(), "{path}: sh -n found a syntax error");
        }
    }
}

/// The value of `key=` in a unit file.
fn unit_setting(unit: &str, key: &str) -> String {
    let prefix = format!("{key}=");
    read(unit)
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("{unit}: no {key}="))
}

#[test]
fn the_packaged_config_loads_with_the_paths_the_units_use() {
    let source = deb_assets()
        .into_iter()
        .find(|a| installed(a) == CONFIG)
        .expect("the package installs /etc/crier/crier.toml");
    // 0640: readable by the group crier (the postinst sets it), not by other users.
    assert_eq!(source.mode, "640");
    let config = crier::config::Config::load(&repo().join(&source.source))
        .unwrap_or_else(|e| panic!("{}: {e}", source.source));

    for unit in [
        "deploy/systemd/crier.service",
        "deploy/systemd/crier-once.service",
    ] {
        let state = format!("/var/lib/{}", unit_setting(unit, "StateDirectory"));
        assert!(
            config.store.path.starts_with(&state),
            "{}: store.path {} is outside {unit}'s StateDirectory {state}",
            source.source,
            config.store.path.display()
        );
        let writable = unit_setting(unit, "ReadWritePaths");
        assert_eq!(
            config.feeds.output_dir,
            Path::new(&writable),
            "{}: feeds.output_dir vs {unit}'s ReadWritePaths",
            source.source
        );
    }
    let tmpfiles = read("deploy/systemd/crier.tmpfiles");
    for folder in [
        config.feeds.output_dir.as_path(),
        config.store.path.parent().expect("store.path has a folder"),
    ] {
        assert!(
            tmpfiles.lines().any(|l| {
                l.starts_with("d ")
                    && l.split_whitespace().nth(1) == Some(&*folder.to_string_lossy())
                    && l.split_whitespace().nth(3) == Some("crier")
            }),
            "crier.tmpfiles does not give {} to crier",
            folder.display()
        );
    }
}

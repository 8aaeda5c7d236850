//! The docs, held to the program. Every shell block (```` ```sh ````, `console`, `bash`,
//! `shell`) of README.md and docs/*.md is split into simple commands:
//!
//! - each `crier …` invocation (also after `sudo -u USER`, `exec`, `sh -c '…'`, or as
//!   `cargo run -- …`) must parse with the real clap definition, so a renamed flag or command
//!   fails here; and every one that changes nothing outside a scratch folder is run, against a
//!   copy of the shipped sample (`config/example.toml` and `content/`), and must exit 0;
//! - any other program must be in [`NOT_RUN`], which says why the test leaves it (root,
//!   systemd, the packaging step of CI runs those).
//!
//! Besides: the error messages docs/OPERATIONS.md's troubleshooting quotes are produced through
//! the binary and matched against the quotes, the log messages its table quotes are found in
//! the source, and the TOML snippets of README.md and OPERATIONS.md, merged into the example
//! config as the text says (a table replaces the table of its name), load.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use crier::cli::Cli;
use regex::Regex;

/// Programs the docs show that this test does not run, and why.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "install",
        "copies into /etc, /usr/local and /var as root (the packaging CI step installs)",
    ),
    ("systemctl", "needs a running systemd"),
    ("systemd-sysusers", "creates a system user, as root"),
    ("systemd-tmpfiles", "creates system folders, as root"),
    ("useradd", "creates a system user, as root"),
    ("editor", "interactive"),
    ("rm", "removes a file of the installed state"),
    ("mv", "replaces the installed binary"),
    ("sqlite3", "backs up the installed state, as the crier user"),
    (
        "dpkg",
        "installs a package, as root (the packaging CI step runs it)",
    ),
    (
        "apt",
        "installs a package, as root (the packaging CI step runs it)",
    ),
    (
        "apt-get",
        "installs a package, as root (the packaging CI step runs it)",
    ),
    (
        "cargo",
        "builds or tests crier itself; `.ci/run` runs the README's commands (checked below)",
    ),
    (
        "bench/run.sh",
        "the benchmark, minutes long (docs/PERFORMANCE.md)",
    ),
    (
        "bench/remote.sh",
        "the remote benchmark, minutes long (docs/PERFORMANCE.md)",
    ),
    ("journalctl", "reads the systemd journal"),
    ("curl", "asks a server on the network"),
    (
        "systemd-analyze",
        "verifies installed units (the packaging CI step runs it)",
    ),
    ("cp", "copies into system folders, as root"),
    ("mkdir", "creates system folders, as root"),
    ("chmod", "changes system files, as root"),
    ("chown", "changes system files, as root"),
    ("gzip", "writes a man page into /usr/share, as root"),
    ("podman", "builds or runs the container image"),
    (
        "deploy/debian/build",
        "a release build and the .deb (.ci/package runs it, then installs the package)",
    ),
    (
        "jq",
        "filters crier's JSON, which the test runs and tests/machine_output.rs parses",
    ),
    ("tee", "writes crier's output into a system folder, as root"),
    (
        "man",
        "shows the manual; tests/machine_output.rs renders it with groff",
    ),
    ("docker", "builds or runs the container image"),
];

/// Shell builtins the docs' scripts use around crier (`set -a; . crier.env`).
const SHELL_BUILTINS: &[&str] = &["set", ".", "[", "export", "cd", "test", "true"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md and every docs/*.md, by their path in the repository.
fn doc_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// A fenced block of a Markdown file.
struct Block {
    lang: String,
    /// The line of the opening fence, for messages.
    line: usize,
    body: String,
}

/// The fenced blocks of `text` (fences may be indented, as inside a list).
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(lang) = trimmed.strip_prefix("```") {
                    open = Some((lang.trim().to_owned(), number + 1, String::new()));
                }
            }
            Some((_, _, body)) if trimmed != "```" => {
                body.push_str(trimmed);
                body.push('\n');
            }
            Some(_) => {
                let (lang, line, body) = open.take().expect("an open block");
                out.push(Block { lang, line, body });
            }
        }
    }
    out
}

/// A shell word or an operator that ends a simple command.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    End,
}

/// Splits shell text into words and command ends (`;`, `|`, `||`, `&&`, `&`, a line break),
/// with quotes, backslash-newline and comments; redirections are dropped.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    let finish = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
            },
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(q),
                    }
                }
            }
            '#' if !in_word => {
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                tokens.push(Token::End);
            }
            // `2>&1` is a redirection, not `&`.
            '&' if in_word && word.ends_with('>') => word.push('&'),
            ';' | '|' | '&' | '\n' => {
                finish(&mut word, &mut in_word, &mut tokens);
                tokens.push(Token::End);
            }
            c if c.is_whitespace() => finish(&mut word, &mut in_word, &mut tokens),
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    finish(&mut word, &mut in_word, &mut tokens);
    tokens
}

/// The simple commands of shell text, each a list of words, redirections taken out.
fn commands(text: &str) -> Vec<Vec<String>> {
    let redirection = Regex::new(r"^[0-9]*[<>]").unwrap();
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut skip_target = false;
    for token in tokenize(text) {
        match token {
            Token::End => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                skip_target = false;
            }
            Token::Word(_) if skip_target => skip_target = false,
            Token::Word(w) if redirection.is_match(&w) => {
                // `>` alone takes the next word as its target; `>file` and `2>&1` do not.
                skip_target = w.trim_start_matches(|c: char| c.is_ascii_digit()).len() == 1;
            }
            Token::Word(w) => current.push(w),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// What a simple command runs: crier with its arguments, or another program.
enum Program {
    Crier(Vec<String>),
    Other(String),
}

/// Looks through `VAR=…` assignments, `sudo [-u USER]`, `exec`, `sh -c '…'` (whose commands
/// are returned) and `cargo run … --`.
fn programs(words: &[String]) -> Vec<Program> {
    let mut rest = words;
    while let Some(first) = rest.first() {
        let assignment = first.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        });
        if assignment || first == "exec" {
            rest = &rest[1..];
        } else if first == "sudo" {
            rest = &rest[1..];
            while let Some(option) = rest.first().filter(|w| w.starts_with('-')) {
                let takes_value = option == "-u" || option == "-g";
                rest = &rest[if takes_value { 2 } else { 1 }..];
            }
        } else {
            break;
        }
    }
    let Some(program) = rest.first() else {
        return Vec::new();
    };
    if (program == "sh" || program == "bash") && rest.get(1).is_some_and(|w| w == "-c") {
        let script = rest.get(2).map_or("", String::as_str);
        return commands(script).iter().flat_map(|c| programs(c)).collect();
    }
    if program == "cargo"
        && rest.get(1).is_some_and(|w| w == "run")
        && let Some(dashes) = rest.iter().position(|w| w == "--")
    {
        return vec![Program::Crier(rest[dashes + 1..].to_vec())];
    }
    // `crier`, `/usr/bin/crier`, and a new binary beside it (`crier.new`).
    let name = program.rsplit('/').next().unwrap_or(program);
    if name == "crier" || name.starts_with("crier.") {
        return vec![Program::Crier(rest[1..].to_vec())];
    }
    vec![Program::Other(program.clone())]
}

/// One `crier …` line of the docs, where it was found.
struct Invocation {
    origin: String,
    args: Vec<String>,
}

/// Every crier invocation in the shell blocks of the docs; panics on a program the docs show
/// that is neither crier nor in [`NOT_RUN`].
fn invocations() -> Vec<Invocation> {
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for file in doc_files() {
        let text = read(&file);
        for block in blocks(&text) {
            if !["sh", "console", "bash", "shell"].contains(&block.lang.as_str()) {
                continue;
            }
            let body: String = if block.lang == "console" {
                // Only the prompt lines are commands; the others are their output.
                block
                    .body
                    .lines()
                    .filter_map(|l| l.strip_prefix("$ "))
                    .map(|l| format!("{l}\n"))
                    .collect()
            } else {
                block.body.clone()
            };
            for words in commands(&body) {
                for program in programs(&words) {
                    match program {
                        Program::Crier(args) => found.push(Invocation {
                            origin: format!("{file}:{}: {}", block.line, words.join(" ")),
                            args,
                        }),
                        Program::Other(name)
                            if NOT_RUN.iter().any(|(n, _)| *n == name)
                                || SHELL_BUILTINS.contains(&name.as_str()) => {}
                        Program::Other(name) => {
                            unknown.push(format!("{file}:{}: `{name}`", block.line))
                        }
                    }
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "programs the docs show that this test neither runs nor lists in NOT_RUN (add the \
         program with the reason, or show a crier command):\n{}",
        unknown.join("\n")
    );
    found
}

/// `$VAR` and `${VAR}` replaced by a placeholder value (the docs define them in prose).
fn expand(arg: &str) -> String {
    let variable = Regex::new(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?").unwrap();
    variable.replace_all(arg, "placeholder").into_owned()
}

#[test]
fn the_tokenizer_reads_the_shell_the_docs_use() {
    let text = "sudo -u crier crier --config /etc/crier/crier.toml plan    # before anything\n\
                a --x \\\n  b 2>&1 | tee log\nsh -c 'set -a; exec crier check' > out\n";
    let commands = commands(text);
    let words: Vec<String> = commands.iter().map(|c| c.join(" ")).collect();
    assert_eq!(
        words,
        [
            "sudo -u crier crier --config /etc/crier/crier.toml plan",
            "a --x b",
            "tee log",
            "sh -c set -a; exec crier check",
        ]
    );
    let inner = programs(&commands[3]);
    assert!(matches!(&inner[1], Program::Crier(args) if args == &["check"]));
    let sudo = programs(&commands[0]);
    assert!(
        matches!(&sudo[0], Program::Crier(args) if args[0] == "--config"),
        "sudo's `-u crier` is the user, not the program"
    );
}

#[test]
fn every_crier_command_in_the_docs_parses() {
    let invocations = invocations();
    assert!(
        invocations.len() >= 10,
        "only {} crier commands found in the docs: is the extraction broken?",
        invocations.len()
    );
    let mut refused = Vec::new();
    for invocation in &invocations {
        let argv =
            std::iter::once("crier".to_owned()).chain(invocation.args.iter().map(|a| expand(a)));
        if let Err(error) = Cli::try_parse_from(argv) {
            refused.push(format!("{}\n  {}", invocation.origin, error.kind()));
        }
    }
    assert!(
        refused.is_empty(),
        "crier refuses these command lines of the docs:\n{}",
        refused.join("\n")
    );
}

/// A scratch copy of the shipped sample: `config/` and `content/`, beside a copy of the Hugo
/// fixture site for `init --from`.
struct Sample {
    dir: tempfile::TempDir,
}

impl Sample {
    fn new() -> Sample {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for folder in ["config", "content"] {
            copy_tree(&repo().join(folder), &dir.path().join(folder));
        }
        copy_tree(
            &repo().join("tests/fixtures/sites/hugo"),
            &dir.path().join("site"),
        );
        Sample { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config/example.toml")
    }

    /// Runs crier with `args`, every path the docs name replaced by the sample's, every
    /// environment secret of the example config set to a dummy value.
    fn run(&self, args: &[String]) -> Output {
        let mut args: Vec<String> = args.iter().map(|a| expand(a)).collect();
        let mut i = 0;
        while i < args.len() {
            let replacement = match args[i].as_str() {
                "--config" | "-c" => Some(self.config()),
                "--from" => Some(self.dir.path().join("site")),
                "--output" => Some(self.dir.path().join("written.toml")),
                // The docs' placeholder for a channel: one of the sample's.
                "--channel" => Some(PathBuf::from(first_channel())),
                _ => None,
            };
            if let (Some(path), Some(value)) = (replacement, args.get_mut(i + 1)) {
                *value = path.display().to_string();
                i += 1;
            }
            i += 1;
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_crier"));
        command
            .args(&args)
            .current_dir(self.dir.path())
            .env("CRIER_CONFIG", self.config())
            .env("CRIER_LOG", "crier=info")
            .env_remove("CRIER_NOW")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET");
        let env = Regex::new(r#"env = "([A-Z0-9_]+)""#).unwrap();
        for name in env.captures_iter(&read("config/example.toml")) {
            command.env(&name[1], "dummy-secret-for-the-docs-test");
        }
        command.output().expect("crier starts")
    }
}

/// The name of the example config's first channel.
fn first_channel() -> String {
    let example: toml::Table = read("config/example.toml").parse().expect("the example");
    example["channels"][0]["name"]
        .as_str()
        .expect("channels[0].name")
        .to_owned()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

/// Why an invocation is only parsed, not run: it would run until stopped, send posts, or ask
/// a daemon that the test does not start.
fn not_run_because(args: &[String]) -> Option<&'static str> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let command = words.iter().position(|w| !w.starts_with('-')).map(|at| {
        // Skip a global option's value.
        let before = at.checked_sub(1).map(|b| words[b]);
        if matches!(before, Some("--config" | "-c" | "--log-format")) {
            words.get(at + 1).copied().unwrap_or("")
        } else {
            words[at]
        }
    });
    match command {
        Some("run") if !words.contains(&"--once") => Some("the daemon runs until stopped"),
        Some("run") if !words.contains(&"--dry-run") => Some("would send posts"),
        Some("healthcheck") => Some("asks a running daemon's listener"),
        _ => None,
    }
}

#[test]
fn the_safe_crier_commands_of_the_docs_succeed_on_the_sample() {
    let mut failed = Vec::new();
    let mut ran = 0;
    for invocation in invocations() {
        if not_run_because(&invocation.args).is_some() {
            continue;
        }
        let sample = Sample::new();
        let output = sample.run(&invocation.args);
        ran += 1;
        if output.status.code() != Some(0) {
            failed.push(format!(
                "{}: exit {:?}\n{}{}",
                invocation.origin,
                output.status.code(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(
        ran >= 5,
        "only {ran} commands run: is the extraction broken?"
    );
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// The README's two commands on a fresh machine: the sample's cycle (run here, as the binary
/// the test built, in a scratch copy) and the test suite, which `.ci/run` must run as written.
#[test]
fn the_readme_main_job_and_test_command_are_the_ones_that_work() {
    let readme = read("README.md");
    let shell: Vec<Vec<String>> = blocks(&readme)
        .iter()
        .filter(|b| b.lang == "sh")
        .flat_map(|b| commands(&b.body))
        .collect();
    let main = shell
        .iter()
        .find(|c| c.starts_with(&["cargo".into(), "run".into()]))
        .expect("README: the `cargo run … run --once --dry-run` of the sample");
    let Program::Crier(args) = &programs(main)[0] else {
        panic!("README: `cargo run` without `-- ARGS`: {main:?}");
    };
    assert!(
        args.ends_with(&["run".into(), "--once".into(), "--dry-run".into()]),
        "{args:?}"
    );
    let sample = Sample::new();
    let first = sample.run(args);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let log = String::from_utf8_lossy(&first.stderr);
    assert!(log.contains("first run: baseline recorded"), "{log}");
    assert!(
        sample.dir.path().join("feeds").is_dir(),
        "no feeds/ written"
    );

    let test = shell
        .iter()
        .find(|c| c.starts_with(&["cargo".into(), "test".into()]))
        .expect("README: the test command");
    let ci = read(".ci/run");
    let line = test.join(" ");
    assert!(
        ci.lines().any(|l| l.trim() == line),
        ".ci/run does not run the README's test command `{line}`"
    );
}

/// The quoted messages of docs/OPERATIONS.md's "Messages of exit 1" and its lock message,
/// each as a regular expression: `PATH`, `N`, `M`, `L`, `C` and `` `key.path` `` stand for
/// anything without spaces, `…` for anything.
fn quoted_messages() -> Vec<(String, Regex)> {
    let text = read("docs/OPERATIONS.md");
    let start = text
        .find("Messages of exit 1:")
        .expect("OPERATIONS.md: the list \"Messages of exit 1:\"");
    let end = text[start..]
        .find("\n### ")
        .map_or(text.len(), |at| start + at);
    let mut quotes = Vec::new();
    // A list item runs until the next one; the code span it opens with is the message.
    for item in text[start..end].split("\n- ").skip(1) {
        let span = if let Some(rest) = item.strip_prefix("`` ") {
            rest.split_once(" ``").map(|(span, _)| span)
        } else if let Some(rest) = item.strip_prefix('`') {
            rest.split_once('`').map(|(span, _)| span)
        } else {
            None
        };
        if let Some(span) = span {
            quotes.push(span.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    let lock = Regex::new(r"\| `(another crier is running: [^`]+)` \|").unwrap();
    quotes.extend(lock.captures(&text).map(|c| c[1].to_owned()));
    quotes
        .into_iter()
        .map(|q| {
            let mut pattern = String::from("^");
            for (i, word) in q.split(' ').enumerate() {
                if i > 0 {
                    pattern.push(' ');
                }
                pattern.push_str(&word_pattern(word));
            }
            (q.clone(), Regex::new(&pattern).expect("a pattern"))
        })
        .collect()
}

/// One word of a quoted message as a pattern (see [`quoted_messages`]).
fn word_pattern(word: &str) -> String {
    let placeholder = Regex::new(r"^(\(?)(PATH|N|M|L|C|`key\.path`)(\)?[:;,]?)$").unwrap();
    if let Some(c) = placeholder.captures(word) {
        return format!(r"{}\S+{}", regex::escape(&c[1]), regex::escape(&c[3]));
    }
    regex::escape(word).replace('…', ".*")
}

/// The `crier: error: …` line of a run.
fn error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("crier: error: "))
        .unwrap_or_else(|| panic!("no `crier: error:` line:\n{stderr}"))
        .to_owned()
}

/// Asserts that `message` is one the doc quotes, starting with `prefix`.
fn assert_quoted(quotes: &[(String, Regex)], prefix: &str, message: &str) {
    let (quote, pattern) = quotes
        .iter()
        .find(|(q, _)| q.starts_with(prefix))
        .unwrap_or_else(|| panic!("docs/OPERATIONS.md quotes no message starting `{prefix}`"));
    assert!(
        pattern.is_match(message),
        "docs/OPERATIONS.md quotes `{quote}`, crier prints `{message}`"
    );
}

/// Runs `args` as a user who cannot write what root could: root (a CI container) is made
/// nobody for the run, with the folder opened to it and a copy of the binary beside the
/// sample, since the checkout may sit under a folder nobody cannot enter (a private home).
fn run_unprivileged(sample: &Sample, args: &[&str]) -> Output {
    let probe = sample.dir.path().join("state/probe");
    let root = std::fs::write(&probe, "").is_ok();
    let _ = std::fs::remove_file(&probe);
    let mut binary = Path::new(env!("CARGO_BIN_EXE_crier")).to_path_buf();
    if root {
        std::fs::set_permissions(sample.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the sample");
        let copy = sample.dir.path().join("crier-bin");
        std::fs::copy(&binary, &copy).expect("copy the binary beside the sample");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the binary copy");
        binary = copy;
    }
    let mut command = Command::new(&binary);
    command
        .args(args)
        .current_dir(sample.dir.path())
        .env("CRIER_LOG", "crier=info")
        .env_remove("CRIER_CONFIG")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET");
    if root {
        command.uid(65534).gid(65534);
    }
    command.output().expect("crier starts")
}

#[test]
fn troubleshooting_quotes_what_crier_prints() {
    let quotes = quoted_messages();
    assert!(
        quotes.len() >= 5,
        "{:?}",
        quotes.iter().map(|q| &q.0).collect::<Vec<_>>()
    );

    let sample = Sample::new();
    let config = sample.config().display().to_string();

    let missing = Command::new(env!("CARGO_BIN_EXE_crier"))
        .args(["--config", "absent.toml", "status"])
        .current_dir(sample.dir.path())
        .env_remove("CRIER_CONFIG")
        .output()
        .expect("crier starts");
    assert_eq!(missing.status.code(), Some(1));
    assert_quoted(&quotes, "cannot read config file", &error_line(&missing));

    let broken = sample.dir.path().join("broken.toml");
    let example = read("config/example.toml");
    std::fs::write(
        &broken,
        example.replacen("[site]\n", "[site]\ntimezon = \"UTC\"\n", 1),
    )
    .expect("write the broken config");
    let invalid = Command::new(env!("CARGO_BIN_EXE_crier"))
        .args(["--config", &broken.display().to_string(), "status"])
        .current_dir(sample.dir.path().join("config"))
        .env_remove("CRIER_CONFIG")
        .output()
        .expect("crier starts");
    assert_eq!(invalid.status.code(), Some(1));
    assert_quoted(&quotes, "invalid config file", &error_line(&invalid));

    // An unwritable state folder, as `run --once` meets it (the lock comes first) and as
    // `retry`, which takes no lock, does.
    let state = sample.dir.path().join("state");
    std::fs::create_dir_all(&state).expect("the state folder");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let locked_out = run_unprivileged(&sample, &["--config", &config, "run", "--once"]);
    assert_eq!(locked_out.status.code(), Some(1));
    assert_quoted(&quotes, "cannot use lock file", &error_line(&locked_out));
    let unopened = run_unprivileged(&sample, &["--config", &config, "retry"]);
    assert_eq!(unopened.status.code(), Some(1));
    assert_quoted(
        &quotes,
        "cannot open state database",
        &error_line(&unopened),
    );
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let held = crier::daemon::lock::InstanceLock::acquire(&state.join("crier.sqlite3"))
        .expect("the test takes the lock");
    let second = sample.run(&["run".into(), "--once".into()]);
    assert_eq!(second.status.code(), Some(4));
    assert_quoted(&quotes, "another crier is running", &error_line(&second));
    drop(held);

    // A state written by a newer crier.
    let first = sample.run(&["run".into(), "--once".into(), "--dry-run".into()]);
    assert_eq!(first.status.code(), Some(0));
    rusqlite::Connection::open(state.join("crier.sqlite3"))
        .and_then(|db| db.pragma_update(None, "user_version", 99))
        .expect("the state's schema version set to 99");
    let newer = sample.run(&["status".into()]);
    assert_eq!(newer.status.code(), Some(1));
    assert_quoted(&quotes, "state database", &error_line(&newer));

    // The feeds folder is a file: no feed can be written.
    let sample = Sample::new();
    std::fs::write(sample.dir.path().join("feeds"), "not a folder").expect("a file");
    let unwritten = sample.run(&["run".into(), "--once".into(), "--dry-run".into()]);
    assert_eq!(unwritten.status.code(), Some(1));
    assert_quoted(&quotes, "cannot write feed file", &error_line(&unwritten));
}

/// The TOML blocks of README.md and docs/OPERATIONS.md are fragments of the example config:
/// each of their tables replaces the example's table of the same name, and the result loads.
#[test]
fn config_snippets_merged_into_the_example_load() {
    let example_path = repo().join("config/example.toml");
    let example = read("config/example.toml");
    let mut checked = 0;
    for file in ["README.md", "docs/OPERATIONS.md"] {
        for block in blocks(&read(file)).into_iter().filter(|b| b.lang == "toml") {
            let fragment: toml::Table = block
                .body
                .parse()
                .unwrap_or_else(|e| panic!("{file}:{}: not TOML: {e}", block.line));
            let mut merged: toml::Table = example.parse().expect("the example");
            for (key, value) in &fragment {
                merge(&mut merged, key, value);
            }
            let text = toml::to_string(&merged).expect("TOML out");
            if let Err(error) = crier::config::Config::from_text(&text, &example_path) {
                panic!(
                    "{file}:{}: the example config with this block: {error}",
                    block.line
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "only {checked} TOML blocks found");
}

/// Puts a fragment's top-level `value` into the example: a table replaces the table of its
/// name; a sub-table of an array of tables (`[sources.shortcodes]`) goes into its first
/// element, the folder source of the example.
fn merge(example: &mut toml::Table, key: &str, value: &toml::Value) {
    if let (Some(toml::Value::Array(array)), toml::Value::Table(table)) =
        (example.get_mut(key), value)
        && let Some(toml::Value::Table(first)) = array.first_mut()
    {
        first.extend(table.clone());
        return;
    }
    example.insert(key.to_owned(), value.clone());
}

/// What a reader following OPERATIONS.md literally gets by appending a snippet: the text must
/// say to change the table, as appending one the example has is a duplicate key.
#[test]
fn operations_says_to_change_the_tables_the_example_already_has() {
    let text = read("docs/OPERATIONS.md");
    let example: toml_edit::DocumentMut = read("config/example.toml").parse().expect("example");
    for block in blocks(&text).into_iter().filter(|b| b.lang == "toml") {
        let fragment: toml_edit::DocumentMut = block.body.parse().expect("TOML");
        let shared: Vec<&str> = fragment
            .iter()
            .map(|(k, _)| k)
            // Another `[[channels]]` or `[[sources]]` is an addition, not a duplicate.
            .filter(|k| {
                example
                    .get(k)
                    .is_some_and(|item| !item.is_array_of_tables())
            })
            .collect();
        if shared.is_empty() {
            continue;
        }
        // The paragraph before the block says "change" (not "add") for a table that exists.
        let before: String = text
            .lines()
            .take(block.line - 1)
            .collect::<Vec<_>>()
            .join("\n");
        let paragraph = before.rsplit("\n\n").next().unwrap_or("");
        assert!(
            paragraph.contains("change"),
            "docs/OPERATIONS.md:{}: the example already has {shared:?}; the text before the \
             block must say to change it, not add it:\n{paragraph}",
            block.line
        );
    }
}

/// The code spans of a Markdown fragment (`` `a` `` and ``` `` a `b` `` ```).
fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('`') {
        let ticks = rest[at..].chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(ticks);
        let inner = &rest[at + ticks..];
        let Some(end) = inner.find(&fence) else {
            break;
        };
        spans.push(inner[..end].trim().to_owned());
        rest = &inner[end + ticks..];
    }
    spans
}

/// The log messages OPERATIONS.md's "By log message" table quotes are crier's: each literal
/// piece of a quote (between `…`, `<what>` and the `PATH`, `NAME`, `N`, `M`, `C`, `file:line`
/// placeholders) is in the source, so
/// a message reworded in the code fails here until the table follows.
#[test]
fn the_log_messages_the_troubleshooting_table_quotes_are_in_the_code() {
    let text = read("docs/OPERATIONS.md");
    let start = text
        .find("### By log message")
        .expect("OPERATIONS.md: ### By log message");
    let end = text[start + 1..]
        .find("\n#")
        .map_or(text.len(), |at| start + 1 + at);
    let mut source = String::new();
    let mut stack = vec![repo().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("src/")
            .filter_map(|e| e.ok())
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                source.push_str(&std::fs::read_to_string(&path).expect("a source file"));
            }
        }
    }
    let placeholder = Regex::new(r"…|<[^>]+>|\bPATH\b|\bNAME\b|\b[NMC]\b|file:line").unwrap();
    let mut quoted = 0;
    let mut missing = Vec::new();
    for row in text[start..end].lines().filter(|l| l.starts_with("| `")) {
        // The first cell: up to the first ` | ` outside a code span.
        let first = row[2..].split(" | ").next().unwrap_or("");
        for span in code_spans(first) {
            for piece in placeholder.split(&span) {
                let piece = piece.trim_matches(|c: char| " ;:.,`".contains(c));
                if piece.len() < 6 {
                    continue;
                }
                quoted += 1;
                if !source.contains(piece) {
                    missing.push(format!("`{piece}` (in `{span}`)"));
                }
            }
        }
    }
    assert!(
        quoted >= 20,
        "only {quoted} quotes found: is the table still there?"
    );
    assert!(
        missing.is_empty(),
        "docs/OPERATIONS.md quotes log messages crier does not print:\n{}",
        missing.join("\n")
    );
}

//! Outside reference programs (a Python or Node script that counts what a network would
//! count): texts go to the script as JSON lines on its standard input, one answer comes back
//! per line. A program or package that is missing makes the check print "skipped" and pass,
//! unless the check's `CRIER_REQUIRE_*` variable is `1` (CI sets them), which makes it a
//! failure.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Exit status of a reference script whose package cannot be loaded.
pub const SKIPPED: i32 = 77;

/// Reports a check that cannot run: a "skipped" line, or a failure when the environment
/// variable `require` is `1`.
pub fn skip(require: &str, reason: &str) {
    let required = std::env::var_os(require).is_some_and(|v| v == "1");
    assert!(!required, "{reason}, and {require}=1 requires the check");
    // Written straight to stderr: the test harness would swallow `eprintln!` of a passing test.
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
}

/// Runs `program script` over `texts` (one JSON string a line on its standard input) and
/// returns what it printed; `None` when the check was skipped (see [`skip`]). A script that
/// fails otherwise fails the test, with what it wrote to standard error.
pub fn run(program: &str, script: &Path, texts: &[String], require: &str) -> Option<String> {
    let child = Command::new(program)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            skip(require, &format!("cannot run {program} ({error})"));
            return None;
        }
    };
    let mut input = String::new();
    for text in texts {
        input.push_str(&serde_json::to_string(text).expect("a string serialises"));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written from a thread: the script answers while it reads, and both pipes are bounded.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("the reference script runs");
    let _ = writer.join().expect("the writer thread ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(SKIPPED) {
        skip(require, stderr.trim());
        return None;
    }
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stderr}",
        script.display(),
        output.status
    );
    Some(String::from_utf8(output.stdout).expect("UTF-8 output"))
}

/// What a counting script says of one text.
#[derive(serde::Deserialize)]
struct Counted {
    length: usize,
}

/// Runs a counting script (one `{"length": n}` object a line) over `texts` with [`run`] and
/// returns the lengths in order; `None` when the check was skipped.
pub fn lengths(
    program: &str,
    script: &Path,
    texts: &[String],
    require: &str,
) -> Option<Vec<usize>> {
    let stdout = run(program, script, texts, require)?;
    let lengths: Vec<usize> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str::<Counted>(line)
                .unwrap_or_else(|e| panic!("{} printed {line:?}: {e}", script.display()))
                .length
        })
        .collect();
    assert_eq!(lengths.len(), texts.len(), "one count per text");
    Some(lengths)
}

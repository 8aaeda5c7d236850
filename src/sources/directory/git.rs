//! The dates git gives the pages of a folder (`undated = "git"`): for each file, the author
//! date of the first commit that touched it (its publication) and of the last one (its
//! update), as Hugo's `enableGitInfo` takes `lastmod` from the last commit
//! (<https://gohugo.io/methods/page/gitinfo/>).
//!
//! One `git log --name-only` over the whole folder per read gives every file's dates at
//! once: ten thousand pages cost one process, not ten thousand. Without `--follow` (which
//! takes one file), a moved file's history starts at the commit that moved it. Dates come
//! from the history alone, so they stay the same from one read to the next as long as the
//! history is not rewritten.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, FixedOffset};

/// The first and last commit dates of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GitDates {
    /// Author date of the earliest commit that touched the file.
    pub(super) first: DateTime<FixedOffset>,
    /// Author date of the latest one.
    pub(super) last: DateTime<FixedOffset>,
}

/// Each committed file below `root`, by its path relative to `root` (with `/`), with its
/// dates. The error says what git answered (not a repository, git missing).
pub(super) fn dates(root: &Path) -> Result<HashMap<String, GitDates>, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        // Non-ASCII names as they are, not quoted in octal.
        .args(["-c", "core.quotepath=off", "log", "--format=%x00%aI"])
        .args(["--name-only", "--relative", "--", "."])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(format!("git log failed: {}", said.trim()));
    }
    Ok(parse_log(&String::from_utf8_lossy(&output.stdout)))
}

/// Reads `git log --format=%x00%aI --name-only`: a NUL and a date open each commit, the names
/// of the files it touched follow. Author dates need not follow the log's order (a rebase
/// keeps them), so the earliest and latest are kept whatever the order.
fn parse_log(log: &str) -> HashMap<String, GitDates> {
    let mut dates: HashMap<String, GitDates> = HashMap::new();
    let mut commit = None;
    for line in log.lines() {
        if let Some(date) = line.strip_prefix('\0') {
            commit = DateTime::parse_from_rfc3339(date.trim()).ok();
            continue;
        }
        let (Some(date), false) = (commit, line.is_empty()) else {
            continue;
        };
        dates
            .entry(line.to_owned())
            .and_modify(|d| {
                d.first = d.first.min(date);
                d.last = d.last.max(date);
            })
            .or_insert(GitDates {
                first: date,
                last: date,
            });
    }
    dates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_gives_first_and_last_commit_of_each_file() {
        let log = "\0 2024-05-01T10:00:00+02:00\n\ndocs/a.md\ndocs/été.md\n\
                   \x002024-03-01T09:00:00+01:00\n\ndocs/a.md\n\
                   \x002024-04-01T09:00:00Z\n\ndocs/b.md\ndocs/a.md\n";
        let dates = parse_log(log);
        let a = dates["docs/a.md"];
        assert_eq!(a.first.to_rfc3339(), "2024-03-01T09:00:00+01:00");
        assert_eq!(a.last.to_rfc3339(), "2024-05-01T10:00:00+02:00");
        assert_eq!(dates["docs/b.md"].first, dates["docs/b.md"].last);
        assert!(dates.contains_key("docs/été.md"));
        assert_eq!(dates.len(), 3);
    }

    #[test]
    fn a_folder_outside_git_is_an_error_naming_what_git_said() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = dates(dir.path()).unwrap_err();
        assert!(error.contains("not a git repository"), "{error}");
    }
}

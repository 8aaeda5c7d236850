//! Watch mode against the real file system: each test watches its own temporary folder, with
//! real time (file events cannot be driven by a paused clock). A trigger is awaited as it
//! comes. That some changes trigger nothing is shown with the watcher's own report (its debug
//! log line per burst): after those changes a sentinel entry file is saved, and the first burst
//! reported for the folder must be the sentinel's, as the watcher takes changes in order and
//! would have reported anything relevant before it first. A folder replaced under its path (a
//! rename, a switched symbolic link) is shown watched again by a save in the new folder.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::logs::Logs;
use common::wait;
use crier::daemon::watch::{Watch, WatchError, watch};
use tempfile::TempDir;
use tokio::sync::mpsc::Receiver;

const DEBOUNCE: Duration = Duration::from_millis(200);
/// The watcher's log line for each burst it reports, naming the burst's first changed path.
const REPORT: &str = "file changed; cycle triggered";

/// A watched temporary folder; the watcher's log is captured from the start.
fn watched() -> (TempDir, Watch, Receiver<()>) {
    Logs::capture_all();
    let dir = tempfile::tempdir().unwrap();
    let (watch, rx) = watch(&[dir.path().to_owned()], DEBOUNCE).unwrap();
    (dir, watch, rx)
}

async fn expect_trigger(rx: &mut Receiver<()>, what: &str) {
    if wait::guarded(what, rx.recv()).await.is_none() {
        panic!("{what}: the channel closed");
    }
}

/// The watcher's reports of bursts in `dir`, in order.
fn reports(dir: &Path) -> Vec<String> {
    Logs::capture_all().lines_with(&[REPORT, &format!("{}/", dir.display())])
}

/// Saves `sentinel.md` in `dir` and shows that the next burst reported is the sentinel's:
/// nothing done before it was worth a cycle.
async fn expect_nothing_before_a_sentinel(dir: &Path, rx: &mut Receiver<()>, what: &str) {
    let sentinel = dir.join("sentinel.md");
    write(&sentinel, "Body\n");
    wait::until_async("a burst reported", || !reports(dir).is_empty()).await;
    let first = reports(dir).remove(0);
    assert!(
        first.contains(&format!("path={}", sentinel.display())),
        "{what} triggered a cycle: {first}"
    );
    expect_trigger(rx, "the sentinel").await;
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
}

#[tokio::test]
async fn creating_modifying_and_removing_an_entry_each_trigger() {
    let (dir, _watch, mut rx) = watched();
    let entry = dir.path().join("entry.md");

    write(&entry, "+++\ntitle = \"One\"\n+++\nBody\n");
    expect_trigger(&mut rx, "create").await;

    write(&entry, "+++\ntitle = \"One, edited\"\n+++\nBody\n");
    expect_trigger(&mut rx, "modify").await;

    fs::remove_file(&entry).unwrap();
    expect_trigger(&mut rx, "remove").await;
}

#[tokio::test]
async fn a_markdown_extension_and_a_rename_trigger() {
    let (dir, _watch, mut rx) = watched();
    write(&dir.path().join("notes.markdown"), "Body\n");
    expect_trigger(&mut rx, "create .markdown").await;

    // An atomic save: written under a temporary name, then renamed over the entry.
    let temporary = dir.path().join(".entry.md.tmp");
    write(&temporary, "Body\n");
    fs::rename(&temporary, dir.path().join("entry.md")).unwrap();
    expect_trigger(&mut rx, "rename onto entry.md").await;
}

#[tokio::test]
async fn a_burst_of_writes_triggers_once_or_twice() {
    let (dir, _watch, mut rx) = watched();
    for i in 0..20 {
        write(
            &dir.path().join(format!("entry-{}.md", i % 5)),
            &format!("v{i}\n"),
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    expect_trigger(&mut rx, "the burst").await;
    // Its last report comes before the first one of a later save: save sentinel files, each
    // after the latest report, until one is reported as a burst of its own.
    let mut seen = 0;
    for round in 0.. {
        write(&dir.path().join(format!("sentinel-{round}.md")), "Body\n");
        wait::until_async("one more burst reported", || {
            reports(dir.path()).len() > seen
        })
        .await;
        let reported = reports(dir.path());
        seen = reported.len();
        if reported.iter().any(|line| line.contains("sentinel-")) {
            break;
        }
    }
    let count = reports(dir.path())
        .iter()
        .filter(|line| !line.contains("sentinel-"))
        .count();
    assert!((1..=2).contains(&count), "{count} triggers for one burst");
}

#[tokio::test]
async fn editor_temporaries_do_not_trigger() {
    let (dir, _watch, mut rx) = watched();
    let names = [
        ".entry.md.swp",
        ".entry.md.swx",
        "entry.md~",
        ".#entry.md",
        "4913",
        "entry.md.tmp",
        "cover.jpg",
    ];
    for name in names {
        let path = dir.path().join(name);
        write(&path, "x");
        write(&path, "xy");
        fs::remove_file(&path).unwrap();
    }
    fs::create_dir(dir.path().join(".git")).unwrap();
    write(&dir.path().join(".git/notes.md"), "x");
    expect_nothing_before_a_sentinel(dir.path(), &mut rx, "a temporary").await;
}

#[tokio::test]
async fn a_section_page_triggers() {
    // Its `cascade` decides whether the pages below it are published.
    let (dir, _watch, mut rx) = watched();
    write(
        &dir.path().join("_index.md"),
        "+++\ntitle = \"News\"\n+++\n",
    );
    expect_trigger(&mut rx, "a section page").await;
}

#[tokio::test]
async fn reading_the_folder_as_a_cycle_does_does_not_trigger() {
    Logs::capture_all();
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("posts")).unwrap();
    write(&dir.path().join("posts/entry.md"), "Body\n");
    let (_watch, mut rx) = watch(&[dir.path().to_owned()], DEBOUNCE).unwrap();

    for _ in 0..3 {
        for item in fs::read_dir(dir.path().join("posts")).unwrap() {
            let path = item.unwrap().path();
            fs::read_to_string(&path).unwrap();
            fs::metadata(&path).unwrap();
        }
    }
    expect_nothing_before_a_sentinel(dir.path(), &mut rx, "a read").await;
}

#[tokio::test]
async fn files_in_a_new_subfolder_are_seen() {
    let (dir, _watch, mut rx) = watched();
    let folder = dir.path().join("2024/posts");
    fs::create_dir_all(&folder).unwrap();
    expect_trigger(&mut rx, "new folder").await;

    write(&folder.join("entry.md"), "Body\n");
    expect_trigger(&mut rx, "entry in the new folder").await;
    write(&folder.join("entry.md"), "Body, edited\n");
    expect_trigger(&mut rx, "entry in the new folder, edited").await;
}

#[tokio::test]
async fn folders_moved_in_and_out_trigger() {
    let (dir, _watch, mut rx) = watched();
    let elsewhere = tempfile::tempdir().unwrap();
    let drafts = elsewhere.path().join("drafts");
    fs::create_dir(&drafts).unwrap();
    write(&drafts.join("entry.md"), "Body\n");

    fs::rename(&drafts, dir.path().join("posts")).unwrap();
    expect_trigger(&mut rx, "folder moved in").await;

    fs::rename(dir.path().join("posts"), &drafts).unwrap();
    expect_trigger(&mut rx, "folder moved out").await;
}

/// The watcher's line saying it watches `folder` again after a replacement.
const REWATCHED: &str = "watched folder replaced; watching the new one";

/// Waits until the watcher says it watches `folder` again, then shows that a file saved
/// there now is reported: the watch is on the new folder, not on the one it replaced.
async fn expect_the_new_folder_watched(dir: &Path, folder: &Path, rx: &mut Receiver<()>) {
    let named = format!("folder={}", folder.display());
    wait::until_async("the new folder watched", || {
        !Logs::capture_all()
            .lines_with(&[REWATCHED, &named])
            .is_empty()
    })
    .await;
    // Its trigger, and any the replacement's own events sent, are taken first.
    while rx.try_recv().is_ok() {}
    write(&folder.join("later.md"), "Body\n");
    wait::until_async("the save in the new folder reported", || {
        reports(dir).iter().any(|line| line.contains("later.md"))
    })
    .await;
    expect_trigger(rx, "the save in the new folder").await;
}

#[tokio::test]
async fn a_folder_replaced_by_a_rename_is_watched_again() {
    Logs::capture_all();
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    fs::create_dir(&content).unwrap();
    write(&content.join("entry.md"), "Body\n");
    let (_watch, mut rx) = watch(std::slice::from_ref(&content), DEBOUNCE).unwrap();

    // A deploy: the new release is prepared beside the old one, then renamed into place.
    let next = dir.path().join("content.new");
    fs::create_dir(&next).unwrap();
    write(&next.join("entry.md"), "Body, next release\n");
    fs::rename(&content, dir.path().join("content.old")).unwrap();
    fs::rename(&next, &content).unwrap();
    expect_the_new_folder_watched(dir.path(), &content, &mut rx).await;
}

#[tokio::test]
async fn a_symlink_switched_to_a_new_release_is_watched_again() {
    Logs::capture_all();
    let dir = tempfile::tempdir().unwrap();
    for release in ["1", "2"] {
        let content = dir.path().join("releases").join(release).join("content");
        fs::create_dir_all(&content).unwrap();
        write(&content.join("entry.md"), &format!("Release {release}\n"));
    }
    let current = dir.path().join("current");
    std::os::unix::fs::symlink("releases/1", &current).unwrap();
    let content = current.join("content");
    let (_watch, mut rx) = watch(std::slice::from_ref(&content), DEBOUNCE).unwrap();

    // The switch as deploy tools make it atomic: a new link renamed over the old one.
    let link = dir.path().join("current.new");
    std::os::unix::fs::symlink("releases/2", &link).unwrap();
    fs::rename(&link, &current).unwrap();
    expect_the_new_folder_watched(dir.path(), &content, &mut rx).await;
}

#[tokio::test]
async fn dropping_the_watch_closes_the_channel() {
    let (dir, watch, mut rx) = watched();
    drop(watch);
    write(&dir.path().join("entry.md"), "Body\n");
    let got = wait::guarded("the channel's closing", rx.recv()).await;
    assert_eq!(got, None, "expected the channel to close");
}

#[test]
fn a_missing_folder_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("content");
    let Err(error) = watch(&[dir.path().to_owned(), missing.clone()], DEBOUNCE) else {
        panic!("watching a missing folder succeeded");
    };
    assert!(matches!(&error, WatchError::NotFound { folder } if *folder == missing));
    let message = error.to_string();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
}

#[test]
fn a_file_is_not_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("entry.md");
    write(&file, "Body\n");
    let Err(error) = watch(&[file], DEBOUNCE) else {
        panic!("watching a file succeeded");
    };
    assert!(matches!(error, WatchError::NotAFolder { .. }), "{error}");
}

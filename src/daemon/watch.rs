//! Watch mode for directory sources (`daemon.watch = true`): the folders are watched recursively
//! and every burst of relevant changes (an entry file saved, added, removed or renamed, a folder
//! added or removed) sends one trigger, which the daemon answers with a cycle.
//!
//! How changes become triggers, and why:
//! - The debounce is our own, on a plain thread over [`notify`], rather than
//!   `notify-debouncer-mini`: that crate drops the kind of each event, and a cycle's own reads
//!   (inotify reports every open and close of a watched file or folder) would then trigger the
//!   next cycle, forever. It also drops the "events were lost" (queue overflow) signal, which
//!   here triggers a cycle like any change. A thread also means no tokio runtime is needed.
//! - A burst ends after `debounce` without a relevant change; one that goes on for longer than
//!   [`MAX_DELAY_FACTOR`] × `debounce` sends its trigger anyway, so a file that keeps being
//!   written does not postpone cycles for ever.
//! - Folders count because a folder moved into the tree arrives as one event for the folder
//!   alone, and because files written into a new folder before its watch is in place are not
//!   reported. A removed path no longer says whether it was a folder, so a removed path without
//!   an extension counts too; a spurious cycle costs little, a missed one is a bug.
//! - Anything under a hidden folder inside a watched folder (`.git`, `.obsidian`) is ignored, as
//!   the directory source never reads it. Symbolic links to folders are not followed, as in the
//!   directory source.
//! - A watch follows a folder, not its path: a deploy that renames a new folder into place or
//!   switches a `current → releases/N` symbolic link leaves it on the old folder, and watch
//!   mode would end without a word. So the debounce thread also looks at what each path
//!   resolves to after every burst and at least every [`RECHECK`]; when that changed, it
//!   watches the path again, logs it, and triggers a cycle. A folder that is gone is watched
//!   again when it comes back.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// A burst of changes longer than this many debounce periods sends its trigger anyway.
pub const MAX_DELAY_FACTOR: u32 = 4;

/// Longest time between two looks at what each watched path resolves to.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Keeps the folders watched; dropping it stops watching and closes the trigger channel.
#[derive(Debug)]
pub struct Watch {
    /// Owns the notify event handler, whose sender is all that keeps the debounce thread alive.
    /// The thread holds a weak reference only, to watch a replaced folder again.
    _watcher: Arc<Mutex<RecommendedWatcher>>,
}

/// A watched path and the folder it resolved to when it was last watched.
struct Root {
    path: PathBuf,
    /// `None` while the folder is gone.
    folder: Option<FolderId>,
}

/// What tells one folder from another at the same path: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FolderId {
    device: u64,
    inode: u64,
}

impl FolderId {
    /// The folder `path` resolves to now (symbolic links followed), if it is one.
    fn of(path: &Path) -> Option<FolderId> {
        std::fs::metadata(path)
            .ok()
            .filter(std::fs::Metadata::is_dir)
            .map(|meta| FolderId {
                device: meta.dev(),
                inode: meta.ino(),
            })
    }
}

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "cannot watch {}: the folder does not exist; create it or fix the source's `path`",
        folder.display()
    )]
    NotFound { folder: PathBuf },
    #[error("cannot watch {}: it is not a folder; fix the source's `path`", folder.display())]
    NotAFolder { folder: PathBuf },
    #[error(
        "cannot watch {}: the system's limit of inotify watches is reached (one per folder); \
         raise it, e.g. `sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.d/ to \
         keep it), or turn `watch` off",
        folder.display()
    )]
    TooManyWatches { folder: PathBuf },
    #[error("cannot watch {}", folder.display())]
    Watch {
        folder: PathBuf,
        #[source]
        source: notify::Error,
    },
    #[error(
        "cannot start the file watcher (if the system's limit of inotify instances is reached, \
         raise fs.inotify.max_user_instances)"
    )]
    Start(#[source] notify::Error),
}

/// Watches `folders` recursively; every burst of relevant changes (debounced by `debounce`, e.g.
/// 300 ms) sends one `()` on the returned receiver. Dropping the returned [`Watch`] stops
/// watching, and the receiver then returns `None`.
///
/// The channel holds one trigger: while one is pending, further bursts add nothing, as the
/// cycle that takes it will see their changes too. Needs no tokio runtime.
pub fn watch(
    folders: &[PathBuf],
    debounce: Duration,
) -> Result<(Watch, mpsc::Receiver<()>), WatchError> {
    for folder in folders {
        match std::fs::metadata(folder) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(WatchError::NotAFolder {
                    folder: folder.clone(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(WatchError::NotFound {
                    folder: folder.clone(),
                });
            }
            // Let notify report it (permissions, …) with its own words.
            Err(_) => {}
        }
    }

    let (changes_tx, changes_rx) = std_mpsc::channel::<Change>();
    let roots = folders.to_vec();
    let handler = move |result: notify::Result<Event>| {
        if let Some(change) = classify(&roots, result) {
            // Fails only once the debounce thread is gone, when nobody listens any more.
            let _ = changes_tx.send(change);
        }
    };
    let config = notify::Config::default().with_follow_symlinks(false);
    let mut watcher = RecommendedWatcher::new(handler, config).map_err(WatchError::Start)?;
    for folder in folders {
        watcher
            .watch(folder, RecursiveMode::Recursive)
            .map_err(|source| watch_error(folder, source))?;
    }

    let roots = folders
        .iter()
        .map(|path| Root {
            path: path.clone(),
            folder: FolderId::of(path),
        })
        .collect();
    let watcher = Arc::new(Mutex::new(watcher));
    let rewatch = Rewatch {
        roots,
        watcher: Arc::downgrade(&watcher),
        checked: Instant::now(),
    };
    let (trigger_tx, trigger_rx) = mpsc::channel(1);
    thread::Builder::new()
        .name("crier-watch".to_owned())
        .spawn(move || debounce_loop(&changes_rx, &trigger_tx, debounce, rewatch))
        .map_err(|e| WatchError::Start(notify::Error::io(e)))?;

    Ok((Watch { _watcher: watcher }, trigger_rx))
}

/// The debounce thread's means to watch a replaced folder again.
struct Rewatch {
    roots: Vec<Root>,
    watcher: Weak<Mutex<RecommendedWatcher>>,
    /// The last look at the roots.
    checked: Instant,
}

impl Rewatch {
    /// How long until the next look is due.
    fn due_in(&self) -> Duration {
        RECHECK.saturating_sub(self.checked.elapsed())
    }

    /// Watches again every path that now resolves to another folder than the one watched;
    /// true when one was (its content may differ in every file: worth a cycle).
    fn check(&mut self) -> bool {
        self.checked = Instant::now();
        let mut replaced = false;
        for root in &mut self.roots {
            let now = FolderId::of(&root.path);
            if now == root.folder {
                continue;
            }
            let Some(watcher) = self.watcher.upgrade() else {
                // Watching is over.
                return false;
            };
            let mut watcher = watcher.lock().unwrap_or_else(PoisonError::into_inner);
            // The old folder's watches, if notify did not drop them itself (a folder renamed
            // away still exists and would report its changes under this path).
            let _ = watcher.unwatch(&root.path);
            if now.is_none() {
                tracing::warn!(
                    folder = %root.path.display(),
                    "watched folder is gone; it is watched again when it comes back"
                );
                root.folder = None;
                continue;
            }
            match watcher.watch(&root.path, RecursiveMode::Recursive) {
                Ok(()) => {
                    tracing::info!(
                        folder = %root.path.display(),
                        "watched folder replaced; watching the new one"
                    );
                    root.folder = now;
                    replaced = true;
                }
                // Tried again at the next look; cycles keep to the schedule meanwhile.
                Err(e) => tracing::warn!(
                    folder = %root.path.display(),
                    error = %watch_error(&root.path, e),
                    "cannot watch the replaced folder yet; trying again"
                ),
            }
        }
        replaced
    }
}

/// Whether a changed path is worth a cycle: content files (`.md`, `.markdown`, `.mdown`, and
/// `.html`/`.htm`, which the directory source reads when they have front matter) and folders,
/// but not hidden files or editor temporaries (`~` suffix, `.#` prefix, `.swp`, `.swx`, `.tmp`,
/// vim's `4913` probe). `_index` section pages count: they are no entries, but their `cascade`
/// decides whether the pages below them are published.
///
/// Looks at the file system only to tell a folder from a file; a path that no longer exists
/// and has no extension is taken for a removed folder.
pub fn relevant(path: &Path) -> bool {
    let Some(name) = path.file_name().map(OsStr::to_string_lossy) else {
        return false;
    };
    if is_temporary(&name) {
        return false;
    }
    if path.is_dir() {
        return true;
    }
    match Path::new(name.as_ref()).extension().and_then(OsStr::to_str) {
        Some("md" | "markdown" | "mdown" | "html" | "htm") => true,
        Some(_) => false,
        None => !path.exists(),
    }
}

/// Hidden files and the leftovers editors write next to the file being saved.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913"
}

/// What the notify thread passes to the debounce thread.
enum Change {
    /// A relevant path changed.
    Path(PathBuf),
    /// Events were lost (queue overflow, read error): a cycle is the safe answer.
    Lost,
}

/// Keeps the events worth a cycle; runs on notify's thread, so it only filters.
fn classify(roots: &[PathBuf], result: notify::Result<Event>) -> Option<Change> {
    let event = match result {
        Ok(event) => event,
        Err(e) => {
            if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
                tracing::warn!(
                    error = %e,
                    "a new folder cannot be watched: the inotify watch limit is reached; raise \
                     fs.inotify.max_user_watches"
                );
            } else {
                tracing::warn!(
                    error = %e,
                    "file watcher error; a cycle runs in case changes were missed"
                );
            }
            return Some(Change::Lost);
        }
    };
    if event.need_rescan() {
        return Some(Change::Lost);
    }
    match event.kind {
        // Opens, reads and closes after reading: a cycle does these itself. A close after
        // writing is the clearest sign that a save is complete, so it counts.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return None,
        _ => {}
    }
    event
        .paths
        .into_iter()
        .find(|path| !under_hidden_folder(roots, path) && relevant(path))
        .map(Change::Path)
}

/// Whether `path` lies in a hidden folder inside one of the watched `roots` (which may
/// themselves sit under a hidden folder, like `~/.local/…` or a temporary `/tmp/.tmpXXXX`).
fn under_hidden_folder(roots: &[PathBuf], path: &Path) -> bool {
    let Some(relative) = roots.iter().find_map(|root| path.strip_prefix(root).ok()) else {
        return false;
    };
    let mut folders = relative.components();
    folders.next_back();
    folders.any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// Turns changes into triggers: one per burst, sent once no change came for `debounce` (or the
/// burst reached [`MAX_DELAY_FACTOR`] × `debounce`), and one per replaced folder, which it
/// watches again. Returns when the watcher is dropped or the receiver is.
fn debounce_loop(
    changes: &std_mpsc::Receiver<Change>,
    triggers: &mpsc::Sender<()>,
    debounce: Duration,
    mut rewatch: Rewatch,
) {
    let max_delay = debounce * MAX_DELAY_FACTOR;
    loop {
        let first = match changes.recv_timeout(rewatch.due_in()) {
            Ok(change) => change,
            Err(std_mpsc::RecvTimeoutError::Timeout) => {
                if rewatch.check() && !send_trigger(triggers) {
                    return;
                }
                continue;
            }
            // The watcher, and with it the only sender, was dropped.
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let started = Instant::now();
        let mut count = 1_usize;
        loop {
            let left = max_delay.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            match changes.recv_timeout(debounce.min(left)) {
                Ok(_) => count += 1,
                Err(std_mpsc::RecvTimeoutError::Timeout) => break,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        match &first {
            Change::Path(path) => {
                tracing::debug!(
                    path = %path.display(),
                    changes = count,
                    "file changed; cycle triggered"
                );
            }
            Change::Lost => {
                tracing::debug!(changes = count, "file events were lost; triggering a cycle");
            }
        }
        // A burst may be the replacement itself (the old folder renamed away): look now.
        rewatch.check();
        if !send_trigger(triggers) {
            return;
        }
    }
}

/// Sends a trigger unless one is pending already (it covers this one); false once nobody
/// listens.
fn send_trigger(triggers: &mpsc::Sender<()>) -> bool {
    match triggers.try_send(()) {
        Ok(()) | Err(mpsc::error::TrySendError::Full(())) => true,
        Err(mpsc::error::TrySendError::Closed(())) => false,
    }
}

fn watch_error(folder: &Path, source: notify::Error) -> WatchError {
    let folder = folder.to_owned();
    match source.kind {
        notify::ErrorKind::MaxFilesWatch => WatchError::TooManyWatches { folder },
        notify::ErrorKind::PathNotFound => WatchError::NotFound { folder },
        _ => WatchError::Watch { folder, source },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, ModifyKind};

    #[test]
    fn markdown_files_are_relevant() {
        for name in [
            "entry.md",
            "entry.fr.md",
            "index.md",
            "notes.markdown",
            "page.mdown",
            "page.html",
            "_index.md",
            "_index.fr.md",
        ] {
            assert!(relevant(&Path::new("/nowhere/posts").join(name)), "{name}");
        }
    }

    #[test]
    fn temporaries_and_hidden_files_are_not() {
        for name in [
            ".entry.md.swp",
            ".entry.md.swx",
            "entry.md~",
            ".#entry.md",
            "4913",
            "entry.md.tmp",
            ".hidden.md",
            "image.png",
            "entry.md.orig",
            "#entry.md#",
        ] {
            assert!(!relevant(&Path::new("/nowhere/posts").join(name)), "{name}");
        }
        assert!(!relevant(Path::new("/")));
    }

    #[test]
    fn folders_count_and_a_removed_path_without_extension_may_be_one() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("2024.posts");
        std::fs::create_dir(&folder).unwrap();
        assert!(relevant(&folder));
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        assert!(!relevant(&dir.path().join(".git")));
        // Gone: it may have been a folder.
        assert!(relevant(&dir.path().join("posts")));
        // Still there and a file: not a folder.
        std::fs::write(dir.path().join("LICENSE"), "").unwrap();
        assert!(!relevant(&dir.path().join("LICENSE")));
    }

    fn event(kind: EventKind, path: &Path) -> notify::Result<Event> {
        Ok(Event::new(kind).add_path(path.to_owned()))
    }

    #[test]
    fn reads_are_ignored_writes_count() {
        let roots = [PathBuf::from("/nowhere/.tmpXYZ")];
        let path = roots[0].join("posts/entry.md");
        let kinds = [
            (EventKind::Access(AccessKind::Open(AccessMode::Any)), false),
            (
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                false,
            ),
            (
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                true,
            ),
            (EventKind::Create(CreateKind::File), true),
            (EventKind::Modify(ModifyKind::Data(DataChange::Any)), true),
        ];
        for (kind, expected) in kinds {
            let got = classify(&roots, event(kind, &path));
            assert_eq!(got.is_some(), expected, "{kind:?}");
        }
    }

    #[test]
    fn hidden_folders_inside_a_root_are_ignored_but_a_hidden_root_is_fine() {
        let roots = [PathBuf::from("/nowhere/.tmpXYZ")];
        let kind = EventKind::Create(CreateKind::File);
        let inside = roots[0].join("posts/entry.md");
        assert!(classify(&roots, event(kind, &inside)).is_some());
        let hidden = roots[0].join(".obsidian/notes.md");
        assert!(classify(&roots, event(kind, &hidden)).is_none());
    }

    #[test]
    fn lost_events_and_errors_trigger() {
        let rescan = Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert!(matches!(classify(&[], Ok(rescan)), Some(Change::Lost)));
        let error = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        assert!(matches!(classify(&[], Err(error)), Some(Change::Lost)));
    }
}

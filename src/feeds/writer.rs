//! Atomic feed file writer.
//!
//! Feeds are read by web servers and feed readers at any moment, so a file is either the old
//! version or the new one, never half written: bytes go to a temporary file in the same folder
//! (a rename is only atomic within one file system), which is then renamed over the target.
//! The file is not fsynced: a feed is derived data, and after a power loss the next cycle sees
//! that the file no longer matches the size and time it recorded and writes it again, so
//! paying a synchronous flush of every feed on every change buys nothing. Unchanged files are
//! left alone so their modification time, and with it HTTP `Last-Modified` and `ETag`, stays
//! put.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically (temp file + rename in the same folder) unless the file
/// already holds exactly these bytes. Returns whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    replace_streaming(path, |out| out.write_all(bytes)).map_err(|error| match error {
        StreamError::Io(error) | StreamError::Render(error) => error,
    })
}

/// Why a streamed write failed: the file system, or the renderer itself.
#[derive(Debug)]
pub enum StreamError<E> {
    /// Reading the old file or writing the new one failed.
    Io(io::Error),
    /// The renderer failed for a reason of its own.
    Render(E),
}

/// Streams a file's new content from `render` into a temporary file beside `path`, hashing it
/// on the way, and renames it over `path` only when the content differs from the file's
/// (compared by length and BLAKE3 hash, read in blocks). Returns whether `path` was replaced.
/// Unlike [`write_if_changed`], neither version is ever held in memory as a whole.
pub fn replace_streaming<E>(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<bool, StreamError<E>> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::create_dir_all(folder).map_err(StreamError::Io)?;
    // A hidden, recognisable name: a crash leaves `.rss.xml.XXXXXX.tmp`, not a stray feed.
    let prefix = format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    remove_stale_temporaries(folder, &prefix);
    let mut file = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(StreamError::Io)?;
    let (len, hash) = {
        let mut sink =
            HashingWriter::new(io::BufWriter::with_capacity(1 << 16, file.as_file_mut()));
        sink.run(render)?;
        (sink.len, sink.hasher.finalize())
    };
    if same_content(path, len, &hash).map_err(StreamError::Io)? {
        return Ok(false);
    }
    // NamedTempFile creates files readable by their owner only; web servers must read feeds.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(StreamError::Io)?;
    }
    file.persist(path)
        .map_err(|error| StreamError::Io(error.error))?;
    Ok(true)
}

/// Removes temporary files of this feed that a killed run left behind. Only those older than
/// a minute: a younger one may belong to a writer still at work.
fn remove_stale_temporaries(folder: &Path, prefix: &str) {
    let Ok(items) = fs::read_dir(folder) else {
        return;
    };
    let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for item in items.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        let stale = name.starts_with(prefix)
            && name.ends_with(".tmp")
            && item
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < minute_ago);
        if stale && fs::remove_file(item.path()).is_ok() {
            tracing::debug!(file = %item.path().display(), "removed a temporary file left by an interrupted run");
        }
    }
}

/// Whether `render` would change the file at `path`, writing nothing (for dry runs).
pub fn would_change<E>(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<bool, StreamError<E>> {
    let mut sink = HashingWriter::new(io::sink());
    sink.run(render)?;
    let hash = sink.hasher.finalize();
    Ok(!same_content(path, sink.len, &hash).map_err(StreamError::Io)?)
}

fn same_content(path: &Path, len: u64, hash: &blake3::Hash) -> io::Result<bool> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    if file.metadata()?.len() != len {
        return Ok(false);
    }
    let mut hasher = blake3::Hasher::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize() == *hash)
}

/// Passes bytes through to `inner` while hashing and counting them, and keeps the first I/O
/// error so that a renderer's failure can be told apart from the disk's.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: blake3::Hasher,
    len: u64,
    io_error: Option<io::Error>,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: blake3::Hasher::new(),
            len: 0,
            io_error: None,
        }
    }

    fn run<E>(
        &mut self,
        render: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    ) -> Result<(), StreamError<E>> {
        let rendered = render(self);
        let flushed = self.flush();
        if let Some(error) = self.io_error.take() {
            return Err(StreamError::Io(error));
        }
        rendered.map_err(StreamError::Render)?;
        flushed.map_err(StreamError::Io)
    }

    fn keep<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(error) = &result
            && self.io_error.is_none()
        {
            self.io_error = Some(io::Error::new(error.kind(), error.to_string()));
        }
        result
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf);
        let n = self.keep(written)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        let flushed = self.inner.flush();
        self.keep(flushed)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn names_in(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn creates_missing_folders_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("en/categories/art/rss.xml");
        assert!(write_if_changed(&path, b"<rss/>").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"<rss/>");
        assert_eq!(names_in(path.parent().unwrap()), ["rss.xml"]);
    }

    #[test]
    fn unchanged_file_is_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("atom.xml");
        fs::write(&path, b"same").unwrap();
        // Back-date the file so a rewrite would be visible even on coarse-grained clocks.
        let old = SystemTime::now() - Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(!write_if_changed(&path, b"same").unwrap());
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), old);
        assert_eq!(names_in(dir.path()), ["atom.xml"]);
    }

    #[test]
    fn new_content_replaces_the_file_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.json");
        fs::write(&path, b"old and longer").unwrap();
        assert!(write_if_changed(&path, b"new").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(write_if_changed(&path, b"newer").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"newer");
        assert_eq!(names_in(dir.path()), ["feed.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_world_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rss.xml");
        write_if_changed(&path, b"a").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // A replaced file gets the same mode, whatever the old one had.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_if_changed(&path, b"b").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn a_folder_in_the_way_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rss.xml");
        fs::create_dir(&path).unwrap();
        assert!(write_if_changed(&path, b"a").is_err());
    }

    #[test]
    fn streaming_replaces_only_changed_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/feed.xml");
        let render = |text: &'static str| {
            move |w: &mut dyn Write| -> Result<(), io::Error> { w.write_all(text.as_bytes()) }
        };
        assert!(would_change(&path, render("one")).unwrap());
        assert!(replace_streaming(&path, render("one")).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "one");
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(!would_change(&path, render("one")).unwrap());
        assert!(!replace_streaming(&path, render("one")).unwrap());
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);
        // Same length, other bytes: replaced.
        assert!(would_change(&path, render("two")).unwrap());
        assert!(replace_streaming(&path, render("two")).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(names_in(path.parent().unwrap()), ["feed.xml"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
    }

    #[test]
    fn a_failing_renderer_leaves_the_old_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        fs::write(&path, "old").unwrap();
        let result = replace_streaming(&path, |w: &mut dyn Write| {
            w.write_all(b"half")?;
            Err::<(), _>(io::Error::other("renderer gave up"))
        });
        assert!(matches!(result, Err(StreamError::Render(_))));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names_in(dir.path()), ["feed.xml"]);
    }

    #[test]
    fn temporary_files_left_by_a_killed_run_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rss.xml");
        let stale = dir.path().join(".rss.xml.abc123.tmp");
        let fresh = dir.path().join(".rss.xml.def456.tmp");
        let other = dir.path().join(".atom.xml.abc123.tmp");
        for f in [&stale, &fresh, &other] {
            fs::write(f, "half").unwrap();
        }
        let old = SystemTime::now() - Duration::from_secs(3600);
        for f in [&stale, &other] {
            fs::File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        write_if_changed(&path, b"feed").unwrap();
        assert!(!stale.exists(), "stale temporary file kept");
        assert!(
            fresh.exists(),
            "a young temporary file may belong to a running writer"
        );
        assert!(other.exists(), "another feed's file is not ours to remove");
    }

    /// A disk that takes `room` bytes, then refuses with "no space left"; its flush fails
    /// when `flush_fails`.
    struct Disk {
        room: usize,
        flush_fails: bool,
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from(io::ErrorKind::StorageFull));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            if self.flush_fails {
                return Err(io::Error::other("flush failed"));
            }
            Ok(())
        }
    }

    /// A renderer that ignores the errors of its writer, as a careless one would.
    fn careless(w: &mut dyn Write) -> Result<(), &'static str> {
        let _ = w.write_all(b"<rss>lots of items</rss>");
        let _ = w.flush();
        Ok(())
    }

    #[test]
    fn a_full_disk_is_reported_even_when_the_renderer_ignores_it() {
        let mut sink = HashingWriter::new(Disk {
            room: 5,
            flush_fails: true,
        });
        match sink.run(careless) {
            // The first error is the one reported, not the flush's that followed.
            Err(StreamError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::StorageFull),
            other => panic!("expected the disk's error, got {other:?}"),
        }
        assert_eq!(sink.len, 5);
    }

    #[test]
    fn a_failing_flush_is_reported() {
        let mut sink = HashingWriter::new(Disk {
            room: 1 << 20,
            flush_fails: false,
        });
        assert!(sink.run(careless).is_ok());
        assert_eq!(sink.len, 24);
        let mut sink = HashingWriter::new(Disk {
            room: 1 << 20,
            flush_fails: true,
        });
        let result = sink.run(|w: &mut dyn Write| w.write_all(b"<rss/>").map_err(|_| "write"));
        match result {
            Err(StreamError::Io(e)) => assert_eq!(e.to_string(), "flush failed"),
            other => panic!("expected the flush's error, got {other:?}"),
        }
    }

    #[test]
    fn a_write_failing_inside_the_renderer_is_an_io_error_not_a_render_error() {
        let mut sink = HashingWriter::new(Disk {
            room: 0,
            flush_fails: false,
        });
        // The renderer passes the disk's error on as its own.
        let result = sink.run(|w: &mut dyn Write| w.write_all(b"x"));
        assert!(matches!(result, Err(StreamError::Io(_))), "{result:?}");
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_existing_feed_is_reported_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rss.xml");
        // A symbolic link to itself: opening it fails (too many levels of links).
        std::os::unix::fs::symlink(&path, &path).unwrap();
        let render = |w: &mut dyn Write| w.write_all(b"<rss/>");
        assert!(matches!(
            would_change(&path, render),
            Err(StreamError::Io(_))
        ));
        assert!(matches!(
            replace_streaming(&path, render),
            Err(StreamError::Io(_))
        ));
        assert!(write_if_changed(&path, b"<rss/>").is_err());
        let kept = fs::symlink_metadata(&path).unwrap();
        assert!(
            kept.file_type().is_symlink(),
            "the existing file was replaced"
        );
        assert_eq!(names_in(dir.path()), ["rss.xml"]);
    }
}

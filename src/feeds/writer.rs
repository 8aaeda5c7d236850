//! Atomic feed file writer.
//!
//! Feeds are read by web servers and feed readers at any moment, so a file is either the old
//! version or the new one, never half written: bytes go to a temporary file in the same folder
//! (a rename is only atomic within one file system), which is synced and then renamed over the
//! target. Unchanged files are left alone so their modification time, and with it HTTP
//! `Last-Modified` and `ETag`, stays put.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically (temp file + rename in the same folder) unless the file
/// already holds exactly these bytes. Returns whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    match fs::read(path) {
        Ok(existing) if existing == bytes => return Ok(false),
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::create_dir_all(folder)?;
    // A hidden, recognisable name: a crash leaves `.rss.xml.XXXXXX.tmp`, not a stray feed.
    let prefix = format!(
        ".{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    let mut file = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(folder)?;
    file.write_all(bytes)?;
    file.flush()?;
    // NamedTempFile creates files readable by their owner only; web servers must read feeds.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))?;
    }
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(true)
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
}

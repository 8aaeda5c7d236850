//! The single-instance lock: `crier.lock` beside the state database, held by the daemon and by
//! each `run --once` for their whole run, so that two crier processes never work on one state.

use std::fs::File;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Another crier holds the instance lock, or the lock file cannot be made.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another instance runs (an overlapping cron tick, a daemon beside a timer).
    #[error("another crier is running: {path} is locked; this run changed nothing (exit code 4)")]
    Held {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("cannot use lock file {path}: {reason}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// An exclusive lock on `crier.lock` in the state folder, held by the daemon and by each
/// `run --once` for their whole run, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock beside the state database, or fails at once if it is held.
    pub fn acquire(state_path: &Path) -> Result<InstanceLock, LockError> {
        let folder = state_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let path = folder.join("crier.lock");
        let io = |e: std::io::Error| LockError::Io {
            path: path.clone(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(folder).map_err(io)?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(InstanceLock { _file: file, path }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held { path }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/crier.sqlite3");
        let first = InstanceLock::acquire(&state).unwrap();
        assert_eq!(first.path(), dir.path().join("state/crier.lock"));
        match InstanceLock::acquire(&state) {
            Err(LockError::Held { path }) => assert_eq!(path, first.path()),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        assert!(InstanceLock::acquire(&state).is_ok());
    }
}

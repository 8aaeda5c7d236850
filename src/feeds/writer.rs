//! Atomic feed file writer.

use std::path::Path;

/// Writes `bytes` to `path` atomically (temp file + rename in the same folder) unless the file
/// already holds exactly these bytes. Returns whether the file was written.
pub fn write_if_changed(_path: &Path, _bytes: &[u8]) -> std::io::Result<bool> {
    todo!()
}

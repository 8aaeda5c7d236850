//! jsonfeed renderer.

use super::{FeedError, FeedMeta};
use crate::entry::Entry;

/// Renders the feed.
pub fn render(_meta: &FeedMeta, _entries: &[Entry]) -> Result<Vec<u8>, FeedError> {
    todo!()
}

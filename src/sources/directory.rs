//! Directory source.

use std::collections::HashMap;

use super::{Document, Source, SourceError};
use crate::config::{Config, DirectorySourceConfig};

/// Reads a folder of Markdown files.
pub struct DirectorySource {
    name: String,
}

impl DirectorySource {
    /// Prepares a reader for one configured folder.
    pub fn new(_config: &Config, source: &DirectorySourceConfig) -> Self {
        DirectorySource { name: source.name.clone() }
    }
}

impl Source for DirectorySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&self, _known: &HashMap<String, String>) -> Result<Vec<Document>, SourceError> {
        todo!()
    }
}

//! Feed source. (Being built: the reader is filled in by the next commits.)

use serde::{Deserialize, Serialize};

use super::http::HttpSettings;
use super::remote::{Common, Site};
use super::{Read, ReadInput, Source, SourceError};
use crate::config::Config;

/// An RSS, Atom or JSON Feed published elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSourceConfig {
    /// Short name, unique among sources; entry ids are `{name}:{id in the source}`.
    pub name: String,
    /// The first URL to fetch.
    pub url: String,
    /// Language of entries that do not say theirs; default: the first of `site.languages`.
    pub language: Option<String>,
    /// Categories added to every entry of this source.
    #[serde(default)]
    pub categories: Vec<String>,
    /// IANA timezone of dates written without an offset; default `site.timezone`.
    pub timezone: Option<String>,
    /// HTTP behaviour: timeouts, retries, limits.
    #[serde(default)]
    pub http: HttpSettings,
}

impl FeedSourceConfig {
    /// The settings every remote source has.
    pub fn common(&self) -> Common<'_> {
        Common {
            name: &self.name,
            url: &self.url,
            language: self.language.as_deref(),
            categories: &self.categories,
            timezone: self.timezone.as_deref(),
            http: &self.http,
        }
    }

    /// Checks the values serde accepted; the error names the key relative to the source.
    pub fn validate(&self, config: &Config) -> Result<(), (String, String)> {
        self.common().validate(config)
    }
}

/// Reads entries from an upstream feed.
pub struct FeedSource {
    site: Site,
}

impl FeedSource {
    /// Prepares a reader for one configured source.
    pub fn new(config: &Config, source: &FeedSourceConfig) -> Self {
        FeedSource {
            site: Site::new(config, &source.common()),
        }
    }
}

impl Source for FeedSource {
    fn name(&self) -> &str {
        &self.site.name
    }

    fn read(&self, _input: &ReadInput<'_>) -> Result<Read, SourceError> {
        Err(SourceError::Remote {
            source_name: self.site.name.clone(),
            message: "this source type is not available yet".into(),
        })
    }

    fn is_remote(&self) -> bool {
        true
    }
}

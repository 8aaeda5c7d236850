//! The `[feeds]` table: which feed files are written, where, and how many entries each holds.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::site::Site;
use crate::values::{HttpUrl, Invalid};

/// Feed files to write.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedsConfig {
    /// Folder the feed files are written to.
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    /// Public URL of `output_dir`, for self links; default `{site.base_url}/feeds/`.
    pub public_url: Option<HttpUrl>,
    /// Formats to write: any of `rss`, `atom`, `json`.
    #[serde(default = "default_formats")]
    pub formats: Vec<FeedFormat>,
    /// Most recent entries kept in each feed.
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// Also write one set of feeds per language under `{lang}/`.
    #[serde(default = "default_true")]
    pub per_language: bool,
    /// Categories that get their own feeds under `categories/{slug}/`; `["*"]` means all.
    #[serde(default)]
    pub categories: Vec<String>,
    // Archived feeds (RFC 5005)
    /// Also write every entry into fixed-size archive documents under `archive/{n}/`.
    #[serde(default)]
    pub archive: bool,
    /// Entries per archive document; default: `limit`.
    pub archive_size: Option<usize>,
}

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    /// RSS 2.0, written to `rss.xml`.
    Rss,
    /// Atom 1.0, written to `atom.xml`.
    Atom,
    /// JSON Feed 1.1, written to `feed.json`.
    Json,
}

impl Default for FeedsConfig {
    fn default() -> Self {
        FeedsConfig {
            output_dir: default_output_dir(),
            public_url: None,
            formats: default_formats(),
            limit: default_limit(),
            per_language: true,
            categories: Vec::new(),
            // Archived feeds (RFC 5005)
            archive: false,
            archive_size: None,
        }
    }
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("feeds")
}
fn default_formats() -> Vec<FeedFormat> {
    vec![FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json]
}
fn default_limit() -> usize {
    50
}
fn default_true() -> bool {
    true
}

impl FeedsConfig {
    /// Checks what serde cannot; keys are relative to `[feeds]`.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.formats.is_empty() {
            return Err(Invalid::new(
                "formats",
                "list at least one of \"rss\", \"atom\", \"json\"",
            ));
        }
        if self.limit == 0 {
            return Err(Invalid::new("limit", "must be at least 1"));
        }
        if self.archive_size == Some(0) {
            return Err(Invalid::new(
                "archive_size",
                "must be at least 1 (or left out: it then is `limit`)",
            ));
        }
        Ok(())
    }

    /// Entries per archive document: `archive_size`, else `limit`. With at most `limit`, every
    /// entry of the newest (still filling) archive document is in the subscription document
    /// too.
    pub fn archive_size(&self) -> usize {
        self.archive_size.unwrap_or(self.limit)
    }

    /// Public URL of the feeds folder, always ending in `/`.
    pub fn public_url(&self, site: &Site) -> String {
        let url = match &self.public_url {
            Some(u) => u.to_string(),
            None => format!("{}/feeds/", site.base_url.trim_end_matches('/')),
        };
        if url.ends_with('/') {
            url
        } else {
            format!("{url}/")
        }
    }

    /// Hash of everything that shapes the feed files (the site and this table); when it
    /// changes, every feed file is rendered again.
    pub fn fingerprint(&self, site: &Site) -> String {
        let settings = serde_json::json!({
            "site": site,
            "feeds": self,
            "crier": env!("CARGO_PKG_VERSION"),
        });
        blake3::hash(settings.to_string().as_bytes())
            .to_hex()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_is_off_and_its_pages_are_as_long_as_the_feed_by_default() {
        let feeds: FeedsConfig = toml::from_str("limit = 20").unwrap();
        assert!(!feeds.archive);
        assert_eq!(feeds.archive_size(), 20);
        let feeds: FeedsConfig = toml::from_str("archive = true\narchive_size = 100").unwrap();
        assert!(feeds.archive);
        assert_eq!(feeds.archive_size(), 100);
        let feeds: FeedsConfig = toml::from_str("archive_size = 0").unwrap();
        let error = feeds.validate().unwrap_err();
        assert!(format!("{error:?}").contains("archive_size"), "{error:?}");
    }
}

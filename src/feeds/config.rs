//! The `[feeds]` table: which feed files are written, where, and how many entries each holds.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::budget;
use super::websub::WebSubConfig;
use crate::site::Site;
use crate::values::{HttpUrl, Invalid};

pub use super::stylesheet::Stylesheet;

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
    // Size budgets: feeds valid for every input (see `budget.rs`).
    /// Largest sanitised body of one entry, in bytes; a longer one is cut at a block's end
    /// and ends with a "continue reading" link. Default 524288 (512 KiB).
    #[serde(default = "default_max_content_bytes")]
    pub max_content_bytes: usize,
    /// Largest feed file, in bytes: beyond it older entries keep only their summary (and the
    /// oldest are left out if even that does not fit). Default 4194304 (4 MiB).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: usize,
    // WebSub
    /// `[feeds.websub]`: hubs named in every feed and notified when a feed file changes.
    #[serde(default)]
    pub websub: WebSubConfig,
    // Browser-readable feeds (XSL stylesheet).
    /// The XSL stylesheet RSS and Atom files name, so that a browser shows them as a page:
    /// `true` (crier writes its own, `feed.{lang}.xsl`), `false` (none), or the address of the
    /// site's own (an `https://` URL or a path from `/`, on the feeds' host).
    #[serde(default)]
    pub stylesheet: Stylesheet,
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
            // Size budgets.
            max_content_bytes: default_max_content_bytes(),
            max_file_bytes: default_max_file_bytes(),
            // WebSub
            websub: WebSubConfig::default(),
            // Browser-readable feeds (XSL stylesheet).
            stylesheet: Stylesheet::default(),
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
fn default_max_content_bytes() -> usize {
    budget::DEFAULT_MAX_CONTENT_BYTES
}
fn default_max_file_bytes() -> usize {
    budget::DEFAULT_MAX_FILE_BYTES
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
        self.websub.validate().map_err(|e| e.under("websub"))?;
        self.validate_budgets()
    }

    /// The size budgets: an entry's within what parsers take in one text node, the file's
    /// no smaller than an entry's (the newest entry is always written whole).
    fn validate_budgets(&self) -> Result<(), Invalid> {
        use budget::{MAX_CONTENT_CEILING, MIN_CONTENT_BYTES};
        let content = self.max_content_bytes;
        if !(MIN_CONTENT_BYTES..=MAX_CONTENT_CEILING).contains(&content) {
            return Err(Invalid::new(
                "max_content_bytes",
                format!(
                    "{content} is outside {MIN_CONTENT_BYTES} to {MAX_CONTENT_CEILING}: an entry needs room for a \
                     paragraph and its \"continue reading\" link, and parsers built on libxml2 refuse a text of \
                     10 MB or more; the default is {}",
                    budget::DEFAULT_MAX_CONTENT_BYTES
                ),
            ));
        }
        if self.max_file_bytes < content {
            return Err(Invalid::new(
                "max_file_bytes",
                format!(
                    "{} is smaller than max_content_bytes ({content}), so the newest entry would not fit; \
                     raise it (the default is {}) or lower max_content_bytes",
                    self.max_file_bytes,
                    budget::DEFAULT_MAX_FILE_BYTES
                ),
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

    fn read(toml_text: &str) -> FeedsConfig {
        toml::from_str(toml_text).expect("a [feeds] table")
    }

    #[test]
    fn budgets_default_to_512_kib_and_4_mib() {
        let feeds = read("");
        assert_eq!(feeds.max_content_bytes, 524_288);
        assert_eq!(feeds.max_file_bytes, 4_194_304);
        assert!(feeds.validate().is_ok());
        assert_eq!(FeedsConfig::default().max_content_bytes, 524_288);
    }

    #[test]
    fn budgets_out_of_range_are_refused_naming_the_key() {
        for (text, key) in [
            ("max_content_bytes = 0", "max_content_bytes"),
            ("max_content_bytes = 100", "max_content_bytes"),
            (
                "max_content_bytes = 20000000\nmax_file_bytes = 50000000",
                "max_content_bytes",
            ),
            ("max_file_bytes = 1000", "max_file_bytes"),
        ] {
            let err = read(text).validate().unwrap_err();
            assert_eq!(err.key, key, "{text}: {err:?}");
        }
        assert!(
            read("max_content_bytes = 1024\nmax_file_bytes = 1024")
                .validate()
                .is_ok()
        );
        // The ceiling is 8 MiB, below libxml2's 10,000,000-byte text node.
        assert!(
            read("max_content_bytes = 8388608\nmax_file_bytes = 8388608")
                .validate()
                .is_ok()
        );
        let err = read("max_content_bytes = 8388609\nmax_file_bytes = 9000000")
            .validate()
            .unwrap_err();
        assert_eq!(err.key, "max_content_bytes");
    }

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

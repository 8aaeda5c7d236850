//! What every remote source (`json`, `feed`, `html`) shares besides fetching: the settings
//! common to their config tables, the [`Defaults`] they give the
//! [`Finisher`](super::finish::Finisher) that turns their drafts into entries exactly as the
//! directory source's are, the fetcher, and the fingerprints and 304 answers of documents.

use std::collections::HashMap;

use super::finish::Defaults;
use super::http::{Fetcher, HttpSettings};
use super::{Document, Outcome};
use crate::site::Site;
use crate::values::HttpUrl;

/// The settings every remote source table has, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    /// Source name: the prefix of its entry ids.
    pub name: &'a str,
    /// The first URL to fetch.
    pub url: &'a HttpUrl,
    /// Language of entries that do not say theirs; default: the first of `site.languages`.
    pub language: Option<&'a str>,
    /// Categories added to every entry.
    pub categories: &'a [String],
    /// IANA time zone of dates written without an offset; default `site.timezone`.
    pub timezone: Option<chrono_tz::Tz>,
    /// HTTP behaviour.
    pub http: &'a HttpSettings,
}

impl<'a> Common<'a> {
    /// Checks what every remote source needs; errors name the key relative to the source.
    pub fn validate(&self, site: &Site) -> Result<(), (String, String)> {
        if let Some(lang) = self.language
            && site.find_language(lang).is_none()
        {
            return Err((
                "language".into(),
                format!("{lang:?} is not listed in site.languages"),
            ));
        }
        self.http.validate()
    }

    /// What the source sets for all its entries.
    pub fn defaults(&self) -> Defaults<'a> {
        Defaults {
            name: self.name,
            language: self.language,
            timezone: self.timezone,
            categories: self.categories,
        }
    }
}

/// A fetcher with the source's HTTP settings; its User-Agent names the site.
pub fn fetcher(http: &HttpSettings, site: &Site) -> Result<Fetcher, String> {
    Fetcher::new(http, site.base_url.url().as_str())
}

/// Implements `common()` for a remote source's config table. Each table repeats the common
/// fields (`name`, `url`, `language`, `categories`, `timezone`, `http`) because serde cannot
/// flatten a shared struct into a table that denies unknown fields.
macro_rules! impl_common {
    ($config:ty) => {
        impl $config {
            /// The settings every remote source has.
            pub fn common(&self) -> $crate::sources::remote::Common<'_> {
                $crate::sources::remote::Common {
                    name: &self.name,
                    url: &self.url,
                    language: self.language.as_deref(),
                    categories: &self.categories,
                    timezone: self.timezone,
                    http: &self.http,
                }
            }
        }
    };
}
pub(crate) use impl_common;

/// Every document the store knows for this source, reported unchanged: what a 304 on the
/// source's first request means.
pub fn all_unchanged(known: &HashMap<String, String>) -> Vec<Document> {
    let mut documents: Vec<Document> = known
        .iter()
        .map(|(key, fingerprint)| Document {
            key: key.clone(),
            fingerprint: fingerprint.clone(),
            outcome: Outcome::Unchanged,
        })
        .collect();
    documents.sort_by(|a, b| a.key.cmp(&b.key));
    documents
}

/// The fingerprint of a piece of a response: a hash of its bytes.
pub fn fingerprint(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..32].to_owned()
}

//! The `[[sources]]` tables: one enum over the source types, each table's own settings
//! (directory here, the remote ones beside their readers), and the checks serde cannot make.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use super::feed::FeedSourceConfig;
pub use super::html::HtmlSourceConfig;
pub use super::json::JsonSourceConfig;
use crate::site::Site;
use crate::values::Invalid;

/// One place entries are read from.
// Each variant is read through `with_key_path`, so that a value refused inside a source's
// table is reported with its key (see there).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SourceConfig {
    /// A folder tree of Markdown files with front matter (Hugo and Zola layout).
    #[serde(deserialize_with = "with_key_path")]
    Directory(DirectorySourceConfig),
    /// A JSON API, such as a WordPress site's REST API.
    #[serde(deserialize_with = "with_key_path")]
    Json(JsonSourceConfig),
    /// An RSS, Atom or JSON Feed published elsewhere.
    #[serde(deserialize_with = "with_key_path")]
    Feed(FeedSourceConfig),
    /// Web pages: a listing whose links lead to entry pages.
    #[serde(deserialize_with = "with_key_path")]
    Html(HtmlSourceConfig),
}

/// Reads one source table, putting the key of a refused value in front of the message
/// ("`http.timeout`: …"). serde buffers an internally tagged table before reading it as its
/// variant, so the config loader's key tracking stops at `sources[i]`; this tracks the rest.
fn with_key_path<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        if key == "." {
            inner
        } else {
            serde::de::Error::custom(format!("`{key}`: {inner}"))
        }
    })
}

impl SourceConfig {
    /// The source's name, which prefixes its entry ids.
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Directory(d) => &d.name,
            SourceConfig::Json(j) => &j.name,
            SourceConfig::Feed(f) => &f.name,
            SourceConfig::Html(h) => &h.name,
        }
    }

    /// HTTP settings of a remote source; `None` for a directory.
    pub fn http(&self) -> Option<&super::http::HttpSettings> {
        match self {
            SourceConfig::Directory(_) => None,
            SourceConfig::Json(j) => Some(&j.http),
            SourceConfig::Feed(f) => Some(&f.http),
            SourceConfig::Html(h) => Some(&h.http),
        }
    }

    /// The config value of `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Directory(_) => "directory",
            SourceConfig::Json(_) => "json",
            SourceConfig::Feed(_) => "feed",
            SourceConfig::Html(_) => "html",
        }
    }

    /// Checks what serde cannot; keys are relative to the source's table.
    pub fn validate(&self, site: &Site) -> Result<(), Invalid> {
        let name = self.name();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Invalid::new(
                "name",
                format!("{name:?}: use letters, digits, '-' and '_' only"),
            ));
        }
        let remote = match self {
            SourceConfig::Directory(d) => return d.validate(),
            SourceConfig::Json(j) => j.validate(site),
            SourceConfig::Feed(f) => f.validate(site),
            SourceConfig::Html(h) => h.validate(site),
        };
        remote.map_err(|(key, message)| Invalid::new(key, message))
    }

    /// Makes the source's relative paths absolute with `resolve`.
    pub fn resolve_paths(&mut self, resolve: impl Fn(&std::path::Path) -> PathBuf) {
        if let SourceConfig::Directory(d) = self {
            d.path = resolve(&d.path);
        }
    }

    /// Hash of the settings that change how this source's documents become entries; when it
    /// changes, every document is read again.
    pub fn fingerprint(&self, site: &Site) -> String {
        let relevant = serde_json::json!({
            "source": self,
            "base_url": site.base_url,
            "languages": site.languages,
            "timezone": site.timezone.name(),
            "author": site.author,
            "crier": env!("CARGO_PKG_VERSION"),
        });
        blake3::hash(relevant.to_string().as_bytes())
            .to_hex()
            .to_string()
    }
}

/// A folder of Markdown files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySourceConfig {
    /// Short name, unique among sources; entry ids are `{name}:{relative path}`.
    #[serde(default = "default_source_name")]
    pub name: String,
    /// Folder to read, searched recursively for `*.md` files.
    pub path: PathBuf,
    /// URL path pattern appended to `site.base_url` when an entry has no `url` key.
    /// Placeholders: `{lang}`, `{slug}`, `{section}`, `{path}`, `{year}`, `{month}`, `{day}`.
    #[serde(default = "default_permalink")]
    pub permalink: String,
    /// Leave the default language out of `{lang}` permalinks (`/projects/x/` not `/en/projects/x/`).
    #[serde(default)]
    pub default_language_in_root: bool,
    /// Glob patterns (relative to `path`) of files to ignore; `_index.md` files are always ignored.
    #[serde(default)]
    pub exclude: Globs,
    /// Categories added to every entry of this source.
    #[serde(default)]
    pub categories: Vec<String>,
}

fn default_source_name() -> String {
    "content".to_owned()
}

fn default_permalink() -> String {
    "/{lang}/{path}/".to_owned()
}

/// Placeholders a permalink pattern may use.
const PLACEHOLDERS: [&str; 7] = ["lang", "slug", "section", "path", "year", "month", "day"];

impl DirectorySourceConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if !self.permalink.contains("{slug}") && !self.permalink.contains("{path}") {
            return Err(Invalid::new(
                "permalink",
                format!(
                    "{:?} must contain {{slug}} or {{path}} so that entries get distinct URLs",
                    self.permalink
                ),
            ));
        }
        if let Some(bad) = unknown_placeholder(&self.permalink) {
            return Err(Invalid::new(
                "permalink",
                format!(
                    "unknown placeholder {{{bad}}}; use {{lang}}, {{slug}}, {{section}}, {{path}}, {{year}}, {{month}} or {{day}}"
                ),
            ));
        }
        Ok(())
    }
}

fn unknown_placeholder(pattern: &str) -> Option<String> {
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let end = after.find('}')?;
        let name = &after[..end];
        if !PLACEHOLDERS.contains(&name) {
            return Some(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    None
}

/// Glob patterns, compiled when the config is read (globset defaults: `*` also matches `/`).
#[derive(Debug, Clone, Default)]
pub struct Globs {
    patterns: Vec<String>,
    set: globset::GlobSet,
}

impl Globs {
    /// Whether `path` matches one of the patterns.
    pub fn is_match(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

impl Serialize for Globs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.patterns.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Globs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let patterns = Vec::<String>::deserialize(deserializer)?;
        let mut builder = globset::GlobSetBuilder::new();
        for pattern in &patterns {
            let glob = globset::Glob::new(pattern)
                .map_err(|e| D::Error::custom(format!("{pattern:?} is not a glob pattern: {e}")))?;
            builder.add(glob);
        }
        let set = builder.build().map_err(D::Error::custom)?;
        Ok(Globs { patterns, set })
    }
}

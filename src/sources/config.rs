//! The `[[sources]]` tables: one enum over the source types, each table's own settings
//! (directory here, the remote ones beside their readers), and the checks serde cannot make.
//!
//! A table is read by hand ([`SourceConfig::from_table`]): `type` is taken out first and the
//! rest read as that type's struct, because serde's tagged enums buffer the table and lose
//! the line and key of a mistake inside it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::DeTable;

pub use super::directory::{Generator, Slugify};
pub use super::feed::FeedSourceConfig;
pub use super::html::HtmlSourceConfig;
pub use super::json::JsonSourceConfig;
use crate::site::Site;
use crate::values::{Invalid, Refused, read_table};

/// One place entries are read from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SourceConfig {
    /// A folder tree of Markdown files with front matter (Hugo and Zola layout).
    Directory(DirectorySourceConfig),
    /// A JSON API, such as a WordPress site's REST API.
    Json(JsonSourceConfig),
    /// An RSS, Atom or JSON Feed published elsewhere.
    Feed(FeedSourceConfig),
    /// Web pages: a listing whose links lead to entry pages.
    Html(HtmlSourceConfig),
}

/// Reads the rest of a `[[sources]]` table once its `type` is known.
type Reader = fn(Spanned<DeTable<'_>>) -> Result<SourceConfig, Refused>;

/// The values of `type`, each with the reader of its table (the names `kind` returns).
const TYPES: [(&str, Reader); 4] = [
    ("directory", |t| read_table(t).map(SourceConfig::Directory)),
    ("json", |t| read_table(t).map(SourceConfig::Json)),
    ("feed", |t| read_table(t).map(SourceConfig::Feed)),
    ("html", |t| read_table(t).map(SourceConfig::Html)),
];

impl SourceConfig {
    /// Reads one `[[sources]]` table of the parsed config document; a mistake names its key
    /// (relative to the table) and its place.
    pub fn from_table(mut table: Spanned<DeTable<'_>>) -> Result<SourceConfig, Refused> {
        let read = crate::values::take_tag(&mut table, "type", "source type", &TYPES)?;
        read(table)
    }

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
        crate::values::check_name(self.name())?;
        let remote = match self {
            SourceConfig::Directory(d) => return d.validate(site),
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
            // Entries may name channels: one added can mend a failed entry.
            "channels": site.channels,
            "crier": env!("CARGO_PKG_VERSION"),
        });
        blake3::hash(relevant.to_string().as_bytes())
            .to_hex()
            .to_string()
    }
}

impl<'de> Deserialize<'de> for SourceConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(deserializer)?;
        crate::values::read_detached(table, SourceConfig::from_table)
            .map_err(serde::de::Error::custom)
    }
}

/// A folder of Markdown files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySourceConfig {
    /// Short name, unique among sources; entry ids are `{name}:{relative path}`.
    #[serde(default = "default_source_name")]
    pub name: String,
    /// Folder to read, searched recursively for content files (`*.md`, `*.markdown`, and
    /// `*.html` with front matter).
    pub path: PathBuf,
    /// URL path pattern appended to `site.base_url` when an entry has no `url` key.
    /// Placeholders: `{lang}`, `{slug}`, `{section}`, `{path}`, `{year}`, `{month}`, `{day}`.
    #[serde(default = "default_permalink")]
    pub permalink: String,
    /// Leave the default language out of `{lang}` permalinks (`/projects/x/` not `/en/projects/x/`).
    #[serde(default)]
    pub default_language_in_root: bool,
    /// Glob patterns (relative to `path`) of files to ignore; `_index.md` files are never entries.
    #[serde(default)]
    pub exclude: Globs,
    /// Categories added to every entry of this source.
    #[serde(default)]
    pub categories: Vec<String>,
    /// How a page without a date is dated: `skip` (left out of the feeds, as Hugo and Zola
    /// leave it out of date-ordered lists), `git` (its first commit) or `file` (its
    /// modification time).
    #[serde(default, skip_serializing_if = "is_default")]
    pub undated: Undated,
    /// Language of the files that name none, as Hugo's per-language `contentDir` gives
    /// (`content/fr`); default: the first of `site.languages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The generator that builds the site (`auto`, `hugo`, `zola`); it picks `slugify`'s default.
    #[serde(default, skip_serializing_if = "is_default")]
    pub generator: Generator,
    /// How file names and `slug` keys become URL segments (`crier`, `on`, `safe`, `off`,
    /// `hugo`); default: `on` for zola, `hugo` for hugo, `crier` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slugify: Option<Slugify>,
    /// Hugo's `removePathAccents`: drop accents from URL segments (`slugify = "hugo"`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub remove_path_accents: bool,
    /// Hugo's `disablePathToLower`: keep the case of URL segments (`slugify = "hugo"`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub disable_path_to_lower: bool,
    /// Permalink patterns by top-level section folder, overriding `permalink` there (like
    /// Hugo's `[permalinks]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub permalinks: BTreeMap<String, String>,
    /// Shortcode name → HTML template, for the site's own shortcodes (and to replace a
    /// built-in rendering): `{{ body }}` is the inner text rendered as Markdown, `{{ 0 }}`,
    /// `{{ 1 }}`… positional arguments and `{{ name }}` named ones, escaped. Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shortcodes: super::directory::Templates,
}

/// What the directory source does with a page that has no date of its own (`undated`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Undated {
    /// Leave it out of the feeds, quietly (one notice per read).
    #[default]
    Skip,
    /// Date it by the first commit that added it, and update it by the last one, as Hugo's
    /// `enableGitInfo` does.
    Git,
    /// Date it by its file's modification time.
    File,
}

/// New keys are left out of the source's fingerprint while they keep their default, so that
/// adding them does not make every file be read again.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
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
    fn validate(&self, site: &Site) -> Result<(), Invalid> {
        check_permalink("permalink", &self.permalink)?;
        for (section, pattern) in &self.permalinks {
            check_permalink(&format!("permalinks.{section}"), pattern)?;
        }
        if let Some(name) = self.shortcodes.keys().find(|name| {
            name.is_empty() || name.starts_with('/') || name.contains(char::is_whitespace)
        }) {
            return Err(Invalid::new(
                format!("shortcodes.{name:?}"),
                "a shortcode name is one word, as written in the content, e.g. `aside`",
            ));
        }
        if let Some(lang) = &self.language
            && site.find_language(lang).is_none()
        {
            return Err(Invalid::new(
                "language",
                format!("{lang:?} is not listed in site.languages; add it there or fix `language`"),
            ));
        }
        Ok(())
    }

    /// The `slugify` mode in force: the one set, else the generator's.
    pub fn slugify(&self) -> Slugify {
        self.slugify
            .unwrap_or_else(|| self.generator.default_slugify())
    }
}

/// Checks one permalink pattern; `key` names it in the message.
fn check_permalink(key: &str, pattern: &str) -> Result<(), Invalid> {
    if !pattern.contains("{slug}") && !pattern.contains("{path}") {
        return Err(Invalid::new(
            key,
            format!(
                "{pattern:?} must contain {{slug}} or {{path}} so that entries get distinct URLs"
            ),
        ));
    }
    if let Some(bad) = unknown_placeholder(pattern) {
        return Err(Invalid::new(
            key,
            format!(
                "unknown placeholder {{{bad}}}; use {{lang}}, {{slug}}, {{section}}, {{path}}, {{year}}, {{month}} or {{day}}"
            ),
        ));
    }
    Ok(())
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

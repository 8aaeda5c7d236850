//! The configuration file: its TOML model, defaults, path resolution and validation.
//!
//! Parsing is strict (`deny_unknown_fields`) so a typo is reported rather than ignored; after
//! parsing, [`Config::load`] resolves relative paths against the config file's folder and
//! [`Config::validate`] checks what serde cannot, naming the offending key.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use url::Url;

use crate::channels::{ChannelConfig, NetworkConfig};
pub use crate::sources::feed::FeedSourceConfig;
pub use crate::sources::html::HtmlSourceConfig;
pub use crate::sources::json::JsonSourceConfig;

/// Everything that can be wrong with a configuration file.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    // The cause is in the message, so it is not also a `#[source]` (it would print twice).
    #[error("cannot read config file {path}: {error}")]
    Read {
        /// Config file path.
        path: PathBuf,
        /// Underlying I/O error.
        error: std::io::Error,
    },
    /// The file is not valid TOML or does not match the model.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// Config file path.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is well-formed but unusable.
    #[error("invalid config file {path}: `{key}`: {message}")]
    Invalid {
        /// Config file path.
        path: PathBuf,
        /// Dotted key, e.g. `sources[0].permalink`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The website the entries belong to.
    pub site: SiteConfig,
    /// Where entries are read from; at least one.
    pub sources: Vec<SourceConfig>,
    /// Which feed files are written and where.
    #[serde(default)]
    pub feeds: FeedsConfig,
    /// Where crier keeps its state.
    #[serde(default)]
    pub store: StoreConfig,
    /// Rules for announcing new entries on the channels.
    #[serde(default, skip_serializing)]
    pub announce: AnnounceConfig,
    /// Social network accounts new entries are announced on.
    #[serde(default, skip_serializing)]
    pub channels: Vec<ChannelConfig>,
    /// How `crier run` (the daemon) schedules cycles.
    #[serde(default, skip_serializing)]
    pub daemon: DaemonConfig,
    /// Folder of the config file; relative paths were resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Path of the config file itself, for messages.
    #[serde(skip)]
    pub file: PathBuf,
}

/// The website: identity, languages, defaults for entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Site name, used as the feed title.
    pub title: String,
    /// One-line description, used as the feed description.
    #[serde(default)]
    pub description: String,
    /// Absolute URL of the site's home page; entry permalinks are built on it.
    pub base_url: String,
    /// Languages published, BCP 47 tags; the first is the default for entries that name none.
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// IANA timezone for dates written without an offset (`2024-03-12` or `2024-03-12 09:00`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Default author of entries, required by Atom.
    pub author: Option<AuthorConfig>,
    /// Per-language title, description and home page, keyed by language tag.
    #[serde(default)]
    pub language: BTreeMap<String, LanguageConfig>,
}

/// Author identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthorConfig {
    /// Display name.
    pub name: String,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Home page.
    pub uri: Option<String>,
}

/// Overrides for one language's feeds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageConfig {
    /// Feed title in this language.
    pub title: Option<String>,
    /// Feed description in this language.
    pub description: Option<String>,
    /// Home page of this language's part of the site.
    pub home: Option<String>,
}

/// One place entries are read from.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    pub fn http(&self) -> Option<&crate::sources::http::HttpSettings> {
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
    pub exclude: Vec<String>,
    /// Categories added to every entry of this source.
    #[serde(default)]
    pub categories: Vec<String>,
}

/// Feed files to write.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedsConfig {
    /// Folder the feed files are written to.
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    /// Public URL of `output_dir`, for self links; default `{site.base_url}/feeds/`.
    pub public_url: Option<String>,
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

/// Settings of the daemon (`crier run` without `--once`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Cron expression of the cycles: 5 fields (minute precision) or 6 (with seconds first).
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// IANA timezone the schedule is read in; default `site.timezone`.
    pub timezone: Option<String>,
    /// Random delay added to each tick, so that many sites do not call out at once (`"30s"`).
    #[serde(default = "default_jitter")]
    pub jitter: String,
    /// Watch directory sources: a saved, added or removed entry file runs a cycle at once.
    #[serde(default)]
    pub watch: bool,
    /// The health and metrics listener; off when absent.
    pub health: Option<HealthListenConfig>,
}

/// The optional HTTP listener for `/healthz`, `/metrics` and (optionally) the feeds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthListenConfig {
    /// Address and port; keep it on 127.0.0.1 unless a proxy or a scraper needs more.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// `/healthz` answers 503 when the last successful cycle is older than this.
    #[serde(default = "default_health_max_age")]
    pub max_age: String,
    /// Also serve the feeds folder under `/feeds/`, with ETag and Last-Modified.
    #[serde(default)]
    pub serve_feeds: bool,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            schedule: default_schedule(),
            timezone: None,
            jitter: default_jitter(),
            watch: false,
            health: None,
        }
    }
}

impl DaemonConfig {
    /// `jitter` as a duration (validated with the config).
    pub fn jitter(&self) -> std::time::Duration {
        humantime::parse_duration(&self.jitter).unwrap_or_default()
    }
}

fn default_schedule() -> String {
    "*/5 * * * *".to_owned()
}
fn default_jitter() -> String {
    "0s".to_owned()
}
fn default_listen() -> String {
    "127.0.0.1:9464".to_owned()
}
fn default_health_max_age() -> String {
    "30m".to_owned()
}

/// Flood guards and retry rules shared by all channels.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnnounceConfig {
    /// Entries published longer ago than this are never announced (e.g. `"14d"`).
    #[serde(default = "default_max_age")]
    pub max_age: String,
    /// At most this many posts are sent in one run, all channels together.
    #[serde(default = "default_per_run_cap")]
    pub per_run_cap: usize,
    /// Attempts before a delivery is given up (a channel may set its own).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Longest wait for one request to a network (e.g. `"30s"`).
    #[serde(default = "default_request_timeout")]
    pub request_timeout: String,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            max_age: default_max_age(),
            per_run_cap: default_per_run_cap(),
            max_attempts: default_max_attempts(),
            request_timeout: default_request_timeout(),
        }
    }
}

impl AnnounceConfig {
    /// `max_age` as a duration (validated with the config).
    pub fn max_age(&self) -> std::time::Duration {
        humantime::parse_duration(&self.max_age)
            .unwrap_or(std::time::Duration::from_secs(14 * 86_400))
    }

    /// `request_timeout` as a duration (validated with the config).
    pub fn request_timeout(&self) -> std::time::Duration {
        humantime::parse_duration(&self.request_timeout)
            .unwrap_or(std::time::Duration::from_secs(30))
    }
}

fn default_max_age() -> String {
    "14d".to_owned()
}
fn default_per_run_cap() -> usize {
    10
}
fn default_max_attempts() -> u32 {
    8
}
fn default_request_timeout() -> String {
    "30s".to_owned()
}

/// State storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite database file; its folder is created when missing.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
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
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
        }
    }
}

fn default_languages() -> Vec<String> {
    vec!["en".to_owned()]
}
fn default_timezone() -> String {
    "UTC".to_owned()
}
fn default_source_name() -> String {
    "content".to_owned()
}
fn default_permalink() -> String {
    "/{lang}/{path}/".to_owned()
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
fn default_store_path() -> PathBuf {
    PathBuf::from("state/crier.sqlite3")
}

impl Config {
    /// Reads, parses, resolves and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        let mut config = Config::parse(&text, path)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: parse_message(text, &e),
        })?;
        config.file = path.to_owned();
        Ok(config)
    }

    /// Makes every relative path absolute against `base` (the config file's folder).
    pub fn resolve_paths(&mut self, base: &Path) {
        let base = normalize(&std::path::absolute(base).unwrap_or_else(|_| base.to_owned()));
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_owned()
            } else {
                normalize(&base.join(p))
            }
        };
        for source in &mut self.sources {
            if let SourceConfig::Directory(d) = source {
                d.path = resolve(&d.path);
            }
        }
        self.feeds.output_dir = resolve(&self.feeds.output_dir);
        for channel in &mut self.channels {
            channel.resolve_paths(&base);
        }
        self.store.path = resolve(&self.store.path);
        self.base_dir = base;
    }

    /// Checks the values serde accepted; the first problem is returned, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: self.file.clone(),
            key: key.to_owned(),
            message,
        };
        if self.site.title.trim().is_empty() {
            return Err(invalid("site.title", "must not be empty".into()));
        }
        check_http_url(&self.site.base_url).map_err(|m| invalid("site.base_url", m))?;
        if self.site.languages.is_empty() {
            return Err(invalid(
                "site.languages",
                "list at least one language, e.g. [\"en\"]".into(),
            ));
        }
        for (i, lang) in self.site.languages.iter().enumerate() {
            if !is_language_tag(lang) {
                return Err(invalid(
                    &format!("site.languages[{i}]"),
                    format!("{lang:?} is not a BCP 47 language tag such as \"en\" or \"pt-BR\""),
                ));
            }
        }
        for (lang, overrides) in &self.site.language {
            if !self.site.languages.contains(lang) {
                return Err(invalid(
                    &format!("site.language.{lang}"),
                    format!("{lang:?} is not listed in site.languages"),
                ));
            }
            if let Some(home) = &overrides.home {
                check_http_url(home)
                    .map_err(|m| invalid(&format!("site.language.{lang}.home"), m))?;
            }
        }
        self.site.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            invalid(
                "site.timezone",
                format!(
                    "{:?} is not an IANA timezone name such as \"Europe/Paris\" or \"UTC\"",
                    self.site.timezone
                ),
            )
        })?;
        if let Some(author) = &self.site.author
            && author.name.trim().is_empty()
        {
            return Err(invalid("site.author.name", "must not be empty".into()));
        }
        if self.sources.is_empty() {
            return Err(invalid(
                "sources",
                "add at least one [[sources]] table".into(),
            ));
        }
        let mut names = HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            let name = source.name();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(invalid(
                    &format!("sources[{i}].name"),
                    format!("{name:?}: use letters, digits, '-' and '_' only"),
                ));
            }
            if !names.insert(name) {
                return Err(invalid(
                    &format!("sources[{i}].name"),
                    format!("{name:?} is used by two sources; give each a distinct name"),
                ));
            }
            match source {
                SourceConfig::Directory(d) => {
                    if !d.permalink.contains("{slug}") && !d.permalink.contains("{path}") {
                        return Err(invalid(
                            &format!("sources[{i}].permalink"),
                            format!(
                                "{:?} must contain {{slug}} or {{path}} so that entries get distinct URLs",
                                d.permalink
                            ),
                        ));
                    }
                    if let Some(bad) = unknown_placeholder(&d.permalink) {
                        return Err(invalid(
                            &format!("sources[{i}].permalink"),
                            format!(
                                "unknown placeholder {{{bad}}}; use {{lang}}, {{slug}}, {{section}}, {{path}}, {{year}}, {{month}} or {{day}}"
                            ),
                        ));
                    }
                    for (j, pattern) in d.exclude.iter().enumerate() {
                        globset::Glob::new(pattern).map_err(|e| {
                            invalid(&format!("sources[{i}].exclude[{j}]"), e.to_string())
                        })?;
                    }
                }
                SourceConfig::Json(j) => j
                    .validate(self)
                    .map_err(|(key, m)| invalid(&format!("sources[{i}].{key}"), m))?,
                SourceConfig::Feed(f) => f
                    .validate(self)
                    .map_err(|(key, m)| invalid(&format!("sources[{i}].{key}"), m))?,
                SourceConfig::Html(h) => h
                    .validate(self)
                    .map_err(|(key, m)| invalid(&format!("sources[{i}].{key}"), m))?,
            }
        }
        if let Some(url) = &self.feeds.public_url {
            check_http_url(url).map_err(|m| invalid("feeds.public_url", m))?;
        }
        if self.feeds.formats.is_empty() {
            return Err(invalid(
                "feeds.formats",
                "list at least one of \"rss\", \"atom\", \"json\"".into(),
            ));
        }
        if self.feeds.limit == 0 {
            return Err(invalid("feeds.limit", "must be at least 1".into()));
        }
        for (key, value) in [
            ("announce.max_age", &self.announce.max_age),
            ("announce.request_timeout", &self.announce.request_timeout),
        ] {
            humantime::parse_duration(value).map_err(|e| {
                invalid(
                    key,
                    format!("{value:?} is not a duration such as \"14d\" or \"30s\" ({e})"),
                )
            })?;
        }
        crate::schedule::parse_schedule(&self.daemon.schedule)
            .map_err(|m| invalid("daemon.schedule", m))?;
        if let Some(tz) = &self.daemon.timezone {
            tz.parse::<chrono_tz::Tz>().map_err(|_| {
                invalid(
                    "daemon.timezone",
                    format!("{tz:?} is not an IANA timezone name such as \"Europe/Paris\""),
                )
            })?;
        }
        humantime::parse_duration(&self.daemon.jitter).map_err(|e| {
            invalid(
                "daemon.jitter",
                format!(
                    "{:?} is not a duration such as \"30s\" ({e})",
                    self.daemon.jitter
                ),
            )
        })?;
        if let Some(health) = &self.daemon.health {
            health.listen.parse::<std::net::SocketAddr>().map_err(|_| {
                invalid(
                    "daemon.health.listen",
                    format!(
                        "{:?} is not an address such as \"127.0.0.1:9464\"",
                        health.listen
                    ),
                )
            })?;
            humantime::parse_duration(&health.max_age).map_err(|e| {
                invalid(
                    "daemon.health.max_age",
                    format!(
                        "{:?} is not a duration such as \"30m\" ({e})",
                        health.max_age
                    ),
                )
            })?;
        }
        if self.announce.max_attempts == 0 {
            return Err(invalid(
                "announce.max_attempts",
                "must be at least 1".into(),
            ));
        }
        let mut channel_names = HashSet::new();
        for (i, channel) in self.channels.iter().enumerate() {
            let key = |k: &str| format!("channels[{i}].{k}");
            let name = &channel.common.name;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(invalid(
                    &key("name"),
                    format!("{name:?}: use letters, digits, '-' and '_' only"),
                ));
            }
            if !channel_names.insert(name) {
                return Err(invalid(
                    &key("name"),
                    format!("{name:?} is used by two channels; give each a distinct name"),
                ));
            }
            let languages = channel
                .common
                .languages
                .iter()
                .map(|l| (l, key("languages")));
            let templates = channel
                .common
                .templates
                .keys()
                .map(|l| (l, key(&format!("templates.{l}"))));
            for (lang, at) in languages.chain(templates) {
                if !self.site.languages.contains(lang) {
                    return Err(invalid(
                        &at,
                        format!("{lang:?} is not listed in site.languages"),
                    ));
                }
            }
            for template in channel
                .common
                .template
                .iter()
                .chain(channel.common.templates.values())
            {
                crate::channels::template::check(template)
                    .map_err(|e| invalid(&key("template"), e))?;
            }
            if let Some(spacing) = &channel.common.min_spacing {
                humantime::parse_duration(spacing).map_err(|e| {
                    invalid(
                        &key("min_spacing"),
                        format!("{spacing:?} is not a duration such as \"10m\" ({e})"),
                    )
                })?;
            }
            if channel.common.max_attempts == Some(0) {
                return Err(invalid(&key("max_attempts"), "must be at least 1".into()));
            }
            check_http_url(channel.base_url()).map_err(|m| invalid(&key("base_url"), m))?;
            let network = match &channel.network {
                NetworkConfig::Mastodon(c) => c.validate(),
                NetworkConfig::Bluesky(c) => c.validate(),
                NetworkConfig::X(c) => c.validate(),
                NetworkConfig::Facebook(c) => c.validate(),
            };
            network.map_err(|(k, m)| invalid(&key(&k), m))?;
        }
        Ok(())
    }

    /// The timezone for dates without an offset (validated by [`Config::validate`]).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.site.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The timezone the daemon's schedule is read in.
    pub fn schedule_timezone(&self) -> chrono_tz::Tz {
        self.daemon
            .timezone
            .as_deref()
            .and_then(|tz| tz.parse().ok())
            .unwrap_or_else(|| self.timezone())
    }

    /// The default language: the first of `site.languages`.
    pub fn default_language(&self) -> &str {
        self.site
            .languages
            .first()
            .map(String::as_str)
            .unwrap_or("en")
    }

    /// Public URL of the feeds folder, always ending in `/`.
    pub fn feeds_public_url(&self) -> String {
        let url = match &self.feeds.public_url {
            Some(u) => u.clone(),
            None => format!("{}/feeds/", self.site.base_url.trim_end_matches('/')),
        };
        if url.ends_with('/') {
            url
        } else {
            format!("{url}/")
        }
    }

    /// The site author, or the site itself when none is configured (Atom requires one).
    pub fn site_author(&self) -> AuthorConfig {
        self.site.author.clone().unwrap_or_else(|| AuthorConfig {
            name: self.site.title.clone(),
            email: None,
            uri: Some(self.site.base_url.clone()),
        })
    }

    /// Hash of the settings that change how a source's files become entries; when it changes,
    /// every file of that source is read again.
    pub fn source_fingerprint(&self, source: &SourceConfig) -> String {
        let relevant = serde_json::json!({
            "source": source,
            "base_url": self.site.base_url,
            "languages": self.site.languages,
            "timezone": self.site.timezone,
            "author": self.site.author,
            "crier": env!("CARGO_PKG_VERSION"),
        });
        blake3::hash(relevant.to_string().as_bytes())
            .to_hex()
            .to_string()
    }
}

/// The parser's message with its line and column, without toml's echo of the offending
/// source line: that line may hold a secret someone pasted where a reference belongs.
fn parse_message(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}

/// Removes `.` and `a/..` pairs without touching the file system, so that logs show
/// `/srv/site/feeds` rather than `/srv/site/config/../feeds`.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match (component, out.components().next_back()) {
            (Component::CurDir, _) => {}
            (Component::ParentDir, Some(Component::Normal(_))) => {
                out.pop();
            }
            // `/..` is `/`.
            (Component::ParentDir, Some(Component::RootDir)) => {}
            (other, _) => out.push(other),
        }
    }
    out
}

fn check_http_url(s: &str) -> Result<(), String> {
    let url = Url::parse(s).map_err(|e| format!("{s:?} is not an absolute URL ({e})"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("{s:?} must start with https:// or http://"));
    }
    if url.host_str().is_none() {
        return Err(format!("{s:?} has no host name"));
    }
    Ok(())
}

/// A loose BCP 47 check: a 2- or 3-letter primary language subtag (ISO 639), then
/// alphanumeric subtags of 1 to 8 characters.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let Some(primary) = parts.next() else {
        return false;
    };
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn unknown_placeholder(pattern: &str) -> Option<String> {
    const KNOWN: [&str; 7] = ["lang", "slug", "section", "path", "year", "month", "day"];
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let end = after.find('}')?;
        let name = &after[..end];
        if !KNOWN.contains(&name) {
            return Some(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[site]
title = "Network"
base_url = "https://example.org"
languages = ["en", "fr"]

[[sources]]
type = "directory"
path = "content"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::parse(text, Path::new("/etc/crier/crier.toml"))?;
        c.resolve_paths(Path::new("/etc/crier"));
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn minimal_config_gets_defaults_and_absolute_paths() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.feeds.limit, 50);
        assert_eq!(c.feeds.output_dir, Path::new("/etc/crier/feeds"));
        assert_eq!(c.store.path, Path::new("/etc/crier/state/crier.sqlite3"));
        let SourceConfig::Directory(d) = &c.sources[0] else {
            panic!("a directory source")
        };
        assert_eq!(d.path, Path::new("/etc/crier/content"));
        assert_eq!(c.feeds_public_url(), "https://example.org/feeds/");
        assert_eq!(c.default_language(), "en");
    }

    #[test]
    fn parent_folders_in_paths_are_folded() {
        let mut c = Config::parse(
            &MINIMAL.replace("path = \"content\"", "path = \"../content\""),
            Path::new("/srv/site/config/crier.toml"),
        )
        .unwrap();
        c.resolve_paths(Path::new("/srv/site/config/./"));
        let SourceConfig::Directory(d) = &c.sources[0] else {
            panic!("a directory source")
        };
        assert_eq!(d.path, Path::new("/srv/site/content"));
        assert_eq!(normalize(Path::new("/../a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("../a")), Path::new("../a"));
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let err = parse(&format!("{MINIMAL}\n[feeds]\nlimmit = 3\n")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("limmit"), "{msg}");
        assert!(msg.contains("crier.toml"), "{msg}");
    }

    #[test]
    fn unknown_key_in_source_is_rejected() {
        let err = parse(&MINIMAL.replace("path = \"content\"", "path = \"c\"\npermalnk = \"x\""))
            .unwrap_err();
        assert!(err.to_string().contains("permalnk"), "{err}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            (
                MINIMAL.replace("https://example.org", "example.org"),
                "site.base_url",
            ),
            (
                MINIMAL.replace("\"en\", \"fr\"", "\"en\", \"French\""),
                "site.languages[1]",
            ),
            (format!("{MINIMAL}\n[feeds]\nlimit = 0\n"), "feeds.limit"),
            (
                MINIMAL.replace("path = \"content\"", "path = \"c\"\npermalink = \"/x/\""),
                "sources[0].permalink",
            ),
            (
                MINIMAL.replace(
                    "path = \"content\"",
                    "path = \"c\"\npermalink = \"/{lng}/{slug}\"",
                ),
                "sources[0].permalink",
            ),
            (
                MINIMAL.replace(
                    "languages = [\"en\", \"fr\"]",
                    "timezone = \"Mars/Olympus\"",
                ),
                "site.timezone",
            ),
        ];
        for (text, key) in cases {
            match parse(&text) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                other => panic!("expected invalid {key}, got {other:?}"),
            }
        }
    }

    const CHANNELS: &str = r#"
[[channels]]
type = "mastodon"
name = "mastodon-en"
languages = ["en"]
base_url = "https://mastodon.example"
access_token = { env = "CRIER_MASTODON_TOKEN" }
min_spacing = "10m"

[[channels]]
type = "x"
name = "x"
template = "{{ title }} {{ url }}"
[channels.oauth1]
consumer_key = { env = "A" }
consumer_secret = { env = "B" }
access_token = { env = "C" }
access_token_secret = { file = "x-secret" }
"#;

    #[test]
    fn channels_are_parsed_with_their_network_settings() {
        let c = parse(&format!("{MINIMAL}{CHANNELS}")).unwrap();
        assert_eq!(c.channels.len(), 2);
        assert_eq!(c.channels[0].network_name(), "mastodon");
        assert_eq!(
            c.channels[0].min_spacing(),
            Some(std::time::Duration::from_secs(600))
        );
        let NetworkConfig::X(x) = &c.channels[1].network else {
            panic!("x expected")
        };
        assert_eq!(
            x.oauth1.as_ref().unwrap().access_token_secret,
            crate::secrets::SecretRef::File("/etc/crier/x-secret".into())
        );
        assert_eq!(x.base_url, "https://api.x.com");
    }

    #[test]
    fn channel_mistakes_name_their_key() {
        let cases = [
            (
                CHANNELS.replace("min_spacing = \"10m\"", "min_spacing = \"soon\""),
                "channels[0].min_spacing",
            ),
            (
                CHANNELS.replace("languages = [\"en\"]", "languages = [\"de\"]"),
                "channels[0].languages",
            ),
            (
                CHANNELS.replace("min_spacing = \"10m\"", "templates.de = \"{{ title }}\""),
                "channels[0].templates.de",
            ),
            (
                CHANNELS.replace("{{ title }} {{ url }}", "{{ title }"),
                "channels[1].template",
            ),
            (
                CHANNELS.replace("name = \"x\"", "name = \"mastodon-en\""),
                "channels[1].name",
            ),
            (
                CHANNELS.replace("https://mastodon.example", "mastodon.example"),
                "channels[0].base_url",
            ),
            (
                CHANNELS.replace("[channels.oauth1]", "[channels.oauth3]"),
                "parse",
            ),
        ];
        for (channels, key) in cases {
            match parse(&format!("{MINIMAL}{channels}")) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                Err(ConfigError::Parse { message, .. }) if key == "parse" => {
                    assert!(message.contains("oauth3"), "{message}")
                }
                other => panic!("expected {key}, got {other:?}"),
            }
        }
        let inline = CHANNELS.replace("{ env = \"CRIER_MASTODON_TOKEN\" }", "\"tok-123\"");
        let err = parse(&format!("{MINIMAL}{inline}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not written in the config"), "{err}");
        assert!(!err.contains("tok-123"), "{err}");
    }

    #[test]
    fn duplicate_source_names_are_rejected() {
        let text = format!("{MINIMAL}\n[[sources]]\ntype = \"directory\"\npath = \"other\"\n");
        let err = parse(&text).unwrap_err();
        assert!(err.to_string().contains("sources[1].name"), "{err}");
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "fr", "pt-BR", "zh-Hant-TW", "sr-Latn"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "e", "english-", "en_GB", "123"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}

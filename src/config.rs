//! The configuration file: one TOML document whose sections belong to the areas that use
//! them (`[site]` to [`crate::site`], `[[sources]]` to [`crate::sources`], `[feeds]` to
//! [`crate::feeds`], `[[channels]]` and `[announce]` to [`crate::channels`], `[daemon]` to
//! [`crate::schedule`]). This module loads the file, resolves relative paths against its
//! folder, and asks each section to validate itself, adding the section's key path to what it
//! reports.
//!
//! Parsing is strict (`deny_unknown_fields`) so a typo is reported rather than ignored; typed
//! values (URLs, durations, time zones, cron expressions, globs) are parsed once, here.
//!
//! Every error names the file, the key path and the line (found again in the text for the
//! problems `validate` reports), but never echoes a line of the file: a secret someone pasted
//! where a reference belongs could be on it.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::channels::{AnnounceConfig, ChannelConfig};
use crate::feeds::FeedsConfig;
use crate::schedule::DaemonConfig;
use crate::site::Site;
use crate::sources::SourceConfig;
use crate::values::{Invalid, Refused, read_table};

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
    #[error("invalid config file {path}: {}`{key}`: {message}", line_prefix(at))]
    Invalid {
        /// Config file path.
        path: PathBuf,
        /// Where the key is written (its table when the key is absent); `None` when the
        /// text was not at hand ([`Config::validate`] alone).
        at: Option<Position>,
        /// Dotted key, e.g. `sources[0].permalink`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// A place in the config file, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `text`.
    fn of(text: &str, offset: usize) -> Position {
        let before = text.get(..offset.min(text.len())).unwrap_or(text);
        Position {
            line: before.matches('\n').count() + 1,
            column: before.rsplit('\n').next().unwrap_or("").chars().count() + 1,
        }
    }
}

/// "line 5, column 1: ", or nothing when the place is not known.
fn line_prefix(at: &Option<Position>) -> String {
    at.map(|at| format!("{at}: ")).unwrap_or_default()
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The website the entries belong to.
    pub site: Site,
    /// Where entries are read from; at least one.
    pub sources: Vec<SourceConfig>,
    /// Which feed files are written and where.
    #[serde(default)]
    pub feeds: FeedsConfig,
    /// Where crier keeps its state.
    #[serde(default)]
    pub store: StoreConfig,
    /// Rules for announcing new entries on the channels.
    #[serde(default)]
    pub announce: AnnounceConfig,
    /// Social network accounts new entries are announced on.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// How `crier run` (the daemon) schedules cycles.
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// Folder of the config file; relative paths were resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Path of the config file itself, for messages.
    #[serde(skip)]
    pub file: PathBuf,
}

/// State storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite database file; its folder is created when missing.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
        }
    }
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
        Config::from_text(&text, path)
    }

    /// Parses, resolves and validates `text`, the content of the config file at `path`
    /// (relative paths are resolved against its folder).
    pub fn from_text(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config = Config::parse(text, path)?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config.validate().map_err(|e| e.located_in(text))?;
        Ok(config)
    }

    /// Parses TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let refused = |refused: Refused| ConfigError::Parse {
            path: path.to_owned(),
            message: parse_message(text, &refused),
        };
        let mut document = DeTable::parse(text).map_err(|e| {
            refused(Refused {
                key: String::new(),
                message: e.message().trim_end().to_owned(),
                span: e.span(),
            })
        })?;
        // serde reads a table whose `type` decides its other keys through a buffer that
        // loses the line and key of a mistake inside it, so the `[[sources]]` and
        // `[[channels]]` tables are taken out here and read one by one by their sections.
        let sources = take_tables(&mut document, "sources");
        let channels = take_tables(&mut document, "channels");
        let mut config: Config = read_table(document).map_err(refused)?;
        config.sources =
            read_tables(sources, "sources", SourceConfig::from_table).map_err(refused)?;
        config.channels =
            read_tables(channels, "channels", ChannelConfig::from_table).map_err(refused)?;
        config.file = path.to_owned();
        config.site.channels = config
            .channels
            .iter()
            .map(|c| c.common.name.clone())
            .collect();
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
            source.resolve_paths(resolve);
        }
        self.feeds.output_dir = resolve(&self.feeds.output_dir);
        for channel in &mut self.channels {
            channel.resolve_paths(&base);
        }
        self.store.path = resolve(&self.store.path);
        self.base_dir = base;
    }

    /// Asks each section to check itself; the first problem is returned, naming its key
    /// ([`Config::from_text`] adds its line).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check()
            .map_err(|Invalid { key, message }| ConfigError::Invalid {
                path: self.file.clone(),
                at: None,
                key,
                message,
            })
    }

    fn check(&self) -> Result<(), Invalid> {
        self.site.validate().map_err(|e| e.under("site"))?;
        if self.sources.is_empty() {
            return Err(Invalid::new(
                "sources",
                "add at least one [[sources]] table",
            ));
        }
        let mut names = HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            let at = format!("sources[{i}]");
            source.validate(&self.site).map_err(|e| e.under(&at))?;
            if !names.insert(source.name()) {
                return Err(Invalid::new(
                    format!("{at}.name"),
                    format!(
                        "{:?} is used by two sources; give each a distinct name",
                        source.name()
                    ),
                ));
            }
        }
        self.feeds.validate().map_err(|e| e.under("feeds"))?;
        self.announce.validate().map_err(|e| e.under("announce"))?;
        let mut names = HashSet::new();
        for (i, channel) in self.channels.iter().enumerate() {
            let at = format!("channels[{i}]");
            channel.validate(&self.site).map_err(|e| e.under(&at))?;
            let name = &channel.common.name;
            if !names.insert(name) {
                return Err(Invalid::new(
                    format!("{at}.name"),
                    format!("{name:?} is used by two channels; give each a distinct name"),
                ));
            }
        }
        Ok(())
    }
}

impl ConfigError {
    /// The same error with the line of its key in `text`, the config file's content.
    fn located_in(self, text: &str) -> ConfigError {
        match self {
            ConfigError::Invalid {
                path,
                at: None,
                key,
                message,
            } => ConfigError::Invalid {
                path,
                at: position_of(text, &key),
                key,
                message,
            },
            other => other,
        }
    }
}

/// Takes the tables of the array of tables `key` out of `document` and leaves an empty array
/// in their place for serde. Anything else under `key` is left to serde, which says what is
/// wrong with it.
fn take_tables<'t>(document: &mut Spanned<DeTable<'t>>, key: &str) -> Vec<Spanned<DeTable<'t>>> {
    let Some(value) = document.get_mut().get_mut(key) else {
        return Vec::new();
    };
    let DeValue::Array(array) = value.get_mut() else {
        return Vec::new();
    };
    if !array.iter().all(|v| v.get_ref().is_table()) {
        return Vec::new();
    }
    std::mem::replace(array, DeArray::new())
        .into_iter()
        .filter_map(|value| {
            let span = value.span();
            match value.into_inner() {
                DeValue::Table(table) => Some(Spanned::new(span, table)),
                _ => None,
            }
        })
        .collect()
}

/// Reads the tables of the array `key` with `read`, naming a mistake's key from the document.
fn read_tables<'t, T>(
    tables: Vec<Spanned<DeTable<'t>>>,
    key: &str,
    read: fn(Spanned<DeTable<'t>>) -> Result<T, Refused>,
) -> Result<Vec<T>, Refused> {
    tables
        .into_iter()
        .enumerate()
        .map(|(i, table)| read(table).map_err(|e| e.under(&format!("{key}[{i}]"))))
        .collect()
}

/// The message of a mistake serde or the parser found, with its line and column, and
/// without toml's echo of the offending source line: that line may hold a secret someone
/// pasted where a reference belongs.
fn parse_message(text: &str, refused: &Refused) -> String {
    let at = match &refused.span {
        Some(span) => Some(Position::of(text, span.start)),
        None => position_of(text, &refused.key),
    };
    match at {
        Some(at) => format!("{at}: {refused}"),
        None => refused.to_string(),
    }
}

/// Where the key path `key` (`channels[1].name`, `site.languages[1]`) is written in `text`;
/// when the document lacks it (a default value, a missing key), where its nearest enclosing
/// table or array item is written. `None` for the document itself, which has no line.
fn position_of(text: &str, key: &str) -> Option<Position> {
    let document = DeTable::parse(text).ok()?.into_inner();
    let document = DeValue::Table(document);
    let mut here = &document;
    let mut found = None;
    for step in key.split('.').flat_map(|part| {
        // `languages[1][0]` is the key `languages`, then the indexes 1 and 0.
        let mut pieces = part.split('[');
        let name = pieces.next().filter(|n| !n.is_empty()).map(Step::Key);
        name.into_iter()
            .chain(pieces.map(|index| Step::Index(index.trim_end_matches(']').parse().ok())))
    }) {
        let next = match (step, here) {
            (Step::Key(name), DeValue::Table(table)) => table
                .get_key_value(name)
                .map(|(key, value)| (key.span(), value)),
            (Step::Index(Some(i)), DeValue::Array(array)) => {
                array.get(i).map(|item| (item.span(), item))
            }
            _ => None,
        };
        let Some((span, value)) = next else { break };
        found = Some(span);
        here = value.get_ref();
    }
    found.map(|span| Position::of(text, span.start))
}

/// One step of a key path.
#[derive(Debug, Clone, Copy)]
enum Step<'k> {
    /// A key of a table.
    Key(&'k str),
    /// An item of an array; `None` when the index does not parse.
    Index(Option<usize>),
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
        Config::from_text(text, Path::new("/etc/crier/crier.toml"))
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
        assert_eq!(c.feeds.public_url(&c.site), "https://example.org/feeds/");
        assert_eq!(c.site.default_language(), "en");
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
        ];
        for (text, key) in cases {
            match parse(&text) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                other => panic!("expected invalid {key}, got {other:?}"),
            }
        }
    }

    #[test]
    fn typed_values_are_refused_where_they_are_written() {
        let cases = [
            (
                MINIMAL.replace("https://example.org", "example.org"),
                "line 4",
                "\"example.org\" is not an absolute URL",
            ),
            (
                MINIMAL.replace("languages = [\"en\", \"fr\"]", "timezone = \"Europe/Pari\""),
                "line 5",
                "did you mean \"Europe/Paris\"?",
            ),
        ];
        for (text, line, expected) in cases {
            match parse(&text) {
                Err(ConfigError::Parse { message, .. }) => {
                    assert!(message.contains(line), "{message}");
                    assert!(message.contains(expected), "{message}");
                }
                other => panic!("expected a parse error, got {other:?}"),
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
        let crate::channels::NetworkConfig::X(x) = &c.channels[1].network else {
            panic!("x expected")
        };
        assert_eq!(
            x.oauth1.as_ref().unwrap().access_token_secret,
            crate::secrets::SecretRef::File("/etc/crier/x-secret".into())
        );
        assert_eq!(x.base_url.as_str(), "https://api.x.com");
    }

    #[test]
    fn channel_mistakes_name_their_key() {
        let cases = [
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
                "parse",
            ),
            (
                CHANNELS.replace("min_spacing = \"10m\"", "min_spacing = \"soon\""),
                "parse",
            ),
            (
                CHANNELS.replace("[channels.oauth1]", "[channels.oauth3]"),
                "parse",
            ),
        ];
        for (channels, key) in cases {
            match parse(&format!("{MINIMAL}{channels}")) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                Err(ConfigError::Parse { message, .. }) if key == "parse" => assert!(
                    ["oauth3", "mastodon.example", "soon"]
                        .iter()
                        .any(|bad| message.contains(bad)),
                    "{message}"
                ),
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

    /// A config with every section; the mistakes below are made in it, and their lines
    /// count from `[site]` as line 1.
    const FULL: &str = r#"[site]
title = "Network"
base_url = "https://example.org"
languages = ["en", "fr"]
timezone = "Europe/Paris"

[[sources]]
type = "directory"
path = "content"
permalink = "/{lang}/{path}/"

[[sources]]
type = "feed"
name = "partner"
url = "https://partner.example/feed.xml"
[sources.http]
max_pages = 5

[feeds]
limit = 50

[[channels]]
type = "mastodon"
name = "mastodon-en"
languages = ["en"]
base_url = "https://mastodon.example"
access_token = { env = "CRIER_MASTODON_TOKEN" }

[[channels]]
type = "mastodon"
name = "mastodon-fr"
languages = ["fr"]
base_url = "https://mastodon.example"
access_token = { file = "mastodon-fr.token" }
daily_cap = 3
min_spacing = "10m"
"#;

    /// One mistake made in [`FULL`] and the whole message it gets.
    struct Mistake {
        /// What `FULL` says (its first occurrence is replaced).
        written: &'static str,
        /// What the mistake says instead.
        instead: &'static str,
        /// The message after "invalid config file /etc/crier/crier.toml: ".
        message: &'static str,
    }

    /// Checks that each mistake, made alone in [`FULL`], gets exactly its message.
    fn assert_messages(mistakes: &[Mistake]) {
        parse(FULL).expect("FULL is a valid config");
        for Mistake {
            written,
            instead,
            message,
        } in mistakes
        {
            assert!(FULL.contains(written), "{written:?} is not in FULL");
            let err = parse(&FULL.replacen(written, instead, 1))
                .expect_err(instead)
                .to_string();
            assert_eq!(
                err,
                format!("invalid config file /etc/crier/crier.toml: {message}")
            );
        }
    }

    #[test]
    fn each_mistake_names_its_key_and_line() {
        assert_messages(&[
            Mistake {
                written: "limit = 50",
                instead: "limmit = 3",
                message: "line 20, column 1: `feeds.limmit`: unknown field `limmit`, expected one of `output_dir`, `public_url`, `formats`, `limit`, `per_language`, `categories`, `max_content_bytes`, `max_file_bytes`, `websub`, `stylesheet`, `archive`, `archive_size`; did you mean `limit`?",
            },
            Mistake {
                written: "limit = 50",
                instead: "stylesheet = \"feed.xsl\"",
                message: "line 20, column 14: `feeds.stylesheet`: \"feed.xsl\" is neither an https:// URL nor a path from `/`; write true (crier's own stylesheet), false (none) or the address of the site's stylesheet, on the host that serves the feeds (browsers apply no stylesheet from another one)",
            },
            Mistake {
                written: "limit = 50",
                instead: "limit = \"50\"",
                message: "line 20, column 9: `feeds.limit`: invalid type: string \"50\", expected usize",
            },
            Mistake {
                written: "timezone = \"Europe/Paris\"",
                instead: "timezone = \"Europe/Pari\"",
                message: "line 5, column 12: `site.timezone`: \"Europe/Pari\" is not an IANA time zone name such as \"Europe/Paris\" or \"UTC\"; did you mean \"Europe/Paris\"?",
            },
            Mistake {
                written: "min_spacing = \"10m\"",
                instead: "min_spacing = \"soon\"",
                message: "line 36, column 15: `channels[1].min_spacing`: \"soon\" is not a duration such as \"30s\", \"10m\" or \"14d\" (expected number at 0)",
            },
            Mistake {
                written: "languages = [\"fr\"]",
                instead: "languages = [\"de\"]",
                message: "line 32, column 1: `channels[1].languages`: \"de\" is not listed in site.languages",
            },
            Mistake {
                written: "daily_cap = 3",
                instead: "dailly_cap = 3",
                message: "line 35, column 1: `channels[1].dailly_cap`: unknown field `dailly_cap`, expected one of `type`, `name`, `enabled`, `languages`, `categories`, `template`, `templates`, `daily_cap`, `min_spacing`, `max_attempts`, `base_url`, `access_token`, `visibility`, `max_characters`, `image`; did you mean `daily_cap`?",
            },
            Mistake {
                written: "type = \"mastodon\"",
                instead: "type = \"mastodom\"",
                message: "line 23, column 8: `channels[0].type`: unknown channel type `mastodom`, expected one of `mastodon`, `bluesky`, `x`, `facebook`; did you mean `mastodon`?",
            },
            Mistake {
                written: "max_pages = 5",
                instead: "max_pages = 0",
                message: "line 17, column 1: `sources[1].http.max_pages`: must be at least 1",
            },
            Mistake {
                written: "permalink = \"/{lang}/{path}/\"",
                instead: "permalink = \"/x/\"",
                message: "line 10, column 1: `sources[0].permalink`: \"/x/\" must contain {slug} or {path} so that entries get distinct URLs",
            },
            Mistake {
                written: "name = \"mastodon-fr\"",
                instead: "name = \"mastodon-en\"",
                message: "line 31, column 1: `channels[1].name`: \"mastodon-en\" is used by two channels; give each a distinct name",
            },
        ]);
    }

    #[test]
    fn mistakes_inside_typed_tables_keep_their_key_and_line() {
        assert_messages(&[
            Mistake {
                written: "max_pages = 5",
                instead: "max_pages = \"x\"",
                message: "line 17, column 13: `sources[1].http.max_pages`: invalid type: string \"x\", expected usize",
            },
            Mistake {
                written: "max_pages = 5",
                instead: "maxpages = 5",
                message: "line 17, column 1: `sources[1].http.maxpages`: unknown field `maxpages`, expected one of `timeout`, `retries`, `retry_delay`, `max_size`, `max_pages`, `max_redirects`, `user_agent`, `full_read_every`, `max_read_time`; did you mean `max_pages`?",
            },
            Mistake {
                written: "type = \"directory\"",
                instead: "type = \"dirctory\"",
                message: "line 8, column 8: `sources[0].type`: unknown source type `dirctory`, expected one of `directory`, `json`, `feed`, `html`; did you mean `directory`?",
            },
            Mistake {
                written: "type = \"feed\"",
                instead: "tipe = \"feed\"",
                message: "line 12, column 1: `sources[1].type`: missing field `type`; use one of `directory`, `json`, `feed`, `html`",
            },
            Mistake {
                written: "url = \"https://partner.example/feed.xml\"",
                instead: "",
                message: "line 12, column 1: `sources[1]`: missing field `url`",
            },
            Mistake {
                written: "daily_cap = 3",
                instead: "daily_cap = \"3\"",
                message: "line 35, column 13: `channels[1].daily_cap`: invalid type: string \"3\", expected u32",
            },
            Mistake {
                written: "[[channels]]",
                instead: "[[chanels]]",
                message: "line 22, column 3: `chanels`: unknown field `chanels`, expected one of `site`, `sources`, `feeds`, `store`, `announce`, `channels`, `daemon`; did you mean `channels`?",
            },
            Mistake {
                written: "[feeds]",
                instead: "[feeds",
                message: "line 19, column 7: unclosed table, expected `]`",
            },
        ]);
        // A secret written inline is refused where it is, and never repeated.
        let inline = FULL.replace("{ file = \"mastodon-fr.token\" }", "\"tok-123\"");
        let err = parse(&inline).unwrap_err().to_string();
        assert!(err.contains("line 34, column 16: `channels[1].access_token`: secrets are not written in the config file"), "{err}");
        assert!(!err.contains("tok-123"), "{err}");
    }

    #[test]
    fn a_problem_found_after_parsing_has_no_line_without_the_text() {
        let mut c = Config::parse(FULL, Path::new("crier.toml")).unwrap();
        c.feeds.limit = 0;
        let err = c.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid config file crier.toml: `feeds.limit`: must be at least 1"
        );
        // The text gives the line of the key, or of its table when the key is not written.
        assert_eq!(
            position_of(FULL, "channels[1].min_spacing"),
            Some(Position {
                line: 36,
                column: 1
            })
        );
        assert_eq!(
            position_of(FULL, "site.languages[1]"),
            Some(Position {
                line: 4,
                column: 20
            })
        );
        assert_eq!(
            position_of(FULL, "sources[0].exclude"),
            Some(Position { line: 7, column: 1 })
        );
        assert_eq!(position_of(FULL, "store.path"), None);
    }
}

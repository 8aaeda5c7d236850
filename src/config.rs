//! The configuration file: one TOML document whose sections belong to the areas that use
//! them (`[site]` to [`crate::site`], `[[sources]]` to [`crate::sources`], `[feeds]` to
//! [`crate::feeds`], `[[channels]]` and `[announce]` to [`crate::channels`], `[daemon]` to
//! [`crate::schedule`]). This module loads the file, resolves relative paths against its
//! folder, and asks each section to validate itself, adding the section's key path to what it
//! reports.
//!
//! Parsing is strict (`deny_unknown_fields`) so a typo is reported rather than ignored; typed
//! values (URLs, durations, time zones, cron expressions, globs) are parsed once, here.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::channels::{AnnounceConfig, ChannelConfig};
use crate::feeds::FeedsConfig;
use crate::schedule::DaemonConfig;
use crate::site::Site;
use crate::sources::SourceConfig;
use crate::values::Invalid;

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
        let parse_error = |message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        };
        let document = toml::de::Deserializer::parse(text)
            .map_err(|e| parse_error(parse_message(text, &e, None)))?;
        // The path of the value serde refused, so that the message names its key.
        let mut config: Config = serde_path_to_error::deserialize(document).map_err(|e| {
            let key = e.path().to_string();
            parse_error(parse_message(text, e.inner(), Some(&key)))
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
            source.resolve_paths(resolve);
        }
        self.feeds.output_dir = resolve(&self.feeds.output_dir);
        for channel in &mut self.channels {
            channel.resolve_paths(&base);
        }
        self.store.path = resolve(&self.store.path);
        self.base_dir = base;
    }

    /// Asks each section to check itself; the first problem is returned, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check()
            .map_err(|Invalid { key, message }| ConfigError::Invalid {
                path: self.file.clone(),
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

/// The parser's message with its line and column, without toml's echo of the offending
/// source line: that line may hold a secret someone pasted where a reference belongs.
fn parse_message(text: &str, error: &toml::de::Error, key: Option<&str>) -> String {
    let message = error.message().trim_end();
    let message = match key.filter(|k| !k.is_empty() && *k != ".") {
        Some(key) => format!("`{key}`: {message}"),
        None => message.to_owned(),
    };
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
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
}

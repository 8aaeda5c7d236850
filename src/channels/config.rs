//! The `[[channels]]` tables (settings every channel has, then its network's own) and the
//! `[announce]` table of rules all channels share, with the checks serde cannot make.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::DeTable;

use super::{bluesky, facebook, mastodon, x};
use crate::site::Site;
use crate::values::{Invalid, Refused, read_table};

/// Settings every channel has, whatever its network.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CommonConfig {
    /// Unique name, used in logs, `crier status` and `crier retry --channel`.
    pub name: String,
    /// Post on this channel; `false` keeps the config but queues nothing.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Only entries in these languages (all when empty).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Only entries with one of these categories (all when empty).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Message template (minijinja); the network's default when absent.
    pub template: Option<String>,
    /// Message template per language, overriding `template`.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// At most this many posts in 24 hours on this channel.
    pub daily_cap: Option<u32>,
    /// At least this long between two posts on this channel (e.g. `"10m"`).
    #[serde(default, with = "crate::values::duration::option")]
    pub min_spacing: Option<Duration>,
    /// Attempts before a delivery is given up (default: `announce.max_attempts`).
    pub max_attempts: Option<u32>,
}

fn default_true() -> bool {
    true
}

/// Keys of [`CommonConfig`]; the rest of a `[[channels]]` table belongs to its network.
const COMMON_KEYS: [&str; 9] = [
    "name",
    "enabled",
    "languages",
    "categories",
    "template",
    "templates",
    "daily_cap",
    "min_spacing",
    "max_attempts",
];

/// Network-specific settings.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkConfig {
    /// A Mastodon account.
    Mastodon(mastodon::MastodonConfig),
    /// A Bluesky account.
    Bluesky(bluesky::BlueskyConfig),
    /// An X account.
    X(x::XConfig),
    /// A Facebook Page.
    Facebook(facebook::FacebookConfig),
}

/// One `[[channels]]` table: common settings plus the network's own.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    /// Settings every channel has.
    pub common: CommonConfig,
    /// The network and its settings.
    pub network: NetworkConfig,
}

impl ChannelConfig {
    /// Network name as written in `type`.
    pub fn network_name(&self) -> &'static str {
        match self.network {
            NetworkConfig::Mastodon(_) => "mastodon",
            NetworkConfig::Bluesky(_) => "bluesky",
            NetworkConfig::X(_) => "x",
            NetworkConfig::Facebook(_) => "facebook",
        }
    }

    /// How this channel shows an entry's image (its `image` key).
    pub fn image_mode(&self) -> super::ImageMode {
        match &self.network {
            NetworkConfig::Mastodon(c) => c.image,
            NetworkConfig::Bluesky(c) => c.image,
            NetworkConfig::X(c) => c.image,
            NetworkConfig::Facebook(c) => c.image,
        }
    }

    /// The account this channel posts as, as its config names it: the Bluesky handle, the
    /// Facebook Page id, the Mastodon instance's host (the token names the account, not the
    /// config); an X channel's config names none.
    pub fn account(&self) -> Option<String> {
        match &self.network {
            NetworkConfig::Mastodon(c) => Some(c.base_url.host().to_owned()),
            NetworkConfig::Bluesky(c) => Some(c.handle.clone()),
            NetworkConfig::X(_) => None,
            NetworkConfig::Facebook(c) => Some(c.page_id.clone()),
        }
    }

    /// Whether this channel announces an entry in `language` with `categories`: it is
    /// enabled, and its language and category filters (empty = all; categories compared
    /// without regard to case) match.
    pub fn wants(&self, language: &str, categories: &[String]) -> bool {
        let common = &self.common;
        let language_ok =
            common.languages.is_empty() || common.languages.iter().any(|l| l == language);
        let category_ok = common.categories.is_empty()
            || common.categories.iter().any(|want| {
                categories
                    .iter()
                    .any(|c| c.to_lowercase() == want.to_lowercase())
            });
        common.enabled && language_ok && category_ok
    }

    /// The message template for an entry in `language`: the channel's template for that
    /// language, else its `template`, else the network's default.
    pub fn template_for(&self, language: &str) -> &str {
        self.common
            .templates
            .get(language)
            .or(self.common.template.as_ref())
            .map_or_else(|| super::default_template(&self.network), String::as_str)
    }

    /// Minimum spacing between two posts.
    pub fn min_spacing(&self) -> Option<Duration> {
        self.common.min_spacing
    }

    /// Checks what serde cannot; keys are relative to the channel's table.
    pub fn validate(&self, site: &Site) -> Result<(), Invalid> {
        let common = &self.common;
        crate::values::check_name(&common.name)?;
        let languages = common.languages.iter().map(|l| (l, "languages".to_owned()));
        let templates = common
            .templates
            .keys()
            .map(|l| (l, format!("templates.{l}")));
        for (lang, key) in languages.chain(templates) {
            if !site.has_language(lang) {
                return Err(Invalid::new(
                    key,
                    format!("{lang:?} is not listed in site.languages"),
                ));
            }
        }
        for template in common.template.iter().chain(common.templates.values()) {
            super::template::check(template).map_err(|e| Invalid::new("template", e))?;
        }
        if common.max_attempts == Some(0) {
            return Err(Invalid::new("max_attempts", "must be at least 1"));
        }
        if common.daily_cap == Some(0) {
            // A cap of zero would hold every post back for ever, without an error.
            return Err(Invalid::new(
                "daily_cap",
                "must be at least 1 (remove the key for no daily cap)",
            ));
        }
        let network = match &self.network {
            NetworkConfig::Mastodon(c) => c.validate(),
            NetworkConfig::Bluesky(c) => c.validate(),
            NetworkConfig::X(c) => c.validate(),
            NetworkConfig::Facebook(c) => c.validate(),
        };
        network.map_err(|(key, message)| Invalid::new(key, message))
    }

    /// The channel's secret references, by config key.
    pub fn secrets_mut(&mut self) -> Vec<(&'static str, &mut crate::secrets::SecretRef)> {
        match &mut self.network {
            NetworkConfig::Mastodon(c) => c.secrets_mut(),
            NetworkConfig::Bluesky(c) => c.secrets_mut(),
            NetworkConfig::X(c) => c.secrets_mut(),
            NetworkConfig::Facebook(c) => c.secrets_mut(),
        }
    }

    /// Makes relative secret file paths absolute against the config folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        for (_, secret) in self.secrets_mut() {
            secret.resolve_path(base);
        }
    }

    /// Secrets that cannot be read now; the values themselves are never returned.
    pub fn unreadable_secrets(&self) -> Vec<UnreadableSecret> {
        let mut copy = self.clone();
        copy.secrets_mut()
            .into_iter()
            .filter_map(|(key, secret)| {
                let error = secret.load().err()?;
                // A missing variable or credential says what to do; a file error only what
                // the system said.
                let todo = match error {
                    crate::secrets::SecretError::File { .. } => format!(
                        "; write the secret into that file, readable by crier only (chmod 600), or point `{key}` at the file that holds it"
                    ),
                    _ => String::new(),
                };
                Some(UnreadableSecret {
                    key,
                    reason: format!("{error}{todo}"),
                })
            })
            .collect()
    }

    /// The network's base URL (validated with the config).
    pub fn base_url(&self) -> &str {
        match &self.network {
            NetworkConfig::Mastodon(c) => &c.base_url,
            NetworkConfig::Bluesky(c) => &c.base_url,
            NetworkConfig::X(c) => &c.base_url,
            NetworkConfig::Facebook(c) => &c.base_url,
        }
    }
}

/// A channel's secret that cannot be read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableSecret {
    /// Config key of the secret, relative to the channel's table (`oauth1.access_token`).
    pub key: &'static str,
    /// Why it cannot be read, and what to do.
    pub reason: String,
}

/// Reads the rest of a `[[channels]]` table, common keys removed, once its `type` is known.
type Reader = fn(Spanned<DeTable<'_>>) -> Result<NetworkConfig, Refused>;

/// The values of `type`, each with the reader of its network's keys (the names
/// `network_name` returns).
const NETWORKS: [(&str, Reader); 4] = [
    ("mastodon", |t| read_network(t).map(NetworkConfig::Mastodon)),
    ("bluesky", |t| read_network(t).map(NetworkConfig::Bluesky)),
    ("x", |t| read_network(t).map(NetworkConfig::X)),
    ("facebook", |t| read_network(t).map(NetworkConfig::Facebook)),
];

impl ChannelConfig {
    /// Reads one `[[channels]]` table of the parsed config document; a mistake names its key
    /// (relative to the table) and its place.
    // Split by hand, `type` first, then the common keys, the rest to the network: serde's
    // flatten and tagged enums would buffer the table and lose the line and key of a mistake.
    pub fn from_table(mut table: Spanned<DeTable<'_>>) -> Result<ChannelConfig, Refused> {
        let read_rest = crate::values::take_tag(&mut table, "type", "channel type", &NETWORKS)?;
        let span = table.span();
        let mut rest = table.into_inner();
        let mut common = DeTable::new();
        for key in COMMON_KEYS {
            if let Some((key, value)) = rest.remove_entry(key) {
                common.insert(key, value);
            }
        }
        let common = read_table(Spanned::new(span.clone(), common))?;
        let network = read_rest(Spanned::new(span, rest))?;
        Ok(ChannelConfig { common, network })
    }
}

/// Reads a network's keys; a key that is neither the network's nor a common one is refused
/// with the full list of a channel table's keys, so that "did you mean" finds both kinds.
fn read_network<T: serde::de::DeserializeOwned>(rest: Spanned<DeTable<'_>>) -> Result<T, Refused> {
    let own = crate::values::struct_fields::<T>();
    let unknown = rest
        .get_ref()
        .keys()
        .find(|k| !own.contains(&k.get_ref().as_ref()));
    if let Some(key) = unknown {
        let names: Vec<&str> = ["type"]
            .iter()
            .chain(&COMMON_KEYS)
            .chain(own)
            .copied()
            .collect();
        return Err(Refused {
            key: key.get_ref().to_string(),
            message: crate::values::unknown_name("field", key.get_ref(), &names),
            span: Some(key.span()),
        });
    }
    read_table(rest)
}

/// A channel serialises as its `[[channels]]` table: `type`, the common keys, the network's.
impl Serialize for ChannelConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Table<'a, N> {
            #[serde(rename = "type")]
            kind: &'static str,
            #[serde(flatten)]
            common: &'a CommonConfig,
            #[serde(flatten)]
            network: &'a N,
        }
        let (kind, common) = (self.network_name(), &self.common);
        match &self.network {
            NetworkConfig::Mastodon(network) => Table {
                kind,
                common,
                network,
            }
            .serialize(serializer),
            NetworkConfig::Bluesky(network) => Table {
                kind,
                common,
                network,
            }
            .serialize(serializer),
            NetworkConfig::X(network) => Table {
                kind,
                common,
                network,
            }
            .serialize(serializer),
            NetworkConfig::Facebook(network) => Table {
                kind,
                common,
                network,
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ChannelConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(deserializer)?;
        crate::values::read_detached(table, ChannelConfig::from_table)
            .map_err(serde::de::Error::custom)
    }
}

/// Flood guards and retry rules shared by all channels (`[announce]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnnounceConfig {
    /// Entries published longer ago than this are never announced (e.g. `"14d"`).
    #[serde(default = "default_max_age", with = "crate::values::duration")]
    pub max_age: Duration,
    /// At most this many posts are sent in one run, all channels together.
    #[serde(default = "default_per_run_cap")]
    pub per_run_cap: usize,
    /// Attempts before a delivery is given up (a channel may set its own).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Longest wait for one request to a network (e.g. `"30s"`).
    #[serde(default = "default_request_timeout", with = "crate::values::duration")]
    pub request_timeout: Duration,
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
    /// Checks what serde cannot; keys are relative to `[announce]`.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.max_attempts == 0 {
            return Err(Invalid::new("max_attempts", "must be at least 1"));
        }
        Ok(())
    }
}

fn default_max_age() -> Duration {
    Duration::from_secs(14 * 86_400)
}
fn default_per_run_cap() -> usize {
    10
}
fn default_max_attempts() -> u32 {
    8
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The validation error of a Mastodon channel table with `extra` keys.
    fn channel_error(extra: &str) -> Option<String> {
        table_error(&format!(
            r#"
type = "mastodon"
name = "m"
base_url = "https://m.example"
access_token = {{ env = "UNUSED" }}
{extra}
"#
        ))
    }

    /// The validation error of a channel table.
    fn table_error(text: &str) -> Option<String> {
        let site: Site =
            toml::from_str("title = \"T\"\nbase_url = \"https://example.org\"").expect("site");
        let table = DeTable::parse(text).expect("TOML");
        let channel = ChannelConfig::from_table(table).expect("a channel table");
        channel.validate(&site).err().map(|e| e.to_string())
    }

    #[test]
    fn a_daily_cap_of_zero_is_refused_with_what_to_do_instead() {
        assert_eq!(channel_error("daily_cap = 1"), None);
        assert_eq!(channel_error(""), None);
        let error = channel_error("daily_cap = 0").expect("daily_cap = 0 is refused");
        assert!(error.contains("daily_cap"), "{error}");
        assert!(error.contains("remove the key"), "{error}");
        assert!(error.contains("at least 1"), "{error}");
    }

    #[test]
    fn each_network_takes_the_image_modes_it_can_show() {
        assert_eq!(channel_error("image = \"attach\""), None);
        assert_eq!(channel_error("image = \"none\""), None);
        let error = channel_error("image = \"card\"").expect("Mastodon makes its own card");
        assert!(
            error.contains("image") && error.contains("\"attach\""),
            "{error}"
        );
        let x = |mode: &str| {
            table_error(&format!(
                "type = \"x\"\nname = \"x\"\nimage = \"{mode}\"\n\
                 [oauth2]\nclient_id = \"c\"\nrefresh_token = {{ env = \"UNUSED\" }}\n"
            ))
        };
        assert_eq!(x("none"), None);
        assert!(x("card").is_some_and(|e| e.contains("link card")));
        let bluesky = |mode: &str| {
            table_error(&format!(
                "type = \"bluesky\"\nname = \"b\"\nhandle = \"a.example\"\n\
                 app_password = {{ env = \"UNUSED\" }}\nimage = \"{mode}\"\n"
            ))
        };
        for mode in ["card", "attach", "none"] {
            assert_eq!(bluesky(mode), None, "{mode}");
        }
        let facebook = |mode: &str| {
            table_error(&format!(
                "type = \"facebook\"\nname = \"f\"\npage_id = \"1\"\n\
                 page_token = {{ env = \"UNUSED\" }}\nimage = \"{mode}\"\n"
            ))
        };
        assert_eq!(facebook("attach"), None);
        assert!(facebook("none").is_some_and(|e| e.contains("\"card\" or \"attach\"")));
        let unknown = DeTable::parse("type = \"bluesky\"\nname = \"b\"\nhandle = \"a\"\napp_password = { env = \"U\" }\nimage = \"big\"\n")
            .expect("TOML");
        let refused = ChannelConfig::from_table(unknown).expect_err("an unknown mode");
        assert!(refused.to_string().contains("image"), "{refused}");
    }
}

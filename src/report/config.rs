//! `crier config`: the effective config, as TOML that loads back to the same config. It is
//! the file as read and validated, with every default filled in and relative paths resolved
//! against the config's folder; typed values (durations, time zones, URLs, the schedule) are
//! written the way the file accepts them. A secret is written as its reference with a comment
//! saying where it is read from (`# <from env CRIER_…>`): the value itself is never read here.

use std::io::Write;

use serde::Serialize;
use toml_edit::{DocumentMut, InlineTable, Item, Table, TableLike, Value};

use crate::config::Config;
use crate::secrets::SecretRef;
use crate::sources::SourceConfig;

/// The effective config could not be written as TOML.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the effective config of {file} as TOML: {reason}")]
pub struct EffectiveError {
    /// The config file.
    pub file: String,
    /// What the TOML writer said.
    pub reason: String,
}

/// Writes the effective config of `config` to `out`, under a comment naming its file.
pub fn write(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    let text = render(config)?;
    writeln!(
        out,
        "# The effective config of {}: every default filled in, relative paths resolved;\n\
         # secrets are shown by where they are read from, never by their value.\n",
        config.file.display()
    )?;
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// The effective config as TOML.
pub fn render(config: &Config) -> Result<String, EffectiveError> {
    let refused = |reason: String| EffectiveError {
        file: config.file.display().to_string(),
        reason,
    };
    let text = toml::to_string(config).map_err(|e| refused(e.to_string()))?;
    let mut document: DocumentMut = text.parse().map_err(|e| refused(format!("{e}")))?;
    if let Some(tables) = document
        .get_mut("sources")
        .and_then(Item::as_array_of_tables_mut)
    {
        for (table, source) in tables.iter_mut().zip(&config.sources) {
            fill_directory_defaults(table, source).map_err(refused)?;
        }
    }
    if let Some(tables) = document
        .get_mut("channels")
        .and_then(Item::as_array_of_tables_mut)
    {
        for table in tables.iter_mut() {
            mark_secrets(table);
        }
    }
    hide_empty_tables(document.as_table_mut());
    Ok(document.to_string())
}

/// Leaves out the headers of empty tables (`[site.language]`, a channel's `templates`): an
/// absent table reads as the same empty default.
fn hide_empty_tables(table: &mut Table) {
    for (_, item) in table.iter_mut() {
        match item {
            Item::Table(inner) => {
                hide_empty_tables(inner);
                if inner.is_empty() {
                    inner.set_implicit(true);
                }
            }
            Item::ArrayOfTables(tables) => tables.iter_mut().for_each(hide_empty_tables),
            _ => {}
        }
    }
}

/// Adds the directory keys that serialise only when set (so that a source's fingerprint does
/// not change when crier learns a new key), with their values, defaults included.
fn fill_directory_defaults(table: &mut Table, source: &SourceConfig) -> Result<(), String> {
    let SourceConfig::Directory(d) = source else {
        return Ok(());
    };
    fill(table, "undated", &d.undated)?;
    fill(table, "generator", &d.generator)?;
    fill(table, "remove_path_accents", &d.remove_path_accents)?;
    fill(table, "disable_path_to_lower", &d.disable_path_to_lower)
}

/// Sets `key` to `value` in `table` unless it is there.
fn fill<T: Serialize>(table: &mut Table, key: &str, value: &T) -> Result<(), String> {
    if table.contains_key(key) {
        return Ok(());
    }
    let value = toml::Value::try_from(value).map_err(|e| format!("`{key}`: {e}"))?;
    let value: Value = value
        .to_string()
        .parse()
        .map_err(|e| format!("`{key}`: {e}"))?;
    table.insert(key, Item::Value(value));
    Ok(())
}

/// Writes each secret reference in `table` (at any depth) inline, followed by a comment
/// saying where it is read from.
fn mark_secrets(table: &mut dyn TableLike) {
    for (mut name, item) in table.iter_mut() {
        let secret = item.as_table_like().and_then(secret_of);
        match secret {
            Some((key, value, secret)) => {
                // A key written as a table header's last part has no spaces around it.
                name.fmt();
                let mut inline = InlineTable::new();
                inline.insert(&key, Value::from(value));
                let mut value = Value::InlineTable(inline);
                value
                    .decor_mut()
                    .set_suffix(format!(" # {}", secret.source()));
                *item = Item::Value(value);
            }
            None => {
                if let Some(inner) = item.as_table_like_mut() {
                    mark_secrets(inner);
                }
            }
        }
    }
}

/// The secret reference a table holds: exactly one of `env`, `file` or `credential`, a string.
fn secret_of(table: &dyn TableLike) -> Option<(String, String, SecretRef)> {
    if table.len() != 1 {
        return None;
    }
    let (key, item) = table.iter().next()?;
    let value = item.as_str()?.to_owned();
    let secret = match key {
        "env" => SecretRef::Env(value.clone()),
        "file" => SecretRef::File(value.clone().into()),
        "credential" => SecretRef::Credential(value.clone()),
        _ => return None,
    };
    Some((key.to_owned(), value, secret))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The effective config of `text` (at `path`), loaded back from its own output, gives the
    /// same effective config.
    fn round_trip(text: &str, path: &Path) -> String {
        let config = Config::from_text(text, path).unwrap_or_else(|e| panic!("{e}"));
        let effective = render(&config).expect("the config renders");
        let again = Config::from_text(&effective, path)
            .unwrap_or_else(|e| panic!("the effective config does not load: {e}\n{effective}"));
        assert_eq!(render(&again).expect("renders again"), effective);
        effective
    }

    #[test]
    fn the_example_config_loads_back_the_same() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
        let text = std::fs::read_to_string(&path).expect("config/example.toml");
        let effective = round_trip(&text, &path);
        // Defaults the example leaves out are written.
        assert!(effective.contains("limit = "), "{effective}");
        assert!(effective.contains("per_run_cap = "), "{effective}");
        assert!(effective.contains("undated = "), "{effective}");
    }

    #[test]
    fn every_source_type_the_daemon_and_websub_load_back_the_same() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let text = r#"
[site]
title = "Villes"
base_url = "https://villes.example.org/"
languages = ["fr", "en"]
timezone = "Europe/Paris"

[[sources]]
type = "directory"
path = "content"
exclude = ["drafts/**"]
permalinks = { news = "/{lang}/news/{slug}/" }

[[sources]]
type = "json"
name = "wp"
preset = "wordpress"
url = "https://villes.example.org/wp-json/wp/v2/posts"

[[sources]]
type = "feed"
name = "upstream"
url = "https://partner.example.org/feed.xml"
[sources.http]
retries = 0
retry_delay = "10ms"

[[sources]]
type = "html"
name = "prix"
url = "https://villes.example.org/fr/prix/"
[sources.listing]
links = ".laureats h2 a"
next = "a[rel=next]"
[sources.selectors]
published = ".date"
[sources.selectors.extra]
city = ".ville"

[feeds]
formats = ["atom"]
limit = 20

[feeds.websub]
hubs = ["https://hub.example.org/"]

[daemon]
schedule = "0 */2 * * *"
timezone = "Europe/Brussels"
jitter = "30s"

[daemon.health]
listen = "127.0.0.1:9464"
max_age = "2h"
"#;
        let effective = round_trip(text, &dir.path().join("crier.toml"));
        for line in [
            "schedule = \"0 */2 * * *\"",
            "timezone = \"Europe/Brussels\"",
            "listen = \"127.0.0.1:9464\"",
            "retry_delay = \"10ms\"",
        ] {
            assert!(effective.contains(line), "{line} not in\n{effective}");
        }
    }

    #[test]
    fn secrets_show_their_source_and_never_a_value() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("crier.toml");
        let text = r#"
[site]
title = "T"
base_url = "https://example.org"

[[sources]]
type = "directory"
path = "content"

[[channels]]
type = "mastodon"
name = "m"
base_url = "https://mastodon.example"
access_token = { env = "CRIER_TEST_MASTODON_TOKEN" }

[[channels]]
type = "bluesky"
name = "b"
handle = "a.bsky.social"
app_password = { file = "secrets/bsky" }

[[channels]]
type = "x"
name = "x"
oauth2 = { client_id = "abc", refresh_token = { credential = "x-refresh" } }

[[channels]]
type = "facebook"
name = "f"
page_id = "123"
page_token = { env = "CRIER_TEST_FB" }
app_secret = { credential = "fb-app" }
"#;
        let effective = round_trip(text, &path);
        let bsky = dir.path().join("secrets/bsky");
        for line in [
            "access_token = { env = \"CRIER_TEST_MASTODON_TOKEN\" } # <from env CRIER_TEST_MASTODON_TOKEN>".to_owned(),
            format!(
                "app_password = {{ file = \"{}\" }} # <from file {}>",
                bsky.display(),
                bsky.display()
            ),
            "refresh_token = { credential = \"x-refresh\" } # <from credential x-refresh>".to_owned(),
            "app_secret = { credential = \"fb-app\" } # <from credential fb-app>".to_owned(),
        ] {
            assert!(effective.contains(&line), "{line}\nnot in\n{effective}");
        }
        // The client id is no secret: it stays a plain value.
        assert!(effective.contains("client_id = \"abc\""), "{effective}");
    }
}

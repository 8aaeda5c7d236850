//! Fixtures shared by the unit tests of several modules.

use chrono::DateTime;

use crate::entry::{Entry, Person};
use crate::feeds::FeedMeta;

/// A minimal English entry published at `published` (RFC 3339); override fields with
/// `Entry { title: …, ..entry(id, published) }`.
pub(crate) fn entry(id: &str, published: &str) -> Entry {
    Entry {
        id: id.to_owned(),
        guid: format!("tag:example.org,2024:{id}"),
        url: format!("https://example.org/{id}/"),
        title: format!("Title {id}"),
        summary: String::new(),
        content: "<p>Body</p>".to_owned(),
        published: DateTime::parse_from_rfc3339(published).expect("fixture date"),
        updated: None,
        language: "en".to_owned(),
        categories: Vec::new(),
        image: None,
        author: None,
        place: None,
        translation_key: id.to_owned(),
        extra: Default::default(),
        announce: Default::default(),
    }
}

/// The store's light rows of `entries`, as if they were all live.
pub(crate) fn live_entries(entries: &[Entry]) -> Vec<crate::store::LiveEntry> {
    entries
        .iter()
        .map(|e| crate::store::LiveEntry {
            id: e.id.clone(),
            language: e.language.clone(),
            categories: e.categories.clone(),
            published_ts: e.published.timestamp(),
            content_hash: e.content_hash(),
            translation_key: e.translation_key.clone(),
            url: e.url.clone(),
            title: e.title.clone(),
        })
        .collect()
}

/// Feed metadata for `https://example.org/`, authored by "Site Team".
pub(crate) fn feed_meta(language: Option<&str>) -> FeedMeta {
    FeedMeta {
        title: "Site".to_owned(),
        description: String::new(),
        home_url: "https://example.org/".to_owned(),
        folder_url: "https://example.org/feeds/".to_owned(),
        language: language.map(str::to_owned),
        author: Person {
            name: "Site Team".to_owned(),
            email: None,
            uri: None,
        },
        hubs: Vec::new(),
        stylesheet: None,
        archive: None,
    }
}

/// The `[site]` table `title = "Site"`, `base_url = "https://example.org/"`, with `extra`
/// TOML lines added (a later `title` replaces the first).
pub(crate) fn site(extra: &str) -> crate::site::Site {
    let mut table: toml::Table =
        toml::from_str("title = \"Site\"\nbase_url = \"https://example.org/\"").expect("static");
    let extra: toml::Table = toml::from_str(extra).expect("test site table parses");
    table.extend(extra);
    let site: crate::site::Site = table.try_into().expect("test site table is a site");
    site.validate().expect("test site is valid");
    site
}

/// A valid config for `https://example.org/` with one directory source; `site_extra` is
/// TOML added to `[site]` (e.g. `languages = ["en", "fr"]`).
pub(crate) fn config_with(site_extra: &str) -> crate::config::Config {
    let text = format!(
        "[site]\ntitle = \"Site\"\nbase_url = \"https://example.org/\"\n{site_extra}\n\n\
         [[sources]]\ntype = \"directory\"\npath = \"content\"\n"
    );
    let config = crate::config::Config::parse(&text, std::path::Path::new("test.toml"))
        .expect("test config parses");
    config.validate().expect("test config is valid");
    config
}

/// The `[site]` and `[[sources]]` tables of a config document, without the rest of the
/// config, for the sources' own tests.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SourcesDocument {
    /// `[site]`.
    pub site: crate::site::Site,
    /// `[[sources]]`.
    pub sources: Vec<crate::sources::SourceConfig>,
}

impl SourcesDocument {
    /// Parses `text`; the error is the parser's message.
    pub(crate) fn parse(text: &str) -> Result<SourcesDocument, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Validates the site and every source the way the config does, keys included.
    pub(crate) fn validate(&self) -> Result<(), crate::values::Invalid> {
        self.site.validate().map_err(|e| e.under("site"))?;
        for (i, source) in self.sources.iter().enumerate() {
            source
                .validate(&self.site)
                .map_err(|e| e.under(&format!("sources[{i}]")))?;
        }
        Ok(())
    }
}

/// The config loader's message for `text`, which must be refused; the sources' tests use it
/// to check how a mistake inside their tables is reported (key path and line).
pub(crate) fn refused_config(text: &str) -> String {
    match crate::config::Config::parse(text, std::path::Path::new("test.toml")) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected the config to be refused:\n{text}"),
    }
}

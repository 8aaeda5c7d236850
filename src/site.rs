//! The website the entries belong to (`[site]`): its title, base URL, languages, time zone and
//! author, read once with the config. Sources, feeds and channels take a `&Site` beside their
//! own section instead of the whole config.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::entry::Person;
use crate::values::{HttpUrl, Invalid};

/// The website: identity, languages, defaults for entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Site name, used as the feed title.
    pub title: String,
    /// One-line description, used as the feed description.
    #[serde(default)]
    pub description: String,
    /// Absolute URL of the site's home page; entry permalinks are built on it.
    pub base_url: HttpUrl,
    /// Languages published, BCP 47 tags; the first is the default for entries that name none.
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// IANA time zone for dates written without an offset (`2024-03-12` or `2024-03-12 09:00`).
    #[serde(default = "default_timezone", with = "crate::values::timezone")]
    pub timezone: chrono_tz::Tz,
    /// Default author of entries, required by Atom.
    pub author: Option<AuthorConfig>,
    /// Per-language title, description and home page, keyed by language tag.
    #[serde(default)]
    pub language: BTreeMap<String, LanguageConfig>,
    /// Names of the configured `[[channels]]` (not a `[site]` key: the config fills it in
    /// when it is read), which an entry's own announcement control may name.
    #[serde(skip)]
    pub channels: Vec<String>,
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
    pub home: Option<HttpUrl>,
}

fn default_languages() -> Vec<String> {
    vec!["en".to_owned()]
}

fn default_timezone() -> chrono_tz::Tz {
    chrono_tz::UTC
}

impl Site {
    /// Checks what serde cannot; keys are relative to `[site]`.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.title.trim().is_empty() {
            return Err(Invalid::new("title", "must not be empty"));
        }
        if self.languages.is_empty() {
            return Err(Invalid::new(
                "languages",
                "list at least one language, e.g. [\"en\"]",
            ));
        }
        for (i, lang) in self.languages.iter().enumerate() {
            if !is_language_tag(lang) {
                return Err(Invalid::new(
                    format!("languages[{i}]"),
                    format!("{lang:?} is not a BCP 47 language tag such as \"en\" or \"pt-BR\""),
                ));
            }
        }
        for lang in self.language.keys() {
            if !self.languages.contains(lang) {
                return Err(Invalid::new(
                    format!("language.{lang}"),
                    format!("{lang:?} is not listed in site.languages"),
                ));
            }
        }
        if let Some(author) = &self.author
            && author.name.trim().is_empty()
        {
            return Err(Invalid::new("author.name", "must not be empty"));
        }
        Ok(())
    }

    /// The default language: the first of `languages`.
    pub fn default_language(&self) -> &str {
        self.languages.first().map(String::as_str).unwrap_or("en")
    }

    /// Whether `tag` is one of `languages`, spelled exactly.
    pub fn has_language(&self, tag: &str) -> bool {
        self.languages.iter().any(|l| l == tag)
    }

    /// The configured spelling of `tag` when it is one of `languages` (BCP 47 tags are
    /// case-insensitive, so `pt-br` finds `pt-BR`).
    pub fn find_language(&self, tag: &str) -> Option<&str> {
        self.languages
            .iter()
            .find(|l| l.eq_ignore_ascii_case(tag))
            .map(String::as_str)
    }

    /// The configured spelling of a language a remote source gave (`fr`, `fr-FR`, `fr_FR`;
    /// `French` is not accepted): the exact tag if listed, else its primary subtag.
    pub fn match_language(&self, tag: &str) -> Option<&str> {
        let tag = tag.trim().replace('_', "-");
        self.find_language(&tag)
            .or_else(|| self.find_language(tag.split('-').next().unwrap_or_default()))
    }

    /// The site's host name (for `tag:` URIs).
    pub fn host(&self) -> &str {
        self.base_url.host()
    }

    /// The site author, or the site itself when none is configured (Atom requires one).
    pub fn author(&self) -> Person {
        match &self.author {
            Some(a) => Person {
                name: a.name.clone(),
                email: a.email.clone(),
                uri: a.uri.clone(),
            },
            None => Person {
                name: self.title.clone(),
                email: None,
                uri: Some(self.base_url.to_string()),
            },
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn site(extra: &str) -> Site {
        toml::from_str(&format!(
            "title = \"Network\"\nbase_url = \"https://example.org\"\n{extra}"
        ))
        .expect("site parses")
    }

    #[test]
    fn defaults_and_derived_values() {
        let s = site("");
        assert_eq!(s.default_language(), "en");
        assert_eq!(s.timezone, chrono_tz::UTC);
        assert_eq!(s.host(), "example.org");
        assert_eq!(s.author().name, "Network");
        assert_eq!(s.author().uri.as_deref(), Some("https://example.org"));
        assert!(s.validate().is_ok());
    }

    #[test]
    fn languages_are_found_loosely() {
        let s = site("languages = [\"en\", \"fr\", \"pt-BR\"]");
        assert_eq!(s.find_language("PT-br"), Some("pt-BR"));
        assert_eq!(s.match_language("fr_FR"), Some("fr"));
        assert_eq!(s.match_language(" pt_br "), Some("pt-BR"));
        assert_eq!(s.match_language("French"), None);
        assert!(s.has_language("fr") && !s.has_language("FR"));
    }

    #[test]
    fn mistakes_name_their_key() {
        let e = site("languages = [\"en\", \"French\"]")
            .validate()
            .unwrap_err();
        assert_eq!(e.key, "languages[1]");
        let e = site("languages = [\"en\"]\n[language.fr]\ntitle = \"x\"")
            .validate()
            .unwrap_err();
        assert_eq!(e.key, "language.fr");
        let e = toml::from_str::<Site>("title = \"T\"\nbase_url = \"example.org\"").unwrap_err();
        assert!(e.to_string().contains("not an absolute URL"), "{e}");
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

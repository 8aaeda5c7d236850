//! What every remote source (`json`, `feed`, `html`) shares once it has pulled fields out of
//! a response: the settings common to their config tables, and [`SourceSite::finish`], which turns
//! the raw fields of one entry into an [`Entry`] exactly as the directory source would (ids
//! namespaced by source, tag-URI guids, languages matched against `site.languages`, source
//! categories added, a plain-text summary, absolute URLs).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, FixedOffset};
use serde_json::Value;
use url::Url;

use super::directory::markdown::{SUMMARY_MAX_CHARS, shorten};
use super::http::{Fetcher, HttpSettings};
use super::{Document, Outcome};
use crate::entry::{Entry, Image, Person, Place};
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

impl Common<'_> {
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

/// Everything [`SourceSite::finish`] needs: the site's settings and the source's own.
#[derive(Debug, Clone)]
pub struct SourceSite {
    /// Source name.
    pub name: String,
    /// The source's first URL.
    pub url: Url,
    /// `site.base_url`.
    pub base_url: Url,
    /// The site, for its languages.
    site: Site,
    /// Language of entries that do not say theirs.
    pub language: String,
    /// Time zone of offset-less dates.
    pub timezone: chrono_tz::Tz,
    /// Categories added to every entry.
    pub categories: Vec<String>,
}

impl SourceSite {
    /// Resolves `common` against the site settings.
    pub fn new(site: &Site, common: &Common<'_>) -> SourceSite {
        let language = common
            .language
            .and_then(|l| site.find_language(l))
            .unwrap_or(site.default_language())
            .to_owned();
        SourceSite {
            name: common.name.to_owned(),
            url: common.url.url().clone(),
            base_url: site.base_url.url().clone(),
            site: site.clone(),
            language,
            timezone: common.timezone.unwrap_or(site.timezone),
            categories: common.categories.to_vec(),
        }
    }

    /// A fetcher with the source's HTTP settings.
    pub fn fetcher(&self, http: &HttpSettings) -> Result<Fetcher, String> {
        Fetcher::new(http, self.base_url.as_str())
    }

    /// The configured spelling of a language the source gave (see [`Site::match_language`]).
    pub fn match_language(&self, tag: &str) -> Option<&str> {
        self.site.match_language(tag)
    }

    /// Builds the entry from `draft`. `page` is the URL the fields came from, against which
    /// relative links are resolved. The error says which field is wrong and what to do.
    pub fn finish(&self, draft: Draft, page: &Url) -> Result<Entry, String> {
        let title = draft.title.as_deref().map(plain_text).unwrap_or_default();
        if title.is_empty() {
            return Err("no title: the title field is missing or empty".into());
        }
        let url = match draft
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(u) => match page.join(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => url,
                _ => return Err(format!("link {u:?} is not a usable http(s) URL")),
            },
            None => return Err("no link: the url field is missing or empty".into()),
        };
        let published = draft
            .published
            .ok_or_else(|| "no publication date: the date field is missing or empty".to_owned())?;
        let language = match draft.language.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            Some(tag) => self.match_language(tag).map(str::to_owned).ok_or_else(|| {
                format!(
                    "language {tag:?} is not in site.languages; add it there, or leave entries in that language out"
                )
            })?,
            None => self.language.clone(),
        };
        let key = draft.key.trim();
        if key.is_empty() {
            return Err("no id: the id field is missing or empty".into());
        }
        let id = format!("{}:{key}", self.name);
        let guid = match draft.guid.as_deref().map(str::trim) {
            Some(g) if is_absolute_uri(g) => g.to_owned(),
            _ => super::directory::tag_uri(
                self.base_url.host_str().unwrap_or("localhost"),
                published.year(),
                &id,
            ),
        };
        let content = draft.content.unwrap_or_default();
        let summary = match draft.summary.as_deref().map(plain_text) {
            Some(s) if !s.is_empty() => shorten(&s, SUMMARY_MAX_CHARS),
            _ => shorten(&plain_text(&content), SUMMARY_MAX_CHARS),
        };
        let mut categories: Vec<String> = draft
            .categories
            .iter()
            .map(|c| plain_text(c))
            .chain(self.categories.iter().cloned())
            .collect();
        let mut seen = HashSet::new();
        categories.retain(|c| !c.is_empty() && seen.insert(c.to_lowercase()));
        // Relative references are relative to where they were found, not to the entry's link
        // (a headless CMS serves images from its own host).
        let image = draft.image.and_then(|mut image| {
            image.url = page.join(image.url.trim()).ok()?.into();
            image.alt = plain_text(&image.alt);
            Some(image)
        });
        let author = draft.author.and_then(|mut person| {
            person.name = plain_text(&person.name);
            person.uri = person
                .uri
                .and_then(|u| page.join(u.trim()).ok())
                .map(String::from);
            (!person.name.is_empty()).then_some(person)
        });
        let place = draft.place.or_else(|| Place::from_extra(&draft.extra));
        let translation_key = draft
            .translation_key
            .filter(|k| !k.trim().is_empty())
            .unwrap_or_else(|| id.clone());
        Ok(Entry {
            id,
            guid,
            url: url.into(),
            title,
            summary,
            content,
            published,
            updated: draft.updated.filter(|u| *u > published),
            language,
            categories,
            image,
            author,
            place,
            translation_key,
            extra: draft.extra,
        })
    }
}

/// The fields a remote source found for one entry, before checks and defaults.
#[derive(Debug, Default, Clone)]
pub struct Draft {
    /// The entry's id within the source (WordPress post id, feed item id, canonical URL).
    pub key: String,
    /// An upstream globally unique id; kept as the feed guid when it is an absolute URI.
    pub guid: Option<String>,
    /// Link to the entry's page, absolute or relative to the page it was found on.
    pub url: Option<String>,
    /// Title (HTML allowed: tags are dropped, entities decoded).
    pub title: Option<String>,
    /// Summary (HTML allowed); an excerpt of the content when absent.
    pub summary: Option<String>,
    /// Body as HTML.
    pub content: Option<String>,
    /// Publication time.
    pub published: Option<DateTime<FixedOffset>>,
    /// Last update.
    pub updated: Option<DateTime<FixedOffset>>,
    /// Language tag as the source wrote it (`fr`, `fr_FR`).
    pub language: Option<String>,
    /// Categories and tags.
    pub categories: Vec<String>,
    /// Lead image (URL may be relative).
    pub image: Option<Image>,
    /// Author.
    pub author: Option<Person>,
    /// Place; taken from `extra.city` / `extra.country` when absent.
    pub place: Option<Place>,
    /// Key shared by translations; the entry's own id when absent.
    pub translation_key: Option<String>,
    /// Free fields for templates.
    pub extra: BTreeMap<String, Value>,
}

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

/// Text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed.
pub fn plain_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return collapse(html);
    }
    let fragment = scraper::Html::parse_fragment(html);
    let text: String = fragment.root_element().text().collect();
    collapse(&text)
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A URI fit to be a feed guid: an http(s) URL with a host, or a `tag:` or `urn:` URI.
fn is_absolute_uri(text: &str) -> bool {
    !text.contains(char::is_whitespace)
        && Url::parse(text).is_ok_and(|u| match u.scheme() {
            "http" | "https" => u.host_str().is_some(),
            "tag" | "urn" => true,
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::config_with;

    fn site() -> SourceSite {
        let config = config_with("languages = [\"en\", \"fr\", \"pt-BR\"]");
        let http = HttpSettings::default();
        let categories = vec!["Dosta".to_owned()];
        let url = HttpUrl::parse("https://cms.example.org/api").unwrap();
        SourceSite::new(
            &config.site,
            &Common {
                name: "wp",
                url: &url,
                language: Some("fr"),
                categories: &categories,
                timezone: None,
                http: &http,
            },
        )
    }

    fn draft() -> Draft {
        Draft {
            key: "42".into(),
            url: Some("/projets/gand/".into()),
            title: Some("Gand &#8211; <em>école</em>".into()),
            content: Some("<p>Un   projet <b>pour</b> les enfants.</p>".into()),
            published: DateTime::parse_from_rfc3339("2024-03-12T10:00:00+01:00").ok(),
            categories: vec!["Éducation".into(), "dosta".into()],
            image: Some(Image {
                url: "img/gand.jpg".into(),
                alt: "Des enfants".into(),
            }),
            ..Draft::default()
        }
    }

    #[test]
    fn a_draft_becomes_an_entry_like_a_directory_entry() {
        let page = Url::parse("https://cms.example.org/api?page=1").unwrap();
        let entry = site().finish(draft(), &page).unwrap();
        assert_eq!(entry.id, "wp:42");
        assert_eq!(entry.guid, "tag:example.org,2024:wp:42");
        assert_eq!(entry.url, "https://cms.example.org/projets/gand/");
        assert_eq!(entry.title, "Gand – école");
        assert_eq!(entry.summary, "Un projet pour les enfants.");
        assert_eq!(entry.language, "fr");
        assert_eq!(entry.categories, ["Éducation", "dosta"]);
        assert_eq!(
            entry.image.unwrap().url,
            "https://cms.example.org/img/gand.jpg"
        );
        assert_eq!(entry.translation_key, "wp:42");
    }

    #[test]
    fn languages_match_loosely_and_unknown_ones_are_named() {
        let s = site();
        assert_eq!(s.match_language("fr_FR"), Some("fr"));
        assert_eq!(s.match_language("PT-br"), Some("pt-BR"));
        assert_eq!(s.match_language("de"), None);
        let page = Url::parse("https://cms.example.org/").unwrap();
        let mut d = draft();
        d.language = Some("de_DE".into());
        let err = s.finish(d, &page).unwrap_err();
        assert!(
            err.contains("\"de_DE\"") && err.contains("site.languages"),
            "{err}"
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let page = Url::parse("https://cms.example.org/").unwrap();
        let s = site();
        type Spoil = fn(&mut Draft);
        let cases: [(Spoil, &str); 4] = [
            (|d| d.title = Some(" <b></b> ".into()), "title"),
            (|d| d.url = None, "link"),
            (|d| d.published = None, "date"),
            (|d| d.key = String::new(), "id"),
        ];
        for (spoil, word) in cases {
            let mut d = draft();
            spoil(&mut d);
            let err = s.finish(d, &page).unwrap_err();
            assert!(err.contains(word), "{word}: {err}");
        }
    }

    #[test]
    fn upstream_guids_are_kept_when_they_are_uris() {
        let page = Url::parse("https://cms.example.org/").unwrap();
        let mut d = draft();
        d.guid = Some("https://cms.example.org/?p=42".into());
        assert_eq!(
            site().finish(d, &page).unwrap().guid,
            "https://cms.example.org/?p=42"
        );
        let mut d = draft();
        d.guid = Some("42".into());
        assert_eq!(
            site().finish(d, &page).unwrap().guid,
            "tag:example.org,2024:wp:42"
        );
    }

    #[test]
    fn summaries_are_cut_at_a_word() {
        let long = "mot ".repeat(200);
        let s = shorten(long.trim(), 20);
        assert_eq!(s, "mot mot mot mot mot…");
    }
}

//! Json source: a JSON API read over HTTP (a WordPress site's REST API, a headless CMS), one
//! entry per item of the answer's list, following the API's pagination.
//!
//! `[sources.fields]` maps entry fields to paths in an item (JSON Pointer or a dotted form,
//! see `path`); `preset = "wordpress"` supplies every path and the pagination of the
//! WordPress REST API (see `wordpress`), and any field given in `[sources.fields]` overrides
//! the preset's. Each item is one [`Document`] keyed by its id, fingerprinted by its JSON
//! bytes, so an item that did not change is not mapped again. The walk from page to page
//! (conditional first page, 304s, loops, `http.max_pages`) is the [`Pager`]'s; this file
//! says where the next page is and what a page's items give.
//!
//! How the API is read and its items mapped:
//! - **Conditional GET covers the first page only.** Its validators are sent when the store
//!   holds entries of the source; a 304 there means "nothing changed" and costs one request.
//!   Any other answer reads every page (without validators: a 304 on page 3 would leave
//!   nothing to map). So an edit that changes page 5 but not page 1's validators is missed
//!   until page 1 changes or the cycle's periodic full read (`http.full_read_every`, which
//!   passes an empty cache) comes round. WordPress itself sends no `ETag` on list endpoints;
//!   cache plugins that add one change it whenever any listed post changes, since the answer
//!   embeds them.
//!   The source keeps the API's order (WordPress: newest first) rather than adding
//!   `orderby=modified`, which custom post types do not always allow.
//! - **A listing is read completely or not at all.** Any page failing, malformed JSON, or
//!   more pages than `http.max_pages` fails the whole source (the cycle keeps its stored
//!   entries): a truncated list would withdraw the entries it lost.
//! - **The end of the list** is an empty page, a page without a next link (`link`, `next`),
//!   a next URL already read, WordPress's `X-WP-TotalPages`, a page shorter than `per_page`,
//!   or (kind `page` only, past the first page) a 400 answer, which WordPress gives for a page
//!   number past the last. A page identical to the one before means the server ignores the
//!   page parameter: that is an error rather than a loop.
//! - **Default pagination is `link`**: a page without a `Link: <…>; rel="next"` header is the
//!   last, so a one-page API needs no setting and a paginated one is not silently cut.
//! - **Values**: numbers are accepted wherever text is (ids, a numeric rank); a date may be
//!   text (`date_formats` first, then the built-in spellings, offset-less ones in the
//!   source's timezone) or a Unix timestamp (seconds, or milliseconds from 10^11 up). A path
//!   that reaches an object where text is needed fails the item, naming a member to point
//!   at. Category paths take every text they reach, and the `name` of objects.
//! - **Items** are reported by their index in the page's list (from 0, like the paths). An
//!   item without an id fails under a key made from its fingerprint (`#…`), and the second of
//!   two items with the same id fails under `{id}#{fingerprint}`, so document keys stay
//!   unique and stable.

mod mapping;
mod path;
mod query;
mod wordpress;

use std::collections::{BTreeMap, HashMap};

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use self::mapping::{Mapped, Mapping};
pub use self::path::Path;
use super::dates::DateFormat;
use super::finish::{Finisher, Origin};
use super::http::{FetchError, HttpSettings, Page};
use super::pager::{Paged, Pager, Pages};
use super::remote;
use super::{Document, EntryError, Outcome, Read, ReadInput, Source, SourceError};
use crate::site::Site;
use crate::values::HttpUrl;

/// A JSON API (a WordPress site's REST API, a headless CMS).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSourceConfig {
    /// Short name, unique among sources; entry ids are `{name}:{id in the source}`.
    pub name: String,
    /// The first URL to fetch.
    pub url: HttpUrl,
    /// Language of entries that do not say theirs; default: the first of `site.languages`.
    pub language: Option<String>,
    /// Categories added to every entry of this source.
    #[serde(default)]
    pub categories: Vec<String>,
    /// IANA timezone of dates written without an offset; default `site.timezone`.
    #[serde(default, with = "crate::values::timezone::option")]
    pub timezone: Option<chrono_tz::Tz>,
    /// HTTP behaviour: timeouts, retries, limits.
    #[serde(default)]
    pub http: HttpSettings,
    /// Ready-made fields and pagination for a known API: `"wordpress"`.
    pub preset: Option<Preset>,
    /// Date formats (chrono `strftime`) tried before the built-in ones.
    #[serde(default)]
    pub date_formats: Vec<DateFormat>,
    /// How to reach the next page; default: follow `Link: <…>; rel="next"` headers.
    pub pagination: Option<PaginationConfig>,
    /// Paths of the entry fields in an item; the preset's when absent.
    #[serde(default)]
    pub fields: FieldsConfig,
}

/// A known API whose field paths and pagination crier supplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The WordPress REST API (`/wp-json/wp/v2/posts` or a custom post type).
    Wordpress,
}

/// `[sources.pagination]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaginationConfig {
    /// `none`, `page` (a page-number parameter), `next` (a URL in the body) or `link` (the
    /// `Link` header); default `link`.
    #[serde(default)]
    pub kind: PaginationKind,
    /// Page-number parameter for kind `page`; default `page`.
    #[serde(default = "default_param")]
    pub param: String,
    /// First page number for kind `page`; default 1.
    #[serde(default = "default_start")]
    pub start: u64,
    /// Page-size parameter set on the first URL (every kind), e.g. `per_page`.
    pub per_page_param: Option<String>,
    /// Page size; for kind `page` a shorter page is the last.
    pub per_page: Option<u32>,
    /// Path to the next page's URL in the body, for kind `next`.
    pub next: Option<Path>,
}

/// How a paginated API leads to its next page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaginationKind {
    /// One page only.
    None,
    /// `?page=1`, `?page=2`, …
    Page,
    /// A URL in the body.
    Next,
    /// `Link: <…>; rel="next"` (RFC 8288).
    #[default]
    Link,
}

fn default_param() -> String {
    "page".into()
}
fn default_start() -> u64 {
    1
}

impl Default for PaginationConfig {
    fn default() -> Self {
        PaginationConfig {
            kind: PaginationKind::default(),
            param: default_param(),
            start: default_start(),
            per_page_param: None,
            per_page: None,
            next: None,
        }
    }
}

/// `[sources.fields]`: a path (JSON Pointer or dotted) per entry field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsConfig {
    /// Path to the array of items; absent or empty: the answer itself is the array.
    #[serde(default, deserialize_with = "path_or_empty")]
    pub items: Option<Path>,
    /// Unique, stable id of an item (text or number). Required without a preset.
    pub id: Option<Path>,
    /// Title (HTML allowed). Required without a preset.
    pub title: Option<Path>,
    /// Link to the entry's page. Required without a preset.
    pub url: Option<Path>,
    /// Body as HTML.
    pub content: Option<Path>,
    /// Summary (HTML allowed); an excerpt of the content when absent.
    pub summary: Option<Path>,
    /// Publication date (text or Unix timestamp). Required without a preset.
    pub published: Option<Path>,
    /// Last update date.
    pub updated: Option<Path>,
    /// Language tag (`fr`, `fr_FR`).
    pub language: Option<Path>,
    /// Paths of categories and tags; every value each path reaches is taken.
    pub categories: Option<Vec<Path>>,
    /// Lead image: a URL, or an object with `source_url`/`url`/`src` and `alt_text`/`alt`.
    pub image: Option<Path>,
    /// Alternative text of the image.
    pub image_alt: Option<Path>,
    /// Author: a name, or an object with `name`, `link`/`url` and `email`.
    pub author: Option<Path>,
    /// Key shared by translations: text, or ids of the translations (Polylang, WPML).
    pub translation_key: Option<Path>,
    /// Upstream globally unique id, kept when it is an absolute URI.
    pub guid: Option<Path>,
    /// Free template fields by name (`city` and `country` also become the entry's place).
    #[serde(default)]
    pub extra: BTreeMap<String, Path>,
    /// The entry's control of its announcements: an object with the keys of front matter's
    /// `[extra.crier]` (`announce`, `channels`, `skip`, `text`, `hashtags`, `announce_at`).
    pub crier: Option<Path>,
}

/// `items = ""` means the answer itself, as no `items` does.
fn path_or_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Path>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => Path::parse(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

remote::impl_common!(JsonSourceConfig);

impl JsonSourceConfig {
    /// Checks the values serde accepted; the error names the key relative to the source.
    pub fn validate(&self, site: &Site) -> Result<(), (String, String)> {
        self.common().validate(site)?;
        if let Some(p) = &self.pagination {
            p.validate()?;
        }
        Mapping::build(&self.fields, self.preset).check_required()
    }

    /// The pagination in force: the table, else `link`, which is also what WordPress needs.
    fn paging(&self) -> PaginationConfig {
        self.pagination.clone().unwrap_or_default()
    }
}

impl PaginationConfig {
    fn validate(&self) -> Result<(), (String, String)> {
        let err = |key: &str, m: &str| Err((format!("pagination.{key}"), m.to_owned()));
        if self.param.trim().is_empty() {
            return err(
                "param",
                "must not be empty; WordPress and most APIs use \"page\"",
            );
        }
        if self.per_page == Some(0) {
            return err("per_page", "must be at least 1");
        }
        if self.per_page_param.is_some() && self.per_page.is_none() {
            return err(
                "per_page",
                "missing: `per_page_param` needs a page size, for example per_page = 100",
            );
        }
        match (self.kind, &self.next) {
            (PaginationKind::Next, None) => err(
                "next",
                "missing: kind \"next\" needs the path of the next page's URL in the body, for example next = \"/links/next\"",
            ),
            (_, Some(_)) if self.kind != PaginationKind::Next => err(
                "next",
                "is only used with kind = \"next\"; remove it or set kind = \"next\"",
            ),
            _ => Ok(()),
        }
    }
}

/// Reads entries from a JSON API.
pub struct JsonSource {
    finisher: Finisher,
    http: HttpSettings,
    date_formats: Vec<DateFormat>,
    paging: PaginationConfig,
    /// The first URL with the preset's and the pagination's parameters.
    first_url: Url,
    /// The field paths: the configured ones over the preset's.
    mapping: Mapping,
}

impl JsonSource {
    /// Prepares a reader for one configured source.
    pub fn new(site: &Site, source: &JsonSourceConfig) -> Self {
        let finisher = Finisher::new(site, &source.common().defaults());
        let paging = source.paging();
        let mut first_url = source.url.url().clone();
        if source.preset == Some(Preset::Wordpress) {
            first_url = wordpress::first_url(&first_url);
        }
        if let (Some(param), Some(size)) = (&paging.per_page_param, paging.per_page) {
            first_url = query::set(&first_url, param, Some(&size.to_string()));
        }
        if paging.kind == PaginationKind::Page {
            first_url = query::set(&first_url, &paging.param, Some(&paging.start.to_string()));
        }
        JsonSource {
            finisher,
            http: source.http.clone(),
            date_formats: source.date_formats.clone(),
            paging,
            first_url,
            mapping: Mapping::build(&source.fields, source.preset),
        }
    }

    fn error(&self, message: impl Into<String>) -> SourceError {
        SourceError::Remote {
            source_name: self.finisher.name().to_owned(),
            message: message.into(),
        }
    }

    /// The items of one answer.
    fn items<'v>(&self, value: &'v Value, url: &Url) -> Result<Vec<&'v Value>, String> {
        let Some(items) = &self.mapping.items else {
            return match value {
                Value::Array(list) => Ok(list.iter().collect()),
                Value::Object(members) => {
                    let lists: Vec<&str> = members
                        .iter()
                        .filter(|(_, v)| v.is_array())
                        .map(|(k, _)| k.as_str())
                        .collect();
                    let hint = match lists.first() {
                        Some(first) => format!(
                            " (its members holding lists: {}); for example items = \"/{first}\"",
                            lists.join(", ")
                        ),
                        None => String::new(),
                    };
                    Err(format!(
                        "{url}: the answer is a JSON object, not a list; set `fields.items` to the path of the list of items{hint}"
                    ))
                }
                other => Err(format!(
                    "{url}: the answer is {other}, not a list of items; check `url`"
                )),
            };
        };
        let found = items.path.resolve(value);
        if found.is_empty() {
            return Err(format!(
                "{url}: {} ({:?}) found nothing in the answer; check the path",
                items.origin,
                items.path.as_str()
            ));
        }
        let mut list = Vec::new();
        for v in found {
            match v {
                Value::Array(elements) => list.extend(elements),
                Value::Null => {}
                other => list.push(other),
            }
        }
        Ok(list)
    }

    /// One item as a document.
    fn document(
        &self,
        item: &Value,
        page: &Url,
        index: usize,
        known: &HashMap<String, String>,
        ids: &mut HashMap<String, String>,
    ) -> Document {
        // A Value always serialises; an empty fingerprint input would only mean "changed".
        let fingerprint = remote::fingerprint(&serde_json::to_vec(item).unwrap_or_default());
        let failed = |key: String, location: String, message: String| Document {
            key,
            fingerprint: fingerprint.clone(),
            outcome: Outcome::Failed(EntryError { location, message }),
        };
        let key = match self.mapping.id(item) {
            Ok(key) => key,
            Err(message) => {
                return failed(
                    format!("#{fingerprint}"),
                    format!("{page} item {index}"),
                    message,
                );
            }
        };
        let location = format!("{page} item {index} (id {key})");
        if let Some(first) = ids.get(&key) {
            let message = format!(
                "the id {key:?} is also the id of {first}; ids must be unique, so check `fields.id`"
            );
            return failed(format!("{key}#{fingerprint}"), location, message);
        }
        ids.insert(key.clone(), location.clone());
        if known.get(&key) == Some(&fingerprint) {
            return Document {
                key,
                fingerprint,
                outcome: Outcome::Unchanged,
            };
        }
        let outcome = match self
            .mapping
            .map(item, &key, &self.finisher, &self.date_formats)
        {
            Ok(Mapped::Skipped(reason)) => Outcome::Skipped(reason),
            Ok(Mapped::Draft(draft)) => match self.finisher.finish(*draft, Origin::Fetched(page)) {
                Ok(entry) => Outcome::Parsed(Box::new(entry)),
                Err(message) => Outcome::Failed(EntryError {
                    location: location.clone(),
                    message,
                }),
            },
            Err(message) => Outcome::Failed(EntryError {
                location: location.clone(),
                message,
            }),
        };
        Document {
            key,
            fingerprint,
            outcome,
        }
    }

    /// Whether `page`, number `number` with `count` items, says it is the last: WordPress's
    /// `X-WP-TotalPages`, or (kind `page`) fewer items than `per_page`.
    fn is_last(&self, page: &Page, number: usize, count: usize) -> bool {
        if let Some(total) = page
            .header(wordpress::TOTAL_PAGES_HEADER)
            .and_then(|t| t.trim().parse::<u64>().ok())
        {
            let number = query::get(&page.url, &self.paging.param)
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(number as u64);
            if number >= total {
                return true;
            }
        }
        self.paging.kind == PaginationKind::Page
            && self.paging.per_page.is_some_and(|n| count < n as usize)
    }

    /// The URL after `url`, or `None` at the end of the list.
    fn next_url(
        &self,
        url: &Url,
        page_url: &Url,
        value: &Value,
        link: Option<Url>,
    ) -> Result<Option<Url>, String> {
        Ok(match self.paging.kind {
            PaginationKind::None => None,
            PaginationKind::Link => link,
            PaginationKind::Page => {
                let current = query::get(url, &self.paging.param)
                    .and_then(|p| p.parse::<u64>().ok())
                    .unwrap_or(self.paging.start);
                Some(query::set(
                    url,
                    &self.paging.param,
                    Some(&(current + 1).to_string()),
                ))
            }
            PaginationKind::Next => {
                let Some(path) = &self.paging.next else {
                    return Ok(None);
                };
                match path.first(value) {
                    None => None,
                    Some(Value::String(s)) if s.trim().is_empty() => None,
                    Some(Value::String(s)) => Some(page_url.join(s.trim()).map_err(|e| {
                        format!(
                            "{page_url}: `pagination.next` ({path}) gives {s:?}, which is not a URL ({e})"
                        )
                    })?),
                    Some(other) => {
                        return Err(format!(
                            "{page_url}: `pagination.next` ({path}) gives {other}, not a URL; check the path"
                        ));
                    }
                }
            }
        })
    }
}

/// The pages of one read of the API, and the documents of their items so far.
struct JsonPages<'a> {
    source: &'a JsonSource,
    known: &'a HashMap<String, String>,
    documents: Vec<Document>,
    /// Ids met so far, with where, so that a repeated id fails.
    ids: HashMap<String, String>,
    /// The page before, to catch a server that ignores the page parameter.
    previous: Option<PageSeen>,
}

/// A page already read: the fingerprint of its body and the URL it was asked for.
struct PageSeen {
    fingerprint: String,
    url: Url,
}

impl Pages for JsonPages<'_> {
    fn page(&mut self, requested: &Url, number: usize, page: Page) -> Result<Option<Url>, String> {
        let source = self.source;
        let fingerprint = remote::fingerprint(&page.body);
        if let Some(before) = &self.previous
            && before.fingerprint == fingerprint
        {
            return Err(format!(
                "GET {requested} answered exactly as {}: the server seems to ignore the page parameter; check [sources.pagination]",
                before.url
            ));
        }
        let value: Value = serde_json::from_str(&page.text()).map_err(|e| {
            format!(
                "GET {requested}: the answer is not valid JSON ({e}); check that `url` points at the API and not at a web page"
            )
        })?;
        let items = source.items(&value, &page.url)?;
        for (index, item) in items.iter().enumerate() {
            let document = source.document(item, &page.url, index, self.known, &mut self.ids);
            self.documents.push(document);
        }
        if items.is_empty() || source.is_last(&page, number, items.len()) {
            return Ok(None);
        }
        let next = source.next_url(requested, &page.url, &value, page.link_next())?;
        self.previous = Some(PageSeen {
            fingerprint,
            url: requested.clone(),
        });
        Ok(next)
    }

    /// WordPress answers 400 to a page number past the last.
    fn ends_list(&self, error: &FetchError) -> bool {
        self.source.paging.kind == PaginationKind::Page
            && matches!(error, FetchError::Status { status, .. } if *status == StatusCode::BAD_REQUEST)
    }

    fn next_setting(&self) -> &str {
        "[sources.pagination]"
    }
}

impl Source for JsonSource {
    fn name(&self) -> &str {
        self.finisher.name()
    }

    fn read(&self, input: &ReadInput<'_>) -> Result<Read, SourceError> {
        // A config that skipped validation may lack a required path.
        self.mapping
            .check_required()
            .map_err(|(key, m)| self.error(format!("invalid setting {key}: {m}")))?;
        let fetcher =
            remote::fetcher(&self.http, self.finisher.site()).map_err(|m| self.error(m))?;
        let pager = Pager::new(self.finisher.name(), &fetcher, &self.first_url);
        let mut pages = JsonPages {
            source: self,
            known: input.known,
            documents: Vec::new(),
            ids: HashMap::new(),
            previous: None,
        };
        match pager.read(input, &mut pages)? {
            Paged::NotModified => Ok(Pager::unchanged(input)),
            Paged::Read(validators) => Ok(Read {
                documents: pages.documents,
                cache: pager.cache(validators),
                notices: Default::default(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;

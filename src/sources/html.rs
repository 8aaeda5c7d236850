//! Html source: web pages of a site that has no feed or API. A listing page (followed through
//! its "next page" links) leads to entry pages; CSS selectors from the config say where each
//! field sits on an entry page.
//!
//! A read goes:
//! 1. The first listing page, conditionally when the store holds this source's entries: a 304
//!    means nothing changed, and the whole read costs that one request.
//! 2. Otherwise every listing page, following `listing.next` until there is none, it points
//!    back to a page already read, or `http.max_pages` listing pages were read. A listing
//!    longer than that is an error, not a truncated list: missing links would withdraw
//!    their entries. Entry pages do not count toward `max_pages`; the listing bounds them.
//!    Any listing page failing fails the source, for the same reason.
//! 3. Every linked entry page (http and https only, any host, fragments dropped, duplicates
//!    removed in order), four at a time so as not to hammer a small CMS. Pages the store
//!    knows are fetched conditionally; a 304, or a body that hashes to the stored fingerprint,
//!    leaves the stored entry as it is. A page that cannot be fetched or lacks a required
//!    field fails on its own, and the stored entry for it is kept.
//!
//! Steps 1 and 2 follow the [`Pager`]'s rules, which every remote source shares.
//!
//! How pages are keyed, read again and mapped:
//! - Documents are keyed by the link as listed; the entry id is `{source}:{canonical URL}`
//!   (`<link rel="canonical">`, else the page's URL after redirects), or the value of
//!   `selectors.id` when set. The canonical URL is also the entry's link and feed guid.
//! - A 304 on the first listing page reports every stored entry unchanged, so an edit to an
//!   entry page that does not change the listing is picked up only when the listing changes
//!   (a new entry, say), or at the cycle's periodic full read (`http.full_read_every`,
//!   `run --once --full-read`), which passes no validators. That is the price of a
//!   one-request check; changing the source's settings also forces a full read.
//! - A page whose entry fails keeps its previous validators, so the next read fetches it
//!   again and reports the failure again instead of being told "not modified"; and while any
//!   page fails, the listing's validators are not kept, so that a 304 on the listing cannot
//!   stop the next read from reaching that page.
//! - Required fields are the title and the publication date (and `selectors.id` when set);
//!   the others are left empty when their selector finds nothing. A date field that finds
//!   text it cannot read fails the entry, naming the selector and the text, rather than
//!   dropping the date silently. Defaults with a fallback
//!   (`content`: `article`, then `main`) try each selector in turn.
//! - The fingerprint of an entry page hashes its final URL with its body, since the entry's
//!   link falls back to that URL.

mod page;
mod select;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use scraper::Html;
use serde::{Deserialize, Serialize};
use url::Url;

use self::page::{DateRules, Field, Fields};
pub use self::select::Pick;
use super::dates::DateFormat;
use super::finish::{Finisher, Origin};
use super::http::{Fetched, Fetcher, HttpSettings, Page, Validators};
use super::pager::{Paged, Pager, Pages};
use super::remote;
use super::{Cache, Document, EntryError, Outcome, Read, ReadInput, Source, SourceError};
use crate::entry::Entry;
use crate::site::Site;
use crate::values::HttpUrl;

/// Entry pages fetched at the same time: enough to hide latency, few enough to be polite.
const PARALLEL_FETCHES: usize = 4;

const DEFAULT_TITLE: &str = "h1";
const DEFAULT_CONTENT: &[&str] = &["article", "main"];
const DEFAULT_SUMMARY: &[&str] = &[
    r#"meta[name="description"]@content"#,
    r#"meta[property="og:description"]@content"#,
];
const DEFAULT_IMAGE: &str = r#"meta[property="og:image"]@content"#;
const DEFAULT_IMAGE_ALT: &str = r#"meta[property="og:image:alt"]@content"#;
const DEFAULT_LANGUAGE: &str = "html@lang";
const CANONICAL: &str = r#"link[rel="canonical"]@href"#;

/// Web pages: a listing whose links lead to entry pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlSourceConfig {
    /// Short name, unique among sources; entry ids are `{name}:{id in the source}`.
    pub name: String,
    /// The first listing page.
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
    /// Which links of a listing page lead to entries and to the next listing page.
    #[serde(default)]
    pub listing: ListingConfig,
    /// Where each field sits on an entry page.
    #[serde(default)]
    pub selectors: SelectorsConfig,
    /// `strftime` formats of the page's dates, tried before the built-in spellings.
    #[serde(default)]
    pub date_formats: Vec<DateFormat>,
}

/// `[sources.listing]`: selectors of listing pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingConfig {
    /// The links to entry pages (required), e.g. `".news-list h2 a"`; `href` is followed.
    pub links: Option<Pick>,
    /// The link to the next listing page, e.g. `"a[rel=next]"`; none: a single page.
    pub next: Option<Pick>,
}

/// `[sources.selectors]`: where the fields sit on an entry page. Each is a CSS selector,
/// optionally followed by `@attr` to read that attribute instead of the text, compiled when
/// the config is read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorsConfig {
    /// Title; default `h1`.
    pub title: Option<Pick>,
    /// Body, as inner HTML; default `article`, else `main`.
    pub content: Option<Pick>,
    /// Summary; default the description `<meta>` (plain or Open Graph), else an excerpt.
    pub summary: Option<Pick>,
    /// Publication date (required), e.g. `time@datetime` or `.date`.
    pub published: Option<Pick>,
    /// Date of the last update; none by default.
    pub updated: Option<Pick>,
    /// Lead image URL; default `meta[property="og:image"]@content`.
    pub image: Option<Pick>,
    /// Lead image text; default `meta[property="og:image:alt"]@content`.
    pub image_alt: Option<Pick>,
    /// Author name; none by default.
    pub author: Option<Pick>,
    /// Language tag; default `html@lang`.
    pub language: Option<Pick>,
    /// Categories, one per match; none by default.
    pub categories: Option<Pick>,
    /// Entry id within the source; default the canonical link, else the page's URL.
    pub id: Option<Pick>,
    /// Free fields by name (`city` and `country` become the entry's place).
    #[serde(default)]
    pub extra: BTreeMap<String, Pick>,
}

remote::impl_common!(HtmlSourceConfig);

impl HtmlSourceConfig {
    /// Checks what serde cannot (selectors compile as they are read); the error names the
    /// key relative to the source.
    pub fn validate(&self, site: &Site) -> Result<(), (String, String)> {
        self.common().validate(site)?;
        if self.listing.links.is_none() {
            return Err(required("listing.links", ".news a"));
        }
        if self.selectors.published.is_none() {
            return Err(required("selectors.published", "time@datetime"));
        }
        if let Some(name) = self.selectors.extra.keys().find(|n| n.trim().is_empty()) {
            return Err((
                format!("selectors.extra.{name}"),
                "a free field needs a name".into(),
            ));
        }
        Ok(())
    }

    /// The selectors, each with its key and its defaults, and the other settings a read needs.
    fn settings(&self) -> Settings {
        let s = &self.selectors;
        let field = |key: &str, picks: Vec<Pick>| Field {
            key: key.to_owned(),
            picks,
        };
        let with_default = |key: &str, value: &Option<Pick>, defaults: &[&str]| match value {
            Some(pick) => field(key, vec![pick.clone()]),
            None => field(key, defaults.iter().map(|d| builtin(d)).collect()),
        };
        let optional = |key: &str, value: &Option<Pick>| {
            value.as_ref().map(|pick| field(key, vec![pick.clone()]))
        };
        let fields = Fields {
            title: with_default("selectors.title", &s.title, &[DEFAULT_TITLE]),
            content: with_default("selectors.content", &s.content, DEFAULT_CONTENT),
            summary: with_default("selectors.summary", &s.summary, DEFAULT_SUMMARY),
            // Required: empty only in a config that skipped validation (see `read`).
            published: field("selectors.published", s.published.iter().cloned().collect()),
            updated: optional("selectors.updated", &s.updated),
            image: with_default("selectors.image", &s.image, &[DEFAULT_IMAGE]),
            image_alt: with_default("selectors.image_alt", &s.image_alt, &[DEFAULT_IMAGE_ALT]),
            author: optional("selectors.author", &s.author),
            language: with_default("selectors.language", &s.language, &[DEFAULT_LANGUAGE]),
            categories: optional("selectors.categories", &s.categories),
            canonical: builtin(CANONICAL),
            id: optional("selectors.id", &s.id),
            extra: s
                .extra
                .iter()
                .map(|(name, pick)| {
                    let key = format!("selectors.extra.{name}");
                    (name.clone(), field(&key, vec![pick.clone()]))
                })
                .collect(),
        };
        Settings {
            links: self.listing.links.clone(),
            next: self.listing.next.clone(),
            fields,
            date_formats: self.date_formats.clone(),
            http: self.http.clone(),
        }
    }
}

/// A required selector is missing: its key, and an example.
fn required(key: &str, example: &str) -> (String, String) {
    (
        key.to_owned(),
        format!("required: a CSS selector such as {example:?}"),
    )
}

fn builtin(selector: &str) -> Pick {
    Pick::parse(selector).expect("built-in selectors parse")
}

/// Everything a read needs from the source's config.
struct Settings {
    /// Required: `None` only in a config that skipped validation (see `read`).
    links: Option<Pick>,
    next: Option<Pick>,
    fields: Fields,
    date_formats: Vec<DateFormat>,
    http: HttpSettings,
}

/// Reads entries from a site's HTML pages.
pub struct HtmlSource {
    finisher: Finisher,
    /// The listing's first URL.
    url: Url,
    settings: Settings,
}

impl HtmlSource {
    /// Prepares a reader for one configured source.
    pub fn new(site: &Site, source: &HtmlSourceConfig) -> Self {
        HtmlSource {
            finisher: Finisher::new(site, &source.common().defaults()),
            url: source.url.url().clone(),
            settings: source.settings(),
        }
    }

    fn error(&self, message: String) -> SourceError {
        SourceError::Remote {
            source_name: self.finisher.name().to_owned(),
            message,
        }
    }

    /// Fetches and reads one entry page; the validators are what to keep for it.
    fn entry(
        &self,
        fetcher: &Fetcher,
        settings: &Settings,
        link: &Url,
        input: &ReadInput<'_>,
    ) -> (Document, Option<Validators>) {
        let key = link.to_string();
        let known = input.known.get(&key);
        // Validators vouch for the stored entry, so they are only sent when there is one.
        let conditional = known.and(input.cache.get(&key));
        let failed = |message: String| {
            let document = Document {
                key: key.clone(),
                fingerprint: known.cloned().unwrap_or_default(),
                outcome: Outcome::Failed(EntryError {
                    location: key.clone(),
                    message,
                }),
            };
            (document, conditional.cloned())
        };
        let unchanged = |fingerprint: String, validators: Option<Validators>| {
            let document = Document {
                key: key.clone(),
                fingerprint,
                outcome: Outcome::Unchanged,
            };
            (document, validators)
        };
        match fetcher.get(link, conditional) {
            Err(e) => failed(e.to_string()),
            Ok(Fetched::NotModified) => match known {
                Some(fingerprint) if conditional.is_some() => {
                    unchanged(fingerprint.clone(), conditional.cloned())
                }
                _ => failed(
                    "the server answered 304 Not Modified to a request that was not conditional"
                        .into(),
                ),
            },
            Ok(Fetched::Page(page)) => {
                let fingerprint = remote::fingerprint(
                    &[page.url.as_str().as_bytes(), b"\n", &page.body].concat(),
                );
                let validators = Some(page.validators.clone()).filter(|v| !v.is_empty());
                if known == Some(&fingerprint) {
                    return unchanged(fingerprint, validators);
                }
                match self.parse(settings, &page) {
                    Ok(entry) => {
                        let document = Document {
                            key: key.clone(),
                            fingerprint,
                            outcome: Outcome::Parsed(Box::new(entry)),
                        };
                        (document, validators)
                    }
                    Err(message) => failed(message),
                }
            }
        }
    }

    fn parse(&self, settings: &Settings, page: &Page) -> Result<Entry, String> {
        let rules = DateRules {
            timezone: self.finisher.timezone(),
            formats: &settings.date_formats,
        };
        let draft = page::draft(&page::text(page), &page.url, &settings.fields, rules)?;
        self.finisher.finish(draft, Origin::Fetched(&page.url))
    }
}

impl Source for HtmlSource {
    fn name(&self) -> &str {
        self.finisher.name()
    }

    fn read(&self, input: &ReadInput<'_>) -> Result<Read, SourceError> {
        let settings = &self.settings;
        // A config that skipped validation may lack a required selector.
        let missing = |(key, message)| self.error(format!("`{key}`: {message}"));
        let links = settings
            .links
            .as_ref()
            .ok_or_else(|| missing(required("listing.links", ".news a")))?;
        if settings.fields.published.picks.is_empty() {
            return Err(missing(required("selectors.published", "time@datetime")));
        }
        let fetcher =
            remote::fetcher(&settings.http, self.finisher.site()).map_err(|m| self.error(m))?;
        let pager = Pager::new(self.finisher.name(), &fetcher, &self.url);
        let mut listing = Listing {
            source: self.finisher.name(),
            links,
            next: settings.next.as_ref(),
            found: Vec::new(),
            seen: HashSet::new(),
        };
        let validators = match pager.read(input, &mut listing)? {
            Paged::NotModified => return Ok(Pager::unchanged(input)),
            Paged::Read(validators) => validators,
        };
        if listing.found.is_empty() {
            tracing::warn!(
                source = %self.finisher.name(),
                url = %self.url,
                "`listing.links` matched no link on the listing; check the selector with `crier check`"
            );
        }
        let mut cache = Cache::new();
        let results = in_parallel(&listing.found, |link| {
            self.entry(&fetcher, settings, link, input)
        });
        let mut documents = Vec::with_capacity(results.len());
        for (document, validators) in results {
            if let Some(v) = validators {
                cache.insert(document.key.clone(), v);
            }
            documents.push(document);
        }
        // The listing's validators say "everything below is read": not while an entry page
        // failed, or a 304 on the listing would keep that page from being fetched again.
        let all_read = !documents
            .iter()
            .any(|d| matches!(d.outcome, Outcome::Failed(_)));
        if all_read {
            cache.extend(pager.cache(validators));
        }
        Ok(Read {
            documents,
            cache,
            notices: Default::default(),
        })
    }
}

/// The listing pages of one read, and every entry link found so far, in order, without
/// duplicates.
struct Listing<'a> {
    /// The source's name, for logs.
    source: &'a str,
    /// `listing.links` and `listing.next`.
    links: &'a Pick,
    next: Option<&'a Pick>,
    found: Vec<Url>,
    seen: HashSet<Url>,
}

impl Pages for Listing<'_> {
    fn page(
        &mut self,
        _requested: &Url,
        _number: usize,
        page: Page,
    ) -> Result<Option<Url>, String> {
        let html = Html::parse_document(&page::text(&page));
        let base = page::base_url(&html, &page.url);
        let links = page::links(&html, self.links, &base);
        tracing::debug!(source = %self.source, url = %page.url, links = links.len(), "listing page read");
        for link in links {
            if self.seen.insert(link.clone()) {
                self.found.push(link);
            }
        }
        Ok(self
            .next
            .and_then(|n| page::links(&html, n, &base).into_iter().next()))
    }

    fn next_setting(&self) -> &str {
        "that `listing.next` only matches the next-page link"
    }
}

/// `work` applied to every item by [`PARALLEL_FETCHES`] threads; results in item order.
fn in_parallel<T: Send>(items: &[Url], work: impl Fn(&Url) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<T>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PARALLEL_FETCHES.min(items.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, work(item)));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, result) in done {
                slots[i] = Some(result);
            }
        }
    });
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests;

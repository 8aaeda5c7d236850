//! From front matter and body to an [`Entry`]: the field names Hugo and Zola users write, the
//! language, slug, URL, ids, categories, image, author and free `extra` fields are checked
//! here, with the line of the key at fault, and mapped onto a [`Draft`]; the body is rendered,
//! and the [`Finisher`](crate::sources::finish::Finisher) the other sources share turns the
//! draft into the entry.
//!
//! Choices that follow what Hugo or Zola does:
//! - What the sections above the page cascade to it is merged in first (see `sections`).
//! - A draft, and a page the generator does not render (see `render`), is skipped before
//!   anything else is checked, so work in progress and headless snippets may lack a title.
//! - A file that names no language (no `lang` key, no `.{lang}.md` suffix) is in the source's
//!   `language`, as with Hugo's per-language `contentDir`.
//! - Dates: `date` is the publication date; Hugo's `publishDate` (also `publishdate`, `pubdate`,
//!   `published`) stands in when `date` is absent, and when both are given the later one wins,
//!   because Hugo does not publish a page before its `publishDate`. Without either, a date that
//!   starts the file name stands in (Zola: `2024-03-12-slug.md`), then Hugo's `lastmod` (or
//!   `modified`, as Hugo dates such a page), then the date `undated` gives (first
//!   commit or modification time); a page still without a date is left out
//!   ([`Parsed::Undated`]), as both generators leave it out of their date-ordered lists.
//!   `updated`, `lastmod` or `modified` give the update time (else the last commit, with
//!   `undated = "git"`, as Hugo's `enableGitInfo` does).
//! - Hugo's `expiryDate` (`expirydate`, `unpublishdate`): a page whose expiry has passed is not
//!   published ([`Parsed::Expired`]), checked right after `draft` and the render rules.
//! - An `.html` page's body is HTML already and is kept as written; relative links in it are
//!   resolved against the entry's URL when the feeds are written.
//! - `slug` replaces the last segment of `{path}` too, as in Hugo and Zola; the slug and the
//!   folders of `{path}` and `{section}` follow the source's `slugify` mode (see `slugs`).
//!   Zola's `path` key is read as Zola does: a path from the site root (no language prefix),
//!   not slugified, with a trailing `/`.
//! - A top-level leaf bundle (`ghent/index.md`) has an empty `{section}`: its folder is the page.
//! - Categories are de-duplicated ignoring case, keeping the first spelling. Taxonomies other
//!   than categories and tags (`series`, …) go to `extra`.
//! - `image` and `author` fall back to the same keys inside `[extra]` / `[params]`, where Zola
//!   (whose front matter has no such top-level keys) and Hugo themes put them.
//! - Keys that only drive the site build (`weight`, `aliases`, `template`, …, see
//!   [`BUILD_ONLY_KEYS`]) are dropped rather than kept in `extra`, so that reordering pages
//!   does not count as an edit of every entry.
//! - String values in `extra` whose key names a link (`…url`, `…link`, `href`, `src`,
//!   `…image`, …) are made absolute like links in the body.
//! - Zola internal links `@/path/page.md` are resolved with the target's file name, not its
//!   front matter (its `slug`, `url` or date placeholders are not known here).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value};
use url::Url;

use super::filename::{self, FileName, internal_link};
use super::frontmatter::{Format, FrontMatter, KeyLines};
use super::sections::{Cascades, Page};
use super::urls;
use super::{Problem, Settings, dates, images, markdown, render};
use crate::entry::{Announce, Entry, Image, Person};
use crate::sources::control;
use crate::sources::dates::fit_for_feeds;
use crate::sources::finish::{Draft, Markup, Origin, UnknownLanguage, is_absolute_uri};

/// What a file turned out to be.
pub(super) enum Parsed {
    Entry {
        /// The entry.
        entry: Box<Entry>,
        /// Hugo's `expiryDate`, still to come: the entry leaves the feeds then.
        expires: Option<DateTime<FixedOffset>>,
        /// Names of the shortcodes the file used that were not known (removed), once per use.
        unknown_shortcodes: Vec<String>,
    },
    /// `draft = true`: work in progress, not published yet.
    Unpublished,
    /// Its `expiryDate` has passed: no longer published.
    Expired,
    /// No date from the front matter, the file name or `undated`: left out of the feeds.
    Undated,
    /// The generator writes no page for it (or lists it nowhere); the reason.
    NotRendered(String),
}

/// What a page needs besides its own text: the time of the read, and the dates `undated`
/// gives it from outside its front matter.
pub(super) struct PageContext {
    /// The read's time, against which an expiry is checked.
    pub(super) now: DateTime<Utc>,
    /// How the body is written (Markdown or HTML).
    pub(super) format: filename::Format,
    /// The publication date of a page that gives none itself.
    pub(super) published: Option<DateTime<FixedOffset>>,
    /// The update time of a page that gives none itself.
    pub(super) updated: Option<DateTime<FixedOffset>>,
}

/// Hugo and Zola keys that only steer the site build and say nothing a feed could show.
const BUILD_ONLY_KEYS: &[&str] = &[
    "weight",
    "layout",
    "type",
    "template",
    "aliases",
    "outputs",
    "menu",
    "menus",
    "sitemap",
    "build",
    "_build",
    "cascade",
    "render",
    "in_search_index",
    "headless",
    "markup",
];

/// Suffixes of `extra` keys whose string values are links to make absolute.
const LINK_KEY_SUFFIXES: &[&str] = &[
    "url",
    "uri",
    "link",
    "href",
    "src",
    "image",
    "images",
    "thumbnail",
];

/// Builds the entry of the file at `key` (relative path) from its parsed front matter: the
/// front matter keys in the order their errors are reported, then the body, then the finisher.
pub(super) fn build(
    settings: &Settings,
    key: &str,
    front: FrontMatter<'_>,
    context: &PageContext,
    cascades: &Cascades,
) -> Result<Parsed, Problem> {
    let FrontMatter {
        format,
        mut fields,
        lines,
        body,
    } = front;
    let file = FileName::new(settings, key);
    cascade(settings, &file, key, cascades, &mut fields)?;
    let mut f = Fields {
        map: fields,
        lines: &lines,
        format,
    };
    if f.is_draft()? {
        return Ok(Parsed::Unpublished);
    }
    match render::not_rendered(&f.map) {
        Ok(Some(reason)) => return Ok(Parsed::NotRendered(reason)),
        Ok(None) => {}
        Err(bad) => return Err(f.problem(bad.key, bad.message)),
    }
    let expires = f.date(
        settings,
        &["expiryDate", "expirydate", "unpublishDate", "unpublishdate"],
    )?;
    if expires.is_some_and(|e| e <= context.now) {
        return Ok(Parsed::Expired);
    }
    let own = f.published(settings)?;
    // Hugo dates a page by its `lastmod` when it has neither `date` nor `publishDate`
    // (https://gohugo.io/configuration/front-matter/#dates: `date = ['date', 'publishdate',
    // 'pubdate', 'published', 'lastmod', 'modified']`); Zola's `updated` dates nothing.
    let hugo_lastmod = ["lastmod", "lastMod", "modified"]
        .iter()
        .any(|k| f.map.contains_key(*k));
    let own_updated = f.date(settings, &["updated", "lastmod", "lastMod", "modified"])?;
    let lastmod = own_updated.filter(|_| hugo_lastmod);
    let Some(published) = own.or(file.date).or(lastmod).or(context.published) else {
        return Ok(Parsed::Undated);
    };
    let title = f.title()?;
    let language = f.language(settings, &file)?;
    let updated = own_updated.or(context.updated);
    let url = f.url(settings, &file, language, published)?;
    let id = f.id(key)?;
    let guid = f.guid()?;
    let translation_key = f
        .string(&["translation_key", "translationKey", "translationkey"])?
        .filter(|k| !k.trim().is_empty())
        .unwrap_or_else(|| file.translation_key());
    let summary = f.string(&["summary", "description"])?;
    let categories = f.categories()?;
    let (image, image_alt) = f.image()?;
    let author = f.author()?;
    let announce = f.announce(settings)?;
    let mut extra = f.extra()?;

    let internal = |link: &str| internal_link(settings, link);
    let page = markdown::Page {
        base: &url,
        internal: &internal,
        shortcodes: &settings.shortcodes,
    };
    let mut rendered = match context.format {
        filename::Format::Html => markdown::html_body(body),
        _ => markdown::render(body, &page),
    };
    // Text before a `<!--more-->` divider wins over a front-matter summary, as in Hugo
    // (https://gohugo.io/content-management/summaries/: "a manual summary takes precedence
    // over a front matter summary") and in Zola, whose summary is only that text (its
    // `description` is a separate field). A front-matter summary is Markdown, which Hugo
    // renders (`.RawSummary` is the unrendered one), read as text: `**bold**` gives "bold".
    let summary = summary.filter(|_| !rendered.summary_is_manual);
    let summary = summary.map(|markdown| {
        let (text, mut unknown) = markdown::text(&markdown, &page);
        rendered.unknown_shortcodes.append(&mut unknown);
        text
    });
    // Without an image of its own the page's lead image is its body's first; `image_alt`
    // still describes it (it wins over the `<img>`'s `alt`).
    let alt_for_body_image = image_alt.clone().filter(|a| !a.trim().is_empty());
    let image = image_with_fallback(image, image_alt, &extra);
    let alt_for_body_image = alt_for_body_image.filter(|_| image.is_none());
    let author = author_with_fallback(author, &extra);
    for (name, value) in &mut extra {
        absolutize_links(name, value, &url, &internal);
    }
    let draft = Draft {
        key: id,
        guid,
        url: None,
        markup: Markup::Plain,
        title: Some(title),
        summary,
        excerpt: rendered.summary,
        content: Some(rendered.html),
        published: Some(published),
        updated,
        language: Some(language.to_owned()),
        categories,
        image,
        author,
        // Top-level `city` and `country` keys land in `extra`, where the finisher finds them.
        place: None,
        translation_key: Some(translation_key),
        extra,
        announce,
    };
    let origin = Origin::Own {
        url,
        internal: &internal,
    };
    let mut entry = settings
        .finisher
        .finish(draft, origin)
        .map_err(|message| Problem::new(None, message))?;
    if let Some(image) = &mut entry.image {
        if let Some(alt) = alt_for_body_image {
            image.alt = collapse(&alt);
        }
        let site = images::SiteFolders {
            content: &settings.root,
            base_url: &settings.site().base_url,
        };
        image.path = images::local_file(&site, &settings.root.join(key), &entry.url, &image.url);
    }
    Ok(Parsed::Entry {
        entry: Box::new(entry),
        expires,
        unknown_shortcodes: rendered.unknown_shortcodes,
    })
}

/// Merges into `fields` what the sections above the page cascade to it.
fn cascade(
    settings: &Settings,
    file: &FileName<'_>,
    key: &str,
    cascades: &Cascades,
    fields: &mut Map<String, Value>,
) -> Result<(), Problem> {
    let page = Page {
        key,
        path: &file.logical_path(),
        language: file.language.unwrap_or(&settings.language),
    };
    cascades.apply(&page, fields)
}

/// Why the file at `key`, whose front matter could not be read, is not rendered all the same:
/// the sections above it hide it. Hugo reads files without front matter, and the headless
/// snippets a cascade hides often have none.
pub(super) fn hidden_by_sections(
    settings: &Settings,
    key: &str,
    cascades: &Cascades,
) -> Option<String> {
    let file = FileName::new(settings, key);
    let mut fields = Map::new();
    cascade(settings, &file, key, cascades, &mut fields).ok()?;
    render::not_rendered(&fields).ok().flatten()
}

/// The front matter fields not consumed yet, with the lines they were written on.
struct Fields<'a> {
    map: Map<String, Value>,
    lines: &'a KeyLines<'a>,
    /// TOML or YAML, for examples in messages.
    format: Format,
}

impl Fields<'_> {
    /// Removes every alias of one field and returns the first one present (a `null`, as an
    /// empty YAML value, counts as absent).
    fn take(&mut self, names: &[&'static str]) -> Option<(&'static str, Value)> {
        let mut found = None;
        for &name in names {
            if let Some(value) = self.map.remove(name)
                && !value.is_null()
                && found.is_none()
            {
                found = Some((name, value));
            }
        }
        found
    }

    fn problem(&self, key: &str, message: impl Into<String>) -> Problem {
        Problem::new(self.lines.line_of(key), message)
    }

    /// `example` in the file's front matter language.
    fn example(&self, toml: &'static str, yaml: &'static str, json: &'static str) -> &'static str {
        match self.format {
            Format::Toml => toml,
            Format::Yaml => yaml,
            Format::Json => json,
        }
    }

    /// A field that must be text (numbers are accepted as their decimal spelling).
    fn string(&mut self, names: &[&'static str]) -> Result<Option<String>, Problem> {
        match self.take(names) {
            None => Ok(None),
            Some((name, value)) => match scalar(&value) {
                Some(s) => Ok(Some(s)),
                None => Err(self.problem(name, format!("`{name}` must be a text value"))),
            },
        }
    }

    /// Whether `draft` marks the file as work in progress.
    fn is_draft(&mut self) -> Result<bool, Problem> {
        let Some((name, value)) = self.take(&["draft"]) else {
            return Ok(false);
        };
        match &value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.problem(name, "`draft` must be true or false")),
        }
    }

    /// `title`, which must have some text.
    fn title(&mut self) -> Result<String, Problem> {
        match self.take(&["title"]) {
            Some((name, value)) => match scalar(&value) {
                Some(t) if !t.trim().is_empty() => Ok(t),
                _ => {
                    Err(self.problem(name, "`title` is empty or not text; give the entry a title"))
                }
            },
            None => {
                let example = self.example("title = \"…\"", "title: …", "\"title\": \"…\"");
                Err(Problem::new(
                    None,
                    format!("missing `title`; add `{example}` to the front matter"),
                ))
            }
        }
    }

    /// `lang` (or `language`) in its configured spelling, else the file name's language, else
    /// the site's default.
    fn language<'a>(
        &mut self,
        settings: &'a Settings,
        file: &FileName<'a>,
    ) -> Result<&'a str, Problem> {
        let Some((name, value)) = self.take(&["lang", "language"]) else {
            return Ok(file.language.unwrap_or(&settings.language));
        };
        let tag = scalar(&value).unwrap_or_default();
        // An empty key names no language rather than asking for the default one.
        let found = match tag.trim() {
            "" => None,
            tag => settings.finisher.language(Some(tag)).ok(),
        };
        found.ok_or_else(|| {
            let unknown = UnknownLanguage { tag };
            self.problem(name, format!("{unknown}; add it there or fix `{name}`"))
        })
    }

    /// `date`, or Hugo's `publishDate` when it is absent; the later one when both are given.
    fn published(&mut self, settings: &Settings) -> Result<Option<DateTime<FixedOffset>>, Problem> {
        let date = self.date(settings, &["date"])?;
        let publish_date = self.date(
            settings,
            &["publishDate", "publishdate", "pubdate", "published"],
        )?;
        Ok(date.max(publish_date))
    }

    fn date(
        &mut self,
        settings: &Settings,
        names: &[&'static str],
    ) -> Result<Option<DateTime<FixedOffset>>, Problem> {
        let Some((name, value)) = self.take(names) else {
            return Ok(None);
        };
        // Hugo (through `cast.ToTimeE`) reads an integer as a Unix time in seconds.
        if let Some(seconds) = value.as_i64() {
            return match crate::sources::dates::from_timestamp(seconds) {
                Some(date) => self.fit(name, date),
                None => Err(self.problem(
                    name,
                    format!("`{name}`: {seconds} is too far from today to be a Unix time"),
                )),
            };
        }
        let text = scalar(&value).unwrap_or_default();
        let timezone = settings.finisher.timezone();
        match dates::parse(&text, timezone) {
            Some(date) => self.fit(name, date),
            None => Err(self.problem(
                name,
                format!(
                    "`{name}`: {text:?} is not a date; write {}; without an offset the site \
                     timezone ({timezone}) applies",
                    dates::ACCEPTED,
                ),
            )),
        }
    }

    /// `date` as every feed can write it (see [`fit_for_feeds`]), or the problem at `name`.
    fn fit(
        &self,
        name: &str,
        date: DateTime<FixedOffset>,
    ) -> Result<Option<DateTime<FixedOffset>>, Problem> {
        fit_for_feeds(date)
            .map(Some)
            .map_err(|e| self.problem(name, format!("`{name}`: {e}")))
    }

    /// The entry's link: the `url` key, else Zola's `path` key (from the site root), else the
    /// permalink, whose `{slug}` a `slug` key replaces.
    fn url(
        &mut self,
        settings: &Settings,
        file: &FileName<'_>,
        language: &str,
        published: DateTime<FixedOffset>,
    ) -> Result<Url, Problem> {
        let slug = match self.string(&["slug"])? {
            Some(slug) => settings.style.slug(&slug),
            None => file.default_slug(&settings.style),
        };
        let base_prefix = settings.site().base_url.trim_end_matches('/');
        match (self.string(&["url"])?, self.string(&["path"])?) {
            (Some(value), _) => {
                urls::from_key(base_prefix, &value).map_err(|message| self.problem("url", message))
            }
            (None, Some(path)) => {
                let path = format!("/{}/", path.trim().trim_matches('/'));
                urls::from_key(base_prefix, &path.replace("//", "/"))
                    .map_err(|message| self.problem("path", message.replace("`url`", "`path`")))
            }
            (None, None) => Ok(file.permalink(settings, &slug, language, Some(published))),
        }
    }

    /// The entry's key within the source: the `id` key, else the file's key without `.md`.
    fn id(&mut self, key: &str) -> Result<String, Problem> {
        match self.string(&["id"])? {
            Some(id) if !id.trim().is_empty() => Ok(id),
            Some(_) => Err(self.problem("id", "`id` is empty; remove it or give a value")),
            None => Ok(filename::strip_extension(key).to_owned()),
        }
    }

    /// The `guid` key, which must be a URI fit for feeds; without it the entry gets a `tag:`
    /// URI.
    fn guid(&mut self) -> Result<Option<String>, Problem> {
        match self.string(&["guid"])? {
            Some(guid) if !is_absolute_uri(guid.trim()) => Err(self.problem(
                "guid",
                format!(
                    "`guid`: {guid:?} is not an absolute URI; use e.g. \"urn:uuid:…\" or \
                     \"https://…\", or remove it to get a tag: URI"
                ),
            )),
            guid => Ok(guid),
        }
    }

    /// Categories, then tags (top-level or in `[taxonomies]`), as written; the finisher adds
    /// the source's categories and drops duplicates.
    fn categories(&mut self) -> Result<Vec<String>, Problem> {
        let mut taxonomies = match self.take(&["taxonomies"]) {
            None => Map::new(),
            Some((_, Value::Object(map))) => map,
            Some((name, _)) => {
                return Err(self.problem(
                    name,
                    "`taxonomies` must be a table, e.g. `taxonomies = { tags = [\"a\"] }`",
                ));
            }
        };
        let mut all = Vec::new();
        for name in ["categories", "tags"] {
            let top = self.take(&[name]);
            let nested = taxonomies.remove(name).filter(|v| !v.is_null());
            for value in top.map(|(_, v)| v).into_iter().chain(nested) {
                let items = match value {
                    Value::Array(items) => items,
                    single => vec![single],
                };
                for item in items {
                    let Some(text) = scalar(&item) else {
                        return Err(self.problem(
                            name,
                            format!(
                                "`{name}` must be a list of words, e.g. [\"water\", \"energy\"]"
                            ),
                        ));
                    };
                    all.push(text);
                }
            }
        }
        // Other taxonomies are free data for templates.
        for (name, value) in taxonomies {
            self.map.entry(name).or_insert(value);
        }
        Ok(all)
    }

    /// Free fields: leftover top-level keys, then `[params]`, then `[extra]`, the tables
    /// winning over top-level keys of the same name.
    fn extra(&mut self) -> Result<BTreeMap<String, Value>, Problem> {
        let mut tables = Vec::new();
        for name in ["params", "extra"] {
            match self.take(&[name]) {
                None => {}
                Some((_, Value::Object(map))) => tables.push(map),
                Some((name, _)) => {
                    return Err(self.problem(name, format!("`{name}` must be a table of fields")));
                }
            }
        }
        let mut extra: BTreeMap<String, Value> = std::mem::take(&mut self.map)
            .into_iter()
            .filter(|(k, _)| !BUILD_ONLY_KEYS.contains(&k.as_str()))
            .collect();
        for table in tables {
            extra.extend(table);
        }
        Ok(extra)
    }

    /// `image` (text or table), Hugo's `images` (a list, first item) and `image_alt`.
    fn image(&mut self) -> Result<(Option<Image>, Option<String>), Problem> {
        let mut image = None;
        for name in ["image", "images"] {
            if let Some((name, value)) = self.take(&[name]) {
                let found = image_from(&value).map_err(|m| self.problem(name, m))?;
                image = image.or(found);
            }
        }
        let alt = self.string(&["image_alt", "imageAlt"])?;
        Ok((image, alt))
    }

    /// The entry's control of its announcements: `crier` at the top (YAML and JSON front
    /// matter, and Hugo, which reads unknown top-level keys as params), in Hugo's `[params]`
    /// or in Zola's `[extra]`; taken out so that it is not a free field too.
    fn announce(&mut self, settings: &Settings) -> Result<Announce, Problem> {
        let mut found: Vec<(&'static str, Value)> = Vec::new();
        if let Some(value) = self.map.remove("crier") {
            found.push(("crier", value));
        }
        for (table, name) in [("params", "params.crier"), ("extra", "extra.crier")] {
            if let Some(Value::Object(fields)) = self.map.get_mut(table)
                && let Some(value) = fields.remove("crier")
            {
                found.push((name, value));
            }
        }
        found.retain(|(_, value)| !value.is_null());
        let (name, value) = match found.as_slice() {
            [] => return Ok(Announce::default()),
            [(name, value)] => (*name, value),
            [(first, _), (second, _), ..] => {
                return Err(self.problem(
                    "crier",
                    format!("`{first}` and `{second}` both set the announcement control; keep one"),
                ));
            }
        };
        control::read(value, settings.site(), settings.finisher.timezone()).map_err(|e| {
            // The line of the key at fault, else of the key that holds it, else of the table.
            let line = (e.key.split('.').rev().chain(["crier"]))
                .find_map(|k| (!k.is_empty()).then(|| self.lines.line_of(k))?);
            Problem::new(line, e.under(name).to_string())
        })
    }

    /// `author` (text, table or list), else Zola's `authors` list.
    fn author(&mut self) -> Result<Option<Person>, Problem> {
        let author = self.take(&["author"]);
        let authors = self.take(&["authors"]);
        match author.or(authors) {
            Some((name, value)) => person_from(&value).map_err(|m| self.problem(name, m)),
            None => Ok(None),
        }
    }
}

/// The image from the front matter, else from the same keys in `extra`; `image_alt` fills a
/// missing alternative text.
fn image_with_fallback(
    image: Option<Image>,
    alt: Option<String>,
    extra: &BTreeMap<String, Value>,
) -> Option<Image> {
    let from_extra = || {
        ["image", "images"]
            .iter()
            .find_map(|k| extra.get(*k).and_then(|v| image_from(v).ok().flatten()))
    };
    let mut image = image.or_else(from_extra)?;
    if image.alt.is_empty() {
        let extra_alt = || extra.get("image_alt").and_then(scalar);
        image.alt = alt
            .or_else(extra_alt)
            .map(|a| collapse(&a))
            .unwrap_or_default();
    }
    Some(image)
}

/// The author from the front matter, else from the same keys in `extra`.
fn author_with_fallback(author: Option<Person>, extra: &BTreeMap<String, Value>) -> Option<Person> {
    author.or_else(|| {
        ["author", "authors"]
            .iter()
            .find_map(|k| extra.get(*k).and_then(|v| person_from(v).ok().flatten()))
    })
}

fn image_from(value: &Value) -> Result<Option<Image>, String> {
    let image = |url: &str, alt: &str| {
        (!url.trim().is_empty()).then(|| Image {
            url: url.trim().to_owned(),
            alt: collapse(alt),
            path: None,
        })
    };
    match value {
        Value::String(url) => Ok(image(url, "")),
        Value::Array(items) => items.first().map_or(Ok(None), image_from),
        Value::Object(table) => {
            let url = ["src", "url"]
                .iter()
                .find_map(|k| table.get(*k).and_then(Value::as_str));
            let alt = table.get("alt").and_then(Value::as_str).unwrap_or("");
            match url {
                Some(url) => Ok(image(url, alt)),
                None => Err("an image table needs `src` (or `url`), e.g. { src = \"photo.jpg\", alt = \"…\" }".into()),
            }
        }
        _ => Err("an image must be a URL or a table with `src` and `alt`".into()),
    }
}

fn person_from(value: &Value) -> Result<Option<Person>, String> {
    match value {
        Value::String(text) => Ok(person_from_text(text)),
        Value::Array(items) => items.first().map_or(Ok(None), person_from),
        Value::Object(table) => {
            let text = |k: &str| {
                table
                    .get(k)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            let Some(name) = text("name") else {
                return Err(
                    "an author table needs a `name`, e.g. { name = \"…\", email = \"…\" }".into(),
                );
            };
            Ok(Some(Person {
                name,
                email: text("email"),
                uri: text("uri").or_else(|| text("url")),
            }))
        }
        _ => Err("an author must be a name or a table with `name`, `email` and `uri`".into()),
    }
}

/// `Jane Doe`, or `Jane Doe <jane@example.org>` as many feeds write it.
fn person_from_text(text: &str) -> Option<Person> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some((name, rest)) = text.split_once('<')
        && let Some(email) = rest.strip_suffix('>')
        && email.contains('@')
        && !name.trim().is_empty()
    {
        return Some(Person {
            name: name.trim().to_owned(),
            email: Some(email.trim().to_owned()),
            uri: None,
        });
    }
    Some(Person {
        name: text.to_owned(),
        email: None,
        uri: None,
    })
}

fn absolutize_links(
    name: &str,
    value: &mut Value,
    base: &Url,
    internal: &dyn Fn(&str) -> Option<String>,
) {
    match value {
        Value::String(s) => {
            let lower = name.to_ascii_lowercase();
            if LINK_KEY_SUFFIXES
                .iter()
                .any(|suffix| lower.ends_with(suffix))
                && !s.trim().is_empty()
                && !s.trim().contains(char::is_whitespace)
            {
                *s = markdown::absolute(s, base, internal);
            }
        }
        Value::Array(items) => {
            for item in items {
                absolutize_links(name, item, base, internal);
            }
        }
        Value::Object(table) => {
            for (k, v) in table {
                absolutize_links(k, v, base, internal);
            }
        }
        _ => {}
    }
}

/// Text of a string or number value.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

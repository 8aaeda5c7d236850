//! From front matter and body to an [`Entry`]: the field names Hugo and Zola users write, the
//! language, slug, URL, ids, categories, image, author and free `extra` fields.
//!
//! Choices that follow what Hugo or Zola does:
//! - A draft is skipped before anything else is checked, so work in progress may lack a title.
//! - Dates: `date` is the publication date; Hugo's `publishDate` (also `publishdate`, `pubdate`)
//!   stands in when `date` is absent, and when both are given the later one wins, because Hugo
//!   does not publish a page before its `publishDate`. `updated`, `lastmod` or `modified` give
//!   the update time.
//! - `slug` replaces the last segment of `{path}` too, as in Hugo and Zola, and every segment of
//!   `{path}` and `{section}` is normalised like the slug (lower case, spaces and `_` → `-`).
//!   Zola's `path` key is read like a `url` key relative to the site root.
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

use chrono::{DateTime, Datelike, FixedOffset};
use serde_json::{Map, Value};
use url::Url;

use super::filename::{FileName, internal_link, normalise};
use super::frontmatter::{Format, FrontMatter, KeyLines};
use super::urls::{self, Placeholders};
use super::{Problem, Settings, dates, markdown};
use crate::entry::{Entry, Image, Person, Place};

/// What a file turned out to be.
pub(super) enum Parsed {
    Entry(Box<Entry>),
    Draft,
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

/// Builds the entry of the file at `key` (relative path) from its parsed front matter.
pub(super) fn build(site: &Settings, key: &str, front: FrontMatter<'_>) -> Result<Parsed, Problem> {
    let FrontMatter {
        format,
        fields,
        lines,
        body,
    } = front;
    let mut f = Fields {
        map: fields,
        lines: &lines,
    };

    if let Some((name, value)) = f.take(&["draft"]) {
        let draft = match &value {
            Value::Bool(b) => *b,
            Value::String(s) if s.eq_ignore_ascii_case("true") => true,
            Value::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => return Err(f.problem(name, "`draft` must be true or false")),
        };
        if draft {
            return Ok(Parsed::Draft);
        }
    }

    let title = match f.take(&["title"]) {
        Some((name, value)) => match scalar(&value).map(|t| collapse(&t)) {
            Some(t) if !t.is_empty() => t,
            _ => {
                return Err(f.problem(name, "`title` is empty or not text; give the entry a title"));
            }
        },
        None => {
            let example = match format {
                Format::Toml => "title = \"…\"",
                Format::Yaml => "title: …",
            };
            return Err(Problem::new(
                None,
                format!("missing `title`; add `{example}` to the front matter"),
            ));
        }
    };

    let file = FileName::new(site, key);
    let language = match f.take(&["lang", "language"]) {
        Some((name, value)) => {
            let tag = scalar(&value).unwrap_or_default();
            match site.find_language(tag.trim()) {
                Some(lang) => lang.to_owned(),
                None => {
                    return Err(f.problem(
                        name,
                        format!(
                            "language {tag:?} is not in site.languages; add it there or fix `{name}`"
                        ),
                    ));
                }
            }
        }
        None => file
            .language
            .unwrap_or_else(|| site.default_language())
            .to_owned(),
    };

    let date = f.date(site, &["date"])?;
    let publish_date = f.date(site, &["publishDate", "publishdate", "pubdate"])?;
    let published = match (date, publish_date) {
        (Some(d), Some(p)) => d.max(p),
        (Some(d), None) | (None, Some(d)) => d,
        (None, None) => {
            let example = match format {
                Format::Toml => "date = 2024-03-12",
                Format::Yaml => "date: 2024-03-12",
            };
            return Err(Problem::new(
                None,
                format!("missing `date`; add the publication date, e.g. `{example}`"),
            ));
        }
    };
    let updated = f.date(site, &["updated", "lastmod", "lastMod", "modified"])?;

    let slug_key = f.string(&["slug"])?;
    let slug = normalise(slug_key.as_deref().unwrap_or(file.own_name));
    let url = match (f.string(&["url"])?, f.string(&["path"])?) {
        (Some(value), _) => urls::from_key(&site.base_prefix, &value)
            .map_err(|message| f.problem("url", message))?,
        (None, Some(path)) => {
            let path = format!("/{}/", path.trim().trim_matches('/'));
            urls::from_key(&site.base_prefix, &path.replace("//", "/"))
                .map_err(|message| f.problem("path", message.replace("`url`", "`path`")))?
        }
        (None, None) => {
            let base = &site.base_url;
            let lang = if site.default_language_in_root && language == site.default_language() {
                ""
            } else {
                &language
            };
            let section = file.section();
            let path = file.path(&slug);
            urls::permalink(
                base,
                &site.permalink,
                &Placeholders {
                    lang,
                    slug: &slug,
                    section: &section,
                    path: &path,
                    date: Some(published),
                },
            )
        }
    };

    let id = match f.string(&["id"])? {
        Some(id) if !id.trim().is_empty() => format!("{}:{}", site.name, id.trim()),
        Some(_) => return Err(f.problem("id", "`id` is empty; remove it or give a value")),
        None => format!("{}:{}", site.name, key.strip_suffix(".md").unwrap_or(key)),
    };
    let guid = match f.string(&["guid"])? {
        Some(guid) => match Url::parse(guid.trim()) {
            Ok(_) => guid.trim().to_owned(),
            Err(_) => {
                return Err(f.problem(
                    "guid",
                    format!(
                        "`guid`: {guid:?} is not an absolute URI; use e.g. \"urn:uuid:…\" or \
                         \"https://…\", or remove it to get a tag: URI"
                    ),
                ));
            }
        },
        None => {
            let host = site.base_url.host_str().unwrap_or("localhost");
            urls::tag_uri(host, published.year(), &id)
        }
    };
    let translation_key =
        match f.string(&["translation_key", "translationKey", "translationkey"])? {
            Some(k) if !k.trim().is_empty() => k.trim().to_owned(),
            _ => file.translation_key(),
        };

    let summary = f.string(&["summary", "description"])?;
    let categories = f.categories(site)?;
    let (image, image_alt) = f.image()?;
    let author = f.author()?;
    let mut extra = f.extra()?;

    let internal = |link: &str| internal_link(site, link);
    let rendered = markdown::render(body, &url, &internal);
    let summary = match summary {
        Some(s) if !s.trim().is_empty() => markdown::shorten(&s, markdown::SUMMARY_MAX_CHARS),
        _ => rendered.summary,
    };

    let image = image_with_fallback(image, image_alt, &extra).map(|mut image| {
        image.url = markdown::absolute(&image.url, &url, &internal);
        image
    });
    let author = author_with_fallback(author, &extra).map(|mut person| {
        person.uri = person
            .uri
            .map(|uri| markdown::absolute(&uri, &url, &internal));
        person
    });
    // Top-level `city` and `country` keys land in `extra` too.
    let place = Place::from_extra(&extra);
    for (name, value) in &mut extra {
        absolutize_links(name, value, &url, &internal);
    }

    Ok(Parsed::Entry(Box::new(Entry {
        id,
        guid,
        url: url.into(),
        title,
        summary,
        content: rendered.html,
        published,
        updated,
        language,
        categories,
        image,
        author,
        place,
        translation_key,
        extra,
    })))
}

/// The front matter fields not consumed yet, with the lines they were written on.
struct Fields<'a> {
    map: Map<String, Value>,
    lines: &'a KeyLines<'a>,
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

    fn date(
        &mut self,
        site: &Settings,
        names: &[&'static str],
    ) -> Result<Option<DateTime<FixedOffset>>, Problem> {
        let Some((name, value)) = self.take(names) else {
            return Ok(None);
        };
        let text = scalar(&value).unwrap_or_default();
        match dates::parse(&text, site.timezone) {
            Some(date) => Ok(Some(date)),
            None => Err(self.problem(
                name,
                format!(
                    "`{name}`: {text:?} is not a date; write {}; without an offset the site \
                     timezone ({}) applies",
                    dates::ACCEPTED,
                    site.timezone
                ),
            )),
        }
    }

    /// Categories, then tags (top-level or in `[taxonomies]`), then the source's categories.
    fn categories(&mut self, site: &Settings) -> Result<Vec<String>, Problem> {
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
                    all.push(collapse(&text));
                }
            }
        }
        all.extend(site.categories.iter().cloned());
        let mut seen = std::collections::HashSet::new();
        all.retain(|c| !c.is_empty() && seen.insert(c.to_lowercase()));
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

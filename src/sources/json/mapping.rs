//! From one JSON item to a [`Draft`]: the configured paths (or the preset's) are resolved
//! against the item, their values checked for the type each field needs, and anything wrong
//! reported with the config key, the path and what the item holds instead.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::path::Path;
use super::{FieldsConfig, Preset, wordpress};
use crate::entry::{Announce, Image, Person};
use crate::sources::control;
use crate::sources::dates::{self, DateFormat};
use crate::sources::finish::{Draft, Finisher, Markup};

/// One path for a field and where it came from, for messages.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The parsed path.
    pub path: Path,
    /// `fields.title` or `the wordpress preset's title`.
    pub origin: String,
    /// An offset-less date here is UTC, not in the source's timezone.
    pub utc: bool,
}

impl Candidate {
    /// "`fields.title` (\"/title/rendered\")".
    fn name(&self) -> String {
        format!("{} ({:?})", self.origin, self.path.as_str())
    }
}

/// The paths of every field, tried in order; the first that reaches a non-null value wins.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Path to the array of items; `None`: the answer itself is the array.
    pub items: Option<Candidate>,
    id: Vec<Candidate>,
    title: Vec<Candidate>,
    url: Vec<Candidate>,
    content: Vec<Candidate>,
    summary: Vec<Candidate>,
    published: Vec<Candidate>,
    updated: Vec<Candidate>,
    language: Vec<Candidate>,
    categories: Vec<Candidate>,
    image: Vec<Candidate>,
    image_alt: Vec<Candidate>,
    author: Vec<Candidate>,
    translation_key: Vec<Candidate>,
    guid: Vec<Candidate>,
    crier: Vec<Candidate>,
    extra: Vec<(String, Candidate)>,
    /// Objects whose members all become extra fields.
    spread: Vec<Candidate>,
    /// Items whose status here is not `publish` are skipped.
    status: Option<Candidate>,
    /// Items with `true` here are skipped.
    protected: Option<Candidate>,
}

/// What mapping an item gave.
#[derive(Debug)]
pub enum Mapped {
    /// Fields for [`Finisher::finish`].
    Draft(Box<Draft>),
    /// Deliberately not published, with the reason.
    Skipped(String),
}

/// Fields a source without a preset cannot do without, with an example path for each.
const REQUIRED: [(&str, &str); 4] = [
    ("id", "\"/id\""),
    ("title", "\"/title\" or \"title.rendered\""),
    ("url", "\"/link\" or \"links.html\""),
    ("published", "\"/date\" or \"meta.published_at\""),
];

impl Mapping {
    /// The configured paths over the preset's defaults.
    pub fn build(fields: &FieldsConfig, preset: Option<Preset>) -> Mapping {
        let configured = |key: &str, path: &Path| Candidate {
            path: path.clone(),
            origin: format!("`fields.{key}`"),
            utc: false,
        };
        let preset_defaults = |field: &str| -> Vec<Candidate> {
            match preset {
                Some(Preset::Wordpress) => wordpress::DEFAULTS
                    .iter()
                    .filter(|d| d.field == field)
                    .map(|d| preset_candidate(field, d.path, d.utc))
                    .collect(),
                None => Vec::new(),
            }
        };
        let one = |key: &str, value: &Option<Path>| match value {
            Some(path) => vec![configured(key, path)],
            None => preset_defaults(key),
        };
        let categories = match &fields.categories {
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, path)| configured(&format!("categories[{i}]"), path))
                .collect(),
            None => preset_defaults("categories"),
        };
        let extra = fields
            .extra
            .iter()
            .map(|(name, path)| (name.clone(), configured(&format!("extra.{name}"), path)))
            .collect();
        let wordpress = preset == Some(Preset::Wordpress);
        let preset_path =
            |path: &str, what: &str| wordpress.then(|| preset_candidate(what, path, false));
        Mapping {
            items: fields.items.as_ref().map(|path| configured("items", path)),
            id: one("id", &fields.id),
            title: one("title", &fields.title),
            url: one("url", &fields.url),
            content: one("content", &fields.content),
            summary: one("summary", &fields.summary),
            published: one("published", &fields.published),
            updated: one("updated", &fields.updated),
            language: one("language", &fields.language),
            categories,
            image: one("image", &fields.image),
            image_alt: one("image_alt", &fields.image_alt),
            author: one("author", &fields.author),
            translation_key: one("translation_key", &fields.translation_key),
            guid: one("guid", &fields.guid),
            crier: one("crier", &fields.crier),
            extra,
            spread: preset_path(wordpress::SPREAD, "extra fields")
                .into_iter()
                .collect(),
            status: preset_path(wordpress::STATUS, "status"),
            protected: preset_path(wordpress::PROTECTED, "password protection"),
        }
    }

    /// Checks that id, title, url and published each have a path; the error names the key.
    pub fn check_required(&self) -> Result<(), (String, String)> {
        for (field, example) in REQUIRED {
            let missing = match field {
                "id" => self.id.is_empty(),
                "title" => self.title.is_empty(),
                "url" => self.url.is_empty(),
                _ => self.published.is_empty(),
            };
            if missing {
                return Err((
                    format!("fields.{field}"),
                    format!(
                        "missing: without `preset` the source needs the paths of id, title, url and published in [sources.fields], for example {field} = {example}"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The item's id as text; the error says the id path is wrong.
    pub fn id(&self, item: &Value) -> Result<String, String> {
        let found = text_field(&self.id, item)?.filter(|id| !id.trim().is_empty());
        found.map(|id| id.trim().to_owned()).ok_or_else(|| {
            format!(
                "no id: {}; every item needs one, so that an edited item replaces its old version",
                nothing_found(&self.id, item)
            )
        })
    }

    /// Maps one item whose id is `key`; the error names the field, the path and the fix.
    pub fn map(
        &self,
        item: &Value,
        key: &str,
        finisher: &Finisher,
        formats: &[DateFormat],
    ) -> Result<Mapped, String> {
        if let Some(status) = &self.status
            && let Some(s) = status.path.first(item).and_then(Value::as_str)
            && s != "publish"
        {
            return Ok(Mapped::Skipped(format!(
                "status {s:?}: only \"publish\" items are published"
            )));
        }
        if let Some(protected) = &self.protected
            && protected.path.first(item) == Some(&Value::Bool(true))
        {
            return Ok(Mapped::Skipped("password-protected".into()));
        }
        let required = |field: &[Candidate], what: &str| -> Result<String, String> {
            text_field(field, item)?
                .ok_or_else(|| format!("no {what}: {}", nothing_found(field, item)))
        };
        let title = required(&self.title, "title")?;
        let url = required(&self.url, "link")?;
        let published = date_field(&self.published, item, finisher, formats)?.ok_or_else(|| {
            format!(
                "no publication date: {}",
                nothing_found(&self.published, item)
            )
        })?;
        let image = self.image(item)?;
        let announce = self.announce(item, finisher)?;
        Ok(Mapped::Draft(Box::new(Draft {
            key: key.to_owned(),
            // WordPress's `guid.rendered` is HTML-escaped (`?post_type=x&#038;p=1`), and a raw
            // URI never contains these sequences, so unescaping is safe for any API.
            guid: text_field(&self.guid, item)?
                .map(|g| g.replace("&#038;", "&").replace("&amp;", "&")),
            url: Some(url),
            markup: Markup::Html,
            title: Some(title),
            summary: text_field(&self.summary, item)?,
            excerpt: None,
            content: text_field(&self.content, item)?,
            published: Some(published),
            updated: date_field(&self.updated, item, finisher, formats)?,
            language: text_field(&self.language, item)?,
            categories: self.categories(item),
            image,
            author: self.author(item)?,
            place: None,
            translation_key: self.translation_key(item, key, finisher.name())?,
            extra: self.extra(item),
            announce,
        })))
    }

    /// The announcement control object, read as front matter's `[extra.crier]` is.
    fn announce(&self, item: &Value, finisher: &Finisher) -> Result<Announce, String> {
        let Some((candidate, value)) = find(&self.crier, item) else {
            return Ok(Announce::default());
        };
        control::read(value, finisher.site(), finisher.timezone())
            .map_err(|e| format!("{}: {e}", candidate.name()))
    }

    /// Text, numbers and the `name` of objects, from every path and every match.
    fn categories(&self, item: &Value) -> Vec<String> {
        let mut names = Vec::new();
        let mut add = |v: &Value| {
            if let Some(t) = scalar_text(v).or_else(|| v.get("name").and_then(scalar_text)) {
                names.push(t);
            }
        };
        for candidate in &self.categories {
            for value in candidate.path.resolve(item) {
                match value {
                    Value::Array(list) => list.iter().for_each(&mut add),
                    other => add(other),
                }
            }
        }
        names
    }

    /// A URL as text, or an object with `source_url`, `url`, `src` or `href` (and `alt_text`
    /// or `alt`); `image_alt` overrides the alternative text.
    fn image(&self, item: &Value) -> Result<Option<Image>, String> {
        let Some((candidate, value)) = find(&self.image, item) else {
            return Ok(None);
        };
        let (url, alt) = match value {
            Value::Object(_) => (
                member_text(value, &["source_url", "url", "src", "href"]),
                member_text(value, &["alt_text", "alt"]),
            ),
            other => match scalar_text(other) {
                Some(url) => (Some(url), None),
                None => return Err(not_text(candidate, other)),
            },
        };
        let alt = text_field(&self.image_alt, item)?
            .or(alt)
            .unwrap_or_default();
        Ok(url.filter(|u| !u.trim().is_empty()).map(|url| Image {
            url,
            alt,
            path: None,
        }))
    }

    /// A name, or an object with `name` and optionally `link`/`url`/`uri` and `email`.
    fn author(&self, item: &Value) -> Result<Option<Person>, String> {
        let Some((candidate, value)) = find(&self.author, item) else {
            return Ok(None);
        };
        let person = match value {
            Value::Object(_) => member_text(value, &["name", "display_name"]).map(|name| Person {
                name,
                email: member_text(value, &["email"]),
                uri: member_text(value, &["link", "url", "uri"]),
            }),
            other => {
                let name = scalar_text(other).ok_or_else(|| not_text(candidate, other))?;
                Some(Person {
                    name,
                    email: None,
                    uri: None,
                })
            }
        };
        Ok(person)
    }

    /// Text is used as is. An object of ids by language (Polylang) or a list of ids or of
    /// objects with `id` (WPML) gives `{source}:{smallest id, the item's own included}`: the
    /// same key for every translation, equal to the default key (the entry id) of the one
    /// with the smallest id, and distinct from other sources' keys.
    fn translation_key(
        &self,
        item: &Value,
        key: &str,
        source: &str,
    ) -> Result<Option<String>, String> {
        let Some((candidate, value)) = find(&self.translation_key, item) else {
            return Ok(None);
        };
        let ids: Vec<String> = match value {
            Value::Object(members) => members.values().filter_map(scalar_text).collect(),
            Value::Array(list) => list
                .iter()
                .filter_map(|v| scalar_text(v).or_else(|| v.get("id").and_then(scalar_text)))
                .collect(),
            other => {
                return scalar_text(other)
                    .map(Some)
                    .ok_or_else(|| not_text(candidate, other));
            }
        };
        if ids.is_empty() {
            return Ok(None);
        }
        let smallest = ids
            .iter()
            .map(String::as_str)
            .chain([key])
            .min_by(|a, b| match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => a.cmp(b),
            })
            .unwrap_or(key);
        Ok(Some(format!("{source}:{smallest}")))
    }

    /// Preset objects spread first, then the configured names over them. A path with `*`
    /// that reaches several values gives an array.
    fn extra(&self, item: &Value) -> BTreeMap<String, Value> {
        let mut extra = BTreeMap::new();
        for candidate in &self.spread {
            if let Some(Value::Object(members)) = candidate.path.first(item) {
                for (name, value) in members {
                    if !value.is_null() {
                        extra.insert(name.clone(), value.clone());
                    }
                }
            }
        }
        for (name, candidate) in &self.extra {
            let mut found: Vec<Value> = candidate
                .path
                .resolve(item)
                .into_iter()
                .filter(|v| !v.is_null())
                .cloned()
                .collect();
            match found.len() {
                0 => {}
                1 => {
                    extra.insert(name.clone(), found.remove(0));
                }
                _ => {
                    extra.insert(name.clone(), Value::Array(found));
                }
            }
        }
        extra
    }
}

fn preset_candidate(field: &str, path: &str, utc: bool) -> Candidate {
    Candidate {
        path: Path::parse(path).expect("preset paths are valid"),
        origin: format!("the wordpress preset's {field}"),
        utc,
    }
}

/// The first candidate that reaches a non-null value, with that value.
fn find<'a, 'v>(field: &'a [Candidate], item: &'v Value) -> Option<(&'a Candidate, &'v Value)> {
    field
        .iter()
        .find_map(|c| c.path.first(item).map(|value| (c, value)))
}

/// The field's value as text; an object, array or boolean is an error naming the path.
fn text_field(field: &[Candidate], item: &Value) -> Result<Option<String>, String> {
    match find(field, item) {
        None => Ok(None),
        Some((candidate, value)) => scalar_text(value)
            .map(Some)
            .ok_or_else(|| not_text(candidate, value)),
    }
}

/// A date: text in any format [`dates::parse`] reads, or a Unix timestamp in seconds
/// (milliseconds when it is too large to be seconds).
fn date_field(
    field: &[Candidate],
    item: &Value,
    finisher: &Finisher,
    formats: &[DateFormat],
) -> Result<Option<DateTime<FixedOffset>>, String> {
    let Some((candidate, value)) = find(field, item) else {
        return Ok(None);
    };
    let date = match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .and_then(|t| {
                // 10^11 seconds is the year 5138: larger numbers are milliseconds.
                let seconds = if t.abs() >= 100_000_000_000 {
                    t / 1000
                } else {
                    t
                };
                dates::from_timestamp(seconds)
            }),
        Value::String(text) => {
            let zone = if candidate.utc {
                chrono_tz::UTC
            } else {
                finisher.timezone()
            };
            dates::parse(text, zone, formats)
        }
        other => return Err(not_text(candidate, other)),
    };
    let date = date.ok_or_else(|| {
        format!(
            "{} is {value}, which is not a date; add its format to `date_formats` (chrono strftime, such as \"%d/%m/%Y %H:%M\"); accepted without it: {}",
            candidate.name(),
            dates::ACCEPTED
        )
    })?;
    dates::fit_for_feeds(date)
        .map(Some)
        .map_err(|e| format!("{}: {e}", candidate.name()))
}

/// Strings as they are, numbers (ids) in their JSON spelling.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The first of `names` that is a non-empty text member of `value`.
fn member_text(value: &Value, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| value.get(n).and_then(scalar_text))
        .find(|t| !t.trim().is_empty())
}

fn not_text(candidate: &Candidate, value: &Value) -> String {
    let hint = match value {
        Value::Object(members) => match members.keys().next() {
            Some(first) => {
                let deeper = if candidate.path.as_str().starts_with('/') {
                    format!("{}/{first}", candidate.path)
                } else {
                    format!("{}.{first}", candidate.path)
                };
                format!("; point the path at one of its members, such as {deeper:?}")
            }
            None => String::new(),
        },
        Value::Array(_) => "; pick one element, such as \"…/0\", or use it in `categories`".into(),
        _ => String::new(),
    };
    format!(
        "{} gives {}, not text{hint}",
        candidate.name(),
        describe(value)
    )
}

/// "an object with members a, b, c", "an array of 3 values", "true".
fn describe(value: &Value) -> String {
    match value {
        Value::Object(members) => format!("an object with members {}", members_list(members)),
        Value::Array(list) => format!("an array of {} values", list.len()),
        other => other.to_string(),
    }
}

fn members_list(members: &serde_json::Map<String, Value>) -> String {
    const SHOWN: usize = 15;
    let mut names: Vec<&str> = members.keys().map(String::as_str).take(SHOWN).collect();
    if members.len() > SHOWN {
        names.push("…");
    }
    if names.is_empty() {
        "(none)".into()
    } else {
        names.join(", ")
    }
}

/// "`fields.title` ("/name") found nothing in this item (its members: id, date, …); check
/// the path".
fn nothing_found(field: &[Candidate], item: &Value) -> String {
    let tried: Vec<String> = field.iter().map(Candidate::name).collect();
    let holds = match item {
        Value::Object(members) => format!("its members: {}", members_list(members)),
        other => format!(
            "the item is {}, not an object; check `fields.items`",
            describe(other)
        ),
    };
    format!(
        "{} found nothing in this item ({holds}); check the path",
        tried.join(" or ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(toml_text: &str) -> FieldsConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn sources_without_preset_must_name_the_required_fields() {
        let (key, message) = Mapping::build(
            &fields("id = \"/id\"\nurl = \"/link\"\npublished = \"/date\""),
            None,
        )
        .check_required()
        .unwrap_err();
        assert_eq!(key, "fields.title");
        assert!(message.contains("title = \"/title\""), "{message}");
        let wordpress = Mapping::build(&FieldsConfig::default(), Some(Preset::Wordpress));
        assert!(wordpress.check_required().is_ok());
    }

    /// The key (relative to `[sources.fields]`) of the path the table refuses as it is read.
    fn refused_key(toml_text: &str) -> String {
        let document = toml::de::Deserializer::parse(toml_text).unwrap();
        serde_path_to_error::deserialize::<_, FieldsConfig>(document)
            .unwrap_err()
            .path()
            .to_string()
    }

    #[test]
    fn bad_paths_name_their_key() {
        assert_eq!(
            refused_key("categories = [\"/a\", \"b..c\"]"),
            "categories[1]"
        );
        assert_eq!(refused_key("[extra]\ncity = \"/acf/~city\""), "extra.city");
        assert_eq!(refused_key("title = \"\""), "title");
        // An empty `items` is the answer itself, as no `items` is.
        assert_eq!(fields("items = \"\"").items, None);
    }

    #[test]
    fn type_mistakes_say_where_to_point() {
        let m = Mapping::build(
            &fields("id = \"/id\"\ntitle = \"/title\"\nurl = \"/link\"\npublished = \"/date\""),
            None,
        );
        let item = json!({"id": 7, "title": {"rendered": "x"}, "link": "/a", "date": "2024-03-12"});
        let err = text_field(&m.title, &item).unwrap_err();
        assert!(err.contains("`fields.title` (\"/title\")"), "{err}");
        assert!(err.contains("\"/title/rendered\""), "{err}");
        assert_eq!(m.id(&item).unwrap(), "7");
        let err = m.id(&json!({"ID": 7})).unwrap_err();
        assert!(err.contains("`fields.id`") && err.contains("ID"), "{err}");
    }

    #[test]
    fn translation_keys_are_the_smallest_id_of_the_group() {
        let m = Mapping::build(&FieldsConfig::default(), Some(Preset::Wordpress));
        let polylang = json!({"id": 34, "translations": {"en": 12, "fr": 34}});
        assert_eq!(
            m.translation_key(&polylang, "34", "wp").unwrap().as_deref(),
            Some("wp:12")
        );
        let wpml = json!({"id": 9, "wpml_translations": [{"locale": "en_GB", "id": 31}]});
        assert_eq!(
            m.translation_key(&wpml, "9", "wp").unwrap().as_deref(),
            Some("wp:9")
        );
        assert_eq!(
            m.translation_key(&json!({"id": 1}), "1", "wp").unwrap(),
            None
        );
    }
}

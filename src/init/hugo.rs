//! A Hugo site's merged configuration in crier's terms.
//!
//! What Hugo does, and so what is written:
//! - `baseURL`, `title`, `params.description`, `timeZone` (dates without an offset are UTC
//!   when it is unset: <https://gohugo.io/configuration/all/#timezone>), the author from
//!   `params.author` (a name, or a table with `name` and `email`) or the older `[author]`.
//! - Languages (<https://gohugo.io/configuration/languages/>): the keys of `[languages]`
//!   that are not `disabled` nor in `disableLanguages`, sorted by `weight` (a non-zero weight
//!   first, ascending) then by key; `defaultContentLanguage` (default `en`) must be one of
//!   them and goes first for crier. The default language's pages live at the root unless
//!   `defaultContentLanguageInSubdir`; the others under `/{lang}/`. A language's `title` and
//!   `params.description` become its feed title and description.
//! - Content folders: `contentDir` (default `content`), or a language's own `contentDir`,
//!   whose files are all in that language (translation by content directory).
//! - URLs (<https://gohugo.io/content-management/urls/>): by default a page's URL is its path
//!   in the content folder, with `slug` replacing the last segment: crier's `{path}`;
//!   `uglyURLs` makes it `….html`. `[permalinks]` gives per-section patterns, in the flat
//!   form (`posts = …`) or by page kind (`[permalinks.page]`; section, term and taxonomy
//!   pages are not entries); a language's own `[languages.xx.permalinks]` applies to its own
//!   content folder.
//! - Taxonomies: `[taxonomies]` (`singular = "plural"`), default `categories` and `tags`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::files::Tree;
use super::permalink::{self, Translated};
use super::{
    AuthorPlan, Generator, InitError, LanguagePlan, Plan, SectionPermalink, SitePlan, SourcePlan,
    Untranslated, dedup, language_home, quoted,
};
use crate::site::is_language_tag;
use crate::values::{HttpUrl, timezone};

/// Hugo's default content folder.
const DEFAULT_CONTENT_DIR: &str = "content";

/// One enabled language of the site.
struct Language {
    key: String,
    weight: i64,
    settings: Map<String, Value>,
}

/// Reads the merged Hugo config of the site in `site` into a plan.
pub(super) fn plan(site: &Path, tree: Tree) -> Result<Plan, InitError> {
    let mut notes = Vec::new();
    let base_url = base_url(site, &tree)?;
    let languages = languages(site, &tree)?;
    let default = languages[0].key.clone();
    let multilingual = languages.len() > 1;
    let in_subdir = tree.flag(&["defaultcontentlanguageinsubdir"]);

    let (title, title_origin) = match tree.text(&["title"]) {
        Some(title) => (title.to_owned(), "Hugo's `title`".to_owned()),
        None => {
            notes.push(
                "the Hugo config has no `title`: site.title is the site's host name; change it"
                    .to_owned(),
            );
            (
                base_url.host().to_owned(),
                "the Hugo config has no `title`: this is the site's host name".to_owned(),
            )
        }
    };
    let timezone = match tree.text(&["timezone"]) {
        Some(name) => Some(
            timezone::parse(name)
                .map_err(|message| InitError::Invalid {
                    path: site.join(tree.origin(&["timezone"])),
                    key: "timeZone".to_owned(),
                    message: format!("{message}; Hugo would refuse it too"),
                })?
                .name()
                .to_owned(),
        ),
        None => None,
    };
    let timezone_origin = if timezone.is_some() {
        "Hugo's `timeZone`".to_owned()
    } else {
        "Hugo's `timeZone` is not set, so Hugo reads dates without an offset as UTC: so does \
         crier by default"
            .to_owned()
    };
    for lang in &languages {
        if let Some(tz) = lang.settings.get("timezone").and_then(Value::as_str)
            && Some(tz) != timezone.as_deref()
        {
            notes.push(format!(
                "language {} has its own timeZone {}; crier has one time zone for the site",
                quoted(&lang.key),
                quoted(tz)
            ));
        }
        if !is_language_tag(&lang.key) {
            notes.push(format!(
                "language key {} is not a BCP 47 tag crier accepts (such as \"en\" or \"pt-br\"); \
                 `crier check` will refuse it until it is renamed in site.languages",
                quoted(&lang.key)
            ));
        }
        if lang.settings.contains_key("baseurl") {
            notes.push(format!(
                "language {} has its own baseURL (Hugo's multihost mode); crier builds every \
                 URL on site.base_url: give that language its own crier config",
                quoted(&lang.key)
            ));
        }
    }

    let per_language = if multilingual {
        languages
            .iter()
            .map(|lang| {
                let home =
                    (in_subdir || lang.key != default).then(|| language_home(&base_url, &lang.key));
                LanguagePlan {
                    tag: lang.key.clone(),
                    title: text(&lang.settings, &["title"]),
                    description: text(&lang.settings, &["params", "description"]),
                    home,
                }
            })
            .filter(|l| l.title.is_some() || l.description.is_some() || l.home.is_some())
            .collect()
    } else {
        Vec::new()
    };

    let languages_origin = if tree.get(&["languages"]).is_some() {
        "Hugo's [languages] (by weight), the default language (defaultContentLanguage) first"
    } else {
        "Hugo's defaultContentLanguage (the site has no [languages] table)"
    }
    .to_owned();
    let site_plan = SitePlan {
        title,
        title_origin,
        description: tree.text(&["params", "description"]).map(str::to_owned),
        base_url: base_url.as_str().to_owned(),
        languages: languages.iter().map(|l| l.key.clone()).collect(),
        languages_origin,
        timezone,
        timezone_origin,
        author: author(&tree),
        per_language,
    };

    let sources = sources(&tree, &languages, multilingual, in_subdir, &mut notes);
    if tree.flag(&["disablepathtolower"]) {
        notes.push(
            "Hugo keeps upper case in URLs here (disablePathToLower); crier's slugs are lower \
             case: check the URLs `crier check` shows"
                .to_owned(),
        );
    }
    if tree.get(&["module", "mounts"]).is_some() {
        notes.push(
            "the site mounts folders with [module.mounts]; crier reads only the content folders \
             written under [[sources]]: add a source for any other mounted content"
                .to_owned(),
        );
    }

    dedup(&mut notes);
    Ok(Plan {
        generator: Generator::Hugo,
        read: tree.files.clone(),
        site: site_plan,
        sources,
        taxonomies: taxonomies(&tree),
        notes,
    })
}

/// `baseURL`, which crier needs absolute.
fn base_url(site: &Path, tree: &Tree) -> Result<HttpUrl, InitError> {
    let invalid = |message: String| InitError::Invalid {
        path: site.join(tree.origin(&["baseurl"])),
        key: "baseURL".to_owned(),
        message,
    };
    let Some(text) = tree.text(&["baseurl"]) else {
        return Err(invalid(
            "not set; crier builds entry URLs on it: set the site's public address, e.g. \
             baseURL = \"https://example.org/\", and run crier init again"
                .to_owned(),
        ));
    };
    HttpUrl::parse(text).map_err(|message| {
        invalid(format!(
            "{message}; crier builds entry URLs on it: set the site's public address, e.g. \
             \"https://example.org/\", and run crier init again"
        ))
    })
}

/// The enabled languages, the default first, then in Hugo's order.
fn languages(site: &Path, tree: &Tree) -> Result<Vec<Language>, InitError> {
    let default = tree
        .text(&["defaultcontentlanguage"])
        .unwrap_or("en")
        .to_lowercase();
    let disabled: Vec<String> = match tree.get(&["disablelanguages"]) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect(),
        _ => Vec::new(),
    };
    let mut languages: Vec<Language> = match tree.get(&["languages"]) {
        Some(Value::Object(table)) => table
            .iter()
            .filter_map(|(key, value)| {
                let settings = value.as_object().cloned().unwrap_or_default();
                let off = settings.get("disabled").and_then(Value::as_bool) == Some(true)
                    || disabled.contains(key);
                (!off).then(|| Language {
                    key: key.clone(),
                    weight: settings.get("weight").and_then(Value::as_i64).unwrap_or(0),
                    settings,
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    if languages.is_empty() {
        return Ok(vec![Language {
            key: default,
            weight: 0,
            settings: Map::new(),
        }]);
    }
    // Hugo: a non-zero weight is the primary sort key, then the key.
    languages
        .sort_by(|a, b| (a.weight == 0, a.weight, &a.key).cmp(&(b.weight == 0, b.weight, &b.key)));
    let Some(at) = languages.iter().position(|l| l.key == default) else {
        let keys: Vec<&str> = languages.iter().map(|l| l.key.as_str()).collect();
        return Err(InitError::Invalid {
            path: site.join(tree.origin(&["defaultcontentlanguage"])),
            key: "defaultContentLanguage".to_owned(),
            message: format!(
                "{} is not one of the enabled languages ({}); Hugo refuses this too: fix it \
                 and run crier init again",
                quoted(&default),
                keys.join(", ")
            ),
        });
    };
    let first = languages.remove(at);
    languages.insert(0, first);
    Ok(languages)
}

/// One source per content folder: the site's `contentDir`, and each language's own.
fn sources(
    tree: &Tree,
    languages: &[Language],
    multilingual: bool,
    in_subdir: bool,
    notes: &mut Vec<String>,
) -> Vec<SourcePlan> {
    let shared_dir = PathBuf::from(tree.text(&["contentdir"]).unwrap_or(DEFAULT_CONTENT_DIR));
    // Folder → the languages that read it with their own `contentDir`.
    let mut own: BTreeMap<PathBuf, Vec<&Language>> = BTreeMap::new();
    let mut shared_used = false;
    for lang in languages {
        match text(&lang.settings, &["contentdir"]) {
            Some(dir) if Path::new(&dir) != shared_dir => {
                own.entry(PathBuf::from(dir)).or_default().push(lang);
            }
            _ => shared_used = true,
        }
    }
    let ugly = tree.flag(&["uglyurls"]);
    let site_permalinks = tree.get(&["permalinks"]);
    let mut sources = Vec::new();
    if shared_used {
        let exclude = own
            .keys()
            .filter_map(|dir| dir.strip_prefix(&shared_dir).ok())
            .filter(|rel| !rel.as_os_str().is_empty())
            .map(|rel| format!("{}/**", rel.to_string_lossy()))
            .collect();
        let mut source = source(
            "content".to_owned(),
            shared_dir.clone(),
            None,
            site_permalinks,
            multilingual,
            in_subdir,
            ugly,
            notes,
        );
        source.exclude = exclude;
        source.remove_path_accents = tree.flag(&["removepathaccents"]);
        sources.push(source);
    }
    for (dir, langs) in own {
        // Two languages sharing a folder of their own tell their files apart by file name.
        let (name, language, permalinks) = match langs.as_slice() {
            [only] => (
                format!("content-{}", only.key),
                Some(only.key.clone()),
                only.settings.get("permalinks").or(site_permalinks),
            ),
            _ => (format!("content-{}", langs[0].key), None, site_permalinks),
        };
        let mut source = source(
            name,
            dir,
            language,
            permalinks,
            multilingual,
            in_subdir,
            ugly,
            notes,
        );
        source.remove_path_accents = tree.flag(&["removepathaccents"]);
        sources.push(source);
    }
    sources
}

/// One directory source reading `dir`, with the permalinks of `permalinks` (Hugo's table).
#[allow(clippy::too_many_arguments)]
fn source(
    name: String,
    dir: PathBuf,
    language: Option<String>,
    permalinks: Option<&Value>,
    multilingual: bool,
    in_subdir: bool,
    ugly: bool,
    notes: &mut Vec<String>,
) -> SourcePlan {
    let lang = |pattern: &str| {
        if multilingual {
            permalink::with_language(pattern)
        } else {
            pattern.to_owned()
        }
    };
    let (default_pattern, origin) = if ugly {
        (
            "/{path}.html",
            "Hugo's default URL with uglyURLs: the page's path in the content folder, its `slug` \
             replacing the last segment, then .html",
        )
    } else {
        (
            "/{path}/",
            "Hugo's default URL: the page's path in the content folder, its `slug` replacing \
             the last segment",
        )
    };
    let mut source = SourcePlan {
        name,
        path: dir,
        language,
        permalink: lang(default_pattern),
        permalink_origin: origin.to_owned(),
        default_language_in_root: multilingual.then_some(!in_subdir),
        permalinks: Vec::new(),
        untranslated: Vec::new(),
        slugify: None,
        remove_path_accents: false,
        exclude: Vec::new(),
    };
    for (section, pattern) in page_permalinks(permalinks, notes) {
        match permalink::translate(&pattern) {
            Ok(Translated {
                pattern: crier,
                caveat,
            }) => {
                if let Some(caveat) = &caveat {
                    notes.push(format!(
                        "permalink of section {}: {caveat}",
                        quoted(&section)
                    ));
                }
                source.permalinks.push(SectionPermalink {
                    section,
                    pattern: lang(&crier),
                    caveat,
                });
            }
            Err(reason) => {
                notes.push(format!(
                    "permalink {} of section {} not carried over: {reason}; its entries get the \
                     default URL until you write a pattern",
                    quoted(&pattern),
                    quoted(&section)
                ));
                source.untranslated.push(Untranslated {
                    section: Some(section),
                    pattern,
                    reason,
                });
            }
        }
    }
    source
}

/// The page patterns of a Hugo `[permalinks]` table, section by section: the flat form
/// (`posts = "…"`) and the `page` kind of the by-kind form.
fn page_permalinks(table: Option<&Value>, notes: &mut Vec<String>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    match table {
        None => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    (_, Value::String(pattern)) => found.push((key.clone(), pattern.clone())),
                    ("page", Value::Object(pages)) => {
                        for (section, pattern) in pages {
                            if let Some(pattern) = pattern.as_str() {
                                found.push((section.clone(), pattern.to_owned()));
                            }
                        }
                    }
                    // Section, taxonomy and term pages are lists, not entries.
                    ("section" | "taxonomy" | "term", _) => {}
                    _ => {}
                }
            }
        }
        Some(_) => notes.push(
            "the site's [[permalinks]] list (Hugo's array form with page matchers) is not \
             carried over: write per-section patterns under [sources.permalinks]"
                .to_owned(),
        ),
    }
    // A flat key and a `page` key for one section: Hugo's by-kind form wins.
    let mut by_section: BTreeMap<String, String> = BTreeMap::new();
    for (section, pattern) in found {
        by_section.insert(section, pattern);
    }
    by_section.into_iter().collect()
}

/// `params.author` (a name, or `{ name, email }`), else the older `[author]` table.
fn author(tree: &Tree) -> Option<AuthorPlan> {
    let from = |value: &Value| match value {
        Value::String(name) if !name.trim().is_empty() => Some(AuthorPlan {
            name: name.trim().to_owned(),
            email: None,
        }),
        Value::Object(map) => text(map, &["name"]).map(|name| AuthorPlan {
            name,
            email: text(map, &["email"]),
        }),
        _ => None,
    };
    tree.get(&["params", "author"])
        .and_then(from)
        .or_else(|| tree.get(&["author"]).and_then(from))
}

/// The plural names of the site's taxonomies.
fn taxonomies(tree: &Tree) -> Vec<String> {
    match tree.get(&["taxonomies"]) {
        Some(Value::Object(map)) => {
            let mut names: Vec<String> = map
                .values()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            names.sort();
            names
        }
        _ => vec!["categories".to_owned(), "tags".to_owned()],
    }
}

/// The non-empty text at `path` of a table.
fn text(map: &Map<String, Value>, path: &[&str]) -> Option<String> {
    let (first, rest) = path.split_first()?;
    let value = rest
        .iter()
        .try_fold(map.get(*first)?, |value, key| value.get(key))?;
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

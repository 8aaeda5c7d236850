//! A Zola site's `config.toml` in crier's terms.
//!
//! What Zola does (<https://www.getzola.org/documentation/getting-started/configuration/>,
//! <https://www.getzola.org/documentation/content/multilingual/>), and so what is written:
//! - `base_url` (required by Zola), `title`, `description`, `author` (the default author of
//!   pages, a text);
//! - languages: `default_language` (default `en`), then the keys of `[languages]` (their
//!   `title` and `description` become the feeds'); the default language's pages live at the
//!   root, the others under `/{lang}/`, all in one `content` folder, told apart by file name
//!   (`page.fr.md`);
//! - Zola has no time-zone setting: crier's default (UTC) is kept, and the comment says so;
//! - a page's URL is its section path then its slug (`/{path}/`), slugified as
//!   `[slugify] paths` says (`"on"`, the default, `"safe"` or `"off"`);
//! - taxonomies: `taxonomies = [{ name = "tags" }, …]`, for the site and for each language.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::files::Tree;
use super::{
    AuthorPlan, Generator, InitError, LanguagePlan, Plan, SitePlan, SourcePlan, dedup,
    language_home, quoted,
};
use crate::site::is_language_tag;
use crate::values::HttpUrl;

/// Reads the Zola config of the site in `site` into a plan.
pub(super) fn plan(site: &Path, tree: Tree) -> Result<Plan, InitError> {
    let mut notes = Vec::new();
    let base_url = HttpUrl::parse(tree.text(&["base_url"]).unwrap_or_default()).map_err(|m| {
        InitError::Invalid {
            path: site.join(tree.origin(&["base_url"])),
            key: "base_url".to_owned(),
            message: format!(
                "{m}; crier builds entry URLs on it: set the site's public address, e.g. \
                 \"https://example.org\", and run crier init again"
            ),
        }
    })?;
    let default = tree.text(&["default_language"]).unwrap_or("en").to_owned();
    let mut languages = vec![default.clone()];
    if let Some(Value::Object(table)) = tree.get(&["languages"]) {
        // Zola keeps `[languages]` in a map: the order of the file is not meaningful.
        let mut others: Vec<String> = table.keys().filter(|k| **k != default).cloned().collect();
        others.sort();
        languages.extend(others);
    }
    let multilingual = languages.len() > 1;
    for lang in &languages {
        if !is_language_tag(lang) {
            notes.push(format!(
                "language {} is not a BCP 47 tag crier accepts (such as \"en\" or \"pt-BR\"); \
                 `crier check` will refuse it until it is renamed in site.languages",
                quoted(lang)
            ));
        }
    }
    let (title, title_origin) = match tree.text(&["title"]) {
        Some(title) => (title.to_owned(), "Zola's `title`".to_owned()),
        None => {
            notes.push(
                "the Zola config has no `title`: site.title is the site's host name; change it"
                    .to_owned(),
            );
            (
                base_url.host().to_owned(),
                "the Zola config has no `title`: this is the site's host name".to_owned(),
            )
        }
    };
    let per_language = if multilingual {
        languages
            .iter()
            .filter(|lang| **lang != default)
            .map(|lang| LanguagePlan {
                tag: lang.clone(),
                title: tree.text(&["languages", lang, "title"]).map(str::to_owned),
                description: tree
                    .text(&["languages", lang, "description"])
                    .map(str::to_owned),
                home: Some(language_home(&base_url, lang)),
            })
            .collect()
    } else {
        Vec::new()
    };

    let slugify = tree.text(&["slugify", "paths"]).unwrap_or("on").to_owned();
    if !matches!(slugify.as_str(), "on" | "safe" | "off") {
        return Err(InitError::Invalid {
            path: site.join(tree.origin(&["slugify", "paths"])),
            key: "slugify.paths".to_owned(),
            message: format!(
                "{} is not one of \"on\", \"safe\", \"off\"; Zola refuses it too: fix it and run \
                 crier init again",
                quoted(&slugify)
            ),
        });
    }
    if tree.flag(&["slugify", "paths_keep_dates"]) {
        notes.push(
            "the site keeps date prefixes in page URLs ([slugify] paths_keep_dates = true); \
             check the URLs `crier check` shows"
                .to_owned(),
        );
    }
    let permalink = if multilingual {
        "/{lang}/{path}/"
    } else {
        "/{path}/"
    };
    let source = SourcePlan {
        name: "content".to_owned(),
        path: PathBuf::from("content"),
        language: None,
        permalink: permalink.to_owned(),
        permalink_origin: "Zola's URL: the page's section path, then its slug".to_owned(),
        default_language_in_root: multilingual.then_some(true),
        permalinks: Vec::new(),
        untranslated: Vec::new(),
        slugify: Some(slugify),
        remove_path_accents: false,
        exclude: Vec::new(),
    };

    dedup(&mut notes);
    Ok(Plan {
        generator: Generator::Zola,
        read: tree.files.clone(),
        site: SitePlan {
            title,
            title_origin,
            description: tree.text(&["description"]).map(str::to_owned),
            base_url: base_url.as_str().to_owned(),
            languages,
            languages_origin: "Zola's default_language, then the keys of [languages]".to_owned(),
            timezone: None,
            timezone_origin: "Zola has no time-zone setting and reads dates without an offset \
                              as UTC: crier's default"
                .to_owned(),
            author: tree.text(&["author"]).map(|name| AuthorPlan {
                name: name.to_owned(),
                email: None,
            }),
            per_language,
        },
        sources: vec![source],
        taxonomies: taxonomies(&tree),
        notes,
    })
}

/// The names of the site's taxonomies, for the site and every language, without repeats.
fn taxonomies(tree: &Tree) -> Vec<String> {
    let mut lists = vec![tree.get(&["taxonomies"])];
    if let Some(Value::Object(languages)) = tree.get(&["languages"]) {
        lists.extend(languages.values().map(|l| l.get("taxonomies")));
    }
    let mut names: Vec<String> = lists
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|t| t.get("name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

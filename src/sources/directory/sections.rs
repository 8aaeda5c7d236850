//! Section files (`_index.md`, `_index.{lang}.md`): never entries themselves, but what their
//! front matter cascades applies to the pages below them, so they are listed with the pages,
//! are part of those pages' fingerprints (an edited `_index.md` makes its pages be read
//! again), and are read when one of those pages is.
//!
//! Hugo's [`cascade`](https://gohugo.io/content-management/front-matter/#cascade) (Hugo 0.76
//! and later): a table, or a list of tables, whose values every descendant page gets unless it
//! sets them itself or a nearer section cascades them first. `target` (`_target` before Hugo
//! 0.140) limits a table to the pages that match all of its globs: `path` (the page's logical
//! path: `/blog/my-post`, lower case, no extension, a bundle's folder), `kind` (crier's
//! entries are `page`s), `lang` and `environment` (crier matches `production`, what `hugo
//! build` uses). Globs are Hugo's: `*` stops at `/`, `**` does not, `{a,b}` alternates. Each
//! language has its own section tree in Hugo, so a page reads the `_index` files of its own
//! language (`_index.fr.md`, or `_index.md` in the source's language).
//!
//! Zola's section settings need little here: with `render = false` or `redirect_to` only the
//! section's own page is not written (Zola still renders the pages in it: `render_section`
//! renders `section.pages` before it looks at `render`), and `transparent` only lists the
//! pages in the parent section too. Pages of such sections are published like any other. A
//! section with `draft = true` is another matter: Zola does not walk its folder at all (in
//! any language), so its pages and subsections are left out like drafts
//! (<https://www.getzola.org/documentation/content/section/#drafting>); with `generator =
//! "zola"` such a section cascades `draft = true` to every page below it.

use std::collections::HashMap;
use std::path::PathBuf;

use globset::{GlobBuilder, GlobMatcher};
use rayon::prelude::*;
use serde_json::{Map, Value};

use super::frontmatter;
use super::slugs::Generator;
use super::{Problem, Settings};

/// The environment Hugo builds for with `hugo build`, which `target.environment` is matched
/// against.
const ENVIRONMENT: &str = "production";

/// Cascade keys Hugo refuses to pass on: they define the page tree.
const NOT_CASCADED: &[&str] = &["kind", "path", "lang", "cascade", "target", "_target"];

/// Keys that are one field under two names: a page setting either keeps its own.
const ALIASES: &[&[&str]] = &[&["build", "_build"]];

/// A section file found by the listing.
pub(super) struct SectionFile {
    /// Path relative to the source folder.
    pub(super) key: String,
    /// Where it is.
    pub(super) path: PathBuf,
    /// Size and modification time, or why it could not be examined.
    pub(super) fingerprint: Result<String, String>,
}

/// The section files of a source, by the folder they describe (`""` for the root).
#[derive(Default)]
pub(super) struct Sections {
    by_folder: HashMap<String, Vec<SectionFile>>,
}

/// The folder a key is in (`""` at the root).
fn folder_of(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The folders holding `key`, nearest first, ending with the root `""`.
fn ancestors(key: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(folder_of(key));
    std::iter::from_fn(move || {
        let current = next?;
        next = (!current.is_empty()).then(|| folder_of(current));
        Some(current)
    })
}

impl Sections {
    /// Gathers the listed section files.
    pub(super) fn new(files: Vec<SectionFile>) -> Self {
        let mut by_folder: HashMap<String, Vec<SectionFile>> = HashMap::new();
        for file in files {
            by_folder
                .entry(folder_of(&file.key).to_owned())
                .or_default()
                .push(file);
        }
        Sections { by_folder }
    }

    /// What the section files above the page at `key` add to its fingerprint: `None` when it
    /// has none, so that a page outside any section keeps its plain fingerprint.
    pub(super) fn fingerprint(&self, key: &str) -> Option<String> {
        let mut hasher = blake3::Hasher::new();
        let mut any = false;
        for folder in ancestors(key) {
            for file in self.by_folder.get(folder).into_iter().flatten() {
                any = true;
                let fingerprint = file.fingerprint.as_deref().unwrap_or("unreadable");
                hasher.update(format!("{}={fingerprint};", file.key).as_bytes());
            }
        }
        any.then(|| hasher.finalize().to_hex()[..16].to_owned())
    }

    /// Reads every section file (their language and cascades).
    pub(super) fn read(&self, settings: &Settings) -> Cascades {
        let by_folder = self
            .by_folder
            .par_iter()
            .map(|(folder, files)| {
                let read = files
                    .iter()
                    .filter_map(|file| {
                        let language = section_language(settings, &file.key)?;
                        Some(ReadSection {
                            language,
                            cascades: read_section(file, settings.generator),
                        })
                    })
                    .collect();
                (folder.clone(), read)
            })
            .collect();
        Cascades { by_folder }
    }
}

/// The language of a section file in its configured spelling: `_index.{lang}.md`'s, else the
/// source's. `None` for a suffix the site does not list (a language not built).
fn section_language(settings: &Settings, key: &str) -> Option<String> {
    let name = key.rsplit_once('/').map_or(key, |(_, name)| name);
    let stem = name.strip_suffix(".md").unwrap_or(name);
    match stem.strip_prefix("_index.") {
        Some(suffix) => settings.site().find_language(suffix).map(str::to_owned),
        None => Some(settings.language.clone()),
    }
}

/// One section file, read.
struct ReadSection {
    language: String,
    /// Its cascades, or what is wrong with it (naming the file and line).
    cascades: Result<Vec<Cascade>, String>,
}

/// What the section files say, by folder.
#[derive(Default)]
pub(super) struct Cascades {
    by_folder: HashMap<String, Vec<ReadSection>>,
}

/// The page a cascade is matched against.
pub(super) struct Page<'a> {
    /// The file's key.
    pub(super) key: &'a str,
    /// Hugo's logical path (`/blog/my-post`).
    pub(super) path: &'a str,
    /// Its language, in its configured spelling.
    pub(super) language: &'a str,
}

impl Cascades {
    /// Gives `fields` (a page's front matter) the values its sections cascade to it, nearest
    /// section first; a section file that cannot be read fails the page, since what it hides
    /// is not known.
    pub(super) fn apply(
        &self,
        page: &Page<'_>,
        fields: &mut Map<String, Value>,
    ) -> Result<(), Problem> {
        for folder in ancestors(page.key) {
            let sections = self.by_folder.get(folder).into_iter().flatten();
            for section in sections {
                let own = section.language == page.language;
                let cascades = match &section.cascades {
                    Ok(cascades) => cascades,
                    // Another language's section cascades nothing but a Zola draft.
                    Err(_) if !own => continue,
                    Err(message) => {
                        return Err(Problem::new(
                            None,
                            format!(
                                "{message}; the pages below that section are not read until it is fixed"
                            ),
                        ));
                    }
                };
                let applies = |c: &&Cascade| (own || c.every_language) && c.target.matches(page);
                for cascade in cascades.iter().filter(applies) {
                    merge(fields, &cascade.values);
                }
            }
        }
        Ok(())
    }
}

/// Sets in `page` the cascaded `values` it lacks; `params` and `extra` are merged key by key.
fn merge(page: &mut Map<String, Value>, values: &Map<String, Value>) {
    let has = |page: &Map<String, Value>, key: &str| page.get(key).is_some_and(|v| !v.is_null());
    for (key, value) in values {
        let names = ALIASES
            .iter()
            .find(|names| names.contains(&key.as_str()))
            .copied()
            .unwrap_or(&[]);
        if names.iter().any(|name| has(page, name)) {
            continue;
        }
        match (page.get_mut(key), value) {
            (Some(Value::Object(mine)), Value::Object(theirs))
                if key == "params" || key == "extra" =>
            {
                for (k, v) in theirs {
                    mine.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            (Some(mine), _) if !mine.is_null() => {}
            _ => {
                page.insert(key.clone(), value.clone());
            }
        }
    }
}

/// One cascade table: its values and the pages they go to.
struct Cascade {
    values: Map<String, Value>,
    target: Target,
    /// Applies to the pages of every language, not only the section's (a Zola draft).
    every_language: bool,
}

/// Hugo's page matcher: every glob given must match.
#[derive(Default)]
struct Target {
    path: Option<GlobMatcher>,
    kind: Option<GlobMatcher>,
    lang: Option<GlobMatcher>,
    environment: Option<GlobMatcher>,
}

impl Target {
    fn matches(&self, page: &Page<'_>) -> bool {
        let ok = |glob: &Option<GlobMatcher>, value: &str| {
            glob.as_ref()
                .is_none_or(|g| g.is_match(value.to_lowercase()))
        };
        ok(&self.path, page.path)
            && ok(&self.kind, "page")
            && ok(&self.lang, page.language)
            && ok(&self.environment, ENVIRONMENT)
    }
}

/// Reads the cascades of one section file; the error names the file (and line) and the key.
fn read_section(file: &SectionFile, generator: Generator) -> Result<Vec<Cascade>, String> {
    let at = |line: Option<usize>| match line {
        Some(line) => format!("section file {}:{line}", file.path.display()),
        None => format!("section file {}", file.path.display()),
    };
    let failed = |problem: Problem| format!("{}: {}", at(problem.line), problem.message);
    file.fingerprint
        .as_ref()
        .map_err(|reason| format!("{}: {reason}", at(None)))?;
    let bytes = std::fs::read(&file.path)
        .map_err(|e| format!("{}: cannot read the file: {e}", at(None)))?;
    let front = frontmatter::decode(&bytes)
        .and_then(frontmatter::parse)
        .map_err(failed)?;
    let line = front.lines.line_of("cascade");
    let mut cascades = cascades(front.fields.get("cascade"))
        .map_err(|message| format!("{}: {message}", at(line)))?;
    // A page's own `draft = false` would still keep it, where Zola skips the folder whole: a
    // page so written in a drafted section says two things, and crier takes the page's word.
    if generator == Generator::Zola && front.fields.get("draft") == Some(&Value::Bool(true)) {
        cascades.push(Cascade {
            values: Map::from_iter([("draft".to_owned(), Value::Bool(true))]),
            target: Target::default(),
            every_language: true,
        });
    }
    Ok(cascades)
}

/// The `cascade` value: a table or a list of tables.
fn cascades(value: Option<&Value>) -> Result<Vec<Cascade>, String> {
    let tables = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(table)) => vec![table],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_object().ok_or(()))
            .collect::<Result<_, _>>()
            .map_err(|()| "`cascade` must be a table or a list of tables".to_owned())?,
        Some(_) => return Err("`cascade` must be a table or a list of tables".to_owned()),
    };
    tables
        .into_iter()
        .map(|table| {
            let target = match table.get("target").or_else(|| table.get("_target")) {
                None | Some(Value::Null) => Target::default(),
                Some(Value::Object(target)) => read_target(target)?,
                Some(_) => return Err("`cascade.target` must be a table of globs".to_owned()),
            };
            let values = table
                .iter()
                .filter(|(k, _)| !NOT_CASCADED.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Cascade {
                values,
                target,
                every_language: false,
            })
        })
        .collect()
}

fn read_target(target: &Map<String, Value>) -> Result<Target, String> {
    let glob = |name: &str| -> Result<Option<GlobMatcher>, String> {
        let Some(value) = target.get(name).filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let pattern = value
            .as_str()
            .ok_or_else(|| format!("`cascade.target.{name}` must be a glob, e.g. \"/blog/**\""))?;
        GlobBuilder::new(&pattern.trim().to_lowercase())
            .literal_separator(true)
            .build()
            .map(|g| Some(g.compile_matcher()))
            .map_err(|e| format!("`cascade.target.{name}`: {pattern:?} is not a glob: {e}"))
    };
    Ok(Target {
        path: glob("path")?,
        kind: glob("kind")?,
        lang: glob("lang")?,
        environment: glob("environment")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("an object"),
        }
    }

    fn page<'a>(key: &'a str, path: &'a str) -> Page<'a> {
        Page {
            key,
            path,
            language: "en",
        }
    }

    #[test]
    fn ancestors_are_nearest_first_and_end_at_the_root() {
        assert_eq!(ancestors("a/b/c.md").collect::<Vec<_>>(), ["a/b", "a", ""]);
        assert_eq!(ancestors("c.md").collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn cascaded_values_fill_only_what_the_page_lacks() {
        let mut fields = object(json!({
            "title": "Mine",
            "_build": {"render": "always"},
            "params": {"city": "Ghent"},
        }));
        merge(
            &mut fields,
            &object(json!({
                "title": "Theirs",
                "build": {"render": "never"},
                "params": {"city": "Lyon", "country": "France"},
                "categories": ["News"],
            })),
        );
        assert_eq!(fields["title"], "Mine");
        assert!(!fields.contains_key("build"), "{fields:?}");
        assert_eq!(
            fields["params"],
            json!({"city": "Ghent", "country": "France"})
        );
        assert_eq!(fields["categories"], json!(["News"]));
    }

    #[test]
    fn targets_match_hugo_globs() {
        let list = cascades(Some(&json!([
            {"build": {"render": "never"}, "_target": {"path": "/snippets/**"}},
            {"params": {"x": 1}, "target": {"path": "{/blog,/blog/*}", "kind": "page", "lang": "en"}},
            {"params": {"y": 1}, "target": {"environment": "development"}},
            {"params": {"z": 1}, "target": {"kind": "section"}},
        ])))
        .expect("valid");
        let matching = |p: &Page<'_>| -> Vec<usize> {
            (0..list.len())
                .filter(|&i| list[i].target.matches(p))
                .collect()
        };
        assert_eq!(matching(&page("snippets/a/index.md", "/snippets/a")), [0]);
        assert_eq!(matching(&page("blog/x.md", "/blog/x")), [1]);
        // `*` stops at `/`.
        assert_eq!(
            matching(&page("blog/2024/x.md", "/blog/2024/x")),
            Vec::<usize>::new()
        );
        let fr = Page {
            language: "fr",
            ..page("blog/x.fr.md", "/blog/x")
        };
        assert_eq!(matching(&fr), Vec::<usize>::new());
        assert!(list[0].values.contains_key("build"));
        assert!(!list[0].values.contains_key("_target"));
    }

    #[test]
    fn bad_cascades_are_named() {
        assert!(cascades(Some(&json!("never"))).is_err());
        assert!(cascades(Some(&json!([1]))).is_err());
        let bad = cascades(Some(&json!({"target": {"path": "/a/[b"}}))).err();
        assert!(bad.is_some_and(|m| m.contains("cascade.target.path")));
    }
}

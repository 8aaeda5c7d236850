//! Finding a site's config files and merging them as its generator does.
//!
//! Hugo (<https://gohugo.io/configuration/introduction/>, and `config/allconfig/load.go`,
//! `config/configLoader.go` in its source): the first of `hugo.toml`, `hugo.yaml`,
//! `hugo.yml`, `hugo.json`, `config.toml`, `config.yaml`, `config.yml`, `config.json` at the
//! root; then every file of the configuration directory `config/_default/`, then of
//! `config/production/` (the environment `hugo` builds with), each merged over what came
//! before, key by key. In that directory `hugo.*` and `config.*` hold root keys, `NAME.*` holds
//! the value of root key `NAME` (`languages.toml`, `params.toml`, `permalinks.toml`), and
//! `NAME.LANG.*` belongs to language `LANG` (`params.fr.toml` is `languages.fr.params`).
//! Hugo's keys are case-insensitive: they are lowercased here, as Hugo does.
//!
//! Zola (<https://www.getzola.org/documentation/getting-started/configuration/>): one
//! `config.toml`, which must set `base_url`; that key tells it from a Hugo `config.toml`
//! (whose key is `baseURL`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::InitError;

/// The root config file names Hugo tries, in its order.
const HUGO_ROOT_FILES: [&str; 8] = [
    "hugo.toml",
    "hugo.yaml",
    "hugo.yml",
    "hugo.json",
    "config.toml",
    "config.yaml",
    "config.yml",
    "config.json",
];

/// Hugo's configuration directories, least specific first.
const HUGO_CONFIG_DIRS: [&str; 2] = ["config/_default", "config/production"];

/// A site's merged configuration.
#[derive(Debug)]
pub(super) enum Site {
    /// A Hugo site.
    Hugo(Tree),
    /// A Zola site.
    Zola(Tree),
}

/// The merged settings, with the file each one came from.
#[derive(Debug, Default)]
pub(super) struct Tree {
    /// Settings (Hugo's keys lowercased).
    pub(super) root: Map<String, Value>,
    /// Files read, relative to the site folder, in merge order.
    pub(super) files: Vec<PathBuf>,
    /// The file that last set each dotted key path (`languages.fr.title`).
    origins: BTreeMap<String, PathBuf>,
}

impl Tree {
    /// The value at `path` (Hugo keys in lower case).
    pub(super) fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.root.get(*first)?, |value, key| value.get(key))
    }

    /// The text at `path`, when it is a non-empty string.
    pub(super) fn text(&self, path: &[&str]) -> Option<&str> {
        self.get(path)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The boolean at `path`; `false` when absent or not a boolean.
    pub(super) fn flag(&self, path: &[&str]) -> bool {
        self.get(path).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The file that set `path` (or, for a key no file set, the first file read), relative to
    /// the site folder, for messages.
    pub(super) fn origin(&self, path: &[&str]) -> PathBuf {
        self.origins
            .get(&path.join("."))
            .or_else(|| self.files.first())
            .cloned()
            .unwrap_or_default()
    }

    /// Merges `value` (one file's settings, placed at `at`) over the tree.
    fn merge_file(&mut self, file: &Path, at: &[String], value: Map<String, Value>) {
        let mut placed = Value::Object(value);
        for key in at.iter().rev() {
            let mut wrapper = Map::new();
            wrapper.insert(key.clone(), placed);
            placed = Value::Object(wrapper);
        }
        let Value::Object(placed) = placed else {
            return;
        };
        record_origins(&mut self.origins, file, &mut Vec::new(), &placed);
        merge(&mut self.root, placed);
        self.files.push(file.to_owned());
    }
}

/// Deep merge: tables merge key by key, anything else is replaced (Hugo: "Set will overwrite
/// keys with the same name, recursively").
fn merge(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => merge(existing, incoming),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn record_origins(
    origins: &mut BTreeMap<String, PathBuf>,
    file: &Path,
    path: &mut Vec<String>,
    map: &Map<String, Value>,
) {
    for (key, value) in map {
        path.push(key.clone());
        origins.insert(path.join("."), file.to_owned());
        if let Value::Object(inner) = value {
            record_origins(origins, file, path, inner);
        }
        path.pop();
    }
}

/// Finds and reads the config of the site in `site`.
pub(super) fn load(site: &Path) -> Result<Site, InitError> {
    if !site.is_dir() {
        return Err(not_a_site(site));
    }
    let root_file = HUGO_ROOT_FILES
        .iter()
        .map(Path::new)
        .find(|name| site.join(name).is_file());
    let config_dirs: Vec<&Path> = HUGO_CONFIG_DIRS
        .iter()
        .map(Path::new)
        .filter(|dir| site.join(dir).is_dir())
        .collect();
    // Zola reads `config.toml` only, and requires `base_url` in it.
    if config_dirs.is_empty() && root_file == Some(Path::new("config.toml")) {
        let settings = parse(site, Path::new("config.toml"))?;
        if settings.contains_key("base_url") {
            let mut tree = Tree::default();
            tree.merge_file(Path::new("config.toml"), &[], settings);
            return Ok(Site::Zola(tree));
        }
    }
    if root_file.is_none() && config_dirs.is_empty() {
        return Err(not_a_site(site));
    }
    let mut tree = Tree::default();
    if let Some(name) = root_file {
        let settings = lowercase_keys(parse(site, name)?);
        tree.merge_file(name, &[], settings);
    }
    for dir in config_dirs {
        for file in config_dir_files(site, dir)? {
            let settings = lowercase_keys(parse(site, &file)?);
            tree.merge_file(&file, &hugo_key_path(&file), settings);
        }
    }
    Ok(Site::Hugo(tree))
}

fn not_a_site(site: &Path) -> InitError {
    let mut looked_for: Vec<String> = HUGO_ROOT_FILES.iter().map(|f| f.to_string()).collect();
    looked_for.extend(HUGO_CONFIG_DIRS.iter().map(|d| format!("{d}/")));
    InitError::NotASite {
        path: site.to_owned(),
        looked_for: format!(
            "{} (Hugo) and config.toml with base_url (Zola)",
            looked_for.join(", ")
        ),
    }
}

/// The config files of one of Hugo's configuration directories, relative to the site, in the
/// order Hugo walks them (lexical, folders included).
fn config_dir_files(site: &Path, dir: &Path) -> Result<Vec<PathBuf>, InitError> {
    let mut files = Vec::new();
    for item in walkdir::WalkDir::new(site.join(dir)).sort_by_file_name() {
        let item = item.map_err(|e| InitError::Io {
            action: "list",
            path: e.path().unwrap_or(&site.join(dir)).to_owned(),
            error: e.into(),
        })?;
        if item.file_type().is_file()
            && Format::of(item.path()).is_some()
            && let Ok(relative) = item.path().strip_prefix(site)
        {
            files.push(relative.to_owned());
        }
    }
    Ok(files)
}

/// Where a file of Hugo's configuration directory goes in the tree: `hugo.toml` and
/// `config.toml` at the root, `params.toml` under `params`, `params.fr.toml` under
/// `languages.fr.params`, `menus.en.toml` under `languages.en.menus`, `other.fr.toml` under
/// `languages.fr` (as Hugo's `LoadConfigFromDir` does).
fn hugo_key_path(file: &Path) -> Vec<String> {
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_lowercase();
    if name == "hugo" || name == "config" {
        return Vec::new();
    }
    match name.rsplit_once('.') {
        None => vec![name],
        Some((key, lang)) => {
            let mut path = vec!["languages".to_owned(), lang.to_owned()];
            if matches!(key, "menu" | "menus" | "params") {
                path.push(if key == "params" { "params" } else { "menus" }.to_owned());
            }
            path
        }
    }
}

/// The formats config files are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    /// The format a file's extension names (Hugo's `toml`, `yaml`, `yml`, `json`).
    fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Toml => "TOML",
            Format::Yaml => "YAML",
            Format::Json => "JSON",
        }
    }
}

/// Reads and parses one config file (`name` relative to `site`) into a table of settings.
fn parse(site: &Path, name: &Path) -> Result<Map<String, Value>, InitError> {
    let path = site.join(name);
    let format = Format::of(name).unwrap_or(Format::Toml);
    let text = std::fs::read_to_string(&path).map_err(|error| InitError::Io {
        action: "read",
        path: path.clone(),
        error,
    })?;
    let refused = |message: String| InitError::Parse {
        path: path.clone(),
        format: format.name(),
        message,
    };
    let value: Value = match format {
        Format::Toml => {
            let table: toml::Table = toml::from_str(&text).map_err(|e| {
                let at = e.span().map(|span| line_column(&text, span.start));
                refused(with_position(at, e.message()))
            })?;
            serde_json::to_value(table).map_err(|e| refused(e.to_string()))?
        }
        Format::Yaml => serde_yaml_ng::from_str::<Option<Value>>(&text)
            .map_err(|e| {
                let at = e.location().map(|l| (l.line(), l.column()));
                // The parser's own text repeats the position: keep only what went wrong.
                let message = e.to_string();
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                refused(with_position(at, &message))
            })?
            .unwrap_or(Value::Object(Map::new())),
        Format::Json => serde_json::from_str(&text).map_err(|e| {
            let at = (e.line() > 0).then(|| (e.line(), e.column()));
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            refused(with_position(at, &message))
        })?,
    };
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(refused(
            "the file must hold a table of settings (key = value), not a single value or a list"
                .to_owned(),
        )),
    }
}

fn with_position(at: Option<(usize, usize)>, message: &str) -> String {
    let message = message.trim();
    match at {
        Some((line, column)) => format!("line {line}, column {column}: {message}"),
        None => message.to_owned(),
    }
}

/// The 1-based line and column of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Hugo's keys are case-insensitive (`baseURL`, `baseurl`): all lowercased, in every table.
fn lowercase_keys(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .map(|(key, value)| (key.to_lowercase(), lowercase_value(value)))
        .collect()
}

fn lowercase_value(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(lowercase_keys(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(lowercase_value).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_dir_files_go_where_hugo_puts_them() {
        let cases = [
            ("config/_default/hugo.toml", vec![]),
            ("config/_default/config.yaml", vec![]),
            ("config/_default/params.toml", vec!["params"]),
            ("config/_default/languages.toml", vec!["languages"]),
            (
                "config/_default/params.fr.toml",
                vec!["languages", "fr", "params"],
            ),
            (
                "config/_default/menus.en.toml",
                vec!["languages", "en", "menus"],
            ),
            (
                "config/_default/menu.en.toml",
                vec!["languages", "en", "menus"],
            ),
        ];
        for (file, want) in cases {
            assert_eq!(hugo_key_path(Path::new(file)), want, "{file}");
        }
    }

    #[test]
    fn merging_replaces_values_and_merges_tables() {
        let mut tree = Tree::default();
        let first = serde_json::json!({"title": "A", "params": {"a": 1, "b": 2}});
        let second = serde_json::json!({"a": 3, "c": 4});
        let Value::Object(first) = first else {
            panic!()
        };
        let Value::Object(second) = second else {
            panic!()
        };
        tree.merge_file(Path::new("hugo.toml"), &[], first);
        tree.merge_file(
            Path::new("config/_default/params.toml"),
            &["params".to_owned()],
            second,
        );
        assert_eq!(tree.text(&["title"]), Some("A"));
        assert_eq!(
            tree.get(&["params"]),
            Some(&serde_json::json!({"a": 3, "b": 2, "c": 4}))
        );
        assert_eq!(
            tree.origin(&["params", "a"]),
            PathBuf::from("config/_default/params.toml")
        );
        assert_eq!(tree.origin(&["params", "b"]), PathBuf::from("hugo.toml"));
        assert_eq!(tree.origin(&["missing"]), PathBuf::from("hugo.toml"));
    }

    #[test]
    fn positions_are_one_based() {
        assert_eq!(line_column("a = 1\nb = ", 10), (2, 5));
        assert_eq!(line_column("", 0), (1, 1));
    }
}

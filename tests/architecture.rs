//! The layering of `src/`, checked: every module of the library uses only modules below it,
//! in the order `docs/ARCHITECTURE.md` draws ("Layers"), so that the map stays true when the
//! code moves.
//!
//! The check reads the source text rather than compiling anything: it finds the
//! `crate::<module>` paths in each file (grouped `use crate::{a, b::C}` too), outside
//! comments and outside `#[cfg(test)]` modules, and names the file, the line and the path of
//! each one that points up or sideways. Test code may reach further (a cycle test builds a
//! whole `Config`), with one exception kept here: the areas that take `&Site` and their own
//! section (`sources`, `feeds`, `channels`) never name `config::Config`, not even in tests.
//! `super::` paths stay inside their top-level module and are not looked at.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of the library, top to bottom, as docs/ARCHITECTURE.md ("Layers") lists them:
/// a module may use the modules of the rows below its own, never those of its row or above.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["report"],
    &["daemon"],
    &["engine"],
    &["config", "init"],
    &["channels", "feeds", "schedule", "sources"],
    &["store"],
    &["site"],
    &["entry", "progress", "secrets", "values"],
];

/// The areas whose code, tests included, must not name the whole config.
const NO_WHOLE_CONFIG: &[&str] = &["channels", "feeds", "sources"];

/// One file of `src/`, split into the code the layering applies to and its test code.
struct SourceFile {
    /// Path relative to the repository, for messages (`src/sources/feed.rs`).
    path: String,
    /// The top-level module it belongs to (`sources`).
    module: String,
    /// Its lines outside `#[cfg(test)]` modules, with their 1-based numbers.
    code: Vec<Line>,
    /// Its lines inside `#[cfg(test)]` modules (the whole file when it is one).
    tests: Vec<Line>,
}

/// A line of a file, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    number: usize,
    text: String,
}

/// A `crate::<module>` path found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Use {
    /// 1-based line of the path.
    line: usize,
    /// The top-level module it names.
    module: String,
}

/// The row of `module` in [`LAYERS`], 0 at the top.
fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The file a `mod name;` declared in `parent` lives in: beside `lib.rs`, `main.rs` and
/// `mod.rs`, else in the folder named after `parent`.
fn module_file(parent: &Path, name: &str) -> [PathBuf; 2] {
    let folder = parent.parent().expect("a file has a folder");
    let stem = parent.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let base = if matches!(stem, "lib" | "main" | "mod") {
        folder.to_owned()
    } else {
        folder.join(stem)
    };
    [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ]
}

/// The name of `mod name {` or `mod name;` at the start of `line`, with whether a block opens.
fn module_declaration(line: &str) -> Option<(&str, bool)> {
    let rest = line.trim_start().strip_prefix("mod ")?;
    let name_end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_end);
    match after.trim() {
        "{" => Some((name, true)),
        ";" => Some((name, false)),
        _ => None,
    }
}

/// A file's lines, told apart.
#[derive(Debug, Default)]
struct Split {
    /// Lines outside `#[cfg(test)]` modules, numbered from 1.
    code: Vec<Line>,
    /// Lines inside `#[cfg(test)] mod name { … }` blocks.
    tests: Vec<Line>,
    /// The names of `#[cfg(test)] mod name;` declarations: files of test code.
    test_modules: Vec<String>,
}

/// Splits `text` into code and test lines. A `#[cfg(test)]` line followed by `mod name {`
/// starts test code, which ends at the first `}` indented like the `mod` line (rustfmt
/// formats every file so); followed by `mod name;` it names a file of test code.
fn split_tests(text: &str) -> Split {
    let mut split = Split::default();
    let mut closing: Option<String> = None;
    let mut after_cfg_test = false;
    for (index, line) in text.lines().enumerate() {
        let numbered = Line {
            number: index + 1,
            text: line.to_owned(),
        };
        if let Some(end) = &closing {
            if line == end {
                closing = None;
            }
            split.tests.push(numbered);
            continue;
        }
        if after_cfg_test && let Some((name, block)) = module_declaration(line) {
            after_cfg_test = false;
            if block {
                let indent = &line[..line.len() - line.trim_start().len()];
                closing = Some(format!("{indent}}}"));
                split.tests.push(numbered);
            } else {
                split.test_modules.push(name.to_owned());
                split.code.push(numbered);
            }
            continue;
        }
        after_cfg_test = line.trim() == "#[cfg(test)]";
        split.code.push(numbered);
    }
    split
}

/// Reads every file of `src/` but `lib.rs`, which declares the modules, and `main.rs`, the
/// binary, which uses the library by its name; tells code from test code.
fn read_sources(root: &Path) -> Vec<SourceFile> {
    let src = root.join("src");
    let mut read = Vec::new();
    let mut test_files = BTreeSet::new();
    for path in rust_files(&src) {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let split = split_tests(&text);
        for name in &split.test_modules {
            test_files.extend(module_file(&path, name));
        }
        read.push((path, split));
    }
    read.into_iter()
        .filter_map(|(path, split)| {
            let first = path
                .strip_prefix(&src)
                .ok()?
                .components()
                .next()?
                .as_os_str()
                .to_str()?;
            let module = first.strip_suffix(".rs").unwrap_or(first).to_owned();
            if matches!(module.as_str(), "lib" | "main") {
                return None;
            }
            let (code, tests) = if test_files.contains(&path) {
                // A file declared `#[cfg(test)] mod x;` is test code from top to bottom.
                let mut all: Vec<_> = split.code.into_iter().chain(split.tests).collect();
                all.sort();
                (Vec::new(), all)
            } else {
                (split.code, split.tests)
            };
            Some(SourceFile {
                path: path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
                module,
                code,
                tests,
            })
        })
        .collect()
}

/// Whether `line` is a comment (`//`, `///`, `//!`) or inside one that starts a line (`*`).
fn is_comment(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("//") || line.starts_with("/*") || line.starts_with('*')
}

/// The identifier at the start of `text`, if one is.
fn identifier(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    Some(&text[..end]).filter(|name| !name.is_empty())
}

/// The top-level modules named by `crate::` paths in `lines` (comment lines skipped), in
/// order: `crate::store::Store` names `store`, `use crate::{feeds::FeedFile, store}` names
/// `feeds` and `store`, across lines too.
fn crate_uses(lines: &[Line]) -> Vec<Use> {
    // The code as one text, with each byte's line, so that a group may span lines.
    let mut text = String::new();
    let mut line_of = Vec::new();
    for line in lines.iter().filter(|l| !is_comment(&l.text)) {
        text.push_str(&line.text);
        text.push('\n');
        line_of.resize(text.len(), line.number);
    }
    let mut uses = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("crate::") {
        let start = from + found;
        from = start + "crate::".len();
        // `$crate::` (a macro's own crate) and `my_crate::` are not paths into this crate.
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = text[from..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (offset, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        if let Some(name) = identifier(&group[offset..]) {
                            let at = text.len() - group.len() + offset;
                            uses.push(Use {
                                line: line_of[at],
                                module: name.to_owned(),
                            });
                        }
                    }
                    _ => {}
                }
            }
        } else if let Some(name) = identifier(rest) {
            uses.push(Use {
                line: line_of[start],
                module: name.to_owned(),
            });
        }
    }
    uses
}

/// What is wrong with the imports of `file`, one message each.
fn violations(file: &SourceFile) -> Vec<String> {
    let mut found = layer_violations(file);
    if NO_WHOLE_CONFIG.contains(&file.module.as_str()) {
        for Line { number, text } in file.code.iter().chain(&file.tests) {
            if !is_comment(text) && text.contains("config::Config") {
                found.push(format!(
                    "{}:{number}: `{}` names `config::Config`; it takes `&Site` and its own section, tests included",
                    file.path, file.module
                ));
            }
        }
        for Use { line, module } in crate_uses(&file.tests) {
            if module == "config" {
                found.push(format!(
                    "{}:{line}: a test of `{}` uses `crate::config`; build the section and a `Site` instead",
                    file.path, file.module
                ));
            }
        }
    }
    found
}

/// The `crate::` paths of `file`'s code (not its tests) that do not point below its layer.
fn layer_violations(file: &SourceFile) -> Vec<String> {
    // Test-only files (`src/testing.rs`, the fixtures unit tests share) have no layer.
    if file.code.is_empty() {
        return Vec::new();
    }
    let Some(own) = rank(&file.module) else {
        return vec![format!(
            "{}: module `{}` has no row in LAYERS; place it in docs/ARCHITECTURE.md and in tests/architecture.rs",
            file.path, file.module
        )];
    };
    let mut found = Vec::new();
    for Use { line, module } in crate_uses(&file.code) {
        if module == file.module {
            continue;
        }
        match rank(&module) {
            Some(used) if used > own => {}
            Some(_) => found.push(format!(
                "{}:{line}: `{}` uses `crate::{module}`, which is not below it in docs/ARCHITECTURE.md",
                file.path, file.module
            )),
            None => found.push(format!(
                "{}:{line}: `{}` uses `crate::{module}`, which has no row in LAYERS",
                file.path, file.module
            )),
        }
    }
    found
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let files = read_sources(&repository());
    let problems: Vec<String> = files.iter().flat_map(violations).collect();
    assert!(
        problems.is_empty(),
        "imports against the layering of docs/ARCHITECTURE.md:\n{}",
        problems.join("\n")
    );
}

/// The graph the check saw, so that a scanner that finds nothing cannot pass: a few edges
/// the code is known to have, and every layer's modules present.
#[test]
fn the_scan_sees_the_real_graph() {
    let files = read_sources(&repository());
    let mut graph: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let uses = graph.entry(&file.module).or_default();
        uses.extend(
            crate_uses(&file.code)
                .into_iter()
                .map(|u| u.module)
                .filter(|m| *m != file.module),
        );
    }
    for module in LAYERS.iter().flat_map(|row| row.iter()) {
        assert!(graph.contains_key(module), "no file of `{module}` was read");
    }
    for (from, to) in [
        ("cli", "daemon"),
        ("daemon", "engine"),
        ("engine", "config"),
        ("engine", "store"),
        ("config", "sources"),
        ("feeds", "store"),
        ("channels", "secrets"),
        ("site", "values"),
    ] {
        assert!(
            graph[from].contains(to),
            "`{from}` → `{to}` not seen; the graph read: {graph:#?}"
        );
    }
    // The test modules of a file and the files declared `#[cfg(test)] mod x;` are told apart.
    let testing = files.iter().find(|f| f.path == "src/testing.rs");
    assert!(testing.is_some_and(|f| f.code.is_empty() && !f.tests.is_empty()));
    let cycle = files.iter().find(|f| f.path == "src/engine/cycle.rs");
    assert!(cycle.is_some_and(|f| !f.code.is_empty() && !f.tests.is_empty()));
}

fn numbered(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .map(|(i, l)| Line {
            number: i + 1,
            text: l.to_owned(),
        })
        .collect()
}

#[test]
fn paths_are_found_plain_grouped_and_across_lines_but_not_in_comments() {
    let text = "use crate::store::Store;\n\
                use crate::{\n    feeds::{self, FeedFile},\n    entry::Entry,\n};\n\
                /// See [`crate::engine`].\n\
                pub(crate) fn f() -> $crate::x { my_crate::y(); crate::values::parse() }\n";
    let found: Vec<String> = crate_uses(&numbered(text))
        .into_iter()
        .map(|u| format!("{}:{}", u.line, u.module))
        .collect();
    assert_eq!(found, ["1:store", "3:feeds", "4:entry", "7:values"]);
}

#[test]
fn an_upward_import_is_named_with_its_file_and_line_and_tests_are_apart() {
    let text = "use crate::entry::Entry;\n\
                use crate::engine::cycle;\n\
                \n\
                #[cfg(test)]\n\
                mod tests {\n    use crate::config::Config;\n}\n\
                fn after() {}\n";
    let Split {
        code,
        tests,
        test_modules,
    } = split_tests(text);
    assert!(test_modules.is_empty());
    assert_eq!(tests.first().map(|l| l.number), Some(5));
    assert_eq!(tests.last().map(|l| l.number), Some(7));
    assert!(
        code.iter()
            .any(|l| l.number == 8 && l.text == "fn after() {}")
    );
    assert_eq!(
        split_tests("#[cfg(test)]\nmod tests;\n").test_modules,
        ["tests"]
    );
    let file = SourceFile {
        path: "src/sources/x.rs".into(),
        module: "sources".into(),
        code,
        tests,
    };
    assert_eq!(
        violations(&file),
        [
            "src/sources/x.rs:2: `sources` uses `crate::engine`, which is not below it in docs/ARCHITECTURE.md",
            "src/sources/x.rs:6: `sources` names `config::Config`; it takes `&Site` and its own section, tests included",
            "src/sources/x.rs:6: a test of `sources` uses `crate::config`; build the section and a `Site` instead",
        ]
    );
    // A module of the same row is not below either; the engine's tests may build a Config.
    let sideways = SourceFile {
        path: "src/feeds/y.rs".into(),
        module: "feeds".into(),
        code: numbered("use crate::sources::Document;\nuse crate::store::Store;\n"),
        tests: Vec::new(),
    };
    assert_eq!(violations(&sideways).len(), 1);
    let engine = SourceFile {
        path: "src/engine/z.rs".into(),
        module: "engine".into(),
        code: numbered("use crate::config::Config;\n"),
        tests: numbered("use crate::config::Config;\n"),
    };
    assert!(violations(&engine).is_empty());
}

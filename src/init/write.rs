//! The plan as a commented `crier.toml`.
//!
//! The document is built with `toml_edit`: every value from the site's config is a TOML value
//! the library quotes and escapes, comments are decor in front of keys and tables, and
//! commented-out examples are one-key documents the library rendered, with `# ` in front. A
//! site value that appears inside a comment is quoted the same way ([`super::quoted`]), and
//! every line of a comment starts with `#`, so no value can break out of its comment.

use std::path::{Path, PathBuf};

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value, value};

use super::{Plan, SourcePlan, quoted};

/// Where comments are wrapped.
const WIDTH: usize = 95;

/// The config text for `plan`; `place` turns a folder relative to the site into the path to
/// write (relative to the config file's folder).
pub(super) fn render(plan: &Plan, place: &impl Fn(&Path) -> PathBuf) -> String {
    let mut out = Out {
        doc: DocumentMut::new(),
        position: 0,
        leftover: header(plan),
    };
    site(&mut out, plan);
    sources(&mut out, plan, place);
    feeds(&mut out, plan);
    store(&mut out);
    let mut trailing = std::mem::take(&mut out.leftover);
    trailing.push_str(CHANNELS);
    out.doc.set_trailing(trailing);
    out.doc.to_string()
}

/// The document being built, and the comments waiting for the next table.
struct Out {
    doc: DocumentMut,
    position: isize,
    leftover: String,
}

impl Out {
    /// A new table, placed after every table made so far, under `banner`.
    fn section(&mut self, banner: &str) -> Section {
        self.position += 1;
        let mut table = Table::new();
        table.set_position(Some(self.position));
        let prefix = format!(
            "{}\n{}",
            std::mem::take(&mut self.leftover),
            comment(banner)
        );
        table.decor_mut().set_prefix(prefix);
        Section {
            table,
            pending: String::new(),
        }
    }

    /// Ends `section`: its table, with what was pending moved before the next table.
    fn close(&mut self, section: Section) -> Table {
        self.leftover.push_str(&section.pending);
        section.table
    }
}

/// One table being filled, with the comments waiting for its next key.
struct Section {
    table: Table,
    pending: String,
}

impl Section {
    /// Sets `key`, with `doc` as its comment.
    fn set(&mut self, key: &str, item: impl Into<Value>, doc: &str) {
        self.table.insert(key, value(item));
        let pending = std::mem::take(&mut self.pending);
        let prefix = if doc.is_empty() && pending.is_empty() {
            String::new()
        } else {
            format!("{pending}\n{}", comment(doc))
        };
        if let Some(mut k) = self.table.key_mut(key) {
            k.leaf_decor_mut().set_prefix(prefix);
        }
    }

    /// Writes `key = item` commented out, with `doc` as its comment.
    fn example(&mut self, key: &str, item: impl Into<Value>, doc: &str) {
        self.pending.push('\n');
        self.pending.push_str(&comment(doc));
        self.pending.push_str(&commented(key, item));
    }

    /// A comment on its own.
    fn note(&mut self, text: &str) {
        self.pending.push('\n');
        self.pending.push_str(&comment(text));
    }
}

fn header(plan: &Plan) -> String {
    let read: Vec<String> = plan
        .read
        .iter()
        .map(|p| quoted(&p.to_string_lossy()))
        .collect();
    let mut text = format!(
        "crier configuration, written by `crier init` from the {} site's config ({}).\n\
         Check it, then run one cycle without posting anything:\n\
         \x20   crier --config crier.toml check\n\
         \x20   crier --config crier.toml run --once --dry-run\n\
         Every key is described in crier's config/example.toml and README; relative paths are\n\
         relative to this file's folder.",
        plan.generator.title(),
        read.join(", ")
    );
    if !plan.notes.is_empty() {
        text.push_str("\n\nTo check, from reading the site's config:");
        for note in &plan.notes {
            text.push_str("\n- ");
            text.push_str(note);
        }
    }
    comment(&text)
}

fn site(out: &mut Out, plan: &Plan) {
    let site = &plan.site;
    let mut s = out.section(
        "[site]: the website the entries belong to.\n\
         ---------------------------------------------------------------------------------------",
    );
    s.set(
        "title",
        &site.title,
        &format!("Site name, the feeds' title. From {}.", site.title_origin),
    );
    if let Some(description) = &site.description {
        s.set(
            "description",
            description,
            "One-line description, the feeds' description.",
        );
    }
    s.set(
        "base_url",
        &site.base_url,
        "The site's address; entry URLs are built on it.",
    );
    s.set(
        "languages",
        strings(&site.languages),
        &format!(
            "Languages of the site; the first is the default, for files that name none \
             (`page.md` rather than `page.fr.md`). From {}.",
            site.languages_origin
        ),
    );
    match &site.timezone {
        Some(tz) => s.set(
            "timezone",
            tz,
            &format!(
                "Time zone of dates written without an offset. From {}.",
                site.timezone_origin
            ),
        ),
        None => s.example(
            "timezone",
            "UTC",
            &format!(
                "Time zone of dates written without an offset. {}.",
                site.timezone_origin
            ),
        ),
    }
    let mut site_table = out.close(s);

    match &site.author {
        Some(author) => {
            let mut a = out.section("[site.author]: the default author of entries.");
            a.set("name", &author.name, "");
            if let Some(email) = &author.email {
                a.set("email", email, "");
            }
            let table = out.close(a);
            site_table.insert("author", Item::Table(table));
        }
        None => out.leftover.push_str(&comment(
            "\n[site.author]: the default author of entries (Atom requires one). The site's \
             config names none, so the site itself (title and base_url) is used. For example:\n\
             [site.author]\n\
             name = \"…\"",
        )),
    }

    if !site.per_language.is_empty() {
        let mut languages = Table::new();
        languages.set_implicit(true);
        for lang in &site.per_language {
            let mut l = out.section(&format!(
                "[site.language.{}]: the feeds of this language.",
                lang.tag
            ));
            if let Some(title) = &lang.title {
                l.set("title", title, "");
            }
            if let Some(description) = &lang.description {
                l.set("description", description, "");
            }
            if let Some(home) = &lang.home {
                l.set("home", home, "");
            }
            let table = out.close(l);
            languages.insert(&lang.tag, Item::Table(table));
        }
        site_table.insert("language", Item::Table(languages));
    }
    out.doc.insert("site", Item::Table(site_table));
}

fn sources(out: &mut Out, plan: &Plan, place: &impl Fn(&Path) -> PathBuf) {
    let mut tables = ArrayOfTables::new();
    for (i, source) in plan.sources.iter().enumerate() {
        let banner = if i == 0 {
            "[[sources]]: one directory source per content folder of the site.\n\
             ---------------------------------------------------------------------------------------"
        } else {
            "[[sources]]: another content folder of the site."
        };
        let mut s = out.section(banner);
        let table = source_table(out, &mut s, plan, source, place);
        tables.push(table);
    }
    out.doc.insert("sources", Item::ArrayOfTables(tables));
}

fn source_table(
    out: &mut Out,
    s: &mut Section,
    plan: &Plan,
    source: &SourcePlan,
    place: &impl Fn(&Path) -> PathBuf,
) -> Table {
    let generator = plan.generator;
    s.set("type", "directory", "");
    s.set(
        "name",
        &source.name,
        "Prefixes the ids of this source's entries: never change it once crier has run.",
    );
    let path = place(&source.path);
    s.set(
        "path",
        path.to_string_lossy().replace('\\', "/"),
        "The content folder.",
    );
    s.set(
        "generator",
        generator.as_str(),
        &format!(
            "Read the folder as {} does: which files are pages, slugs, dates, sections.",
            generator.title()
        ),
    );
    if let Some(language) = &source.language {
        s.set(
            "language",
            language,
            "The language of every file in this folder (the language's own contentDir).",
        );
    }
    s.set(
        "permalink",
        &source.permalink,
        &format!(
            "URL of an entry without a `url` key. {}.",
            source.permalink_origin
        ),
    );
    if let Some(in_root) = source.default_language_in_root {
        s.set(
            "default_language_in_root",
            in_root,
            if in_root {
                "The default language's pages live at the site root, the others under /{lang}/."
            } else {
                "Every language, the default one too, lives under /{lang}/ \
                 (Hugo's defaultContentLanguageInSubdir)."
            },
        );
    }
    if let Some(slugify) = &source.slugify {
        s.set(
            "slugify",
            slugify,
            "How file names become URL segments: Zola's [slugify] paths.",
        );
    }
    if source.remove_path_accents {
        s.set(
            "remove_path_accents",
            true,
            "Accents are taken out of URLs (Hugo's removePathAccents).",
        );
    }
    if !source.exclude.is_empty() {
        s.set(
            "exclude",
            strings(&source.exclude),
            "Folders another source reads (a language's own content folder).",
        );
    }
    s.note(&taxonomy_comment(&plan.taxonomies));
    if !source.untranslated.is_empty() {
        let mut text = String::from(
            "The site's permalink patterns below have no crier equivalent; their entries get \
             `permalink` until a pattern is written:\n[sources.permalinks]",
        );
        for u in &source.untranslated {
            let key = u.section.as_deref().unwrap_or("(default)");
            text.push_str(&format!(
                "\n{} = {}   # {}",
                quoted(key),
                quoted(&u.pattern),
                u.reason
            ));
        }
        s.note(&text);
    }
    let mut table = std::mem::replace(&mut s.table, Table::new());
    out.leftover.push_str(&std::mem::take(&mut s.pending));
    if !source.permalinks.is_empty() {
        let mut p = out.section(
            "[sources.permalinks]: URL patterns by top-level section, from the site's \
             [permalinks]; they replace `permalink` for that section's entries.",
        );
        for permalink in &source.permalinks {
            p.set(
                &permalink.section,
                &permalink.pattern,
                permalink.caveat.as_deref().unwrap_or(""),
            );
        }
        let permalinks = out.close(p);
        table.insert("permalinks", Item::Table(permalinks));
    }
    table
}

fn taxonomy_comment(taxonomies: &[String]) -> String {
    let names: Vec<String> = taxonomies.iter().map(|t| quoted(t)).collect();
    let (read, extra): (Vec<&String>, Vec<&String>) = taxonomies
        .iter()
        .partition(|t| matches!(t.as_str(), "categories" | "tags"));
    let mut text = format!(
        "Taxonomies of the site: {}. crier makes an entry's categories from its `categories` \
         and `tags` (top-level or under [taxonomies]) and adds this source's `categories`",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    );
    if read.is_empty() && !taxonomies.is_empty() {
        text.push_str("; none of the site's taxonomies is read as categories");
    }
    if !extra.is_empty() {
        let extra: Vec<String> = extra.iter().map(|t| quoted(t)).collect();
        text.push_str(&format!(
            "; the others ({}) are kept in the entry's extra fields, for templates",
            extra.join(", ")
        ));
    }
    text.push_str(".\ncategories = [\"…\"]");
    text
}

fn feeds(out: &mut Out, plan: &Plan) {
    let mut f = out.section(
        "[feeds]: the feed files crier writes.\n\
         ---------------------------------------------------------------------------------------",
    );
    f.set(
        "output_dir",
        "feeds",
        "Folder of the feed files, relative to this file: rss.xml, atom.xml and feed.json for \
         the whole site, and the same under {lang}/ for each language. Point it at a folder \
         your web server publishes (or the site's static/ folder).",
    );
    f.example(
        "public_url",
        format!("{}/feeds/", plan.site.base_url.trim_end_matches('/')),
        "Public URL of output_dir, for the feeds' self links. Default: {base_url}/feeds/.",
    );
    f.example(
        "categories",
        Array::new(),
        "Categories that get feeds of their own, under categories/{slug}/; [\"*\"] for all.",
    );
    let table = out.close(f);
    out.doc.insert("feeds", Item::Table(table));
}

fn store(out: &mut Out) {
    let mut s = out.section(
        "[store]: what crier has seen, so that it knows what is new.\n\
         ---------------------------------------------------------------------------------------",
    );
    s.set(
        "path",
        "state/crier.sqlite3",
        "SQLite database, relative to this file; its folder is created when missing. Keep it: \
         without it the next run records a new baseline.",
    );
    let table = out.close(s);
    out.doc.insert("store", Item::Table(table));
}

/// The closing comment: no channel is written, so nothing is posted until one is added.
const CHANNELS: &str = "
# ---------------------------------------------------------------------------------------------
# [[channels]]: the social accounts new entries are announced on. None yet, so crier only
# writes feeds. Add one table per account; secrets are never written here, only where to find
# them. Every key is in crier's config/example.toml and README (\"Announcements\"). E.g.:
#
# [[channels]]
# type = \"mastodon\"
# name = \"mastodon\"
# base_url = \"https://mastodon.example\"
# access_token = { env = \"CRIER_MASTODON_TOKEN\" }
";

/// `items` as a TOML array of strings.
fn strings(items: &[String]) -> Array {
    items.iter().map(String::as_str).collect()
}

/// `key = item` as the TOML library writes it, commented out.
fn commented(key: &str, item: impl Into<Value>) -> String {
    let mut doc = DocumentMut::new();
    doc.insert(key, value(item));
    comment(doc.to_string().trim_end())
}

/// `text` as comment lines, wrapped; every line starts with `#`.
fn comment(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            out.push_str("#\n");
            continue;
        }
        // Lines that look like TOML or a list item keep their shape.
        let toml_line = line
            .split_once(" = ")
            .is_some_and(|(key, _)| !key.contains(' ') || key.starts_with('"'));
        let header = line.starts_with('[') && line.ends_with(']');
        let keep = line.starts_with("  ") || header || toml_line;
        if keep || line.chars().count() + 2 <= WIDTH {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let indent = if line.starts_with("- ") { "  " } else { "" };
        let mut current = String::new();
        // Whether the current line holds nothing but its indent.
        let mut fresh = true;
        for word in line.split(' ') {
            if !fresh && current.chars().count() + 1 + word.chars().count() + 2 > WIDTH {
                out.push_str("# ");
                out.push_str(&current);
                out.push('\n');
                current = indent.to_owned();
                fresh = true;
            }
            if !fresh {
                current.push(' ');
            }
            current.push_str(word);
            fresh = false;
        }
        out.push_str("# ");
        out.push_str(&current);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_wrap_and_never_leave_a_line_uncommented() {
        let text = comment(&format!("{}\nsecond\n\n  kept = 1", "word ".repeat(40)));
        assert!(text.lines().all(|l| l.starts_with('#')), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
        assert!(text.contains("# second\n#\n#   kept = 1\n"), "{text}");
    }

    #[test]
    fn examples_are_rendered_by_the_library() {
        assert_eq!(
            commented("timezone", "Europe/Paris"),
            "# timezone = \"Europe/Paris\"\n"
        );
        // A value with a line break and quotes stays commented on every line, and reads back
        // once uncommented.
        let lines = commented("title", "a \"b\"\nc");
        assert!(lines.lines().all(|l| l.starts_with("# ")), "{lines}");
        let uncommented: String = lines.lines().map(|l| format!("{}\n", &l[2..])).collect();
        let back: toml::Table = toml::from_str(&uncommented).unwrap();
        assert_eq!(back["title"].as_str(), Some("a \"b\"\nc"));
        assert_eq!(super::quoted("a \"b\"\nc"), "\"a \\\"b\\\"\\nc\"");
    }
}

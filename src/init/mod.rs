//! `crier init --from PATH`: reads a Hugo or Zola site's configuration and writes a commented
//! `crier.toml` beside it that `crier check` and `crier run --once --dry-run` accept as is.
//!
//! The work has three steps, one file each:
//! - [`files`] finds the site's config files and merges them as the generator does (Hugo: the
//!   root `hugo.*`/`config.*` file, then `config/_default/` and `config/production/`, keys
//!   case-insensitive; Zola: `config.toml`), into one tree with the file each value came from;
//! - [`hugo`] and [`zola`] read that tree into a [`Plan`]: the `[site]` table and one directory
//!   source per content folder, in crier's terms, with notes on what could not be carried over
//!   ([`permalink`] translates Hugo's permalink tokens);
//! - [`write`] renders the plan as TOML with `toml_edit` (every value the site gave is emitted
//!   by the TOML library, never pasted into text), with comments that say where each value
//!   came from.
//!
//! The file is created with `create_new`, so an existing file is never replaced, even one that
//! appears between the check and the write.

mod files;
mod hugo;
mod permalink;
mod write;
mod zola;

#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Everything `crier init` can refuse or fail at.
#[derive(Debug, Error)]
pub enum InitError {
    /// The output file exists; nothing was written.
    #[error(
        "{} already exists; crier init never replaces a file: move it away, or write elsewhere with --output PATH",
        path.display()
    )]
    Exists {
        /// The file that exists.
        path: PathBuf,
    },
    /// The folder holds no Hugo or Zola config.
    #[error(
        "{} is neither a Hugo nor a Zola site: found none of {looked_for}; give --from the site's folder (the one holding its config file)",
        path.display()
    )]
    NotASite {
        /// The folder given with `--from`.
        path: PathBuf,
        /// The files and folders looked for, in order, comma-separated.
        looked_for: String,
    },
    /// A file or folder could not be read or written.
    // The cause is in the message, so it is not also a `#[source]` (it would print twice).
    #[error("cannot {action} {}: {error}", path.display())]
    Io {
        /// "read", "write", "list".
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Underlying I/O error.
        error: std::io::Error,
    },
    /// A config file does not parse.
    #[error(
        "{} is not valid {format}: {message}; fix the file (the generator would refuse it too) and run crier init again",
        path.display()
    )]
    Parse {
        /// The config file.
        path: PathBuf,
        /// "TOML", "YAML" or "JSON".
        format: &'static str,
        /// The parser's message, starting with the line and column when it gives them.
        message: String,
    },
    /// A value parses but cannot make a working crier config.
    #[error("{}: `{key}`: {message}", path.display())]
    Invalid {
        /// The config file that set the value (or should set it).
        path: PathBuf,
        /// The key as the generator's docs spell it, e.g. `baseURL`.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl InitError {
    /// Whether the command line asked for something impossible (exit 2): an existing output
    /// file, or a folder that is not a site.
    pub fn is_usage(&self) -> bool {
        matches!(self, InitError::Exists { .. } | InitError::NotASite { .. })
    }
}

/// The site generators `crier init` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// Hugo (gohugo.io).
    Hugo,
    /// Zola (getzola.org).
    Zola,
}

impl Generator {
    /// The value of a directory source's `generator` key.
    pub fn as_str(self) -> &'static str {
        match self {
            Generator::Hugo => "hugo",
            Generator::Zola => "zola",
        }
    }

    /// The generator's name for people.
    pub fn title(self) -> &'static str {
        match self {
            Generator::Hugo => "Hugo",
            Generator::Zola => "Zola",
        }
    }
}

/// What `crier init` wrote.
#[derive(Debug)]
pub struct Written {
    /// The new config file.
    pub path: PathBuf,
    /// The generator whose config was read.
    pub generator: Generator,
    /// The site's config files that were read, in merge order.
    pub read: Vec<PathBuf>,
    /// What could not be carried over, for the operator to check (also written as comments).
    pub notes: Vec<String>,
}

/// The config to write, in crier's terms.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) generator: Generator,
    /// The config files read, relative to the site folder.
    pub(crate) read: Vec<PathBuf>,
    pub(crate) site: SitePlan,
    pub(crate) sources: Vec<SourcePlan>,
    /// The site's taxonomies (plural names, as front matter writes them).
    pub(crate) taxonomies: Vec<String>,
    /// What the operator should check.
    pub(crate) notes: Vec<String>,
}

/// The `[site]` table.
#[derive(Debug)]
pub(crate) struct SitePlan {
    pub(crate) title: String,
    /// Where the title came from, for its comment.
    pub(crate) title_origin: String,
    pub(crate) description: Option<String>,
    pub(crate) base_url: String,
    /// Default language first.
    pub(crate) languages: Vec<String>,
    /// Where the languages came from, for their comment.
    pub(crate) languages_origin: String,
    /// IANA name, when the site sets one.
    pub(crate) timezone: Option<String>,
    /// Why the time zone is what it is, for its comment.
    pub(crate) timezone_origin: String,
    pub(crate) author: Option<AuthorPlan>,
    /// `[site.language.<tag>]` tables, in the order of `languages`.
    pub(crate) per_language: Vec<LanguagePlan>,
}

/// `[site.author]`.
#[derive(Debug)]
pub(crate) struct AuthorPlan {
    pub(crate) name: String,
    pub(crate) email: Option<String>,
}

/// One `[site.language.<tag>]` table.
#[derive(Debug)]
pub(crate) struct LanguagePlan {
    pub(crate) tag: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) home: Option<String>,
}

/// One `[[sources]]` table of type `directory`.
#[derive(Debug)]
pub(crate) struct SourcePlan {
    pub(crate) name: String,
    /// The content folder, relative to the site folder.
    pub(crate) path: PathBuf,
    /// The language of every file that names none (a per-language content folder).
    pub(crate) language: Option<String>,
    pub(crate) permalink: String,
    /// Why the permalink is what it is, for its comment.
    pub(crate) permalink_origin: String,
    /// Set on multilingual sites only.
    pub(crate) default_language_in_root: Option<bool>,
    /// Per-section patterns, in the site's order.
    pub(crate) permalinks: Vec<SectionPermalink>,
    /// Site patterns crier cannot express, written as comments.
    pub(crate) untranslated: Vec<Untranslated>,
    /// Zola's `[slugify] paths`.
    pub(crate) slugify: Option<String>,
    /// Hugo's `removePathAccents`.
    pub(crate) remove_path_accents: bool,
    /// Globs of folders another source reads (a per-language folder inside this one).
    pub(crate) exclude: Vec<String>,
}

/// One entry of a source's `permalinks` table.
#[derive(Debug)]
pub(crate) struct SectionPermalink {
    pub(crate) section: String,
    pub(crate) pattern: String,
    /// How crier's pattern differs from the generator's, if it does.
    pub(crate) caveat: Option<String>,
}

/// A generator permalink pattern with no crier equivalent.
#[derive(Debug)]
pub(crate) struct Untranslated {
    /// The section it applies to, `None` for the site-wide default.
    pub(crate) section: Option<String>,
    /// The generator's pattern, as written.
    pub(crate) pattern: String,
    pub(crate) reason: String,
}

/// Reads the site in `from` and writes its crier config to `output` (default
/// `from/crier.toml`), never replacing an existing file.
pub fn init(from: &Path, output: Option<&Path>) -> Result<Written, InitError> {
    let output = output.map_or_else(|| from.join("crier.toml"), Path::to_owned);
    // Checked before reading the site so that the operator hears of it first; `create_new`
    // below is what guarantees it.
    if output.exists() {
        return Err(InitError::Exists { path: output });
    }
    let plan = read_site(from)?;
    let output_dir = match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let text = write::render(&plan, &relative_to(from, &output_dir));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&output)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => InitError::Exists {
                path: output.clone(),
            },
            _ => InitError::Io {
                action: "create",
                path: output.clone(),
                error,
            },
        })?;
    if let Err(error) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        // A half-written config would be refused later with a confusing message.
        let _ = std::fs::remove_file(&output);
        return Err(InitError::Io {
            action: "write",
            path: output,
            error,
        });
    }
    Ok(Written {
        path: output,
        generator: plan.generator,
        read: plan.read,
        notes: plan.notes,
    })
}

/// Reads the site's config into a plan (nothing is written).
pub(crate) fn read_site(from: &Path) -> Result<Plan, InitError> {
    match files::load(from)? {
        files::Site::Hugo(tree) => hugo::plan(from, tree),
        files::Site::Zola(tree) => zola::plan(from, tree),
    }
}

/// Turns a folder relative to the site into the path to write in a config that lives in
/// `output_dir`: relative when the config is in the site folder (the default), absolute
/// otherwise, so that moving the site with its config keeps working.
fn relative_to(site: &Path, output_dir: &Path) -> impl Fn(&Path) -> PathBuf {
    let site_abs = std::fs::canonicalize(site).unwrap_or_else(|_| site.to_owned());
    let out_abs = std::fs::canonicalize(output_dir).unwrap_or_else(|_| output_dir.to_owned());
    move |folder: &Path| {
        let full = site_abs.join(folder);
        match full.strip_prefix(&out_abs) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_owned(),
            _ => full,
        }
    }
}

/// `value` as a one-line TOML basic string (quoted, escaped by `toml_writer`), so that a note
/// or comment never carries a raw line break or quote from the site's config.
pub(crate) fn quoted(value: &str) -> String {
    use toml_writer::WriteTomlValue as _;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = toml_writer::TomlStringBuilder::new(value)
        .as_basic()
        .write_toml_value(&mut out);
    out
}

/// The home page of language `tag`'s part of the site, `{base}{tag}/`, as Hugo and Zola place
/// a language that does not live at the root.
pub(crate) fn language_home(base: &crate::values::HttpUrl, tag: &str) -> String {
    let mut url = base.url().clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.join(&format!("{tag}/"))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| base.as_str().to_owned())
}

/// Drops repeated notes (a site-wide permalink applies to every source), keeping the order.
pub(crate) fn dedup(notes: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    notes.retain(|note| seen.insert(note.clone()));
}

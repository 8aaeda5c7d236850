//! Directory source: a folder tree of Markdown files with TOML (`+++`) or YAML (`---`) front
//! matter, laid out the way Hugo and Zola sites are.
//!
//! A read lists the folder (sorted, so the result is deterministic), fingerprints every file by
//! size and modification time, and parses in parallel only the files whose fingerprint the store
//! does not already hold. Each file becomes one [`Document`]; a broken file fails on its own with
//! its path and line, and never stops the others. Its failure lasts until the file changes
//! ([`Source::failures_last`]), so the cycle remembers it and the file is not parsed again
//! until then; a file that could not be opened is tried again every read.
//!
//! The submodules split the work: `frontmatter` finds and parses the front matter (`depth`
//! bounds YAML nesting before the parser runs), `fields`
//! maps Hugo and Zola field names onto a [`Draft`](super::finish::Draft), `filename` reads
//! language, slug and path from the file's key, `dates` reads the date formats both generators
//! accept, `markdown` renders the body and its excerpt, `shortcodes` replaces Hugo's and Zola's
//! shortcodes before it does, and `urls` builds permalinks. The
//! [`Finisher`] every source shares turns the draft into the
//! [`Entry`](crate::entry::Entry): ids, tag URIs, languages, categories, summary, absolute
//! image and author links.
//!
//! Choices where Hugo and Zola users have expectations:
//! - Besides hidden files, editor temp files and `_index.md` section pages, the other Markdown
//!   files inside a leaf bundle (a folder holding `index.md` or `index.{lang}.md`) are skipped:
//!   Hugo treats them as resources of the bundle page, not as pages.
//! - `exclude` globs use globset defaults (as Zola's `ignored_content` does: `*` also matches
//!   `/`) and are matched against file keys and folder paths, so `drafts` prunes a
//!   whole folder without walking it.
//! - A subfolder that cannot be listed stops the whole source (like a missing root) instead of
//!   silently dropping its files, which the store would take as deleted entries.
//! - Symbolic links to files are read; links to folders are not followed (no cycles).

mod dates;
mod depth;
mod fields;
mod filename;
mod frontmatter;
mod markdown;
mod shortcodes;
mod urls;

pub use shortcodes::{ShortcodeTemplate, Templates};

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use walkdir::WalkDir;

use super::config::{DirectorySourceConfig, Globs};
use super::finish::{Defaults, Finisher};
use super::{
    Cache, Document, EntryError, NoticeLevel, Notices, Outcome, Read, ReadInput, Source,
    SourceError,
};
use crate::site::Site;

/// Reads a folder of Markdown files.
pub struct DirectorySource {
    settings: Settings,
}

/// What a file needs from the config, resolved once in [`DirectorySource::new`]: the
/// directory's own settings, and the finisher that holds the site and the source's name and
/// categories.
struct Settings {
    /// Folder read, as configured (absolute after config loading).
    root: PathBuf,
    /// Permalink pattern with `{…}` placeholders.
    permalink: String,
    /// Leave `{lang}` empty for the default language.
    default_language_in_root: bool,
    /// Compiled `exclude` patterns.
    exclude: Globs,
    /// The source's own shortcode templates.
    shortcodes: Templates,
    /// Turns what a file says into its entry.
    finisher: Finisher,
}

impl Settings {
    fn site(&self) -> &Site {
        self.finisher.site()
    }

    fn name(&self) -> &str {
        self.finisher.name()
    }
}

/// What is wrong with one file, before it gets the file's path as location.
#[derive(Debug)]
struct Problem {
    /// 1-based line in the file, where known.
    line: Option<usize>,
    /// What is wrong, naming the field, and what to do.
    message: String,
}

impl Problem {
    fn new(line: Option<usize>, message: impl Into<String>) -> Self {
        Problem {
            line,
            message: message.into(),
        }
    }
}

/// A file found by the walk, not read yet.
struct Candidate {
    key: String,
    path: PathBuf,
    /// The fingerprint, or why the file could not even be examined.
    fingerprint: Result<String, String>,
}

impl DirectorySource {
    /// Prepares a reader for one configured folder.
    pub fn new(site: &Site, source: &DirectorySourceConfig) -> Self {
        let defaults = Defaults {
            name: &source.name,
            language: None,
            timezone: None,
            categories: &source.categories,
        };
        let settings = Settings {
            root: source.path.clone(),
            permalink: source.permalink.clone(),
            default_language_in_root: source.default_language_in_root,
            exclude: source.exclude.clone(),
            shortcodes: source.shortcodes.clone(),
            finisher: Finisher::new(site, &defaults),
        };
        DirectorySource { settings }
    }

    /// Lists the Markdown files to read, sorted by key.
    fn list(&self) -> Result<Vec<Candidate>, SourceError> {
        let root = &self.settings.root;
        let folder_error = |path: &Path, reason: String| SourceError::Folder {
            source_name: self.settings.name().to_owned(),
            path: path.to_owned(),
            reason,
        };
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(folder_error(root, "it is a file, not a folder".into())),
            Err(e) => return Err(folder_error(root, e.to_string())),
        }

        let mut candidates = Vec::new();
        let mut walker = WalkDir::new(root).sort_by_file_name().into_iter();
        while let Some(item) = walker.next() {
            let entry = item.map_err(|e| {
                let path = e.path().unwrap_or(root).to_owned();
                folder_error(&path, e.to_string())
            })?;
            if entry.depth() == 0 {
                continue;
            }
            let name = entry.file_name().to_string_lossy();
            let key = relative_key(root, entry.path());
            if entry.file_type().is_dir() {
                if name.starts_with('.') || self.settings.exclude.is_match(&key) {
                    walker.skip_current_dir();
                }
                continue;
            }
            if !name.ends_with(".md") || is_ignored_file(&name) {
                continue;
            }
            if self.settings.exclude.is_match(&key) {
                continue;
            }
            let path = entry.path().to_owned();
            let fingerprint = if entry.file_name().to_str().is_none() {
                Err("the file name is not valid UTF-8; rename the file".to_owned())
            } else {
                // `metadata` follows a symbolic link to the file it points to.
                match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_file() => Ok(fingerprint(&meta)),
                    Ok(_) => continue,
                    // Deleted between listing and now: it is simply gone.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => Err(format!("cannot read the file: {e}")),
                }
            };
            candidates.push(Candidate {
                key,
                path,
                fingerprint,
            });
        }
        candidates.sort_by(|a, b| a.key.cmp(&b.key));
        self.drop_bundle_resources(&mut candidates);
        Ok(candidates)
    }

    /// Removes the Markdown files that are resources of a leaf bundle (any file below a folder
    /// that holds `index.md` or `index.{lang}.md`, other than those index files themselves).
    fn drop_bundle_resources(&self, candidates: &mut Vec<Candidate>) {
        let bundles: HashSet<String> = candidates
            .iter()
            .filter_map(|c| {
                let (dir, file) = c.key.rsplit_once('/')?;
                self.is_index_file(file).then(|| dir.to_owned())
            })
            .collect();
        if bundles.is_empty() {
            return;
        }
        candidates.retain(|c| {
            let (dir, file) = c.key.rsplit_once('/').unwrap_or(("", &c.key));
            let in_bundle = |folder: &str| bundles.contains(folder);
            if !dir.is_empty() && !self.is_index_file(file) && in_bundle(dir) {
                return false;
            }
            // Any strict ancestor folder being a bundle makes this a resource too.
            !dir.match_indices('/').any(|(i, _)| in_bundle(&dir[..i]))
        });
    }

    fn is_index_file(&self, file: &str) -> bool {
        match file.strip_suffix(".md") {
            Some("index") => true,
            Some(stem) => stem
                .strip_prefix("index.")
                .is_some_and(|lang| self.settings.site().find_language(lang).is_some()),
            None => false,
        }
    }

    /// Reads and parses one file; the error is a file that could not be read at all, as
    /// opposed to one that was read and is wrong (an [`Outcome::Failed`]). What the file
    /// showed the operator should hear of goes to `notices`.
    fn parse_file(
        &self,
        path: &Path,
        key: &str,
        notices: &mut Notices,
    ) -> Result<Outcome, EntryError> {
        let location = |line: Option<usize>| match line {
            Some(line) => format!("{}:{line}", path.display()),
            None => path.display().to_string(),
        };
        let failed = |problem: Problem| {
            Outcome::Failed(EntryError {
                location: location(problem.line),
                message: problem.message,
            })
        };
        let bytes = std::fs::read(path).map_err(|e| EntryError {
            location: location(None),
            message: format!("cannot read the file: {e}"),
        })?;
        let parsed = frontmatter::decode(&bytes)
            .and_then(frontmatter::parse)
            .and_then(|front| fields::build(&self.settings, key, front));
        Ok(match parsed {
            Ok(fields::Parsed::Entry {
                entry,
                mut unknown_shortcodes,
            }) => {
                unknown_shortcodes.sort();
                unknown_shortcodes.dedup();
                for name in unknown_shortcodes {
                    notices.add(
                        NoticeLevel::Warning,
                        format!(
                            "unknown shortcode `{name}` left out of the entries (a paired one \
                             keeps its inner text); give it a template in the source's \
                             `shortcodes` table to render it"
                        ),
                        path.display().to_string(),
                    );
                }
                Outcome::Parsed(entry)
            }
            Ok(fields::Parsed::Unpublished) => Outcome::Skipped("draft".to_owned()),
            Err(problem) => failed(problem),
        })
    }
}

impl Source for DirectorySource {
    fn name(&self) -> &str {
        self.settings.name()
    }

    /// A file that was read and is wrong stays wrong until it is saved again, which changes
    /// its fingerprint (size and modification time): the cycle need not parse it again.
    fn failures_last(&self) -> bool {
        true
    }

    fn read(&self, input: &ReadInput<'_>) -> Result<Read, SourceError> {
        let known = input.known;
        let candidates = self.list()?;
        // An indexed parallel iterator keeps the input order, so the result stays sorted.
        let (documents, noticed): (Vec<Document>, Vec<Notices>) = candidates
            .into_par_iter()
            .map(|c| {
                let mut notices = Notices::default();
                let (fingerprint, outcome) = match c.fingerprint {
                    Ok(fp) if known.get(&c.key) == Some(&fp) => (fp, Outcome::Unchanged),
                    Ok(fp) => match self.parse_file(&c.path, &c.key, &mut notices) {
                        Ok(outcome) => (fp, outcome),
                        // Without a fingerprint the failure is not remembered: a file that
                        // could not be opened (permissions) may open next time unchanged.
                        Err(unread) => (String::new(), Outcome::Failed(unread)),
                    },
                    Err(message) => (
                        String::new(),
                        Outcome::Failed(EntryError {
                            location: c.path.display().to_string(),
                            message,
                        }),
                    ),
                };
                let document = Document {
                    key: c.key,
                    fingerprint,
                    outcome,
                };
                (document, notices)
            })
            .unzip();
        let mut notices = Notices::default();
        for found in noticed {
            notices.extend(found);
        }
        Ok(Read {
            documents,
            cache: Cache::new(),
            notices,
        })
    }
}

/// `path` relative to `root`, with `/` separators whatever the platform.
fn relative_key(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

/// Hidden files, editor leftovers and section pages, which are never entries.
fn is_ignored_file(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with(".#")
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name == "_index.md"
        || (name.starts_with("_index.") && name.ends_with(".md"))
}

/// `{size}:{modification time in nanoseconds since 1970}`; cheap to compute from a listing.
fn fingerprint(meta: &std::fs::Metadata) -> String {
    let nanos = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{}:{nanos}", meta.len())
}

//! Directory source: a folder tree of content files with TOML (`+++`), YAML (`---`) or JSON
//! (`{`) front matter, laid out the way Hugo and Zola sites are: Markdown (`.md`,
//! `.markdown`, `.mdown`) and Hugo's `.html` pages
//! (<https://gohugo.io/content-management/formats/>). An `.html` file without front matter
//! is a static file to Hugo and is passed over; Hugo's other formats (Org, AsciiDoc,
//! reStructuredText, Pandoc) are listed once per read as skipped ([`Read::notices`]).
//!
//! A read lists the folder (sorted, so the result is deterministic), fingerprints every file by
//! size and modification time (with `undated = "git"`, also the file's last commit), and
//! parses in parallel only the files whose fingerprint the store does not already hold. An
//! entry that expires (Hugo's `expiryDate`) carries its expiry in its fingerprint
//! (`…:until=…`), so that it is read again, and withdrawn, once that time has passed, even
//! though the file did not change. Each file becomes one [`Document`]; a broken file fails on its own with
//! its path and line, and never stops the others. Its failure lasts until the file changes
//! ([`Source::failures_last`]), so the cycle remembers it and the file is not parsed again
//! until then; a file that could not be opened is tried again every read.
//!
//! The submodules split the work: `frontmatter` finds and parses the front matter (`depth`
//! bounds YAML nesting before the parser runs), `fields`
//! maps Hugo and Zola field names onto a [`Draft`](super::finish::Draft), `filename` reads
//! format, language, date, slug and path from the file's key, `dates` reads the date formats
//! both generators accept, `git` dates pages by their commits, `markdown` renders the body and
//! its excerpt, `shortcodes` replaces Hugo's and Zola's shortcodes before it does, and `urls`
//! builds permalinks. The
//! [`Finisher`] every source shares turns the draft into the
//! [`Entry`](crate::entry::Entry): ids, tag URIs, languages, categories, summary, absolute
//! image and author links.
//!
//! Section files (`_index.md`, `_index.{lang}.md`) are no entries, but `sections` reads the
//! `cascade` in them, and `render` tells from a page's front matter whether the generator
//! writes it at all (Hugo `build` options, `headless`, Zola `render = false`, redirects): a
//! page it does not write is skipped, with the reason. `slugs` turns names into URL segments
//! the way the configured generator does.
//!
//! Choices where Hugo and Zola users have expectations:
//! - Besides hidden files, editor temp files and `_index.*` section pages, the other content
//!   files inside a leaf bundle (a folder holding `index.md`, `index.html`, … or
//!   `index.{lang}.md`) are skipped: Hugo treats them as resources of the bundle page, not as
//!   pages.
//! - A page without a date (an "about" page, documentation) is left out of the feeds quietly
//!   (`Skipped("undated")` and one notice per read), as Hugo and Zola leave it out of their
//!   date-ordered lists; `undated` may date it by git or by its file instead.
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
mod git;
mod images;
mod markdown;
mod render;
mod sections;
mod shortcodes;
mod slugs;
mod urls;

pub use shortcodes::{ShortcodeTemplate, Templates};

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rayon::prelude::*;
use walkdir::WalkDir;

use super::config::{DirectorySourceConfig, Globs, Undated};
use super::finish::{Defaults, Finisher};
use super::{
    Cache, Document, EntryError, NoticeLevel, Notices, Outcome, Read, ReadInput, Source,
    SourceError,
};
use crate::site::Site;
use filename::Format;

/// The notice for pages left out for want of a date.
const UNDATED_NOTICE: &str = "pages without a date, left out of the feeds as Hugo and Zola \
                              leave them out of date-ordered lists";

/// The notice for undated pages that git cannot date yet.
const UNCOMMITTED_NOTICE: &str = "pages without a date and not committed yet, left out of \
                                  the feeds until git dates them";
use sections::{Cascades, SectionFile, Sections};
use slugs::PathStyle;
pub use slugs::{Generator, Slugify};

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
    /// Patterns replacing `permalink` for the pages of a top-level section folder.
    permalinks: BTreeMap<String, String>,
    /// Language of the files that name none, in its configured spelling.
    language: String,
    /// How names become URL segments.
    style: PathStyle,
    /// Leave `{lang}` empty for the default language.
    default_language_in_root: bool,
    /// The generator whose rules the folder follows where crier cannot tell them apart.
    generator: Generator,
    /// Compiled `exclude` patterns.
    exclude: Globs,
    /// How pages without a date are dated.
    undated: Undated,
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
    /// How it is written.
    format: Format,
    /// Its modification time, to date it with `undated = "file"`.
    modified: Option<SystemTime>,
    /// The fingerprint, or why the file could not even be examined.
    fingerprint: Result<String, String>,
}

/// The files of one read: the pages to read, and what the listing noticed.
struct Listing {
    candidates: Vec<Candidate>,
    notices: Notices,
    /// The section files (`_index.*`) above the pages.
    sections: Sections,
}

impl DirectorySource {
    /// Prepares a reader for one configured folder.
    pub fn new(site: &Site, source: &DirectorySourceConfig) -> Self {
        let defaults = Defaults {
            name: &source.name,
            language: source.language.as_deref(),
            timezone: None,
            categories: &source.categories,
        };
        let language = source
            .language
            .as_deref()
            .and_then(|l| site.find_language(l))
            .unwrap_or(site.default_language())
            .to_owned();
        let settings = Settings {
            root: source.path.clone(),
            permalink: source.permalink.clone(),
            permalinks: source.permalinks.clone(),
            language,
            style: PathStyle {
                slugify: source.slugify(),
                remove_accents: source.remove_path_accents,
                keep_case: source.disable_path_to_lower,
                keep_dates: source.generator == Generator::Hugo,
            },
            default_language_in_root: source.default_language_in_root,
            generator: source.generator,
            exclude: source.exclude.clone(),
            undated: source.undated,
            shortcodes: source.shortcodes.clone(),
            finisher: Finisher::new(site, &defaults),
        };
        DirectorySource { settings }
    }

    /// Lists the content files to read, sorted by key, and the section files above them;
    /// files in a format crier cannot read go to the notices.
    fn list(&self) -> Result<Listing, SourceError> {
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
        let mut section_files = Vec::new();
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
            let Some((format, _)) = filename::format_of(&name) else {
                continue;
            };
            // Zola makes pages and sections of `.md` files only; any other file (`.markdown`,
            // `.html`, `.org`) is an asset it copies as it is, so no entry and no notice
            // (`Site::load` in Zola's components/site: "skip hidden files and non md files",
            // <https://www.getzola.org/documentation/content/page/>).
            if self.settings.generator == Generator::Zola && !name.ends_with(".md") {
                continue;
            }
            let section = is_section_file(&name);
            if (!section && is_ignored_file(&name)) || self.settings.exclude.is_match(&key) {
                continue;
            }
            let path = entry.path().to_owned();
            let mut modified = None;
            let fingerprint = if entry.file_name().to_str().is_none() {
                Err("the file name is not valid UTF-8; rename the file".to_owned())
            } else {
                // `metadata` follows a symbolic link to the file it points to.
                match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_file() => {
                        modified = meta.modified().ok();
                        Ok(fingerprint(&meta))
                    }
                    Ok(_) => continue,
                    // Deleted between listing and now: it is simply gone.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => Err(format!("cannot read the file: {e}")),
                }
            };
            if section {
                section_files.push(SectionFile {
                    key,
                    path,
                    fingerprint,
                });
                continue;
            }
            candidates.push(Candidate {
                key,
                path,
                format,
                modified,
                fingerprint,
            });
        }
        candidates.sort_by(|a, b| a.key.cmp(&b.key));
        self.drop_bundle_resources(&mut candidates);
        let mut notices = Notices::default();
        candidates.retain(|c| match c.format {
            Format::Markdown => true,
            // A file that cannot be opened is kept, to fail with its reason.
            Format::Html => c.fingerprint.is_err() || starts_with_front_matter(&c.path),
            Format::Unsupported(name) => {
                notices.add(
                    NoticeLevel::Warning,
                    format!("{name} content files, which crier cannot read: skipped"),
                    c.path.display().to_string(),
                );
                false
            }
        });
        Ok(Listing {
            candidates,
            notices,
            sections: Sections::new(section_files),
        })
    }

    /// Removes the content files that are resources of a leaf bundle (any file below a folder
    /// that holds `index.md`, `index.html`, … or `index.{lang}.md`, other than those index
    /// files themselves).
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
        match filename::format_of(file) {
            Some((_, "index")) => true,
            Some((_, stem)) => stem
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
        context: &fields::PageContext,
        cascades: &Cascades,
        notices: &mut Notices,
    ) -> Result<Parsed, EntryError> {
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
        let parsed = frontmatter::decode(&bytes).and_then(|text| match frontmatter::parse(text) {
            Ok(front) => fields::build(&self.settings, key, front, context, cascades),
            Err(problem) => match fields::hidden_by_sections(&self.settings, key, cascades) {
                Some(reason) => Ok(fields::Parsed::NotRendered(reason)),
                None => Err(problem),
            },
        });
        Ok(match parsed {
            Ok(fields::Parsed::Entry {
                entry,
                expires,
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
                Parsed {
                    outcome: Outcome::Parsed(entry),
                    expires,
                }
            }
            Ok(fields::Parsed::Unpublished) => Parsed::skipped("draft"),
            Ok(fields::Parsed::Expired) => Parsed::skipped("expired"),
            Ok(fields::Parsed::Undated) => Parsed::skipped("undated"),
            Ok(fields::Parsed::NotRendered(reason)) => Parsed::skipped(&reason),
            Err(problem) => Parsed {
                outcome: failed(problem),
                expires: None,
            },
        })
    }

    /// What `undated` gives a page without dates of its own: the dates git has for it, or
    /// its modification time.
    fn outside_dates(
        &self,
        key: &str,
        modified: Option<SystemTime>,
        git: Option<&HashMap<String, git::GitDates>>,
    ) -> (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>) {
        match self.settings.undated {
            Undated::Skip => (None, None),
            Undated::File => {
                let timezone = self.settings.finisher.timezone();
                let modified = modified.map(|m| {
                    DateTime::<Utc>::from(m)
                        .with_timezone(&timezone)
                        .fixed_offset()
                });
                (modified, None)
            }
            Undated::Git => match git.and_then(|g| g.get(key)) {
                Some(dates) => (Some(dates.first), Some(dates.last)),
                None => (None, None),
            },
        }
    }

    /// The dates git has for every file, when `undated = "git"`.
    fn git_dates(&self) -> Result<Option<HashMap<String, git::GitDates>>, SourceError> {
        if self.settings.undated != Undated::Git {
            return Ok(None);
        }
        git::dates(&self.settings.root)
            .map(Some)
            .map_err(|reason| SourceError::Git {
                source_name: self.settings.name().to_owned(),
                path: self.settings.root.clone(),
                reason,
            })
    }
}

/// What reading one file gave, with what its fingerprint must carry.
struct Parsed {
    outcome: Outcome,
    /// When the entry expires, if it does.
    expires: Option<DateTime<FixedOffset>>,
}

impl Parsed {
    fn skipped(reason: &str) -> Self {
        Parsed {
            outcome: Outcome::Skipped(reason.to_owned()),
            expires: None,
        }
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
        let Listing {
            mut candidates,
            mut notices,
            sections,
        } = self.list()?;
        // A page's fingerprint covers the section files above it: their cascade may hide it.
        for c in &mut candidates {
            if let (Ok(fp), Some(above)) = (&mut c.fingerprint, sections.fingerprint(&c.key)) {
                fp.push('+');
                fp.push_str(&above);
            }
        }
        let git = self.git_dates()?;
        let changed = |c: &Candidate| match &c.fingerprint {
            Ok(fp) => !input
                .known
                .get(&c.key)
                .is_some_and(|stored| still_valid(stored, fp, input.now)),
            Err(_) => false,
        };
        // Section files are read only when some page below them is.
        let cascades = if git.is_some() || candidates.iter().any(changed) {
            sections.read(&self.settings)
        } else {
            Cascades::default()
        };
        input.progress.add_total(candidates.len() as u64);
        // An indexed parallel iterator keeps the input order, so the result stays sorted.
        let (documents, noticed): (Vec<Document>, Vec<Notices>) = candidates
            .into_par_iter()
            .map(|c| {
                let read = self.read_one(c, input, git.as_ref(), &cascades);
                input.progress.advance(1);
                read
            })
            .unzip();
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

impl DirectorySource {
    /// Reads one listed file, unless its fingerprint is known and still stands.
    fn read_one(
        &self,
        c: Candidate,
        input: &ReadInput<'_>,
        git: Option<&HashMap<String, git::GitDates>>,
        cascades: &Cascades,
    ) -> (Document, Notices) {
        let mut notices = Notices::default();
        let Candidate {
            key,
            path,
            format,
            modified,
            fingerprint,
        } = c;
        let listed = fingerprint.map(|fp| match git.and_then(|g| g.get(&key)) {
            // A commit changes what git says of the page: read it again then.
            Some(dates) => format!("{fp}:git={}", stamp(dates.last)),
            None => fp,
        });
        let (fingerprint, outcome) = match listed {
            Ok(fp) => match input.known.get(&key) {
                Some(stored) if still_valid(stored, &fp, input.now) => {
                    (stored.clone(), Outcome::Unchanged)
                }
                _ => {
                    let (published, updated) = self.outside_dates(&key, modified, git);
                    let context = fields::PageContext {
                        now: input.now,
                        format,
                        published,
                        updated,
                    };
                    match self.parse_file(&path, &key, &context, cascades, &mut notices) {
                        Ok(Parsed {
                            outcome,
                            expires: Some(until),
                        }) => (format!("{fp}:until={}", stamp(until)), outcome),
                        Ok(Parsed { outcome, .. }) => (fp, outcome),
                        // Without a fingerprint the failure is not remembered: a file that
                        // could not be opened (permissions) may open next time unchanged.
                        Err(unread) => (String::new(), Outcome::Failed(unread)),
                    }
                }
            },
            Err(message) => (
                String::new(),
                Outcome::Failed(EntryError {
                    location: path.display().to_string(),
                    message,
                }),
            ),
        };
        if matches!(&outcome, Outcome::Skipped(reason) if reason == "undated") {
            let cause = if self.settings.undated == Undated::Git {
                UNCOMMITTED_NOTICE
            } else {
                UNDATED_NOTICE
            };
            notices.add(NoticeLevel::Info, cause, path.display().to_string());
        }
        let document = Document {
            key,
            fingerprint,
            outcome,
        };
        (document, notices)
    }
}

/// Whether the fingerprint `stored` last time still stands for a file whose listing gives
/// `listed`: the same, or the same with an expiry (`:until=`) that is still to come.
fn still_valid(stored: &str, listed: &str, now: DateTime<Utc>) -> bool {
    let Some(rest) = stored.strip_prefix(listed) else {
        return false;
    };
    match rest.strip_prefix(":until=") {
        None => rest.is_empty(),
        Some(until) => DateTime::parse_from_rfc3339(until).is_ok_and(|until| until > now),
    }
}

/// A time as fingerprints write it: RFC 3339 in UTC.
fn stamp(time: DateTime<FixedOffset>) -> String {
    time.with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Whether an `.html` file starts with front matter (after a byte order mark and blank
/// space), which makes it a page rather than a static file. Only its first bytes are read.
fn starts_with_front_matter(path: &Path) -> bool {
    let mut head = [0u8; 512];
    let Ok(read) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else {
        // Unreadable now: let the parse say why.
        return true;
    };
    let head = &head[..read];
    let head = head.strip_prefix("\u{feff}".as_bytes()).unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| {
        let rest = &head[i..];
        rest.starts_with(b"+++") || rest.starts_with(b"---") || rest.starts_with(b"{")
    })
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

/// A section page (`_index.md`, `_index.{lang}.md`): no entry, but read for its cascade.
fn is_section_file(name: &str) -> bool {
    name == "_index.md" || (name.starts_with("_index.") && name.ends_with(".md"))
}

/// Hidden files, editor leftovers and section pages, which are never entries.
fn is_ignored_file(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with(".#")
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || filename::format_of(name)
            .is_some_and(|(_, stem)| stem == "_index" || stem.starts_with("_index."))
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

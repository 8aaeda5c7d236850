//! What a file's key (its path relative to the source folder) says about its entry: its
//! content format (by extension), the folders above the page, its name, a `.{lang}.md`
//! language suffix, whether it is a leaf bundle (`dir/index.md`), a date that starts its name
//! (Zola), and from that the `{section}`, `{path}` and `{slug}` placeholders in the source's
//! [`PathStyle`], and the permalink pattern of the page's section.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use url::Url;

use super::Settings;
use super::slugs::{PathStyle, hugo_sanitize};
use super::urls::{self, Placeholders};
use crate::sources::dates::in_timezone;

/// How a content file is written, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `.md` (Hugo and Zola), `.markdown` or `.mdown` (Hugo; Zola reads `.md` only).
    Markdown,
    /// `.html` or `.htm` (Hugo): a page when it has front matter, a static file otherwise;
    /// its body is HTML already.
    Html,
    /// A format Hugo renders through an external program (Org, AsciiDoc, reStructuredText,
    /// Pandoc), which crier cannot read; the name says which.
    Unsupported(&'static str),
}

/// Extensions of the content files crier reads, longest first where one ends another.
const READ: [(&str, Format); 5] = [
    (".markdown", Format::Markdown),
    (".mdown", Format::Markdown),
    (".md", Format::Markdown),
    (".html", Format::Html),
    (".htm", Format::Html),
];

/// Extensions of Hugo's other content formats
/// (<https://gohugo.io/content-management/formats/>).
const NOT_READ: [(&str, &str); 7] = [
    (".org", "Emacs Org"),
    (".adoc", "AsciiDoc"),
    (".asciidoc", "AsciiDoc"),
    (".ad", "AsciiDoc"),
    (".rst", "reStructuredText"),
    (".pandoc", "Pandoc"),
    (".pdc", "Pandoc"),
];

/// The content format of a file named `name`, with the name without its extension; `None`
/// for a file that is no content (an image, a data file).
pub(super) fn format_of(name: &str) -> Option<(Format, &str)> {
    let read = READ
        .iter()
        .find_map(|(ext, format)| Some((*format, name.strip_suffix(ext)?)));
    read.or_else(|| {
        NOT_READ
            .iter()
            .find_map(|(ext, format)| Some((Format::Unsupported(format), name.strip_suffix(ext)?)))
    })
    .filter(|(_, stem)| !stem.is_empty() && !stem.ends_with('/'))
}

/// `key` without the extension of its content format.
pub(super) fn strip_extension(key: &str) -> &str {
    format_of(key).map_or(key, |(_, stem)| stem)
}

/// What a file's key says about the entry: folders, name, language suffix, bundle, date.
pub(super) struct FileName<'a> {
    /// Folders holding the page (for a leaf bundle, the bundle folder is the page).
    pub(super) folders: &'a str,
    /// Name of the page: the file stem without language suffix, or the bundle folder.
    pub(super) own_name: &'a str,
    /// `key` without its extension and the language suffix.
    pub(super) stem_path: &'a str,
    /// Language named by a `.{lang}.md` suffix, in its configured spelling.
    pub(super) language: Option<&'a str>,
    /// The date a Zola page's name starts with (`2024-03-12-slug`), in the site timezone when
    /// it has no offset.
    pub(super) date: Option<DateTime<FixedOffset>>,
    /// `own_name` without that date and its separator: the default slug (`slug`).
    pub(super) undated_name: &'a str,
}

impl<'a> FileName<'a> {
    pub(super) fn new(settings: &'a Settings, key: &'a str) -> Self {
        let stem_path = strip_extension(key);
        let site = settings.site();
        let (stem_path, language) = match stem_path.rsplit_once('.') {
            Some((rest, suffix)) if !suffix.contains('/') => match site.find_language(suffix) {
                Some(lang) => (rest, Some(lang)),
                None => (stem_path, None),
            },
            _ => (stem_path, None),
        };
        let (dir, stem) = stem_path.rsplit_once('/').unwrap_or(("", stem_path));
        let (folders, own_name) = if stem == "index" && !dir.is_empty() {
            dir.rsplit_once('/').unwrap_or(("", dir))
        } else {
            (dir, stem)
        };
        let (date, undated_name) = match dated_name(own_name, settings.finisher.timezone()) {
            Some(DatedName { date, rest }) => (Some(date), rest.unwrap_or(own_name)),
            None => (None, own_name),
        };
        FileName {
            folders,
            own_name,
            stem_path,
            language,
            date,
            undated_name,
        }
    }

    /// The top-level section folder as written (empty for a page at the root).
    pub(super) fn top_section(&self) -> &'a str {
        self.folders.split('/').next().unwrap_or("")
    }

    /// `{section}`: the first folder above the page.
    pub(super) fn section(&self, style: &PathStyle) -> String {
        style.folder(self.top_section())
    }

    /// `{path}`: folders above the page, then the slug.
    pub(super) fn path(&self, style: &PathStyle, slug: &str) -> String {
        let mut path: Vec<String> = self
            .folders
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|folder| style.folder(folder))
            .collect();
        path.push(slug.to_owned());
        path.join("/")
    }

    /// The page's slug when no `slug` key gives one: its name in the source's style, without
    /// a date prefix unless the style keeps dates (Hugo, whose default slug is the whole name).
    pub(super) fn default_slug(&self, style: &PathStyle) -> String {
        if style.keep_dates {
            style.slug(self.own_name)
        } else {
            style.slug(self.undated_name)
        }
    }

    /// Hugo's logical path of the page (`/blog/my-post`), which `cascade.target.path` globs
    /// are matched against: lower case, no extension or language, a bundle's folder.
    pub(super) fn logical_path(&self) -> String {
        let mut path = String::new();
        let folders = self.folders.split('/').filter(|s| !s.is_empty());
        for segment in folders.chain([self.own_name]) {
            path.push('/');
            path.push_str(&hugo_sanitize(segment).to_lowercase());
        }
        path
    }

    pub(super) fn translation_key(&self) -> String {
        self.stem_path.to_owned()
    }

    /// The configured permalink of this page, with slug `slug` in `language`; `{year}`,
    /// `{month}` and `{day}` stay empty without a `date`.
    pub(super) fn permalink(
        &self,
        settings: &Settings,
        slug: &str,
        language: &str,
        date: Option<DateTime<FixedOffset>>,
    ) -> Url {
        let site = settings.site();
        let lang = if settings.default_language_in_root && language == site.default_language() {
            ""
        } else {
            language
        };
        let pattern = settings
            .permalinks
            .get(self.top_section())
            .unwrap_or(&settings.permalink);
        urls::permalink(
            site.base_url.url(),
            pattern,
            &Placeholders {
                lang,
                slug,
                section: &self.section(&settings.style),
                path: &self.path(&settings.style, slug),
                date,
            },
        )
    }
}

/// A date at the start of a page's name, as Zola reads it
/// (<https://www.getzola.org/documentation/content/page/#front-matter>, regex `RFC3339_DATE`
/// in Zola's `content/src/page.rs`).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DatedName<'a> {
    /// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (a time needs its offset).
    pub(super) date: DateTime<FixedOffset>,
    /// What follows the date and a `_` or `-` (a space may come before it); `None` when the
    /// name is the date alone.
    pub(super) rest: Option<&'a str>,
}

/// The date `name` starts with, if any. Zola's regex also takes the date of a name that goes
/// on without a separator (`2024-03-12abc`); crier does not, so that such a name stays a
/// name.
pub(super) fn dated_name(name: &str, timezone: Tz) -> Option<DatedName<'_>> {
    let day = NaiveDate::parse_from_str(name.get(..10)?, "%Y-%m-%d").ok()?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&name[..4]) || !digits(&name[5..7]) || !digits(&name[8..10]) {
        return None;
    }
    let mut rest = &name[10..];
    let mut date = in_timezone(day.and_time(NaiveTime::MIN), timezone);
    if let Some(time) = rest.strip_prefix('T') {
        // `HH:MM:SS`, a fraction, then `Z` or `±HH:MM`; without all of that Zola's regex
        // takes the bare date and the name has no slug part.
        let end = time
            .find(|c: char| !(c.is_ascii_digit() || ":.+-Z".contains(c)))
            .unwrap_or(time.len());
        // The separator before the slug may be a `-`, which also starts an offset: try the
        // longest datetime first.
        let found = (19..=11 + end).rev().find_map(|len| {
            let text = name.get(..len)?;
            let parsed = DateTime::parse_from_rfc3339(text).ok()?;
            let after = &name[len..];
            let ends_well = after.is_empty() || separator(after).is_some();
            ends_well.then_some((parsed, after))
        });
        match found {
            Some((parsed, after)) => {
                date = parsed;
                rest = after;
            }
            None => return Some(DatedName { date, rest: None }),
        }
    }
    if rest.is_empty() {
        return Some(DatedName { date, rest: None });
    }
    let slug = separator(rest)?;
    Some(DatedName {
        date,
        rest: Some(slug),
    })
}

/// What follows `_` or `-` (after an optional space) at the start of `text`, when not empty.
fn separator(text: &str) -> Option<&str> {
    let text = text.strip_prefix(' ').unwrap_or(text);
    let slug = text.strip_prefix(['_', '-'])?;
    (!slug.is_empty()).then_some(slug)
}

/// URL of a Zola internal link `@/projects/ghent.md#part`, from the target's file name alone.
pub(super) fn internal_link(settings: &Settings, link: &str) -> Option<String> {
    let target = link.strip_prefix("@/")?;
    let (key, fragment) = match target.split_once('#') {
        Some((key, fragment)) => (key, Some(fragment)),
        None => (target, None),
    };
    let file = FileName::new(settings, key);
    let language = file.language.unwrap_or(&settings.language);
    let slug = file.default_slug(&settings.style);
    let mut url = file.permalink(settings, &slug, language, None);
    url.set_fragment(fragment);
    Some(url.into())
}
#[cfg(test)]
mod tests {
    use super::*;

    fn dated(name: &str) -> Option<(String, Option<&str>)> {
        dated_name(name, chrono_tz::Europe::Paris).map(|d| (d.date.to_rfc3339(), d.rest))
    }

    #[test]
    fn zola_dates_at_the_start_of_a_name() {
        let midnight = "2024-03-12T00:00:00+01:00".to_owned();
        assert_eq!(
            dated("2024-03-12-slug"),
            Some((midnight.clone(), Some("slug")))
        );
        assert_eq!(
            dated("2024-03-12_my_slug"),
            Some((midnight.clone(), Some("my_slug")))
        );
        assert_eq!(
            dated("2024-03-12 -slug"),
            Some((midnight.clone(), Some("slug")))
        );
        assert_eq!(dated("2024-03-12"), Some((midnight.clone(), None)));
        assert_eq!(
            dated("2024-03-12T10:00:00Z_slug"),
            Some(("2024-03-12T10:00:00+00:00".to_owned(), Some("slug")))
        );
        assert_eq!(
            dated("2024-03-12T10:00:00.5-05:00-slug"),
            Some(("2024-03-12T10:00:00.500-05:00".to_owned(), Some("slug")))
        );
        // A time needs its offset (Zola's regex): without it only the date is read, and the
        // name keeps no slug part.
        assert_eq!(dated("2024-03-12T10:00:00-slug"), Some((midnight, None)));
        for name in [
            "2024-13-01-x",
            "2024-02-30-x",
            "2024-03-12x",
            "2024-03-12-",
            "24-03-12-x",
            "slug",
        ] {
            assert_eq!(dated(name), None, "{name}");
        }
    }

    #[test]
    fn content_formats_by_extension() {
        assert_eq!(format_of("a.md"), Some((Format::Markdown, "a")));
        assert_eq!(format_of("a.fr.markdown"), Some((Format::Markdown, "a.fr")));
        assert_eq!(format_of("a.mdown"), Some((Format::Markdown, "a")));
        assert_eq!(format_of("x/a.html"), Some((Format::Html, "x/a")));
        assert_eq!(format_of("a.htm"), Some((Format::Html, "a")));
        assert_eq!(
            format_of("a.org"),
            Some((Format::Unsupported("Emacs Org"), "a"))
        );
        assert_eq!(
            format_of("a.adoc"),
            Some((Format::Unsupported("AsciiDoc"), "a"))
        );
        for other in ["a.txt", "a.md~", "photo.jpg", ".md", "x/.md", "a.mdx"] {
            assert_eq!(format_of(other), None, "{other}");
        }
        assert_eq!(strip_extension("posts/a.markdown"), "posts/a");
        assert_eq!(strip_extension("posts/a.txt"), "posts/a.txt");
    }
}

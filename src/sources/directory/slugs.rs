//! How a file name, a bundle folder or a `slug` key becomes a URL segment, the way each
//! generator does it, so that permalinks built by crier are the pages' real addresses.
//!
//! - Zola ([`slugify.paths`](https://www.getzola.org/documentation/getting-started/configuration/)):
//!   `"on"` (its default) is `slug::slugify` (ASCII transliteration, lower case, hyphens),
//!   `"safe"` only removes the characters file systems forbid, `"off"` keeps the name as
//!   written. Zola applies it to the page's own name or `slug` only: the folders above the page
//!   are used as they are (`page.file.components`).
//! - Hugo ([URL management](https://gohugo.io/content-management/urls/)) runs the whole path
//!   through `MakePathSanitized`: letters, digits, marks and `. _ # + ~` are kept, spaces and
//!   hyphens become one `-`, everything else is dropped; then accents go when
//!   `removePathAccents` is set, and the path is lower-cased unless `disablePathToLower` is.
//! - crier's own rule, kept as the default so that existing URLs do not move: lower case,
//!   white space and `_` become `-`, everything else is kept.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The site generator that builds the folder's pages; it picks the defaults that match its URLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    /// Not said: crier's own defaults (those of earlier versions).
    #[default]
    Auto,
    /// Hugo.
    Hugo,
    /// Zola.
    Zola,
}

impl Generator {
    /// The `slugify` mode used when the source does not set one.
    pub fn default_slugify(self) -> Slugify {
        match self {
            Generator::Auto => Slugify::Crier,
            Generator::Hugo => Slugify::Hugo,
            Generator::Zola => Slugify::On,
        }
    }
}

/// How names become URL segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slugify {
    /// crier's own: lower case, white space and `_` turned into `-`, all else kept.
    Crier,
    /// Zola's `"on"`: the `slug` crate's transliteration to lower-case ASCII words and hyphens.
    On,
    /// Zola's `"safe"`: only `< > : " / \ | ? *` removed and trailing spaces and dots trimmed.
    Safe,
    /// Zola's `"off"`: as written.
    Off,
    /// Hugo's `MakePathSanitized`, with `remove_path_accents` and `disable_path_to_lower`.
    Hugo,
}

/// The resolved rules for the URL segments of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PathStyle {
    /// The mode.
    pub(super) slugify: Slugify,
    /// Hugo's `removePathAccents`.
    pub(super) remove_accents: bool,
    /// Hugo's `disablePathToLower`.
    pub(super) keep_case: bool,
    /// Keep a date that starts a file name in its slug: Hugo's default slug is the whole
    /// name, where Zola (and crier's own rule) drop the date.
    pub(super) keep_dates: bool,
}

impl PathStyle {
    /// The page's own segment, from its file name, bundle folder or `slug` key.
    pub(super) fn slug(&self, name: &str) -> String {
        match self.slugify {
            Slugify::Crier => crier(name),
            Slugify::On => slug::slugify(name),
            Slugify::Safe => zola_safe(name),
            Slugify::Off => name.to_owned(),
            Slugify::Hugo => self.hugo(name),
        }
    }

    /// A folder above the page, as `{section}` and `{path}` show it.
    pub(super) fn folder(&self, name: &str) -> String {
        match self.slugify {
            Slugify::Crier => crier(name),
            // Zola joins `page.file.components` untouched.
            Slugify::On | Slugify::Safe | Slugify::Off => name.to_owned(),
            Slugify::Hugo => self.hugo(name),
        }
    }

    fn hugo(&self, name: &str) -> String {
        let mut segment = hugo_sanitize(name);
        if self.remove_accents {
            segment = remove_accents(&segment);
        }
        if !self.keep_case {
            segment = segment.to_lowercase();
        }
        segment
    }
}

/// crier's rule: lower case, white space and `_` turned into `-`.
fn crier(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '_' {
                '-'
            } else {
                c
            }
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Zola's `strip_invalid_paths_chars`: the characters NTFS forbids removed, trailing spaces and
/// dots trimmed.
fn zola_safe(name: &str) -> String {
    name.trim_end_matches([' ', '.'])
        .chars()
        .filter(|c| !r#"<>:"/\|?*"#.contains(*c))
        .collect()
}

/// Hugo's `paths.Sanitize`: allowed characters kept, a run of spaces and hyphens between two
/// of them becomes one `-`, anything else is dropped.
pub(super) fn hugo_sanitize(name: &str) -> String {
    let bytes = name.as_bytes();
    let hex_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_hexdigit);
    let mut out = String::with_capacity(name.len());
    let mut hyphen = false;
    for (i, c) in name.char_indices() {
        let allowed = c.is_alphanumeric()
            || matches!(c, '.' | '/' | '\\' | '_' | '#' | '+' | '~')
            || is_combining_mark(c)
            || (c == '%' && hex_at(i + 1) && hex_at(i + 2));
        if allowed {
            if hyphen {
                out.push('-');
                hyphen = false;
            }
            out.push(c);
        } else if !out.is_empty() && (c == '-' || c.is_whitespace()) {
            hyphen = true;
        }
    }
    out
}

/// Hugo's `text.RemoveAccents`: decompose, drop the combining marks, compose again.
fn remove_accents(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .nfc()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(slugify: Slugify) -> PathStyle {
        PathStyle {
            slugify,
            keep_dates: false,
            remove_accents: false,
            keep_case: false,
        }
    }

    #[test]
    fn zola_modes_match_zolas_own_table() {
        // Zola's `can_slugify_paths` test: input, (on, safe, off).
        let cases = [
            ("input", ("input", "input", "input")),
            ("test ", ("test", "test", "test ")),
            ("tes t", ("tes-t", "tes t", "tes t")),
            ("dot. ", ("dot", "dot", "dot. ")),
            ("日本", ("ri-ben", "日本", "日本")),
            ("héhé", ("hehe", "héhé", "héhé")),
            ("test (hey)", ("test-hey", "test (hey)", "test (hey)")),
        ];
        for (input, (on, safe, off)) in cases {
            assert_eq!(style(Slugify::On).slug(input), on, "{input:?}");
            assert_eq!(style(Slugify::Safe).slug(input), safe, "{input:?}");
            assert_eq!(style(Slugify::Off).slug(input), off, "{input:?}");
        }
        assert_eq!(
            style(Slugify::On).slug("Kraków_Nowa Huta"),
            "krakow-nowa-huta"
        );
        assert_eq!(style(Slugify::On).folder("Blog Posts"), "Blog Posts");
    }

    #[test]
    fn hugo_keeps_accents_and_underscores_unless_told() {
        let hugo = style(Slugify::Hugo);
        assert_eq!(hugo.slug("Kraków_Nowa Huta"), "kraków_nowa-huta");
        assert_eq!(hugo.slug("Big Day -  Out!"), "big-day-out");
        assert_eq!(hugo.slug(" (Lead) 50%?"), "lead-50");
        assert_eq!(hugo.folder("Blog Posts"), "blog-posts");
        let plain = PathStyle {
            remove_accents: true,
            ..hugo
        };
        assert_eq!(plain.slug("Kraków Été"), "krakow-ete");
        let cased = PathStyle {
            keep_case: true,
            ..hugo
        };
        assert_eq!(cased.slug("Social Media"), "Social-Media");
    }

    #[test]
    fn crier_rule_is_unchanged() {
        let crier = style(Slugify::Crier);
        assert_eq!(crier.slug("Kraków_Nowa Huta"), "kraków-nowa-huta");
        assert_eq!(crier.folder("Big_Day Out"), "big-day-out");
        assert_eq!(Generator::Auto.default_slugify(), Slugify::Crier);
        assert_eq!(Generator::Zola.default_slugify(), Slugify::On);
        assert_eq!(Generator::Hugo.default_slugify(), Slugify::Hugo);
    }
}

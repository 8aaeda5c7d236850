//! Autodiscovery: the `<link rel="alternate">` tags a site puts in its pages' `<head>` so that
//! browsers and feed readers find the feeds, written as `head.html` in the main feed folder
//! and in each language's, for a Hugo or Zola template to include as it is.
//!
//! The main file lists the feeds of all languages, then each language's (with `hreflang`); a
//! language's file lists its own feeds first, then the other languages', then those of all
//! languages, so that a reader offered the first link gets the page's language. Category
//! feeds are left out: with `categories = ["*"]` they can number hundreds, and every page
//! would carry them all. Rendering is pure (the feed set in, bytes out); the publication
//! writes the files only when their bytes change.

use super::sanitize::escape_html_attribute;
use super::set::FeedSpec;
use super::{FeedFormat, FeedMeta};

/// The file name written in the main feed folder and in each language's.
pub const FILE_NAME: &str = "head.html";

/// One `head.html` to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadFile {
    /// Folder relative to the output folder, `/`-separated; empty for the main one.
    pub dir: String,
    /// The file's content: one `<link>` line per feed file.
    pub html: String,
}

/// The `head.html` files of a feed set: one for the main feeds, one per language folder.
pub fn render(specs: &[FeedSpec], formats: &[FeedFormat]) -> Vec<HeadFile> {
    let main: Vec<&FeedSpec> = specs
        .iter()
        .filter(|s| s.category.is_none() && s.language.is_none())
        .collect();
    let languages: Vec<&FeedSpec> = specs
        .iter()
        .filter(|s| s.category.is_none() && s.language.is_some())
        .collect();
    let file = |dir: &str, listed: Vec<&FeedSpec>| HeadFile {
        dir: dir.to_owned(),
        html: listed
            .iter()
            .flat_map(|spec| formats.iter().map(|&format| link(&spec.meta, format)))
            .collect(),
    };
    let mut files: Vec<HeadFile> = main
        .iter()
        .map(|spec| {
            file(
                &spec.dir,
                [*spec].into_iter().chain(languages.clone()).collect(),
            )
        })
        .collect();
    for own in &languages {
        let others = languages.iter().copied().filter(|s| s.dir != own.dir);
        let listed = [*own].into_iter().chain(others).chain(main.clone());
        files.push(file(&own.dir, listed.collect()));
    }
    files
}

/// One `<link rel="alternate">` line for the feed of `meta` in `format`.
fn link(meta: &FeedMeta, format: FeedFormat) -> String {
    let (mime_type, name) = match format {
        FeedFormat::Rss => ("application/rss+xml", "RSS"),
        FeedFormat::Atom => ("application/atom+xml", "Atom"),
        FeedFormat::Json => ("application/feed+json", "JSON Feed"),
    };
    // The format in the title tells the links apart where a browser lists them by title.
    let title = escape_html_attribute(&format!("{} ({name})", meta.title));
    let href = escape_html_attribute(&meta.self_url(format));
    let hreflang = meta
        .language
        .as_deref()
        .filter(|lang| !lang.trim().is_empty())
        .map(|lang| format!(" hreflang=\"{}\"", escape_html_attribute(lang)))
        .unwrap_or_default();
    format!(
        "<link rel=\"alternate\" type=\"{mime_type}\" title=\"{title}\" href=\"{href}\"{hreflang}>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Entry;
    use crate::feeds::FeedsConfig;

    fn specs(site: &str, feeds: &str) -> Vec<FeedSpec> {
        let site = crate::testing::site(site);
        let feeds: FeedsConfig = toml::from_str(feeds).expect("feeds table parses");
        let live = crate::testing::live_entries(&[Entry {
            categories: vec!["Prize".to_owned()],
            ..crate::testing::entry("a", "2024-01-01T00:00:00Z")
        }]);
        crate::feeds::set::plan(&site, &feeds, &live)
    }

    #[test]
    fn each_language_lists_its_own_feeds_first() {
        let specs = specs(
            "title = \"Net & <Co>\"\nlanguages = [\"en\", \"fr\"]\n\
             [language.fr]\ntitle = \"Réseau \\\"R\\\"\"",
            "formats = [\"atom\", \"json\"]\ncategories = [\"*\"]",
        );
        let files = render(&specs, &[FeedFormat::Atom, FeedFormat::Json]);
        let dirs: Vec<&str> = files.iter().map(|f| f.dir.as_str()).collect();
        assert_eq!(dirs, ["", "en", "fr"], "no file for a category");
        assert_eq!(
            files[0].html,
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Net &amp; &lt;Co&gt; (Atom)\" href=\"https://example.org/feeds/atom.xml\">\n\
             <link rel=\"alternate\" type=\"application/feed+json\" title=\"Net &amp; &lt;Co&gt; (JSON Feed)\" href=\"https://example.org/feeds/feed.json\">\n\
             <link rel=\"alternate\" type=\"application/atom+xml\" title=\"Net &amp; &lt;Co&gt; (Atom)\" href=\"https://example.org/feeds/en/atom.xml\" hreflang=\"en\">\n\
             <link rel=\"alternate\" type=\"application/feed+json\" title=\"Net &amp; &lt;Co&gt; (JSON Feed)\" href=\"https://example.org/feeds/en/feed.json\" hreflang=\"en\">\n\
             <link rel=\"alternate\" type=\"application/atom+xml\" title=\"Réseau &quot;R&quot; (Atom)\" href=\"https://example.org/feeds/fr/atom.xml\" hreflang=\"fr\">\n\
             <link rel=\"alternate\" type=\"application/feed+json\" title=\"Réseau &quot;R&quot; (JSON Feed)\" href=\"https://example.org/feeds/fr/feed.json\" hreflang=\"fr\">\n"
        );
        let hrefs = |html: &str| -> Vec<String> {
            html.lines()
                .map(|l| {
                    let start = l.find("href=\"").expect("an href") + 6;
                    l[start..start + l[start..].find('"').expect("its end")].to_owned()
                })
                .collect()
        };
        assert_eq!(
            hrefs(&files[2].html),
            [
                "https://example.org/feeds/fr/atom.xml",
                "https://example.org/feeds/fr/feed.json",
                "https://example.org/feeds/en/atom.xml",
                "https://example.org/feeds/en/feed.json",
                "https://example.org/feeds/atom.xml",
                "https://example.org/feeds/feed.json",
            ]
        );
    }

    #[test]
    fn a_single_language_site_has_one_file_with_its_language() {
        let specs = specs("", "per_language = true");
        let files = render(&specs, &[FeedFormat::Rss]);
        assert_eq!(
            files,
            [HeadFile {
                dir: String::new(),
                html: "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Site (RSS)\" href=\"https://example.org/feeds/rss.xml\" hreflang=\"en\">\n".to_owned(),
            }]
        );
    }
}

//! What a file's key (its path relative to the source folder) says about its entry: the
//! folders above the page, its name, a `.{lang}.md` language suffix, whether it is a leaf
//! bundle (`dir/index.md`), and from that the `{section}`, `{path}` and `{slug}` placeholders,
//! in the source's [`PathStyle`], and the permalink pattern of the page's section.

use chrono::{DateTime, FixedOffset};
use url::Url;

use super::Settings;
use super::slugs::{PathStyle, hugo_sanitize};
use super::urls::{self, Placeholders};

/// What a file's key says about the entry: folders, name, language suffix, bundle.
pub(super) struct FileName<'a> {
    /// Folders holding the page (for a leaf bundle, the bundle folder is the page).
    pub(super) folders: &'a str,
    /// Name of the page: the file stem without language suffix, or the bundle folder.
    pub(super) own_name: &'a str,
    /// `key` without `.md` and the language suffix.
    pub(super) stem_path: &'a str,
    /// Language named by a `.{lang}.md` suffix, in its configured spelling.
    pub(super) language: Option<&'a str>,
}

impl<'a> FileName<'a> {
    pub(super) fn new(settings: &'a Settings, key: &'a str) -> Self {
        let stem_path = key.strip_suffix(".md").unwrap_or(key);
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
        FileName {
            folders,
            own_name,
            stem_path,
            language,
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

    /// The page's slug when no `slug` key gives one: its name in the source's style.
    // Zola takes a date prefix (`2024-03-12-name.md`) off the name first; that belongs here,
    // once `FileName` reads the date from the name.
    pub(super) fn default_slug(&self, style: &PathStyle) -> String {
        style.slug(self.own_name)
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

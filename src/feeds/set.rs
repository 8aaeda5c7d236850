//! The feed set: which feed folders exist (all languages, one per language, one per chosen
//! category, and with per-language feeds one per chosen category and language), what each
//! one's metadata says, and which entries each one holds.
//!
//! A feed in one language takes that language's title, description and home page
//! (`[site.language.<tag>]`, else the site's): a language's feeds, a category's feeds in one
//! language, and a category whose entries all share one language. Per-language category feeds
//! (`{lang}/categories/{slug}/`) are planned for every language with an entry in the
//! category, even when the category has only that language, so that a reader's subscription
//! keeps its address and its language when the category later gains a translation.
//!
//! Selection works on [`LiveEntry`] rows (id, language, categories, date) so that only the
//! entries that actually appear in some feed are loaded in full.

use std::cmp::Reverse;

use super::FeedMeta;
use super::FeedsConfig;
use crate::site::Site;
use crate::store::LiveEntry;

/// One feed folder: its files (one per configured format) hold the same entries.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSpec {
    /// Folder relative to the output folder, `/`-separated; empty for the main feeds.
    pub dir: String,
    /// Feed-level data.
    pub meta: FeedMeta,
    /// Only entries in this language.
    pub language: Option<String>,
    /// Only entries with this category (compared without regard to case).
    pub category: Option<String>,
}

impl FeedSpec {
    /// Whether `entry` belongs in this feed.
    pub fn matches(&self, entry: &LiveEntry) -> bool {
        self.language.as_ref().is_none_or(|l| *l == entry.language)
            && self.category.as_ref().is_none_or(|c| {
                entry
                    .categories
                    .iter()
                    .any(|ec| ec.to_lowercase() == c.to_lowercase())
            })
    }

    /// Ids of the newest `limit` matching entries, newest first, ties broken by id.
    pub fn select<'a>(&self, live: &'a [LiveEntry], limit: usize) -> Vec<&'a str> {
        self.select_indices(live, limit)
            .into_iter()
            .map(|i| live[i].id.as_str())
            .collect()
    }

    /// Like [`FeedSpec::select`], as positions in `live`.
    pub fn select_indices(&self, live: &[LiveEntry], limit: usize) -> Vec<usize> {
        let mut matching: Vec<usize> = (0..live.len())
            .filter(|&i| self.matches(&live[i]))
            .collect();
        matching.sort_by(|&a, &b| {
            let (a, b) = (&live[a], &live[b]);
            (Reverse(a.published_ts), &a.id).cmp(&(Reverse(b.published_ts), &b.id))
        });
        matching.truncate(limit);
        matching
    }
}

/// Plans every feed folder the config asks for, given the live entries (needed to expand
/// `categories = ["*"]`).
pub fn plan(site: &Site, feeds: &FeedsConfig, live: &[LiveEntry]) -> Vec<FeedSpec> {
    let author = site.author();
    let single_language = match site.languages.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    };
    let base = FeedMeta {
        title: site.title.clone(),
        description: site.description.clone(),
        home_url: site.base_url.to_string(),
        folder_url: feeds.public_url(site),
        language: single_language.clone(),
        author,
        hubs: feeds.websub.hubs.iter().map(|h| h.to_string()).collect(),
        stylesheet: None,
        archive: None,
    };
    let mut specs = vec![FeedSpec {
        dir: String::new(),
        meta: base.clone(),
        language: None,
        category: None,
    }];
    let per_language = feeds.per_language && single_language.is_none();
    if per_language {
        specs.extend(
            site.languages
                .iter()
                .map(|lang| language_spec(site, &base, lang)),
        );
    }
    for category in categories(feeds, live) {
        let languages = languages_of(&category, live);
        specs.push(category_spec(site, &base, &category, &languages));
        if per_language {
            specs.extend(
                site.languages
                    .iter()
                    .filter(|lang| languages.contains(&lang.as_str()))
                    .map(|lang| language_category_spec(site, &base, &category, lang)),
            );
        }
    }
    // Browser-readable feeds: each feed names the stylesheet of its language.
    for spec in &mut specs {
        spec.meta.stylesheet = super::stylesheet::href(site, feeds, spec.meta.language.as_deref());
    }
    specs
}

/// The feed metadata of one language: its title, description and home page where
/// `[site.language.<tag>]` gives them, else the site's; the folder URL is the caller's.
fn localised(site: &Site, base: &FeedMeta, lang: &str) -> FeedMeta {
    let overrides = site.language.get(lang).cloned().unwrap_or_default();
    FeedMeta {
        title: overrides.title.unwrap_or_else(|| base.title.clone()),
        description: overrides
            .description
            .unwrap_or_else(|| base.description.clone()),
        home_url: overrides
            .home
            .map_or_else(|| base.home_url.clone(), |h| h.to_string()),
        language: Some(lang.to_owned()),
        // The folder, author and hubs are the base's.
        ..base.clone()
    }
}

/// The feeds of one language, with that language's title, description and home page.
fn language_spec(site: &Site, base: &FeedMeta, lang: &str) -> FeedSpec {
    FeedSpec {
        dir: lang.to_owned(),
        meta: FeedMeta {
            folder_url: folder_url(&base.folder_url, lang),
            ..localised(site, base, lang)
        },
        language: Some(lang.to_owned()),
        category: None,
    }
}

/// The languages of the live entries in `category`, sorted and without duplicates.
fn languages_of<'a>(category: &str, live: &'a [LiveEntry]) -> Vec<&'a str> {
    let category = category.to_lowercase();
    let mut languages: Vec<&str> = live
        .iter()
        .filter(|e| e.categories.iter().any(|c| c.to_lowercase() == category))
        .map(|e| e.language.as_str())
        .collect();
    languages.sort_unstable();
    languages.dedup();
    languages
}

/// The feeds of one category, all languages together. A category written in one language only
/// gets that language's title, description, home page and language.
fn category_spec(site: &Site, base: &FeedMeta, category: &str, languages: &[&str]) -> FeedSpec {
    let dir = format!("categories/{}", slugify(category));
    let meta = match languages {
        [only] => localised(site, base, only),
        _ => base.clone(),
    };
    FeedSpec {
        meta: FeedMeta {
            title: format!("{}: {category}", meta.title),
            folder_url: folder_url(&base.folder_url, &dir),
            ..meta
        },
        dir,
        language: None,
        category: Some(category.to_owned()),
    }
}

/// The feeds of one category in one language, under that language's folder, with its title,
/// description and home page.
fn language_category_spec(site: &Site, base: &FeedMeta, category: &str, lang: &str) -> FeedSpec {
    let dir = format!("{lang}/categories/{}", slugify(category));
    let meta = localised(site, base, lang);
    FeedSpec {
        meta: FeedMeta {
            title: format!("{}: {category}", meta.title),
            folder_url: folder_url(&base.folder_url, &dir),
            ..meta
        },
        dir,
        language: Some(lang.to_owned()),
        category: Some(category.to_owned()),
    }
}

/// The categories that get their own feeds; `"*"` expands to every category of a live entry.
fn categories(feeds: &FeedsConfig, live: &[LiveEntry]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |c: &str| {
        if !out.iter().any(|o| o.to_lowercase() == c.to_lowercase()) {
            out.push(c.to_owned());
        }
    };
    for wanted in &feeds.categories {
        if wanted == "*" {
            let mut all: Vec<&str> = live
                .iter()
                .flat_map(|e| e.categories.iter().map(String::as_str))
                .collect();
            all.sort_unstable_by_key(|c| (c.to_lowercase(), c.to_string()));
            all.into_iter().for_each(&mut push);
        } else {
            push(wanted);
        }
    }
    // Two categories with the same slug would write the same folder: keep the first.
    let mut slugs = std::collections::HashSet::new();
    out.retain(|c| slugs.insert(slugify(c)));
    out
}

fn folder_url(public: &str, dir: &str) -> String {
    let encoded: Vec<String> = dir
        .split('/')
        .map(|seg| url::form_urlencoded::byte_serialize(seg.as_bytes()).collect::<String>())
        .map(|seg| seg.replace('+', "%20"))
        .collect();
    format!("{public}{}/", encoded.join("/"))
}

/// A folder-safe slug: lower case, letters and digits of any script kept, everything else
/// collapsed into single dashes.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        "category".to_owned()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_with(feeds: &str, live: &[LiveEntry]) -> Vec<FeedSpec> {
        let site = crate::testing::site(
            "title = \"Net\"\ndescription = \"Roma projects\"\nlanguages = [\"en\", \"fr\"]\n\
             [language.fr]\ntitle = \"Réseau\"\ndescription = \"Projets roms\"\n\
             home = \"https://example.org/fr/\"",
        );
        let feeds: FeedsConfig = toml::from_str(feeds).expect("feeds table parses");
        feeds.validate().expect("feeds table is valid");
        plan(&site, &feeds, live)
    }

    fn live(id: &str, lang: &str, cats: &[&str], ts: i64) -> LiveEntry {
        LiveEntry {
            id: id.into(),
            language: lang.into(),
            categories: cats.iter().map(|c| (*c).into()).collect(),
            published_ts: ts,
            content_hash: format!("h{id}"),
            translation_key: id.into(),
            url: format!("https://example.org/{id}/"),
            title: format!("Title {id}"),
        }
    }

    #[test]
    fn plans_main_language_and_category_feeds() {
        let entries = [
            live("a", "en", &["Prize"], 1),
            live("b", "fr", &["Prix du Congrès"], 2),
        ];
        let specs = plan_with("categories = [\"*\"]", &entries);
        let dirs: Vec<&str> = specs.iter().map(|s| s.dir.as_str()).collect();
        assert_eq!(
            dirs,
            [
                "",
                "en",
                "fr",
                "categories/prix-du-congrès",
                "fr/categories/prix-du-congrès",
                "categories/prize",
                "en/categories/prize",
            ]
        );
        assert_eq!(specs[2].meta.title, "Réseau");
        assert_eq!(specs[2].meta.folder_url, "https://example.org/feeds/fr/");
        assert_eq!(specs[3].meta.title, "Réseau: Prix du Congrès");
        assert_eq!(specs[3].meta.language.as_deref(), Some("fr"));
        assert_eq!(
            specs[3].meta.folder_url,
            "https://example.org/feeds/categories/prix-du-congr%C3%A8s/"
        );
        assert_eq!(specs[0].meta.language, None);
    }

    #[test]
    fn a_feed_in_one_language_takes_its_title_description_and_home() {
        let entries = [
            live("a", "en", &["Prize"], 1),
            live("b", "fr", &["Prix"], 2),
            live("c", "fr", &["Roma"], 3),
            live("d", "en", &["roma"], 4),
        ];
        let specs = plan_with("categories = [\"*\"]", &entries);
        let spec = |dir: &str| {
            specs
                .iter()
                .find(|s| s.dir == dir)
                .unwrap_or_else(|| panic!("no feed in {dir}: {specs:?}"))
        };
        let summary = |dir: &str| {
            let meta = &spec(dir).meta;
            (
                meta.title.as_str(),
                meta.description.as_str(),
                meta.home_url.as_str(),
                meta.language.as_deref(),
            )
        };
        let french = ("Projets roms", "https://example.org/fr/", Some("fr"));
        let english = ("Roma projects", "https://example.org/", Some("en"));
        for (dir, title, (description, home, language)) in [
            ("fr", "Réseau", french),
            ("categories/prix", "Réseau: Prix", french),
            ("fr/categories/prix", "Réseau: Prix", french),
            ("fr/categories/roma", "Réseau: Roma", french),
            ("categories/prize", "Net: Prize", english),
            ("en/categories/roma", "Net: Roma", english),
        ] {
            assert_eq!(summary(dir), (title, description, home, language), "{dir}");
        }
        // A category in both languages: the site's own metadata, no language; and each
        // language's part of it holds that language's entries only.
        assert_eq!(
            summary("categories/roma"),
            ("Net: Roma", "Roma projects", "https://example.org/", None)
        );
        assert_eq!(spec("categories/roma").select(&entries, 9), ["d", "c"]);
        assert_eq!(spec("fr/categories/roma").select(&entries, 9), ["c"]);
        assert_eq!(
            spec("fr/categories/roma").meta.folder_url,
            "https://example.org/feeds/fr/categories/roma/"
        );
        assert!(specs.iter().all(|s| s.dir != "en/categories/prix"));
    }

    #[test]
    fn no_per_language_category_feeds_without_per_language_feeds() {
        let entries = [live("b", "fr", &["Prix"], 2)];
        let specs = plan_with("per_language = false\ncategories = [\"*\"]", &entries);
        let dirs: Vec<&str> = specs.iter().map(|s| s.dir.as_str()).collect();
        assert_eq!(dirs, ["", "categories/prix"]);
        assert_eq!(specs[1].meta.description, "Projets roms");
    }

    #[test]
    fn per_language_can_be_switched_off() {
        let specs = plan_with("per_language = false", &[]);
        assert_eq!(specs.len(), 1);
    }

    #[test]
    fn selection_is_newest_first_with_id_tie_break_and_limit() {
        let entries = [
            live("b", "en", &[], 5),
            live("a", "en", &[], 5),
            live("c", "fr", &["X"], 9),
            live("d", "en", &["x"], 1),
        ];
        let specs = plan_with("categories = [\"X\"]", &entries);
        assert_eq!(specs[0].select(&entries, 3), ["c", "a", "b"]);
        assert_eq!(specs[1].select(&entries, 50), ["a", "b", "d"]);
        let cat = specs.iter().find(|s| s.category.is_some()).unwrap();
        assert_eq!(cat.select(&entries, 50), ["c", "d"]);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Dosta! Congress Prize"), "dosta-congress-prize");
        assert_eq!(slugify("  Roma inclusion  "), "roma-inclusion");
        assert_eq!(slugify("Économie sociale"), "économie-sociale");
        assert_eq!(slugify("!!!"), "category");
    }
}

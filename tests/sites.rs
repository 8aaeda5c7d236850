//! A Hugo site and a Zola site (`tests/fixtures/sites/`), end to end through the binary: `crier
//! init --from` writes the config from the site's own, `crier check` and `crier run --once
//! --dry-run` accept it as written, and the feeds list exactly the pages the generator
//! publishes, at the generator's URLs, with its dates and languages.
//!
//! Each expectation says what the generator does and links the page of its documentation that
//! says so. Where crier deliberately differs (and documents it in the README, "Entries"), the
//! comment says so too.

mod common;

use common::{Crier, OutputText, Site, check_feeds};
use serde_json::Value;

/// The clock of every run: after every date of the fixtures, before none of their expiries
/// but the one that is meant to have passed.
const NOW: &str = "2024-06-01T12:00:00Z";

/// One entry of a feed as a reader sees it.
#[derive(Debug, PartialEq, Eq)]
struct Listed {
    title: String,
    url: String,
    /// RFC 3339, with the offset crier wrote.
    date: String,
    language: String,
}

fn listed(title: &str, url: &str, date: &str, language: &str) -> Listed {
    Listed {
        title: title.to_owned(),
        url: url.to_owned(),
        date: date.to_owned(),
        language: language.to_owned(),
    }
}

/// `crier init --from <site>`, then `crier check` and `crier run --once --dry-run` on the config
/// as written; all three succeed. Returns the run's log.
fn init_check_and_run(site: &Site) -> String {
    let root = site.root().to_str().expect("a UTF-8 temporary path");
    let init = Crier::new(site.path("unused.toml"))
        .args(["init", "--from", root])
        .output();
    assert_eq!(init.status.code(), Some(0), "{}", init.stderr_text());

    site.check_and_dry_run(NOW)
}

/// The JSON Feed `rel`, parsed.
fn json_feed(site: &Site, rel: &str) -> Value {
    serde_json::from_str(&site.read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The items of the JSON Feed `rel`, in the feed's order.
fn items(site: &Site, rel: &str) -> Vec<Value> {
    json_feed(site, rel)["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{rel} has an items list"))
        .clone()
}

fn field(item: &Value, key: &str) -> String {
    item[key]
        .as_str()
        .unwrap_or_else(|| panic!("an item with a `{key}`: {item}"))
        .to_owned()
}

/// What the JSON Feed `rel` lists; the Atom and RSS files beside it list the same titles.
fn listing(site: &Site, rel: &str) -> Vec<Listed> {
    let listed: Vec<Listed> = items(site, rel)
        .iter()
        .map(|item| Listed {
            title: field(item, "title"),
            url: field(item, "url"),
            date: field(item, "date_published"),
            language: field(item, "language"),
        })
        .collect();
    let titles: Vec<&str> = listed.iter().map(|l| l.title.as_str()).collect();
    let folder = rel.trim_end_matches("feed.json");
    for other in ["atom.xml", "rss.xml"] {
        assert_eq!(
            site.feed_titles(&format!("{folder}{other}")),
            titles,
            "{folder}{other}"
        );
    }
    listed
}

/// The JSON Feed `rel` is titled `title` and links to `home`.
fn feed_is(site: &Site, rel: &str, title: &str, home: &str) {
    let feed = json_feed(site, rel);
    assert_eq!(feed["title"], title, "{rel}");
    assert_eq!(feed["home_page_url"], home, "{rel}");
}

/// The item of the JSON Feed `rel` whose URL is `url`.
fn item(site: &Site, rel: &str, url: &str) -> Value {
    items(site, rel)
        .into_iter()
        .find(|item| item["url"] == url)
        .unwrap_or_else(|| panic!("{rel} lists {url}"))
}

/// The log lines that contain `needle`.
fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

/// Every feed file written passes the independent parser's checks.
fn feeds_pass_the_parser(site: &Site) {
    let (heads, files): (Vec<_>, Vec<_>) = site
        .feed_files("feeds")
        .into_iter()
        .map(|f| f.path)
        // The stylesheets beside them (one per language) are not feeds.
        .filter(|path| path.extension().is_none_or(|e| e != "xsl"))
        .partition(|path| path.ends_with("head.html"));
    // all, en and fr, in three formats each, each folder with its autodiscovery tags.
    assert_eq!(files.len(), 9, "{files:?}");
    assert_eq!(heads.len(), 3, "{heads:?}");
    if let Some(stdout) = check_feeds(&files, None) {
        assert_eq!(stdout.matches(": ok\n").count(), files.len(), "{stdout}");
    }
}

#[test]
fn a_hugo_site_is_published_as_hugo_publishes_it() {
    let site = Site::copy_of("tests/fixtures/sites/hugo");
    let log = init_check_and_run(&site);

    // URLs (https://gohugo.io/content-management/urls/): a page's URL is its section path then
    // its file's base name, lower-cased; `[permalinks] posts = "/:year/:month/
    // :slugorcontentbasename/"` gives the `posts` section its own
    // (https://gohugo.io/configuration/permalinks/). The default language is served at the
    // root and the others under `/{lang}/` (`defaultContentLanguageInSubdir = false`,
    // https://gohugo.io/configuration/all/#defaultcontentlanguageinsubdir); with a
    // `contentDir` per language, the same relative path in both folders is one page and its
    // translation (https://gohugo.io/content-management/multilingual/#translation-by-content-directory).
    //
    // File names are made paths as Hugo's `urlize` does: accents and `_` kept, spaces become
    // `-` (https://gohugo.io/configuration/all/#removepathaccents). The feeds hold that address
    // percent-encoded, which names the same page.
    //
    // Dates (https://gohugo.io/configuration/all/#timezone): a date without an offset is in
    // `timeZone` (Europe/Brussels), and so is one with a zone *name* such as RFC 1123's `GMT`:
    // Hugo parses dates with spf13/cast, which puts a time whose layout only names a zone in
    // the default location.
    //
    // Not published (https://gohugo.io/content-management/build-options/): `build.render =
    // "never"` and `_build.list = "never"` pages (no page collection, so no feed holds them),
    // a headless bundle (https://gohugo.io/content-management/front-matter/#headless), the
    // snippets a section's `cascade` hides (https://gohugo.io/content-management/front-matter/#cascade),
    // a page whose `expiryDate` has passed (https://gohugo.io/content-management/front-matter/#expirydate),
    // one whose `publishDate` is still to come and a draft (neither is built without
    // `--buildFuture` or `--buildDrafts`, https://gohugo.io/commands/hugo_build/).
    //
    // Deliberate differences, documented in the README ("Entries"): the undated "about" pages
    // (Hugo builds them, with a zero date) and the Org file (Hugo renders Org; crier cannot
    // read it, and says so) are left out of the feeds.
    let english = [
        listed(
            "Lyon wins the family-inclusion prize",
            "https://cities.example.org/2024/05/lyon-family-prize/",
            "2024-05-14T00:00:00+02:00",
            "en",
        ),
        // An `.html` content file with front matter is a page (https://gohugo.io/content-management/formats/).
        listed(
            "Ceremony of the European Roma inclusion prize",
            "https://cities.example.org/events/roma-prize/",
            "2024-04-25T17:00:00+02:00",
            "en",
        ),
        listed(
            "A Budapest district opens its school to every child",
            "https://cities.example.org/2024/04/budapest-school/",
            "2024-04-10T08:30:00+02:00",
            "en",
        ),
        listed(
            "Kraków's Nowa Huta district opens a community centre",
            "https://cities.example.org/cities/krak%C3%B3w_nowa-huta/",
            "2024-03-28T18:00:00+01:00",
            "en",
        ),
        // `.markdown` is Markdown; YAML front matter; `Tue, 12 Mar 2024 10:00:00 GMT` read in
        // Europe/Brussels.
        listed(
            "Ghent trains Roma school mediators",
            "https://cities.example.org/2024/03/ghent-roma-mediators/",
            "2024-03-12T10:00:00+01:00",
            "en",
        ),
        // JSON front matter (https://gohugo.io/content-management/front-matter/).
        listed(
            "Cluj-Napoca replaces the Pata Rât settlement with social housing",
            "https://cities.example.org/2024/02/cluj-housing/",
            "2024-02-20T09:00:00+01:00",
            "en",
        ),
        // Without `date`, Hugo's `.Date` is `publishDate`
        // (https://gohugo.io/configuration/front-matter/#dates).
        listed(
            "Sofia's health mediators reach every district",
            "https://cities.example.org/2024/01/sofia-health/",
            "2024-01-20T11:00:00+01:00",
            "en",
        ),
    ];
    let french = [
        listed(
            "Le quartier de Nowa Huta à Cracovie ouvre un centre social",
            "https://cities.example.org/fr/cities/krak%C3%B3w_nowa-huta/",
            "2024-03-28T18:00:00+01:00",
            "fr",
        ),
        listed(
            "Gand forme des médiateurs scolaires roms",
            "https://cities.example.org/fr/2024/03/ghent-roma-mediators/",
            "2024-03-12T10:00:00+01:00",
            "fr",
        ),
    ];
    assert_eq!(listing(&site, "feeds/en/feed.json"), english);
    assert_eq!(listing(&site, "feeds/fr/feed.json"), french);
    // A language's own `title` is its site's title
    // (https://gohugo.io/configuration/languages/), and its home is under `/fr/`.
    feed_is(
        &site,
        "feeds/en/feed.json",
        "Cities that include",
        "https://cities.example.org/",
    );
    feed_is(
        &site,
        "feeds/fr/feed.json",
        "Des villes qui incluent",
        "https://cities.example.org/fr/",
    );
    // The site-wide feed holds both languages, newest first.
    let mut all: Vec<Listed> = english.into_iter().chain(french).collect();
    all.sort_by(|a, b| b.date.cmp(&a.date).then(a.url.cmp(&b.url)));
    assert_eq!(listing(&site, "feeds/feed.json"), all);

    // With `<!--more-->` the summary is everything before it
    // (https://gohugo.io/content-management/summaries/#manual-summary): two paragraphs, read
    // as text with a space between them, the ZWJ emoji sequence whole.
    let lyon = item(
        &site,
        "feeds/en/feed.json",
        "https://cities.example.org/2024/05/lyon-family-prize/",
    );
    assert_eq!(
        field(&lyon, "summary"),
        "The jury rewarded Lyon for a welcome desk that helps \u{1F469}\u{200D}\u{1F469}\u{200D}\
         \u{1F467}\u{200D}\u{1F466} families register for housing, schools and health care in \
         one visit. Volunteers who speak Romani take part in every appointment."
    );
    // Hugo's built-in `figure` and `youtube` shortcodes render as HTML
    // (https://gohugo.io/shortcodes/figure/, https://gohugo.io/shortcodes/youtube/); crier's
    // summary is the first paragraph that says something besides its shortcodes (README,
    // "Entries"), and an unknown shortcode (`include`) is left out.
    let budapest = item(
        &site,
        "feeds/en/feed.json",
        "https://cities.example.org/2024/04/budapest-school/",
    );
    assert_eq!(
        field(&budapest, "summary"),
        "The eighth district ended the separate classes for Roma pupils and trained its \
         teachers to work with mixed groups."
    );
    let html = field(&budapest, "content_html");
    assert!(
        html.starts_with("<figure><img src=\"https://cities.example.org/images/school-yard.jpg\""),
        "{html}"
    );
    assert!(
        html.contains("<figcaption><p>The renovated school yard</p></figcaption>"),
        "{html}"
    );
    assert!(
        html.contains("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        "{html}"
    );
    for text in ["{{", "}}", "include", "partners.md"] {
        assert!(!html.contains(text), "{text:?} in {html}");
    }

    // Each notice once per read of its source: the undated pages (one per language folder),
    // the Org file, the unknown shortcode; and no other warning.
    let undated = lines_with(&log, "pages without a date");
    assert_eq!(undated.len(), 2, "{log}");
    for language in ["en", "fr"] {
        let about = format!("content/{language}/about.md) source=content-{language}");
        assert!(undated.iter().any(|l| l.contains(&about)), "{log}");
    }
    let org = lines_with(&log, "Emacs Org content files");
    assert_eq!(org.len(), 1, "{log}");
    assert!(org[0].contains(" WARN "), "{log}");
    assert!(org[0].contains("skipped: 1 ("), "{log}");
    assert!(org[0].contains("/notes/agenda.org)"), "{log}");
    let include = lines_with(&log, "unknown shortcode `include`");
    assert_eq!(include.len(), 1, "{log}");
    assert!(include[0].contains("posts/budapest-school.md"), "{log}");
    assert_eq!(lines_with(&log, " WARN ").len(), 2, "{log}");

    feeds_pass_the_parser(&site);
}

#[test]
fn a_zola_site_is_published_as_zola_publishes_it() {
    let site = Site::copy_of("tests/fixtures/sites/zola");
    let log = init_check_and_run(&site);

    // URLs (https://www.getzola.org/documentation/content/page/): a page's URL is its section
    // path then its slug, the file name (a bundle's folder name) without the date it starts
    // with (`2024-03-12-` or `2024-03-12_`), which is the page's date when the front matter
    // has none. `[slugify] paths = "on"` transliterates and slugifies (`Kraków_Nowa Huta` →
    // `krakow-nowa-huta`, https://www.getzola.org/documentation/getting-started/configuration/#slugification-strategies).
    // `path` is the page's whole path from the site root. Zola has no time-zone setting: a date
    // without an offset is UTC.
    //
    // Sections (https://www.getzola.org/documentation/content/section/): `render = false`
    // skips the section's own page, `redirect_to` makes it a redirect, and `transparent` passes
    // its pages to the parent's listing; in all three the pages themselves are rendered at
    // their own URLs, and so they are in the feeds.
    //
    // Languages (https://www.getzola.org/documentation/content/multilingual/): `page.fr.md` is
    // the French page, served under `/fr/`. The feeds (https://www.getzola.org/documentation/templates/feeds/)
    // list only pages with a date: the undated "about" page is in none. A draft is not
    // rendered without `--drafts` (https://www.getzola.org/documentation/content/page/#front-matter),
    // nor is anything in the folder of a section with `draft = true`, in any language
    // (https://www.getzola.org/documentation/content/section/#drafting). Only `.md` files are
    // pages (https://www.getzola.org/documentation/content/page/): `reading-list.markdown` is
    // an asset.
    //
    // A deliberate difference, documented in the README ("Entries"): Zola renders a page dated
    // in the future at once; crier publishes it when its date comes, so
    // `2024-09-01-ceremony.md` waits.
    let english = [
        listed(
            "The jury's trip to the shortlisted cities",
            "https://prizes.example.org/blog/trip/",
            "2024-04-02T00:00:00+00:00",
            "en",
        ),
        listed(
            "Kraków's Nowa Huta is shortlisted",
            "https://prizes.example.org/blog/krakow-nowa-huta/",
            "2024-03-28T00:00:00+00:00",
            "en",
        ),
        listed(
            "Ghent wins the prize for its school mediators",
            "https://prizes.example.org/blog/ghent/",
            "2024-03-12T00:00:00+00:00",
            "en",
        ),
        // In a transparent section.
        listed(
            "Cluj-Napoca moves families from the landfill to town",
            "https://prizes.example.org/projects/cluj-housing/",
            "2024-02-20T09:00:00+00:00",
            "en",
        ),
        // In a section that redirects.
        listed(
            "Budapest ends separate classes",
            "https://prizes.example.org/old/budapest-classes/",
            "2024-01-15T00:00:00+00:00",
            "en",
        ),
        // `path = "prize/2024"`.
        listed(
            "The 2024 prize: rules and jury",
            "https://prizes.example.org/prize/2024/",
            "2024-01-05T00:00:00+00:00",
            "en",
        ),
        // In a section with `render = false`.
        listed(
            "Lyon's welcome desk, the 2023 winner",
            "https://prizes.example.org/archive/lyon/",
            "2023-11-20T00:00:00+00:00",
            "en",
        ),
    ];
    // `2024-03-12_ghent.fr.md`: the date and slug as in English, under `/fr/`.
    let french = [listed(
        "Gand reçoit le prix pour ses médiateurs scolaires",
        "https://prizes.example.org/fr/blog/ghent/",
        "2024-03-12T00:00:00+00:00",
        "fr",
    )];
    assert_eq!(listing(&site, "feeds/en/feed.json"), english);
    assert_eq!(listing(&site, "feeds/fr/feed.json"), french);
    feed_is(
        &site,
        "feeds/en/feed.json",
        "Roma inclusion prizes",
        "https://prizes.example.org",
    );
    feed_is(
        &site,
        "feeds/fr/feed.json",
        "Prix de l'inclusion des Roms",
        "https://prizes.example.org/fr/",
    );
    let mut all: Vec<Listed> = english.into_iter().chain(french).collect();
    all.sort_by(|a, b| b.date.cmp(&a.date).then(a.url.cmp(&b.url)));
    assert_eq!(listing(&site, "feeds/feed.json"), all);

    // The summary is what comes before `<!-- more -->`
    // (https://www.getzola.org/documentation/content/page/#summary).
    let ghent = item(
        &site,
        "feeds/en/feed.json",
        "https://prizes.example.org/blog/ghent/",
    );
    assert_eq!(
        field(&ghent, "summary"),
        "Ten mediators from the Roma community now work between families and schools."
    );
    // Zola's shortcodes (https://www.getzola.org/documentation/content/shortcodes/):
    // `{{ youtube(id=…) }}` renders (built into crier, as the themes define it), the unknown
    // `{% quote(…) %}…{% end %}` keeps its inner text, and no shortcode text is left.
    let trip = item(
        &site,
        "feeds/en/feed.json",
        "https://prizes.example.org/blog/trip/",
    );
    assert_eq!(
        field(&trip, "summary"),
        "In five days the jury met mayors, teachers and families in four countries."
    );
    let html = field(&trip, "content_html");
    assert!(
        html.contains("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        "{html}"
    );
    assert!(
        html.contains("Every city showed us what the numbers leave out."),
        "{html}"
    );
    for text in ["{{", "{%", "%}", "quote("] {
        assert!(!html.contains(text), "{text:?} in {html}");
    }

    let undated = lines_with(&log, "pages without a date");
    assert_eq!(undated.len(), 1, "{log}");
    assert!(undated[0].contains(": 1 ("), "{log}");
    assert!(
        undated[0].contains("/content/about.md) source=content"),
        "{log}"
    );
    let quote = lines_with(&log, "unknown shortcode `quote`");
    assert_eq!(quote.len(), 1, "{log}");
    assert!(quote[0].contains("blog/2024-04-02-trip/index.md"), "{log}");
    assert_eq!(lines_with(&log, " WARN ").len(), 1, "{log}");

    feeds_pass_the_parser(&site);
}

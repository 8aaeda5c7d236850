//! `crier init` on small sites written to a temporary folder, one per config shape: the
//! written file is parsed back with `toml` and its values checked.

use std::path::Path;

use tempfile::TempDir;
use toml::{Table, Value};

use super::{InitError, init};

/// A site folder holding `files` (path, text).
fn site(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
        std::fs::write(&path, text).expect("a file");
    }
    dir
}

/// Runs init on `dir` and parses the file it wrote, with its text.
fn written(dir: &Path) -> (Table, String) {
    let out = init(dir, None).unwrap_or_else(|e| panic!("init failed: {e}"));
    assert_eq!(out.path, dir.join("crier.toml"));
    let text = std::fs::read_to_string(&out.path).expect("the written config");
    let table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (table, text)
}

fn at<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let first = table.get(parts.next()?)?;
    parts.try_fold(first, |value, key| match key.parse::<usize>() {
        Ok(i) => value.get(i),
        Err(_) => value.get(key),
    })
}

fn text<'a>(table: &'a Table, path: &str) -> &'a str {
    at(table, path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no text at {path} in {table:#?}"))
}

fn strings(table: &Table, path: &str) -> Vec<String> {
    at(table, path)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no array at {path}"))
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn sources(table: &Table) -> &Vec<Value> {
    at(table, "sources")
        .and_then(Value::as_array)
        .expect("sources")
}

#[test]
fn single_language_hugo_toml() {
    // Hugo's keys are case-insensitive: `BaseURL` is `baseURL`.
    let dir = site(&[(
        "hugo.toml",
        "BaseURL = 'https://example.org/blog/'\n\
         languageCode = 'en-us'\n\
         title = 'Example \"blog\"'\n\
         timeZone = 'Europe/Oslo'\n\
         [params]\n\
         description = 'Notes'\n\
         author = 'Jane Doe'\n",
    )]);
    let (c, raw) = written(dir.path());
    assert_eq!(text(&c, "site.title"), "Example \"blog\"");
    assert_eq!(text(&c, "site.description"), "Notes");
    assert_eq!(text(&c, "site.base_url"), "https://example.org/blog/");
    assert_eq!(strings(&c, "site.languages"), ["en"]);
    assert_eq!(text(&c, "site.timezone"), "Europe/Oslo");
    assert_eq!(text(&c, "site.author.name"), "Jane Doe");
    assert!(at(&c, "site.language").is_none());
    let [source] = sources(&c).as_slice() else {
        panic!("one source: {c:#?}")
    };
    let source = source.as_table().expect("a table");
    assert_eq!(text(source, "type"), "directory");
    assert_eq!(text(source, "name"), "content");
    assert_eq!(text(source, "path"), "content");
    assert_eq!(text(source, "generator"), "hugo");
    // Hugo's default URL is the page's path in the content folder.
    assert_eq!(text(source, "permalink"), "/{path}/");
    for absent in [
        "language",
        "default_language_in_root",
        "permalinks",
        "slugify",
    ] {
        assert!(source.get(absent).is_none(), "{absent}");
    }
    assert_eq!(text(&c, "feeds.output_dir"), "feeds");
    assert_eq!(text(&c, "store.path"), "state/crier.sqlite3");
    assert!(at(&c, "channels").is_none());
    assert!(raw.contains("# [[channels]]"), "{raw}");
    // Default taxonomies, and which of them crier reads.
    assert!(
        raw.contains("Taxonomies of the site: \"categories\", \"tags\""),
        "{raw}"
    );
}

#[test]
fn hugo_yaml_with_permalinks_by_kind() {
    let dir = site(&[(
        "hugo.yaml",
        "baseURL: https://example.org\n\
         title: Y\n\
         uglyURLs: true\n\
         removePathAccents: true\n\
         permalinks:\n\
         \x20 page:\n\
         \x20   posts: /:year/:month/:slugorcontentbasename/\n\
         \x20   notes: /:year/:title/\n\
         \x20 section:\n\
         \x20   posts: /articles/\n\
         taxonomies:\n\
         \x20 tag: tags\n\
         \x20 series: series\n",
    )]);
    let (c, raw) = written(dir.path());
    assert_eq!(text(&c, "site.title"), "Y");
    let source = sources(&c)[0].as_table().expect("a table");
    assert_eq!(text(source, "permalink"), "/{path}.html");
    assert_eq!(
        at(source, "remove_path_accents"),
        Some(&Value::Boolean(true))
    );
    assert_eq!(text(source, "permalinks.posts"), "/{year}/{month}/{slug}/");
    // `:title` has no crier equivalent: written commented out, with the reason.
    assert!(at(source, "permalinks.notes").is_none());
    assert!(
        raw.contains("# \"notes\" = \"/:year/:title/\"   # `:title` has no crier equivalent"),
        "{raw}"
    );
    // Section pages are lists, not entries.
    assert!(!raw.contains("/articles/"), "{raw}");
    assert!(raw.contains("the others (\"series\") are kept"), "{raw}");
    // Timezone unset: Hugo's UTC, which is crier's default, said in a comment.
    assert!(at(&c, "site.timezone").is_none());
    assert!(raw.contains("# timezone = \"UTC\""), "{raw}");
}

#[test]
fn hugo_config_directory_is_merged_as_hugo_merges_it() {
    let dir = site(&[
        // The root file comes first; the configuration directory is merged over it.
        (
            "config.toml",
            "baseURL = 'https://old.example/'\ntitle = 'Root'\n",
        ),
        (
            "config/_default/hugo.toml",
            "baseURL = 'https://example.org/'\ntitle = 'Default'\ndefaultContentLanguage = 'en'\n",
        ),
        (
            "config/_default/languages.toml",
            "[en]\nweight = 2\ntitle = 'English site'\n\
             [fr]\nweight = 1\ntitle = 'Site français'\n\
             [de]\nweight = 3\ndisabled = true\n",
        ),
        ("config/_default/params.toml", "description = 'About us'\n"),
        (
            "config/_default/params.fr.toml",
            "description = 'À propos'\n",
        ),
        (
            "config/_default/permalinks.toml",
            "posts = '/:section/:year/:slugorfilename/'\n",
        ),
        // Menus are Hugo's business: ignored, even in a shape crier would not understand.
        (
            "config/_default/menus.en.toml",
            "[[main]]\nname = 'Home'\nurl = '/'\n",
        ),
        // `hugo` builds in the production environment.
        ("config/production/hugo.toml", "title = 'Production'\n"),
        ("config/development/hugo.toml", "title = 'Development'\n"),
    ]);
    let (c, raw) = written(dir.path());
    assert_eq!(text(&c, "site.base_url"), "https://example.org/");
    assert_eq!(text(&c, "site.title"), "Production");
    assert_eq!(text(&c, "site.description"), "About us");
    // The default language first, then by weight; `de` is disabled.
    assert_eq!(strings(&c, "site.languages"), ["en", "fr"]);
    assert_eq!(text(&c, "site.language.en.title"), "English site");
    assert!(at(&c, "site.language.en.home").is_none());
    assert_eq!(text(&c, "site.language.fr.title"), "Site français");
    assert_eq!(text(&c, "site.language.fr.description"), "À propos");
    assert_eq!(text(&c, "site.language.fr.home"), "https://example.org/fr/");
    let source = sources(&c)[0].as_table().expect("a table");
    assert_eq!(text(source, "permalink"), "/{lang}/{path}/");
    assert_eq!(
        at(source, "default_language_in_root"),
        Some(&Value::Boolean(true))
    );
    assert_eq!(
        text(source, "permalinks.posts"),
        "/{lang}/{section}/{year}/{slug}/"
    );
    assert!(raw.contains("\"config/_default/languages.toml\""), "{raw}");
    assert!(raw.contains("\"config/production/hugo.toml\""), "{raw}");
}

#[test]
fn hugo_languages_with_their_own_content_folders() {
    let dir = site(&[(
        "hugo.toml",
        "baseURL = 'https://example.org/'\n\
         title = 'Docs'\n\
         defaultContentLanguage = 'de'\n\
         defaultContentLanguageInSubdir = true\n\
         [permalinks.page]\n\
         posts = '/:year/:slugorcontentbasename/'\n\
         [languages.de]\n\
         contentDir = 'content/de'\n\
         weight = 1\n\
         [languages.en]\n\
         contentDir = 'content/en'\n\
         weight = 2\n\
         [languages.en.permalinks.page]\n\
         posts = '/blog/:year/:slugorcontentbasename/'\n",
    )]);
    let (c, _) = written(dir.path());
    assert_eq!(strings(&c, "site.languages"), ["de", "en"]);
    // In a subdirectory, the default language has a home of its own too.
    assert_eq!(text(&c, "site.language.de.home"), "https://example.org/de/");
    let names: Vec<&str> = sources(&c)
        .iter()
        .map(|s| s.get("name").and_then(Value::as_str).unwrap_or_default())
        .collect();
    assert_eq!(names, ["content-de", "content-en"]);
    for (source, lang) in sources(&c).iter().zip(["de", "en"]) {
        let source = source.as_table().expect("a table");
        assert_eq!(text(source, "language"), lang);
        assert_eq!(text(source, "path"), format!("content/{lang}"));
        assert_eq!(
            at(source, "default_language_in_root"),
            Some(&Value::Boolean(false))
        );
        assert!(source.get("exclude").is_none());
    }
    // Each language's own permalinks go to its own folder.
    assert_eq!(
        text(&c, "sources.0.permalinks.posts"),
        "/{lang}/{year}/{slug}/"
    );
    assert_eq!(
        text(&c, "sources.1.permalinks.posts"),
        "/{lang}/blog/{year}/{slug}/"
    );
}

#[test]
fn a_language_folder_inside_the_shared_one_is_excluded_from_it() {
    let dir = site(&[(
        "hugo.toml",
        "baseURL = 'https://example.org/'\ntitle = 'T'\n\
         [languages.en]\nweight = 1\n\
         [languages.fr]\nweight = 2\ncontentDir = 'content/fr'\n",
    )]);
    let (c, _) = written(dir.path());
    assert_eq!(text(&c, "sources.0.name"), "content");
    assert!(at(&c, "sources.0.language").is_none());
    assert_eq!(strings(&c, "sources.0.exclude"), ["fr/**"]);
    assert_eq!(text(&c, "sources.1.name"), "content-fr");
    assert_eq!(text(&c, "sources.1.language"), "fr");
}

#[test]
fn zola_with_languages_and_slugify() {
    let dir = site(&[(
        "config.toml",
        "base_url = 'https://zola.example'\n\
         title = 'Zola site'\n\
         description = 'Things'\n\
         default_language = 'fr'\n\
         author = 'Ann'\n\
         taxonomies = [{ name = 'tags' }, { name = 'authors' }]\n\
         [slugify]\npaths = 'safe'\n\
         [languages.en]\ntitle = 'Zola site in English'\n\
         taxonomies = [{ name = 'categories' }]\n\
         [extra]\nbaseURL = 'not Hugo'\n",
    )]);
    let (c, raw) = written(dir.path());
    assert_eq!(text(&c, "site.title"), "Zola site");
    assert_eq!(text(&c, "site.description"), "Things");
    assert_eq!(text(&c, "site.base_url"), "https://zola.example");
    assert_eq!(strings(&c, "site.languages"), ["fr", "en"]);
    assert_eq!(text(&c, "site.author.name"), "Ann");
    assert_eq!(text(&c, "site.language.en.title"), "Zola site in English");
    assert_eq!(
        text(&c, "site.language.en.home"),
        "https://zola.example/en/"
    );
    assert!(at(&c, "site.timezone").is_none());
    assert!(raw.contains("Zola has no time-zone setting"), "{raw}");
    let source = sources(&c)[0].as_table().expect("a table");
    assert_eq!(text(source, "generator"), "zola");
    assert_eq!(text(source, "path"), "content");
    assert_eq!(text(source, "permalink"), "/{lang}/{path}/");
    assert_eq!(
        at(source, "default_language_in_root"),
        Some(&Value::Boolean(true))
    );
    assert_eq!(text(source, "slugify"), "safe");
    assert!(
        raw.contains("Taxonomies of the site: \"authors\", \"categories\", \"tags\""),
        "{raw}"
    );
}

#[test]
fn zola_defaults() {
    let dir = site(&[("config.toml", "base_url = 'https://zola.example/'\n")]);
    let out = init(dir.path(), None).expect("written");
    let raw = std::fs::read_to_string(out.path).expect("the config");
    let c: Table = toml::from_str(&raw).expect("TOML");
    // No title: the host name, and a note saying so.
    assert_eq!(text(&c, "site.title"), "zola.example");
    assert!(out.notes.iter().any(|n| n.contains("no `title`")));
    assert_eq!(strings(&c, "site.languages"), ["en"]);
    assert_eq!(text(&c, "sources.0.permalink"), "/{path}/");
    assert_eq!(text(&c, "sources.0.slugify"), "on");
}

#[test]
fn an_existing_file_is_never_replaced() {
    let dir = site(&[
        ("hugo.toml", "baseURL = 'https://example.org/'\n"),
        ("crier.toml", "# mine\n"),
        ("elsewhere/crier.toml", "# mine too\n"),
    ]);
    let e = init(dir.path(), None).unwrap_err();
    assert!(matches!(e, InitError::Exists { .. }) && e.is_usage(), "{e}");
    let message = e.to_string();
    assert!(message.contains("crier.toml already exists"), "{message}");
    assert!(message.contains("--output"), "{message}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("crier.toml")).unwrap(),
        "# mine\n"
    );
    let other = dir.path().join("elsewhere/crier.toml");
    assert!(matches!(
        init(dir.path(), Some(&other)),
        Err(InitError::Exists { .. })
    ));
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "# mine too\n");
}

#[test]
fn output_elsewhere_points_back_at_the_content() {
    let dir = site(&[(
        "hugo.toml",
        "baseURL = 'https://example.org/'\ntitle = 'T'\n",
    )]);
    let out_dir = tempfile::tempdir().expect("a folder");
    let output = out_dir.path().join("site.toml");
    init(dir.path(), Some(&output)).expect("written");
    let c: Table = toml::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let path = Path::new(text(&c, "sources.0.path")).to_owned();
    assert!(path.is_absolute(), "{}", path.display());
    assert_eq!(
        path,
        std::fs::canonicalize(dir.path()).unwrap().join("content")
    );
}

#[test]
fn a_folder_that_is_not_a_site_says_what_was_looked_for() {
    let dir = site(&[("README.md", "hello\n"), ("config.yaml.bak", "x")]);
    let e = init(dir.path(), None).unwrap_err();
    assert!(
        matches!(e, InitError::NotASite { .. }) && e.is_usage(),
        "{e}"
    );
    let message = e.to_string();
    for name in [
        "hugo.toml",
        "hugo.yaml",
        "config.json",
        "config/_default/",
        "config.toml with base_url",
    ] {
        assert!(message.contains(name), "{name}: {message}");
    }
    assert!(!dir.path().join("crier.toml").exists());
    let missing = dir.path().join("nope");
    assert!(matches!(
        init(&missing, Some(&dir.path().join("x.toml"))),
        Err(InitError::NotASite { .. })
    ));
}

#[test]
fn a_broken_config_names_its_file_and_line() {
    let cases = [
        (
            "hugo.toml",
            "baseURL = 'https://example.org/'\ntitle = 'T'\n[params\n",
            "TOML",
            "line 3",
        ),
        (
            "hugo.yaml",
            "baseURL: https://example.org/\ntitle: [a\nx: 1\n",
            "YAML",
            "line 3",
        ),
        (
            "hugo.json",
            "{\n  \"baseURL\": \"https://example.org/\",\n  \"title\": \n}\n",
            "JSON",
            "line 4",
        ),
        (
            "config.toml",
            "base_url = 'https://zola.example'\ntitle = \n",
            "TOML",
            "line 2",
        ),
        (
            "config/_default/languages.toml",
            "[en]\nweight = = 1\n",
            "TOML",
            "line 2",
        ),
    ];
    for (file, config, format, line) in cases {
        let mut files = vec![(file, config)];
        if file.starts_with("config/") {
            files.push(("hugo.toml", "baseURL = 'https://example.org/'\n"));
        }
        let dir = site(&files);
        let e = init(dir.path(), None).unwrap_err();
        let message = e.to_string();
        assert!(matches!(e, InitError::Parse { .. }), "{file}: {message}");
        assert!(message.contains(file), "{file}: {message}");
        assert!(
            message.contains(&format!("not valid {format}")),
            "{file}: {message}"
        );
        assert!(message.contains(line), "{file}: {message}");
        assert!(
            message.contains("run crier init again"),
            "{file}: {message}"
        );
        assert!(!dir.path().join("crier.toml").exists(), "{file}");
    }
}

/// The files of a site, as `(path, text)`.
type Files = &'static [(&'static str, &'static str)];

#[test]
fn unusable_values_name_the_file_and_key() {
    // The site, where the message says the mistake is, and what it says.
    let cases: [(Files, &str, &str); 5] = [
        (
            &[("hugo.toml", "title = 'T'\n")],
            "hugo.toml: `baseURL`",
            "not set",
        ),
        (
            &[("hugo.toml", "baseURL = '/'\n")],
            "hugo.toml: `baseURL`",
            "not an absolute URL",
        ),
        (
            &[
                ("hugo.toml", "baseURL = 'https://example.org/'\n"),
                ("config/_default/hugo.toml", "timeZone = 'Europe/Pari'\n"),
            ],
            "config/_default/hugo.toml: `timeZone`",
            "Europe/Paris",
        ),
        (
            &[(
                "hugo.toml",
                "baseURL = 'https://example.org/'\ndefaultContentLanguage = 'nl'\n[languages.en]\n[languages.fr]\n",
            )],
            "hugo.toml: `defaultContentLanguage`",
            "\"nl\" is not one of the enabled languages (en, fr)",
        ),
        (
            &[(
                "config.toml",
                "base_url = 'https://z.example'\n[slugify]\npaths = 'maybe'\n",
            )],
            "config.toml: `slugify.paths`",
            "\"on\", \"safe\", \"off\"",
        ),
    ];
    for (files, place, what) in cases {
        let dir = site(files);
        let e = init(dir.path(), None).unwrap_err();
        let message = e.to_string();
        assert!(matches!(e, InitError::Invalid { .. }), "{message}");
        assert!(message.contains(place), "{place}: {message}");
        assert!(message.contains(what), "{what}: {message}");
    }
}

#[test]
fn a_hugo_config_toml_is_not_taken_for_zola() {
    let dir = site(&[(
        "config.toml",
        "baseurl = 'https://example.org/'\ntitle = 'H'\n",
    )]);
    let (c, _) = written(dir.path());
    assert_eq!(text(&c, "sources.0.generator"), "hugo");
    // hugo.toml wins over config.toml, as in Hugo.
    let dir = site(&[
        ("hugo.toml", "baseURL = 'https://new.example/'\n"),
        ("config.toml", "base_url = 'https://zola.example/'\n"),
    ]);
    let (c, _) = written(dir.path());
    assert_eq!(text(&c, "sources.0.generator"), "hugo");
    assert_eq!(text(&c, "site.base_url"), "https://new.example/");
}

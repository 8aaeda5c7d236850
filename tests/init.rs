//! `crier init --from PATH` end to end with the real binary: its exit codes and messages, and
//! the config it writes accepted by `crier check` and `crier run --once --dry-run` on small
//! Hugo and Zola sites.

mod common;

use std::fs;
use std::path::Path;

use common::{Crier, OutputText, Site, entry_file};

const NOW: &str = "2024-06-01T12:00:00Z";

/// `crier init` with `args` (the global `--config` is not used by it).
fn init(site: &Site, args: &[&str]) -> Crier {
    let mut all = vec!["init", "--from"];
    let root = site.root().to_str().expect("a UTF-8 temporary path");
    all.push(root);
    all.extend_from_slice(args);
    Crier::new(site.path("unused.toml")).args(all)
}

/// A one-language Hugo site with two dated posts.
fn hugo_site() -> Site {
    let site = Site::empty();
    site.write(
        "hugo.toml",
        "baseURL = 'https://example.org/'\n\
         languageCode = 'en-us'\n\
         title = 'Hugo site'\n\
         timeZone = 'Europe/Paris'\n\
         [params]\nauthor = 'Jane'\n",
    );
    site.write_entry(
        "content/posts/first.md",
        &entry_file("First", "2024-05-01").category("News"),
    );
    site.write_entry(
        "content/posts/second.md",
        &entry_file("Second", "2024-05-20"),
    );
    site
}

#[test]
fn init_writes_a_config_that_check_and_a_dry_run_accept() {
    let site = hugo_site();
    let out = init(&site, &[]).output();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let stdout = out.stdout_text();
    assert!(
        stdout.contains("crier.toml from the Hugo site's config (hugo.toml)"),
        "{stdout}"
    );
    assert!(stdout.contains("next: crier --config"), "{stdout}");
    let written: toml::Table = toml::from_str(&site.read("crier.toml")).expect("TOML");
    let source = written["sources"][0].as_table().expect("a source");
    assert_eq!(source["generator"].as_str(), Some("hugo"));
    site.check_and_dry_run(NOW);
    let titles = site.feed_titles("feeds/atom.xml");
    assert_eq!(titles, ["Second", "First"]);
}

#[test]
fn a_multilingual_hugo_config_with_content_folders_is_accepted() {
    let site = Site::empty();
    site.write(
        "hugo.toml",
        "baseURL = 'https://example.org/'\ntitle = 'Docs'\n\
         defaultContentLanguage = 'en'\n\
         [permalinks.page]\nposts = '/:year/:slugorcontentbasename/'\n\
         [languages.en]\ncontentDir = 'content/en'\nweight = 1\n\
         [languages.fr]\ncontentDir = 'content/fr'\nweight = 2\ntitle = 'Docs (fr)'\n",
    );
    site.write_entry(
        "content/en/posts/hello.md",
        &entry_file("Hello", "2024-05-01"),
    );
    site.write_entry(
        "content/fr/posts/hello.md",
        &entry_file("Bonjour", "2024-05-01"),
    );
    init(&site, &[]).assert().success();
    site.check_and_dry_run(NOW);
    assert_eq!(site.feed_titles("feeds/fr/atom.xml"), ["Bonjour"]);
}

#[test]
fn a_zola_config_as_written_is_accepted() {
    let site = Site::empty();
    site.write(
        "config.toml",
        "base_url = 'https://zola.example'\ntitle = 'Zola'\n\
         taxonomies = [{ name = 'tags' }]\n\
         [languages.fr]\ntitle = 'Zola (fr)'\n",
    );
    site.write_entry("content/blog/hello.md", &entry_file("Hello", "2024-05-01"));
    site.write_entry(
        "content/blog/hello.fr.md",
        &entry_file("Bonjour", "2024-05-01"),
    );
    init(&site, &[]).assert().success();
    site.check_and_dry_run(NOW);
}

#[test]
fn an_existing_file_is_refused_with_exit_2() {
    let site = hugo_site();
    site.write("crier.toml", "# the operator's own\n");
    let out = init(&site, &[]).output();
    assert_eq!(out.status.code(), Some(2));
    let err = out.stderr_text();
    assert!(err.contains("crier.toml already exists"), "{err}");
    assert!(err.contains("--output"), "{err}");
    assert_eq!(site.read("crier.toml"), "# the operator's own\n");

    let other = site.path("other.toml");
    init(&site, &["--output", other.to_str().expect("UTF-8")])
        .assert()
        .success();
    assert!(
        fs::read_to_string(&other)
            .expect("written")
            .contains("[[sources]]")
    );
    assert_eq!(
        init(&site, &["--output", other.to_str().expect("UTF-8")])
            .output()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_folder_that_is_no_site_and_a_broken_config_are_explained() {
    let site = Site::empty();
    site.write("index.html", "<p>hi</p>");
    let out = init(&site, &[]).output();
    assert_eq!(out.status.code(), Some(2));
    let err = out.stderr_text();
    assert!(err.contains("is neither a Hugo nor a Zola site"), "{err}");
    assert!(
        err.contains("hugo.toml") && err.contains("config/_default/"),
        "{err}"
    );

    site.write(
        "hugo.yaml",
        "baseURL: https://example.org/\ntitle: [unclosed\n",
    );
    let out = init(&site, &[]).output();
    assert_eq!(out.status.code(), Some(1));
    let err = out.stderr_text();
    assert!(err.contains("hugo.yaml is not valid YAML: line"), "{err}");
    assert!(!Path::new(&site.path("crier.toml")).exists());
}

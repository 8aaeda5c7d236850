//! A site as an operator lays it out, in a temporary folder that is removed when the test
//! ends: `crier.toml`, the content folder, secret files, and the feeds and state crier writes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crier::secrets::SecretRef;
use tempfile::TempDir;

use super::{Crier, OutputText};

/// A throw-away site folder; every relative path below is relative to it.
pub struct Site {
    dir: TempDir,
}

impl Site {
    /// A site whose `crier.toml` holds `config`.
    pub fn new(config: &str) -> Site {
        let site = Site::empty();
        site.set_config(config);
        site
    }

    /// A site folder without a config yet (for a config that names files written first).
    pub fn empty() -> Site {
        Site {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// A copy of the fixture folder `fixture` (relative to the crate root, e.g.
    /// `tests/fixtures/sites/hugo`), so that what crier writes beside it never lands in the tree.
    pub fn copy_of(fixture: &str) -> Site {
        let site = Site::empty();
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture);
        for file in walk(&from) {
            let rel = file.strip_prefix(&from).expect("a file under the fixture");
            let to = site.root().join(rel);
            let folder = to.parent().expect("a path inside the site");
            fs::create_dir_all(folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
            fs::copy(&file, &to).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
        site
    }

    /// The site folder.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` inside the site folder.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The config file.
    pub fn config_path(&self) -> PathBuf {
        self.path("crier.toml")
    }

    /// Replaces the config.
    pub fn set_config(&self, config: &str) {
        self.write("crier.toml", config);
    }

    /// Appends `tables` to the config (channels added after a first run, say).
    pub fn append_config(&self, tables: &str) {
        let config = self.read("crier.toml");
        self.set_config(&format!("{config}{tables}"));
    }

    /// Writes `text` to `rel`, creating its folders.
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        let folder = path.parent().expect("a path inside the site");
        fs::create_dir_all(folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Writes an entry file at `rel` (e.g. `content/ghent.en.md`).
    pub fn write_entry(&self, rel: &str, entry: &EntryFile) {
        self.write(rel, &entry.text());
    }

    /// Reads `rel` as text; a missing file fails the test naming it.
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Writes a secret file `name` in the site folder, readable by its owner only.
    pub fn secret(&self, name: &str, value: &str) -> SecretFile {
        secret_file(self.root(), name, value)
    }

    /// Parses the feed file `rel` (RSS, Atom or JSON Feed) with an independent parser.
    pub fn feed(&self, rel: &str) -> feed_rs::model::Feed {
        let bytes = fs::read(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        feed_rs::parser::parse(bytes.as_slice()).unwrap_or_else(|e| panic!("{rel} parses: {e}"))
    }

    /// The entry titles of the feed file `rel`, in the feed's order.
    pub fn feed_titles(&self, rel: &str) -> Vec<String> {
        self.feed(rel)
            .entries
            .into_iter()
            .map(|e| e.title.map(|t| t.content).unwrap_or_default())
            .collect()
    }

    /// Every file under the folder `rel` with its bytes, sorted by path: a snapshot of the
    /// feeds to compare two states of the output.
    pub fn feed_files(&self, rel: &str) -> Vec<FeedFile> {
        let mut files: Vec<FeedFile> = walk(&self.path(rel))
            .into_iter()
            .map(|path| FeedFile {
                bytes: fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                path,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }

    /// `crier` on this site's config, run from the site folder.
    pub fn crier(&self) -> Crier {
        Crier::new(self.config_path()).current_dir(self.root())
    }

    /// `crier run --once` at `now`, which must succeed (exit 0); its output.
    pub async fn run_once_at(&self, now: &str) -> std::process::Output {
        let output = self
            .crier()
            .now(now)
            .args(["run", "--once"])
            .output_async()
            .await;
        assert!(
            output.status.success(),
            "{}\n{}",
            output.stdout_text(),
            output.stderr_text()
        );
        output
    }

    /// `crier check` and then `crier run --once --dry-run` at `now` with the site's config, both
    /// successful (nothing to fix, no error logged, feeds and state written); the run's log.
    pub fn check_and_dry_run(&self, now: &str) -> String {
        let check = self.crier().now(now).args(["check"]).output();
        let out = check.stdout_text();
        assert_eq!(
            check.status.code(),
            Some(0),
            "{out}\n{}",
            check.stderr_text()
        );
        assert!(out.contains("no problems found"), "{out}");
        let run = self
            .crier()
            .now(now)
            .args(["run", "--once", "--dry-run"])
            .output();
        let log = run.stderr_text();
        assert_eq!(run.status.code(), Some(0), "{log}");
        assert!(!log.contains(" ERROR "), "{log}");
        assert!(log.contains("errors=0"), "{log}");
        assert!(self.path("feeds/rss.xml").is_file());
        assert!(self.path("state/crier.sqlite3").is_file());
        log
    }
}

/// One file of a snapshot taken by [`Site::files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFile {
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    pub bytes: Vec<u8>,
}

/// The files under `dir`, in any order.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let items = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for item in items {
        let path = item.expect("a readable folder item").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// An entry file in Zola's form: TOML front matter between `+++` lines, then the body.
#[derive(Debug, Clone)]
pub struct EntryFile {
    title: String,
    /// A TOML date or date-time, written as it is (`2024-05-01`, `2024-07-01T09:00:00+02:00`).
    date: String,
    categories: Vec<String>,
    extra: BTreeMap<String, String>,
    body: String,
}

/// An entry file titled `title`, published on `date`, with the body `Body.`.
pub fn entry_file(title: &str, date: &str) -> EntryFile {
    EntryFile {
        title: title.to_owned(),
        date: date.to_owned(),
        categories: Vec::new(),
        extra: BTreeMap::new(),
        body: "Body.".to_owned(),
    }
}

impl EntryFile {
    /// Replaces the body (Markdown).
    pub fn body(mut self, body: &str) -> EntryFile {
        body.clone_into(&mut self.body);
        self
    }

    /// Adds a category.
    pub fn category(mut self, category: &str) -> EntryFile {
        self.categories.push(category.to_owned());
        self
    }

    /// Sets a string field of the `[extra]` table.
    pub fn extra(mut self, key: &str, value: &str) -> EntryFile {
        self.extra.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The file's text.
    pub fn text(&self) -> String {
        let mut text = format!("+++\ntitle = \"{}\"\ndate = {}\n", self.title, self.date);
        if !self.categories.is_empty() {
            let quoted: Vec<String> = self.categories.iter().map(|c| format!("\"{c}\"")).collect();
            text.push_str(&format!("categories = [{}]\n", quoted.join(", ")));
        }
        if !self.extra.is_empty() {
            text.push_str("[extra]\n");
            for (key, value) in &self.extra {
                text.push_str(&format!("{key} = \"{value}\"\n"));
            }
        }
        text.push_str(&format!("+++\n{}\n", self.body));
        text
    }
}

/// A secret kept in a file only its owner can read, as the docs tell operators to keep one.
#[derive(Debug, Clone)]
pub struct SecretFile {
    path: PathBuf,
}

/// Writes `value` (exactly, add a line feed if the test wants one) to `dir/name`, mode 0600.
pub fn secret_file(dir: &Path, name: &str, value: &str) -> SecretFile {
    let secret = SecretFile {
        path: dir.join(name),
    };
    fs::write(&secret.path, value).unwrap_or_else(|e| panic!("{}: {e}", secret.path.display()));
    secret.set_mode(0o600);
    secret
}

impl SecretFile {
    /// Where the secret is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes the file's permission bits (a no-op off Unix).
    pub fn set_mode(&self, mode: u32) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.path, fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("{}: {e}", self.path.display()));
        }
        #[cfg(not(unix))]
        let _ = mode;
    }

    /// `{ file = "…" }`, to write into a config text.
    pub fn inline(&self) -> String {
        format!("{{ file = {} }}", self.quoted_path())
    }

    /// The same reference as a TOML value, for tables built in code.
    pub fn toml(&self) -> toml::Value {
        let mut table = toml::Table::new();
        table.insert("file".into(), self.path_text().into());
        toml::Value::Table(table)
    }

    /// The reference as the library holds it.
    pub fn secret_ref(&self) -> SecretRef {
        SecretRef::File(self.path.clone())
    }

    fn path_text(&self) -> String {
        self.path
            .to_str()
            .expect("temporary paths are UTF-8")
            .to_owned()
    }

    /// The path as a TOML string, quotes and escapes included.
    fn quoted_path(&self) -> String {
        toml::Value::String(self.path_text()).to_string()
    }
}

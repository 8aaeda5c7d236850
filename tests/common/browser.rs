//! A real browser for the tests that look at what crier writes for people: Debian's Chromium,
//! headless ([`chromium`]), the folder where such tests keep their screenshots
//! ([`artefacts`]), and a folder served over HTTP on 127.0.0.1 ([`serve_folder`]), since
//! Chromium applies a feed's XSL stylesheet over HTTP only, never to a `file://` page.
//!
//! Without Chromium a test prints why and passes, unless `CRIER_REQUIRE_BROWSER_CHECKS=1`
//! (CI sets it), which makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::reference;

/// The variable that makes a missing browser a failure.
pub const REQUIRE: &str = "CRIER_REQUIRE_BROWSER_CHECKS";

/// Where the tests keep what they make for people to look at: `target/{name}/`.
pub fn artefacts(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Headless Chromium on `url` (`file://…` or `http://…`) with `args`; what it printed, or
/// `None` (after saying why) when it cannot run.
pub fn chromium(url: &str, args: &[&str], profile: &Path) -> Option<String> {
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => {
            reference::skip(REQUIRE, &format!("cannot run chromium ({e})"));
            return None;
        }
    };
    assert!(
        output.status.success(),
        "chromium failed on {url} ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The `file://` URL of `page`.
pub fn file_url(page: &Path) -> String {
    format!("file://{}", page.display())
}

/// Serves every file under `folder` at `{prefix}{its path}` (`prefix` starts and ends with
/// `/`), anything else a 404. XML files go out as `application/xml`, as most static hosts send
/// `.xml` (nginx, Apache and Caddy say `text/xml`, which Chromium treats alike): Chromium shows
/// a feed sent as `application/rss+xml` or `application/atom+xml` as plain text, stylesheet
/// or not.
pub async fn serve_folder(folder: &Path, prefix: &str) -> MockServer {
    let server = MockServer::start().await;
    for file in walkdir::WalkDir::new(folder) {
        let file = file.unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        if !file.file_type().is_file() {
            continue;
        }
        let rel = file
            .path()
            .strip_prefix(folder)
            .expect("a file under the folder")
            .to_str()
            .expect("a UTF-8 path");
        let bytes =
            std::fs::read(file.path()).unwrap_or_else(|e| panic!("{}: {e}", file.path().display()));
        let media_type = match rel.rsplit('.').next() {
            Some("json") => "application/feed+json; charset=utf-8",
            Some("xml" | "xsl") => "application/xml; charset=utf-8",
            Some("png") => "image/png",
            _ => "application/octet-stream",
        };
        Mock::given(method("GET"))
            .and(path(format!("{prefix}{rel}")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(bytes, media_type))
            .mount(&server)
            .await;
    }
    server
}

//! The local file of an entry's image, so that channels upload it from disk rather than
//! download it from a site that may not be deployed yet.
//!
//! An image's URL is mapped back to a file the way Hugo and Zola publish them:
//! 1. under the page's own URL (a page bundle's resource, Zola's colocated asset, written
//!    `cover.jpg` beside `index.md`): the same path below the page file's folder;
//! 2. under the site's base URL: the same path in the site's `static/` folder (both
//!    generators copy it to the site root; the site is the content folder's parent), then in
//!    the content folder itself (Zola publishes the assets of sections there too).
//!
//! The first candidate that is a file wins; an image found nowhere (on another host, or made
//! by the generator, like Hugo's processed images) is downloaded from its URL when posted.

use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;
use url::Url;

/// Where the site's own folders are, as the directory source knows them.
pub(super) struct SiteFolders<'a> {
    /// The content folder the source reads.
    pub(super) content: &'a Path,
    /// The site's base URL.
    pub(super) base_url: &'a str,
}

/// The file on this machine that `image_url` publishes, if one is found.
pub(super) fn local_file(
    site: &SiteFolders<'_>,
    page_file: &Path,
    page_url: &str,
    image_url: &str,
) -> Option<PathBuf> {
    let image = Url::parse(image_url).ok()?;
    let mut candidates = Vec::new();
    if let (Ok(page), Some(folder)) = (Url::parse(page_url), page_file.parent()) {
        // The page's "folder": its URL up to the last `/` (`/news/a/` for `/news/a/`).
        if let Some(rest) = below(&page, &image) {
            candidates.push(folder.join(rest));
        }
    }
    if let Ok(base) = Url::parse(site.base_url)
        && let Some(rest) = below(&base, &image)
    {
        if let Some(site_root) = site.content.parent() {
            candidates.push(site_root.join("static").join(&rest));
        }
        candidates.push(site.content.join(rest));
    }
    candidates.into_iter().find(|c| c.is_file())
}

/// The path of `url` below `folder`'s (same scheme, host and port), decoded, as a relative
/// path without `..`; `None` when `url` is not below it.
fn below(folder: &Url, url: &Url) -> Option<PathBuf> {
    if folder.origin() != url.origin() {
        return None;
    }
    let prefix = match folder.path().rfind('/') {
        Some(end) => &folder.path()[..=end],
        None => "/",
    };
    let rest = url.path().strip_prefix(prefix)?;
    let decoded = percent_decode_str(rest).decode_utf8().ok()?;
    let path = PathBuf::from(decoded.as_ref());
    // `%2e%2e` decodes to `..`: nothing outside the folder is read.
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && !rest.is_empty()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_found_in_the_bundle_then_static_then_content() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        let bundle = content.join("news/ghent");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::create_dir_all(dir.path().join("static/img")).unwrap();
        std::fs::create_dir_all(content.join("img")).unwrap();
        std::fs::write(bundle.join("cover.jpg"), "x").unwrap();
        std::fs::write(bundle.join("index.md"), "x").unwrap();
        std::fs::write(dir.path().join("static/img/a b.png"), "x").unwrap();
        std::fs::write(content.join("img/only-here.png"), "x").unwrap();
        let site = SiteFolders {
            content: &content,
            base_url: "https://example.org/",
        };
        let page = bundle.join("index.md");
        let url = "https://example.org/news/ghent/";
        let find = |image: &str| local_file(&site, &page, url, image);
        assert_eq!(
            find("https://example.org/news/ghent/cover.jpg"),
            Some(bundle.join("cover.jpg"))
        );
        assert_eq!(
            find("https://example.org/img/a%20b.png"),
            Some(dir.path().join("static/img/a b.png"))
        );
        assert_eq!(
            find("https://example.org/img/only-here.png"),
            Some(content.join("img/only-here.png"))
        );
        // Missing, elsewhere, or out of the folders: downloaded instead.
        assert_eq!(find("https://example.org/img/missing.png"), None);
        assert_eq!(find("https://cdn.example.net/img/a%20b.png"), None);
        assert_eq!(find("https://example.org/img/%2e%2e/%2e%2e/secret"), None);
    }
}

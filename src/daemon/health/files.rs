//! `/feeds/…`: the feeds folder served read-only with validators, so that feed readers polling
//! with `If-None-Match` or `If-Modified-Since` get a 304 instead of the whole feed
//! (RFC 9110 §13). Only regular files inside the folder are served: no `..`, no hidden names
//! (the writer's temporary files start with a dot), no symlink leading out of the folder.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use percent_encoding::percent_decode_str;

/// IMF-fixdate, the preferred HTTP date format (RFC 9110 §5.6.7).
const HTTP_DATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

/// The answer to a GET of `rest` (the path after `/feeds/`) under `root`.
pub(super) async fn serve(
    root: PathBuf,
    rest: String,
    headers: &HeaderMap,
) -> Response<Full<Bytes>> {
    let conditions = Conditions {
        if_none_match: header_text(headers, header::IF_NONE_MATCH),
        if_modified_since: header_text(headers, header::IF_MODIFIED_SINCE),
    };
    let found = tokio::task::spawn_blocking(move || lookup(&root, &rest, &conditions)).await;
    match found {
        Ok(Ok(answer)) => answer.into_response(),
        Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => {
            super::text(StatusCode::NOT_FOUND, "not found\n")
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot serve a feed file");
            super::text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file\n")
        }
        Err(e) => {
            tracing::warn!(error = %e, "serving a feed file failed");
            super::text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file\n")
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The request's conditional headers.
struct Conditions {
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
}

/// A file found, or its validators only when the client's copy is current.
struct Answer {
    not_modified: bool,
    bytes: Vec<u8>,
    etag: String,
    last_modified: Option<String>,
    content_type: &'static str,
}

impl Answer {
    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = if self.not_modified {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            response
        } else {
            let mut response = Response::new(Full::new(Bytes::from(self.bytes)));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            response
        };
        let headers = response.headers_mut();
        // Both are built from hex digits and a formatted date: always valid header values.
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(Ok(date)) = self.last_modified.as_deref().map(HeaderValue::from_str) {
            headers.insert(header::LAST_MODIFIED, date);
        }
        // Readers may keep a copy but must ask again: the next cycle can change the feed.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// Finds `rest` under `root` and decides between 200 and 304; a path that is refused reads
/// as not found.
fn lookup(root: &Path, rest: &str, conditions: &Conditions) -> io::Result<Answer> {
    let not_found = || io::Error::from(io::ErrorKind::NotFound);
    let root = root.canonicalize()?;
    let relative = relative_path(rest).ok_or_else(not_found)?;
    let path = root.join(relative).canonicalize()?;
    // A symlink may point anywhere; only what resolves inside the folder is served.
    if !path.starts_with(&root) {
        return Err(not_found());
    }
    let metadata = std::fs::metadata(&path)?;
    if !metadata.is_file() {
        return Err(not_found());
    }
    let bytes = std::fs::read(&path)?;
    let etag = format!("\"{}\"", &blake3::hash(&bytes).to_hex()[..32]);
    let modified = metadata.modified().ok().map(DateTime::<Utc>::from);
    let not_modified = match (&conditions.if_none_match, &conditions.if_modified_since) {
        // If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.1.3).
        (Some(tags), _) => etag_matches(tags, &etag),
        (None, Some(since)) => match (parse_http_date(since), modified) {
            (Some(since), Some(modified)) => modified.timestamp() <= since.timestamp(),
            _ => false,
        },
        (None, None) => false,
    };
    let content_type = content_type(path.file_name().and_then(|n| n.to_str()).unwrap_or(""));
    Ok(Answer {
        not_modified,
        bytes,
        etag,
        last_modified: modified.map(|t| t.format(HTTP_DATE).to_string()),
        content_type,
    })
}

/// The request path as a relative path, or `None` when it tries to leave the folder, names a
/// hidden file or a folder, or is not UTF-8.
fn relative_path(rest: &str) -> Option<PathBuf> {
    let decoded = percent_decode_str(rest).decode_utf8().ok()?;
    let mut path = PathBuf::new();
    for segment in decoded.split('/') {
        // Empty: `//` or a trailing slash (an absolute path after `/feeds/`, or a folder).
        // A leading dot: `.`, `..` and hidden files such as the writer's temporary files.
        if segment.is_empty()
            || segment.starts_with('.')
            || segment.contains(['\\', '\0'])
            || (cfg!(windows) && segment.contains(':'))
        {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, as for GET and HEAD).
fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// An HTTP date in any of the three formats recipients must accept (RFC 9110 §5.6.7).
fn parse_http_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    [
        HTTP_DATE,
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())
    .map(|t| t.and_utc())
}

/// The media type a file is sent with. RSS and Atom go as `application/xml`, as nginx, Apache,
/// Caddy and GitHub Pages send `.xml`: every feed reader takes it, and Chromium applies the
/// feeds' stylesheet only to a document of an XML type it knows (a feed sent as
/// `application/rss+xml` or `application/atom+xml` shows as plain text there).
fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    match (name, extension) {
        (_, "json") => "application/feed+json; charset=utf-8",
        (_, "xml" | "xsl") => "application/xml; charset=utf-8",
        (_, "html") => "text/html; charset=utf-8",
        (_, "css") => "text/css; charset=utf-8",
        (_, "txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        assert_eq!(
            relative_path("en/categories/art/rss.xml"),
            Some(PathBuf::from("en/categories/art/rss.xml"))
        );
        assert_eq!(
            relative_path("caf%C3%A9/feed.json"),
            Some(PathBuf::from("café/feed.json"))
        );
        for refused in [
            "../secret",
            "en/../../secret",
            "%2e%2e/secret",
            "en%2f..%2f..%2fsecret",
            "/etc/passwd",
            "%2fetc/passwd",
            ".rss.xml.abc123.tmp",
            "en/",
            "",
            "a\\..\\b",
            "%ff",
        ] {
            assert_eq!(relative_path(refused), None, "{refused}");
        }
    }

    #[test]
    fn etags_match_strongly_weakly_and_by_star() {
        let etag = "\"abc\"";
        assert!(etag_matches("\"abc\"", etag));
        assert!(etag_matches("\"x\", W/\"abc\"", etag));
        assert!(etag_matches("*", etag));
        assert!(!etag_matches("\"abcd\"", etag));
    }

    #[test]
    fn the_three_http_date_formats_parse() {
        let expected = DateTime::parse_from_rfc3339("1994-11-06T08:49:37Z").unwrap();
        for s in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_http_date(s), Some(expected.to_utc()), "{s}");
        }
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn feed_files_get_their_media_types() {
        assert_eq!(content_type("rss.xml"), "application/xml; charset=utf-8");
        assert_eq!(content_type("atom.xml"), "application/xml; charset=utf-8");
        assert_eq!(
            content_type("feed.fr.xsl"),
            "application/xml; charset=utf-8"
        );
        assert_eq!(
            content_type("feed.json"),
            "application/feed+json; charset=utf-8"
        );
        assert_eq!(
            content_type("sitemap.xml"),
            "application/xml; charset=utf-8"
        );
        assert_eq!(content_type("logo.png"), "application/octet-stream");
    }
}

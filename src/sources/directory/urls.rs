//! URLs of entries: permalinks from the configured pattern and `url` keys.
//!
//! Paths are assembled segment by segment with `url::Url`, so non-ASCII letters, spaces, `?`,
//! `#` and `%` in file names end up percent-encoded in a valid URL.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, FixedOffset};
use url::Url;

/// Values of the permalink placeholders for one entry.
pub(super) struct Placeholders<'a> {
    /// `{lang}`: empty for the default language when it lives at the site root.
    pub(super) lang: &'a str,
    pub(super) slug: &'a str,
    pub(super) section: &'a str,
    pub(super) path: &'a str,
    /// Source of `{year}`, `{month}` and `{day}`; they are left empty without one.
    pub(super) date: Option<DateTime<FixedOffset>>,
}

/// `base` followed by `pattern` with its placeholders filled in. Empty placeholders leave no
/// empty segments behind (`/{lang}/x/` is `/x/` when `{lang}` is empty); a trailing `/` in the
/// pattern is kept.
pub(super) fn permalink(base: &Url, pattern: &str, values: &Placeholders<'_>) -> Url {
    let mut path = String::with_capacity(pattern.len() + values.path.len());
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            path.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        match (name, values.date) {
            ("lang", _) => path.push_str(values.lang),
            ("slug", _) => path.push_str(values.slug),
            ("section", _) => path.push_str(values.section),
            ("path", _) => path.push_str(values.path),
            ("year", Some(d)) => _ = write!(path, "{:04}", d.year()),
            ("month", Some(d)) => _ = write!(path, "{:02}", d.month()),
            ("day", Some(d)) => _ = write!(path, "{:02}", d.day()),
            ("year" | "month" | "day", None) => {}
            // Config validation rejects unknown placeholders; keep one as written if it slips by.
            _ => path.push_str(&rest[start..start + end + 2]),
        }
        rest = &after[end + 1..];
    }
    path.push_str(rest);

    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut target) = url.path_segments_mut() {
        target.pop_if_empty();
        target.extend(&segments);
        if path.ends_with('/') && !segments.is_empty() {
            target.push("");
        }
    }
    url
}

/// The URL given by a `url` key: an absolute http(s) URL, or a path from the site root.
pub(super) fn from_key(base_prefix: &str, value: &str) -> Result<Url, String> {
    let value = value.trim();
    let hint = "use an absolute http(s) URL or a path starting with '/' such as \"/projects/x/\"";
    if value.starts_with('/') {
        return Url::parse(&format!("{base_prefix}{value}"))
            .map_err(|e| format!("`url`: {value:?} does not make a valid URL ({e}); {hint}"));
    }
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => Ok(url),
        _ => Err(format!("`url`: {value:?} is not usable; {hint}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(lang: &'a str, path: &'a str) -> Placeholders<'a> {
        Placeholders {
            lang,
            slug: "ghent",
            section: "projects",
            path,
            date: DateTime::parse_from_rfc3339("2024-03-05T23:30:00-05:00").ok(),
        }
    }

    #[test]
    fn placeholders_are_filled_and_empty_segments_collapsed() {
        let base = Url::parse("https://example.org").unwrap();
        let v = values("en", "projects/ghent");
        let cases = [
            ("/{lang}/{path}/", "https://example.org/en/projects/ghent/"),
            (
                "/{section}/{year}/{month}/{day}/{slug}",
                "https://example.org/projects/2024/03/05/ghent",
            ),
            ("{slug}.html", "https://example.org/ghent.html"),
        ];
        for (pattern, want) in cases {
            assert_eq!(permalink(&base, pattern, &v).as_str(), want, "{pattern}");
        }
        let root = values("", "ghent");
        assert_eq!(
            permalink(&base, "/{lang}/{path}/", &root).as_str(),
            "https://example.org/ghent/"
        );
    }

    #[test]
    fn base_path_is_kept_and_odd_characters_encoded() {
        let base = Url::parse("https://example.org/site/").unwrap();
        let v = values("fr", "projets/café à 50%?#");
        let url = permalink(&base, "/{lang}/{path}/", &v);
        assert_eq!(
            url.as_str(),
            "https://example.org/site/fr/projets/caf%C3%A9%20%C3%A0%2050%25%3F%23/"
        );
        assert!(Url::parse(url.as_str()).is_ok());
    }

    #[test]
    fn url_keys() {
        let base = "https://example.org";
        assert_eq!(
            from_key(base, "/a/b/").unwrap().as_str(),
            "https://example.org/a/b/"
        );
        assert_eq!(
            from_key(base, "https://x.example/p").unwrap().as_str(),
            "https://x.example/p"
        );
        assert!(from_key(base, "a/b").is_err());
        assert!(from_key(base, "ftp://x.example/").is_err());
    }
}

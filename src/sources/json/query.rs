//! Query parameters set on the source URL (page number, page size), editing the query text
//! in place so that every other parameter keeps its exact spelling: `_embed` stays without
//! `=`, which re-serialising the pairs would not keep.

use url::Url;
use url::form_urlencoded;

/// Whether `url` has a parameter called `name`.
pub fn has(url: &Url, name: &str) -> bool {
    url.query_pairs().any(|(k, _)| k == name)
}

/// `url` with every `name` parameter replaced by one `name=value` (or a bare `name`).
pub fn set(url: &Url, name: &str, value: Option<&str>) -> Url {
    let mut pieces: Vec<String> = url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            form_urlencoded::parse(p.as_bytes())
                .next()
                .is_none_or(|(k, _)| k != name)
        })
        .map(str::to_owned)
        .collect();
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    pieces.push(match value {
        Some(v) => format!(
            "{encoded}={}",
            form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
        ),
        None => encoded,
    });
    let mut url = url.clone();
    url.set_query(Some(&pieces.join("&")));
    url
}

/// The value of parameter `name`, when present.
pub fn get(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_replaced_and_others_kept_as_written() {
        let url = Url::parse("https://x.example/api?_embed&page=1&q=a+b").unwrap();
        let next = set(&url, "page", Some("2"));
        assert_eq!(next.as_str(), "https://x.example/api?_embed&q=a+b&page=2");
        assert_eq!(get(&next, "page").as_deref(), Some("2"));
        assert!(has(&next, "_embed"));
        assert!(!has(&next, "per_page"));
        let bare = Url::parse("https://x.example/api").unwrap();
        assert_eq!(
            set(&bare, "per page", Some("1&2")).as_str(),
            "https://x.example/api?per+page=1%262"
        );
    }
}

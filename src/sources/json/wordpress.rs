//! The `wordpress` preset: what the WordPress REST API (`/wp-json/wp/v2/{type}`) returns for
//! posts, pages and custom post types, mapped onto entry fields, with the Polylang and WPML
//! language fields and Advanced Custom Fields when a plugin adds them.
//!
//! API reference: <https://developer.wordpress.org/rest-api/reference/posts/>, embedding:
//! <https://developer.wordpress.org/rest-api/using-the-rest-api/linking-and-embedding/>,
//! pagination: <https://developer.wordpress.org/rest-api/using-the-rest-api/pagination/>.

use url::Url;

use super::query;

/// Page size asked for: the most WordPress allows, so a site of a few hundred posts costs a
/// few requests.
pub const PER_PAGE: &str = "100";

/// WordPress's count of pages for the query, sent with every list answer.
pub const TOTAL_PAGES_HEADER: &str = "x-wp-totalpages";

/// One default of the preset: the entry field, the path, and whether an offset-less date
/// there is UTC rather than in the source's timezone.
pub struct Default {
    /// Field name as in `[sources.fields]`.
    pub field: &'static str,
    /// JSON Pointer.
    pub path: &'static str,
    /// `date_gmt` and `modified_gmt` are UTC but carry no offset.
    pub utc: bool,
}

const fn field(field: &'static str, path: &'static str) -> Default {
    Default {
        field,
        path,
        utc: false,
    }
}

/// The preset's paths, in the order they are tried for each field. `date` (site local time)
/// backs up `date_gmt`, which WordPress leaves null on some imported posts.
pub const DEFAULTS: &[Default] = &[
    field("id", "/id"),
    field("title", "/title/rendered"),
    field("url", "/link"),
    field("content", "/content/rendered"),
    field("summary", "/excerpt/rendered"),
    Default {
        field: "published",
        path: "/date_gmt",
        utc: true,
    },
    field("published", "/date"),
    Default {
        field: "updated",
        path: "/modified_gmt",
        utc: true,
    },
    field("updated", "/modified"),
    field("guid", "/guid/rendered"),
    // Every embedded taxonomy: categories, tags and custom ones (a `city` taxonomy, say).
    field("categories", "/_embedded/wp:term/*/*/name"),
    field("image", "/_embedded/wp:featuredmedia/0"),
    field("author", "/_embedded/author/0"),
    // Polylang (Pro, or its REST add-ons) writes `lang: "fr"`; WPML `wpml_current_locale:
    // "fr_FR"`.
    field("language", "/lang"),
    field("language", "/wpml_current_locale"),
    // Polylang: `{"en": 12, "fr": 34}`; WPML: `[{"locale": "fr_FR", "id": 34, …}]`.
    field("translation_key", "/translations"),
    field("translation_key", "/wpml_translations"),
];

/// Members of this object become extra fields (Advanced Custom Fields).
pub const SPREAD: &str = "/acf";

/// Items whose status is anything else are skipped: only published posts are announced.
pub const STATUS: &str = "/status";

/// `true` for password-protected posts, whose content WordPress leaves empty.
pub const PROTECTED: &str = "/content/protected";

/// The first URL with `_embed` (author, featured image and terms in the same answer) and
/// `per_page=100` added unless the configured URL sets them.
pub fn first_url(url: &Url) -> Url {
    let mut url = url.clone();
    if !query::has(&url, "_embed") {
        url = query::set(&url, "_embed", None);
    }
    if !query::has(&url, "per_page") {
        url = query::set(&url, "per_page", Some(PER_PAGE));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_and_page_size_are_added_unless_set() {
        let url = Url::parse("https://cities.example.eu/wp-json/wp/v2/projects").unwrap();
        assert_eq!(
            first_url(&url).as_str(),
            "https://cities.example.eu/wp-json/wp/v2/projects?_embed&per_page=100"
        );
        let url = Url::parse("https://x.example/wp-json/wp/v2/posts?per_page=20&_embed=1&lang=fr")
            .unwrap();
        assert_eq!(first_url(&url), url);
    }
}

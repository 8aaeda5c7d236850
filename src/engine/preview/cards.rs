//! Link cards: what Mastodon, Bluesky, X and Facebook show under a post that links to an
//! entry is built from the page's Open Graph tags (`og:title`, `og:description`, `og:image`).
//! A page without them gets an empty card, which is worth seeing before the post goes out.
//!
//! Pages are read with the sources' HTTP client ([`Fetcher`]: its size limit, redirect rules
//! and User-Agent), without retries and within one time budget for the whole preview, and the
//! tags are picked with the HTML source's selectors ([`Pick`]).

use std::time::Duration;

use scraper::Html;
use url::Url;

use super::{CardStatus, LinkCard, Preview};
use crate::sources::html::Pick;
use crate::sources::http::{Fetched, Fetcher, HttpSettings};

/// Longest time reading all the pages may take: a preview waits for a slow site no longer.
const BUDGET: Duration = Duration::from_secs(60);
/// Longest time one page may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The tags a link card is built from, as selectors.
const TITLE: &str = r#"meta[property="og:title"]@content"#;
const DESCRIPTION: &str = r#"meta[property="og:description"]@content"#;
const IMAGE: &str = r#"meta[property="og:image"]@content"#;
const IMAGE_ALT: &str = r#"meta[property="og:image:alt"]@content"#;

/// Reads every entry's page and fills in its card; a page that cannot be read says why, and
/// the preview goes on. `site_url` goes into the User-Agent.
pub fn check(preview: &mut Preview, site_url: &str) {
    let settings = HttpSettings {
        timeout: TIMEOUT,
        // A preview is looked at by a person, who can run it again; retries would only make
        // a page that is down take longer to report.
        retries: 0,
        max_read_time: BUDGET,
        ..HttpSettings::default()
    };
    let fetcher = match Fetcher::new(&settings, site_url) {
        Ok(fetcher) => fetcher,
        Err(reason) => {
            for entry in &mut preview.entries {
                entry.card = unreachable(reason.clone());
            }
            return;
        }
    };
    for entry in &mut preview.entries {
        entry.card = match Url::parse(&entry.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => read(&fetcher, &url),
            _ => unreachable(format!("{:?} is not an http(s) URL", entry.url)),
        };
    }
}

/// The card of the page at `url`.
fn read(fetcher: &Fetcher, url: &Url) -> LinkCard {
    match fetcher.get(url, None) {
        Ok(Fetched::Page(page)) => card_of(&page.text(), &page.url),
        // Asked without validators, a server has no business answering 304.
        Ok(Fetched::NotModified) => unreachable(format!("GET {url} answered 304 Not Modified")),
        Err(e) => unreachable(e.to_string()),
    }
}

fn unreachable(note: String) -> LinkCard {
    LinkCard {
        status: CardStatus::Unreachable,
        note: Some(note),
        ..LinkCard::default()
    }
}

/// The card that `html`, served at `page`, gives: its Open Graph tags, the image resolved
/// against the page, and the tags a card needs that it lacks.
pub fn card_of(html: &str, page: &Url) -> LinkCard {
    let document = Html::parse_document(html);
    let pick = |selector: &str| {
        Pick::parse(selector)
            .ok()
            .and_then(|pick| pick.first(&document))
            .filter(|value| !value.trim().is_empty())
    };
    let title = pick(TITLE);
    let description = pick(DESCRIPTION);
    // A relative or unparsable image is what a network could not load either.
    let image = pick(IMAGE)
        .and_then(|src| page.join(&src).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(String::from);
    let missing = [
        ("og:title", title.is_none()),
        ("og:description", description.is_none()),
        ("og:image", image.is_none()),
    ]
    .into_iter()
    .filter(|(_, absent)| *absent)
    .map(|(tag, _)| tag.to_owned())
    .collect();
    LinkCard {
        status: CardStatus::Read,
        title,
        description,
        image,
        image_alt: pick(IMAGE_ALT),
        missing,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::preview::EntryPreview;

    fn page() -> Url {
        Url::parse("https://example.org/posts/ghent/").unwrap()
    }

    #[test]
    fn reads_the_open_graph_tags_and_resolves_the_image() {
        let html = r#"<html><head>
            <meta property="og:title" content="Ghent &amp; Roma mediators">
            <meta property="og:description" content="Six mediators.">
            <meta property="og:image" content="/img/ghent.jpg">
            <meta property="og:image:alt" content="Mediators at a table">
            </head><body></body></html>"#;
        let card = card_of(html, &page());
        assert_eq!(card.status, CardStatus::Read);
        assert_eq!(card.title.as_deref(), Some("Ghent & Roma mediators"));
        assert_eq!(card.description.as_deref(), Some("Six mediators."));
        assert_eq!(
            card.image.as_deref(),
            Some("https://example.org/img/ghent.jpg")
        );
        assert_eq!(card.image_alt.as_deref(), Some("Mediators at a table"));
        assert!(card.missing.is_empty(), "{:?}", card.missing);
    }

    #[test]
    fn a_page_that_cannot_be_read_is_said_so_and_the_preview_goes_on() {
        // A port just released: nothing listens there, the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let entry = |url: String| EntryPreview {
            entry_id: "e".to_owned(),
            title: "E".to_owned(),
            url,
            card: LinkCard::default(),
            posts: Vec::new(),
        };
        let mut preview = Preview {
            site: "Site".to_owned(),
            generated_at: "2024-06-01T12:00:00Z".to_owned(),
            notes: Vec::new(),
            entries: vec![
                entry(format!("http://127.0.0.1:{port}/e/")),
                entry("mailto:someone@example.org".to_owned()),
            ],
        };
        check(&mut preview, "https://example.org/");
        let cards: Vec<(CardStatus, String)> = preview
            .entries
            .iter()
            .map(|e| (e.card.status, e.card.note.clone().unwrap_or_default()))
            .collect();
        assert_eq!(cards[0].0, CardStatus::Unreachable);
        assert!(
            cards[0].1.contains(&format!("127.0.0.1:{port}")),
            "{cards:?}"
        );
        assert_eq!(
            cards[1],
            (
                CardStatus::Unreachable,
                "\"mailto:someone@example.org\" is not an http(s) URL".to_owned()
            )
        );
    }

    #[test]
    fn names_the_tags_a_card_needs_that_the_page_lacks() {
        let html = r#"<html><head><title>Only a title</title>
            <meta property="og:title" content="  ">
            <meta property="og:image" content="javascript:alert(1)">
            </head></html>"#;
        let card = card_of(html, &page());
        assert_eq!(card.title, None, "a blank tag is no tag");
        assert_eq!(card.image, None, "only an http(s) image can be shown");
        assert_eq!(
            card.missing,
            ["og:title", "og:description", "og:image"],
            "{card:?}"
        );
    }
}

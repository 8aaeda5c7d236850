//! The preview as one self-contained HTML page: inline CSS, no script, and a
//! Content-Security-Policy that lets the page load images and nothing else. Every text from
//! an entry goes through minijinja's HTML auto-escaping, so a `<script>` in a title is shown as
//! text; links and images are written only for http(s) URLs.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use thiserror::Error;

use super::Preview;

/// The page's Content-Security-Policy: no script, no connection, no frame, no form; styles
/// inline only; images from anywhere on the web (the entries' and the cards').
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src https: http: data:; \
     style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const TEMPLATE: &str = include_str!("page.html");

/// The page could not be rendered (a fault of crier's template, not of the data).
#[derive(Debug, Error)]
#[error("cannot render the preview page: {0}")]
pub struct RenderError(#[from] minijinja::Error);

/// The preview page for `preview`.
pub fn render(preview: &Preview) -> Result<String, RenderError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.add_test("http_url", |value: Option<&str>| {
        value
            .and_then(|v| url::Url::parse(v).ok())
            .is_some_and(|url| matches!(url.scheme(), "http" | "https"))
    });
    env.add_template("preview.html", TEMPLATE)?;
    let total: usize = preview.entries.iter().map(|e| e.posts.len()).sum();
    let html = env.get_template("preview.html")?.render(context! {
        preview => minijinja::Value::from(minijinja::value::Serde(preview)),
        total,
        csp => minijinja::Value::from_safe_string(CONTENT_SECURITY_POLICY.to_owned()),
        networks => context! {
            mastodon => "Mastodon", bluesky => "Bluesky", x => "X", facebook => "Facebook",
        },
        // Each network's own unit: X weighs characters (URLs count 23), Bluesky counts
        // graphemes, Mastodon characters with URLs as 23.
        units => context! {
            x => "weighted characters", bluesky => "graphemes",
        },
    })?;
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::preview::{CardStatus, EntryPreview, LinkCard, OwnCard, PostPreview};
    use crate::entry::Image;

    fn post(network: &str, text: &str, length: usize, limit: usize) -> PostPreview {
        PostPreview {
            channel: format!("{network}-main"),
            network: network.to_owned(),
            state: "pending".to_owned(),
            text: Some(text.to_owned()),
            length,
            limit,
            image: None,
            own_card: None,
            held: None,
            problem: None,
        }
    }

    fn entry(id: &str, title: &str, posts: Vec<PostPreview>) -> EntryPreview {
        EntryPreview {
            entry_id: id.to_owned(),
            title: title.to_owned(),
            url: format!("https://example.org/{id}/"),
            card: LinkCard::default(),
            posts,
        }
    }

    fn preview(entries: Vec<EntryPreview>) -> Preview {
        Preview {
            site: "Roma Voices".to_owned(),
            generated_at: "2024-06-01T12:00:00Z".to_owned(),
            notes: Vec::new(),
            entries,
        }
    }

    #[test]
    fn the_page_has_a_strict_policy_and_loads_nothing_but_images() {
        let html = render(&preview(vec![])).unwrap();
        assert!(
            html.contains(&format!(
                r#"<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">"#
            )),
            "{html}"
        );
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none';"));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<link"), "{html}");
        assert!(html.contains("No post is waiting or planned."), "{html}");
    }

    #[test]
    fn entry_text_is_escaped_everywhere() {
        let script = "<script>document.body.dataset.ran = 1</script>";
        let mut evil = post("mastodon", &format!("Hi {script}"), 10, 500);
        evil.channel = format!("m\"{script}");
        evil.image = Some(Image {
            url: "javascript:alert(1)".to_owned(),
            alt: format!("\" onerror=\"alert(1){script}"),
            path: None,
        });
        evil.held = Some(script.to_owned());
        let mut e = entry("a<b", &format!("Title {script}"), vec![evil]);
        e.url = "javascript:alert(1)".to_owned();
        e.card = LinkCard {
            status: CardStatus::Read,
            title: Some(script.to_owned()),
            description: Some(script.to_owned()),
            image: Some("https://example.org/x.png\" onload=\"alert(1)".to_owned()),
            ..LinkCard::default()
        };
        let mut p = preview(vec![e]);
        p.notes.push(script.to_owned());
        p.site = script.to_owned();
        let html = render(&p).unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;document.body.dataset.ran = 1&lt;&#x2f;script&gt;"));
        assert!(!html.contains("onerror=\""), "{html}");
        assert!(!html.contains("onload=\""), "{html}");
        assert!(
            !html.contains("href=\"javascript") && !html.contains("src=\"javascript"),
            "only http(s) URLs become links or images: {html}"
        );
    }

    #[test]
    fn one_card_per_post_and_network_with_its_length_and_limit() {
        let p = preview(vec![
            entry(
                "ghent",
                "Ghent",
                vec![
                    post("mastodon", "Ghent m", 120, 500),
                    post("bluesky", "Ghent b", 301, 300),
                    post("x", "Ghent x", 99, 280),
                ],
            ),
            entry("lyon", "Lyon", vec![post("facebook", "Lyon f", 40, 63206)]),
        ]);
        let html = render(&p).unwrap();
        assert_eq!(html.matches("<article class=\"post ").count(), 4, "{html}");
        assert_eq!(html.matches("<section class=\"entry\"").count(), 2);
        for network in ["mastodon", "bluesky", "x", "facebook"] {
            assert!(
                html.contains(&format!("data-network=\"{network}\"")),
                "{network}"
            );
        }
        assert!(html.contains("120 / 500 characters"), "{html}");
        assert!(html.contains("99 / 280 weighted characters"), "{html}");
        assert!(
            html.contains(
                r#"<div class="length over" data-length="301" data-limit="300">301 / 300 graphemes"#
            ),
            "a post over the limit is marked: {html}"
        );
        assert!(html.contains("Mastodon · mastodon-main"), "{html}");
        assert!(html.contains("4 posts"), "{html}");
    }

    #[test]
    fn the_image_shows_with_its_alt_text_and_a_missing_alt_is_flagged() {
        let mut with_alt = post("mastodon", "t", 1, 500);
        with_alt.image = Some(Image {
            url: "https://example.org/ghent.jpg".to_owned(),
            alt: "Six mediators at a table".to_owned(),
            path: None,
        });
        let mut without = post("x", "t", 1, 280);
        without.image = Some(Image {
            url: "https://example.org/lyon.jpg".to_owned(),
            alt: String::new(),
            path: None,
        });
        let html = render(&preview(vec![entry("e", "E", vec![with_alt, without])])).unwrap();
        assert!(html.contains(
            r#"<img src="https:&#x2f;&#x2f;example.org&#x2f;ghent.jpg" alt="Six mediators at a table">"#
        ), "{html}");
        assert!(html.contains(r#"Alt text: <span class="alt">Six mediators at a table</span>"#));
        assert!(html.contains("The image has no alt text."), "{html}");
    }

    #[test]
    fn a_post_with_an_attached_image_shows_no_link_card() {
        let mut attached = post("mastodon", "t", 1, 500);
        attached.image = Some(Image {
            url: "https://example.org/ghent.jpg".to_owned(),
            alt: "Six mediators".to_owned(),
            path: None,
        });
        let mut e = entry("e", "E", vec![attached, post("x", "t", 1, 280)]);
        e.card = LinkCard {
            status: CardStatus::Read,
            title: Some("Card title".to_owned()),
            ..LinkCard::default()
        };
        let html = render(&preview(vec![e])).unwrap();
        assert_eq!(
            html.matches("No link card: a post with an image").count(),
            1
        );
        // Only the post without an image shows the page's card.
        assert_eq!(html.matches("Card title").count(), 1, "{html}");
    }

    #[test]
    fn missing_open_graph_tags_and_an_unreachable_page_are_warned_about() {
        let mut bare = entry("bare", "Bare", vec![post("mastodon", "t", 1, 500)]);
        bare.card = LinkCard {
            status: CardStatus::Read,
            missing: vec![
                "og:title".to_owned(),
                "og:description".to_owned(),
                "og:image".to_owned(),
            ],
            ..LinkCard::default()
        };
        let mut half = entry("half", "Half", vec![post("bluesky", "t", 1, 300)]);
        half.card = LinkCard {
            status: CardStatus::Read,
            title: Some("Half".to_owned()),
            description: Some("Only text".to_owned()),
            missing: vec!["og:image".to_owned()],
            ..LinkCard::default()
        };
        let mut down = entry("down", "Down", vec![post("x", "t", 1, 280)]);
        down.card = LinkCard {
            status: CardStatus::Unreachable,
            note: Some("GET https://example.org/down/: the server answered 503".to_owned()),
            ..LinkCard::default()
        };
        let html = render(&preview(vec![bare, half, down])).unwrap();
        assert!(
            html.contains(
                "The page has no og:title, og:description, og:image: the link card will be empty."
            ),
            "{html}"
        );
        assert!(html.contains("The page has no og:image: the link card will be incomplete."));
        assert!(html.contains("could not be read, so its link card is unknown: GET https:&#x2f;&#x2f;example.org&#x2f;down&#x2f;: the server answered 503"), "{html}");
    }

    #[test]
    fn a_card_crier_sends_itself_is_shown_instead_of_the_page_s() {
        let mut bluesky = post("bluesky", "t", 1, 300);
        bluesky.own_card = Some(OwnCard {
            title: "Ghent <wins>".to_owned(),
            description: "Six mediators.".to_owned(),
            image: Some("https://example.org/ghent.jpg".to_owned()),
        });
        let mut e = entry("e", "E", vec![bluesky, post("mastodon", "t", 1, 500)]);
        e.card = LinkCard {
            status: CardStatus::Read,
            missing: vec!["og:image".to_owned()],
            ..LinkCard::default()
        };
        let html = render(&preview(vec![e])).unwrap();
        assert!(
            html.contains(r#"<div class="card-title">Ghent &lt;wins&gt;</div>"#),
            "{html}"
        );
        assert!(html.contains("Card sent by crier from the entry"), "{html}");
        assert_eq!(
            html.matches("The page has no og:image").count(),
            1,
            "only Mastodon's card comes from the page: {html}"
        );
    }

    #[test]
    fn held_and_unsendable_posts_say_why() {
        let mut held = post("mastodon", "t", 1, 500);
        held.state = "held".to_owned();
        held.held = Some("announce.max_age (14d) exceeded".to_owned());
        let mut dead = post("x", "t", 1, 280);
        dead.text = None;
        dead.problem = Some("entry e was withdrawn before it was announced".to_owned());
        let mut p = preview(vec![entry("e", "E", vec![held, dead])]);
        p.notes
            .push("first run: 3 published entries will be recorded as the baseline".to_owned());
        let html = render(&p).unwrap();
        assert!(
            html.contains("Held back: announce.max_age (14d) exceeded"),
            "{html}"
        );
        assert!(
            html.contains("Cannot be sent: entry e was withdrawn"),
            "{html}"
        );
        assert!(
            html.contains(r#"<li class="note">first run: 3 published entries"#),
            "{html}"
        );
        assert_eq!(
            html.matches("class=\"length").count(),
            1,
            "no length without a text"
        );
    }
}

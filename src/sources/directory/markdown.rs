//! Markdown body to HTML, with relative link and image destinations made absolute against the
//! entry URL, and the plain-text summary gathered in the same pass.
//!
//! Extensions are the ones Hugo (goldmark) and Zola enable by default: tables, footnotes,
//! strikethrough, task lists and `{#id}` heading attributes; no smart punctuation. Raw HTML is
//! passed through untouched for the feed sanitiser. Hugo and Zola shortcodes cannot be run here
//! and stay as written.

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd, html};
use url::Url;

use crate::sources::finish::{SUMMARY_MAX_CHARS, shorten};

/// A rendered body.
pub(super) struct Rendered {
    /// The body as HTML.
    pub(super) html: String,
    /// Plain text before a `<!--more-->` line, else of the first paragraph, already collapsed
    /// and shortened; `None` to let the finisher take the text of the whole body.
    pub(super) summary: Option<String>,
}

/// The body of an `.html` content file, which is HTML already: kept as written (the feeds
/// resolve its relative links against the entry's URL), with the text before a
/// `<!--more-->` divider as its summary, as Hugo takes it.
pub(super) fn html_body(body: &str) -> Rendered {
    let summary = body.split_once("<!--more-->").map(|(before, _)| {
        let text: String = scraper::Html::parse_fragment(before)
            .root_element()
            .text()
            .collect();
        shorten(&text, SUMMARY_MAX_CHARS)
    });
    Rendered {
        html: body.trim().to_owned(),
        summary,
    }
}

/// Renders `body`. Relative destinations are joined to `base`; Zola's internal links
/// (`@/path/to/page.md`) are resolved by `internal`.
pub(super) fn render(
    body: &str,
    base: &Url,
    internal: &dyn Fn(&str) -> Option<String>,
) -> Rendered {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    let mut summary = SummaryCollector::new(body.contains("more"));
    let events = Parser::new_ext(body, options).map(|event| {
        let event = match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) if link_type != LinkType::Email => Event::Start(Tag::Link {
                link_type,
                dest_url: absolute(&dest_url, base, internal).into(),
                title,
                id,
            }),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Image {
                link_type,
                dest_url: absolute(&dest_url, base, internal).into(),
                title,
                id,
            }),
            other => other,
        };
        summary.observe(&event);
        event
    });
    let mut out = String::with_capacity(body.len() + body.len() / 2);
    html::push_html(&mut out, events);
    Rendered {
        html: out,
        summary: Some(summary.finish()),
    }
}

/// `reference` made absolute against `base`; already absolute or unusable ones are returned
/// as they are.
pub(super) fn absolute(
    reference: &str,
    base: &Url,
    internal: &dyn Fn(&str) -> Option<String>,
) -> String {
    let reference = reference.trim();
    if reference.is_empty() {
        return String::new();
    }
    if reference.starts_with("@/") {
        return internal(reference).unwrap_or_else(|| reference.to_owned());
    }
    match Url::parse(reference) {
        Ok(_) => reference.to_owned(),
        Err(url::ParseError::RelativeUrlWithoutBase) => base
            .join(reference)
            .map_or_else(|_| reference.to_owned(), String::from),
        Err(_) => reference.to_owned(),
    }
}

/// Gathers the text of the first paragraph and, when the body may hold a `<!--more-->`
/// divider, all text before it.
struct SummaryCollector {
    /// Text of the paragraph being read.
    paragraph: String,
    in_paragraph: bool,
    /// First paragraph with some text.
    first_paragraph: Option<String>,
    /// Text before the divider; `None` when not looking for one.
    before_divider: Option<String>,
    divider_found: bool,
    /// Inside an image (its alt text is not summary text) or struck-through text (no longer
    /// true).
    hidden_depth: usize,
}

impl SummaryCollector {
    fn new(may_have_divider: bool) -> Self {
        SummaryCollector {
            paragraph: String::new(),
            in_paragraph: false,
            first_paragraph: None,
            before_divider: may_have_divider.then(String::new),
            divider_found: false,
            hidden_depth: 0,
        }
    }

    fn observe(&mut self, event: &Event<'_>) {
        if self.divider_found && self.first_paragraph.is_some() {
            return;
        }
        let text: &str = match event {
            Event::Start(Tag::Paragraph) => {
                self.in_paragraph = true;
                self.paragraph.clear();
                return;
            }
            Event::End(TagEnd::Paragraph) => {
                self.in_paragraph = false;
                if self.first_paragraph.is_none() && !self.paragraph.trim().is_empty() {
                    self.first_paragraph = Some(std::mem::take(&mut self.paragraph));
                }
                " "
            }
            Event::Start(Tag::Image { .. } | Tag::Strikethrough) => {
                self.hidden_depth += 1;
                return;
            }
            Event::End(TagEnd::Image | TagEnd::Strikethrough) => {
                self.hidden_depth = self.hidden_depth.saturating_sub(1);
                return;
            }
            // Inline markup ends inside a word or sentence; block ends separate text.
            Event::End(
                TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Link
                | TagEnd::Superscript
                | TagEnd::Subscript,
            ) => return,
            Event::End(_) | Event::SoftBreak | Event::HardBreak => " ",
            Event::Text(t) | Event::Code(t) if self.hidden_depth == 0 => t,
            Event::Html(h) | Event::InlineHtml(h) => {
                if is_divider(h) && self.before_divider.is_some() {
                    self.divider_found = true;
                }
                return;
            }
            _ => return,
        };
        if self.in_paragraph {
            self.paragraph.push_str(text);
        }
        if !self.divider_found
            && let Some(before) = &mut self.before_divider
        {
            before.push_str(text);
        }
    }

    fn finish(self) -> String {
        let text = match (
            self.divider_found,
            self.before_divider,
            self.first_paragraph,
        ) {
            (true, Some(before), _) => before,
            (_, _, Some(first)) => first,
            _ => String::new(),
        };
        shorten(&text, SUMMARY_MAX_CHARS)
    }
}

/// `<!--more-->` as Hugo writes it, or `<!-- more -->` as Zola does.
fn is_divider(html: &str) -> bool {
    let compact: String = html.chars().filter(|c| !c.is_whitespace()).collect();
    compact.eq_ignore_ascii_case("<!--more-->")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_at(body: &str, base: &str) -> Rendered {
        let base = Url::parse(base).unwrap();
        render(body, &base, &|link| {
            Some(format!("https://example.org/{}", &link[2..]))
        })
    }

    #[test]
    fn relative_destinations_become_absolute() {
        let r = render_at(
            "See [the map](map/) and [home](/), [out](https://other.example/x), \
             [mail](mailto:a@example.org), <a@example.org>, [top](#top), \
             [zola](@/projects/x.md).\n\n![A photo](photo.jpg \"t\")\n\n[ref]: ../r.html\n\n[r][ref]\n",
            "https://example.org/en/projects/ghent/",
        );
        let h = &r.html;
        assert!(
            h.contains(r#"href="https://example.org/en/projects/ghent/map/""#),
            "{h}"
        );
        assert!(h.contains(r#"href="https://example.org/""#), "{h}");
        assert!(h.contains(r#"href="https://other.example/x""#), "{h}");
        assert!(h.contains(r#"href="mailto:a@example.org""#), "{h}");
        assert!(
            h.contains(r#"href="https://example.org/en/projects/ghent/#top""#),
            "{h}"
        );
        assert!(
            h.contains(r#"href="https://example.org/projects/x.md""#),
            "{h}"
        );
        assert!(
            h.contains(r#"src="https://example.org/en/projects/ghent/photo.jpg""#),
            "{h}"
        );
        assert!(
            h.contains(r#"href="https://example.org/en/projects/r.html""#),
            "{h}"
        );
    }

    #[test]
    fn extensions_are_on_and_smart_punctuation_off() {
        let r = render_at(
            "# Title {#intro}\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ \"quoted\"\n\n\
             - [x] done\n\nNote[^1].\n\n[^1]: A footnote.\n",
            "https://example.org/",
        );
        let h = &r.html;
        assert!(h.contains(r#"<h1 id="intro">"#), "{h}");
        assert!(h.contains("<table>"), "{h}");
        assert!(h.contains("<del>old</del>"), "{h}");
        assert!(
            h.contains("&quot;quoted&quot;") || h.contains("\"quoted\""),
            "{h}"
        );
        assert!(h.contains("checkbox"), "{h}");
        assert!(h.contains("footnote"), "{h}");
    }

    #[test]
    fn summary_is_first_paragraph_without_image_alt() {
        let r = render_at(
            "# Heading\n\n![alt text](a.jpg)\n\nFirst *real*\nparagraph ~~without~~ with `code`.\n\nSecond.\n",
            "https://example.org/",
        );
        assert_eq!(
            r.summary.as_deref(),
            Some("First real paragraph with code.")
        );
    }

    #[test]
    fn summary_stops_at_more_divider() {
        let r = render_at(
            "Intro one.\n\n- item\n\nStill intro.\n\n<!-- more -->\n\nRest of the text.\n",
            "https://example.org/",
        );
        assert_eq!(r.summary.as_deref(), Some("Intro one. item Still intro."));
        let hugo = render_at("A *b*.\n<!--more-->\nC.\n", "https://example.org/");
        assert_eq!(hugo.summary.as_deref(), Some("A b."));
    }
}

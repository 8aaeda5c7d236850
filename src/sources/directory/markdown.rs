//! Markdown body to HTML, with Hugo and Zola shortcodes rendered (see [`super::shortcodes`]),
//! relative link and image destinations made absolute against the entry URL, and the
//! plain-text summary taken from the same events.
//!
//! Extensions are the ones Hugo (goldmark) and Zola enable by default: tables, footnotes,
//! strikethrough, task lists and `{#id}` heading attributes; no smart punctuation. Raw HTML is
//! passed through untouched for the feed sanitiser.
//!
//! The summary is the text before a `<!--more-->` divider, else the first paragraph that says
//! something besides its shortcodes (a paragraph that is only a figure or a video is not a
//! summary). It is rendered to HTML like the body and read with
//! [`plain_text`](crate::sources::finish::plain_text), the one HTML-to-text path of every
//! source, so that blocks are separated by spaces and struck-through text is left out.

use std::ops::Range;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd, html};
use url::Url;

use super::shortcodes::{self, Expanded, Templates};
use crate::sources::finish::{SUMMARY_MAX_CHARS, plain_text, shorten};

/// The Markdown extensions Hugo and Zola turn on by default.
const OPTIONS: Options = Options::ENABLE_TABLES
    .union(Options::ENABLE_FOOTNOTES)
    .union(Options::ENABLE_STRIKETHROUGH)
    .union(Options::ENABLE_TASKLISTS)
    .union(Options::ENABLE_HEADING_ATTRIBUTES);

/// A rendered body.
pub(super) struct Rendered {
    /// The body as HTML.
    pub(super) html: String,
    /// Plain text before a `<!--more-->` line, else of the first paragraph, already collapsed
    /// and shortened; `None` to let the finisher take the text of the whole body.
    pub(super) summary: Option<String>,
    /// Whether the summary is the text before a `<!--more-->` divider (a "manual" summary,
    /// which Hugo prefers even to a front-matter summary).
    pub(super) summary_is_manual: bool,
    /// Names of the shortcodes that were not known and were removed, once per use.
    pub(super) unknown_shortcodes: Vec<String>,
}

/// The body of an `.html` content file, which is HTML already: kept as written (the feeds
/// resolve its relative links against the entry's URL), with the text before a
/// `<!--more-->` divider as its summary, as Hugo takes it.
pub(super) fn html_body(body: &str) -> Rendered {
    let summary = body
        .split_once("<!--more-->")
        .map(|(before, _)| shorten(&plain_text(before), SUMMARY_MAX_CHARS));
    Rendered {
        html: body.trim().to_owned(),
        summary_is_manual: summary.is_some(),
        summary,
        unknown_shortcodes: Vec::new(),
    }
}

/// Where a body is rendered: the page it belongs to and the source's settings.
pub(super) struct Page<'a> {
    /// The entry's URL, which relative destinations are joined to.
    pub(super) base: &'a Url,
    /// Resolves Zola's internal links (`@/path/to/page.md`).
    pub(super) internal: &'a dyn Fn(&str) -> Option<String>,
    /// The source's shortcode templates.
    pub(super) shortcodes: &'a Templates,
}

/// Renders `body`, written for `page`.
pub(super) fn render(body: &str, page: &Page<'_>) -> Rendered {
    let expanded = expand_shortcodes(body, page);
    let events: Vec<Event<'_>> = Parser::new_ext(&expanded.markdown, OPTIONS)
        .map(|event| absolutize(event, page))
        .collect();
    let mut out = String::with_capacity(body.len() + body.len() / 2);
    html::push_html(&mut out, events.iter().cloned());
    let Summary { text, manual } = summary(&events, &expanded);
    Rendered {
        html: expanded.fill(&out),
        summary: Some(text),
        summary_is_manual: manual,
        unknown_shortcodes: expanded.unknown,
    }
}

/// Plain text of a Markdown snippet written for `page` (a front-matter `summary`), rendered
/// like a body, whole, and shortened to a summary's length; with the names of the shortcodes
/// it used that are not known.
pub(super) fn text(markdown: &str, page: &Page<'_>) -> (String, Vec<String>) {
    let expanded = expand_shortcodes(markdown, page);
    let mut out = String::new();
    html::push_html(
        &mut out,
        Parser::new_ext(&expanded.markdown, OPTIONS).map(|event| absolutize(event, page)),
    );
    let text = plain_text(&expanded.fill(&out));
    (shorten(&text, SUMMARY_MAX_CHARS), expanded.unknown)
}

/// `body` with its shortcodes replaced, leaving those in code as written.
fn expand_shortcodes(body: &str, page: &Page<'_>) -> Expanded {
    let resolve = |reference: &str| absolute(reference, page.base, page.internal);
    let markdown = |text: &str| {
        let mut out = String::new();
        html::push_html(
            &mut out,
            Parser::new_ext(text, OPTIONS).map(|event| absolutize(event, page)),
        );
        out
    };
    let context = shortcodes::Context {
        templates: page.shortcodes,
        resolve: &resolve,
        markdown: &markdown,
    };
    let code = if body.contains("{{") || body.contains("{%") {
        code_ranges(body)
    } else {
        Vec::new()
    };
    shortcodes::expand(body, &code, &context)
}

/// Byte ranges of the code spans and code blocks of `body`, where shortcodes are not run.
fn code_ranges(body: &str) -> Vec<Range<usize>> {
    Parser::new_ext(body, OPTIONS)
        .into_offset_iter()
        .filter(|(event, _)| matches!(event, Event::Code(_) | Event::Start(Tag::CodeBlock(_))))
        .map(|(_, range)| range)
        .collect()
}

/// A link or image event with its destination made absolute.
fn absolutize<'a>(event: Event<'a>, page: &Page<'_>) -> Event<'a> {
    match event {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if link_type != LinkType::Email => Event::Start(Tag::Link {
            link_type,
            dest_url: absolute(&dest_url, page.base, page.internal).into(),
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
            dest_url: absolute(&dest_url, page.base, page.internal).into(),
            title,
            id,
        }),
        other => other,
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

/// A body's summary.
struct Summary {
    /// Collapsed and shortened.
    text: String,
    /// Taken before a `<!--more-->` divider.
    manual: bool,
}

/// The summary of a body's `events`: the text before a `<!--more-->` divider, else of the
/// first paragraph with text besides its shortcodes.
fn summary(events: &[Event<'_>], expanded: &Expanded) -> Summary {
    let text_of = |events: &[Event<'_>]| {
        let mut out = String::new();
        // A footnote's number is not part of the sentence it marks.
        let shown = events
            .iter()
            .filter(|e| !matches!(e, Event::FootnoteReference(_)))
            .cloned();
        html::push_html(&mut out, shown);
        out
    };
    let divider = events.iter().position(|event| match event {
        Event::Html(h) | Event::InlineHtml(h) => is_divider(h),
        _ => false,
    });
    let text = match divider {
        Some(end) => plain_text(&expanded.fill(&text_of(&events[..end]))),
        None => paragraphs(events)
            .map(|range| text_of(&events[range]))
            .find(|html| !plain_text(&expanded.without_placeholders(html)).is_empty())
            .map(|html| plain_text(&expanded.fill(&html)))
            .unwrap_or_default(),
    };
    Summary {
        text: shorten(&text, SUMMARY_MAX_CHARS),
        manual: divider.is_some(),
    }
}

/// The ranges of `events` that are paragraphs, start and end tags included, in order.
fn paragraphs<'e>(events: &'e [Event<'_>]) -> impl Iterator<Item = Range<usize>> + 'e {
    let mut start = None;
    events
        .iter()
        .enumerate()
        .filter_map(move |(i, event)| match event {
            Event::Start(Tag::Paragraph) => {
                start = Some(i);
                None
            }
            Event::End(TagEnd::Paragraph) => start.take().map(|s| s..i + 1),
            _ => None,
        })
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
        render_with(body, base, &Templates::new())
    }

    fn render_with(body: &str, base: &str, shortcodes: &Templates) -> Rendered {
        let base = Url::parse(base).unwrap();
        let page = Page {
            base: &base,
            internal: &|link| Some(format!("https://example.org/{}", &link[2..])),
            shortcodes,
        };
        render(body, &page)
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

    /// Regression: shortcodes stayed in the text, in the body and at the start of summaries.
    #[test]
    fn shortcodes_are_rendered_and_left_out_of_the_summary() {
        let r = render_at(
            "{{< figure src=\"cat.jpg\" caption=\"A cat\" >}}\n\n\
             {{ youtube(id=\"abc\") }}\n\n\
             Our *cat* {{< instagram p1 >}} sleeps.\n\nMore.\n",
            "https://example.org/en/cats/",
        );
        let h = &r.html;
        assert!(
            h.starts_with(
                "<figure><img src=\"https://example.org/en/cats/cat.jpg\" alt=\"A cat\">\
                 <figcaption><p>A cat</p></figcaption></figure>\n<a href=\"https://www.youtube.com/watch?v=abc\">"
            ),
            "{h}"
        );
        assert!(
            h.contains("<p>Our <em>cat</em> <a href=\"https://www.instagram.com/p/p1/\">Post on Instagram</a> sleeps.</p>"),
            "{h}"
        );
        assert!(!h.contains("{{"), "{h}");
        assert_eq!(
            r.summary.as_deref(),
            Some("Our cat Post on Instagram sleeps.")
        );
        assert!(r.unknown_shortcodes.is_empty());
    }

    #[test]
    fn unknown_shortcodes_are_reported_and_never_left_as_text() {
        let r = render_at(
            "{{% notice tip %}}\nKeep **this**.\n{{% /notice %}}\n\n{{< badge >}}\n",
            "https://example.org/",
        );
        assert_eq!(r.html, "<p>Keep <strong>this</strong>.</p>\n");
        assert_eq!(r.summary.as_deref(), Some("Keep this."));
        assert_eq!(r.unknown_shortcodes, ["notice", "badge"]);
    }

    #[test]
    fn code_keeps_shortcodes_as_written_and_escapes_become_literal() {
        let r = render_at(
            "Use `{{< youtube x >}}` or:\n\n```\n{{< figure src=\"a.jpg\" >}}\n{{</* gist a b */>}}\n```\n\n\
             Write {{</* ref \"a.md\" */>}} in text.\n",
            "https://example.org/",
        );
        let h = &r.html;
        assert!(h.contains("<code>{{&lt; youtube x &gt;}}</code>"), "{h}");
        assert!(
            h.contains("<pre><code>{{&lt; figure src=\"a.jpg\" &gt;}}\n{{&lt; gist a b &gt;}}\n</code></pre>"),
            "{h}"
        );
        assert!(
            h.contains("<p>Write {{&lt; ref \"a.md\" &gt;}} in text.</p>"),
            "{h}"
        );
        assert!(r.unknown_shortcodes.is_empty());
    }

    #[test]
    fn ref_links_and_template_bodies_are_rendered_with_the_page() {
        let aside = shortcodes::ShortcodeTemplate::parse("<aside>{{ body }}</aside>").unwrap();
        let templates = Templates::from([("aside".to_owned(), aside)]);
        let r = render_with(
            "See [the map]({{< ref \"maps/ghent.md\" >}}).\n\n{{< aside >}}\nA [link](x/) and *more*.\n{{< /aside >}}\n",
            "https://example.org/en/news/",
            &templates,
        );
        let h = &r.html;
        assert!(
            h.contains(r#"<a href="https://example.org/maps/ghent.md">the map</a>"#),
            "{h}"
        );
        assert!(
            h.contains(r#"<aside>A <a href="https://example.org/en/news/x/">link</a> and <em>more</em>.</aside>"#),
            "{h}"
        );
    }

    #[test]
    fn summary_leaves_out_footnote_numbers_and_separates_blocks() {
        let r = render_at(
            "Intro[^1].\n<!--more-->\n\n[^1]: Note.\n",
            "https://example.org/",
        );
        assert_eq!(r.summary.as_deref(), Some("Intro."));
        let r = render_at(
            "<div><p>First.</p><p>Second.</p></div>\n\n<!-- more -->\n",
            "https://example.org/",
        );
        assert_eq!(r.summary.as_deref(), Some("First. Second."));
    }

    #[test]
    fn a_summary_from_front_matter_is_markdown_read_as_text() {
        let base = Url::parse("https://example.org/").unwrap();
        let templates = Templates::new();
        let page = Page {
            base: &base,
            internal: &|_| None,
            shortcodes: &templates,
        };
        let (text, unknown) = text(
            "A **bold** <em>claim</em> &amp; [a link](x/)\n\nand more",
            &page,
        );
        assert_eq!(text, "A bold claim & a link and more");
        assert!(unknown.is_empty());
    }
}

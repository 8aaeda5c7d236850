//! HTML sanitising and XML-safe text for feed output.
//!
//! Entry bodies come from authors' files and are not trusted: feed readers render
//! `content:encoded`, Atom `content` and `content_html` as HTML, so scripts, frames, styles,
//! event handlers and `javascript:` URLs are removed here, once, for all three formats.
//! [`xml_text`] removes the characters an XML 1.0 document cannot hold at all; it is applied
//! to every text field (JSON Feed too, so the three formats carry the same text).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative, UrlRelativeEvaluate};
use url::Url;

thread_local! {
    /// Base URL of the entry being cleaned on this thread; read by [`RelativeToEntry`].
    static BASE_URL: RefCell<Option<Url>> = const { RefCell::new(None) };
}

/// Resolves relative URLs against the entry URL set in [`BASE_URL`].
///
/// ammonia's own `UrlRelative::RewriteWithBase` fixes the base when the builder is built, but
/// the base differs per entry and the builder is built once; a thread-local carries the base
/// through the shared builder instead. An unusable base drops the relative URL (ammonia removes
/// the attribute), which is safer than leaving a link that resolves against the feed's URL.
struct RelativeToEntry;

impl<'a> UrlRelativeEvaluate<'a> for RelativeToEntry {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        BASE_URL.with_borrow(|base| {
            let joined = base.as_ref()?.join(url).ok()?;
            Some(Cow::Owned(String::from(joined)))
        })
    }
}

/// The sanitiser shared by every entry of every feed.
///
/// ammonia's defaults keep links, images (`src`, `alt`), lists, tables, headings, emphasis,
/// code and blockquotes (plus `lang`, `title` and, added here, `dir` on any element), and drop `style` and `on*` attributes and non-web URL schemes such as
/// `javascript:`. Elements whose text is not content (scripts, frames, embedded objects) are
/// removed with everything inside them rather than unwrapped.
static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::default();
    builder
        .url_relative(UrlRelative::Custom(Box::new(RelativeToEntry)))
        // Right-to-left paragraphs read wrong without their direction.
        .add_generic_attributes(["dir"])
        .clean_content_tags(HashSet::from([
            "script", "style", "iframe", "frame", "frameset", "noscript", "noframes", "object",
            "embed", "applet", "template", "textarea", "select", "svg", "math",
        ]));
    builder
});

/// Sanitises entry HTML for feeds; relative URLs are resolved against `base_url`.
pub fn clean_html(html: &str, base_url: &str) -> String {
    let base = Url::parse(base_url).ok();
    BASE_URL.with_borrow_mut(|slot| *slot = base);
    let cleaned = SANITIZER.clean(html).to_string();
    BASE_URL.with_borrow_mut(|slot| *slot = None);
    cleaned
}

/// Escapes plain text for use as HTML text (`&`, `<`, `>`; quotes only matter in attributes).
pub(crate) fn escape_html(text: &str) -> String {
    escape(text, false)
}

/// Escapes plain text for use as a double-quoted HTML attribute value.
pub(crate) fn escape_html_attribute(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, quotes: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' if quotes => escaped.push_str("&quot;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Whether XML 1.0 allows `c` in a document (the `Char` production). Rust strings cannot hold
/// surrogates, so only controls and the two non-characters remain to check.
fn is_xml_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => false,
        _ => true,
    }
}

/// Drops characters XML 1.0 forbids (C0 controls other than tab/newline/return, U+FFFE,
/// U+FFFF; Rust strings cannot hold lone surrogates). Borrows when nothing had to go.
pub fn xml_text(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| is_xml_char(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://example.org/projects/ghent/";

    #[test]
    fn html_escapes_quotes_only_in_attributes() {
        let text = r#"A & "B" <c> 'd'"#;
        assert_eq!(escape_html(text), r#"A &amp; "B" &lt;c&gt; 'd'"#);
        assert_eq!(
            escape_html_attribute(text),
            "A &amp; &quot;B&quot; &lt;c&gt; 'd'"
        );
    }

    #[test]
    fn xml_text_drops_forbidden_characters_only() {
        assert_eq!(
            xml_text("a\u{0}b\u{1}c\u{b}d\u{1f}e\u{fffe}f\u{ffff}g"),
            "abcdefg"
        );
        let allowed = "tab\tnl\nret\r & < ]]> \u{7f}\u{85}\u{fffd}\u{10ffff} 😀 漢字 עברית العربية";
        assert_eq!(xml_text(allowed), allowed);
    }

    #[test]
    fn xml_text_borrows_when_unchanged() {
        assert!(matches!(xml_text("plain & <simple>"), Cow::Borrowed(_)));
        assert!(matches!(xml_text("bell\u{7}"), Cow::Owned(_)));
    }

    #[test]
    fn strips_scripts_frames_styles_and_handlers() {
        let html = r#"<p onclick="steal()" style="color:red">Hi<script>alert(1)</script></p>
<iframe src="https://evil.example/">frame text</iframe><style>p{}</style>
<a href="javascript:alert(2)">js</a><img src="x.png" onerror="alert(3)">"#;
        let clean = clean_html(html, BASE);
        for bad in [
            "onclick",
            "steal",
            "style",
            "script",
            "alert",
            "iframe",
            "frame text",
            "evil",
            "javascript",
            "onerror",
        ] {
            assert!(!clean.contains(bad), "{bad:?} survived in {clean}");
        }
        assert!(clean.contains("<p>Hi</p>"), "{clean}");
        assert!(clean.contains(">js</a>"), "{clean}");
    }

    #[test]
    fn rewrites_relative_urls_against_the_entry() {
        let clean = clean_html(
            r#"<a href="../x">up</a> <img src="img.png" alt="A map"> <a href="/root">r</a>"#,
            BASE,
        );
        assert!(
            clean.contains(r#"href="https://example.org/projects/x""#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"src="https://example.org/projects/ghent/img.png""#),
            "{clean}"
        );
        assert!(clean.contains(r#"alt="A map""#), "{clean}");
        assert!(
            clean.contains(r#"href="https://example.org/root""#),
            "{clean}"
        );
    }

    #[test]
    fn base_does_not_leak_between_calls() {
        clean_html("<p>x</p>", BASE);
        let clean = clean_html(r#"<a href="a.html">a</a>"#, "not a url");
        assert!(!clean.contains("example.org"), "{clean}");
        assert!(clean.contains(">a</a>"), "{clean}");
    }

    #[test]
    fn keeps_structure_and_text() {
        let html = "<h2>T</h2><ul><li><em>a</em> &amp; <strong>b</strong></li></ul>\
<ol><li>1</li></ol><table><tbody><tr><td>c</td></tr></tbody></table>\
<blockquote>q</blockquote><pre><code>x &lt; y</code></pre>\
<p>😀 漢字</p><p dir=\"rtl\" lang=\"he\">עברית</p><p dir=\"rtl\">العربية</p>";
        assert_eq!(clean_html(html, BASE), html);
    }
}

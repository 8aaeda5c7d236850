//! Field selectors as the config writes them: a CSS selector, optionally followed by `@attr`
//! to take that attribute of the matched element instead of its text.

use scraper::{ElementRef, Html, Selector};
use serde::{Deserialize, Serialize};

use crate::sources::finish::element_text;

/// A parsed field selector; equal to another when written the same.
#[derive(Debug, Clone)]
pub struct Pick {
    /// The selector as configured, for messages.
    pub text: String,
    /// The CSS part.
    pub css: Selector,
    /// The attribute to read, if any.
    pub attr: Option<String>,
}

impl Pick {
    /// Parses `css` or `css@attr`; the error says what is wrong with the selector.
    pub fn parse(text: &str) -> Result<Pick, String> {
        let trimmed = text.trim();
        // `@` may also sit inside an attribute value (`a[href^="mailto:x@y"]`); only a
        // trailing attribute name counts as the `@attr` suffix.
        let (css, attr) = match trimmed.rsplit_once('@') {
            Some((css, attr)) if is_attribute_name(attr.trim()) => {
                (css.trim(), Some(attr.trim().to_owned()))
            }
            _ => (trimmed, None),
        };
        if css.is_empty() {
            return Err(format!(
                "{text:?} has no CSS selector; write one such as \"h1\" or \"time@datetime\""
            ));
        }
        let selector = Selector::parse(css).map_err(|e| {
            format!(
                "{css:?} is not a valid CSS selector ({})",
                collapse(&e.to_string())
            )
        })?;
        Ok(Pick {
            text: trimmed.to_owned(),
            css: selector,
            attr,
        })
    }

    /// The value of one matched element: the attribute, or its text read the way every
    /// source reads HTML ([`element_text`]: block boundaries are spaces, scripts left out).
    pub fn value_of(&self, element: ElementRef<'_>) -> String {
        match &self.attr {
            Some(attr) => element.attr(attr).map(str::trim).unwrap_or("").to_owned(),
            None => element_text(element),
        }
    }

    /// The first non-empty value in document order.
    pub fn first(&self, html: &Html) -> Option<String> {
        html.select(&self.css)
            .map(|e| self.value_of(e))
            .find(|v| !v.is_empty())
    }

    /// Every non-empty value, in document order.
    pub fn all(&self, html: &Html) -> Vec<String> {
        html.select(&self.css)
            .map(|e| self.value_of(e))
            .filter(|v| !v.is_empty())
            .collect()
    }
}

impl PartialEq for Pick {
    fn eq(&self, other: &Pick) -> bool {
        self.text == other.text
    }
}

/// Written as configured.
impl Serialize for Pick {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// Parsed when the config is read, so that a selector that does not parse is a config error.
impl<'de> Deserialize<'de> for Pick {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Pick::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn is_attribute_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
}

/// Whitespace runs become one space; ends are trimmed.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_follow_an_at_sign() {
        let p = Pick::parse("time[datetime]@datetime").unwrap();
        assert_eq!(p.attr.as_deref(), Some("datetime"));
        let p = Pick::parse(r#"meta[property="og:image"]@content"#).unwrap();
        assert_eq!(p.attr.as_deref(), Some("content"));
        let p = Pick::parse("h1.title").unwrap();
        assert_eq!(p.attr, None);
        let p = Pick::parse("html @ lang").unwrap();
        assert_eq!(p.attr.as_deref(), Some("lang"));
        assert_eq!(p.text, "html @ lang");
    }

    #[test]
    fn an_at_sign_inside_the_selector_is_not_an_attribute() {
        let p = Pick::parse(r#"a[href="mailto:team@example.org"]"#).unwrap();
        assert_eq!(p.attr, None);
        assert_eq!(p.text, r#"a[href="mailto:team@example.org"]"#);
    }

    #[test]
    fn bad_selectors_are_refused_with_the_reason() {
        let err = Pick::parse("h1[").unwrap_err();
        assert!(err.contains("\"h1[\""), "{err}");
        let err = Pick::parse("@content").unwrap_err();
        assert!(err.contains("no CSS selector"), "{err}");
        assert!(Pick::parse("div >> p").is_err());
    }

    #[test]
    fn values_are_text_or_attribute() {
        let html = Html::parse_document(
            r#"<html lang="fr"><body><p class="x">  un
               <b>deux</b> </p><p class="x"></p><p class="x">trois</p></body></html>"#,
        );
        assert_eq!(
            Pick::parse("p.x").unwrap().first(&html).as_deref(),
            Some("un deux")
        );
        assert_eq!(Pick::parse("p.x").unwrap().all(&html), ["un deux", "trois"]);
        assert_eq!(
            Pick::parse("html@lang").unwrap().first(&html).as_deref(),
            Some("fr")
        );
        assert_eq!(Pick::parse("html@dir").unwrap().first(&html), None);
    }

    /// Regression: a picked element's text glued its paragraphs ("First.Second.").
    #[test]
    fn picked_text_keeps_block_boundaries_and_drops_scripts() {
        let html = Html::parse_document(
            "<article><p>First.</p><p>Second.</p><ul><li>a</li><li>b</li></ul>\
             <script>var x = 1;</script>caf&eacute;</article>",
        );
        assert_eq!(
            Pick::parse("article").unwrap().first(&html).as_deref(),
            Some("First. Second. a b café")
        );
    }
}

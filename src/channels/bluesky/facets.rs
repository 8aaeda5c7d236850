//! Rich-text facets: Bluesky does not turn URLs or hashtags in a post's text into links by
//! itself; the record lists them as facets, located by UTF-8 byte offsets into the text.
//!
//! Spec: <https://docs.bsky.app/docs/advanced-guides/post-richtext>. Detection is that of the
//! official client library, `RichText.detectFacets` of `@atproto/api` (its
//! `src/rich-text/detection.ts` and `util.ts`), rule for rule, so that a post reads the same
//! whether crier or the Bluesky app wrote it; `tests/bluesky_richtext.rs` compares the two on
//! generated texts:
//! - a link is `http://` or `https://` (the `http` in lower case) and every non-space
//!   character after it, or a bare domain whose last label is a top-level domain
//!   (`example.com/path`, linked as `https://…`), at the start of a line, after whitespace or
//!   after `(`; one trailing `.,;:!?` is left out, then one `)` when the URL has no `(`;
//! - a tag is `#` (or `＃`) at the start of the text or after whitespace, then a run of
//!   non-space characters holding at least one that is neither an ASCII digit nor
//!   punctuation; trailing punctuation is left out, only the one leading `#` is (`##tag` is
//!   the tag `#tag`), and a tag of more than 64 UTF-16 units is no tag;
//! - a cashtag is `$` and one to five ASCII letters or digits, the first a letter, after the
//!   same boundaries as a link and before whitespace, the end or `.,;:!?)"'’`; its tag is
//!   `$` and the ticker in upper case.
//!
//! "Whitespace" is JavaScript's `\s`, which differs from Rust's `char::is_whitespace` (it
//! holds U+FEFF, not U+0085). Two differences are deliberate: `@handle` mentions are not
//! made, since a mention facet needs the account's DID, which the official client resolves
//! and drops when it cannot; and a link whose URI the PDS would refuse as a `uri` (nothing
//! or a `/` after `https://`) is left as text, where the official client would make the
//! whole post fail.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

/// JavaScript's `\s`: WhiteSpace (tab, VT, FF, space, NBSP, U+FEFF, every Zs) and
/// LineTerminator, as a regex class body.
const JS_SPACE: &str = r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";
/// Characters the official client ends a tag at although they are not whitespace (soft
/// hyphen, word joiner, hair space, zero-width space, non-joiner and joiner, U+20E2).
const TAG_INVISIBLE: &str = r"\x{AD}\x{2060}\x{200A}\x{200B}\x{200C}\x{200D}\x{20E2}";
/// The longest tag, in UTF-16 code units (what JavaScript's `length` counts), without `#`.
const MAX_TAG_UTF16: usize = 64;

/// The official client's `URL_REGEX`, without its `i` flag: in JavaScript that flag leaves
/// `[a-z]` ASCII, while Rust's would fold `ſ` and the Kelvin sign into it.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:^|[{JS_SPACE}(])(?P<url>[hH][tT][tT][pP][sS]?://[^{JS_SPACE}]+|(?P<domain>[a-zA-Z][a-zA-Z0-9]*(?:\.[a-zA-Z0-9]+)+)[^{JS_SPACE}]*)"
    ))
    .expect("a static regex compiles")
});
/// The official client's `TAG_REGEX` up to the run of characters after `#`, which [`tags`]
/// then checks as its lookahead and classes do.
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:^|[{JS_SPACE}])[#＃](?P<run>[^{JS_SPACE}{TAG_INVISIBLE}]*)"
    ))
    .expect("a static regex compiles")
});
/// A character that makes a run a tag: not an ASCII digit, not punctuation (`\p{P}`).
static TAG_MEANINGFUL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[^0-9\p{P}]").expect("a static regex compiles"));
/// Punctuation that ends a tag's run and is not part of the tag.
static TRAILING_PUNCTUATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\p{P}+$").expect("a static regex compiles"));
/// The official client's `CASHTAG_REGEX`, its lookahead read by [`cashtags`].
static CASHTAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:^|[{JS_SPACE}(])\$(?P<ticker>[A-Za-z][A-Za-z0-9]{{0,4}})"
    ))
    .expect("a static regex compiles")
});
/// What may follow a cashtag's ticker (the official client's lookahead).
static CASHTAG_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r#"^(?:$|[{JS_SPACE}.,;:!?)"'\x{{2019}}])"#))
        .expect("a static regex compiles")
});
/// The atproto `uri` format a link facet's URI must have (`@atproto/syntax`'s `isValidUri`,
/// whose `\w` and `\s` are JavaScript's).
static VALID_URI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^[A-Za-z0-9_]+:(?://)?[^{JS_SPACE}/][^{JS_SPACE}]*$"
    ))
    .expect("a static regex compiles")
});

/// The top-level domains a bare domain may end in: the ASCII ones of the `tlds` package
/// (IANA's list), at the version `tests/tools/richtext/package-lock.json` pins, one a line,
/// sorted.
const TLDS: &str = include_str!("tlds.txt");

/// One detected facet: its UTF-8 byte range and what it is.
struct Found {
    start: usize,
    end: usize,
    feature: Value,
}

/// Facets for every link and hashtag of `text`, ordered by where they start.
pub fn facets(text: &str) -> Vec<Value> {
    let mut found: Vec<Found> = links(text);
    found.extend(tags(text));
    found.extend(cashtags(text));
    // Stable, as the official client's sort: a link and a tag never start at one byte.
    found.sort_by_key(|f| f.start);
    found
        .into_iter()
        .map(
            |f| json!({"index": {"byteStart": f.start, "byteEnd": f.end}, "features": [f.feature]}),
        )
        .collect()
}

fn links(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    for captures in URL.captures_iter(text) {
        let Some(matched) = captures.name("url") else {
            continue;
        };
        let mut uri = if matched.as_str().starts_with("http") {
            matched.as_str().to_owned()
        } else {
            // `HTTPS://…` took the first branch, so it has no domain and is no link.
            match captures.name("domain") {
                Some(domain) if is_top_level(domain.as_str()) => {
                    format!("https://{}", matched.as_str())
                }
                _ => continue,
            }
        };
        let mut end = matched.end();
        if uri.ends_with(['.', ',', ';', ':', '!', '?']) {
            uri.pop();
            end -= 1;
        }
        if uri.ends_with(')') && !uri.contains('(') {
            uri.pop();
            end -= 1;
        }
        if !VALID_URI.is_match(&uri) {
            continue;
        }
        found.push(Found {
            start: matched.start(),
            end,
            feature: json!({"$type": "app.bsky.richtext.facet#link", "uri": uri}),
        });
    }
    found
}

/// Whether `domain` ends in a top-level domain, compared as the official client does: its
/// last label, case-sensitively (`Example.COM` is no link there).
fn is_top_level(domain: &str) -> bool {
    let last = domain.rsplit('.').next().unwrap_or_default();
    TLDS.lines().any(|tld| tld == last)
}

fn tags(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    for captures in TAG.captures_iter(text) {
        let Some(run) = captures.name("run") else {
            continue;
        };
        if run.as_str().starts_with('\u{fe0f}') || !TAG_MEANINGFUL.is_match(run.as_str()) {
            continue;
        }
        let tag = TRAILING_PUNCTUATION.replace(run.as_str(), "");
        if tag.is_empty() || tag.encode_utf16().count() > MAX_TAG_UTF16 {
            continue;
        }
        // The `#` before the run is one byte, or three for the full-width `＃`.
        let hash = text[..run.start()]
            .chars()
            .next_back()
            .map_or(1, char::len_utf8);
        found.push(Found {
            start: run.start() - hash,
            end: run.start() + tag.len(),
            feature: json!({"$type": "app.bsky.richtext.facet#tag", "tag": tag}),
        });
    }
    found
}

fn cashtags(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    for captures in CASHTAG.captures_iter(text) {
        let Some(ticker) = captures.name("ticker") else {
            continue;
        };
        // A longer run of letters and digits is no ticker: the lookahead fails at every
        // shorter length too, since what follows would be a letter or digit.
        if !CASHTAG_END.is_match(&text[ticker.end()..]) {
            continue;
        }
        found.push(Found {
            // The `$` is one byte.
            start: ticker.start() - 1,
            end: ticker.end(),
            feature: json!({
                "$type": "app.bsky.richtext.facet#tag",
                "tag": format!("${}", ticker.as_str().to_ascii_uppercase()),
            }),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(kind, covered text, feature value)` of each facet, for short assertions.
    fn ranges(text: &str) -> Vec<(&'static str, &str, String)> {
        facets(text)
            .iter()
            .map(|f| {
                let start = f["index"]["byteStart"].as_u64().unwrap() as usize;
                let end = f["index"]["byteEnd"].as_u64().unwrap() as usize;
                let feature = &f["features"][0];
                let (kind, value) = match feature["$type"].as_str().unwrap() {
                    "app.bsky.richtext.facet#link" => ("link", &feature["uri"]),
                    "app.bsky.richtext.facet#tag" => ("tag", &feature["tag"]),
                    other => panic!("unexpected feature {other}"),
                };
                (kind, &text[start..end], value.as_str().unwrap().to_owned())
            })
            .collect()
    }

    fn link(covered: &str) -> (&'static str, &str, String) {
        ("link", covered, covered.to_owned())
    }

    #[test]
    fn offsets_are_utf8_bytes() {
        let text = "Fête 🎉👩‍👩‍👧 au café: https://example.org/fête?x=1";
        let facets = facets(text);
        assert_eq!(facets.len(), 1);
        let start = text.find("https").unwrap();
        assert_eq!(
            facets[0],
            json!({
                "index": {"byteStart": start, "byteEnd": text.len()},
                "features": [{
                    "$type": "app.bsky.richtext.facet#link",
                    "uri": "https://example.org/fête?x=1",
                }],
            })
        );
        // Characters and bytes differ: this is what a char-based offset would get wrong.
        assert_ne!(text.chars().take_while(|c| *c != 'h').count(), start);
    }

    /// The official client leaves one `.,;:!?` out, then one `)` when the URL has no `(`;
    /// anything else stays in (`"`, `»`, a second dot).
    #[test]
    fn links_leave_trailing_punctuation_out_as_the_official_client_does() {
        assert_eq!(
            ranges(
                "See https://example.org/a. And (https://example.org/b), or https://en.wikipedia.org/wiki/Rust_(language)!"
            ),
            [
                link("https://example.org/a"),
                link("https://example.org/b"),
                link("https://en.wikipedia.org/wiki/Rust_(language)"),
            ]
        );
        assert_eq!(
            ranges(
                "«https://example.org/» http://x.org/?q=\"a\" https://x.org/a.. https://x.org/b.)"
            ),
            [
                link("http://x.org/?q=\"a\""),
                link("https://x.org/a."),
                link("https://x.org/b."),
            ]
        );
    }

    /// A bare domain whose last label is a top-level domain is linked over `https://`; the
    /// official client checks no host after `http(s)://`, and its `http` is lower case.
    #[test]
    fn links_are_bare_domains_and_any_http_url() {
        assert_eq!(
            ranges(
                "Read example.org/news, Example.com or main.rs; not file.txt, v1.2 nor Example.COM"
            ),
            [
                (
                    "link",
                    "example.org/news",
                    "https://example.org/news".to_owned()
                ),
                ("link", "Example.com", "https://Example.com".to_owned()),
                ("link", "main.rs", "https://main.rs".to_owned()),
            ]
        );
        assert_eq!(
            ranges("xhttps://example.org https:// http://localhost HTTPS://example.org httpS://a"),
            [link("http://localhost"), link("httpS://a")]
        );
        // The PDS refuses a link whose URI has nothing, or a `/`, after the scheme.
        assert!(ranges("https://. https:///x").is_empty());
    }

    #[test]
    fn hashtags_become_tag_facets() {
        let text = "News #Café, #2024 #climate2024! #a#b https://example.org/#anchor ＃全角";
        assert_eq!(
            ranges(text),
            [
                ("tag", "#Café", "Café".to_owned()),
                ("tag", "#climate2024", "climate2024".to_owned()),
                ("tag", "#a#b", "a#b".to_owned()),
                link("https://example.org/#anchor"),
                ("tag", "＃全角", "全角".to_owned()),
            ]
        );
        assert!(ranges(&format!("#{}", "a".repeat(65))).is_empty());
        assert!(ranges("# #! nothing#here #\u{fe0f}x").is_empty());
    }

    /// Regression: crier stripped every leading `#`, where the official client strips one.
    #[test]
    fn a_double_hash_tag_keeps_its_second_hash() {
        assert_eq!(ranges("##tag"), [("tag", "##tag", "#tag".to_owned())]);
    }

    /// The 64 limit counts UTF-16 units, as JavaScript's `length`: 32 emoji are 64.
    #[test]
    fn tag_length_is_counted_in_utf16_units() {
        assert_eq!(ranges(&format!("#{}", "🦀".repeat(32))).len(), 1);
        assert!(ranges(&format!("#{}", "🦀".repeat(33))).is_empty());
        // U+FEFF is whitespace to JavaScript and ends a tag; U+0085 is not.
        assert_eq!(
            ranges("#a\u{feff}#b #c\u{85}d"),
            [
                ("tag", "#a", "a".to_owned()),
                ("tag", "#b", "b".to_owned()),
                ("tag", "#c\u{85}d", "c\u{85}d".to_owned()),
            ]
        );
    }

    #[test]
    fn cashtags_are_upper_case_tags() {
        assert_eq!(
            ranges("$aapl, ($TSLA) $ABCDEF $1A $X2y3!"),
            [
                ("tag", "$aapl", "$AAPL".to_owned()),
                ("tag", "$TSLA", "$TSLA".to_owned()),
                ("tag", "$X2y3", "$X2Y3".to_owned()),
            ]
        );
    }
}

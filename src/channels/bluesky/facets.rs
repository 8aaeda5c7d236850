//! Rich-text facets: Bluesky does not turn URLs or hashtags in a post's text into links by
//! itself; the record lists them as facets, located by UTF-8 byte offsets into the text.
//!
//! Spec: <https://docs.bsky.app/docs/advanced-guides/post-richtext>. Detection follows the
//! official client's rules: a link starts with `http://` or `https://` at the start of the
//! text, after whitespace or after `(`; a tag is `#` after whitespace followed by at least one
//! non-digit; trailing punctuation is left out of both.

use serde_json::{Value, json};

/// The longest tag Bluesky accepts, in characters (without `#`).
const MAX_TAG_CHARS: usize = 64;

/// Facets for every link and hashtag of `text`, in text order.
pub(super) fn facets(text: &str) -> Vec<Value> {
    let mut found: Vec<(usize, usize, Value)> = links(text)
        .into_iter()
        .map(|(start, end)| {
            let feature =
                json!({"$type": "app.bsky.richtext.facet#link", "uri": &text[start..end]});
            (start, end, feature)
        })
        .chain(tags(text).into_iter().map(|(start, end)| {
            // The tag is stored without its `#` (one byte, or three for the full-width `＃`).
            let tag = text[start..end].trim_start_matches(['#', '＃']);
            (
                start,
                end,
                json!({"$type": "app.bsky.richtext.facet#tag", "tag": tag}),
            )
        }))
        .collect();
    found.sort_by_key(|(start, _, _)| *start);
    found
        .into_iter()
        .map(|(start, end, feature)| {
            json!({"index": {"byteStart": start, "byteEnd": end}, "features": [feature]})
        })
        .collect()
}

/// Byte ranges of the `http(s)://` URLs of `text`.
pub(super) fn links(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("http") {
        let rest = &text[start..];
        if !(rest.starts_with("https://") || rest.starts_with("http://")) {
            continue;
        }
        let boundary = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == '(');
        if !boundary {
            continue;
        }
        let word = rest.split(char::is_whitespace).next().unwrap_or_default();
        let uri = trim_link(word);
        if url::Url::parse(uri).is_ok_and(|u| u.host_str().is_some_and(|h| h.contains('.'))) {
            found.push((start, start + uri.len()));
        }
    }
    found
}

/// A URL without the punctuation that ends the sentence around it.
fn trim_link(mut uri: &str) -> &str {
    loop {
        let Some(last) = uri.chars().next_back() else {
            return uri;
        };
        let unbalanced = |open: char, close: char| {
            last == close && uri.matches(open).count() < uri.matches(close).count()
        };
        if ".,;:!?\"'»”’".contains(last) || unbalanced('(', ')') || unbalanced('[', ']') {
            uri = &uri[..uri.len() - last.len_utf8()];
        } else {
            return uri;
        }
    }
}

/// Byte ranges of the hashtags of `text`, `#` included.
fn tags(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (start, c) in text.char_indices() {
        if c != '#' && c != '＃' {
            continue;
        }
        let boundary = text[..start]
            .chars()
            .next_back()
            .is_none_or(char::is_whitespace);
        if !boundary {
            continue;
        }
        let body = &text[start + c.len_utf8()..];
        let word = body
            .split(|c: char| c.is_whitespace() || is_invisible(c))
            .next()
            .unwrap_or_default();
        let tag = word.trim_end_matches(|c: char| is_punctuation(c));
        let meaningful = tag
            .chars()
            .any(|c| !c.is_ascii_digit() && !is_punctuation(c));
        if !tag.is_empty()
            && meaningful
            && !tag.starts_with('\u{fe0f}')
            && tag.chars().count() <= MAX_TAG_CHARS
        {
            found.push((start, start + c.len_utf8() + tag.len()));
        }
    }
    found
}

/// Characters the official client ends a tag at although they are not whitespace.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}' | '\u{2060}' | '\u{200a}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{20e2}'
    )
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '…' | '«'
                | '»'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '¡'
                | '¿'
                | '、'
                | '。'
                | '，'
                | '！'
                | '？'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(text: &str) -> Vec<(&'static str, &str)> {
        facets(text)
            .iter()
            .map(|f| {
                let start = f["index"]["byteStart"].as_u64().unwrap() as usize;
                let end = f["index"]["byteEnd"].as_u64().unwrap() as usize;
                let kind = match f["features"][0]["$type"].as_str().unwrap() {
                    "app.bsky.richtext.facet#link" => "link",
                    "app.bsky.richtext.facet#tag" => "tag",
                    other => panic!("unexpected feature {other}"),
                };
                (kind, &text[start..end])
            })
            .collect()
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

    #[test]
    fn links_leave_sentence_punctuation_out() {
        assert_eq!(
            ranges(
                "See https://example.org/a. And (https://example.org/b), or https://en.wikipedia.org/wiki/Rust_(language)!"
            ),
            [
                ("link", "https://example.org/a"),
                ("link", "https://example.org/b"),
                ("link", "https://en.wikipedia.org/wiki/Rust_(language)"),
            ]
        );
        assert_eq!(
            ranges("«https://example.org/» http://x.org/?q=\"a\""),
            [("link", "http://x.org/?q=\"a")]
        );
        // Not a link: inside a word, no scheme, no host.
        assert!(ranges("xhttps://example.org example.org https:// http://localhost").is_empty());
    }

    #[test]
    fn hashtags_become_tag_facets() {
        let text = "News #Café, #2024 #climate2024! #a#b https://example.org/#anchor ＃全角";
        assert_eq!(
            ranges(text),
            [
                ("tag", "#Café"),
                ("tag", "#climate2024"),
                ("tag", "#a#b"),
                ("link", "https://example.org/#anchor"),
                ("tag", "＃全角"),
            ]
        );
        let facets = facets(text);
        assert_eq!(facets[0]["features"][0]["tag"], "Café");
        assert_eq!(facets[4]["features"][0]["tag"], "全角");
        assert!(ranges(&format!("#{}", "a".repeat(65))).is_empty());
        assert!(ranges("# #! nothing#here").is_empty());
    }
}

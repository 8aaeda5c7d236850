//! How an upstream feed's bytes become UTF-8 before feed-rs reads them.
//!
//! feed-rs hands XML to quick-xml, which switches its decoder when the XML declaration names
//! an encoding; for a big-endian UTF-16 document, or any declaration it meets too late, that
//! switch panics, and it cannot read UTF-32 at all. So the feed source decodes the document
//! itself, with `encoding_rs` (UTF-32, which `encoding_rs` does not know, by hand), and gives
//! feed-rs UTF-8 whose declaration says so. The encoding is taken, in this order, from:
//! 1. a byte order mark (UTF-8, UTF-16 or UTF-32, either byte order);
//! 2. the zero bytes around the first character, which is ASCII in any feed (`<`, `{` or
//!    white space): UTF-16 or UTF-32 without a mark (XML 1.0 appendix F, RFC 4627 §3);
//! 3. for XML, the declaration's `encoding`: whoever wrote the bytes knows best, and feeds
//!    were read this way before (a server's `charset` is often a site-wide default);
//! 4. the `charset` of the HTTP `Content-Type`;
//! 5. UTF-8.
//!
//! A declaration or charset naming UTF-16 on bytes that read as ASCII is wrong (the bytes
//! would have zeros): such a document is read as UTF-8, as browsers do. A document already in
//! UTF-8 is passed on untouched. JSON Feed is UTF-8 by definition; only steps 1 and 2 apply
//! to it. Bytes that do not decode become U+FFFD rather than failing the whole feed.

use std::borrow::Cow;
use std::ops::Range;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How many bytes the XML declaration may take, leading white space included; a declaration
/// is one short line, and a document that has none must not be scanned in full.
const DECLARATION_SCAN: usize = 1024;

/// The encodings a feed can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// One `encoding_rs` knows (UTF-16 among them).
    Known(&'static Encoding),
    /// UTF-32, big-endian when true.
    Utf32 { big_endian: bool },
}

/// `body` as UTF-8 with an XML declaration that says so; borrowed as it is when it already
/// is UTF-8. `http_charset` is the `charset` of the response's `Content-Type`, if any.
pub(super) fn to_utf8<'a>(body: &'a [u8], http_charset: Option<&str>) -> Cow<'a, [u8]> {
    let (found, bom) =
        wide_encoding(body).unwrap_or_else(|| (ascii_encoding(body, http_charset), 0));
    let text = match found {
        Found::Known(encoding) if encoding == UTF_8 => return Cow::Borrowed(body),
        Found::Known(encoding) => encoding
            .decode_without_bom_handling(&body[bom..])
            .0
            .into_owned(),
        Found::Utf32 { big_endian } => decode_utf32(&body[bom..], big_endian),
    };
    let text = match declared_encoding(text.as_bytes()) {
        Some(value) => format!("{}UTF-8{}", &text[..value.start], &text[value.end..]),
        None => text,
    };
    Cow::Owned(text.into_bytes())
}

/// A byte order mark, or the zero bytes of UTF-16 or UTF-32 around an ASCII first character:
/// the encoding and the length of the mark.
fn wide_encoding(body: &[u8]) -> Option<(Found, usize)> {
    // UTF-32 first: its little-endian mark starts with UTF-16's.
    match body {
        [0, 0, 0xFE, 0xFF, ..] => return Some((Found::Utf32 { big_endian: true }, 4)),
        [0xFF, 0xFE, 0, 0, ..] => return Some((Found::Utf32 { big_endian: false }, 4)),
        _ => {}
    }
    if let Some((encoding, bom)) = Encoding::for_bom(body) {
        return Some((Found::Known(encoding), bom));
    }
    match body {
        [0, 0, 0, b, ..] if *b != 0 => Some((Found::Utf32 { big_endian: true }, 0)),
        [b, 0, 0, 0, ..] if *b != 0 => Some((Found::Utf32 { big_endian: false }, 0)),
        [0, b, ..] if *b != 0 => Some((Found::Known(UTF_16BE), 0)),
        [b, 0, ..] if *b != 0 => Some((Found::Known(UTF_16LE), 0)),
        _ => None,
    }
}

/// The encoding of a document whose characters below 128 are single bytes: the XML
/// declaration's, else the HTTP charset, else UTF-8; never one that is not ASCII-compatible.
fn ascii_encoding(body: &[u8], http_charset: Option<&str>) -> Found {
    let starts_as_xml = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<');
    if !starts_as_xml {
        return Found::Known(UTF_8);
    }
    let declared = declared_encoding(body).map(|value| &body[value]);
    let label = declared.or(http_charset.map(str::as_bytes));
    let encoding = label
        .and_then(Encoding::for_label)
        .filter(|e| e.is_ascii_compatible())
        .unwrap_or(UTF_8);
    Found::Known(encoding)
}

/// Where the value of the `encoding` pseudo-attribute of the XML declaration that opens
/// `text` (after white space) lies, if there is one.
fn declared_encoding(text: &[u8]) -> Option<Range<usize>> {
    let head = &text[..text.len().min(DECLARATION_SCAN)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    if !head[start..].starts_with(b"<?xml") {
        return None;
    }
    let end = start + find(&head[start..], b"?>")?;
    let declaration = &head[..end];
    let name = start + find(&declaration[start..], b"encoding")?;
    let mut at = name + "encoding".len();
    let skip_space = |mut at: usize| {
        while declaration.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    at = skip_space(at);
    if declaration.get(at) != Some(&b'=') {
        return None;
    }
    at = skip_space(at + 1);
    let quote = *declaration.get(at).filter(|&&q| q == b'"' || q == b'\'')?;
    let value_start = at + 1;
    let value_len = declaration[value_start..]
        .iter()
        .position(|&b| b == quote)?;
    Some(value_start..value_start + value_len)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// UTF-32 text as a `String`; a code unit that is not a character, or a last one cut short,
/// becomes U+FFFD.
fn decode_utf32(bytes: &[u8], big_endian: bool) -> String {
    bytes
        .chunks(4)
        .map(|unit| {
            let Ok(unit) = <[u8; 4]>::try_from(unit) else {
                return char::REPLACEMENT_CHARACTER;
            };
            let value = if big_endian {
                u32::from_be_bytes(unit)
            } else {
                u32::from_le_bytes(unit)
            };
            char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss><channel><title>Café</title></channel></rss>";

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let units = (bom.then_some(0xFEFF_u16).into_iter()).chain(text.encode_utf16());
        units
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    fn utf32(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let chars = (bom.then_some('\u{feff}').into_iter()).chain(text.chars());
        chars
            .flat_map(|c| {
                if big_endian {
                    (c as u32).to_be_bytes()
                } else {
                    (c as u32).to_le_bytes()
                }
            })
            .collect()
    }

    fn utf8_of(body: &[u8], http_charset: Option<&str>) -> String {
        String::from_utf8(to_utf8(body, http_charset).into_owned()).expect("UTF-8 out")
    }

    #[test]
    fn utf16_and_utf32_of_either_byte_order_become_utf8_declared_as_such() {
        let want = XML.replace("utf-16", "UTF-8");
        for big_endian in [true, false] {
            for bom in [true, false] {
                let case = format!("big endian {big_endian}, mark {bom}");
                assert_eq!(
                    utf8_of(&utf16(XML, big_endian, bom), None),
                    want,
                    "UTF-16 {case}"
                );
                let xml = XML.replace("utf-16", "UTF-32");
                assert_eq!(
                    utf8_of(&utf32(&xml, big_endian, bom), None),
                    want,
                    "UTF-32 {case}"
                );
            }
        }
        // A charset header cannot override what the bytes show.
        assert_eq!(utf8_of(&utf16(XML, true, false), Some("iso-8859-1")), want);
    }

    #[test]
    fn the_declaration_comes_before_the_http_charset() {
        let latin1 =
            b"<?xml version='1.0' encoding='ISO-8859-1'?><rss><title>Caf\xe9</title></rss>";
        assert_eq!(
            utf8_of(latin1, Some("utf-8")),
            "<?xml version='1.0' encoding='UTF-8'?><rss><title>Café</title></rss>"
        );
        let undeclared = b"<rss><title>Caf\xe9</title></rss>";
        assert_eq!(
            utf8_of(undeclared, Some("windows-1252")),
            "<rss><title>Café</title></rss>"
        );
    }

    #[test]
    fn utf8_passes_untouched_even_when_mislabelled_as_utf16() {
        for body in [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><title>Café</title></rss>",
            "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss><title>Café</title></rss>",
            "\u{feff}<?xml version=\"1.0\"?><rss/>",
            "<rss><title>Café</title></rss>",
            "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"Café\"}",
        ] {
            let out = to_utf8(body.as_bytes(), Some("utf-16"));
            assert!(matches!(out, Cow::Borrowed(_)), "{body}");
        }
        // JSON Feed is UTF-8 whatever the header says.
        let json = b"{\"title\":\"Caf\xc3\xa9\"}";
        assert!(matches!(
            to_utf8(json, Some("iso-8859-1")),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            utf8_of(&utf16("{\"title\":\"Café\"}", false, true), None),
            "{\"title\":\"Café\"}"
        );
    }

    #[test]
    fn broken_input_decodes_with_replacement_characters() {
        let mut body = utf32("<rss/>", true, true);
        body.extend([0x00, 0x11, 0x00, 0x00, 0x00]);
        assert_eq!(utf8_of(&body, None), "<rss/>\u{fffd}\u{fffd}");
        assert_eq!(declared_encoding(b"<?xml encoding=\"utf-8\""), None);
        assert_eq!(declared_encoding(b"<rss encoding=\"x\"?>"), None);
        assert_eq!(
            declared_encoding(b"  <?xml encoding = 'x' ?>"),
            Some(20..21)
        );
    }
}

//! X's weighted length of a post, as twitter-text v3 counts it
//! (<https://github.com/twitter/twitter-text/blob/master/config/v3.json>, rules in
//! <https://developer.x.com/en/docs/counting-characters>): the text is put in NFC first; a
//! code point in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F or U+2032–U+2037 counts 1, any
//! other 2; an emoji sequence twitter-text knows counts 2 as a whole; every URL it extracts
//! counts 23 (X wraps it in a t.co link).
//!
//! This follows twitter-text step by step, and `tests/x_count.rs` checks it against the
//! Python port (`twitter-text-parser`) on random texts: URLs are found with twitter-text's
//! own pattern (its top-level domain list in [`tlds`], its path and query characters, its
//! preceding-character rule, the IDNA check of the host), and emoji with its list, Unicode's
//! `emoji-test.txt` 12.0 (`emoji-12.0.txt`). A sequence newer than that list counts code point
//! by code point, as twitter-text counts it, which is never less than X's newer lists count.
//! [`sendable`] removes the characters X refuses and puts links in ASCII form, so that every
//! link crier sends counts 23 however the page's address is spelt.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use fancy_regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::channels::tlds;

/// Most weighted characters in a post (`maxWeightedTweetLength`).
pub const MAX_WEIGHTED_LENGTH: usize = 280;

/// What any URL counts (`transformedURLLength`).
const URL_LENGTH: usize = 23;

/// What an emoji sequence counts (`defaultWeight`, at scale 100).
const EMOJI_LENGTH: usize = 2;

/// Code point ranges that count 1 (`ranges` with weight 100 at scale 100); others count 2.
const LIGHT_RANGES: [(u32, u32); 4] = [
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
];

/// Characters that make X refuse a post (twitter-text's `invalidCharsGroup`).
const REFUSED: [char; 3] = ['\u{FFFE}', '\u{FEFF}', '\u{FFFF}'];

/// Longest URL twitter-text extracts (`MAX_URL_LENGTH`), counted with its punycode host.
const MAX_URL_LENGTH: usize = 4096;

/// Longest slug of a `t.co` link twitter-text extracts (`MAX_TCO_SLUG_LENGTH`).
const MAX_TCO_SLUG_LENGTH: usize = 40;

/// X's weighted length of `text`, in characters.
pub fn weighted_length(text: &str) -> usize {
    let chars: Vec<char> = text.nfc().collect();
    let normalized: String = chars.iter().collect();
    // twitter-text keys both by start and walks the text once, links first.
    let links = link_starts(&normalized);
    let emoji = emoji_starts(&chars);
    let mut total = 0;
    let mut at = 0;
    while at < chars.len() {
        if let Some(link) = links.get(&at) {
            total += if link.certain {
                URL_LENGTH
            } else {
                // X may or may not take it for a link: count whichever is more.
                URL_LENGTH.max(span_length(&chars[at..link.end], &emoji, at))
            };
            at = link.end;
        } else if let Some(&end) = emoji.get(&at) {
            total += EMOJI_LENGTH;
            at = end;
        } else {
            total += char_length(chars[at]);
            at += 1;
        }
    }
    total
}

/// Length of `span` (starting at char `offset` of the text) counted without links.
fn span_length(span: &[char], emoji: &HashMap<usize, usize>, offset: usize) -> usize {
    let mut total = 0;
    let mut at = 0;
    while at < span.len() {
        match emoji.get(&(offset + at)) {
            Some(&end) => {
                total += EMOJI_LENGTH;
                at = end - offset;
            }
            None => {
                total += char_length(span[at]);
                at += 1;
            }
        }
    }
    total
}

/// `text` as crier sends it to X: without the characters X refuses (U+FFFE, U+FEFF, U+FFFF)
/// and with each `http(s)://` link in ASCII form (punycode host, percent-encoded path), which
/// twitter-text always takes whole as one link.
pub fn sendable(text: &str) -> String {
    let text: String = text.chars().filter(|c| !REFUSED.contains(c)).collect();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = find_scheme(rest) {
        out.push_str(&rest[..at]);
        let link = &rest[at..];
        let end = link.find(char::is_whitespace).unwrap_or(link.len());
        match url::Url::parse(&link[..end]) {
            // Only a link the `url` crate reads without change but for its encoding: its
            // ASCII form leads to the same page.
            Ok(parsed) if !link[..end].is_ascii() => out.push_str(parsed.as_str()),
            _ => out.push_str(&link[..end]),
        }
        rest = &link[end..];
    }
    out.push_str(rest);
    out
}

/// Byte offset of the next `http://` or `https://` (any case) in `text`.
fn find_scheme(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

fn char_length(c: char) -> usize {
    let code = u32::from(c);
    if LIGHT_RANGES
        .iter()
        .any(|&(start, end)| (start..=end).contains(&code))
    {
        1
    } else {
        2
    }
}

/// twitter-text's emoji: every sequence of `emoji-test.txt` 12.0 outside its Component group.
struct EmojiList {
    sequences: HashSet<String>,
    /// Code points a sequence starts with, to skip the look-up for most characters.
    firsts: HashSet<char>,
    /// Code points in the longest sequence.
    longest: usize,
}

static EMOJI: LazyLock<EmojiList> = LazyLock::new(|| {
    let mut list = EmojiList {
        sequences: HashSet::new(),
        firsts: HashSet::new(),
        longest: 1,
    };
    for line in include_str!("emoji-12.0.txt").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        // The file is crier's own, checked by a unit test: a bad line is a build mistake.
        let sequence: String = line
            .split(' ')
            .filter_map(|hex| u32::from_str_radix(hex, 16).ok())
            .filter_map(char::from_u32)
            .collect();
        list.longest = list.longest.max(sequence.chars().count());
        list.firsts.extend(sequence.chars().next());
        list.sequences.insert(sequence);
    }
    list
});

/// Where each emoji twitter-text finds in `chars` starts, and where it ends (char indices):
/// from left to right, the longest listed sequence at each place.
fn emoji_starts(chars: &[char]) -> HashMap<usize, usize> {
    let list = &*EMOJI;
    let mut found = HashMap::new();
    let mut at = 0;
    while at < chars.len() {
        if !list.firsts.contains(&chars[at]) {
            at += 1;
            continue;
        }
        let most = list.longest.min(chars.len() - at);
        let matched = (1..=most).rev().find(|&n| {
            let candidate: String = chars[at..at + n].iter().collect();
            list.sequences.contains(&candidate)
        });
        match matched {
            Some(n) => {
                found.insert(at, at + n);
                at += n;
            }
            None => at += 1,
        }
    }
    found
}

/// A link twitter-text extracts, keyed by the char index it starts at.
#[derive(Debug, Clone, Copy)]
struct Link {
    /// Char index just past its end.
    end: usize,
    /// twitter-text surely takes it (an ASCII host, or one whose IDNA conversion crier can
    /// vouch for); otherwise it may count it character by character.
    certain: bool,
}

/// What may follow a top-level domain. `İ` (U+0130) is named beside the letters because
/// twitter-text's case-insensitive classes take it for `i` (its lowercase), where Unicode case
/// folding, which the regex crate follows, does not: without it `example.COMİ` would be a link
/// here and plain text there.
const TLD_END: &str = "(?=[^0-9a-zA-Z\\x{130}@+-]|$)";

/// twitter-text's URL pattern (`extractUrl` and the patterns it is built from), groups:
/// 1 the preceding character, 2 the URL, 3 the scheme, 4 the host, 5 the path.
static URL_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    let punct = r"!'#%&()*+,\\\-./:;<=>?@\[\]\^_{|}~$";
    let spaces = r"\x{09}-\x{0D}\x{20}\x{85}\x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";
    let invalid = r"\x{FFFE}\x{FEFF}\x{FFFF}";
    let directional = r"\x{202A}-\x{202E}\x{061C}\x{200E}\x{200F}\x{2066}-\x{2069}";
    let latin = r"\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{FF}\x{100}-\x{24F}\x{253}\x{254}\x{256}\x{257}\x{259}\x{25B}\x{263}\x{268}\x{26F}\x{272}\x{289}\x{28B}\x{2BB}\x{300}-\x{36F}\x{1E00}-\x{1EFF}";
    let cyrillic = r"\x{400}-\x{4FF}";
    let domain_char = format!("[^{punct}{spaces}{invalid}{directional}]");
    let subdomain = format!("(?:(?:{domain_char}(?:[_-]|{domain_char})*)?{domain_char}\\.)");
    let domain_name = format!("(?:(?:{domain_char}(?:-|{domain_char})*)?{domain_char}\\.)");
    let tld_end = TLD_END;
    let generic = format!("(?:(?:{}){tld_end})", tlds::GENERIC);
    let country = format!("(?:(?:{}){tld_end})", tlds::COUNTRY);
    let punycode = r"(?:xn--[\-0-9a-z]+)";
    let domain = format!("(?:{subdomain}*{domain_name}(?:{generic}|{country}|{punycode}))");
    let path_char = format!(r"[a-z{cyrillic}0-9!*';:=+,.$/%#\[\]\-\x{{2013}}_~@|&{latin}]");
    let parens = format!(r"\((?:{path_char}+|(?:{path_char}*\({path_char}+\){path_char}*))\)");
    let path_end = format!(r"(?:[+\-a-z{cyrillic}0-9=_#/{latin}]|(?:{parens}))");
    let path =
        format!(r"(?:(?:{path_char}*(?:{parens}{path_char}*)*{path_end})|(?:@{path_char}+/))");
    let query_char = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]";
    let query_end = r"[a-z0-9\-_&=#/]";
    let preceding =
        format!("(?:[^A-Za-z0-9\u{130}@\u{FF20}$#\u{FF03}{invalid}]|[{directional}]|^)");
    let pattern = format!(
        r"(?i)({preceding})((https?://)?({domain})(?::[0-9]+)?(/{path}*)?(?:\?{query_char}*{query_end})?)"
    );
    Regex::new(&pattern).expect("twitter-text's URL pattern compiles")
});

/// A bare domain inside a host twitter-text found without a scheme (`validAsciiDomain`).
static ASCII_DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    let latin = r"\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{FF}\x{100}-\x{24F}\x{253}\x{254}\x{256}\x{257}\x{259}\x{25B}\x{263}\x{268}\x{26F}\x{272}\x{289}\x{28B}\x{2BB}\x{300}-\x{36F}\x{1E00}-\x{1EFF}";
    let tld_end = TLD_END;
    let pattern = format!(
        r"(?i)(?:(?:[\-a-z0-9{latin}]+)\.)+(?:(?:(?:{}){tld_end})|(?:(?:{}){tld_end})|(?:xn--[\-0-9a-z]+))",
        tlds::GENERIC,
        tlds::COUNTRY
    );
    Regex::new(&pattern).expect("twitter-text's domain pattern compiles")
});

/// A `t.co` link, which takes no path beyond its slug (`validTcoUrl`).
static TCO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^https?://t\.co/([a-z0-9]+)(?:\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/])?")
        .expect("twitter-text's t.co pattern compiles")
});

/// Where each link twitter-text extracts from `text` starts and ends, in char indices
/// (`extractUrlsWithIndices`).
fn link_starts(text: &str) -> HashMap<usize, Link> {
    let mut links = HashMap::new();
    if !text.contains('.') {
        return links;
    }
    let char_index = |byte: usize| text[..byte].chars().count();
    for found in URL_PATTERN.captures_iter(text) {
        // A pattern too costly to match (fancy-regex's backtrack limit) ends the search;
        // what is left counts character by character.
        let Ok(found) = found else { break };
        let (Some(url), Some(host)) = (found.get(2), found.get(4)) else {
            continue;
        };
        let scheme = found.get(3);
        let scheme_length = scheme.map_or("https://".len(), |s| s.as_str().len());
        let certain = match is_valid_url(url.as_str(), scheme_length, host.as_str()) {
            Validity::Valid => true,
            Validity::Unsure => false,
            Validity::Invalid => continue,
        };
        if scheme.is_none() {
            // A bare domain after `-`, `_`, `.` or `/` is part of something else.
            let before = found.get(1).map_or("", |b| b.as_str());
            if before.ends_with(['-', '_', '.', '/']) {
                continue;
            }
            let mut last = None;
            for domain in ASCII_DOMAIN.find_iter(host.as_str()) {
                let Ok(domain) = domain else { break };
                let start = char_index(host.start() + domain.start());
                let end = char_index(host.start() + domain.end());
                links.insert(start, Link { end, certain });
                last = Some((start, domain.as_str().chars().count()));
            }
            // The path and query go with the last domain, when there is a path. twitter-text
            // then skips as many characters as the link has with that domain for its host
            // (from the link's start), which can leave the host's end to count as text.
            if let Some((start, domain_length)) = last
                && found.get(5).is_some_and(|p| !p.as_str().is_empty())
            {
                let written = url.as_str().chars().count() - host.as_str().chars().count();
                links.insert(
                    start,
                    Link {
                        end: start + written + domain_length,
                        certain,
                    },
                );
            }
        } else {
            let mut end = url.end();
            if let Ok(Some(tco)) = TCO.captures(url.as_str()) {
                if tco
                    .get(1)
                    .is_some_and(|slug| slug.as_str().len() > MAX_TCO_SLUG_LENGTH)
                {
                    continue;
                }
                end = url.start() + tco.get(0).map_or(url.as_str().len(), |m| m.end());
            }
            let end = char_index(end);
            links.insert(char_index(url.start()), Link { end, certain });
        }
    }
    links
}

/// Whether twitter-text takes a URL (its `isValidUrl`).
enum Validity {
    Valid,
    Invalid,
    /// A host only twitter-text's IDNA 2003 conversion can judge (Python's `idna` codec,
    /// Java's `IDN.toASCII`): crier's UTS 46 conversion accepts it, but nameprep's stricter
    /// rules (bidi, compatibility characters, prohibited code points) may refuse it.
    Unsure,
}

/// twitter-text's `isValidUrl`: the host converts to ASCII (IDNA, labels of at most 63
/// characters) and the whole link stays within [`MAX_URL_LENGTH`].
fn is_valid_url(url: &str, scheme_length: usize, host: &str) -> Validity {
    let ascii = if host.is_ascii() {
        host.to_owned()
    } else {
        match idna::domain_to_ascii(host) {
            Ok(ascii) => ascii,
            Err(_) => return Validity::Unsure,
        }
    };
    if ascii.is_empty() || ascii.split('.').any(|label| label.len() > 63) {
        return Validity::Invalid;
    }
    let length = url.chars().count() + ascii.chars().count() - host.chars().count();
    if scheme_length + length > MAX_URL_LENGTH {
        Validity::Invalid
    } else if host.is_ascii() || is_plain_idn(host) {
        Validity::Valid
    } else {
        Validity::Unsure
    }
}

/// A non-ASCII host that IDNA 2003's nameprep leaves alone: letters of left-to-right scripts
/// without compatibility forms or combining marks (Chinese, Japanese, Korean, Cyrillic, Greek,
/// accented Latin and the like).
fn is_plain_idn(host: &str) -> bool {
    host.nfkc().eq(host.chars())
        && host.chars().all(|c| {
            c == '.'
                || c == '-'
                || c.is_ascii_alphanumeric()
                || (c.is_alphabetic()
                    && !matches!(u32::from(c), 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_counts_one_per_character() {
        assert_eq!(weighted_length(""), 0);
        assert_eq!(weighted_length("I am a Tweet"), 12);
        assert_eq!(weighted_length(&"x".repeat(280)), 280);
        assert_eq!(weighted_length("line\r\nbreak"), 11);
    }

    #[test]
    fn urls_count_23_whatever_their_length() {
        assert_eq!(weighted_length("http://test.co"), 23);
        assert_eq!(weighted_length("Hi http://test.co"), 26);
        let long = format!("See https://example.org/{}", "a".repeat(200));
        assert_eq!(weighted_length(&long), 4 + 23);
        // Trailing punctuation is not part of the link.
        assert_eq!(weighted_length("(see https://example.org/a)."), 5 + 23 + 2);
        // twitter-text's conformance case: ten links and ten spaces.
        let ten = "https://www.twitter.com/aloha ".repeat(10);
        assert_eq!(weighted_length(&ten), 240);
        assert_eq!(
            weighted_length("Café https://example.org/été?x=1#frag"),
            5 + 23
        );
        assert_eq!(weighted_length("HTTPS://Example.COM/x"), 23);
    }

    #[test]
    fn bare_domains_count_at_least_23() {
        assert_eq!(weighted_length("example.com"), 23);
        assert_eq!(weighted_length("visit example.org/page, now"), 6 + 23 + 5);
        // twitter-text's conformance case: a 64-character label is no domain, counted as is.
        let long = "randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com";
        assert_eq!(weighted_length(long), 68);
        // Not domains: abbreviations and numbers.
        assert_eq!(weighted_length("e.g. 3.14 and i.e."), 18);
    }

    #[test]
    fn cjk_counts_two_per_character() {
        assert_eq!(weighted_length("故人西辞黄鹤楼"), 14);
        assert_eq!(weighted_length("the故人"), 7);
        assert_eq!(weighted_length("あいう https://example.jp/"), 6 + 1 + 23);
        // Hangul syllables are outside the light ranges.
        assert_eq!(weighted_length("한국어"), 6);
    }

    #[test]
    fn general_punctuation_ranges_count_one() {
        // U+2014 em dash, U+201C/U+201D quotes, U+2032 prime: 1 each; U+2026 ellipsis: 2.
        assert_eq!(weighted_length("\u{2014}\u{201C}\u{201D}\u{2032}"), 4);
        assert_eq!(weighted_length("\u{2026}"), 2);
        assert_eq!(weighted_length("\u{20AC}"), 2);
    }

    #[test]
    fn emoji_and_sequences_count_two() {
        assert_eq!(weighted_length("😷👾😡🔥💩"), 10);
        // A skin tone, and a ZWJ profession.
        assert_eq!(weighted_length("🙋🏽👨\u{200D}🎤"), 4);
        // ZWJ family of four: one emoji.
        let family = "👨\u{200D}👩\u{200D}👧\u{200D}👦";
        assert_eq!(weighted_length(family), 2);
        assert_eq!(weighted_length(&family.repeat(140)), 280);
        // Flags, a subdivision flag with tags, a keycap, a presentation selector.
        assert_eq!(weighted_length("🇫🇷🇯🇵"), 4);
        assert_eq!(
            weighted_length("🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}"),
            2
        );
        assert_eq!(weighted_length("1\u{FE0F}\u{20E3}"), 2);
        assert_eq!(weighted_length("\u{2764}\u{FE0F}"), 2);
        assert_eq!(weighted_length("©\u{FE0F}"), 2);
        // twitter-text's conformance case: "Unicode 10.0 emoji: 🤪; 🧕; 🧕🏾; 🏴 (England)".
        let text = "Unicode 10.0 emoji: 🤪; 🧕; 🧕🏾; 🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
        assert_eq!(weighted_length(text), 34);
    }

    #[test]
    fn text_presentation_counts_each_code_point() {
        // twitter-text lists © alone (unqualified) as an emoji: 2, although U+00A9 is light.
        assert_eq!(weighted_length("©"), 2);
        assert_eq!(weighted_length("\u{263A}"), 2);
        assert_eq!(weighted_length("\u{263A}\u{FE0E}"), 4);
        // A stray variation selector counts on its own.
        assert_eq!(weighted_length("a\u{FE0F}"), 3);
    }

    #[test]
    fn accents_count_one_when_precomposed() {
        assert_eq!(weighted_length("Á B"), 3);
        assert_eq!(weighted_length("A lié géts arøünd"), 17);
        assert_eq!(weighted_length("Ελληνικά кириллица"), 18);
        // Decomposed: normalised to NFC first, like X does, so one character.
        assert_eq!(weighted_length("e\u{301}"), 1);
        // Hebrew presentation form that NFC expands into three characters (conformance: 4).
        assert_eq!(weighted_length("A\u{FB2C}"), 4);
    }

    /// What one code point counts, after NFC.
    fn length_of(code: u32) -> usize {
        weighted_length(&char::from_u32(code).expect("a scalar value").to_string())
    }

    #[test]
    fn each_light_range_counts_one_up_to_its_ends() {
        for code in [
            0x0000, 0x0041, 0x10FF, 0x2000, 0x200D, 0x2010, 0x201F, 0x2032, 0x2037,
        ] {
            assert_eq!(length_of(code), 1, "U+{code:04X}");
        }
        for code in [
            0x1100, 0x1FFF, 0x200E, 0x200F, 0x2020, 0x2031, 0x2038, 0x3000,
        ] {
            assert_eq!(length_of(code), 2, "U+{code:04X}");
        }
    }

    #[test]
    fn each_nfc_expansion_counts_what_it_becomes() {
        let two = [
            0x0344, 0x0958, 0x095B, 0x095F, 0x09DC, 0x09DD, 0x09DF, 0x0A33, 0x0A36, 0x0A59, 0x0A5A,
            0x0A5B, 0x0A5E, 0x0B5C, 0x0B5D, 0x0F43, 0x0F4D, 0x0F52, 0x0F57, 0x0F5C, 0x0F69, 0x0F73,
            0x0F75, 0x0F76, 0x0F78, 0x0F81, 0x0F93, 0x0F9D, 0x0FA2, 0x0FA7, 0x0FAC, 0x0FB9,
        ];
        for code in two {
            assert_eq!(length_of(code), 2, "U+{code:04X}");
        }
        // Their neighbours are ordinary light characters.
        for code in [0x0343, 0x0957, 0x0960, 0x09DE, 0x0A5C, 0x0F44, 0x0FBA] {
            assert_eq!(length_of(code), 1, "U+{code:04X}");
        }
        for (code, length) in [
            (0xFB2C, 3),
            (0xFB2D, 3),
            (0x2ADC, 3),
            (0x2ADD, 2),
            (0x1D15E, 4),
            (0x1D15F, 4),
            (0x1D1BB, 4),
            (0x1D1BC, 4),
            (0x1D160, 6),
            (0x1D162, 6),
            (0x1D164, 6),
            (0x1D1BD, 6),
            (0x1D1C0, 6),
            (0x1D15D, 2),
            (0x1D165, 2),
            (0x1D1C1, 2),
        ] {
            assert_eq!(length_of(code), length, "U+{code:04X}");
        }
    }

    #[test]
    fn prose_with_full_stops_has_no_links() {
        assert_eq!(weighted_length("Hello world. Bye now."), 21);
        assert_eq!(weighted_length("It ends here."), 13);
        assert_eq!(weighted_length("One. Two. Three..."), 18);
        // A one-letter or numeric top-level domain is no domain either.
        assert_eq!(weighted_length("go to a.b now"), 13);
        assert_eq!(weighted_length("x.y2"), 4);
        // Two letters are enough.
        assert_eq!(weighted_length("example.io"), 23);
        assert_eq!(weighted_length("see example.io."), 4 + 23 + 1);
    }

    #[test]
    fn a_url_counts_23_only_when_twitter_text_takes_its_host() {
        let path = "/abcdefghijklmnopqrstuvwxyz";
        let label = "a".repeat(63);
        let long_label = "a".repeat(64);
        // What twitter-text-parser 3.0.0 counts for `https://{host}{path}`.
        for (host, expected) in [
            ("example.jp", 23),
            ("my-site.org", 23),
            (label.as_str(), 23),
            ("exämple.org", 23),
            // `_` only in a subdomain, never in the name before the top-level domain.
            ("under_score.example.org", 23),
            ("under_score.org", 50),
            ("a.under_score.org", 52),
            ("localhost", 44),
            ("example.j", 44),
            ("example.j2", 45),
            ("-example.org", 47),
            ("example-.org", 47),
            ("example..org", 47),
            // `https://ex!` as written, then `ample.org/…` as a bare domain.
            ("ex!ample.org", 11 + 23),
            (long_label.as_str(), 103),
        ] {
            let host = if host.len() >= 63 {
                format!("{host}.com")
            } else {
                host.to_owned()
            };
            let url = format!("https://{host}{path}");
            assert_eq!(weighted_length(&url), expected, "{url}");
        }
    }

    #[test]
    fn a_url_glued_to_a_word_is_no_url() {
        let url = "https://example.org/abcdefghijklmnopqrstuvwxyz";
        for glue in ['x', '5', '@', '$', '#'] {
            let text = format!("{glue}{url}");
            assert_eq!(weighted_length(&text), text.len(), "{text}");
        }
        // After a space, a bracket or a slash it is a link.
        assert_eq!(weighted_length(&format!("x {url}")), 2 + 23);
        assert_eq!(weighted_length(&format!("({url})")), 1 + 23 + 1);
        assert_eq!(weighted_length(&format!("/{url}")), 1 + 23);
    }

    // The cases below are what twitter-text-parser 3.0.0 counts (`parse_tweet(text)`); each
    // was counted differently by crier before it followed twitter-text step by step.

    #[test]
    fn a_non_latin_path_ends_the_url_where_twitter_text_stops() {
        // twitter-text's path takes Latin, Cyrillic and a few symbols; Hangul ends the link.
        assert_eq!(weighted_length("https://example.org/ko/부모-교육/"), 33);
        // Its ASCII form, as crier sends it, is one link.
        let sent = sendable("https://example.org/ko/부모-교육/");
        assert_eq!(
            sent,
            "https://example.org/ko/%EB%B6%80%EB%AA%A8-%EA%B5%90%EC%9C%A1/"
        );
        assert_eq!(weighted_length(&sent), 23);
    }

    #[test]
    fn emoji_sequences_twitter_text_does_not_list_count_by_code_point() {
        // Emoji 15.1 phoenix and family: newer than twitter-text's list.
        assert_eq!(weighted_length("🐦\u{200D}🔥"), 5);
        assert_eq!(weighted_length("🧑\u{200D}🧑\u{200D}🧒"), 8);
        // A family with skin tones is no recommended sequence: four people with tones, joined.
        assert_eq!(weighted_length("👩🏽\u{200D}👩🏽\u{200D}👧🏽\u{200D}👦🏽"), 11);
    }

    #[test]
    fn a_dotted_capital_i_is_a_letter_next_to_a_link_as_twitter_text_reads_it() {
        // twitter-text takes `İ` for `i`: `.COMİ` is no top-level domain, and a scheme right
        // after `İ` starts no link (found by tests/x_count.rs, seed 1796155776347556221).
        assert_eq!(weighted_length("https://example.comİ x"), 22);
        assert_eq!(weighted_length("HTTPS://example.COMİM"), 21);
        assert_eq!(weighted_length("İhttps://example.com x"), 22);
        assert_eq!(weighted_length("https://example.com İ"), 23 + 2);
    }

    #[test]
    fn a_link_only_twitter_text_can_judge_counts_the_larger_reading_emoji_and_all() {
        // A host of emoji sequences: twitter-text takes it (3 + 23 + 2 = 28), crier cannot
        // vouch for its IDNA conversion and counts it as text where that is more, each family
        // sequence as one emoji (2), not its five code points (8).
        let family = "👨\u{200D}👩\u{200D}👧";
        let text = format!("ab https://{}.com x", family.repeat(8));
        assert_eq!(
            weighted_length(&text),
            3 + ("https://".len() + 8 * 2 + ".com".len()) + 2
        );
        // Shorter than 23 as text, it counts 23.
        let text = format!("ab https://{}.com x", family.repeat(2));
        assert_eq!(weighted_length(&text), 3 + 23 + 2);
    }

    #[test]
    fn a_link_is_one_only_up_to_twitter_text_s_lengths() {
        // A t.co slug of up to 40 characters (twitter-text-parser: 23, then 54 as text).
        assert_eq!(
            weighted_length(&format!("https://t.co/{}", "a".repeat(40))),
            23
        );
        assert_eq!(
            weighted_length(&format!("https://t.co/{}", "a".repeat(41))),
            54
        );
        // At most 4,096 characters with the scheme counted again and the host in its ASCII
        // form (`xn--bcher-kva.de`, seven more than `bücher.de`): twitter-text-parser takes a
        // path of 4,063 characters and counts one more as text.
        let url = |path: usize| format!("https://bücher.de/{}", "a".repeat(path));
        assert_eq!(weighted_length(&url(4063)), 23);
        assert_eq!(weighted_length(&url(4064)), 18 + 4064);
    }

    #[test]
    fn text_is_put_in_nfc_before_counting() {
        assert_eq!(weighted_length("cafe\u{301} e\u{301}te\u{301}"), 8);
    }

    #[test]
    fn links_glued_to_cjk_end_where_twitter_text_ends_them() {
        assert_eq!(weighted_length("보세요https://example.org/a"), 6 + 23);
        assert_eq!(weighted_length("보세요example.org/a한국"), 6 + 23 + 4);
        assert_eq!(weighted_length("https://example.org한국어"), 23 + 6);
        assert_eq!(weighted_length("example.com中国語"), 23 + 6);
        // twitter-text's own example: two links in Japanese text.
        assert_eq!(
            weighted_length("http://twitter.com/これは日本語です。example.com中国語"),
            23 + 18 + 23 + 6
        );
    }

    #[test]
    fn hosts_are_checked_against_twitter_text_s_rules() {
        // `_` in the name before the top-level domain: no link.
        assert_eq!(weighted_length("a.b_c.org"), 9);
        // An unknown top-level domain: no link, counted as written.
        let unknown = "https://example.unknowntld/abcdefghijklmnopqrstuvwxyz";
        assert_eq!(weighted_length(unknown), unknown.len());
        // Punycode and IDN hosts are links.
        assert_eq!(weighted_length("https://xn--p1ai.xn--p1ai/abc"), 23);
        assert_eq!(weighted_length("https://日本語.jp/"), 23);
        // A t.co link takes no path beyond its slug.
        assert_eq!(weighted_length("https://t.co/abc123/more"), 23 + 5);
        // Balanced brackets stay in the path.
        assert_eq!(weighted_length("https://example.org/a(b)c"), 23);
    }

    #[test]
    fn characters_x_refuses_are_not_sent() {
        assert_eq!(sendable("a\u{FFFE}b\u{FFFF}c\u{FEFF}d"), "abcd");
        assert_eq!(weighted_length(&sendable("\u{FEFF}ab")), 2);
    }

    #[test]
    fn links_are_sent_in_ascii_form() {
        assert_eq!(
            sendable("Neu: https://bücher.example/straße und mehr"),
            "Neu: https://xn--bcher-kva.example/stra%C3%9Fe und mehr"
        );
        // ASCII links and text without links are sent as they are.
        let plain = "See https://example.org/a?b=c#d, (HTTP://Example.ORG)";
        assert_eq!(sendable(plain), plain);
        assert_eq!(sendable("부모 교육"), "부모 교육");
        // Glued to the text before it.
        assert_eq!(
            sendable("보세요https://example.org/교육"),
            "보세요https://example.org/%EA%B5%90%EC%9C%A1"
        );
    }

    #[test]
    fn the_emoji_list_is_read_whole() {
        let list = &*EMOJI;
        let lines = include_str!("emoji-12.0.txt")
            .lines()
            .filter(|line| !line.starts_with('#'))
            .count();
        assert_eq!(list.sequences.len(), lines);
        assert!(list.sequences.iter().all(|s| !s.is_empty()));
        assert_eq!(list.longest, 8);
    }

    #[test]
    fn a_host_only_idna_2003_can_judge_counts_the_more_of_23_and_as_written() {
        // A compatibility form (U+FB25) and Hebrew points: nameprep refuses it, twitter-text
        // counts it as written (56); crier cannot tell, and counts the more.
        let refused =
            "https://\u{FB25}\u{5B2}\u{5D8}\u{5B2}.example.company/abcdefghijklmnopqrstuvwxyz";
        assert_eq!(weighted_length(refused), 56);
        // A Hebrew host twitter-text takes (23): counted as written, never less.
        assert_eq!(weighted_length("https://\u{5D8}.example.company/abc"), 29);
        // Hosts in left-to-right scripts without compatibility forms are links.
        assert_eq!(weighted_length("https://bücher.de/a"), 23);
        assert_eq!(weighted_length("https://한국어.한국/"), 23);
    }

    #[test]
    fn a_bare_domain_with_a_path_skips_what_twitter_text_skips() {
        // twitter-text takes `Exämple.xn--p1ai` and the path, but skips only as many
        // characters as `Exämple.xn--p1ai:4937/abc` has: the last 6 count as text.
        assert_eq!(weighted_length("Exämple.xn--p1ai.ऐष.io:4937/abc"), 23 + 6);
    }
}

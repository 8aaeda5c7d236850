//! X's weighted length of a post, per twitter-text's v3 configuration
//! (<https://github.com/twitter/twitter-text/blob/master/config/v3.json>): at most 280, where
//! a code point in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F or U+2032–U+2037 counts 1, any
//! other counts 2, an emoji sequence (flag, skin tone, ZWJ family, keycap) counts 2 as a whole,
//! and every URL counts 23 whatever its length (X wraps it in a t.co link).
//!
//! This is an upper bound, never an underestimate: where twitter-text's full rules (a list of
//! ~1,500 top-level domains, NFC normalisation) would need tables crier does not carry, the
//! count errs high, so a text that fits here fits on X. It is exact for precomposed text with
//! `http(s)://` links, which is what crier's templates produce.

use unicode_segmentation::UnicodeSegmentation;

/// Most weighted characters in a post (`maxWeightedTweetLength`).
pub const MAX_WEIGHTED_LENGTH: usize = 280;

/// What any URL counts (`transformedURLLength`).
const URL_LENGTH: usize = 23;

/// Code point ranges that count 1 (`ranges` with weight 100 at scale 100); others count 2.
const LIGHT_RANGES: [(u32, u32); 4] = [
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
];

/// X's weighted length of `text`, in characters.
pub fn weighted_length(text: &str) -> usize {
    let mut total = 0;
    let mut rest = 0;
    for link in links(text) {
        total += plain_length(&text[rest..link.start]);
        let own = plain_length(&text[link.start..link.end]);
        total += if link.certain {
            URL_LENGTH
        } else {
            // X may or may not take it for a link: count whichever is more.
            own.max(URL_LENGTH)
        };
        rest = link.end;
    }
    total + plain_length(&text[rest..])
}

/// Length of text without links: emoji sequences count 2, other characters by their range.
fn plain_length(text: &str) -> usize {
    text.graphemes(true)
        .map(|cluster| {
            let mut chars = cluster.chars();
            let first = chars.next().unwrap_or(' ');
            if chars.next().is_some() && is_emoji_sequence(first, cluster) {
                2
            } else {
                cluster.chars().map(char_length).sum()
            }
        })
        .sum()
}

fn char_length(c: char) -> usize {
    let code = u32::from(c);
    if let Some(length) = nfc_expansion(code) {
        return length;
    }
    if LIGHT_RANGES
        .iter()
        .any(|&(start, end)| (start..=end).contains(&code))
    {
        1
    } else {
        2
    }
}

/// Characters that X's NFC normalisation turns into several (composition exclusions and
/// non-starter decompositions), with the length of what they become. Any other change NFC
/// makes (composing a letter and its accent, singletons) only shortens the count, so skipping
/// it keeps the count an upper bound.
fn nfc_expansion(code: u32) -> Option<usize> {
    match code {
        // Devanagari, Bengali, Gurmukhi and Oriya nukta letters, Greek dialytika tonos,
        // Tibetan subjoined letters and vowels: two characters of weight 1.
        0x0344
        | 0x0958..=0x095F
        | 0x09DC
        | 0x09DD
        | 0x09DF
        | 0x0A33
        | 0x0A36
        | 0x0A59..=0x0A5B
        | 0x0A5E
        | 0x0B5C
        | 0x0B5D
        | 0x0F43
        | 0x0F4D
        | 0x0F52
        | 0x0F57
        | 0x0F5C
        | 0x0F69
        | 0x0F73
        | 0x0F75
        | 0x0F76
        | 0x0F78
        | 0x0F81
        | 0x0F93
        | 0x0F9D
        | 0x0FA2
        | 0x0FA7
        | 0x0FAC
        | 0x0FB9 => Some(2),
        // Hebrew presentation forms: a letter and one or two points, all of weight 1.
        0xFB2C | 0xFB2D => Some(3),
        0xFB1D | 0xFB1F | 0xFB2A..=0xFB36 | 0xFB38..=0xFB3C | 0xFB3E | 0xFB40 | 0xFB41 => Some(2),
        0xFB43 | 0xFB44 | 0xFB46..=0xFB4E => Some(2),
        // Forking (U+2ADD, weight 2) with a long solidus overlay (weight 1).
        0x2ADC => Some(3),
        // Musical symbols: two or three characters of weight 2.
        0x1D15E | 0x1D15F | 0x1D1BB | 0x1D1BC => Some(4),
        0x1D160..=0x1D164 | 0x1D1BD..=0x1D1C0 => Some(6),
        _ => None,
    }
}

/// Whether a grapheme cluster of several code points starting with `first` is one emoji: a
/// flag, a keycap, or a pictograph with a presentation selector, skin tone, tags or joiners.
fn is_emoji_sequence(first: char, cluster: &str) -> bool {
    // U+FE0E asks for the text presentation: twitter-text then counts each code point.
    if cluster.contains('\u{FE0E}') {
        return false;
    }
    match u32::from(first) {
        // Regional indicators: a pair is a flag.
        0x1F1E6..=0x1F1FF => true,
        _ if matches!(first, '0'..='9' | '#' | '*') => cluster.contains('\u{20E3}'),
        code => is_pictographic(code),
    }
}

/// Code points that start emoji sequences (Unicode's Extended_Pictographic, in broad ranges:
/// a wider match only applies to clusters that carry emoji modifiers anyway).
fn is_pictographic(code: u32) -> bool {
    matches!(
        code,
        0x00A9
            | 0x00AE
            | 0x203C
            | 0x2049
            | 0x2122
            | 0x2139
            | 0x2194..=0x2199
            | 0x21A9
            | 0x21AA
            | 0x231A
            | 0x231B
            | 0x2328
            | 0x2388
            | 0x23CF
            | 0x23E9..=0x23F3
            | 0x23F8..=0x23FA
            | 0x24C2
            | 0x25AA
            | 0x25AB
            | 0x25B6
            | 0x25C0
            | 0x25FB..=0x25FE
            | 0x2600..=0x27BF
            | 0x2934
            | 0x2935
            | 0x2B05..=0x2B07
            | 0x2B1B
            | 0x2B1C
            | 0x2B50
            | 0x2B55
            | 0x3030
            | 0x303D
            | 0x3297
            | 0x3299
            | 0x1F000..=0x1FAFF
            | 0x1FC00..=0x1FFFD
    )
}

/// A stretch of text that X may count as a link.
#[derive(Debug, PartialEq, Eq)]
struct Link {
    start: usize,
    end: usize,
    /// X surely counts it as a link (an `http(s)://` URL with a well-formed host); otherwise
    /// it might (a bare domain such as `example.org`, whose top-level domain crier cannot
    /// check against X's list).
    certain: bool,
}

/// The links in `text`, in order, not overlapping.
fn links(text: &str) -> Vec<Link> {
    let mut found = Vec::new();
    let mut from = 0;
    while from < text.len() {
        let next_scheme = find_scheme(text, from);
        let stop = next_scheme.map_or(text.len(), |(at, _)| at);
        bare_domains(text, from, stop, &mut found);
        let Some((at, host_start)) = next_scheme else {
            break;
        };
        let end = link_end(text, host_start);
        let host_end = text[host_start..end]
            .find(['/', '?', '#', ':'])
            .map_or(end, |i| host_start + i);
        let preceded_by_word = text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '@' | '$' | '#' | '/'));
        if host_end > host_start {
            found.push(Link {
                start: at,
                end,
                certain: !preceded_by_word && is_plain_host(&text[host_start..host_end]),
            });
        }
        from = end.max(host_start);
    }
    found
}

/// The next `http://` or `https://` (any case) at or after `from`: its start and where its
/// host starts.
fn find_scheme(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        for scheme in ["https://", "http://"] {
            if bytes.len() - i >= scheme.len()
                && bytes[i..i + scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
            {
                return Some((i, i + scheme.len()));
            }
        }
        i += 1;
    }
    None
}

/// Where a link starting its host (or domain) at `from` ends: at white space or a character
/// URLs do not hold, less trailing punctuation, which X leaves out of links (leaving a closing
/// bracket out when X would keep it only counts one more).
fn link_end(text: &str, from: usize) -> usize {
    let end = text[from..]
        .char_indices()
        .find(|&(_, c)| !is_url_char(c))
        .map_or(text.len(), |(i, _)| from + i);
    from + text[from..end]
        .trim_end_matches(|c: char| ".,:;!?'\")]}*".contains(c))
        .len()
}

fn is_url_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
    } else {
        c.is_alphanumeric()
    }
}

/// An ASCII host X accepts: labels of 1 to 63 letters, digits, `-` or `_`, and an alphabetic
/// top-level domain of two letters or more.
fn is_plain_host(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let valid_labels = labels.iter().all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let tld = labels.last().copied().unwrap_or("");
    labels.len() >= 2
        && valid_labels
        && tld.len() >= 2
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Bare domains (`example.org`, `example.org/path`) in `text[from..stop]`, appended to
/// `found` as uncertain links.
fn bare_domains(text: &str, from: usize, stop: usize, found: &mut Vec<Link>) {
    let is_label_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let segment = &text[from..stop];
    let mut search = 0;
    while let Some(dot) = segment[search..].find('.').map(|i| search + i) {
        search = dot + 1;
        let before = segment[..dot].chars().next_back();
        let after = segment[dot + 1..].chars().next();
        if !(before.is_some_and(is_label_char) && after.is_some_and(|c| c.is_alphabetic())) {
            continue;
        }
        // The domain: labels and dots around this dot.
        let start = segment[..dot]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_label_char(c) || c == '.')
            .last()
            .map_or(dot, |(i, _)| i);
        let domain_end = segment[dot..]
            .char_indices()
            .find(|&(_, c)| !(is_label_char(c) || c == '.'))
            .map_or(segment.len(), |(i, _)| dot + i);
        let domain = segment[start..domain_end].trim_matches('.');
        let tld = domain.rsplit('.').next().unwrap_or("");
        if tld.chars().count() < 2 || !tld.chars().all(char::is_alphabetic) {
            continue;
        }
        let start = start + segment[start..].len() - segment[start..].trim_start_matches('.').len();
        let end = match segment[domain_end..].chars().next() {
            Some('/' | ':' | '?' | '#') => link_end(segment, domain_end),
            _ => start + domain.len(),
        };
        found.push(Link {
            start: from + start,
            end: from + end.min(segment.len()),
            certain: false,
        });
        search = end.max(search);
    }
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
        // Without U+FE0F, © is a Latin-1 character; U+263A is outside the light ranges.
        assert_eq!(weighted_length("©"), 1);
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
        // Decomposed: X normalises to NFC (1); crier counts the letter and its accent (2),
        // which errs on the safe side.
        assert_eq!(weighted_length("e\u{301}"), 2);
        // Hebrew presentation form that NFC expands into three characters (conformance: 4).
        assert_eq!(weighted_length("A\u{FB2C}"), 4);
    }

    /// What one code point counts.
    fn length_of(code: u32) -> usize {
        char_length(char::from_u32(code).expect("a scalar value"))
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
    fn a_url_with_a_host_x_may_refuse_counts_at_least_as_written() {
        let path = "/abcdefghijklmnopqrstuvwxyz";
        let label = "a".repeat(63);
        // Hosts X takes: a two-letter top-level domain, a 63-letter label, hyphens inside.
        for host in [
            "example.jp",
            "my-site.org",
            "under_score.org",
            &format!("{label}.com"),
        ] {
            let url = format!("https://{host}{path}");
            assert_eq!(weighted_length(&url), 23, "{url}");
        }
        // Hosts it may not take: counted as written (all longer than 23 here).
        let long_label = "a".repeat(64);
        for host in [
            "localhost",
            "example.j",
            "example.j2",
            "-example.org",
            "example-.org",
            "example..org",
            "ex!ample.org",
            "exämple.org",
            &format!("{long_label}.com"),
        ] {
            let url = format!("https://{host}{path}");
            assert_eq!(weighted_length(&url), url.chars().count(), "{url}");
        }
    }

    #[test]
    fn a_url_glued_to_a_word_counts_at_least_as_written() {
        let url = "https://example.org/abcdefghijklmnopqrstuvwxyz";
        for glue in ['x', '5', '@', '$', '#', '/'] {
            let text = format!("{glue}{url}");
            assert_eq!(weighted_length(&text), text.len(), "{text}");
        }
        // After a space or a bracket it is a link.
        assert_eq!(weighted_length(&format!("x {url}")), 2 + 23);
        assert_eq!(weighted_length(&format!("({url})")), 1 + 23 + 1);
    }
}

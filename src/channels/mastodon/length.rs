//! How long Mastodon finds a status, counted so that crier's number is never below the one
//! of any supported Mastodon release.
//!
//! The reference is Mastodon's `app/validators/status_length_validator.rb` (v4.x): the text
//! is rewritten with every URL that `Extractor.extract_urls_with_indices(str,
//! extract_url_without_protocol: false)` finds replaced by 23 `x`, then counted with Ruby's
//! `each_grapheme_cluster.size`. The extractor is the `twitter-text` gem's (`~> 3.1.0` in
//! Mastodon's Gemfile) with the regexes Mastodon replaces in
//! `config/initializers/twitter_regex.rb`:
//!
//! - `valid_url`: a protocol (`https?`, `dat`, `dweb`, `ipfs`, `ipns`, `ssb`, `gopher`,
//!   `gemini`), a domain whose top-level domain is in twitter-text's list and is followed by
//!   neither a letter, a digit nor `@`, an optional port, a path, a query;
//! - the path: any character but white space, `<`, `>`, `(`, `)` and `?`, with balanced
//!   parentheses (one level nested), ending on a character other than
//!   ``()?!*"'「」<>;:=,.$%[]~&|@`` (so `…/page=` and `…/a&` leave the last character out);
//! - the query: `?`, then `[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^]` or any non-ASCII character,
//!   ending on `[a-z0-9_&=#/\-]` or non-ASCII (so a query may end on `=` but not on `+`).
//!
//! Two things are counted on the safe side rather than exactly:
//! - Grapheme clusters: Unicode 15.1 joins an Indic consonant, virama and consonant into one
//!   cluster (rule GB9c), which `unicode-segmentation` follows; the Ruby of current Mastodon
//!   releases predates it and counts each consonant. The count adds one for every consonant
//!   that GB9c alone joined to the cluster before it.
//! - A domain whose top-level domain crier does not know to be in twitter-text's list may or
//!   may not be taken: it counts the larger of the two readings.

use unicode_segmentation::UnicodeSegmentation;

/// How Mastodon counts any URL it extracts, whatever its length (`URL_PLACEHOLDER_CHARS`).
pub const URL_LENGTH: usize = 23;

/// The protocols of Mastodon's `valid_url`, lowercase.
const PROTOCOLS: [&str; 9] = [
    "https://",
    "http://",
    "dat://",
    "dweb://",
    "ipfs://",
    "ipns://",
    "ssb://",
    "gopher://",
    "gemini://",
];

/// Length of `text` as Mastodon's `StatusLengthValidator` counts it, or more, never less.
///
/// Mastodon also counts a mention `@user@example.social` as `@user`; that is not done here,
/// so a text with mentions is counted longer than it is, never shorter.
pub fn count(text: &str) -> usize {
    let mut countable = String::with_capacity(text.len());
    let mut last = 0;
    for url in urls(text) {
        countable.push_str(&text[last..url.start]);
        countable.extend(std::iter::repeat_n('x', url.counted(text)));
        last = url.end;
    }
    countable.push_str(&text[last..]);
    graphemes_before_unicode_15_1(&countable)
}

/// Extended grapheme clusters as Unicode 15.0 and older count them: today's clusters plus
/// one for each consonant that only rule GB9c (Unicode 15.1, Indic conjuncts) joined.
fn graphemes_before_unicode_15_1(text: &str) -> usize {
    text.graphemes(true)
        .map(|cluster| {
            1 + cluster
                .chars()
                .skip(1)
                .filter(|&c| joined_by_gb9c(c))
                .count()
        })
        .sum()
}

/// Whether `c`, found inside a cluster, begins a cluster of its own under the rules before
/// GB9c: a letter of a Brahmic script that does not cling to a preceding `a` either (marks,
/// viramas and spacing vowel signs do, in every version).
fn joined_by_gb9c(c: char) -> bool {
    let brahmic = matches!(c,
        '\u{0900}'..='\u{0DFF}' | '\u{1000}'..='\u{109F}' | '\u{1700}'..='\u{17FF}'
        | '\u{1900}'..='\u{1AFF}' | '\u{1B00}'..='\u{1C4F}' | '\u{A800}'..='\u{AAFF}'
        | '\u{ABC0}'..='\u{ABFF}' | '\u{11000}'..='\u{11FFF}');
    if !brahmic {
        return false;
    }
    let mut probe = String::from("a");
    probe.push(c);
    probe.graphemes(true).count() == 2
}

/// A URL the extractor may take: its byte range and whether it is certainly taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Url {
    start: usize,
    end: usize,
    /// Where the shortest domain that could be taken ends, when the top-level domain is not
    /// known to be in twitter-text's list (`None`: certainly taken).
    uncertain_from: Option<usize>,
}

impl Url {
    /// How many characters stand for the URL in the countable text.
    fn counted(&self, text: &str) -> usize {
        match self.uncertain_from {
            None => URL_LENGTH,
            // Not taken: as written; taken with any of its domains: 23 and what follows.
            Some(from) => {
                let written = text[self.start..self.end].graphemes(true).count();
                let after = text[from..self.end].graphemes(true).count();
                written.max(URL_LENGTH + after)
            }
        }
    }
}

/// The URLs Mastodon's extractor (with the protocol required) may find in `text`.
fn urls(text: &str) -> Vec<Url> {
    // ASCII lowercasing keeps every byte offset.
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while from < text.len() {
        let Some(start) = PROTOCOLS
            .iter()
            .filter_map(|p| lower[from..].find(p).map(|at| from + at))
            .min()
        else {
            break;
        };
        let protocol = PROTOCOLS
            .iter()
            .find(|p| lower[start..].starts_with(*p))
            .map_or(0, |p| p.len());
        from = start + protocol;
        // `valid_url_preceding_chars`: not glued to an ASCII letter or digit, `@`, `$`, `#`
        // (bidi controls are allowed: the pattern names them as a second alternative).
        // Ruby's case-insensitive `[^A-Z]` also refuses the Kelvin sign and the long s, whose
        // case folding is `k` and `s`.
        if text[..start].chars().next_back().is_some_and(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '\u{212A}'
                        | '\u{17F}'
                        | '@'
                        | '＠'
                        | '$'
                        | '#'
                        | '＃'
                        | '\u{FFFE}'
                        | '\u{FEFF}'
                        | '\u{FFFF}'
                )
        }) {
            continue;
        }
        if let Some(url) = url_at(text, start, start + protocol) {
            from = url.end;
            found.push(url);
        }
    }
    found
}

/// The URL whose protocol starts at `start` and whose domain starts at `host_start`.
fn url_at(text: &str, start: usize, host_start: usize) -> Option<Url> {
    let domain = domain(&text[host_start..])?;
    let mut end = host_start + domain.end;
    let rest = &text[end..];
    if let Some(port) = rest.strip_prefix(':') {
        let digits = port
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(port.len());
        if digits > 0 {
            end += 1 + digits;
        }
    }
    if text[end..].starts_with('/') {
        end += 1 + path_len(&text[end + 1..]);
    }
    if let Some(query) = text[end..].strip_prefix('?') {
        let len = query_len(query);
        if len > 0 {
            end += 1 + len;
        }
    }
    Some(Url {
        start,
        end,
        uncertain_from: (!domain.certain).then_some(host_start + domain.shortest),
    })
}

/// A domain at the start of a text.
struct Domain {
    /// Where it ends (bytes).
    end: usize,
    /// Whether the extractor certainly takes it.
    certain: bool,
    /// Where the shortest domain the extractor might take instead ends.
    shortest: usize,
}

/// `DOMAIN_VALID_CHARS`: anything but ASCII punctuation, spaces and control characters.
fn is_domain_char(c: char) -> bool {
    !(c.is_ascii_punctuation()
        || c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{FFFE}' | '\u{FEFF}' | '\u{FFFF}' | '\u{202A}'..='\u{202E}'
        ))
}

/// twitter-text's `valid_domain`: labels (`-` inside, `_` in subdomains), then a top-level
/// domain followed by neither a letter, a digit nor `@`. The regex is greedy, so the longest
/// such domain is taken.
fn domain(text: &str) -> Option<Domain> {
    // Labels and the dots after them, as long as they run.
    let run = text
        .find(|c: char| !(is_domain_char(c) || matches!(c, '.' | '-' | '_')))
        .unwrap_or(text.len());
    let dots: Vec<usize> = text[..run].match_indices('.').map(|(i, _)| i).collect();
    let mut best: Option<(usize, bool)> = None;
    let mut shortest = None;
    // Each dot may be the one before the top-level domain; the last that works wins.
    for &dot in &dots {
        let labels = &text[..dot];
        match labels_validity(labels) {
            Labels::Valid => {}
            // `_` is allowed in a subdomain: a later dot may make this label one.
            Labels::UnderscoreInLast => continue,
            // A later domain would contain this bad label too.
            Labels::Invalid => break,
        }
        let tld_start = dot + 1;
        let tld_run = text[tld_start..]
            .find(|c: char| !is_domain_char(c) || !c.is_alphanumeric())
            .unwrap_or(text.len() - tld_start);
        let tld = &text[tld_start..tld_start + tld_run];
        let after = text[tld_start + tld_run..].chars().next();
        // The list's names are letters (or punycode): the lookahead then needs a non-letter.
        if tld.is_empty() || after.is_some_and(|c| c.is_alphanumeric() || c == '@') {
            continue;
        }
        let punycode = tld.to_ascii_lowercase().starts_with("xn--");
        // The list holds ASCII names and internationalised ones (`みんな`), never a mix.
        let lettered = tld.chars().count() >= 2
            && (tld.chars().all(|c| c.is_ascii_alphabetic())
                || tld.chars().all(|c| c.is_alphabetic() && !c.is_ascii()));
        if !(lettered || punycode) {
            continue;
        }
        // twitter-text's own list (3.0's; Mastodon's 3.1 holds at least these): a URL on one of
        // these is certainly extracted, others are counted both ways.
        let known = crate::channels::tlds::contains(tld) && labels.is_ascii();
        let end = tld_start + tld_run;
        shortest.get_or_insert(end);
        best = Some((end, known));
    }
    let (end, certain) = best?;
    Some(Domain {
        end,
        certain,
        shortest: shortest.unwrap_or(end),
    })
}

/// What [`labels_validity`] finds of the labels before a top-level domain.
#[derive(Debug, PartialEq, Eq)]
enum Labels {
    Valid,
    /// Valid but for a `_` in the last label, which only a subdomain may have.
    UnderscoreInLast,
    /// A label is empty, or starts or ends with `-` or `_`.
    Invalid,
}

/// Labels before the top-level domain: none empty, none starting or ending with `-` or `_`,
/// and no `_` in the last one (`valid_subdomain`, `valid_domain_name`).
fn labels_validity(labels: &str) -> Labels {
    let parts: Vec<&str> = labels.split('.').collect();
    let well_formed = parts.iter().all(|label| {
        !label.is_empty() && !label.starts_with(['-', '_']) && !label.ends_with(['-', '_'])
    });
    match parts.last() {
        _ if !well_formed => Labels::Invalid,
        Some(last) if last.contains('_') => Labels::UnderscoreInLast,
        _ => Labels::Valid,
    }
}

/// `valid_general_url_path_chars`.
fn is_path_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '?'))
}

/// Characters a path may end on, besides a balanced parenthesis (`valid_url_path_ending_chars`).
fn is_path_end(c: char) -> bool {
    is_path_char(c) && !"!*\"'「」;:=,.$%[]~&|@".contains(c)
}

/// Length (bytes) of the path after its leading `/`: path characters and balanced
/// parentheses, up to the last character a path may end on.
fn path_len(path: &str) -> usize {
    let mut end = 0;
    let mut at = 0;
    while at < path.len() {
        let rest = &path[at..];
        let Some(c) = rest.chars().next() else { break };
        if c == '(' {
            match balanced(rest) {
                Some(len) => {
                    at += len;
                    end = at;
                }
                None => break,
            }
        } else if is_path_char(c) {
            at += c.len_utf8();
            if is_path_end(c) {
                end = at;
            }
        } else {
            break;
        }
    }
    end
}

/// Length of `(…)` at the start of `text`: path characters, or one nested `(…)`.
fn balanced(text: &str) -> Option<usize> {
    let inner = &text[1..];
    let run = |s: &str| s.find(|c: char| !is_path_char(c)).unwrap_or(s.len());
    let first = run(inner);
    let after = &inner[first..];
    if after.starts_with(')') && first > 0 {
        return Some(1 + first + 1);
    }
    // One nested level: `(a(b)c)`.
    let nested = after.strip_prefix('(')?;
    let middle = run(nested);
    if middle == 0 || !nested[middle..].starts_with(')') {
        return None;
    }
    let tail = &nested[middle + 1..];
    let last = run(tail);
    tail[last..]
        .starts_with(')')
        .then_some(1 + first + 1 + middle + 1 + last + 1)
}

/// Mastodon's `UCHARS`: non-ASCII characters other than surrogates, non-characters and tags.
fn is_uchar(c: char) -> bool {
    let u = u32::from(c);
    u >= 0xA0
        && !(0xFDD0..=0xFDEF).contains(&u)
        && (u & 0xFFFE) != 0xFFFE
        && !(0xE0000..=0xE0FFF).contains(&u)
}

/// Length (bytes) of the query after its `?`, up to the last character it may end on.
fn query_len(query: &str) -> usize {
    let mut end = 0;
    for (i, c) in query.char_indices() {
        let allowed = c.is_ascii_alphanumeric() || "!?*'();:&=+$/%#[]-_.,~|@^".contains(c);
        if !(allowed || is_uchar(c)) {
            break;
        }
        if c.is_ascii_alphanumeric() || "_&=#/-".contains(c) || is_uchar(c) {
            end = i + c.len_utf8();
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Characters as written, for the parts of a case that Mastodon does not shorten.
    fn written(s: &str) -> usize {
        s.chars().count()
    }

    /// Cases from Mastodon v4.3's `StatusLengthValidator` and the regexes of
    /// `config/initializers/twitter_regex.rb` (path, query and domain rules above), with what
    /// Mastodon counts for each.
    #[test]
    fn urls_count_23_only_where_mastodons_regex_takes_them() {
        let long_unknown = "https://example.unknowntld/a/long/path/to/a/page";
        let cases: &[(&str, usize)] = &[
            // A path or query ends on a character Mastodon allows there, else before it.
            ("https://example.org/page=", 23 + 1),
            ("https://example.org/a&", 23 + 1),
            ("https://example.org/a@", 23 + 1),
            ("https://example.org/a%", 23 + 1),
            ("https://example.org/@crier", 23),
            ("https://example.org/?q=a+", 23 + 1),
            ("https://example.org/?q=a=", 23),
            ("https://example.org/?q=a&", 23),
            ("https://example.org/?", 23 + 1),
            ("https://example.org/a.?q=1", 23 + 5),
            // Parentheses belong to the URL only when balanced.
            ("https://example.org/a_(b", 23 + 2),
            ("https://example.org/wiki/Crier_(job)", 23),
            ("https://example.org/a_(b_(c)_d)", 23),
            ("(https://example.org/a)", 1 + 23 + 1),
            // Any character but ASCII punctuation may end a path: the ellipsis joins the URL.
            ("https://example.org/page…", 23),
            ("https://example.org/記事 です", 23 + 3),
            // The other protocols of Mastodon's `valid_url`, and ports.
            ("gemini://example.org/x", 23),
            ("https://example.org:8080/x", 23),
            // A top-level domain followed by a letter is no domain.
            ("https://example.orgé", written("https://example.orgé")),
            // An unknown top-level domain: the larger of taken (23) and written.
            (long_unknown, written(long_unknown)),
            ("https://a.zz", 23),
            ("https://a.zz/b", 23 + 2),
            // Not URLs for Mastodon.
            ("https://localhost/x", written("https://localhost/x")),
            ("xhttps://example.org", 20),
            ("https://-bad.org/x", written("https://-bad.org/x")),
        ];
        for &(text, expected) in cases {
            assert_eq!(count(text), expected, "{text}");
        }
    }

    #[test]
    fn a_link_glued_to_a_kelvin_sign_or_a_long_s_is_text_as_in_ruby() {
        // Ruby: `"\u{212A}" =~ /[^A-Z0-9]/i` and `"ſ" =~ /[^A-Z0-9]/i` are nil (they fold to
        // `k` and `s`), so no URL starts right after them; `İ` matches, so one does.
        let url = "https://example.org/a-rather-long-path-to-count";
        for letter in ['\u{212A}', 'ſ', 'k'] {
            assert_eq!(count(&format!("{letter}{url}")), 1 + url.len(), "{letter}");
        }
        assert_eq!(count(&format!("İ{url}")), 1 + URL_LENGTH);
    }

    #[test]
    fn a_domain_stops_at_punctuation_spaces_and_controls() {
        // Mastodon takes no URL without a protocol: what follows the domain is text.
        for (between, rest) in [
            (",", "foo.com x"),
            (" ", "foo.com x"),
            ("\u{7}", "foo.com x"),
        ] {
            let text = format!("https://example.org{between}{rest}");
            let after = between.chars().count() + rest.chars().count();
            assert_eq!(count(&text), URL_LENGTH + after, "{text:?}");
        }
    }

    #[test]
    fn an_underscore_is_allowed_in_a_subdomain_only() {
        // twitter-text's `valid_subdomain` takes `_`, its `valid_domain_name` does not.
        assert_eq!(count("https://my_site.example.org/x y"), URL_LENGTH + 2);
        assert_eq!(
            count("https://my_site.org y"),
            "https://my_site.org y".len()
        );
        assert_eq!(labels_validity("my_site.example"), Labels::Valid);
        assert_eq!(labels_validity("example.my_site"), Labels::UnderscoreInLast);
        assert_eq!(labels_validity("_a.example"), Labels::Invalid);
    }

    #[test]
    fn a_bidi_control_may_precede_a_url() {
        // twitter-text's `valid_url_preceding_chars` names them as an alternative.
        let url = "https://example.org/a-rather-long-path-to-count";
        assert_eq!(count(&format!("\u{202A}{url}")), 1 + URL_LENGTH);
    }

    #[test]
    fn a_query_takes_non_ascii_characters_but_not_non_characters_tags_or_controls() {
        let url = "https://example.org/?q=a";
        // `café`: the query runs to its end.
        assert_eq!(count(&format!("{url}café x")), URL_LENGTH + 2);
        // A non-character, a tag or a C1 control ends the query; what follows is text.
        for stop in ['\u{FDD0}', '\u{1FFFE}', '\u{9F}'] {
            assert_eq!(count(&format!("{url}{stop}b")), URL_LENGTH + 2, "{stop:?}");
        }
        // A tag character clings to the grapheme before it: only `b` counts.
        assert_eq!(count(&format!("{url}\u{E0041}b")), URL_LENGTH + 1);
    }

    #[test]
    fn indic_conjuncts_count_as_before_unicode_15_1() {
        // क्ष is one cluster under Unicode 15.1 (GB9c), two in the Ruby of Mastodon's
        // releases (क्, ष); त्रि likewise (त्, रि).
        assert_eq!(count("क्ष"), 2);
        assert_eq!(count("क्षत्रिय"), 5);
        // Bengali ক্ষ.
        assert_eq!(count("ক্ষ"), 2);
        // Vowel signs and viramas never start a cluster.
        assert_eq!(count("कि"), 1);
        assert_eq!(count("क्"), 1);
        // Other scripts are as before.
        assert_eq!(count("👨‍👩‍👧‍👦 e\u{301}"), 3);
    }

    #[test]
    fn a_hindi_post_is_never_counted_below_mastodon() {
        let word = "क्षत्रिय राष्ट्र ";
        let text = word.repeat(30);
        let legacy: usize = 30 * (5 + 1 + 4 + 1);
        // Every conjunct counts as Mastodon's Ruby splits it.
        assert_eq!(count(&text), legacy);
        assert!(count(&text) > text.graphemes(true).count());
    }
}

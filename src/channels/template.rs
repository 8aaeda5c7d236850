//! Message templates: minijinja over an entry's fields, and fitting the result to a network's
//! length rule by cutting the summary (then, as a last resort, the title) with an ellipsis:
//! on a word boundary where the script puts spaces between words, on a grapheme boundary in
//! scripts that do not (Chinese, Japanese, Thai…) and, when even the first word is too long,
//! inside it. No cut falls inside a grapheme or a URL, and the ellipsis after a URL is set
//! apart by a space, so that no network takes it into the link. The entry URL is never cut.
//!
//! Variables: `title`, `summary`, `url`, `language`, `city`, `country`, `categories` (a list),
//! `hashtags` (the categories, then the entry's own `hashtags`, as `#CamelCase` tags),
//! `published` (`YYYY-MM-DD`), `extra` (every extra field), and each extra field again at the
//! top level (`{{ prize }}`) unless it would shadow one of the names above.
//!
//! An entry's own text for a network (`text.x`) is a template over the same variables that
//! stands in for the channel's ([`render_custom`]). The entry's own hashtags that a template
//! does not show are appended on a last line.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use unicode_segmentation::UnicodeSegmentation;

use crate::entry::Entry;

/// A post text with its length as the network counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    /// The text to send.
    pub text: String,
    /// Its length as the network counts it.
    pub length: usize,
    /// The network's limit.
    pub limit: usize,
    /// Whether the summary or title had to be shortened.
    pub shortened: bool,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Posts are plain text: nothing is HTML-escaped.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // `{{ extra.missing }}` renders as nothing rather than failing a post.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env
}

/// Checks that `template` compiles; the message names the problem and its line.
pub fn check(template: &str) -> Result<(), String> {
    environment()
        .template_from_str(template)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Renders `template` for `entry` and fits it within `limit` as counted by `count`.
pub fn render(
    template: &str,
    entry: &Entry,
    limit: usize,
    count: &dyn Fn(&str) -> usize,
) -> Result<Fitted, String> {
    fit(template, entry, limit, count, false)
}

/// Renders the entry's own text for a network (`text.x`), which stands in for the channel's
/// template, and fits it the same way; a text still too long without summary and title is
/// then cut itself at a word, keeping the entry's URL whole when the text ends with it.
pub fn render_custom(
    text: &str,
    entry: &Entry,
    limit: usize,
    count: &dyn Fn(&str) -> usize,
) -> Result<Fitted, String> {
    fit(text, entry, limit, count, true)
}

/// [`render`] and [`render_custom`]: the full post, else the summary cut, else the title cut.
/// The entry's own hashtags the template did not show are appended, as the templates' tags
/// stay while summary and title give way, and are dropped only when nothing fits with them;
/// a custom text (`cut_text`) is then cut itself.
fn fit(
    template: &str,
    entry: &Entry,
    limit: usize,
    count: &dyn Fn(&str) -> usize,
    cut_text: bool,
) -> Result<Fitted, String> {
    let env = environment();
    let compiled = env.template_from_str(template).map_err(|e| e.to_string())?;
    let own_tags = own_hashtags(entry);
    let render = |title: &str, summary: &str, tags: &[String]| -> Result<String, String> {
        let text = compiled
            .render(context(entry, title, summary))
            .map_err(|e| format!("template error: {e}"))?;
        Ok(with_tags(tidy(&text), tags))
    };
    let full = render(&entry.title, &entry.summary, &own_tags)?;
    let length = count(&full);
    if length <= limit {
        return Ok(Fitted {
            text: full,
            length,
            limit,
            shortened: false,
        });
    }
    let shortened = |text: String| Fitted {
        length: count(&text),
        text,
        limit,
        shortened: true,
    };
    let tag_choices: &[&[String]] = if own_tags.is_empty() {
        &[&[]]
    } else {
        &[&own_tags, &[]]
    };
    for &tags in tag_choices {
        // Longest summary prefix that fits, then the same for the title.
        let fits_summary = |summary: &str| -> Result<Option<String>, String> {
            let text = render(&entry.title, summary, tags)?;
            Ok((count(&text) <= limit).then_some(text))
        };
        if let Some(text) = longest_prefix(&entry.summary, fits_summary)? {
            return Ok(shortened(text));
        }
        let fits_title = |title: &str| -> Result<Option<String>, String> {
            let text = render(title, "", tags)?;
            Ok((count(&text) <= limit).then_some(text))
        };
        if let Some(text) = longest_prefix(&entry.title, fits_title)? {
            return Ok(shortened(text));
        }
    }
    if cut_text {
        for &tags in tag_choices {
            let text = render(&entry.title, &entry.summary, tags)?;
            if let Some(text) = cut_keeping_url(&text, &entry.url, limit, count)? {
                return Ok(shortened(text));
            }
        }
    }
    let what = if cut_text {
        "shorten the entry's text for this network"
    } else {
        "shorten the channel's template"
    };
    Err(format!(
        "the post is {length} long for a limit of {limit} even without summary and title; {what}"
    ))
}

/// `text` cut at a word to fit `limit`; when it holds `url`, the part before the URL's last
/// occurrence is cut and the URL and what follows it are kept.
fn cut_keeping_url(
    text: &str,
    url: &str,
    limit: usize,
    count: &dyn Fn(&str) -> usize,
) -> Result<Option<String>, String> {
    let at = text
        .rfind(url)
        .filter(|_| !url.is_empty())
        .unwrap_or(text.len());
    let head = text[..at].trim_end();
    let (gap, tail) = (&text[head.len()..at], &text[at..]);
    let fits = |cut: &str| -> Result<Option<String>, String> {
        let joined = if cut.is_empty() {
            tail.trim_start().to_owned()
        } else {
            format!("{cut}{gap}{tail}")
        };
        Ok((!joined.is_empty() && count(&joined) <= limit).then_some(joined))
    };
    longest_prefix(head, fits)
}

/// The post with the longest prefix of `field` that fits: whole words, or, when the field is
/// one word too long to keep (a long compound, a name), the most graphemes of it. A field of
/// several words keeps whole words only, and may go whole.
fn longest_prefix(
    field: &str,
    fits: impl Fn(&str) -> Result<Option<String>, String>,
) -> Result<Option<String>, String> {
    let words = word_ends(field);
    let by_words = |k: usize| fits(&shorten(field, &words, k));
    let [word] = words[..] else {
        return longest_fitting(words.len(), by_words);
    };
    let inside = grapheme_ends(field, word);
    longest_fitting(inside.len(), |k| match k {
        0 => fits(""),
        _ => fits(&cut_at(field, inside[k - 1])),
    })
}

/// Largest `k` in `0..=n` for which `fits(k)` gives a text (fitting is monotone in `k`).
fn longest_fitting(
    n: usize,
    fits: impl Fn(usize) -> Result<Option<String>, String>,
) -> Result<Option<String>, String> {
    let Some(mut best) = fits(0)? else {
        return Ok(None);
    };
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        match fits(mid)? {
            Some(text) => {
                best = text;
                lo = mid;
            }
            None => hi = mid - 1,
        }
    }
    Ok(Some(best))
}

/// Byte offsets where `text` may be cut, in order: where each word ends, and in scripts
/// written without spaces (see [`spaceless`]) between any two graphemes. Never inside a
/// grapheme or a URL.
fn word_ends(text: &str) -> Vec<usize> {
    let urls = url_spans(text);
    let mut ends = Vec::new();
    let mut previous: Option<char> = None;
    for (i, grapheme) in text.grapheme_indices(true) {
        let Some(first) = grapheme.chars().next() else {
            continue;
        };
        if let Some(before) = previous {
            let word_end = !before.is_whitespace() && first.is_whitespace();
            let between = !before.is_whitespace()
                && !first.is_whitespace()
                && (spaceless(before) || spaceless(first));
            if (word_end || between) && !urls.iter().any(|u| u.start < i && i < u.end) {
                ends.push(i);
            }
        }
        previous = grapheme.chars().next_back();
    }
    if previous.is_some_and(|c| !c.is_whitespace()) {
        ends.push(text.len());
    }
    ends
}

/// Grapheme boundaries strictly inside `text[..end]` and outside URLs: where a word too
/// long to keep whole may be cut.
fn grapheme_ends(text: &str, end: usize) -> Vec<usize> {
    let urls = url_spans(text);
    text[..end]
        .grapheme_indices(true)
        .map(|(i, _)| i)
        .filter(|&i| i > 0 && !urls.iter().any(|u| u.start < i && i < u.end))
        .collect()
}

/// Whether `c` belongs to a script written without spaces between words: Han, kana,
/// Bopomofo, Yi, their punctuation and full-width forms, Thai, Lao, Khmer, Myanmar, Tibetan.
fn spaceless(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}' // Thai, Lao
        | '\u{0F00}'..='\u{0FFF}' // Tibetan
        | '\u{1000}'..='\u{109F}' // Myanmar
        | '\u{1780}'..='\u{17FF}' // Khmer
        | '\u{2E80}'..='\u{2FFF}' // CJK radicals
        | '\u{3000}'..='\u{30FF}' // CJK punctuation, Hiragana, Katakana
        | '\u{3100}'..='\u{31FF}' // Bopomofo, Katakana extensions
        | '\u{3400}'..='\u{4DBF}' // CJK extension A
        | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
        | '\u{A000}'..='\u{A4CF}' // Yi
        | '\u{F900}'..='\u{FAFF}' // CJK compatibility ideographs
        | '\u{FF00}'..='\u{FFEF}' // full-width and half-width forms
        | '\u{20000}'..='\u{3FFFF}' // CJK extensions B and later
    )
}

/// A URL in a text, by byte range: from its scheme (or `www.`) to the next white space,
/// which is as far as any network's autolinker may take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UrlSpan {
    start: usize,
    end: usize,
}

/// The URLs of `text`: `scheme://…` or `www.…`, each to the next white space.
fn url_spans(text: &str) -> Vec<UrlSpan> {
    let mut spans: Vec<UrlSpan> = Vec::new();
    let starts = text.match_indices("://").filter_map(|(at, _)| {
        let scheme = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map(|(i, _)| i)?;
        Some(scheme)
    });
    let www = text
        .match_indices("www.")
        .map(|(at, _)| at)
        .filter(|&at| !text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '/'));
    let mut all: Vec<usize> = starts.chain(www).collect();
    all.sort_unstable();
    for start in all {
        if spans.last().is_some_and(|s| start < s.end) {
            continue;
        }
        let end = text[start..]
            .find(char::is_whitespace)
            .map_or(text.len(), |len| start + len);
        spans.push(UrlSpan { start, end });
    }
    spans
}

/// The first `k` pieces of `text` (up to `ends[k - 1]`) with an ellipsis, or `text` itself
/// when `k` covers it.
fn shorten(text: &str, ends: &[usize], k: usize) -> String {
    if k >= ends.len() {
        return text.to_owned();
    }
    if k == 0 {
        return String::new();
    }
    cut_at(text, ends[k - 1])
}

/// `text[..end]` with an ellipsis: punctuation before it is dropped (but `?` and `!`), and a
/// URL before it keeps all its characters and a space, so that the ellipsis stays out of
/// the link.
fn cut_at(text: &str, end: usize) -> String {
    let after_url = url_spans(text)
        .iter()
        .any(|u| u.start < end && end <= u.end);
    if after_url {
        return format!("{} …", &text[..end]);
    }
    let cut =
        text[..end].trim_end_matches(|c: char| c.is_ascii_punctuation() && c != '?' && c != '!');
    format!("{cut}…")
}

/// Trims trailing spaces on lines, collapses runs of more than one blank line (left by empty
/// optional parts) and trims the whole text.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

fn context(entry: &Entry, title: &str, summary: &str) -> Value {
    let mut map = std::collections::BTreeMap::<String, Value>::new();
    for (key, value) in &entry.extra {
        map.insert(key.clone(), Value::from(minijinja::value::Serde(value)));
    }
    let place = entry.place.as_ref();
    let fields: [(&str, Value); 10] = [
        ("title", Value::from(title)),
        ("summary", Value::from(summary)),
        ("url", Value::from(entry.url.as_str())),
        ("language", Value::from(entry.language.as_str())),
        (
            "city",
            Value::from(place.and_then(|p| p.city.clone()).unwrap_or_default()),
        ),
        (
            "country",
            Value::from(place.and_then(|p| p.country.clone()).unwrap_or_default()),
        ),
        (
            "categories",
            Value::from(minijinja::value::Serde(&entry.categories)),
        ),
        (
            "hashtags",
            Value::from(
                tags(
                    (entry.categories.iter())
                        .chain(&entry.announce.hashtags)
                        .map(String::as_str),
                )
                .join(" "),
            ),
        ),
        (
            "published",
            Value::from(entry.published.format("%Y-%m-%d").to_string()),
        ),
        ("extra", Value::from(minijinja::value::Serde(&entry.extra))),
    ];
    for (key, value) in fields {
        map.insert(key.to_owned(), value);
    }
    Value::from(minijinja::value::Serde(&map))
}

/// `["Roma inclusion", "Dosta! Congress Prize"]` → `#RomaInclusion #DostaCongressPrize`.
pub fn hashtags(categories: &[String]) -> String {
    tags(categories.iter().map(String::as_str)).join(" ")
}

/// Each word or phrase as a `#CamelCase` tag, without empty or all-digit ones and without
/// repeats that differ only in case.
fn tags<'a>(words: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for word in words {
        let tag: String = word
            .split(|ch: char| !ch.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut chars = w.chars();
                chars
                    .next()
                    .map(|f| f.to_uppercase().chain(chars).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        if tag.is_empty() || tag.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let tag = format!("#{tag}");
        if !tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
            tags.push(tag);
        }
    }
    tags
}

/// The hashtags the entry asks for itself (`hashtags` in its control) that its categories do
/// not give already.
fn own_hashtags(entry: &Entry) -> Vec<String> {
    let all = tags(
        (entry.categories.iter())
            .chain(&entry.announce.hashtags)
            .map(String::as_str),
    );
    let from_categories = tags(entry.categories.iter().map(String::as_str)).len();
    all[from_categories..].to_vec()
}

/// `text` with those of `tags` it does not show yet (ignoring case) on a last line of their
/// own, as the default templates set hashtags apart.
fn with_tags(text: String, tags: &[String]) -> String {
    let shown: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_end_matches(|c: char| c.is_ascii_punctuation())
                .to_lowercase()
        })
        .collect();
    let missing: Vec<&str> = tags
        .iter()
        .filter(|t| !shown.contains(&t.to_lowercase()))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return text;
    }
    let tags = missing.join(" ");
    if text.is_empty() {
        tags
    } else {
        format!("{text}\n\n{tags}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Place;

    fn entry() -> Entry {
        let mut e = crate::testing::entry("k", "2024-03-12T00:00:00+01:00");
        e.title = "Parenting classes for social inclusion".into();
        e.summary =
            "A parenting programme helps families support their children through play and reading."
                .into();
        e.url = "https://example.org/en/projects/kragujevac/".into();
        e.categories = vec!["Dosta! Congress Prize".into(), "Roma inclusion".into()];
        e.place = Some(Place {
            city: Some("Kragujevac".into()),
            country: Some("Serbia".into()),
        });
        e.extra.insert("rank_label".into(), "2nd place".into());
        e
    }

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    const TEMPLATE: &str = "{{ title }}{% if city %} ({{ city }}, {{ country }}){% endif %}\n\n{{ summary }}\n\n{{ url }}\n{{ hashtags }}";

    #[test]
    fn renders_fields_extra_and_hashtags() {
        let f = render(TEMPLATE, &entry(), 1000, &chars).unwrap();
        assert_eq!(
            f.text,
            "Parenting classes for social inclusion (Kragujevac, Serbia)\n\nA parenting programme helps families support their children through play and reading.\n\nhttps://example.org/en/projects/kragujevac/\n#DostaCongressPrize #RomaInclusion"
        );
        assert!(!f.shortened);
        let f = render(
            "{{ rank_label }} / {{ extra.rank_label }} / {{ extra.none }}.",
            &entry(),
            100,
            &chars,
        )
        .unwrap();
        assert_eq!(f.text, "2nd place / 2nd place / .");
    }

    #[test]
    fn posts_are_plain_text_and_a_missing_nested_field_renders_as_nothing() {
        let mut e = entry();
        e.title = "Roma & Sinti <youth> \"voices\"".into();
        // A custom template may reach into fields a given entry lacks; the post still goes.
        let f = render("{{ title }}|{{ extra.award.year }}|", &e, 100, &chars).unwrap();
        assert_eq!(f.text, "Roma & Sinti <youth> \"voices\"||");
    }

    #[test]
    fn the_summary_is_cut_on_a_word_boundary_never_the_url() {
        let full = render(TEMPLATE, &entry(), 1000, &chars).unwrap();
        let limit = full.length - 30;
        let f = render(TEMPLATE, &entry(), limit, &chars).unwrap();
        assert!(f.length <= limit, "{} > {limit}", f.length);
        assert!(f.shortened);
        assert!(
            f.text
                .contains("https://example.org/en/projects/kragujevac/")
        );
        // As long as possible: "…their children…" would be 4 characters too long.
        assert!(f.text.contains("families support their…\n"), "{}", f.text);
    }

    #[test]
    fn the_title_goes_last_and_an_impossible_fit_is_an_error() {
        let e = entry();
        let bare = render("{{ title }} {{ url }}", &e, 1000, &chars).unwrap();
        let f = render("{{ title }} {{ url }}", &e, bare.length - 10, &chars).unwrap();
        assert!(f.text.starts_with("Parenting classes for…"), "{}", f.text);
        let err = render("{{ url }}", &e, 10, &chars).unwrap_err();
        assert!(err.contains("shorten the channel's template"), "{err}");
    }

    #[test]
    fn the_summary_keeps_the_most_words_that_fit_from_one_to_all_but_the_last() {
        let mut e = entry();
        e.summary = "Alpha beta gamma delta".into();
        let prefixes = ["", "Alpha…", "Alpha beta…", "Alpha beta gamma…"];
        for limit in 0..=30 {
            let f = render("{{ summary }}", &e, limit, &chars).unwrap();
            let expected = if limit >= 22 {
                "Alpha beta gamma delta"
            } else {
                // The longest prefix within the limit.
                prefixes
                    .iter()
                    .rev()
                    .find(|p| chars(p) <= limit)
                    .expect("the empty prefix fits")
            };
            assert_eq!(f.text, expected, "limit {limit}");
            assert_eq!(f.length, chars(expected), "limit {limit}");
            assert_eq!(f.shortened, limit < 22, "limit {limit}");
        }
        // Exactly one word fits, and exactly all but the last.
        assert_eq!(
            render("{{ summary }}", &e, 6, &chars).unwrap().text,
            "Alpha…"
        );
        assert_eq!(
            render("{{ summary }}", &e, 21, &chars).unwrap().text,
            "Alpha beta gamma…"
        );
    }

    #[test]
    fn the_title_keeps_the_most_words_that_fit() {
        let mut e = entry();
        e.title = "One two three four".into();
        e.summary = "Far too long a summary to fit anywhere at all".into();
        let title = |limit| render("{{ title }}|{{ summary }}", &e, limit, &chars);
        // "One two three four|" is 19: the summary goes first, then the title's words.
        assert_eq!(title(19).unwrap().text, "One two three four|");
        assert_eq!(title(18).unwrap().text, "One two three…|");
        assert_eq!(title(6).unwrap().text, "One…|");
        assert_eq!(title(5).unwrap().text, "One…|");
        assert_eq!(title(1).unwrap().text, "|");
        assert!(title(0).is_err());
    }

    #[test]
    fn punctuation_before_the_ellipsis_is_stripped_but_questions_and_exclamations_kept() {
        let text = "Alpha, beta. gamma? delta! (eps...) «zeta» end";
        let ends = word_ends(text);
        let cuts: Vec<String> = (0..=ends.len()).map(|k| shorten(text, &ends, k)).collect();
        assert_eq!(
            cuts,
            [
                "",
                "Alpha…",
                "Alpha, beta…",
                "Alpha, beta. gamma?…",
                "Alpha, beta. gamma? delta!…",
                "Alpha, beta. gamma? delta! (eps…",
                "Alpha, beta. gamma? delta! (eps...) «zeta»…",
                text,
            ]
        );
        // All the words: the text itself, with no ellipsis.
        assert_eq!(shorten("a b", &word_ends("a b"), 2), "a b");
        assert_eq!(shorten("a b", &word_ends("a b"), 3), "a b");
    }

    /// What the summary template makes of `summary` within `limit` characters.
    fn fit_summary(summary: &str, limit: usize) -> String {
        let mut e = entry();
        e.summary = summary.into();
        render("{{ summary }}", &e, limit, &chars).unwrap().text
    }

    #[test]
    fn japanese_and_chinese_are_cut_between_characters_not_dropped() {
        let japanese = "日本語の要約は空白なしで書かれます。次の文もあります。";
        assert_eq!(fit_summary(japanese, 8), "日本語の要約は…");
        assert_eq!(
            fit_summary(japanese, 19),
            "日本語の要約は空白なしで書かれます。…"
        );
        let chinese = "中华人民共和国的一个项目";
        assert_eq!(fit_summary(chinese, 5), "中华人民…");
        // Words of a spaced script inside stay whole.
        assert_eq!(fit_summary("東京 Kragujevac 大阪", 12), "東京…");
        assert_eq!(fit_summary("東京 Kragujevac 大阪", 15), "東京 Kragujevac…");
    }

    #[test]
    fn thai_is_cut_between_graphemes_never_inside_one() {
        let thai = "ภาษาไทยไม่เว้นวรรคระหว่างคำ";
        let boundaries: Vec<usize> = thai.grapheme_indices(true).map(|(i, _)| i).collect();
        for limit in 1..chars(thai) {
            let text = fit_summary(thai, limit);
            assert!(chars(&text) <= limit, "limit {limit}: {text}");
            let kept = text.trim_end_matches('…');
            assert!(thai.starts_with(kept), "limit {limit}: {text}");
            assert!(
                boundaries.contains(&kept.len()),
                "limit {limit} cuts a grapheme: {text}"
            );
        }
        // ภา is the first grapheme pair: the summary is shortened, not dropped.
        assert_eq!(fit_summary(thai, 3), "ภา…");
    }

    #[test]
    fn a_word_too_long_to_keep_is_cut_between_graphemes() {
        let word = "Donaudampfschifffahrtsgesellschaftskapitän";
        assert_eq!(fit_summary(word, 10), "Donaudamp…");
        // Among several words, only whole words are kept.
        assert_eq!(fit_summary(&format!("{word} fährt"), 10), "");
        // A decomposed é is one grapheme of two characters: never cut between them.
        let accents = "e\u{301}".repeat(10);
        assert_eq!(fit_summary(&accents, 4), "e\u{301}…");
        assert_eq!(fit_summary(&accents, 5), "e\u{301}e\u{301}…");
    }

    #[test]
    fn the_ellipsis_is_never_glued_to_a_url() {
        let summary = "Details at https://example.org/page and more words after it";
        let text = fit_summary(summary, 39);
        assert_eq!(text, "Details at https://example.org/page …");
        // Mastodon would have taken a glued ellipsis into the link: 23 + 2 here, not 23 + 1.
        let mastodon = crate::channels::mastodon::count;
        assert_eq!(mastodon(&text), chars("Details at ") + 23 + 2);
        // In a script without spaces the URL runs to the next space: cut before it.
        let japanese = "詳細はhttps://example.jp/記事を参照してください。";
        assert_eq!(fit_summary(japanese, 20), "詳細は…");
        // A URL that is the first word is kept whole or not at all.
        assert_eq!(fit_summary("https://example.org/a/long/page", 20), "");
    }

    #[test]
    fn empty_optional_parts_leave_no_gaps() {
        let mut e = entry();
        e.summary.clear();
        e.place = None;
        let f = render(TEMPLATE, &e, 1000, &chars).unwrap();
        assert_eq!(
            f.text,
            "Parenting classes for social inclusion\n\nhttps://example.org/en/projects/kragujevac/\n#DostaCongressPrize #RomaInclusion"
        );
    }

    #[test]
    fn template_errors_are_reported() {
        assert!(check("{{ title }").is_err());
        assert!(check("{{ title }}").is_ok());
    }

    #[test]
    fn the_entrys_own_hashtags_join_the_categories_once_and_are_appended_when_not_shown() {
        let mut e = entry();
        e.announce.hashtags = vec!["roma inclusion".into(), "Ghent".into(), "#ghent".into()];
        let f = render("{{ url }} {{ hashtags }}", &e, 1000, &chars).unwrap();
        assert_eq!(
            f.text,
            "https://example.org/en/projects/kragujevac/ #DostaCongressPrize #RomaInclusion #Ghent"
        );
        // A template that shows no hashtags gets the entry's own on a last line.
        let f = render("{{ title }}", &e, 1000, &chars).unwrap();
        assert_eq!(f.text, "Parenting classes for social inclusion\n\n#Ghent");
        // They give way when nothing fits with them.
        let f = render("{{ url }}", &e, 50, &chars).unwrap();
        assert_eq!(f.text, "https://example.org/en/projects/kragujevac/");
    }

    #[test]
    fn a_custom_text_is_a_template_fitted_and_cut_last_keeping_the_url() {
        let e = entry();
        let f = render_custom("Plain words, {{ city }}: {{ url }}", &e, 1000, &chars).unwrap();
        assert_eq!(
            f.text,
            "Plain words, Kragujevac: https://example.org/en/projects/kragujevac/"
        );
        let long = "A custom text much too long to post whole on a small network {{ url }}";
        let f = render_custom(long, &e, 70, &chars).unwrap();
        assert!(f.shortened && f.length <= 70, "{f:?}");
        assert_eq!(
            f.text,
            "A custom text much too… https://example.org/en/projects/kragujevac/"
        );
        let err = render_custom("{{ url }}", &e, 10, &chars).unwrap_err();
        assert!(err.contains("shorten the entry's text"), "{err}");
    }

    #[test]
    fn hashtags_are_camel_case_and_skip_numbers() {
        let cats = vec![
            "early childhood".to_owned(),
            "2024".to_owned(),
            "Économie sociale".to_owned(),
        ];
        assert_eq!(hashtags(&cats), "#EarlyChildhood #ÉconomieSociale");
    }
}

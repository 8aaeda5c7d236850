//! Message templates: minijinja over an entry's fields, and fitting the result to a network's
//! length rule by cutting the summary (then, as a last resort, the title) on a word boundary
//! with an ellipsis. The URL is never cut.
//!
//! Variables: `title`, `summary`, `url`, `language`, `city`, `country`, `categories` (a list),
//! `hashtags` (the categories as `#CamelCase` tags), `published` (`YYYY-MM-DD`), `extra` (every
//! extra field), and each extra field again at the top level (`{{ prize }}`) unless it would
//! shadow one of the names above.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

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
    let env = environment();
    let compiled = env.template_from_str(template).map_err(|e| e.to_string())?;
    let render = |title: &str, summary: &str| -> Result<String, String> {
        let text = compiled
            .render(context(entry, title, summary))
            .map_err(|e| format!("template error: {e}"))?;
        Ok(tidy(&text))
    };

    let full = render(&entry.title, &entry.summary)?;
    let length = count(&full);
    if length <= limit {
        return Ok(Fitted {
            text: full,
            length,
            limit,
            shortened: false,
        });
    }
    // Longest summary prefix (in words) that fits, then the same for the title.
    let summary_words = word_ends(&entry.summary);
    let fits_summary = |k: usize| -> Result<Option<String>, String> {
        let text = render(&entry.title, &shorten(&entry.summary, &summary_words, k))?;
        Ok((count(&text) <= limit).then_some(text))
    };
    if let Some(text) = longest_fitting(summary_words.len(), fits_summary)? {
        return Ok(Fitted {
            length: count(&text),
            text,
            limit,
            shortened: true,
        });
    }
    let title_words = word_ends(&entry.title);
    let fits_title = |k: usize| -> Result<Option<String>, String> {
        let text = render(&shorten(&entry.title, &title_words, k), "")?;
        Ok((count(&text) <= limit).then_some(text))
    };
    match longest_fitting(title_words.len(), fits_title)? {
        Some(text) => Ok(Fitted {
            length: count(&text),
            text,
            limit,
            shortened: true,
        }),
        None => Err(format!(
            "the post is {length} long for a limit of {limit} even without summary and title; shorten the channel's template"
        )),
    }
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

/// Byte offsets where each word of `text` ends.
fn word_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word {
                ends.push(i);
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    if in_word {
        ends.push(text.len());
    }
    ends
}

/// The first `k` words of `text` with an ellipsis, or `text` itself when `k` covers it.
fn shorten(text: &str, ends: &[usize], k: usize) -> String {
    if k >= ends.len() {
        return text.to_owned();
    }
    if k == 0 {
        return String::new();
    }
    let cut = text[..ends[k - 1]]
        .trim_end_matches(|c: char| c.is_ascii_punctuation() && c != '?' && c != '!');
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
        ("hashtags", Value::from(hashtags(&entry.categories))),
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
    categories
        .iter()
        .map(|c| {
            let tag: String = c
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
            tag
        })
        .filter(|t| !t.is_empty() && !t.chars().all(|c| c.is_ascii_digit()))
        .map(|t| format!("#{t}"))
        .collect::<Vec<_>>()
        .join(" ")
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
    fn hashtags_are_camel_case_and_skip_numbers() {
        let cats = vec![
            "early childhood".to_owned(),
            "2024".to_owned(),
            "Économie sociale".to_owned(),
        ];
        assert_eq!(hashtags(&cats), "#EarlyChildhood #ÉconomieSociale");
    }
}

//! Bluesky's counting and facets checked against the official client library: seeded random
//! texts in many scripts, with emoji, combining marks, bidi controls, URLs, hashtags and
//! cashtags, go once through `tests/tools/richtext/check.mjs`, which prints what
//! `@atproto/api`'s `RichText` makes of each (grapheme length, UTF-8 length, facets). crier
//! must count at least as many graphemes and bytes, make the same facets, and fit posts that
//! the reference counts within both limits (300 graphemes, 3,000 bytes).
//!
//! Without Node or the installed package the test prints a "skipped" line and passes, unless
//! `CRIER_REQUIRE_NODE_CHECKS=1` (set in CI), which makes the missing tool a failure.
//! `npm ci --prefix tests/tools/richtext` installs the package.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crier::channels::bluesky::{Bluesky, BlueskyConfig, TextLength, facets};
use crier::channels::template;
use crier::channels::{Channel, ChannelContext, InMemory};
use crier::secrets::SecretRef;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::Deserialize;
use serde_json::Value;

/// Random texts compared.
const TEXTS: usize = 10_000;
/// Every how many texts one is also fitted into a post.
const FIT_EVERY: usize = 5;

/// What the reference made of one text.
#[derive(Debug, Deserialize)]
struct Reference {
    graphemes: usize,
    bytes: usize,
    facets: Vec<Value>,
}

/// Runs `check.mjs` over `texts`; `None` when the check had to be skipped.
fn reference(texts: &[String]) -> Option<Vec<Reference>> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/richtext/check.mjs");
    let stdout = common::reference::run("node", &script, texts, "CRIER_REQUIRE_NODE_CHECKS")?;
    let results: Vec<Reference> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("check.mjs prints JSON lines"))
        .collect();
    assert_eq!(results.len(), texts.len(), "one answer a text");
    Some(results)
}

/// The reference's facets that crier makes too: not mentions (they need a resolved DID), nor
/// links whose URI the PDS refuses (atproto's `uri` format: a scheme, then something other
/// than whitespace or `/`), which would make the whole post fail.
fn comparable(facets: &[Value]) -> Vec<Value> {
    facets
        .iter()
        .filter(|facet| {
            let feature = &facet["features"][0];
            match feature["$type"].as_str() {
                Some("app.bsky.richtext.facet#mention") => false,
                Some("app.bsky.richtext.facet#link") => {
                    let uri = feature["uri"].as_str().unwrap_or_default();
                    let rest = uri.split_once("://").map_or("", |(_, rest)| rest);
                    rest.chars().next().is_some_and(|c| c != '/')
                }
                _ => true,
            }
        })
        .cloned()
        .collect()
}

/// Letters of 18 scripts, each a range to draw code points from.
const SCRIPTS: &[(&str, u32, u32)] = &[
    ("Latin", 0x61, 0x7A),
    ("Latin-1", 0xE0, 0xFF),
    ("Greek", 0x3B1, 0x3C9),
    ("Cyrillic", 0x430, 0x44F),
    ("Armenian", 0x561, 0x586),
    ("Hebrew", 0x5D0, 0x5EA),
    ("Arabic", 0x628, 0x64A),
    ("Devanagari", 0x905, 0x94D),
    ("Bengali", 0x985, 0x9B9),
    ("Tamil", 0xB85, 0xBCD),
    ("Thai", 0xE01, 0xE3A),
    ("Tibetan", 0xF40, 0xF6C),
    ("Georgian", 0x10D0, 0x10FA),
    ("Ethiopic", 0x1200, 0x1248),
    ("Khmer", 0x1780, 0x17D2),
    ("Hiragana", 0x3041, 0x3096),
    ("Han", 0x4E00, 0x4FFF),
    ("Hangul", 0xAC00, 0xD7A3),
];

const EMOJI: &[&str] = &[
    "👨‍👩‍👧‍👦",
    "👩🏽‍💻",
    "🧑🏿‍🤝‍🧑🏻",
    "👍🏼",
    "🇫🇷",
    "🇯🇵",
    "🏴‍☠️",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "❤️",
    "1️⃣",
    "🦀",
    "☕",
    "🏳️‍🌈",
    "\u{fe0f}",
];
/// Combining marks: accents, a Devanagari virama, Arabic vowel marks, an enclosing keycap.
const MARKS: &[&str] = &[
    "\u{301}", "\u{308}", "\u{327}", "\u{94D}", "\u{64E}", "\u{20E3}", "\u{20E2}", "\u{1AB0}",
];
const BIDI: &[&str] = &[
    "\u{200E}", "\u{200F}", "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}",
    "\u{2067}", "\u{2068}", "\u{2069}", "\u{61C}",
];
/// What may stand between words, JavaScript's whitespace and not.
const SEPARATORS: &[&str] = &[
    " ", " ", " ", " ", "\n", "\t", "\u{A0}", "\u{3000}", "\u{2028}", "\u{FEFF}", "\u{85}",
    "\u{200B}", "\u{AD}", "(", "", "\u{202F}", "\r\n",
];
const PUNCTUATION: &[&str] = &[
    ".", ",", ";", ":", "!", "?", ")", "(", "\"", "'", "»", "«", "’", "…", "。", "、", "..", ").",
    ".)", "!?", "-", "_", "/", "#", "$", "@",
];
const HOSTS: &[&str] = &[
    "example.org",
    "www.example.com",
    "sub.domain.co.uk",
    "bsky.app",
    "localhost",
    "127.0.0.1",
    "[::1]",
    "xn--bcher-kva.example",
    "bücher.de",
    "例え.jp",
    "EXAMPLE.COM",
    "example.org:8080",
    "user:pass@example.net",
    "",
    "/",
];
const TLDS: &[&str] = &[
    "com", "org", "net", "de", "fr", "jp", "io", "app", "social", "rs", "txt", "md", "zz", "COM",
    "co", "museum", "xn--p1ai", "a1",
];
const PATHS: &[&str] = &[
    "",
    "/",
    "/a/b",
    "/fête/",
    "/wiki/Rust_(language)",
    "/a_(b))",
    "/?q=1&r=ü",
    "/#anchor",
    "/path.",
    "/%E2%9C%93",
    "/日本語",
    "?x=\"y\"",
    "/a,b;c",
];

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items.choose(rng).expect("a non-empty list")
}

/// A word of 1 to 8 letters of one script, sometimes with combining marks or emoji.
fn word(rng: &mut StdRng) -> String {
    let &(_, low, high) = SCRIPTS.choose(rng).expect("scripts");
    let mut word = String::new();
    for _ in 0..rng.random_range(1..=8) {
        let c = char::from_u32(rng.random_range(low..=high)).unwrap_or('x');
        word.push(c);
        if rng.random_ratio(1, 8) {
            word.push_str(pick(rng, MARKS));
        }
        if rng.random_ratio(1, 20) {
            word.push_str(pick(rng, BIDI));
        }
    }
    if rng.random_ratio(1, 10) {
        word.push_str(pick(rng, EMOJI));
    }
    if rng.random_ratio(1, 10) {
        word.push(char::from_u32(rng.random_range(0x30..=0x39)).unwrap_or('0'));
    }
    word
}

/// A URL of one of many shapes: with a scheme or bare, odd hosts, paths, trailing punctuation.
fn url(rng: &mut StdRng) -> String {
    let scheme = pick(
        rng,
        &[
            "https://", "http://", "", "", "HTTPS://", "httpS://", "ftp://", "https:/",
        ],
    );
    let host = if scheme.is_empty() || rng.random_ratio(1, 3) {
        format!("{}.{}", word_ascii(rng), pick(rng, TLDS))
    } else {
        pick(rng, HOSTS).to_owned()
    };
    let mut url = format!("{scheme}{host}{}", pick(rng, PATHS));
    if rng.random_ratio(1, 3) {
        url.push_str(pick(rng, PUNCTUATION));
    }
    url
}

fn word_ascii(rng: &mut StdRng) -> String {
    let length = rng.random_range(1..=10);
    (0..length)
        .map(|i| {
            let set: &[u8] = if i == 0 {
                b"abcdefghijklmnopqrstuvwxyzABC"
            } else {
                b"abcdefghijklmnopqrstuvwxyz0123456789.-"
            };
            char::from(*set.choose(rng).expect("letters"))
        })
        .collect()
}

/// A hashtag or cashtag of one of many shapes.
fn tag(rng: &mut StdRng) -> String {
    let hash = pick(rng, &["#", "#", "##", "＃", "$", "#\u{fe0f}"]);
    let body = match rng.random_range(0..8) {
        0 => rng.random_range(0..100_000).to_string(),
        1 => word_ascii(rng).to_uppercase(),
        2 => "a".repeat(rng.random_range(60..=68)),
        3 => "🦀".repeat(rng.random_range(30..=34)),
        4 => format!("{}#{}", word(rng), word(rng)),
        5 => format!("{}\u{200D}{}", word(rng), word(rng)),
        _ => word(rng),
    };
    let mut tag = format!("{hash}{body}");
    if rng.random_ratio(1, 3) {
        tag.push_str(pick(rng, PUNCTUATION));
    }
    tag
}

/// One random post text.
fn text(rng: &mut StdRng) -> String {
    let mut text = String::new();
    for _ in 0..rng.random_range(1..=14) {
        if !text.is_empty() || rng.random_ratio(1, 4) {
            text.push_str(pick(rng, SEPARATORS));
        }
        match rng.random_range(0..10) {
            0..=3 => text.push_str(&word(rng)),
            4 | 5 => text.push_str(&url(rng)),
            6 | 7 => text.push_str(&tag(rng)),
            8 => text.push_str(pick(rng, PUNCTUATION)),
            _ => text.push_str(pick(
                rng,
                &["@alice.bsky.social", "@bob", "$AAPL", "(", ")"],
            )),
        }
    }
    text
}

/// Cases named in bug reports, checked whatever the seed.
fn fixed_texts() -> Vec<String> {
    vec![
        "##tag #tag. #123 #日本語 #تست ＃全角 $aapl".to_owned(),
        format!("Fête {}", "👨‍👩‍👧‍👦".repeat(188)),
        "See (https://en.wikipedia.org/wiki/Rust_(language)), example.com. HTTPS://x.org"
            .to_owned(),
    ]
}

fn channel() -> Bluesky {
    let config = BlueskyConfig {
        base_url: crier::values::HttpUrl::parse("https://bsky.social/").expect("a URL"),
        handle: "alliance.bsky.social".into(),
        app_password: SecretRef::Env("CRIER_TEST_UNUSED".into()),
        image: crier::channels::ImageMode::Card,
    };
    let context = ChannelContext {
        http: crier::channels::http::client(Duration::from_secs(5)),
        memory: Arc::new(InMemory::default()),
    };
    Bluesky::new("bsky".into(), config, context)
}

#[test]
fn counts_and_facets_agree_with_the_official_client() {
    let mut rng = common::seed::rng();
    let mut texts = fixed_texts();
    while texts.len() < TEXTS {
        texts.push(text(&mut rng));
    }
    // Posts fitted from some texts: the title and a summary made long enough to be cut.
    let channel = channel();
    let mut fitted = Vec::new();
    for (i, text) in texts.iter().enumerate().step_by(FIT_EVERY) {
        let mut entry = common::entry(&format!("e{i}"), "2025-06-01T12:00:00Z");
        entry.title = texts[(i + 1) % texts.len()].clone();
        entry.summary = text.repeat(rng.random_range(1..=40));
        let post = template::render(
            "{{ title }}\n\n{{ summary }}\n{{ url }}",
            &entry,
            channel.max_length(),
            &|t| channel.count(t),
        );
        if let Ok(post) = post {
            fitted.push(post.text);
        }
    }
    assert!(
        fitted.len() > TEXTS / FIT_EVERY / 2,
        "most posts could be fitted"
    );
    let all: Vec<String> = texts.iter().chain(&fitted).cloned().collect();
    let Some(results) = reference(&all) else {
        return;
    };
    let (of_texts, of_fitted) = results.split_at(texts.len());

    let mut failures = Vec::new();
    for (text, reference) in texts.iter().zip(of_texts) {
        let length = TextLength::of(text);
        if length.graphemes < reference.graphemes || length.bytes < reference.bytes {
            failures.push(format!(
                "{text:?}: crier counts {length:?}, the reference {} graphemes and {} bytes",
                reference.graphemes, reference.bytes
            ));
        }
        let expected = comparable(&reference.facets);
        let made = facets::facets(text);
        if made != expected {
            failures.push(format!(
                "{text:?}: crier's facets\n  {}\nthe reference's\n  {}",
                Value::Array(made),
                Value::Array(expected)
            ));
        }
    }
    for (text, reference) in fitted.iter().zip(of_fitted) {
        if reference.graphemes > 300 || reference.bytes > 3000 {
            failures.push(format!(
                "{text:?}: fitted, but the reference counts {} graphemes and {} bytes",
                reference.graphemes, reference.bytes
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} texts differ from @atproto/api's RichText; the first ones:\n{}",
        failures.len(),
        all.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The generator itself: enough scripts, and every kind of piece appears.
#[test]
fn the_generated_texts_cover_the_cases() {
    assert!(SCRIPTS.len() >= 15);
    let mut rng = StdRng::seed_from_u64(7);
    let texts: Vec<String> = (0..2000).map(|_| text(&mut rng)).collect();
    for needle in [
        "##",
        "#",
        "$",
        "https://",
        "http://",
        "\u{200D}",
        "\u{1F3FD}",
        "🇫🇷",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(needle)),
            "no generated text holds {needle:?}"
        );
    }
}

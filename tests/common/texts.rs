//! Random texts for the differential counting tests: words in twenty scripts (with combining
//! marks), emoji sequences old and new, bidi and other invisible controls, punctuation, and
//! links of every shape, glued together or apart.

use rand::RngExt;
use rand::rngs::StdRng;

/// Code point ranges of each script the texts draw letters from (assigned letters only).
pub const SCRIPTS: [(&str, &[(u32, u32)]); 20] = [
    (
        "Latin",
        &[
            (0x41, 0x5A),
            (0x61, 0x7A),
            (0xC0, 0xFF),
            (0x100, 0x17F),
            (0x1E00, 0x1EFF),
        ],
    ),
    ("Greek", &[(0x391, 0x3A1), (0x3A3, 0x3C9), (0x1F00, 0x1F15)]),
    (
        "Cyrillic",
        &[(0x410, 0x44F), (0x400, 0x40F), (0x460, 0x481)],
    ),
    ("Armenian", &[(0x531, 0x556), (0x561, 0x586)]),
    (
        "Hebrew",
        &[(0x5D0, 0x5EA), (0x5B0, 0x5BD), (0xFB1D, 0xFB4E)],
    ),
    ("Arabic", &[(0x621, 0x64A), (0x64B, 0x652), (0x660, 0x669)]),
    (
        "Devanagari",
        &[(0x905, 0x939), (0x93E, 0x94D), (0x958, 0x95F)],
    ),
    (
        "Bengali",
        &[
            (0x985, 0x98C),
            (0x995, 0x9A8),
            (0x9DC, 0x9DD),
            (0x9BE, 0x9C4),
        ],
    ),
    (
        "Tamil",
        &[
            (0xB85, 0xB8A),
            (0xB95, 0xB95),
            (0xBA4, 0xBA4),
            (0xBBE, 0xBC2),
            (0xBCA, 0xBCD),
        ],
    ),
    ("Thai", &[(0xE01, 0xE30), (0xE31, 0xE3A), (0xE40, 0xE4E)]),
    (
        "Tibetan",
        &[
            (0xF40, 0xF47),
            (0xF49, 0xF6C),
            (0xF71, 0xF84),
            (0xF90, 0xF97),
        ],
    ),
    ("Georgian", &[(0x10D0, 0x10FA), (0x1C90, 0x1CBA)]),
    (
        "Hangul",
        &[
            (0xAC00, 0xD7A3),
            (0x1100, 0x1112),
            (0x1161, 0x1175),
            (0x11A8, 0x11C2),
        ],
    ),
    ("Hiragana", &[(0x3041, 0x3096), (0x3099, 0x309A)]),
    ("Katakana", &[(0x30A1, 0x30FA), (0xFF66, 0xFF9D)]),
    (
        "Han",
        &[(0x4E00, 0x9FFF), (0x20000, 0x2A6DF), (0xF900, 0xFA6D)],
    ),
    ("Ethiopic", &[(0x1200, 0x1248), (0x1250, 0x1256)]),
    ("Khmer", &[(0x1780, 0x17B3), (0x17B6, 0x17D2)]),
    ("Myanmar", &[(0x1000, 0x102A), (0x102B, 0x103E)]),
    ("Mongolian", &[(0x1820, 0x1878), (0x180B, 0x180E)]),
];

/// Emoji and emoji-like sequences, old and new, listed and not.
pub const EMOJI: &[&str] = &[
    "😀",
    "😷",
    "🔥",
    "💩",
    "🥲",
    "🫠",
    "🫶🏽",
    "🪿",
    "🐦\u{200D}🔥",
    "🧑\u{200D}🧑\u{200D}🧒",
    "👨\u{200D}👩\u{200D}👧\u{200D}👦",
    "👩🏽\u{200D}👩🏽\u{200D}👧🏽\u{200D}👦🏽",
    "🙋🏽",
    "👨\u{200D}🎤",
    "🧕🏾",
    "🤝🏽",
    "🧑🏿\u{200D}🤝\u{200D}🧑🏻",
    "❤\u{FE0F}",
    "❤",
    "❤\u{FE0E}",
    "❤\u{FE0F}\u{200D}🔥",
    "🏳\u{FE0F}\u{200D}🌈",
    "🏳\u{FE0F}\u{200D}⚧\u{FE0F}",
    "🇫🇷",
    "🇯🇵",
    "🇦",
    "🇦🇦",
    "🇺🇸🇦",
    "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
    "1\u{FE0F}\u{20E3}",
    "#\u{20E3}",
    "*\u{FE0F}\u{20E3}",
    "©",
    "©\u{FE0F}",
    "®",
    "™",
    "‼",
    "\u{263A}",
    "\u{263A}\u{FE0F}",
    "🏻",
    "\u{200D}",
    "\u{FE0F}",
    "👍🏿",
    "🧔\u{200D}♂\u{FE0F}",
    "🧔🏻\u{200D}♀",
    "🫱🏼\u{200D}🫲🏿",
];

/// Invisible and control characters: bidi controls, joiners, the ones X refuses.
pub const CONTROLS: &[char] = &[
    '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}',
    '\u{2067}', '\u{2068}', '\u{2069}', '\u{061C}', '\u{200B}', '\u{200C}', '\u{2060}', '\u{00AD}',
    '\u{FFFE}', '\u{FEFF}', '\u{FFFF}', '\u{3000}', '\u{00A0}',
];

/// Punctuation and symbols around words and links.
pub const PUNCTUATION: &[&str] = &[
    ".", ",", ";", ":", "!", "?", "(", ")", "[", "]", "\"", "'", "-", "_", "/", "@", "#", "$", "…",
    "—", "–", "“", "”", "«", "»", "。", "、", "！", "（", "）", "＠", "＃", "€", "′", "‰",
];

/// One of `items`, at random.
pub fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// A random letter from one of `script`'s ranges.
pub fn letter(rng: &mut StdRng, script: &[(u32, u32)]) -> char {
    loop {
        let (start, end) = pick(rng, script);
        if let Some(c) = char::from_u32(rng.random_range(start..=end)) {
            return c;
        }
    }
}

/// A word of one to eight letters of one script, some with combining marks.
pub fn word(rng: &mut StdRng) -> String {
    let (_, script) = pick(rng, &SCRIPTS);
    let length = rng.random_range(1..9);
    let mut word = String::new();
    for _ in 0..length {
        word.push(letter(rng, script));
        // Combining marks after a letter, some that NFC composes, some that it does not.
        if rng.random_ratio(1, 8) {
            word.push(char::from_u32(rng.random_range(0x300..=0x36F)).expect("a mark"));
        }
    }
    word
}

/// A host: labels in many scripts, with the shapes twitter-text treats apart.
pub fn host(rng: &mut StdRng) -> String {
    let label = |rng: &mut StdRng| -> String {
        match rng.random_range(0..10) {
            0 => word(rng).to_lowercase(),
            1 => "under_score".to_owned(),
            2 => "a".repeat(rng.random_range(60..66)),
            3 => "xn--p1ai".to_owned(),
            4 => "-dash".to_owned(),
            5 => "Ex\u{E4}mple".to_owned(),
            _ => ["example", "news", "blog", "my-site", "www", "t", "a1"][rng.random_range(0..7)]
                .to_owned(),
        }
    };
    let tld = [
        "org",
        "com",
        "jp",
        "de",
        "io",
        "co",
        "рф",
        "中国",
        "한국",
        "unknowntld",
        "j",
        "x2",
        "COM",
        "onion",
        "xn--p1ai",
        "company",
        "comm",
    ];
    let mut host = String::new();
    for _ in 0..rng.random_range(1..4) {
        host.push_str(&label(rng));
        host.push('.');
    }
    host.push_str(pick(rng, &tld));
    host
}

/// A link of any shape: with or without scheme, port, path, query; t.co links too.
pub fn url(rng: &mut StdRng) -> String {
    let scheme = pick(rng, &["https://", "http://", "HTTPS://", "", ""]);
    let mut url = format!("{scheme}{}", host(rng));
    if rng.random_ratio(1, 6) {
        url.push_str(&format!(":{}", rng.random_range(1..65536)));
    }
    for _ in 0..rng.random_range(0..4) {
        url.push('/');
        match rng.random_range(0..8) {
            0 => url.push_str(&word(rng)),
            1 => url.push_str("%EB%B6%80%EB%AA%A8"),
            2 => url.push_str("a(b)c"),
            3 => url.push_str("@user/"),
            4 => url.push_str("부모-교육"),
            _ => url.push_str(&"abcdefghij"[..rng.random_range(1..10)]),
        }
    }
    if rng.random_ratio(1, 4) {
        url.push_str(pick(
            rng,
            &["?a=1&b=2", "?q=", "?x=(1)", "#frag", "?a=%C3%A9#f"],
        ));
    }
    if rng.random_ratio(1, 8) {
        url = format!("https://t.co/{}", "abc123".repeat(rng.random_range(1..9)));
    }
    url
}

/// A piece of a random text: a link (from [`url`]) or anything else.
#[derive(Debug, Clone)]
pub struct Piece {
    /// The characters.
    pub text: String,
    /// Whether it came from [`url`].
    pub link: bool,
}

/// One random text in pieces: words, emoji, controls, punctuation, links, numbers, mentions
/// and tags, glued together or apart by spaces or line breaks.
pub fn pieces(rng: &mut StdRng) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let other = |text: String| Piece { text, link: false };
    for _ in 0..rng.random_range(1..16) {
        let piece = match rng.random_range(0..14) {
            0..=5 => other(word(rng)),
            6 | 7 => other(pick(rng, EMOJI).to_owned()),
            8 => other(pick(rng, CONTROLS).to_string()),
            9 => other(pick(rng, PUNCTUATION).to_owned()),
            10 | 11 => Piece {
                text: url(rng),
                link: true,
            },
            12 => other(rng.random_range(0..100_000).to_string()),
            _ => other(pick(rng, &["@someone", "#tag", "$CASH", "e.g.", "3.14"]).to_owned()),
        };
        pieces.push(piece);
        match rng.random_range(0..6) {
            0 | 1 => {}
            2 => pieces.push(other("\n".to_owned())),
            _ => pieces.push(other(" ".to_owned())),
        }
    }
    pieces
}

/// One random text: [`pieces`] joined.
pub fn text(rng: &mut StdRng) -> String {
    pieces(rng).into_iter().map(|p| p.text).collect()
}

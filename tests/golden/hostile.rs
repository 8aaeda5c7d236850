//! The hostile fixture: the input of the `hostile.*` golden files, shared by `tests/feeds.rs`
//! and `tests/feedparser.rs`. Every entry carries something a careless renderer gets wrong:
//! markup and XML specials in plain-text fields, `]]>`, characters XML 1.0 forbids, emoji, CJK,
//! right-to-left text, a very long title, dates with non-UTC offsets, and one entry with no
//! optional field at all.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crier::entry::{Entry, Image, Person, sort_newest_first};
use crier::feeds::{Accounts, ChannelAccount, FeedMeta, Syndication, Translations};
use crier::store::LiveEntry;
use crier::store::outbox::SentPost;

pub fn date(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).expect("fixture dates are valid")
}

pub fn meta() -> FeedMeta {
    FeedMeta {
        title: "Crier & <friends> ]]> 😀".to_owned(),
        description: "Projects & news\u{1} — 漢字 — עברית".to_owned(),
        home_url: "https://example.org/".to_owned(),
        folder_url: "https://example.org/feeds/".to_owned(),
        language: Some("en".to_owned()),
        author: Person {
            name: "Site Team".to_owned(),
            email: Some("team@example.org".to_owned()),
            uri: Some("https://example.org/about/".to_owned()),
        },
        hubs: Vec::new(),
        // Browser-readable feeds: the goldens show feeds without the instruction.
        stylesheet: None,
        archive: None,
    }
}

/// An entry with every optional field empty; the fixture fills in what each case needs.
pub fn bare(slug: &str, published: &str) -> Entry {
    Entry {
        id: format!("content:projects/{slug}.en"),
        guid: format!("tag:example.org,2024:projects/{slug}"),
        url: format!("https://example.org/projects/{slug}/"),
        title: format!("Bare {slug}"),
        summary: String::new(),
        content: "<p>Bare</p>".to_owned(),
        published: date(published),
        updated: None,
        language: "en".to_owned(),
        categories: Vec::new(),
        image: None,
        author: None,
        place: None,
        translation_key: slug.to_owned(),
        extra: BTreeMap::new(),
        announce: Default::default(),
    }
}

/// A 1,000-character title (multi-byte letters, no trailing space).
pub fn long_title() -> String {
    let mut title: String = "Długi tytuł — ".chars().cycle().take(999).collect();
    title.push('!');
    title
}

/// The fixture entries, newest first.
pub fn entries() -> Vec<Entry> {
    let markup = Entry {
        title: r#"Tags <b>bold</b> & "quotes" 'single' ]]> end"#.to_owned(),
        summary: "Summary with <em>markup</em>, a < b & c > d, and ]]> inside".to_owned(),
        content: r#"<p onclick="alert('x')" style="color:red">Intro &amp; more &lt;escaped&gt; ]]&gt; text</p>
<script>alert("xss")</script>
<iframe src="https://evil.example/">frame</iframe>
<p><a href="javascript:alert(1)">bad link</a> <a href="../x">relative link</a> <a href="https://other.example/page?a=1&amp;b=2">absolute</a></p>
<p><img src="img.png" alt="A &quot;quoted&quot; map" onerror="alert(2)"></p>
<ul><li>one</li><li><strong>two</strong></li></ul>
<style>p { display: none }</style>"#
            .to_owned(),
        updated: Some(date("2024-03-06T08:15:30-04:00")),
        categories: vec!["news".to_owned(), "art & craft".to_owned(), "<script>".to_owned()],
        image: Some(Image {
            url: "https://example.org/projects/markup/lead.jpg".to_owned(),
            alt: r#"Bridge & "river" <at> night"#.to_owned(),
            path: None,
        }),
        author: Some(Person {
            name: "Ada Lovelace".to_owned(),
            email: Some("ada@example.org".to_owned()),
            uri: Some("https://ada.example/".to_owned()),
        }),
        ..bare("markup", "2024-03-05T10:00:00+05:30")
    };
    let controls = Entry {
        title: "Bell\u{7}Tab\tVT\u{b}NUL\u{0}End\u{fffe}\u{ffff}".to_owned(),
        summary: "start\u{1}middle\u{1f}end".to_owned(),
        content: "<p>para\u{b}graph\u{fffe} ok</p>".to_owned(),
        categories: vec!["ctl\u{1}cat".to_owned()],
        author: Some(Person {
            name: "Ctrl\u{1} Person".to_owned(),
            email: None,
            uri: None,
        }),
        ..bare("controls", "2024-02-29T23:30:00-08:00")
    };
    let unicode = Entry {
        title: "Emoji 😀🎉👩‍👩‍👧 · CJK 漢字かな한국어 · RTL עברית العربية".to_owned(),
        summary: "مرحبا بالعالم — שלום עולם".to_owned(),
        content: r#"<p lang="ar" dir="rtl">مرحبا <em>بالعالم</em></p><p lang="he">שלום עולם 😀</p><p>漢字</p>"#
            .to_owned(),
        updated: Some(date("2024-01-16T12:00:00+02:00")),
        language: "ar".to_owned(),
        categories: vec!["日本".to_owned(), "עברית".to_owned()],
        image: Some(Image {
            url: "https://example.org/projects/unicode/%E5%9B%BE.png".to_owned(),
            alt: "图 😀".to_owned(),
            path: None,
        }),
        ..bare("unicode", "2024-01-15T09:00:00+09:00")
    };
    let long = Entry {
        title: long_title(),
        summary: "Long entry.".to_owned(),
        ..bare("long", "2023-06-01T12:00:00+01:00")
    };
    let empty = bare("empty", "2023-12-31T23:59:59-11:00");
    let mut entries = vec![long, empty, unicode, controls, markup];
    sort_newest_first(&mut entries);
    entries
}

/// Links back to posts of two fixture entries, for the `hostile.syndicated.feed.json` golden
/// file: the markup entry on Mastodon and Bluesky (a URL with `&`, an account with markup), the
/// unicode entry on X (no account in its config), and one post of a channel no longer
/// configured, which must not show.
pub fn links() -> Syndication {
    let sent = |slug: &str, channel: &str, url: &str, minute: u32| SentPost {
        entry_id: format!("content:projects/{slug}.en"),
        entry_url: format!("https://example.org/projects/{slug}/"),
        channel: channel.to_owned(),
        remote_id: Some(format!("{channel}-{minute}")),
        remote_url: Some(url.to_owned()),
        sent_at: Utc.with_ymd_and_hms(2024, 3, 5, 5, minute, 0).unwrap(),
    };
    let posts = vec![
        sent(
            "markup",
            "mastodon-en",
            "https://m.example/@alliance/1?a=1&b=\"2\"",
            1,
        ),
        sent(
            "markup",
            "bluesky",
            "https://bsky.app/profile/did:plc:abc/post/3k",
            0,
        ),
        sent("unicode", "x", "https://x.com/i/web/status/漢字", 2),
        sent("long", "removed-channel", "https://old.example/1", 3),
    ];
    let account = |network: &str, account: Option<&str>| ChannelAccount {
        network: network.to_owned(),
        account: account.map(str::to_owned),
    };
    let accounts = Accounts::from([
        (
            "mastodon-en".to_owned(),
            account("mastodon", Some("m.example & <co>")),
        ),
        (
            "bluesky".to_owned(),
            account("bluesky", Some("alliance.bsky.social")),
        ),
        ("x".to_owned(), account("x", None)),
    ]);
    Syndication::new(posts, &accounts)
}

/// Translations of two fixture entries, in no feed of the fixture, for the `hostile.translated.*`
/// golden files: the markup entry in French (a title with markup, `]]>` and a control
/// character, a URL with `&`) and Brazilian Portuguese, the Arabic unicode entry in English, and
/// a second French one of the markup entry with a larger id, which must not show.
pub fn translations() -> Translations {
    let live = |id: &str, language: &str, key: &str, url: &str, title: &str| LiveEntry {
        id: id.to_owned(),
        language: language.to_owned(),
        categories: Vec::new(),
        published_ts: 0,
        content_hash: String::new(),
        translation_key: key.to_owned(),
        url: url.to_owned(),
        title: title.to_owned(),
    };
    let mut rows: Vec<LiveEntry> = entries()
        .iter()
        .map(|e| live(&e.id, &e.language, &e.translation_key, &e.url, &e.title))
        .collect();
    rows.extend([
        live(
            "content:projects/markup.fr",
            "fr",
            "markup",
            "https://example.org/fr/projets/balises/?a=1&b=2",
            "Balises <b>gras</b> & \"guillemets\" ]]> fin\u{1}",
        ),
        live(
            "content:projects/markup.fr~2",
            "fr",
            "markup",
            "https://example.org/fr/projets/doublon/",
            "Doublon",
        ),
        live(
            "content:projects/markup.pt-BR",
            "pt-BR",
            "markup",
            "https://example.org/pt-br/projetos/marcas/",
            "Marcação",
        ),
        live(
            "content:projects/unicode.english",
            "en",
            "unicode",
            "https://example.org/en/projects/unicode/",
            "Emoji and scripts",
        ),
    ]);
    Translations::new(&rows)
}

//! Size budgets: what keeps every feed readable by common parsers whatever the entries hold.
//!
//! - Per entry ([`FeedsConfig::max_content_bytes`]): a sanitised body longer than the budget
//!   is cut at the end of a block (a paragraph, a list item, a table row, a heading…), never
//!   inside a tag, an entity or a character, its open elements are closed, and a "continue
//!   reading" link to the entry's page (in the entry's language) follows. Every format gets
//!   that one body. A body far beyond the budget is first cut raw ([`raw_bound`]) so that the
//!   sanitiser never parses megabytes that would be thrown away.
//! - Per file ([`FeedsConfig::max_file_bytes`]): [`FileBudget`] decides, from the entries'
//!   sizes measured once, which entries of a feed keep their body: the newest do, older ones
//!   get their summary and the link (see [`short_body`]), and when even those do not fit,
//!   the oldest are left out.
//!
//! libxml2, which many readers are built on, refuses a text node of more than 10,000,000
//! bytes (`XML_MAX_TEXT_LENGTH`) unless told otherwise: the per-entry budget's ceiling,
//! [`MAX_CONTENT_CEILING`], stays below it.
//!
//! [`FeedsConfig::max_content_bytes`]: super::FeedsConfig::max_content_bytes
//! [`FeedsConfig::max_file_bytes`]: super::FeedsConfig::max_file_bytes

use std::borrow::Cow;

use crate::entry::Entry;

/// Default per-entry budget: 512 KiB, far more than any article (a long one is 50 KB of HTML).
pub const DEFAULT_MAX_CONTENT_BYTES: usize = 512 * 1024;

/// Default per-file budget: 4 MiB. Fifty ordinary entries fit many times over, a reader
/// fetching it on every poll is not burdened, and it stays well under the 10 MB that
/// libxml2-based readers take in one node (so even a file read as one blob passes).
pub const DEFAULT_MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// Smallest per-entry budget accepted: room for a paragraph and the link.
pub const MIN_CONTENT_BYTES: usize = 1024;

/// Largest per-entry budget accepted: 8 MiB, below libxml2's 10,000,000-byte text node limit
/// with room for the escaping and the link.
pub const MAX_CONTENT_CEILING: usize = 8 * 1024 * 1024;

/// Bytes an item takes in a feed file besides its body, summary and title (tags, dates, ids,
/// links, categories): a generous estimate, so that the file stays under its budget.
const ITEM_OVERHEAD: usize = 2048;

/// Elements whose end is a place to cut: blocks a reader shows whole.
const BLOCKS: &[&str] = &[
    "p",
    "li",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "div",
    "figure",
    "section",
    "article",
    "aside",
    "details",
    "hr",
    "br",
];

/// Elements without an end tag in HTML.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// The "continue reading" label in the entry's language (its primary subtag), English when
/// crier has none for it.
pub fn continue_label(language: &str) -> &'static str {
    let lower = language.to_ascii_lowercase();
    let primary = lower.split(['-', '_']).next().unwrap_or_default();
    match primary {
        "fr" => "Lire la suite",
        "de" => "Weiterlesen",
        "es" => "Seguir leyendo",
        "it" => "Continua a leggere",
        "nl" => "Verder lezen",
        "pl" => "Czytaj dalej",
        "pt" if lower.ends_with("br") => "Continuar lendo",
        "pt" => "Continuar a ler",
        "ro" => "Citește mai departe",
        _ => "Continue reading",
    }
}

/// `<p><a href="{url}">{label}</a></p>`: the link that ends a cut body.
pub fn continue_link(url: &str, language: &str) -> String {
    format!(
        "<p><a href=\"{}\">{}</a></p>",
        escape(url, true),
        continue_label(language)
    )
}

/// How much of a raw (unsanitised) body of `len` bytes is worth sanitising for a budget of
/// `max`: `None` when all of it. Sanitising shrinks markup (scripts, styles and attributes
/// go) and grows it (relative links made absolute, text escaped), so four times the budget is
/// kept: enough for a full budget, far less than a 20 MB body.
pub fn raw_bound(len: usize, max: usize) -> Option<usize> {
    let keep = max.saturating_mul(4);
    (len > keep).then_some(keep)
}

/// `html` cut raw at or before `bound`: after the last end tag of a block (`</p>`, `</tr>`…)
/// found there, else after the last `>`, else at a character boundary. The sanitiser closes
/// whatever is left open.
pub fn cut_raw(html: &str, bound: usize) -> &str {
    let mut end = bound.min(html.len());
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let head = &html[..end];
    let bytes = head.as_bytes();
    let mut search = head.len();
    while let Some(close) = head[..search].rfind("</") {
        if let Some(gt) = head[close..].find('>') {
            let name = head[close + 2..close + gt].trim().to_ascii_lowercase();
            if BLOCKS.contains(&name.as_str()) {
                return &head[..close + gt + 1];
            }
        }
        search = close;
        // Looking back over a huge body for a block end would cost a scan of it: the last
        // 64 KiB are enough to find one in real HTML.
        if end - close > 64 * 1024 {
            break;
        }
    }
    match bytes.iter().rposition(|&b| b == b'>') {
        Some(gt) => &head[..=gt],
        None => head,
    }
}

/// A sanitised body made to fit `max` bytes: itself when it does (and `forced` is false),
/// else cut at the last block end that leaves room for the closing tags and the link to
/// `url`. `forced` cuts a body that fits already, because it was cut raw. Only the first
/// `max` bytes are scanned.
pub fn fit_body<'a>(
    html: &'a str,
    max: usize,
    forced: bool,
    url: &str,
    language: &str,
) -> Cow<'a, str> {
    if html.len() <= max && !forced {
        return Cow::Borrowed(html);
    }
    let link = continue_link(url, language);
    let room = max.saturating_sub(link.len());
    let cut = last_cut(html, room);
    let mut out = String::with_capacity(cut.end + cut.closers.len() + link.len());
    out.push_str(&html[..cut.end]);
    out.push_str(&cut.closers);
    out.push_str(&link);
    Cow::Owned(out)
}

/// Where to cut: the body up to `end`, then `closers` (the end tags of the elements still
/// open there, innermost first).
struct Cut {
    end: usize,
    closers: String,
}

/// The last place in `html` where a block ends and which, with the end tags it needs, takes
/// at most `room` bytes; failing one, the last place between words in text; failing that,
/// nothing. `html` is a sanitiser's output: tags are well formed, every element but the void
/// ones is closed, attribute values are double-quoted, and `<` in text is escaped.
fn last_cut(html: &str, room: usize) -> Cut {
    let bytes = html.as_bytes();
    let mut open: Vec<&str> = Vec::new();
    // The last block end that fits and the elements open there; the same for a space in text.
    // `clone_from` reuses the vectors' room, so recording a place allocates nothing.
    let (mut block_end, mut block_open) = (None, Vec::new());
    let (mut text_end, mut text_open) = (None, Vec::new());
    let fits = |end: usize, open: &[&str]| {
        end + open.iter().map(|name| name.len() + 3).sum::<usize>() <= room
    };
    let mut i = 0;
    while i < bytes.len() && i <= room {
        if bytes[i] != b'<' {
            if bytes[i] == b' ' && fits(i, &open) {
                text_end = Some(i);
                text_open.clone_from(&open);
            }
            i += 1;
            continue;
        }
        let Some(end) = tag_end(bytes, i) else {
            break;
        };
        let tag = &html[i + 1..end];
        i = end + 1;
        if tag.starts_with(['!', '?']) {
            continue; // a comment or declaration opens nothing
        }
        let closing = tag.starts_with('/');
        let name = tag[usize::from(closing)..]
            .split(|c: char| c.is_ascii_whitespace() || c == '/')
            .next()
            .unwrap_or_default();
        let void = VOID.iter().any(|v| v.eq_ignore_ascii_case(name));
        if closing {
            if let Some(at) = open.iter().rposition(|n| n.eq_ignore_ascii_case(name)) {
                open.truncate(at);
            }
        } else if !void && !tag.ends_with('/') {
            open.push(name);
        }
        let ends_block = (closing || void) && BLOCKS.iter().any(|b| b.eq_ignore_ascii_case(name));
        if ends_block && fits(i, &open) {
            block_end = Some(i);
            block_open.clone_from(&open);
        }
    }
    let (end, open) = match (block_end, text_end) {
        (Some(end), _) => (end, block_open),
        (None, Some(end)) => (end, text_open),
        (None, None) => (0, Vec::new()),
    };
    Cut {
        end,
        closers: open.iter().rev().map(|name| format!("</{name}>")).collect(),
    }
}

/// The index of the `>` that ends the tag starting at `start`, skipping quoted attribute
/// values (which may hold `>`).
fn tag_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(start + 1) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i),
            (None, _) => {}
        }
    }
    None
}

/// The body an entry gets when its feed has no room for the whole of it: its summary as a
/// paragraph, then the link to its page.
pub fn short_body(entry: &Entry) -> String {
    let link = continue_link(&entry.url, &entry.language);
    let summary = entry.summary.trim();
    if summary.is_empty() {
        link
    } else {
        format!("<p>{}</p>{link}", escape(summary, false))
    }
}

/// What a feed file holds of its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileBudget {
    /// The newest entries that keep their whole body.
    pub full: usize,
    /// The entries written at all: after the `full` ones, with their [`short_body`].
    pub kept: usize,
}

impl FileBudget {
    /// Which of `entries` (newest first) fit a file of `max` bytes: the newest keep their
    /// body until the next would pass the budget, the others are shortened, and those that
    /// do not fit even shortened are left out. The newest entry is always kept whole: its
    /// body fits the per-entry budget, which is no larger than the file's.
    pub fn of(entries: &[&Entry], max: usize) -> FileBudget {
        let mut total = 0usize;
        let mut full = 0;
        for entry in entries {
            let cost = written_size(entry, &entry.content);
            if full > 0 && total + cost > max {
                break;
            }
            total += cost;
            full += 1;
        }
        let mut kept = full;
        for entry in &entries[full..] {
            let cost = written_size(entry, &short_body(entry));
            if total + cost > max {
                break;
            }
            total += cost;
            kept += 1;
        }
        FileBudget { full, kept }
    }

    /// Whether every entry is written whole.
    pub fn is_whole(&self, count: usize) -> bool {
        self.full == count
    }
}

/// An upper bound of the bytes `entry` takes in any format with `body` as its body: escaping
/// (Atom's `&lt;`, JSON's `\"`) is counted at its worst, four more bytes per character.
pub fn written_size(entry: &Entry, body: &str) -> usize {
    let escaped = |s: &str| {
        s.len()
            + 4 * s
                .bytes()
                .filter(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\\'))
                .count()
    };
    escaped(body) + escaped(&entry.summary) + escaped(&entry.title) + ITEM_OVERHEAD
}

/// `text` escaped for HTML text, and for a double-quoted attribute when `attribute`.
fn escape(text: &str, attribute: bool) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://example.org/a/?x=1&y=2";

    fn fit(html: &str, max: usize) -> String {
        fit_body(html, max, false, URL, "en").into_owned()
    }

    /// Every element opened is closed, in order, and no tag is cut.
    fn assert_well_formed(html: &str) {
        let mut open: Vec<String> = Vec::new();
        let bytes = html.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'<' {
                let end = tag_end(bytes, i).unwrap_or_else(|| panic!("cut tag in {html}"));
                let tag = &html[i + 1..end];
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if tag.starts_with('/') {
                    assert_eq!(open.pop().as_deref(), Some(name.as_str()), "{html}");
                } else if !VOID.contains(&name.as_str()) {
                    open.push(name);
                }
                i = end + 1;
            } else {
                i += 1;
            }
        }
        assert!(open.is_empty(), "left open {open:?}: {html}");
        // Entities are whole: every `&` starts one that ends with `;`.
        for (at, _) in html.match_indices('&') {
            let rest = &html[at..];
            let semi = rest.find(';').expect("entity end");
            assert!(
                rest[1..semi]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '#'),
                "cut entity at {at}: {html}"
            );
        }
    }

    #[test]
    fn a_body_within_the_budget_is_kept() {
        let html = "<p>short</p>";
        assert!(matches!(
            fit_body(html, 1024, false, URL, "en"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_long_body_is_cut_after_a_paragraph_and_ends_with_the_link() {
        let html = "<p>one &amp; two</p><p>three</p>".repeat(100);
        let cut = fit(&html, 400);
        assert!(cut.len() <= 400, "{} bytes", cut.len());
        assert!(
            cut.ends_with(
                "</p><p><a href=\"https://example.org/a/?x=1&amp;y=2\">Continue reading</a></p>"
            ),
            "{cut}"
        );
        assert!(cut.starts_with("<p>one &amp; two</p>"), "{cut}");
        assert_well_formed(&cut);
    }

    #[test]
    fn a_table_is_cut_after_a_row_and_closed() {
        let rows = "<tr><td>a &lt; b</td><td>é😀</td></tr>".repeat(1000);
        let html = format!(
            "<h2>T</h2><table><thead><tr><th>x</th></tr></thead><tbody>{rows}</tbody></table><p>after</p>"
        );
        let cut = fit(&html, 2000);
        assert!(cut.len() <= 2000, "{}", cut.len());
        assert!(cut.contains("</td></tr></tbody></table><p><a "), "{cut}");
        assert_well_formed(&cut);
    }

    #[test]
    fn lists_close_around_the_cut() {
        let items = "<li>item <em>x</em></li>".repeat(200);
        let html = format!("<ul>{items}</ul>");
        let cut = fit(&html, 300);
        assert!(cut.contains("</li></ul><p><a "), "{cut}");
        assert_well_formed(&cut);
    }

    #[test]
    fn one_huge_paragraph_is_cut_between_words() {
        let html = format!("<p>{}</p>", "mot&nbsp;é <b>gras</b> ".repeat(5000));
        let cut = fit(&html, 1500);
        assert!(cut.len() <= 1500, "{}", cut.len());
        assert!(
            cut.ends_with(
                "</p><p><a href=\"https://example.org/a/?x=1&amp;y=2\">Continue reading</a></p>"
            ),
            "{cut}"
        );
        assert_well_formed(&cut);
    }

    #[test]
    fn attributes_holding_angle_brackets_are_not_cut() {
        let html = "<p><img src=\"https://example.org/i.png\" alt=\"a > b < c\"> x</p>".repeat(50);
        let cut = fit(&html, 600);
        assert_well_formed(&cut);
        assert!(cut.contains("alt=\"a > b < c\"> x</p>"), "{cut}");
    }

    #[test]
    fn a_body_with_no_place_to_cut_keeps_only_the_link() {
        let html = format!("<p><img alt=\"{}\"></p>", "x".repeat(5000));
        let cut = fit(&html, 1024);
        assert_eq!(
            cut,
            "<p><a href=\"https://example.org/a/?x=1&amp;y=2\">Continue reading</a></p>"
        );
    }

    #[test]
    fn a_body_cut_raw_is_cut_again_even_when_it_fits() {
        let cut = fit_body("<p>a</p><p>b</p>", 1024, true, URL, "fr");
        assert_eq!(
            cut,
            "<p>a</p><p>b</p><p><a href=\"https://example.org/a/?x=1&amp;y=2\">Lire la suite</a></p>"
        );
    }

    #[test]
    fn the_link_speaks_the_entry_language() {
        for (language, label) in [
            ("en", "Continue reading"),
            ("fr", "Lire la suite"),
            ("fr-BE", "Lire la suite"),
            ("de", "Weiterlesen"),
            ("es", "Seguir leyendo"),
            ("it", "Continua a leggere"),
            ("nl", "Verder lezen"),
            ("pl", "Czytaj dalej"),
            ("pt", "Continuar a ler"),
            ("pt-BR", "Continuar lendo"),
            ("ro", "Citește mai departe"),
            ("ja", "Continue reading"),
            ("", "Continue reading"),
        ] {
            assert_eq!(continue_label(language), label, "{language}");
        }
    }

    #[test]
    fn raw_bodies_are_cut_after_a_block_end_at_a_character_boundary() {
        assert_eq!(raw_bound(100, 1024), None);
        assert_eq!(raw_bound(5000, 1024), Some(4096));
        // Exactly four times the budget is still sanitised whole.
        assert_eq!(raw_bound(4096, 1024), None);
        assert_eq!(raw_bound(4097, 1024), Some(4096));
        let html = "<p>é</p><P>abc</P><p>unfinished é";
        assert_eq!(cut_raw(html, 25), "<p>é</p><P>abc</P>");
        // Inside the two bytes of "é": back to the last tag end.
        assert_eq!(cut_raw("<b>é", 4), "<b>");
        assert_eq!(cut_raw("no tags at all", 5), "no ta");
        // A bound inside a character goes back before it, never past it.
        assert_eq!(cut_raw("aéb", 2), "a");
    }

    #[test]
    fn the_file_budget_keeps_the_newest_whole() {
        let mut entries: Vec<Entry> = (0..5)
            .map(|i| {
                let mut e = crate::testing::entry(&format!("e{i}"), "2024-01-01T00:00:00Z");
                e.content = format!("<p>{}</p>", "x".repeat(10_000));
                e.summary = format!("Summary {i}");
                e
            })
            .collect();
        let refs: Vec<&Entry> = entries.iter().collect();
        let each = written_size(refs[0], &refs[0].content);
        assert_eq!(
            FileBudget::of(&refs, usize::MAX),
            FileBudget { full: 5, kept: 5 }
        );
        let budget = FileBudget::of(&refs, 2 * each + 3 * (ITEM_OVERHEAD + 200));
        assert_eq!(budget, FileBudget { full: 2, kept: 5 });
        // Not even the summaries fit: the oldest go.
        let budget = FileBudget::of(&refs, each + ITEM_OVERHEAD + 200);
        assert_eq!(budget, FileBudget { full: 1, kept: 2 });
        // The newest is whole however small the budget.
        assert_eq!(FileBudget::of(&refs, 1), FileBudget { full: 1, kept: 1 });
        entries[0].summary = "a < b".into();
        let short = short_body(&entries[0]);
        assert_eq!(
            short,
            "<p>a &lt; b</p><p><a href=\"https://example.org/e0/\">Continue reading</a></p>"
        );
    }
}

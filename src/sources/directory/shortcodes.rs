//! Hugo and Zola shortcodes in a Markdown body, replaced before the Markdown is parsed.
//!
//! The forms read are the generators' own:
//! - Hugo (<https://gohugo.io/content-management/shortcodes/>): `{{< name args >}}` and
//!   `{{% name args %}}`, paired with `{{< /name >}}` (or `{{% /name %}}`), or self-closed
//!   `{{< name />}}`; arguments are positional or `key=value`, values bare, `"quoted"` (with
//!   `\"` escapes) or `` `raw` ``. A shortcode is paired when a closing tag follows it.
//! - Zola (<https://www.getzola.org/documentation/content/shortcodes/>): `{{ name(k=v, …) }}`
//!   and `{% name(k=v) %}body{% end %}`; arguments are named, values `"…"`, `'…'`, `` `…` ``,
//!   numbers, booleans or `[lists]`; the parentheses are required, as in Zola.
//! - The escapes both sites' docs use to show a shortcode, `{{</* … */>}}`, `{{%/* … */%}}`,
//!   `{{/* … */}}` and `{%/* … */%}`, become the shortcode's literal text, even in code.
//!
//! Shortcode-looking text inside code spans and code blocks stays as written (the caller
//! passes their byte ranges). Each shortcode becomes HTML: a template from the source's
//! `shortcodes` table when it names one, else the built-in rendering of Hugo's and Zola's
//! common shortcodes (`figure`, `image`, `youtube`, `vimeo`, `gist`, `x`/`tweet`,
//! `instagram`, `highlight`, `details`, `ref`/`relref`), else nothing: an unknown shortcode is
//! removed, a paired one keeps its inner text, and its name is reported so that the read can
//! say so once. The HTML is kept aside behind a placeholder that Markdown leaves alone, and
//! [`Expanded::fill`] puts it in the rendered page, unwrapping a placeholder that stands alone
//! in a paragraph as Hugo does; `ref` and `relref` give URLs, which go straight into the
//! Markdown so that `[text]({{< ref "page.md" >}})` stays a link.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Opens a placeholder; a private-use character, which no Markdown rule touches.
const OPEN: char = '\u{E000}';
/// Closes a placeholder.
const CLOSE: char = '\u{E001}';

/// A template of the source's `shortcodes` table, parsed when the config is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortcodeTemplate {
    /// The template as configured.
    text: String,
    /// The template cut into literal text and placeholders.
    parts: Vec<Part>,
}

/// One piece of a [`ShortcodeTemplate`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Written as is.
    Text(String),
    /// `{{ body }}`: the inner text of a paired shortcode, rendered as Markdown.
    Body,
    /// `{{ 0 }}`, `{{ 1 }}`…: a positional argument, escaped.
    Positional(usize),
    /// `{{ name }}`: a named argument, escaped.
    Named(String),
}

impl ShortcodeTemplate {
    /// Parses `text`; the error names the placeholder it does not know and what to write.
    pub fn parse(text: &str) -> Result<ShortcodeTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(format!(
                    "a `{{{{` is not closed by `}}}}` in {text:?}; write placeholders as {{{{ body }}}}, {{{{ 0 }}}} or {{{{ name }}}}"
                ));
            };
            let inside = after[..end].trim();
            let part = if inside == "body" {
                Part::Body
            } else if let Ok(position) = inside.parse::<usize>() {
                Part::Positional(position)
            } else if is_argument_name(inside) {
                Part::Named(inside.to_owned())
            } else {
                return Err(format!(
                    "unknown placeholder `{{{{ {inside} }}}}`; use {{{{ body }}}} for the inner text, {{{{ 0 }}}}, {{{{ 1 }}}}… for positional arguments or {{{{ name }}}} for a named one"
                ));
            };
            parts.push(part);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(ShortcodeTemplate {
            text: text.to_owned(),
            parts,
        })
    }

    /// The template filled with `args` and the body's HTML.
    fn render(&self, args: &Args, body: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Body => out.push_str(body),
                Part::Positional(i) => {
                    out.push_str(&escape(args.positional.get(*i).map_or("", String::as_str)));
                }
                Part::Named(name) => {
                    out.push_str(&escape(args.named.get(name).map_or("", String::as_str)));
                }
            }
        }
        out
    }
}

/// Written as configured.
impl Serialize for ShortcodeTemplate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// Parsed when the config is read, so that a template with an unknown placeholder is a
/// config error naming its key.
impl<'de> Deserialize<'de> for ShortcodeTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ShortcodeTemplate::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Shortcode templates by name, as the source's `shortcodes` table gives them.
pub type Templates = BTreeMap<String, ShortcodeTemplate>;

/// What rendering shortcodes needs from the page.
pub(super) struct Context<'a> {
    /// The source's own templates, which win over the built-in renderings.
    pub(super) templates: &'a Templates,
    /// A link or image reference made absolute (against the page, or a Zola `@/` link).
    pub(super) resolve: &'a dyn Fn(&str) -> String,
    /// Markdown rendered to HTML, for the bodies of paired shortcodes.
    pub(super) markdown: &'a dyn Fn(&str) -> String,
}

/// A Markdown body with its shortcodes replaced.
#[derive(Debug, Default)]
pub(super) struct Expanded {
    /// The Markdown to parse, with a placeholder where each shortcode's HTML goes.
    pub(super) markdown: String,
    /// The HTML of each placeholder, by number.
    outputs: Vec<String>,
    /// The names of the shortcodes that were not known, once per use.
    pub(super) unknown: Vec<String>,
}

impl Expanded {
    /// `html` with every placeholder replaced by its HTML; a placeholder that is a whole
    /// paragraph replaces the paragraph, so that a figure does not end up inside a `<p>`.
    pub(super) fn fill(&self, html: &str) -> String {
        if self.outputs.is_empty() || !html.contains(OPEN) {
            return html.to_owned();
        }
        let mut out = String::with_capacity(html.len());
        let mut rest = html;
        while let Some(start) = rest.find(OPEN) {
            out.push_str(&rest[..start]);
            let after = &rest[start + OPEN.len_utf8()..];
            let Some((number, tail)) = after.split_once(CLOSE) else {
                out.push_str(&rest[start..]);
                return out;
            };
            let Some(output) = number
                .parse::<usize>()
                .ok()
                .and_then(|n| self.outputs.get(n))
            else {
                // Not one of ours (the page had the character itself): leave it.
                out.push(OPEN);
                rest = after;
                continue;
            };
            let alone = out.ends_with("<p>") && tail.starts_with("</p>");
            if alone {
                out.truncate(out.len() - "<p>".len());
            }
            // An output holds the placeholders of the shortcodes nested in it, which were
            // numbered before it: filling them always ends.
            out.push_str(&self.fill(output));
            rest = if alone { &tail["</p>".len()..] } else { tail };
        }
        out.push_str(rest);
        out
    }

    /// `text` without placeholders: what a paragraph says besides its shortcodes.
    pub(super) fn without_placeholders(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut inside = false;
        for c in text.chars() {
            match c {
                OPEN => inside = true,
                CLOSE => inside = false,
                c if !inside => out.push(c),
                _ => {}
            }
        }
        out
    }
}

/// Replaces the shortcodes of `body` outside the `code` byte ranges (sorted), and the escaped
/// shortcodes everywhere.
pub(super) fn expand(body: &str, code: &[Range<usize>], cx: &Context<'_>) -> Expanded {
    if !body.contains("{{") && !body.contains("{%") {
        return Expanded {
            markdown: body.to_owned(),
            ..Expanded::default()
        };
    }
    let mut scanner = Scanner {
        src: body,
        code,
        cx,
        outputs: Vec::new(),
        unknown: Vec::new(),
    };
    let markdown = scanner.expand_span(0, body.len(), true);
    Expanded {
        markdown,
        outputs: scanner.outputs,
        unknown: scanner.unknown,
    }
}

/// Which of the four forms a shortcode is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// Hugo `{{< … >}}`.
    HugoHtml,
    /// Hugo `{{% … %}}`.
    HugoMarkdown,
    /// Zola `{{ name(…) }}`, which has no body.
    ZolaInline,
    /// Zola `{% name(…) %}`, which has a body up to `{% end %}`.
    ZolaBody,
}

/// A shortcode's arguments.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Args {
    /// Hugo's positional arguments, in order.
    positional: Vec<String>,
    /// Named arguments.
    named: BTreeMap<String, String>,
}

impl Args {
    /// The named argument `name`, else the positional one at `position`; empty ones count as
    /// absent.
    fn get(&self, name: &str, position: usize) -> Option<&str> {
        self.named
            .get(name)
            .or_else(|| self.positional.get(position))
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The first of the named arguments `names` that is given.
    fn named(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n, usize::MAX))
    }
}

/// An opening (or self-closing) shortcode tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    syntax: Syntax,
    name: String,
    args: Args,
    /// `{{< name />}}`: closed in the same tag.
    self_closed: bool,
}

/// What starts at a `{`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An escaped shortcode, and the literal text it stands for.
    Escaped(String),
    /// An opening tag.
    Open(Call),
    /// Hugo's `{{< /name >}}` (with the name) or Zola's `{% end %}` (without).
    Close(Option<String>),
}

/// A token and the byte just after it.
struct Found {
    token: Token,
    end: usize,
}

/// One pass over a body.
struct Scanner<'a> {
    src: &'a str,
    code: &'a [Range<usize>],
    cx: &'a Context<'a>,
    outputs: Vec<String>,
    unknown: Vec<String>,
}

impl Scanner<'_> {
    /// `src[start..end]` with escapes made literal and, when `run`, shortcodes outside code
    /// replaced.
    fn expand_span(&mut self, start: usize, end: usize, run: bool) -> String {
        let src = self.src;
        let mut out = String::with_capacity(end - start);
        let mut at = start;
        while let Some(offset) = src[at..end].find('{') {
            let open = at + offset;
            out.push_str(&src[at..open]);
            at = open + 1;
            let Some(found) = token_at(src, open, end) else {
                out.push('{');
                continue;
            };
            match found.token {
                Token::Escaped(literal) => {
                    out.push_str(&literal);
                    at = found.end;
                }
                _ if !run || self.in_code(open) => out.push('{'),
                // A closing tag without its opening: nothing to render.
                Token::Close(_) => at = found.end,
                Token::Open(call) => {
                    let paired = match call.syntax {
                        Syntax::ZolaInline => None,
                        _ if call.self_closed => None,
                        _ => self.closing(&call, found.end, end),
                    };
                    let (inner, after) = match paired {
                        Some(close) => (Some(found.end..close.start), close.end),
                        None => (None, found.end),
                    };
                    out.push_str(&self.render(&call, inner));
                    at = after;
                }
            }
        }
        out.push_str(&src[at..end]);
        out
    }

    fn in_code(&self, at: usize) -> bool {
        self.code.iter().any(|r| r.contains(&at))
    }

    /// The byte range of the tag closing `call`, searched from `from`, nested tags of the same
    /// name (Hugo) or any body tag (Zola) counted.
    fn closing(&self, call: &Call, from: usize, end: usize) -> Option<Range<usize>> {
        // Most shortcodes are not paired: a plain search rules that out before the tags after
        // this one are read.
        let hugo = call.syntax != Syntax::ZolaBody;
        let sign = if hugo {
            format!("/{}", call.name)
        } else {
            "end".to_owned()
        };
        if !self.src[from..end].contains(&sign) {
            return None;
        }
        let mut depth = 0usize;
        let mut at = from;
        while let Some(offset) = self.src[at..end].find('{') {
            let open = at + offset;
            at = open + 1;
            if self.in_code(open) {
                continue;
            }
            let Some(found) = token_at(self.src, open, end) else {
                continue;
            };
            match &found.token {
                Token::Open(inner) if hugo && inner.name == call.name && !inner.self_closed => {
                    depth += 1;
                }
                Token::Open(inner) if !hugo && inner.syntax == Syntax::ZolaBody => depth += 1,
                Token::Close(name) if name.as_deref() == hugo.then_some(call.name.as_str()) => {
                    if depth == 0 {
                        return Some(open..found.end);
                    }
                    depth -= 1;
                }
                _ => {}
            }
            at = found.end;
        }
        None
    }

    /// What replaces one shortcode: a placeholder for its HTML, a URL, or the inner text of
    /// an unknown paired one.
    fn render(&mut self, call: &Call, inner: Option<Range<usize>>) -> String {
        let template = self.cx.templates.get(&call.name);
        // `highlight` shows its body as code: shortcodes in it are not run.
        let as_code = template.is_none() && call.name == "highlight";
        let (raw, body) = match inner.map(|r| trim_body(self.src, r)) {
            Some(r) if as_code => (Some(self.expand_span(r.start, r.end, false)), None),
            Some(r) => (None, Some(self.expand_span(r.start, r.end, true))),
            None => (None, None),
        };
        let html = if let Some(template) = template {
            let body = body.as_deref().map(|b| markdownify(self.cx, b));
            template.render(&call.args, body.as_deref().unwrap_or(""))
        } else {
            match builtin(self.cx, call, raw.as_deref(), body.as_deref()) {
                Some(Rendered::Html(html)) => html,
                Some(Rendered::Url(url)) => return url,
                None => {
                    self.unknown.push(call.name.clone());
                    return body.unwrap_or_default();
                }
            }
        };
        let number = self.outputs.len();
        self.outputs.push(html);
        format!("{OPEN}{number}{CLOSE}")
    }
}

/// `range` without the line break that follows the opening tag and the one before the closing
/// tag: Zola requires the body on its own lines, and Hugo's bodies usually are.
fn trim_body(src: &str, range: Range<usize>) -> Range<usize> {
    let text = &src[range.clone()];
    let start = text
        .strip_prefix("\r\n")
        .or_else(|| text.strip_prefix('\n'))
        .map_or(0, |rest| text.len() - rest.len());
    let trimmed = text.trim_end_matches([' ', '\t']);
    let end = trimmed
        .strip_suffix("\r\n")
        .or_else(|| trimmed.strip_suffix('\n'))
        .map_or(trimmed.len(), str::len)
        .max(start);
    range.start + start..range.start + end
}

/// Markdown rendered to HTML, without the `<p>` around a single paragraph, as Hugo's
/// `markdownify` does, so that an inline body stays inline.
fn markdownify(cx: &Context<'_>, markdown: &str) -> String {
    let html = (cx.markdown)(markdown);
    let trimmed = html.trim_end();
    if let Some(inner) = trimmed
        .strip_prefix("<p>")
        .and_then(|s| s.strip_suffix("</p>"))
        && !inner.contains("<p>")
    {
        return inner.to_owned();
    }
    trimmed.to_owned()
}

/// A built-in shortcode's result.
enum Rendered {
    /// HTML, placed behind a placeholder.
    Html(String),
    /// A URL, written into the Markdown (`ref`, `relref`).
    Url(String),
}

/// The built-in rendering of Hugo's embedded shortcodes
/// (<https://gohugo.io/shortcodes/>) and of the image and video shortcodes Zola sites
/// commonly define, as plain HTML a feed reader shows; embeds become links, with a thumbnail
/// where its URL is known. `None` when `call` is not one of them.
fn builtin(
    cx: &Context<'_>,
    call: &Call,
    raw: Option<&str>,
    body: Option<&str>,
) -> Option<Rendered> {
    let args = &call.args;
    let html = match call.name.as_str() {
        "figure" | "image" | "img" | "resize_image" => figure(cx, call),
        "youtube" => match args.get("id", 0) {
            Some(id) => {
                // https://gohugo.io/shortcodes/youtube/: `id` (or the first positional
                // argument), `title`, `start` in seconds.
                let title = args.get("title", usize::MAX).unwrap_or("YouTube video");
                let start = args
                    .get("start", usize::MAX)
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .map_or(String::new(), |s| format!("&amp;t={s}"));
                format!(
                    r#"<a href="https://www.youtube.com/watch?v={id}{start}"><img src="https://i.ytimg.com/vi/{id}/hqdefault.jpg" alt="{title}"></a>"#,
                    id = escape(&encode(id)),
                    title = escape(title),
                )
            }
            None => String::new(),
        },
        "vimeo" => match args.get("id", 0) {
            Some(id) => {
                let title = args.get("title", usize::MAX).unwrap_or("Video on Vimeo");
                link(&format!("https://vimeo.com/{}", encode(id)), title)
            }
            None => String::new(),
        },
        "gist" => {
            // Hugo: `gist user id [file]`; Zola's former built-in: `gist(url=…, file=…)`.
            let file = args.get("file", 2);
            let url = match (args.named(&["url"]), args.get("user", 0), args.get("id", 1)) {
                (Some(url), _, _) => url.to_owned(),
                (None, Some(user), Some(id)) => {
                    format!("https://gist.github.com/{}/{}", encode(user), encode(id))
                }
                _ => return Some(Rendered::Html(String::new())),
            };
            link(&url, file.unwrap_or("Gist on GitHub"))
        }
        "x" | "tweet" => {
            let user = args.named(&["user"]);
            let id = args.get("id", if user.is_some() { usize::MAX } else { 0 });
            match (user, id) {
                (Some(user), Some(id)) => link(
                    &format!("https://x.com/{}/status/{}", encode(user), encode(id)),
                    &format!("Post by @{user} on X"),
                ),
                (None, Some(id)) => link(
                    &format!("https://x.com/i/status/{}", encode(id)),
                    "Post on X",
                ),
                _ => String::new(),
            }
        }
        "instagram" => match args.get("id", 0) {
            Some(id) => link(
                &format!("https://www.instagram.com/p/{}/", encode(id)),
                "Post on Instagram",
            ),
            None => String::new(),
        },
        "highlight" => {
            let code = escape(raw.unwrap_or(""));
            match args.get("lang", 0) {
                Some(lang) => format!(
                    r#"<pre><code class="language-{}">{code}</code></pre>"#,
                    escape(lang)
                ),
                None => format!("<pre><code>{code}</code></pre>"),
            }
        }
        "details" => {
            let summary = args.get("summary", usize::MAX).unwrap_or("Details");
            let open = args.get("open", usize::MAX) == Some("true");
            format!(
                "<details{}><summary>{}</summary>{}</details>",
                if open { " open" } else { "" },
                escape(summary),
                body.map(|b| markdownify(cx, b)).unwrap_or_default(),
            )
        }
        "ref" | "relref" => {
            // Feeds need absolute links, so `relref` gives the same URL as `ref`.
            let Some(path) = args.get("path", 0) else {
                return Some(Rendered::Url(String::new()));
            };
            let reference = if path.starts_with('#') {
                path.to_owned()
            } else {
                format!("@/{}", path.trim_start_matches('/'))
            };
            return Some(Rendered::Url((cx.resolve)(&reference)));
        }
        _ => return None,
    };
    Some(Rendered::Html(html))
}

/// Hugo's `figure` (<https://gohugo.io/shortcodes/figure/>): the image, linked when `link` is
/// given, with its title and caption below; also the `image`/`img`/`resize_image` shortcodes
/// of Zola sites, whose source is `src` or `path`.
fn figure(cx: &Context<'_>, call: &Call) -> String {
    let args = &call.args;
    let Some(src) = args.get("src", 0).or_else(|| args.named(&["path", "url"])) else {
        return String::new();
    };
    let caption = args.named(&["caption"]);
    let title = args.named(&["title"]);
    let alt = args.named(&["alt"]).or(caption).unwrap_or("");
    let mut html = format!(
        r#"<img src="{}" alt="{}">"#,
        escape(&(cx.resolve)(src)),
        escape(alt)
    );
    if let Some(href) = args.named(&["link"]) {
        html = format!(r#"<a href="{}">{html}</a>"#, escape(&(cx.resolve)(href)));
    }
    let attr = args.named(&["attr"]);
    if call.name != "figure" && caption.is_none() && title.is_none() {
        return html;
    }
    let mut figcaption = String::new();
    if let Some(title) = title {
        _ = write!(figcaption, "<h4>{}</h4>", escape(title));
    }
    if caption.is_some() || attr.is_some() {
        let text = [caption, attr].into_iter().flatten().collect::<Vec<_>>();
        _ = write!(figcaption, "<p>{}</p>", escape(&text.join(" ")));
    }
    if figcaption.is_empty() {
        format!("<figure>{html}</figure>")
    } else {
        format!("<figure>{html}<figcaption>{figcaption}</figcaption></figure>")
    }
}

/// `<a href="url">text</a>`, both escaped.
fn link(url: &str, text: &str) -> String {
    format!(r#"<a href="{}">{}</a>"#, escape(url), escape(text))
}

/// What [`encode`] escapes: all but RFC 3986's unreserved characters.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `text` (an id or user name) fit for a URL path segment or query value.
fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text.trim(), NOT_UNRESERVED).to_string()
}

/// `text` escaped for HTML text and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A named argument in a template placeholder: ASCII letters, digits, `_` and `-`, not
/// starting with a digit or `-` (Zola's names are `[0-9A-Za-z_]`; Hugo's may hold `-`).
fn is_argument_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-')
}

/// The token starting at `src[at]` (a `{`), ending before `end`.
fn token_at(src: &str, at: usize, end: usize) -> Option<Found> {
    const FORMS: [(&str, &str, Syntax); 4] = [
        ("{{<", ">}}", Syntax::HugoHtml),
        ("{{%", "%}}", Syntax::HugoMarkdown),
        ("{{", "}}", Syntax::ZolaInline),
        ("{%", "%}", Syntax::ZolaBody),
    ];
    let text = &src[at..end];
    let (opener, closer, syntax) = FORMS.into_iter().find(|(o, _, _)| text.starts_with(o))?;
    let rest = &text[opener.len()..];
    let (token, used) = match syntax {
        Syntax::HugoHtml | Syntax::HugoMarkdown => hugo_tag(rest, closer, syntax, opener)?,
        Syntax::ZolaInline | Syntax::ZolaBody => zola_tag(rest, closer, syntax, opener)?,
    };
    Some(Found {
        token,
        end: at + opener.len() + used,
    })
}

/// The escape `/* … */` right after an opener: the literal shortcode it shows, and the length
/// read (of `rest`, the text after the opener).
fn escaped(rest: &str, opener: &str, closer: &str) -> Option<(Token, usize)> {
    let inner = rest.strip_prefix("/*")?;
    let stop = inner.find("*/")?;
    let after = &inner[stop + 2..];
    let tail = after.trim_start();
    tail.strip_prefix(closer)?;
    let used = rest.len() - tail.len() + closer.len();
    Some((
        Token::Escaped(format!("{opener}{}{closer}", &inner[..stop])),
        used,
    ))
}

/// A Hugo tag after its opener (`{{<` or `{{%`), up to `closer`: the token and the length of
/// `rest` it took.
fn hugo_tag(rest: &str, closer: &str, syntax: Syntax, opener: &str) -> Option<(Token, usize)> {
    if let Some(found) = escaped(rest, opener, closer) {
        return Some(found);
    }
    let mut cursor = Cursor::new(rest);
    cursor.skip_space();
    if cursor.eat("/") {
        cursor.skip_space();
        let name = cursor.take_while(|c| !c.is_whitespace() && c != '>' && c != '%');
        cursor.skip_space();
        if name.is_empty() || !cursor.eat(closer) {
            return None;
        }
        return Some((Token::Close(Some(name.to_owned())), cursor.pos));
    }
    let name = cursor.take_while(|c| !c.is_whitespace() && !closer.starts_with(c) && c != '"');
    // `{{< name/>}}`: the slash closes the tag.
    let (name, mut self_closed) = match name.strip_suffix('/') {
        Some(name) => (name, true),
        None => (name, false),
    };
    if name.is_empty() || name.starts_with('/') {
        return None;
    }
    let mut args = Args::default();
    loop {
        cursor.skip_space();
        if cursor.eat(closer) {
            break;
        }
        if cursor.rest().starts_with('/') && cursor.rest()[1..].trim_start().starts_with(closer) {
            cursor.eat("/");
            cursor.skip_space();
            cursor.eat(closer);
            self_closed = true;
            break;
        }
        if cursor.rest().is_empty() || cursor.rest().starts_with("\n\n") {
            return None;
        }
        let start = cursor.pos;
        let key = cursor.take_while(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !key.is_empty() && cursor.eat("=") {
            let value = hugo_value(&mut cursor, closer)?;
            args.named.insert(key.to_owned(), value);
        } else {
            cursor.pos = start;
            let value = hugo_value(&mut cursor, closer)?;
            args.positional.push(value);
        }
    }
    let call = Call {
        syntax,
        name: name.to_owned(),
        args,
        self_closed,
    };
    Some((Token::Open(call), cursor.pos))
}

/// One Hugo argument value: `"quoted"` with backslash escapes, `` `raw` ``, or a bare word.
fn hugo_value(cursor: &mut Cursor<'_>, closer: &str) -> Option<String> {
    if cursor.eat("\"") {
        return cursor.quoted('"');
    }
    if cursor.eat("`") {
        let value = cursor.take_while(|c| c != '`').to_owned();
        return cursor.eat("`").then_some(value);
    }
    let start = cursor.pos;
    while let Some(c) = cursor.peek() {
        let rest = cursor.rest();
        if c.is_whitespace()
            || rest.starts_with(closer)
            || (c == '/' && rest[1..].starts_with(closer))
        {
            break;
        }
        cursor.pos += c.len_utf8();
    }
    let value = &cursor.text[start..cursor.pos];
    (!value.is_empty()).then(|| value.to_owned())
}

/// A Zola tag after its opener (`{{` or `{%`), up to `closer` (`}}` or `%}`).
fn zola_tag(rest: &str, closer: &str, syntax: Syntax, opener: &str) -> Option<(Token, usize)> {
    if let Some(found) = escaped(rest, opener, closer) {
        return Some(found);
    }
    let mut cursor = Cursor::new(rest);
    cursor.skip_space();
    let name = cursor.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
    if name.is_empty() {
        return None;
    }
    cursor.skip_space();
    if syntax == Syntax::ZolaBody && name == "end" && cursor.eat(closer) {
        return Some((Token::Close(None), cursor.pos));
    }
    if !cursor.eat("(") {
        return None;
    }
    let mut args = Args::default();
    loop {
        cursor.skip_space();
        if cursor.eat(")") {
            break;
        }
        let key = cursor.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        cursor.skip_space();
        if key.is_empty() || !cursor.eat("=") {
            return None;
        }
        cursor.skip_space();
        let value = zola_value(&mut cursor)?;
        args.named.insert(key.to_owned(), value);
        cursor.skip_space();
        cursor.eat(",");
    }
    cursor.skip_space();
    if !cursor.eat(closer) {
        return None;
    }
    let call = Call {
        syntax,
        name: name.to_owned(),
        args,
        self_closed: false,
    };
    Some((Token::Open(call), cursor.pos))
}

/// One Zola argument value: a string in `"`, `'` or `` ` ``, a number or boolean, or a list
/// of those (its items joined with ", ").
fn zola_value(cursor: &mut Cursor<'_>) -> Option<String> {
    for quote in ['"', '\'', '`'] {
        if cursor.eat(quote.encode_utf8(&mut [0; 4])) {
            return cursor.quoted(quote);
        }
    }
    if cursor.eat("[") {
        let mut items = Vec::new();
        loop {
            cursor.skip_space();
            if cursor.eat("]") {
                return Some(items.join(", "));
            }
            items.push(zola_value(cursor)?);
            cursor.skip_space();
            cursor.eat(",");
        }
    }
    let value = cursor.take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'));
    (!value.is_empty()).then(|| value.to_owned())
}

/// A position in a tag's text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, prefix: &str) -> bool {
        let found = self.rest().starts_with(prefix);
        if found {
            self.pos += prefix.len();
        }
        found
    }

    /// Tags span a line or a few; a blank line means the `{{` was not a tag.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek()
            && c.is_whitespace()
            && !self.rest().starts_with("\n\n")
        {
            self.pos += c.len_utf8();
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek()
            && keep(c)
        {
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }

    /// The rest of a string opened by `quote`, `\` escaping the next character; `None` when
    /// it is not closed.
    fn quoted(&mut self, quote: char) -> Option<String> {
        let mut value = String::new();
        let mut escaped = false;
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            match c {
                _ if escaped => {
                    value.push(c);
                    escaped = false;
                }
                '\\' if quote != '`' => escaped = true,
                c if c == quote => return Some(value),
                c => value.push(c),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `body` expanded and filled, with the unknown names; the Markdown of bodies is shown
    /// inside `<md>` so that tests see where it was rendered.
    fn run_with(body: &str, templates: &Templates) -> (String, Vec<String>) {
        let resolve = |reference: &str| match reference.strip_prefix("@/") {
            Some(path) => format!("https://example.org/{path}"),
            None if reference.starts_with("http") => reference.to_owned(),
            None => format!("https://example.org/post/{reference}"),
        };
        let markdown = |text: &str| format!("<md>{text}</md>");
        let cx = Context {
            templates,
            resolve: &resolve,
            markdown: &markdown,
        };
        let expanded = expand(body, &[], &cx);
        (expanded.fill(&expanded.markdown), expanded.unknown)
    }

    fn run(body: &str) -> String {
        let (out, unknown) = run_with(body, &Templates::new());
        assert!(unknown.is_empty(), "{unknown:?}");
        out
    }

    #[test]
    fn hugo_figure_with_named_arguments_quoted_and_raw() {
        let out = run(
            r#"{{< figure src="cat.jpg" alt="A \"cat\"" caption=`On a <mat>` link="/cats/" >}}"#,
        );
        assert_eq!(
            out,
            r#"<figure><a href="https://example.org/post//cats/"><img src="https://example.org/post/cat.jpg" alt="A &quot;cat&quot;"></a><figcaption><p>On a &lt;mat&gt;</p></figcaption></figure>"#
        );
    }

    #[test]
    fn hugo_positional_arguments_and_self_closing_tags() {
        assert_eq!(
            run("{{< youtube dQw4w9WgXcQ >}}"),
            r#"<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"><img src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg" alt="YouTube video"></a>"#
        );
        assert_eq!(
            run(r#"{{< youtube id="abc" title="Talk" />}} after"#),
            r#"<a href="https://www.youtube.com/watch?v=abc"><img src="https://i.ytimg.com/vi/abc/hqdefault.jpg" alt="Talk"></a> after"#
        );
        assert_eq!(
            run("{{< youtube id=abc start=90/>}}{{< /youtube >}}"),
            r#"<a href="https://www.youtube.com/watch?v=abc&amp;t=90"><img src="https://i.ytimg.com/vi/abc/hqdefault.jpg" alt="YouTube video"></a>"#
        );
        assert_eq!(
            run("{{< gist spf13 7896402 \"img.html\" >}}"),
            r#"<a href="https://gist.github.com/spf13/7896402">img.html</a>"#
        );
        assert_eq!(
            run("{{< vimeo 55073825 >}}"),
            r#"<a href="https://vimeo.com/55073825">Video on Vimeo</a>"#
        );
        assert_eq!(
            run(r#"{{< x user="SanDiegoZoo" id="1453110110599868418" >}}"#),
            r#"<a href="https://x.com/SanDiegoZoo/status/1453110110599868418">Post by @SanDiegoZoo on X</a>"#
        );
        assert_eq!(
            run("{{< tweet 877500564405444608 >}}"),
            r#"<a href="https://x.com/i/status/877500564405444608">Post on X</a>"#
        );
        assert_eq!(
            run(r#"{{< vimeo id="a b/c" title="T" >}}"#),
            r#"<a href="https://vimeo.com/a%20b%2Fc">T</a>"#
        );
        assert_eq!(
            run("{{< instagram CxOWiQNP2MO >}}"),
            r#"<a href="https://www.instagram.com/p/CxOWiQNP2MO/">Post on Instagram</a>"#
        );
    }

    #[test]
    fn hugo_paired_shortcodes_get_their_body() {
        assert_eq!(
            run("{{< highlight go \"linenos=inline\" >}}\nif a < b {}\n{{< /highlight >}}"),
            r#"<pre><code class="language-go">if a &lt; b {}</code></pre>"#
        );
        assert_eq!(
            run("{{% details summary=\"More\" %}}\nSome **text**\n{{% /details %}}"),
            "<details><summary>More</summary><md>Some **text**</md></details>"
        );
    }

    #[test]
    fn ref_and_relref_give_absolute_urls_in_the_markdown() {
        assert_eq!(
            run(r#"[next]({{< ref "blog/next.md" >}}) and {{< relref "/about.md#team" >}}"#),
            "[next](https://example.org/blog/next.md) and https://example.org/about.md#team"
        );
        assert_eq!(
            run(r##"[top]({{< relref "#top" >}}) [none]({{< ref >}})"##),
            "[top](https://example.org/post/#top) [none]()"
        );
    }

    #[test]
    fn zola_inline_and_body_shortcodes() {
        assert_eq!(
            run(r#"{{ youtube(id="dQw4w9WgXcQ", autoplay=true) }}"#),
            r#"<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"><img src="https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg" alt="YouTube video"></a>"#
        );
        assert_eq!(
            run(r#"{{ resize_image(path='img/a.png', width=600, op="fit_width") }}"#),
            r#"<img src="https://example.org/post/img/a.png" alt="">"#
        );
        let quote = ShortcodeTemplate::parse(
            "<blockquote>{{ body }}<cite>{{ author }}</cite></blockquote>",
        )
        .unwrap();
        let templates = Templates::from([("quote".to_owned(), quote)]);
        let (out, unknown) = run_with(
            "{% quote(author=\"Vincent & co\", tags=[\"a\", 'b']) %}\nA quote\n{% end %}",
            &templates,
        );
        assert_eq!(
            out,
            "<blockquote><md>A quote</md><cite>Vincent &amp; co</cite></blockquote>"
        );
        assert!(unknown.is_empty());
        // Without parentheses Zola renders the text as it is, and so does crier.
        assert_eq!(
            run("{{ youtube }} and {{ a.b }}"),
            "{{ youtube }} and {{ a.b }}"
        );
    }

    #[test]
    fn templates_take_positional_and_named_arguments() {
        let note = ShortcodeTemplate::parse(
            r#"<aside class="{{ 0 }}" title="{{ title }}">{{ body }}</aside>"#,
        )
        .unwrap();
        let templates = Templates::from([("note".to_owned(), note)]);
        let (out, _) = run_with(r#"{{< note warning >}}Careful{{< /note >}}"#, &templates);
        assert_eq!(
            out,
            r#"<aside class="warning" title="">Careful</aside>"#
                .replace("Careful", "<md>Careful</md>")
        );
        // A configured template wins over the built-in rendering.
        let plain = ShortcodeTemplate::parse("[video {{ 0 }}]").unwrap();
        let templates = Templates::from([("youtube".to_owned(), plain)]);
        assert_eq!(run_with("{{< youtube x1 >}}", &templates).0, "[video x1]");
    }

    #[test]
    fn unknown_shortcodes_are_removed_and_named() {
        let (out, unknown) = run_with(
            "A {{< badge \"new\" >}}B {{% include \"x.md\" %}}C\n{{% mark %}}kept **inner**{{% /mark %}}\n{% note() %}\nbody\n{% end %}\n{{ chart(data=[1, 2]) }}",
            &Templates::new(),
        );
        assert_eq!(out, "A B C\nkept **inner**\nbody\n");
        assert_eq!(unknown, ["badge", "include", "mark", "note", "chart"]);
    }

    #[test]
    fn nested_shortcodes_are_rendered_inside_out() {
        let box_ = ShortcodeTemplate::parse("<div>{{ body }}</div>").unwrap();
        let templates = Templates::from([("box".to_owned(), box_)]);
        let (out, _) = run_with(
            "{{< box >}}\n{{< box >}}\n{{< instagram p1 >}}\n{{< /box >}}\n{{< /box >}}",
            &templates,
        );
        assert_eq!(
            out,
            r#"<div><md><div><md><a href="https://www.instagram.com/p/p1/">Post on Instagram</a></md></div></md></div>"#
        );
    }

    #[test]
    fn escaped_shortcodes_become_their_literal_text() {
        assert_eq!(
            run(
                r#"{{</* figure src="a.jpg" */>}} {{%/* note */%}} {{/* youtube(id="x") */}} {%/* quote() */%}"#
            ),
            r#"{{< figure src="a.jpg" >}} {{% note %}} {{ youtube(id="x") }} {% quote() %}"#
        );
    }

    #[test]
    fn a_placeholder_alone_in_a_paragraph_replaces_it() {
        let resolve = |r: &str| r.to_owned();
        let markdown = |t: &str| t.to_owned();
        let templates = Templates::new();
        let cx = Context {
            templates: &templates,
            resolve: &resolve,
            markdown: &markdown,
        };
        let e = expand("{{< vimeo 1 >}}", &[], &cx);
        let html = format!("<p>{}</p>\n<p>See {} here</p>", e.markdown, e.markdown);
        assert_eq!(
            e.fill(&html),
            "<a href=\"https://vimeo.com/1\">Video on Vimeo</a>\n<p>See <a href=\"https://vimeo.com/1\">Video on Vimeo</a> here</p>"
        );
        assert_eq!(e.without_placeholders(&html), "<p></p>\n<p>See  here</p>");
    }

    #[test]
    fn templates_refuse_unknown_placeholders() {
        for bad in [
            "{{ .Inner }}",
            "{{ body | markdown }}",
            "<b>{{ title </b>",
            "{{ }}",
        ] {
            let err = ShortcodeTemplate::parse(bad).unwrap_err();
            assert!(err.contains("{{ body }}"), "{bad}: {err}");
        }
        let ok = ShortcodeTemplate::parse("<i>{{ 1 }}</i>{{body}}{{ data-x }}").unwrap();
        assert_eq!(
            ok.parts,
            [
                Part::Text("<i>".into()),
                Part::Positional(1),
                Part::Text("</i>".into()),
                Part::Body,
                Part::Named("data-x".into()),
            ]
        );
    }

    proptest::proptest! {
        /// Any text, however broken its tags, is read without a panic and leaves no
        /// placeholder behind.
        #[test]
        fn any_text_expands_without_leftovers(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{{<", ">}}", "{{%", "%}}", "{{", "}}", "{%", "%}", "/", "/*", "*/", "(",
                    ")", "\"", "'", "`", "=", ",", "[", "]", " ", "\n", "\n\n", "é", "👨\u{200d}👩",
                    "end", "figure", "x", "note", "highlight", "<p>", "</p>", "\u{E000}",
                ]),
                0..40,
            )
        ) {
            let body: String = pieces.concat();
            let box_ = ShortcodeTemplate::parse("<div>{{ body }}{{ 0 }}</div>").unwrap();
            let templates = Templates::from([("note".to_owned(), box_)]);
            let (out, _) = run_with(&body, &templates);
            let ours = out.matches(OPEN).count();
            proptest::prop_assert!(ours <= body.matches(OPEN).count(), "{body:?} → {out:?}");
        }
    }
}

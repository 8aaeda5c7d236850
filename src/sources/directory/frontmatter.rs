//! Finding the front matter at the top of a file and parsing it into one JSON-like map, whatever
//! its language: TOML between `+++` lines (Zola, Hugo), YAML between `---` lines (Hugo), or a
//! JSON object from a `{` that starts the file to its matching `}` (Hugo: see
//! <https://gohugo.io/content-management/front-matter/>; its lexer ends the object at the
//! brace that closes it, braces inside strings not counted, and the body starts on the line
//! after).
//!
//! TOML datetimes become strings in their TOML spelling (`2024-03-12T09:30:00+01:00`,
//! `2024-03-12`), which the date reader accepts and templates can print as they are.
//!
//! The work one file can cost is bounded before a parser runs: front matter longer than
//! [`MAX_SIZE`] is refused, and so is YAML nesting deeper than [`MAX_YAML_DEPTH`] (measured
//! by `depth`), which libyaml takes quadratic time over. The TOML parser stops deep nesting
//! early on its own.

use serde_json::{Map, Number, Value};

use super::Problem;
use super::depth;

/// The longest front matter read, in bytes. Real front matter is a few hundred bytes to a
/// few KiB; long text belongs in the body.
pub(super) const MAX_SIZE: usize = 64 * 1024;

/// The deepest YAML nesting read. Front matter nests three or four levels; the YAML parser
/// itself stops at 128, but only after work that grows with depth times length.
pub(super) const MAX_YAML_DEPTH: usize = 32;

/// Front matter language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Toml,
    Yaml,
    Json,
}

/// A file split into parsed front matter and Markdown body.
pub(super) struct FrontMatter<'a> {
    pub(super) format: Format,
    pub(super) fields: Map<String, Value>,
    pub(super) lines: KeyLines<'a>,
    pub(super) body: &'a str,
}

/// The raw front matter text, to find the line a key is written on.
pub(super) struct KeyLines<'a> {
    text: &'a str,
    /// File line of the first front matter line (the one after the opening delimiter).
    first_line: usize,
}

impl KeyLines<'_> {
    /// File line where `key` is first written as `key = …`, `key: …` or with quotes; a plain
    /// scan, good enough to point an editor at the right place.
    pub(super) fn line_of(&self, key: &str) -> Option<usize> {
        self.text.lines().enumerate().find_map(|(i, line)| {
            let line = line.trim_start();
            let rest = ["\"", "'", ""].iter().find_map(|quote| {
                let rest = line.strip_prefix(quote)?.strip_prefix(key)?;
                rest.strip_prefix(quote)
            })?;
            let rest = rest.trim_start();
            (rest.starts_with('=') || rest.starts_with(':')).then_some(self.first_line + i)
        })
    }

    /// File line of a byte offset within the front matter text.
    fn line_at(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.first_line
            + self.text.as_bytes()[..end]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
    }
}

/// The file as text, or the line of its first byte that is not UTF-8.
pub(super) fn decode(bytes: &[u8]) -> Result<&str, Problem> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + good.iter().rev().take_while(|&&b| b != b'\n').count();
        Problem::new(
            Some(line),
            format!(
                "not valid UTF-8 (bad byte 0x{:02X} at column {column}); save the file as UTF-8",
                bytes[e.valid_up_to()]
            ),
        )
    })
}

/// Splits off and parses the front matter. A UTF-8 byte order mark, blank lines before the
/// opening delimiter and CRLF line ends are tolerated.
pub(super) fn parse(text: &str) -> Result<FrontMatter<'_>, Problem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = LineIter {
        text,
        pos: 0,
        number: 0,
    };

    let (format, delimiter, open_line) = loop {
        let line_start = lines.pos;
        let Some((line, number)) = lines.next() else {
            return Err(no_front_matter(None));
        };
        match line.trim_end() {
            "" => continue,
            "+++" => break (Format::Toml, "+++", number),
            "---" => break (Format::Yaml, "---", number),
            json if json.starts_with('{') => {
                return parse_json_front_matter(text, line_start, number);
            }
            _ => return Err(no_front_matter(Some(number))),
        }
    };
    let start = lines.pos;
    let (end, body_start) = loop {
        let line_start = lines.pos;
        let Some((line, _)) = lines.next() else {
            return Err(Problem::new(
                Some(open_line),
                format!(
                    "the front matter opened with `{delimiter}` on this line is never closed; \
                     add a `{delimiter}` line after the last field"
                ),
            ));
        };
        if line.trim_end() == delimiter {
            break (line_start, lines.pos);
        }
    };
    check_size(end - start, open_line, delimiter)?;
    let lines = KeyLines {
        text: &text[start..end],
        first_line: open_line + 1,
    };
    let fields = match format {
        Format::Toml => parse_toml(&lines)?,
        Format::Yaml => parse_yaml(&lines)?,
        Format::Json => parse_json(&lines)?,
    };
    Ok(FrontMatter {
        format,
        fields,
        lines,
        body: &text[body_start..],
    })
}

/// Refuses front matter longer than [`MAX_SIZE`], which opened on `open_line` and closes
/// with `close`.
fn check_size(size: usize, open_line: usize, close: &str) -> Result<(), Problem> {
    if size <= MAX_SIZE {
        return Ok(());
    }
    Err(Problem::new(
        Some(open_line),
        format!(
            "the front matter opened on this line is {} KiB long, more than the {} KiB \
             crier reads; move long text below the closing `{close}`, into the body",
            size.div_ceil(1024),
            MAX_SIZE / 1024
        ),
    ))
}

/// JSON front matter: the object that opens at byte `start` (line `open_line`) of `text`.
fn parse_json_front_matter(
    text: &str,
    start: usize,
    open_line: usize,
) -> Result<FrontMatter<'_>, Problem> {
    let Some(end) = matching_brace(&text[start..]).map(|end| start + end) else {
        return Err(Problem::new(
            Some(open_line),
            "the JSON front matter opened with `{` on this line is never closed; add the `}` \
             that closes it after the last field",
        ));
    };
    check_size(end - start, open_line, "}")?;
    // The body starts on the line after the closing brace, as in Hugo.
    let body_start = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    let lines = KeyLines {
        text: &text[start..end],
        first_line: open_line,
    };
    let fields = parse_json(&lines)?;
    Ok(FrontMatter {
        format: Format::Json,
        fields,
        lines,
        body: &text[body_start..],
    })
}

/// The byte just past the `}` that closes the object `text` starts with; braces inside JSON
/// strings do not count.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        // Far past the size limit: stop scanning, the size check refuses it.
        if i > MAX_SIZE * 2 {
            return Some(i);
        }
    }
    None
}

fn no_front_matter(line: Option<usize>) -> Problem {
    Problem::new(
        line,
        "no front matter: start the file with a `+++` line, TOML fields (`title = \"…\"`, \
         `date = 2024-03-12`) and another `+++` line, the same in YAML between `---` lines, \
         or a JSON object (`{ \"title\": \"…\" }`)",
    )
}

/// Lines with their 1-based numbers, keeping track of the byte position after each.
struct LineIter<'a> {
    text: &'a str,
    pos: usize,
    number: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = (&'a str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.pos..];
        let (line, advance) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        self.number += 1;
        Some((line, self.number))
    }
}

fn parse_toml(lines: &KeyLines<'_>) -> Result<Map<String, Value>, Problem> {
    let table: toml::Table = toml::from_str(lines.text).map_err(|e| {
        let line = e.span().map(|span| lines.line_at(span.start));
        Problem::new(
            line,
            format!(
                "invalid TOML front matter: {}; check quotes, commas and `key = value` syntax",
                e.message().trim_end()
            ),
        )
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| (k, toml_to_json(v)))
        .collect())
}

fn parse_json(lines: &KeyLines<'_>) -> Result<Map<String, Value>, Problem> {
    serde_json::from_str(lines.text).map_err(|e| {
        let message = e.to_string();
        // The location is relative to the front matter; the message repeats it, so cut it off.
        let message = message.split(" at line ").next().unwrap_or(&message);
        Problem::new(
            Some(lines.first_line + e.line().saturating_sub(1)),
            format!(
                "invalid JSON front matter: {message}; check quotes, commas and \
                 `\"key\": value` syntax"
            ),
        )
    })
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Number(i.into()),
        toml::Value::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

fn parse_yaml(lines: &KeyLines<'_>) -> Result<Map<String, Value>, Problem> {
    if let Some(deep) = depth::too_deep(lines.text, MAX_YAML_DEPTH) {
        return Err(Problem::new(
            Some(lines.first_line + deep.line),
            format!(
                "the YAML front matter nests more than {MAX_YAML_DEPTH} levels deep here, \
                 the most crier reads; flatten these fields"
            ),
        ));
    }
    let yaml_error = |e: serde_yaml_ng::Error| {
        // The location is relative to the front matter; the message repeats it, so cut it off.
        let line = e.location().map(|l| lines.first_line + l.line() - 1);
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message);
        Problem::new(
            line,
            format!(
                "invalid YAML front matter: {message}; check indentation and `key: value` syntax"
            ),
        )
    };
    let mut value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(lines.text).map_err(yaml_error)?;
    value.apply_merge().map_err(yaml_error)?;
    match yaml_to_json(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Problem::new(
            Some(lines.first_line),
            "the YAML front matter must be `key: value` lines",
        )),
        Err(message) => Err(Problem::new(Some(lines.first_line), message)),
    }
}

fn yaml_to_json(value: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                n.as_f64()
                    .and_then(Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut map = Map::new();
            for (k, v) in mapping {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => {
                        return Err("the YAML front matter has a key that is not a plain \
                                    word; write keys as `name: value`"
                            .to_owned());
                    }
                };
                map.insert(key, yaml_to_json(v)?);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

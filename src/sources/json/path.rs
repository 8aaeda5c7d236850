//! Paths into a JSON document, in two spellings that mean the same thing:
//!
//! - JSON Pointer (RFC 6901) when the path starts with `/`: `/title/rendered`,
//!   `/_embedded/wp:featuredmedia/0/source_url`, with `~1` for a `/` and `~0` for a `~`
//!   inside a member name;
//! - a dotted form otherwise: `title.rendered`, `tags.*.name`, with brackets for indexes and
//!   for names that hold a dot: `_embedded["wp:featuredmedia"][0].source_url`.
//!
//! Both add `*`, "every element of an array or every member of an object", so one path can
//! collect all the term names of a WordPress post (`/_embedded/wp:term/*/*/name`). A
//! consequence: a member literally named `*` cannot be reached, which no API we know uses.
//! A numeric step indexes an array and names a member of an object, so `/0` works on both.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A parsed path, displayed as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    raw: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A member name, or an array index when the value is an array.
    Key(String),
    /// Every element or member.
    Every,
}

impl Path {
    /// Parses either spelling; the error says what is wrong with the text.
    pub fn parse(text: &str) -> Result<Path, String> {
        let steps = if text.is_empty() {
            return Err("is empty; write a path such as \"/title\" or \"title.rendered\"".into());
        } else if let Some(pointer) = text.strip_prefix('/') {
            pointer
                .split('/')
                .map(pointer_step)
                .collect::<Result<_, _>>()?
        } else {
            dotted(text)?
        };
        Ok(Path {
            raw: text.to_owned(),
            steps,
        })
    }

    /// The path as written in the config.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Every value the path reaches, in document order; empty when it reaches none.
    pub fn resolve<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        let mut found = Vec::new();
        walk(value, &self.steps, &mut found);
        found
    }

    /// The first value the path reaches that is not `null`.
    pub fn first<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.resolve(value).into_iter().find(|v| !v.is_null())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Written as configured.
impl Serialize for Path {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

/// Parsed when the config is read, so that a path that does not parse is a config error.
impl<'de> Deserialize<'de> for Path {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Path::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn walk<'v>(value: &'v Value, steps: &[Step], found: &mut Vec<&'v Value>) {
    let Some((step, rest)) = steps.split_first() else {
        found.push(value);
        return;
    };
    match (step, value) {
        (Step::Every, Value::Array(items)) => {
            for item in items {
                walk(item, rest, found);
            }
        }
        (Step::Every, Value::Object(members)) => {
            for member in members.values() {
                walk(member, rest, found);
            }
        }
        (Step::Key(key), Value::Object(members)) => {
            if let Some(member) = members.get(key) {
                walk(member, rest, found);
            }
        }
        (Step::Key(key), Value::Array(items)) => {
            if let Some(item) = index(key).and_then(|i| items.get(i)) {
                walk(item, rest, found);
            }
        }
        _ => {}
    }
}

/// An array index as RFC 6901 writes it: digits, no leading zero.
fn index(key: &str) -> Option<usize> {
    let canonical = key == "0" || (!key.starts_with('0') && !key.is_empty());
    if canonical && key.bytes().all(|b| b.is_ascii_digit()) {
        key.parse().ok()
    } else {
        None
    }
}

fn pointer_step(token: &str) -> Result<Step, String> {
    if token == "*" {
        return Ok(Step::Every);
    }
    let mut name = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            name.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => name.push('~'),
            Some('1') => name.push('/'),
            _ => {
                return Err(format!(
                    "{token:?}: `~` must be followed by 0 (for `~`) or 1 (for `/`), as JSON Pointer (RFC 6901) writes them"
                ));
            }
        }
    }
    Ok(Step::Key(name))
}

/// `a.b`, `a.*.b`, `a[0].b`, `a["b.c"]`, `[0].a`.
// One loop over the characters with its cases side by side: split up, the grammar would be
// harder to check against the examples above.
fn dotted(text: &str) -> Result<Vec<Step>, String> {
    let hint = "write member names separated by dots, with [0], [*] or [\"name\"] after a name";
    let mut steps = Vec::new();
    let mut chars = text.chars().peekable();
    let mut name = String::new();
    // Whether a step just ended with `]`, after which only `.`, `[` or the end may follow.
    let mut after_bracket = false;
    loop {
        match chars.next() {
            None => {
                if name.is_empty() && !after_bracket {
                    return Err(format!("{text:?} ends with a dot; {hint}"));
                }
                if !name.is_empty() {
                    steps.push(named(name));
                }
                return Ok(steps);
            }
            Some('.') => {
                if name.is_empty() && !after_bracket {
                    return Err(format!("{text:?} has an empty member name; {hint}"));
                }
                if !name.is_empty() {
                    steps.push(named(std::mem::take(&mut name)));
                }
                after_bracket = false;
            }
            Some('[') => {
                if !name.is_empty() {
                    steps.push(named(std::mem::take(&mut name)));
                }
                let mut inside = String::new();
                let mut closed = false;
                let quote = chars.peek().copied().filter(|c| matches!(c, '"' | '\''));
                if let Some(q) = quote {
                    chars.next();
                    for c in chars.by_ref() {
                        if c == q {
                            closed = chars.next() == Some(']');
                            break;
                        }
                        inside.push(c);
                    }
                    if !closed {
                        return Err(format!(
                            "{text:?}: a quoted name in brackets must end with {q}]"
                        ));
                    }
                    steps.push(Step::Key(inside));
                } else {
                    for c in chars.by_ref() {
                        if c == ']' {
                            closed = true;
                            break;
                        }
                        inside.push(c);
                    }
                    if !closed {
                        return Err(format!("{text:?}: a `[` is not closed; {hint}"));
                    }
                    let inside = inside.trim();
                    if inside == "*" {
                        steps.push(Step::Every);
                    } else if !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_digit()) {
                        steps.push(Step::Key(inside.to_owned()));
                    } else {
                        return Err(format!(
                            "{text:?}: [{inside}] is neither an index, [*] nor a quoted name; {hint}"
                        ));
                    }
                }
                after_bracket = true;
                match chars.peek() {
                    None | Some('.') | Some('[') => {}
                    Some(c) => {
                        return Err(format!("{text:?}: {c:?} cannot follow `]`; {hint}"));
                    }
                }
            }
            Some(']') => return Err(format!("{text:?}: `]` without `[`; {hint}")),
            Some(c) => name.push(c),
        }
    }
}

fn named(name: String) -> Step {
    if name == "*" {
        Step::Every
    } else {
        Step::Key(name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn post() -> Value {
        json!({
            "id": 42,
            "title": {"rendered": "Ghent"},
            "a/b": {"m~n": 1},
            "tags": [{"name": "Roma"}, {"name": "Education"}, {"other": true}],
            "_embedded": {
                "wp:term": [[{"name": "Prize"}], [{"name": "Youth"}, {"name": "Housing"}]],
                "wp:featuredmedia": [{"source_url": "https://x.example/a.jpg"}]
            },
            "with.dot": "yes",
            "0": "member zero",
            "empty": null
        })
    }

    fn texts(path: &str) -> Vec<Value> {
        Path::parse(path)
            .unwrap()
            .resolve(&post())
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        assert_eq!(texts("/title/rendered"), [json!("Ghent")]);
        assert_eq!(texts("/a~1b/m~0n"), [json!(1)]);
        assert_eq!(texts("/tags/1/name"), [json!("Education")]);
        assert_eq!(texts("/tags/01/name"), Vec::<Value>::new());
        assert_eq!(texts("/0"), [json!("member zero")]);
        assert_eq!(texts("/missing/x"), Vec::<Value>::new());
        assert_eq!(texts("/id/x"), Vec::<Value>::new());
        assert_eq!(
            texts("/_embedded/wp:featuredmedia/0/source_url"),
            [json!("https://x.example/a.jpg")]
        );
    }

    #[test]
    fn stars_collect_every_element_in_order() {
        assert_eq!(
            texts("/_embedded/wp:term/*/*/name"),
            [json!("Prize"), json!("Youth"), json!("Housing")]
        );
        assert_eq!(texts("tags.*.name"), [json!("Roma"), json!("Education")]);
        assert_eq!(texts("tags[*].name"), [json!("Roma"), json!("Education")]);
    }

    #[test]
    fn dotted_paths_mean_the_same() {
        assert_eq!(texts("title.rendered"), [json!("Ghent")]);
        assert_eq!(texts("tags.0.name"), [json!("Roma")]);
        assert_eq!(texts("tags[1].name"), [json!("Education")]);
        assert_eq!(
            texts("_embedded[\"wp:featuredmedia\"][0].source_url"),
            [json!("https://x.example/a.jpg")]
        );
        assert_eq!(texts("['with.dot']"), [json!("yes")]);
        assert_eq!(texts("id"), [json!(42)]);
    }

    #[test]
    fn first_skips_nulls() {
        let value = json!([null, {"a": null}, {"a": 2}]);
        let path = Path::parse("/*/a").unwrap();
        assert_eq!(path.first(&value), Some(&json!(2)));
        assert_eq!(Path::parse("empty").unwrap().first(&post()), None);
    }

    #[test]
    fn bad_paths_are_refused_with_a_reason() {
        for bad in [
            "", "a..b", "a.", ".a", "a[", "a[x]", "a]", "a[0]b", "/a~2", "/a~", "a[\"b]",
        ] {
            let err = Path::parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(Path::parse("/").is_ok(), "RFC 6901: the member named \"\"");
        assert_eq!(Path::parse("x.y").unwrap().to_string(), "x.y");
    }
}

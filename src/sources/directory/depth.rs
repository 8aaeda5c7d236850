//! How deeply YAML front matter nests, measured with one cheap pass over its lines before the
//! YAML parser sees it.
//!
//! libyaml (under `serde_yaml_ng`) rescans every open flow collection for each token, so the
//! time it takes grows with depth times length: 200 KB of `[[[[…` take it seconds to refuse.
//! This pass counts what opens a level: a deeper indentation, a `- ` sequence entry, and a
//! `[` or `{` where a value starts (anywhere inside a flow collection), skipping quoted
//! strings, comments and the lines of `|` and `>` block scalars. It is an upper bound, close
//! enough to refuse pathological files while every real front matter, a few levels deep,
//! passes; the parser itself refuses anything deeper than 128 levels in any case.

/// Where the nesting first goes deeper than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TooDeep {
    /// 0-based line within the text.
    pub(super) line: usize,
}

/// The scan's state, carried from one line to the next.
#[derive(Debug, Default)]
struct Scan {
    /// Indentation of each open block level.
    indents: Vec<usize>,
    /// Levels opened by the last block line: its indentation levels and `- ` entries.
    block: usize,
    /// Open flow collections (`[`, `{`).
    flow: usize,
    /// The quote of a quoted string still open at the end of the last line.
    quote: Option<u8>,
    /// The indentation of the line that opened a block scalar whose lines are being skipped.
    block_scalar: Option<usize>,
    /// Whether a value may start here (after `key:`, `[`, `,`), where `[` opens a collection
    /// and a quote a string; carried over the lines of a flow collection.
    value_start: bool,
}

/// The first line of `text` (YAML) where more than `limit` levels are open, if any.
pub(super) fn too_deep(text: &str, limit: usize) -> Option<TooDeep> {
    let mut scan = Scan::default();
    for (line, content) in text.lines().enumerate() {
        let indent = content.len() - content.trim_start_matches(' ').len();
        let rest = &content[indent..];
        if let Some(parent) = scan.block_scalar {
            if rest.trim().is_empty() || indent > parent {
                continue;
            }
            scan.block_scalar = None;
        }
        let inline = scan.flow > 0 || scan.quote.is_some();
        let rest = if inline {
            content
        } else {
            if rest.is_empty() || rest.starts_with('#') {
                continue;
            }
            scan.value_start = true;
            scan.open_block(indent, rest)
        };
        if scan.value(rest, indent) > limit {
            return Some(TooDeep { line });
        }
    }
    None
}

impl Scan {
    /// Starts a block line indented by `indent`: closes the deeper levels, opens its own and
    /// one per leading `- ` entry; returns what follows those.
    fn open_block<'a>(&mut self, indent: usize, mut rest: &'a str) -> &'a str {
        while self.indents.last().is_some_and(|&open| open >= indent) {
            self.indents.pop();
        }
        self.indents.push(indent);
        self.block = self.indents.len();
        loop {
            let after = rest
                .strip_prefix("- ")
                .or_else(|| rest.strip_prefix("? "))
                .or_else(|| (rest == "-").then_some(""));
            match after {
                Some(after) => {
                    self.block += 1;
                    rest = after.trim_start_matches(' ');
                }
                None => return rest,
            }
        }
    }

    /// Scans the values on one line, indented by `indent`; returns the most levels open at
    /// any point of it.
    fn value(&mut self, rest: &str, indent: usize) -> usize {
        let bytes = rest.as_bytes();
        let mut value_start = self.value_start;
        let mut deepest = self.block + self.flow;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let next = bytes.get(i + 1).copied();
            if let Some(quote) = self.quote {
                match (quote, b) {
                    (b'"', b'\\') => i += 1,
                    (b'\'', b'\'') if next == Some(b'\'') => i += 1,
                    (q, b) if q == b => {
                        self.quote = None;
                        value_start = false;
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            let after_space = i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t';
            let in_flow = self.flow > 0;
            let ends_token = |c: Option<u8>| {
                c.is_none_or(|c| c == b' ' || c == b'\t' || (in_flow && b",]}".contains(&c)))
            };
            match b {
                b' ' | b'\t' => {}
                b'#' if after_space => break,
                b'"' | b'\'' if value_start => self.quote = Some(b),
                b'[' | b'{' if value_start || self.flow > 0 => {
                    self.flow += 1;
                    deepest = deepest.max(self.block + self.flow);
                    value_start = true;
                }
                b']' | b'}' if self.flow > 0 => {
                    self.flow -= 1;
                    value_start = false;
                }
                b',' if self.flow > 0 => value_start = true,
                b':' if ends_token(next) => value_start = true,
                // An anchor or a tag comes before the value it names.
                b'&' | b'!' if value_start => {
                    while i + 1 < bytes.len() && !matches!(bytes[i + 1], b' ' | b'\t') {
                        i += 1;
                    }
                }
                b'|' | b'>' if value_start && self.flow == 0 => {
                    self.block_scalar = Some(indent);
                    break;
                }
                _ => value_start = false,
            }
            i += 1;
        }
        self.value_start = value_start;
        deepest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_refused(text: &str, limit: usize) -> Option<usize> {
        too_deep(text, limit).map(|d| d.line)
    }

    /// The smallest limit `text` passes.
    fn depth(text: &str) -> usize {
        (0..200)
            .find(|&limit| too_deep(text, limit).is_none())
            .expect("less than 200 levels")
    }

    #[test]
    fn ordinary_front_matter_is_a_few_levels_deep() {
        let text = "\
title: \"Gand : une école [pour tous]\"
date: 2024-03-12T09:30:00+01:00
tags: [education, \"a, b\", 'l''école']
summary: a plain text with [brackets] and {braces}, and l'apostrophe
url: https://example.org/a?b=[c]
params:
  place:
    name: Gand
    coordinates: [51.05, 3.72]
authors:
- name: Ana
  links: {site: 'https://ana.example', social: [\"@ana\"]}
description: |
  A block scalar: [[[[[[[[[[ {{{{{{{{{{
      indented code
# a comment [[[[[[[[[[[[
extra: >-
  folded [[[[[[[[[[[
";
        assert_eq!(depth(text), 4);
    }

    #[test]
    fn flow_and_block_nesting_are_counted() {
        let flow = format!("a: {}1{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(depth(&flow), 41);
        assert_eq!(depth_refused(&flow, 32), Some(0));
        let multi_line = "a: [\n  [\n    [1, {b: [2]}],\n  ],\n]\nc: 1\n";
        assert_eq!(depth(multi_line), 6);
        assert_eq!(depth_refused(multi_line, 5), Some(2));
        let block: String = (0..40)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert_eq!(depth(&block), 40);
        assert_eq!(depth_refused(&block, 32), Some(32));
        assert_eq!(depth(&format!("a:\n{}x\n", "- ".repeat(10))), 11);
        assert_eq!(depth("a: &anchor !!seq [[1]]\n"), 3);
    }

    #[test]
    fn quoted_brackets_and_comments_are_not_counted() {
        assert_eq!(depth("a: \"[[[[\\\"[[[[\"\nb: '[[[['\n"), 1);
        assert_eq!(depth("a: [\"]]]]\", '[[[[']\n"), 2);
        // A quoted string over two lines.
        assert_eq!(depth("a: \"[[[[\n  [[[[\"\nb: [1]\n"), 2);
        assert_eq!(depth("a: 1 # [[[[[[\n"), 1);
        // Strings inside a flow collection over several lines.
        let listed = "tags: [\n  \"a [b\",\n  'c {d',\n]\nnext:\n  key: 1\n";
        assert_eq!(depth(listed), 2);
    }
}

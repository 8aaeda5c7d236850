//! Whether the generator writes a page at all, read from the page's front matter once a
//! section's `cascade` has been merged into it. A page that is not written has no address, so
//! it must not be in a feed nor announced: the file is skipped with the reason, quietly (such
//! pages are often snippets without a title or date).
//!
//! - Hugo [build options](https://gohugo.io/content-management/build-options/) (`build`, or
//!   `_build` before Hugo 0.65): `render = "never"` (or `false`) and `render = "link"` write no
//!   page. `list = "never"` (or `false`) keeps the page out of every page collection, and
//!   Hugo's RSS template lists a collection (`.Pages`, `site.RegularPages`), so such a page is
//!   in none of Hugo's feeds: it is skipped too. `list = "local"` pages are in their section's
//!   collections and feed, so they are published.
//! - Hugo `headless = true` is a bundle that is never rendered nor listed.
//! - Zola's page `render = false` writes no page
//!   ([page front matter](https://www.getzola.org/documentation/content/page/)).
//! - A page that only sends the reader elsewhere: Zola has `redirect_to` on sections only (the
//!   pages of such a section are still rendered); Hugo has no such key, and sites use a
//!   `redirect` layout with the target in a key of their own. Pages whose `layout` or `type`
//!   is `redirect`, or that give a target in `redirect_to`, `redirectTo`, `redirect_url`,
//!   `redirectUrl` or `redirect` (top level, `[params]` or `[extra]`), are skipped.

use serde_json::{Map, Value};

/// Keys naming where a redirecting page sends its readers.
const REDIRECT_KEYS: &[&str] = &[
    "redirect_to",
    "redirectTo",
    "redirect_url",
    "redirectUrl",
    "redirect",
];

/// A render rule with a value the generator would not accept.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct BadRule {
    /// Top-level key the value is under (for its line).
    pub(super) key: &'static str,
    /// What is wrong and what to write.
    pub(super) message: String,
}

/// Why the generator does not publish the page with these front matter `fields`, or `None`
/// when it does.
pub(super) fn not_rendered(fields: &Map<String, Value>) -> Result<Option<String>, BadRule> {
    for key in ["build", "_build"] {
        if let Some(reason) = build_options(key, fields.get(key))? {
            return Ok(Some(reason));
        }
    }
    if fields.get("headless").is_some_and(is_true) {
        return Ok(Some(
            "headless = true: Hugo renders no page for a headless bundle".to_owned(),
        ));
    }
    if fields.get("render") == Some(&Value::Bool(false)) {
        return Ok(Some(
            "render = false: Zola renders no page for it".to_owned(),
        ));
    }
    Ok(redirect(fields))
}

/// Hugo's `build` table under `key`.
fn build_options(key: &'static str, value: Option<&Value>) -> Result<Option<String>, BadRule> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(options) = value else {
        return Err(BadRule {
            key,
            message: format!("`{key}` must be a table, e.g. `{key} = {{ render = \"never\" }}`"),
        });
    };
    let option = |name: &str, allowed: &[&str]| -> Result<Option<String>, BadRule> {
        let text = match options.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Bool(true)) => "always".to_owned(),
            Some(Value::Bool(false)) => "never".to_owned(),
            Some(Value::String(s)) => s.trim().to_ascii_lowercase(),
            Some(_) => String::new(),
        };
        if allowed.contains(&text.as_str()) {
            Ok(Some(text))
        } else {
            Err(BadRule {
                key,
                message: format!(
                    "`{key}.{name}` must be one of {} (or true/false)",
                    allowed.join(", ")
                ),
            })
        }
    };
    match option("render", &["always", "link", "never"])?.as_deref() {
        Some("never") => {
            return Ok(Some(format!(
                "{key}.render = never: Hugo renders no page for it"
            )));
        }
        Some("link") => {
            return Ok(Some(format!(
                "{key}.render = link: Hugo gives it a link but writes no page"
            )));
        }
        _ => {}
    }
    if option("list", &["always", "local", "never"])?.as_deref() == Some("never") {
        return Ok(Some(format!(
            "{key}.list = never: Hugo lists it nowhere, so none of its feeds has it"
        )));
    }
    Ok(None)
}

/// Why the page only redirects, if it does.
fn redirect(fields: &Map<String, Value>) -> Option<String> {
    for key in ["layout", "type"] {
        if fields
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("redirect"))
        {
            return Some(format!("{key} = \"redirect\": the page only redirects"));
        }
    }
    let tables = ["params", "extra"]
        .iter()
        .filter_map(|t| fields.get(*t).and_then(Value::as_object));
    std::iter::once(fields).chain(tables).find_map(|table| {
        REDIRECT_KEYS.iter().find_map(|key| {
            let target = table.get(*key)?.as_str()?.trim();
            (!target.is_empty()).then(|| format!("{key}: the page only redirects to {target}"))
        })
    })
}

fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verdict(fields: Value) -> Result<Option<String>, BadRule> {
        let Value::Object(map) = fields else {
            panic!("an object")
        };
        not_rendered(&map)
    }

    fn skipped(fields: Value) -> bool {
        verdict(fields).expect("valid").is_some()
    }

    #[test]
    fn hugo_build_options() {
        assert!(skipped(json!({"build": {"render": "never"}})));
        assert!(skipped(json!({"build": {"render": false}})));
        assert!(skipped(json!({"build": {"render": "Link"}})));
        assert!(skipped(json!({"_build": {"render": "never"}})));
        assert!(skipped(json!({"build": {"list": "never"}})));
        assert!(skipped(json!({"build": {"list": false}})));
        assert!(!skipped(json!({"build": {"list": "local"}})));
        assert!(!skipped(
            json!({"build": {"render": "always", "list": true}})
        ));
        assert!(!skipped(json!({"build": {"publishResources": false}})));
        assert!(!skipped(json!({"title": "T"})));
        assert_eq!(
            verdict(json!({"build": {"render": "sometimes"}})),
            Err(BadRule {
                key: "build",
                message: "`build.render` must be one of always, link, never (or true/false)".into()
            })
        );
        assert_eq!(
            verdict(json!({"_build": "never"})).unwrap_err().key,
            "_build"
        );
    }

    #[test]
    fn headless_and_zola_render() {
        assert!(skipped(json!({"headless": true})));
        assert!(skipped(json!({"headless": "true"})));
        assert!(!skipped(json!({"headless": false})));
        assert!(skipped(json!({"render": false})));
        assert!(!skipped(json!({"render": true})));
    }

    #[test]
    fn redirecting_pages() {
        assert!(skipped(json!({"layout": "redirect"})));
        assert!(skipped(json!({"redirect_to": "https://example.org/x/"})));
        assert!(skipped(json!({"params": {"redirect": "/elsewhere/"}})));
        assert!(skipped(json!({"extra": {"redirectUrl": "/elsewhere/"}})));
        assert!(!skipped(json!({"redirect_to": "  "})));
        assert!(!skipped(json!({"extra": {"redirect": true}})));
    }
}

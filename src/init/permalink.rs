//! Hugo permalink patterns in crier's placeholders.
//!
//! Hugo's tokens (<https://gohugo.io/configuration/permalinks/#tokens>) against crier's
//! `{year}`, `{month}`, `{day}`, `{section}`, `{slug}`, `{path}`:
//! - `:year`, `:month`, `:day` and their Go time-layout spellings `:2006`, `:01`, `:02`, and
//!   `:section` (the top-level section) are the same thing;
//! - `:slugorcontentbasename` (and the older `:slugorfilename`) is crier's `{slug}`: the front
//!   matter `slug`, else the file's base name (a bundle's folder name);
//! - `:slug` is `{slug}` too, but Hugo falls back to the *title* when a page has no `slug`
//!   where crier falls back to the file name; `:contentbasename` (and the older `:filename`)
//!   is `{slug}` but ignores a front-matter `slug`. These are translated with a caveat;
//! - `:title`, `:sections`, `:sectionslug(s)`, `:monthname`, `:weekday`, `:weekdayname`,
//!   `:yearday` and the other Go layouts have no crier equivalent: such a pattern is not
//!   translated (the caller writes it commented out, with the reason).

/// A Hugo pattern in crier's placeholders.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Translated {
    /// The crier pattern.
    pub(super) pattern: String,
    /// How it differs from Hugo's, when it does.
    pub(super) caveat: Option<String>,
}

/// Translates Hugo's `pattern`; the error says why it cannot be.
pub(super) fn translate(pattern: &str) -> Result<Translated, String> {
    if pattern.contains(['{', '}']) {
        return Err("it contains `{` or `}`, which crier reads as placeholders".to_owned());
    }
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut caveats: Vec<String> = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find(':') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let len = after
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(after.len());
        let token = &after[..len];
        let mut consumed = len;
        // `:sections[1:]` and friends: the slice is part of the token.
        if after[len..].starts_with('[')
            && let Some(close) = after[len..].find(']')
        {
            consumed += close + 1;
        }
        let placeholder = match token {
            "" => {
                out.push(':');
                rest = after;
                continue;
            }
            "year" | "2006" => "{year}",
            "month" | "01" => "{month}",
            "day" | "02" => "{day}",
            "section" => "{section}",
            "slugorcontentbasename" | "slugorfilename" => "{slug}",
            "slug" => {
                caveats.push(
                    "Hugo's `:slug` falls back to the page title when a page has no `slug`; \
                     crier's {slug} falls back to the file name"
                        .to_owned(),
                );
                "{slug}"
            }
            "contentbasename" | "filename" => {
                caveats.push(format!(
                    "Hugo's `:{token}` ignores a front-matter `slug`; crier's {{slug}} uses it"
                ));
                "{slug}"
            }
            other => {
                return Err(format!(
                    "`:{}` has no crier equivalent (crier has {{year}}, {{month}}, {{day}}, \
                     {{section}}, {{slug}}, {{path}})",
                    &after[..consumed.max(other.len())]
                ));
            }
        };
        out.push_str(placeholder);
        rest = &after[consumed..];
    }
    out.push_str(rest);
    if !out.contains("{slug}") && !out.contains("{path}") {
        return Err(
            "crier needs {slug} or {path} in a permalink so that entries get distinct URLs"
                .to_owned(),
        );
    }
    Ok(Translated {
        pattern: out,
        caveat: (!caveats.is_empty()).then(|| caveats.join("; ")),
    })
}

/// `pattern` under the language prefix, as Hugo places every language's pages (the default
/// language's too, unless it lives at the root: crier's `default_language_in_root`).
pub(super) fn with_language(pattern: &str) -> String {
    if pattern.starts_with('/') {
        format!("/{{lang}}{pattern}")
    } else {
        format!("/{{lang}}/{pattern}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(hugo: &str) -> String {
        let t = translate(hugo).unwrap_or_else(|e| panic!("{hugo}: {e}"));
        assert_eq!(t.caveat, None, "{hugo}");
        t.pattern
    }

    #[test]
    fn tokens_with_an_equivalent_are_translated() {
        assert_eq!(
            exact("/:year/:month/:day/:slugorcontentbasename/"),
            "/{year}/{month}/{day}/{slug}/"
        );
        assert_eq!(exact("/:section/:slugorfilename/"), "/{section}/{slug}/");
        assert_eq!(
            exact("/:2006/:01/:02/:slugorfilename"),
            "/{year}/{month}/{day}/{slug}"
        );
        assert_eq!(
            exact("/articles/:year/:slugorcontentbasename.html"),
            "/articles/{year}/{slug}.html"
        );
    }

    #[test]
    fn near_equivalents_carry_a_caveat() {
        let t = translate("/blog/:year/:slug/").unwrap();
        assert_eq!(t.pattern, "/blog/{year}/{slug}/");
        assert!(t.caveat.unwrap().contains("title"));
        let t = translate("/:contentbasename/").unwrap();
        assert_eq!(t.pattern, "/{slug}/");
        assert!(t.caveat.unwrap().contains(":contentbasename"));
    }

    #[test]
    fn tokens_without_an_equivalent_are_refused_by_name() {
        for (hugo, token) in [
            ("/:year/:title/", ":title"),
            ("/:sections[1:]/:slug/", ":sections[1:]"),
            ("/:monthname/:slug/", ":monthname"),
            ("/:Jan/:slug/", ":Jan"),
        ] {
            let e = translate(hugo).unwrap_err();
            assert!(e.contains(&format!("`{token}`")), "{hugo}: {e}");
        }
        assert!(
            translate("/:year/:month/")
                .unwrap_err()
                .contains("{slug} or {path}")
        );
        assert!(translate("/{x}/:slug/").is_err());
    }

    #[test]
    fn languages_go_first() {
        assert_eq!(with_language("/{path}/"), "/{lang}/{path}/");
        assert_eq!(with_language("{slug}.html"), "/{lang}/{slug}.html");
    }
}

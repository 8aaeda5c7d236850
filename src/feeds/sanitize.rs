//! HTML sanitising and XML-safe text for feed output.

/// Sanitises entry HTML for feeds; relative URLs are resolved against `base_url`.
pub fn clean_html(_html: &str, _base_url: &str) -> String {
    todo!()
}

/// Drops characters XML 1.0 forbids (C0 controls other than tab/newline/return, U+FFFE, U+FFFF, lone surrogates).
pub fn xml_text(_s: &str) -> std::borrow::Cow<'_, str> {
    todo!()
}

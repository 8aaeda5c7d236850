use super::*;
use crate::testing::SourcesDocument;

/// An html source table with `extra` appended, parsed into a full config.
fn source(extra: &str) -> (SourcesDocument, HtmlSourceConfig) {
    let text = format!(
        "[site]\ntitle = \"Site\"\nbase_url = \"https://example.org/\"\nlanguages = [\"fr\", \"en\"]\n\n\
         [[sources]]\ntype = \"html\"\nname = \"prix\"\nurl = \"https://cms.example.org/prix/\"\n{extra}\n"
    );
    let doc = SourcesDocument::parse(&text).expect("parses");
    let crate::sources::SourceConfig::Html(html) = doc.sources[0].clone() else {
        panic!("not an html source");
    };
    (doc, html)
}

fn error_key(extra: &str) -> (String, String) {
    let (doc, html) = source(extra);
    html.validate(&doc.site).unwrap_err()
}

const VALID: &str = "[sources.listing]\nlinks = \".laureats h2 a\"\nnext = \"a[rel=next]\"\n\
                     [sources.selectors]\npublished = \"time@datetime\"\n";

#[test]
fn a_complete_table_is_valid() {
    let (doc, html) = source(VALID);
    assert_eq!(html.validate(&doc.site), Ok(()));
    doc.validate().expect("whole config valid");
}

#[test]
fn required_selectors_are_named() {
    let (key, message) = error_key("[sources.selectors]\npublished = \".date\"\n");
    assert_eq!(key, "listing.links");
    assert!(message.contains("required"), "{message}");
    let (key, _) = error_key("[sources.listing]\nlinks = \"a\"\n");
    assert_eq!(key, "selectors.published");
}

#[test]
fn invalid_selectors_name_their_key() {
    for (table, key) in [
        ("title = \"h1[\"", "selectors.title"),
        ("content = \"article >> p\"", "selectors.content"),
        ("image = \"@content\"", "selectors.image"),
        ("categories = \".tags a[\"", "selectors.categories"),
        ("extra = { city = \"dd.city[\" }", "selectors.extra.city"),
    ] {
        let text = format!("{VALID}{table}\n");
        let (found, message) = error_key(&text);
        assert_eq!(found, key, "{message}");
        assert!(message.contains("selector"), "{message}");
    }
    let text = VALID.replace("a[rel=next]", "a[rel=");
    assert_eq!(error_key(&text).0, "listing.next");
}

#[test]
fn date_formats_are_checked() {
    let text = format!("{VALID}\n");
    let text = text.replacen(
        "[sources.listing]",
        "date_formats = [\"%d %B %Y\", \"%Q\"]\n[sources.listing]",
        1,
    );
    let (key, message) = error_key(&text);
    assert_eq!(key, "date_formats[1]", "{message}");
}

#[test]
fn config_validation_reports_the_full_key() {
    let (doc, _) =
        source("[sources.listing]\nlinks = \"a\"\n[sources.selectors]\npublished = \"p[\"\n");
    let err = doc.validate().unwrap_err().to_string();
    assert!(err.contains("sources[0].selectors.published"), "{err}");
}

#[test]
fn unknown_keys_are_refused() {
    let text = "[site]\ntitle = \"S\"\nbase_url = \"https://example.org/\"\n\n[[sources]]\n\
                type = \"html\"\nname = \"p\"\nurl = \"https://x.example/\"\n\
                [sources.selectors]\npublished = \"time\"\ndate = \".date\"\n";
    let err = SourcesDocument::parse(text).unwrap_err();
    assert!(err.to_string().contains("date"), "{err}");
}

#[test]
fn parallel_results_keep_the_item_order() {
    let items: Vec<Url> = (0..23)
        .map(|i| Url::parse(&format!("https://x.example/{i}")).unwrap())
        .collect();
    let out = in_parallel(&items, |u| u.path().to_owned());
    let expected: Vec<String> = (0..23).map(|i| format!("/{i}")).collect();
    assert_eq!(out, expected);
    assert!(in_parallel(&[], |u| u.to_string()).is_empty());
}

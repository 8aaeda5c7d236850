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

/// The parser's message for an html source table (with `extra`) that it refuses as it reads
/// it: selectors and date formats compile then.
fn refused(extra: &str) -> String {
    let text = format!(
        "[site]\ntitle = \"Site\"\nbase_url = \"https://example.org/\"\n\n\
         [[sources]]\ntype = \"html\"\nname = \"prix\"\nurl = \"https://cms.example.org/prix/\"\n{extra}\n"
    );
    match SourcesDocument::parse(&text) {
        Err(e) => e,
        Ok(_) => panic!("expected the table to be refused: {extra}"),
    }
}

#[test]
fn invalid_selectors_name_their_key() {
    for (table, key) in [
        ("title = \"h1[\"", "`selectors.title`"),
        ("content = \"article >> p\"", "`selectors.content`"),
        ("image = \"@content\"", "`selectors.image`"),
        ("categories = \".tags a[\"", "`selectors.categories`"),
        ("extra = { city = \"dd.city[\" }", "`selectors.extra.city`"),
    ] {
        let message = refused(&format!("{VALID}{table}\n"));
        assert!(message.contains(key), "{key}: {message}");
        assert!(message.contains("selector"), "{message}");
    }
    let message = refused(&VALID.replace("a[rel=next]", "a[rel="));
    assert!(message.contains("`listing.next`"), "{message}");
}

#[test]
fn date_formats_are_checked() {
    let text = format!("{VALID}\n");
    let text = text.replacen(
        "[sources.listing]",
        "date_formats = [\"%d %B %Y\", \"%Q\"]\n[sources.listing]",
        1,
    );
    let message = refused(&text);
    assert!(message.contains("`date_formats[1]`"), "{message}");
}

#[test]
fn config_errors_report_the_full_key() {
    let text = "[site]\ntitle = \"Site\"\nbase_url = \"https://example.org/\"\n\n\
                [[sources]]\ntype = \"html\"\nname = \"prix\"\nurl = \"https://cms.example.org/prix/\"\n\
                [sources.listing]\nlinks = \"a\"\n[sources.selectors]\npublished = \"p[\"\n";
    let message = crate::testing::refused_config(text);
    assert!(
        message.contains("line 12, column 13: `sources[0].selectors.published`"),
        "{message}"
    );
    // What serde cannot check is named by the config's validation, with the full key too.
    let (doc, _) = source("[sources.listing]\nlinks = \"a\"\n");
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

#[test]
fn a_config_that_skipped_validation_fails_the_read_naming_the_missing_selector() {
    let (doc, html) = source("[sources.selectors]\npublished = \".date\"\n");
    let source = HtmlSource::new(&doc.site, &html);
    let input = ReadInput {
        known: &std::collections::HashMap::new(),
        cache: &Cache::new(),
        now: chrono::Utc::now(),
        progress: crate::progress::Progress::ignored(),
    };
    let Err(SourceError::Remote { message, .. }) = source.read(&input) else {
        panic!("a read without `listing.links`")
    };
    assert!(message.contains("`listing.links`: required"), "{message}");
}

//! Config checks and the mapping of a realistic WordPress answer; fetching and pagination
//! are tested against a mock server in `tests/source_json.rs`.

use std::collections::HashMap;

use serde_json::{Value, json};
use url::Url;

use super::*;
use crate::entry::Entry;
use crate::sources::SourceConfig;
use crate::testing::SourcesDocument;

const SITE: &str = "[site]\ntitle = \"Dosta! cities\"\nbase_url = \"https://network.example.org/\"\n\
    languages = [\"en\", \"fr\"]\ntimezone = \"Europe/Brussels\"\n\n";

/// The site and one json source table with `source` lines, parsed and validated; the error
/// is the parser's message or the invalid key.
fn parse(source: &str) -> Result<SourcesDocument, String> {
    let text = format!("{SITE}[[sources]]\ntype = \"json\"\nname = \"wp\"\n{source}");
    let doc = SourcesDocument::parse(&text)?;
    doc.validate().map_err(|e| e.to_string())?;
    Ok(doc)
}

fn source(doc: &SourcesDocument) -> (&JsonSourceConfig, JsonSource) {
    let SourceConfig::Json(j) = &doc.sources[0] else {
        panic!("not a json source");
    };
    (j, JsonSource::new(&doc.site, j))
}

fn invalid_key(source: &str) -> (String, String) {
    let text = format!("{SITE}[[sources]]\ntype = \"json\"\nname = \"wp\"\n{source}");
    let doc = SourcesDocument::parse(&text).expect("the table parses");
    match doc.validate() {
        Err(crate::values::Invalid { key, message }) => (key, message),
        Ok(()) => panic!("expected an invalid key in {source}"),
    }
}

/// The config loader's message for a json source table it refuses as it reads it.
fn refused(source: &str) -> String {
    let text = format!("{SITE}[[sources]]\ntype = \"json\"\nname = \"wp\"\n{source}");
    crate::testing::refused_config(&text)
}

fn fixture(name: &str) -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/sources/json/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const WORDPRESS: &str =
    "url = \"https://dosta-cities.example.eu/wp-json/wp/v2/projects\"\npreset = \"wordpress\"\n";

/// Maps `item` the way a read does, with nothing known.
fn map(source: &JsonSource, item: &Value) -> Outcome {
    let page = Url::parse("https://dosta-cities.example.eu/wp-json/wp/v2/projects?page=1").unwrap();
    source
        .document(item, &page, 0, &HashMap::new(), &mut HashMap::new())
        .outcome
}

fn parsed(outcome: Outcome) -> Entry {
    match outcome {
        Outcome::Parsed(entry) => *entry,
        other => panic!("expected an entry, got {other:?}"),
    }
}

#[test]
fn a_wordpress_project_with_embeds_becomes_a_full_entry() {
    let config = parse(WORDPRESS).unwrap();
    let (_, source) = source(&config);
    let items = fixture("wp-posts-page1.json");
    let fr = parsed(map(&source, &items[0]));
    assert_eq!(fr.id, "wp:214");
    assert_eq!(
        fr.title,
        "Kragujevac – Une école de la seconde chance pour les adolescents roms"
    );
    assert_eq!(
        fr.url,
        "https://dosta-cities.example.eu/fr/projets/kragujevac-ecole-seconde-chance/"
    );
    assert_eq!(
        fr.guid,
        "https://dosta-cities.example.eu/?post_type=projects&p=214"
    );
    assert_eq!(fr.language, "fr");
    // date_gmt is UTC without an offset, whatever the site's timezone.
    assert_eq!(fr.published.to_rfc3339(), "2024-03-12T09:30:00+00:00");
    assert_eq!(
        fr.updated.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-14T15:02:11+00:00")
    );
    assert_eq!(
        fr.categories,
        ["Prix Dosta! du Congrès", "Éducation", "Jeunesse"]
    );
    let image = fr.image.unwrap();
    assert_eq!(
        image.url,
        "https://dosta-cities.example.eu/wp-content/uploads/2024/02/kragujevac-school.jpg"
    );
    assert!(image.alt.starts_with("Teenagers and a teacher"));
    let author = fr.author.unwrap();
    assert_eq!(author.name, "Mirela Stanković");
    assert_eq!(
        author.uri.as_deref(),
        Some("https://dosta-cities.example.eu/author/mirela/")
    );
    assert!(
        fr.summary.starts_with("Une classe du soir"),
        "{}",
        fr.summary
    );
    assert!(fr.content.contains("41 ont obtenu"));
    let place = fr.place.unwrap();
    assert_eq!(place.city.as_deref(), Some("Kragujevac"));
    assert_eq!(place.country.as_deref(), Some("Serbie"));
    assert_eq!(fr.extra["rank"], json!(1));
    assert_eq!(fr.extra["prize_year"], json!(2024));

    let en = parsed(map(&source, &items[1]));
    assert_eq!(en.language, "en");
    assert_eq!(en.translation_key, "wp:213");
    assert_eq!(fr.translation_key, en.translation_key);

    // An empty excerpt falls back to an excerpt of the content.
    let ghent = parsed(map(&source, &items[2]));
    assert!(ghent.summary.starts_with("Ghent trained twelve"));
    assert_eq!(ghent.translation_key, "wp:188");
}

#[test]
fn wpml_fields_and_unpublished_items() {
    let config = parse(WORDPRESS).unwrap();
    let (_, source) = source(&config);
    let mut item = fixture("wp-posts-page2.json").remove(0);
    let object = item.as_object_mut().unwrap();
    object.remove("lang");
    object.remove("translations");
    object.insert("wpml_current_locale".into(), json!("fr_FR"));
    object.insert(
        "wpml_translations".into(),
        json!([{"locale": "en_US", "id": 188, "post_title": "Ghent", "href": "https://x/"}]),
    );
    let entry = parsed(map(&source, &item));
    assert_eq!(entry.language, "fr");
    assert_eq!(entry.translation_key, "wp:188");

    item["status"] = json!("draft");
    assert!(matches!(map(&source, &item), Outcome::Skipped(r) if r.contains("draft")));
    item["status"] = json!("publish");
    item["content"]["protected"] = json!(true);
    assert!(matches!(map(&source, &item), Outcome::Skipped(_)));
}

#[test]
fn configured_fields_override_the_preset() {
    let config = parse(&format!(
        "{WORDPRESS}[sources.fields]\ntitle = \"acf.city\"\ncategories = [\"/acf/country\"]\n\
         [sources.fields.extra]\nyear = \"/acf/prize_year\"\ntags = \"/_embedded/wp:term/1/*/slug\"\n"
    ))
    .unwrap();
    let (_, source) = source(&config);
    let entry = parsed(map(&source, &fixture("wp-posts-page1.json")[1]));
    assert_eq!(entry.title, "Kragujevac");
    assert_eq!(entry.categories, ["Serbia"]);
    assert_eq!(entry.extra["year"], json!(2024));
    assert_eq!(entry.extra["tags"], json!(["education", "youth"]));
    // The preset still supplies what was not overridden.
    assert_eq!(entry.language, "en");
}

#[test]
fn a_generic_api_with_dotted_paths_timestamps_and_formats() {
    let config = parse(
        "url = \"https://api.example.org/v1/stories\"\n\
         date_formats = [\"%d.%m.%Y %H:%M\"]\n\
         [sources.fields]\nitems = \"data\"\nid = \"uuid\"\ntitle = \"attributes.headline\"\n\
         url = \"attributes.links[0].href\"\npublished = \"attributes.when\"\nupdated = \"attributes.edited\"\n\
         categories = [\"attributes.topics.*\"]\nimage = \"attributes.cover\"\nimage_alt = \"attributes.cover_text\"\n\
         author = \"attributes.by\"\n",
    )
    .unwrap();
    let (_, source) = source(&config);
    let item = json!({
        "uuid": "c0ffee",
        "attributes": {
            "headline": "Madrid opens its housing office",
            "links": [{"href": "/stories/madrid"}],
            "when": "12.03.2024 10:00",
            "edited": 1710500000,
            "topics": ["Housing", "Madrid"],
            "cover": "/img/madrid.jpg",
            "cover_text": "An office counter",
            "by": "Ana"
        }
    });
    let entry = parsed(map(&source, &item));
    assert_eq!(entry.id, "wp:c0ffee");
    // An offset-less configured format is read in the site's timezone.
    assert_eq!(entry.published.to_rfc3339(), "2024-03-12T10:00:00+01:00");
    assert_eq!(entry.updated.unwrap().timestamp(), 1_710_500_000);
    assert_eq!(entry.url, "https://dosta-cities.example.eu/stories/madrid");
    assert_eq!(entry.categories, ["Housing", "Madrid"]);
    assert_eq!(entry.image.unwrap().alt, "An office counter");
    assert_eq!(entry.author.unwrap().name, "Ana");
    assert_eq!(entry.language, "en");

    let unreadable = json!({
        "uuid": "x",
        "attributes": {"headline": "H", "links": [{"href": "/a"}], "when": "soon"}
    });
    let Outcome::Failed(error) = map(&source, &unreadable) else {
        panic!("a bad date fails the item");
    };
    assert!(error.message.contains("`fields.published`"), "{error}");
    assert!(error.message.contains("date_formats"), "{error}");
    assert!(error.location.contains("item 0 (id x)"), "{error}");

    // Dates no feed can write are refused naming the field; the others of the item are kept.
    for (field, when, edited, words) in [
        (
            "`fields.published`",
            json!("0000-01-01T00:00:00Z"),
            json!(1710500000),
            "1 to 9999",
        ),
        (
            "`fields.updated`",
            json!("12.03.2024 10:00"),
            json!("2024-03-13T10:00:00+23:59"),
            "±14:00",
        ),
    ] {
        let item = json!({
            "uuid": "y",
            "attributes": {"headline": "H", "links": [{"href": "/a"}], "when": when, "edited": edited}
        });
        let Outcome::Failed(error) = map(&source, &item) else {
            panic!("{field}: a date no feed can write fails the item");
        };
        assert!(error.message.contains(field), "{error}");
        assert!(error.message.contains(words), "{error}");
    }
}

#[test]
fn items_without_id_or_with_a_repeated_id_fail_under_distinct_keys() {
    let config = parse(WORDPRESS).unwrap();
    let (_, source) = source(&config);
    let page = Url::parse("https://x.example/p").unwrap();
    let items = fixture("wp-posts-page1.json");
    let known = HashMap::new();
    let mut ids = HashMap::new();
    let first = source.document(&items[0], &page, 0, &known, &mut ids);
    let again = source.document(&items[0], &page, 3, &known, &mut ids);
    assert_eq!(first.key, "214");
    assert!(again.key.starts_with("214#"));
    let Outcome::Failed(e) = again.outcome else {
        panic!("duplicate accepted")
    };
    assert!(
        e.message.contains("item 0") && e.location.contains("item 3"),
        "{e}"
    );

    let mut no_id = items[1].clone();
    no_id.as_object_mut().unwrap().remove("id");
    let doc = source.document(&no_id, &page, 1, &known, &mut ids);
    assert!(doc.key.starts_with('#'));
    assert_eq!(doc.key[1..], doc.fingerprint);
    let Outcome::Failed(e) = doc.outcome else {
        panic!("item without id accepted")
    };
    assert!(e.message.contains("the wordpress preset's id"), "{e}");
}

#[test]
fn known_fingerprints_skip_mapping() {
    let config = parse(WORDPRESS).unwrap();
    let (_, source) = source(&config);
    let page = Url::parse("https://x.example/p").unwrap();
    let item = &fixture("wp-posts-page1.json")[0];
    let fingerprint = remote::fingerprint(&serde_json::to_vec(item).unwrap());
    let known = HashMap::from([("214".to_owned(), fingerprint.clone())]);
    let doc = source.document(item, &page, 0, &known, &mut HashMap::new());
    assert!(matches!(doc.outcome, Outcome::Unchanged));
    assert_eq!(doc.fingerprint, fingerprint);
}

#[test]
fn the_first_url_gets_the_preset_and_pagination_parameters() {
    let config = parse(WORDPRESS).unwrap();
    assert_eq!(
        source(&config).1.first_url.as_str(),
        "https://dosta-cities.example.eu/wp-json/wp/v2/projects?_embed&per_page=100"
    );
    let config = parse(
        "url = \"https://api.example.org/items?sort=new\"\n\
         [sources.pagination]\nkind = \"page\"\nparam = \"p\"\nstart = 0\nper_page_param = \"limit\"\nper_page = 20\n\
         [sources.fields]\nid = \"/id\"\ntitle = \"/t\"\nurl = \"/u\"\npublished = \"/d\"\n",
    )
    .unwrap();
    assert_eq!(
        source(&config).1.first_url.as_str(),
        "https://api.example.org/items?sort=new&limit=20&p=0"
    );
}

#[test]
fn invalid_settings_name_their_key() {
    let generic = "url = \"https://api.example.org/items\"\n";
    let cases = [
        (
            format!("{generic}[sources.fields]\nid = \"/id\"\ntitle = \"/t\"\nurl = \"/u\"\n"),
            "sources[0].fields.published",
            "published = ",
        ),
        (generic.to_owned(), "sources[0].fields.id", "id = \"/id\""),
        (
            format!("{WORDPRESS}[sources.pagination]\nkind = \"next\"\n"),
            "sources[0].pagination.next",
            "next = \"/links/next\"",
        ),
        (
            format!("{WORDPRESS}[sources.pagination]\nkind = \"link\"\nnext = \"/n\"\n"),
            "sources[0].pagination.next",
            "kind = \"next\"",
        ),
        (
            format!("{WORDPRESS}[sources.pagination]\nkind = \"page\"\nper_page = 0\n"),
            "sources[0].pagination.per_page",
            "at least 1",
        ),
        (
            format!("{WORDPRESS}[sources.pagination]\nper_page_param = \"limit\"\n"),
            "sources[0].pagination.per_page",
            "page size",
        ),
    ];
    for (text, key, words) in cases {
        let (k, message) = invalid_key(&text);
        assert_eq!(k, key, "{text}");
        assert!(message.contains(words), "{key}: {message}");
    }
    // Paths and date formats are compiled as the config is read: the loader's message names
    // the source and the key.
    for (text, key, words) in [
        (
            format!("{WORDPRESS}[sources.fields]\nimage = \"/a~3\"\n"),
            "`sources[0].fields.image`",
            "RFC 6901",
        ),
        (
            format!("{WORDPRESS}date_formats = [\"%Y-%Q\"]\n"),
            "`sources[0].date_formats[0]`",
            "strftime",
        ),
        (
            format!("{WORDPRESS}[sources.pagination]\nkind = \"next\"\nnext = \"a..b\"\n"),
            "`sources[0].pagination.next`",
            "empty member name",
        ),
    ] {
        let message = refused(&text);
        assert!(message.contains(key), "{key}: {message}");
        assert!(message.contains(words), "{key}: {message}");
    }
    // Typos in the tables are refused by serde, naming the unknown key.
    let err = parse(&format!("{WORDPRESS}[sources.fields]\ntitel = \"/t\"\n")).unwrap_err();
    assert!(err.to_string().contains("titel"), "{err}");
    let err = parse("url = \"https://x.example/\"\npreset = \"drupal\"\n").unwrap_err();
    assert!(err.to_string().contains("drupal"), "{err}");
}

#[test]
fn a_config_that_skipped_validation_fails_the_read_naming_the_missing_path() {
    let text = format!(
        "{SITE}[[sources]]\ntype = \"json\"\nname = \"wp\"\nurl = \"https://api.example.org/items\"\n\
         [sources.fields]\nid = \"/id\"\nurl = \"/u\"\npublished = \"/d\"\n"
    );
    let doc = SourcesDocument::parse(&text).expect("the table parses");
    let (_, source) = source(&doc);
    let input = ReadInput {
        known: &HashMap::new(),
        cache: &crate::sources::Cache::new(),
        now: chrono::Utc::now(),
        progress: crate::progress::Progress::ignored(),
    };
    let Err(SourceError::Remote { message, .. }) = source.read(&input) else {
        panic!("a read without a title path")
    };
    assert!(message.contains("fields.title"), "{message}");
}

#[test]
fn the_announcement_control_is_mapped_from_one_field() {
    let config = parse(
        "url = \"https://api.example.org/items\"\n[sources.fields]\nid = \"id\"\ntitle = \"title\"\n\
         url = \"link\"\npublished = \"date\"\ncrier = \"meta.crier\"\n",
    )
    .unwrap();
    let SourceConfig::Json(j) = &config.sources[0] else {
        panic!("not a json source");
    };
    let mut site = config.site.clone();
    site.channels = vec!["mastodon".into(), "x".into()];
    let source = JsonSource::new(&site, j);
    let item = |crier: Value| {
        json!({
            "id": 7, "title": "T", "link": "https://example.org/t", "date": "2024-03-12",
            "meta": { "crier": crier },
        })
    };
    let e = parsed(map(
        &source,
        &item(json!({ "channels": ["mastodon"], "text": { "x": "Hi" } })),
    ));
    assert_eq!(e.announce.channels, Some(vec!["mastodon".to_owned()]));
    assert_eq!(e.announce.text.x.as_deref(), Some("Hi"));
    match map(&source, &item(json!({ "skip": ["bluesky"] }))) {
        Outcome::Failed(e) => {
            assert!(e.message.contains("`fields.crier` (\"meta.crier\")"), "{e}");
            assert!(
                e.message.contains("`skip`: unknown channel `bluesky`"),
                "{e}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // An item without the field announces as configured.
    let plain =
        json!({ "id": 8, "title": "T", "link": "https://example.org/u", "date": "2024-03-12" });
    assert!(parsed(map(&source, &plain)).announce.is_default());
}

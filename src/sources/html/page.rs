//! What one fetched HTML page gives: its text in the right charset, the links of a listing
//! page, and the fields of an entry page as a [`Draft`].

use std::collections::BTreeMap;

use scraper::node::Attributes;
use scraper::{ElementRef, Html, Node, Selector, StrTendril};
use serde_json::Value;
use url::Url;

use super::select::Pick;
use crate::entry::{Image, Person};
use crate::sources::dates::{self, DateFormat};
use crate::sources::finish::{Draft, Markup};
use crate::sources::http::{Page, decode};

/// How many bytes the `<meta charset>` prescan looks at, as browsers do (WHATWG HTML §13.2.3.2).
const PRESCAN_BYTES: usize = 1024;

/// Attributes holding URLs that the content keeps; made absolute so that the body still
/// works when the entry's canonical URL sits in another folder than the page it came from.
const URL_ATTRIBUTES: &[&str] = &["href", "src", "poster", "cite"];

/// One field: its config key, for messages, and the selectors tried in order.
#[derive(Debug, Clone)]
pub struct Field {
    /// Key relative to the source, e.g. `selectors.title`.
    pub key: String,
    /// Alternatives: the configured selector, or the default's fallbacks.
    pub picks: Vec<Pick>,
}

impl Field {
    /// The first non-empty value any alternative finds.
    fn first(&self, html: &Html) -> Option<String> {
        self.picks.iter().find_map(|p| p.first(html))
    }

    /// Every value of the first alternative that finds any.
    fn all(&self, html: &Html) -> Vec<String> {
        self.picks
            .iter()
            .map(|p| p.all(html))
            .find(|v| !v.is_empty())
            .unwrap_or_default()
    }

    /// "`selectors.title` (`h1`) matched nothing on this page; …", for a required field.
    fn missing(&self) -> String {
        let selectors: Vec<String> = self.picks.iter().map(|p| format!("`{}`", p.text)).collect();
        format!(
            "`{}` ({}) matched nothing on this page; check the selector against the page and run `crier check`",
            self.key,
            selectors.join(" or ")
        )
    }
}

/// The compiled selectors of an entry page.
#[derive(Debug, Clone)]
pub struct Fields {
    /// Title (required).
    pub title: Field,
    /// Body; inner HTML unless an `@attr` is given.
    pub content: Field,
    /// Summary.
    pub summary: Field,
    /// Publication date (required).
    pub published: Field,
    /// Last update.
    pub updated: Option<Field>,
    /// Lead image URL.
    pub image: Field,
    /// Lead image alternative text.
    pub image_alt: Field,
    /// Author name.
    pub author: Option<Field>,
    /// Language tag.
    pub language: Field,
    /// Categories (every match).
    pub categories: Option<Field>,
    /// The canonical URL: the default id, and the entry's link.
    pub canonical: Pick,
    /// A configured id; required to match when set.
    pub id: Option<Field>,
    /// Free fields by name.
    pub extra: Vec<(String, Field)>,
}

/// What the date fields need besides the page.
#[derive(Debug, Clone, Copy)]
pub struct DateRules<'a> {
    /// Timezone of dates written without an offset.
    pub timezone: chrono_tz::Tz,
    /// `date_formats`, tried first.
    pub formats: &'a [DateFormat],
}

/// The page's text. The `Content-Type` charset wins; without one, a byte order mark, then a
/// `<meta charset>` or `<meta http-equiv="Content-Type">` in the first 1024 bytes, then UTF-8.
pub fn text(page: &Page) -> String {
    let header_charset = page
        .header("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("charset="));
    if header_charset {
        return page.text();
    }
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(&page.body) {
        let (text, _) = encoding.decode_without_bom_handling(&page.body[bom..]);
        return text.into_owned();
    }
    decode(&page.body, meta_charset(&page.body).as_deref())
}

/// The charset a `<meta>` in the head of `body` declares.
fn meta_charset(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(PRESCAN_BYTES)];
    // Only ASCII matters in the prescan; Latin-1 keeps byte offsets aligned.
    let head: String = head
        .iter()
        .map(|&b| (b as char).to_ascii_lowercase())
        .collect();
    let mut rest = head.as_str();
    while let Some(start) = rest.find("<meta") {
        let tag = &rest[start..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        if let Some(at) = tag.find("charset") {
            let value = tag[at + "charset".len()..]
                .trim_start()
                .strip_prefix('=')
                .map(|v| v.trim_start().trim_start_matches(['"', '\'']))
                .and_then(|v| {
                    v.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ';' | '/'))
                        .next()
                })
                .filter(|v| !v.is_empty());
            if let Some(label) = value {
                // A page that reached us as bytes cannot be UTF-16 if its markup is readable
                // as ASCII; browsers read such a declaration as UTF-8 too.
                return Some(if label.starts_with("utf-16") {
                    "utf-8".into()
                } else {
                    label.to_owned()
                });
            }
        }
        rest = &rest[start + "<meta".len()..];
    }
    None
}

/// The URL relative links resolve against: `<base href>` when present, else the page's own.
pub fn base_url(html: &Html, page_url: &Url) -> Url {
    static BASE: std::sync::LazyLock<Selector> =
        std::sync::LazyLock::new(|| Selector::parse("base[href]").expect("static selector"));
    html.select(&BASE)
        .next()
        .and_then(|b| b.attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page_url.clone())
}

/// The http(s) URLs the elements `pick` matches point to (`href` unless an `@attr` is
/// given), resolved against `base`, without fragments, in document order.
pub fn links(html: &Html, pick: &Pick, base: &Url) -> Vec<Url> {
    let attr = pick.attr.as_deref().unwrap_or("href");
    html.select(&pick.css)
        .filter_map(|e| e.attr(attr))
        .filter_map(|href| base.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|mut u| {
            u.set_fragment(None);
            u
        })
        .collect()
}

/// The fields of an entry page. `page_url` is where the page was fetched from (after
/// redirects). The error names the selector that found nothing or a value that is unusable.
pub fn draft(
    text: &str,
    page_url: &Url,
    fields: &Fields,
    rules: DateRules<'_>,
) -> Result<Draft, String> {
    let mut html = Html::parse_document(text);
    let base = base_url(&html, page_url);
    let title = fields
        .title
        .first(&html)
        .ok_or_else(|| fields.title.missing())?;
    let published =
        date(&html, &fields.published, rules)?.ok_or_else(|| fields.published.missing())?;
    let updated = match &fields.updated {
        Some(f) => date(&html, f, rules)?,
        None => None,
    };
    let canonical = fields
        .canonical
        .first(&html)
        .and_then(|c| base.join(&c).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page_url.clone());
    let key = match &fields.id {
        Some(f) => f.first(&html).ok_or_else(|| f.missing())?,
        None => canonical.to_string(),
    };
    let image = fields
        .image
        .first(&html)
        .and_then(|src| base.join(&src).ok())
        .map(|url| Image {
            url: url.into(),
            alt: fields.image_alt.first(&html).unwrap_or_default(),
            path: None,
        });
    let author = fields
        .author
        .as_ref()
        .and_then(|f| f.first(&html))
        .map(|name| Person {
            name,
            email: None,
            uri: None,
        });
    let extra: BTreeMap<String, Value> = fields
        .extra
        .iter()
        .filter_map(|(name, f)| f.first(&html).map(|v| (name.clone(), Value::String(v))))
        .collect();
    let draft = Draft {
        key,
        guid: Some(canonical.to_string()),
        url: Some(canonical.to_string()),
        markup: Markup::Html,
        title: Some(title),
        summary: fields.summary.first(&html),
        excerpt: None,
        content: None,
        published: Some(published),
        updated,
        language: fields.language.first(&html),
        categories: fields
            .categories
            .as_ref()
            .map(|f| f.all(&html))
            .unwrap_or_default(),
        image,
        author,
        place: None,
        translation_key: None,
        extra,
        announce: Default::default(),
    };
    Ok(Draft {
        content: content(&mut html, &fields.content, &base),
        ..draft
    })
}

/// A date field's value: for a `<time datetime>` matched without `@attr`, its machine-readable
/// attribute; `None` when nothing matched, an error when what matched is not a date.
fn date(
    html: &Html,
    field: &Field,
    rules: DateRules<'_>,
) -> Result<Option<chrono::DateTime<chrono::FixedOffset>>, String> {
    let found = field.picks.iter().find_map(|pick| {
        html.select(&pick.css)
            .map(|e| {
                let attribute = (pick.attr.is_none() && e.value().name() == "time")
                    .then(|| e.attr("datetime"))
                    .flatten()
                    .map(str::trim)
                    .filter(|d| !d.is_empty());
                attribute.map_or_else(|| pick.value_of(e), str::to_owned)
            })
            .find(|v| !v.is_empty())
            .map(|v| (pick, v))
    });
    let Some((pick, value)) = found else {
        return Ok(None);
    };
    match dates::parse(&value, rules.timezone, rules.formats) {
        Some(d) => dates::fit_for_feeds(d)
            .map(Some)
            .map_err(|e| format!("`{}` (`{}`): {e}", field.key, pick.text)),
        None => Err(format!(
            "`{}` (`{}`) found {value:?}, which is not a date crier reads; add its strftime format to `date_formats` (read without one: {})",
            field.key,
            pick.text,
            dates::ACCEPTED
        )),
    }
}

/// The body: inner HTML of the first element found (or the `@attr` value), its links made
/// absolute against `base`.
fn content(html: &mut Html, field: &Field, base: &Url) -> Option<String> {
    for pick in &field.picks {
        let Some(element) = html.select(&pick.css).next() else {
            continue;
        };
        if pick.attr.is_some() {
            return Some(pick.value_of(element));
        }
        let root = element.id();
        let ids: Vec<_> = element.descendants().map(|d| d.id()).collect();
        for id in ids {
            if let Some(mut node) = html.tree.get_mut(id)
                && let Node::Element(element) = node.value()
            {
                absolutize(&mut element.attrs, base);
            }
        }
        let element = html.tree.get(root).and_then(ElementRef::wrap)?;
        return Some(element.inner_html().trim().to_owned());
    }
    None
}

/// Rewrites the relative URLs among an element's attributes as absolute ones.
fn absolutize(attrs: &mut Attributes, base: &Url) {
    if !attrs
        .iter()
        .any(|(name, _)| URL_ATTRIBUTES.contains(&&*name.local))
    {
        return;
    }
    // Rebuilt rather than edited in place: the collection's type depends on scraper's
    // features, but both kinds iterate and collect the same way.
    *attrs = attrs
        .iter()
        .map(|(name, value)| {
            let value = if URL_ATTRIBUTES.contains(&&*name.local) {
                base.join(value.trim())
                    .map(|u| StrTendril::from(String::from(u)))
                    .unwrap_or_else(|_| value.clone())
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAND: &str = include_str!("../../../tests/fixtures/sources/html/gand.html");
    const KRAGUJEVAC: &str = include_str!("../../../tests/fixtures/sources/html/kragujevac.html");
    const MALFORMED: &str = include_str!("../../../tests/fixtures/sources/html/malformed.html");

    fn field(key: &str, selectors: &[&str]) -> Field {
        Field {
            key: key.into(),
            picks: selectors.iter().map(|s| Pick::parse(s).unwrap()).collect(),
        }
    }

    fn fields() -> Fields {
        Fields {
            title: field("selectors.title", &["h1"]),
            content: field("selectors.content", &["article", "main"]),
            summary: field(
                "selectors.summary",
                &[r#"meta[name="description"]@content"#],
            ),
            published: field("selectors.published", &[".date"]),
            updated: None,
            image: field("selectors.image", &[r#"meta[property="og:image"]@content"#]),
            image_alt: field(
                "selectors.image_alt",
                &[r#"meta[property="og:image:alt"]@content"#],
            ),
            author: Some(field("selectors.author", &[".auteur"])),
            language: field("selectors.language", &["html@lang"]),
            categories: Some(field("selectors.categories", &[".etiquettes a"])),
            canonical: Pick::parse(r#"link[rel="canonical"]@href"#).unwrap(),
            id: None,
            extra: vec![
                ("city".into(), field("selectors.extra.city", &[".ville"])),
                ("rank".into(), field("selectors.extra.rank", &[".rang"])),
            ],
        }
    }

    fn rules() -> DateRules<'static> {
        DateRules {
            timezone: chrono_tz::Europe::Paris,
            formats: &[],
        }
    }

    fn url(u: &str) -> Url {
        Url::parse(u).unwrap()
    }

    #[test]
    fn a_french_entry_page_gives_every_field() {
        let page = url("http://cms.example.org/fr/prix/gand/?from=list");
        let d = draft(GAND, &page, &fields(), rules()).unwrap();
        assert_eq!(d.key, "https://villes.example.org/fr/prix/gand/");
        assert_eq!(d.url.as_deref(), Some(d.key.as_str()));
        assert_eq!(d.guid.as_deref(), Some(d.key.as_str()));
        assert_eq!(
            d.title.as_deref(),
            Some("Gand – Une école des devoirs dans chaque quartier")
        );
        // The `<time datetime>` wins over its French text, and keeps its time of day.
        assert_eq!(
            d.published.unwrap().to_rfc3339(),
            "2024-03-12T09:30:00+01:00"
        );
        assert_eq!(d.language.as_deref(), Some("fr-FR"));
        assert_eq!(d.categories, ["Éducation", "Jeunesse"]);
        assert_eq!(d.author.unwrap().name, "Secrétariat de l’Alliance");
        assert!(d.summary.unwrap().starts_with("Premier prix Dosta!"));
        let image = d.image.unwrap();
        assert_eq!(image.url, "http://cms.example.org/media/prix/gand.jpg");
        assert_eq!(
            image.alt,
            "Des enfants font leurs devoirs avec une médiatrice"
        );
        assert_eq!(d.extra["city"], "Gand");
        assert_eq!(d.extra["rank"], "1er prix");
        let content = d.content.unwrap();
        assert!(content.starts_with("<p>Beaucoup d’enfants"), "{content}");
        assert!(
            content.contains(r#"href="http://cms.example.org/fr/prix/quartiers/""#),
            "{content}"
        );
        assert!(
            content.contains(r#"src="http://cms.example.org/fr/prix/gand/plan.png""#),
            "{content}"
        );
    }

    #[test]
    fn dates_written_in_french_are_read() {
        let page = url("https://cms.example.org/fr/prix/kragujevac/");
        let d = draft(KRAGUJEVAC, &page, &fields(), rules()).unwrap();
        assert_eq!(
            d.published.unwrap().to_rfc3339(),
            "2024-04-01T00:00:00+02:00"
        );
        // A relative canonical link is resolved against the page.
        assert_eq!(d.key, "https://cms.example.org/fr/prix/kragujevac/");
        assert_eq!(d.image, None);
        assert_eq!(d.author, None);
    }

    #[test]
    fn without_a_canonical_link_the_page_url_is_the_id() {
        let text = GAND.replace(
            r#"<link rel="canonical" href="https://villes.example.org/fr/prix/gand/">"#,
            "",
        );
        let page = url("https://cms.example.org/fr/prix/gand/");
        let d = draft(&text, &page, &fields(), rules()).unwrap();
        assert_eq!(d.key, "https://cms.example.org/fr/prix/gand/");
    }

    #[test]
    fn a_configured_id_must_match() {
        let mut f = fields();
        f.id = Some(field("selectors.id", &["article@data-id"]));
        let page = url("https://cms.example.org/fr/prix/gand/");
        let err = draft(GAND, &page, &f, rules()).unwrap_err();
        assert!(err.contains("`selectors.id`"), "{err}");
        let text = GAND.replace("<article>", r#"<article data-id="post-17">"#);
        assert_eq!(draft(&text, &page, &f, rules()).unwrap().key, "post-17");
    }

    #[test]
    fn missing_and_unreadable_fields_name_the_selector() {
        let page = url("https://cms.example.org/fr/prix/brouillon/");
        let err = draft(MALFORMED, &page, &fields(), rules()).unwrap_err();
        assert!(err.contains("`selectors.published` (`.date`)"), "{err}");
        assert!(err.contains("crier check"), "{err}");

        let text = KRAGUJEVAC.replace("1er avril 2024", "bientôt");
        let err = draft(&text, &page, &fields(), rules()).unwrap_err();
        assert!(
            err.contains("`selectors.published`")
                && err.contains("\"bientôt\"")
                && err.contains("date_formats"),
            "{err}"
        );
        let formats = [DateFormat::parse("bientôt %Y").unwrap()];
        let rules = DateRules {
            formats: &formats,
            ..rules()
        };
        let text = KRAGUJEVAC.replace("1er avril 2024", "bientôt 2025");
        assert!(
            draft(&text, &page, &fields(), rules).is_err(),
            "a year alone is no date"
        );
    }

    #[test]
    fn listing_links_are_absolute_deduplicated_later() {
        let text = include_str!("../../../tests/fixtures/sources/html/listing-1.html");
        let html = Html::parse_document(text);
        let page = url("https://cms.example.org/fr/prix/");
        let found = links(&html, &Pick::parse(".laureats h2 a").unwrap(), &page);
        let found: Vec<&str> = found.iter().map(Url::as_str).collect();
        assert_eq!(
            found,
            [
                "https://cms.example.org/fr/prix/gand/",
                "https://cms.example.org/fr/prix/kragujevac/",
                "https://cms.example.org/fr/prix/gand/",
            ],
            "fragments dropped, mailto: left out; the reader removes repeats"
        );
        let next = links(&html, &Pick::parse("a[rel=next]").unwrap(), &page);
        assert_eq!(next[0].as_str(), "https://cms.example.org/fr/prix/?page=2");
    }

    #[test]
    fn a_base_element_moves_relative_links() {
        let html = Html::parse_document(
            r#"<head><base href="/site/"></head><body><a class="e" href="a/">A</a></body>"#,
        );
        let page = url("https://x.example/list/");
        let base = base_url(&html, &page);
        let found = links(&html, &Pick::parse("a.e").unwrap(), &base);
        assert_eq!(found[0].as_str(), "https://x.example/site/a/");
    }

    #[test]
    fn meta_charsets_are_found() {
        assert_eq!(
            meta_charset(br#"<html><head><meta charset="ISO-8859-1"><title>"#).as_deref(),
            Some("iso-8859-1")
        );
        assert_eq!(
            meta_charset(
                br#"<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">"#
            )
            .as_deref(),
            Some("windows-1252")
        );
        assert_eq!(
            meta_charset(b"<meta charset=utf-16>").as_deref(),
            Some("utf-8")
        );
        assert_eq!(meta_charset(b"<p>charset=latin1</p>"), None);
        assert_eq!(
            meta_charset(br#"<meta name="description" content="x">"#),
            None
        );
    }
}

//! Feeds a browser shows as a page: an XSLT 1.0 stylesheet, written next to the feeds in each
//! language the feeds use (`feed.{lang}.xsl`), that RSS and Atom files name in an
//! `<?xml-stylesheet?>` instruction. The page shows the feed's title and description, how to
//! subscribe, links to the other formats and the newest entries; it needs no script and loads
//! nothing from elsewhere (the CSS is inline).
//!
//! The fixed texts come from a small table per language ([`Strings`]); a feed in a language
//! without one gets English. The instruction names the stylesheet by its path from the root of
//! the feeds' host (`/feeds/feed.fr.xsl`): it works from every feed folder, and on any host
//! serving the files (browsers apply a stylesheet from the feed's own origin only).

use std::fmt;
use std::path::PathBuf;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, context};
use serde::de::{self, Deserializer, Visitor};
use serde::{Serialize, Serializer};

use super::{FeedError, FeedFormat, FeedsConfig};
use crate::site::Site;
use crate::values::HttpUrl;

/// The `feeds.stylesheet` setting: which stylesheet, if any, RSS and Atom files name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Stylesheet {
    /// crier writes its own, one per language (`true`, the default).
    #[default]
    Crier,
    /// No stylesheet and no instruction (`false`).
    Off,
    /// The site's own stylesheet at this address (an http(s) URL or a path from `/`); crier
    /// writes none.
    Url(String),
}

impl Serialize for Stylesheet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Stylesheet::Crier => serializer.serialize_bool(true),
            Stylesheet::Off => serializer.serialize_bool(false),
            Stylesheet::Url(url) => serializer.serialize_str(url),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Stylesheet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Setting;
        impl Visitor<'_> for Setting {
            type Value = Stylesheet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or the address of the site's own XSL stylesheet")
            }
            fn visit_bool<E: de::Error>(self, on: bool) -> Result<Stylesheet, E> {
                Ok(if on {
                    Stylesheet::Crier
                } else {
                    Stylesheet::Off
                })
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Stylesheet, E> {
                Stylesheet::url(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Setting)
    }
}

impl Stylesheet {
    /// The site's own stylesheet at `text`: an `http(s)://` URL or a path from `/`.
    pub fn url(text: &str) -> Result<Stylesheet, String> {
        let path = text.starts_with('/') && !text.starts_with("//");
        if path || HttpUrl::parse(text).is_ok() {
            Ok(Stylesheet::Url(text.to_owned()))
        } else {
            Err(format!(
                "{text:?} is neither an https:// URL nor a path from `/`; write true (crier's \
                 own stylesheet), false (none) or the address of the site's stylesheet, on the \
                 host that serves the feeds (browsers apply no stylesheet from another one)"
            ))
        }
    }
}

/// The fixed texts of the page in one language.
#[derive(Debug, Serialize)]
pub struct Strings {
    /// Primary language subtag (`fr`), also the stylesheet's file name part.
    pub code: &'static str,
    /// What the page is, shown above the title ("Web feed").
    pub label: &'static str,
    /// The link to the site's home page.
    pub visit_site: &'static str,
    /// Heading of the box on subscribing.
    pub subscribe_heading: &'static str,
    /// What a feed is, in one sentence.
    pub about: &'static str,
    /// What to do with the address.
    pub subscribe_text: &'static str,
    /// Label of the feed's address.
    pub address_label: &'static str,
    /// Before the links to the other formats.
    pub formats_label: &'static str,
    /// Heading of the list of entries.
    pub latest_heading: &'static str,
    /// Before an entry's date, its trailing space included.
    pub published: &'static str,
    /// When the feed holds no entry.
    pub no_entries: &'static str,
    /// A date: `{d}` the day, `{m}` the month's name, `{y}` the year.
    pub date_pattern: &'static str,
    /// Month names as they stand in a date.
    pub months: [&'static str; 12],
}

/// Every language with its own texts; the first, English, is the fallback.
pub const LANGUAGES: [Strings; 8] = [
    Strings {
        code: "en",
        label: "Web feed",
        visit_site: "Visit the website",
        subscribe_heading: "How to subscribe",
        about: "A web feed lets you follow this site in a feed reader: each new entry reaches \
                you there, with no account and no algorithm.",
        subscribe_text: "Copy the address below and add it to your feed reader.",
        address_label: "Feed address",
        formats_label: "Also available as:",
        latest_heading: "Latest entries",
        published: "Published ",
        no_entries: "No entries yet.",
        date_pattern: "{d} {m} {y}",
        months: [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
    },
    Strings {
        code: "fr",
        label: "Flux web",
        visit_site: "Voir le site",
        subscribe_heading: "Comment s’abonner",
        about: "Un flux web permet de suivre ce site dans un lecteur de flux\u{a0}: chaque \
                nouvelle publication vous y parvient, sans compte ni algorithme.",
        subscribe_text: "Copiez l’adresse ci-dessous et ajoutez-la à votre lecteur de flux.",
        address_label: "Adresse du flux",
        formats_label: "Aussi disponible en\u{a0}:",
        latest_heading: "Dernières publications",
        published: "Publié le ",
        no_entries: "Aucune publication pour l’instant.",
        date_pattern: "{d} {m} {y}",
        months: [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ],
    },
    Strings {
        code: "de",
        label: "Web-Feed",
        visit_site: "Zur Website",
        subscribe_heading: "So abonnieren Sie",
        about: "Mit einem Web-Feed folgen Sie dieser Website in einem Feedreader: Jeder neue \
                Beitrag erreicht Sie dort, ohne Konto und ohne Algorithmus.",
        subscribe_text: "Kopieren Sie die Adresse unten und fügen Sie sie in Ihren Feedreader ein.",
        address_label: "Adresse des Feeds",
        formats_label: "Auch verfügbar als:",
        latest_heading: "Neueste Beiträge",
        published: "Veröffentlicht am ",
        no_entries: "Noch keine Beiträge.",
        date_pattern: "{d}. {m} {y}",
        months: [
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ],
    },
    Strings {
        code: "es",
        label: "Canal web",
        visit_site: "Visitar el sitio",
        subscribe_heading: "Cómo suscribirse",
        about: "Un canal web le permite seguir este sitio en un lector de canales: cada nueva \
                publicación le llega allí, sin cuenta ni algoritmo.",
        subscribe_text: "Copie la dirección de abajo y añádala a su lector de canales.",
        address_label: "Dirección del canal",
        formats_label: "También disponible en:",
        latest_heading: "Últimas publicaciones",
        published: "Publicado el ",
        no_entries: "Todavía no hay publicaciones.",
        date_pattern: "{d} de {m} de {y}",
        months: [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ],
    },
    Strings {
        code: "it",
        label: "Feed web",
        visit_site: "Visita il sito",
        subscribe_heading: "Come iscriversi",
        about: "Un feed web permette di seguire questo sito con un lettore di feed: ogni nuova \
                pubblicazione vi arriva da sé, senza account né algoritmi.",
        subscribe_text: "Copia l’indirizzo qui sotto e aggiungilo al tuo lettore di feed.",
        address_label: "Indirizzo del feed",
        formats_label: "Disponibile anche in:",
        latest_heading: "Ultime pubblicazioni",
        published: "Pubblicato il ",
        no_entries: "Ancora nessuna pubblicazione.",
        date_pattern: "{d} {m} {y}",
        months: [
            "gennaio",
            "febbraio",
            "marzo",
            "aprile",
            "maggio",
            "giugno",
            "luglio",
            "agosto",
            "settembre",
            "ottobre",
            "novembre",
            "dicembre",
        ],
    },
    Strings {
        code: "nl",
        label: "Webfeed",
        visit_site: "Naar de website",
        subscribe_heading: "Zo abonneert u zich",
        about: "Met een webfeed volgt u deze site in een feedlezer: elk nieuw bericht komt daar \
                vanzelf binnen, zonder account en zonder algoritme.",
        subscribe_text: "Kopieer het adres hieronder en voeg het toe aan uw feedlezer.",
        address_label: "Adres van de feed",
        formats_label: "Ook beschikbaar als:",
        latest_heading: "Nieuwste berichten",
        published: "Gepubliceerd op ",
        no_entries: "Nog geen berichten.",
        date_pattern: "{d} {m} {y}",
        months: [
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ],
    },
    Strings {
        code: "pl",
        label: "Kanał internetowy",
        visit_site: "Odwiedź stronę",
        subscribe_heading: "Jak subskrybować",
        about: "Kanał pozwala śledzić tę stronę w czytniku kanałów: każdy nowy wpis trafia tam \
                sam, bez konta i bez algorytmu.",
        subscribe_text: "Skopiuj poniższy adres i dodaj go do swojego czytnika kanałów.",
        address_label: "Adres kanału",
        formats_label: "Dostępny także jako:",
        latest_heading: "Najnowsze wpisy",
        published: "Opublikowano ",
        no_entries: "Na razie brak wpisów.",
        date_pattern: "{d} {m} {y}",
        // Genitive, as in a date ("5 marca 2024").
        months: [
            "stycznia",
            "lutego",
            "marca",
            "kwietnia",
            "maja",
            "czerwca",
            "lipca",
            "sierpnia",
            "września",
            "października",
            "listopada",
            "grudnia",
        ],
    },
    Strings {
        code: "pt",
        label: "Feed web",
        visit_site: "Visitar o site",
        subscribe_heading: "Como subscrever",
        about: "Um feed permite acompanhar este site num leitor de feeds: cada nova publicação \
                chega lá sozinha, sem conta nem algoritmo.",
        subscribe_text: "Copie o endereço abaixo e adicione-o ao seu leitor de feeds.",
        address_label: "Endereço do feed",
        formats_label: "Também disponível em:",
        latest_heading: "Publicações recentes",
        published: "Publicado em ",
        no_entries: "Ainda sem publicações.",
        date_pattern: "{d} de {m} de {y}",
        months: [
            "janeiro",
            "fevereiro",
            "março",
            "abril",
            "maio",
            "junho",
            "julho",
            "agosto",
            "setembro",
            "outubro",
            "novembro",
            "dezembro",
        ],
    },
];

/// The texts for `language` (a BCP 47 tag: `fr-BE` gets French), English when there are none.
pub fn strings_for(language: &str) -> &'static Strings {
    let primary = language.split(['-', '_']).next().unwrap_or_default();
    LANGUAGES
        .iter()
        .find(|s| s.code.eq_ignore_ascii_case(primary))
        .unwrap_or(&LANGUAGES[0])
}

/// The language whose texts a feed in `language` shows; a feed of several languages shows the
/// site's first.
fn strings_of(site: &Site, language: Option<&str>) -> &'static Strings {
    let fallback = site.languages.first().map(String::as_str).unwrap_or("en");
    strings_for(language.unwrap_or(fallback))
}

/// File name of crier's stylesheet in `strings`' language, in the feeds' output folder.
pub fn file_name(strings: &Strings) -> String {
    format!("feed.{}.xsl", strings.code)
}

/// The address a feed in `language` names in its `<?xml-stylesheet?>` instruction, if any.
pub fn href(site: &Site, feeds: &FeedsConfig, language: Option<&str>) -> Option<String> {
    match &feeds.stylesheet {
        Stylesheet::Off => None,
        Stylesheet::Url(url) => Some(url.clone()),
        Stylesheet::Crier => {
            let public = feeds.public_url(site);
            // The path alone: a browser takes it from the feed's own origin, whatever host
            // serves the files (a staging copy, a test server).
            let folder = url::Url::parse(&public)
                .map(|u| u.path().to_owned())
                .unwrap_or(public);
            Some(format!("{folder}{}", file_name(strings_of(site, language))))
        }
    }
}

/// One stylesheet file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StylesheetFile {
    /// Where it goes, in the output folder.
    pub path: PathBuf,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// crier's stylesheets for feeds in `languages` (each feed's own, `None` for a feed of several
/// languages), one per language table, sorted by path; none unless `feeds.stylesheet` is on.
pub fn files<'a>(
    site: &Site,
    feeds: &FeedsConfig,
    languages: impl IntoIterator<Item = Option<&'a str>>,
) -> Result<Vec<StylesheetFile>, FeedError> {
    if feeds.stylesheet != Stylesheet::Crier {
        return Ok(Vec::new());
    }
    let mut codes: Vec<&'static Strings> = languages
        .into_iter()
        .map(|language| strings_of(site, language))
        .collect();
    codes.sort_by_key(|s| s.code);
    codes.dedup_by_key(|s| s.code);
    codes
        .into_iter()
        .map(|strings| {
            Ok(StylesheetFile {
                path: feeds.output_dir.join(file_name(strings)),
                bytes: render(strings, &feeds.formats)?.into_bytes(),
            })
        })
        .collect()
}

/// The stylesheet's template (minijinja over XSLT).
const TEMPLATE: &str = include_str!("stylesheet.xsl");

/// A link to one of the feed's formats, as the page lists it.
#[derive(Serialize)]
struct FormatLink {
    label: &'static str,
    file: &'static str,
    media_type: &'static str,
}

/// The stylesheet in `strings`' language, linking to `formats`.
pub fn render(strings: &Strings, formats: &[FeedFormat]) -> Result<String, FeedError> {
    let error = |e: minijinja::Error| FeedError::Render {
        format: "xsl",
        title: file_name(strings),
        reason: e.to_string(),
    };
    let mut env = Environment::new();
    // The texts are crier's own, but escaping keeps an apostrophe or `&` from breaking the XML.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("feed.xsl", TEMPLATE).map_err(error)?;
    let formats: Vec<FormatLink> = formats
        .iter()
        .map(|&format| FormatLink {
            label: match format {
                FeedFormat::Rss => "RSS",
                FeedFormat::Atom => "Atom",
                FeedFormat::Json => "JSON Feed",
            },
            file: format.file_name(),
            media_type: match format {
                FeedFormat::Rss => "application/rss+xml",
                FeedFormat::Atom => "application/atom+xml",
                FeedFormat::Json => "application/feed+json",
            },
        })
        .collect();
    env.get_template("feed.xsl")
        .and_then(|t| {
            t.render(context! {
                s => Value::from(Serde(strings)),
                formats => Value::from(Serde(formats)),
                date_parts => date_parts(strings.date_pattern),
            })
        })
        .map_err(error)
}

/// `pattern` cut into its placeholders (`{d}`, `{m}`, `{y}`) and the texts between them.
fn date_parts(pattern: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        if start > 0 {
            parts.push(&rest[..start]);
        }
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        parts.push(&rest[start..end]);
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        parts.push(rest);
    }
    parts
}

/// `document` (an XML feed) with the instruction naming the stylesheet at `href` right after
/// its XML declaration; unchanged without one.
pub(crate) fn with_instruction(document: Vec<u8>, href: Option<&str>) -> Vec<u8> {
    let Some(href) = href else {
        return document;
    };
    let declaration_end = if document.starts_with(b"<?xml ") {
        document
            .windows(2)
            .position(|w| w == b"?>")
            .map_or(0, |p| p + 2)
    } else {
        0
    };
    // In a pseudo-attribute, entity references are recognised, so the address is escaped
    // as in an attribute (which also keeps `?>` out of the instruction).
    let mut escaped = String::with_capacity(href.len());
    for c in href.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            _ => escaped.push(c),
        }
    }
    let instruction = format!("<?xml-stylesheet type=\"text/xsl\" href=\"{escaped}\"?>");
    let mut out = Vec::with_capacity(document.len() + instruction.len() + 1);
    out.extend_from_slice(&document[..declaration_end]);
    if declaration_end > 0 {
        out.push(b'\n');
        out.extend_from_slice(instruction.as_bytes());
    } else {
        out.extend_from_slice(instruction.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(&document[declaration_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Entry;
    use crate::feeds::FeedMeta;

    /// Reads `xml` through quick-xml to its end: every tag closed by its own name, every
    /// attribute well formed.
    fn assert_well_formed(xml: &str, what: &str) {
        let mut reader = quick_xml::Reader::from_str(xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(quick_xml::events::Event::Start(tag) | quick_xml::events::Event::Empty(tag)) => {
                    for attribute in tag.attributes() {
                        attribute.unwrap_or_else(|e| panic!("{what}: {e}"));
                    }
                }
                Ok(_) => {}
                Err(e) => panic!(
                    "{what} is not well formed at byte {}: {e}",
                    reader.buffer_position()
                ),
            }
        }
    }

    #[test]
    fn every_language_renders_a_well_formed_stylesheet_with_its_texts() {
        let formats = [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json];
        for strings in &LANGUAGES {
            let xsl = render(strings, &formats).unwrap();
            assert_well_formed(&xsl, &file_name(strings));
            assert!(xsl.contains(&format!("<html lang=\"{}\">", strings.code)));
            for text in [
                strings.label,
                strings.subscribe_heading,
                strings.latest_heading,
            ] {
                assert!(xsl.contains(text), "{}: {text}", strings.code);
            }
            assert!(xsl.contains(strings.about), "{}", strings.code);
            for month in strings.months {
                assert!(
                    xsl.contains(&format!("\">{month}</xsl:when>")),
                    "{}: {month}",
                    strings.code
                );
            }
            for file in ["rss.xml", "atom.xml", "feed.json"] {
                assert!(xsl.contains(&format!("<a href=\"{file}\"")), "{file}");
            }
            // No script, nothing loaded from elsewhere.
            assert!(!xsl.contains("<script"), "{}", strings.code);
            assert!(!xsl.contains("<link"), "{}", strings.code);
            assert!(!xsl.contains("url("), "{}", strings.code);
            assert!(!xsl.contains("@import"), "{}", strings.code);
        }
    }

    #[test]
    fn only_the_configured_formats_are_linked() {
        let xsl = render(strings_for("en"), &[FeedFormat::Atom]).unwrap();
        assert!(xsl.contains("<a href=\"atom.xml\""));
        assert!(!xsl.contains("rss.xml\""));
        assert!(!xsl.contains("feed.json"));
    }

    #[test]
    fn every_language_table_is_complete() {
        // The struct makes every key present; this checks that none is left empty, that the
        // date pattern names day, month and year once, and that each language is listed once.
        let mut codes = Vec::new();
        for s in &LANGUAGES {
            let texts = [
                s.code,
                s.label,
                s.visit_site,
                s.subscribe_heading,
                s.about,
                s.subscribe_text,
                s.address_label,
                s.formats_label,
                s.latest_heading,
                s.published,
                s.no_entries,
            ];
            for text in texts.iter().chain(&s.months) {
                assert!(!text.trim().is_empty(), "{}: an empty text", s.code);
            }
            assert!(s.published.ends_with(' '), "{}", s.code);
            for part in ["{d}", "{m}", "{y}"] {
                assert_eq!(s.date_pattern.matches(part).count(), 1, "{}", s.code);
            }
            codes.push(s.code);
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LANGUAGES.len());
        for wanted in ["en", "fr", "de", "es", "it", "nl", "pl", "pt"] {
            assert!(codes.contains(&wanted), "{wanted}");
        }
    }

    #[test]
    fn a_language_gets_its_table_or_english() {
        assert_eq!(strings_for("fr").code, "fr");
        assert_eq!(strings_for("fr-BE").code, "fr");
        assert_eq!(strings_for("pt_BR").code, "pt");
        assert_eq!(strings_for("DE").code, "de");
        assert_eq!(strings_for("rom").code, "en");
        assert_eq!(strings_for("").code, "en");
    }

    #[test]
    fn date_patterns_are_cut_at_their_placeholders() {
        assert_eq!(
            date_parts("{d} de {m} de {y}"),
            ["{d}", " de ", "{m}", " de ", "{y}"]
        );
        assert_eq!(date_parts("{d}. {m} {y}"), ["{d}", ". ", "{m}", " ", "{y}"]);
    }

    fn site(languages: &str) -> Site {
        crate::testing::site(&format!("languages = {languages}"))
    }

    fn feeds(setting: &str) -> FeedsConfig {
        let feeds: FeedsConfig = toml::from_str(setting).expect("the [feeds] table parses");
        feeds.validate().expect("valid");
        feeds
    }

    #[test]
    fn the_setting_is_on_off_or_an_address() {
        assert_eq!(feeds("").stylesheet, Stylesheet::Crier);
        assert_eq!(feeds("stylesheet = true").stylesheet, Stylesheet::Crier);
        assert_eq!(feeds("stylesheet = false").stylesheet, Stylesheet::Off);
        assert_eq!(
            feeds("stylesheet = \"/style/feed.xsl\"").stylesheet,
            Stylesheet::Url("/style/feed.xsl".into())
        );
        assert_eq!(
            feeds("stylesheet = \"https://example.org/feed.xsl\"").stylesheet,
            Stylesheet::Url("https://example.org/feed.xsl".into())
        );
        for wrong in [
            "\"feed.xsl\"",
            "\"//cdn.example/feed.xsl\"",
            "\"ftp://x/f.xsl\"",
            "3",
        ] {
            let error = toml::from_str::<FeedsConfig>(&format!("stylesheet = {wrong}"))
                .expect_err(wrong)
                .to_string();
            assert!(
                error.contains("true") && error.contains("false"),
                "{wrong}: {error}"
            );
        }
        // Written back as read: the settings fingerprint sees a change.
        let json = |s: &str| serde_json::to_value(feeds(s).stylesheet).unwrap();
        assert_eq!(json(""), serde_json::json!(true));
        assert_eq!(json("stylesheet = false"), serde_json::json!(false));
        assert_eq!(json("stylesheet = \"/f.xsl\""), serde_json::json!("/f.xsl"));
    }

    #[test]
    fn each_feed_names_its_language_stylesheet_by_its_path_on_the_feeds_host() {
        let site = site("[\"fr\", \"en\"]");
        let on = feeds("");
        assert_eq!(
            href(&site, &on, Some("en")).as_deref(),
            Some("/feeds/feed.en.xsl")
        );
        assert_eq!(
            href(&site, &on, Some("pt-BR")).as_deref(),
            Some("/feeds/feed.pt.xsl")
        );
        assert_eq!(
            href(&site, &on, Some("rom")).as_deref(),
            Some("/feeds/feed.en.xsl")
        );
        // A feed of several languages shows the site's first.
        assert_eq!(
            href(&site, &on, None).as_deref(),
            Some("/feeds/feed.fr.xsl")
        );
        let elsewhere = feeds("public_url = \"https://cdn.example.org/news/rss\"");
        assert_eq!(
            href(&site, &elsewhere, None).as_deref(),
            Some("/news/rss/feed.fr.xsl")
        );
        assert_eq!(href(&site, &feeds("stylesheet = false"), None), None);
        assert_eq!(
            href(&site, &feeds("stylesheet = \"/my.xsl\""), Some("en")).as_deref(),
            Some("/my.xsl")
        );
    }

    #[test]
    fn one_file_per_language_table_and_none_unless_crier_writes_them() {
        let site = site("[\"en\", \"fr\"]");
        let on = feeds("output_dir = \"out\"");
        let written = files(&site, &on, [None, Some("en"), Some("fr"), Some("fr-CA")]).unwrap();
        let paths: Vec<_> = written.iter().map(|f| f.path.clone()).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("out/feed.en.xsl"),
                PathBuf::from("out/feed.fr.xsl")
            ]
        );
        for setting in ["stylesheet = false", "stylesheet = \"/my.xsl\""] {
            assert!(files(&site, &feeds(setting), [None]).unwrap().is_empty());
        }
    }

    fn render_feed(format: FeedFormat, stylesheet: Option<&str>) -> String {
        let meta = FeedMeta {
            stylesheet: stylesheet.map(str::to_owned),
            ..crate::testing::feed_meta(Some("fr"))
        };
        let entries: Vec<Entry> = vec![crate::testing::entry("a", "2024-03-05T09:00:00+01:00")];
        String::from_utf8(crate::feeds::render(format, &meta, &entries).unwrap()).unwrap()
    }

    #[test]
    fn the_instruction_follows_the_declaration_only_when_a_stylesheet_is_named() {
        for format in [FeedFormat::Rss, FeedFormat::Atom] {
            let with = render_feed(format, Some("/feeds/feed.fr.xsl?v=1&x=\"2\""));
            let mut lines = with.lines();
            assert!(
                lines.next().unwrap().starts_with("<?xml version="),
                "{with}"
            );
            assert_eq!(
                lines.next(),
                Some(
                    "<?xml-stylesheet type=\"text/xsl\" href=\"/feeds/feed.fr.xsl?v=1&amp;x=&quot;2&quot;\"?>"
                ),
                "{with}"
            );
            assert_well_formed(&with, format.name());
            let parsed = feed_rs::parser::parse(with.as_bytes()).unwrap();
            assert_eq!(parsed.entries.len(), 1);
            let without = render_feed(format, None);
            assert!(!without.contains("xml-stylesheet"), "{without}");
            // The instruction is all that differs.
            assert_eq!(
                with.lines()
                    .filter(|l| !l.contains("xml-stylesheet"))
                    .collect::<Vec<_>>(),
                without.lines().collect::<Vec<_>>()
            );
        }
        let json = render_feed(FeedFormat::Json, Some("/feeds/feed.fr.xsl"));
        assert!(!json.contains("xsl"), "{json}");
    }

    #[test]
    fn the_instruction_goes_first_in_a_document_without_declaration() {
        let out = with_instruction(b"<rss/>".to_vec(), Some("/a.xsl"));
        assert_eq!(
            out,
            b"<?xml-stylesheet type=\"text/xsl\" href=\"/a.xsl\"?>\n<rss/>"
        );
    }
}

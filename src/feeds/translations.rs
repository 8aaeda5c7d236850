//! Translations: the live entries that share a translation key, so that each feed item links
//! the same entry in the other languages (Atom and RSS `link rel="alternate" hreflang`, the
//! JSON Feed's `_crier.translations`).
//!
//! Built once per publication from the store's light rows ([`LiveEntry`]), because an entry's
//! translations are usually not in the same feed (a per-language feed holds one language) and
//! loading them in full would cost far more than their URL and title. Within a key, one entry
//! per language is kept (the smallest id, so that the choice is stable): a feed item must not
//! carry two alternates with the same `hreflang`. Lists are sorted by language tag, so the
//! same entries always give the same bytes.

use std::collections::HashMap;

use crate::store::LiveEntry;

/// One translation of an entry: a live entry with the same translation key in another
/// language.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Translation {
    /// Its language tag.
    pub language: String,
    /// Its page.
    pub url: String,
    /// Its title, plain text.
    pub title: String,
}

/// Every live entry's translations, by translation key; keys with one language are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translations {
    groups: HashMap<String, Vec<Translation>>,
}

impl Translations {
    /// Groups the live entries by translation key.
    pub fn new(live: &[LiveEntry]) -> Translations {
        let mut by_key: HashMap<&str, Vec<&LiveEntry>> = HashMap::new();
        for entry in live {
            // An entry without a language cannot be told apart from its translations.
            if !entry.language.trim().is_empty() && !entry.translation_key.is_empty() {
                by_key
                    .entry(&entry.translation_key)
                    .or_default()
                    .push(entry);
            }
        }
        let groups = by_key
            .into_iter()
            .filter(|(_, members)| members.len() > 1)
            .filter_map(|(key, mut members)| {
                members.sort_by(|a, b| (&a.language, &a.id).cmp(&(&b.language, &b.id)));
                members.dedup_by(|later, first| later.language == first.language);
                let group: Vec<Translation> = members
                    .into_iter()
                    .map(|e| Translation {
                        language: e.language.clone(),
                        url: e.url.clone(),
                        title: e.title.clone(),
                    })
                    .collect();
                (group.len() > 1).then(|| (key.to_owned(), group))
            })
            .collect();
        Translations { groups }
    }

    /// The translations of the entry with translation key `key` written in `language`: the
    /// other languages of its key, sorted by language tag; empty when it has none.
    pub fn of(&self, key: &str, language: &str) -> Vec<&Translation> {
        self.groups.get(key).map_or_else(Vec::new, |group| {
            group.iter().filter(|t| t.language != language).collect()
        })
    }

    /// Whether no entry has a translation.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(id: &str, lang: &str, key: &str) -> LiveEntry {
        LiveEntry {
            id: id.into(),
            language: lang.into(),
            categories: Vec::new(),
            published_ts: 0,
            content_hash: format!("h{id}"),
            translation_key: key.into(),
            url: format!("https://example.org/{id}/"),
            title: format!("Title {id}"),
        }
    }

    fn languages(list: Vec<&Translation>) -> Vec<&str> {
        list.iter().map(|t| t.language.as_str()).collect()
    }

    #[test]
    fn an_entry_links_the_other_languages_of_its_key_sorted_by_tag() {
        let entries = [
            live("river.pt-BR", "pt-BR", "river"),
            live("river.fr", "fr", "river"),
            live("river.en", "en", "river"),
            live("alone", "en", "alone"),
        ];
        let translations = Translations::new(&entries);
        assert_eq!(languages(translations.of("river", "en")), ["fr", "pt-BR"]);
        assert_eq!(languages(translations.of("river", "fr")), ["en", "pt-BR"]);
        let fr = translations.of("river", "en")[0];
        assert_eq!(fr.url, "https://example.org/river.fr/");
        assert_eq!(fr.title, "Title river.fr");
        assert!(translations.of("alone", "en").is_empty());
        assert!(translations.of("unknown", "en").is_empty());
    }

    #[test]
    fn one_entry_per_language_and_none_without_a_second_language() {
        let entries = [
            live("b", "fr", "k"),
            live("a", "fr", "k"),
            live("c", "en", "k"),
            live("x", "en", "same"),
            live("y", "en", "same"),
            live("z", "", "k"),
        ];
        let translations = Translations::new(&entries);
        let of_en = translations.of("k", "en");
        assert_eq!(of_en.len(), 1, "{of_en:?}");
        assert_eq!(of_en[0].url, "https://example.org/a/", "the smallest id");
        // Two entries in one language are not each other's translations.
        assert!(translations.of("same", "en").is_empty());
        assert!(Translations::new(&entries[3..5]).is_empty());
    }
}

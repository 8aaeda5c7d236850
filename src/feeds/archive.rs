//! Archived feeds (RFC 5005, section 4): with `feeds.archive`, every entry of a feed folder is
//! also written into numbered archive documents, `archive/1/` the oldest, each in every
//! configured format, so that a reader can walk back from the subscription document
//! (`prev-archive`) and rebuild the whole history.
//!
//! Pages are cut by position, not by count: once a page holds `archive_size` entries, the
//! position (publication time, then id) of its newest entry is recorded in the store's
//! metadata as the page's upper bound, and the next page (possibly empty) starts after it. A
//! full page therefore never changes when entries arrive: new entries fall after the last
//! bound, into the newest page. An entry edited changes only its own page; one withdrawn leaves
//! a page one entry short; one published late with an old date joins the page its date falls
//! in. No bound ever moves, so no other page shifts. Bounds are recorded per folder, and a
//! change of `archive_size` only shapes the pages cut after it.
//!
//! The pages overlap the subscription document (RFC 5005 allows it: a reader keeps the most
//! recently updated copy of an entry): every entry is in exactly one archive page, and the
//! newest ones are in the subscription document too. The subscription document's
//! `prev-archive` skips the newest page, which still changes, while it holds only entries the
//! subscription document shows (always, when `archive_size` is at most `limit`): a reader
//! following the links then only ever fetches full pages, which it may keep as they are.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::set::FeedSpec;
use super::{FeedFormat, FeedMeta};
use crate::store::{LiveEntry, Store, StoreError};

/// Where a document sits in an archived feed: the folder URLs (ending in `/`) of its
/// neighbours. Each renderer appends its own file name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArchiveLinks {
    /// The subscription document's folder (`rel="current"`); set on archive documents only,
    /// which it marks as such (`fh:archive`).
    pub current: Option<String>,
    /// The next older archive document's folder (`rel="prev-archive"`).
    pub prev: Option<String>,
    /// The next newer archive document's folder (`rel="next-archive"`).
    pub next: Option<String>,
}

impl ArchiveLinks {
    /// Whether these are the links of an archive document (not of the subscription document).
    pub fn is_archive(&self) -> bool {
        self.current.is_some()
    }
}

/// Namespace of `fh:archive`, the element that marks an archive document.
pub(crate) const FH_NAMESPACE: &str = "http://purl.org/syndication/history/1.0";

/// The RFC 5005 links of a document, as (relation, folder URL) pairs in a fixed order.
pub(crate) fn relations(links: &ArchiveLinks) -> impl Iterator<Item = (&'static str, &str)> {
    [
        ("current", &links.current),
        ("prev-archive", &links.prev),
        ("next-archive", &links.next),
    ]
    .into_iter()
    .filter_map(|(rel, folder)| Some((rel, folder.as_deref()?)))
}

/// The URL of the `format` file in the folder at `folder_url`.
pub(crate) fn file_url(folder_url: &str, format: FeedFormat) -> String {
    format!("{folder_url}{}", format.file_name())
}

/// Folder of archive page `number` (from 1), relative to its feed folder.
pub fn page_dir(number: usize) -> String {
    format!("archive/{number}")
}

/// An entry's place in the archive order: oldest first, by publication time, then id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    /// Publication time, Unix seconds.
    pub published_ts: i64,
    /// Entry id.
    pub id: String,
}

impl Position {
    fn of(entry: &LiveEntry) -> Position {
        Position {
            published_ts: entry.published_ts,
            id: entry.id.clone(),
        }
    }
}

/// The recorded upper bounds of one folder's full pages, oldest first: page `k` (from 1) holds
/// the entries after bound `k - 1` up to and including bound `k`; the page after the last bound
/// is the newest, still filling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds(pub Vec<Position>);

/// Splits `matching` (positions in `live` of one folder's entries, in any order) into pages of
/// `size`, extending `bounds` with every page that filled up. Returns the pages oldest first,
/// the newest (possibly empty) last, each page's entries newest first as the feeds list them.
pub fn paginate(
    live: &[LiveEntry],
    matching: &[usize],
    bounds: &mut Bounds,
    size: usize,
) -> Vec<Vec<usize>> {
    let size = size.max(1);
    let mut sorted: Vec<usize> = matching.to_vec();
    sorted.sort_by(|&a, &b| {
        let (a, b) = (&live[a], &live[b]);
        (a.published_ts, &a.id).cmp(&(b.published_ts, &b.id))
    });
    let mut pages: Vec<Vec<usize>> = vec![Vec::new(); bounds.0.len() + 1];
    let mut page = 0;
    for i in sorted {
        let position = (live[i].published_ts, live[i].id.as_str());
        while page < bounds.0.len() && {
            let bound = &bounds.0[page];
            position > (bound.published_ts, bound.id.as_str())
        } {
            page += 1;
        }
        pages[page].push(i);
    }
    // The newest page is cut as soon as it is full, so that the page after it exists (empty)
    // from then on and the full page's `next-archive` link never has to be added later.
    while let Some(open) = pages.last_mut()
        && open.len() >= size
    {
        let rest = open.split_off(size);
        if let Some(&last) = open.last() {
            bounds.0.push(Position::of(&live[last]));
        }
        pages.push(rest);
    }
    for page in &mut pages {
        page.reverse();
    }
    pages
}

/// One document of a feed folder: the subscription document or an archive page.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// Folder relative to the output folder, `/`-separated; empty for the main feeds.
    pub dir: String,
    /// Feed-level data, with the document's links.
    pub meta: FeedMeta,
    /// Its entries as positions in the live entries, newest first.
    pub entries: Vec<usize>,
}

/// The documents of an archived feed folder: the subscription document (its newest entries,
/// `subscription`, linked to the newest page it does not cover), then every archive page,
/// oldest first, cut along `bounds` (extended with the pages that filled up).
pub(crate) fn documents(
    spec: &FeedSpec,
    subscription: &[usize],
    live: &[LiveEntry],
    bounds: &mut Bounds,
    size: usize,
) -> Vec<Document> {
    let matching: Vec<usize> = (0..live.len())
        .filter(|&i| spec.matches(&live[i]))
        .collect();
    let pages = paginate(live, &matching, bounds, size);
    let folder = |number: usize| format!("{}{}/", spec.meta.folder_url, page_dir(number));
    let newest = pages.len();
    // The newest page still changes, and a reader following RFC 5005 does not fetch again a
    // page it has seen: the subscription document links to it only when it holds entries the
    // subscription document does not, else to the newest full page (none while page 1 fills).
    let shown: HashSet<usize> = subscription.iter().copied().collect();
    let covered = pages
        .last()
        .is_none_or(|open| open.iter().all(|i| shown.contains(i)));
    let prev = if covered { newest - 1 } else { newest };
    let mut documents = Vec::with_capacity(newest + 1);
    documents.push(Document {
        dir: spec.dir.clone(),
        meta: FeedMeta {
            archive: Some(ArchiveLinks {
                prev: (prev >= 1).then(|| folder(prev)),
                ..ArchiveLinks::default()
            }),
            ..spec.meta.clone()
        },
        entries: subscription.to_vec(),
    });
    for (page, entries) in pages.into_iter().enumerate() {
        let number = page + 1;
        let dir = match spec.dir.as_str() {
            "" => page_dir(number),
            parent => format!("{parent}/{}", page_dir(number)),
        };
        let links = ArchiveLinks {
            current: Some(spec.meta.folder_url.clone()),
            prev: (number > 1).then(|| folder(number - 1)),
            next: (number < newest).then(|| folder(number + 1)),
        };
        documents.push(Document {
            dir,
            meta: FeedMeta {
                folder_url: folder(number),
                archive: Some(links),
                ..spec.meta.clone()
            },
            entries,
        });
    }
    documents
}

/// Metadata key of a folder's bounds.
fn bounds_key(dir: &str) -> String {
    format!("feeds:archive:{dir}")
}

/// The bounds recorded for the feed folder `dir`; none when nothing was recorded (or what was
/// is unreadable: the pages are then cut again from the entries as they are).
pub(crate) fn load_bounds(store: &Store, dir: &str) -> Result<Bounds, StoreError> {
    Ok(store
        .meta(&bounds_key(dir))?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

/// Records the bounds of the feed folder `dir`.
pub(crate) fn save_bounds(store: &mut Store, dir: &str, bounds: &Bounds) -> Result<(), StoreError> {
    let text = serde_json::to_string(bounds).unwrap_or_default();
    store.set_meta(&bounds_key(dir), &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(n: usize) -> Vec<LiveEntry> {
        (0..n)
            .map(|i| entry(&format!("e{i:03}"), i as i64))
            .collect()
    }

    fn entry(id: &str, ts: i64) -> LiveEntry {
        LiveEntry {
            id: id.into(),
            language: "en".into(),
            categories: Vec::new(),
            published_ts: ts,
            content_hash: format!("h{id}"),
            translation_key: id.into(),
            url: format!("https://example.org/{id}/"),
            title: id.into(),
        }
    }

    /// Pages as ids, oldest page first, each newest first.
    fn ids(live: &[LiveEntry], pages: &[Vec<usize>]) -> Vec<Vec<String>> {
        pages
            .iter()
            .map(|p| p.iter().map(|&i| live[i].id.clone()).collect())
            .collect()
    }

    fn all(live: &[LiveEntry]) -> Vec<usize> {
        (0..live.len()).collect()
    }

    #[test]
    fn pages_are_cut_from_the_oldest_and_the_newest_may_be_empty() {
        let entries = live(10);
        let mut bounds = Bounds::default();
        let pages = paginate(&entries, &all(&entries), &mut bounds, 4);
        assert_eq!(
            ids(&entries, &pages),
            [
                vec!["e003", "e002", "e001", "e000"],
                vec!["e007", "e006", "e005", "e004"],
                vec!["e009", "e008"],
            ]
        );
        assert_eq!(bounds.0.len(), 2);
        assert_eq!(bounds.0[1].id, "e007");

        let entries = live(8);
        let mut bounds = Bounds::default();
        let pages = paginate(&entries, &all(&entries), &mut bounds, 4);
        assert_eq!(pages.len(), 3);
        assert!(
            pages[2].is_empty(),
            "a full page is followed by an empty one"
        );

        let mut bounds = Bounds::default();
        assert_eq!(paginate(&[], &[], &mut bounds, 4), [Vec::<usize>::new()]);
    }

    #[test]
    fn new_entries_change_only_the_newest_page() {
        let mut entries = live(10);
        let mut bounds = Bounds::default();
        let before = ids(
            &entries,
            &paginate(&entries, &all(&entries), &mut bounds, 4),
        );
        for n in 10..13 {
            entries.push(entry(&format!("e{n:03}"), n as i64));
            let after = ids(
                &entries,
                &paginate(&entries, &all(&entries), &mut bounds, 4),
            );
            assert_eq!(after[..2], before[..2], "full pages stay as they were");
        }
        let pages = ids(
            &entries,
            &paginate(&entries, &all(&entries), &mut bounds, 4),
        );
        assert_eq!(pages[2], ["e011", "e010", "e009", "e008"]);
        assert_eq!(pages[3], ["e012"]);
        // Cut from scratch, the same entries give the same pages.
        let mut fresh = Bounds::default();
        let again = ids(&entries, &paginate(&entries, &all(&entries), &mut fresh, 4));
        assert_eq!(again, pages);
        assert_eq!(fresh, bounds);
    }

    #[test]
    fn a_withdrawal_or_a_late_entry_changes_only_its_own_page() {
        let mut entries = live(12);
        let mut bounds = Bounds::default();
        let before = ids(
            &entries,
            &paginate(&entries, &all(&entries), &mut bounds, 4),
        );

        // e005 withdrawn: page 2 is one short, the others are as they were.
        entries.retain(|e| e.id != "e005");
        let after = ids(
            &entries,
            &paginate(&entries, &all(&entries), &mut bounds, 4),
        );
        assert_eq!(after[0], before[0]);
        assert_eq!(after[1], ["e007", "e006", "e004"]);
        assert_eq!(after[2..], before[2..]);

        // An entry published late with an old date joins the page its date falls in.
        entries.push(entry("late", 1));
        let after = ids(
            &entries,
            &paginate(&entries, &all(&entries), &mut bounds, 4),
        );
        assert_eq!(after[0], ["e003", "e002", "late", "e001", "e000"]);
        assert_eq!(after[1], ["e007", "e006", "e004"]);
        assert_eq!(after[2..], before[2..]);
        assert_eq!(bounds.0.len(), 3, "no page was cut or moved");
    }

    #[test]
    fn a_new_size_shapes_only_the_pages_cut_after_it() {
        let mut entries = live(9);
        let mut bounds = Bounds::default();
        let before = ids(
            &entries,
            &paginate(&entries, &all(&entries), &mut bounds, 4),
        );
        entries.extend((9..12).map(|n| entry(&format!("e{n:03}"), n)));
        let after = ids(
            &entries,
            &paginate(&entries, &all(&entries), &mut bounds, 2),
        );
        assert_eq!(after[..2], before[..2]);
        assert_eq!(
            after[2..],
            [vec!["e009", "e008"], vec!["e011", "e010"], vec![]]
        );
    }

    #[test]
    fn links_mark_archive_documents() {
        assert!(!ArchiveLinks::default().is_archive());
        let links = ArchiveLinks {
            current: Some("https://example.org/feeds/".into()),
            ..ArchiveLinks::default()
        };
        assert!(links.is_archive());
        assert_eq!(page_dir(3), "archive/3");
        assert_eq!(
            file_url("https://example.org/feeds/archive/3/", FeedFormat::Atom),
            "https://example.org/feeds/archive/3/atom.xml"
        );
    }

    #[test]
    fn documents_link_pages_and_the_feed_to_the_newest_page_it_does_not_show() {
        let feeds = "https://example.org/feeds/fr/";
        let spec = FeedSpec {
            dir: "fr".into(),
            meta: FeedMeta {
                folder_url: feeds.into(),
                ..crate::testing::feed_meta(Some("fr"))
            },
            language: None,
            category: None,
        };
        let entries = live(10);
        let newest_first: Vec<usize> = (0..10).rev().collect();
        let page = |n: usize| Some(format!("{feeds}archive/{n}/"));

        // Pages of 4, a feed of 4: the feed shows all of page 3 and links to page 2.
        let mut bounds = Bounds::default();
        let docs = documents(&spec, &newest_first[..4], &entries, &mut bounds, 4);
        let dirs: Vec<&str> = docs.iter().map(|d| d.dir.as_str()).collect();
        assert_eq!(dirs, ["fr", "fr/archive/1", "fr/archive/2", "fr/archive/3"]);
        let links: Vec<ArchiveLinks> = docs
            .iter()
            .map(|d| d.meta.archive.clone().unwrap())
            .collect();
        assert_eq!(
            links[0],
            ArchiveLinks {
                prev: page(2),
                ..ArchiveLinks::default()
            }
        );
        assert_eq!(
            links[1],
            ArchiveLinks {
                current: Some(feeds.into()),
                prev: None,
                next: page(2),
            }
        );
        assert_eq!(
            links[3],
            ArchiveLinks {
                current: Some(feeds.into()),
                prev: page(2),
                next: None,
            }
        );
        assert_eq!(docs[3].meta.folder_url, page(3).unwrap());
        assert_eq!(docs[0].entries, newest_first[..4]);
        assert_eq!(docs[3].entries, [9, 8]);

        // A feed of 1 does not show all of page 3: it links to it.
        let docs = documents(&spec, &newest_first[..1], &entries, &mut bounds, 4);
        assert_eq!(docs[0].meta.archive.as_ref().unwrap().prev, page(3));

        // While page 1 fills and the feed shows it all, there is nothing to link to.
        let few = live(3);
        let docs = documents(&spec, &[2, 1, 0], &few, &mut Bounds::default(), 4);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].meta.archive, Some(ArchiveLinks::default()));
    }
}

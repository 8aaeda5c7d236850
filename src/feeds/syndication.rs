//! Links back to the posts: every post sent for a live entry, by entry, rendered as
//! `syndication.json` beside the feeds and handed to the JSON Feed renderer for its `_crier`
//! extension, so that a site's templates can show "also on Mastodon" (`u-syndication`) links.
//!
//! The file is keyed so that a Hugo or Zola template finds an entry from what it has: the
//! entry's id (`entries`), its absolute URL (`by_url`: Hugo's `.Permalink`, Zola's
//! `page.permalink`) or its URL path (`by_path`: Hugo's `.RelPermalink`, which still matches
//! under `hugo server`'s local address). Maps are sorted and posts ordered by time sent, so
//! the same state always gives the same bytes. Only posts whose network gave a URL, of
//! channels still in the config, are listed: the rest have nothing to link to or no network
//! to name. Withdrawn entries are left out: their page is gone, and the site has nothing to
//! hang the links on (the posts stay in the state and come back with the entry).

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde::Serialize;

use crate::store::outbox::SentPost;

/// The file written beside the feeds, in `feeds.output_dir`.
pub const FILE_NAME: &str = "syndication.json";

/// Version of the file's shape, raised when a key changes meaning or goes away.
const VERSION: u32 = 1;

/// What a channel's links name: its network and the account it posts as.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChannelAccount {
    /// Network, as written in the channel's `type` (`mastodon`, `bluesky`, `x`, `facebook`).
    pub network: String,
    /// The account as the config names it (a handle, a Page id), when it names one.
    pub account: Option<String>,
}

/// The configured channels' accounts, by channel name. Empty when no channel is configured:
/// then nothing links back and no file is written.
pub type Accounts = BTreeMap<String, ChannelAccount>;

/// One post that links back to an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Network (`mastodon`, `bluesky`, `x`, `facebook`).
    pub network: String,
    /// The channel's name in the config.
    pub channel: String,
    /// The account, as the channel's config names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Public URL of the post.
    pub url: String,
    /// The network's id of the post, when it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it was sent, RFC 3339 in UTC to the second.
    pub sent_at: String,
}

/// The posts of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct EntryLinks {
    /// The entry's URL.
    url: String,
    /// The path of that URL, as the URL writes it (percent-encoded).
    path: String,
    /// Its posts, oldest first.
    posts: Vec<Link>,
}

/// Every live entry's links back, by entry id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Syndication {
    entries: BTreeMap<String, EntryLinks>,
}

/// The file's shape (see the module's documentation and docs/FEEDS.md).
#[derive(Serialize)]
struct SyndicationFile<'a> {
    version: u32,
    entries: &'a BTreeMap<String, EntryLinks>,
    by_url: BTreeMap<&'a str, &'a str>,
    by_path: BTreeMap<String, &'a str>,
}

impl Syndication {
    /// The links of `posts` (the store's sent posts of live entries) whose channel is in
    /// `accounts` and whose network gave a URL.
    pub fn new(posts: Vec<SentPost>, accounts: &Accounts) -> Syndication {
        let mut entries: BTreeMap<String, EntryLinks> = BTreeMap::new();
        for post in posts {
            let (Some(url), Some(account)) = (post.remote_url, accounts.get(&post.channel)) else {
                continue;
            };
            let links = entries.entry(post.entry_id).or_insert_with(|| EntryLinks {
                path: url_path(&post.entry_url),
                url: post.entry_url,
                posts: Vec::new(),
            });
            links.posts.push(Link {
                network: account.network.clone(),
                channel: post.channel,
                account: account.account.clone(),
                url,
                id: post.remote_id,
                sent_at: post.sent_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            });
        }
        for links in entries.values_mut() {
            // The store gives them in this order already; sorting here keeps the file's order
            // a property of this module rather than of a query.
            links
                .posts
                .sort_by(|a, b| (&a.sent_at, &a.channel).cmp(&(&b.sent_at, &b.channel)));
        }
        Syndication { entries }
    }

    /// Whether no entry has a link back.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of entries with at least one link back.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The links back to entry `id`, oldest first; empty when it has none.
    pub fn links(&self, id: &str) -> &[Link] {
        self.entries.get(id).map_or(&[], |e| e.posts.as_slice())
    }

    /// The content of `syndication.json`: pretty-printed, keys sorted, ending in a newline.
    pub fn render(&self) -> Vec<u8> {
        let mut by_url = BTreeMap::new();
        let mut by_path = BTreeMap::new();
        // Entries in id order, and the first id keeps a URL two entries share: the lookup
        // maps are as deterministic as the entries.
        for (id, links) in &self.entries {
            by_url.entry(links.url.as_str()).or_insert(id.as_str());
            by_path.entry(links.path.clone()).or_insert(id.as_str());
            // A template may hold the path decoded (Zola's `page.path` of a page whose slug
            // keeps non-ASCII letters): both spellings find the entry.
            let decoded = percent_encoding::percent_decode_str(&links.path).decode_utf8_lossy();
            if decoded != links.path {
                by_path.entry(decoded.into_owned()).or_insert(id.as_str());
            }
        }
        let file = SyndicationFile {
            version: VERSION,
            entries: &self.entries,
            by_url,
            by_path,
        };
        let mut bytes = serde_json::to_vec_pretty(&file)
            .expect("strings and maps with string keys always serialise");
        bytes.push(b'\n');
        bytes
    }
}

/// The path of `url` (`/en/projects/ghent/`); `url` itself when it cannot be parsed, which
/// an entry's URL always can.
fn url_path(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| url.to_owned(), |u| u.path().to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::{Value, json};

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 10, 12, minute, 0).unwrap()
    }

    fn post(entry: &str, channel: &str, minute: u32, url: Option<&str>) -> SentPost {
        SentPost {
            entry_id: entry.into(),
            entry_url: format!("https://example.org/{entry}/"),
            channel: channel.into(),
            remote_id: url.map(|u| u.rsplit('/').next().unwrap_or_default().to_owned()),
            remote_url: url.map(str::to_owned),
            sent_at: at(minute),
        }
    }

    fn accounts() -> Accounts {
        let account = |network: &str, account: Option<&str>| ChannelAccount {
            network: network.into(),
            account: account.map(str::to_owned),
        };
        Accounts::from([
            ("masto".into(), account("mastodon", Some("m.example"))),
            (
                "bsky".into(),
                account("bluesky", Some("alliance.bsky.social")),
            ),
            ("x".into(), account("x", None)),
        ])
    }

    #[test]
    fn the_file_lists_each_entry_by_id_url_and_path() {
        let posts = vec![
            post("a", "masto", 1, Some("https://m.example/@a/1")),
            post("a", "bsky", 0, Some("https://bsky.app/profile/d/post/k")),
            // No URL to link to, a channel no longer configured: left out.
            post("a", "x", 2, None),
            post("a", "gone", 3, Some("https://old.example/1")),
            post("b", "x", 4, Some("https://x.com/i/web/status/9")),
        ];
        let syndication = Syndication::new(posts, &accounts());
        assert_eq!(syndication.len(), 2);
        let value: Value = serde_json::from_slice(&syndication.render()).unwrap();
        assert_eq!(
            value,
            json!({
                "version": 1,
                "entries": {
                    "a": {
                        "url": "https://example.org/a/",
                        "path": "/a/",
                        "posts": [
                            {
                                "network": "bluesky",
                                "channel": "bsky",
                                "account": "alliance.bsky.social",
                                "url": "https://bsky.app/profile/d/post/k",
                                "id": "k",
                                "sent_at": "2024-05-10T12:00:00Z"
                            },
                            {
                                "network": "mastodon",
                                "channel": "masto",
                                "account": "m.example",
                                "url": "https://m.example/@a/1",
                                "id": "1",
                                "sent_at": "2024-05-10T12:01:00Z"
                            }
                        ]
                    },
                    "b": {
                        "url": "https://example.org/b/",
                        "path": "/b/",
                        "posts": [{
                            "network": "x",
                            "channel": "x",
                            "url": "https://x.com/i/web/status/9",
                            "id": "9",
                            "sent_at": "2024-05-10T12:04:00Z"
                        }]
                    }
                },
                "by_url": {"https://example.org/a/": "a", "https://example.org/b/": "b"},
                "by_path": {"/a/": "a", "/b/": "b"}
            })
        );
        assert_eq!(syndication.links("b")[0].network, "x");
        assert!(syndication.links("c").is_empty());
    }

    #[test]
    fn rendering_is_pretty_deterministic_and_ends_with_a_newline() {
        let posts = || {
            vec![
                post("b", "masto", 1, Some("https://m.example/2")),
                post("a", "masto", 0, Some("https://m.example/1")),
            ]
        };
        let mut reversed = posts();
        reversed.reverse();
        let one = Syndication::new(posts(), &accounts()).render();
        let two = Syndication::new(reversed, &accounts()).render();
        assert_eq!(one, two);
        let text = String::from_utf8(one).unwrap();
        assert!(text.starts_with("{\n  \"version\": 1,\n"), "{text}");
        assert!(text.ends_with("}\n"), "{text}");
    }

    #[test]
    fn an_encoded_path_is_also_found_decoded_and_a_shared_url_keeps_the_first_id() {
        let mut one = post("a", "masto", 0, Some("https://m.example/1"));
        one.entry_url = "https://example.org/fr/%C3%A9t%C3%A9/".into();
        let mut two = post("b", "masto", 1, Some("https://m.example/2"));
        two.entry_url = one.entry_url.clone();
        let value: Value =
            serde_json::from_slice(&Syndication::new(vec![two, one], &accounts()).render())
                .unwrap();
        assert_eq!(
            value["by_path"],
            json!({"/fr/%C3%A9t%C3%A9/": "a", "/fr/été/": "a"})
        );
        assert_eq!(
            value["by_url"],
            json!({"https://example.org/fr/%C3%A9t%C3%A9/": "a"})
        );
        assert_eq!(value["entries"]["b"]["path"], "/fr/%C3%A9t%C3%A9/");
    }

    #[test]
    fn without_accounts_nothing_links_back() {
        let posts = vec![post("a", "masto", 0, Some("https://m.example/1"))];
        let syndication = Syndication::new(posts, &Accounts::new());
        assert!(syndication.is_empty());
        let value: Value = serde_json::from_slice(&syndication.render()).unwrap();
        assert_eq!(
            value,
            json!({"version": 1, "entries": {}, "by_url": {}, "by_path": {}})
        );
    }
}

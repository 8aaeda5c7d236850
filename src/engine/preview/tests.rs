use std::path::Path;

use chrono::TimeZone;

use super::*;
use crate::store::{Batch, EntryRecord, EntryStatus};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
}

/// A config with a Mastodon channel "m" (`m_extra` added to it), an X channel "x" and a
/// Bluesky channel "b", each posting `title url`.
fn config(m_extra: &str, announce: &str) -> Config {
    let text = format!(
        r#"
[site]
title = "Roma Voices"
base_url = "https://example.org"
[[sources]]
type = "directory"
path = "c"
[announce]
{announce}
[[channels]]
type = "mastodon"
name = "m"
base_url = "https://m.example"
access_token = {{ env = "UNUSED" }}
template = "{{{{ title }}}} {{{{ url }}}}"
{m_extra}
[[channels]]
type = "x"
name = "x"
template = "{{{{ title }}}} {{{{ url }}}}"
[channels.oauth1]
consumer_key = {{ env = "UNUSED" }}
consumer_secret = {{ env = "UNUSED" }}
access_token = {{ env = "UNUSED" }}
access_token_secret = {{ env = "UNUSED" }}
[[channels]]
type = "bluesky"
name = "b"
handle = "roma.example"
app_password = {{ env = "UNUSED" }}
template = "{{{{ title }}}} {{{{ url }}}}"
"#
    );
    let mut c = Config::parse(&text, Path::new("c.toml")).unwrap();
    c.resolve_paths(Path::new("/tmp"));
    c.validate().unwrap();
    c
}

/// A store with live entries `ids`, each with a delivery on every channel in `channels`.
fn store_with(ids: &[&str], channels: &[&str], state: DeliveryState) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
    let mut batch = Batch::default();
    for id in ids {
        let mut entry = crate::testing::entry(id, "2024-05-31T10:00:00Z");
        entry.image = Some(Image {
            url: format!("https://example.org/{id}.jpg"),
            alt: format!("Photo of {id}"),
            path: None,
        });
        batch.upserts.push(EntryRecord {
            content_hash: entry.content_hash(),
            entry,
            source: "s".into(),
            doc_key: format!("{id}.md"),
            fingerprint: "f".into(),
            status: EntryStatus::Live,
        });
        for channel in channels {
            batch.deliveries.push(NewDelivery {
                entry_id: (*id).into(),
                channel: (*channel).into(),
                state,
                queued_at: now(),
                reason: (state == DeliveryState::Held)
                    .then(|| {
                        // As the cycle words it (`queue_announcements`).
                        format!("held: published 2024-01-01, longer ago than announce.max_age (14d); `crier retry --entry {id}` sends it anyway")
                    }),
                due_at: None,
            });
        }
    }
    store.apply(&batch, now()).unwrap();
    (dir, store)
}

fn posts(preview: &Preview) -> Vec<&PostPreview> {
    preview.entries.iter().flat_map(|e| &e.posts).collect()
}

#[test]
fn each_waiting_delivery_is_one_post_counted_by_its_network() {
    let config = config("", "");
    let (_dir, store) = store_with(&["a"], &["m", "x", "b"], DeliveryState::Pending);
    let preview = gather(&config, &store, now(), &[]).unwrap();
    assert_eq!(preview.site, "Roma Voices");
    assert_eq!(preview.entries.len(), 1);
    let entry = &preview.entries[0];
    assert_eq!(entry.title, "Title a");
    assert_eq!(entry.url, "https://example.org/a/");
    assert_eq!(entry.card.status, CardStatus::NotChecked);
    let found: Vec<(&str, &str, usize, usize)> = entry
        .posts
        .iter()
        .map(|p| (p.channel.as_str(), p.network.as_str(), p.length, p.limit))
        .collect();
    // "Title a " is 8; Mastodon and X count the URL as 23, Bluesky counts its graphemes.
    assert_eq!(
        found,
        [
            ("m", "mastodon", 31, 500),
            ("x", "x", 31, 280),
            ("b", "bluesky", 8 + "https://example.org/a/".len(), 300)
        ]
    );
    let own: Vec<Option<&OwnCard>> = entry.posts.iter().map(|p| p.own_card.as_ref()).collect();
    assert_eq!(
        own,
        [
            None,
            None,
            Some(&OwnCard {
                title: "Title a".to_owned(),
                description: String::new(),
                image: Some("https://example.org/a.jpg".to_owned()),
            })
        ],
        "Bluesky's card is the one crier sends"
    );
    for post in &entry.posts {
        assert_eq!(post.text.as_deref(), Some("Title a https://example.org/a/"));
        assert_eq!(post.state, "pending");
        assert_eq!(post.held, None, "{post:?}");
        // Mastodon and X attach the image (their default); Bluesky shows it in its card.
        let attached = post.network != "bluesky";
        assert_eq!(
            post.image.as_ref().map(|i| i.alt.as_str()),
            attached.then_some("Photo of a"),
            "{post:?}"
        );
    }
}

#[test]
fn planned_deliveries_are_marked_and_held_ones_say_why() {
    let config = config("", "");
    let (_dir, store) = store_with(&["a"], &["m"], DeliveryState::Held);
    let planned = [NewDelivery {
        entry_id: "a".into(),
        channel: "m".into(),
        state: DeliveryState::Held,
        queued_at: now(),
        reason: None,
        due_at: None,
    }];
    let preview = gather(&config, &store, now(), &planned).unwrap();
    let post = posts(&preview)[0];
    assert_eq!(post.state, "planned");
    let held = post.held.as_deref().unwrap();
    assert!(held.starts_with("held: published 2024-01-01"), "{held}");
    assert!(!held.contains("held: held"), "said once: {held}");
    assert!(held.contains("crier retry --entry a"), "{held}");
    assert!(
        post.text.is_some(),
        "a held post is shown as it would go out"
    );
}

#[test]
fn a_paused_or_disabled_channel_holds_every_post_back() {
    let config = config("enabled = false", "");
    let (_dir, mut store) = store_with(&["a"], &["m", "x"], DeliveryState::Pending);
    store
        .pause_channel("x", "X refused the token: renew it", now())
        .unwrap();
    let preview = gather(&config, &store, now(), &[]).unwrap();
    let held: Vec<&str> = posts(&preview)
        .iter()
        .map(|p| p.held.as_deref().unwrap_or_default())
        .collect();
    assert!(held[0].contains("channel m is disabled"), "{held:?}");
    assert!(
        held[1].starts_with("channel paused: X refused the token: renew it"),
        "{held:?}"
    );
}

#[test]
fn caps_and_spacing_hold_back_what_the_next_run_would_not_send() {
    // One post per run on "m" (min_spacing), two posts in all (per_run_cap).
    let config = config("min_spacing = \"10m\"", "per_run_cap = 2");
    let (_dir, store) = store_with(&["a", "b"], &["m", "x"], DeliveryState::Pending);
    let preview = gather(&config, &store, now(), &[]).unwrap();
    let held: Vec<(&str, &str, Option<&str>)> = posts(&preview)
        .iter()
        .map(|p| {
            (
                p.channel.as_str(),
                p.text.as_deref().unwrap_or_default(),
                p.held.as_deref(),
            )
        })
        .collect();
    let cap = "announce.per_run_cap (2) reached for this run: a later run sends it";
    assert_eq!(
        held,
        [
            ("m", "Title a https://example.org/a/", None),
            ("x", "Title a https://example.org/a/", None),
            (
                "m",
                "Title b https://example.org/b/",
                Some("min_spacing: one post per run")
            ),
            ("x", "Title b https://example.org/b/", Some(cap)),
        ]
    );
}

#[test]
fn a_daily_cap_reached_and_a_failed_attempt_say_until_when() {
    let config = config("daily_cap = 1", "");
    let (_dir, mut store) = store_with(&["a", "b", "c"], &["m"], DeliveryState::Pending);
    let ids: Vec<i64> = store.deliveries().unwrap().iter().map(|d| d.id).collect();
    store
        .mark_sent(ids[0], Some("1"), Some("https://m.example/1"), now())
        .unwrap();
    let later = now() + chrono::Duration::minutes(5);
    store.mark_failed(ids[1], "HTTP 503", later, now()).unwrap();
    let preview = gather(&config, &store, now(), &[]).unwrap();
    let held: Vec<&str> = posts(&preview)
        .iter()
        .map(|p| p.held.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(preview.entries.len(), 2, "the sent post is not shown");
    assert_eq!(
        held,
        [
            "failed (HTTP 503); tried again at 2024-06-01T12:05:00Z",
            "daily_cap (1 posts in 24 hours) reached"
        ]
    );
}

#[test]
fn a_withdrawn_entry_cannot_be_sent_and_a_frozen_post_is_shown_as_frozen() {
    let config = config("", "");
    let (_dir, mut store) = store_with(&["a", "b"], &["m"], DeliveryState::Pending);
    let ids: Vec<i64> = store.deliveries().unwrap().iter().map(|d| d.id).collect();
    store
        .mark_sending_first(ids[1], now(), |_| {
            r#"{"text":"Frozen b","url":"https://example.org/b/","title":"Old b","summary":"","language":"en"}"#
                .to_owned()
        })
        .unwrap();
    let mut batch = Batch::default();
    batch.statuses.push(("a".to_owned(), EntryStatus::Removed));
    store.apply(&batch, now()).unwrap();
    let preview = gather(&config, &store, now(), &[]).unwrap();
    let found: Vec<(&str, Option<&str>, Option<&str>)> = posts(&preview)
        .iter()
        .map(|p| (p.state.as_str(), p.text.as_deref(), p.problem.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "pending",
                None,
                Some("entry a was withdrawn before it was announced")
            ),
            ("sending", Some("Frozen b"), None),
        ]
    );
    assert_eq!(preview.entries[1].title, "Old b");
}

#[test]
fn notes_name_the_baseline_and_deliveries_of_a_channel_no_longer_configured() {
    let config = config("", "");
    let (_dir, store) = store_with(&["a"], &["gone"], DeliveryState::Pending);
    let preview = gather(&config, &store, now(), &[]).unwrap();
    assert!(preview.entries.is_empty());
    assert_eq!(
        preview.notes,
        ["pending delivery of entry a waits for channel gone, which the config no longer has"]
    );
    let report = CycleReport {
        baseline: true,
        baseline_entries: 12,
        ..CycleReport::default()
    };
    let notes = cycle_notes(&report);
    assert!(
        notes[0].starts_with("first run: 12 published entries will be recorded as the baseline"),
        "{notes:?}"
    );
}

#[test]
fn an_entry_s_own_control_holds_its_posts_without_using_the_caps() {
    // Entry "a" skips "m" and waits for its announce_at on "x"; "b" goes out within the cap.
    let config = config("", "per_run_cap = 1");
    let (_dir, mut store) = store_with(&["a", "b"], &["m", "x"], DeliveryState::Pending);
    let mut entry = store.load_entries(&["a"]).unwrap().pop().unwrap();
    entry.announce.skip = vec!["m".into()];
    let at = "2024-06-03T08:00:00+00:00";
    entry.announce.at = Some(chrono::DateTime::parse_from_rfc3339(at).unwrap());
    let mut batch = Batch::default();
    batch.upserts.push(EntryRecord {
        content_hash: entry.content_hash(),
        entry,
        source: "s".into(),
        doc_key: "a.md".into(),
        fingerprint: "g".into(),
        status: EntryStatus::Live,
    });
    store.apply(&batch, now()).unwrap();

    let preview = gather(&config, &store, now(), &[]).unwrap();
    let held: Vec<(&str, &str, Option<&str>)> = posts(&preview)
        .iter()
        .map(|p| {
            (
                p.channel.as_str(),
                p.held.as_deref().unwrap_or_default(),
                p.text.as_deref(),
            )
        })
        .collect();
    assert!(held[0].1.starts_with("held: the entry"), "{held:?}");
    assert_eq!(held[1].1, format!("waits for announce_at {at}"), "{held:?}");
    // The post that waits is shown as it will go out then.
    assert!(held[1].2.is_some(), "{held:?}");
    // Neither took the one place of the run: "b" goes out on "m", and the cap holds "b" on "x".
    assert_eq!(held[2].1, "", "{held:?}");
    assert!(held[3].1.starts_with("announce.per_run_cap"), "{held:?}");
}

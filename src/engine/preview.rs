//! The preview: every pending and planned post, per network, as it will go out, gathered from
//! the state without sending or writing anything, then rendered into one self-contained HTML
//! page (`crier preview`, and the health listener's `/preview`).
//!
//! Gathering ([`gather`]) renders each waiting delivery the way the delivery round would
//! (the frozen post once attempted, the template fitted to the network before that), counts it
//! with the channel's own [`Channel::count`], and says why it would not go out at the next run:
//! held by a flood guard, the channel paused or disabled, a cap or spacing, a failed attempt
//! waiting for its retry. [`cards::check`] then reads the Open Graph tags of each entry's page,
//! because that is what the networks' link cards show. [`page::render`] turns the result into
//! HTML, purely (posts in, HTML out), so that the page is tested without a network.

pub mod cards;
pub mod page;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::channels::{
    self, Channel, ChannelConfig, ChannelContext, ImageMode, InMemory, NetworkConfig,
};
use crate::config::Config;
use crate::engine::cycle::{self, CycleReport};
use crate::engine::deliver::{Prepared, hold_back, prepare_post};
use crate::entry::Image;
use crate::store::outbox::{Delivery, DeliveryState, NewDelivery};
use crate::store::{Store, StoreError};

/// Everything the preview page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// The site's title.
    pub site: String,
    /// When the preview was made (RFC 3339).
    pub generated_at: String,
    /// Page-wide notes: the baseline, scheduled entries, problems of the cycle.
    pub notes: Vec<String>,
    /// The entries with posts waiting, in the order their deliveries were queued.
    pub entries: Vec<EntryPreview>,
}

/// One entry and its posts, one per channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryPreview {
    /// Entry id.
    pub entry_id: String,
    /// Title.
    pub title: String,
    /// The entry's page (what every post links to).
    pub url: String,
    /// The link card the networks will build from the page.
    pub card: LinkCard,
    /// One post per channel.
    pub posts: Vec<PostPreview>,
}

/// One post on one channel, as it will go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostPreview {
    /// Channel name.
    pub channel: String,
    /// Network, as `type` writes it (`mastodon`, `bluesky`, `x`, `facebook`).
    pub network: String,
    /// The delivery's state (`pending`, `held`, …), or `planned` when the next run queues it.
    pub state: String,
    /// The text, fitted; `None` when the post cannot be prepared (see `problem`).
    pub text: Option<String>,
    /// The text's length as the network counts it.
    pub length: usize,
    /// The network's limit, in the same unit.
    pub limit: usize,
    /// The image attached to the post, with its alt text.
    pub image: Option<Image>,
    /// The link card crier itself sends with the post, where the network takes one (Bluesky);
    /// `None` where the network builds it from the page ([`EntryPreview::card`]).
    pub own_card: Option<OwnCard>,
    /// Why the post will not go out at the next run, when it will not.
    pub held: Option<String>,
    /// Why the post can never be sent, when it cannot.
    pub problem: Option<String>,
}

/// A link card crier sends with the post itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnCard {
    /// The entry's title.
    pub title: String,
    /// The entry's summary.
    pub description: String,
    /// The entry's image, uploaded as the card's thumbnail.
    pub image: Option<String>,
}

/// What the networks' link card for an entry's page will show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkCard {
    /// Whether the page was read, and how that went.
    pub status: CardStatus,
    /// `og:title`.
    pub title: Option<String>,
    /// `og:description`.
    pub description: Option<String>,
    /// `og:image`, resolved against the page.
    pub image: Option<String>,
    /// `og:image:alt`.
    pub image_alt: Option<String>,
    /// The tags a card needs that the page lacks (`og:title`, `og:description`, `og:image`).
    pub missing: Vec<String>,
    /// What went wrong reading the page, or why it was not read.
    pub note: Option<String>,
}

/// How reading an entry's page for its card went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// Not read (the daemon's `/preview` fetches nothing).
    #[default]
    NotChecked,
    /// Read; `missing` lists the tags it lacks.
    Read,
    /// The page could not be read (the post still goes out, with whatever card the network
    /// manages to build).
    Unreachable,
}

/// Page-wide notes from the cycle `crier preview` ran on a scratch copy of the state: the
/// baseline, entries scheduled for later, and what could not be read.
pub fn cycle_notes(report: &CycleReport) -> Vec<String> {
    let mut notes = Vec::new();
    if report.baseline {
        notes.push(format!(
            "first run: {} published entries will be recorded as the baseline and not announced \
             (`crier run --once --announce-existing` announces them instead)",
            report.baseline_entries
        ));
    }
    for entry in &report.scheduled {
        notes.push(format!(
            "scheduled: {} ({}) is announced once published, at {}",
            entry.title,
            entry.id,
            entry.published.to_rfc3339()
        ));
    }
    for error in &report.errors {
        notes.push(format!("error: {error}"));
    }
    notes
}

/// The posts waiting in `store` (pending, failed, in doubt, held) of every configured channel,
/// rendered as the next run would send them, with why each would not go out then. `planned`
/// are the deliveries the next cycle queues (already in a scratch `store`), marked `planned`.
/// Reads the state only: nothing is sent or written.
pub fn gather(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
    planned: &[NewDelivery],
) -> Result<Preview, StoreError> {
    let waiting: Vec<Delivery> = store
        .deliveries()?
        .into_iter()
        .filter(|d| {
            matches!(
                d.state,
                DeliveryState::Pending
                    | DeliveryState::Failed
                    | DeliveryState::Sending
                    | DeliveryState::Held
            )
        })
        .collect();
    let mut posts: Vec<Shown<'_>> = Vec::new();
    let mut notes = Vec::new();
    let mut budget = config.announce.per_run_cap;
    // Channels built only to count and fit: they never send, and their memory is thrown away.
    let http = reqwest::Client::new();
    // Channels are counted against the run's cap in config order; the real round runs them
    // concurrently, so which of them the cap stops can differ.
    for channel_config in &config.channels {
        let mut mine: Vec<&Delivery> = waiting
            .iter()
            .filter(|d| d.channel == channel_config.common.name)
            .collect();
        mine.sort_by_key(|d| (d.due_at, d.id));
        let context = ChannelContext {
            http: http.clone(),
            memory: Arc::new(InMemory::default()),
        };
        let channel = channels::build(channel_config, context);
        let cap = config.announce.per_run_cap;
        let mut guard = Guard::new(store, channel_config, now, &mut budget, cap)?;
        for delivery in mine {
            let (mut post, heading) = preview_post(
                store,
                channel_config,
                channel.as_ref(),
                delivery,
                planned,
                now,
            )?;
            // A post its entry holds back takes no place from the caps.
            let held = match post.held.take() {
                Some(held) => Some(held),
                None => guard.reason(delivery, post.problem.is_some()),
            };
            posts.push(Shown {
                delivery,
                post: PostPreview { held, ..post },
                heading,
            });
        }
    }
    for orphan in waiting
        .iter()
        .filter(|d| !config.channels.iter().any(|c| c.common.name == d.channel))
    {
        notes.push(format!(
            "{} delivery of entry {} waits for channel {}, which the config no longer has",
            orphan.state.as_str(),
            orphan.entry_id,
            orphan.channel
        ));
    }
    posts.sort_by(|a, b| {
        (a.delivery.queued_at, &a.delivery.entry_id)
            .cmp(&(b.delivery.queued_at, &b.delivery.entry_id))
    });
    let entries = by_entry(posts);
    Ok(Preview {
        site: config.site.title.clone(),
        generated_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        notes,
        entries,
    })
}

/// One post to show, with its delivery and its entry's heading.
struct Shown<'a> {
    delivery: &'a Delivery,
    post: PostPreview,
    heading: Option<Heading>,
}

/// The posts grouped by entry, in the order of each entry's first post; an entry is titled
/// by the first of its posts that knows its title and page.
fn by_entry(posts: Vec<Shown<'_>>) -> Vec<EntryPreview> {
    let mut entries: Vec<EntryPreview> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for Shown {
        delivery,
        post,
        heading,
    } in posts
    {
        let id = delivery.entry_id.as_str();
        let at = *index.entry(id).or_insert_with(|| {
            entries.push(EntryPreview {
                entry_id: id.to_owned(),
                title: id.to_owned(),
                url: String::new(),
                card: LinkCard::default(),
                posts: Vec::new(),
            });
            entries.len() - 1
        });
        let entry = &mut entries[at];
        if entry.url.is_empty()
            && let Some(heading) = heading
        {
            entry.title = heading.title;
            entry.url = heading.url;
        }
        entry.posts.push(post);
    }
    entries
}

/// An entry's title and page, from its post or the state.
#[derive(Debug, Clone)]
struct Heading {
    title: String,
    url: String,
}

/// One delivery's post, rendered the way the delivery round would; `held` left for the guard.
fn preview_post(
    store: &Store,
    channel_config: &ChannelConfig,
    channel: &dyn Channel,
    delivery: &Delivery,
    planned: &[NewDelivery],
    now: DateTime<Utc>,
) -> Result<(PostPreview, Option<Heading>), StoreError> {
    let is_planned = planned
        .iter()
        .any(|p| p.entry_id == delivery.entry_id && p.channel == delivery.channel);
    let state = if is_planned {
        "planned"
    } else {
        delivery.state.as_str()
    };
    let mut preview = PostPreview {
        channel: channel_config.common.name.clone(),
        network: channel_config.network_name().to_owned(),
        state: state.to_owned(),
        text: None,
        length: 0,
        limit: channel.max_length(),
        image: None,
        own_card: None,
        held: None,
        problem: None,
    };
    let mut prepared = prepare_post(store, channel_config, channel, delivery, now)?;
    if let Prepared::Later(at) = prepared {
        // Shown as it will go out at the entry's `announce_at`, and said to wait for it.
        preview.held = Some(cycle::announce_at_reason(at));
        prepared = prepare_post(store, channel_config, channel, delivery, at)?;
    }
    let heading = match prepared {
        Prepared::Post(post) => {
            let post = *post;
            preview.length = channel.count(&post.text);
            preview.text = Some(post.text);
            // Bluesky shows the card crier sends with the post (`app.bsky.embed.external`:
            // the entry's title, summary and image), not one built from the page; with
            // `image = "attach"` it shows the image instead of a card.
            let mode = channel_config.image_mode();
            if matches!(channel_config.network, NetworkConfig::Bluesky(_))
                && mode != ImageMode::Attach
            {
                preview.own_card = Some(OwnCard {
                    title: post.title.clone(),
                    description: post.summary,
                    image: (mode == ImageMode::Card)
                        .then(|| post.image.as_ref().map(|image| image.url.clone()))
                        .flatten(),
                });
            }
            // A card's image comes from the card; only an attached one is the post's.
            preview.image = post.image.filter(|_| mode == ImageMode::Attach);
            Some(Heading {
                title: post.title,
                url: post.url,
            })
        }
        Prepared::Held(reason) => {
            // The entry's own control keeps it off this channel: held, not broken.
            preview.held = Some(reason);
            entry_heading(store, delivery)?
        }
        Prepared::Later(at) => {
            preview.held = Some(cycle::announce_at_reason(at));
            entry_heading(store, delivery)?
        }
        Prepared::GiveUp(reason) => {
            preview.problem = Some(reason);
            entry_heading(store, delivery)?
        }
    };
    Ok((preview, heading))
}

/// The title and page of `delivery`'s entry, from the state.
fn entry_heading(store: &Store, delivery: &Delivery) -> Result<Option<Heading>, StoreError> {
    Ok(store
        .load_entries(&[delivery.entry_id.as_str()])?
        .pop()
        .map(|entry| Heading {
            title: entry.title,
            url: entry.url,
        }))
}

/// Why each delivery of one channel would wait at the next run, in the order the round takes
/// them: the delivery round's guards, read without recording anything.
struct Guard<'a> {
    channel: &'a ChannelConfig,
    now: DateTime<Utc>,
    paused: Option<String>,
    /// The daily cap or spacing that holds the whole channel back now.
    hold: Option<String>,
    /// Posts left for the run, all channels together (`announce.per_run_cap`).
    budget: &'a mut usize,
    per_run_cap: usize,
    /// Posts this channel would send at the next run.
    going: usize,
}

impl<'a> Guard<'a> {
    fn new(
        store: &Store,
        channel: &'a ChannelConfig,
        now: DateTime<Utc>,
        budget: &'a mut usize,
        per_run_cap: usize,
    ) -> Result<Guard<'a>, StoreError> {
        Ok(Guard {
            per_run_cap,
            channel,
            now,
            paused: store.channel_paused(&channel.common.name)?,
            hold: hold_back(store, channel, now)?.map(|(reason, _)| reason),
            budget,
            going: 0,
        })
    }

    /// Why `delivery` would not go out at the next run; `None` when it would. A post that can
    /// never be sent (`unpreparable`) uses up no place.
    fn reason(&mut self, delivery: &Delivery, unpreparable: bool) -> Option<String> {
        let name = &self.channel.common.name;
        if !self.channel.common.enabled {
            return Some(format!(
                "channel {name} is disabled (`enabled = false`): nothing is sent on it"
            ));
        }
        if let Some(reason) = &self.paused {
            return Some(format!(
                "channel paused: {reason}; `crier retry --channel {name}` lifts the pause once fixed"
            ));
        }
        // A delivery left in `sending` goes out at the next run like a pending one (the round
        // looks it up first, so it is never posted twice).
        if delivery.state == DeliveryState::Held {
            // The reason the cycle stored says why and what releases it.
            return Some(delivery.last_error.clone().unwrap_or_else(|| {
                format!(
                    "held; `crier retry --entry {}` releases it",
                    delivery.entry_id
                )
            }));
        }
        if delivery.due_at > self.now {
            let due = delivery.due_at.to_rfc3339_opts(SecondsFormat::Secs, true);
            return Some(match (&delivery.state, &delivery.last_error) {
                (DeliveryState::Failed, Some(error)) => {
                    format!("failed ({error}); tried again at {due}")
                }
                (_, Some(reason)) if cycle::is_waiting_for_entry(reason) => reason.clone(),
                _ => format!("waits until {due} (a cap or spacing of an earlier run)"),
            });
        }
        if unpreparable {
            return None;
        }
        if let Some(reason) = &self.hold {
            return Some(reason.clone());
        }
        if self.channel.min_spacing().is_some() && self.going >= 1 {
            return Some("min_spacing: one post per run".to_owned());
        }
        if *self.budget == 0 {
            return Some(format!(
                "announce.per_run_cap ({}) reached for this run: a later run sends it",
                self.per_run_cap
            ));
        }
        *self.budget -= 1;
        self.going += 1;
        None
    }
}

#[cfg(test)]
mod tests;

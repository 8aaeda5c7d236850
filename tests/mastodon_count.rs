//! crier's Mastodon count checked against Ruby's own grapheme clusters, differentially.
//! Mastodon counts a status as `each_grapheme_cluster.size` of its text once every URL it
//! extracts is replaced by 23 characters (`app/validators/status_length_validator.rb`); ten
//! thousand seeded random texts in twenty scripts, with emoji sequences, combining marks and
//! bidi controls, go to Ruby (`tests/tools/mastodon_count.rb`) with their links already
//! replaced, and crier's count of the real text must never be below Ruby's. Posts crier fits
//! to 500 must fit by Ruby's count too.
//!
//! Which characters make a URL is Mastodon's regex, not Ruby's: the links here are plain
//! `https://host.tld/path` set apart by spaces, which every release takes; the edge cases of
//! the regex are the table tests beside `channels/mastodon/length.rs`. Ruby's grapheme rules
//! predate Unicode 15.1 (Indic conjuncts, rule GB9c) in every Ruby that current Mastodon
//! releases run on, which is what crier counts for.
//!
//! Without Ruby the test prints a "skipped" line and passes, unless
//! `CRIER_REQUIRE_RUBY_CHECKS=1` (`.ci/run` sets it and installs Debian's `ruby`). A failure
//! names the text and its seed (`CRIER_TEST_SEED=<n> cargo test --test mastodon_count`
//! replays it).

mod common;

use std::path::PathBuf;

use common::texts::{Piece, pieces, word};
use crier::channels::mastodon::{URL_LENGTH, count};
use crier::channels::template;
use rand::RngExt;
use rand::rngs::StdRng;

/// Random texts compared one by one.
const TEXTS: usize = 10_000;

/// Random entries fitted to 500 and compared.
const FITTED: usize = 400;

/// Mastodon's default limit (`MAX_CHARS`).
const LIMIT: usize = 500;

/// Ruby's grapheme count of each of `texts`, in order; `None` when skipped.
fn ruby_lengths(texts: &[String]) -> Option<Vec<usize>> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/mastodon_count.rb");
    common::reference::lengths("ruby", &script, texts, "CRIER_REQUIRE_RUBY_CHECKS")
}

/// A link every Mastodon release takes whole: ASCII host and path.
fn plain_url(rng: &mut StdRng) -> String {
    let label = |rng: &mut StdRng| -> String {
        (0..rng.random_range(1..12))
            .map(|_| char::from(rng.random_range(b'a'..=b'z')))
            .collect()
    };
    let tld = ["org", "com", "eu", "fr", "social"][rng.random_range(0..5)];
    let mut url = format!("https://{}.{tld}", label(rng));
    for _ in 0..rng.random_range(0..4) {
        url.push('/');
        url.push_str(&label(rng));
    }
    url
}

/// A text and the same text as Mastodon counts it: each link replaced by 23 `x`.
struct Sample {
    text: String,
    counted_as: String,
}

/// A random text whose links are [`plain_url`]s set apart by spaces.
fn sample(rng: &mut StdRng) -> Sample {
    let mut sample = Sample {
        text: String::new(),
        counted_as: String::new(),
    };
    for Piece { text, link } in pieces(rng) {
        if link {
            sample.text.push_str(&format!(" {} ", plain_url(rng)));
            sample
                .counted_as
                .push_str(&format!(" {} ", "x".repeat(URL_LENGTH)));
        } else {
            sample.text.push_str(&text);
            sample.counted_as.push_str(&text);
        }
    }
    sample
}

/// A random text without links.
fn words(rng: &mut StdRng) -> String {
    pieces(rng)
        .into_iter()
        .filter(|p| !p.link)
        .map(|p| p.text)
        .collect()
}

#[test]
fn crier_never_counts_less_than_mastodon() {
    let mut rng = common::seed::rng();
    let samples: Vec<Sample> = (0..TEXTS).map(|_| sample(&mut rng)).collect();

    // Entries fitted to 500 by crier's count, as the Mastodon channel fits them.
    let template = "{{ title }}\n\n{{ summary }}\n\n{{ url }}";
    let mut fitted = Vec::new();
    for i in 0..FITTED {
        let mut entry = common::entry(&format!("e{i}"), "2025-03-01T12:00:00Z");
        entry.title = words(&mut rng).replace('\n', " ");
        entry.summary = (0..rng.random_range(1..30))
            .map(|_| words(&mut rng))
            .collect();
        entry.url = format!("{}/{}", plain_url(&mut rng), word(&mut rng).len());
        if let Ok(post) = template::render(template, &entry, LIMIT, &count) {
            assert!(
                post.text.ends_with(&entry.url),
                "the link ends the post: {:?}",
                post.text
            );
            let counted_as = post.text.replace(&entry.url, &"x".repeat(URL_LENGTH));
            fitted.push(Sample {
                text: post.text,
                counted_as,
            });
        }
    }
    assert!(fitted.len() > FITTED / 2, "most entries fit");

    let all: Vec<&Sample> = samples.iter().chain(&fitted).collect();
    let counted_as: Vec<String> = all.iter().map(|s| s.counted_as.clone()).collect();
    let Some(lengths) = ruby_lengths(&counted_as) else {
        return;
    };
    let ours: Vec<usize> = all.iter().map(|s| count(&s.text)).collect();
    let mut below = Vec::new();
    for ((sample, &ours), &theirs) in all.iter().zip(&ours).zip(&lengths) {
        if ours < theirs {
            below.push(format!(
                "crier {ours} < Mastodon {theirs}: {:?}",
                sample.text
            ));
        }
    }
    assert!(
        below.is_empty(),
        "{} of {} texts counted below Mastodon, the first ones:\n{}",
        below.len(),
        all.len(),
        below[..below.len().min(10)].join("\n")
    );
    for (sample, &theirs) in fitted.iter().zip(&lengths[samples.len()..]) {
        assert!(
            theirs <= LIMIT,
            "fitted by crier but {theirs} by Mastodon: {:?}",
            sample.text
        );
    }
    let exact = ours.iter().zip(&lengths).filter(|(a, b)| a == b).count();
    eprintln!("{exact} of {} texts counted exactly as Mastodon", all.len());
}

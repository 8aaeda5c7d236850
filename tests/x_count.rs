//! crier's X count checked against twitter-text itself, differentially: the Python port
//! `twitter-text-parser` (through `tests/tools/x_count.py`) counts ten thousand and more
//! seeded random texts in many scripts, with emoji sequences, combining marks, bidi controls
//! and URLs of every shape, and crier's count must never be below it (a post X counts longer
//! than crier did is refused and lost). Posts crier fits to 280 must fit by twitter-text too.
//!
//! Without Python or the package the test prints a "skipped" line and passes, unless
//! `CRIER_REQUIRE_PYTHON_CHECKS=1` (`common::skip_python_check`). `pip install
//! twitter-text-parser` provides it. A failure names the text and its seed
//! (`CRIER_TEST_SEED=<n> cargo test --test x_count` replays it).

mod common;

use std::path::PathBuf;

use common::texts::{text, word};
use crier::channels::template;
use crier::channels::x::{MAX_WEIGHTED_LENGTH, sendable, weighted_length};
use rand::RngExt;

/// Random texts compared one by one.
const TEXTS: usize = 10_000;

/// Random entries fitted to 280 and compared.
const FITTED: usize = 400;

/// twitter-text's weighted length of each of `texts`, in order; `None` when skipped.
fn twitter_text_lengths(texts: &[String]) -> Option<Vec<usize>> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/x_count.py");
    common::reference::lengths("python3", &script, texts, "CRIER_REQUIRE_PYTHON_CHECKS")
}

#[test]
fn crier_never_counts_less_than_twitter_text() {
    let mut rng = common::seed::rng();
    let mut texts: Vec<String> = (0..TEXTS).map(|_| text(&mut rng)).collect();
    // As sent, too: without refused characters, links in ASCII form.
    let sent: Vec<String> = texts.iter().map(|t| sendable(t)).collect();
    texts.extend(sent);

    // Entries fitted to 280 by crier's count, as the X channel fits them.
    let template = "{{ title }}\n\n{{ summary }}\n\n{{ url }}";
    let count = |t: &str| weighted_length(&sendable(t));
    let mut fitted = Vec::new();
    for i in 0..FITTED {
        let mut entry = common::entry(&format!("e{i}"), "2025-03-01T12:00:00Z");
        entry.title = text(&mut rng).replace('\n', " ");
        entry.summary = (0..rng.random_range(1..8))
            .map(|_| text(&mut rng))
            .collect();
        entry.url = format!("https://{}.org/{}/", word(&mut rng), word(&mut rng));
        if let Ok(post) = template::render(template, &entry, MAX_WEIGHTED_LENGTH, &count) {
            fitted.push(sendable(&post.text));
        }
    }
    assert!(fitted.len() > FITTED / 2, "most entries fit");
    let first_fitted = texts.len();
    texts.extend(fitted);

    let Some(lengths) = twitter_text_lengths(&texts) else {
        return;
    };
    let ours: Vec<usize> = texts.iter().map(|text| weighted_length(text)).collect();
    let mut below = Vec::new();
    for ((text, &ours), &theirs) in texts.iter().zip(&ours).zip(&lengths) {
        if ours < theirs {
            below.push(format!("crier {ours} < twitter-text {theirs}: {text:?}"));
        }
    }
    assert!(
        below.is_empty(),
        "{} of {} texts counted below twitter-text, the first ones:\n{}",
        below.len(),
        texts.len(),
        below[..below.len().min(10)].join("\n")
    );
    for (text, &theirs) in texts[first_fitted..].iter().zip(&lengths[first_fitted..]) {
        assert!(
            theirs <= MAX_WEIGHTED_LENGTH,
            "fitted by crier but {theirs} by twitter-text: {text:?}"
        );
    }
    let exact = ours.iter().zip(&lengths).filter(|(a, b)| a == b).count();
    eprintln!(
        "{exact} of {} texts counted exactly as twitter-text",
        texts.len()
    );
}

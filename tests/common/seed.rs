//! Randomness a failing test can replay: every random input comes from a generator seeded by
//! `CRIER_TEST_SEED` (a decimal `u64`), or from the clock when it is unset. The seed is printed
//! to stderr as `CRIER_TEST_SEED=<n>` when the test starts; the harness shows that line when
//! the test fails, and `CRIER_TEST_SEED=<n> cargo test --test <file> <name>` replays the inputs.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand::rngs::StdRng;

/// The variable that fixes the seed.
pub const SEED_VAR: &str = "CRIER_TEST_SEED";

/// The seed of this test run: `CRIER_TEST_SEED`, or one drawn from the clock. Printed.
pub fn seed() -> u64 {
    let seed = match std::env::var(SEED_VAR) {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            panic!("{SEED_VAR}={text:?} is not a decimal number between 0 and 2^64 - 1")
        }),
        Err(std::env::VarError::NotPresent) => from_clock(),
        Err(std::env::VarError::NotUnicode(text)) => {
            panic!("{SEED_VAR}={text:?} is not a decimal number")
        }
    };
    eprintln!("{SEED_VAR}={seed}");
    seed
}

/// A generator seeded with [`seed`].
pub fn rng() -> StdRng {
    StdRng::seed_from_u64(seed())
}

/// Nanoseconds since 1970: a different seed for every run, with no need to be unpredictable.
fn from_clock() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    // The low 64 bits change the fastest; the high ones are the same for centuries.
    since_epoch.as_nanos() as u64
}

//! Waits that end when the awaited thing happens. A test never asserts that crier is fast:
//! each wait polls (or awaits) its condition and gives up only after [`HANG_GUARD`], which
//! exists so that a broken build fails instead of hanging, not to measure anything.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long any wait may last before the test is declared hung. Generous on purpose: tests
/// share a small machine with builds and other test binaries.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// How often a polled condition is looked at again.
const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it holds; panics naming `what` after [`HANG_GUARD`].
pub fn until(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < HANG_GUARD,
            "hung: {what} did not happen within {HANG_GUARD:?}"
        );
        std::thread::sleep(POLL);
    }
}

/// [`until`] for async tests: polls `check` without blocking the runtime.
pub async fn until_async(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < HANG_GUARD,
            "hung: {what} did not happen within {HANG_GUARD:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Awaits `future`; panics naming `what` if it is still pending after [`HANG_GUARD`].
pub async fn guarded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("hung: {what} did not finish within {HANG_GUARD:?}"),
    }
}

//! The harness the integration tests share: a throw-away site folder ([`Site`]) with entry and
//! secret files, one way to run the `crier` binary ([`Crier`], and [`Daemon`] for `crier run`),
//! posts, entries and channel tables to hand the library, feed files checked by an independent
//! parser ([`check_feeds`]), waits that end on an event rather than after a fixed time
//! ([`wait`]), seeded randomness ([`seed`]), the log lines of library code running inside a
//! test ([`logs`]) and a headless browser on pages crier writes ([`browser`]).
//!
//! Each file under `tests/` is a crate of its own and includes this module with `mod common;`.
//! A helper that one of them does not use would be reported there as dead code (and its
//! re-export below as an unused import), hence the module-wide `allow`: the usual idiom for a
//! shared `tests/common/mod.rs`.

#![allow(dead_code, unused_imports)]

mod binary;
pub mod browser;
mod feedcheck;
pub mod hugo;
pub mod images;
mod library;
pub mod logs;
pub mod reference;
pub mod seed;
mod site;
pub mod texts;
pub mod wait;

pub use binary::{Crier, Daemon, OutputText, Stopped};
pub use feedcheck::{
    HreflangLink, check_feeds, hreflang_links, is_feed_file, skip as skip_python_check,
};
pub use library::{channel_config, entry, post};
pub use site::{EntryFile, FeedFile, SecretFile, Site, entry_file, secret_file};

//! crier reads an organisation's newly published entries, writes them as RSS 2.0, Atom 1.0 and
//! JSON Feed 1.1 files, keeps a state of what it has seen so that it knows what is new, and
//! announces each new entry on the organisation's social accounts, once.
//!
//! A job ([`job`]) is one [`cycle`] (sources → store → feeds, queueing announcements in the
//! outbox) followed by a delivery round ([`deliver`] over [`channels`]); `crier run --once`
//! runs one job, the daemon ([`schedule`]) runs them on a cron schedule, on [`watch`]ed changes
//! and when retries fall due, with an optional [`health`] listener.
//!
//! The binary (`src/main.rs`) only parses the command line and maps results to exit codes; all
//! behaviour lives in this library.

pub mod channels;
pub mod cli;
pub mod config;
pub mod cycle;
pub mod deliver;
pub mod entry;
pub mod feeds;
pub mod health;
pub mod job;
pub mod schedule;
pub mod secrets;
pub mod sources;
pub mod store;
pub mod watch;

#[cfg(test)]
mod testing;

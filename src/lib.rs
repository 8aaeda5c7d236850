//! crier reads an organisation's newly published entries, writes them as RSS 2.0, Atom 1.0 and
//! JSON Feed 1.1 files, keeps a state of what it has seen so that it knows what is new, and
//! announces each new entry on the organisation's social accounts, once.
//!
//! The modules follow the data flow, and imports point down only:
//! - [`cli`] (how: one function per command), with [`report`] (what `status`, `plan` and
//!   `config` print, as text or JSON) under it, over [`daemon`] (when: the loop, the instance
//!   lock, file watching, the health listener) over [`engine`] (what: a job is one cycle,
//!   sources → store → feeds, queueing announcements in the outbox, then a delivery round);
//! - [`config`] assembles the sections, each owned by its area: [`sources`], [`feeds`],
//!   [`channels`] and [`schedule`], which sit above the [`store`]; beside it, [`init`] writes
//!   a first config from a Hugo or Zola site's own (`crier init`);
//! - [`site`] (the `[site]` table) over the leaves [`entry`], [`progress`], [`secrets`] and
//!   [`values`], which import nothing of crier's.
//!
//! The binary (`src/main.rs`) parses the command line, sets up logging, installs the signal
//! handlers and hands them with its allocator's after-job hook to [`cli`] ([`cli::Process`]),
//! then maps results to exit codes; the daemon's start in [`cli`] takes the instance lock and
//! binds the health listener. All behaviour lives in this library. `docs/ARCHITECTURE.md`
//! draws the map, and `tests/architecture.rs` keeps it true.

pub mod channels;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod entry;
pub mod feeds;
pub mod init;
pub mod progress;
pub mod report;
pub mod schedule;
pub mod secrets;
pub mod site;
pub mod sources;
pub mod store;
pub mod values;

#[cfg(test)]
mod testing;

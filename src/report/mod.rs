//! What the report commands show, for people and for scripts: `crier status` and `crier plan`
//! gather their findings once into typed structs ([`status::StatusReport`],
//! [`plan::PlanReport`]) that render both as the text an operator reads and, with `--json`,
//! as one JSON document; `crier config` prints the effective config ([`config`]).
//!
//! The JSON field names are the structs' own (snake_case) and form a schema whose number is
//! [`VERSION`]: within a version fields are only ever added, never renamed or removed, so a
//! script written against it keeps working. `docs/OPERATIONS.md` lists every field, and a
//! test compares that list with what is emitted.

pub mod config;
pub mod plan;
pub mod status;

use std::io::Write;

use serde::Serialize;

/// The version of the JSON documents' schema, their `version` field.
pub const VERSION: u32 = 1;

/// Writes `report` as one pretty-printed JSON document followed by a line break.
pub fn write_json<T: Serialize>(report: &T, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

//! The `crier` binary: parse the command line, set up logging, run the command, map the result
//! to an exit code. All behaviour lives in the library.

use std::process::ExitCode;

use clap::Parser;
use crier::cli::{self, Cli, Exit};

// Parsing and rendering allocate many short strings on every core at once; mimalloc's
// per-thread heaps avoid the contention glibc's allocator shows there (see docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_logging(cli.log_format);
    let mut stdout = std::io::stdout().lock();
    match cli::execute(&cli, &mut stdout) {
        Ok(exit) => exit.into(),
        Err(error) => {
            // Plain text goes straight to stderr so a restrictive CRIER_LOG cannot hide it;
            // JSON users get it as a log record their collector can parse.
            match cli.log_format {
                cli::LogFormat::Json => tracing::error!("{error:#}"),
                cli::LogFormat::Text => eprintln!("crier: error: {error:#}"),
            }
            Exit::for_error(&error).into()
        }
    }
}

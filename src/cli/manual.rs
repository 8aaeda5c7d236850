//! `crier completions SHELL` and `crier man`: the shell completion scripts and the manual page,
//! both generated from the clap definitions so that they list exactly the commands and
//! options the binary takes.
//!
//! The manual is one page, `crier(1)`: the top command's synopsis and global options, then a
//! subsection per command with its options, then the exit codes, so that `man crier` answers
//! without a page per command to install.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use super::{Cli, EXIT_CODES};

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "crier", out);
}

/// Writes the manual page `crier(1)` as roff.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let command = Cli::command();
    let page = Man::new(command.clone()).manual("crier manual");
    let mut roff = Vec::new();
    page.render_title(&mut roff)?;
    page.render_name_section(&mut roff)?;
    page.render_synopsis_section(&mut roff)?;
    page.render_description_section(&mut roff)?;
    page.render_options_section(&mut roff)?;
    let mut commands = Roff::new();
    commands.control("SH", ["COMMANDS"]);
    commands.to_writer(&mut roff)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        command_section(sub, &mut roff)?;
    }
    exit_status(&mut roff)?;
    page.render_version_section(&mut roff)?;
    out.write_all(once_preamble(&String::from_utf8_lossy(&roff)).as_bytes())
}

/// `roff` with the preamble each rendered part starts with (the definition of the `Aq`
/// string) kept only at the top.
fn once_preamble(roff: &str) -> String {
    let preamble = |line: &str| line.starts_with(".ie \\n(.g .ds Aq") || line == ".el .ds Aq '";
    let mut out = String::with_capacity(roff.len());
    let mut seen = 0;
    for line in roff.lines() {
        if preamble(line) {
            seen += 1;
            if seen > 2 {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One command's subsection: its name and arguments, what it does, and its options.
fn command_section(sub: &clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    let mut roff = Roff::new();
    let arguments: Vec<String> = sub
        .get_positionals()
        .map(|arg| format!("<{}>", arg.get_id().as_str().to_uppercase()))
        .collect();
    roff.control(
        "SS",
        [format!("crier {} {}", sub.get_name(), arguments.join(" ")).trim()],
    );
    let about = sub
        .get_long_about()
        .or_else(|| sub.get_about())
        .map(|a| a.to_string())
        .unwrap_or_default();
    roff.text([roman(about)]);
    roff.to_writer(out)?;
    // The options as the page of the command alone would list them, without its heading: here
    // they belong to the command's subsection.
    let mut options = Vec::new();
    Man::new(sub.clone()).render_options_section(&mut options)?;
    let options = String::from_utf8_lossy(&options);
    for line in options.lines().filter(|l| !l.starts_with(".SH")) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The EXIT STATUS section, from the list `--help` ends with.
fn exit_status(out: &mut dyn Write) -> std::io::Result<()> {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    // `  0  success` starts a code; a deeper-indented line continues the one before.
    let mut current: Option<(String, String)> = None;
    let mut codes = Vec::new();
    for line in EXIT_CODES.lines().skip(1) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match trimmed.split_once("  ") {
            Some((code, text)) if indent == 2 && code.parse::<u8>().is_ok() => {
                codes.extend(current.take());
                current = Some((code.to_owned(), text.trim().to_owned()));
            }
            _ => {
                if let Some((_, text)) = &mut current {
                    text.push(' ');
                    text.push_str(trimmed);
                }
            }
        }
    }
    codes.extend(current);
    for (code, text) in codes {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(text)]);
    }
    roff.to_writer(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_lists_every_exit_code_once() {
        let mut page = Vec::new();
        man(&mut page).expect("writing to a Vec");
        let page = String::from_utf8_lossy(&page);
        let exit = page
            .split(".SH \"EXIT STATUS\"")
            .nth(1)
            .or_else(|| page.split(".SH EXIT STATUS").nth(1))
            .unwrap_or_else(|| panic!("no EXIT STATUS section in {page}"));
        for code in ["0", "1", "2", "3", "4"] {
            assert_eq!(
                exit.matches(&format!(".TP\n\\fB{code}\\fR")).count(),
                1,
                "{exit}"
            );
        }
        assert!(exit.contains("every run exits 3 until"), "{exit}");
        assert_eq!(page.matches(".el .ds Aq").count(), 1, "{page}");
    }

    #[test]
    fn every_completion_script_names_the_commands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let mut script = Vec::new();
            completions(shell, &mut script);
            let script = String::from_utf8_lossy(&script);
            assert!(script.contains("healthcheck"), "{shell}: {script}");
        }
    }
}

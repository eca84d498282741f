//! `st-setup man`: print the manual page (roff), generated with clap_mangen
//! from the same definitions as `--help`. One page covers everything: the
//! top-level command and its global options, then a section per command with
//! its own options and examples, then the examples, environment variables and
//! exit codes of the top-level help.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::{Cli, Context};
use crate::error::{Error, ExitStatus, Result};

const AFTER_HELP: &str = "\
Examples:
  st-setup man | man -l -                                 # read it now
  mkdir -p ~/.local/share/man/man1
  st-setup man > ~/.local/share/man/man1/st-setup.1       # then: man st-setup";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct ManArgs {}

pub(crate) fn exec(_args: ManArgs, _ctx: &Context) -> Result<ExitStatus> {
    let page = render(Cli::command()).map_err(|source| Error::Local {
        action: "render the manual page",
        source,
    })?;
    crate::ui::write_stdout(page.as_bytes())?;
    Ok(ExitStatus::Ok)
}

/// The whole manual page for `command` and its subcommands.
pub(crate) fn render(command: clap::Command) -> std::io::Result<String> {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let man = Man::new(command.clone()).manual("User Commands");

    let mut page = String::new();
    page += &section(|w| man.render_title(w), keep)?;
    page += &section(|w| man.render_name_section(w), keep)?;
    page += &section(|w| man.render_synopsis_section(w), keep)?;
    page += &section(|w| man.render_description_section(w), keep)?;
    page += &commands_list(&command);
    // -h/-V, then the global options under their --help headings.
    page += &section(|w| man.render_options_section(w), keep)?;

    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        page += &command_section(sub)?;
    }

    if let Some(text) = command.get_after_long_help().or(command.get_after_help()) {
        let mut roff = Roff::new();
        after_help(&mut roff, &text.to_string(), "SH");
        page += &strip_preamble(&roff.render());
    }
    page += &section(|w| man.render_version_section(w), keep)?;
    Ok(format!("{PREAMBLE}{page}"))
}

/// `.SH COMMANDS`: each command and its one-line summary.
fn commands_list(command: &clap::Command) -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        roff.control("TP", []);
        roff.text([bold(format!("st-setup {}", sub.get_name()))]);
        if let Some(about) = sub.get_about() {
            roff.text([roman(about.to_string())]);
        }
    }
    roff.control("PP", []);
    roff.text([roman(
        "Each command has a section of its own below. The options under OUTPUT, NETWORK \
         and STORAGE are accepted by every command.",
    )]);
    strip_preamble(&roff.render())
}

/// `.SH "ST-SETUP INIT"`: usage, description, the command's own options (the
/// global ones are described once, above) with `.SS` per heading, and its
/// examples.
fn command_section(sub: &clap::Command) -> std::io::Result<String> {
    let own = sub.clone().mut_args(|arg| {
        let shared = arg.is_global_set() || matches!(arg.get_id().as_str(), "help" | "version");
        if shared { arg.hide(true) } else { arg }
    });
    let man = Man::new(own.clone());

    let mut roff = Roff::new();
    let title = format!("ST-SETUP {}", sub.get_name().to_uppercase());
    roff.control("SH", [title.as_str()]);
    let mut text = strip_preamble(&roff.render());
    // The usage line and the description, without their own headings.
    text += &section(|w| man.render_synopsis_section(w), |_| None)?;
    text += ".PP\n";
    text += &section(|w| man.render_description_section(w), |_| None)?;
    if own.get_arguments().any(|a| !a.is_hide_set()) {
        text += &section(
            |w| man.render_options_section(w),
            |heading| Some(format!(".SS \"{}\"\n", title_case(heading))),
        )?;
    }
    if let Some(after) = own.get_after_long_help().or(own.get_after_help()) {
        let mut roff = Roff::new();
        after_help(&mut roff, &after.to_string(), "SS");
        text += &strip_preamble(&roff.render());
    }
    Ok(text)
}

/// An `after_help` text as roff: a line like `Examples:` becomes a heading
/// (`.SH`/`.SS`), indented lines keep their layout (`.nf`), other lines are
/// filled paragraphs.
fn after_help(roff: &mut Roff, text: &str, heading: &str) {
    for block in text.split("\n\n") {
        let mut lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
        if let Some(first) = lines.first()
            && !first.starts_with(' ')
            && first.ends_with(':')
        {
            let title = first.trim_end_matches(':');
            let title = if heading == "SH" {
                title.to_uppercase()
            } else {
                title.to_string()
            };
            roff.control(heading, [title.as_str()]);
            lines.remove(0);
        }
        let mut rest = lines.as_slice();
        while let Some(first) = rest.first() {
            let indented = first.starts_with(' ');
            let run = rest
                .iter()
                .take_while(|l| l.starts_with(' ') == indented)
                .count();
            let (now, later) = rest.split_at(run);
            if indented {
                roff.control("nf", []);
                for line in now {
                    roff.text([roman(line.strip_prefix("  ").unwrap_or(line))]);
                }
                roff.control("fi", []);
            } else {
                roff.control("PP", []);
                roff.text([roman(now.join(" "))]);
            }
            rest = later;
        }
    }
}

/// The definition of the apostrophe string that roff's renderer starts every
/// piece of output with; the page carries it once, at the top.
const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

fn strip_preamble(text: &str) -> String {
    text.strip_prefix(PREAMBLE).unwrap_or(text).to_string()
}

/// One clap_mangen section as text, with each `.SH` line passed through
/// `heading` (given the heading's text; `None` drops the line).
fn section(
    render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    heading: impl Fn(&str) -> Option<String>,
) -> std::io::Result<String> {
    let mut out = Vec::new();
    render(&mut out)?;
    let text = String::from_utf8(out).map_err(std::io::Error::other)?;
    let mut result = String::new();
    for line in strip_preamble(&text).split_inclusive('\n') {
        match line.strip_prefix(".SH ") {
            Some(title) => {
                if let Some(replaced) = heading(title.trim_end().trim_matches('"')) {
                    result += &replaced;
                }
            }
            None => result += line,
        }
    }
    Ok(result)
}

/// Keep a clap_mangen heading as it is.
fn keep(title: &str) -> Option<String> {
    Some(if title.contains(' ') {
        format!(".SH \"{title}\"\n")
    } else {
        format!(".SH {title}\n")
    })
}

/// `CREDENTIALS` -> `Credentials`.
fn title_case(heading: &str) -> String {
    let lower = heading.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => lower,
    }
}

//! st-setup: get ServiceTitan API credentials set up, verified and safely
//! stored, interactively or from scripts.
//!
//! The architecture, top down:
//! - [`cli`] parses arguments and builds the [`cli::Context`] commands share;
//! - [`commands`] holds one module per subcommand;
//! - [`wizard`] is the interactive dialogue of `init`;
//! - [`verify`] runs the checks (token, tenant claim, API probe, scopes) on
//!   top of [`servicetitan`], the HTTP client;
//! - [`store`] keeps the config file and the secret store (OS keyring);
//! - [`credentials`], [`environment`], [`scopes`] and [`profile`] are the domain values;
//! - [`error`] maps every failure to its documented exit code; [`ui`] prints,
//!   through [`printable`], which makes outside text safe for a terminal, and
//!   [`layout`], which wraps prose to the terminal's width;
//! - [`core_dumps`] and [`signals`] guard the process itself.
//!
//! Dependencies point down this list; CONTRIBUTING.md has the map. (The
//! links work in `cargo doc --document-private-items`.)

// Only `main` (and what the tests check against) leaves the crate, so the
// compiler sees every unused item.
#![warn(unreachable_pub)]

mod batch;
mod browser;
mod cli;
mod commands;
mod consumers;
mod core_dumps;
mod credentials;
mod environment;
mod error;
mod invalid_input;
mod layout;
mod not_configured;
mod output_file;
mod printable;
mod profile;
mod resolve;
mod scopes;
mod servicetitan;
mod signals;
mod store;
mod ui;
mod usage_error;
mod verify;
mod wizard;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::FromArgMatches;

use crate::cli::{Cli, Context};
use crate::error::{Error, ExitStatus};

/// What the integration tests check the binary against: the clap tree (every
/// command's help, the man page) and the HTTP limits (retries, backoff, body cap).
#[doc(hidden)]
pub mod for_tests {
    pub use crate::cli::Cli;
    pub use crate::servicetitan::body_cap::MAX_BODY_BYTES;
    pub use crate::servicetitan::retry::{MAX_RETRIES, max_total_backoff};
}

const OVERVIEW: &str = "\
st-setup: set up, verify and safely store ServiceTitan API credentials.

Start here:
  st-setup init        guided set-up: Developer Portal, then your tenant, then a real check
  st-setup --help      every command, option, environment variable and exit code";

/// The whole program: run the command line, print a failure, and turn the
/// outcome into an exit code (or, for a run a signal interrupted, death by
/// that signal).
pub fn main() -> ExitCode {
    // Before anything holds a secret.
    core_dumps::forbid();
    let status = run(std::env::args_os());
    if status == ExitStatus::Interrupted {
        signals::end_by_the_interrupt();
    }
    ExitCode::from(status.code())
}

/// Parse `args`, run the command and report its failure; the exit status
/// (a check that found a problem still runs to the end, with its status).
fn run(args: impl IntoIterator<Item = OsString>) -> ExitStatus {
    let args: Vec<OsString> = args.into_iter().collect();
    let command = cli::command(&args);
    let parsed = command
        .clone()
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            return if usage_error::print(&err, &command, &args) {
                ExitStatus::Usage
            } else {
                ExitStatus::Ok
            };
        }
    };
    let command_matches = matches.subcommand().map(|(_, m)| m.clone());
    let json = cli::wants_json(&args);
    let ctx = Context::new(cli.global, command_matches);
    let result = if cli.client_secret.is_some() {
        Err(cli::secret_argument_refused())
    } else {
        match cli.command {
            Some(command) => commands::dispatch(command, &ctx),
            None => ui::stdout_line(OVERVIEW).map(|()| ExitStatus::Ok),
        }
    };
    match result {
        Ok(status) => status,
        Err(err) => {
            if json {
                // Scripts that parse stdout get a document even when nothing ran.
                let _ = ui::stdout_line(&json_error_document(err.exit_status(), &err.to_string()));
            }
            let status = report(&err);
            for cause in err.causes() {
                ctx.ui.verbose_line(&format!("caused by: {cause}"));
            }
            status
        }
    }
}

/// `{"ok": false, "exit_code": N, "error": "..."}`: what `--json` prints when
/// a command fails before it has a result (an unknown profile, an unreadable
/// config, a refused command line). The message is the one printed on
/// stderr, which never holds a secret.
pub(crate) fn json_error_document(status: ExitStatus, message: &str) -> String {
    printable::json(
        &serde_json::json!({
            "ok": false,
            "exit_code": status.code(),
            "error": message,
        })
        .to_string(),
    )
}

/// Print an error the way every command does, and return its exit status.
fn report(err: &Error) -> ExitStatus {
    ui::Ui::plain().error(&err.to_string());
    err.exit_status()
}

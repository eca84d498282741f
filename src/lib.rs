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

pub mod batch;
pub mod browser;
pub mod cli;
pub mod commands;
pub mod consumers;
pub mod core_dumps;
pub mod credentials;
pub mod environment;
pub mod error;
pub mod layout;
pub mod output_file;
pub mod printable;
pub mod profile;
pub mod resolve;
pub mod scopes;
pub mod servicetitan;
pub mod signals;
pub mod store;
pub mod ui;
pub mod usage_error;
pub mod verify;
pub mod wizard;

use std::ffi::OsString;

use clap::FromArgMatches;

use crate::cli::{Cli, Context};
pub use crate::error::{Error, ExitStatus};

const OVERVIEW: &str = "\
st-setup: set up, verify and safely store ServiceTitan API credentials.

Start here:
  st-setup init        guided set-up: Developer Portal, then your tenant, then a real check
  st-setup --help      every command, option, environment variable and exit code";

/// Parse `args` and run the command. `Ok` carries the exit status of a command
/// that ran to the end (a check that found a problem still runs to the end).
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<ExitStatus, Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    let command = cli::command(&args);
    let parsed = command
        .clone()
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            return Ok(if usage_error::print(&err, &command, &args) {
                ExitStatus::Usage
            } else {
                ExitStatus::Ok
            });
        }
    };
    let command_matches = matches.subcommand().map(|(_, m)| m.clone());
    let json = command_matches.as_ref().is_some_and(wants_json);
    let result = Context::new(cli.global, command_matches).and_then(|ctx| {
        if cli.client_secret.is_some() {
            return Err(cli::secret_argument_refused());
        }
        match cli.command {
            Some(command) => commands::dispatch(command, &ctx),
            None => ui::stdout_line(OVERVIEW).map(|()| ExitStatus::Ok),
        }
    });
    if json && let Err(err) = &result {
        // Scripts that parse stdout get a document even when nothing ran.
        let _ = ui::stdout_line(&json_error_document(err.exit_status(), &err.to_string()));
    }
    result
}

/// `--json` or `--format json` on the subcommand.
fn wants_json(matches: &clap::ArgMatches) -> bool {
    let flag = matches.try_get_one::<bool>("json").ok().flatten() == Some(&true);
    let format = matches
        .try_get_raw("format")
        .ok()
        .flatten()
        .and_then(|mut values| values.next())
        .is_some_and(|value| value == "json");
    flag || format
}

/// `{"ok": false, "exit_code": N, "error": "..."}`: what `--json` prints when
/// a command fails before it has a result (an unknown profile, an unreadable
/// config, a refused command line). The message is the one printed on
/// stderr, which never holds a secret.
pub fn json_error_document(status: ExitStatus, message: &str) -> String {
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
pub fn report(err: &Error) -> ExitStatus {
    ui::Ui::plain().error(&err.to_string());
    err.exit_status()
}

//! How a command line that clap refuses is reported: clap's own message, with
//! any argument that looks like a Client Secret hidden (clap repeats offending
//! values, and a secret typed in the wrong place must not be echoed), and a
//! note when the bad value came from an environment variable rather than a
//! flag (clap only names the flag).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::credentials::{Field, looks_like};

/// Print `err` as clap would, but safely; returns whether it was an error
/// (as opposed to `--help` or `--version` output).
pub fn print(err: &clap::Error, command: &clap::Command, args: &[OsString]) -> bool {
    if !err.use_stderr() {
        let _ = err.print();
        return false;
    }
    let hidden = secret_looking(args);
    let note = env_source_note(err, command, args);
    if hidden.is_empty() && note.is_none() {
        let _ = err.print();
        return true;
    }
    // Plain text: styling would have to be re-applied around the redactions.
    let mut text = err.render().to_string();
    for value in &hidden {
        text = text.replace(value.as_str(), "[REDACTED]");
    }
    if let Some(note) = note {
        text = format!("{}\n{note}\n", text.trim_end());
    }
    eprint!("{text}");
    true
}

/// Arguments (or the value part of `--flag=value`) shaped like a Client Secret.
fn secret_looking(args: &[OsString]) -> Vec<String> {
    args.iter()
        .filter_map(|a| a.to_str())
        .flat_map(|a| [Some(a), a.split_once('=').map(|(_, v)| v)])
        .flatten()
        .filter(|v| looks_like(v) == Some(Field::ClientSecret))
        .map(str::to_string)
        .collect()
}

/// "The value came from ST_X" when the refused value was not on the command line.
fn env_source_note(
    err: &clap::Error,
    command: &clap::Command,
    args: &[OsString],
) -> Option<String> {
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(invalid)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = invalid.split_whitespace().next()?.strip_prefix("--")?;
    let given_as_flag = args.iter().filter_map(|a| a.to_str()).any(|a| {
        a.strip_prefix("--")
            .is_some_and(|a| a == long || a.starts_with(&format!("{long}=")))
    });
    if given_as_flag {
        return None;
    }
    let var = find_env(command, long)?;
    std::env::var_os(&var).map(|_| {
        format!("note: the value comes from the environment variable {var}; fix or unset it.")
    })
}

/// The environment variable of the option `--long` in `command` or a subcommand.
fn find_env(command: &clap::Command, long: &str) -> Option<String> {
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned())
        .or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| find_env(sub, long))
        })
}

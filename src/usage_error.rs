//! How a command line that clap refuses is reported: clap's own message, with
//! any value that looks like a Client Secret hidden, whether it was typed as an
//! argument or set in an `ST_*` variable (clap repeats offending values, and a
//! secret given in the wrong place must not be echoed), a note when the bad
//! value came from an environment variable rather than a flag (clap only names
//! the flag), and, for a command line that asked for JSON, the same error as
//! a JSON document on stdout. Control, bidi and format characters in a quoted
//! value are shown as escapes.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::credentials::{Field, clean_pasted, looks_like};

/// Print `err` as clap would, but safely; returns whether it was an error
/// (as opposed to `--help` or `--version` output).
pub(crate) fn print(err: &clap::Error, command: &clap::Command, args: &[OsString]) -> bool {
    if !err.use_stderr() {
        let _ = err.print();
        return false;
    }
    let hidden = secret_looking(args);
    let note = env_source_note(err, command, args);
    if hidden.is_empty()
        && note.is_none()
        && !crate::cli::wants_json(args)
        && !mentions_a_secret_shape(err)
        && !quotes_unprintable_text(err)
    {
        let _ = err.print();
        return true;
    }
    // Plain text: styling would have to be re-applied around the redactions.
    let mut text = err.render().to_string();
    for value in &hidden {
        text = text.replace(value.as_str(), "[REDACTED]");
    }
    // A secret inside a longer value (`--environment=x,cs1.…`, `--cs1.…`).
    let mut text = crate::credentials::hide_secret_shapes(&text);
    if let Some(note) = note {
        text = format!("{}\n{note}\n", text.trim_end());
    }
    // A value from an argument or an `ST_*` variable, quoted by clap.
    let text = crate::printable::message(&text);
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), text.as_bytes());
    if crate::cli::wants_json(args) {
        let message = text.trim().trim_start_matches("error: ");
        let _ = crate::ui::stdout_line(&crate::json_error_document(
            crate::ExitStatus::Usage,
            message,
        ));
    }
    true
}

/// Whether clap's message holds something shaped like a Client Secret.
fn mentions_a_secret_shape(err: &clap::Error) -> bool {
    let text = err.render().to_string();
    crate::credentials::hide_secret_shapes(&text) != text
}

/// Whether clap's message quotes a control, bidi or format character (from
/// an argument or a variable), which must not reach the terminal as it is.
fn quotes_unprintable_text(err: &clap::Error) -> bool {
    let text = err.render().to_string();
    crate::printable::message(&text) != text
}

/// Values to hide: arguments (or the value part of `--flag=value`) and `ST_*`
/// variables shaped like a Client Secret, and `ST_CLIENT_SECRET` itself
/// whatever its shape. Longest first, so none is left half-replaced.
fn secret_looking(args: &[OsString]) -> Vec<String> {
    let given = args
        .iter()
        .filter_map(|a| a.to_str())
        .flat_map(|a| [Some(a), a.split_once('=').map(|(_, v)| v)])
        .flatten()
        .map(str::to_string);
    let from_env = std::env::vars_os()
        .filter(|(name, _)| name.to_str().is_some_and(|n| n.starts_with("ST_")))
        .filter_map(|(_, value)| value.into_string().ok());
    let exact_secret = std::env::var("ST_CLIENT_SECRET")
        .ok()
        .map(|s| clean_pasted(&s).to_string())
        .filter(|s| s.len() >= 8);
    let mut hidden: Vec<String> = given
        .chain(from_env)
        .flat_map(|v| {
            let cleaned = clean_pasted(&v).to_string();
            [v, cleaned]
        })
        .filter(|v| looks_like(clean_pasted(v)) == Some(Field::ClientSecret))
        .chain(exact_secret)
        .filter(|v| !v.is_empty())
        .collect();
    hidden.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    hidden.dedup();
    hidden
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

//! `st-setup import FILE`: many tenants of one app at once, from CSV or JSON
//! Lines. Every row is checked first: if any is malformed, every problem is
//! listed with its line and nothing is stored. Then the rows are verified at
//! most `--jobs` at a time, and the verified ones are stored together (one
//! config write, each secret in its store); a refused row is reported and
//! not stored.
//!
//! Reading and checking the rows is in [`rows`], storing them in [`save`],
//! what happened to each in [`outcome`].

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

mod outcome;
mod rows;
mod save;

use outcome::{Outcome, outcome, print_outcomes};
use save::store_rows;

use rows::{
    Defaults, RawRow, Row, ask_missing_secrets, format_of, parse_csv, parse_jsonl, read_bounded,
    shown_path, validate,
};

use crate::batch::{self, Job, JobsArgs};
use crate::cli::Context;
use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::error::{Error, ExitStatus, Result};
use crate::invalid_input::InvalidInput;
use crate::printable;
use crate::store::config::{Config, Profile};
use crate::store::{SecretStorage, SecretStore};
use crate::verify::{self, Verification};

const AFTER_HELP: &str = "\
The file (CSV with this header, or JSON Lines with these keys):
  profile,environment,tenant_id,app_key,client_id,client_secret
  acme,production,8450,ak1....,cid....,cs1....
  beta,,985798691,,cid....,

An empty environment or app_key is taken from --environment / --app-key-from;
an empty client_secret is asked for in a terminal (hidden).

Examples:
  st-setup import tenants.csv --app-key-from acme      # one app, many tenants
  st-setup import tenants.jsonl --dry-run              # verify every row, store nothing
  some-export | st-setup import - --format jsonl --json --jobs 20

Exit code: the worst row's (see `st-setup --help`): 2, and nothing stored,
when any row is malformed; 2 also for a row left alone because its profile
exists (the other rows are stored).";

/// A verified row and the profile it becomes.
type ToStore<'a> = (&'a Row, Profile);

const EXISTS: &str = "not stored: the profile exists (--overwrite replaces it)";

/// The plain-text secrets of `file` are the user's to delete: say so, with a
/// command that can be pasted (the path single-quoted for the shell).
fn warn_to_delete(ctx: &Context, file: &std::path::Path) {
    let quoted = format!("'{}'", file.to_string_lossy().replace('\'', r"'\''"));
    ctx.ui.warn(&format!(
        "{} holds Client Secrets in plain text: delete it now (for example `shred -u {}`).",
        shown_path(file),
        printable::field(&quoted, 300)
    ));
}

/// The largest file read (a row is under 300 bytes: 16 MiB is 50,000 rows).
pub(super) const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

pub(super) const COLUMNS: [&str; 6] = [
    "profile",
    "environment",
    "tenant_id",
    "app_key",
    "client_id",
    "client_secret",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ImportFormat {
    Csv,
    Jsonl,
}

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct ImportArgs {
    /// CSV or JSON Lines file of tenants to add (- for standard input)
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// The file's format [default: from its extension (.csv; .jsonl, .ndjson); csv for -]
    #[arg(long, value_enum)]
    pub(crate) format: Option<ImportFormat>,

    /// Take the App Key (and the environment) of rows that leave them empty from this stored profile
    #[arg(long, value_name = "PROFILE")]
    pub(crate) app_key_from: Option<String>,

    /// The environment of rows that leave it empty
    #[arg(long, value_enum)]
    pub(crate) environment: Option<Environment>,

    /// Replace profiles that already exist (else they are reported and left alone)
    #[arg(long)]
    pub(crate) overwrite: bool,

    /// Verify every row, store nothing
    #[arg(long, conflicts_with = "no_verify")]
    pub(crate) dry_run: bool,

    /// Store every valid row without asking ServiceTitan (saved as unverified)
    #[arg(long)]
    pub(crate) no_verify: bool,

    /// Where to keep the Client Secrets: the OS keyring, or 0600 plain-text files
    #[arg(long, env = "ST_STORAGE", value_enum, hide_env_values = true)]
    pub(crate) storage: Option<SecretStorage>,

    /// Print a JSON array on stdout, one {line, profile, tenant, ok, exit_code, message} per row
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) jobs: JobsArgs,
}

pub(crate) fn exec(args: ImportArgs, ctx: &Context) -> Result<ExitStatus> {
    ctx.check_endpoint_overrides()?;
    let from_stdin = args.file.as_os_str() == "-";
    let raw_rows = read_rows(&args, from_stdin)?;
    let held_secrets = raw_rows.iter().any(|r| !r.cell("client_secret").is_empty());
    // Plain-text secrets in a file the user keeps: theirs to delete.
    let secrets_in_file = held_secrets && !from_stdin;

    let (config_store, config) = ctx.load_config()?;
    let rows = checked_rows(ctx, &args, &config, raw_rows, secrets_in_file)?;
    let (mut rows, mut outcomes) = leave_existing(rows, &config, args.overwrite);
    // Only for the rows that will be imported.
    ask_missing_secrets(ctx, &mut rows, from_stdin)?;

    let secrets = ctx.secret_store(&config_store);
    if !args.dry_run {
        check_store_usable(&secrets, &args, &config, &rows)?;
    }
    let verifications = if args.no_verify {
        rows.iter().map(|_| None).collect()
    } else {
        verify_rows(ctx, &rows, &config, usize::from(args.jobs.jobs))?
    };
    let to_store = rows_to_store(ctx, &args, &config, &rows, &verifications, &mut outcomes);
    let interrupted = store_rows(
        ctx,
        &config_store,
        &secrets,
        &to_store,
        args.overwrite,
        &mut outcomes,
    )?;
    report(ctx, &args, outcomes, secrets_in_file, interrupted)
}

/// Read the file (bounded) and parse it in its format; a file without rows
/// is refused.
fn read_rows(args: &ImportArgs, from_stdin: bool) -> Result<Vec<RawRow>> {
    let format = args.format.unwrap_or_else(|| format_of(&args.file));
    let text = read_bounded(&args.file, from_stdin)?;
    let raw_rows = match format {
        ImportFormat::Csv => parse_csv(&text)?,
        ImportFormat::Jsonl => parse_jsonl(&text)?,
    };
    drop(text);
    if raw_rows.is_empty() {
        return Err(InvalidInput::InputEmpty {
            path: shown_path(&args.file),
        }
        .into());
    }
    Ok(raw_rows)
}

/// Every row checked, with the defaults filled in; when any is malformed,
/// the file's secrets are still the user's to delete.
fn checked_rows(
    ctx: &Context,
    args: &ImportArgs,
    config: &Config,
    raw_rows: Vec<RawRow>,
    secrets_in_file: bool,
) -> Result<Vec<Row>> {
    let defaults = Defaults::new(args, config)?;
    validate(&raw_rows, &defaults).inspect_err(|_| {
        if secrets_in_file {
            warn_to_delete(ctx, &args.file);
        }
    })
}

/// Existing profiles are left alone unless `overwrite` (checked again under
/// the lock when storing): the rows to import, and the outcomes of those left.
fn leave_existing(rows: Vec<Row>, config: &Config, overwrite: bool) -> (Vec<Row>, Vec<Outcome>) {
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for row in rows {
        if !overwrite && config.profiles.contains_key(&row.profile) {
            skipped.push(outcome(&row, ExitStatus::Usage, EXISTS.into()));
        } else {
            kept.push(row);
        }
    }
    (kept, skipped)
}

/// Where the secret of profile `name` goes: `--storage`, else where the
/// profile keeps it now, else the default.
fn storage_of(args: &ImportArgs, config: &Config, name: &str) -> SecretStorage {
    args.storage
        .or_else(|| config.profiles.get(name).map(|p| p.secret_storage))
        .unwrap_or_default()
}

/// A store that cannot be used fails once, before any request is made.
fn check_store_usable(
    secrets: &SecretStore,
    args: &ImportArgs,
    config: &Config,
    rows: &[Row],
) -> Result<()> {
    if let Some(first) = rows.first() {
        secrets
            .get_secret_unless_several(storage_of(args, config, &first.profile), &first.profile)?;
    }
    Ok(())
}

/// The rows to store, each with the profile it becomes; a refused row, and
/// every row of a dry run, gets its outcome here instead.
fn rows_to_store<'a>(
    ctx: &Context,
    args: &ImportArgs,
    config: &Config,
    rows: &'a [Row],
    verifications: &[Option<Verification>],
    outcomes: &mut Vec<Outcome>,
) -> Vec<ToStore<'a>> {
    let mut to_store = Vec::new();
    for (row, verification) in rows.iter().zip(verifications) {
        match verification {
            Some(v) if !v.passed() => {
                let problem = v
                    .first_problem()
                    .map_or("verification failed".to_string(), |s| s.message.clone());
                outcomes.push(outcome(row, v.status, format!("not stored: {problem}")));
            }
            _ if args.dry_run => outcomes.push(outcome(
                row,
                ExitStatus::Ok,
                "verified (dry run: not stored)".into(),
            )),
            verification => {
                let profile = profile_of(ctx, args, config, row, verification.is_some());
                to_store.push((row, profile));
            }
        }
    }
    to_store
}

/// The profile `row` becomes. As `init`: the URL overrides in effect are
/// saved with it; a replaced profile keeps its own and its scopes.
fn profile_of(
    ctx: &Context,
    args: &ImportArgs,
    config: &Config,
    row: &Row,
    verified: bool,
) -> Profile {
    let existing = config.profiles.get(&row.profile);
    let (auth_url, api_url) = ctx.endpoint_overrides(row.environment);
    let auth_url = auth_url.or_else(|| existing.and_then(|p| p.auth_url.clone()));
    let api_url = api_url.or_else(|| existing.and_then(|p| p.api_url.clone()));
    Profile {
        environment: row.environment,
        tenant_id: row.tenant_id.clone(),
        app_key: row.app_key.clone(),
        client_id: row.client_id.clone(),
        secret_storage: storage_of(args, config, &row.profile),
        verified,
        auth_url,
        api_url,
        require: existing.map(|p| p.require.clone()).unwrap_or_default(),
    }
}

/// Print every row's outcome in file order, remind the user of the file's
/// secrets, and give the exit status (the worst row's, or interrupted).
fn report(
    ctx: &Context,
    args: &ImportArgs,
    mut outcomes: Vec<Outcome>,
    secrets_in_file: bool,
    interrupted: bool,
) -> Result<ExitStatus> {
    outcomes.sort_by_key(|o| o.line);
    print_outcomes(ctx, args, &outcomes)?;
    if secrets_in_file {
        warn_to_delete(ctx, &args.file);
    }
    if interrupted {
        ctx.ui
            .warn("interrupted: stopped after the rows were saved (the save was not cut short).");
        return Ok(ExitStatus::Interrupted);
    }
    Ok(batch::worst(outcomes.iter().map(|o| o.status)))
}

/// Verify `rows`, at most `limit` at once; a row that replaces a stored
/// profile is checked against that profile's saved URLs, as `check` would.
fn verify_rows(
    ctx: &Context,
    rows: &[Row],
    config: &Config,
    limit: usize,
) -> Result<Vec<Option<Verification>>> {
    let transport = Arc::new(ctx.transport()?);
    let runtime = ctx.runtime()?;
    let plans: Vec<Result<verify::Plan>> = rows
        .iter()
        .map(|row| {
            crate::commands::verification::plan(
                ctx,
                &transport,
                Some(row.environment),
                config.profiles.get(&row.profile),
            )
        })
        .collect();
    let mut failures: Vec<Option<Error>> = Vec::new();
    let jobs: Vec<Option<Job>> = rows
        .iter()
        .zip(plans)
        .map(|(row, plan)| {
            let plan = match plan {
                Ok(plan) => plan,
                Err(err) => {
                    failures.push(Some(err));
                    return None;
                }
            };
            failures.push(None);
            Some(Job {
                plan,
                credentials: Credentials {
                    tenant_id: row.tenant_id.clone(),
                    app_key: row.app_key.clone(),
                    client_id: row.client_id.clone(),
                    client_secret: row.client_secret.clone()?,
                },
                required: Vec::new(),
            })
        })
        .collect();
    let done = batch::verify_all(&runtime, jobs, limit, ctx.ui);
    // A row without a plan (a bad URL override) fails the way a check would.
    Ok(done
        .into_iter()
        .zip(failures)
        .zip(rows)
        .map(|((verification, failure), row)| {
            verification.or_else(|| {
                let err =
                    failure.unwrap_or_else(|| Error::Other("the check did not finish".into()));
                Some(verify::setup_failed(row.environment, &err, &[]))
            })
        })
        .collect())
}

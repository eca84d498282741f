//! `st-setup check`: re-verify stored (or environment-only) credentials with
//! the same steps as `init` (token, tenant, API call, scopes), one profile or all of them concurrently.

mod read_and_verify;
mod report;

use clap::Args;

use crate::batch::{self, JobsArgs, ProfileFilter};
use crate::cli::Context;
use crate::cli::CredentialArgs;
use crate::credentials::{ClientSecret, Credentials};
use crate::environment::{Environment, EnvironmentChoice};
use crate::error::{Error, ExitStatus, Result};
use crate::invalid_input::InvalidInput;
use crate::not_configured::NotConfigured;
use crate::resolve::{Resolved, Source, missing_secret};
use crate::scopes::{self, RequireArgs, Requirement};
use crate::store::config::{Config, ConfigStore, Profile};
use crate::store::{SecretSource, SecretStore};
use read_and_verify::read_and_verify;
use report::{Report, print_reports, reports};

const AFTER_HELP: &str = "\
Examples:
  st-setup check                        # the default profile
  st-setup check --scopes               # and every scope the token carries, by module
  st-setup check --require crm --require tn.acc.invoices:r
                                        # exit 4 unless the token has these scopes
  st-setup check --all --json           # every profile, as a JSON array
  st-setup check --all --match 'acme-*' --environment production --jobs 20
                                        # a subset, at most 20 at once
  ST_TENANT_ID=8450 ST_APP_KEY=... ST_CLIENT_ID=... ST_CLIENT_SECRET=... st-setup check
                                        # CI: nothing stored, everything from the environment

The exit code is the worst outcome across the profiles checked (see `st-setup --help`).";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) values: CredentialArgs,

    /// Check every stored profile, concurrently, each with its own stored values
    /// (with --environment, only that environment's)
    #[arg(long)]
    pub(crate) all: bool,

    #[command(flatten)]
    pub(crate) filter: ProfileFilter,

    #[command(flatten)]
    pub(crate) jobs: JobsArgs,

    /// Print one JSON document on stdout (an array with --all)
    #[arg(long)]
    pub(crate) json: bool,

    /// List every scope the token carries, grouped by API module
    #[arg(long)]
    pub(crate) scopes: bool,

    #[command(flatten)]
    pub(crate) require: RequireArgs,
}

/// What to check for one profile: ready credentials, or why there are none.
pub(super) struct Target {
    pub(super) name: String,
    pub(super) environment: Environment,
    pub(super) tenant: String,
    pub(super) secret_source: SecretSource,
    /// `--require` and the profile's saved list.
    pub(super) required: Vec<Requirement>,
    pub(super) job: std::result::Result<Credentials, Error>,
}

pub(crate) fn exec(args: CheckArgs, ctx: &Context) -> Result<ExitStatus> {
    ctx.check_endpoint_overrides()?;
    let given_required = args.require.requirements()?;
    let (config_store, config) = ctx.load_config()?;
    let secrets = ctx.secret_store(&config_store);
    let pattern = args.filter.pattern()?;
    if pattern.is_some() && !args.all {
        return Err(Error::from(InvalidInput::MatchWithoutAll));
    }
    let resolved = select(ctx, &args, &config, pattern.as_ref())?;

    // Secrets are read one at a time (the keyring is local and quick) on
    // another thread while the HTTP client is set up and the connections to
    // every token host and API host are opened (their TLS handshakes need no
    // secret); the network checks then run concurrently.
    let runtime = ctx.runtime()?;
    let endpoints: Vec<_> = resolved
        .iter()
        .filter_map(|r| ctx.endpoints(r.environment.value, r.stored.as_ref()).ok())
        .collect();
    let early: Vec<&url::Url> = endpoints
        .iter()
        .flat_map(|e| [&e.token_url, &e.api_base])
        .collect();
    let read_target = |r: &Resolved| target(r, args.all, &secrets, &given_required);
    let limit = usize::from(args.jobs.jobs);
    let (targets, verifications, plan_failures) =
        read_and_verify(ctx, &runtime, &resolved, &early, read_target, limit)?;

    let reports = reports(&targets, verifications, &plan_failures);

    mark_verified(ctx, &config_store, &secrets, &resolved, &targets, &reports);

    print_reports(ctx, &args, &reports)?;
    Ok(batch::worst(reports.iter().map(|r| r.status)))
}

/// The profiles to check: every stored one `--all` (with `--match` and
/// `--environment`) selects, else the one the values name.
fn select(
    ctx: &Context,
    args: &CheckArgs,
    config: &Config,
    pattern: Option<&glob::Pattern>,
) -> Result<Vec<Resolved>> {
    if args.all {
        let only_environment = refuse_values_with_all(ctx, args)?;
        if config.profiles.is_empty() {
            return Err(NotConfigured::NoProfiles.into());
        }
        let names: Vec<&String> = config
            .profiles
            .iter()
            .filter(|(name, p)| batch::selected(name, p.environment, only_environment, pattern))
            .map(|(name, _)| name)
            .collect();
        if names.is_empty() {
            return Err(NotConfigured::NoneSelected {
                filter: describe_filter(args, only_environment),
            }
            .into());
        }
        names
            .into_iter()
            .map(|name| {
                let values = CredentialArgs {
                    profile: Some(name.clone()),
                    ..CredentialArgs::default()
                };
                Resolved::resolve(ctx, &values, config)
            })
            .collect()
    } else {
        Ok(vec![Resolved::resolve(ctx, &args.values, config)?])
    }
}

/// One profile to check: its credentials (the secret read from its store),
/// or why they cannot be had, and its requirements.
fn target(
    r: &Resolved,
    all: bool,
    secrets: &SecretStore,
    given_required: &[Requirement],
) -> Target {
    // ST_CLIENT_SECRET belongs to one set of credentials, never to every profile.
    let secret = if all {
        secrets
            .get_secret(r.storage, &r.profile.value)
            .and_then(|s| s.ok_or_else(|| missing_secret(&r.profile.value, r.storage)))
    } else {
        r.require_secret(secrets)
    };
    let saved = r.stored.as_ref().map_or(&[][..], |p| &p.require[..]);
    let required = scopes::saved_requirements(&r.profile.value, saved)
        .map(|saved| scopes::merge(saved.into_iter().chain(given_required.iter().cloned())));
    let (required, job) = match required {
        Ok(required) => (required, secret.map(|s| r.credentials(s))),
        Err(err) => (given_required.to_vec(), Err(err)),
    };
    Target {
        name: r.profile.value.clone(),
        environment: r.environment.value,
        tenant: r.tenant_id.value.clone(),
        secret_source: secret_source(r, all),
        required,
        job,
    }
}

/// `--match 'acme-*' and --environment production`, for "nothing selected".
fn describe_filter(args: &CheckArgs, only_environment: Option<Environment>) -> String {
    let mut parts = Vec::new();
    if let Some(glob) = &args.filter.glob {
        parts.push(format!("--match {:?}", crate::printable::field(glob, 100)));
    }
    if let Some(env) = only_environment {
        parts.push(format!("--environment {env}"));
    }
    parts.join(" and ")
}

/// `--all` checks each profile with its own values: a value flag makes no
/// sense with it and is refused, while the same value from the environment
/// (CI sets ST_PROFILE, ST_TENANT_ID, ... for other steps) is ignored. The
/// one exception is `--environment`, which selects the profiles of one
/// environment (returned); `ST_ENVIRONMENT` is ignored like the others.
fn refuse_values_with_all(ctx: &Context, args: &CheckArgs) -> Result<Option<Environment>> {
    let only_environment = match ctx.source_of("environment", "ST_ENVIRONMENT") {
        Source::Flag => match args.values.environment.and_then(EnvironmentChoice::known) {
            Some(environment) => Some(environment),
            None => {
                return Err(Error::from(InvalidInput::AutoWithAll));
            }
        },
        Source::Env(var) => {
            ctx.ui.verbose_line(&format!(
                "--all: ignoring {var}; each profile is checked with its own values \
                 (--environment selects profiles)"
            ));
            None
        }
        _ => None,
    };
    for (id, flag, var) in [
        ("profile", "--profile", "ST_PROFILE"),
        ("tenant_id", "--tenant", "ST_TENANT_ID"),
        ("app_key", "--app-key", "ST_APP_KEY"),
        ("client_id", "--client-id", "ST_CLIENT_ID"),
    ] {
        match ctx.source_of(id, var) {
            Source::Flag => {
                return Err(InvalidInput::NotWithAll { flag }.into());
            }
            Source::Env(_) => ctx.ui.verbose_line(&format!(
                "--all: ignoring {var}; each profile is checked with its own values"
            )),
            _ => {}
        }
    }
    Ok(only_environment)
}

/// A profile saved unverified that now passes, with exactly its stored
/// values, is marked verified (so `list` stops saying "no"). A failed write
/// only warns: the check itself ran.
fn mark_verified(
    ctx: &Context,
    config_store: &ConfigStore,
    secrets: &SecretStore,
    resolved: &[Resolved],
    targets: &[Target],
    reports: &[Report],
) {
    let passed: Vec<Passed<'_>> = resolved
        .iter()
        .zip(targets)
        .zip(reports)
        .filter(|(_, report)| report.ok && report.secret_storage != SecretSource::Env)
        .filter_map(|((r, target), _)| proves_unverified(ctx, r, target))
        .collect();
    if passed.is_empty() {
        return;
    }
    if let Err(err) = record_verified(config_store, secrets, &passed) {
        ctx.ui.warn(&format!(
            "could not record the passed check in the config: {err}"
        ));
    }
}

/// A passed profile to mark verified: its name, its stored values and the
/// secret it passed with.
type Passed<'a> = (&'a str, &'a Profile, &'a ClientSecret);

/// The passed check of `r` (as `target`), when it proves a profile saved
/// unverified: every value came from the config and it was checked against
/// the profile's own server.
fn proves_unverified<'a>(ctx: &Context, r: &'a Resolved, target: &'a Target) -> Option<Passed<'a>> {
    let stored = r.stored.as_ref().filter(|p| !p.verified)?;
    let credentials = target.job.as_ref().ok()?;
    // Passing against another server proves nothing about the stored one.
    let own = |given: &Option<String>, saved: &Option<String>| given.is_none() || given == saved;
    let same_server =
        own(&ctx.global.auth_url, &stored.auth_url) && own(&ctx.global.api_url, &stored.api_url);
    let all_stored = [&r.environment.source, &r.tenant_id.source]
        .into_iter()
        .chain([&r.app_key.source, &r.client_id.source])
        .all(|source| *source == Source::Config);
    (all_stored && same_server).then_some((
        r.profile.value.as_str(),
        stored,
        &credentials.client_secret,
    ))
}

/// Mark the `passed` profiles verified in the config, each only if nobody
/// changed it, or its secret, since it was read: under the lock no `init`
/// can change either meanwhile.
fn record_verified(
    config_store: &ConfigStore,
    secrets: &SecretStore,
    passed: &[Passed<'_>],
) -> Result<()> {
    config_store.lock().and_then(|lock| {
        let unchanged: Vec<(&str, &Profile)> = passed
            .iter()
            .filter(|(name, checked, secret)| {
                secrets
                    .get_secret(checked.secret_storage, name)
                    .ok()
                    .flatten()
                    .is_some_and(|now| now.expose() == secret.expose())
            })
            .map(|(name, checked, _)| (*name, *checked))
            .collect();
        config_store.update_locked(&lock, |config| {
            for (name, checked) in &unchanged {
                if let Some(profile) = config.profiles.get_mut(*name)
                    && profile == *checked
                {
                    profile.verified = true;
                }
            }
            Ok(())
        })
    })
}

fn secret_source(resolved: &Resolved, all: bool) -> SecretSource {
    if !all && std::env::var_os("ST_CLIENT_SECRET").is_some() {
        SecretSource::Env
    } else {
        SecretSource::Stored(resolved.storage)
    }
}

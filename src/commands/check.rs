//! `st-setup check`: re-verify stored (or environment-only) credentials with
//! the same steps as `init` (token, tenant, API call, scopes), one profile or all of them concurrently.

use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use crate::batch::{self, Job, JobsArgs, ProfileFilter};
use crate::cli::Context;
use crate::cli::CredentialArgs;
use crate::credentials::{ClientSecret, Credentials};
use crate::environment::{Environment, EnvironmentChoice};
use crate::error::{Error, ExitStatus, Result};
use crate::resolve::{Resolved, Source, missing_secret};
use crate::scopes::{self, RequireArgs, Requirement};
use crate::store::config::{ConfigStore, Profile};
use crate::store::{SecretSource, SecretStore};
use crate::ui::{stdout_line, stdout_text};
use crate::verify::{self, Step, StepStatus, Verification};

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

/// One profile's result, as printed and as JSON.
#[derive(Serialize)]
struct Report {
    profile: String,
    environment: Environment,
    tenant: String,
    secret_storage: SecretSource,
    ok: bool,
    exit_code: u8,
    client_credentials: Step,
    tenant_match: Step,
    api_access: Step,
    /// The token's scopes, sorted; `null` when it names none.
    scopes: Option<Vec<String>>,
    /// The API path probed, without its query.
    probe: Option<String>,
    /// The `--require` items (given or saved) the token does not meet.
    missing_scopes: Vec<String>,
    /// Where refused credentials turned out to belong.
    detected_environment: Option<Environment>,
    /// Every line printed for the profile, with its screen label.
    #[serde(skip)]
    lines: Vec<(&'static str, Step)>,
    #[serde(skip)]
    status: ExitStatus,
}

impl Report {
    fn new(target: &Target, verification: &Verification) -> Report {
        Report {
            profile: target.name.clone(),
            environment: target.environment,
            tenant: target.tenant.clone(),
            secret_storage: target.secret_source,
            ok: verification.passed(),
            exit_code: verification.status.code(),
            client_credentials: verification.client_credentials.clone(),
            tenant_match: verification.tenant_match.clone(),
            api_access: verification.api_access.clone(),
            scopes: verification.scopes.clone(),
            probe: verification.probe.clone(),
            missing_scopes: verification.missing_scopes.clone(),
            detected_environment: verification.detected_environment,
            lines: verification
                .steps()
                .into_iter()
                .map(|(_, label, step)| (label, step.clone()))
                .collect(),
            status: verification.status,
        }
    }
}

/// What to check for one profile: ready credentials, or why there are none.
struct Target {
    name: String,
    environment: Environment,
    tenant: String,
    secret_source: SecretSource,
    /// `--require` and the profile's saved list.
    required: Vec<Requirement>,
    job: std::result::Result<Credentials, Error>,
}

pub(crate) fn exec(args: CheckArgs, ctx: &Context) -> Result<ExitStatus> {
    ctx.check_endpoint_overrides()?;
    let given_required = args.require.requirements()?;
    let (config_store, config) = ctx.load_config()?;
    let secrets = ctx.secret_store(&config_store);
    let pattern = args.filter.pattern()?;
    if pattern.is_some() && !args.all {
        return Err(Error::Usage(
            "--match selects profiles for --all: use `st-setup check --all --match GLOB`.".into(),
        ));
    }
    let resolved: Vec<Resolved> = if args.all {
        let only_environment = refuse_values_with_all(ctx, &args)?;
        if config.profiles.is_empty() {
            return Err(Error::NotConfigured(
                "no profiles are configured: run `st-setup init` first.".into(),
            ));
        }
        let names: Vec<&String> = config
            .profiles
            .iter()
            .filter(|(name, p)| {
                batch::selected(name, p.environment, only_environment, pattern.as_ref())
            })
            .map(|(name, _)| name)
            .collect();
        if names.is_empty() {
            return Err(Error::NotConfigured(format!(
                "no stored profile is selected by {}. Run `st-setup list` to see them.",
                describe_filter(&args, only_environment)
            )));
        }
        names
            .into_iter()
            .map(|name| {
                let values = CredentialArgs {
                    profile: Some(name.clone()),
                    ..CredentialArgs::default()
                };
                Resolved::resolve(ctx, &values, &config)
            })
            .collect::<Result<_>>()?
    } else {
        vec![Resolved::resolve(ctx, &args.values, &config)?]
    };

    // Secrets are read one at a time (the keyring is local and quick) on
    // another thread while the HTTP client is set up (loading the platform's
    // trust store takes about as long) and the connections to every token
    // host and API host are opened; the network checks then run
    // concurrently.
    let runtime = ctx.runtime()?;
    let endpoints: Vec<_> = resolved
        .iter()
        .filter_map(|r| ctx.endpoints(r.environment.value, r.stored.as_ref()).ok())
        .collect();
    let early: Vec<&url::Url> = endpoints
        .iter()
        .flat_map(|e| [&e.token_url, &e.api_base])
        .collect();
    // One profile's secret, read from its store (the slow part with many
    // profiles: one keyring call each), and what to check for it.
    let read_target = |r: &Resolved| -> Target {
        // ST_CLIENT_SECRET belongs to one set of credentials, never to every profile.
        let secret = if args.all {
            secrets
                .get_secret(r.storage, &r.profile.value)
                .and_then(|s| s.ok_or_else(|| missing_secret(&r.profile.value, r.storage)))
        } else {
            r.require_secret(&secrets)
        };
        let saved = r.stored.as_ref().map_or(&[][..], |p| &p.require[..]);
        let required = scopes::saved_requirements(&r.profile.value, saved)
            .map(|saved| scopes::merge(saved.into_iter().chain(given_required.clone())));
        let (required, job) = match required {
            Ok(required) => (required, secret.map(|s| r.credentials(s))),
            Err(err) => (given_required.clone(), Err(err)),
        };
        Target {
            name: r.profile.value.clone(),
            environment: r.environment.value,
            tenant: r.tenant_id.value.clone(),
            secret_source: secret_source(r, args.all),
            required,
            job,
        }
    };
    let limit = usize::from(args.jobs.jobs);
    let (targets, verifications, plan_failures) =
        read_and_verify(ctx, &runtime, &resolved, &early, read_target, limit)?;

    let reports: Vec<Report> = targets
        .iter()
        .zip(verifications)
        .enumerate()
        .map(|(index, (target, verification))| {
            let failed = |err: &Error| {
                Report::new(
                    target,
                    &verify::setup_failed(target.environment, err, &target.required),
                )
            };
            match (&target.job, verification) {
                (_, Some(v)) => Report::new(target, &v),
                (Err(err), None) => failed(err),
                (Ok(_), None) => match plan_failures.iter().find(|(i, _)| *i == index) {
                    Some((_, err)) => failed(err),
                    None => failed(&Error::Other("the check did not finish".into())),
                },
            }
        })
        .collect();

    mark_verified(ctx, &config_store, &secrets, &resolved, &targets, &reports);

    if args.json {
        let json = if args.all {
            serde_json::to_string_pretty(&reports)
        } else {
            serde_json::to_string_pretty(&reports[0])
        };
        let json = json.map_err(|e| Error::Other(e.to_string()))?;
        stdout_line(&crate::printable::json(&json))?;
    } else {
        for report in &reports {
            print_report(ctx, report, args.scopes)?;
        }
    }
    if args.all {
        let ok = reports.iter().filter(|r| r.ok).count();
        let outcomes: Vec<(&str, ExitStatus)> = reports
            .iter()
            .map(|r| (r.profile.as_str(), r.status))
            .collect();
        batch::print_summary(
            ctx.ui,
            &format!(
                "{} profile{} checked: {ok} ok, {} with problems.",
                reports.len(),
                if reports.len() == 1 { "" } else { "s" },
                reports.len() - ok
            ),
            &outcomes,
        );
    }
    Ok(batch::worst(reports.iter().map(|r| r.status)))
}

/// Read each profile's secret on a thread while the HTTP client is set up
/// (loading the platform's trust store takes about as long) and the
/// connections to every token host and API host are opened; each profile is
/// verified as soon as its secret is read, at most `limit` at once, so that
/// with many profiles reading the keyring and asking ServiceTitan overlap
/// instead of adding up. Returns the targets, their verifications (`None`
/// where none ran) and the profiles whose plan could not be made.
fn read_and_verify(
    ctx: &Context,
    runtime: &tokio::runtime::Runtime,
    resolved: &[Resolved],
    early: &[&url::Url],
    read_target: impl Fn(&Resolved) -> Target + Sync,
    limit: usize,
) -> Result<ReadAndVerified> {
    let (sender, arriving) = tokio::sync::mpsc::unbounded_channel::<(usize, Target)>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            for (index, r) in resolved.iter().enumerate() {
                if sender.send((index, read_target(r))).is_err() {
                    break;
                }
            }
            drop(sender);
        });
        let transport = ctx.transport().map(Arc::new);
        let mut arriving = arriving;
        let mut targets: Vec<Option<Target>> = resolved.iter().map(|_| None).collect();
        let mut plan_failures: Vec<(usize, Error)> = Vec::new();
        let verifications = match &transport {
            Ok(transport) => runtime.block_on(async {
                transport.connect_early(early).await;
                let (jobs, queued) = tokio::sync::mpsc::unbounded_channel();
                let verifying = batch::verify_arriving(queued, resolved.len(), limit, ctx.ui);
                let feeding = async {
                    while let Some((index, target)) = arriving.recv().await {
                        let job = target.job.as_ref().ok().and_then(|credentials| {
                            let stored = resolved[index].stored.as_ref();
                            match crate::commands::verification::plan(
                                ctx,
                                transport,
                                Some(target.environment),
                                stored,
                            ) {
                                Ok(plan) => Some(Job {
                                    plan,
                                    credentials: credentials.clone(),
                                    required: target.required.clone(),
                                }),
                                Err(err) => {
                                    plan_failures.push((index, err));
                                    None
                                }
                            }
                        });
                        targets[index] = Some(target);
                        let _ = jobs.send((index, job));
                    }
                    drop(jobs);
                };
                let ((), verifications) = tokio::join!(feeding, verifying);
                verifications
            }),
            Err(_) => {
                // No HTTP client: read the secrets all the same (their
                // problems are reported too), verify nothing.
                while let Some((index, target)) = arriving.blocking_recv() {
                    targets[index] = Some(target);
                }
                resolved.iter().map(|_| None).collect()
            }
        };
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let transport = transport?;
        drop(transport);
        let targets = targets
            .into_iter()
            .map(|t| t.ok_or_else(|| Error::Other("a profile was not read".into())))
            .collect::<Result<Vec<Target>>>()?;
        Ok((targets, verifications, plan_failures))
    })
}

/// What [`read_and_verify`] gives back.
type ReadAndVerified = (Vec<Target>, Vec<Option<Verification>>, Vec<(usize, Error)>);

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
                return Err(Error::Usage(
                    "--environment auto cannot select profiles: with --all, give production or \
                     integration to check only that environment's profiles."
                        .into(),
                ));
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
                return Err(Error::Usage(format!(
                    "{flag} cannot be used with --all: --all checks every stored profile with \
                     its own stored values. Use `st-setup check {flag} ...` for one set of values."
                )));
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
    let passed: Vec<(&str, &Profile, &ClientSecret)> = resolved
        .iter()
        .zip(targets)
        .zip(reports)
        .filter(|(_, report)| report.ok && report.secret_storage != SecretSource::Env)
        .filter_map(|((r, target), _)| {
            let stored = r.stored.as_ref().filter(|p| !p.verified)?;
            let credentials = target.job.as_ref().ok()?;
            // Passing against another server proves nothing about the stored one.
            let own =
                |given: &Option<String>, saved: &Option<String>| given.is_none() || given == saved;
            let same_server = own(&ctx.global.auth_url, &stored.auth_url)
                && own(&ctx.global.api_url, &stored.api_url);
            let all_stored = [&r.environment.source, &r.tenant_id.source]
                .into_iter()
                .chain([&r.app_key.source, &r.client_id.source])
                .all(|source| *source == Source::Config);
            (all_stored && same_server).then_some((
                r.profile.value.as_str(),
                stored,
                &credentials.client_secret,
            ))
        })
        .collect();
    if passed.is_empty() {
        return;
    }
    let marked = config_store.lock().and_then(|lock| {
        // Only if nobody changed the profile, or its secret, since it was
        // read: under the lock no `init` can change either meanwhile.
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
    });
    if let Err(err) = marked {
        ctx.ui.warn(&format!(
            "could not record the passed check in the config: {err}"
        ));
    }
}

fn secret_source(resolved: &Resolved, all: bool) -> SecretSource {
    if !all && std::env::var_os("ST_CLIENT_SECRET").is_some() {
        SecretSource::Env
    } else {
        SecretSource::Stored(resolved.storage)
    }
}

fn print_report(ctx: &Context, report: &Report, list_scopes: bool) -> Result<()> {
    let secret_place = report.secret_storage.phrase();
    stdout_text(&format!(
        "{} ({}, tenant {}; {secret_place})",
        console::style(crate::printable::field(&report.profile, 64)).bold(),
        report.environment,
        crate::printable::field(&report.tenant, 64)
    ))?;
    for (label, step) in &report.lines {
        stdout_line(&crate::verify::step_line(
            &ctx.ui.for_stdout(),
            step.status,
            label,
            &step.message,
        ))?;
    }
    if list_scopes {
        match &report.scopes {
            Some(list) if !list.is_empty() => {
                stdout_text(&format!("  Every scope of the token ({}):", list.len()))?;
                for (module, names) in scopes::grouped(list) {
                    stdout_text(&format!("    {module}"))?;
                    for name in names {
                        stdout_text(&format!("      {name}"))?;
                    }
                }
            }
            Some(_) => stdout_text("  The token carries an empty scope list.")?,
            None if report.client_credentials.status == StepStatus::Ok => {
                stdout_text("  The token names no scopes (neither its response nor its claims).")?
            }
            None => stdout_text("  No token, so no scopes to list.")?,
        }
    }
    Ok(())
}

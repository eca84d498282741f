//! `st-setup init`: collect the four credentials (wizard in a terminal, flags
//! and environment variables in scripts), verify them with ServiceTitan, and
//! store them: the Client Secret in the secret store, the rest in the config.

mod given;

use std::cell::Cell;
use std::io::IsTerminal;

use clap::Args;

use crate::cli::{Context, CredentialArgs};
use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::error::{Error, ExitStatus, Result};
use crate::profile::DEFAULT_PROFILE;
use crate::scopes::{self, RequireArgs, Requirement};
use crate::store::SecretStorage;
use crate::store::config::Profile;
use crate::wizard::{self, Stored, Wizard};
use given::{collect_without_prompts, given_values, take_app_key_from};

const AFTER_HELP: &str = "\
Examples:
  st-setup init                                  # the guided wizard
  st-setup init --profile acme --environment integration
  ST_CLIENT_SECRET=... st-setup init --non-interactive --profile ci \\
      --tenant 8450 --app-key ak1.... --client-id cid....
  printf '%s\\n' \"$SECRET\" | st-setup init --client-secret-stdin --tenant 8450 ...
  st-setup init --environment auto               # not sure which environment: find out
  ST_CLIENT_SECRET=... st-setup init --app-key-from acme --profile beta --tenant 985798691 \\
      --client-id cid....                        # another tenant of the same app
  st-setup init --profile sync --require crm --require tn.acc.invoices:r
                                                 # the token must have these scopes (saved:
                                                 # every later check requires them too)

The Client Secret is never taken from a flag (it would show in process lists and
shell history): use ST_CLIENT_SECRET, --client-secret-stdin, or the hidden prompt.";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    pub(crate) values: CredentialArgs,

    #[command(flatten)]
    pub(crate) require: RequireArgs,

    /// Read the Client Secret from the first line of standard input
    #[arg(long, help_heading = "Credentials")]
    pub(crate) client_secret_stdin: bool,

    /// Where to keep the Client Secret: the OS keyring, or a 0600 plain-text file
    #[arg(
        long,
        env = "ST_STORAGE",
        value_enum,
        hide_env_values = true,
        help_heading = "Storage"
    )]
    pub(crate) storage: Option<SecretStorage>,

    /// Never prompt; fail with exit 2 listing anything missing (implied when stdin is not a terminal)
    #[arg(long)]
    pub(crate) non_interactive: bool,

    /// Save without asking ServiceTitan whether the values work
    #[arg(long)]
    pub(crate) no_verify: bool,

    /// Print the Developer Portal and tenant URLs instead of offering to open them
    #[arg(long)]
    pub(crate) no_browser: bool,

    /// Another tenant of the same app: take the App Key and the environment from this stored profile
    #[arg(long, value_name = "PROFILE", help_heading = "Credentials")]
    pub(crate) app_key_from: Option<String>,
}

pub(crate) fn exec(args: InitArgs, ctx: &Context) -> Result<ExitStatus> {
    let interactive = is_interactive(&args);
    ctx.check_endpoint_overrides()?;
    let (given, config, existing) = given_and_config(ctx, &args)?;
    let run = InitRun {
        ctx,
        args: &args,
        secrets: ctx.secret_store(&config),
        existing: &existing,
        chosen_storage: Cell::new(None),
        given_required: args.require.requirements()?,
    };
    let runtime = ctx.runtime()?;
    let lookup = |name: &str| run.lookup(name);
    let verify_with =
        |profile: &str, environment: Option<Environment>, credentials: &Credentials| {
            run.verify(&runtime, profile, environment, credentials)
        };
    let verify: Option<wizard::VerifyFn<'_>> = if args.no_verify {
        None
    } else {
        Some(&verify_with)
    };
    let wizard = Wizard::new(ctx.ui, !args.no_browser, &given);
    let mut collected = if interactive {
        wizard.run(lookup, verify)?
    } else {
        let read_secret = |name: &str| {
            run.secrets
                .get_secret_unless_several(run.current_storage(name), name)
        };
        collect_without_prompts(&given, &existing, &read_secret, ctx.ui, verify)?
    };
    loop {
        if run.save(&config, &collected)? {
            ctx.ui.warn(
                "interrupted: stopped after the profile was saved (the save was not cut short).",
            );
            return Ok(ExitStatus::Interrupted);
        }
        // Integrators connect one app to many tenants: the next one needs
        // only its own Tenant ID, Client ID and Secret.
        if !interactive
            || !wizard::Prompter::new(ctx.ui)
                .confirm("Connect another tenant to the same app?", false)?
        {
            break;
        }
        collected = wizard.another_tenant(&collected, lookup, verify)?;
    }
    say_what_next(ctx, &collected.profile);
    Ok(ExitStatus::Ok)
}

/// The values given (with `--app-key-from`'s), the config store and what it holds.
fn given_and_config(
    ctx: &Context,
    args: &InitArgs,
) -> Result<(
    wizard::Given,
    crate::store::config::ConfigStore,
    crate::store::config::Config,
)> {
    let mut given = given_values(args)?;
    let config = ctx.config_store()?;
    let (existing, warning) = config.load()?;
    if let Some(w) = warning {
        ctx.ui.warn(&w);
    }
    if let Some(name) = &args.app_key_from {
        take_app_key_from(ctx, name, &existing, &mut given)?;
    }
    Ok((given, config, existing))
}

/// The wizard runs only with a terminal on both ends, and not when the
/// secret comes on stdin or `--non-interactive` says no.
fn is_interactive(args: &InitArgs) -> bool {
    !args.non_interactive
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && !args.client_secret_stdin
}

/// One `init` run: what it was given and found, and the storage the
/// wizard chose, for the steps that look up, verify and save profiles.
struct InitRun<'a> {
    ctx: &'a Context,
    args: &'a InitArgs,
    secrets: crate::store::SecretStore,
    /// The config as it was when the run started.
    existing: &'a crate::store::config::Config,
    /// The wizard's choice when no keyring could be reached (never made for the user).
    chosen_storage: Cell<Option<SecretStorage>>,
    /// `--require`, parsed.
    given_required: Vec<Requirement>,
}

impl InitRun<'_> {
    /// Where a profile's secret is now, if it is stored.
    fn stored_in(&self, profile: &str) -> Option<SecretStorage> {
        self.existing
            .profiles
            .get(profile)
            .map(|p| p.secret_storage)
    }

    /// Where a profile's secret goes: --storage, else the wizard's choice,
    /// else where it is now (save_profile moves it if that changed).
    fn storage_for(&self, profile: &str) -> SecretStorage {
        self.args
            .storage
            .or(self.chosen_storage.get())
            .or_else(|| self.stored_in(profile))
            .unwrap_or_default()
    }

    /// Where a profile's secret is read from: where it is now, else where it will go.
    fn current_storage(&self, profile: &str) -> SecretStorage {
        self.stored_in(profile)
            .unwrap_or_else(|| self.storage_for(profile))
    }

    /// --require replaces a profile's saved list; without it the saved one stays.
    fn required_for(&self, profile: &str) -> Result<Vec<Requirement>> {
        if !self.args.require.require.is_empty() {
            return Ok(self.given_required.clone());
        }
        match self.existing.profiles.get(profile) {
            Some(p) => scopes::saved_requirements(profile, &p.require),
            None => Ok(Vec::new()),
        }
    }

    /// The stored profile and its secret, for the wizard to offer. Reading the
    /// secret also proves the store works before the user types anything;
    /// when the keyring cannot be reached, the user chooses a way on.
    fn lookup(&self, name: &str) -> Result<Stored> {
        let profile = self.existing.profiles.get(name).cloned();
        loop {
            if self.chosen_storage.get() == Some(SecretStorage::File) {
                // The keyring's copy cannot be read: the secret is asked for.
                let secret = match self.current_storage(name) {
                    SecretStorage::File => self.secrets.get_secret(SecretStorage::File, name)?,
                    SecretStorage::Keyring => None,
                };
                return Ok(Stored { profile, secret });
            }
            let storage = self.current_storage(name);
            match self.secrets.get_secret_unless_several(storage, name) {
                Ok(secret) => return Ok(Stored { profile, secret }),
                Err(err) if err.is_keyring_unavailable() && storage == SecretStorage::Keyring => {
                    self.ask_way_on(name, err)?;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// No keyring: start one and check again, use a plain file, or quit (`err`).
    fn ask_way_on(&self, name: &str, err: Error) -> Result<()> {
        let way = wizard::no_keyring::ask(
            self.ctx.ui,
            err,
            &self.secrets.secret_file(name).display().to_string(),
            self.args.storage.is_none(),
        )?;
        if way == wizard::no_keyring::WayOn::PlainFile {
            self.chosen_storage.set(Some(SecretStorage::File));
        }
        Ok(())
    }

    /// Check `credentials` with ServiceTitan, with the profile's requirements.
    fn verify(
        &self,
        runtime: &tokio::runtime::Runtime,
        profile: &str,
        environment: Option<Environment>,
        credentials: &Credentials,
    ) -> Result<crate::verify::Verification> {
        let required = self.required_for(profile)?;
        Ok(runtime.block_on(crate::commands::verification::verify(
            self.ctx,
            environment,
            None,
            credentials,
            &required,
        )))
    }

    /// Save `collected` where it belongs; whether a signal arrived meanwhile.
    fn save(
        &self,
        config: &crate::store::config::ConfigStore,
        collected: &wizard::Collected,
    ) -> Result<bool> {
        let storage = self.storage_for(&collected.profile);
        let require = self
            .required_for(&collected.profile)?
            .iter()
            .map(|r| r.as_given().to_string())
            .collect();
        save(self.ctx, config, &self.secrets, collected, storage, require)
    }
}

/// The commands that use the profile just saved.
fn say_what_next(ctx: &Context, profile: &str) {
    let flag = if profile == DEFAULT_PROFILE {
        String::new()
    } else {
        format!(" --profile {profile}")
    };
    ctx.ui.info(&format!(
        "Next: `st-setup check{flag}` re-checks them; `st-setup token{flag}` prints an access token; \
         `st-setup exec{flag} -- CMD` runs CMD with them set."
    ));
}

/// Store one collected profile (the secret in `storage`, the rest in the
/// config) and say where everything went. Returns whether a signal arrived
/// during the save (which was then finished, not cut short).
fn save(
    ctx: &Context,
    config: &crate::store::config::ConfigStore,
    secrets: &crate::store::SecretStore,
    collected: &wizard::Collected,
    storage: SecretStorage,
    require: Vec<String>,
) -> Result<bool> {
    let profile = profile_to_save(ctx, collected, storage, require);
    // Saving is one step for the user. Waiting for another run's lock comes
    // first and can be interrupted (nothing is written yet); from then on a
    // Ctrl-C waits for the save to finish (a second one quits at once).
    let lock = config.lock()?;
    let held = crate::signals::hold_interrupts();
    let saved = crate::store::save_profile(
        &lock,
        config,
        secrets,
        &collected.profile,
        &profile,
        &collected.credentials.client_secret,
    );
    let interrupted = held.release();
    drop(lock);
    if let Some(leftover) = saved? {
        ctx.ui.warn(&leftover);
    }
    say_saved(ctx, config, secrets, collected, storage);
    Ok(interrupted)
}

/// The config entry for `collected`, with this run's endpoint overrides.
fn profile_to_save(
    ctx: &Context,
    collected: &wizard::Collected,
    storage: SecretStorage,
    require: Vec<String>,
) -> Profile {
    let endpoints_override = ctx.endpoint_overrides(collected.environment);
    Profile {
        environment: collected.environment,
        tenant_id: collected.credentials.tenant_id.clone(),
        app_key: collected.credentials.app_key.clone(),
        client_id: collected.credentials.client_id.clone(),
        secret_storage: storage,
        verified: collected.verified,
        auth_url: endpoints_override.0,
        api_url: endpoints_override.1,
        require,
    }
}

/// Where the saved profile's values went.
fn say_saved(
    ctx: &Context,
    config: &crate::store::config::ConfigStore,
    secrets: &crate::store::SecretStore,
    collected: &wizard::Collected,
    storage: SecretStorage,
) {
    let where_secret = match storage {
        SecretStorage::Keyring => format!(
            "OS keyring (service \"{}\", account \"{}\")",
            crate::store::keyring::SERVICE,
            collected.profile
        ),
        SecretStorage::File => format!(
            "stored in plain text file {}",
            secrets.secret_file(&collected.profile).display()
        ),
    };
    ctx.ui.success(&format!(
        "Saved profile {:?}{}.\n  Environment:   {}{}\n  Client Secret: {where_secret}\n  Other values:  {}",
        collected.profile,
        if collected.verified {
            ""
        } else {
            " (unverified)"
        },
        collected.environment,
        if collected.environment_found {
            " (found out from the credentials)"
        } else {
            ""
        },
        config.path().display()
    ));
    if storage == SecretStorage::File {
        ctx.ui
            .warn("the Client Secret is stored in plain text file (you chose --storage file).");
    }
}

/// The error for a failed verification: its exit status, its first problem, and that nothing was saved.
pub(crate) fn verification_error(verification: &crate::verify::Verification) -> Error {
    Error::NotVerified {
        status: verification.status,
        problem: verification
            .first_problem()
            .map(|s| s.message.clone())
            .unwrap_or_else(|| "verification failed".into()),
    }
}

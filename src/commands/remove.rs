//! `st-setup remove`: delete a profile (or every profile `--match` selects)
//! from the config file, and its Client Secret and cached token from its
//! secret store, all under one config lock.

use std::io::IsTerminal;

use clap::Args;

use crate::batch::ProfileFilter;
use crate::cli::Context;
use crate::error::{Error, ExitStatus, Result, SecretLeft};
use crate::invalid_input::InvalidInput;
use crate::not_configured::{NotConfigured, describe_profiles};
use crate::profile::DEFAULT_PROFILE;
use crate::wizard::Prompter;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  st-setup remove --profile old-tenant\n  st-setup remove --profile ci --yes   # no question, for scripts\n  st-setup remove --match 'trial-*' --yes   # every profile the pattern selects"
)]
pub(crate) struct RemoveArgs {
    /// Profile to remove [default: default]
    #[arg(
        long,
        env = "ST_PROFILE",
        hide_env_values = true,
        help_heading = "Credentials"
    )]
    pub(crate) profile: Option<String>,

    #[command(flatten)]
    pub(crate) filter: ProfileFilter,

    /// Do not ask for confirmation (required when not in a terminal)
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

pub(crate) fn exec(args: RemoveArgs, ctx: &Context) -> Result<ExitStatus> {
    let (config_store, config) = ctx.load_config()?;
    let names = select(ctx, &args, &config)?;
    if !args.yes && !confirmed(ctx, &config, &names)? {
        return Ok(ExitStatus::Ok);
    }
    let secrets = ctx.secret_store(&config_store);
    // All under the config lock, so that an `init` of the same profile
    // cannot save a new secret between the two steps and lose it here.
    let lock = config_store.lock()?;
    // A store that cannot be used (a locked or missing keyring) fails here,
    // before anything is removed, rather than after the config entry.
    for name in &names {
        secrets.get_secret_unless_several(config.profiles[name].secret_storage, name)?;
    }
    // The config entries go first: a profile is never left without its secret.
    let removed = config_store.update_locked(&lock, |c| {
        Ok(names
            .iter()
            .filter_map(|name| c.profiles.remove(name).map(|p| (name.clone(), p)))
            .collect::<Vec<_>>())
    })?;
    if removed.is_empty() {
        return Err(NotConfigured::RemovedMeanwhile { profiles: names }.into());
    }
    let mut failures = Vec::new();
    for (name, profile) in &removed {
        let storage = profile.secret_storage;
        match secrets.delete_secret(storage, name) {
            Ok(_) => ctx.ui.success(&format!(
                "Removed profile {name:?} and its Client Secret ({}).",
                storage.describe()
            )),
            Err(cause) => failures.push(SecretLeft {
                profile: name.clone(),
                storage,
                cause,
            }),
        }
        let _ = secrets.delete_cached_token(storage, name);
    }
    drop(lock);
    if failures.is_empty() {
        Ok(ExitStatus::Ok)
    } else {
        Err(Error::SecretsLeft { left: failures })
    }
}

/// The profiles to remove: those `--match` selects, else the one named.
fn select(
    ctx: &Context,
    args: &RemoveArgs,
    config: &crate::store::config::Config,
) -> Result<Vec<String>> {
    Ok(match args.filter.pattern()? {
        Some(pattern) => {
            // ST_PROFILE from CI's environment is ignored here; a --profile flag is not.
            if ctx.source_of("profile", "ST_PROFILE") == crate::resolve::Source::Flag {
                return Err(InvalidInput::BothGiven {
                    first: "--profile",
                    second: "--match",
                    what: "say which profiles to remove",
                }
                .into());
            }
            let names: Vec<String> = config
                .profiles
                .keys()
                .filter(|name| pattern.matches(name))
                .cloned()
                .collect();
            if names.is_empty() {
                return Err(NotConfigured::NothingMatches {
                    pattern: crate::printable::field(pattern.as_str(), 100),
                }
                .into());
            }
            names
        }
        None => {
            let name = args
                .profile
                .clone()
                .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
            crate::profile::check_profile_option(&name)?;
            if !config.profiles.contains_key(&name) {
                return Err(NotConfigured::NothingToRemove { profile: name }.into());
            }
            vec![name]
        }
    })
}

/// Whether the user confirms removing `names` (in a terminal; refused
/// without one).
fn confirmed(
    ctx: &Context,
    config: &crate::store::config::Config,
    names: &[String],
) -> Result<bool> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(InvalidInput::Unconfirmed {
            profiles: names.to_vec(),
        }
        .into());
    }
    let question = match names {
        [name] => {
            let profile = &config.profiles[name];
            format!(
                "Remove profile {name:?} (tenant {}, {}) and its Client Secret?",
                crate::printable::field(&profile.tenant_id, 40),
                profile.environment
            )
        }
        _ => format!(
            "Remove {} and their Client Secrets?",
            describe_profiles(names)
        ),
    };
    if !Prompter::new(ctx.ui).confirm(&question, false)? {
        ctx.ui.info("Nothing was removed.");
        return Ok(false);
    }
    Ok(true)
}

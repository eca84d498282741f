//! `st-setup remove`: delete a profile from the config file and its Client
//! Secret and cached token from its secret store.

use std::io::IsTerminal;

use clap::Args;

use crate::cli::Context;
use crate::error::{Error, ExitStatus, Result};
use crate::profile::{DEFAULT_PROFILE, check_name};
use crate::store::SecretStorage;
use crate::wizard::Prompter;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  st-setup remove --profile old-tenant\n  st-setup remove --profile ci --yes   # no question, for scripts"
)]
pub struct RemoveArgs {
    /// Profile to remove [default: default]
    #[arg(
        long,
        env = "ST_PROFILE",
        hide_env_values = true,
        help_heading = "Credentials"
    )]
    pub profile: Option<String>,

    /// Do not ask for confirmation (required when not in a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn exec(args: RemoveArgs, ctx: &Context) -> Result<ExitStatus> {
    let name = args.profile.unwrap_or_else(|| DEFAULT_PROFILE.to_string());
    check_name(&name).map_err(|e| Error::Usage(format!("--profile / ST_PROFILE: {e}.")))?;
    let (config_store, config) = ctx.load_config()?;
    let Some(profile) = config.profiles.get(&name) else {
        return Err(Error::NotConfigured(format!(
            "profile {name:?} is not configured, so there is nothing to remove. `st-setup list` shows the profiles."
        )));
    };
    if !args.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(Error::Usage(format!(
                "refusing to remove profile {name:?} without confirmation: pass --yes when running without a terminal."
            )));
        }
        let question = format!(
            "Remove profile {name:?} (tenant {}, {}) and its Client Secret?",
            profile.tenant_id, profile.environment
        );
        if !Prompter::new(ctx.ui).confirm(&question, false)? {
            ctx.ui.info("Nothing was removed.");
            return Ok(ExitStatus::Ok);
        }
    }
    let secrets = ctx.secret_store(&config_store);
    // All under the config lock, so that an `init` of the same profile
    // cannot save a new secret between the two steps and lose it here.
    let lock = config_store.lock()?;
    // A store that cannot be used (a locked or missing keyring) fails here,
    // before anything is removed, rather than after the config entry.
    secrets.get_secret_unless_several(profile.secret_storage, &name)?;
    // The config entry goes first: a profile is never left without its secret.
    let removed = config_store.update_locked(&lock, |c| Ok(c.profiles.remove(&name)))?;
    let Some(removed) = removed else {
        return Err(Error::NotConfigured(format!(
            "profile {name:?} was removed by another st-setup run meanwhile."
        )));
    };
    let storage = removed.secret_storage;
    let removed_secret = secrets.delete_secret(storage, &name);
    let _ = secrets.delete_cached_token(storage, &name);
    drop(lock);
    match removed_secret {
        Ok(_) => {
            ctx.ui.success(&format!(
                "Removed profile {name:?} and its Client Secret ({}).",
                storage.describe()
            ));
            Ok(ExitStatus::Ok)
        }
        Err(err) => Err(Error::Store(format!(
            "profile {name:?} was removed from the config file, but its Client Secret could not be \
             deleted: {err}\n{}",
            match storage {
                SecretStorage::Keyring => format!(
                    "Delete it by hand once the keyring works: secret-tool clear service st-setup username {name}"
                ),
                SecretStorage::File => "Delete the file by hand.".to_string(),
            }
        ))),
    }
}

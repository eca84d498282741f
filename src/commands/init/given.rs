//! The values `init` is given rather than asked for: flags, environment
//! variables, `--client-secret-stdin`, `--app-key-from`; and `init` without a
//! terminal, which takes every value from those or the stored profile.

use std::io::BufRead;

use super::{InitArgs, verification_error};
use crate::cli::Context;
use crate::credentials::{ClientSecret, Credentials, Field};
use crate::environment::{Environment, EnvironmentChoice};
use crate::error::{Error, Result};
use crate::invalid_input::{InvalidInput, MissingInput};
use crate::not_configured::NotConfigured;
use crate::profile::DEFAULT_PROFILE;
use crate::resolve::{secret_from_env, validate_given};
use crate::store::config::Profile;
use crate::wizard::{self, Given};

/// `--app-key-from PROFILE`: the App Key (and, unless given, the
/// environment) of a stored profile, for another tenant of the same app.
pub(super) fn take_app_key_from(
    ctx: &Context,
    name: &str,
    config: &crate::store::config::Config,
    given: &mut Given,
) -> Result<()> {
    crate::profile::check_app_key_from(name)?;
    if ctx.source_of("app_key", "ST_APP_KEY") == crate::resolve::Source::Flag {
        return Err(InvalidInput::BothGiven {
            first: "--app-key",
            second: "--app-key-from",
            what: "name the App Key",
        }
        .into());
    }
    let from = config
        .profiles
        .get(name)
        .ok_or_else(|| NotConfigured::AppKeyFrom {
            profile: name.to_string(),
        })?;
    given.app_key = Some(from.app_key.clone());
    if given.environment.is_none() {
        given.environment = Some(match from.environment {
            Environment::Production => EnvironmentChoice::Production,
            Environment::Integration => EnvironmentChoice::Integration,
        });
    }
    Ok(())
}

/// Read and validate every value given by flag, environment or stdin.
pub(super) fn given_values(args: &InitArgs) -> Result<Given> {
    let v = &args.values;
    if let Some(p) = &v.profile {
        crate::profile::check_profile_option(p)?;
    }
    let field = |field: Field, value: &Option<String>| -> Result<Option<String>> {
        value
            .as_deref()
            .map(|raw| validate_given(field, raw))
            .transpose()
    };
    let client_secret = if args.client_secret_stdin {
        Some(read_secret_from_stdin()?)
    } else {
        secret_from_env()?
    };
    Ok(Given {
        profile: v.profile.clone(),
        environment: v.environment,
        tenant_id: field(Field::TenantId, &v.tenant_id)?,
        app_key: field(Field::AppKey, &v.app_key)?,
        client_id: field(Field::ClientId, &v.client_id)?,
        client_secret,
    })
}

fn read_secret_from_stdin() -> Result<ClientSecret> {
    let mut line = zeroize::Zeroizing::new(String::new());
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| InvalidInput::SecretStdinUnreadable { source })?;
    if read == 0 {
        return Err(MissingInput::SecretStdinClosed.into());
    }
    if line.trim().is_empty() {
        return Err(MissingInput::SecretStdinEmpty.into());
    }
    Ok(ClientSecret::new(validate_given(
        Field::ClientSecret,
        &line,
    )?))
}

/// `init` without a terminal: every value from flags, variables or the
/// stored profile (`read_secret` reads its secret), then one verification
/// unless `verify` is `None` (`--no-verify`).
pub(super) fn collect_without_prompts(
    given: &Given,
    config: &crate::store::config::Config,
    read_secret: &dyn Fn(&str) -> Result<Option<ClientSecret>>,
    ui: crate::ui::Ui,
    verify: Option<wizard::VerifyFn<'_>>,
) -> Result<wizard::Collected> {
    let profile = given
        .profile
        .clone()
        .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
    let stored = config.profiles.get(&profile);
    // `None`: --environment auto, found out by the verification.
    let environment: Option<Environment> = match given.environment {
        Some(choice) => choice.known(),
        None => Some(stored.map_or(Environment::Production, |p| p.environment)),
    };
    let credentials = given_or_stored(given, stored, || read_secret(&profile))?;
    let Some(verify) = verify else {
        let Some(environment) = environment else {
            return Err(Error::from(InvalidInput::AutoWithoutVerify));
        };
        ui.warn("verification skipped (--no-verify): these values have not been checked with ServiceTitan.");
        return Ok(wizard::Collected {
            profile,
            environment,
            environment_found: false,
            credentials,
            verified: false,
        });
    };
    let verification = verify(&profile, environment, &credentials)?;
    wizard::print_verification(ui, &verification);
    if !verification.passed() {
        return Err(verification_error(&verification));
    }
    Ok(wizard::Collected {
        profile,
        environment: verification.environment,
        environment_found: environment.is_none(),
        credentials,
        verified: true,
    })
}

/// Each credential as given, else as stored (the secret read only when it
/// was not given); all that are missing listed at once.
fn given_or_stored(
    given: &Given,
    stored: Option<&Profile>,
    read_secret: impl FnOnce() -> Result<Option<ClientSecret>>,
) -> Result<Credentials> {
    let pick = |given: &Option<String>, stored: Option<&String>| given.clone().or(stored.cloned());
    let tenant_id = pick(&given.tenant_id, stored.map(|p| &p.tenant_id));
    let app_key = pick(&given.app_key, stored.map(|p| &p.app_key));
    let client_id = pick(&given.client_id, stored.map(|p| &p.client_id));
    let client_secret = match &given.client_secret {
        Some(s) => Some(s.clone()),
        None if stored.is_some() => read_secret()?,
        None => None,
    };
    let missing: Vec<Field> = [
        (Field::TenantId, tenant_id.is_none()),
        (Field::AppKey, app_key.is_none()),
        (Field::ClientId, client_id.is_none()),
        (Field::ClientSecret, client_secret.is_none()),
    ]
    .into_iter()
    .filter_map(|(f, missing)| missing.then_some(f))
    .collect();
    if !missing.is_empty() {
        return Err(MissingInput::Credentials { fields: missing }.into());
    }
    Ok(Credentials {
        tenant_id: tenant_id.unwrap_or_default(),
        app_key: app_key.unwrap_or_default(),
        client_id: client_id.unwrap_or_default(),
        client_secret: client_secret.expect("checked above"),
    })
}

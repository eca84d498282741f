//! Which values a command uses and where each came from: a flag, an
//! environment variable, the config file, the keyring or the secret file.
//!
//! Precedence is flag, then environment variable, then the stored profile, as
//! in `aws configure list`. Credentials given entirely by flags and variables
//! need no stored profile at all (CI).

use std::fmt;

use clap::parser::ValueSource;

use crate::cli::Context;
use crate::cli::CredentialArgs;
use crate::credentials::{self, ClientSecret, Credentials, Field};
use crate::environment::{Environment, EnvironmentChoice};
use crate::error::{Error, Result};
use crate::invalid_input::InvalidInput;
use crate::not_configured::NotConfigured;
use crate::profile::DEFAULT_PROFILE;
use crate::store::config::{Config, Profile};
use crate::store::{SecretStorage, SecretStore};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Flag,
    Env(&'static str),
    Config,
    /// The Client Secret, from the profile's store.
    Stored(SecretStorage),
    Default,
    Missing,
}

impl Source {
    /// The short name used in JSON.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env(_) => "env",
            Source::Config => "config",
            Source::Stored(storage) => storage.name(),
            Source::Default => "default",
            Source::Missing => "missing",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(name) => write!(f, "env {name}"),
            Source::Config => f.write_str("config file"),
            Source::Stored(storage) => f.write_str(storage.describe()),
            Source::Default => f.write_str("default"),
            Source::Missing => f.write_str("missing"),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Sourced<T> {
    pub(crate) value: T,
    pub(crate) source: Source,
}

/// A profile's values as a command will use them (the secret is loaded separately).
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) profile: Sourced<String>,
    /// The stored profile, when there is one.
    pub(crate) stored: Option<Profile>,
    pub(crate) environment: Sourced<Environment>,
    pub(crate) tenant_id: Sourced<String>,
    pub(crate) app_key: Sourced<String>,
    pub(crate) client_id: Sourced<String>,
    pub(crate) storage: SecretStorage,
}

impl Resolved {
    /// Resolve `args` against `config`. Fails with exit 7 when the profile
    /// does not exist and the flags/variables do not supply every value.
    pub(crate) fn resolve(
        ctx: &Context,
        args: &CredentialArgs,
        config: &Config,
    ) -> Result<Resolved> {
        let profile = profile_of(ctx, args)?;
        let stored = config.profiles.get(&profile.value).cloned();
        let given = GivenValues::read(ctx, args)?;
        let (Some(tenant_id), Some(app_key), Some(client_id)) = (
            given
                .tenant_id
                .or_else(|| from_config(&stored, |p| &p.tenant_id)),
            given
                .app_key
                .or_else(|| from_config(&stored, |p| &p.app_key)),
            given
                .client_id
                .or_else(|| from_config(&stored, |p| &p.client_id)),
        ) else {
            return Err(not_configured(&profile.value, config));
        };
        let environment = environment_of(ctx, args, stored.as_ref());
        let storage = stored
            .as_ref()
            .map_or(SecretStorage::Keyring, |p| p.secret_storage);
        Ok(Resolved {
            profile,
            stored,
            environment,
            tenant_id,
            app_key,
            client_id,
            storage,
        })
    }

    /// The Client Secret: `ST_CLIENT_SECRET` first, else the profile's store.
    /// `Ok(None)` when the store has no secret for a stored profile.
    pub(crate) fn load_secret(
        &self,
        secrets: &SecretStore,
    ) -> Result<Sourced<Option<ClientSecret>>> {
        if let Some(secret) = secret_from_env()? {
            return Ok(Sourced {
                value: Some(secret),
                source: Source::Env("ST_CLIENT_SECRET"),
            });
        }
        if self.stored.is_none() {
            return Err(NotConfigured::SecretNotGiven {
                profile: self.profile.value.clone(),
            }
            .into());
        }
        let value = secrets.get_secret(self.storage, &self.profile.value)?;
        let source = match (&value, self.storage) {
            (None, _) => Source::Missing,
            (Some(_), storage) => Source::Stored(storage),
        };
        Ok(Sourced { value, source })
    }

    /// The secret, or exit 7 naming the store it is missing from and the repair.
    pub(crate) fn require_secret(&self, secrets: &SecretStore) -> Result<ClientSecret> {
        self.load_secret(secrets)?
            .value
            .ok_or_else(|| missing_secret(&self.profile.value, self.storage))
    }

    pub(crate) fn credentials(&self, client_secret: ClientSecret) -> Credentials {
        Credentials {
            tenant_id: self.tenant_id.value.clone(),
            app_key: self.app_key.value.clone(),
            client_id: self.client_id.value.clone(),
            client_secret,
        }
    }

    /// True when nothing stored is involved (credentials only from flags/variables).
    pub(crate) fn is_ephemeral(&self) -> bool {
        self.stored.is_none()
    }
}

/// The profile named by `--profile` / `ST_PROFILE`, else the default one.
fn profile_of(ctx: &Context, args: &CredentialArgs) -> Result<Sourced<String>> {
    Ok(match &args.profile {
        Some(name) => {
            crate::profile::check_profile_option(name)?;
            Sourced {
                value: name.clone(),
                source: ctx.source_of("profile", "ST_PROFILE"),
            }
        }
        None => Sourced {
            value: DEFAULT_PROFILE.to_string(),
            source: Source::Default,
        },
    })
}

/// The values given by flags or variables, each checked.
struct GivenValues {
    tenant_id: Option<Sourced<String>>,
    app_key: Option<Sourced<String>>,
    client_id: Option<Sourced<String>>,
}

impl GivenValues {
    fn read(ctx: &Context, args: &CredentialArgs) -> Result<GivenValues> {
        let given = |id: &str, var: &'static str, field: Field, value: &Option<String>| {
            value
                .as_deref()
                .map(|raw| {
                    validate_given(field, raw).map(|v| Sourced {
                        value: v,
                        source: ctx.source_of(id, var),
                    })
                })
                .transpose()
        };
        Ok(GivenValues {
            tenant_id: given(
                "tenant_id",
                "ST_TENANT_ID",
                Field::TenantId,
                &args.tenant_id,
            )?,
            app_key: given("app_key", "ST_APP_KEY", Field::AppKey, &args.app_key)?,
            client_id: given(
                "client_id",
                "ST_CLIENT_ID",
                Field::ClientId,
                &args.client_id,
            )?,
        })
    }
}

/// A value of the stored profile, when there is one.
fn from_config(stored: &Option<Profile>, pick: fn(&Profile) -> &String) -> Option<Sourced<String>> {
    stored.as_ref().map(|p| Sourced {
        value: pick(p).clone(),
        source: Source::Config,
    })
}

/// The environment given, else the stored profile's, else production.
/// `auto` is init's: here it leaves the profile's environment in place.
fn environment_of(
    ctx: &Context,
    args: &CredentialArgs,
    stored: Option<&Profile>,
) -> Sourced<Environment> {
    match args.environment.and_then(EnvironmentChoice::known) {
        Some(e) => Sourced {
            value: e,
            source: ctx.source_of("environment", "ST_ENVIRONMENT"),
        },
        None => match stored {
            Some(p) => Sourced {
                value: p.environment,
                source: Source::Config,
            },
            None => Sourced {
                value: Environment::Production,
                source: Source::Default,
            },
        },
    }
}

/// The error for a profile whose secret has disappeared from its store.
pub(crate) fn missing_secret(profile: &str, storage: SecretStorage) -> Error {
    NotConfigured::SecretMissing {
        profile: profile.to_string(),
        storage,
    }
    .into()
}

fn not_configured(profile: &str, config: &Config) -> Error {
    Error::ProfileNotConfigured {
        profile: profile.to_string(),
        known: config
            .profiles
            .keys()
            .map(|name| crate::printable::field(name, 64))
            .collect(),
    }
}

/// `ST_CLIENT_SECRET`, checked like a typed secret.
pub(crate) fn secret_from_env() -> Result<Option<ClientSecret>> {
    match std::env::var("ST_CLIENT_SECRET") {
        Ok(raw) => Ok(Some(ClientSecret::new(validate_given(
            Field::ClientSecret,
            &raw,
        )?))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(InvalidInput::SecretNotUnicode.into()),
    }
}

/// Check a value given without a prompt: hard problems and swapped pastes are
/// errors (nobody is there to confirm); an unusual shape is only a warning.
pub(crate) fn validate_given(field: Field, raw: &str) -> Result<String> {
    let checked = credentials::check(field, raw)
        .map_err(|problem| InvalidInput::Credential { field, problem })?;
    if let Some(warning) = checked.warning {
        if checked.looks_swapped {
            return Err(InvalidInput::CredentialSwapped { field, warning }.into());
        }
        crate::ui::Ui::plain().warn(&format!("{field}: {warning}"));
    }
    Ok(checked.value)
}

/// Where a flag-or-variable value came from, per clap.
pub(crate) fn source_from(value_source: Option<ValueSource>, var: &'static str) -> Source {
    match value_source {
        Some(ValueSource::EnvVariable) => Source::Env(var),
        Some(ValueSource::CommandLine) => Source::Flag,
        _ => Source::Default,
    }
}

//! [`Context`]: what every command gets from the command line (the output
//! settings, the shared options, where each value came from) and the ways to
//! reach the config, the secret store and ServiceTitan built from them.

use std::time::Duration;

use super::GlobalArgs;
use crate::environment::{Endpoints, Environment, UrlOrigin, UrlOverride};
use crate::error::{Error, Result};
use crate::servicetitan::http::{HttpSettings, Transport};
use crate::store::SecretStore;
use crate::store::config::{Config, ConfigStore, Profile};
use crate::ui::Ui;

/// The first override of one URL: given for the environment in use
/// (`given_name`: ST_AUTH_URL or ST_API_URL), that environment's own
/// variable, the profile's saved URL.
fn first_override<'a>(
    given: Option<&'a str>,
    given_name: &'static str,
    variable: &'a Option<(&'static str, String)>,
    saved: Option<&'a str>,
) -> Option<UrlOverride<'a>> {
    match (given, variable, saved) {
        (Some(raw), _, _) => Some(UrlOverride {
            name: given_name,
            raw,
            origin: UrlOrigin::Given,
        }),
        (None, Some((name, raw)), _) => Some(UrlOverride {
            name,
            raw: raw.as_str(),
            origin: UrlOrigin::EnvironmentVariable(name),
        }),
        (None, None, Some(raw)) => Some(UrlOverride {
            name: "the profile's saved URL",
            raw,
            origin: UrlOrigin::Profile,
        }),
        (None, None, None) => None,
    }
}

/// What every command gets: the output settings and the shared options.
pub(crate) struct Context {
    pub(crate) ui: Ui,
    pub(crate) global: GlobalArgs,
    /// The subcommand's parsed arguments, to tell a flag from an environment variable.
    command_matches: Option<clap::ArgMatches>,
}

impl Context {
    pub(crate) fn new(global: GlobalArgs, command_matches: Option<clap::ArgMatches>) -> Context {
        let ui = Ui::new(global.color, global.verbose, global.quiet);
        Context {
            ui,
            global,
            command_matches,
        }
    }

    /// Whether the subcommand's argument `id` came from its flag or from `var`.
    pub(crate) fn source_of(&self, id: &str, var: &'static str) -> crate::resolve::Source {
        let value_source = self
            .command_matches
            .as_ref()
            .and_then(|m| m.try_get_raw(id).ok().flatten().and(m.value_source(id)));
        crate::resolve::source_from(value_source, var)
    }

    pub(crate) fn config_store(&self) -> Result<ConfigStore> {
        // A run waits for another's config lock as long as for the keyring:
        // both are "the store did not answer".
        ConfigStore::locate(
            self.global.config_dir.as_deref(),
            self.global.keyring_timeout,
        )
    }

    pub(crate) fn secret_store(&self, config: &ConfigStore) -> SecretStore {
        SecretStore::new(config.dir(), self.global.keyring_timeout)
    }

    /// The per-environment override variable `var`, when set and not empty.
    fn environment_variable(var: &'static str) -> Option<(&'static str, String)> {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (var, v))
    }

    /// The overrides in effect for `environment` (what `init` saves with a
    /// profile): `--auth-url` / `ST_AUTH_URL` first, then
    /// `ST_<ENVIRONMENT>_AUTH_URL`; the same for the API base.
    pub(crate) fn endpoint_overrides(
        &self,
        environment: Environment,
    ) -> (Option<String>, Option<String>) {
        let pick = |given: &Option<String>, var: &'static str| {
            given
                .clone()
                .or_else(|| Self::environment_variable(var).map(|(_, v)| v))
        };
        (
            pick(&self.global.auth_url, environment.auth_url_var()),
            pick(&self.global.api_url, environment.api_url_var()),
        )
    }

    /// Refuse bad override URLs before any request is made.
    pub(crate) fn check_endpoint_overrides(&self) -> Result<()> {
        if let Some(url) = &self.global.auth_url {
            crate::environment::parse_endpoint("ST_AUTH_URL", url)?;
        }
        if let Some(url) = &self.global.api_url {
            crate::environment::parse_endpoint("ST_API_URL", url)?;
        }
        for environment in [Environment::Production, Environment::Integration] {
            for var in [environment.auth_url_var(), environment.api_url_var()] {
                if let Some((name, url)) = Self::environment_variable(var) {
                    crate::environment::parse_endpoint(name, &url)?;
                }
            }
        }
        Ok(())
    }

    /// The URLs for `environment`, each from the first of: `--auth-url` /
    /// `ST_AUTH_URL`, `ST_<ENVIRONMENT>_AUTH_URL`, the profile's saved
    /// override, ServiceTitan's own (the same for the API base).
    pub(crate) fn endpoints(
        &self,
        environment: Environment,
        profile: Option<&Profile>,
    ) -> Result<Endpoints> {
        let auth_var = Self::environment_variable(environment.auth_url_var());
        let api_var = Self::environment_variable(environment.api_url_var());
        Endpoints::resolve(
            environment,
            first_override(
                self.global.auth_url.as_deref(),
                "ST_AUTH_URL",
                &auth_var,
                profile.and_then(|p| p.auth_url.as_deref()),
            ),
            first_override(
                self.global.api_url.as_deref(),
                "ST_API_URL",
                &api_var,
                profile.and_then(|p| p.api_url.as_deref()),
            ),
        )
    }

    /// The other environment's URLs, for the one token request that tells
    /// whether refused credentials belong there. Only ServiceTitan's own URL
    /// or that environment's `ST_<ENVIRONMENT>_AUTH_URL` is ever asked: when
    /// `selected`'s token URL is overridden and the other's is not, a sandbox
    /// or a test is in use, and nothing may go to ServiceTitan (`Err` says why).
    pub(crate) fn other_endpoints(
        &self,
        selected: &Endpoints,
        environment: Environment,
    ) -> std::result::Result<Endpoints, String> {
        let other = environment.other();
        let other_auth = Self::environment_variable(other.auth_url_var());
        let other_api = Self::environment_variable(other.api_url_var());
        if selected.token_origin != UrlOrigin::BuiltIn && other_auth.is_none() {
            let why = match selected.token_origin {
                UrlOrigin::Given => "ST_AUTH_URL / --auth-url is set".to_string(),
                UrlOrigin::EnvironmentVariable(name) => format!("{name} is set"),
                _ => "the profile has a saved token URL".to_string(),
            };
            return Err(format!(
                "not asking the {other} environment whether these credentials belong there: {why} \
                 and {} is not, so st-setup sends nothing to ServiceTitan's own {other} token endpoint",
                other.auth_url_var()
            ));
        }
        Endpoints::resolve(
            other,
            first_override(None, "", &other_auth, None),
            first_override(None, "", &other_api, None),
        )
        .map_err(|e| e.to_string())
    }

    /// A single-threaded runtime: every network wait is I/O, one thread is enough.
    pub(crate) fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Local {
                action: "start the async runtime",
                source,
            })
    }

    pub(crate) fn transport(&self) -> Result<Transport> {
        Transport::new(
            HttpSettings {
                timeout: self.global.timeout,
                connect_timeout: self.global.timeout.min(Duration::from_secs(10)),
                ca_bundle: self.global.ca_bundle.clone(),
            },
            self.ui,
        )
    }

    /// The config store and its contents; warns when permissions were tightened.
    pub(crate) fn load_config(&self) -> Result<(ConfigStore, Config)> {
        let store = self.config_store()?;
        let (config, warning) = store.load()?;
        if let Some(w) = warning {
            self.ui.warn(&w);
        }
        Ok((store, config))
    }
}

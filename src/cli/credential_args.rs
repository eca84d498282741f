//! The four non-secret values and the profile, as options every credential
//! command (`init`, `check`, `token`, `exec`, `show`, `export`) accepts, each
//! with its environment variable.

use clap::Args;

use crate::environment::EnvironmentChoice;

/// The non-secret values, shared with `check` and `token`, which accept them too.
#[derive(Args, Debug, Default, Clone)]
pub(crate) struct CredentialArgs {
    /// Profile name [default: default]
    #[arg(
        long,
        env = "ST_PROFILE",
        hide_env_values = true,
        help_heading = "Credentials"
    )]
    pub(crate) profile: Option<String>,

    /// ServiceTitan environment the Client ID / Secret belong to (auto: init finds out)
    #[arg(
        long,
        env = "ST_ENVIRONMENT",
        value_enum,
        hide_env_values = true,
        help_heading = "Credentials"
    )]
    pub(crate) environment: Option<EnvironmentChoice>,

    /// Tenant ID (digits, from API Application Access in the tenant)
    #[arg(
        long = "tenant",
        value_name = "ID",
        env = "ST_TENANT_ID",
        hide_env_values = true,
        help_heading = "Credentials"
    )]
    pub(crate) tenant_id: Option<String>,

    /// Application Key (ak1..., from the Developer Portal)
    #[arg(
        long,
        value_name = "KEY",
        env = "ST_APP_KEY",
        hide_env_values = true,
        help_heading = "Credentials"
    )]
    pub(crate) app_key: Option<String>,

    /// Client ID (cid..., from the tenant's API Application Access page)
    #[arg(
        long,
        value_name = "ID",
        env = "ST_CLIENT_ID",
        hide_env_values = true,
        help_heading = "Credentials"
    )]
    pub(crate) client_id: Option<String>,
}

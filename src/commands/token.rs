//! `st-setup token`: print a valid access token and nothing else, for
//! `curl -H "Authorization: Bearer $(st-setup token)"`.
//!
//! ServiceTitan throttles token requests and tokens live 900 s, so a token is
//! cached in the profile's secret store (an entry separate from the Client
//! Secret) and reused until 60 s before it expires.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::cli::Context;
use crate::commands::init::CredentialArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::resolve::Resolved;
use crate::servicetitan::{ServiceTitan, TokenOutcome};
use crate::store::SecretStore;
use crate::verify::{rejection_message, server_said};

/// A cached token is reused only while it has more than this many seconds left.
const MIN_REMAINING_SECS: u64 = 60;

const AFTER_HELP: &str = "\
Examples:
  eval \"$(st-setup export)\"   # ST_APP_KEY and ST_TENANT_ID for the curl below
  curl -H \"Authorization: Bearer $(st-setup token)\" -H \"ST-App-Key: $ST_APP_KEY\" \\
       \"https://api.servicetitan.io/settings/v2/tenant/$ST_TENANT_ID/business-units\"
  st-setup token --profile acme --fresh   # ignore the cache, ask for a new token";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct TokenArgs {
    #[command(flatten)]
    pub values: CredentialArgs,

    /// Always request a new token instead of reusing the cached one
    #[arg(long)]
    pub fresh: bool,
}

pub fn exec(args: TokenArgs, ctx: &Context) -> Result<ExitStatus> {
    ctx.check_endpoint_overrides()?;
    let (config_store, config) = ctx.load_config()?;
    let secrets = ctx.secret_store(&config_store);
    let resolved = Resolved::resolve(ctx, &args.values, &config)?;
    let token = access_token(ctx, &resolved, &secrets, args.fresh)?;
    // Two writes, so that no unzeroed copy of the token is made.
    crate::ui::write_stdout(token.expose_secret().as_bytes())?;
    crate::ui::write_stdout(b"\n")?;
    Ok(ExitStatus::Ok)
}

/// A token for `resolved`: the cached one while it is fresh, else a new one
/// (which is then cached for stored profiles).
pub fn access_token(
    ctx: &Context,
    resolved: &Resolved,
    secrets: &SecretStore,
    fresh: bool,
) -> Result<SecretString> {
    let profile = &resolved.profile.value;
    let endpoints = ctx.endpoints(resolved.environment.value, resolved.stored.as_ref())?;
    // A token is reused only for the same credentials from the same server.
    let cache_key = format!(
        "{}:{}:{}",
        resolved.environment.value, resolved.client_id.value, endpoints.token_url
    );
    let cacheable = !resolved.is_ephemeral();
    if cacheable && !fresh {
        match secrets.get_cached_token(resolved.storage, profile) {
            Ok(Some(cached))
                if cached.key == cache_key
                    && crate::servicetitan::is_well_formed_token(cached.token.expose_secret())
                    && cached.expires_at > now().saturating_add(MIN_REMAINING_SECS) =>
            {
                ctx.ui.verbose_line(&format!(
                    "using the cached token ({} s left)",
                    cached.expires_at.saturating_sub(now())
                ));
                return Ok(cached.token);
            }
            Ok(_) => {}
            Err(err) => ctx
                .ui
                .warn(&format!("could not read the token cache: {err}")),
        }
    }
    // Only the token host: `token` and `exec` make no API call.
    let runtime = ctx.runtime()?;
    let (secret, transport) = ctx.with_connections_ready(&runtime, &[&endpoints.token_url], || {
        resolved.require_secret(secrets)
    });
    let credentials = resolved.credentials(secret?);
    let client = ServiceTitan::new(transport?, endpoints);
    let outcome = runtime
        .block_on(client.request_token(&credentials.client_id, &credentials.client_secret))?;
    match outcome {
        TokenOutcome::Issued(token) => {
            let expires_at = now().saturating_add(token.expires_in.as_secs());
            if cacheable
                && let Err(err) = secrets.set_cached_token(
                    resolved.storage,
                    profile,
                    &cache_key,
                    token.expose(),
                    expires_at,
                )
            {
                ctx.ui
                    .warn(&format!("the token works but could not be cached: {err}"));
            }
            Ok(SecretString::from(token.expose().to_string()))
        }
        TokenOutcome::Rejected {
            status,
            error,
            description,
        } => Err(Error::CredentialsRejected(format!(
            "{}\nRun `st-setup check` for details, or `st-setup init --profile {profile}` to enter new values.",
            rejection_message(
                resolved.environment.value,
                status,
                &server_said(error, description)
            )
        ))),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

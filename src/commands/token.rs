//! `st-setup token`: print a valid access token and nothing else, for
//! `curl -H "Authorization: Bearer $(st-setup token)"`.
//!
//! ServiceTitan throttles token requests and tokens live 900 s, so a token is
//! cached in the profile's secret store (an entry separate from the Client
//! Secret) and reused until 60 s before it expires, only with the token URL,
//! Client ID and Client Secret it was issued for (see `store::token_cache`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::cli::Context;
use crate::cli::CredentialArgs;
use crate::credentials::ClientSecret;
use crate::environment::Endpoints;
use crate::error::{Error, ExitStatus, Result};
use crate::resolve::Resolved;
use crate::servicetitan::http::Transport;
use crate::servicetitan::{ServiceTitan, TokenOutcome};
use crate::store::SecretStore;
use crate::store::token_cache::{self, Binding};
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
pub(crate) struct TokenArgs {
    #[command(flatten)]
    pub(crate) values: CredentialArgs,

    /// Always request a new token instead of reusing the cached one
    #[arg(long)]
    pub(crate) fresh: bool,
}

pub(crate) fn exec(args: TokenArgs, ctx: &Context) -> Result<ExitStatus> {
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

/// A token for `resolved`: the cached one while it is fresh and was cached
/// for these credentials, else a new one (which is then cached for stored
/// profiles).
///
/// The Client Secret is always read (`ST_CLIENT_SECRET`, else the store): a
/// cached token is bound to it and is never served without it. The secret
/// and the cache entry are read at the same time; when there is no usable
/// entry, HTTPS is set up and the token host connected (never the API host:
/// `token` and `exec` make no API call) while the secret is still being read.
pub(crate) fn access_token(
    ctx: &Context,
    resolved: &Resolved,
    secrets: &SecretStore,
    fresh: bool,
) -> Result<SecretString> {
    let endpoints = ctx.endpoints(resolved.environment.value, resolved.stored.as_ref())?;
    let run = TokenRun {
        ctx,
        resolved,
        secrets,
        token_url: endpoints.token_url.to_string(),
        cacheable: !resolved.is_ephemeral(),
        runtime: ctx.runtime()?,
    };
    let reads = run.read_secret_and_cache(&endpoints, fresh);
    let secret = reads.secret?;
    let binding = Binding {
        token_url: &run.token_url,
        client_id: &resolved.client_id.value,
        client_secret: &secret,
    };
    if let Some(token) = usable_cached_token(ctx, &binding, reads.cached) {
        return Ok(token);
    }
    let transport = match reads.transport {
        Some(transport) => transport?,
        None => Arc::new(ctx.transport()?),
    };
    run.request_new_token(ServiceTitan::new(transport, endpoints), secret)
}

/// One token request: the profile, its store and what every step needs.
struct TokenRun<'a> {
    ctx: &'a Context,
    resolved: &'a Resolved,
    secrets: &'a SecretStore,
    /// The token endpoint, as a cached token is bound to it.
    token_url: String,
    /// Whether a token may be kept (stored profiles only).
    cacheable: bool,
    runtime: tokio::runtime::Runtime,
}

/// What is read before the token is chosen: the Client Secret, the cache
/// entry (unless `--fresh` or an ephemeral profile) and, when no entry
/// could serve, HTTPS set up with the token host already connected.
struct FirstReads {
    secret: Result<ClientSecret>,
    cached: Option<Result<Option<zeroize::Zeroizing<String>>>>,
    transport: Option<Result<Arc<Transport>>>,
}

impl TokenRun<'_> {
    /// Read the secret on its own thread while this one reads the cache
    /// entry and, when there is none, sets HTTPS up and connects the token
    /// host, waiting for the secret.
    fn read_secret_and_cache(&self, endpoints: &Endpoints, fresh: bool) -> FirstReads {
        let (ctx, resolved, secrets) = (self.ctx, self.resolved, self.secrets);
        let profile = &resolved.profile.value;
        std::thread::scope(|scope| {
            let (read_tx, read_rx) = tokio::sync::oneshot::channel::<()>();
            let secret = scope.spawn(move || {
                let secret = resolved.require_secret(secrets);
                let _ = read_tx.send(());
                secret
            });
            let raw_entry = (self.cacheable && !fresh)
                .then(|| secrets.cached_token_entry(resolved.storage, profile));
            let may_hit = matches!(&raw_entry, Some(Ok(Some(_))));
            // No entry at all: a request is certain, so set HTTPS up and open the
            // connection to the token host meanwhile (a cached token connects to
            // nothing).
            let transport = (!may_hit).then(|| {
                let transport = ctx.transport().map(Arc::new);
                if let Ok(transport) = &transport {
                    self.runtime.block_on(async {
                        transport.connect_early(&[&endpoints.token_url]).await;
                        let _ = read_rx.await;
                    });
                }
                transport
            });
            let secret = secret.join().unwrap_or_else(|_| {
                Err(Error::Other(
                    "could not read the Client Secret: the thread failed".into(),
                ))
            });
            FirstReads {
                secret,
                cached: raw_entry,
                transport,
            }
        })
    }

    /// Ask the token endpoint for a new token with `secret`; keep it in the
    /// cache when the profile is stored.
    fn request_new_token(
        &self,
        client: ServiceTitan,
        secret: ClientSecret,
    ) -> Result<SecretString> {
        let credentials = self.resolved.credentials(secret);
        let outcome = self
            .runtime
            .block_on(client.request_token(&credentials.client_id, &credentials.client_secret))?;
        match outcome {
            TokenOutcome::Issued(token) => {
                // Never past the token's own expiry, whatever expires_in said.
                let expires_at = token_cache::capped_by_claim(
                    token.expose(),
                    now().saturating_add(token.expires_in.as_secs()),
                );
                if self.cacheable {
                    let binding = Binding {
                        token_url: &self.token_url,
                        client_id: &credentials.client_id,
                        client_secret: &credentials.client_secret,
                    };
                    self.cache_token(&binding, token.expose(), expires_at);
                }
                Ok(SecretString::from(token.expose().to_string()))
            }
            TokenOutcome::Rejected {
                status,
                error,
                description,
            } => Err(Error::CredentialsRejected {
                profile: self.resolved.profile.value.to_string(),
                status,
                problem: rejection_message(
                    self.resolved.environment.value,
                    status,
                    &server_said(error, description),
                ),
            }),
        }
    }

    /// Keep a new token in the profile's cache; a failure is only a warning
    /// (the token works).
    fn cache_token(&self, binding: &Binding, token: &str, expires_at: u64) {
        match self.secrets.set_cached_token(
            self.resolved.storage,
            &self.resolved.profile.value,
            binding,
            token,
            expires_at,
        ) {
            Ok(true) => {}
            Ok(false) => self
                .ctx
                .ui
                .verbose_line("the token has a form that is not cached"),
            Err(err) => self
                .ctx
                .ui
                .warn(&format!("the token works but could not be cached: {err}")),
        }
    }
}

/// The cached token, when there is an entry, it was made for `binding` and
/// has more than [`MIN_REMAINING_SECS`] left; `-v` says why not otherwise.
fn usable_cached_token(
    ctx: &Context,
    binding: &Binding,
    cached: Option<Result<Option<zeroize::Zeroizing<String>>>>,
) -> Option<SecretString> {
    match cached {
        Some(Ok(Some(entry))) => match token_cache::open(binding, &entry) {
            // `open` serves only well-formed tokens made for `binding`.
            Some(cached) if cached.expires_at > now().saturating_add(MIN_REMAINING_SECS) => {
                ctx.ui.verbose_line(&format!(
                    "using the cached token ({} s left)",
                    cached.expires_at.saturating_sub(now())
                ));
                return Some(cached.token);
            }
            Some(_) => ctx.ui.verbose_line("the cached token expires too soon"),
            None => ctx
                .ui
                .verbose_line("the cached token was not made for these credentials"),
        },
        Some(Err(err)) => ctx
            .ui
            .warn(&format!("could not read the token cache: {err}")),
        Some(Ok(None)) | None => {}
    }
    None
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

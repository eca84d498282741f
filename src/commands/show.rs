//! `st-setup show`: one profile's values and where each came from (flag,
//! environment variable, config file, keyring, secret file), like
//! `aws configure list`. The App Key and Client ID are partly masked; the
//! Client Secret is never shown, only whether it is there.

use clap::Args;
use serde::Serialize;

use crate::cli::Context;
use crate::cli::CredentialArgs;
use crate::credentials::mask_identifier;
use crate::error::{Error, ExitStatus, Result};
use crate::printable;
use crate::resolve::{Resolved, Source};
use crate::ui::stdout_line;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  st-setup show\n  ST_TENANT_ID=1234 st-setup show --profile acme   # see the override win"
)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    pub(crate) values: CredentialArgs,

    /// Print one JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Serialize)]
struct Entry {
    value: String,
    source: &'static str,
    #[serde(skip)]
    source_text: String,
}

impl Entry {
    fn new(value: impl Into<String>, source: Source) -> Entry {
        Entry {
            value: value.into(),
            source: source.kind(),
            source_text: source.to_string(),
        }
    }
}

#[derive(Serialize)]
struct Shown {
    profile: Entry,
    environment: Entry,
    tenant_id: Entry,
    app_key: Entry,
    client_id: Entry,
    client_secret: Entry,
    token_url: Entry,
    api_base_url: Entry,
    verified: Option<bool>,
}

pub(crate) fn exec(args: ShowArgs, ctx: &Context) -> Result<ExitStatus> {
    let (config_store, config) = ctx.load_config()?;
    let secrets = ctx.secret_store(&config_store);
    let resolved = Resolved::resolve(ctx, &args.values, &config)?;
    let secret = secret_entry(ctx, &resolved, &secrets);
    let shown = shown(ctx, &resolved, secret)?;
    if args.json {
        let json = serde_json::to_string_pretty(&shown).map_err(Error::Json)?;
        stdout_line(&printable::json(&json))?;
        return Ok(ExitStatus::Ok);
    }
    print_table(&shown)?;
    if shown.verified == Some(false) {
        ctx.ui.warn(
            "this profile was saved without a successful verification: run `st-setup check`.",
        );
    }
    Ok(ExitStatus::Ok)
}

/// The Client Secret's row: whether it is set, never its value.
fn secret_entry(ctx: &Context, resolved: &Resolved, secrets: &crate::store::SecretStore) -> Entry {
    match resolved.load_secret(secrets) {
        Ok(s) if s.value.is_some() => Entry::new("set (never shown)", s.source),
        Ok(_) => Entry::new(
            format!(
                "MISSING: repair with `st-setup init --profile {}`",
                resolved.profile.value
            ),
            Source::Missing,
        ),
        Err(err) => {
            ctx.ui.warn(&err.to_string());
            Entry::new(
                "unknown (the secret store could not be read)",
                Source::Missing,
            )
        }
    }
}

/// Every value with where it came from; identifiers masked.
fn shown(ctx: &Context, resolved: &Resolved, secret: Entry) -> Result<Shown> {
    let url_source = |id: &str, var: &'static str, saved: Option<&String>| {
        let given = ctx.source_of(id, var);
        if given != Source::Default {
            given
        } else if saved.is_some() {
            Source::Config
        } else {
            Source::Default
        }
    };
    let endpoints = ctx.endpoints(resolved.environment.value, resolved.stored.as_ref())?;
    let stored = resolved.stored.as_ref();
    Ok(Shown {
        profile: Entry::new(&resolved.profile.value, resolved.profile.source),
        environment: Entry::new(
            resolved.environment.value.name(),
            resolved.environment.source,
        ),
        tenant_id: Entry::new(&resolved.tenant_id.value, resolved.tenant_id.source),
        app_key: Entry::new(
            mask_identifier(&resolved.app_key.value),
            resolved.app_key.source,
        ),
        client_id: Entry::new(
            mask_identifier(&resolved.client_id.value),
            resolved.client_id.source,
        ),
        client_secret: secret,
        token_url: Entry::new(
            endpoints.token_url.as_str(),
            url_source(
                "auth_url",
                "ST_AUTH_URL",
                stored.and_then(|p| p.auth_url.as_ref()),
            ),
        ),
        api_base_url: Entry::new(
            endpoints.api_base.as_str(),
            url_source(
                "api_url",
                "ST_API_URL",
                stored.and_then(|p| p.api_url.as_ref()),
            ),
        ),
        verified: stored.map(|p| p.verified),
    })
}

/// The values as a NAME / VALUE / SOURCE table.
fn print_table(shown: &Shown) -> Result<()> {
    let rows = [
        ("profile", &shown.profile),
        ("environment", &shown.environment),
        ("tenant_id", &shown.tenant_id),
        ("app_key", &shown.app_key),
        ("client_id", &shown.client_id),
        ("client_secret", &shown.client_secret),
        ("token_url", &shown.token_url),
        ("api_base_url", &shown.api_base_url),
    ];
    // Values come from the config file and the environment: printable, and short.
    let cell = |text: &str| printable::field(text, 200);
    let width = rows
        .iter()
        .map(|(_, e)| cell(&e.value).chars().count())
        .max()
        .unwrap_or(5)
        .min(60);
    stdout_line(&format!("{:<14} {:<width$}  SOURCE", "NAME", "VALUE"))?;
    for (name, entry) in rows {
        stdout_line(&format!(
            "{name:<14} {:<width$}  {}",
            cell(&entry.value),
            entry.source_text
        ))?;
    }
    Ok(())
}

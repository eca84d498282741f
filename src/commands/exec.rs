//! `st-setup exec -- CMD`: run a command with the credentials and a fresh
//! access token in its environment, pass its exit code through, and forward
//! Ctrl-C (SIGINT), SIGTERM and SIGHUP to it.

use std::ffi::OsString;
use std::process::Command;

use clap::Args;
use secrecy::ExposeSecret;

use crate::cli::Context;
use crate::commands::init::CredentialArgs;
use crate::commands::token::access_token;
use crate::error::{ExitStatus, Result};
use crate::resolve::Resolved;

const AFTER_HELP: &str = "\
The command gets ST_TENANT_ID, ST_APP_KEY, ST_CLIENT_ID, ST_ACCESS_TOKEN, ST_API_URL and
ST_ENVIRONMENT (and ST_CLIENT_SECRET only with --with-secret; otherwise it is removed).

Examples:
  st-setup exec -- python sync.py
  st-setup exec --profile acme -- sh -c 'curl -H \"Authorization: Bearer $ST_ACCESS_TOKEN\" \\
      -H \"ST-App-Key: $ST_APP_KEY\" \"$ST_API_URL/settings/v2/tenant/$ST_TENANT_ID/business-units\"'";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct ExecArgs {
    #[command(flatten)]
    pub values: CredentialArgs,

    /// Also pass the Client Secret as ST_CLIENT_SECRET (only if the command needs it)
    #[arg(long)]
    pub with_secret: bool,

    /// Always request a new token instead of reusing the cached one
    #[arg(long)]
    pub fresh: bool,

    /// The command to run, and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

pub fn exec(args: ExecArgs, ctx: &Context) -> Result<ExitStatus> {
    ctx.check_endpoint_overrides()?;
    let (config_store, config) = ctx.load_config()?;
    let secrets = ctx.secret_store(&config_store);
    let resolved = Resolved::resolve(ctx, &args.values, &config)?;
    let token = access_token(ctx, &resolved, &secrets, args.fresh)?;
    let endpoints = ctx.endpoints(resolved.environment.value, resolved.stored.as_ref())?;

    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut command = Command::new(program);
    command
        .args(rest)
        .env("ST_TENANT_ID", &resolved.tenant_id.value)
        .env("ST_APP_KEY", &resolved.app_key.value)
        .env("ST_CLIENT_ID", &resolved.client_id.value)
        .env("ST_ACCESS_TOKEN", token.expose_secret())
        .env(
            "ST_API_URL",
            endpoints.api_base.as_str().trim_end_matches('/'),
        )
        .env("ST_ENVIRONMENT", resolved.environment.value.name());
    if args.with_secret {
        let secret = resolved.require_secret(&secrets)?;
        command.env("ST_CLIENT_SECRET", secret.expose());
    } else {
        command.env_remove("ST_CLIENT_SECRET");
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            let code = if err.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            ctx.ui.error(&format!(
                "could not run {}: {err}",
                program.to_string_lossy()
            ));
            return Ok(ExitStatus::Child(code));
        }
    };
    crate::signals::forward_to_child(child.id());
    let status = child
        .wait()
        .map_err(|e| crate::error::Error::Other(format!("could not wait for the command: {e}")))?;
    Ok(ExitStatus::Child(exit_code(status)))
}

/// The child's exit code, or 128 + signal number when a signal ended it (as shells do).
fn exit_code(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return code as u8;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return (128 + signal) as u8;
        }
    }
    1
}

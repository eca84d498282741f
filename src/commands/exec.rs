//! `st-setup exec -- CMD`: run a command with the credentials and a fresh
//! access token in its environment, and pass its exit code through. On Unix
//! st-setup becomes the command (exec), so Ctrl-C, SIGTERM and SIGHUP reach it
//! exactly once, however they are sent (see [`run`]).

use std::ffi::OsString;
use std::process::Command;

use clap::{Args, ValueEnum};
use secrecy::ExposeSecret;

use crate::cli::Context;
use crate::cli::CredentialArgs;
use crate::commands::token::access_token;
use crate::consumers;
use crate::error::{Error, ExitStatus, Result};
use crate::invalid_input::InvalidInput;
use crate::resolve::Resolved;

const AFTER_HELP: &str = "\
The command gets ST_TENANT_ID, ST_APP_KEY, ST_CLIENT_ID, ST_ACCESS_TOKEN, ST_API_URL and
ST_ENVIRONMENT (and ST_CLIENT_SECRET only with --with-secret; otherwise it is removed).
With --env-style servicepytan it also gets SERVICETITAN_APP_KEY, SERVICETITAN_TENANT_ID,
SERVICETITAN_CLIENT_ID, SERVICETITAN_CLIENT_SECRET and SERVICETITAN_API_ENVIRONMENT, the
names servicepytan reads (it requests its own tokens, so this needs --with-secret).

Examples:
  st-setup exec -- python sync.py
  st-setup exec --env-style servicepytan --with-secret -- python report.py
  st-setup exec --profile acme -- sh -c 'curl -H \"Authorization: Bearer $ST_ACCESS_TOKEN\" \\
      -H \"ST-App-Key: $ST_APP_KEY\" \"$ST_API_URL/settings/v2/tenant/$ST_TENANT_ID/business-units\"'";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    pub(crate) values: CredentialArgs,

    /// Also pass the Client Secret as ST_CLIENT_SECRET (only if the command needs it)
    #[arg(long)]
    pub(crate) with_secret: bool,

    /// Always request a new token instead of reusing the cached one
    #[arg(long)]
    pub(crate) fresh: bool,

    /// Also set the variables another tool reads: servicepytan's SERVICETITAN_*
    #[arg(long, value_enum, value_name = "STYLE", default_value_t = EnvStyle::St)]
    pub(crate) env_style: EnvStyle,

    /// The command to run, and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub(crate) command: Vec<OsString>,
}

/// Which names the command gets the values under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum EnvStyle {
    /// st-setup's own ST_* variables only
    St,
    /// ST_* and servicepytan's SERVICETITAN_* variables
    Servicepytan,
}

pub(crate) fn exec(args: ExecArgs, ctx: &Context) -> Result<ExitStatus> {
    refuse_a_secret_as_the_command(&args.command)?;
    if args.env_style == EnvStyle::Servicepytan && !args.with_secret {
        return Err(Error::from(InvalidInput::ServicepytanNeedsSecret));
    }
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
    let secret = if args.with_secret {
        let secret = resolved.require_secret(&secrets)?;
        command.env("ST_CLIENT_SECRET", secret.expose());
        Some(secret)
    } else {
        command.env_remove("ST_CLIENT_SECRET");
        None
    };
    if args.env_style == EnvStyle::Servicepytan {
        let token_url = endpoints.token_url.to_string();
        let api_base = endpoints.api_base.as_str().trim_end_matches('/');
        let values = consumers::Values {
            environment: resolved.environment.value,
            tenant_id: &resolved.tenant_id.value,
            app_key: &resolved.app_key.value,
            client_id: &resolved.client_id.value,
            token_url: &token_url,
            api_base,
            client_secret: secret.as_ref().map(|s| s.expose()),
        };
        if let Some(warning) = consumers::servicepytan_url_warning(&values) {
            ctx.ui.warn(&warning);
        }
        for (name, value) in consumers::servicepytan_pairs(&values) {
            command.env(name, value.as_str());
        }
    }
    run(ctx, command, program)
}

/// `exec --with-secret cs1.… -- cmd` reads as "the secret to pass", but the
/// flag takes no value, so the secret would become the command to run (and
/// be printed in "could not run …"). Refused without repeating it.
fn refuse_a_secret_as_the_command(command: &[OsString]) -> Result<()> {
    let looks_secret = command
        .first()
        .and_then(|program| program.to_str())
        .is_some_and(|program| {
            crate::credentials::looks_like(crate::credentials::clean_pasted(program))
                == Some(crate::credentials::Field::ClientSecret)
        });
    if looks_secret {
        return Err(Error::from(InvalidInput::CommandLooksLikeSecret));
    }
    Ok(())
}

/// Become the command: exec(2) replaces st-setup with it, keeping the pid,
/// the process group and the terminal. Nothing is forwarded, so each signal
/// reaches the command exactly once however it was sent: ^C typed at the
/// terminal (which signals the whole foreground process group), `kill -INT`
/// to the pid st-setup was started as, a signal to the process group
/// (timeout(1), a shell's job control) or to every process of a cgroup
/// (systemd), and SIGKILL. A parent that forwarded signals would get some of
/// these wrong: forwarding all of them delivers a ^C twice (the command has
/// its own copy from the terminal, and many programs read a second Ctrl-C as
/// "force quit"); forwarding only those sent by a process (si_code SI_USER)
/// still doubles a group-wide kill; not forwarding while sharing the
/// terminal's foreground group loses `kill -INT <pid>` there; and a killed
/// parent leaves the command running. The exit code passes through as it is
/// (a command ended by a signal ends st-setup's pid by that signal, which a
/// shell reports as 128 + N). Everything st-setup had to do (resolve the
/// values, get the token) is done before this point, and its own files and
/// sockets are close-on-exec.
#[cfg(unix)]
fn run(ctx: &Context, mut command: Command, program: &OsString) -> Result<ExitStatus> {
    use std::os::unix::process::CommandExt;
    crate::core_dumps::restore_for_exec();
    // exec only returns when the command could not be started.
    let err = command.exec();
    crate::core_dumps::forbid();
    Ok(could_not_run(ctx, program, &err))
}

/// Elsewhere (Windows): run the command as a child and pass its exit code
/// through. The console sends Ctrl-C to every process attached to it, the
/// command included, so nothing is forwarded; st-setup itself is ended by that
/// Ctrl-C (not handled here yet), and the command's exit code is then lost.
#[cfg(not(unix))]
fn run(ctx: &Context, mut command: Command, program: &OsString) -> Result<ExitStatus> {
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => return Ok(could_not_run(ctx, program, &err)),
    };
    let status = child.wait().map_err(|source| Error::Local {
        action: "wait for the command",
        source,
    })?;
    Ok(ExitStatus::Child(exit_code(status)))
}

/// 127 when the command does not exist, 126 when it cannot be run, as shells do.
fn could_not_run(ctx: &Context, program: &OsString, err: &std::io::Error) -> ExitStatus {
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    ctx.ui.error(&format!(
        "could not run {}: {err}",
        program.to_string_lossy()
    ));
    ExitStatus::Child(code)
}

/// The child's exit code (1 when it has none).
#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> u8 {
    status.code().map_or(1, |code| code as u8)
}

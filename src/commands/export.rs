//! `st-setup export`: the values other tools ask for (data-integration
//! tools' ServiceTitan forms, `.env` files), as shell exports, dotenv or JSON,
//! or as the config files of servicepytan and the Singer tap (see
//! [`crate::consumers`]). The Client Secret is included only on request, with
//! a warning; `--output` writes a new 0600 file instead of stdout.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::Context;
use crate::cli::CredentialArgs;
use crate::consumers;
use crate::error::{Error, ExitStatus, Result};
use crate::output_file;
use crate::resolve::Resolved;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// `export NAME='value'` lines for a POSIX shell
    Env,
    /// `NAME=value` lines for a .env file
    Dotenv,
    /// One JSON object
    Json,
    /// servicepytan's JSON config file (SERVICETITAN_* keys)
    Servicepytan,
    /// The config JSON of the Singer tap tap-service-titan (Meltano)
    Singer,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  eval \"$(st-setup export --format env)\"   # ST_ENVIRONMENT, ST_TENANT_ID, ST_APP_KEY, ST_CLIENT_ID\n  st-setup export --format dotenv --include-secret > .env   # then keep .env private\n  st-setup export --json\n  st-setup export --format servicepytan --include-secret --output servicepytan_config.json\n  st-setup export --format singer --include-secret --output tap-config.json   # tap-service-titan"
)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub(crate) values: CredentialArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Env)]
    pub(crate) format: Format,

    /// Same as --format json
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,

    /// Include the Client Secret (it will be in plain text wherever the output goes)
    #[arg(long)]
    pub(crate) include_secret: bool,

    /// Write to FILE (created with mode 0600) instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// Replace FILE if it exists (a symlink at FILE is replaced, never followed)
    #[arg(long, requires = "output")]
    pub(crate) force: bool,
}

pub(crate) fn exec(args: ExportArgs, ctx: &Context) -> Result<ExitStatus> {
    let (config_store, config) = ctx.load_config()?;
    let resolved = Resolved::resolve(ctx, &args.values, &config)?;
    let environment = resolved.environment.value;
    let endpoints = ctx.endpoints(environment, resolved.stored.as_ref())?;
    let token_url = endpoints.token_url.to_string();
    let api_base = endpoints
        .api_base
        .as_str()
        .trim_end_matches('/')
        .to_string();
    let format = if args.json { Format::Json } else { args.format };
    if matches!(format, Format::Servicepytan | Format::Singer) {
        return export_for_consumer(
            ctx,
            &args,
            format,
            &resolved,
            &config_store,
            &token_url,
            &api_base,
        );
    }
    let mut pairs: Vec<(&str, String)> = vec![
        ("ST_ENVIRONMENT", environment.name().to_string()),
        ("ST_TENANT_ID", resolved.tenant_id.value.clone()),
        ("ST_APP_KEY", resolved.app_key.value.clone()),
        ("ST_CLIENT_ID", resolved.client_id.value.clone()),
    ];
    // ST_AUTH_URL and ST_API_URL are also st-setup's own overrides: exported
    // into a shell with their default values, they would pin every later
    // st-setup run (other profiles, the other environment) to these URLs. So
    // shell and .env output carry them only when they are overrides already;
    // ST_ENVIRONMENT says the rest. JSON, which nobody evals, always has them.
    if format == Format::Json || token_url != environment.token_url() {
        pairs.push(("ST_AUTH_URL", token_url));
    }
    if format == Format::Json || api_base != environment.api_base() {
        pairs.push(("ST_API_URL", api_base));
    }
    let secret;
    if args.include_secret {
        secret = resolved.require_secret(&ctx.secret_store(&config_store))?;
        ctx.ui.warn(
            "the output includes the Client Secret in plain text: keep it out of logs, \
             shell history and version control.",
        );
        pairs.push(("ST_CLIENT_SECRET", secret.expose().to_string()));
    }
    let pairs: Vec<(&str, zeroize::Zeroizing<String>)> = pairs
        .into_iter()
        .map(|(k, v)| (k, zeroize::Zeroizing::new(v)))
        .collect();
    let text = zeroize::Zeroizing::new(render(format, &pairs)?);
    emit(ctx, &args, text.as_bytes())
}

/// `--format servicepytan|singer`: the config file of that tool.
fn export_for_consumer(
    ctx: &Context,
    args: &ExportArgs,
    format: Format,
    resolved: &Resolved,
    config_store: &crate::store::config::ConfigStore,
    token_url: &str,
    api_base: &str,
) -> Result<ExitStatus> {
    let secret = if args.include_secret {
        let secret = resolved.require_secret(&ctx.secret_store(config_store))?;
        ctx.ui.warn(
            "the output includes the Client Secret in plain text: keep it out of logs, \
             shell history and version control.",
        );
        Some(secret)
    } else {
        None
    };
    let values = consumers::Values {
        environment: resolved.environment.value,
        tenant_id: &resolved.tenant_id.value,
        app_key: &resolved.app_key.value,
        client_id: &resolved.client_id.value,
        token_url,
        api_base,
        client_secret: secret.as_ref().map(|s| s.expose()),
    };
    let (pairs, tool) = if format == Format::Servicepytan {
        if let Some(warning) = consumers::servicepytan_url_warning(&values) {
            ctx.ui.warn(&warning);
        }
        (consumers::servicepytan_pairs(&values), "servicepytan")
    } else {
        (consumers::singer_pairs(&values), "tap-service-titan")
    };
    if secret.is_none() {
        ctx.ui.info(&format!(
            "note: the output has no Client Secret, and {tool} needs it to request tokens: \
             add --include-secret (best with --output FILE) when this is {tool}'s config."
        ));
    }
    emit(ctx, args, consumers::json_object(&pairs).as_bytes())
}

/// To `--output FILE` (a new 0600 file) or to standard output.
fn emit(ctx: &Context, args: &ExportArgs, bytes: &[u8]) -> Result<ExitStatus> {
    match &args.output {
        Some(path) => {
            output_file::write_private(path, bytes, args.force)?;
            ctx.ui
                .info(&format!("wrote {} (readable only by you)", path.display()));
        }
        None => crate::ui::write_stdout(bytes)?,
    }
    Ok(ExitStatus::Ok)
}

fn render(format: Format, pairs: &[(&str, zeroize::Zeroizing<String>)]) -> Result<String> {
    let mut out = String::new();
    match format {
        Format::Env => {
            for (k, v) in pairs {
                out.push_str(&format!("export {k}={}\n", shell_quote(v)));
            }
        }
        Format::Dotenv => {
            for (k, v) in pairs {
                out.push_str(&format!("{k}={}\n", dotenv_quote(k, v)?));
            }
        }
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = pairs
                .iter()
                .map(|(k, v)| {
                    (
                        json_key(k).to_string(),
                        serde_json::Value::String(v.to_string()),
                    )
                })
                .collect();
            out = serde_json::to_string_pretty(&map).map_err(Error::Json)?;
            out.push('\n');
        }
        // export_for_consumer writes these, with each tool's own names.
        Format::Servicepytan | Format::Singer => out.push_str(&consumers::json_object(pairs)),
    }
    Ok(out)
}

/// JSON uses the field names of the other JSON outputs.
fn json_key(var: &str) -> &'static str {
    match var {
        "ST_ENVIRONMENT" => "environment",
        "ST_TENANT_ID" => "tenant_id",
        "ST_APP_KEY" => "app_key",
        "ST_CLIENT_ID" => "client_id",
        "ST_AUTH_URL" => "token_url",
        "ST_API_URL" => "api_base_url",
        _ => "client_secret",
    }
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// A value for a .env file that a POSIX shell (`set -a; . ./.env`) and the
/// dotenv loaders (python-dotenv, Node's dotenv, docker compose) all read
/// literally: bare when it is only letters, digits and `._:/-`, else in
/// single quotes, inside which none of them expands `$`, a backtick or
/// anything else. A value holding a single quote, a backslash (which some
/// loaders unescape even there) or a control character has no such spelling
/// and is refused, naming the variable and never showing the value.
fn dotenv_quote(name: &str, value: &str) -> Result<String> {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:/-".contains(c))
    {
        return Ok(value.to_string());
    }
    if value
        .chars()
        .any(|c| c == '\'' || c == '\\' || crate::printable::is_unsafe(c))
    {
        return Err(crate::invalid_input::InvalidInput::NotDotenvSafe {
            name: name.to_string(),
        }
        .into());
    }
    Ok(format!("'{value}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_each_format() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        assert_eq!(dotenv_quote("X", "cid.abc").unwrap(), "cid.abc");
        assert_eq!(dotenv_quote("X", "a b$\"c`d`").unwrap(), "'a b$\"c`d`'");
        assert_eq!(dotenv_quote("X", "").unwrap(), "''");
        for bad in ["a'b", "a\\b", "a\nb", "a\u{1b}b"] {
            let err = dotenv_quote("ST_APP_KEY", bad).unwrap_err().to_string();
            assert!(err.starts_with("ST_APP_KEY holds a character"), "{err}");
        }
        let pairs = vec![("ST_TENANT_ID", zeroize::Zeroizing::new("8450".to_string()))];
        assert_eq!(
            render(Format::Env, &pairs).unwrap(),
            "export ST_TENANT_ID='8450'\n"
        );
        assert_eq!(
            render(Format::Dotenv, &pairs).unwrap(),
            "ST_TENANT_ID=8450\n"
        );
        assert_eq!(
            render(Format::Json, &pairs).unwrap(),
            "{\n  \"tenant_id\": \"8450\"\n}\n"
        );
    }
}

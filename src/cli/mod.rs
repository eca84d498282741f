//! The command line: the top-level parser, the options every command shares,
//! and the [`Context`] built from them that commands use to reach the config,
//! the secret store and ServiceTitan.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

mod context;
mod credential_args;

pub(crate) use context::Context;
pub(crate) use credential_args::CredentialArgs;

use crate::commands;
use crate::error::{EXIT_CODES_HELP, Error};
use crate::invalid_input::InvalidInput;
use crate::ui::ColorChoice;

const ABOUT: &str = "Set up, verify and safely store ServiceTitan API credentials";

const LONG_ABOUT: &str = "\
Set up, verify and safely store ServiceTitan API credentials.

st-setup walks you through getting the four values the ServiceTitan API needs
(Tenant ID, Application Key, Client ID, Client Secret), checks them with
ServiceTitan, and stores the Client Secret in your OS keyring and the rest in a
config file. Scripts and CI can do the same with flags and environment variables.";

const AFTER_HELP: &str = "\
Examples:
  st-setup init                     # guided set-up, in a terminal: start here
  st-setup check --all              # re-check every stored profile
  st-setup exec -- python sync.py   # run a script with the values and a fresh access token

Environment:
  ST_PROFILE, ST_ENVIRONMENT, ST_TENANT_ID, ST_APP_KEY, ST_CLIENT_ID, ST_CLIENT_SECRET
                           credential values (the secret only ever from the environment or stdin)
  ST_SETUP_CONFIG_DIR      config directory (default: the platform's, e.g. ~/.config/st-setup)
  ST_AUTH_URL, ST_API_URL  override the token endpoint and API base (https, or http on loopback)
  ST_PRODUCTION_AUTH_URL, ST_PRODUCTION_API_URL, ST_INTEGRATION_AUTH_URL, ST_INTEGRATION_API_URL
                           the same for one environment (ST_AUTH_URL / ST_API_URL win)
  ST_REQUIRE               scopes init and check require, comma-separated (see check --help)
  ST_JOBS                  profiles check --all and import verify at once (default 8)
  ST_TIMEOUT, ST_KEYRING_TIMEOUT, SSL_CERT_FILE, HTTPS_PROXY, NO_PROXY, NO_COLOR

";

/// No `Debug`: it would print a refused `--client-secret` value.
#[derive(Parser)]
#[command(
    name = "st-setup",
    bin_name = "st-setup",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = format!("{AFTER_HELP}{EXIT_CODES_HELP}"),
    propagate_version = true,
    max_term_width = 100,
)]
pub struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,

    /// Refused: a secret on the command line leaks into process lists and shell history
    #[arg(long, global = true, hide = true, value_name = "SECRET", num_args = 0..=1)]
    pub(crate) client_secret: Option<Option<String>>,

    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// [`Cli`] without the refused `--client-secret`, for completion scripts:
/// clap_complete offers even hidden flags (clap-rs/clap#1335), and no script
/// should suggest typing a secret on the command line.
#[derive(Parser, Debug)]
#[command(name = "st-setup", bin_name = "st-setup", version, about = ABOUT, propagate_version = true)]
struct Completable {
    #[command(flatten)]
    global: GlobalArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

/// The command line that completion scripts are generated from.
pub(crate) fn completion_command() -> clap::Command {
    Completable::command()
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Set up credentials: guided wizard, verified with ServiceTitan, stored safely
    Init(commands::init::InitArgs),
    /// Re-check stored credentials with ServiceTitan and say which value is wrong
    Check(commands::check::CheckArgs),
    /// Print a valid access token (cached until shortly before it expires)
    Token(commands::token::TokenArgs),
    /// Run a command with the credentials and an access token in its environment
    Exec(commands::exec::ExecArgs),
    /// List profiles, their environment and tenant, and where each secret lives
    List(commands::list::ListArgs),
    /// Show one profile's values and where each came from (the secret is never shown)
    Show(commands::show::ShowArgs),
    /// Delete a profile (or every profile --match selects) and its Client Secret
    Remove(commands::remove::RemoveArgs),
    /// Add many tenants at once from a CSV or JSON Lines file, verified concurrently
    Import(commands::import::ImportArgs),
    /// Print the values for other tools: shell, .env, JSON, servicepytan or Singer config
    Export(commands::export::ExportArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish
    Completions(commands::completions::CompletionsArgs),
    /// Print the manual page (roff), covering every command
    Man(commands::man::ManArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct GlobalArgs {
    /// Log each HTTP request (method, URL, status, time) to stderr; secrets are never logged
    #[arg(short, long, global = true, help_heading = "Output")]
    pub(crate) verbose: bool,

    /// Print only results and errors
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Output"
    )]
    pub(crate) quiet: bool,

    /// Colour and symbols: auto (only on a terminal, off with NO_COLOR), always, never
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "WHEN",
        help_heading = "Output"
    )]
    pub(crate) color: ColorChoice,

    /// Give up on a request after this many seconds
    #[arg(long, global = true, env = "ST_TIMEOUT", hide_env_values = true, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds, help_heading = "Network")]
    pub(crate) timeout: Duration,

    /// Trust the CA certificates in this PEM file too (for TLS-inspecting proxies)
    #[arg(
        long,
        global = true,
        env = "SSL_CERT_FILE",
        value_name = "FILE",
        hide_env_values = true,
        help_heading = "Network"
    )]
    pub(crate) ca_bundle: Option<PathBuf>,

    /// Token endpoint to use instead of the environment's (https, or http on loopback)
    #[arg(
        long,
        global = true,
        env = "ST_AUTH_URL",
        value_name = "URL",
        hide_env_values = true,
        help_heading = "Network"
    )]
    pub(crate) auth_url: Option<String>,

    /// API base URL to use instead of the environment's (https, or http on loopback)
    #[arg(
        long,
        global = true,
        env = "ST_API_URL",
        value_name = "URL",
        hide_env_values = true,
        help_heading = "Network"
    )]
    pub(crate) api_url: Option<String>,

    /// Directory for config.toml
    #[arg(
        long,
        global = true,
        env = "ST_SETUP_CONFIG_DIR",
        value_name = "DIR",
        hide_env_values = true,
        help_heading = "Storage"
    )]
    pub(crate) config_dir: Option<PathBuf>,

    /// Give up on the OS keyring, or on another run's save, after this many seconds
    #[arg(long, global = true, env = "ST_KEYRING_TIMEOUT", hide_env_values = true, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds, help_heading = "Storage")]
    pub(crate) keyring_timeout: Duration,
}

/// Why `--client-secret` is refused, and what to use instead.
pub(crate) fn secret_argument_refused() -> Error {
    Error::from(InvalidInput::SecretAsArgument)
}

/// The top-level parser, with clap's own output (help, usage errors) coloured
/// as `--color` in `args` asks: clap prints before the arguments are parsed
/// into [`GlobalArgs`]. With `auto`, clap honours `NO_COLOR` and colours only a
/// terminal, like [`Ui`].
pub(crate) fn command(args: &[OsString]) -> clap::Command {
    let color = match color_flag(args) {
        Some(ColorChoice::Always) => clap::ColorChoice::Always,
        Some(ColorChoice::Never) => clap::ColorChoice::Never,
        Some(ColorChoice::Auto) | None => clap::ColorChoice::Auto,
    };
    Cli::command().color(color)
}

/// The last `--color WHEN` / `--color=WHEN` before any `--` (an invalid value
/// is left for the parser to report).
fn color_flag(args: &[OsString]) -> Option<ColorChoice> {
    let mut choice = None;
    let mut args = args.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(arg) = args.next() {
        let value = match arg {
            "--" => break,
            "--color" => args.next(),
            _ => arg.strip_prefix("--color="),
        };
        choice = match value {
            Some("always") => Some(ColorChoice::Always),
            Some("never") => Some(ColorChoice::Never),
            Some("auto") => Some(ColorChoice::Auto),
            _ => choice,
        };
    }
    choice
}

fn parse_seconds(raw: &str) -> std::result::Result<Duration, String> {
    let secs: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(format!(
            "{raw} is out of range: use a number of seconds between 0 and 3600"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Whether the command line asks for JSON output (`--json`, `--format json`),
/// looking only at arguments before a `--` (after it, they belong to `exec`'s command).
pub(crate) fn wants_json(args: &[OsString]) -> bool {
    let args: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str().unwrap_or(""))
        .take_while(|a| *a != "--")
        .collect();
    args.iter().any(|a| *a == "--json" || *a == "--format=json")
        || args.windows(2).any(|w| w == ["--format", "json"])
}

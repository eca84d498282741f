//! The command line: the top-level parser, the options every command shares,
//! and the [`Context`] built from them that commands use to reach the config,
//! the secret store and ServiceTitan.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::commands;
use crate::credentials::Credentials;
use crate::environment::{Endpoints, Environment, UrlOrigin, UrlOverride};
use crate::error::{EXIT_CODES_HELP, Error, Result};
use crate::scopes::Requirement;
use crate::servicetitan::ServiceTitan;
use crate::servicetitan::http::{HttpSettings, Transport};
use crate::store::SecretStore;
use crate::store::config::{Config, ConfigStore, Profile};
use crate::ui::{ColorChoice, Ui};
use crate::verify::{self, Plan, Verification};

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
    Error::Usage(
        "--client-secret is not accepted: a secret given as an argument is visible to other \
         users in the process list and stays in your shell history.\n\
         Use one of:\n\
         \x20 ST_CLIENT_SECRET=... st-setup init ...              (environment variable)\n\
         \x20 printf '%s\\n' \"$SECRET\" | st-setup init --client-secret-stdin ...\n\
         \x20 st-setup init                                       (hidden prompt)"
            .into(),
    )
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
            .map_err(|e| Error::Other(format!("could not start the async runtime: {e}")))
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

    /// Run `work` (reading secrets: waiting on the keyring's D-Bus answers)
    /// on another thread while this one builds the HTTP transport (reading
    /// and parsing the platform's trust store) and, on `runtime`, opens the
    /// connections to `early` (see [`Transport::connect_early`]): none of it
    /// needs the secret, so a command pays for the longest of them instead of
    /// their sum. The connections keep opening on `runtime` until used.
    /// The caller decides which failure to report first.
    pub(crate) fn with_connections_ready<T: Send>(
        &self,
        runtime: &tokio::runtime::Runtime,
        early: &[&url::Url],
        work: impl FnOnce() -> T + Send,
    ) -> (T, Result<Arc<Transport>>) {
        std::thread::scope(|scope| {
            let (read_tx, read_rx) = tokio::sync::oneshot::channel::<()>();
            let reader = scope.spawn(move || {
                let done = work();
                let _ = read_tx.send(());
                done
            });
            let transport = self.transport().map(Arc::new);
            if let Ok(transport) = &transport {
                runtime.block_on(async {
                    transport.connect_early(early).await;
                    // Drives the connections until the secret is read (or
                    // the reader ended some other way).
                    let _ = read_rx.await;
                });
            }
            let done = reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (done, transport)
        })
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

    /// What to verify against: `environment` (production first for `auto`),
    /// with the other environment's client for the one question a refusal
    /// asks it. Clients share `transport`.
    pub(crate) fn plan(
        &self,
        transport: &Arc<Transport>,
        environment: Option<Environment>,
        profile: Option<&Profile>,
    ) -> Result<Plan> {
        let auto = environment.is_none();
        if auto && (self.global.auth_url.is_some() || self.global.api_url.is_some()) {
            return Err(Error::Usage(
                "--environment auto asks both environments, so ST_AUTH_URL / ST_API_URL (one \
                 environment's URLs) cannot be used with it: set ST_PRODUCTION_AUTH_URL, \
                 ST_INTEGRATION_AUTH_URL (and their _API_URL) instead, or name the environment."
                    .into(),
            ));
        }
        let environment = environment.unwrap_or(Environment::Production);
        let endpoints = self.endpoints(environment, profile)?;
        let other = self
            .other_endpoints(&endpoints, environment)
            .map(|e| ServiceTitan::new(Arc::clone(transport), e));
        Ok(Plan {
            environment,
            client: ServiceTitan::new(Arc::clone(transport), endpoints),
            other,
            auto,
            ui: self.ui,
        })
    }

    /// Verify `credentials` against `environment` (`None`: find out, as
    /// `--environment auto`). URL problems become a failed step.
    pub(crate) async fn verify(
        &self,
        environment: Option<Environment>,
        profile: Option<&Profile>,
        credentials: &Credentials,
        required: &[Requirement],
    ) -> Verification {
        let plan = self
            .transport()
            .and_then(|t| self.plan(&Arc::new(t), environment, profile));
        match plan {
            Ok(plan) => {
                // The API connection opens while the token is asked for;
                // not with `auto`, whose API host depends on the answer.
                let endpoints = plan.client.endpoints();
                let early: &[&url::Url] = if plan.auto {
                    &[&endpoints.token_url]
                } else {
                    &[&endpoints.token_url, &endpoints.api_base]
                };
                plan.client.transport().connect_early(early).await;
                verify::verify(plan, credentials, required).await
            }
            Err(err) => verify::setup_failed(
                environment.unwrap_or(Environment::Production),
                &err,
                required,
            ),
        }
    }
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

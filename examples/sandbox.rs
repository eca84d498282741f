//! A local fake ServiceTitan to try `st-setup` against without real credentials.
//!
//! ```text
//! cargo run --example sandbox               # any free port
//! cargo run --example sandbox -- --port 8450
//! cargo run --example sandbox -- --latency-ms 100   # every response 100 ms late
//! ```
//!
//! It serves both environments on 127.0.0.1 (the same fake the integration tests
//! use): a production one and an integration one, each with a token endpoint and
//! every module's cheap list, and each with its own demo clients. The production
//! clients' tokens carry different scopes (every read scope; every read scope but
//! Settings; no `scope` at all), so every case of `st-setup check` can be tried
//! without an account. It prints the environment variables and the demo
//! credentials to use, and runs until Ctrl-C. It does not use the `st-setup` library.
//!
//! For scripts (`scripts/bench`):
//!
//! * `--quiet` prints only shell-assignable lines once the servers are listening:
//!   `ST_PRODUCTION_AUTH_URL=...`, `ST_PRODUCTION_API_URL=...`, the same two for
//!   integration, then `ST_AUTH_URL=...` and `ST_API_URL=...` (production's).
//! * `--control` reads commands from stdin, one per line: `stats` prints
//!   `token_requests=N probe_requests=N requests=N max_in_flight=N` (production's
//!   counts since start); `quit`, or the end of stdin, stops the servers. A script that holds
//!   the write end of stdin cannot leave the server running after it exits.
//! * `--tls-ca FILE` also serves production over TLS, with a certificate for
//!   `localhost` and `127.0.0.1` from a throwaway CA whose certificate it writes
//!   to FILE, and prints `ST_TLS_AUTH_URL=https://localhost:PORT/connect/token`
//!   and `ST_TLS_API_URL=https://127.0.0.1:PORT` (two host names, one server,
//!   as `auth.*` and `api.*` are in production). `--handshake-delay-ms MS`
//!   waits MS milliseconds inside each TLS handshake (after the client's hello),
//!   as a network's round trip would.

#[path = "../tests/util/fake_servicetitan.rs"]
mod fake_servicetitan;
#[path = "../tests/util/tls.rs"]
mod tls;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use fake_servicetitan::{Credentials, FakeServiceTitan, all_read_scopes};

/// A demo client of the production fake besides the main one: what its tokens
/// carry, its Client ID and its Client Secret (fake values, fine to print).
struct DemoClient {
    what: &'static str,
    id: &'static str,
    secret: &'static str,
    scopes: Option<Vec<String>>,
}

fn production_extra_clients() -> Vec<DemoClient> {
    let mut no_settings = all_read_scopes();
    no_settings.retain(|s| !s.starts_with("tn.stt."));
    vec![
        DemoClient {
            what: "every read scope but Settings (check probes CRM instead)",
            id: "cid.fakesandboxnosettings0001",
            secret: "cs1.fakesandboxnosettingssecret0123456789abcdefghijklm",
            scopes: Some(no_settings),
        },
        DemoClient {
            what: "a token with no `scope` at all",
            id: "cid.fakesandboxnoscope0000001",
            secret: "cs1.fakesandboxnoscopesecret0123456789abcdefghijklmnop",
            scopes: None,
        },
    ]
}

/// The integration fake's own demo client (same tenant and App Key: an App Key
/// belongs to no environment).
fn integration_credentials() -> Credentials {
    Credentials {
        client_id: "cid.fakesandboxintegration001".to_string(),
        client_secret: "cs1.fakesandboxintegrationsecret0123456789abcdefghijkl".to_string(),
        ..Credentials::demo()
    }
}

const USAGE: &str = "\
usage: cargo run --example sandbox [-- [--port N] [--latency-ms MS] [--quiet] [--control]
                                      [--tls-ca FILE [--handshake-delay-ms MS]]]
  --port N         production on 127.0.0.1:N, integration on N+1 (default: any free ports)
  --latency-ms MS  wait MS milliseconds before every response (default 0)
  --tls-ca FILE    also serve production over TLS (https://localhost:PORT for tokens,
                   https://127.0.0.1:PORT for the API) with a throwaway CA written to FILE
  --handshake-delay-ms MS  wait MS milliseconds inside each TLS handshake (default 0)
  --quiet          print only ST_AUTH_URL=... and ST_API_URL=... lines
  --control        read commands from stdin: `stats` prints request counts,
                   `quit` (or the end of stdin) stops the server";

/// The command line, parsed.
#[derive(Debug, Default)]
struct Options {
    port: Option<u16>,
    latency: Duration,
    quiet: bool,
    control: bool,
    tls_ca: Option<PathBuf>,
    handshake_delay: Duration,
}

/// `Err("")` asks for the usage text.
fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name {
            "--port" => {
                let value = value()?;
                let parsed = value
                    .parse::<u16>()
                    .map_err(|_| format!("--port {value:?} is not a port number (0-65535)"))?;
                options.port = Some(parsed);
            }
            "--latency-ms" => {
                let value = value()?;
                let ms = value.parse::<u64>().map_err(|_| {
                    format!("--latency-ms {value:?} is not a number of milliseconds")
                })?;
                options.latency = Duration::from_millis(ms);
            }
            "--handshake-delay-ms" => {
                let value = value()?;
                let ms = value.parse::<u64>().map_err(|_| {
                    format!("--handshake-delay-ms {value:?} is not a number of milliseconds")
                })?;
                options.handshake_delay = Duration::from_millis(ms);
            }
            "--tls-ca" => options.tls_ca = Some(PathBuf::from(value()?)),
            "--quiet" if inline.is_none() => options.quiet = true,
            "--control" if inline.is_none() => options.control = true,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(options)
}

/// `--control`: answer `stats` on stdout until `quit` or the end of stdin.
fn control_loop(fake: &FakeServiceTitan) {
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        match line.trim() {
            "" => {}
            "quit" => return,
            "stats" => println!(
                "token_requests={} probe_requests={} requests={} max_in_flight={}",
                fake.token_requests(),
                fake.probe_requests(),
                fake.requests().len(),
                fake.max_in_flight(),
            ),
            other => println!("error: unknown command {other:?} (stats, quit)"),
        }
        let _ = std::io::stdout().flush();
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("sandbox: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let port = options.port;

    let creds = Credentials::demo();
    let extra = production_extra_clients();
    let production = extra.iter().fold(
        FakeServiceTitan::builder(creds.clone())
            .scopes(Some(all_read_scopes()))
            .port(port.unwrap_or(0))
            .latency(options.latency),
        |builder, c| builder.client(c.id, c.secret, c.scopes.clone()),
    );
    let integration_creds = integration_credentials();
    let integration = FakeServiceTitan::builder(integration_creds.clone())
        .scopes(Some(all_read_scopes()))
        .port(port.map_or(0, |p| p.wrapping_add(1)))
        .latency(options.latency);
    let (fake, integration) = match (production.try_start(), integration.try_start()) {
        (Ok(p), Ok(i)) => (p, i),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!(
                "sandbox: cannot listen on 127.0.0.1 (port {}): {e}",
                port.map_or("any".to_string(), |p| p.to_string())
            );
            return ExitCode::FAILURE;
        }
    };

    let tls = match &options.tls_ca {
        None => None,
        Some(ca_file) => {
            let pki = tls::TestPki::generate();
            let started = std::fs::write(ca_file, &pki.ca_pem).and_then(|()| {
                start_tls_front(pki.server_config(), fake.port(), options.handshake_delay)
            });
            match started {
                Ok(port) => Some(port),
                Err(e) => {
                    eprintln!("sandbox: cannot serve TLS ({}): {e}", ca_file.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    };

    if options.quiet {
        if let Some(port) = tls {
            println!("ST_TLS_AUTH_URL=https://localhost:{port}/connect/token");
            println!("ST_TLS_API_URL=https://127.0.0.1:{port}");
        }
        for (name, server) in [("PRODUCTION", &fake), ("INTEGRATION", &integration)] {
            println!("ST_{name}_AUTH_URL={}", server.auth_url());
            println!("ST_{name}_API_URL={}", server.api_url());
        }
        println!("ST_AUTH_URL={}", fake.auth_url());
        println!("ST_API_URL={}", fake.api_url());
        let _ = std::io::stdout().flush();
    } else {
        print_instructions(&fake, &creds, &extra, &integration, &integration_creds);
        if let Some(port) = tls {
            println!(
                "\nOver TLS (trust the CA in {} with --ca-bundle): token endpoint \
                 https://localhost:{port}/connect/token, API https://127.0.0.1:{port}",
                options
                    .tls_ca
                    .as_deref()
                    .unwrap_or(std::path::Path::new("?"))
                    .display()
            );
        }
    }

    if options.control {
        control_loop(&fake);
        drop(fake);
        drop(integration);
        return ExitCode::SUCCESS;
    }

    // No signal handling needed: Ctrl-C ends the process, and the OS closes the socket.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// A TLS front on 127.0.0.1 for the server on `upstream`: each connection's
/// handshake waits `delay` after the client's hello, then its plaintext is
/// relayed to a connection of its own to `upstream`. Runs until the process
/// ends; returns the port.
fn start_tls_front(
    config: Arc<rustls::ServerConfig>,
    upstream: u16,
    delay: Duration,
) -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("sandbox-tls".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let config = Arc::clone(&config);
                    tokio::spawn(async move {
                        let _ = tcp.set_nodelay(true);
                        let acceptor = tokio_rustls::LazyConfigAcceptor::new(
                            rustls::server::Acceptor::default(),
                            tcp,
                        );
                        let Ok(hello) = acceptor.await else { return };
                        tokio::time::sleep(delay).await;
                        let Ok(mut tls) = hello.into_stream(config).await else {
                            return;
                        };
                        let Ok(mut up) =
                            tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                        else {
                            return;
                        };
                        let _ = up.set_nodelay(true);
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                    });
                }
            });
        })?;
    Ok(port)
}

fn print_instructions(
    fake: &FakeServiceTitan,
    creds: &Credentials,
    extra: &[DemoClient],
    integration: &FakeServiceTitan,
    integration_creds: &Credentials,
) {
    let row = |what: &str, id: &str, secret: &str| {
        format!("  {what}\n    Client ID      {id}\n    Client Secret  {secret}\n")
    };
    let mut clients = row("every read scope", &creds.client_id, &creds.client_secret);
    for c in extra {
        clients.push_str(&row(c.what, c.id, c.secret));
    }
    println!(
        "\
A fake ServiceTitan is listening on 127.0.0.1, one server per environment:
  production   {prod_api}
  integration  {int_api}
Each accepts only its demo credentials below: POST /connect/token issues 15-minute
tokens, and each module's cheap list (GET /settings/v2/tenant/{tenant}/business-units,
/crm/v2/tenant/{tenant}/customers, ...) answers 200 (401 for a bad token or App Key,
403 for another tenant or a token without the list's scope). These are fake values
for this sandbox only, so printing them is fine; real credentials never are.

Point st-setup at it (in the shell you will run st-setup from):

export ST_PRODUCTION_AUTH_URL={prod_auth}
export ST_PRODUCTION_API_URL={prod_api}
export ST_INTEGRATION_AUTH_URL={int_auth}
export ST_INTEGRATION_API_URL={int_api}

Demo credentials (both environments):

  Tenant ID      {tenant}
  App Key        {app_key}

Production clients:
{clients}
Integration client:
  every read scope
    Client ID      {int_id}
    Client Secret  {int_secret}

Try it: run `st-setup init --profile sandbox` and paste the values above (answer
\"not sure\" for the environment to see st-setup find it out), or in one line:

ST_CLIENT_SECRET={client_secret} st-setup init --profile sandbox --environment production --tenant {tenant} --app-key {app_key} --client-id {client_id} --non-interactive

Then try `st-setup check --profile sandbox --scopes`, the no-Settings client (the
probe moves to CRM), the integration client with `--environment production` (check
finds out it belongs to integration), `--environment auto`, and `--require crm:w`.
(Where no OS keyring is available, add `--storage file`.) Press Ctrl-C to stop.",
        prod_api = fake.api_url(),
        prod_auth = fake.auth_url(),
        int_api = integration.api_url(),
        int_auth = integration.auth_url(),
        tenant = creds.tenant_id,
        app_key = creds.app_key,
        client_id = creds.client_id,
        client_secret = creds.client_secret,
        int_id = integration_creds.client_id,
        int_secret = integration_creds.client_secret,
    );
}

//! A local fake ServiceTitan to try `st-setup` against without real credentials.
//!
//! ```text
//! cargo run --example sandbox               # any free port
//! cargo run --example sandbox -- --port 8450
//! cargo run --example sandbox -- --latency-ms 100   # every response 100 ms late
//! ```
//!
//! It serves the token endpoint and the business-units probe on 127.0.0.1 (the same
//! fake the integration tests use), prints the environment variables and the demo
//! credentials to use, and runs until Ctrl-C. It does not use the `st-setup` library.
//!
//! For scripts (`scripts/bench`):
//!
//! * `--quiet` prints only two shell-assignable lines, `ST_AUTH_URL=...` and
//!   `ST_API_URL=...`, once the server is listening.
//! * `--control` reads commands from stdin, one per line: `stats` prints
//!   `token_requests=N probe_requests=N requests=N max_in_flight=N` (counts since
//!   start); `quit`, or the end of stdin, stops the server. A script that holds
//!   the write end of stdin cannot leave the server running after it exits.

#[path = "../tests/util/fake_servicetitan.rs"]
mod fake_servicetitan;

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use fake_servicetitan::{Credentials, FakeServiceTitan};

const USAGE: &str = "\
usage: cargo run --example sandbox [-- [--port N] [--latency-ms MS] [--quiet] [--control]]
  --port N         listen on 127.0.0.1:N (default: any free port)
  --latency-ms MS  wait MS milliseconds before every response (default 0)
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
    let fake = match FakeServiceTitan::builder(creds.clone())
        .port(port.unwrap_or(0))
        .latency(options.latency)
        .try_start()
    {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!(
                "sandbox: cannot listen on 127.0.0.1:{}: {e}",
                port.unwrap_or(0)
            );
            return ExitCode::FAILURE;
        }
    };

    if options.quiet {
        println!("ST_AUTH_URL={}", fake.auth_url());
        println!("ST_API_URL={}", fake.api_url());
        let _ = std::io::stdout().flush();
    } else {
        print_instructions(&fake, &creds);
    }

    if options.control {
        control_loop(&fake);
        drop(fake);
        return ExitCode::SUCCESS;
    }

    // No signal handling needed: Ctrl-C ends the process, and the OS closes the socket.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn print_instructions(fake: &FakeServiceTitan, creds: &Credentials) {
    println!(
        "\
A fake ServiceTitan is listening on {api}
It accepts only the demo credentials below: POST /connect/token issues 15-minute
tokens, and GET /settings/v2/tenant/{tenant}/business-units answers 200 (401 for a
bad token or App Key, 403 for another tenant). These are fake values for this
sandbox only, so printing them is fine; real credentials never are.

Point st-setup at it (in the shell you will run st-setup from):

export ST_AUTH_URL={auth}
export ST_API_URL={api}

Demo credentials:

  Tenant ID      {tenant}
  App Key        {app_key}
  Client ID      {client_id}
  Client Secret  {client_secret}

Try it (interactive wizard: run `st-setup init --profile sandbox --environment integration`
and paste the values above), or in one line:

ST_CLIENT_SECRET={client_secret} st-setup init --profile sandbox --environment integration --tenant {tenant} --app-key {app_key} --client-id {client_id} --non-interactive

(Where no OS keyring is available, add `--storage file`.) Press Ctrl-C to stop.",
        api = fake.api_url(),
        auth = fake.auth_url(),
        tenant = creds.tenant_id,
        app_key = creds.app_key,
        client_id = creds.client_id,
        client_secret = creds.client_secret,
    );
}

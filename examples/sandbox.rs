//! A local fake ServiceTitan to try `st-setup` against without real credentials.
//!
//! ```text
//! cargo run --example sandbox               # any free port
//! cargo run --example sandbox -- --port 8450
//! ```
//!
//! It serves the token endpoint and the business-units probe on 127.0.0.1 (the same
//! fake the integration tests use), prints the environment variables and the demo
//! credentials to use, and runs until Ctrl-C. It does not use the `st-setup` library.

#[path = "../tests/util/fake_servicetitan.rs"]
mod fake_servicetitan;

use std::process::ExitCode;
use std::time::Duration;

use fake_servicetitan::{Credentials, FakeServiceTitan};

const USAGE: &str = "usage: cargo run --example sandbox [-- --port N]";

fn parse_port(args: &[String]) -> Result<Option<u16>, String> {
    let mut port = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = if arg == "--port" {
            args.next()
                .ok_or_else(|| "--port needs a value".to_string())?
                .clone()
        } else if let Some(value) = arg.strip_prefix("--port=") {
            value.to_string()
        } else if arg == "-h" || arg == "--help" {
            return Err(String::new());
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        };
        let parsed = value
            .parse::<u16>()
            .map_err(|_| format!("--port {value:?} is not a port number (0-65535)"))?;
        port = Some(parsed);
    }
    Ok(port)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match parse_port(&args) {
        Ok(port) => port,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("sandbox: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let creds = Credentials::demo();
    let fake = match FakeServiceTitan::builder(creds.clone())
        .port(port.unwrap_or(0))
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

    // No signal handling needed: Ctrl-C ends the process, and the OS closes the socket.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

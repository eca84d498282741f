//! Connections opened while the keyring is read (issue 18): the token
//! request and the API call each go over a connection that was open before
//! the token was asked for; a run whose keyring never answers opens them but
//! sends nothing; a cached token opens nothing; a pre-connection that fails
//! ends as a network error always did.
//!
//! The fake (tests/util/fake_servicetitan.rs) logs each connection: when it
//! was accepted, and which requests came on it. The token host and the API
//! host are two host names (`localhost` and `127.0.0.1`) for the same server,
//! as `auth.*` and `api.*` are two hosts in production.

use std::net::TcpListener;
use std::time::Duration;

use crate::util::cmd::{TestEnv, unique_profile};
use crate::util::environments::{TwoEnvironments, integration_creds};
use crate::util::fake_servicetitan::{ConnectionLog, Credentials, FakeServiceTitan, TOKEN_PATH};
use crate::util::tls::{TestPki, TlsFront};

/// The fake's connections that carried a request starting with `what`
/// (`POST /connect/token`, `GET /settings`).
fn carrying<'a>(log: &'a [ConnectionLog], what: &str) -> Vec<&'a ConnectionLog> {
    log.iter()
        .filter(|c| c.requests.iter().any(|(r, _)| r.starts_with(what)))
        .collect()
}

/// A stored profile (secret in the keyring of scripts/test) on `fake`, then
/// `check` with the token endpoint on `localhost` and the API on `127.0.0.1`,
/// over TLS: the token request and the probe each come on a connection of
/// their own that the server had accepted before the token request arrived,
/// and nothing else is sent.
#[cfg(target_os = "linux")]
#[test]
fn check_sends_the_token_request_and_the_probe_on_connections_opened_early() {
    // Each answer 300 ms late: without early connections the API host would
    // be connected only after the token arrived, 300 ms after it was asked for.
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .latency(Duration::from_millis(300))
        .start();
    let pki = TestPki::generate();
    let front = TlsFront::start(&pki, fake.port());
    let mut env = TestEnv::new();
    let ca = pki.write_ca(env.dir.path());
    env.set_env(
        "ST_AUTH_URL",
        &format!("{}{TOKEN_PATH}", front.origin("localhost")),
    );
    env.set_env("ST_API_URL", &front.origin("127.0.0.1"));
    env.set_env("SSL_CERT_FILE", ca.to_str().unwrap());
    let profile = unique_profile("early");
    env.init_cmd(&profile).arg("--no-verify").run().code(0);
    assert_eq!(fake.connections().len(), 0, "init --no-verify connected");

    let out = env.cmd(&["-v", "check", "--profile", &profile]).run();
    out.code(0).stdout_has("Client Secret in the OS keyring");

    let log = fake.connections();
    let token = carrying(&log, &format!("POST {TOKEN_PATH}"));
    let probe = carrying(&log, "GET /settings/v2/tenant/");
    assert_eq!(
        (log.len(), token.len(), probe.len()),
        (2, 1, 1),
        "expected two connections, one for the token and one for the probe: {log:#?}"
    );
    assert_eq!(
        log.iter().map(|c| c.requests.len()).sum::<usize>(),
        2,
        "something besides the token request and the probe was sent: {log:#?}"
    );
    let token_asked = token[0].requests[0].1;
    assert!(
        probe[0].accepted_at < token_asked && token[0].accepted_at < token_asked,
        "the API connection was not open before the token was asked for: {log:#?}"
    );
    // The connections are TLS connections made by the client's own connector.
    assert_eq!(front.handshakes(), 2, "{log:#?}");
    assert_eq!(
        out.stderr
            .matches("opened while the secret was read")
            .count(),
        2,
        "-v does not say both requests used early connections\n{out}"
    );
}

/// A keyring that never answers (a password prompt nobody sees): `check`
/// ends with exit 6 after the keyring timeout, having opened the token and
/// API connections meanwhile and sent nothing on them.
#[cfg(target_os = "linux")]
#[test]
fn connections_opened_while_a_locked_keyring_waits_carry_nothing() {
    use crate::util::locked_keyring::{PrivateKeyring, Prompter};
    let fake = FakeServiceTitan::start(Credentials::demo());
    let keyring = PrivateKeyring::start(Prompter::NeverAnswers);
    let mut env = TestEnv::new();
    env.set_env(
        "ST_AUTH_URL",
        &format!("http://localhost:{}{TOKEN_PATH}", fake.port()),
    );
    env.set_env("ST_API_URL", &format!("http://127.0.0.1:{}", fake.port()));
    env.set_env("DBUS_SESSION_BUS_ADDRESS", &keyring.address);
    env.set_env("ST_KEYRING_TIMEOUT", "2");
    env.init_cmd("stored").arg("--no-verify").run().code(0);
    keyring.lock();

    let out = env.cmd(&["-v", "check", "--profile", "stored"]).run();
    out.code(6);
    let log = fake.connections();
    assert_eq!(
        log.len(),
        2,
        "the token and API hosts were not both connected while the keyring was read: {log:#?}"
    );
    assert!(
        log.iter().all(|c| c.requests.is_empty()) && fake.requests().is_empty(),
        "something was sent without a secret: {log:#?}"
    );
    // Nothing is said about connections no request used.
    out.stderr_lacks("opened early")
        .stderr_lacks("opened while");
}

/// `token` answered from the cache connects to nothing at all.
#[cfg(target_os = "linux")]
#[test]
fn a_cached_token_opens_no_connection() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("early-cached");
    env.init_cmd(&profile).run().code(0);
    let first = env.cmd(&["token", "--profile", &profile]).run();
    first.code(0);
    let before = fake.connections().len();
    let again = env.cmd(&["-v", "token", "--profile", &profile]).run();
    again.code(0).stderr_has("using the cached token");
    assert_eq!(again.stdout, first.stdout);
    assert_eq!(
        fake.connections().len(),
        before,
        "a cached token opened a connection: {:#?}",
        fake.connections()
    );
}

/// Nothing listening on the token host's port: the early connection fails
/// unseen, the request connects again, and the run ends as it always did.
/// `check --timeout 2` with the demo credentials from the environment and
/// both the token endpoint and the API at `127.0.0.1:port`.
fn check_with_both_hosts_at(port: u16) -> crate::util::cmd::Output {
    TestEnv::new()
        .cmd(&["check", "--timeout", "2"])
        .values_from_env(&Credentials::demo())
        .env(
            "ST_AUTH_URL",
            &format!("http://127.0.0.1:{port}{TOKEN_PATH}"),
        )
        .env("ST_API_URL", &format!("http://127.0.0.1:{port}"))
        .run()
}

#[test]
fn a_refused_early_connection_ends_in_the_usual_network_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let out = check_with_both_hosts_at(port);
    out.code(5).stdout_has(&format!(
        "could not connect to 127.0.0.1:{port}: connection refused"
    ));
}

/// A server that accepts and closes at once: the early connection is closed
/// before any request; the token request ends as it would have without it.
#[test]
fn an_early_connection_closed_by_the_server_ends_in_the_usual_network_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let closer = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                drop(stream);
            }
        })
    };
    let out = check_with_both_hosts_at(port);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    closer.join().unwrap();
    out.code(5).stdout_has(&format!(
        "the connection to 127.0.0.1:{port} was closed before the answer was complete"
    ));
}

/// `init`'s verification opens the API connection while the token is asked
/// for, so the probe does not wait for a connection after the token came.
#[test]
fn init_opens_the_api_connection_while_the_token_is_asked_for() {
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .latency(Duration::from_millis(300))
        .start();
    let mut env = TestEnv::new();
    env.set_env(
        "ST_AUTH_URL",
        &format!("http://localhost:{}{TOKEN_PATH}", fake.port()),
    );
    env.set_env("ST_API_URL", &format!("http://127.0.0.1:{}", fake.port()));
    let profile = unique_profile("early-init");
    env.init_cmd(&profile)
        .arg("--storage")
        .arg("file")
        .run()
        .code(0);
    let log = fake.connections();
    let token = carrying(&log, &format!("POST {TOKEN_PATH}"));
    let probe = carrying(&log, "GET /settings/v2/tenant/");
    assert_eq!((log.len(), token.len(), probe.len()), (2, 1, 1), "{log:#?}");
    assert!(
        probe[0].accepted_at < token[0].requests[0].1,
        "the API connection was opened only after the token was asked for: {log:#?}"
    );
}

/// The other environment's token endpoint is asked only after a refusal, so
/// its connection is opened only then: never while the keyring is read.
#[test]
fn the_other_environment_is_connected_only_after_a_refusal() {
    let both = TwoEnvironments::start();
    let env = both.env(integration_creds());
    let out = env
        .cmd(&["check", "--environment", "production"])
        .values_from_env(&integration_creds())
        .run();
    out.code(3)
        .stdout_has("belong to the integration environment");
    let refused_at = carrying(&both.production.connections(), "POST /connect/token")
        .first()
        .map(|c| c.requests[0].1)
        .expect("production was asked for a token");
    let other = both.integration.connections();
    assert_eq!(other.len(), 1, "{other:#?}");
    assert!(
        other[0].accepted_at > refused_at,
        "the other environment was connected before the first refusal: {other:#?}"
    );
}

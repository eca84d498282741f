//! Network resilience and transport security: every way the network or the
//! server can fail, each ending with a message that names the host and the kind
//! of failure, exit code 5 (never 3 or 4, which mean wrong credentials), and
//! no wait it should not have made. Then real TLS with a CA made here, a real
//! HTTP proxy, and `--verbose` with nothing secret in it.
//!
//! Time is checked by events where they exist: the requests and connections
//! the servers saw, the attempts and retry waits `-v` announces, and lower
//! bounds that prove a wait happened. The one upper bound is [`HANG`], far
//! from what any run here takes on a busy machine: runs that must not wait
//! for a timeout get one ([`NO_TIMEOUT`]) longer than it, so such a wait
//! fails them, and a hang fails every run instead of stalling the suite.
//!
//! Credentials come only from environment variables (nothing stored, no
//! keyring), and every output is checked for the Client Secret, the App Key
//! and every access token the fake issued.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use base64::Engine as _;
use st_setup::for_tests::{MAX_BODY_BYTES, MAX_RETRIES, max_total_backoff};

use crate::util::cmd::{Cmd, Output, TestEnv};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan, Fault, Route};
use crate::util::proxy::HttpProxy;
use crate::util::tls::{TestPki, TlsFront};

/// `--timeout` for the runs that are meant to end by it, in seconds.
const TIMEOUT: u64 = 2;
/// `--timeout` for every other run, in seconds: longer than [`HANG`], so a
/// run that waited for the timeout where it should have failed (or finished)
/// at once cannot pass.
const NO_TIMEOUT: u64 = 60;
/// The longest any run here may take. A working run takes well under a
/// second plus at most [`TIMEOUT`], the backoff (under 3 s) or a 3 s
/// `Retry-After`: this is a hang guard that a busy 2-core machine cannot
/// reach, not a measure of speed.
const HANG: Duration = Duration::from_secs(20);
/// The longest the transport's backoff can add up to over all retries.
fn max_backoff() -> Duration {
    max_total_backoff()
}

/// A fake ServiceTitan and a world pointed at it, with the App Key forbidden in output too.
fn world() -> (FakeServiceTitan, TestEnv) {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let mut env = TestEnv::with_fake(&fake);
    let app_key = env.creds.app_key.clone();
    env.forbid(&app_key);
    (fake, env)
}

/// `st-setup check --timeout 60` ([`NO_TIMEOUT`]) with every credential from
/// the environment and no keyring reachable at all.
fn check(env: &TestEnv) -> Cmd {
    env.cmd(&["check", "--timeout", &NO_TIMEOUT.to_string()])
        .values_from_env(&env.creds)
}

/// [`check`] with `--timeout 2` ([`TIMEOUT`]) and `-v`, for a run that is
/// meant to end by the timeout.
fn check_timing_out(env: &TestEnv) -> Cmd {
    check(env)
        .args_override("--timeout", &TIMEOUT.to_string())
        .arg("-v")
}

/// The URL of the fake's API call, as `-v` logs it.
fn probe_url(fake: &FakeServiceTitan) -> String {
    format!(
        "{}/settings/v2/tenant/8450/business-units?page=1&pageSize=1",
        fake.api_url()
    )
}

/// The fake's `127.0.0.1:PORT`.
fn host(fake: &FakeServiceTitan) -> String {
    format!("127.0.0.1:{}", fake.port())
}

/// Nothing the fake issued appears anywhere in the output.
#[track_caller]
fn no_tokens(fake: &FakeServiceTitan, out: &Output) {
    for token in fake.issued_tokens() {
        out.stdout_lacks(&token).stderr_lacks(&token);
    }
}

/// The message is somewhere in what the run printed (the step lines of `check`
/// go to stdout, errors and `--verbose` to stderr).
#[track_caller]
fn says(out: &Output, needle: &str) {
    assert!(
        out.stdout.contains(needle) || out.stderr.contains(needle),
        "output lacks {needle:?}\n{out}"
    );
}

fn status(status: u16, headers: &[(&str, &str)], body: &str) -> Fault {
    Fault::Status {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// How many `--verbose` request lines there are for `method url`.
fn logged_attempts(out: &Output, method: &str, url: &str) -> usize {
    let prefix = format!("{method} {url} -> ");
    out.stderr.lines().filter(|l| l.contains(&prefix)).count()
}

/// The waits a `--verbose` run announced before its retries ("retrying in
/// N ms"), in order.
fn announced_waits(out: &Output) -> Vec<Duration> {
    out.stderr
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("retrying in ")?;
            let (ms, _) = rest.split_once(" ms")?;
            Some(Duration::from_millis(ms.parse().ok()?))
        })
        .collect()
}

/// A `--verbose` run retried `retries` times after backoff: as many waits
/// announced, together no longer than the backoff can add up to, and each
/// really waited (the run took at least their sum).
#[track_caller]
fn backed_off(out: &Output, retries: u32) {
    let waits = announced_waits(out);
    assert_eq!(waits.len(), retries as usize, "retries announced\n{out}");
    let total: Duration = waits.iter().sum();
    assert!(
        total <= max_backoff(),
        "{total:?} of backoff in all, more than {:?}\n{out}",
        max_backoff()
    );
    assert!(
        out.elapsed >= total,
        "announced {total:?} of waiting but was done sooner\n{out}"
    );
}

/// A run meant to end by the timeout: it waited that long (no less) for one
/// attempt of `method url`, and did not try again.
#[track_caller]
fn timed_out_once(out: &Output, method: &str, url: &str) {
    assert!(
        out.elapsed >= Duration::from_secs(TIMEOUT),
        "ended before the timeout\n{out}"
    );
    assert_eq!(logged_attempts(out, method, url), 1, "{out}");
    assert_eq!(
        announced_waits(out),
        Vec::<Duration>::new(),
        "a timeout is not retried\n{out}"
    );
}

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

#[test]
fn a_hung_token_endpoint_costs_the_timeout_then_exit_5() {
    let (fake, env) = world();
    fake.push_fault(Route::Token, Fault::Hang);
    let out = check_timing_out(&env).run_within(HANG);
    out.code(5);
    timed_out_once(&out, "POST", &fake.auth_url());
    says(
        &out,
        &format!("no answer from {} after {TIMEOUT} s", host(&fake)),
    );
    says(&out, "--timeout");
    assert_eq!(
        fake.token_requests(),
        1,
        "a token request that timed out is not sent again"
    );
    assert_eq!(fake.probe_requests(), 0);
}

#[test]
fn a_hung_api_costs_the_timeout_once_not_once_per_retry() {
    let (fake, env) = world();
    for _ in 0..=MAX_RETRIES {
        fake.push_fault(Route::Probe, Fault::Hang);
    }
    let out = check_timing_out(&env)
        .args_remove("--timeout")
        .env("ST_TIMEOUT", &TIMEOUT.to_string())
        .run_within(HANG);
    out.code(5);
    timed_out_once(&out, "GET", &probe_url(&fake));
    says(
        &out,
        &format!("no answer from {} after {TIMEOUT} s", host(&fake)),
    );
    assert_eq!(fake.probe_requests(), 1);
    no_tokens(&fake, &out);
}

/// A listening socket whose accept queue is full: a new connection is never
/// accepted (the kernel drops its SYN), so only the connect timeout ends it.
#[cfg(target_os = "linux")]
fn never_accepting() -> (TcpListener, TcpStream, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let loopback: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    socket.bind(&loopback.into()).expect("bind");
    socket.listen(0).expect("listen");
    let listener: TcpListener = socket.into();
    let addr = listener.local_addr().unwrap();
    // Fill the one slot of the accept queue.
    let filler = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).expect("filler");
    // Prove the queue is full before relying on it.
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err(),
        "the kernel accepted a connection beyond the backlog"
    );
    (listener, filler, addr.port())
}

#[cfg(target_os = "linux")]
#[test]
fn a_connection_never_accepted_costs_the_connect_timeout() {
    let (fake, env) = world();
    let (_listener, _filler, port) = never_accepting();
    let auth = format!("http://127.0.0.1:{port}/connect/token");
    let out = check_timing_out(&env)
        .env("ST_AUTH_URL", &auth)
        .run_within(HANG);
    out.code(5);
    timed_out_once(&out, "POST", &auth);
    says(
        &out,
        &format!("no answer from 127.0.0.1:{port} after {TIMEOUT} s"),
    );
    assert!(fake.requests().is_empty());
}

// ---------------------------------------------------------------------------
// Connections refused and reset
// ---------------------------------------------------------------------------

#[test]
fn a_refused_connection_is_retried_then_named() {
    let (fake, env) = world();
    let port = closed_port();
    let auth = format!("http://127.0.0.1:{port}/connect/token");
    let out = check(&env)
        .arg("-v")
        .env("ST_AUTH_URL", &auth)
        .run_within(HANG);
    out.code(5);
    backed_off(&out, MAX_RETRIES);
    says(
        &out,
        &format!("could not connect to 127.0.0.1:{port}: connection refused"),
    );
    // Refused proves the server never saw the request: the token request is retried.
    assert_eq!(
        logged_attempts(&out, "POST", &auth),
        1 + MAX_RETRIES as usize,
        "{out}"
    );
    out.stderr_has(&format!(
        "attempt {} of {}",
        MAX_RETRIES + 1,
        MAX_RETRIES + 1
    ));
    assert!(fake.requests().is_empty());
}

#[test]
fn the_token_request_is_not_retried_after_a_reset_or_a_502() {
    let faults = [
        (Fault::Reset, "was closed before the answer was complete"),
        (
            Fault::ResetMidResponse,
            "was closed before the answer was complete",
        ),
        (
            status(
                502,
                &[("Content-Type", "text/html")],
                "<html><body>Bad Gateway</body></html>",
            ),
            "had a server error (HTTP 502)",
        ),
        (status(504, &[], ""), "had a server error (HTTP 504)"),
    ];
    for (fault, message) in faults {
        let (fake, env) = world();
        fake.push_fault(Route::Token, fault.clone());
        let out = check(&env).run_within(HANG);
        out.code(5);
        says(&out, &format!("{} {message}", host(&fake)));
        assert_eq!(
            fake.token_requests(),
            1,
            "the server may have acted on the token request, so it is not sent again after {fault:?}"
        );
    }
}

#[test]
fn an_api_reset_mid_response_is_retried_and_then_given_up() {
    // One reset: the retry succeeds.
    let (fake, env) = world();
    fake.push_fault(Route::Probe, Fault::ResetMidResponse);
    let out = check(&env).arg("-v").run_within(HANG);
    out.code(0);
    backed_off(&out, 1);
    assert_eq!(fake.probe_requests(), 2);
    no_tokens(&fake, &out);

    // Resets every time: given up after the bound.
    let (fake, env) = world();
    for _ in 0..10 {
        fake.push_fault(Route::Probe, Fault::ResetMidResponse);
    }
    let out = check(&env).arg("-v").run_within(HANG);
    out.code(5);
    backed_off(&out, MAX_RETRIES);
    says(
        &out,
        &format!(
            "the connection to {} was closed before the answer was complete",
            host(&fake)
        ),
    );
    assert_eq!(fake.probe_requests(), 1 + MAX_RETRIES as usize);
    no_tokens(&fake, &out);
}

// ---------------------------------------------------------------------------
// Status codes
// ---------------------------------------------------------------------------

#[test]
fn a_500_is_a_server_error_and_not_retried() {
    let (fake, env) = world();
    fake.push_fault(
        Route::Token,
        status(
            500,
            &[("Content-Type", "application/problem+json")],
            r#"{"title":"Internal Server Error","traceId":"00-abc"}"#,
        ),
    );
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!("{} had a server error (HTTP 500)", host(&fake)),
    );
    says(&out, "Internal Server Error");
    assert_eq!(fake.token_requests(), 1);

    let (fake, env) = world();
    fake.push_fault(Route::Probe, status(500, &[], ""));
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!("{} had a server error (HTTP 500)", host(&fake)),
    );
    assert_eq!(fake.probe_requests(), 1);
    no_tokens(&fake, &out);
}

#[test]
fn a_503_then_200_is_retried_and_succeeds() {
    let (fake, env) = world();
    fake.push_fault(Route::Token, status(503, &[], "busy"));
    let out = check(&env).arg("-v").run_within(HANG);
    out.code(0);
    backed_off(&out, 1);
    assert_eq!(
        fake.token_requests(),
        2,
        "503 proves the token request was not processed"
    );
    assert_eq!(fake.probe_requests(), 1);
    no_tokens(&fake, &out);

    let (fake, env) = world();
    fake.push_fault(Route::Probe, status(503, &[], "busy"));
    fake.push_fault(Route::Probe, status(502, &[], "bad gateway"));
    fake.push_fault(Route::Probe, status(504, &[], "gateway timeout"));
    let out = check(&env).arg("-v").run_within(HANG);
    out.code(0);
    backed_off(&out, 3);
    assert_eq!(fake.probe_requests(), 4);
    no_tokens(&fake, &out);
}

#[test]
fn a_429_with_retry_after_waits_that_long_then_succeeds() {
    for route in [Route::Token, Route::Probe] {
        let (fake, env) = world();
        fake.push_fault(route, status(429, &[("Retry-After", "1")], ""));
        let out = check(&env).arg("-v").run_within(HANG);
        out.code(0).stderr_has("retrying in 1000 ms (attempt 2 of");
        // Waited that long once: not also a backoff, not again.
        assert_eq!(
            announced_waits(&out),
            [Duration::from_secs(1)],
            "{route:?}\n{out}"
        );
        assert!(
            out.elapsed >= Duration::from_secs(1),
            "Retry-After: 1 was not honoured\n{out}"
        );
        let (tokens, probes) = if route == Route::Token {
            (2, 1)
        } else {
            (1, 2)
        };
        assert_eq!(fake.token_requests(), tokens, "{route:?}");
        assert_eq!(fake.probe_requests(), probes, "{route:?}");
        no_tokens(&fake, &out);
    }
}

#[test]
fn a_503_with_retry_after_as_an_http_date_is_honoured() {
    let (fake, env) = world();
    // Three seconds from now, cut to the second: still more than two seconds
    // from the moment st-setup reads it, so at least one second in any case.
    let sent = std::time::SystemTime::now();
    let when = httpdate::fmt_http_date(sent + Duration::from_secs(3));
    // The most st-setup can wait for that date: it reads it after `sent`.
    let until = httpdate::parse_http_date(&when)
        .unwrap()
        .duration_since(sent)
        .unwrap_or_default();
    fake.push_fault(Route::Token, status(503, &[("Retry-After", &when)], ""));
    let out = check(&env).arg("-v").run_within(HANG);
    out.code(0);
    assert!(
        out.elapsed >= Duration::from_secs(1),
        "Retry-After: {when} was not honoured\n{out}"
    );
    // One wait, until that date and no later (not the cap, no backoff on
    // top, not twice).
    let waits = announced_waits(&out);
    assert!(
        waits.len() == 1 && waits[0] <= until,
        "{waits:?}, at most {until:?}\n{out}"
    );
    assert_eq!(fake.token_requests(), 2);
    no_tokens(&fake, &out);
}

#[test]
fn a_429_forever_gives_up_after_the_bound() {
    let (fake, env) = world();
    for _ in 0..10 {
        fake.push_fault(Route::Token, status(429, &[], ""));
    }
    let out = check(&env).arg("-v").run_within(HANG);
    out.code(5);
    backed_off(&out, MAX_RETRIES);
    says(
        &out,
        &format!("{} is rate limiting requests (HTTP 429)", host(&fake)),
    );
    assert_eq!(fake.token_requests(), 1 + MAX_RETRIES as usize);
    assert_eq!(fake.probe_requests(), 0);
}

#[test]
fn client_errors_are_never_retried() {
    for code in [400, 401, 403, 404] {
        let (fake, env) = world();
        fake.push_fault(
            Route::Token,
            status(
                code,
                &[("Content-Type", "application/json")],
                r#"{"error":"invalid_client"}"#,
            ),
        );
        let out = check(&env).run_within(HANG);
        out.code(3);
        says(&out, &format!("HTTP {code}: invalid_client"));
        assert_eq!(fake.token_requests(), 1, "token {code}");
    }
    for (code, exit) in [(400, 5), (401, 4), (403, 4), (404, 4)] {
        let (fake, env) = world();
        fake.push_fault(Route::Probe, status(code, &[], ""));
        let out = check(&env).run_within(HANG);
        out.code(exit);
        says(&out, &format!("HTTP {code}"));
        assert_eq!(fake.probe_requests(), 1, "probe {code}");
        no_tokens(&fake, &out);
    }
}

// ---------------------------------------------------------------------------
// Bodies: HTML, truncated, wrong shape, too large
// ---------------------------------------------------------------------------

#[test]
fn an_html_502_is_explained_with_the_status_and_its_first_bytes() {
    let (fake, env) = world();
    let html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    for _ in 0..=MAX_RETRIES {
        fake.push_fault(
            Route::Probe,
            status(502, &[("Content-Type", "text/html")], html),
        );
    }
    let out = check(&env).arg("-v").run_within(HANG);
    out.code(5);
    backed_off(&out, MAX_RETRIES);
    says(
        &out,
        &format!("{} had a server error (HTTP 502)", host(&fake)),
    );
    says(&out, "<html><head><title>502 Bad Gateway");
    assert_eq!(fake.probe_requests(), 1 + MAX_RETRIES as usize);
    no_tokens(&fake, &out);
}

#[test]
fn truncated_json_is_explained_without_the_token() {
    // The connection closes before the promised Content-Length arrived.
    let (fake, mut env) = world();
    let body = r#"{"access_token":"eyJpartialtokenvalue0123456789","expires_in":900,"token_type":"Bearer"}"#;
    fake.push_fault(
        Route::Token,
        Fault::Truncated {
            status: 200,
            body: body.as_bytes().to_vec(),
        },
    );
    env.forbid("eyJpartialtokenvalue");
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "the connection to {} was closed in the middle of the answer (HTTP 200, {} of {} \
             bytes of the body received)",
            host(&fake),
            body.len() / 2,
            body.len()
        ),
    );
    assert_eq!(fake.token_requests(), 1);

    // A complete response whose JSON stops half-way.
    let (fake, mut env) = world();
    env.forbid("eyJpartialtokenvalue");
    fake.push_fault(
        Route::Token,
        status(
            200,
            &[("Content-Type", "application/json")],
            r#"{"token_type":"Bearer","access_token":"eyJpartialtokenvalue"#,
        ),
    );
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(
        &out,
        "answered HTTP 200 with something that is not a token response",
    );
    says(&out, r#"{"token_type":"Bearer","#);

    // The API's JSON cut short.
    let (fake, env) = world();
    fake.push_fault(
        Route::Probe,
        status(
            200,
            &[("Content-Type", "application/json")],
            r#"{"page":1,"data":[{"id":"#,
        ),
    );
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(&out, "the API answered HTTP 200 but the body is not JSON");
    says(&out, r#"{"page":1,"data":[{"id":"#);
    no_tokens(&fake, &out);
}

#[test]
fn json_without_an_access_token_is_explained() {
    let (fake, env) = world();
    fake.push_fault(
        Route::Token,
        status(
            200,
            &[("Content-Type", "application/json")],
            r#"{"token_type":"Bearer","expires_in":900}"#,
        ),
    );
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(&out, "answered HTTP 200 without an access_token");
    says(&out, r#""token_type":"Bearer""#);
    assert_eq!(fake.probe_requests(), 0);
}

/// A server on 127.0.0.1 that hands every connection to `handler`, for
/// answers the fake cannot give.
struct RawServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    fn start(handler: impl Fn(TcpStream) + Send + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
                handler(stream);
            }
        });
        RawServer {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// Answers every request with a chunked body of `len` bytes: no
    /// Content-Length, so the size is only found out by reading.
    fn chunked(len: usize) -> RawServer {
        RawServer::start(move |mut stream| {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                  Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            );
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 0;
            while sent < len {
                let n = chunk.len().min(len - sent);
                let framed = [format!("{n:x}\r\n").as_bytes(), &chunk[..n], b"\r\n"].concat();
                if stream.write_all(&framed).is_err() {
                    return;
                }
                sent += n;
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        })
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_5_mib_body_is_refused_clearly() {
    let five_mib = 5 * 1024 * 1024;
    let cap = format!("larger than {} KiB", MAX_BODY_BYTES / 1024);

    // Announced by Content-Length, from a server that echoes the request
    // (with the secret) before its padding.
    let (fake, env) = world();
    let mut body = format!(
        "echo: grant_type=client_credentials&client_secret={} ",
        env.creds.client_secret
    )
    .into_bytes();
    body.resize(five_mib, b'a');
    fake.push_fault(
        Route::Token,
        Fault::Status {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        },
    );
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(&out, &format!("{} sent a response {cap}", host(&fake)));
    says(&out, "HTTP 200");
    says(
        &out,
        "It starts: echo: grant_type=client_credentials&client_secret=[REDACTED]",
    );
    out.stderr_lacks("panicked");

    // Only found out by reading (chunked, no Content-Length), on the API.
    let (fake, env) = world();
    let big = RawServer::chunked(five_mib);
    let out = check(&env)
        .env("ST_API_URL", &format!("http://127.0.0.1:{}", big.port))
        .run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!("127.0.0.1:{} sent a response {cap}", big.port),
    );
    out.stderr_lacks("panicked");
    no_tokens(&fake, &out);
}

#[test]
fn a_secret_echoed_across_the_first_chunk_of_a_too_large_body_is_never_half_shown() {
    // A token endpoint that echoes the Client Secret after ~100 bytes of a
    // body announced as 5 MiB, and sends it in two pieces with a pause
    // between them: the first piece read ends in the middle of the secret.
    let env = TestEnv::new();
    let secret = env.creds.client_secret.clone();
    let (head, tail) = secret.split_at(secret.len() / 2);
    let lead = format!(
        "{{\"error\":\"echo\",\"padding\":\"{}\",\"got\":\"",
        "p".repeat(60)
    );
    assert!((90..=110).contains(&lead.len()), "{}", lead.len());
    let first = format!("{lead}{head}");
    let rest = format!("{tail}\"}}{}", " ".repeat(16 * 1024));
    let server = RawServer::start(move |mut stream| {
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
            request.push(byte[0]);
        }
        let announced = 5 * 1024 * 1024;
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Content-Length: {announced}\r\nConnection: close\r\n\r\n{first}"
            )
            .as_bytes(),
        );
        let _ = stream.flush();
        // Pacing only: st-setup reads what has arrived as one chunk.
        thread::sleep(Duration::from_millis(300));
        let _ = stream.write_all(rest.as_bytes());
        // Read the request body and wait for st-setup to hang up (or the
        // read timeout), so nothing is reset under what it still reads.
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
    });
    let out = check(&env)
        .env(
            "ST_AUTH_URL",
            &format!("http://127.0.0.1:{}/connect/token", server.port),
        )
        .run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!("127.0.0.1:{} sent a response larger than", server.port),
    );
    says(&out, "It starts: {\"error\":\"echo\"");
    says(&out, "\"got\":\"[REDACTED]");
    // No piece of it either: its start, its middle or its last 8 characters.
    for piece in [&secret[..8], &secret[20..28], &secret[secret.len() - 8..]] {
        out.stdout_lacks(piece).stderr_lacks(piece);
    }
}

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

/// Nothing with a credential reached `other`.
#[track_caller]
fn nothing_reached(other: &FakeServiceTitan, env: &TestEnv) {
    let requests = other.requests();
    for r in &requests {
        assert!(r.header("authorization").is_none(), "{r:?}");
        assert!(r.header("st-app-key").is_none(), "{r:?}");
        assert!(
            !String::from_utf8_lossy(&r.body).contains(&env.creds.client_secret),
            "{r:?}"
        );
    }
    assert!(requests.is_empty(), "{requests:?}");
}

#[test]
fn api_redirects_to_another_port_or_host_are_not_followed() {
    let probe_path = "/settings/v2/tenant/8450/business-units?page=1&pageSize=1";
    let other = FakeServiceTitan::start(Credentials::demo());

    // Another port.
    let (fake, env) = world();
    fake.push_fault(
        Route::Probe,
        Fault::Redirect {
            status: 302,
            location: format!("{}{probe_path}", other.api_url()),
        },
    );
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "{} answered HTTP 302 with a redirect to http://127.0.0.1:{}",
            host(&fake),
            other.port()
        ),
    );
    says(&out, "does not follow");
    nothing_reached(&other, &env);
    no_tokens(&fake, &out);

    // Another host name for the same server: still another host.
    let (fake, env) = world();
    fake.push_fault(
        Route::Probe,
        Fault::Redirect {
            status: 307,
            location: format!("http://localhost:{}{probe_path}", fake.port()),
        },
    );
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!("a redirect to http://localhost:{}", fake.port()),
    );
    assert_eq!(fake.probe_requests(), 1, "the redirect was followed");

    // The same origin: followed.
    let (fake, env) = world();
    fake.push_fault(
        Route::Probe,
        Fault::Redirect {
            status: 301,
            location: probe_path.into(),
        },
    );
    let out = check(&env).run_within(HANG);
    out.code(0);
    assert_eq!(fake.probe_requests(), 2);
    let followed = fake.requests().pop().unwrap();
    assert_eq!(
        followed.header("st-app-key"),
        Some(env.creds.app_key.as_str())
    );
    no_tokens(&fake, &out);
}

#[test]
fn the_token_request_is_never_redirected() {
    let other = FakeServiceTitan::start(Credentials::demo());
    for location in [other.auth_url(), "/connect/token".to_string()] {
        let (fake, env) = world();
        fake.push_fault(
            Route::Token,
            Fault::Redirect {
                status: 307,
                location: location.clone(),
            },
        );
        let out = check(&env).run_within(HANG);
        out.code(5);
        says(
            &out,
            &format!("{} answered HTTP 307 with a redirect", host(&fake)),
        );
        says(
            &out,
            "the token request carries the Client Secret and is never redirected",
        );
        assert_eq!(
            fake.token_requests(),
            1,
            "followed a redirect to {location}"
        );
        nothing_reached(&other, &env);
    }
}

// ---------------------------------------------------------------------------
// https only, except loopback
// ---------------------------------------------------------------------------

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    for (var, url) in [
        ("ST_AUTH_URL", "http://auth.example.com/connect/token"),
        ("ST_API_URL", "http://api.example.com"),
    ] {
        let (fake, env) = world();
        let out = check(&env).env(var, url).run_within(HANG);
        out.code(2);
        says(&out, &format!("{var} uses plain http to"));
        says(&out, "https://");
        // Not even the token request went to the (loopback) other endpoint.
        assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    }
}

// ---------------------------------------------------------------------------
// Real TLS
// ---------------------------------------------------------------------------

/// A fake behind a TLS front with a test CA; the CA file is in `env`'s directory.
fn tls_world() -> (FakeServiceTitan, TlsFront, TestEnv, std::path::PathBuf) {
    let (fake, mut env) = world();
    let pki = TestPki::generate();
    let front = TlsFront::start(&pki, fake.port());
    let ca = pki.write_ca(env.dir.path());
    env.set_env(
        "ST_AUTH_URL",
        &format!("{}/connect/token", front.origin("127.0.0.1")),
    );
    env.set_env("ST_API_URL", &front.origin("localhost"));
    (fake, front, env, ca)
}

#[test]
fn tls_with_the_test_ca_succeeds_by_flag_or_ssl_cert_file() {
    let (fake, front, env, ca) = tls_world();
    let ca = ca.to_str().unwrap();
    let out = check(&env).arg("--ca-bundle").arg(ca).run_within(HANG);
    out.code(0);
    assert_eq!(fake.token_requests(), 1);
    assert_eq!(fake.probe_requests(), 1);
    assert!(front.handshakes() >= 1);
    no_tokens(&fake, &out);

    let out = check(&env).env("SSL_CERT_FILE", ca).run_within(HANG);
    out.code(0);
    assert_eq!(fake.probe_requests(), 2);
    no_tokens(&fake, &out);

    // A redirect from https to http on the same host and port is not followed.
    let location = format!(
        "http://localhost:{}/settings/v2/tenant/8450/business-units",
        front.port()
    );
    fake.push_fault(
        Route::Probe,
        Fault::Redirect {
            status: 302,
            location,
        },
    );
    let out = check(&env).arg("--ca-bundle").arg(ca).run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "a redirect to http://localhost:{}, which st-setup does not follow",
            front.port()
        ),
    );
    assert_eq!(fake.probe_requests(), 3);
    no_tokens(&fake, &out);
}

#[test]
fn an_unknown_certificate_authority_is_a_clear_tls_error() {
    let (fake, front, env, _ca) = tls_world();
    let out = check(&env).run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "the TLS certificate of 127.0.0.1:{} was not accepted: it was issued by a \
             certificate authority this computer does not trust",
            front.port()
        ),
    );
    says(&out, "--ca-bundle FILE");
    assert!(fake.requests().is_empty(), "nothing got past the handshake");
    assert_eq!(front.handshakes(), 0);
    // The token request's own connection, after the one opened for it while
    // the secret was read failed, and perhaps the API host's opened then too
    // (one front serves both): never a retry.
    assert!(
        (2..=3).contains(&front.accepted()),
        "a certificate error is not retried: {} connections",
        front.accepted()
    );
    let failures = front.failures_once_served(HANG);
    assert!(
        failures.iter().any(|f| f.contains("UnknownCA")),
        "the client should have refused the certificate with an alert: {failures:?}"
    );
}

#[test]
fn without_any_system_certificate_authority_only_tls_fails_and_it_says_why() {
    // SSL_CERT_DIR tells the platform verifier where this computer's
    // certificate authorities are: an empty directory is a system without any.
    let (fake, front, env, ca) = tls_world();
    let none = env.dir.path().join("no-certificate-authorities");
    std::fs::create_dir(&none).unwrap();
    let none = none.to_str().unwrap();
    let out = check(&env).env("SSL_CERT_DIR", none).run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "could not check the TLS certificate of 127.0.0.1:{}: could not load this \
             computer's trusted certificate authorities",
            front.port()
        ),
    );
    says(
        &out,
        "Install them (Debian: the ca-certificates package) or give --ca-bundle FILE.",
    );
    assert!(fake.requests().is_empty(), "nothing got past the handshake");
    assert_eq!(front.handshakes(), 0);

    // The test CA given: it is trusted on its own.
    let out = check(&env)
        .env("SSL_CERT_DIR", none)
        .arg("--ca-bundle")
        .arg(ca.to_str().unwrap())
        .run_within(HANG);
    out.code(0);
    assert_eq!(fake.probe_requests(), 1);
    no_tokens(&fake, &out);

    // Plain http needs no certificate authority at all.
    let (fake, env) = world();
    check(&env)
        .env("SSL_CERT_DIR", none)
        .run_within(HANG)
        .code(0);
    assert_eq!(fake.probe_requests(), 1);
}

#[test]
fn a_ca_bundle_certificate_that_cannot_be_an_authority_is_named_at_the_handshake() {
    // Valid PEM around bytes that are no certificate: read at the start
    // (decoding only), refused where the authorities are loaded.
    let (fake, front, env, _ca) = tls_world();
    let bundle = env.dir.path().join("corp-ca.pem");
    std::fs::write(
        &bundle,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = check(&env)
        .arg("--ca-bundle")
        .arg(bundle.to_str().unwrap())
        .run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "could not check the TLS certificate of 127.0.0.1:{}: {} (--ca-bundle / \
             SSL_CERT_FILE) holds a certificate that cannot be a certificate authority",
            front.port(),
            bundle.display()
        ),
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn a_certificate_for_another_host_name_is_named() {
    let (fake, env) = world();
    let pki = TestPki::generate_for(&["localhost"]);
    let front = TlsFront::start(&pki, fake.port());
    let ca = pki.write_ca(env.dir.path());
    let out = check(&env)
        .arg("--ca-bundle")
        .arg(ca.to_str().unwrap())
        .env(
            "ST_AUTH_URL",
            &format!("{}/connect/token", front.origin("127.0.0.1")),
        )
        .run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "the TLS certificate of 127.0.0.1:{} was not accepted: it was issued for another \
             host name",
            front.port()
        ),
    );
    assert!(fake.requests().is_empty());
    // One handshake for the connection opened while the secret was read, one
    // for the request's own when that failed; no retry after that.
    assert_eq!(front.accepted(), 2, "a certificate error is not retried");
}

#[test]
fn https_to_a_port_that_speaks_plain_http_is_a_tls_error() {
    let (fake, env) = world();
    // What a plain-http server answers to a TLS hello.
    let plain = RawServer::start(|mut stream| {
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello);
        let _ = stream.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    let out = check(&env)
        .env(
            "ST_AUTH_URL",
            &format!("https://127.0.0.1:{}/connect/token", plain.port),
        )
        .run_within(HANG);
    out.code(5);
    says(&out, &format!("TLS with 127.0.0.1:{} failed", plain.port));
    says(&out, "speaks https");
    assert!(fake.requests().is_empty());
}

/// Run `cmd` in a network namespace of its own, where only a loopback that is
/// down exists: nothing it sends can leave this machine, and a DNS query fails
/// at once (the resolver is unreachable) instead of reaching a real server.
#[cfg(target_os = "linux")]
fn run_without_network(cmd: Cmd) -> Output {
    // --map-root-user: an unprivileged user may make the namespace too.
    cmd.wrapped_in(&["unshare", "--map-root-user", "--net", "--"])
        .run_within(HANG)
}

#[cfg(target_os = "linux")]
#[test]
fn an_unresolvable_host_is_a_dns_error() {
    let (_fake, env) = world();
    let cmd = check(&env).env(
        "ST_AUTH_URL",
        "https://auth.st-setup-test.invalid/connect/token",
    );
    let out = run_without_network(cmd);
    out.stderr_lacks("unshare:");
    out.code(5);
    says(
        &out,
        "could not resolve auth.st-setup-test.invalid (DNS): check the host name and your network",
    );
    for secret in [&env.creds.client_secret, &env.creds.app_key] {
        out.stdout_lacks(secret).stderr_lacks(secret);
    }
}

#[test]
fn an_unusable_ca_bundle_is_a_usage_error() {
    let (fake, env) = world();
    let missing = env.dir.path().join("missing.pem");
    let out = check(&env)
        .arg("--ca-bundle")
        .arg(missing.to_str().unwrap())
        .run_within(HANG);
    out.code(2);
    says(&out, "could not read the CA bundle");
    let empty = env.dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let out = check(&env)
        .arg("--ca-bundle")
        .arg(empty.to_str().unwrap())
        .run_within(HANG);
    out.code(2);
    says(&out, "contains no PEM certificates");
    assert!(fake.requests().is_empty());
}

// ---------------------------------------------------------------------------
// Proxies
// ---------------------------------------------------------------------------

#[test]
fn https_proxy_carries_the_request_and_its_password_is_never_shown() {
    let (fake, front, mut env, ca) = tls_world();
    let proxy = HttpProxy::start();
    let password = "pr0xy-pa55word";
    env.forbid(password);
    let origin = front.origin("localhost");
    let out = check(&env)
        .arg("--ca-bundle")
        .arg(ca.to_str().unwrap())
        .arg("-v")
        .env("ST_AUTH_URL", &format!("{origin}/connect/token"))
        .env("ST_API_URL", &origin)
        .env("HTTPS_PROXY", &proxy.url_with_auth("alice", password))
        .run_within(HANG);
    out.code(0);
    out.stderr_has(&format!(
        "proxy setting HTTPS_PROXY=http://alice:***@127.0.0.1:{}",
        proxy.port()
    ));
    let carried = proxy.carried();
    assert!(!carried.is_empty(), "the proxy carried nothing");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:{password}"));
    for c in &carried {
        assert_eq!(c.method, "CONNECT", "{c:?}");
        assert_eq!(c.target, format!("localhost:{}", front.port()), "{c:?}");
        assert_eq!(
            c.header("proxy-authorization"),
            Some(format!("Basic {basic}").as_str())
        );
    }
    assert!(proxy.bytes_down() > 0);
    out.stderr_has(&format!(
        "POST {origin}/connect/token via proxy http://alice:***@127.0.0.1:{} -> 200 in ",
        proxy.port()
    ));
    assert_eq!(fake.token_requests(), 1);
    assert_eq!(fake.probe_requests(), 1);
    no_tokens(&fake, &out);
}

#[test]
fn http_proxy_forwards_plain_requests_and_no_proxy_bypasses_it() {
    let (fake, env) = world();
    let proxy = HttpProxy::start();
    let out = check(&env)
        .arg("-v")
        .env("HTTP_PROXY", &proxy.url())
        .run_within(HANG);
    out.code(0);
    out.stderr_has(&format!("proxy setting HTTP_PROXY={}", proxy.url()));
    let targets: Vec<String> = proxy
        .carried()
        .iter()
        .map(|c| format!("{} {}", c.method, c.target))
        .collect();
    let base = fake.api_url();
    assert_eq!(
        targets,
        [
            format!("POST {base}/connect/token"),
            format!("GET {base}/settings/v2/tenant/8450/business-units?page=1&pageSize=1"),
        ]
    );
    no_tokens(&fake, &out);

    // NO_PROXY (and the lowercase spellings) keep the request direct.
    for (proxy_var, no_proxy_var) in [("HTTP_PROXY", "NO_PROXY"), ("http_proxy", "no_proxy")] {
        let proxy = HttpProxy::start();
        let out = check(&env)
            .arg("-v")
            .env(proxy_var, &proxy.url())
            .env(no_proxy_var, "localhost,127.0.0.1")
            .run_within(HANG);
        out.code(0);
        out.stderr_has(&format!("proxy setting {no_proxy_var}=localhost,127.0.0.1"));
        assert!(proxy.carried().is_empty(), "{:?}", proxy.carried());
        no_tokens(&fake, &out);
    }
}

#[test]
fn a_proxy_that_wants_a_password_says_so() {
    let (fake, front, mut env, ca) = tls_world();
    let proxy = HttpProxy::start_with_auth("alice", "letmein-2024");
    env.forbid("letmein-2024");
    let out = check(&env)
        .arg("--ca-bundle")
        .arg(ca.to_str().unwrap())
        .env("HTTPS_PROXY", &proxy.url())
        .run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "the proxy 127.0.0.1:{} (HTTPS_PROXY) did not connect st-setup to 127.0.0.1:{}: \
             it asks for a user name and password (HTTP 407)",
            proxy.port(),
            front.port()
        ),
    );
    // The token request's own CONNECT, after the one made while the secret
    // was read was refused, and perhaps the API host's made then too: never
    // a retry.
    assert!(
        (2..=3).contains(&proxy.carried().len()),
        "not retried: {:?}",
        proxy.carried()
    );
    assert!(fake.requests().is_empty());

    let out = check(&env)
        .arg("--ca-bundle")
        .arg(ca.to_str().unwrap())
        .env("HTTPS_PROXY", &proxy.url_with_auth("alice", "letmein-2024"))
        .run_within(HANG);
    out.code(0);
    no_tokens(&fake, &out);
}

#[test]
fn a_socks_proxy_is_refused_only_where_it_would_be_used() {
    let (fake, env) = world();
    let socks = "socks5://127.0.0.1:1080";
    let out = check(&env)
        .arg("-v")
        .env("ALL_PROXY", socks)
        .run_within(HANG);
    out.code(5);
    says(
        &out,
        &format!(
            "could not reach {}: ALL_PROXY={socks} is a socks5:// proxy, and st-setup supports \
             only http:// and https:// proxies",
            host(&fake)
        ),
    );
    out.stderr_has(&format!("proxy setting ALL_PROXY={socks} (not usable: "));
    assert!(fake.requests().is_empty());

    // HTTP_PROXY takes precedence for http URLs: the SOCKS setting is not used.
    let proxy = HttpProxy::start();
    let out = check(&env)
        .env("ALL_PROXY", socks)
        .env("HTTP_PROXY", &proxy.url())
        .run_within(HANG);
    out.code(0);
    assert_eq!(proxy.carried().len(), 2);
    no_tokens(&fake, &out);
}

#[test]
fn an_unreachable_proxy_is_named() {
    let (fake, front, env, ca) = tls_world();
    let port = closed_port();
    let out = check(&env)
        .arg("--ca-bundle")
        .arg(ca.to_str().unwrap())
        .env("HTTPS_PROXY", &format!("http://127.0.0.1:{port}"))
        .arg("-v")
        .run_within(HANG);
    out.code(5);
    backed_off(&out, MAX_RETRIES);
    says(
        &out,
        &format!(
            "could not connect to the proxy 127.0.0.1:{port} (HTTPS_PROXY) on the way to \
             127.0.0.1:{}: connection refused",
            front.port()
        ),
    );
    assert!(fake.requests().is_empty());
    assert_eq!(front.handshakes(), 0);
}

// ---------------------------------------------------------------------------
// --verbose
// ---------------------------------------------------------------------------

#[test]
fn verbose_logs_each_request_and_no_secret() {
    let (fake, env) = world();
    fake.push_fault(Route::Token, status(503, &[], ""));
    let out = check(&env).arg("--verbose").run_within(HANG);
    out.code(0);
    let base = fake.api_url();
    let lines: Vec<&str> = out.stderr.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, (request, status)) in lines.iter().zip([
        (format!("POST {base}/connect/token"), 503),
        (format!("POST {base}/connect/token"), 200),
        (
            format!("GET {base}/settings/v2/tenant/8450/business-units?page=1&pageSize=1"),
            200,
        ),
    ]) {
        let expected = format!("{request} -> {status} in ");
        assert!(line.contains(&expected), "{line:?} lacks {expected:?}");
        assert!(line.trim_end().ends_with(" ms"), "{line:?}");
    }
    out.stderr_has("retrying in");
    let tokens = fake.issued_tokens();
    assert_eq!(tokens.len(), 1);
    no_tokens(&fake, &out);
    out.stderr_lacks(&env.creds.app_key);
    out.stderr_lacks(&env.creds.client_secret);
    out.stderr_lacks("Bearer");
}

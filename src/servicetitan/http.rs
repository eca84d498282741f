//! The HTTP transport under every ServiceTitan call: one connection pool,
//! timeouts, bounded retries with backoff, a response size cap, no redirects
//! followed off the configured host, proxies (see [`super::proxy`]) and extra CA
//! certificates, and `--verbose` request logging that never prints a header or
//! a body.
//!
//! Failures come back as [`NetworkError`], which names the host and the kind of
//! failure; they are never confused with a credential being wrong.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use url::Url;

use super::early::{EarlyConnections, EarlyLayer, Purpose, with_purpose};
use super::proxy::{Proxy, ProxyConfig, Route};
use super::scrub::spellings;
pub(crate) use super::scrub::{scrubbed_excerpt, scrubbed_prefix_excerpt};
use crate::error::{Error, Result};
use crate::ui::Ui;

/// Largest response body read; a bigger one is reported, not buffered.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Characters of a body too large to read shown in its error.
const TOO_LARGE_EXCERPT_CHARS: usize = 120;
/// Retries after the first attempt for retryable failures.
pub const MAX_RETRIES: u32 = 3;
/// Longest wait honoured from a `Retry-After` header.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Redirects followed within the same origin for API calls.
const MAX_REDIRECTS: usize = 5;

#[derive(Clone, Debug)]
pub(crate) struct HttpSettings {
    /// Whole-request timeout (connect, send, read the body).
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    /// Extra PEM CA certificates, trusted in addition to the platform's.
    pub(crate) ca_bundle: Option<PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            ca_bundle: None,
        }
    }
}

/// What kind of network failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailureKind {
    Dns,
    Refused,
    Reset,
    Tls,
    Timeout,
    /// The server answered, but with an error status after all retries.
    Status,
    /// The server answered with a body that could not be understood.
    BadResponse,
    /// A redirect that st-setup will not follow.
    Redirect,
    /// The proxy answered but would not open the connection.
    Proxy,
    Other,
}

#[derive(Clone, Debug)]
pub(crate) struct NetworkError {
    pub(crate) kind: FailureKind,
    pub(crate) host: String,
    pub(crate) message: String,
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<NetworkError> for Error {
    fn from(err: NetworkError) -> Self {
        Error::Network(err.message)
    }
}

/// Which failures a request may be retried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryPolicy {
    /// Reads: retry 429, 502, 503, 504, refused and reset connections (not
    /// timeouts: a hung server costs the timeout once).
    Idempotent,
    /// The token request carries the secret and may be throttled: retry only
    /// when the server provably did not process it (connection refused, 429, 503).
    Unprocessed,
}

/// A request to send: everything needed to send it again on a retry.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<&'a [u8]>,
    pub(crate) retry: RetryPolicy,
    /// Follow redirects that stay on the same scheme, host and port.
    pub(crate) follow_same_origin_redirects: bool,
}

impl Request<'_> {
    /// The Client Secret of a form body and the values of sensitive headers
    /// (the bearer token, the App Key): never to be printed.
    pub(crate) fn sensitive_values(&self) -> Vec<String> {
        let form = self.body.map(|body| {
            url::form_urlencoded::parse(body)
                .filter(|(k, _)| k == "client_secret")
                .map(|(_, v)| v.into_owned())
        });
        let headers = self
            .headers
            .values()
            .filter(|v| v.is_sensitive())
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| [v.to_string(), v.trim_start_matches("Bearer ").to_string()]);
        form.into_iter().flatten().chain(headers).collect()
    }
}

pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) url: Url,
}

/// The body may hold an access token: `Debug` shows only its length.
impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &self.url.as_str())
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Transport {
    client: reqwest::Client,
    settings: HttpSettings,
    proxies: ProxyConfig,
    ui: Ui,
    /// Connections opened by [`Transport::connect_early`], not yet used.
    early: Arc<EarlyConnections>,
    /// The origins requests were sent to: the pool may hold a connection to
    /// them, so no warm-up is ever made for them.
    requested: Mutex<HashSet<String>>,
}

impl Transport {
    /// A transport using the proxies of this process's environment.
    pub(crate) fn new(settings: HttpSettings, ui: Ui) -> Result<Transport> {
        Transport::with_proxies(settings, ui, ProxyConfig::from_env())
    }

    pub(crate) fn with_proxies(
        settings: HttpSettings,
        ui: Ui,
        proxies: ProxyConfig,
    ) -> Result<Transport> {
        // ring is the only provider compiled in; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("st-setup/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(8);
        let early = Arc::new(EarlyConnections::default());
        builder = builder.connector_layer(EarlyLayer {
            early: Arc::clone(&early),
            connect_timeout: settings.connect_timeout,
            ui,
        });
        if let Some(path) = &settings.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| {
                Error::Usage(format!(
                    "could not read the CA bundle {} (--ca-bundle / SSL_CERT_FILE): {e}",
                    path.display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::Usage(format!(
                    "{} is not a PEM certificate bundle (--ca-bundle / SSL_CERT_FILE): {e}",
                    path.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(Error::Usage(format!(
                    "{} contains no PEM certificates (--ca-bundle / SSL_CERT_FILE)",
                    path.display()
                )));
            }
            builder = builder.tls_certs_merge(certs);
        }
        // Proxies are chosen by ProxyConfig alone, so that the route a request
        // takes and what --verbose and error messages say about it agree.
        builder = builder.no_proxy();
        if !proxies.is_empty() {
            let routes = proxies.clone();
            builder = builder.proxy(reqwest::Proxy::custom(move |url| {
                routes.proxy_for(url).map(|p| p.url.clone())
            }));
        }
        for (name, value) in proxies.settings() {
            ui.verbose_line(&format!("proxy setting {name}={value}"));
        }
        let client = builder
            .build()
            .map_err(|e| Error::Other(format!("could not set up HTTPS: {e}")))?;
        Ok(Transport {
            client,
            settings,
            proxies,
            ui,
            early,
            requested: Mutex::new(HashSet::new()),
        })
    }

    /// Start opening a connection to each of `urls`' origins (DNS, TCP, TLS;
    /// through the proxy that applies, as a request would), for the first
    /// request there to use. Returns at once; nothing is ever sent on these
    /// connections but a request made later with [`Transport::send`]. A
    /// connection that fails to open is not reported: the request then
    /// connects again, and reports that. Origins already requested or
    /// already being opened, and those whose proxy setting is unusable, are
    /// skipped.
    pub(crate) async fn connect_early(&self, urls: &[&Url]) {
        for url in urls {
            let origin = origin_key(url);
            if self.was_requested(&origin)
                || self.early.holds(&origin)
                || matches!(self.proxies.route(url), Route::Unusable(_))
            {
                continue;
            }
            // The connector layer keeps the connection and fails this
            // request before a byte of it is written.
            let warm_up = self.client.get((*url).clone()).send();
            let _ = with_purpose(Purpose::Early(origin), warm_up).await;
        }
    }

    fn was_requested(&self, origin: &str) -> bool {
        self.requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(origin)
    }

    /// Send `request`, retrying per its policy, and read the body (capped).
    pub(crate) async fn send(&self, request: &Request<'_>) -> Result<Response, NetworkError> {
        let mut attempt = 0;
        loop {
            let outcome = self.send_following_redirects(request).await;
            let wait = match &outcome {
                Ok(response) => retry_wait_for_status(request.retry, response, attempt),
                Err(err) => retry_wait_for_error(request.retry, err, attempt),
            };
            match wait {
                Some(delay) if attempt < MAX_RETRIES => {
                    attempt += 1;
                    self.ui.verbose_line(&format!(
                        "  retrying in {} ms (attempt {} of {})",
                        delay.as_millis(),
                        attempt + 1,
                        MAX_RETRIES + 1
                    ));
                    tokio::time::sleep(delay).await;
                }
                _ => return outcome,
            }
        }
    }

    async fn send_following_redirects(
        &self,
        request: &Request<'_>,
    ) -> Result<Response, NetworkError> {
        let mut url = request.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let response = self.send_once(request, &url).await?;
            if !response.status.is_redirection() {
                return Ok(response);
            }
            let target = response
                .headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| url.join(loc).ok());
            let host = host_of(&url);
            match target {
                Some(next) if request.follow_same_origin_redirects && same_origin(&url, &next) => {
                    url = next;
                }
                Some(next) => {
                    let status = response.status.as_u16();
                    let to = origin_of(&next);
                    let message = if request.follow_same_origin_redirects {
                        format!(
                            "{host} answered HTTP {status} with a redirect to {to}, which st-setup \
                             does not follow: credentials are only ever sent to the configured host. \
                             Check ST_API_URL, or your proxy."
                        )
                    } else {
                        format!(
                            "{host} answered HTTP {status} with a redirect to {to}, which st-setup \
                             does not follow: the token request carries the Client Secret and is \
                             never redirected. Check ST_AUTH_URL (the full token endpoint URL), \
                             or your proxy."
                        )
                    };
                    return Err(NetworkError {
                        kind: FailureKind::Redirect,
                        host: host.clone(),
                        message,
                    });
                }
                None => {
                    return Err(NetworkError {
                        kind: FailureKind::Redirect,
                        host: host.clone(),
                        message: format!(
                            "{host} answered HTTP {} (a redirect) without a usable Location.",
                            response.status.as_u16()
                        ),
                    });
                }
            }
        }
        Err(NetworkError {
            kind: FailureKind::Redirect,
            host: host_of(&request.url),
            message: format!(
                "{} redirected more than {MAX_REDIRECTS} times.",
                host_of(&request.url)
            ),
        })
    }

    async fn send_once(&self, request: &Request<'_>, url: &Url) -> Result<Response, NetworkError> {
        if let Route::Unusable(why) = self.proxies.route(url) {
            let host = host_of(url);
            return Err(NetworkError {
                kind: FailureKind::Proxy,
                message: format!("could not reach {host}: {why}"),
                host,
            });
        }
        let started = Instant::now();
        let mut builder = self
            .client
            .request(request.method.clone(), url.clone())
            .headers(request.headers.clone());
        if let Some(body) = request.body {
            builder = builder.body(body.to_vec());
        }
        let origin = origin_key(url);
        self.requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(origin.clone());
        let result = with_purpose(
            Purpose::Request(origin),
            self.read_capped(builder, url, &request.sensitive_values()),
        )
        .await;
        let elapsed = started.elapsed().as_millis();
        let via = match self.proxies.proxy_for(url) {
            Some(proxy) => format!(" via proxy {}", proxy.redacted()),
            None => String::new(),
        };
        match &result {
            Ok(r) => self.ui.verbose_line(&format!(
                "{} {}{via} -> {} in {elapsed} ms",
                request.method,
                loggable_url(url),
                r.status.as_u16()
            )),
            Err(e) => self.ui.verbose_line(&format!(
                "{} {}{via} -> failed in {elapsed} ms: {}",
                request.method,
                loggable_url(url),
                e.message
            )),
        }
        result
    }

    /// `hidden`: what the request carried that must never be shown, should
    /// the server echo it back in a body too large to read.
    async fn read_capped(
        &self,
        builder: reqwest::RequestBuilder,
        url: &Url,
        hidden: &[String],
    ) -> Result<Response, NetworkError> {
        let mut response = builder.send().await.map_err(|e| self.classify(url, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(len) = response.content_length()
            && len > MAX_BODY_BYTES as u64
        {
            // Only the start, to show what kind of answer this is; enough of
            // it that a hidden value echoed there is read whole, even across
            // the end of the first chunk, and so can be found and scrubbed.
            let wanted = too_large_excerpt_bytes(hidden);
            let mut first = Vec::new();
            while first.len() < wanted {
                match response.chunk().await {
                    Ok(Some(chunk)) => first.extend_from_slice(&chunk),
                    Ok(None) | Err(_) => break,
                }
            }
            return Err(too_large(url, status, len, &first, hidden));
        }
        let expected = response.content_length();
        let mut body = Vec::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    // Say how far the answer got; never show its bytes here:
                    // a token response cut short still holds part of a token.
                    let mut err = self.classify(url, &e);
                    let got = match expected {
                        Some(total) => format!("{} of {total} bytes", body.len()),
                        None => format!("{} bytes", body.len()),
                    };
                    let host = &err.host;
                    let status = status.as_u16();
                    err.message = match err.kind {
                        FailureKind::Reset => format!(
                            "the connection to {host} was closed in the middle of the answer \
                             (HTTP {status}, {got} of the body received)"
                        ),
                        _ => format!(
                            "{} (HTTP {status}, {got} of the body received)",
                            err.message
                        ),
                    };
                    return Err(err);
                }
            };
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                let len = (body.len() + chunk.len()) as u64;
                return Err(too_large(url, status, len, &body, hidden));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
            url: url.clone(),
        })
    }

    fn classify(&self, url: &Url, err: &reqwest::Error) -> NetworkError {
        let host = host_of(url);
        let (kind, message) =
            describe_failure(err, &host, &self.settings, self.proxies.proxy_for(url));
        NetworkError {
            kind,
            host,
            message,
        }
    }
}

fn too_large(
    url: &Url,
    status: StatusCode,
    len: u64,
    first: &[u8],
    hidden: &[String],
) -> NetworkError {
    let host = host_of(url);
    let first = &first[..first.len().min(too_large_excerpt_bytes(hidden))];
    let hidden: Vec<&str> = hidden.iter().map(String::as_str).collect();
    NetworkError {
        kind: FailureKind::BadResponse,
        message: format!(
            "{host} sent a response larger than {} KiB (HTTP {}, at least {len} bytes); \
             that is not a ServiceTitan answer. Check ST_AUTH_URL / ST_API_URL or your proxy. \
             It starts: {}",
            MAX_BODY_BYTES / 1024,
            status.as_u16(),
            scrubbed_prefix_excerpt(first, &hidden, TOO_LARGE_EXCERPT_CHARS)
        ),
        host,
    }
}

/// How much of a body too large to read its excerpt is made from: the
/// characters shown (at most 4 bytes each), then room for the longest
/// spelling of a hidden value, so that one starting among them is whole in
/// what was read, and is scrubbed.
fn too_large_excerpt_bytes(hidden: &[String]) -> usize {
    let longest = hidden
        .iter()
        .flat_map(|value| spellings(value))
        .map(|spelling| spelling.len())
        .max()
        .unwrap_or(0);
    4 * TOO_LARGE_EXCERPT_CHARS + longest
}

/// Turn reqwest's error chain into a kind and a sentence naming the host, and
/// the proxy when the failure was in reaching it.
fn describe_failure(
    err: &reqwest::Error,
    host: &str,
    settings: &HttpSettings,
    proxy: Option<&Proxy>,
) -> (FailureKind, String) {
    let connecting = err.is_connect();
    // Who did not answer: while connecting through a proxy, the proxy.
    let peer = match proxy {
        Some(p) if connecting => format!("the proxy {} on the way to {host}", p.describe()),
        _ => host.to_string(),
    };
    let no_answer = |limit: Duration| {
        let hint = if connecting {
            "the connection was not accepted; "
        } else {
            ""
        };
        (
            FailureKind::Timeout,
            format!(
                "no answer from {peer} after {} s ({hint}change the limit with --timeout or ST_TIMEOUT)",
                limit.as_secs_f64()
            ),
        )
    };
    let limit = if connecting {
        settings.connect_timeout
    } else {
        settings.timeout
    };
    if err.is_timeout() {
        return no_answer(limit);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut text: Vec<String> = Vec::new();
    while let Some(e) = source {
        if let Some(tls) = find_rustls_error(e) {
            return tls_failure(tls, host);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => {
                    return (
                        FailureKind::Refused,
                        format!("could not connect to {peer}: connection refused"),
                    );
                }
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    return (
                        FailureKind::Reset,
                        format!(
                            "the connection to {peer} was closed before the answer was complete ({io})"
                        ),
                    );
                }
                TimedOut => return no_answer(limit),
                _ => {}
            }
        }
        let line = e.to_string();
        if !text.iter().any(|t| t.contains(&line)) {
            text.push(line);
        }
        source = e.source();
    }
    let joined = text.join(": ");
    let lower = joined.to_ascii_lowercase();
    if let (Some(p), true) = (proxy, lower.contains("tunnel error")) {
        let why = if lower.contains("authorization required") {
            format!(
                "it asks for a user name and password (HTTP 407): put them in {} as \
                 http://USER:PASSWORD@HOST:PORT",
                p.var
            )
        } else {
            format!(
                "it refused ({joined}). If {host} should be reached directly, add it to NO_PROXY"
            )
        };
        return (
            FailureKind::Proxy,
            format!(
                "the proxy {} did not connect st-setup to {host}: {why}",
                p.describe()
            ),
        );
    }
    if lower.contains("dns error") || lower.contains("failed to lookup") {
        let (name, var) = match proxy {
            Some(p) if connecting => (
                p.url.host_str().unwrap_or("?").to_string(),
                format!(" (the proxy in {})", p.var),
            ),
            _ => (host.to_string(), String::new()),
        };
        (
            FailureKind::Dns,
            format!("could not resolve {name}{var} (DNS): check the host name and your network"),
        )
    } else if lower.contains("certificate") || lower.contains("tls") {
        (
            FailureKind::Tls,
            format!(
                "TLS with {host} failed ({joined}). Pass a CA with --ca-bundle FILE if a proxy inspects TLS."
            ),
        )
    } else if connecting {
        // Not a refusal (that was recognised above): retrying would not help.
        (
            FailureKind::Other,
            format!("could not connect to {peer}: {joined}"),
        )
    } else if lower.contains("connection closed")
        || lower.contains("incomplete")
        || lower.contains("reset")
        || lower.contains("end of file")
    {
        (
            FailureKind::Reset,
            format!("the connection to {host} was closed before the answer was complete"),
        )
    } else {
        (
            FailureKind::Other,
            format!("request to {host} failed: {joined}"),
        )
    }
}

/// The rustls error in `e`: it arrives wrapped in an io::Error (sometimes
/// twice), whose `source()` skips the wrapped error, so look inside.
fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner: &(dyn std::error::Error + 'static) =
        e.downcast_ref::<std::io::Error>()?.get_ref()?;
    find_rustls_error(inner)
}

/// A TLS failure in words: what is wrong with the certificate, and the fix.
fn tls_failure(tls: &rustls::Error, host: &str) -> (FailureKind, String) {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = tls else {
        return (
            FailureKind::Tls,
            format!(
                "TLS with {host} failed ({tls}). Check that the URL is right and that the port \
                 speaks https; if a proxy inspects TLS, pass its CA certificate with --ca-bundle FILE."
            ),
        );
    };
    let why = match cert {
        C::UnknownIssuer => "it was issued by a certificate authority this computer does not trust",
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it was issued for another host name"
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "it is not valid yet (check this computer's clock)"
        }
        C::Revoked => "it has been revoked",
        _ => "it could not be verified",
    };
    (
        FailureKind::Tls,
        format!(
            "the TLS certificate of {host} was not accepted: {why} ({tls}). If a corporate proxy \
             inspects TLS, pass its CA certificate with --ca-bundle FILE (or SSL_CERT_FILE)."
        ),
    )
}

fn retry_wait_for_status(
    policy: RetryPolicy,
    response: &Response,
    attempt: u32,
) -> Option<Duration> {
    let retryable = match policy {
        RetryPolicy::Idempotent => matches!(response.status.as_u16(), 429 | 502 | 503 | 504),
        RetryPolicy::Unprocessed => matches!(response.status.as_u16(), 429 | 503),
    };
    if !retryable {
        return None;
    }
    Some(retry_after(&response.headers).unwrap_or_else(|| backoff(attempt)))
}

fn retry_wait_for_error(policy: RetryPolicy, err: &NetworkError, attempt: u32) -> Option<Duration> {
    // Timeouts are not retried: a hung server costs the timeout once, not once
    // per attempt.
    let retryable = match policy {
        RetryPolicy::Idempotent => matches!(err.kind, FailureKind::Refused | FailureKind::Reset),
        // A reset may come after the server acted on the request.
        RetryPolicy::Unprocessed => err.kind == FailureKind::Refused,
    };
    retryable.then(|| backoff(attempt))
}

/// `Retry-After` as seconds or an HTTP date, capped.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// 250 ms, 500 ms, 1 s, ... plus up to 50% jitter.
fn backoff(attempt: u32) -> Duration {
    let base = backoff_base(attempt);
    base + base.mul_f64(jitter_fraction() * 0.5)
}

fn backoff_base(attempt: u32) -> Duration {
    Duration::from_millis(250) * 2u32.saturating_pow(attempt.min(6))
}

/// The most that backoff (without `Retry-After`) can add to one request over
/// all its retries.
pub fn max_total_backoff() -> Duration {
    (0..MAX_RETRIES)
        .map(|attempt| backoff_base(attempt).mul_f64(1.5))
        .sum()
}

/// A number in [0, 1) that differs between runs, without a random-number crate.
fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(Instant::now());
    (bits % 10_000) as f64 / 10_000.0
}

/// `host:port`, or for a URL without a host (`data:`, `mailto:`), what kind
/// of URL it is: never the rest of it, which a server's redirect may fill
/// with anything.
pub(crate) fn host_of(url: &Url) -> String {
    let host = |h: &str| crate::printable::field(h, crate::printable::FIELD_CHARS);
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{}:{p}", host(h)),
        (Some(h), None) => host(h),
        _ => format!("a {}: URL without a host", host(url.scheme())),
    }
}

fn origin_of(url: &Url) -> String {
    match url.host_str() {
        Some(_) => format!("{}://{}", url.scheme(), host_of(url)),
        None => host_of(url),
    }
}

/// `scheme://host:port` with the port always given: what the connection pool
/// keys connections by, and what early connections are kept under.
fn origin_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The URL without userinfo (none of ours carry a secret in the URL itself).
fn loggable_url(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(retry_after(&headers), Some(MAX_RETRY_AFTER));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(5));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&future).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait <= Duration::from_secs(5) && wait >= Duration::from_secs(3),
            "{wait:?}"
        );
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(
            backoff(0) >= Duration::from_millis(250) && backoff(0) < Duration::from_millis(376)
        );
        assert!(backoff(2) >= Duration::from_secs(1));
        assert!(backoff(100) <= Duration::from_secs(24));
        let total: Duration = (0..MAX_RETRIES).map(backoff).sum();
        assert!(total <= max_total_backoff() && max_total_backoff() < Duration::from_secs(5));
    }

    #[test]
    fn only_same_origin_counts_as_same_origin() {
        let a = Url::parse("https://api.servicetitan.io/x").unwrap();
        assert!(same_origin(
            &a,
            &Url::parse("https://api.servicetitan.io:443/y").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("http://api.servicetitan.io/y").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://evil.example/y").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://api.servicetitan.io:8443/y").unwrap()
        ));
    }

    /// A listening socket whose one-slot accept queue is full: the kernel
    /// drops further SYNs, so a connection attempt hangs until its timeout.
    #[cfg(target_os = "linux")]
    fn never_accepting() -> (std::net::TcpListener, std::net::TcpStream) {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket calls on a descriptor the listener then owns.
        let listener = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0);
            let listener = std::net::TcpListener::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            assert_eq!(libc::bind(fd, (&raw const addr).cast(), len), 0);
            assert_eq!(libc::listen(fd, 0), 0);
            listener
        };
        let addr = listener.local_addr().unwrap();
        let filler = std::net::TcpStream::connect(addr).unwrap();
        (listener, filler)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_connect_timeout_is_reported_with_its_own_limit_and_not_retried() {
        let (listener, _filler) = never_accepting();
        let url = Url::parse(&format!("http://{}/x", listener.local_addr().unwrap())).unwrap();
        let transport = Transport::with_proxies(
            HttpSettings {
                timeout: Duration::from_secs(20),
                connect_timeout: Duration::from_millis(300),
                ca_bundle: None,
            },
            Ui::plain(),
            ProxyConfig::default(),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        let err = runtime
            .block_on(transport.send(&Request {
                method: Method::GET,
                url,
                headers: HeaderMap::new(),
                body: None,
                retry: RetryPolicy::Idempotent,
                follow_same_origin_redirects: true,
            }))
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Timeout, "{}", err.message);
        assert!(
            err.message.contains("no answer from 127.0.0.1:")
                && err
                    .message
                    .contains("after 0.3 s (the connection was not accepted"),
            "{}",
            err.message
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "retried a timeout"
        );
    }

    const SECRET: &str = "cs1.prefixtestsecret0123456789abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn enough_of_a_too_large_body_is_read_for_a_whole_secret_after_the_excerpt() {
        let hidden = [SECRET.to_string(), "ak1.appkey".to_string()];
        assert!(too_large_excerpt_bytes(&hidden) >= TOO_LARGE_EXCERPT_CHARS + SECRET.len());
        // Room for the longest spelling: here the form-encoded one.
        let slashes = "cs1.////////".to_string();
        assert!(
            too_large_excerpt_bytes(&[slashes]) >= TOO_LARGE_EXCERPT_CHARS + "cs1.".len() + 8 * 3
        );
    }
}

//! The HTTP transport under every ServiceTitan call: one connection pool,
//! timeouts, bounded retries with backoff, a response size cap, no redirects
//! followed off the configured host, proxies and extra CA certificates, and
//! `--verbose` request logging that never prints a header or a body.
//!
//! Failures come back as [`NetworkError`], which names the host and the kind of
//! failure; they are never confused with a credential being wrong.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::error::{Error, Result};
use crate::ui::Ui;

/// Largest response body read; a bigger one is reported, not buffered.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Retries after the first attempt for retryable failures.
pub const MAX_RETRIES: u32 = 3;
/// Longest wait honoured from a `Retry-After` header.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Redirects followed within the same origin for API calls.
const MAX_REDIRECTS: usize = 5;

#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Extra PEM CA certificates, trusted in addition to the platform's.
    pub ca_bundle: Option<PathBuf>,
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
pub enum FailureKind {
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
    Other,
}

#[derive(Clone, Debug)]
pub struct NetworkError {
    pub kind: FailureKind,
    pub host: String,
    pub message: String,
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
pub enum RetryPolicy {
    /// Reads: retry 429, 502, 503, 504, refused and reset connections, timeouts.
    Idempotent,
    /// The token request carries the secret and may be throttled: retry only
    /// when the server provably did not process it (connection refused, 429, 503).
    Unprocessed,
}

/// A request to send: everything needed to send it again on a retry.
pub struct Request<'a> {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<&'a [u8]>,
    pub retry: RetryPolicy,
    /// Follow redirects that stay on the same scheme, host and port.
    pub follow_same_origin_redirects: bool,
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Url,
}

pub struct Transport {
    client: reqwest::Client,
    settings: HttpSettings,
    ui: Ui,
}

impl Transport {
    pub fn new(settings: HttpSettings, ui: Ui) -> Result<Transport> {
        // ring is the only provider compiled in; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("st-setup/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(8);
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
        if ui.verbose() {
            log_proxy_settings(&ui);
        }
        let client = builder
            .build()
            .map_err(|e| Error::Other(format!("could not set up HTTPS: {e}")))?;
        Ok(Transport {
            client,
            settings,
            ui,
        })
    }

    /// Send `request`, retrying per its policy, and read the body (capped).
    pub async fn send(&self, request: &Request<'_>) -> Result<Response, NetworkError> {
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
                    return Err(NetworkError {
                        kind: FailureKind::Redirect,
                        host: host.clone(),
                        message: format!(
                            "{host} answered HTTP {} with a redirect to {}, which st-setup does not follow: \
                             credentials are only ever sent to the configured host. \
                             Check ST_AUTH_URL / ST_API_URL, or your proxy.",
                            response.status.as_u16(),
                            origin_of(&next)
                        ),
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
        let started = Instant::now();
        let mut builder = self
            .client
            .request(request.method.clone(), url.clone())
            .headers(request.headers.clone());
        if let Some(body) = request.body {
            builder = builder.body(body.to_vec());
        }
        let result = self.read_capped(builder, url).await;
        let elapsed = started.elapsed().as_millis();
        match &result {
            Ok(r) => self.ui.verbose_line(&format!(
                "{} {} -> {} in {elapsed} ms",
                request.method,
                loggable_url(url),
                r.status.as_u16()
            )),
            Err(e) => self.ui.verbose_line(&format!(
                "{} {} -> failed in {elapsed} ms: {}",
                request.method,
                loggable_url(url),
                e.message
            )),
        }
        result
    }

    async fn read_capped(
        &self,
        builder: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<Response, NetworkError> {
        let mut response = builder.send().await.map_err(|e| self.classify(url, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(len) = response.content_length()
            && len > MAX_BODY_BYTES as u64
        {
            return Err(too_large(url, status, len));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(url, &e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large(url, status, (body.len() + chunk.len()) as u64));
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
        let (kind, message) = describe_failure(err, &host, self.settings.timeout);
        NetworkError {
            kind,
            host,
            message,
        }
    }
}

fn too_large(url: &Url, status: StatusCode, len: u64) -> NetworkError {
    let host = host_of(url);
    NetworkError {
        kind: FailureKind::BadResponse,
        message: format!(
            "{host} sent a response larger than {} KiB (HTTP {}, at least {len} bytes); \
             that is not a ServiceTitan answer. Check ST_AUTH_URL / ST_API_URL or your proxy.",
            MAX_BODY_BYTES / 1024,
            status.as_u16()
        ),
        host,
    }
}

/// Turn reqwest's error chain into a kind and a sentence naming the host.
fn describe_failure(err: &reqwest::Error, host: &str, timeout: Duration) -> (FailureKind, String) {
    if err.is_timeout() {
        return (
            FailureKind::Timeout,
            format!(
                "no answer from {host} after {} s (change the limit with --timeout or ST_TIMEOUT)",
                timeout.as_secs_f64()
            ),
        );
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut text = Vec::new();
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return (
                FailureKind::Tls,
                format!(
                    "the TLS certificate of {host} was not accepted ({tls}). If a corporate proxy \
                     inspects TLS, pass its CA certificate with --ca-bundle FILE (or SSL_CERT_FILE)."
                ),
            );
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => {
                    return (
                        FailureKind::Refused,
                        format!("could not connect to {host}: connection refused"),
                    );
                }
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    return (
                        FailureKind::Reset,
                        format!(
                            "the connection to {host} was closed before the answer was complete ({io})"
                        ),
                    );
                }
                TimedOut => {
                    return (
                        FailureKind::Timeout,
                        format!("no answer from {host} after {} s", timeout.as_secs_f64()),
                    );
                }
                _ => {}
            }
        }
        text.push(e.to_string());
        source = e.source();
    }
    let joined = text.join(": ");
    let lower = joined.to_ascii_lowercase();
    if lower.contains("dns error") || lower.contains("failed to lookup") {
        (
            FailureKind::Dns,
            format!("could not resolve {host} (DNS): check the host name and your network"),
        )
    } else if lower.contains("certificate") || lower.contains("tls") {
        (
            FailureKind::Tls,
            format!(
                "TLS with {host} failed ({joined}). Pass a CA with --ca-bundle FILE if a proxy inspects TLS."
            ),
        )
    } else if err.is_connect() {
        (
            FailureKind::Refused,
            format!("could not connect to {host}: {joined}"),
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
    let retryable = match policy {
        RetryPolicy::Idempotent => matches!(
            err.kind,
            FailureKind::Refused | FailureKind::Reset | FailureKind::Timeout
        ),
        // A reset or timeout may come after the server acted on the request.
        RetryPolicy::Unprocessed => err.kind == FailureKind::Refused,
    };
    retryable.then(|| backoff(attempt))
}

/// `Retry-After` as seconds or an HTTP date, capped.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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
    let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt.min(6));
    base + base.mul_f64(jitter_fraction() * 0.5)
}

/// A number in [0, 1) that differs between runs, without a random-number crate.
fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(Instant::now());
    (bits % 10_000) as f64 / 10_000.0
}

pub fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.to_string(),
    }
}

fn origin_of(url: &Url) -> String {
    format!("{}://{}", url.scheme(), host_of(url))
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

/// Show which proxy variables are in effect, with any password hidden.
fn log_proxy_settings(ui: &Ui) {
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        if let Ok(value) = std::env::var(name) {
            let shown = Url::parse(&value)
                .map(|u| loggable_url(&u))
                .unwrap_or(value);
            ui.verbose_line(&format!("proxy setting {name}={shown}"));
        }
    }
}

/// The start of a body as printable text, for error messages: control
/// characters replaced, cut to `max` characters.
pub fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max * 4)]);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    let trimmed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.is_empty() {
        "(empty body)".to_string()
    } else {
        trimmed
    }
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

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(
            excerpt(b"<html>\n<body>Bad gateway</body>", 200),
            "<html> <body>Bad gateway</body>"
        );
        assert_eq!(excerpt(b"", 10), "(empty body)");
        assert_eq!(excerpt(&[b'a'; 50], 10), "aaaaaaaaaa…");
        assert_eq!(excerpt(&[0xff, 0xfe, b'x'], 10), "��x");
    }
}

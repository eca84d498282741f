//! Why a request failed, in words: [`NetworkError`] names the host (and the
//! proxy, when the failure was in reaching it) and the [`FailureKind`], which
//! decides retries and is never confused with a credential being wrong.
//!
//! Failures are told apart by type, walking the error's `source()` chain:
//! reqwest's `is_timeout`/`is_connect`/`is_dns`, `std::io::ErrorKind`,
//! `rustls::Error` and `hyper::Error`. Never by the text of the top-level
//! error, which holds the URL (a host such as `mtls-gw.example.com` says
//! nothing about TLS).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::http::HttpSettings;
use super::proxy::Proxy;
use super::trust::RootsUnavailable;
use crate::error::Error;

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
    /// reqwest's own error, when it reported the failure (for `--verbose`).
    pub(crate) source: Option<Arc<reqwest::Error>>,
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NetworkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<NetworkError> for Error {
    fn from(err: NetworkError) -> Self {
        Error::Network(err)
    }
}

/// What the `source()` chain under a reqwest error says, by type.
#[derive(Default)]
struct Causes<'a> {
    tls: Option<&'a rustls::Error>,
    io: Option<&'a std::io::Error>,
    /// hyper gave up on a connection that closed mid-message.
    closed: bool,
    /// The proxy's answer to CONNECT (hyper-util's `TunnelError`, which it
    /// does not export: its fixed message is the only handle on it).
    tunnel: Option<String>,
    /// The messages of the causes (never the top-level error, which holds
    /// the URL), for the sentence.
    text: Vec<String>,
}

impl<'a> Causes<'a> {
    fn of(err: &'a reqwest::Error) -> Causes<'a> {
        let mut causes = Causes::default();
        let mut source = std::error::Error::source(err);
        while let Some(e) = source {
            causes.tls = causes.tls.or_else(|| find_rustls_error(e));
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                causes.io = causes.io.or(Some(io));
            }
            if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
                causes.closed |= hyper.is_incomplete_message() || hyper.is_canceled();
            }
            let line = e.to_string();
            if causes.tunnel.is_none() && line.starts_with("tunnel error: ") {
                causes.tunnel = Some(line.clone());
            }
            if !causes.text.iter().any(|t| t.contains(&line)) {
                causes.text.push(line);
            }
            source = e.source();
        }
        causes
    }
}

/// Turn reqwest's error chain into a kind and a sentence naming the host, and
/// the proxy when the failure was in reaching it.
pub(super) fn describe_failure(
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
    let limit = if connecting {
        settings.connect_timeout
    } else {
        settings.timeout
    };
    let causes = Causes::of(err);
    let io_kind = causes.io.map(std::io::Error::kind);
    if err.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut) {
        return no_answer(&peer, limit, connecting);
    }
    if let Some(tls) = causes.tls {
        return tls_failure(tls, host);
    }
    if let Some(io) = causes.io {
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
            _ => {}
        }
    }
    let joined = if causes.text.is_empty() {
        // No cause: only then the error itself (its URL has no userinfo).
        err.to_string()
    } else {
        causes.text.join(": ")
    };
    if let (Some(p), Some(tunnel)) = (proxy, &causes.tunnel) {
        return proxy_refused(p, host, tunnel, &joined);
    }
    if err.is_dns() {
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
    } else if connecting {
        // Not a refusal (that was recognised above): retrying would not help.
        (
            FailureKind::Other,
            format!("could not connect to {peer}: {joined}"),
        )
    } else if causes.closed {
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

fn no_answer(peer: &str, limit: Duration, connecting: bool) -> (FailureKind, String) {
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
}

/// The proxy answered CONNECT with something other than a tunnel.
fn proxy_refused(p: &Proxy, host: &str, tunnel: &str, joined: &str) -> (FailureKind, String) {
    let why = if tunnel == "tunnel error: proxy authorization required" {
        format!(
            "it asks for a user name and password (HTTP 407): put them in {} as \
             http://USER:PASSWORD@HOST:PORT",
            p.var
        )
    } else {
        format!("it refused ({joined}). If {host} should be reached directly, add it to NO_PROXY")
    };
    (
        FailureKind::Proxy,
        format!(
            "the proxy {} did not connect st-setup to {host}: {why}",
            p.describe()
        ),
    )
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
    if let rustls::Error::Other(other) = tls
        && let Some(roots) = other.0.downcast_ref::<RootsUnavailable>()
    {
        return (
            FailureKind::Tls,
            format!("could not check the TLS certificate of {host}: {roots}"),
        );
    }
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

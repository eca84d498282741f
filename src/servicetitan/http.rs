//! The HTTP transport under every ServiceTitan call: one reqwest client (one
//! connection pool, timeouts, extra CA certificates, the proxies chosen by
//! [`super::proxy`]), early connections ([`super::early`]), and the loop that
//! sends a [`Request`] with its retries ([`super::retry`]) and redirects
//! ([`super::redirect`]) and reads the body under the cap
//! ([`super::body_cap`]). `--verbose` logs each request without a header or a
//! body.
//!
//! Failures come back as [`NetworkError`] ([`super::failure`] says why),
//! which names the host and the kind of failure; they are never confused
//! with a credential being wrong.
//!
//! Over 400 lines only with its unit tests (the code is about 320).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use url::Url;

use super::body_cap::read_capped;
use super::early::{EarlyConnections, EarlyLayer, Purpose, with_purpose};
use super::failure::{FailureKind, NetworkError, describe_failure};
use super::origin::{host_of, loggable_url, origin_key};
use super::proxy::{ProxyConfig, Route};
use super::redirect::{MAX_REDIRECTS, next_hop, too_many_redirects};
use super::retry::{self, MAX_RETRIES, RetryPolicy};
use super::trust::{self, ExtraRoots};
use crate::error::{Error, Result};
use crate::invalid_input::InvalidInput;
use crate::ui::Ui;

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

/// The TLS configuration: ring (the only provider compiled in), the
/// platform's CA roots ([`super::trust`]) and `ca_bundle`'s.
fn tls_config(ca_bundle: Option<&Path>, connect_timeout: Duration) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = ca_bundle.map(read_ca_bundle).transpose()?;
    trust::client_config(provider, extra, connect_timeout)
        .map_err(|e| Error::HttpsSetup { source: e.into() })
}

/// The certificates of `--ca-bundle` / `SSL_CERT_FILE`, trusted in addition
/// to the platform's.
fn read_ca_bundle(path: &Path) -> Result<ExtraRoots> {
    let path = path.to_path_buf();
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(source) => return Err(InvalidInput::CaBundleUnreadable { path, source }.into()),
    };
    let certs = match trust::parse_pem_bundle(&pem) {
        Ok(certs) => certs,
        Err(problem) => return Err(InvalidInput::CaBundleNotPem { path, problem }.into()),
    };
    if certs.is_empty() {
        return Err(InvalidInput::CaBundleEmpty { path }.into());
    }
    Ok(ExtraRoots { path, certs })
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
        let tls = tls_config(settings.ca_bundle.as_deref(), settings.connect_timeout)?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
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
            .map_err(|e| Error::HttpsSetup { source: e.into() })?;
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
                Ok(response) => retry::wait_for_status(request.retry, response, attempt),
                Err(err) => retry::wait_for_error(request.retry, err, attempt),
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
            url = next_hop(&url, &response, request.follow_same_origin_redirects)?;
        }
        Err(too_many_redirects(&request.url))
    }

    async fn send_once(&self, request: &Request<'_>, url: &Url) -> Result<Response, NetworkError> {
        if let Route::Unusable(why) = self.proxies.route(url) {
            let host = host_of(url);
            return Err(NetworkError {
                source: None,
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
        let classify = |e: reqwest::Error| self.classify(url, e);
        let hidden = request.sensitive_values();
        let result = with_purpose(Purpose::Request(origin), async {
            let response = builder.send().await.map_err(classify)?;
            read_capped(response, url, &hidden, classify).await
        })
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

    fn classify(&self, url: &Url, err: reqwest::Error) -> NetworkError {
        let host = host_of(url);
        let (kind, message) =
            describe_failure(&err, &host, &self.settings, self.proxies.proxy_for(url));
        NetworkError {
            // The URL is in the --verbose request lines already, without userinfo.
            source: Some(Arc::new(err.without_url())),
            kind,
            host,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listening socket whose one-slot accept queue is full: the kernel
    /// drops further SYNs, so a connection attempt hangs until its timeout.
    #[cfg(target_os = "linux")]
    fn never_accepting() -> (std::net::TcpListener, std::net::TcpStream) {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let loopback: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
        socket.bind(&loopback.into()).unwrap();
        socket.listen(0).unwrap();
        let listener: std::net::TcpListener = socket.into();
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

    /// A connection closed before an answer is a reset, whatever the URL
    /// says: the words "tls" and "certificate" in it are not a TLS failure.
    #[test]
    fn a_failure_is_classified_by_type_not_by_the_words_of_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = std::io::Read::read(&mut stream, &mut request);
        });
        let url = Url::parse(&format!("http://{addr}/mtls-gw/tls-certificate")).unwrap();
        let transport =
            Transport::with_proxies(HttpSettings::default(), Ui::plain(), ProxyConfig::default())
                .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = runtime
            .block_on(transport.send(&Request {
                method: Method::POST,
                url,
                headers: HeaderMap::new(),
                body: Some(b"x"),
                retry: RetryPolicy::Unprocessed,
                follow_same_origin_redirects: false,
            }))
            .unwrap_err();
        server.join().unwrap();
        assert_eq!(err.kind, FailureKind::Reset, "{}", err.message);
        assert!(!err.message.contains("TLS"), "{}", err.message);
    }
}

//! Which proxy a request goes through, from `HTTPS_PROXY` / `HTTP_PROXY` /
//! `ALL_PROXY` / `NO_PROXY` (and their lowercase spellings), decided in one
//! place so that routing, `--verbose` and error messages always agree.
//!
//! The rules are curl's and reqwest's: `HTTPS_PROXY` for https URLs,
//! `HTTP_PROXY` for http URLs, `ALL_PROXY` for either when the specific one is
//! not set; uppercase before lowercase; a value without a scheme means
//! `http://`. `NO_PROXY` is a comma-separated list of host names (matching the
//! name and its subdomains, with or without a leading dot), IP addresses, CIDR
//! ranges, or `*` for everything. Loopback hosts are not exempt unless listed.
//! Under CGI (`REQUEST_METHOD` set) `HTTP_PROXY` is ignored: there it can be set
//! by a request header ("httpoxy").
//!
//! Over 400 lines only with its unit tests (the code is about 290).

use std::borrow::Cow;
use std::net::IpAddr;

use url::{Host, Url};

use crate::environment::is_loopback;

/// One proxy setting in effect: where it came from and where it points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// The environment variable it was read from.
    pub(crate) var: &'static str,
    /// The proxy URL, with any user name and password in it.
    pub(crate) url: Url,
}

impl Proxy {
    /// The URL with the password replaced by `***`, for logs and messages.
    pub(crate) fn redacted(&self) -> String {
        redact_url(&self.url)
    }

    /// `HOST:PORT (HTTPS_PROXY)`, for messages.
    pub(crate) fn describe(&self) -> String {
        let host = self.url.host_str().unwrap_or("?");
        match self.url.port_or_known_default() {
            Some(port) => format!("{host}:{port} ({})", self.var),
            None => format!("{host} ({})", self.var),
        }
    }
}

/// The proxy settings of this process.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProxyConfig {
    https: Option<Setting>,
    http: Option<Setting>,
    no_proxy: Vec<NoProxyEntry>,
    /// `(variable, value as shown)` for `--verbose`, including ignored ones.
    shown: Vec<(String, String)>,
}

/// A proxy variable's value: usable, or why not (said only when a request
/// would need it, so that e.g. a SOCKS `ALL_PROXY` meant for other tools does
/// not stop st-setup when `HTTPS_PROXY` is set).
#[derive(Clone, Debug)]
enum Setting {
    Usable(Proxy),
    Unusable(String),
}

/// How a request to a URL is sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    Direct,
    Proxy(&'a Proxy),
    /// The proxy setting that applies cannot be used; the message says why.
    Unusable(Cow<'a, str>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum NoProxyEntry {
    All,
    Domain(String),
    Ip(IpAddr),
    Net(IpAddr, u8),
}

impl ProxyConfig {
    /// Read the environment.
    pub(crate) fn from_env() -> ProxyConfig {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read settings through `lookup` (the environment, or a test's map).
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ProxyConfig {
        let mut config = ProxyConfig::default();
        let cgi = lookup("REQUEST_METHOD").is_some();
        let mut first = |names: [&'static str; 2]| -> Option<Setting> {
            for var in names {
                let Some(value) = lookup(var).filter(|v| !v.trim().is_empty()) else {
                    continue;
                };
                if cgi && var == "HTTP_PROXY" {
                    config.shown.push((
                        var.to_string(),
                        format!(
                            "{} (ignored: REQUEST_METHOD is set, as under CGI)",
                            redact_raw(&value)
                        ),
                    ));
                    continue;
                }
                return Some(match parse_proxy_url(var, &value) {
                    Ok(url) => {
                        let proxy = Proxy { var, url };
                        config.shown.push((var.to_string(), proxy.redacted()));
                        Setting::Usable(proxy)
                    }
                    Err(why) => {
                        config.shown.push((
                            var.to_string(),
                            format!("{} (not usable: {why})", redact_raw(&value)),
                        ));
                        Setting::Unusable(why)
                    }
                });
            }
            None
        };
        let https = first(["HTTPS_PROXY", "https_proxy"]);
        let http = first(["HTTP_PROXY", "http_proxy"]);
        let all = first(["ALL_PROXY", "all_proxy"]);
        config.https = https.or_else(|| all.clone());
        config.http = http.or(all);
        for var in ["NO_PROXY", "no_proxy"] {
            if let Some(value) = lookup(var) {
                config.shown.push((var.to_string(), value.clone()));
                config.no_proxy = parse_no_proxy(&value);
                break;
            }
        }
        config
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.https.is_none() && self.http.is_none()
    }

    /// How a request to `url` is sent.
    pub(crate) fn route(&self, url: &Url) -> Route<'_> {
        let setting = match url.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        };
        let (Some(setting), Some(host)) = (setting, url.host()) else {
            return Route::Direct;
        };
        if self.no_proxy.iter().any(|entry| entry.matches(&host)) {
            return Route::Direct;
        }
        match setting {
            // Plain http is allowed only to this machine; through a proxy
            // elsewhere, the secret would cross the network unencrypted.
            Setting::Usable(proxy)
                if url.scheme() == "http"
                    && !proxy.url.host().as_ref().is_some_and(is_loopback) =>
            {
                Route::Unusable(Cow::Owned(format!(
                    "{} points at {}, and a plain http request sent there would carry the \
                     Client Secret or token unencrypted across the network. Add the host to \
                     NO_PROXY, or use https",
                    proxy.var,
                    proxy.redacted()
                )))
            }
            Setting::Usable(proxy) => Route::Proxy(proxy),
            Setting::Unusable(why) => Route::Unusable(Cow::Borrowed(why)),
        }
    }

    /// The proxy a request to `url` goes through, if any.
    pub(crate) fn proxy_for(&self, url: &Url) -> Option<&Proxy> {
        match self.route(url) {
            Route::Proxy(proxy) => Some(proxy),
            Route::Direct | Route::Unusable(_) => None,
        }
    }

    /// `(variable, value)` pairs as `--verbose` shows them: passwords hidden.
    pub(crate) fn settings(&self) -> &[(String, String)] {
        &self.shown
    }
}

impl NoProxyEntry {
    fn matches(&self, host: &Host<&str>) -> bool {
        match (self, host) {
            (NoProxyEntry::All, _) => true,
            (NoProxyEntry::Domain(d), Host::Domain(h)) => {
                let h = h.trim_end_matches('.').to_ascii_lowercase();
                h == *d || h.ends_with(&format!(".{d}"))
            }
            (NoProxyEntry::Ip(ip), Host::Ipv4(h)) => *ip == IpAddr::V4(*h),
            (NoProxyEntry::Ip(ip), Host::Ipv6(h)) => *ip == IpAddr::V6(*h),
            (NoProxyEntry::Net(net, bits), Host::Ipv4(h)) => in_net(IpAddr::V4(*h), *net, *bits),
            (NoProxyEntry::Net(net, bits), Host::Ipv6(h)) => in_net(IpAddr::V6(*h), *net, *bits),
            _ => false,
        }
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn parse_no_proxy(value: &str) -> Vec<NoProxyEntry> {
    value
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            if part == "*" {
                return NoProxyEntry::All;
            }
            let bare = part.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<IpAddr>() {
                return NoProxyEntry::Ip(ip);
            }
            if let Some((ip, bits)) = part.split_once('/')
                && let (Ok(ip), Ok(bits)) = (ip.parse::<IpAddr>(), bits.parse::<u8>())
            {
                return NoProxyEntry::Net(ip, bits);
            }
            NoProxyEntry::Domain(part.trim_start_matches('.').to_ascii_lowercase())
        })
        .collect()
}

/// A proxy URL, or why it cannot be used (without the password).
fn parse_proxy_url(var: &str, value: &str) -> std::result::Result<Url, String> {
    let value = value.trim();
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| format!("{var}={} is not a proxy URL ({e})", redact_raw(value)))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        "http" | "https" => Err(format!("{var}={} has no host", redact_raw(value))),
        other => Err(format!(
            "{var}={} is a {other}:// proxy, and st-setup supports only http:// and https:// \
             proxies: point {var} at an HTTP proxy, or add the host to NO_PROXY",
            redact_raw(value)
        )),
    }
}

/// A URL with its password replaced by `***` (the user name is kept).
pub(crate) fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    let text = shown.to_string();
    // Proxy URLs are origins: drop the "/" the parser adds.
    match text.strip_suffix('/') {
        Some(t) if url.path() == "/" && url.query().is_none() => t.to_string(),
        _ => text,
    }
}

/// A value that did not parse as a URL: hide everything before an `@`.
fn redact_raw(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((before, after)) => match before.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://***@{after}"),
            None => format!("***@{after}"),
        },
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> ProxyConfig {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyConfig::from_lookup(|name| map.get(name).cloned())
    }

    fn via(config: &ProxyConfig, url: &str) -> Option<String> {
        config
            .proxy_for(&Url::parse(url).unwrap())
            .map(|p| format!("{} {}", p.var, p.redacted()))
    }

    #[test]
    fn each_scheme_has_its_proxy_and_all_proxy_fills_in() {
        let c = config(&[
            ("HTTPS_PROXY", "http://secure:3128"),
            ("ALL_PROXY", "http://127.0.0.1:8080"),
        ]);
        assert_eq!(
            via(&c, "https://api.servicetitan.io/x").as_deref(),
            Some("HTTPS_PROXY http://secure:3128")
        );
        assert_eq!(
            via(&c, "http://127.0.0.1:8450/x").as_deref(),
            Some("ALL_PROXY http://127.0.0.1:8080")
        );
        let c = config(&[("https_proxy", "proxy.corp:3128")]);
        assert_eq!(
            via(&c, "https://auth.servicetitan.io/").as_deref(),
            Some("https_proxy http://proxy.corp:3128")
        );
        assert_eq!(via(&c, "http://127.0.0.1/"), None);
        assert!(config(&[]).is_empty());
        assert!(config(&[("HTTPS_PROXY", "")]).is_empty());
    }

    #[test]
    fn no_proxy_matches_names_subdomains_ips_ranges_and_star() {
        let c = config(&[
            ("HTTPS_PROXY", "http://p:1"),
            (
                "NO_PROXY",
                " servicetitan.io, .example.com,10.0.0.0/8, 127.0.0.1 ,[::1]",
            ),
        ]);
        for direct in [
            "https://servicetitan.io/",
            "https://api.servicetitan.io/",
            "https://example.com/",
            "https://a.b.example.com/",
            "https://10.1.2.3/",
            "https://127.0.0.1:8443/",
            "https://[::1]:8443/",
        ] {
            assert_eq!(via(&c, direct), None, "{direct}");
        }
        for proxied in [
            "https://notservicetitan.io/",
            "https://servicetitan.io.evil.example/",
            "https://11.0.0.1/",
            "https://localhost/",
        ] {
            assert!(via(&c, proxied).is_some(), "{proxied}");
        }
        let c = config(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(via(&c, "https://api.servicetitan.io/"), None);
    }

    #[test]
    fn passwords_are_never_shown() {
        let c = config(&[
            ("HTTPS_PROXY", "http://alice:s3cret@proxy:3128"),
            ("HTTP_PROXY", "bob:hunter2@proxy:3128"),
        ]);
        let shown = format!("{:?}", c.settings());
        assert!(
            !shown.contains("s3cret") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("http://alice:***@proxy:3128"), "{shown}");
        assert!(shown.contains("http://bob:***@proxy:3128"), "{shown}");
        let c = config(&[("HTTPS_PROXY", "http://alice:s3cret@[bad")]);
        let route = format!("{:?}", c.route(&Url::parse("https://a.example/").unwrap()));
        assert!(
            route.starts_with("Unusable") && !route.contains("s3cret"),
            "{route}"
        );
        assert!(!format!("{:?}", c.settings()).contains("s3cret"));
    }

    #[test]
    fn cgi_ignores_http_proxy_and_socks_is_refused_where_used() {
        let c = config(&[("HTTP_PROXY", "http://p:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(via(&c, "http://127.0.0.1/"), None);
        assert!(format!("{:?}", c.settings()).contains("ignored"));
        // A SOCKS proxy (not supported) only matters where it would be used.
        let c = config(&[
            ("ALL_PROXY", "socks5://p:1080"),
            ("HTTPS_PROXY", "http://p:3128"),
        ]);
        assert_eq!(
            via(&c, "https://api.servicetitan.io/").as_deref(),
            Some("HTTPS_PROXY http://p:3128")
        );
        match c.route(&Url::parse("http://127.0.0.1:1/").unwrap()) {
            Route::Unusable(why) => assert!(why.contains("socks5://"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_http_never_goes_through_a_proxy_on_another_machine() {
        let c = config(&[("HTTP_PROXY", "http://proxy.corp:3128")]);
        match c.route(&Url::parse("http://127.0.0.1:8450/connect/token").unwrap()) {
            Route::Unusable(why) => {
                assert!(
                    why.contains("unencrypted") && why.contains("NO_PROXY"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        let c = config(&[("HTTP_PROXY", "http://127.0.0.1:3128")]);
        assert_eq!(
            via(&c, "http://127.0.0.1:8450/").as_deref(),
            Some("HTTP_PROXY http://127.0.0.1:3128")
        );
        let c = config(&[
            ("HTTP_PROXY", "http://proxy.corp:3128"),
            ("NO_PROXY", "127.0.0.1"),
        ]);
        assert_eq!(via(&c, "http://127.0.0.1:8450/"), None);
    }
}

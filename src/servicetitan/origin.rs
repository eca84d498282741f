//! What a URL is called in messages, logs and the connection pool: its host
//! (never the rest, which a server's redirect may fill with anything), its
//! origin, and whether two URLs share one.

use url::Url;

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

pub(crate) fn origin_of(url: &Url) -> String {
    match url.host_str() {
        Some(_) => format!("{}://{}", url.scheme(), host_of(url)),
        None => host_of(url),
    }
}

/// `scheme://host:port` with the port always given: what the connection pool
/// keys connections by, and what early connections are kept under.
pub(crate) fn origin_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The URL without userinfo (none of ours carry a secret in the URL itself).
pub(crate) fn loggable_url(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

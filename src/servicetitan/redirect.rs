//! Redirects, which reqwest is told never to follow: st-setup follows one
//! itself only for API calls and only within the same scheme, host and port
//! (credentials are only ever sent to the configured host), and never for
//! the token request, which carries the Client Secret.

use reqwest::header::LOCATION;
use url::Url;

use super::failure::{FailureKind, NetworkError};
use super::http::Response;
use super::origin::{host_of, origin_of, same_origin};

/// Redirects followed within the same origin for API calls.
pub(super) const MAX_REDIRECTS: usize = 5;

/// Where the redirect `response` (to a request for `url`) may be followed,
/// or why not.
pub(super) fn next_hop(
    url: &Url,
    response: &Response,
    follow_same_origin: bool,
) -> Result<Url, NetworkError> {
    let target = response
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|loc| url.join(loc).ok());
    let host = host_of(url);
    let status = response.status.as_u16();
    match target {
        Some(next) if follow_same_origin && same_origin(url, &next) => Ok(next),
        Some(next) => {
            let to = origin_of(&next);
            let message = if follow_same_origin {
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
            Err(NetworkError {
                source: None,
                kind: FailureKind::Redirect,
                host,
                message,
            })
        }
        None => Err(NetworkError {
            source: None,
            kind: FailureKind::Redirect,
            message: format!(
                "{host} answered HTTP {status} (a redirect) without a usable Location."
            ),
            host,
        }),
    }
}

/// The request for `url` was redirected [`MAX_REDIRECTS`] times and more.
pub(super) fn too_many_redirects(url: &Url) -> NetworkError {
    let host = host_of(url);
    NetworkError {
        source: None,
        kind: FailureKind::Redirect,
        message: format!("{host} redirected more than {MAX_REDIRECTS} times."),
        host,
    }
}

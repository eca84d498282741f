//! The response size cap: a body over [`MAX_BODY_BYTES`] is reported, never
//! buffered (reqwest has no limit of its own), with a short excerpt of its
//! start from which anything the request carried is scrubbed.

use reqwest::StatusCode;
use url::Url;

use super::failure::{FailureKind, NetworkError};
use super::http::Response;
use super::origin::host_of;
use super::scrub::{scrubbed_prefix_excerpt, spellings};

/// Largest response body read; a bigger one is reported, not buffered.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Characters of a body too large to read shown in its error.
const TOO_LARGE_EXCERPT_CHARS: usize = 120;

/// Read the body of `response` to `url`, up to [`MAX_BODY_BYTES`].
/// `hidden`: what the request carried that must never be shown, should
/// the server echo it back in a body too large to read.
pub(super) async fn read_capped(
    mut response: reqwest::Response,
    url: &Url,
    hidden: &[String],
    classify: impl Fn(reqwest::Error) -> NetworkError,
) -> Result<Response, NetworkError> {
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
                let mut err = classify(e);
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
        source: None,
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

#[cfg(test)]
mod tests {
    use super::*;

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

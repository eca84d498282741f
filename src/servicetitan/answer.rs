//! What a ServiceTitan answer means: a token response (the token, its
//! lifetime and scopes, or the server's refusal in its own words without the
//! secret), a probe's status, and any other status as a network error with a
//! scrubbed excerpt of the body. Every body is the server's, so hostile.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use super::failure::{FailureKind, NetworkError};
use super::http::Response;
use super::scrub::scrubbed_excerpt;
use super::{
    AccessToken, MAX_TOKEN_CHARS, ProbeOutcome, Problem, TokenOutcome, is_well_formed_token, jwt,
    origin, retry,
};
use crate::credentials::ClientSecret;

/// The longest token lifetime believed (and cached).
const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 60 * 60;

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    scope: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct OAuthError {
    error: Option<serde_json::Value>,
    error_description: Option<serde_json::Value>,
}

pub(super) fn interpret_token_response(
    response: &Response,
    secret: &ClientSecret,
) -> Result<TokenOutcome, NetworkError> {
    let status = response.status;
    if status.is_success() {
        let body: TokenBody = serde_json::from_slice(&response.body).map_err(|_| {
            bad_response(
                &response.url,
                &format!(
                    "the token endpoint answered HTTP {} with something that is not a token response: {}",
                    status.as_u16(),
                    scrubbed_excerpt(&response.body, &[secret.expose()], 200)
                ),
            )
        })?;
        let token = body.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            bad_response(
                &response.url,
                &format!(
                    "the token endpoint answered HTTP {} without an access_token: {}",
                    status.as_u16(),
                    scrubbed_excerpt(&response.body, &[secret.expose()], 200)
                ),
            )
        })?;
        if !is_well_formed_token(&token) {
            return Err(bad_response(
                &response.url,
                &format!(
                    "the token endpoint answered HTTP {} with an access token that holds characters \
                     no access token has (only letters, digits and -._~+/= are allowed, at most {} \
                     characters); it was not used, printed or cached",
                    status.as_u16(),
                    MAX_TOKEN_CHARS
                ),
            ));
        }
        // ServiceTitan says 900 s; a server claiming centuries is believed for a day.
        let expires_in = body
            .expires_in
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(900)
            .min(MAX_TOKEN_LIFETIME_SECS);
        let mut token = AccessToken::new(token, Duration::from_secs(expires_in));
        // The response's `scope` names what was granted; the JWT claim is the fallback.
        if let Some(scopes) = body.scope.and_then(jwt::scope_names) {
            token.scopes = Some(scopes);
        }
        return Ok(TokenOutcome::Issued(token));
    }
    if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        let parsed: OAuthError = serde_json::from_slice(&response.body).unwrap_or_default();
        let clean = |v: Option<serde_json::Value>| {
            v.and_then(|v| v.as_str().map(str::to_owned))
                .map(|s| scrubbed_excerpt(s.as_bytes(), &[secret.expose()], 200))
        };
        return Ok(TokenOutcome::Rejected {
            status: status.as_u16(),
            error: clean(parsed.error),
            description: clean(parsed.error_description),
        });
    }
    Err(status_error(response, &[secret.expose()]))
}

pub(super) fn interpret_probe_response(
    token: &AccessToken,
    response: &Response,
) -> Result<ProbeOutcome, NetworkError> {
    // A gateway may echo the request's headers back: never print the token.
    let hidden = [token.expose()];
    let problem = || {
        #[derive(Deserialize)]
        struct Raw {
            title: Option<serde_json::Value>,
            #[serde(rename = "traceId")]
            trace_id: Option<serde_json::Value>,
        }
        let text = |v: Option<serde_json::Value>| {
            v.and_then(|v| {
                v.as_str()
                    .map(|s| scrubbed_excerpt(s.as_bytes(), &hidden, 120))
            })
        };
        match serde_json::from_slice::<Raw>(&response.body) {
            Ok(raw) => Problem {
                title: text(raw.title),
                trace_id: text(raw.trace_id),
            },
            Err(_) => Problem::default(),
        }
    };
    match response.status.as_u16() {
        200..=299 => {
            if serde_json::from_slice::<serde_json::Value>(&response.body).is_err() {
                return Err(bad_response(
                    &response.url,
                    &format!(
                        "the API answered HTTP {} but the body is not JSON: {}",
                        response.status.as_u16(),
                        scrubbed_excerpt(&response.body, &hidden, 200)
                    ),
                ));
            }
            Ok(ProbeOutcome::Ok)
        }
        401 => Ok(ProbeOutcome::Unauthorized(problem())),
        403 => Ok(ProbeOutcome::Forbidden(problem())),
        404 => Ok(ProbeOutcome::NotFound(problem())),
        _ => Err(status_error(response, &hidden)),
    }
}

/// A status that is not a credential verdict: rate limiting, server errors, odd 4xx.
///
/// `hidden`: the secret or token the request carried, never to be printed.
fn status_error(response: &Response, hidden: &[&str]) -> NetworkError {
    let host = origin::host_of(&response.url);
    let status = response.status.as_u16();
    let body = scrubbed_excerpt(&response.body, hidden, 200);
    let what = match status {
        429 => format!(
            "{host} is rate limiting requests (HTTP 429) and still was after {} retries; wait a minute and try again",
            retry::MAX_RETRIES
        ),
        500..=599 => format!(
            "{host} had a server error (HTTP {status}); ServiceTitan may be having trouble, try again later"
        ),
        _ => format!("{host} answered HTTP {status}, which st-setup did not expect"),
    };
    NetworkError {
        source: None,
        kind: FailureKind::Status,
        host,
        message: format!("{what}. Response: {body}"),
    }
}

pub(super) fn bad_response(url: &url::Url, message: &str) -> NetworkError {
    NetworkError {
        source: None,
        kind: FailureKind::BadResponse,
        host: origin::host_of(url),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            url: url::Url::parse("http://127.0.0.1:1/connect/token").unwrap(),
        }
    }

    fn secret() -> ClientSecret {
        ClientSecret::new("cs1.topsecretvalue/+&=".into())
    }

    fn token() -> AccessToken {
        AccessToken::new("eyJtoken.value".into(), Duration::from_secs(900))
    }

    #[test]
    fn the_secret_is_scrubbed_in_every_spelling_before_the_text_is_shortened() {
        let secret = secret();
        // The secret straddles the 200-character cut: no part of it may survive.
        let filler = "x".repeat(190);
        for echoed in [
            "cs1.topsecretvalue/+&=",
            "cs1.topsecretvalue%2F%2B%26%3D",
            "cs1.topsecretvalue%2f%2b%26%3d",
            "cs1.topsecretvalue\\/+&=",
        ] {
            let body =
                format!(r#"{{"error":"invalid_client","error_description":"{filler}{echoed}"}}"#);
            match interpret_token_response(&response(400, &body), &secret).unwrap() {
                TokenOutcome::Rejected { description, .. } => {
                    let description = description.unwrap();
                    assert!(!description.contains("topsecret"), "{description}");
                }
                other => panic!("{other:?}"),
            }
            let err = interpret_token_response(&response(503, &body), &secret).unwrap_err();
            assert!(!err.message.contains("topsecret"), "{}", err.message);
        }
    }

    #[test]
    fn a_token_echoed_by_a_gateway_is_never_printed() {
        let body = "<html>Bad request: Authorization: Bearer eyJtoken.value</html>";
        for status in [200, 418, 502] {
            let err = interpret_probe_response(&token(), &response(status, body)).unwrap_err();
            assert!(!err.message.contains("eyJtoken"), "{}", err.message);
        }
    }

    #[test]
    fn an_absurd_token_lifetime_is_capped() {
        let r = response(
            200,
            r#"{"access_token":"abc","expires_in":18446744073709551615}"#,
        );
        match interpret_token_response(&r, &secret()).unwrap() {
            TokenOutcome::Issued(t) => {
                assert_eq!(t.expires_in, Duration::from_secs(MAX_TOKEN_LIFETIME_SECS))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_token_response_yields_the_token_and_lifetime() {
        let r = response(
            200,
            r#"{"access_token":"abc","expires_in":"600","token_type":"Bearer"}"#,
        );
        match interpret_token_response(&r, &secret()).unwrap() {
            TokenOutcome::Issued(t) => {
                assert_eq!(t.expose(), "abc");
                assert_eq!(t.expires_in, Duration::from_secs(600));
                assert!(!format!("{t:?}").contains("abc"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scopes_come_from_the_response_else_from_the_jwt() {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"scope":["tn.crm.customers:r"]}"#);
        let jwt = format!("h.{payload}.s");
        let issued = |body: String| match interpret_token_response(&response(200, &body), &secret())
            .unwrap()
        {
            TokenOutcome::Issued(t) => t.scopes,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            issued(format!(
                r#"{{"access_token":"{jwt}","scope":"tn.acc.invoices:r tn.jpm.jobs:r"}}"#
            )),
            Some(vec!["tn.acc.invoices:r".into(), "tn.jpm.jobs:r".into()])
        );
        assert_eq!(
            issued(format!(r#"{{"access_token":"{jwt}"}}"#)),
            Some(vec!["tn.crm.customers:r".into()])
        );
        assert_eq!(issued(r#"{"access_token":"opaque"}"#.into()), None);
    }

    #[test]
    fn a_rejection_keeps_the_servers_words_without_the_secret() {
        let r = response(
            400,
            r#"{"error":"invalid_client","error_description":"bad cs1.topsecretvalue/+&="}"#,
        );
        match interpret_token_response(&r, &secret()).unwrap() {
            TokenOutcome::Rejected {
                status,
                error,
                description,
            } => {
                assert_eq!(status, 400);
                assert_eq!(error.as_deref(), Some("invalid_client"));
                assert_eq!(description.as_deref(), Some("bad [REDACTED]"));
            }
            other => panic!("{other:?}"),
        }
        match interpret_token_response(&response(401, "<html>"), &secret()).unwrap() {
            TokenOutcome::Rejected { error, .. } => assert_eq!(error, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_success_bodies_are_explained_without_the_token() {
        let err =
            interpret_token_response(&response(200, r#"{"access_token":"eyJsecret"#), &secret())
                .unwrap_err();
        assert_eq!(err.kind, FailureKind::BadResponse);
        assert!(!err.message.contains("eyJsecret"), "{}", err.message);
        let err = interpret_token_response(&response(200, r#"{"token_type":"Bearer"}"#), &secret())
            .unwrap_err();
        assert!(
            err.message.contains("without an access_token"),
            "{}",
            err.message
        );
        let err =
            interpret_token_response(&response(200, "<html>oops</html>"), &secret()).unwrap_err();
        assert!(
            err.message.contains("HTTP 200") && err.message.contains("<html>oops"),
            "{}",
            err.message
        );
    }

    #[test]
    fn server_errors_are_network_errors() {
        let err = interpret_token_response(&response(502, "<html>Bad Gateway</html>"), &secret())
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Status);
        assert!(err.message.contains("HTTP 502") && err.message.contains("Bad Gateway"));
    }

    #[test]
    fn probe_statuses_map_to_outcomes() {
        let body = r#"{"title":"Forbidden","status":403,"traceId":"00-abc"}"#;
        assert_eq!(
            interpret_probe_response(&token(), &response(403, body)).unwrap(),
            ProbeOutcome::Forbidden(Problem {
                title: Some("Forbidden".into()),
                trace_id: Some("00-abc".into())
            })
        );
        assert_eq!(
            interpret_probe_response(&token(), &response(200, r#"{"data":[]}"#)).unwrap(),
            ProbeOutcome::Ok
        );
        assert!(matches!(
            interpret_probe_response(&token(), &response(401, "")).unwrap(),
            ProbeOutcome::Unauthorized(_)
        ));
        assert!(matches!(
            interpret_probe_response(&token(), &response(404, "<html/>")).unwrap(),
            ProbeOutcome::NotFound(_)
        ));
        assert!(interpret_probe_response(&token(), &response(200, "{truncated")).is_err());
        assert!(interpret_probe_response(&token(), &response(500, "")).is_err());
    }
}

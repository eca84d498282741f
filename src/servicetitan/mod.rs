//! The ServiceTitan API client: the client-credentials token request and the
//! one API call that proves the App Key, tenant and access are right.
//!
//! This module reports what the server said; [`crate::verify`] decides what it
//! means for the user. Secrets are only ever placed in request bodies and
//! headers, never in URLs, messages or logs.

pub mod http;
pub mod jwt;
pub mod proxy;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::credentials::ClientSecret;
use crate::environment::Endpoints;
use http::{FailureKind, NetworkError, Request, Response, RetryPolicy, Transport, excerpt};

/// An access token: zeroed on drop, never printed by `Debug`.
#[derive(Clone)]
pub struct AccessToken {
    value: SecretString,
    pub expires_in: Duration,
}

impl AccessToken {
    pub fn new(value: String, expires_in: Duration) -> Self {
        AccessToken {
            value: SecretString::from(value),
            expires_in,
        }
    }

    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AccessToken([REDACTED], expires_in: {:?})",
            self.expires_in
        )
    }
}

/// The token endpoint's verdict.
#[derive(Debug)]
pub enum TokenOutcome {
    Issued(AccessToken),
    /// HTTP 4xx: the Client ID / Secret were refused. Fields are the server's
    /// `error` / `error_description`, cleaned for printing.
    Rejected {
        status: u16,
        error: Option<String>,
        description: Option<String>,
    },
}

/// An RFC 7807 problem body, as far as the server sent one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Problem {
    pub title: Option<String>,
    pub trace_id: Option<String>,
}

impl Problem {
    /// ` ("Forbidden", trace 00-abc)` or empty.
    pub fn suffix(&self) -> String {
        match (&self.title, &self.trace_id) {
            (Some(t), Some(id)) => format!(" (\"{t}\", trace ID {id})"),
            (Some(t), None) => format!(" (\"{t}\")"),
            (None, Some(id)) => format!(" (trace ID {id})"),
            (None, None) => String::new(),
        }
    }
}

/// The API probe's verdict.
#[derive(Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    Ok,
    Unauthorized(Problem),
    Forbidden(Problem),
    NotFound(Problem),
}

pub struct ServiceTitan {
    transport: Arc<Transport>,
    endpoints: Endpoints,
}

impl ServiceTitan {
    /// A client for `endpoints`; clients for several profiles share one transport.
    pub fn new(transport: Arc<Transport>, endpoints: Endpoints) -> Self {
        ServiceTitan {
            transport,
            endpoints,
        }
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// POST the client-credentials grant.
    pub async fn request_token(
        &self,
        client_id: &str,
        secret: &ClientSecret,
    ) -> Result<TokenOutcome, NetworkError> {
        let body = zeroize::Zeroizing::new(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("client_id", client_id)
                .append_pair("client_secret", secret.expose())
                .finish(),
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let response = self
            .transport
            .send(&Request {
                method: Method::POST,
                url: self.endpoints.token_url.clone(),
                headers,
                body: Some(body.as_bytes()),
                retry: RetryPolicy::Unprocessed,
                follow_same_origin_redirects: false,
            })
            .await?;
        interpret_token_response(&response, secret)
    }

    /// GET one business unit: proves App Key, tenant and token together.
    pub async fn probe(
        &self,
        tenant_id: &str,
        app_key: &str,
        token: &AccessToken,
    ) -> Result<ProbeOutcome, NetworkError> {
        let mut url = self.endpoints.api_base.clone();
        url.path_segments_mut()
            .map_err(|_| NetworkError {
                kind: FailureKind::Other,
                host: http::host_of(&self.endpoints.api_base),
                message: "ST_API_URL cannot be used as a base URL".into(),
            })?
            .pop_if_empty()
            .extend(["settings", "v2", "tenant", tenant_id, "business-units"]);
        url.set_query(Some("page=1&pageSize=1"));
        let mut headers = HeaderMap::new();
        let mut bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                bad_response(
                    &url,
                    "the access token contains characters not allowed in a header",
                )
            })?;
        bearer.set_sensitive(true);
        headers.insert(AUTHORIZATION, bearer);
        let mut key = HeaderValue::from_str(app_key).map_err(|_| {
            bad_response(
                &url,
                "the Application Key contains characters not allowed in a header",
            )
        })?;
        key.set_sensitive(true);
        headers.insert("ST-App-Key", key);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let response = self
            .transport
            .send(&Request {
                method: Method::GET,
                url,
                headers,
                body: None,
                retry: RetryPolicy::Idempotent,
                follow_same_origin_redirects: true,
            })
            .await?;
        interpret_probe_response(&response)
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct OAuthError {
    error: Option<serde_json::Value>,
    error_description: Option<serde_json::Value>,
}

fn interpret_token_response(
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
                    token_excerpt(&response.body, secret)
                ),
            )
        })?;
        let token = body.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            bad_response(
                &response.url,
                &format!(
                    "the token endpoint answered HTTP {} without an access_token: {}",
                    status.as_u16(),
                    token_excerpt(&response.body, secret)
                ),
            )
        })?;
        let expires_in = body
            .expires_in
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(900);
        return Ok(TokenOutcome::Issued(AccessToken::new(
            token,
            Duration::from_secs(expires_in),
        )));
    }
    if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        let parsed: OAuthError = serde_json::from_slice(&response.body).unwrap_or_default();
        let clean = |v: Option<serde_json::Value>| {
            v.and_then(|v| v.as_str().map(str::to_owned))
                .map(|s| redact(&excerpt(s.as_bytes(), 200), secret))
        };
        return Ok(TokenOutcome::Rejected {
            status: status.as_u16(),
            error: clean(parsed.error),
            description: clean(parsed.error_description),
        });
    }
    Err(status_error(response, Some(secret)))
}

fn interpret_probe_response(response: &Response) -> Result<ProbeOutcome, NetworkError> {
    let problem = || {
        #[derive(Deserialize)]
        struct Raw {
            title: Option<serde_json::Value>,
            #[serde(rename = "traceId")]
            trace_id: Option<serde_json::Value>,
        }
        let text = |v: Option<serde_json::Value>| {
            v.and_then(|v| v.as_str().map(|s| excerpt(s.as_bytes(), 120)))
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
                        excerpt(&response.body, 200)
                    ),
                ));
            }
            Ok(ProbeOutcome::Ok)
        }
        401 => Ok(ProbeOutcome::Unauthorized(problem())),
        403 => Ok(ProbeOutcome::Forbidden(problem())),
        404 => Ok(ProbeOutcome::NotFound(problem())),
        _ => Err(status_error(response, None)),
    }
}

/// A status that is not a credential verdict: rate limiting, server errors, odd 4xx.
fn status_error(response: &Response, secret: Option<&ClientSecret>) -> NetworkError {
    let host = http::host_of(&response.url);
    let status = response.status.as_u16();
    let body = match secret {
        Some(s) => token_excerpt(&response.body, s),
        None => excerpt(&response.body, 200),
    };
    let what = match status {
        429 => format!(
            "{host} is rate limiting requests (HTTP 429) and still was after {} retries; wait a minute and try again",
            http::MAX_RETRIES
        ),
        500..=599 => format!(
            "{host} had a server error (HTTP {status}); ServiceTitan may be having trouble, try again later"
        ),
        _ => format!("{host} answered HTTP {status}, which st-setup did not expect"),
    };
    NetworkError {
        kind: FailureKind::Status,
        host,
        message: format!("{what}. Response: {body}"),
    }
}

fn bad_response(url: &url::Url, message: &str) -> NetworkError {
    NetworkError {
        kind: FailureKind::BadResponse,
        host: http::host_of(url),
        message: message.to_string(),
    }
}

/// An excerpt of a token-endpoint body with any access token and the secret removed.
fn token_excerpt(body: &[u8], secret: &ClientSecret) -> String {
    let text = String::from_utf8_lossy(body);
    let cut = match text.find("access_token") {
        Some(at) => format!(
            "{}access_token…[rest hidden: it may hold a token]",
            &text[..at]
        ),
        None => text.into_owned(),
    };
    redact(&excerpt(cut.as_bytes(), 200), secret)
}

fn redact(text: &str, secret: &ClientSecret) -> String {
    let s = secret.expose();
    if s.is_empty() {
        text.to_string()
    } else {
        text.replace(s, "[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            url: url::Url::parse("http://127.0.0.1:1/connect/token").unwrap(),
        }
    }

    fn secret() -> ClientSecret {
        ClientSecret::new("cs1.topsecretvalue".into())
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
    fn a_rejection_keeps_the_servers_words_without_the_secret() {
        let r = response(
            400,
            r#"{"error":"invalid_client","error_description":"bad cs1.topsecretvalue"}"#,
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
            interpret_probe_response(&response(403, body)).unwrap(),
            ProbeOutcome::Forbidden(Problem {
                title: Some("Forbidden".into()),
                trace_id: Some("00-abc".into())
            })
        );
        assert_eq!(
            interpret_probe_response(&response(200, r#"{"data":[]}"#)).unwrap(),
            ProbeOutcome::Ok
        );
        assert!(matches!(
            interpret_probe_response(&response(401, "")).unwrap(),
            ProbeOutcome::Unauthorized(_)
        ));
        assert!(matches!(
            interpret_probe_response(&response(404, "<html/>")).unwrap(),
            ProbeOutcome::NotFound(_)
        ));
        assert!(interpret_probe_response(&response(200, "{truncated")).is_err());
        assert!(interpret_probe_response(&response(500, "")).is_err());
    }
}

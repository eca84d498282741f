//! The ServiceTitan API client: the client-credentials token request and the
//! one API call that proves the App Key, tenant and access are right.
//!
//! This module reports what the server said; [`crate::verify`] decides what it
//! means for the user. Secrets are only ever placed in request bodies and
//! headers, never in URLs, messages or logs.

mod answer;
pub(crate) mod body_cap;
pub(crate) mod early;
pub(crate) mod failure;
pub(crate) mod http;
pub(crate) mod jwt;
pub(crate) mod origin;
pub(crate) mod proxy;
pub(crate) mod redirect;
pub(crate) mod retry;
pub(crate) mod scrub;
mod trust;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::credentials::ClientSecret;
use crate::environment::Endpoints;
use crate::scopes::Module;
use answer::{bad_response, interpret_probe_response, interpret_token_response};
use failure::{FailureKind, NetworkError};
use http::{Request, Transport};
use retry::RetryPolicy;

/// An access token: zeroed on drop, never printed by `Debug`.
#[derive(Clone)]
pub(crate) struct AccessToken {
    value: SecretString,
    pub(crate) expires_in: Duration,
    /// The scopes the server says the token carries (sorted): the token
    /// response's `scope`, else the JWT's `scope` claim; `None` when neither
    /// names any.
    pub(crate) scopes: Option<Vec<String>>,
}

impl AccessToken {
    pub(crate) fn new(value: String, expires_in: Duration) -> Self {
        let scopes = jwt::claims(&value).and_then(|c| c.scopes);
        AccessToken {
            value: SecretString::from(value),
            expires_in,
            scopes,
        }
    }

    pub(crate) fn expose(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AccessToken([REDACTED], expires_in: {:?}, scopes: {:?})",
            self.expires_in, self.scopes
        )
    }
}

/// The token endpoint's verdict.
#[derive(Debug)]
pub(crate) enum TokenOutcome {
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
pub(crate) struct Problem {
    pub(crate) title: Option<String>,
    pub(crate) trace_id: Option<String>,
}

impl Problem {
    /// ` ("Forbidden", trace 00-abc)` or empty.
    pub(crate) fn suffix(&self) -> String {
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
pub(crate) enum ProbeOutcome {
    Ok,
    Unauthorized(Problem),
    Forbidden(Problem),
    NotFound(Problem),
}

pub(crate) struct ServiceTitan {
    transport: Arc<Transport>,
    endpoints: Endpoints,
}

impl ServiceTitan {
    /// A client for `endpoints`; clients for several profiles share one transport.
    pub(crate) fn new(transport: Arc<Transport>, endpoints: Endpoints) -> Self {
        ServiceTitan {
            transport,
            endpoints,
        }
    }

    pub(crate) fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// POST the client-credentials grant to this client's token endpoint.
    pub(crate) async fn request_token(
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

    /// The URL of `module`'s probe for `tenant_id` (with its `page=1&pageSize=1` query).
    pub(crate) fn probe_url(
        &self,
        module: &Module,
        tenant_id: &str,
    ) -> Result<url::Url, NetworkError> {
        let mut url = self.endpoints.api_base.clone();
        url.path_segments_mut()
            .map_err(|_| NetworkError {
                source: None,
                kind: FailureKind::Other,
                host: origin::host_of(&self.endpoints.api_base),
                message: "ST_API_URL cannot be used as a base URL".into(),
            })?
            .pop_if_empty()
            .extend(module.base.split('/').filter(|s| !s.is_empty()))
            .extend(["tenant", tenant_id, module.probe]);
        url.set_query(Some("page=1&pageSize=1"));
        Ok(url)
    }

    /// GET one item of `module`'s cheap list: proves App Key, tenant and token together.
    pub(crate) async fn probe(
        &self,
        module: &Module,
        tenant_id: &str,
        app_key: &str,
        token: &AccessToken,
    ) -> Result<ProbeOutcome, NetworkError> {
        let url = self.probe_url(module, tenant_id)?;
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
        interpret_probe_response(token, &response)
    }
}

/// The longest access token accepted (ServiceTitan's are about 1,000 characters).
pub(crate) const MAX_TOKEN_CHARS: usize = 16 * 1024;

/// Whether `token` holds only what an OAuth bearer token may (RFC 6750's
/// b64token: letters, digits, `-._~+/`, then `=` padding) and is not absurdly
/// long: so one that is printed (`st-setup token`), cached or exported
/// (`exec`) can carry no escape sequence, line break or shell syntax.
pub(crate) fn is_well_formed_token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= MAX_TOKEN_CHARS
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

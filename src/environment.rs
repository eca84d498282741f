//! ServiceTitan's two environments and the URLs that belong to each, plus the
//! overrides (https only, except loopback hosts): `ST_AUTH_URL` / `ST_API_URL`
//! for the environment in use, and `ST_PRODUCTION_AUTH_URL`,
//! `ST_INTEGRATION_API_URL`, ... for each environment on its own.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::error::Result;
use crate::invalid_input::InvalidInput;

pub(crate) const DEVELOPER_PORTAL_URL: &str = "https://developer.servicetitan.io/signin";
pub(crate) const DEVELOPER_PORTAL_ACCESS_URL: &str =
    "https://developer.servicetitan.io/request-access";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Environment {
    /// Live tenants: go.servicetitan.com
    Production,
    /// Pre-production test tenants: integration.servicetitan.com
    Integration,
}

/// `--environment`: one of the two, or `auto` (`init` finds out from the
/// credentials; other commands then use the profile's environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EnvironmentChoice {
    /// Live tenants: go.servicetitan.com
    Production,
    /// Pre-production test tenants: integration.servicetitan.com
    Integration,
    /// init: find out from the credentials (asks production, then integration); other commands: the profile's
    Auto,
}

impl EnvironmentChoice {
    /// The environment named, `None` for `auto`.
    pub(crate) fn known(self) -> Option<Environment> {
        match self {
            EnvironmentChoice::Production => Some(Environment::Production),
            EnvironmentChoice::Integration => Some(Environment::Integration),
            EnvironmentChoice::Auto => None,
        }
    }
}

impl Environment {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Integration => "integration",
        }
    }

    /// One line a person can choose by.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Environment::Production => "your live ServiceTitan tenant (go.servicetitan.com)",
            Environment::Integration => {
                "a test tenant (integration.servicetitan.com), for building and testing"
            }
        }
    }

    pub(crate) fn token_url(self) -> &'static str {
        match self {
            Environment::Production => "https://auth.servicetitan.io/connect/token",
            Environment::Integration => "https://auth-integration.servicetitan.io/connect/token",
        }
    }

    pub(crate) fn api_base(self) -> &'static str {
        match self {
            Environment::Production => "https://api.servicetitan.io",
            Environment::Integration => "https://api-integration.servicetitan.io",
        }
    }

    /// Where the tenant admin signs in.
    pub(crate) fn tenant_login_url(self) -> &'static str {
        match self {
            Environment::Production => "https://go.servicetitan.com",
            Environment::Integration => "https://integration.servicetitan.com",
        }
    }

    /// The variable that overrides this environment's token endpoint alone.
    pub(crate) fn auth_url_var(self) -> &'static str {
        match self {
            Environment::Production => "ST_PRODUCTION_AUTH_URL",
            Environment::Integration => "ST_INTEGRATION_AUTH_URL",
        }
    }

    /// The variable that overrides this environment's API base alone.
    pub(crate) fn api_url_var(self) -> &'static str {
        match self {
            Environment::Production => "ST_PRODUCTION_API_URL",
            Environment::Integration => "ST_INTEGRATION_API_URL",
        }
    }

    pub(crate) fn other(self) -> Environment {
        match self {
            Environment::Production => Environment::Integration,
            Environment::Integration => Environment::Production,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an endpoint URL came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UrlOrigin {
    /// `--auth-url` / `ST_AUTH_URL` (or the API's): the environment in use.
    Given,
    /// `ST_PRODUCTION_AUTH_URL` and its kin: one environment's own override.
    EnvironmentVariable(&'static str),
    /// The override saved in the profile when it was set up.
    Profile,
    /// ServiceTitan's own URL.
    BuiltIn,
}

/// An override URL as given, with the name it was given by (for messages).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UrlOverride<'a> {
    pub(crate) name: &'a str,
    pub(crate) raw: &'a str,
    pub(crate) origin: UrlOrigin,
}

/// The two URLs a verification talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub(crate) token_url: Url,
    pub(crate) api_base: Url,
    pub(crate) token_origin: UrlOrigin,
    pub(crate) api_origin: UrlOrigin,
}

impl Endpoints {
    /// The environment's URLs, each replaced by its override when one is set.
    pub(crate) fn resolve(
        environment: Environment,
        auth_override: Option<UrlOverride<'_>>,
        api_override: Option<UrlOverride<'_>>,
    ) -> Result<Endpoints> {
        let pick = |given: Option<UrlOverride<'_>>, built_in: &str| -> Result<(Url, UrlOrigin)> {
            match given {
                Some(o) => Ok((parse_endpoint(o.name, o.raw)?, o.origin)),
                None => Ok((
                    Url::parse(built_in).expect("built-in URL"),
                    UrlOrigin::BuiltIn,
                )),
            }
        };
        let (token_url, token_origin) = pick(auth_override, environment.token_url())?;
        let (api_base, api_origin) = pick(api_override, environment.api_base())?;
        Ok(Endpoints {
            token_url,
            api_base,
            token_origin,
            api_origin,
        })
    }
}

/// Parse an override URL: https anywhere, http only for loopback hosts.
pub(crate) fn parse_endpoint(name: &str, raw: &str) -> Result<Url> {
    // The value is shown back: printable, bounded, and never a pasted secret.
    let shown = || crate::printable::field(&crate::credentials::hide_secret_shapes(raw), 200);
    let name = name.to_string();
    let url = Url::parse(raw.trim()).map_err(|source| InvalidInput::UrlUnparsable {
        name: name.clone(),
        shown: shown(),
        source,
    })?;
    let host = url.host().ok_or_else(|| InvalidInput::UrlWithoutHost {
        name: name.clone(),
        shown: shown(),
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(InvalidInput::UrlPlainHttp {
            name,
            host: host.to_string(),
        }
        .into()),
        other => Err(InvalidInput::UrlScheme {
            name,
            scheme: other.to_string(),
        }
        .into()),
    }
}

pub(crate) fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_environment_has_its_own_urls() {
        let prod = Endpoints::resolve(Environment::Production, None, None).unwrap();
        assert_eq!(prod.token_origin, UrlOrigin::BuiltIn);
        assert_eq!(
            prod.token_url.as_str(),
            "https://auth.servicetitan.io/connect/token"
        );
        let integ = Endpoints::resolve(Environment::Integration, None, None).unwrap();
        assert_eq!(
            integ.api_base.as_str(),
            "https://api-integration.servicetitan.io/"
        );
    }

    #[test]
    fn overrides_must_be_https_unless_loopback() {
        for ok in [
            "https://gateway.example.com/connect/token",
            "http://127.0.0.1:8080/connect/token",
            "http://127.5.5.5/x",
            "http://[::1]:9/x",
            "http://localhost:1/x",
            "http://LOCALHOST:1/x",
        ] {
            assert!(parse_endpoint("ST_AUTH_URL", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/x",
            "http://10.0.0.1/x",
            "http://localhost.evil.com/x",
            "ftp://127.0.0.1/x",
            "not a url",
            "file:///etc/passwd",
        ] {
            let err = parse_endpoint("ST_AUTH_URL", bad).unwrap_err();
            assert_eq!(err.exit_status(), crate::error::ExitStatus::Usage, "{bad}");
            assert!(err.to_string().contains("ST_AUTH_URL"), "{bad}: {err}");
        }
    }
}

//! The credentials under the names other tools read: servicepytan (a JSON
//! config file or `SERVICETITAN_*` environment variables) and the Singer tap
//! for ServiceTitan, tap-service-titan (its config JSON). The names come from
//! each tool's own source: servicepytan 0.4.2 `auth.py` (`AUTH_VARIABLES`,
//! `servicepytan_connect`) and archdotdev/tap-service-titan `tap.py`
//! (`config_jsonschema`).

use zeroize::Zeroizing;

use crate::environment::Environment;

/// What a consumer needs, already resolved for one profile.
pub(crate) struct Values<'a> {
    pub(crate) environment: Environment,
    pub(crate) tenant_id: &'a str,
    pub(crate) app_key: &'a str,
    pub(crate) client_id: &'a str,
    /// The token endpoint in effect (the environment's, or an override).
    pub(crate) token_url: &'a str,
    /// The API base in effect, without a trailing slash.
    pub(crate) api_base: &'a str,
    /// The Client Secret, only when the user asked for it.
    pub(crate) client_secret: Option<&'a str>,
}

/// servicepytan's names, in the order of its `AUTH_VARIABLES`. It reads the
/// same names from a JSON file (`servicepytan_connect(config_file=...)`) and
/// from the environment. `SERVICETITAN_APP_ID` (unused by servicepytan) and
/// `SERVICETITAN_TIMEZONE` (the user's choice, default UTC) are left out.
pub(crate) fn servicepytan_pairs(values: &Values) -> Vec<(&'static str, Zeroizing<String>)> {
    let mut pairs = vec![
        ("SERVICETITAN_APP_KEY", values.app_key),
        ("SERVICETITAN_TENANT_ID", values.tenant_id),
        ("SERVICETITAN_CLIENT_ID", values.client_id),
    ];
    if let Some(secret) = values.client_secret {
        pairs.push(("SERVICETITAN_CLIENT_SECRET", secret));
    }
    // One of servicepytan's `ApiEnvironment` values: "production" or "integration".
    pairs.push(("SERVICETITAN_API_ENVIRONMENT", values.environment.name()));
    pairs
        .into_iter()
        .map(|(k, v)| (k, Zeroizing::new(v.to_string())))
        .collect()
}

/// servicepytan has no setting for other URLs: it derives them from the
/// environment. Says so when the profile uses an override.
pub(crate) fn servicepytan_url_warning(values: &Values) -> Option<String> {
    let env = values.environment;
    (values.token_url != env.token_url() || values.api_base != env.api_base()).then(|| {
        format!(
            "servicepytan cannot use a custom token endpoint or API base (ST_AUTH_URL / \
             ST_API_URL): it will talk to ServiceTitan's {} URLs ({} and {}).",
            env.name(),
            env.token_url(),
            env.api_base()
        )
    })
}

/// The config JSON of tap-service-titan: its four required keys and both
/// URLs, always written out, because the tap defaults to the integration
/// environment's URLs and a production profile without them would silently
/// fail to authenticate.
pub(crate) fn singer_pairs(values: &Values) -> Vec<(&'static str, Zeroizing<String>)> {
    let mut pairs = vec![("client_id", values.client_id)];
    if let Some(secret) = values.client_secret {
        pairs.push(("client_secret", secret));
    }
    pairs.extend([
        ("st_app_key", values.app_key),
        ("tenant_id", values.tenant_id),
        ("api_url", values.api_base),
        ("auth_url", values.token_url),
    ]);
    pairs
        .into_iter()
        .map(|(k, v)| (k, Zeroizing::new(v.to_string())))
        .collect()
}

/// A JSON object of string values, keys in the given order (the tools'
/// own order, easier to compare with their docs), pretty-printed and
/// ending with a newline. Every copy of a value is zeroized when dropped.
pub(crate) fn json_object(pairs: &[(&str, Zeroizing<String>)]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::from("{\n"));
    for (i, (key, value)) in pairs.iter().enumerate() {
        let key = serde_json::Value::from(*key).to_string();
        let value = Zeroizing::new(serde_json::Value::from(value.as_str()).to_string());
        out.push_str("  ");
        out.push_str(&key);
        out.push_str(": ");
        out.push_str(&value);
        out.push_str(if i + 1 < pairs.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(secret: Option<&'static str>) -> Values<'static> {
        Values {
            environment: Environment::Production,
            tenant_id: "8450",
            app_key: "ak1.abc",
            client_id: "cid.abc",
            token_url: Environment::Production.token_url(),
            api_base: Environment::Production.api_base(),
            client_secret: secret,
        }
    }

    #[test]
    fn servicepytan_names_and_environment_value() {
        let pairs = servicepytan_pairs(&values(None));
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "SERVICETITAN_APP_KEY",
                "SERVICETITAN_TENANT_ID",
                "SERVICETITAN_CLIENT_ID",
                "SERVICETITAN_API_ENVIRONMENT"
            ]
        );
        assert_eq!(pairs[3].1.as_str(), "production");
        let with = servicepytan_pairs(&values(Some("cs1.x")));
        assert!(
            with.iter()
                .any(|(k, v)| *k == "SERVICETITAN_CLIENT_SECRET" && **v == "cs1.x")
        );
        assert_eq!(servicepytan_url_warning(&values(None)), None);
        let custom = Values {
            api_base: "https://gateway.example.com",
            ..values(None)
        };
        assert!(
            servicepytan_url_warning(&custom)
                .unwrap()
                .contains("https://api.servicetitan.io")
        );
    }

    #[test]
    fn singer_config_always_names_both_urls() {
        let text = json_object(&singer_pairs(&values(None)));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json["auth_url"],
            "https://auth.servicetitan.io/connect/token"
        );
        assert_eq!(json["api_url"], "https://api.servicetitan.io");
        assert_eq!(json["st_app_key"], "ak1.abc");
        assert!(json.get("client_secret").is_none());
    }

    #[test]
    fn json_object_escapes_and_keeps_order() {
        let pairs = vec![
            ("b", Zeroizing::new("x\"y\\z\n".to_string())),
            ("a", Zeroizing::new("1".to_string())),
        ];
        let text = json_object(&pairs);
        assert_eq!(
            text.as_str(),
            "{\n  \"b\": \"x\\\"y\\\\z\\n\",\n  \"a\": \"1\"\n}\n"
        );
        assert_eq!(json_object(&[]).as_str(), "{\n}\n");
    }
}

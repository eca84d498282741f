//! Reading the claims ServiceTitan puts in its access tokens.
//!
//! The signature is not checked: the token came straight from the token
//! endpoint over TLS, and the claims are only used to explain mismatches
//! early. A token that is not a JWT, or lacks a claim, yields `None`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) tenant: Option<String>,
    pub(crate) expires_at: Option<i64>,
    /// The `scope` claim: an array of names (or one space-separated string).
    pub(crate) scopes: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawClaims {
    tenant: Option<serde_json::Value>,
    exp: Option<serde_json::Value>,
    scope: Option<serde_json::Value>,
}

/// Decode the payload of a JWT; `None` when it is not one.
pub(crate) fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > 64 * 1024 {
        return None;
    }
    // Some encoders pad; the spec says not to. Accept both.
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let raw: RawClaims = serde_json::from_slice(&bytes).ok()?;
    Some(Claims {
        tenant: raw.tenant.and_then(scalar_to_string),
        expires_at: raw.exp.and_then(|v| v.as_i64()),
        scopes: raw.scope.and_then(scope_names),
    })
}

/// `["a","b"]` or `"a b"`; anything else (a number, an object) is no claim.
pub(crate) fn scope_names(value: serde_json::Value) -> Option<Vec<String>> {
    match value {
        serde_json::Value::String(s) => Some(crate::scopes::normalize([s.as_str()])),
        serde_json::Value::Array(items) => Some(crate::scopes::normalize(
            items.iter().filter_map(serde_json::Value::as_str),
        )),
        _ => None,
    }
}

/// `"8450"` and `8450` both mean tenant 8450.
fn scalar_to_string(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Does the token's tenant claim name `tenant_id`? `None` when the token has no such claim.
pub(crate) fn tenant_matches(token: &str, tenant_id: &str) -> Option<Result<(), String>> {
    let claimed = claims(token)?.tenant?;
    let same = match (claimed.trim().parse::<i64>(), tenant_id.parse::<i64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => claimed.trim() == tenant_id,
    };
    Some(if same { Ok(()) } else { Err(claimed) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"at+jwt"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_the_tenant_claim_as_string_or_number() {
        let token = jwt(r#"{"tenant":"8450","client_id":"cid.x","exp":1700000000}"#);
        assert_eq!(
            claims(&token),
            Some(Claims {
                tenant: Some("8450".into()),
                expires_at: Some(1_700_000_000),
                scopes: None,
            })
        );
        assert_eq!(tenant_matches(&token, "8450"), Some(Ok(())));
        assert_eq!(
            tenant_matches(&jwt(r#"{"tenant":8450}"#), "8450"),
            Some(Ok(()))
        );
    }

    #[test]
    fn reads_the_scope_claim_as_array_or_string() {
        let scopes = |payload: &str| claims(&jwt(payload)).unwrap().scopes;
        assert_eq!(
            scopes(r#"{"scope":["tn.crm.customers:r","tn.acc.invoices:r"]}"#),
            Some(vec![
                "tn.acc.invoices:r".to_string(),
                "tn.crm.customers:r".to_string()
            ])
        );
        assert_eq!(
            scopes(r#"{"scope":"tn.jpm.jobs:r tn.crm.customers:r"}"#),
            Some(vec![
                "tn.crm.customers:r".to_string(),
                "tn.jpm.jobs:r".to_string()
            ])
        );
        assert_eq!(scopes(r#"{"scope":42}"#), None);
        assert_eq!(scopes(r#"{"tenant":"1"}"#), None);
    }

    #[test]
    fn a_mismatch_names_the_tokens_tenant() {
        let token = jwt(r#"{"tenant":"1234"}"#);
        assert_eq!(tenant_matches(&token, "8450"), Some(Err("1234".into())));
    }

    #[test]
    fn tokens_without_a_tenant_claim_are_skipped() {
        assert_eq!(tenant_matches(&jwt(r#"{"sub":"x"}"#), "8450"), None);
        assert_eq!(tenant_matches(&jwt(r#"{"tenant":null}"#), "8450"), None);
        assert_eq!(tenant_matches(&jwt(r#"{"tenant":["a"]}"#), "8450"), None);
    }

    #[test]
    fn opaque_or_broken_tokens_are_not_jwts() {
        for token in [
            "",
            "opaque-token",
            "a.b",
            "a.b.c.d",
            "a.!!!.c",
            &format!("x.{}.y", URL_SAFE_NO_PAD.encode("not json")),
            &format!("x.{}.y", URL_SAFE_NO_PAD.encode("[1,2]")),
        ] {
            assert_eq!(tenant_matches(token, "8450"), None, "{token}");
        }
    }

    #[test]
    fn padded_payloads_are_accepted() {
        let payload = base64::engine::general_purpose::URL_SAFE.encode(r#"{"tenant":"77"}"#);
        assert_eq!(
            tenant_matches(&format!("h.{payload}.s"), "77"),
            Some(Ok(()))
        );
    }
}

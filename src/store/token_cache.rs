//! The token cache entry, bound to what the token was issued for.
//!
//! One line: `2 <expires_at> <tag> <token>`. The tag is an HMAC-SHA256 keyed
//! by the Client Secret over the token URL, the Client ID, the expiry and the
//! token, so an entry is served only with the secret it was issued for (a
//! deleted or different secret finds nothing usable) and cannot be forged or
//! edited without it. The secret itself is never stored. The expiry is also
//! capped by the token's own `exp` claim when it is a JWT.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::credentials::ClientSecret;
use crate::servicetitan::jwt;

/// The format version at the start of every entry (older entries are ignored).
const VERSION: &str = "2";
/// Longer tokens are not cached (ServiceTitan's are about 1 KiB).
pub(crate) const MAX_CACHED_TOKEN_BYTES: usize = 16 * 1024;

/// What a cached token is bound to.
pub(crate) struct Binding<'a> {
    pub(crate) token_url: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) client_secret: &'a ClientSecret,
}

/// A cached access token that checked out, and when it expires (Unix seconds).
pub(crate) struct CachedToken {
    pub(crate) token: SecretString,
    pub(crate) expires_at: u64,
}

/// The entry for `token`, or `None` when it is too long or has a character
/// that would break the line (a space or a line break).
pub(crate) fn seal(binding: &Binding, token: &str, expires_at: u64) -> Option<Zeroizing<String>> {
    if token.is_empty()
        || token.len() > MAX_CACHED_TOKEN_BYTES
        || token.chars().any(char::is_whitespace)
    {
        return None;
    }
    let expires_at = capped_by_claim(token, expires_at);
    let tag = hmac::sign(&key(binding), &message(binding, expires_at, token));
    Some(Zeroizing::new(format!(
        "{VERSION} {expires_at} {} {token}",
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    )))
}

/// The token in `entry` if it was sealed for `binding` (same token URL,
/// Client ID and Client Secret) and is untouched; its expiry is capped by the
/// token's own `exp` claim. Expiry against the clock is the caller's check.
pub(crate) fn open(binding: &Binding, entry: &str) -> Option<CachedToken> {
    let mut parts = entry.trim_end_matches(['\n', '\r']).splitn(4, ' ');
    let (version, expires_at, tag, token) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != VERSION || token.is_empty() || token.len() > MAX_CACHED_TOKEN_BYTES {
        return None;
    }
    let expires_at: u64 = expires_at.parse().ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    hmac::verify(&key(binding), &message(binding, expires_at, token), &tag).ok()?;
    Some(CachedToken {
        expires_at: capped_by_claim(token, expires_at),
        token: SecretString::from(token.to_string()),
    })
}

/// `expires_at`, or the token's `exp` claim when that is earlier.
pub(crate) fn capped_by_claim(token: &str, expires_at: u64) -> u64 {
    match jwt::claims(token).and_then(|c| c.expires_at) {
        Some(exp) => expires_at.min(u64::try_from(exp).unwrap_or(0)),
        None => expires_at,
    }
}

fn key(binding: &Binding) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, binding.client_secret.expose().as_bytes())
}

/// Every field length-prefixed, so no two different entries share a message.
fn message(binding: &Binding, expires_at: u64, token: &str) -> Zeroizing<Vec<u8>> {
    let expires_at = expires_at.to_string();
    let fields = [
        "st-setup token cache".as_bytes(),
        VERSION.as_bytes(),
        binding.token_url.as_bytes(),
        binding.client_id.as_bytes(),
        expires_at.as_bytes(),
        token.as_bytes(),
    ];
    let mut message = Zeroizing::new(Vec::with_capacity(fields.iter().map(|f| f.len() + 8).sum()));
    for field in fields {
        message.extend_from_slice(&(field.len() as u64).to_be_bytes());
        message.extend_from_slice(field);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const URL: &str = "https://auth-integration.servicetitan.io/connect/token";

    fn secret(value: &str) -> ClientSecret {
        ClientSecret::new(value.into())
    }

    fn jwt_expiring_at(exp: u64) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#))
        )
    }

    #[test]
    fn an_entry_opens_only_for_the_url_client_id_and_secret_it_was_sealed_for() {
        let right = secret("cs1.right");
        let binding = Binding {
            token_url: URL,
            client_id: "cid.a",
            client_secret: &right,
        };
        let entry = seal(&binding, "opaque-token", 2_000_000_000).unwrap();
        assert!(!entry.contains("cs1.right"), "never the secret itself");
        let opened = open(&binding, &entry).expect("opens for the same binding");
        assert_eq!(opened.token.expose_secret(), "opaque-token");
        assert_eq!(opened.expires_at, 2_000_000_000);

        let wrong = secret("cs1.wrong");
        for other in [
            Binding {
                client_secret: &wrong,
                ..binding
            },
            Binding {
                client_id: "cid.b",
                ..binding
            },
            Binding {
                token_url: "http://127.0.0.1:9/connect/token",
                ..binding
            },
        ] {
            assert!(open(&other, &entry).is_none());
        }
    }

    #[test]
    fn an_edited_entry_does_not_open() {
        let s = secret("cs1.right");
        let binding = Binding {
            token_url: URL,
            client_id: "cid.a",
            client_secret: &s,
        };
        let entry = seal(&binding, "opaque-token", 2_000_000_000).unwrap();
        let later = entry.replacen("2000000000", "2000000900", 1);
        let forged = format!("{}forged", &entry[..entry.len() - "opaque-token".len()]);
        for edited in [later, forged, entry.replacen("2 ", "1 ", 1)] {
            assert!(open(&binding, &edited).is_none(), "{edited}");
        }
    }

    #[test]
    fn the_expiry_is_capped_by_the_tokens_own_exp_claim() {
        let s = secret("cs1.right");
        let binding = Binding {
            token_url: URL,
            client_id: "cid.a",
            client_secret: &s,
        };
        let token = jwt_expiring_at(1_900_000_000);
        let entry = seal(&binding, &token, 2_000_000_000).unwrap();
        assert_eq!(open(&binding, &entry).unwrap().expires_at, 1_900_000_000);
    }

    #[test]
    fn tokens_that_would_break_the_line_are_not_cached() {
        let s = secret("cs1.right");
        let binding = Binding {
            token_url: URL,
            client_id: "cid.a",
            client_secret: &s,
        };
        for token in ["", "a b", "a\nb", &"x".repeat(MAX_CACHED_TOKEN_BYTES + 1)] {
            assert!(seal(&binding, token, 1).is_none());
        }
    }
}

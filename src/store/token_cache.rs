//! The token cache entry, bound to what the token was issued for.
//!
//! A JSON object: `{"version":3,"expires_at":<unix s>,"tag":"<base64>",
//! "token":"<token>"}`. The tag is an HMAC-SHA256 keyed by the Client Secret
//! over the token URL, the Client ID, the expiry and the token, so an entry is
//! served only with the secret it was issued for (a deleted or different
//! secret finds nothing usable) and cannot be forged or edited without it. The
//! secret itself is never stored. The expiry is also capped by the token's own
//! `exp` claim when it is a JWT. An entry of another version (the one-line
//! format of version 2) is not opened: the next `token` asks for a new one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::credentials::ClientSecret;
use crate::servicetitan::{self, jwt};

/// The format version of every entry (others are ignored).
const VERSION: u32 = 3;

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

/// The entry as stored. No `Debug`: it holds the token.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry<T> {
    version: u32,
    expires_at: u64,
    tag: String,
    token: T,
}

/// Whether `token` may be cached: a well-formed bearer token of a sane
/// length, so that no escape sequence, line break or shell syntax can come
/// back out of the cache.
fn cacheable(token: &str) -> bool {
    servicetitan::is_well_formed_token(token)
}

/// The entry for `token`, or `None` when it cannot be cached ([`cacheable`]).
pub(crate) fn seal(binding: &Binding, token: &str, expires_at: u64) -> Option<Zeroizing<String>> {
    if !cacheable(token) {
        return None;
    }
    let expires_at = capped_by_claim(token, expires_at);
    let tag = hmac::sign(&key(binding), &message(binding, expires_at, token));
    let entry = Entry {
        version: VERSION,
        expires_at,
        tag: URL_SAFE_NO_PAD.encode(tag.as_ref()),
        token,
    };
    // Written into a buffer that is zeroed on drop and large enough from the
    // start, so that no reallocation leaves a copy of the token behind.
    let mut json = Zeroizing::new(Vec::with_capacity(token.len() + 256));
    serde_json::to_writer(&mut *json, &entry).ok()?;
    String::from_utf8(std::mem::take(&mut *json))
        .ok()
        .map(Zeroizing::new)
}

/// The token in `entry` if it was sealed for `binding` (same token URL,
/// Client ID and Client Secret) and is untouched; its expiry is capped by the
/// token's own `exp` claim. Expiry against the clock is the caller's check.
pub(crate) fn open(binding: &Binding, entry: &str) -> Option<CachedToken> {
    let entry: Entry<String> = serde_json::from_str(entry).ok()?;
    let token = Zeroizing::new(entry.token);
    if entry.version != VERSION || !cacheable(&token) {
        return None;
    }
    let tag = URL_SAFE_NO_PAD.decode(&entry.tag).ok()?;
    hmac::verify(
        &key(binding),
        &message(binding, entry.expires_at, &token),
        &tag,
    )
    .ok()?;
    Some(CachedToken {
        expires_at: capped_by_claim(&token, entry.expires_at),
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
        &VERSION.to_be_bytes(),
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
        let forged = entry.replacen("opaque-token", "forged", 1);
        let older = entry.replacen("\"version\":3", "\"version\":2", 1);
        let version_2 = format!("2 2000000000 {} opaque-token", "A".repeat(43));
        for edited in [later, forged, older, version_2] {
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
    fn only_well_formed_tokens_are_cached_or_served() {
        let s = secret("cs1.right");
        let binding = Binding {
            token_url: URL,
            client_id: "cid.a",
            client_secret: &s,
        };
        let bad = ["", "a b", "a\nb", "\u{1b}[31m", "x;rm -rf ~"];
        let too_long = "x".repeat(servicetitan::MAX_TOKEN_CHARS + 1);
        for token in bad.iter().copied().chain([too_long.as_str()]) {
            assert!(seal(&binding, token, 1).is_none(), "{token:?}");
        }
        // An entry that carries one (sealed with the secret by someone
        // else) is not served either.
        for token in bad {
            let tag = hmac::sign(&key(&binding), &message(&binding, 2_000_000_000, token));
            let entry = serde_json::json!({
                "version": VERSION,
                "expires_at": 2_000_000_000u64,
                "tag": URL_SAFE_NO_PAD.encode(tag.as_ref()),
                "token": token,
            })
            .to_string();
            assert!(open(&binding, &entry).is_none(), "{token:?}");
        }
        let entry = seal(&binding, "eyJ.a-b_c~d+e/f==", 2_000_000_000).unwrap();
        assert!(!entry.contains('\n'), "one line: {}", entry.as_str());
        let opened = open(&binding, &entry).unwrap();
        assert_eq!(opened.token.expose_secret(), "eyJ.a-b_c~d+e/f==");
    }
}

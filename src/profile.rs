//! Profile names: the key in the config file and the keyring account name.

use crate::credentials::{Field, looks_like};

pub(crate) const DEFAULT_PROFILE: &str = "default";

/// [`check_name`] on the value of `--profile` / `ST_PROFILE`.
pub(crate) fn check_profile_option(name: &str) -> crate::error::Result<()> {
    check_name_option("--profile / ST_PROFILE", name)
}

/// [`check_name`] on the value of `--app-key-from`.
pub(crate) fn check_app_key_from(name: &str) -> crate::error::Result<()> {
    check_name_option("--app-key-from", name)
}

/// [`check_name`] on the value of `option`, as a usage error naming it.
fn check_name_option(option: &'static str, name: &str) -> crate::error::Result<()> {
    check_name(name).map_err(|problem| {
        crate::invalid_input::InvalidInput::Option {
            option,
            problem,
            fix: None,
        }
        .into()
    })
}

/// Letters, digits, `-`, `_` and `.`, 1 to 64 characters, not starting with `.`:
/// safe as a TOML key, a keyring account and a file name. Never a credential.
/// Messages never repeat the name (it may be a pasted secret).
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a profile name cannot be empty".into());
    }
    if name.len() > 64 {
        return Err("a profile name is at most 64 characters".into());
    }
    if name.starts_with('.') {
        return Err("a profile name cannot start with '.'".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "a profile name may only use letters, digits, '-', '_' and '.', not {bad:?}"
        ));
    }
    // A pasted credential in the wrong place: a profile name is printed and
    // stored in plain text, so a Client Secret must never become one, nor
    // part of one (`--profile=x<secret>`).
    if let Some(field @ (Field::AppKey | Field::ClientId | Field::ClientSecret)) = looks_like(name)
    {
        return Err(format!(
            "that looks like {}, not a profile name; choose a short name such as \
             'default' or 'acme-prod'",
            field.with_article()
        ));
    }
    if crate::credentials::hide_secret_shapes(name) != name {
        return Err(
            "that holds something shaped like a Client Secret (cs1.…), which is \
             never used as a profile name; choose a short name such as 'default' or 'acme-prod'"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn profile_names_are_safe_identifiers() {
        for ok in ["default", "prod-8450", "acme_integration", "a.b", "X1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "a b",
            "a/b",
            "../x",
            "a\nb",
            "é",
            &"x".repeat(65),
            "cs1.abcdefghijklmnop",
            "CID.abcdefghijklmnop",
            "ak1.abcdefghijklmnop",
            "xcs1.abcdefghijklmnop",
            "acme-CS2.abcdefghijklmnop",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let message = check_name("xcs1.abcdefghijklmnop").unwrap_err();
        assert!(message.contains("shaped like a Client Secret"), "{message}");
        assert!(!message.contains("abcdefghijklmnop"), "{message}");
        let message = check_name("cs1.abcdefghijklmnop").unwrap_err();
        assert!(message.contains("looks like a Client Secret"), "{message}");
        assert!(!message.contains("abcdefghijklmnop"), "{message}");
    }
}

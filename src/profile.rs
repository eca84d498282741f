//! Profile names: the key in the config file and the keyring account name.

pub const DEFAULT_PROFILE: &str = "default";

/// Letters, digits, `-`, `_` and `.`, 1 to 64 characters, not starting with `.`:
/// safe as a TOML key, a keyring account and a file name.
pub fn check_name(name: &str) -> Result<(), String> {
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
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}

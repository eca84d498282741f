//! The four ServiceTitan credentials: their types, how pasted text is cleaned,
//! and how a value is checked against the shape each credential usually has.
//!
//! Shapes are observed, not documented by ServiceTitan, so a value with an
//! unexpected shape gets a warning that names what it looks like, which the
//! wizard lets the user confirm. Refused outright: a Tenant ID that is not
//! digits fitting an i64, an App Key or Client ID with a character outside
//! `[A-Za-z0-9._-]`, empty values, control characters, absurd lengths,
//! and a value that looks like a Client Secret in any other field (those are
//! shown and stored in plain text, so no confirmation can keep it there).
//!
//! Over 400 lines only with its unit tests (the code is about 330).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// The longest value accepted for any field (real values are under 100 chars).
pub(crate) const MAX_LEN: usize = 1024;

/// One of the values st-setup collects, with the names a user sees for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    TenantId,
    AppKey,
    ClientId,
    ClientSecret,
}

impl Field {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Field::TenantId => "Tenant ID",
            Field::AppKey => "Application Key",
            Field::ClientId => "Client ID",
            Field::ClientSecret => "Client Secret",
        }
    }

    /// How a script provides this value: the flag (or stdin option) and the variable.
    pub(crate) fn script_sources(self) -> &'static str {
        match self {
            Field::TenantId => "--tenant or ST_TENANT_ID",
            Field::AppKey => "--app-key or ST_APP_KEY",
            Field::ClientId => "--client-id or ST_CLIENT_ID",
            Field::ClientSecret => "ST_CLIENT_SECRET or --client-secret-stdin",
        }
    }

    /// The label with its article: "an Application Key", "a Client ID".
    pub(crate) fn with_article(self) -> String {
        match self {
            Field::AppKey => format!("an {}", self.label()),
            _ => format!("a {}", self.label()),
        }
    }

    fn expected_shape(self) -> &'static str {
        match self {
            Field::TenantId => "digits only, for example 985798691",
            Field::AppKey => "`ak1.` followed by 25 letters and digits",
            Field::ClientId => "`cid.` followed by 25 letters and digits",
            Field::ClientSecret => "`cs1.` (or cs2., ...) followed by about 50 characters",
        }
    }

    /// Where in ServiceTitan the value is found, for hints.
    pub(crate) fn where_to_find(self) -> &'static str {
        match self {
            Field::TenantId => {
                "the tenant's Settings > Integrations > API Application Access page (\"Tenant ID\")"
            }
            Field::AppKey => "the Developer Portal > My Apps > your app (\"Application Key\")",
            Field::ClientId | Field::ClientSecret => {
                "API Application Access in the tenant: click the connected app's name"
            }
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Remove what a paste tends to bring along: surrounding whitespace, newlines
/// and one or more layers of matching or stray quotes.
pub(crate) fn clean_pasted(raw: &str) -> &str {
    let mut value = raw.trim();
    loop {
        let trimmed = value
            .trim_matches(|c: char| c == '"' || c == '\'' || c == '`')
            .trim();
        if trimmed.len() == value.len() {
            return value;
        }
        value = trimmed;
    }
}

/// Which credential a value looks like, judged by its prefix.
pub(crate) fn looks_like(value: &str) -> Option<Field> {
    let lower = value.to_ascii_lowercase();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        Some(Field::TenantId)
    } else if lower.starts_with("ak1.") {
        Some(Field::AppKey)
    } else if lower.starts_with("cid.") {
        Some(Field::ClientId)
    } else if is_secret_prefix(&lower) {
        Some(Field::ClientSecret)
    } else {
        None
    }
}

/// `text` with every run shaped like a Client Secret (`cs<digits>.` and what
/// follows up to a space, quote, comma or bracket, any case) replaced by
/// `[REDACTED]`, wherever it stands: inside a longer argument, after a
/// `--flag=`, or as part of a list. For messages that repeat user input.
pub(crate) fn hide_secret_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.to_ascii_lowercase().find("cs") {
        let candidate = &rest[at..];
        if is_secret_prefix(&candidate.to_ascii_lowercase()) {
            let end = candidate
                .find(|c: char| {
                    c.is_whitespace()
                        || matches!(
                            c,
                            '\'' | '"' | ',' | ';' | '[' | ']' | '(' | ')' | '<' | '>' | '`'
                        )
                })
                .unwrap_or(candidate.len());
            out.push_str(&rest[..at]);
            out.push_str("[REDACTED]");
            rest = &candidate[end..];
        } else {
            // Not a secret here: keep "cs" and look further on.
            out.push_str(&rest[..at + 2]);
            rest = &candidate[2..];
        }
    }
    out.push_str(rest);
    out
}

/// `cs` + digits + `.`
fn is_secret_prefix(lower: &str) -> bool {
    let Some(rest) = lower.strip_prefix("cs") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest.as_bytes().get(digits) == Some(&b'.')
}

/// A value that passed the hard rules, with a warning when its shape is unusual.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Checked {
    pub(crate) value: String,
    pub(crate) warning: Option<String>,
    /// True when the value looks like a *different* credential (a swapped paste).
    pub(crate) looks_swapped: bool,
}

/// Clean a pasted value and check it for `field`.
///
/// `Err` carries a message naming the field and the fix; it never repeats the
/// value, which may be a secret pasted into the wrong place.
pub(crate) fn check(field: Field, raw: &str) -> Result<Checked, String> {
    let value = clean_pasted(raw);
    if value.is_empty() {
        return Err(format!(
            "{field} is empty: paste the value from {}.",
            field.where_to_find()
        ));
    }
    if value.chars().count() > MAX_LEN {
        return Err(format!(
            "{field} is too long ({} characters; real values are under 100). Check that only the {field} was pasted.",
            value.chars().count()
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{field} contains control characters or line breaks inside it. Copy just the value and paste it again."
        ));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "{field} contains spaces inside it. Copy just the value and paste it again."
        ));
    }
    if field == Field::TenantId {
        return check_tenant(value).map(|tenant| Checked {
            value: tenant,
            warning: None,
            looks_swapped: false,
        });
    }
    let seen = looks_like(value);
    if seen == Some(Field::ClientSecret) && field != Field::ClientSecret {
        // Never confirmable: the other values are shown and stored in plain text.
        return Err(format!(
            "this looks like a Client Secret, not {}, and a Client Secret is never kept in a \
             visible field (it would be shown and stored in plain text). The {field} is {}, \
             found on {}.",
            field.with_article(),
            field.expected_shape(),
            field.where_to_find()
        ));
    }
    if matches!(field, Field::AppKey | Field::ClientId)
        && let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        // No real one has them, and these values end up in shells and .env files.
        return Err(format!(
            "{field} contains '{}', which no {field} has: only letters, digits, '.', '_' and \
             '-'. Copy it again from {}.",
            crate::printable::field(&bad.to_string(), 1),
            field.where_to_find()
        ));
    }
    let (warning, looks_swapped) = match seen {
        Some(other) if other == field => (None, false),
        Some(other) => (
            Some(format!(
                "this looks like {}, not {}. The {field} is {}, found on {}.",
                other.with_article(),
                field.with_article(),
                field.expected_shape(),
                field.where_to_find()
            )),
            true,
        ),
        None => (
            Some(format!(
                "this does not look like {}, which is usually {}.",
                field.with_article(),
                field.expected_shape()
            )),
            false,
        ),
    };
    Ok(Checked {
        value: value.to_string(),
        warning,
        looks_swapped,
    })
}

fn check_tenant(value: &str) -> Result<String, String> {
    if let Some(other) = looks_like(value).filter(|f| *f != Field::TenantId) {
        return Err(format!(
            "Tenant ID must be digits only, and this looks like {}. The Tenant ID is on {}.",
            other.with_article(),
            Field::TenantId.where_to_find()
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Tenant ID must be digits only (for example 985798691). It is shown on {}.",
            Field::TenantId.where_to_find()
        ));
    }
    match value.parse::<i64>() {
        Ok(n) => Ok(n.to_string()),
        Err(_) => Err(
            "Tenant ID is too large: it must fit in a 64-bit number (real IDs have about 9-10 digits)."
                .to_string(),
        ),
    }
}

/// The Client Secret: zeroed on drop, `[REDACTED]` in `Debug`.
#[derive(Clone)]
pub(crate) struct ClientSecret(SecretString);

impl ClientSecret {
    pub(crate) fn new(value: String) -> Self {
        ClientSecret(SecretString::from(value))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The last four characters, for summaries: `****wxyz`.
    pub(crate) fn masked(&self) -> String {
        mask_all_but_last(self.expose(), 4)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([REDACTED])")
    }
}

/// `****` followed by the last `keep` characters (only `****` for short values).
pub(crate) fn mask_all_but_last(value: &str, keep: usize) -> String {
    let count = value.chars().count();
    if count <= keep * 2 {
        return "****".to_string();
    }
    let tail: String = value.chars().skip(count - keep).collect();
    format!("****{tail}")
}

/// Keep the prefix (`ak1.`, `cid.`) and the last 4 characters: `cid.****wxyz`.
pub(crate) fn mask_identifier(value: &str) -> String {
    let prefix_len = value.find('.').map(|i| i + 1).filter(|i| *i <= 5);
    match prefix_len {
        Some(p) if value.len() > p + 8 => {
            format!("{}{}", &value[..p], mask_all_but_last(&value[p..], 4))
        }
        _ => mask_all_but_last(value, 4),
    }
}

/// The four values, as one unit to verify and store.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) tenant_id: String,
    pub(crate) app_key: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_FIELDS: [Field; 4] = [
        Field::TenantId,
        Field::AppKey,
        Field::ClientId,
        Field::ClientSecret,
    ];

    #[test]
    fn secret_shapes_are_hidden_wherever_they_stand() {
        let secret = "cs1.abcDEF123/+=xyz";
        for (text, expected) in [
            (
                format!("invalid value '{secret}'"),
                "invalid value '[REDACTED]'",
            ),
            (
                format!("--environment=x,{secret},y"),
                "--environment=x,[REDACTED],y",
            ),
            (
                format!("unexpected argument '--{secret}'"),
                "unexpected argument '--[REDACTED]'",
            ),
            (format!("x {} y", secret.to_uppercase()), "x [REDACTED] y"),
            (format!("a{secret}"), "a[REDACTED]"),
        ] {
            assert_eq!(hide_secret_shapes(&text), expected);
        }
        // Other "cs" words and shapes stay.
        for text in [
            "docs, csv and cs.x",
            "cs12 and cs",
            "CSS: cs2-no-dot",
            "ünïcödé cs",
        ] {
            assert_eq!(hide_secret_shapes(text), text);
        }
    }

    const AK: &str = "ak1.abcdefghijklmnopqrstuvwxy";
    const CID: &str = "cid.abcdefghijklmnopqrstuvwxy";
    const CS: &str = "cs1.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx";

    #[test]
    fn pasted_values_lose_spaces_quotes_and_newlines() {
        assert_eq!(clean_pasted("  \"ak1.x\"\n"), "ak1.x");
        assert_eq!(clean_pasted("'cid.y'\r\n"), "cid.y");
        assert_eq!(clean_pasted(" \" 'z' \" "), "z");
        assert_eq!(clean_pasted("\"unbalanced"), "unbalanced");
        assert_eq!(clean_pasted("\"\""), "");
    }

    #[test]
    fn each_credential_is_recognised_by_its_prefix() {
        assert_eq!(looks_like("8450"), Some(Field::TenantId));
        assert_eq!(looks_like(AK), Some(Field::AppKey));
        assert_eq!(looks_like(CID), Some(Field::ClientId));
        assert_eq!(looks_like(CS), Some(Field::ClientSecret));
        assert_eq!(looks_like("cs2.abc"), Some(Field::ClientSecret));
        assert_eq!(looks_like("cs12.abc"), Some(Field::ClientSecret));
        assert_eq!(looks_like("cs.abc"), None);
        assert_eq!(looks_like("csx.abc"), None);
        assert_eq!(looks_like("hello"), None);
    }

    #[test]
    fn matching_values_pass_without_warning() {
        for (field, value) in [
            (Field::AppKey, AK),
            (Field::ClientId, CID),
            (Field::ClientSecret, CS),
        ] {
            let checked = check(field, &format!(" {value}\n")).unwrap();
            assert_eq!(checked.value, value);
            assert_eq!(checked.warning, None);
            assert!(!checked.looks_swapped);
        }
    }

    #[test]
    fn a_swapped_paste_is_named_and_a_secret_is_refused_outright() {
        for field in [Field::AppKey, Field::ClientId] {
            let problem = check(field, CS).unwrap_err();
            assert!(
                problem.contains(&format!(
                    "looks like a Client Secret, not {}",
                    field.with_article()
                )),
                "{problem}"
            );
            assert!(
                !problem.contains(CS),
                "the message must not repeat the value"
            );
        }

        let checked = check(Field::ClientId, AK).unwrap();
        let warning = checked.warning.unwrap();
        assert!(
            warning.contains("looks like an Application Key, not a Client ID"),
            "{warning}"
        );
        assert!(checked.looks_swapped);
    }

    #[test]
    fn an_unknown_shape_warns_but_is_accepted() {
        let checked = check(Field::AppKey, "something-else").unwrap();
        assert!(!checked.looks_swapped);
        assert!(
            checked
                .warning
                .unwrap()
                .contains("does not look like an Application Key")
        );
    }

    #[test]
    fn an_app_key_or_client_id_holds_only_letters_digits_dot_underscore_dash() {
        for field in [Field::AppKey, Field::ClientId] {
            for bad in [
                "ak1.`touch${IFS}pwned`x",
                "cid.a$b",
                "cid.a'b",
                "ak1.a\"b",
                "ak1.é",
            ] {
                let problem = check(field, bad).unwrap_err();
                assert!(
                    problem.starts_with(&format!("{field} contains '")),
                    "{problem}"
                );
                assert!(problem.contains("only letters, digits"), "{problem}");
            }
            assert!(check(field, "ak1.A-b_c.9").is_ok());
        }
        // The secret keeps its own, wider alphabet.
        assert!(check(Field::ClientSecret, "cs1.a/b+c=").is_ok());
    }

    #[test]
    fn tenant_ids_must_be_digits_that_fit_an_i64() {
        assert_eq!(check(Field::TenantId, " 8450 ").unwrap().value, "8450");
        assert_eq!(check(Field::TenantId, "0012").unwrap().value, "12");
        assert!(check(Field::TenantId, "9223372036854775807").is_ok());
        let err = check(Field::TenantId, "9223372036854775808").unwrap_err();
        assert!(err.contains("too large"), "{err}");
        let err = check(Field::TenantId, "12a").unwrap_err();
        assert!(err.contains("digits only"), "{err}");
        let err = check(Field::TenantId, "-5").unwrap_err();
        assert!(err.contains("digits only"), "{err}");
        let err = check(Field::TenantId, CID).unwrap_err();
        assert!(err.contains("looks like a Client ID"), "{err}");
    }

    #[test]
    fn empty_control_and_oversized_values_are_refused() {
        for field in ALL_FIELDS {
            assert!(check(field, "").unwrap_err().contains("empty"));
            assert!(check(field, " \"\" \n").unwrap_err().contains("empty"));
            assert!(check(field, "ab\u{7}c").unwrap_err().contains("control"));
            assert!(check(field, "ab\ncd").unwrap_err().contains("control"));
            assert!(check(field, "ab cd").unwrap_err().contains("spaces"));
            assert!(
                check(field, &"9".repeat(MAX_LEN + 1))
                    .unwrap_err()
                    .contains("too long")
            );
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let samples = [
            "\u{0}",
            "é",
            "🦀🦀🦀",
            "cs",
            "cs1",
            "cs1.",
            "\u{feff}ak1.",
            "\"",
            "''''",
            "\u{202e}x",
        ];
        for field in ALL_FIELDS {
            for s in samples {
                let _ = check(field, s);
            }
            let _ = check(field, &"é".repeat(5000));
        }
    }

    #[test]
    fn masking_keeps_only_the_last_four() {
        let secret = ClientSecret::new(CS.to_string());
        assert_eq!(secret.masked(), "****uvwx");
        assert_eq!(format!("{secret:?}"), "ClientSecret([REDACTED])");
        assert_eq!(mask_all_but_last("short", 4), "****");
        assert_eq!(mask_identifier(CID), "cid.****vwxy");
        assert_eq!(mask_identifier("é"), "****");
    }
}

//! `--require`: the scopes (full names, or whole modules) a token must have,
//! given on the command line or saved with a profile.

use clap::Args;

use super::{MAX_SCOPE_LEN, MODULES, has, module_by_code, parts};
use crate::error::{Error, Result};
use crate::invalid_input::InvalidInput;

/// `--require`: on `init`, `check` and `check --all`.
#[derive(Args, Debug, Default, Clone)]
pub(crate) struct RequireArgs {
    /// Fail (exit 4) unless the token has this scope: a full name (tn.crm.customers:r), a module
    /// code (crm: any scope of it) or a module's writes (crm:w). Repeatable; comma-separated in
    /// ST_REQUIRE. `init` saves the list in the profile
    #[arg(
        long = "require",
        value_name = "SCOPE",
        env = "ST_REQUIRE",
        value_delimiter = ',',
        hide_env_values = true,
        help_heading = "Scopes"
    )]
    pub(crate) require: Vec<String>,
}

impl RequireArgs {
    /// The requirements, checked; empty items (`ST_REQUIRE=crm,,acc`) are dropped.
    pub(crate) fn requirements(&self) -> Result<Vec<Requirement>> {
        self.require
            .iter()
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
            .map(Requirement::parse)
            .collect()
    }
}

/// One `--require` item, kept as the user gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Requirement {
    given: String,
    kind: RequirementKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum RequirementKind {
    /// `tn.crm.customers:r`
    Scope(String),
    /// `crm` (any access) or `crm:w` / `crm:r`.
    Module { code: String, access: Option<char> },
}

impl Requirement {
    pub(crate) fn parse(raw: &str) -> Result<Requirement> {
        let given = raw.trim().to_string();
        let bad = |why: &str| {
            Error::from(InvalidInput::Option {
                option: "--require / ST_REQUIRE",
                problem: why.to_string(),
                fix: Some(format!(
                    "Give a scope name such as tn.crm.customers:r, a module code such as crm \
                     (any scope of the module) or crm:w (any write scope). Module codes: {}.",
                    MODULES
                        .iter()
                        .map(|m| m.code)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })
        };
        if given.len() > MAX_SCOPE_LEN
            || !given
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '_'))
        {
            return Err(bad("a requirement holds only letters, digits and . : - _"));
        }
        let kind = if given.to_ascii_lowercase().starts_with("tn.") {
            if parts(&given).is_none() {
                return Err(bad(&format!("{:?} is not a scope name", shown(&given))));
            }
            RequirementKind::Scope(given.clone())
        } else {
            let (code, access) = match given.split_once(':') {
                None => (given.as_str(), None),
                Some((code, "r" | "R")) => (code, Some('r')),
                Some((code, "w" | "W")) => (code, Some('w')),
                Some(_) => {
                    return Err(bad(&format!(
                        "{:?}: the access after ':' is r or w",
                        shown(&given)
                    )));
                }
            };
            if module_by_code(code).is_none() {
                return Err(bad(&format!(
                    "{:?} is not a module code st-setup knows",
                    shown(code)
                )));
            }
            RequirementKind::Module {
                code: code.to_ascii_lowercase(),
                access,
            }
        };
        Ok(Requirement { given, kind })
    }

    /// The requirement as the user wrote it.
    pub(crate) fn as_given(&self) -> &str {
        &self.given
    }

    pub(crate) fn is_met(&self, scopes: &[String]) -> bool {
        match &self.kind {
            RequirementKind::Scope(name) => has(scopes, name),
            RequirementKind::Module { code, access } => scopes.iter().any(|s| {
                parts(s).is_some_and(|p| {
                    p.module.eq_ignore_ascii_case(code)
                        && access.is_none_or(|a| p.access == Some(a))
                })
            }),
        }
    }

    /// What is missing, in words: "scope tn.acc.invoices:r", "a write scope of CRM (crm:w)".
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            RequirementKind::Scope(name) => format!("the scope {name}"),
            RequirementKind::Module { code, access } => {
                let name = module_by_code(code).map_or(code.as_str(), |m| m.name);
                match access {
                    None => format!("a scope of {name} ({})", self.given),
                    Some('w') => format!("a write scope of {name} ({})", self.given),
                    Some(_) => format!("a read scope of {name} ({})", self.given),
                }
            }
        }
    }
}

/// A profile's saved requirements (`require` in config.toml), checked like
/// `--require`; a bad one names the profile and the file.
pub(crate) fn saved_requirements(profile: &str, saved: &[String]) -> Result<Vec<Requirement>> {
    saved
        .iter()
        .map(|raw| {
            Requirement::parse(raw).map_err(|_| {
                Error::from(InvalidInput::SavedRequirement {
                    profile: profile.to_string(),
                    value: crate::credentials::hide_secret_shapes(raw).to_string(),
                })
            })
        })
        .collect()
}

/// Requirements without repeats, keeping the first spelling (a profile's
/// saved list, then the command line's).
pub(crate) fn merge(lists: impl IntoIterator<Item = Requirement>) -> Vec<Requirement> {
    let mut merged: Vec<Requirement> = Vec::new();
    for r in lists {
        if !merged
            .iter()
            .any(|m| m.given.eq_ignore_ascii_case(&r.given))
        {
            merged.push(r);
        }
    }
    merged
}

/// How to get a missing scope into the token: both halves of the fix.
pub(crate) const SCOPE_FIX: &str = "add it to the app in the Developer Portal (My Apps > your app > \
     scopes), then have the tenant admin click \"Upgrade to New Version\" for the app on API \
     Application Access (Settings > Integrations)";

/// A requirement as shown back in a message: never a pasted secret.
fn shown(given: &str) -> String {
    crate::credentials::hide_secret_shapes(given)
}

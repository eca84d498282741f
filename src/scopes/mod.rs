//! What an access token may reach: ServiceTitan's scope names, the API
//! modules they belong to with one cheap read ("probe") per module, the
//! one-line and grouped summaries `check` prints, and `--require`.
//!
//! Scope names are seen, not documented as a list (servicetitan-facts.md,
//! "Scopes: what a token can reach"): `tn.<module code>.<resource>:r|w`. A
//! name st-setup does not know is shown as it is and never refused.

use std::collections::BTreeMap;

mod modules;
mod require;

pub(crate) use modules::{DEFAULT_PROBE, MODULES, Module, module_by_code};
pub(crate) use require::{RequireArgs, Requirement, SCOPE_FIX, merge, saved_requirements};

/// The longest scope name kept, and the most scopes kept from one token:
/// the token is the server's text, and real ones carry tens of short names.
const MAX_SCOPE_LEN: usize = 200;
const MAX_SCOPES: usize = 1000;

/// A scope name taken apart: `tn.crm.customers:r` is module `crm`, access `r`.
#[derive(Debug, PartialEq, Eq)]
struct Parts<'a> {
    module: &'a str,
    access: Option<char>,
}

fn parts(scope: &str) -> Option<Parts<'_>> {
    let rest = scope
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("tn."))
        .and(scope.get(3..))?;
    let (module, _) = rest.split_once('.')?;
    let access = match scope.rsplit_once(':') {
        Some((_, "r" | "R")) => Some('r'),
        Some((_, "w" | "W")) => Some('w'),
        _ => None,
    };
    Some(Parts { module, access })
}

/// The scopes a token carries, as the server sent them: the token response's
/// `scope` string (space-separated), else the JWT's `scope` claim (an array
/// or a string). Sorted, without duplicates or empty names; `None` when the
/// server named none.
pub(crate) fn normalize<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut scopes: Vec<String> = names
        .into_iter()
        .flat_map(str::split_whitespace)
        .filter(|s| s.len() <= MAX_SCOPE_LEN)
        .take(MAX_SCOPES)
        // The server's text: shown as it is, but never a terminal escape.
        .map(|s| crate::printable::field(s, MAX_SCOPE_LEN))
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Does `scopes` hold `wanted` (compared without regard to case)?
pub(crate) fn has(scopes: &[String], wanted: &str) -> bool {
    scopes.iter().any(|s| s.eq_ignore_ascii_case(wanted))
}

/// The module to probe: business units when the token names no scopes or
/// has that one; else the first module of the table whose probe scope the
/// token has; else business units again (its refusal is then explained by
/// the missing scope).
pub(crate) fn probe_module(scopes: Option<&[String]>) -> &'static Module {
    let Some(scopes) = scopes else {
        return DEFAULT_PROBE;
    };
    if has(scopes, DEFAULT_PROBE.probe_scope) {
        return DEFAULT_PROBE;
    }
    MODULES
        .iter()
        .find(|m| has(scopes, m.probe_scope))
        .unwrap_or(DEFAULT_PROBE)
}

/// `read CRM (3), Jobs & projects (5); write none`: the scopes per module
/// and access, modules in the table's order, unknown modules by their code.
pub(crate) fn summary(scopes: &[String]) -> String {
    let mut read: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut write: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut other = 0usize;
    for scope in scopes {
        let Some(p) = parts(scope) else {
            other += 1;
            continue;
        };
        let key = match module_by_code(p.module) {
            Some(m) => (
                MODULES.iter().position(|x| x == m).unwrap_or(0),
                m.name.to_string(),
            ),
            None => (MODULES.len(), p.module.to_string()),
        };
        match p.access {
            Some('w') => *write.entry(key).or_default() += 1,
            Some(_) => *read.entry(key).or_default() += 1,
            None => other += 1,
        }
    }
    // A token with every read scope names twenty modules: the line names
    // the first few and counts the rest (`check --scopes` lists them all).
    const SHOWN: usize = 6;
    let list = |counts: &BTreeMap<(usize, String), usize>| {
        if counts.is_empty() {
            return "none".to_string();
        }
        let mut names: Vec<String> = counts
            .iter()
            .take(if counts.len() > SHOWN {
                SHOWN - 1
            } else {
                SHOWN
            })
            .map(|((_, name), n)| format!("{name} ({n})"))
            .collect();
        if counts.len() > SHOWN {
            let rest = &counts.values().collect::<Vec<_>>()[SHOWN - 1..];
            names.push(format!(
                "{} more modules ({} scopes)",
                rest.len(),
                rest.iter().copied().sum::<usize>()
            ));
        }
        names.join(", ")
    };
    let mut line = format!("read {}; write {}", list(&read), list(&write));
    if other > 0 {
        line.push_str(&format!("; {other} other"));
    }
    line
}

/// Every scope grouped by module, for `check --scopes`: a heading per
/// module ("CRM (crm)"), then its scopes indented; names that do not follow
/// `tn.<module>.<resource>:<r|w>` come last under "Other".
pub(crate) fn grouped(scopes: &[String]) -> Vec<(String, Vec<&str>)> {
    let mut groups: BTreeMap<(usize, String), Vec<&str>> = BTreeMap::new();
    for scope in scopes {
        let key = match parts(scope).map(|p| (module_by_code(p.module), p.module)) {
            Some((Some(m), _)) => (
                MODULES.iter().position(|x| x == m).unwrap_or(0),
                format!("{} ({})", m.name, m.code),
            ),
            Some((None, code)) => (
                MODULES.len(),
                format!("{code} (not a module st-setup knows)"),
            ),
            None => (MODULES.len() + 1, "Other".to_string()),
        };
        groups.entry(key).or_default().push(scope);
    }
    groups
        .into_iter()
        .map(|((_, name), list)| (name, list))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        normalize(names.iter().copied())
    }

    #[test]
    fn scopes_are_split_sorted_and_deduplicated() {
        assert_eq!(
            normalize([
                "tn.crm.customers:r  tn.acc.invoices:r",
                "tn.crm.customers:r",
                ""
            ]),
            vec!["tn.acc.invoices:r", "tn.crm.customers:r"]
        );
    }

    #[test]
    fn a_hostile_scope_name_is_made_printable() {
        let scopes = normalize(["tn.crm.x\u{1b}]52;c;aGk=\u{7}:r"]);
        assert!(!scopes[0].contains('\u{1b}'), "{scopes:?}");
        assert!(scopes[0].starts_with("tn.crm.x"), "{scopes:?}");
    }

    #[test]
    fn the_probe_moves_to_a_module_the_token_can_read() {
        assert_eq!(probe_module(None).code, "stt");
        assert_eq!(
            probe_module(Some(&list(&[
                "tn.stt.businessunits:r",
                "tn.acc.paymenttypes:r"
            ])))
            .code,
            "stt"
        );
        assert_eq!(
            probe_module(Some(&list(&["tn.jpm.jobtypes:r", "tn.crm.customers:r"]))).code,
            "crm"
        );
        assert_eq!(
            probe_module(Some(&list(&["tn.acc.invoices:r"]))).code,
            "stt"
        );
        assert_eq!(probe_module(Some(&[])).code, "stt");
    }

    #[test]
    fn the_summary_counts_per_module_and_access() {
        let scopes = list(&[
            "tn.crm.customers:r",
            "tn.crm.locations:r",
            "tn.jpm.jobs:r",
            "tn.acc.invoices:w",
            "tn.zzz.things:r",
            "odd",
        ]);
        assert_eq!(
            summary(&scopes),
            "read CRM (2), Jobs & projects (1), zzz (1); write Accounting (1); 1 other"
        );
        assert_eq!(summary(&[]), "read none; write none");
        let every: Vec<String> = MODULES.iter().map(|m| m.probe_scope.to_string()).collect();
        assert_eq!(
            summary(&every),
            "read Accounting (1), CRM (1), Jobs & projects (1), Settings (1), Dispatch (1), \
             17 more modules (17 scopes); write none"
        );
    }

    #[test]
    fn grouping_keeps_unknown_names_as_they_are() {
        let scopes = list(&["tn.crm.customers:r", "weird scope", "tn.new.thing:r"]);
        let groups = grouped(&scopes);
        assert_eq!(
            groups[0],
            ("CRM (crm)".to_string(), vec!["tn.crm.customers:r"])
        );
        assert_eq!(groups[1].1, vec!["tn.new.thing:r"]);
        assert_eq!(groups[2].0, "Other");
        assert_eq!(groups[2].1, vec!["scope", "weird"]);
    }

    #[test]
    fn requirements_match_names_modules_and_access() {
        let scopes = list(&["tn.crm.customers:r", "tn.acc.invoices:w"]);
        let met = |r: &str| Requirement::parse(r).unwrap().is_met(&scopes);
        assert!(met("tn.crm.customers:r"));
        assert!(met("TN.CRM.Customers:r"));
        assert!(!met("tn.crm.customers:w"));
        assert!(met("crm"));
        assert!(met("crm:r"));
        assert!(!met("crm:w"));
        assert!(met("acc:w"));
        assert!(!met("jpm"));
    }

    #[test]
    fn malformed_requirements_are_refused_with_the_field_named() {
        for bad in ["crn", "crm:x", "tn.crm", "crm;rm -rf", "\u{1b}[2J"] {
            let err = Requirement::parse(bad).unwrap_err().to_string();
            assert!(err.contains("--require"), "{bad}: {err}");
        }
    }
}

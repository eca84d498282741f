//! What an access token may reach: ServiceTitan's scope names, the API
//! modules they belong to with one cheap read ("probe") per module, the
//! one-line and grouped summaries `check` prints, and `--require`.
//!
//! Scope names are seen, not documented as a list (servicetitan-facts.md,
//! "Scopes: what a token can reach"): `tn.<module code>.<resource>:r|w`. A
//! name st-setup does not know is shown as it is and never refused.

use std::collections::BTreeMap;

use clap::Args;

use crate::error::{Error, Result};

/// One API module: its code in scope names, the URL base of its endpoints,
/// the cheap list it is probed with, and the scope that list needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Module {
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    /// `/crm/v2`: every path is `{API base}{base}/tenant/{tenant}/{probe}`.
    pub(crate) base: &'static str,
    pub(crate) probe: &'static str,
    pub(crate) probe_scope: &'static str,
}

macro_rules! modules {
    ($(($name:literal, $code:literal, $base:literal, $probe:literal, $scope:literal)),* $(,)?) => {
        [$(Module { code: $code, name: $name, base: $base, probe: $probe, probe_scope: $scope }),*]
    };
}

/// The facts file's module table, in its order (the order probes are chosen in).
pub(crate) const MODULES: [Module; 22] = modules![
    (
        "Accounting",
        "acc",
        "/accounting/v2",
        "payment-types",
        "tn.acc.paymenttypes:r"
    ),
    ("CRM", "crm", "/crm/v2", "customers", "tn.crm.customers:r"),
    (
        "Jobs & projects",
        "jpm",
        "/jpm/v2",
        "job-types",
        "tn.jpm.jobtypes:r"
    ),
    (
        "Settings",
        "stt",
        "/settings/v2",
        "business-units",
        "tn.stt.businessunits:r"
    ),
    ("Dispatch", "dis", "/dispatch/v2", "zones", "tn.dis.zones:r"),
    (
        "Pricebook",
        "pb",
        "/pricebook/v2",
        "categories",
        "tn.pb.categories:r"
    ),
    (
        "Inventory",
        "inv",
        "/inventory/v2",
        "warehouses",
        "tn.inv.warehouses:r"
    ),
    (
        "Marketing",
        "mrk",
        "/marketing/v2",
        "campaigns",
        "tn.mrk.campaigns:r"
    ),
    (
        "Memberships",
        "mem",
        "/memberships/v2",
        "membership-types",
        "tn.mem.membershiptypes:r"
    ),
    (
        "Payroll",
        "prl",
        "/payroll/v2",
        "activity-codes",
        "tn.prl.activitycodes:r"
    ),
    (
        "Reporting",
        "rpr",
        "/reporting/v2",
        "report-categories",
        "tn.rpr.reportcategories:r"
    ),
    (
        "Sales",
        "sal",
        "/sales/v2",
        "estimates",
        "tn.sal.estimates:r"
    ),
    (
        "Service agreements",
        "sa",
        "/service-agreements/v2",
        "service-agreements",
        "tn.sa.serviceagreements:r"
    ),
    (
        "Timesheets",
        "tms",
        "/timesheets/v2",
        "activity-types",
        "tn.tms.activitytypes:r"
    ),
    ("Forms", "frm", "/forms/v2", "forms", "tn.frm.forms:r"),
    (
        "Equipment systems",
        "eqs",
        "/equipmentsystems/v2",
        "installed-equipment",
        "tn.eqs.installedequipment:r"
    ),
    (
        "Task management",
        "tsm",
        "/taskmanagement/v2",
        "tasks",
        "tn.tsm.tasks:r"
    ),
    ("Telecom", "tlc", "/telecom/v3", "calls", "tn.tlc.calls:r"),
    (
        "Job booking",
        "jbce",
        "/jbce/v2",
        "call-reasons",
        "tn.jbce.callreasons:r"
    ),
    (
        "Customer interactions",
        "csi",
        "/customer-interactions/v2",
        "technician-ratings",
        "tn.csi.technicianrating:r"
    ),
    (
        "Marketing reputation",
        "mrep",
        "/marketingreputation/v2",
        "reviews",
        "tn.mrep.reviews:r"
    ),
    (
        "Scheduling Pro",
        "sp",
        "/schedulingpro/v2",
        "schedulers",
        "tn.sp.schedulers:r"
    ),
];

/// The module probed when nothing says otherwise: business units, which
/// every public client uses to test a connection.
pub(crate) const DEFAULT_PROBE: &Module = &MODULES[3];

/// The longest scope name kept, and the most scopes kept from one token:
/// the token is the server's text, and real ones carry tens of short names.
const MAX_SCOPE_LEN: usize = 200;
const MAX_SCOPES: usize = 1000;

pub(crate) fn module_by_code(code: &str) -> Option<&'static Module> {
    MODULES.iter().find(|m| m.code.eq_ignore_ascii_case(code))
}

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
            Error::Usage(format!(
                "--require / ST_REQUIRE: {why}. Give a scope name such as tn.crm.customers:r, a \
                 module code such as crm (any scope of the module) or crm:w (any write scope). \
                 Module codes: {}.",
                MODULES
                    .iter()
                    .map(|m| m.code)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
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

/// A requirement as shown back in a message: never a pasted secret.
fn shown(given: &str) -> String {
    crate::credentials::hide_secret_shapes(given)
}

/// A profile's saved requirements (`require` in config.toml), checked like
/// `--require`; a bad one names the profile and the file.
pub(crate) fn saved_requirements(profile: &str, saved: &[String]) -> Result<Vec<Requirement>> {
    saved
        .iter()
        .map(|raw| {
            Requirement::parse(raw).map_err(|_| {
                Error::Usage(format!(
                    "profile {profile:?} requires {:?} (`require` in config.toml), which is not a \
                     scope name or module code. Fix it with `st-setup init --profile {profile} \
                     --require ...`, or edit the file.",
                    crate::credentials::hide_secret_shapes(raw)
                ))
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

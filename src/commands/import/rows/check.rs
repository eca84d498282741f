//! `import`'s checks of every row: the profile name (and that no two rows
//! share it), the environment, and each credential, with the defaults
//! `--environment` and `--app-key-from` give; every problem is noted with its
//! line, and none of them repeats a value that may be a secret.

use std::collections::BTreeMap;

use clap::ValueEnum;

use super::{RawRow, Row, invalid_rows};
use crate::commands::import::ImportArgs;
use crate::credentials::{self, ClientSecret, Field};
use crate::environment::Environment;
use crate::error::Result;
use crate::invalid_input::RowProblem;
use crate::not_configured::NotConfigured;
use crate::printable;
use crate::profile::check_name;

/// What empty cells default to.
pub(in crate::commands::import) struct Defaults {
    pub(in crate::commands::import) environment: Option<Environment>,
    pub(in crate::commands::import) app_key: Option<String>,
}

impl Defaults {
    pub(in crate::commands::import) fn new(
        args: &ImportArgs,
        config: &crate::store::config::Config,
    ) -> Result<Defaults> {
        let from = match &args.app_key_from {
            Some(name) => {
                crate::profile::check_app_key_from(name)?;
                Some(
                    config
                        .profiles
                        .get(name)
                        .ok_or_else(|| NotConfigured::AppKeyFrom {
                            profile: name.to_string(),
                        })?,
                )
            }
            None => None,
        };
        Ok(Defaults {
            environment: args.environment.or(from.map(|p| p.environment)),
            app_key: from.map(|p| p.app_key.clone()),
        })
    }
}

/// Check every row; all problems at once, with their lines.
pub(in crate::commands::import) fn validate(
    raw_rows: &[RawRow],
    defaults: &Defaults,
) -> Result<Vec<Row>> {
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for raw in raw_rows {
        let mut checker = RowChecker {
            raw,
            problems: &mut problems,
        };
        let profile = checker.profile(&mut seen);
        let environment = checker.environment(defaults.environment);
        let tenant_id = checker.value(Field::TenantId, "tenant_id", None);
        let app_key = checker.value(Field::AppKey, "app_key", defaults.app_key.as_ref());
        let client_id = checker.value(Field::ClientId, "client_id", None);
        let client_secret = checker.client_secret();
        if let (
            Some(profile),
            Some(environment),
            Some(tenant_id),
            Some(app_key),
            Some(client_id),
            Some(client_secret),
        ) = (
            profile,
            environment,
            tenant_id,
            app_key,
            client_id,
            client_secret,
        ) {
            rows.push(Row {
                line: raw.line,
                profile,
                environment,
                tenant_id,
                app_key,
                client_id,
                client_secret,
            });
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(invalid_rows(problems))
    }
}

/// The checks of one row; each notes its problems on the row's line and
/// returns `None` for a cell that cannot be used.
struct RowChecker<'a> {
    raw: &'a RawRow,
    problems: &'a mut Vec<RowProblem>,
}

impl RowChecker<'_> {
    fn problem(&mut self, text: String) {
        self.problems.push(RowProblem::on(self.raw.line, text));
    }

    /// A valid profile name, not on an earlier line too (`seen`: the
    /// names so far and their lines).
    fn profile(&mut self, seen: &mut BTreeMap<String, u64>) -> Option<String> {
        let profile = self.raw.cell("profile");
        if let Err(e) = check_name(profile) {
            self.problem(format!("profile: {e}"));
            return None;
        }
        if let Some(first) = seen.insert(profile.to_string(), self.raw.line) {
            self.problem(format!("profile {profile:?} is also on line {first}"));
        }
        Some(profile.to_string())
    }

    /// The environment, or `default` (`--environment`, `--app-key-from`) when empty.
    fn environment(&mut self, default: Option<Environment>) -> Option<Environment> {
        match self.raw.cell("environment") {
            "" => default.or_else(|| {
                self.problem(
                    "environment is empty: fill it in (production or integration) or pass \
                     --environment"
                        .into(),
                );
                None
            }),
            text => Environment::from_str(text, true).ok().or_else(|| {
                self.problem(format!(
                    "environment {:?} is not production or integration",
                    printable::field(text, 40)
                ));
                None
            }),
        }
    }

    /// The checked credential in `column`, or `default` when it is empty.
    fn value(&mut self, field: Field, column: &str, default: Option<&String>) -> Option<String> {
        let raw_value = self.raw.cell(column);
        if raw_value.is_empty() {
            if let Some(default) = default {
                return Some(default.clone());
            }
            let hint = if column == "app_key" {
                ", or pass --app-key-from PROFILE (a stored profile of the same app)"
            } else {
                ""
            };
            self.problem(format!("{column} is empty: fill it in{hint}"));
            return None;
        }
        match credentials::check(field, raw_value) {
            // The messages name the field, never the value (it may be a secret).
            Err(text) => {
                self.problem(text);
                None
            }
            Ok(checked) if checked.looks_swapped => {
                self.problem(format!("{field}: {}", checked.warning.unwrap_or_default()));
                None
            }
            Ok(checked) => Some(checked.value),
        }
    }

    /// `Some(None)`: empty in the file, asked for later.
    fn client_secret(&mut self) -> Option<Option<ClientSecret>> {
        if self.raw.cell("client_secret").is_empty() {
            Some(None)
        } else {
            self.value(Field::ClientSecret, "client_secret", None)
                .map(|v| Some(ClientSecret::new(v)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::invalid_input::InvalidInput;

    fn row(line: u64, cells: &[(&'static str, &str)]) -> RawRow {
        RawRow {
            line,
            cells: cells
                .iter()
                .map(|(k, v)| (*k, zeroize::Zeroizing::new(v.to_string())))
                .collect(),
        }
    }

    #[test]
    fn each_problem_keeps_its_line_as_data() {
        let good = [
            ("profile", "a"),
            ("environment", "production"),
            ("tenant_id", "1234567"),
            ("app_key", "ak1.abcdefghijklmnopqrstuvwxy"),
            ("client_id", "cid.abcdefghijklmnopqrstuvwxy"),
        ];
        let mut bad = good.to_vec();
        bad[0] = ("profile", "a");
        bad[1] = ("environment", "");
        let defaults = Defaults {
            environment: None,
            app_key: None,
        };
        let Err(Error::Invalid(InvalidInput::Rows { problems })) =
            validate(&[row(2, &good), row(5, &bad)], &defaults)
        else {
            panic!("not a rows error");
        };
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [5, 5], "{problems:?}");
        assert_eq!(problems[0].problem, "profile \"a\" is also on line 2");
        assert!(problems[1].problem.starts_with("environment is empty"));
    }
}

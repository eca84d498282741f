//! `check`'s report of one profile: the steps of its verification, as
//! printed and as JSON, and the summary of `--all`.

use serde::Serialize;

use super::{CheckArgs, Target};
use crate::batch;
use crate::cli::Context;
use crate::environment::Environment;
use crate::error::{Error, ExitStatus, Result};
use crate::scopes;
use crate::store::SecretSource;
use crate::ui::{stdout_line, stdout_text};
use crate::verify::{self, Step, StepStatus, Verification};

/// One profile's result, as printed and as JSON.
#[derive(Serialize)]
pub(super) struct Report {
    pub(super) profile: String,
    pub(super) environment: Environment,
    pub(super) tenant: String,
    pub(super) secret_storage: SecretSource,
    pub(super) ok: bool,
    pub(super) exit_code: u8,
    pub(super) client_credentials: Step,
    pub(super) tenant_match: Step,
    pub(super) api_access: Step,
    /// The token's scopes, sorted; `null` when it names none.
    pub(super) scopes: Option<Vec<String>>,
    /// The API path probed, without its query.
    pub(super) probe: Option<String>,
    /// The `--require` items (given or saved) the token does not meet.
    pub(super) missing_scopes: Vec<String>,
    /// Where refused credentials turned out to belong.
    pub(super) detected_environment: Option<Environment>,
    /// Every line printed for the profile, with its screen label.
    #[serde(skip)]
    pub(super) lines: Vec<(&'static str, Step)>,
    #[serde(skip)]
    pub(super) status: ExitStatus,
}

impl Report {
    pub(super) fn new(target: &Target, verification: &Verification) -> Report {
        Report {
            profile: target.name.clone(),
            environment: target.environment,
            tenant: target.tenant.clone(),
            secret_storage: target.secret_source,
            ok: verification.passed(),
            exit_code: verification.status.code(),
            client_credentials: verification.client_credentials.clone(),
            tenant_match: verification.tenant_match.clone(),
            api_access: verification.api_access.clone(),
            scopes: verification.scopes.clone(),
            probe: verification.probe.clone(),
            missing_scopes: verification.missing_scopes.clone(),
            detected_environment: verification.detected_environment,
            lines: verification
                .steps()
                .into_iter()
                .map(|(_, label, step)| (label, step.clone()))
                .collect(),
            status: verification.status,
        }
    }
}
/// Each profile's report: its verification, or why it could not run.
pub(super) fn reports(
    targets: &[Target],
    verifications: Vec<Option<Verification>>,
    plan_failures: &[(usize, Error)],
) -> Vec<Report> {
    targets
        .iter()
        .zip(verifications)
        .enumerate()
        .map(|(index, (target, verification))| {
            let failed = |err: &Error| {
                Report::new(
                    target,
                    &verify::setup_failed(target.environment, err, &target.required),
                )
            };
            match (&target.job, verification) {
                (_, Some(v)) => Report::new(target, &v),
                (Err(err), None) => failed(err),
                (Ok(_), None) => match plan_failures.iter().find(|(i, _)| *i == index) {
                    Some((_, err)) => failed(err),
                    None => failed(&Error::Other("the check did not finish".into())),
                },
            }
        })
        .collect()
}
/// The reports as JSON or text, and for `--all` the count and each problem.
pub(super) fn print_reports(ctx: &Context, args: &CheckArgs, reports: &[Report]) -> Result<()> {
    if args.json {
        let json = if args.all {
            serde_json::to_string_pretty(&reports)
        } else {
            serde_json::to_string_pretty(&reports[0])
        };
        let json = json.map_err(Error::Json)?;
        stdout_line(&crate::printable::json(&json))?;
    } else {
        for report in reports {
            print_report(ctx, report, args.scopes)?;
        }
    }
    if args.all {
        let ok = reports.iter().filter(|r| r.ok).count();
        let outcomes: Vec<(&str, ExitStatus)> = reports
            .iter()
            .map(|r| (r.profile.as_str(), r.status))
            .collect();
        batch::print_summary(
            ctx.ui,
            &format!(
                "{} profile{} checked: {ok} ok, {} with problems.",
                reports.len(),
                if reports.len() == 1 { "" } else { "s" },
                reports.len() - ok
            ),
            &outcomes,
        );
    }
    Ok(())
}
fn print_report(ctx: &Context, report: &Report, list_scopes: bool) -> Result<()> {
    let secret_place = report.secret_storage.phrase();
    stdout_text(&format!(
        "{} ({}, tenant {}; {secret_place})",
        console::style(crate::printable::field(&report.profile, 64)).bold(),
        report.environment,
        crate::printable::field(&report.tenant, 64)
    ))?;
    for (label, step) in &report.lines {
        stdout_line(&crate::verify::step_line(
            &ctx.ui.for_stdout(),
            step.status,
            label,
            &step.message,
        ))?;
    }
    if list_scopes {
        match &report.scopes {
            Some(list) if !list.is_empty() => {
                stdout_text(&format!("  Every scope of the token ({}):", list.len()))?;
                for (module, names) in scopes::grouped(list) {
                    stdout_text(&format!("    {module}"))?;
                    for name in names {
                        stdout_text(&format!("      {name}"))?;
                    }
                }
            }
            Some(_) => stdout_text("  The token carries an empty scope list.")?,
            None if report.client_credentials.status == StepStatus::Ok => {
                stdout_text("  The token names no scopes (neither its response nor its claims).")?
            }
            None => stdout_text("  No token, so no scopes to list.")?,
        }
    }
    Ok(())
}

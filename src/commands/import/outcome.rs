//! What happened to each row of `import`, as printed (one step line each)
//! and as JSON, with the closing summary.

use serde::Serialize;

use super::ImportArgs;
use super::rows::Row;
use crate::batch;
use crate::cli::Context;
use crate::environment::Environment;
use crate::error::{Error, ExitStatus, Result};
use crate::printable;
use crate::ui::stdout_line;
use crate::verify;

/// What happened to one row, as printed and as JSON.
#[derive(Serialize)]
pub(super) struct Outcome {
    pub(super) line: u64,
    pub(super) profile: String,
    pub(super) tenant: String,
    pub(super) environment: Environment,
    pub(super) ok: bool,
    pub(super) exit_code: u8,
    pub(super) message: String,
    #[serde(skip)]
    pub(super) status: ExitStatus,
}

pub(super) fn outcome(row: &Row, status: ExitStatus, message: String) -> Outcome {
    Outcome {
        line: row.line,
        profile: row.profile.clone(),
        tenant: row.tenant_id.clone(),
        environment: row.environment,
        ok: status == ExitStatus::Ok,
        exit_code: status.code(),
        message,
        status,
    }
}

pub(super) fn print_outcomes(ctx: &Context, args: &ImportArgs, outcomes: &[Outcome]) -> Result<()> {
    if args.json {
        let json = serde_json::to_string_pretty(outcomes).map_err(Error::Json)?;
        stdout_line(&printable::json(&json))?;
    } else {
        let ui = ctx.ui.for_stdout();
        for o in outcomes {
            let status = if o.ok {
                verify::StepStatus::Ok
            } else {
                verify::StepStatus::Failed
            };
            let label = format!(
                "line {} {} (tenant {}, {})",
                o.line,
                o.profile,
                printable::field(&o.tenant, 40),
                o.environment
            );
            stdout_line(&crate::verify::step_line(&ui, status, &label, &o.message))?;
        }
    }
    let ok = outcomes.iter().filter(|o| o.ok).count();
    let results: Vec<(&str, ExitStatus)> = outcomes
        .iter()
        .map(|o| (o.profile.as_str(), o.status))
        .collect();
    batch::print_summary(
        ctx.ui,
        &format!(
            "{} row{}: {ok} ok, {} not.",
            outcomes.len(),
            if outcomes.len() == 1 { "" } else { "s" },
            outcomes.len() - ok
        ),
        &results,
    );
    Ok(())
}

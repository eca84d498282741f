//! A verification on screen: one line per step, `✓ Tenant: message` on a
//! terminal (`ok Tenant: message` elsewhere), wrapped with the message's
//! continuation lines under its start.

use console::style;

use super::{StepStatus, Verification};
use crate::layout;
use crate::ui::Ui;

/// `  ✓ Tenant: message` (or `  ok Tenant: message` without a terminal),
/// wrapped on a terminal with the message's continuation lines under its start.
pub(crate) fn step_line(ui: &Ui, status: StepStatus, label: &str, message: &str) -> String {
    let mark = match (status, ui.fancy()) {
        (StepStatus::Ok, true) => style("✓").green().to_string(),
        (StepStatus::Failed, true) => style("✗").red().to_string(),
        (StepStatus::Unconfirmed, true) => style("?").yellow().to_string(),
        (StepStatus::Skipped, true) => style("-").dim().to_string(),
        (StepStatus::Ok, false) => "ok".into(),
        (StepStatus::Failed, false) => "FAILED".into(),
        (StepStatus::Unconfirmed, false) => "UNCONFIRMED".into(),
        (StepStatus::Skipped, false) => "skipped".into(),
    };
    let head = format!("  {mark} {label}: ");
    let line = format!("{head}{}", crate::printable::message(message));
    let Some(width) = ui.width() else {
        return line;
    };
    let hang = console::measure_text_width(&head);
    line.split('\n')
        .enumerate()
        .map(|(at, part)| match at {
            0 => layout::wrap_line(part, width, hang),
            _ => layout::wrap_line(part, width, layout::hang(part)),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line per verification step.
pub(crate) fn lines(ui: &Ui, verification: &Verification) -> Vec<String> {
    verification
        .steps()
        .into_iter()
        .map(|(_, label, step)| step_line(ui, step.status, label, &step.message))
        .collect()
}

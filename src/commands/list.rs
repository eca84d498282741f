//! `st-setup list`: every stored profile, its environment and tenant, and
//! where its Client Secret lives. Reads only the config file.

use clap::Args;
use serde::Serialize;

use crate::batch::{ProfileFilter, selected};
use crate::cli::Context;
use crate::environment::Environment;
use crate::error::{Error, ExitStatus, Result};
use crate::printable;
use crate::store::SecretStorage;
use crate::ui::stdout_line;

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  st-setup list\n  st-setup list --environment integration --match 'acme-*'\n  st-setup list --json | jq -r '.[].profile'"
)]
pub(crate) struct ListArgs {
    /// Print a JSON array on stdout
    #[arg(long)]
    pub(crate) json: bool,

    /// Only the profiles of this environment
    #[arg(long, value_enum, help_heading = "Selecting profiles")]
    pub(crate) environment: Option<Environment>,

    #[command(flatten)]
    pub(crate) filter: ProfileFilter,
}

#[derive(Serialize)]
struct Row<'a> {
    profile: &'a str,
    environment: Environment,
    tenant: &'a str,
    secret_storage: SecretStorage,
    verified: bool,
}

pub(crate) fn exec(args: ListArgs, ctx: &Context) -> Result<ExitStatus> {
    let pattern = args.filter.pattern()?;
    let (_, config) = ctx.load_config()?;
    let rows: Vec<Row> = config
        .profiles
        .iter()
        .filter(|(name, p)| selected(name, p.environment, args.environment, pattern.as_ref()))
        .map(|(name, p)| Row {
            profile: name,
            environment: p.environment,
            tenant: &p.tenant_id,
            secret_storage: p.secret_storage,
            verified: p.verified,
        })
        .collect();
    if args.json {
        let json = serde_json::to_string_pretty(&rows).map_err(Error::Json)?;
        stdout_line(&printable::json(&json))?;
        return Ok(ExitStatus::Ok);
    }
    if rows.is_empty() {
        if config.profiles.is_empty() {
            ctx.ui
                .info("No profiles yet. Run `st-setup init` to set one up.");
        } else {
            ctx.ui.info(&format!(
                "None of the {} profiles is selected by --environment / --match.",
                config.profiles.len()
            ));
        }
        return Ok(ExitStatus::Ok);
    }
    // Names and tenants come from the config file: printable, and short.
    let shown = |text: &str| printable::field(text, 64);
    let width = rows
        .iter()
        .map(|r| shown(r.profile).chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    stdout_line(&format!(
        "{:<width$}  {:<11}  {:<20}  {:<26}  VERIFIED",
        "PROFILE", "ENVIRONMENT", "TENANT", "CLIENT SECRET"
    ))?;
    for row in &rows {
        let storage = row.secret_storage.describe();
        stdout_line(&format!(
            "{:<width$}  {:<11}  {:<20}  {:<26}  {}",
            shown(row.profile),
            row.environment.name(),
            shown(row.tenant),
            storage,
            if row.verified { "yes" } else { "no" }
        ))?;
    }
    Ok(ExitStatus::Ok)
}

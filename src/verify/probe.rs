//! The API call that proves the App Key, tenant and access, and what its
//! answer means: a refused probe is explained in the order of
//! servicetitan-facts.md (the token's tenant, then the scope the call needs,
//! then the app's connection, App Key or the tenant's products); and the
//! token's scopes held against `--require`.

use crate::credentials::Field;
use crate::environment::Environment;
use crate::error::ExitStatus;
use crate::scopes::{self, Module, Requirement};
use crate::servicetitan::ProbeOutcome;
use crate::servicetitan::failure::NetworkError;

use super::{Step, StepStatus};

/// What the probe was, for explaining its answer.
pub(super) struct Probe<'a> {
    pub(super) module: &'static Module,
    pub(super) path: &'a str,
    pub(super) tenant: &'a str,
    pub(super) environment: Environment,
    pub(super) claimed_tenant: Option<&'a str>,
    pub(super) scopes: Option<&'a [String]>,
}

impl Probe<'_> {
    pub(super) fn explain(
        &self,
        outcome: Result<ProbeOutcome, NetworkError>,
    ) -> (Step, ExitStatus, Vec<Field>) {
        let Probe {
            path,
            tenant,
            environment,
            ..
        } = *self;
        match outcome {
            Ok(ProbeOutcome::Ok) => (
                Step::new(
                    StepStatus::Ok,
                    format!(
                        "the API accepted the Application Key for tenant {tenant} (GET {path})"
                    ),
                ),
                ExitStatus::Ok,
                vec![],
            ),
            Ok(ProbeOutcome::Unauthorized(problem)) => (
                Step::new(
                    StepStatus::Failed,
                    format!(
                        "the API rejected the Application Key (HTTP 401{}) on GET {path}. Copy it \
                         again from the Developer Portal > My Apps > your app. (A token from the \
                         other environment is rejected the same way.)",
                        problem.suffix()
                    ),
                ),
                ExitStatus::ApiAccessRefused,
                vec![Field::AppKey],
            ),
            Ok(ProbeOutcome::Forbidden(problem)) => self.forbidden(&problem.suffix()),
            Ok(ProbeOutcome::NotFound(problem)) => (
                Step::new(
                    StepStatus::Failed,
                    format!(
                        "tenant {tenant} was not found in {environment} (HTTP 404{}) at GET \
                         {path}. Check the Tenant ID on the API Application Access page.",
                        problem.suffix()
                    ),
                ),
                ExitStatus::ApiAccessRefused,
                vec![Field::TenantId],
            ),
            Err(err) => (
                Step::new(StepStatus::Failed, format!("could not call the API: {err}")),
                ExitStatus::Network,
                vec![],
            ),
        }
    }

    /// A 403, explained in the facts file's order.
    fn forbidden(&self, problem: &str) -> (Step, ExitStatus, Vec<Field>) {
        let Probe {
            module,
            path,
            tenant,
            ..
        } = *self;
        let refused = format!("the API refused GET {path} (HTTP 403{problem})");
        let unconfirmed = format!("could not confirm API access (HTTP 403{problem}) to GET {path}");
        let scope = module.probe_scope;
        // (1) The token names another tenant: the likeliest cause, named
        // first, but only a warning on its own (an Enterprise Hub group
        // shares one Client ID across its tenants), so (2) and (3) follow.
        let (tenant_first, mut suspects) = match self.claimed_tenant {
            Some(claimed) => {
                // Suggest the claim as a Tenant ID only when it could be one.
                let use_it = if !claimed.is_empty() && claimed.chars().all(|c| c.is_ascii_digit()) {
                    format!(" (use {claimed} if that is your tenant)")
                } else {
                    String::new()
                };
                (
                    format!(
                        " First: the Client ID / Secret belong to tenant {claimed}, not to \
                         tenant {tenant}. Unless tenant {tenant} is in an Enterprise Hub group \
                         with it, either the Tenant ID is wrong{use_it}, or copy the Client ID \
                         / Secret from tenant {tenant}'s API Application Access page. If not \
                         that:"
                    ),
                    vec![Field::TenantId, Field::ClientId, Field::ClientSecret],
                )
            }
            None => (String::new(), Vec::new()),
        };
        let (certain, explanation, others) = self.forbidden_by_scope(scope);
        let message = match (certain, tenant_first.is_empty()) {
            (true, true) => format!("{refused}: {explanation}"),
            (false, true) => format!("{unconfirmed}. {explanation}"),
            (true, false) => format!("{refused}.{tenant_first} {explanation}"),
            (false, false) => format!("{unconfirmed}.{tenant_first} {explanation}"),
        };
        // With the tenant in doubt, nothing after it is certain.
        let status = if certain && tenant_first.is_empty() {
            StepStatus::Failed
        } else {
            StepStatus::Unconfirmed
        };
        for field in others {
            if !suspects.contains(&field) {
                suspects.push(field);
            }
        }
        (
            Step::new(status, message),
            ExitStatus::ApiAccessRefused,
            suspects,
        )
    }

    /// (2) the scope the call needs is missing from the token (certain),
    /// (3) otherwise the connection, the App Key or the product: whether the
    /// cause is certain, the explanation, and the values to suspect.
    fn forbidden_by_scope(&self, scope: &str) -> (bool, String, Vec<Field>) {
        let Probe { module, tenant, .. } = *self;
        match self.scopes {
            Some(scopes) if !scopes::has(scopes, scope) => (
                true,
                format!(
                    "the token does not carry the scope {scope} that this call needs. To fix \
                     it, {}.",
                    scopes::SCOPE_FIX
                ),
                vec![],
            ),
            Some(_) => (
                false,
                format!(
                    "The token carries the scope the call needs ({scope}), so one of these is \
                     the cause: 1) the app is not connected to tenant {tenant} (in the tenant, \
                     Settings > Integrations > API Application Access > Connect New App), or \
                     the Tenant ID is wrong; 2) the Application Key belongs to another app \
                     (Developer Portal > My Apps); 3) tenant {tenant} does not have the {} \
                     product.",
                    module.name
                ),
                vec![Field::AppKey, Field::TenantId],
            ),
            None => (
                false,
                format!(
                    "The token itself was fine but names no scopes, so the likely causes are: \
                     1) the app is not connected to tenant {tenant} yet (in the tenant, Settings \
                     > Integrations > API Application Access > Connect New App); 2) the Tenant \
                     ID is wrong; 3) the app was not granted {scope} (after adding scopes, the \
                     tenant admin must click \"Upgrade to New Version\"); 4) the Application \
                     Key belongs to another app."
                ),
                vec![Field::TenantId],
            ),
        }
    }
}

/// The "Scopes" step (a summary, or why there is none) and one failed step
/// per requirement the token does not meet.
pub(super) fn check_scopes(
    scopes: Option<&[String]>,
    required: &[Requirement],
) -> (Step, Vec<Step>) {
    let list = |rs: &[&Requirement]| {
        rs.iter()
            .map(|r| r.as_given())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(scopes) = scopes else {
        if required.is_empty() {
            return (Step::skipped("the token names no scopes"), Vec::new());
        }
        let all: Vec<&Requirement> = required.iter().collect();
        return (
            Step::new(
                StepStatus::Unconfirmed,
                format!(
                    "the token names no scopes, so the required {} cannot be confirmed",
                    list(&all)
                ),
            ),
            Vec::new(),
        );
    };
    let summary = scopes::summary(scopes);
    let missing: Vec<&Requirement> = required.iter().filter(|r| !r.is_met(scopes)).collect();
    if missing.is_empty() {
        let met = if required.is_empty() {
            String::new()
        } else {
            " (every required scope is there)".to_string()
        };
        return (
            Step::new(StepStatus::Ok, format!("{summary}{met}")),
            Vec::new(),
        );
    }
    let lines = missing
        .iter()
        .map(|r| {
            Step::new(
                StepStatus::Failed,
                format!(
                    "{} is missing from the token. To fix it, {}.",
                    r.describe(),
                    scopes::SCOPE_FIX
                ),
            )
        })
        .collect();
    (Step::new(StepStatus::Failed, summary), lines)
}

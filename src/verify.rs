//! The three-step verification shared by `init` and `check`: get a token,
//! compare the token's tenant with the Tenant ID, call the API once.
//!
//! Each step ends `ok`, `failed`, `skipped` or `unconfirmed` with a sentence
//! for the user; the whole run also names the values most likely wrong so the
//! wizard can ask for just those again.

use serde::Serialize;

use crate::credentials::{Credentials, Field};
use crate::environment::Environment;
use crate::error::ExitStatus;
use crate::servicetitan::{AccessToken, ProbeOutcome, ServiceTitan, TokenOutcome, jwt};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Ok,
    Failed,
    Skipped,
    Unconfirmed,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub status: StepStatus,
    pub message: String,
}

impl Step {
    fn new(status: StepStatus, message: impl Into<String>) -> Step {
        Step {
            status,
            message: message.into(),
        }
    }

    fn skipped(reason: &str) -> Step {
        Step::new(StepStatus::Skipped, reason)
    }
}

/// The outcome of verifying one set of credentials.
#[derive(Debug)]
pub struct Verification {
    pub client_credentials: Step,
    pub tenant_match: Step,
    pub api_access: Step,
    /// The exit status this outcome maps to (`Ok` when every step passed).
    pub status: ExitStatus,
    /// The values most likely wrong, most likely first.
    pub suspects: Vec<Field>,
    /// The token, when one was issued (reused by `token` and `exec`).
    pub token: Option<AccessToken>,
}

impl Verification {
    pub fn passed(&self) -> bool {
        self.status == ExitStatus::Ok
    }

    /// The steps with the names used in JSON output and on screen.
    pub fn steps(&self) -> [(&'static str, &'static str, &Step); 3] {
        [
            (
                "client_credentials",
                "Client ID / Secret",
                &self.client_credentials,
            ),
            ("tenant_match", "Tenant", &self.tenant_match),
            ("api_access", "API access", &self.api_access),
        ]
    }

    /// The first step that did not pass, for one-line summaries.
    pub fn first_problem(&self) -> Option<&Step> {
        self.steps()
            .into_iter()
            .map(|(_, _, step)| step)
            .find(|s| matches!(s.status, StepStatus::Failed | StepStatus::Unconfirmed))
    }
}

pub async fn verify(
    client: &ServiceTitan,
    environment: Environment,
    credentials: &Credentials,
) -> Verification {
    let not_reached = "skipped: no token was issued";
    let token = match client
        .request_token(&credentials.client_id, &credentials.client_secret)
        .await
    {
        Ok(TokenOutcome::Issued(token)) => token,
        Ok(TokenOutcome::Rejected {
            status,
            error,
            description,
        }) => {
            let message = rejection_message(environment, status, error, description);
            return Verification {
                client_credentials: Step::new(StepStatus::Failed, message),
                tenant_match: Step::skipped(not_reached),
                api_access: Step::skipped(not_reached),
                status: ExitStatus::CredentialsRejected,
                suspects: vec![Field::ClientSecret, Field::ClientId],
                token: None,
            };
        }
        Err(err) => {
            return Verification {
                client_credentials: Step::new(
                    StepStatus::Failed,
                    format!("could not get a token: {err}"),
                ),
                tenant_match: Step::skipped(not_reached),
                api_access: Step::skipped(not_reached),
                status: ExitStatus::Network,
                suspects: Vec::new(),
                token: None,
            };
        }
    };
    let client_credentials = Step::new(
        StepStatus::Ok,
        format!(
            "token issued by the {environment} token endpoint (valid {} s)",
            token.expires_in.as_secs()
        ),
    );

    let tenant = &credentials.tenant_id;
    let tenant_match = match jwt::tenant_matches(token.expose(), tenant) {
        Some(Ok(())) => Step::new(
            StepStatus::Ok,
            format!("the token belongs to tenant {tenant}"),
        ),
        Some(Err(claimed)) => {
            let claimed = crate::printable::field(&claimed, 40);
            return Verification {
                client_credentials,
                tenant_match: Step::new(
                    StepStatus::Failed,
                    format!(
                        "the Client ID / Secret belong to tenant {claimed}, not to tenant {tenant}. \
                         Either the Tenant ID is wrong (use {claimed} if that is your tenant), or \
                         copy the Client ID / Secret from tenant {tenant}'s API Application Access page."
                    ),
                ),
                api_access: Step::skipped("skipped: the tenant does not match"),
                status: ExitStatus::ApiAccessRefused,
                suspects: vec![Field::TenantId, Field::ClientId, Field::ClientSecret],
                token: Some(token),
            };
        }
        None => {
            Step::skipped("skipped: the token does not name its tenant (the API call checks it)")
        }
    };

    let (api_access, status, suspects) = match client
        .probe(tenant, &credentials.app_key, &token)
        .await
    {
        Ok(ProbeOutcome::Ok) => (
            Step::new(
                StepStatus::Ok,
                format!("the API accepted the Application Key for tenant {tenant}"),
            ),
            ExitStatus::Ok,
            vec![],
        ),
        Ok(ProbeOutcome::Unauthorized(problem)) => (
            Step::new(
                StepStatus::Failed,
                format!(
                    "the API rejected the Application Key (HTTP 401{}). Copy it again from the \
                         Developer Portal > My Apps > your app. (A token from the other environment \
                         is rejected the same way.)",
                    problem.suffix()
                ),
            ),
            ExitStatus::ApiAccessRefused,
            vec![Field::AppKey],
        ),
        Ok(ProbeOutcome::Forbidden(problem)) => (
            Step::new(
                StepStatus::Unconfirmed,
                format!(
                    "could not confirm API access (HTTP 403{}). The token itself was fine; the \
                         likely causes are: 1) the app is not connected to tenant {tenant} yet (in the \
                         tenant, Settings > Integrations > API Application Access > Connect New App); \
                         2) the Tenant ID is wrong; 3) the app was not granted the Settings read scope \
                         (after adding scopes, the tenant admin must click \"Upgrade to New Version\").",
                    problem.suffix()
                ),
            ),
            ExitStatus::ApiAccessRefused,
            vec![Field::TenantId],
        ),
        Ok(ProbeOutcome::NotFound(problem)) => (
            Step::new(
                StepStatus::Failed,
                format!(
                    "tenant {tenant} was not found in {environment} (HTTP 404{}). Check the Tenant \
                         ID on the API Application Access page.",
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
    };
    Verification {
        client_credentials,
        tenant_match,
        api_access,
        status,
        suspects,
        token: Some(token),
    }
}

/// Why a token request was refused, in words that point at the fix.
pub fn rejection_message(
    environment: Environment,
    status: u16,
    error: Option<String>,
    description: Option<String>,
) -> String {
    let said = match (error, description) {
        (Some(e), Some(d)) => format!(": {e}: {d}"),
        (Some(e), None) => format!(": {e}"),
        (None, Some(d)) => format!(": {d}"),
        (None, None) => String::new(),
    };
    format!(
        "ServiceTitan refused the Client ID / Client Secret (HTTP {status}{said}). \
         Either one is mistyped, or they were generated in the {other} environment: \
         these were checked against {environment}. Copy both again from the tenant's \
         API Application Access page (click the app name).",
        other = environment.other(),
    )
}

/// A verification that could not start (bad URL override, TLS set-up).
pub fn setup_failed(err: &crate::error::Error) -> Verification {
    let not_reached = "skipped: no request was sent";
    Verification {
        client_credentials: Step::new(StepStatus::Failed, err.to_string()),
        tenant_match: Step::skipped(not_reached),
        api_access: Step::skipped(not_reached),
        status: err.exit_status(),
        suspects: Vec::new(),
        token: None,
    }
}

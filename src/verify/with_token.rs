//! What is checked once a token is issued: that it belongs to the tenant,
//! one API call on a module it can reach ([`super::probe`] says what a
//! refusal means), and its scopes against `--require`; together they make
//! the [`Verification`].

use super::probe::{Probe, check_scopes};
use super::{Step, StepStatus, Verification, worst};
use crate::credentials::{Credentials, Field};
use crate::environment::Environment;
use crate::error::ExitStatus;
use crate::scopes::{self, Requirement};
use crate::servicetitan::{AccessToken, ServiceTitan, jwt};

/// A token was issued (by `environment`): check its tenant, probe the API on
/// a module it can reach, and hold its scopes against `required`.
pub(super) async fn with_token(
    client: &ServiceTitan,
    environment: Environment,
    detected: Option<Environment>,
    token: AccessToken,
    credentials: &Credentials,
    required: &[Requirement],
) -> Verification {
    let client_credentials = token_issued(environment, detected, &token);
    let tenant = TenantCheck::of(&token, &credentials.tenant_id);
    let scopes = token.scopes.clone();
    let api = call_api(
        client,
        environment,
        &token,
        credentials,
        &tenant,
        scopes.as_deref(),
    )
    .await;

    let mut status = api.status;
    let (scope_check, missing_requirements) = check_scopes(scopes.as_deref(), required);
    if !missing_requirements.is_empty() || scope_check.status == StepStatus::Unconfirmed {
        status = worst(status, ExitStatus::ApiAccessRefused);
    }
    Verification {
        client_credentials,
        tenant_match: tenant.step,
        api_access: api.step,
        scope_check,
        missing_requirements,
        status,
        suspects: api.suspects,
        token: Some(token),
        environment,
        detected_environment: detected,
        missing_scopes: missing_scopes(scopes.as_deref(), required),
        scopes,
        probe: api.path,
    }
}

/// The first step's sentence: who issued the token, for how long, and where
/// the credentials were found to belong.
fn token_issued(
    environment: Environment,
    detected: Option<Environment>,
    token: &AccessToken,
) -> Step {
    let found = match detected {
        Some(env) => format!("; these credentials belong to the {env} environment"),
        None => String::new(),
    };
    Step::new(
        StepStatus::Ok,
        format!(
            "token issued by the {environment} token endpoint (valid {} s){found}",
            token.expires_in.as_secs()
        ),
    )
}

/// The token's tenant claim held against the Tenant ID.
struct TenantCheck {
    step: Step,
    /// The other tenant the token names, made printable and short (it is
    /// the server's text).
    claimed: Option<String>,
}

impl TenantCheck {
    fn of(token: &AccessToken, tenant: &str) -> TenantCheck {
        let tenant_claim = jwt::tenant_matches(token.expose(), tenant);
        let claimed = match &tenant_claim {
            Some(Err(claimed)) => Some(crate::printable::field(claimed, 40)),
            _ => None,
        };
        let step = match (tenant_claim, &claimed) {
            (Some(Err(_)), Some(claimed)) => Step::new(
                StepStatus::Unconfirmed,
                format!(
                    "the token names tenant {claimed}, not {tenant}. That is expected only when \
                     an Enterprise Hub group shares one Client ID across its tenants; otherwise \
                     the Tenant ID, or the Client ID / Secret, come from another tenant (the API \
                     call below decides)."
                ),
            ),
            (Some(Ok(())), _) => Step::new(
                StepStatus::Ok,
                format!("the token belongs to tenant {tenant}"),
            ),
            _ => Step::skipped(
                "skipped: the token does not name its tenant (the API call checks it)",
            ),
        };
        TenantCheck { step, claimed }
    }
}

/// What the one API call showed.
struct ApiCall {
    step: Step,
    status: ExitStatus,
    suspects: Vec<Field>,
    /// The path called, without its query (`None` if no URL could be made).
    path: Option<String>,
}

/// Call the API once, on a module the token's scopes reach, and explain the answer.
async fn call_api(
    client: &ServiceTitan,
    environment: Environment,
    token: &AccessToken,
    credentials: &Credentials,
    tenant: &TenantCheck,
    scopes: Option<&[String]>,
) -> ApiCall {
    let tenant_id = &credentials.tenant_id;
    let module = scopes::probe_module(scopes);
    let path = client
        .probe_url(module, tenant_id)
        .ok()
        .map(|url| url.path().to_string());
    let shown_path = path.clone().unwrap_or_else(|| module.base.to_string());
    let outcome = client
        .probe(module, tenant_id, &credentials.app_key, token)
        .await;
    let probe = Probe {
        module,
        path: &shown_path,
        tenant: tenant_id,
        environment,
        claimed_tenant: tenant.claimed.as_deref(),
        scopes,
    };
    let (step, status, suspects) = probe.explain(outcome);
    ApiCall {
        step,
        status,
        suspects,
        path,
    }
}

/// The `--require` items the token's scopes do not meet, as given (all of
/// them when the token names no scopes).
fn missing_scopes(scopes: Option<&[String]>, required: &[Requirement]) -> Vec<String> {
    required
        .iter()
        .filter(|r| scopes.is_none_or(|list| !r.is_met(list)))
        .map(|r| r.as_given().to_string())
        .collect()
}

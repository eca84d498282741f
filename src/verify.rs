//! The verification shared by `init` and `check`: get a token (asking the
//! other environment once when it is refused, to know instead of guess),
//! compare the token's tenant with the Tenant ID, call the API once on a
//! module the token can reach, and hold the token's scopes against
//! `--require`.
//!
//! Each step ends `ok`, `failed`, `skipped` or `unconfirmed` with a sentence
//! for the user; the whole run also names the values most likely wrong so the
//! wizard can ask for just those again. A refused probe is explained in the
//! order of servicetitan-facts.md: the token's tenant, then the scope the call
//! needs, then the app's connection, App Key or the tenant's products.

use serde::Serialize;

use crate::credentials::{Credentials, Field};
use crate::environment::Environment;
use crate::error::ExitStatus;
use crate::scopes::{self, Module, Requirement};
use crate::servicetitan::failure::NetworkError;
use crate::servicetitan::{AccessToken, ProbeOutcome, ServiceTitan, TokenOutcome, jwt};
use crate::ui::Ui;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StepStatus {
    Ok,
    Failed,
    Skipped,
    Unconfirmed,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Step {
    pub(crate) status: StepStatus,
    pub(crate) message: String,
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

/// The step names used in JSON output and on screen, in order.
pub(crate) const STEP_LABELS: [(&str, &str); 4] = [
    ("client_credentials", "Client ID / Secret"),
    ("tenant_match", "Tenant"),
    ("api_access", "API access"),
    ("scopes", "Scopes"),
];

/// The outcome of verifying one set of credentials.
#[derive(Debug)]
pub(crate) struct Verification {
    pub(crate) client_credentials: Step,
    pub(crate) tenant_match: Step,
    pub(crate) api_access: Step,
    /// The token's scopes summed up, and whether `--require` is met.
    pub(crate) scope_check: Step,
    /// One failed step per requirement the token does not meet.
    pub(crate) missing_requirements: Vec<Step>,
    /// The exit status this outcome maps to (`Ok` when every step passed).
    pub(crate) status: ExitStatus,
    /// The values most likely wrong, most likely first.
    pub(crate) suspects: Vec<Field>,
    /// The token, when one was issued (reused by `token` and `exec`).
    pub(crate) token: Option<AccessToken>,
    /// The environment the credentials were verified in (for `--environment
    /// auto`, the one that issued the token).
    pub(crate) environment: Environment,
    /// Where the credentials were found to belong by asking: the other
    /// environment's token endpoint accepted them after this one refused, or
    /// (auto) the environment that issued the token.
    pub(crate) detected_environment: Option<Environment>,
    /// The token's scopes, sorted (`None`: the token names none).
    pub(crate) scopes: Option<Vec<String>>,
    /// The path of the API call made, without its query.
    pub(crate) probe: Option<String>,
    /// The `--require` items not met, as given.
    pub(crate) missing_scopes: Vec<String>,
}

impl Verification {
    pub(crate) fn passed(&self) -> bool {
        self.status == ExitStatus::Ok
    }

    /// The steps with their JSON names and screen labels: the four fixed ones,
    /// then one per missing requirement.
    pub(crate) fn steps(&self) -> Vec<(&'static str, &'static str, &Step)> {
        let fixed = [
            &self.client_credentials,
            &self.tenant_match,
            &self.api_access,
            &self.scope_check,
        ];
        STEP_LABELS
            .iter()
            .zip(fixed)
            .map(|((key, label), step)| (*key, *label, step))
            .chain(
                self.missing_requirements
                    .iter()
                    .map(|step| ("required_scope", "Required", step)),
            )
            .collect()
    }

    /// The first step that failed (else the first unconfirmed one), for one-line summaries.
    pub(crate) fn first_problem(&self) -> Option<&Step> {
        let steps = self.steps();
        let find = |status: StepStatus| {
            steps
                .iter()
                .map(|(_, _, step)| *step)
                .find(|s| s.status == status)
        };
        find(StepStatus::Failed).or_else(|| find(StepStatus::Unconfirmed))
    }

    /// A verification that ended before a token: the other steps are skipped.
    fn without_token(
        environment: Environment,
        client_credentials: Step,
        status: ExitStatus,
        suspects: Vec<Field>,
        required: &[Requirement],
    ) -> Verification {
        let not_reached = "skipped: no token was issued";
        Verification {
            client_credentials,
            tenant_match: Step::skipped(not_reached),
            api_access: Step::skipped(not_reached),
            scope_check: Step::skipped(not_reached),
            missing_requirements: Vec::new(),
            status,
            suspects,
            token: None,
            environment,
            detected_environment: None,
            scopes: None,
            probe: None,
            missing_scopes: required.iter().map(|r| r.as_given().to_string()).collect(),
        }
    }
}

/// What to verify against.
pub(crate) struct Plan {
    /// The environment asked first (production for `auto`).
    pub(crate) environment: Environment,
    pub(crate) client: ServiceTitan,
    /// The other environment's client, asked once when the first refuses the
    /// Client ID / Secret; `Err` says why it is not asked.
    pub(crate) other: Result<ServiceTitan, String>,
    /// `--environment auto`: the credentials belong where a token is issued.
    pub(crate) auto: bool,
    /// For `-v` notes (why the other environment was not asked).
    pub(crate) ui: Ui,
}

/// The token endpoint's refusal, as the server put it.
struct Refusal {
    status: u16,
    said: String,
}

impl Refusal {
    fn new(status: u16, error: Option<String>, description: Option<String>) -> Refusal {
        let said = match (error, description) {
            (Some(e), Some(d)) => format!(": {e}: {d}"),
            (Some(e), None) => format!(": {e}"),
            (None, Some(d)) => format!(": {d}"),
            (None, None) => String::new(),
        };
        Refusal { status, said }
    }

    /// `HTTP 400: invalid_client`
    fn http(&self) -> String {
        format!("HTTP {}{}", self.status, self.said)
    }
}

/// What the other environment's token endpoint said about the same values.
enum OtherAnswer {
    /// Why not (also shown with `-v`).
    NotAsked(String),
    Accepted,
    RefusedToo(Refusal),
    Failed(NetworkError),
}

const COPY_AGAIN: &str = "Copy both again from the tenant's API Application Access page \
     (click the app name).";

/// Verify `credentials` as `plan` says; `required` is `--require` with the
/// profile's saved list.
pub(crate) async fn verify(
    plan: Plan,
    credentials: &Credentials,
    required: &[Requirement],
) -> Verification {
    let Plan {
        environment,
        client,
        other,
        auto,
        ui,
    } = plan;
    let first = client
        .request_token(&credentials.client_id, &credentials.client_secret)
        .await;
    let refusal = match first {
        Ok(TokenOutcome::Issued(token)) => {
            let found = auto.then_some(environment);
            return with_token(&client, environment, found, token, credentials, required).await;
        }
        Ok(TokenOutcome::Rejected {
            status,
            error,
            description,
        }) => Refusal::new(status, error, description),
        Err(err) => return network_failure(environment, &err, required),
    };

    // Refused: ask the other environment once (400/401 are the refusals of
    // credentials; anything else is not about where they belong).
    let answer = match (&other, refusal.status) {
        (Err(why), 400 | 401) => {
            ui.verbose_line(why);
            OtherAnswer::NotAsked(why.clone())
        }
        (Ok(other_client), 400 | 401) => {
            match other_client
                .request_token(&credentials.client_id, &credentials.client_secret)
                .await
            {
                Ok(TokenOutcome::Issued(token)) if auto => {
                    return with_token(
                        other_client,
                        environment.other(),
                        Some(environment.other()),
                        token,
                        credentials,
                        required,
                    )
                    .await;
                }
                // The token proves where the values belong; it is not used.
                Ok(TokenOutcome::Issued(_)) => OtherAnswer::Accepted,
                Ok(TokenOutcome::Rejected {
                    status,
                    error,
                    description,
                }) => OtherAnswer::RefusedToo(Refusal::new(status, error, description)),
                Err(err) => OtherAnswer::Failed(err),
            }
        }
        (_, status) => OtherAnswer::NotAsked(format!(
            "HTTP {status} from a token endpoint is not a verdict on the Client ID / Secret"
        )),
    };
    refused(environment, auto, &refusal, answer, required)
}

/// The Client ID / Secret were refused: say for certain where they belong
/// when the other environment answered, else what the refusal can mean.
fn refused(
    environment: Environment,
    auto: bool,
    refusal: &Refusal,
    answer: OtherAnswer,
    required: &[Requirement],
) -> Verification {
    let other = environment.other();
    let mut suspects = vec![Field::ClientSecret, Field::ClientId];
    let mut detected = None;
    let message = match (auto, answer) {
        (_, OtherAnswer::Accepted) => {
            suspects.clear();
            detected = Some(other);
            format!(
                "the {environment} token endpoint refused the Client ID / Client Secret \
                 ({}), but the {other} token endpoint accepted them: these credentials belong \
                 to the {other} environment; the profile says {environment}. Use them with \
                 --environment {other} (in `st-setup init`, choose \"Switch to {other}\").",
                refusal.http()
            )
        }
        (true, OtherAnswer::RefusedToo(second)) => format!(
            "neither environment accepted the Client ID / Client Secret: {environment} refused \
             them ({}) and {other} refused them too ({}). One of them is mistyped, or the secret \
             was regenerated. {COPY_AGAIN}",
            refusal.http(),
            second.http()
        ),
        (false, OtherAnswer::RefusedToo(second)) => format!(
            "ServiceTitan refused the Client ID / Client Secret ({}). The {other} environment \
             refused them too ({}), so they do not belong to the other environment: one of them \
             is mistyped, or the secret was regenerated. {COPY_AGAIN}",
            refusal.http(),
            second.http()
        ),
        (auto, answer) => {
            let asked = match answer {
                OtherAnswer::Failed(err) => {
                    format!(" (could not ask the {other} environment: {err})")
                }
                OtherAnswer::NotAsked(why) if auto => format!(" ({why})"),
                _ => String::new(),
            };
            if auto {
                format!(
                    "the {environment} token endpoint refused the Client ID / Client Secret ({}){asked}, \
                     so st-setup could not find out their environment. {COPY_AGAIN}",
                    refusal.http()
                )
            } else {
                format!(
                    "{}{asked}",
                    rejection_message(environment, refusal.status, &refusal.said)
                )
            }
        }
    };
    let mut verification = Verification::without_token(
        environment,
        Step::new(StepStatus::Failed, message),
        ExitStatus::CredentialsRejected,
        suspects,
        required,
    );
    verification.detected_environment = detected;
    verification
}

/// Why a token request was refused when nothing more is known, in words
/// that point at the fix. `said` is the server's `: error: description`.
pub(crate) fn rejection_message(environment: Environment, status: u16, said: &str) -> String {
    format!(
        "ServiceTitan refused the Client ID / Client Secret (HTTP {status}{said}). \
         Either one is mistyped, or they were generated in the {other} environment: \
         these were checked against {environment}. {COPY_AGAIN}",
        other = environment.other(),
    )
}

/// The server's `error` / `error_description` as `: error: description`.
pub(crate) fn server_said(error: Option<String>, description: Option<String>) -> String {
    Refusal::new(0, error, description).said
}

fn network_failure(
    environment: Environment,
    err: &NetworkError,
    required: &[Requirement],
) -> Verification {
    Verification::without_token(
        environment,
        Step::new(StepStatus::Failed, format!("could not get a token: {err}")),
        ExitStatus::Network,
        Vec::new(),
        required,
    )
}

/// A token was issued (by `environment`): check its tenant, probe the API on
/// a module it can reach, and hold its scopes against `required`.
async fn with_token(
    client: &ServiceTitan,
    environment: Environment,
    detected: Option<Environment>,
    token: AccessToken,
    credentials: &Credentials,
    required: &[Requirement],
) -> Verification {
    let found = match detected {
        Some(env) => format!("; these credentials belong to the {env} environment"),
        None => String::new(),
    };
    let client_credentials = Step::new(
        StepStatus::Ok,
        format!(
            "token issued by the {environment} token endpoint (valid {} s){found}",
            token.expires_in.as_secs()
        ),
    );

    let tenant = &credentials.tenant_id;
    let tenant_claim = jwt::tenant_matches(token.expose(), tenant);
    // The claim is the server's text: printable and short before it is shown.
    let claimed_tenant = match &tenant_claim {
        Some(Err(claimed)) => Some(crate::printable::field(claimed, 40)),
        _ => None,
    };
    let tenant_match = match (tenant_claim, &claimed_tenant) {
        (Some(Err(_)), Some(claimed)) => Step::new(
            StepStatus::Unconfirmed,
            format!(
                "the token names tenant {claimed}, not {tenant}. That is expected only when an \
                 Enterprise Hub group shares one Client ID across its tenants; otherwise the \
                 Tenant ID, or the Client ID / Secret, come from another tenant (the API call \
                 below decides)."
            ),
        ),
        (Some(Ok(())), _) => Step::new(
            StepStatus::Ok,
            format!("the token belongs to tenant {tenant}"),
        ),
        _ => Step::skipped("skipped: the token does not name its tenant (the API call checks it)"),
    };

    let scopes = token.scopes.clone();
    let module = scopes::probe_module(scopes.as_deref());
    let probe_path = client
        .probe_url(module, tenant)
        .ok()
        .map(|url| url.path().to_string());
    let shown_path = probe_path
        .clone()
        .unwrap_or_else(|| module.base.to_string());
    let outcome = client
        .probe(module, tenant, &credentials.app_key, &token)
        .await;
    let probe = Probe {
        module,
        path: &shown_path,
        tenant,
        environment,
        claimed_tenant: claimed_tenant.as_deref(),
        scopes: scopes.as_deref(),
    };
    let (api_access, mut status, suspects) = probe.explain(outcome);

    let (scope_check, missing_requirements) = check_scopes(scopes.as_deref(), required);
    if !missing_requirements.is_empty() || scope_check.status == StepStatus::Unconfirmed {
        status = worst(status, ExitStatus::ApiAccessRefused);
    }
    let missing_scopes = match &scopes {
        Some(list) => required
            .iter()
            .filter(|r| !r.is_met(list))
            .map(|r| r.as_given().to_string())
            .collect(),
        None => required.iter().map(|r| r.as_given().to_string()).collect(),
    };
    Verification {
        client_credentials,
        tenant_match,
        api_access,
        scope_check,
        missing_requirements,
        status,
        suspects,
        token: Some(token),
        environment,
        detected_environment: detected,
        scopes,
        probe: probe_path,
        missing_scopes,
    }
}

fn worst(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    if b.severity() > a.severity() { b } else { a }
}

/// What the probe was, for explaining its answer.
struct Probe<'a> {
    module: &'static Module,
    path: &'a str,
    tenant: &'a str,
    environment: Environment,
    claimed_tenant: Option<&'a str>,
    scopes: Option<&'a [String]>,
}

impl Probe<'_> {
    fn explain(
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
        if let Some(claimed) = self.claimed_tenant {
            // Suggest the claim as a Tenant ID only when it could be one.
            let use_it = if !claimed.is_empty() && claimed.chars().all(|c| c.is_ascii_digit()) {
                format!(" (use {claimed} if that is your tenant)")
            } else {
                String::new()
            };
            return (
                Step::new(
                    StepStatus::Failed,
                    format!(
                        "{refused}: the Client ID / Secret belong to tenant {claimed}, not to \
                         tenant {tenant}. Either the Tenant ID is wrong{use_it}, or copy the \
                         Client ID / Secret from tenant {tenant}'s API Application Access page."
                    ),
                ),
                ExitStatus::ApiAccessRefused,
                vec![Field::TenantId, Field::ClientId, Field::ClientSecret],
            );
        }
        match self.scopes {
            Some(scopes) if !scopes::has(scopes, scope) => (
                Step::new(
                    StepStatus::Failed,
                    format!(
                        "{refused}: the token does not carry the scope {scope} that this call \
                         needs. To fix it, {}.",
                        scopes::SCOPE_FIX
                    ),
                ),
                ExitStatus::ApiAccessRefused,
                vec![],
            ),
            Some(_) => (
                Step::new(
                    StepStatus::Unconfirmed,
                    format!(
                        "{unconfirmed}. The token carries the scope the call needs ({scope}), \
                         so one of these is the cause: 1) the app is not connected to tenant \
                         {tenant} (in the tenant, Settings > Integrations > API Application Access \
                         > Connect New App), or the Tenant ID is wrong; 2) the Application Key \
                         belongs to another app (Developer Portal > My Apps); 3) tenant {tenant} \
                         does not have the {} product.",
                        module.name
                    ),
                ),
                ExitStatus::ApiAccessRefused,
                vec![Field::AppKey, Field::TenantId],
            ),
            None => (
                Step::new(
                    StepStatus::Unconfirmed,
                    format!(
                        "{unconfirmed}. The token itself was fine but names no scopes, so the \
                         likely causes are: 1) the app is not connected \
                         to tenant {tenant} yet (in the tenant, Settings > Integrations > API \
                         Application Access > Connect New App); 2) the Tenant ID is wrong; 3) the \
                         app was not granted {scope} (after adding scopes, the tenant admin must \
                         click \"Upgrade to New Version\"); 4) the Application Key belongs to \
                         another app."
                    ),
                ),
                ExitStatus::ApiAccessRefused,
                vec![Field::TenantId],
            ),
        }
    }
}

/// The "Scopes" step (a summary, or why there is none) and one failed step
/// per requirement the token does not meet.
fn check_scopes(scopes: Option<&[String]>, required: &[Requirement]) -> (Step, Vec<Step>) {
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

/// A verification that could not start (bad URL override, TLS set-up).
pub(crate) fn setup_failed(
    environment: Environment,
    err: &crate::error::Error,
    required: &[Requirement],
) -> Verification {
    let mut verification = Verification::without_token(
        environment,
        Step::new(StepStatus::Failed, err.to_string()),
        err.exit_status(),
        Vec::new(),
        required,
    );
    let not_reached = "skipped: no request was sent";
    verification.tenant_match = Step::skipped(not_reached);
    verification.api_access = Step::skipped(not_reached);
    verification.scope_check = Step::skipped(not_reached);
    verification
}

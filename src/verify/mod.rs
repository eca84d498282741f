//! The verification shared by `init` and `check`: get a token (asking the
//! other environment once when it is refused, to know instead of guess),
//! compare the token's tenant with the Tenant ID, call the API once on a
//! module the token can reach, and hold the token's scopes against
//! `--require`.
//!
//! Each step ends `ok`, `failed`, `skipped` or `unconfirmed` with a sentence
//! for the user; the whole run also names the values most likely wrong so the
//! wizard can ask for just those again. A refused token is understood in
//! [`refusal`]; what follows an issued one is in [`with_token`], which asks
//! [`probe`] what an API call's refusal and the scopes mean.

mod lines;
mod probe;
mod refusal;
mod with_token;

pub(crate) use lines::{lines, step_line};

use refusal::{OtherAnswer, Refusal, network_failure, refused};
pub(crate) use refusal::{rejection_message, server_said};
use with_token::with_token;

use std::ops::ControlFlow;

use serde::Serialize;

use crate::credentials::{Credentials, Field};
use crate::environment::Environment;
use crate::error::ExitStatus;
use crate::scopes::Requirement;
use crate::servicetitan::{AccessToken, ServiceTitan, TokenOutcome};
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

/// Verify `credentials` as `plan` says; `required` is `--require` with the
/// profile's saved list.
pub(crate) async fn verify(
    plan: Plan,
    credentials: &Credentials,
    required: &[Requirement],
) -> Verification {
    let environment = plan.environment;
    let first = plan
        .client
        .request_token(&credentials.client_id, &credentials.client_secret)
        .await;
    let refusal = match first {
        Ok(TokenOutcome::Issued(token)) => {
            let found = plan.auto.then_some(environment);
            return with_token(
                &plan.client,
                environment,
                found,
                token,
                credentials,
                required,
            )
            .await;
        }
        Ok(TokenOutcome::Rejected {
            status,
            error,
            description,
        }) => Refusal::new(status, error, description),
        Err(err) => return network_failure(environment, &err, required),
    };
    match plan.ask_other(refusal.status, credentials, required).await {
        ControlFlow::Break(verification) => verification,
        ControlFlow::Continue(answer) => {
            refused(environment, plan.auto, &refusal, answer, required)
        }
    }
}

impl Plan {
    /// The first environment refused with `status`: ask the other one once
    /// (400/401 are the refusals of credentials; anything else is not about
    /// where they belong). Breaks with the whole verification when, for
    /// `auto`, the other environment issues a token.
    async fn ask_other(
        &self,
        status: u16,
        credentials: &Credentials,
        required: &[Requirement],
    ) -> ControlFlow<Verification, OtherAnswer> {
        match (&self.other, status) {
            (Err(why), 400 | 401) => {
                self.ui.verbose_line(why);
                ControlFlow::Continue(OtherAnswer::NotAsked(why.clone()))
            }
            (Ok(other_client), 400 | 401) => {
                self.other_verdict(other_client, credentials, required)
                    .await
            }
            (_, status) => ControlFlow::Continue(OtherAnswer::NotAsked(format!(
                "HTTP {status} from a token endpoint is not a verdict on the Client ID / Secret"
            ))),
        }
    }

    /// Ask `other_client` (the other environment) for a token with the same
    /// values; for `auto` a token issued there is verified in full.
    async fn other_verdict(
        &self,
        other_client: &ServiceTitan,
        credentials: &Credentials,
        required: &[Requirement],
    ) -> ControlFlow<Verification, OtherAnswer> {
        let answer = match other_client
            .request_token(&credentials.client_id, &credentials.client_secret)
            .await
        {
            Ok(TokenOutcome::Issued(token)) if self.auto => {
                let other = self.environment.other();
                return ControlFlow::Break(
                    with_token(
                        other_client,
                        other,
                        Some(other),
                        token,
                        credentials,
                        required,
                    )
                    .await,
                );
            }
            // The token proves where the values belong; it is not used.
            Ok(TokenOutcome::Issued(_)) => OtherAnswer::Accepted,
            Ok(TokenOutcome::Rejected {
                status,
                error,
                description,
            }) => OtherAnswer::RefusedToo(Refusal::new(status, error, description)),
            Err(err) => OtherAnswer::Failed(err),
        };
        ControlFlow::Continue(answer)
    }
}

fn worst(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    if b.severity() > a.severity() { b } else { a }
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

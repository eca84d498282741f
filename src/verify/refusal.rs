//! A refused token request, understood: what the server said, and (asking
//! the other environment's token endpoint once with the same values) whether
//! the credentials belong to the other environment or are wrong.

use crate::credentials::Field;
use crate::environment::Environment;
use crate::error::ExitStatus;
use crate::scopes::Requirement;
use crate::servicetitan::failure::NetworkError;

use super::{Step, StepStatus, Verification};

/// The token endpoint's refusal, as the server put it.
pub(super) struct Refusal {
    pub(super) status: u16,
    pub(super) said: String,
}

impl Refusal {
    pub(super) fn new(status: u16, error: Option<String>, description: Option<String>) -> Refusal {
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
pub(super) enum OtherAnswer {
    /// Why not (also shown with `-v`).
    NotAsked(String),
    Accepted,
    RefusedToo(Refusal),
    Failed(NetworkError),
}

const COPY_AGAIN: &str = "Copy both again from the tenant's API Application Access page \
     (click the app name).";

/// The Client ID / Secret were refused: say for certain where they belong
/// when the other environment answered, else what the refusal can mean.
pub(super) fn refused(
    environment: Environment,
    auto: bool,
    refusal: &Refusal,
    answer: OtherAnswer,
    required: &[Requirement],
) -> Verification {
    let mut suspects = vec![Field::ClientSecret, Field::ClientId];
    let mut detected = None;
    let message = match answer {
        OtherAnswer::Accepted => {
            suspects.clear();
            detected = Some(environment.other());
            belongs_to_other(environment, refusal)
        }
        OtherAnswer::RefusedToo(second) => refused_by_both(environment, auto, refusal, &second),
        answer => unanswered(environment, auto, refusal, answer),
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

/// `environment` refused the values and the other environment accepted them.
fn belongs_to_other(environment: Environment, refusal: &Refusal) -> String {
    let other = environment.other();
    format!(
        "the {environment} token endpoint refused the Client ID / Client Secret \
         ({}), but the {other} token endpoint accepted them: these credentials belong \
         to the {other} environment; the profile says {environment}. Use them with \
         --environment {other} (in `st-setup init`, choose \"Switch to {other}\").",
        refusal.http()
    )
}

/// Both environments refused the values (`second` is the other's refusal).
fn refused_by_both(
    environment: Environment,
    auto: bool,
    refusal: &Refusal,
    second: &Refusal,
) -> String {
    let other = environment.other();
    if auto {
        format!(
            "neither environment accepted the Client ID / Client Secret: {environment} refused \
             them ({}) and {other} refused them too ({}). One of them is mistyped, or the secret \
             was regenerated. {COPY_AGAIN}",
            refusal.http(),
            second.http()
        )
    } else {
        format!(
            "ServiceTitan refused the Client ID / Client Secret ({}). The {other} environment \
             refused them too ({}), so they do not belong to the other environment: one of them \
             is mistyped, or the secret was regenerated. {COPY_AGAIN}",
            refusal.http(),
            second.http()
        )
    }
}

/// `environment` refused the values and the other environment gave no
/// verdict: it was not asked (why, for `auto`) or could not be.
fn unanswered(
    environment: Environment,
    auto: bool,
    refusal: &Refusal,
    answer: OtherAnswer,
) -> String {
    let other = environment.other();
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

pub(super) fn network_failure(
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

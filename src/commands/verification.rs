//! Running a verification for a command: the [`Plan`] (which servers, built
//! from the command line, the profile and the environment variables) and
//! the run itself, with the connections opened while the token is asked for.
//! The checks themselves are [`crate::verify`]'s.

use std::sync::Arc;

use crate::cli::Context;
use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::invalid_input::InvalidInput;
use crate::scopes::Requirement;
use crate::servicetitan::ServiceTitan;
use crate::servicetitan::http::Transport;
use crate::store::config::Profile;
use crate::verify::{Plan, Verification};

/// What to verify against: `environment` (for `auto`, production first, or
/// integration first when only its token URL is overridden),
/// with the other environment's client for the one question a refusal
/// asks it. Clients share `transport`.
pub(crate) fn plan(
    ctx: &Context,
    transport: &Arc<Transport>,
    environment: Option<Environment>,
    profile: Option<&Profile>,
) -> Result<Plan> {
    let auto = environment.is_none();
    if auto && (ctx.global.auth_url.is_some() || ctx.global.api_url.is_some()) {
        return Err(Error::from(InvalidInput::AutoWithOneEnvironmentUrls));
    }
    let environment = match environment {
        Some(environment) => environment,
        // Production first, unless only integration's token URL is an
        // override (a sandbox): then a built-in URL must never be asked
        // first, and other_endpoints skips it after a refusal.
        None => {
            let overridden = |e: Environment| {
                ctx.endpoints(e, profile)
                    .is_ok_and(|x| x.token_origin != crate::environment::UrlOrigin::BuiltIn)
            };
            if !overridden(Environment::Production) && overridden(Environment::Integration) {
                Environment::Integration
            } else {
                Environment::Production
            }
        }
    };
    let endpoints = ctx.endpoints(environment, profile)?;
    let other = ctx
        .other_endpoints(&endpoints, environment)
        .map(|e| ServiceTitan::new(Arc::clone(transport), e));
    Ok(Plan {
        environment,
        client: ServiceTitan::new(Arc::clone(transport), endpoints),
        other,
        auto,
        ui: ctx.ui,
    })
}

/// Verify `credentials` against `environment` (`None`: find out, as
/// `--environment auto`). URL problems become a failed step.
pub(crate) async fn verify(
    ctx: &Context,
    environment: Option<Environment>,
    profile: Option<&Profile>,
    credentials: &Credentials,
    required: &[Requirement],
) -> Verification {
    let plan = ctx
        .transport()
        .and_then(|t| plan(ctx, &Arc::new(t), environment, profile));
    match plan {
        Ok(plan) => {
            // The API connection opens while the token is asked for;
            // not with `auto`, whose API host depends on the answer.
            let endpoints = plan.client.endpoints();
            let early: &[&url::Url] = if plan.auto {
                &[&endpoints.token_url]
            } else {
                &[&endpoints.token_url, &endpoints.api_base]
            };
            plan.client.transport().connect_early(early).await;
            crate::verify::verify(plan, credentials, required).await
        }
        Err(err) => crate::verify::setup_failed(
            environment.unwrap_or(Environment::Production),
            &err,
            required,
        ),
    }
}

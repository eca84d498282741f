//! The wizard's last stage: verify, and on a failure let the user re-enter
//! the value most likely wrong, switch environment, retry, save unverified or
//! quit; then the summary of what will be saved.

use super::{Choice, Collected, VerifyFn, Wizard};
use crate::credentials::{Credentials, Field};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::ui::Ui;
use crate::verify::Verification;

impl Wizard<'_> {
    /// Verify, and on a failure let the user re-enter the suspect value,
    /// switch environment, retry, save unverified or quit. `environment`
    /// `None`: not sure, the verification finds out.
    pub(super) fn verify_with_repair(
        &self,
        profile: String,
        mut environment: Option<Environment>,
        mut credentials: Credentials,
        verify: Option<VerifyFn<'_>>,
    ) -> Result<Collected> {
        let ui = self.ui;
        let Some(verify) = verify else {
            // "Not sure" is only offered with a verification to find out.
            let environment = environment.unwrap_or(Environment::Production);
            ui.warn("verification skipped (--no-verify): these values have not been checked with ServiceTitan.");
            return Ok(self.unverified(profile, environment, credentials));
        };
        let asked_environment = environment;
        loop {
            let verification = {
                let _spinner = ui.spinner("Checking the credentials with ServiceTitan…");
                verify(&profile, environment, &credentials)?
            };
            print_verification(ui, &verification);
            // A token settles the environment; two refusals leave it open.
            if verification.token.is_some() {
                environment = Some(verification.environment);
            }
            let found = asked_environment.is_none() && environment.is_some();
            if verification.passed() {
                self.summary(&profile, verification.environment, &credentials);
                return Ok(Collected {
                    profile,
                    environment: verification.environment,
                    environment_found: found,
                    credentials,
                    verified: true,
                });
            }
            match self.ask_repair(&verification, environment)? {
                Repair::ReEnter(field) => self.re_enter(field, &mut credentials)?,
                Repair::SwitchEnvironment(to) => environment = Some(to),
                Repair::Retry => {}
                Repair::SaveAnyway => {
                    return Ok(self.save_anyway(profile, environment, &verification, credentials));
                }
                Repair::Quit => return Err(Error::Interrupted),
            }
        }
    }

    /// The user chose to save values ServiceTitan did not accept: say so
    /// (and that the environment is a guess when neither environment
    /// answered), then collect them as unverified.
    fn save_anyway(
        &self,
        profile: String,
        environment: Option<Environment>,
        verification: &Verification,
        credentials: Credentials,
    ) -> Collected {
        let ui = self.ui;
        if environment.is_none() {
            // "Not sure", and neither environment said: a guess, said so.
            ui.warn(&format!(
                "neither environment accepted these values, so the environment is \
                 not known: saving as {} (change it with `st-setup init --profile \
                 {profile} --environment {}`).",
                verification.environment,
                verification.environment.other()
            ));
        }
        let environment = environment.unwrap_or(verification.environment);
        ui.warn(&format!(
            "saving profile {profile:?} UNVERIFIED: ServiceTitan did not accept these values. \
             Run `st-setup check --profile {profile}` once the problem is fixed."
        ));
        self.unverified(profile, environment, credentials)
    }

    /// Show the summary and collect the values to save as unverified.
    fn unverified(
        &self,
        profile: String,
        environment: Environment,
        credentials: Credentials,
    ) -> Collected {
        self.summary(&profile, environment, &credentials);
        Collected {
            profile,
            environment,
            environment_found: false,
            credentials,
            verified: false,
        }
    }

    fn ask_repair(
        &self,
        verification: &Verification,
        environment: Option<Environment>,
    ) -> Result<Repair> {
        let mut options: Vec<(Choice, Repair)> = Vec::new();
        // Known for certain: the other environment issued a token. First.
        if let (Some(detected), Some(_)) = (verification.detected_environment, environment)
            && verification.token.is_none()
        {
            options.push((
                Choice::with_detail(
                    format!("Switch to {detected} and try again"),
                    "(its token endpoint accepted these credentials)",
                ),
                Repair::SwitchEnvironment(detected),
            ));
        }
        options.extend(verification.suspects.iter().map(|f| {
            (
                Choice::new(format!("Re-enter the {f} and try again")),
                Repair::ReEnter(*f),
            )
        }));
        if let Some(environment) = environment
            && verification.status == crate::error::ExitStatus::CredentialsRejected
            && verification.detected_environment.is_none()
        {
            options.push((
                Choice::new(format!(
                    "Switch to the {} environment and try again",
                    environment.other()
                )),
                Repair::SwitchEnvironment(environment.other()),
            ));
        }
        options.push((Choice::new("Try again with the same values"), Repair::Retry));
        options.push((Choice::new("Save anyway, unverified"), Repair::SaveAnyway));
        options.push((Choice::new("Quit without saving"), Repair::Quit));
        let (choices, mut repairs): (Vec<Choice>, Vec<Repair>) = options.into_iter().unzip();
        let index = self.prompt.select("What now?", &choices, 0)?;
        Ok(repairs.swap_remove(index))
    }

    fn re_enter(&self, field: Field, credentials: &mut Credentials) -> Result<()> {
        match field {
            Field::TenantId => {
                credentials.tenant_id = self.prompt.field(field, Some(&credentials.tenant_id))?
            }
            Field::AppKey => {
                credentials.app_key = self.prompt.field(field, Some(&credentials.app_key))?
            }
            Field::ClientId => {
                credentials.client_id = self.prompt.field(field, Some(&credentials.client_id))?
            }
            Field::ClientSecret => {
                if let Some(secret) = self.prompt.secret(false)? {
                    credentials.client_secret = secret;
                }
            }
        }
        Ok(())
    }

    fn summary(&self, profile: &str, environment: Environment, credentials: &Credentials) {
        self.ui.heading("Summary");
        let rows = [
            ("Profile", profile.to_string()),
            ("Environment", environment.to_string()),
            ("Tenant ID", credentials.tenant_id.clone()),
            ("Application Key", credentials.app_key.clone()),
            ("Client ID", credentials.client_id.clone()),
            ("Client Secret", credentials.client_secret.masked()),
        ];
        for (label, value) in rows {
            self.ui.info(&format!("  {label:<16} {value}"));
        }
    }
}

enum Repair {
    ReEnter(Field),
    SwitchEnvironment(Environment),
    Retry,
    SaveAnyway,
    Quit,
}

/// One line per step on stderr, for the wizard and for `init --non-interactive`.
pub(crate) fn print_verification(ui: Ui, verification: &Verification) {
    for line in crate::verify::lines(&ui, verification) {
        ui.styled_line(&line);
    }
}

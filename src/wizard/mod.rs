//! The interactive `init` wizard: stage 0 (profile, environment), stage 1
//! (Developer Portal, Application Key), stage 2 (tenant: Tenant ID, Client ID,
//! Client Secret), then verification with a chance to fix just the value that
//! is likely wrong, save unverified, or quit.
//!
//! The wizard only talks to the user. Reading stored values, verifying and
//! saving are passed in by `commands::init`, so this file holds the dialogue
//! and nothing else.

mod guide;
pub(crate) mod no_keyring;
mod prompt;

use crate::credentials::{ClientSecret, Credentials, Field};
use crate::environment::{DEVELOPER_PORTAL_URL, Environment, EnvironmentChoice};
use crate::error::{Error, Result};
use crate::profile::{DEFAULT_PROFILE, check_name};
use crate::store::config::Profile;
use crate::ui::Ui;
use crate::verify::Verification;
pub(crate) use prompt::{Choice, Prompter};

/// Values given on the command line or in the environment: their prompts are skipped.
#[derive(Default)]
pub(crate) struct Given {
    pub(crate) profile: Option<String>,
    pub(crate) environment: Option<EnvironmentChoice>,
    pub(crate) tenant_id: Option<String>,
    pub(crate) app_key: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<ClientSecret>,
}

/// What is already stored for a profile.
pub(crate) struct Stored {
    pub(crate) profile: Option<Profile>,
    pub(crate) secret: Option<ClientSecret>,
}

/// The wizard's result: what to save, and whether it was verified.
pub(crate) struct Collected {
    pub(crate) profile: String,
    pub(crate) environment: Environment,
    /// The environment was found out by asking (`--environment auto`, "Not sure").
    pub(crate) environment_found: bool,
    pub(crate) credentials: Credentials,
    pub(crate) verified: bool,
}

/// How the wizard asks ServiceTitan about a profile's credentials, in an
/// environment or (`None`) finding out which one they belong to.
pub(crate) type VerifyFn<'a> =
    &'a dyn Fn(&str, Option<Environment>, &Credentials) -> Result<Verification>;

pub(crate) struct Wizard<'a> {
    ui: Ui,
    prompt: Prompter,
    open_browser: bool,
    given: &'a Given,
}

impl<'a> Wizard<'a> {
    pub(crate) fn new(ui: Ui, open_browser: bool, given: &'a Given) -> Self {
        Wizard {
            ui,
            prompt: Prompter::new(ui),
            open_browser,
            given,
        }
    }

    /// Run the whole dialogue. `lookup` reads what is stored for a profile name;
    /// `verify` asks ServiceTitan (None when verification is switched off).
    pub(crate) fn run(
        &self,
        lookup: impl Fn(&str) -> Result<Stored>,
        verify: Option<VerifyFn<'_>>,
    ) -> Result<Collected> {
        let ui = self.ui;
        crate::signals::restore_terminal_on_interrupt();
        ui.info(&guide::welcome());

        // Stage 0
        ui.heading("Profile and environment");
        let profile = match &self.given.profile {
            Some(p) => p.clone(),
            None => self.ask_profile_name(DEFAULT_PROFILE)?,
        };
        let stored = lookup(&profile)?;
        if stored.profile.is_some() {
            ui.info(&format!(
                "Profile {profile:?} exists: its current values are the defaults below; press Enter to keep one."
            ));
        }
        let current = stored.profile.as_ref();
        // `None`: not sure; the verification finds out.
        let environment = match self.given.environment {
            Some(choice) => choice.known(),
            None => self.ask_environment(current.map(|p| p.environment), verify.is_some())?,
        };

        // Stage 1
        ui.heading("Stage 1 of 2: the Developer Portal");
        let app_key = match &self.given.app_key {
            Some(v) => v.clone(),
            None => {
                ui.info(&guide::developer_portal_steps());
                self.offer_to_open(DEVELOPER_PORTAL_URL, "the Developer Portal")?;
                self.prompt
                    .field(Field::AppKey, current.map(|p| p.app_key.as_str()))?
            }
        };

        // Stage 2
        ui.heading(&match environment {
            Some(environment) => format!("Stage 2 of 2: your {environment} tenant"),
            None => "Stage 2 of 2: your tenant".to_string(),
        });
        let tenant_id = match &self.given.tenant_id {
            Some(v) => v.clone(),
            None => {
                ui.info(&guide::tenant_steps_before_tenant_id(environment));
                match environment {
                    Some(e) => {
                        self.offer_to_open(e.tenant_login_url(), "your tenant's sign-in page")?
                    }
                    None => {
                        for e in [Environment::Production, Environment::Integration] {
                            ui.info(&format!("  {:<12} {}", e.name(), e.tenant_login_url()));
                        }
                    }
                }
                self.prompt
                    .field(Field::TenantId, current.map(|p| p.tenant_id.as_str()))?
            }
        };
        let client_id = match &self.given.client_id {
            Some(v) => v.clone(),
            None => {
                ui.info(&guide::tenant_steps_before_client_id());
                self.prompt
                    .field(Field::ClientId, current.map(|p| p.client_id.as_str()))?
            }
        };
        let client_secret = match &self.given.client_secret {
            Some(s) => s.clone(),
            None => {
                ui.info(&guide::secret_warning());
                match self.prompt.secret(stored.secret.is_some())? {
                    Some(s) => s,
                    None => stored.secret.clone().expect("kept only when stored"),
                }
            }
        };
        let credentials = Credentials {
            tenant_id,
            app_key,
            client_id,
            client_secret,
        };

        self.verify_with_repair(profile, environment, credentials, verify)
    }

    /// After a profile of an app is saved: another tenant of the same app.
    /// Only the Tenant ID, a profile name (suggested from the tenant), the
    /// Client ID and the Client Secret are asked; the App Key and the
    /// environment are kept. Then verified, with repair, as in [`Wizard::run`].
    pub(crate) fn another_tenant(
        &self,
        previous: &Collected,
        lookup: impl Fn(&str) -> Result<Stored>,
        verify: Option<VerifyFn<'_>>,
    ) -> Result<Collected> {
        let ui = self.ui;
        let environment = previous.environment;
        ui.heading(&format!(
            "Another tenant of the same app ({environment}, Application Key {})",
            crate::credentials::mask_identifier(&previous.credentials.app_key)
        ));
        ui.info(&guide::another_tenant_steps(environment));
        let tenant_id = self.prompt.field(Field::TenantId, None)?;
        let profile = self.ask_profile_name(&format!("tenant-{tenant_id}"))?;
        let stored = lookup(&profile)?;
        if stored.profile.is_some() {
            ui.warn(&format!(
                "profile {profile:?} exists: saving replaces its values."
            ));
        }
        ui.info(&guide::tenant_steps_before_client_id());
        let client_id = self.prompt.field(Field::ClientId, None)?;
        ui.info(&guide::secret_warning());
        let Some(client_secret) = self.prompt.secret(false)? else {
            return Err(Error::Interrupted);
        };
        let credentials = Credentials {
            tenant_id,
            app_key: previous.credentials.app_key.clone(),
            client_id,
            client_secret,
        };
        self.verify_with_repair(profile, Some(environment), credentials, verify)
    }

    /// Verify, and on a failure let the user re-enter the suspect value,
    /// switch environment, retry, save unverified or quit. `environment`
    /// `None`: not sure, the verification finds out.
    fn verify_with_repair(
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
            self.summary(&profile, environment, &credentials);
            return Ok(Collected {
                profile,
                environment,
                environment_found: false,
                credentials,
                verified: false,
            });
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
                    let environment = environment.unwrap_or(verification.environment);
                    ui.warn(&format!(
                        "saving profile {profile:?} UNVERIFIED: ServiceTitan did not accept these values. \
                         Run `st-setup check --profile {profile}` once the problem is fixed."
                    ));
                    self.summary(&profile, environment, &credentials);
                    return Ok(Collected {
                        profile,
                        environment,
                        environment_found: false,
                        credentials,
                        verified: false,
                    });
                }
                Repair::Quit => return Err(Error::Interrupted),
            }
        }
    }

    fn ask_profile_name(&self, suggested: &str) -> Result<String> {
        loop {
            let raw = self.prompt.visible_text("Profile name", Some(suggested))?;
            // check_name refuses a pasted credential (a Client Secret above
            // all) without repeating it.
            let name = crate::credentials::clean_pasted(&raw);
            match check_name(name) {
                Ok(()) => return Ok(name.to_string()),
                Err(problem) => self.ui.warn(&format!("{problem}.")),
            }
        }
    }

    /// The environment, or `None` for "Not sure" (offered when a
    /// verification can find out).
    fn ask_environment(
        &self,
        current: Option<Environment>,
        can_find_out: bool,
    ) -> Result<Option<Environment>> {
        let mut choices = vec![
            Some(Environment::Production),
            Some(Environment::Integration),
        ];
        let mut items: Vec<Choice> = [Environment::Production, Environment::Integration]
            .iter()
            .map(|e| Choice::with_detail(e.name(), e.description()))
            .collect();
        if can_find_out {
            choices.push(None);
            items.push(Choice::with_detail(
                "not sure",
                "find out from the credentials (st-setup asks both environments)",
            ));
        }
        let default = current.map_or(0, |c| if c == Environment::Integration { 1 } else { 0 });
        let index = self.prompt.select("Environment", &items, default)?;
        Ok(choices[index])
    }

    /// Print the URL, and open it when allowed, possible here (a display or
    /// $BROWSER) and the user agrees.
    fn offer_to_open(&self, url: &str, what: &str) -> Result<()> {
        self.ui.info(&format!("  Link: {url}"));
        if self.open_browser
            && crate::browser::can_open()
            && self
                .prompt
                .confirm(&format!("Open {what} in your browser?"), true)?
            && let Err(problem) = crate::browser::open(url)
        {
            self.ui
                .warn(&format!("{problem}; open the link above by hand."));
        }
        Ok(())
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

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
mod repair;

pub(crate) use repair::print_verification;

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
        crate::signals::restore_terminal_on_interrupt();
        self.ui.info(&guide::welcome());
        let (profile, stored, environment) =
            self.profile_and_environment(lookup, verify.is_some())?;
        let current = stored.profile.as_ref();
        let app_key = self.developer_portal(current)?;
        let credentials = self.tenant(environment, &stored, app_key)?;

        self.verify_with_repair(profile, environment, credentials, verify)
    }

    /// The first stage: the profile (with its stored values, if any) and the
    /// environment (`None`: not sure; the verification finds out).
    fn profile_and_environment(
        &self,
        lookup: impl Fn(&str) -> Result<Stored>,
        can_verify: bool,
    ) -> Result<(String, Stored, Option<Environment>)> {
        let ui = self.ui;
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
        let environment = match self.given.environment {
            Some(choice) => choice.known(),
            None => {
                self.ask_environment(stored.profile.as_ref().map(|p| p.environment), can_verify)?
            }
        };
        Ok((profile, stored, environment))
    }

    /// Stage 1 of 2: the App Key, from the Developer Portal.
    fn developer_portal(&self, current: Option<&Profile>) -> Result<String> {
        self.ui.heading("Stage 1 of 2: the Developer Portal");
        Ok(match &self.given.app_key {
            Some(v) => v.clone(),
            None => {
                self.ui.info(&guide::developer_portal_steps());
                self.offer_to_open(DEVELOPER_PORTAL_URL, "the Developer Portal")?;
                self.prompt
                    .field(Field::AppKey, current.map(|p| p.app_key.as_str()))?
            }
        })
    }

    /// Stage 2 of 2: the Tenant ID, Client ID and Client Secret, from the tenant.
    fn tenant(
        &self,
        environment: Option<Environment>,
        stored: &Stored,
        app_key: String,
    ) -> Result<Credentials> {
        let ui = self.ui;
        let current = stored.profile.as_ref();
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
        Ok(Credentials {
            tenant_id,
            app_key,
            client_id,
            client_secret,
        })
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
}

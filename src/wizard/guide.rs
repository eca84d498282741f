//! What the wizard tells the user at each stage: the steps in the Developer
//! Portal and in the tenant, in the order they happen, and where to click.
//!
//! One line per paragraph or step: the output layer ([`crate::layout`])
//! wraps each to the terminal, continuation lines under the step's text.

use crate::environment::{DEVELOPER_PORTAL_ACCESS_URL, DEVELOPER_PORTAL_URL, Environment};

pub(crate) fn welcome() -> String {
    "st-setup walks you through the two places ServiceTitan API credentials come from:\n\
     \x20 Stage 1  the Developer Portal, where your app and its Application Key live;\n\
     \x20 Stage 2  your tenant, where the app is connected and the Client ID and Secret are made.\n\
     Then it checks the four values with ServiceTitan and stores them: the Client Secret in \
     your OS keyring, the rest in a config file. Press Ctrl-C at any time to quit without saving."
        .to_string()
}

pub(crate) fn developer_portal_steps() -> String {
    format!(
        "\x20 1. Sign in at {DEVELOPER_PORTAL_URL} with your Production Environment login \
         (production even for integration work). No portal access yet? Request it at \
         {DEVELOPER_PORTAL_ACCESS_URL}.\n\
         \x20 2. Click \"+ New App\": give it a name, your organization, a home page URL and your tenant ID.\n\
         \x20 3. Under \"Client Credentials Management\" choose \
         \"Tenant will configure the credentials themselves\".\n\
         \x20 4. Pick the scopes. A tool that only reads data can select all the read scopes.\n\
         \x20 5. Submit, open the app from My Apps, and copy its Application Key (it starts with ak1.).\n\
         \x20 Already have an app? Open it from My Apps and copy the Application Key."
    )
}

/// `None`: the user is not sure which environment; both sign-in pages follow.
pub(crate) fn tenant_steps_before_tenant_id(environment: Option<Environment>) -> String {
    let login = match environment {
        Some(Environment::Production) => format!(
            "your production tenant at {}",
            Environment::Production.tenant_login_url()
        ),
        Some(Environment::Integration) => format!(
            "your integration tenant, with your Integration Environment login, at {}",
            Environment::Integration.tenant_login_url()
        ),
        None => "your tenant (production or integration: the links are below)".to_string(),
    };
    format!(
        "\x20 1. Sign in to {login} \
         (you need the \"Manage API Application Access\" permission).\n\
         \x20 2. Open Settings (the gear icon, top right) > Integrations > API Application Access.\n\
         \x20 3. Copy the Tenant ID shown on that page."
    )
}

pub(crate) fn tenant_steps_before_client_id() -> String {
    "\x20 4. Click \"Connect New App\", choose your app, and allow the permissions it asks for. \
     (Until then the Developer Portal shows the app as \"Not Connected Yet\".)\n\
     \x20 5. Click the app's name to open its details, and copy the Client ID (it starts with cid.)."
        .to_string()
}

pub(crate) fn secret_warning() -> String {
    "\x20 6. Copy the Client Secret from the same page (it starts with cs1. or cs2.). \
     It may not be shown again once you leave that page, so paste it now. \
     Your typing is hidden; nothing is saved until the values are checked."
        .to_string()
}

/// Before the Tenant ID of another tenant of an app already set up.
pub(crate) fn another_tenant_steps(environment: Environment) -> String {
    format!(
        "\x20 The Application Key and the {environment} environment stay the same. In the next \
         tenant (sign in at {url}), open Settings > Integrations > API Application Access, \
         copy its Tenant ID, and connect the app there too.",
        url = environment.tenant_login_url()
    )
}

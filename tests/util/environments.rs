//! Both ServiceTitan environments at once: a fake for production and one for
//! integration, each named only by its per-environment variables
//! (`ST_PRODUCTION_AUTH_URL`, ...), with a Client ID / Secret of its own.

use crate::util::cmd::TestEnv;
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};

/// Integration credentials of their own (a Client ID / Secret belong to one
/// environment; the tenant and App Key are the same).
pub fn integration_creds() -> Credentials {
    Credentials {
        client_id: "cid.integrationclientid000001".into(),
        client_secret: "cs1.integrationclientsecret0123456789abcdefghijklmnopq".into(),
        ..Credentials::demo()
    }
}

/// Two fakes, production and integration, each named only by its own
/// per-environment variables (no ST_AUTH_URL / ST_API_URL).
pub struct TwoEnvironments {
    pub production: FakeServiceTitan,
    pub integration: FakeServiceTitan,
}

impl TwoEnvironments {
    pub fn start() -> TwoEnvironments {
        TwoEnvironments {
            production: FakeServiceTitan::start(Credentials::demo()),
            integration: FakeServiceTitan::start(integration_creds()),
        }
    }

    /// A test world whose commands reach both fakes, with `creds` as its values.
    pub fn env(&self, creds: Credentials) -> TestEnv {
        let mut env = TestEnv::new();
        env.forbid(&integration_creds().client_secret);
        env.creds = creds;
        for (name, fake) in [
            ("PRODUCTION", &self.production),
            ("INTEGRATION", &self.integration),
        ] {
            env.set_env(&format!("ST_{name}_AUTH_URL"), &fake.auth_url());
            env.set_env(&format!("ST_{name}_API_URL"), &fake.api_url());
        }
        env
    }
}

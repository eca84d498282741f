//! `check` that knows instead of guessing: the token's scopes, a probe the
//! app can reach, each cause of a 403, `--require`, the other environment
//! asked once after a refusal, `--environment auto`, and the per-environment
//! URL overrides. Every case runs the real binary against fakes on 127.0.0.1
//! (one per environment where two are needed).

use crate::util::cmd::{Cmd, TestEnv, unique_profile};
#[cfg(target_os = "linux")]
use crate::util::cmd::{require_keyring, secret_tool_clear};
use crate::util::environments::{TwoEnvironments, integration_creds};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan, all_read_scopes, scopes};

/// `check` of the demo credentials given only by variables (nothing stored),
/// against `fake` for the environment in use.
fn check(env: &TestEnv, extra: &[&str]) -> Cmd {
    env.cmd(&[&["check"], extra].concat())
        .values_from_env(&env.creds)
}

#[test]
fn check_sums_up_the_scopes_of_the_token_response_and_lists_them_with_scopes() {
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .scopes(scopes(&[
            "tn.jpm.jobs:r",
            "tn.stt.businessunits:r",
            "tn.crm.customers:r",
            "tn.crm.locations:r",
            "tn.acc.invoices:w",
        ]))
        .start();
    let env = TestEnv::with_fake(&fake);

    let out = check(&env, &["--scopes"]).run();
    out.code(0)
        .stdout_has("Scopes: read CRM (2), Jobs & projects (1), Settings (1); write Accounting (1)")
        .stdout_has("Every scope of the token (5):")
        .stdout_has("    CRM (crm)\n      tn.crm.customers:r\n      tn.crm.locations:r\n");
    assert_eq!(fake.token_requests(), 1);
    assert_eq!(fake.probe_requests(), 1, "one token request and one probe");

    let json = check(&env, &["--json"]).run().json();
    assert_eq!(
        json["scopes"],
        serde_json::json!([
            "tn.acc.invoices:w",
            "tn.crm.customers:r",
            "tn.crm.locations:r",
            "tn.jpm.jobs:r",
            "tn.stt.businessunits:r"
        ])
    );
    assert_eq!(json["probe"], "/settings/v2/tenant/8450/business-units");
    assert_eq!(json["missing_scopes"], serde_json::json!([]));
    assert_eq!(json["detected_environment"], serde_json::Value::Null);
}

#[test]
fn scopes_are_read_from_the_jwt_claim_when_the_response_has_none() {
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .scopes(scopes(&["tn.stt.businessunits:r", "tn.pb.categories:r"]))
        .scope_in_response(false)
        .start();
    let env = TestEnv::with_fake(&fake);
    let json = check(&env, &["--json"]).run().json();
    assert_eq!(
        json["scopes"],
        serde_json::json!(["tn.pb.categories:r", "tn.stt.businessunits:r"])
    );
    assert_eq!(json["ok"], true);
}

#[test]
fn a_token_without_scopes_is_probed_on_business_units_and_passes() {
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .scopes(None)
        .start();
    let env = TestEnv::with_fake(&fake);
    check(&env, &["--scopes"])
        .run()
        .code(0)
        .stdout_has("Scopes: the token names no scopes")
        .stdout_has("The token names no scopes (neither its response nor its claims)");
    let json = check(&env, &["--json"]).run().json();
    assert_eq!(json["scopes"], serde_json::Value::Null);
    assert_eq!(json["probe"], "/settings/v2/tenant/8450/business-units");
}

#[test]
fn unknown_scope_names_are_shown_as_they_are() {
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .scopes(scopes(&[
            "tn.stt.businessunits:r",
            "tn.fleet.vehicles:r",
            "odd-name",
        ]))
        .start();
    let env = TestEnv::with_fake(&fake);
    check(&env, &["--scopes"])
        .run()
        .code(0)
        .stdout_has("read Settings (1), fleet (1); write none; 1 other")
        .stdout_has("fleet (not a module st-setup knows)\n      tn.fleet.vehicles:r")
        .stdout_has("    Other\n      odd-name");
}

#[test]
fn without_the_settings_scope_the_probe_moves_to_a_module_the_token_can_read() {
    let mut no_settings = all_read_scopes();
    no_settings.retain(|s| !s.starts_with("tn.stt.") && !s.starts_with("tn.acc."));
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .scopes(Some(no_settings))
        .start();
    let env = TestEnv::with_fake(&fake);

    check(&env, &[]).run().code(0).stdout_has(
        "the API accepted the Application Key for tenant 8450 (GET /crm/v2/tenant/8450/customers)",
    );
    let json = check(&env, &["--json"]).run().json();
    assert_eq!(json["probe"], "/crm/v2/tenant/8450/customers");
    let probes: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path)
        .collect();
    assert_eq!(
        probes,
        vec!["/crm/v2/tenant/8450/customers?page=1&pageSize=1"; 2]
    );
}

#[test]
fn a_403_for_a_missing_scope_names_the_scope_and_both_fixes() {
    // The token reaches no module's cheap list: business units are probed,
    // and the refusal is the Settings scope the token lacks.
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .scopes(scopes(&["tn.acc.invoices:r"]))
        .start();
    let env = TestEnv::with_fake(&fake);
    check(&env, &[])
        .run()
        .code(4)
        .stdout_has("does not carry the scope tn.stt.businessunits:r")
        .stdout_has("Developer Portal")
        .stdout_has("\"Upgrade to New Version\"");
}

#[test]
fn a_403_with_the_scope_present_names_the_connection_app_key_and_product() {
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .token_tenant_claim(None)
        .start();
    let env = TestEnv::with_fake(&fake);
    check(&env, &[])
        .env("ST_TENANT_ID", "7777")
        .run()
        .code(4)
        .stdout_has("could not confirm API access (HTTP 403")
        .stdout_has("carries the scope the call needs (tn.stt.businessunits:r)")
        .stdout_has("not connected to tenant 7777")
        .stdout_has("Application Key belongs to another app")
        .stdout_has("does not have the Settings product")
        .stdout_lacks("Upgrade to New Version");
}

#[test]
fn a_403_for_a_token_of_another_tenant_names_the_tenant_first() {
    // The token lacks nothing the probe needs but names tenant 9999.
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .token_tenant_claim(Some("9999".into()))
        .start();
    let env = TestEnv::with_fake(&fake);
    check(&env, &[])
        .env("ST_TENANT_ID", "7777")
        .run()
        .code(4)
        .stdout_has("Tenant: the token names tenant 9999, not 7777")
        .stdout_has("First: the Client ID / Secret belong to tenant 9999, not to tenant 7777")
        // Only a warning on its own (Enterprise Hub): the other causes follow.
        .stdout_has("If not that: The token carries the scope the call needs")
        .stdout_has("UNCONFIRMED API access");
    // With the scope missing too, both are named, tenant first.
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .token_tenant_claim(Some("9999".into()))
        .scopes(scopes(&["tn.acc.invoices:r"]))
        .start();
    let env = TestEnv::with_fake(&fake);
    check(&env, &[])
        .env("ST_TENANT_ID", "7777")
        .run()
        .code(4)
        .stdout_has("not to tenant 7777")
        .stdout_has("If not that: the token does not carry the scope tn.stt.businessunits:r");
}

#[test]
fn require_met_passes_and_unmet_fails_with_one_line_per_missing_item() {
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .scopes(scopes(&[
            "tn.stt.businessunits:r",
            "tn.crm.customers:r",
            "tn.acc.invoices:w",
        ]))
        .start();
    let env = TestEnv::with_fake(&fake);

    check(
        &env,
        &["--require", "crm", "--require", "tn.acc.invoices:w"],
    )
    .run()
    .code(0)
    .stdout_has("(every required scope is there)");
    let json = check(&env, &["--json", "--require", "acc:w"]).run().json();
    assert_eq!(json["missing_scopes"], serde_json::json!([]));

    let out = check(&env, &["--require", "crm:w", "--require", "tn.jpm.jobs:r"])
        .env("ST_REQUIRE", "pb")
        .run();
    out.code(4)
        .stdout_has("Required: a write scope of CRM (crm:w) is missing from the token")
        .stdout_has("Required: the scope tn.jpm.jobs:r is missing from the token")
        .stdout_has("\"Upgrade to New Version\"")
        // A flag replaces its variable, as for every option.
        .stdout_lacks("Pricebook");
    let json = check(&env, &["--json", "--require", "crm:w,jpm"])
        .run()
        .json();
    assert_eq!(json["exit_code"], 4);
    assert_eq!(json["ok"], false);
    assert_eq!(json["missing_scopes"], serde_json::json!(["crm:w", "jpm"]));

    // ST_REQUIRE alone, comma-separated.
    let json = check(&env, &["--json"])
        .env("ST_REQUIRE", "crm, pb:r")
        .run()
        .json();
    assert_eq!(json["missing_scopes"], serde_json::json!(["pb:r"]));
}

#[test]
fn a_requirement_a_token_without_scopes_cannot_show_is_not_met() {
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .scopes(None)
        .start();
    let env = TestEnv::with_fake(&fake);
    let out = check(&env, &["--json", "--require", "crm"]).run();
    out.code(4);
    let json = out.json();
    assert_eq!(json["missing_scopes"], serde_json::json!(["crm"]));
}

#[test]
fn a_malformed_requirement_is_a_usage_error_naming_the_option() {
    let env = TestEnv::new();
    for bad in ["crn", "crm:x", "tn.crm", "crm;ls"] {
        check(&env, &["--require", bad])
            .run()
            .code(2)
            .stderr_has("--require / ST_REQUIRE")
            .stderr_has("Module codes: acc, crm,");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn init_saves_the_requirements_and_later_checks_require_them_too() {
    require_keyring();
    let with_crm = FakeServiceTitan::builder(Credentials::demo())
        .scopes(scopes(&["tn.stt.businessunits:r", "tn.crm.customers:r"]))
        .start();
    let mut env = TestEnv::with_fake(&with_crm);
    let profile = unique_profile("require");

    env.init_cmd(&profile)
        .arg("--require")
        .arg("crm")
        .run()
        .code(0);
    let config = env.config_text().unwrap();
    assert!(config.contains("require = [\"crm\"]"), "{config}");
    env.cmd(&["check", "--profile", &profile])
        .run()
        .code(0)
        .stdout_has("(every required scope is there)");

    // The same app, but the tenant admin has not accepted the CRM scope.
    let without_crm = FakeServiceTitan::builder(Credentials::demo())
        .scopes(scopes(&["tn.stt.businessunits:r"]))
        .start();
    env.use_fake(&without_crm);
    env.cmd(&["check", "--profile", &profile])
        .run()
        .code(4)
        .stdout_has("Required: a scope of CRM (crm) is missing from the token");
    // Command-line requirements add to the saved ones.
    let json = env
        .cmd(&["check", "--profile", &profile, "--json", "--require", "pb"])
        .run()
        .json();
    assert_eq!(json["missing_scopes"], serde_json::json!(["crm", "pb"]));
    let all = env.cmd(&["check", "--all", "--json"]).run().json();
    let row = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == profile.as_str())
        .unwrap();
    assert_eq!(row["missing_scopes"], serde_json::json!(["crm"]));

    // An unmet requirement at init stores nothing new.
    let other = unique_profile("require-unmet");
    env.init_cmd(&other)
        .arg("--require")
        .arg("crm")
        .run()
        .code(4)
        .stderr_has("a scope of CRM (crm) is missing from the token")
        .stderr_has("Nothing was saved");
    assert!(!env.config_text().unwrap().contains(&other));
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn credentials_of_the_other_environment_are_named_for_certain() {
    let fakes = TwoEnvironments::start();
    // Integration values, but the profile says production.
    let env = fakes.env(integration_creds());
    let out = check(&env, &[]).env("ST_ENVIRONMENT", "production").run();
    out.code(3).stdout_has(
        "these credentials belong to the integration environment; the profile says production",
    );
    assert_eq!(fakes.production.token_requests(), 1);
    assert_eq!(fakes.integration.token_requests(), 1, "asked once");
    assert_eq!(fakes.production.probe_requests(), 0);
    assert_eq!(fakes.integration.probe_requests(), 0);
    let json = check(&env, &["--json"])
        .env("ST_ENVIRONMENT", "production")
        .run()
        .json();
    assert_eq!(json["detected_environment"], "integration");
    assert_eq!(json["exit_code"], 3);

    // And the other way round.
    let env = fakes.env(Credentials::demo());
    let json = check(&env, &["--json"]).run().json(); // values_from_env: integration
    assert_eq!(json["detected_environment"], "production");
    assert!(
        json["client_credentials"]["message"]
            .as_str()
            .unwrap()
            .contains("belong to the production environment; the profile says integration"),
        "{json}"
    );
}

#[test]
fn credentials_both_environments_refuse_are_mistyped() {
    let fakes = TwoEnvironments::start();
    let mut env = fakes.env(Credentials::demo());
    let wrong = "cs1.notthesecretatall000000000000000000000000000000000";
    env.forbid(wrong);
    let out = check(&env, &["--json"])
        .env("ST_CLIENT_SECRET", wrong)
        .run();
    out.code(3);
    let json = out.json();
    assert_eq!(json["detected_environment"], serde_json::Value::Null);
    let message = json["client_credentials"]["message"].as_str().unwrap();
    assert!(message.contains("refused them too"), "{message}");
    assert!(message.contains("mistyped"), "{message}");
    assert_eq!(fakes.integration.token_requests(), 1);
    assert_eq!(fakes.production.token_requests(), 1);
}

#[test]
fn with_only_the_selected_environment_overridden_the_other_is_never_asked() {
    // ST_AUTH_URL points integration at a fake; nothing names production's
    // stand-in, so nothing may go to ServiceTitan's own production endpoint.
    let fake = FakeServiceTitan::start(Credentials::demo());
    let mut env = TestEnv::with_fake(&fake);
    let wrong = "cs1.notthesecretatall000000000000000000000000000000000";
    env.forbid(wrong);
    let out = check(&env, &["-v", "--json"])
        .env("ST_CLIENT_SECRET", wrong)
        .run();
    out.code(3)
        .stderr_has("not asking the production environment")
        .stderr_has("ST_AUTH_URL / --auth-url is set and ST_PRODUCTION_AUTH_URL is not");
    assert_eq!(out.json()["detected_environment"], serde_json::Value::Null);
    assert!(
        !out.json()["client_credentials"]["message"]
            .as_str()
            .unwrap()
            .contains("belong to"),
        "no certainty without asking"
    );
}

#[test]
fn st_auth_url_wins_over_the_per_environment_override() {
    let fakes = TwoEnvironments::start();
    let elsewhere = FakeServiceTitan::start(Credentials::demo());
    let env = fakes.env(Credentials::demo());
    check(&env, &[])
        .env("ST_ENVIRONMENT", "production")
        .env("ST_AUTH_URL", &elsewhere.auth_url())
        .env("ST_API_URL", &elsewhere.api_url())
        .run()
        .code(0);
    assert_eq!(elsewhere.token_requests(), 1);
    assert_eq!(elsewhere.probe_requests(), 1);
    assert_eq!(fakes.production.requests().len(), 0);

    check(&env, &[])
        .env("ST_PRODUCTION_AUTH_URL", "http://example.com/connect/token")
        .run()
        .code(2)
        .stderr_has("ST_PRODUCTION_AUTH_URL uses plain http to example.com");
}

#[cfg(target_os = "linux")]
#[test]
fn init_environment_auto_finds_each_environment_or_names_both() {
    require_keyring();
    let fakes = TwoEnvironments::start();

    let env = fakes.env(Credentials::demo());
    let profile = unique_profile("auto-prod");
    env.init_cmd(&profile)
        .args_override("--environment", "auto")
        .run()
        .code(0)
        .stderr_has("these credentials belong to the production environment")
        .stderr_has("Environment:   production (found out from the credentials)");
    assert!(
        env.config_text()
            .unwrap()
            .contains("environment = \"production\"")
    );
    assert_eq!(
        fakes.integration.token_requests(),
        0,
        "production issued it"
    );
    secret_tool_clear("st-setup", &profile);

    let env = fakes.env(integration_creds());
    let profile = unique_profile("auto-int");
    env.init_cmd(&profile)
        .args_override("--environment", "auto")
        .run()
        .code(0)
        .stderr_has("token issued by the integration token endpoint")
        .stderr_has("Environment:   integration (found out from the credentials)");
    let config = env.config_text().unwrap();
    assert!(config.contains("environment = \"integration\""), "{config}");
    assert_eq!(fakes.integration.probe_requests(), 1);
    secret_tool_clear("st-setup", &profile);

    let mut env = fakes.env(Credentials::demo());
    let wrong = "cs1.notthesecretatall000000000000000000000000000000000";
    env.forbid(wrong);
    let profile = unique_profile("auto-none");
    env.init_cmd(&profile)
        .env("ST_CLIENT_SECRET", wrong)
        .env("ST_ENVIRONMENT", "auto")
        .args_remove("--environment")
        .run()
        .code(3)
        .stderr_has("neither environment accepted the Client ID / Client Secret")
        .stderr_has("production refused")
        .stderr_has("integration refused them too");
    assert!(env.config_text().is_none());
}

#[test]
fn environment_auto_needs_a_verification_and_the_per_environment_urls() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("auto-bad");
    env.init_cmd(&profile)
        .args_override("--environment", "auto")
        .arg("--no-verify")
        .run()
        .code(2)
        .stderr_has("cannot be used with --no-verify");
    env.init_cmd(&profile)
        .args_override("--environment", "auto")
        .run()
        .code(2)
        .stderr_has("ST_PRODUCTION_AUTH_URL, ST_INTEGRATION_AUTH_URL");
    assert_eq!(fake.token_requests(), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn environment_auto_with_only_integration_overridden_never_asks_servicetitan() {
    require_keyring();
    let fakes = TwoEnvironments::start();
    let mut env = fakes.env(integration_creds());
    let wrong = "cs1.notthesecretatall000000000000000000000000000000000";
    env.forbid(wrong);
    let only_integration = |cmd: Cmd| {
        cmd.args_override("--environment", "auto")
            .env_remove("ST_PRODUCTION_AUTH_URL")
            .env_remove("ST_PRODUCTION_API_URL")
            .arg("-v")
    };
    let profile = unique_profile("auto-int-only");
    only_integration(env.init_cmd(&profile))
        .run()
        .code(0)
        .stderr_has("token issued by the integration token endpoint");
    // Refused by integration: production's own endpoint is not asked.
    only_integration(env.init_cmd(&unique_profile("auto-int-wrong")))
        .env("ST_CLIENT_SECRET", wrong)
        .run()
        .code(3)
        .stderr_has("not asking the production environment");
    assert_eq!(fakes.production.requests().len(), 0);
    secret_tool_clear("st-setup", &profile);
}

//! `init` without prompts: every verification outcome, what is stored, and
//! that a failed run stores nothing.

use crate::util::cmd::{TestEnv, unique_profile};
// The tests that store into the real gnome-keyring (scripts/test) are Linux-only.
#[cfg(target_os = "linux")]
use crate::util::cmd::{
    assert_keyring_holds, mode, require_keyring, secret_tool_clear, secret_tool_lookup,
};
#[cfg(target_os = "linux")]
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};

/// Nothing of `profile` anywhere: no config entry, no keyring entry.
#[cfg(target_os = "linux")]
#[track_caller]
fn assert_nothing_stored(env: &TestEnv, profile: &str) {
    if let Some(text) = env.config_text() {
        assert!(
            !text.contains(profile),
            "config mentions {profile}:\n{text}"
        );
    }
    assert_eq!(secret_tool_lookup("st-setup", profile), None);
}

#[cfg(target_os = "linux")]
#[test]
fn verified_credentials_are_stored_in_keyring_and_config() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("ok");

    let out = env.init_cmd(&profile).run();
    out.code(0)
        .stderr_has("the token belongs to tenant 8450")
        .stderr_has("the API accepted the Application Key")
        .stderr_has("Saved profile");
    for token in fake.issued_tokens() {
        out.stderr_lacks(&token).stdout_lacks(&token);
    }

    let config = env.config_text().expect("config written");
    assert!(
        config.contains(&format!("[profiles.{profile}]")),
        "{config}"
    );
    assert!(config.contains("tenant_id = \"8450\""), "{config}");
    assert!(config.contains(&env.creds.app_key), "{config}");
    assert!(config.contains(&env.creds.client_id), "{config}");
    assert!(config.contains("environment = \"integration\""), "{config}");
    assert!(
        !config.contains(&env.creds.client_secret),
        "secret in config:\n{config}"
    );
    assert_eq!(mode(&env.config_path()), 0o600);
    assert_eq!(mode(&env.config_dir()), 0o700);
    assert_keyring_holds(&profile, &env.creds.client_secret);
    assert_eq!(fake.token_requests(), 1);
    assert_eq!(fake.probe_requests(), 1);
    let probe = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert_eq!(probe.header("st-app-key"), Some(env.creds.app_key.as_str()));
    assert!(
        probe
            .path
            .starts_with("/settings/v2/tenant/8450/business-units?"),
        "{}",
        probe.path
    );
    secret_tool_clear("st-setup", &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn a_rejected_client_secret_is_exit_3_and_stores_nothing() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let mut env = TestEnv::with_fake(&fake);
    let wrong = "cs1.thisisnotthesecretatall0000000000000000000000000000";
    env.forbid(wrong);
    let profile = unique_profile("rejected");

    let out = env.init_cmd(&profile).env("ST_CLIENT_SECRET", wrong).run();
    out.code(3)
        .stderr_has("refused the Client ID / Client Secret")
        .stderr_has("invalid_client")
        .stderr_has("production environment")
        .stderr_has("Nothing was saved");
    assert_nothing_stored(&env, &profile);
    assert_eq!(fake.probe_requests(), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn a_token_for_another_tenant_is_named() {
    require_keyring();
    // The token names tenant 9999; the Tenant ID typed is 7777, which the
    // API refuses: the refusal is explained by the tenant first.
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .token_tenant_claim(Some("9999".into()))
        .start();
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("mismatch");

    env.init_cmd(&profile)
        .args_override("--tenant", "7777")
        .run()
        .code(4)
        .stderr_has("the token names tenant 9999, not 7777")
        .stderr_has("belong to tenant 9999, not to tenant 7777");
    assert_nothing_stored(&env, &profile);
    assert_eq!(fake.probe_requests(), 1, "the API call decides");
}

#[cfg(target_os = "linux")]
#[test]
fn a_token_for_another_tenant_that_the_api_accepts_is_only_a_warning() {
    require_keyring();
    // Enterprise Hub: one Client ID for a group of tenants. The token names
    // another tenant of the group, and the API accepts the one typed.
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .token_tenant_claim(Some("9999".into()))
        .start();
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("hub");

    env.init_cmd(&profile)
        .run()
        .code(0)
        .stderr_has("the token names tenant 9999, not 8450")
        .stderr_has("Enterprise Hub")
        .stderr_has("the API accepted the Application Key for tenant 8450")
        .stderr_has("Saved profile");
    secret_tool_clear("st-setup", &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn a_token_without_tenant_claim_skips_that_check() {
    require_keyring();
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .opaque_token(true)
        .start();
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("opaque");

    env.init_cmd(&profile)
        .run()
        .code(0)
        .stderr_has("skipped: the token does not name its tenant");
    secret_tool_clear("st-setup", &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn a_wrong_app_key_is_exit_4_naming_the_app_key() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("appkey");

    env.init_cmd(&profile)
        .args_override("--app-key", "ak1.wrongwrongwrongwrongwrong0")
        .run()
        .code(4)
        .stderr_has("rejected the Application Key (HTTP 401")
        .stderr_has("Developer Portal");
    assert_nothing_stored(&env, &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn a_forbidden_probe_lists_the_three_causes() {
    require_keyring();
    // The token names no tenant and no scopes, so a wrong Tenant ID reaches
    // the probe and the refusal has several possible causes.
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .opaque_token(true)
        .scopes(None)
        .start();
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("forbidden");
    let mut args = env.init_args(&profile);
    let tenant = args.iter().position(|a| a == "--tenant").unwrap() + 1;
    args[tenant] = "1234".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    env.cmd(&args)
        .env("ST_CLIENT_SECRET", &env.creds.client_secret)
        .run()
        .code(4)
        .stderr_has("could not confirm API access (HTTP 403")
        .stderr_has("The token itself was fine")
        .stderr_has("not connected to tenant 1234")
        .stderr_has("the Tenant ID is wrong")
        .stderr_has("Upgrade to New Version");
    assert_nothing_stored(&env, &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn an_unknown_tenant_is_exit_4_not_found() {
    require_keyring();
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .opaque_token(true)
        .probe_status_for_unknown_tenant(404)
        .start();
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("notfound");

    env.init_cmd(&profile)
        .args_override("--tenant", "77")
        .run()
        .code(4)
        .stderr_has("tenant 77 was not found in integration (HTTP 404");
    assert_nothing_stored(&env, &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn an_unreachable_server_is_a_network_error_not_a_credential_error() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    drop(fake); // nothing listens on that port any more
    let profile = unique_profile("refused");

    env.init_cmd(&profile)
        .run()
        .code(5)
        .stderr_has("connection refused")
        .stderr_lacks("refused the Client ID");
    assert_nothing_stored(&env, &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn no_verify_saves_without_asking_and_says_so() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("noverify");

    env.init_cmd(&profile)
        .arg("--no-verify")
        .run()
        .code(0)
        .stderr_has("verification skipped")
        .stderr_has("(unverified)");
    assert_eq!(fake.requests().len(), 0);
    assert!(env.config_text().unwrap().contains("verified = false"));
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let env = TestEnv::new();
    let profile = unique_profile("http");
    env.init_cmd(&profile)
        .env("ST_AUTH_URL", "http://auth.example.com/connect/token")
        .env("ST_API_URL", "https://api.example.com")
        .run()
        .code(2)
        .stderr_has("ST_AUTH_URL uses plain http")
        .stderr_has("https://");
    assert!(env.config_text().is_none());
}

#[test]
fn a_client_secret_flag_is_refused_with_the_reason() {
    let env = TestEnv::new();
    let out = env
        .cmd(&["init", "--client-secret", &env.creds.client_secret])
        .run();
    out.code(2)
        .stderr_has("process list")
        .stderr_has("shell history")
        .stderr_has("ST_CLIENT_SECRET")
        .stderr_has("--client-secret-stdin");
    assert!(env.config_text().is_none());
    let flag_form = format!("--client-secret={}", env.creds.client_secret);
    env.cmd(&["init", &flag_form]).run().code(2);
}

#[test]
fn missing_values_are_listed_together_with_their_flags_and_variables() {
    let env = TestEnv::new();
    env.cmd(&["init", "--non-interactive", "--tenant", "8450"])
        .run()
        .code(2)
        .stderr_has("missing 3 values")
        .stderr_has("--app-key or ST_APP_KEY")
        .stderr_has("--client-id or ST_CLIENT_ID")
        .stderr_has("ST_CLIENT_SECRET or --client-secret-stdin")
        .stderr_lacks("--tenant or ST_TENANT_ID");
    assert!(env.config_text().is_none());
}

#[test]
fn given_values_are_validated_like_typed_ones() {
    let env = TestEnv::new();
    let profile = unique_profile("invalid");
    env.init_cmd(&profile)
        .args_override("--tenant", "84a50")
        .run()
        .code(2)
        .stderr_has("Tenant ID must be digits only");
    // A Client Secret pasted as the Client ID is named, and not echoed.
    env.init_cmd(&profile)
        .args_override("--client-id", &env.creds.client_secret)
        .run()
        .code(2)
        .stderr_has("looks like a Client Secret, not a Client ID");
    assert!(env.config_text().is_none());
}

#[test]
fn a_client_secret_given_as_any_other_value_is_refused_without_echo() {
    let env = TestEnv::new();
    let profile = unique_profile("swapped");
    let secret = env.creds.client_secret.clone();
    let quoted = format!(" '{secret}'\n");
    // Flags and variables alike, plain or as pasted (quotes, newline); the
    // check of every run also fails it if the secret shows up in the output.
    for (flag, var, label) in [
        ("--tenant", "ST_TENANT_ID", "Tenant ID"),
        ("--app-key", "ST_APP_KEY", "Application Key"),
        ("--client-id", "ST_CLIENT_ID", "Client ID"),
    ] {
        for value in [secret.as_str(), quoted.as_str()] {
            for by_flag in [true, false] {
                let cmd = if by_flag {
                    env.init_cmd(&profile).args_override(flag, value)
                } else {
                    env.init_cmd(&profile).args_remove(flag).env(var, value)
                };
                let out = cmd.run();
                out.code(2).stderr_has("looks like a Client Secret");
                assert!(out.stderr.contains(label), "{out}");
            }
        }
    }
    for by_flag in [true, false] {
        let cmd = env.init_cmd(&profile).args_remove("--profile");
        let cmd = if by_flag {
            cmd.arg("--profile").arg(&secret)
        } else {
            cmd.env("ST_PROFILE", &secret)
        };
        cmd.run()
            .code(2)
            .stderr_has("looks like a Client Secret, not a profile name");
    }
    // The commands that take the same flags refuse it the same way.
    env.cmd(&["check", "--client-id", &secret])
        .run()
        .code(2)
        .stderr_has("looks like a Client Secret, not a Client ID");
    assert!(env.config_text().is_none());
}

#[cfg(target_os = "linux")]
#[test]
fn pasted_values_are_cleaned_before_use() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("paste");
    let quoted_secret = format!("  \"{}\"\n", env.creds.client_secret);
    let quoted_key = format!("'{}' ", env.creds.app_key);
    env.init_cmd(&profile)
        .args_override("--app-key", &quoted_key)
        .env("ST_CLIENT_SECRET", &quoted_secret)
        .run()
        .code(0);
    assert_keyring_holds(&profile, &env.creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn a_copy_left_behind_by_a_storage_move_is_reported() {
    require_keyring();
    let env = TestEnv::new();
    let profile = unique_profile("leftover");
    env.init_cmd(&profile)
        .arg("--no-verify")
        .arg("--storage")
        .arg("file")
        .run()
        .code(0);
    // Something the move cannot delete where the secret file was.
    let secret_file = env.config_dir().join("secrets").join(&profile);
    std::fs::remove_file(&secret_file).unwrap();
    std::fs::create_dir_all(secret_file.join("in-the-way")).unwrap();

    env.init_cmd(&profile)
        .arg("--no-verify")
        .arg("--storage")
        .arg("keyring")
        .run()
        .code(0)
        .stderr_has(
            "the old copy of the Client Secret (stored in plain text file) could not be deleted",
        );
    assert_keyring_holds(&profile, &env.creds.client_secret);
    assert!(
        env.config_text()
            .unwrap()
            .contains("secret_storage = \"keyring\""),
        "the profile moved all the same"
    );
    secret_tool_clear("st-setup", &profile);
}

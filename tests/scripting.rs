//! Scripts and CI: check, token, exec, list, show, remove, export, --json,
//! inputs from flags, variables and stdin, and bad input that changes nothing.

use crate::util::cmd::TestEnv;
// The tests that store into the real gnome-keyring (scripts/test) are Linux-only.
#[cfg(target_os = "linux")]
use crate::util::cmd::{
    assert_keyring_holds, require_keyring, secret_tool_clear, secret_tool_lookup, unique_profile,
};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};

/// Well-formed values for the three non-secret flags (no server involved).
const VALUE_FLAGS: [&str; 6] = [
    "--tenant",
    "8450",
    "--app-key",
    "ak1.abcdefghijklmnopqrstuvwxy",
    "--client-id",
    "cid.abcdefghijklmnopqrstuvwxy",
];

/// A test world with the fake running and `profiles` stored through `init`.
#[cfg(target_os = "linux")]
fn with_profiles(profiles: &[&str]) -> (FakeServiceTitan, TestEnv) {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    for profile in profiles {
        env.init_cmd(profile).run().code(0);
    }
    (fake, env)
}

#[cfg(target_os = "linux")]
#[test]
fn check_reports_each_step_and_exits_0() {
    let profile = unique_profile("check");
    let (_fake, env) = with_profiles(&[&profile]);
    env.cmd(&["check", "--profile", &profile])
        .run()
        .code(0)
        .stdout_has(&profile)
        .stdout_has("ok Client ID / Secret")
        .stdout_has("ok Tenant: the token belongs to tenant 8450")
        .stdout_has("ok API access");
}

#[cfg(target_os = "linux")]
#[test]
fn check_json_has_stable_fields_and_keeps_the_exit_code() {
    let profile = unique_profile("json");
    let (fake, env) = with_profiles(&[&profile]);
    let out = env.cmd(&["check", "--profile", &profile, "--json"]).run();
    out.code(0);
    let json = out.json();
    assert_eq!(json["profile"], profile.as_str());
    assert_eq!(json["environment"], "integration");
    assert_eq!(json["tenant"], "8450");
    assert_eq!(json["ok"], true);
    for step in ["client_credentials", "tenant_match", "api_access"] {
        assert_eq!(json[step]["status"], "ok", "{step}: {json}");
        assert!(json[step]["message"].is_string());
    }

    // The app key is revoked on the server side: same document shape, exit 4.
    drop(fake);
    let fake = FakeServiceTitan::start(Credentials {
        app_key: "ak1.anotherappkeyaltogether00".into(),
        ..Credentials::demo()
    });
    let out = env
        .cmd(&["check", "--profile", &profile, "--json"])
        .env("ST_AUTH_URL", &fake.auth_url())
        .env("ST_API_URL", &fake.api_url())
        .run();
    out.code(4);
    let json = out.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["api_access"]["status"], "failed");
    assert!(out.stderr.is_empty() || !out.stderr.contains('{'), "{out}");
}

#[cfg(target_os = "linux")]
#[test]
fn check_all_runs_every_profile_and_exits_with_the_worst() {
    let names: Vec<String> = (0..5).map(|i| unique_profile(&format!("all{i}"))).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (_fake, env) = with_profiles(&refs);
    // A CI variable meant for one set of credentials is not applied to every profile.
    let out = env
        .cmd(&["check", "--all", "--json"])
        .env(
            "ST_CLIENT_SECRET",
            "cs1.meantforsomethingelse00000000000000000000000000",
        )
        .run();
    out.code(0);
    let json = out.json();
    assert_eq!(json.as_array().unwrap().len(), 5, "{json}");
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .all(|r| r["secret_storage"] == "keyring"),
        "{json}"
    );

    // Break one profile's tenant in the config: only that one fails.
    let config = env.config_text().unwrap();
    let broken = config.replacen("tenant_id = \"8450\"", "tenant_id = \"1\"", 1);
    std::fs::write(env.config_path(), broken).unwrap();
    let out = env.cmd(&["check", "--all", "--json"]).run();
    out.code(4);
    let json = out.json();
    let failed: Vec<&serde_json::Value> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{json}");
    assert_eq!(failed[0]["tenant"], "1");
}

#[cfg(target_os = "linux")]
#[test]
fn check_all_is_concurrent() {
    require_keyring();
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .latency(std::time::Duration::from_millis(300))
        .start();
    let env = TestEnv::with_fake(&fake);
    let names: Vec<String> = (0..10)
        .map(|i| unique_profile(&format!("conc{i}")))
        .collect();
    for name in &names {
        let args = env.init_args(name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.cmd(&args)
            .arg("--no-verify")
            .env("ST_CLIENT_SECRET", &env.creds.client_secret)
            .run()
            .code(0);
    }
    // Every answer takes 300 ms, so requests of different profiles overlap
    // at the server only if st-setup sends them concurrently.
    env.cmd(&["check", "--all"]).run().code(0);
    assert!(
        fake.max_in_flight() >= 5,
        "profiles were checked one after another (at most {} requests at once)",
        fake.max_in_flight()
    );
}

#[test]
fn environment_only_credentials_need_nothing_stored() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let out = env
        .cmd(&["check", "--json"])
        .values_from_env(&env.creds)
        .run();
    out.code(0);
    assert_eq!(out.json()["ok"], true);
    assert!(env.config_text().is_none(), "nothing stored");
}

#[cfg(target_os = "linux")]
#[test]
fn token_prints_only_the_token_and_reuses_it() {
    let profile = unique_profile("token");
    let (fake, env) = with_profiles(&[&profile]);
    let first = env.cmd(&["token", "--profile", &profile]).run();
    first.code(0);
    let token = first.stdout.trim_end().to_string();
    assert_eq!(
        first.stdout,
        format!("{token}\n"),
        "only the token on stdout"
    );
    assert!(fake.issued_tokens().contains(&token));
    let requests = fake.token_requests();

    let second = env.cmd(&["token", "--profile", &profile]).run();
    second.code(0);
    assert_eq!(second.stdout.trim_end(), token, "cached token reused");
    assert_eq!(fake.token_requests(), requests, "no new token request");
    assert!(
        secret_tool_lookup("st-setup-token-cache", &profile).is_some(),
        "the cache is a separate keyring entry"
    );
    assert_eq!(
        secret_tool_lookup("st-setup", &profile).as_deref(),
        Some(env.creds.client_secret.as_str()),
        "the secret's entry is untouched"
    );

    let fresh = env.cmd(&["token", "--profile", &profile, "--fresh"]).run();
    fresh.code(0);
    assert_ne!(fresh.stdout.trim_end(), token);
    assert_eq!(fake.token_requests(), requests + 1);
}

#[cfg(target_os = "linux")]
#[test]
fn token_is_not_reused_when_close_to_expiry() {
    require_keyring();
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .expires_in(30)
        .start();
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("expiring");
    env.init_cmd(&profile).run().code(0);
    let before = fake.token_requests();
    env.cmd(&["token", "--profile", &profile]).run().code(0);
    env.cmd(&["token", "--profile", &profile]).run().code(0);
    assert_eq!(
        fake.token_requests(),
        before + 2,
        "a token with <60 s left is not reused"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_token_cached_from_one_server_is_not_given_out_for_another() {
    let profile = unique_profile("two-servers");
    let (first, env) = with_profiles(&[&profile]);
    let from_first = env.cmd(&["token", "--profile", &profile]).run();
    from_first.code(0);

    let second = FakeServiceTitan::start(Credentials::demo());
    let from_second = env
        .cmd(&["token", "--profile", &profile])
        .env("ST_AUTH_URL", &second.auth_url())
        .run();
    from_second.code(0);
    assert_eq!(second.token_requests(), 1, "the second server was asked");
    assert!(
        second
            .issued_tokens()
            .contains(&from_second.stdout.trim_end().to_string())
    );
    assert!(
        first
            .issued_tokens()
            .contains(&from_first.stdout.trim_end().to_string())
    );
    secret_tool_clear("st-setup", &profile);
    secret_tool_clear("st-setup-token-cache", &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn exec_passes_values_and_exit_code_but_not_the_secret() {
    let profile = unique_profile("exec");
    let (fake, env) = with_profiles(&[&profile]);
    let script = "echo \"tenant=$ST_TENANT_ID key=$ST_APP_KEY id=$ST_CLIENT_ID env=$ST_ENVIRONMENT \
                  api=$ST_API_URL token=${#ST_ACCESS_TOKEN} secret=${ST_CLIENT_SECRET:-none}\"; exit 42";
    let out = env
        .cmd(&["exec", "--profile", &profile, "--", "sh", "-c", script])
        .env("ST_CLIENT_SECRET", &env.creds.client_secret)
        .run();
    out.code(42)
        .stdout_has("tenant=8450")
        .stdout_has(&format!("key={}", env.creds.app_key))
        .stdout_has(&format!("id={}", env.creds.client_id))
        .stdout_has("env=integration")
        .stdout_has(&format!("api={}", fake.api_url()))
        .stdout_has("secret=none")
        .stdout_lacks("token=0 ");

    let out = env
        .cmd(&[
            "exec",
            "--profile",
            &profile,
            "--with-secret",
            "--",
            "sh",
            "-c",
            "echo \"${#ST_CLIENT_SECRET}\"",
        ])
        .allow_secret_on_stdout()
        .run();
    out.code(0)
        .stdout_has(&env.creds.client_secret.len().to_string());

    env.cmd(&[
        "exec",
        "--profile",
        &profile,
        "--",
        "no-such-command-st-setup",
    ])
    .run()
    .code(127)
    .stderr_has("could not run no-such-command-st-setup");
}

#[cfg(target_os = "linux")]
#[test]
fn exec_forwards_ctrl_c_to_the_command() {
    let profile = unique_profile("signal");
    let (_fake, env) = with_profiles(&[&profile]);
    let cmd = env.cmd(&[
        "exec",
        "--profile",
        &profile,
        "--",
        "sh",
        "-c",
        "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done",
    ]);
    let mut child = cmd
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // SIGINT to st-setup alone (not the process group): it must pass it on.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("got-int"), "{rest}");
    assert_eq!(child.wait().unwrap().code(), Some(7));
}

#[cfg(target_os = "linux")]
#[test]
fn list_and_show_say_where_values_come_from() {
    let profile = unique_profile("show");
    let (_fake, env) = with_profiles(&[&profile]);
    env.cmd(&["list"])
        .run()
        .code(0)
        .stdout_has(&profile)
        .stdout_has("integration")
        .stdout_has("OS keyring");
    let list = env.cmd(&["list", "--json"]).run();
    let json = list.json();
    assert_eq!(json[0]["profile"], profile.as_str());
    assert_eq!(json[0]["secret_storage"], "keyring");

    let out = env
        .cmd(&["show", "--profile", &profile])
        .env("ST_TENANT_ID", "1234")
        .run();
    out.code(0)
        .stdout_has("env ST_TENANT_ID")
        .stdout_has("1234")
        .stdout_has("set (never shown)")
        .stdout_lacks(&env.creds.app_key)
        .stdout_lacks(&env.creds.client_id);
    let json = env
        .cmd(&["show", "--profile", &profile, "--json"])
        .run()
        .json();
    assert_eq!(json["tenant_id"]["source"], "config");
    assert_eq!(json["client_secret"]["source"], "keyring");
    assert_eq!(json["profile"]["source"], "flag");
    assert!(json["app_key"]["value"].as_str().unwrap().contains("****"));
    let json = env
        .cmd(&["show", "--json"])
        .env("ST_PROFILE", &profile)
        .run()
        .json();
    assert_eq!(json["profile"]["source"], "env");
}

#[cfg(target_os = "linux")]
#[test]
fn export_formats_and_secret_opt_in() {
    let profile = unique_profile("export");
    let (_fake, env) = with_profiles(&[&profile]);
    env.cmd(&["export", "--profile", &profile])
        .run()
        .code(0)
        .stdout_has("export ST_TENANT_ID='8450'")
        .stdout_has("export ST_ENVIRONMENT='integration'")
        .stdout_lacks("ST_CLIENT_SECRET");
    env.cmd(&["export", "--profile", &profile, "--format", "dotenv"])
        .run()
        .code(0)
        .stdout_has(&format!("ST_CLIENT_ID={}", env.creds.client_id));
    let json = env
        .cmd(&["export", "--profile", &profile, "--json"])
        .run()
        .json();
    assert_eq!(json["tenant_id"], "8450");
    assert!(json.get("client_secret").is_none());
    let out = env
        .cmd(&[
            "export",
            "--profile",
            &profile,
            "--format",
            "json",
            "--include-secret",
        ])
        .allow_secret_on_stdout()
        .run();
    out.code(0)
        .stderr_has("includes the Client Secret in plain text");
    assert_eq!(
        out.json()["client_secret"],
        env.creds.client_secret.as_str()
    );
    assert!(!out.stderr.contains(&env.creds.client_secret));
}

#[test]
fn export_carries_urls_into_a_shell_only_when_they_are_overrides() {
    let env = TestEnv::new();
    let values: Vec<&str> = ["export", "--environment", "integration"]
        .into_iter()
        .chain(VALUE_FLAGS)
        .collect();
    // Defaults: evaluated in a shell they would pin later runs to integration.
    env.cmd(&values)
        .run()
        .code(0)
        .stdout_has("export ST_ENVIRONMENT='integration'")
        .stdout_lacks("ST_AUTH_URL")
        .stdout_lacks("ST_API_URL");
    let json = env.cmd(&values).arg("--json").run().json();
    assert_eq!(
        json["api_base_url"], "https://api-integration.servicetitan.io",
        "{json}"
    );
    // An override in effect is part of what the next tool needs.
    env.cmd(&values)
        .env("ST_API_URL", "https://gateway.example.com/st")
        .run()
        .code(0)
        .stdout_has("export ST_API_URL='https://gateway.example.com/st'")
        .stdout_lacks("ST_AUTH_URL");
}

#[cfg(target_os = "linux")]
#[test]
fn remove_deletes_profile_and_secret_and_a_second_time_is_exit_7() {
    let profile = unique_profile("remove");
    let (_fake, env) = with_profiles(&[&profile]);
    env.cmd(&["token", "--profile", &profile]).run().code(0);
    env.cmd(&["remove", "--profile", &profile])
        .run()
        .code(2)
        .stderr_has("--yes");
    assert!(
        secret_tool_lookup("st-setup", &profile).is_some(),
        "unchanged without --yes"
    );
    env.cmd(&["remove", "--profile", &profile, "--yes"])
        .run()
        .code(0);
    assert!(!env.config_text().unwrap().contains(&profile));
    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
    assert_eq!(secret_tool_lookup("st-setup-token-cache", &profile), None);
    env.cmd(&["remove", "--profile", &profile, "--yes"])
        .run()
        .code(7)
        .stderr_has("not configured");
}

#[cfg(target_os = "linux")]
#[test]
fn secret_from_stdin_first_line() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("stdin");
    let args = env.init_args(&profile);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.cmd(&args)
        .arg("--client-secret-stdin")
        .stdin(format!(
            "{}\nsecond line ignored\n",
            env.creds.client_secret
        ))
        .run()
        .code(0);
    assert_keyring_holds(&profile, &env.creds.client_secret);
    crate::util::cmd::secret_tool_clear("st-setup", &profile);
}

#[cfg(target_os = "linux")]
#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let profile = unique_profile("bad");
    let (_fake, env) = with_profiles(&[&profile]);
    let config_before = env.config_text().unwrap();
    let args = env.init_args(&profile);
    let init: Vec<&str> = args.iter().map(String::as_str).collect();

    let cases: Vec<(Vec<&str>, Option<&str>, i32, &str)> = vec![
        (
            vec!["check", "--profile", "nope"],
            None,
            7,
            "profile \"nope\" is not configured",
        ),
        (
            vec!["token", "--profile", "nope"],
            None,
            7,
            "st-setup init --profile nope",
        ),
        (vec!["show", "--profile", "nope"], None, 7, "not configured"),
        (
            vec!["check", "--environment", "staging"],
            None,
            2,
            "invalid value 'staging'",
        ),
        (
            vec!["check", "--profile", "a/b"],
            None,
            2,
            "profile name may only use",
        ),
        (init.clone(), Some(""), 2, "standard input was closed"),
        (
            init.clone(),
            Some("\n"),
            2,
            "first line of standard input is empty",
        ),
    ];
    for (mut args, stdin, code, message) in cases {
        let mut cmd = if let Some(input) = stdin {
            args.push("--client-secret-stdin");
            env.cmd(&args).stdin(input)
        } else {
            env.cmd(&args)
        };
        cmd = cmd.env_remove("ST_CLIENT_SECRET");
        cmd.run().code(code).stderr_has(message);
        assert_eq!(
            env.config_text().unwrap(),
            config_before,
            "{args:?} changed the config"
        );
    }
    let out = env
        .cmd(&init)
        .args_override("--tenant", "abc")
        .env("ST_CLIENT_SECRET", &env.creds.client_secret)
        .run();
    out.code(2).stderr_has("Tenant ID must be digits only");
    assert_eq!(env.config_text().unwrap(), config_before);
    assert_keyring_holds(&profile, &env.creds.client_secret);
}

#[cfg(target_os = "linux")]
#[test]
fn a_malformed_config_is_reported_with_its_line_and_never_overwritten() {
    let profile = unique_profile("corrupt");
    let (_fake, env) = with_profiles(&[]);
    let broken = "[profiles.x]\nenvironment = \"production\"\ntenant_id = \"8450\n";
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(env.config_path(), broken).unwrap();
    let args = env.init_args(&profile);
    let init: Vec<&str> = args.iter().map(String::as_str).collect();
    for args in [
        init.clone(),
        vec!["check"],
        vec!["check", "--all"],
        vec!["list"],
        vec!["show", "--profile", "x"],
        vec!["token", "--profile", "x"],
        vec!["remove", "--profile", "x", "--yes"],
        vec!["export", "--profile", "x"],
        vec!["exec", "--profile", "x", "--", "true"],
    ] {
        env.cmd(&args)
            .env("ST_CLIENT_SECRET", &env.creds.client_secret)
            .run()
            .code(6)
            .stderr_has("config.toml, line 3")
            .stderr_has("left unchanged");
        assert_eq!(
            std::fs::read_to_string(env.config_path()).unwrap(),
            broken,
            "{args:?}"
        );
    }
    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
}

#[cfg(target_os = "linux")]
#[test]
fn a_check_that_passes_marks_a_profile_saved_unverified_as_verified() {
    let profile = unique_profile("later");
    let (_fake, env) = with_profiles(&[]);
    env.init_cmd(&profile).arg("--no-verify").run().code(0);
    let verified = || {
        let list = env.cmd(&["list", "--json"]).run();
        list.code(0);
        list.json()[0]["verified"].clone()
    };
    assert_eq!(verified(), false);

    // Values that are not the stored ones prove nothing about the stored ones.
    env.cmd(&[
        "check",
        "--profile",
        &profile,
        "--tenant",
        &env.creds.tenant_id,
    ])
    .run()
    .code(0);
    assert_eq!(verified(), false);
    // Neither does another server.
    let other = FakeServiceTitan::start(Credentials::demo());
    env.cmd(&["check", "--profile", &profile])
        .env("ST_AUTH_URL", &other.auth_url())
        .env("ST_API_URL", &other.api_url())
        .run()
        .code(0);
    assert_eq!(verified(), false);

    env.cmd(&["check", "--profile", &profile]).run().code(0);
    assert_eq!(verified(), true);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    let env = TestEnv::new();
    let export: Vec<&str> = ["export"].into_iter().chain(VALUE_FLAGS).collect();
    for args in [
        export,
        vec!["list", "--json"],
        vec!["completions", "bash"],
        vec!["man"],
        vec![],
    ] {
        let mut command = env.cmd(&args).command();
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        // Like `st-setup ... | true`: the reader is gone before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn check_all_ignores_ci_variables_but_refuses_value_flags() {
    let names: Vec<String> = (0..2).map(|i| unique_profile(&format!("ci{i}"))).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (_fake, env) = with_profiles(&refs);
    let out = env
        .cmd(&["check", "--all", "--json"])
        .env("ST_PROFILE", "someone-else")
        .env("ST_ENVIRONMENT", "production")
        .env("ST_TENANT_ID", "1")
        .env("ST_APP_KEY", "ak1.notthisoneeither000000000")
        .env("ST_CLIENT_ID", "cid.notthisoneeither00000000")
        .run();
    out.code(0);
    assert_eq!(out.json().as_array().map(Vec::len), Some(2), "{out}");
    env.cmd(&["check", "--all", "--tenant", "1"])
        .run()
        .code(2)
        .stderr_has("--tenant cannot be used with --all");
    for name in &names {
        secret_tool_clear("st-setup", name);
    }
}

#[test]
fn a_credential_is_never_taken_as_a_profile_name() {
    let env = TestEnv::new();
    // The demo Client Secret: the harness fails the test if it is printed.
    let secret = env.creds.client_secret.clone();
    for args in [
        vec!["init", "--non-interactive", "--profile", &secret],
        vec!["show", "--profile", &secret],
        vec!["remove", "--profile", &secret, "--yes"],
    ] {
        env.cmd(&args)
            .env("ST_CLIENT_SECRET", &secret)
            .run()
            .code(2)
            .stderr_has("looks like a Client Secret, not a profile name");
    }
    assert!(env.config_text().is_none());
}

#[test]
fn a_secret_typed_in_the_wrong_place_is_not_echoed_by_the_parser() {
    let env = TestEnv::new();
    let secret = env.creds.client_secret.clone();
    let as_value = format!("--client-secret-stdin={secret}");
    for args in [
        vec!["init", as_value.as_str()],
        vec!["init", "--non-interactive", secret.as_str()],
        vec!["check", "--tenant", "8450", secret.as_str()],
    ] {
        env.cmd(&args).run().code(2).stderr_has("[REDACTED]");
    }
}

#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let env = TestEnv::new();
    env.cmd(&["check"])
        .env("ST_ENVIRONMENT", "staging")
        .run()
        .code(2)
        .stderr_has("'staging'")
        .stderr_has("ST_ENVIRONMENT");
    env.cmd(&["list"])
        .env("ST_TIMEOUT", "soon")
        .run()
        .code(2)
        .stderr_has("ST_TIMEOUT");
    // Given as a flag, the flag is what is wrong.
    env.cmd(&["check", "--environment", "staging"])
        .run()
        .code(2)
        .stderr_lacks("ST_ENVIRONMENT;");
}

#[test]
fn json_output_is_a_document_even_when_the_command_fails_early() {
    let env = TestEnv::new();
    for (args, code) in [
        (vec!["check", "--json", "--profile", "nobody"], 7),
        (vec!["show", "--json", "--profile", "nobody"], 7),
        (vec!["check", "--all", "--json"], 7),
    ] {
        let out = env.cmd(&args).run();
        out.code(code);
        let json = out.json();
        assert_eq!(json["ok"], false, "{out}");
        assert_eq!(json["exit_code"], code, "{out}");
        assert!(
            json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{out}"
        );
    }
    // Refused command lines too: clap's errors, and a secret on the command line.
    let secret = env.creds.client_secret.clone();
    for (args, code) in [
        (vec!["check", "--json", "--timeout"], 2),
        (vec!["check", "--json", "--timeout", "soon"], 2),
        (vec!["list", "--json", "--no-such-flag"], 2),
        (vec!["check", "--json", "--client-secret", &secret], 2),
        (vec!["export", "--format", "json", "--profile", "nobody"], 7),
        (vec!["export", "--format=json", "--profile"], 2),
    ] {
        let out = env.cmd(&args).run();
        out.code(code);
        let json = out.json();
        assert_eq!(json["ok"], false, "{out}");
        assert_eq!(json["exit_code"], code, "{out}");
        let error = json["error"].as_str().unwrap_or_default();
        assert!(!error.is_empty() && !error.starts_with("error:"), "{out}");
    }
    // Without --json, stdout stays empty; after `--`, --json is the command's.
    for args in [
        vec!["check", "--timeout"],
        vec!["exec", "--timeout", "soon", "--", "x", "--json"],
    ] {
        let out = env.cmd(&args).run();
        out.code(2);
        assert_eq!(out.stdout, "", "{out}");
    }
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(env.config_path(), "[profiles\n").unwrap();
    let out = env.cmd(&["list", "--json"]).run();
    out.code(6);
    assert_eq!(out.json()["exit_code"], 6, "{out}");
}

#[test]
fn a_client_secret_in_the_wrong_variable_is_not_echoed_by_the_refusal() {
    let env = TestEnv::new();
    let secret = env.creds.client_secret.clone();
    // clap repeats a refused value; every run here fails if the secret shows.
    for (command, var) in [
        ("check", "ST_ENVIRONMENT"),
        ("list", "ST_TIMEOUT"),
        ("list", "ST_KEYRING_TIMEOUT"),
        ("init", "ST_STORAGE"),
    ] {
        for value in [secret.clone(), format!(" '{secret}'\n")] {
            env.cmd(&[command])
                .env(var, &value)
                .run()
                .code(2)
                .stderr_has(var)
                .stderr_has("[REDACTED]");
        }
    }
    // Inside a longer value, as a flag name, in a list: hidden all the same.
    for args in [
        vec!["check".to_string(), format!("--environment=x,{secret}")],
        vec!["check".to_string(), format!("--{secret}")],
        vec!["list".to_string(), format!("--timeout={secret}s")],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.cmd(&args).run().code(2).stderr_has("[REDACTED]");
    }
    env.cmd(&["check"])
        .env("ST_ENVIRONMENT", &format!("x {secret}"))
        .run()
        .code(2)
        .stderr_has("ST_ENVIRONMENT");
    // `--with-secret` takes no value: a secret after it is not run as the command.
    env.cmd(&["exec", "--with-secret", &secret, "--", "true"])
        .run()
        .code(2)
        .stderr_has("the command to run looks like a Client Secret")
        .stderr_has("--with-secret takes no value");
    // Whatever its shape, the value of ST_CLIENT_SECRET is never repeated.
    let odd = "not-a-usual-secret-shape-0123";
    env.cmd(&["check"])
        .env("ST_CLIENT_SECRET", odd)
        .env("ST_ENVIRONMENT", odd)
        .forbid(odd)
        .run()
        .code(2)
        .stderr_has("ST_ENVIRONMENT");
}

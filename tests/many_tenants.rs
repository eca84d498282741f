//! One app, many tenants: `import` from CSV and JSON Lines (validated first,
//! verified concurrently, stored together), `--jobs` as the server sees it,
//! the `--match` / `--environment` filters of `check --all`, `list` and
//! `remove`, `init --app-key-from`, and the wizard's "another tenant" loop.
//! Real binary, real gnome-keyring, fakes on 127.0.0.1.

use std::time::Duration;

use crate::util::cmd::{
    TestEnv, assert_keyring_holds, require_keyring, secret_tool_clear, secret_tool_lookup,
    unique_profile,
};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};

/// A fake that accepts `n` tenants' clients (all for its tenant 8450), and
/// their secrets: client `i` is `cid.tenant...{i}` / `cs1.secret...{i}`.
fn fake_with_clients(n: usize, latency: Duration) -> (FakeServiceTitan, Vec<(String, String)>) {
    let clients: Vec<(String, String)> = (0..n)
        .map(|i| {
            (
                format!("cid.tenantclientid{i:011}"),
                format!("cs1.tenantclientsecret{i:028}abcdefghijklmnop"),
            )
        })
        .collect();
    let builder = clients.iter().fold(
        FakeServiceTitan::builder(Credentials::demo()).latency(latency),
        |b, (id, secret)| b.client(id, secret, None),
    );
    (builder.start(), clients)
}

fn env_for(fake: &FakeServiceTitan, clients: &[(String, String)]) -> TestEnv {
    let mut env = TestEnv::with_fake(fake);
    for (_, secret) in clients {
        env.forbid(secret);
    }
    env
}

fn csv(rows: &[[&str; 6]]) -> String {
    let mut text = "profile,environment,tenant_id,app_key,client_id,client_secret\n".to_string();
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

/// A valid integration row of tenant 8450 for `profile` with `client`'s Client ID and Secret.
fn good_row<'a>(profile: &'a str, app_key: &'a str, client: &'a (String, String)) -> [&'a str; 6] {
    [
        profile,
        "integration",
        "8450",
        app_key,
        &client.0,
        &client.1,
    ]
}

fn write(env: &TestEnv, name: &str, text: &str) -> String {
    let path = env.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn cleanup(profiles: &[String]) {
    for p in profiles {
        secret_tool_clear("st-setup", p);
    }
}

#[test]
fn import_csv_verifies_and_stores_every_row() {
    require_keyring();
    let (fake, clients) = fake_with_clients(3, Duration::ZERO);
    let env = env_for(&fake, &clients);
    let app_key = env.creds.app_key.clone();
    let names: Vec<String> = (0..3).map(|i| unique_profile(&format!("imp{i}"))).collect();
    let rows: Vec<[&str; 6]> = (0..3)
        .map(|i| good_row(&names[i], &app_key, &clients[i]))
        .collect();
    let file = write(&env, "tenants.csv", &csv(&rows));

    let out = env.cmd(&["import", &file]).run();
    out.code(0)
        .stdout_has(&format!("line 2 {} (tenant 8450, integration)", names[0]))
        .stdout_has("verified and stored")
        .stderr_has("3 rows: 3 ok, 0 not.")
        .stderr_has("holds Client Secrets in plain text: delete it now");
    for (name, (_, secret)) in names.iter().zip(&clients) {
        assert_keyring_holds(name, secret);
    }
    let config = env.config_text().unwrap();
    for name in &names {
        assert!(config.contains(&format!("[profiles.{name}]")), "{config}");
    }
    assert_eq!(fake.token_requests(), 3);
    assert_eq!(fake.probe_requests(), 3);
    cleanup(&names);
}

#[test]
fn import_json_lines_with_defaults_from_another_profile() {
    require_keyring();
    let (fake, clients) = fake_with_clients(2, Duration::ZERO);
    let env = env_for(&fake, &clients);
    let first = unique_profile("jl-first");
    env.init_cmd(&first).run().code(0); // integration, the demo App Key
    let names: Vec<String> = (0..2).map(|i| unique_profile(&format!("jl{i}"))).collect();
    let text: String = names
        .iter()
        .zip(&clients)
        .map(|(name, (id, secret))| {
            // No environment and no App Key: both from --app-key-from.
            format!(
                "{}\n",
                serde_json::json!({"profile": name, "tenant_id": 8450, "client_id": id,
                                   "client_secret": secret, "app_key": "", "environment": null})
            )
        })
        .collect();
    let file = write(&env, "tenants.jsonl", &text);

    let out = env
        .cmd(&["import", &file, "--app-key-from", &first, "--json"])
        .run();
    out.code(0);
    let rows = out.json();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    for row in rows.as_array().unwrap() {
        assert_eq!(row["ok"], true, "{row}");
        assert_eq!(row["exit_code"], 0);
        assert_eq!(row["tenant"], "8450");
    }
    let config = env.config_text().unwrap();
    assert_eq!(config.matches(&env.creds.app_key).count(), 3, "{config}");
    assert_eq!(config.matches("environment = \"integration\"").count(), 3);
    cleanup(&names);
    cleanup(&[first]);
}

#[test]
fn malformed_rows_are_all_named_by_line_and_nothing_is_stored() {
    require_keyring();
    let (fake, clients) = fake_with_clients(2, Duration::ZERO);
    let env = env_for(&fake, &clients);
    let good = unique_profile("good");
    let app_key = env.creds.app_key.clone();
    let text = csv(&[
        good_row(&good, &app_key, &clients[0]),
        [
            "bad name",
            "integration",
            "8450",
            &app_key,
            &clients[1].0,
            &clients[1].1,
        ],
        [
            "x2",
            "staging",
            "84x",
            &app_key,
            &clients[1].0,
            &clients[1].1,
        ],
        // A Client Secret pasted into the Client ID column: named, never shown.
        [
            "x3",
            "integration",
            "8450",
            &app_key,
            &clients[1].1,
            &clients[1].1,
        ],
        [
            &good,
            "integration",
            "8450",
            "",
            &clients[0].0,
            &clients[0].1,
        ],
    ]);
    let file = write(&env, "bad.csv", &text);
    let out = env.cmd(&["import", &file]).run();
    out.code(2)
        .stderr_has("the file has")
        .stderr_has("nothing was stored")
        .stderr_has("line 3: profile: a profile name may only use")
        .stderr_has("line 4: environment \"staging\" is not production or integration")
        .stderr_has("line 4: Tenant ID")
        .stderr_has("line 5: this looks like a Client Secret, not a Client ID")
        .stderr_has("line 6: profile")
        .stderr_has("is also on line 2")
        .stderr_has("line 6: app_key is empty: fill it in, or pass --app-key-from PROFILE");
    assert_eq!(fake.requests().len(), 0, "nothing verified");
    assert!(env.config_text().is_none());
    assert_eq!(secret_tool_lookup("st-setup", &good), None);

    // A header that is not the one asked for.
    let file = write(&env, "header.csv", "profile,tenant,app_key\nx,1,2\n");
    env.cmd(&["import", &file])
        .run()
        .code(2)
        .stderr_has("line 1: unknown column \"tenant\"")
        .stderr_has("line 1: the header lacks the column client_secret");
}

#[test]
fn a_refused_row_is_reported_and_the_others_are_stored() {
    require_keyring();
    let (fake, clients) = fake_with_clients(2, Duration::ZERO);
    let mut env = env_for(&fake, &clients);
    let wrong = "cs1.notthesecretatall000000000000000000000000000000000";
    env.forbid(wrong);
    let names = [unique_profile("ok-row"), unique_profile("refused-row")];
    let app_key = env.creds.app_key.clone();
    let file = write(
        &env,
        "mixed.csv",
        &csv(&[
            good_row(&names[0], &app_key, &clients[0]),
            [
                &names[1],
                "integration",
                "8450",
                &app_key,
                &clients[1].0,
                wrong,
            ],
        ]),
    );
    let out = env.cmd(&["import", &file]).run();
    out.code(3)
        .stdout_has("refused the Client ID / Client Secret")
        .stderr_has(&format!(
            "1 refused by the token endpoint (exit 3): {}",
            names[1]
        ));
    assert_keyring_holds(&names[0], &clients[0].1);
    assert_eq!(secret_tool_lookup("st-setup", &names[1]), None);
    assert!(!env.config_text().unwrap().contains(&names[1]));
    cleanup(&names);
}

#[test]
fn dry_run_verifies_and_stores_nothing_and_overwrite_is_needed_to_replace() {
    require_keyring();
    let (fake, clients) = fake_with_clients(1, Duration::ZERO);
    let env = env_for(&fake, &clients);
    let name = unique_profile("dry");
    let app_key = env.creds.app_key.clone();
    let file = write(
        &env,
        "one.csv",
        &csv(&[good_row(&name, &app_key, &clients[0])]),
    );
    env.cmd(&["import", &file, "--dry-run"])
        .run()
        .code(0)
        .stdout_has("verified (dry run: not stored)");
    assert_eq!(fake.token_requests(), 1);
    assert!(env.config_text().is_none());
    assert_eq!(secret_tool_lookup("st-setup", &name), None);

    env.cmd(&["import", &file, "--no-verify"])
        .run()
        .code(0)
        .stdout_has("stored unverified");
    assert_eq!(fake.token_requests(), 1, "--no-verify asks nothing");
    assert!(env.config_text().unwrap().contains("verified = false"));

    env.cmd(&["import", &file])
        .run()
        .code(2)
        .stdout_has("not stored: the profile exists (--overwrite replaces it)");
    env.cmd(&["import", &file, "--overwrite"])
        .run()
        .code(0)
        .stdout_has("verified and stored");
    assert!(env.config_text().unwrap().contains("verified = true"));
    cleanup(&[name]);
}

#[test]
fn an_empty_secret_without_a_terminal_is_refused_before_anything_happens() {
    let (fake, clients) = fake_with_clients(1, Duration::ZERO);
    let env = env_for(&fake, &clients);
    let app_key = env.creds.app_key.clone();
    let text = csv(&[[
        "nosecret",
        "integration",
        "8450",
        &app_key,
        &clients[0].0,
        "",
    ]]);
    env.cmd(&["import", "-"])
        .stdin(text)
        .run()
        .code(2)
        .stderr_has(
            "line 2: client_secret is empty, and without a terminal it cannot be asked for",
        );
    assert_eq!(fake.requests().len(), 0);
}

#[test]
fn jobs_caps_the_requests_the_server_sees_at_once() {
    require_keyring();
    let n = 12;
    let (fake, clients) = fake_with_clients(n, Duration::from_millis(150));
    let env = env_for(&fake, &clients);
    let app_key = env.creds.app_key.clone();
    let names: Vec<String> = (0..n)
        .map(|i| unique_profile(&format!("jobs{i}")))
        .collect();
    let rows: Vec<[&str; 6]> = (0..n)
        .map(|i| good_row(&names[i], &app_key, &clients[i]))
        .collect();
    let file = write(&env, "jobs.csv", &csv(&rows));
    env.cmd(&["import", &file, "--jobs", "3"]).run().code(0);
    assert!(
        fake.max_in_flight() <= 3,
        "{} at once",
        fake.max_in_flight()
    );
    assert!(fake.max_in_flight() >= 2, "rows are verified concurrently");

    let before = fake.requests().len();
    env.cmd(&["check", "--all"])
        .env("ST_JOBS", "4")
        .run()
        .code(0)
        .stderr_has(&format!("{n} profiles checked: {n} ok, 0 with problems."));
    assert_eq!(fake.requests().len() - before, 2 * n);
    assert!(
        fake.max_in_flight() <= 4,
        "{} at once",
        fake.max_in_flight()
    );
    cleanup(&names);
}

#[test]
fn check_list_and_remove_select_profiles_by_pattern_and_environment() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let tag = unique_profile("sel");
    let acme = [format!("acme-{tag}-1"), format!("acme-{tag}-2")];
    let other = format!("beta-{tag}");
    for name in acme.iter().chain([&other]) {
        env.init_cmd(name).run().code(0);
    }
    let prod = format!("acme-{tag}-prod");
    env.init_cmd(&prod)
        .args_override("--environment", "production")
        .run()
        .code(0);

    let pattern = format!("acme-{tag}-*");
    let json = env
        .cmd(&[
            "check",
            "--all",
            "--match",
            &pattern,
            "--environment",
            "integration",
            "--json",
        ])
        .run()
        .json();
    let checked: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["profile"].as_str().unwrap())
        .collect();
    assert_eq!(checked, vec![acme[0].as_str(), acme[1].as_str()]);

    let listed = env
        .cmd(&["list", "--match", &pattern, "--json"])
        .run()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    let listed = env
        .cmd(&["list", "--environment", "production", "--json"])
        .run()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    env.cmd(&["check", "--all", "--match", "nothing-*"])
        .run()
        .code(7)
        .stderr_has("no stored profile is selected by --match \"nothing-*\"");
    env.cmd(&["check", "--match", &pattern])
        .run()
        .code(2)
        .stderr_has("--match selects profiles for --all");

    env.cmd(&["remove", "--match", &pattern])
        .run()
        .code(2)
        .stderr_has("without confirmation");
    env.cmd(&["remove", "--match", &pattern, "--yes"])
        .run()
        .code(0)
        .stderr_has(&format!("Removed profile \"{}\"", acme[0]));
    for name in acme.iter().chain([&prod]) {
        assert_eq!(secret_tool_lookup("st-setup", name), None);
    }
    let config = env.config_text().unwrap();
    assert!(config.contains(&other), "{config}");
    for name in acme.iter().chain([&prod]) {
        assert!(!config.contains(name.as_str()), "{name} left in:\n{config}");
    }
    cleanup(&[other]);
}

#[test]
fn init_app_key_from_adds_another_tenant_of_the_same_app() {
    require_keyring();
    let (fake, clients) = fake_with_clients(1, Duration::ZERO);
    let env = env_for(&fake, &clients);
    let first = unique_profile("app");
    env.init_cmd(&first).run().code(0);
    let second = unique_profile("app-second");
    env.cmd(&[
        "init",
        "--non-interactive",
        "--profile",
        &second,
        "--app-key-from",
        &first,
        "--tenant",
        "8450",
        "--client-id",
        &clients[0].0,
    ])
    .env("ST_CLIENT_SECRET", &clients[0].1)
    .run()
    .code(0)
    .stderr_has("token issued by the integration token endpoint");
    let config = env.config_text().unwrap();
    assert_eq!(config.matches(&env.creds.app_key).count(), 2, "{config}");
    assert_keyring_holds(&second, &clients[0].1);
    env.cmd(&["init", "--non-interactive", "--app-key-from", "nosuch"])
        .run()
        .code(7)
        .stderr_has("--app-key-from nosuch: no such profile");
    cleanup(&[first, second]);
}

#[test]
fn an_existing_profile_is_left_alone_before_a_secret_is_asked_and_overwrite_keeps_its_scopes() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("kept");
    env.init_cmd(&profile)
        .arg("--require")
        .arg("stt")
        .run()
        .code(0);
    let app_key = env.creds.app_key.clone();
    // No secret in the file and no terminal: the row is skipped for its
    // profile first, so nobody is asked for a secret that would be thrown away.
    let no_secret = csv(&[[
        &profile,
        "integration",
        "8450",
        &app_key,
        &env.creds.client_id,
        "",
    ]]);
    env.cmd(&["import", "-"])
        .stdin(no_secret)
        .run()
        .code(2)
        .stdout_has("not stored: the profile exists (--overwrite replaces it)")
        .stderr_lacks("cannot be asked for");
    let with_secret = csv(&[[
        &profile,
        "integration",
        "8450",
        &app_key,
        &env.creds.client_id,
        &env.creds.client_secret,
    ]]);
    env.cmd(&["import", "-", "--overwrite"])
        .stdin(with_secret)
        .run()
        .code(0);
    let config = env.config_text().unwrap();
    assert!(config.contains("require = [\"stt\"]"), "{config}");
    secret_tool_clear("st-setup", &profile);
}

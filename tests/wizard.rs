//! Everything that happens at a terminal, driven through a real
//! pseudo-terminal as a person would: the init wizard (every prompt answered,
//! bad pastes refused or corrected, each repair path, the browser offer, a
//! storage change, Ctrl-C at a prompt and while waiting to save; the result checked
//! in the config file and, independently, in gnome-keyring), remove's
//! confirmation, and each SIGINT reaching exec's command exactly once.

use std::process::Command;

use rexpect::session::PtySession;

use crate::util::cmd::{
    OpenWatch, TestEnv, assert_keyring_holds, mode, require_keyring, secret_tool_clear,
    secret_tool_lookup, unique_profile,
};
use crate::util::environments::{TwoEnvironments, integration_creds};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan, Fault, Route};
use crate::util::terminal::{ANOTHER_TENANT, keys, rest_of_output, step};

fn spawn(env: &TestEnv, extra: &[&str]) -> PtySession {
    in_terminal(env.cmd(&[&["init", "--no-browser", "--color", "never"], extra].concat()))
}

/// Run `cmd` in a wide pseudo-terminal (tests/terminal_width.rs tries narrow ones).
fn in_terminal(cmd: crate::util::cmd::Cmd) -> PtySession {
    crate::util::terminal::in_terminal_sized(cmd, Some(crate::util::terminal::WIDE))
}

#[test]
fn a_person_completes_the_wizard_and_fixes_a_bad_paste() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let creds = env.creds.clone();
    let profile = unique_profile("wizard");
    let mut printed = String::new();

    let mut s = spawn(&env, &[]);

    step(&mut s, &mut printed, "Profile name");
    s.send_line(&profile).unwrap();
    step(&mut s, &mut printed, "Environment");
    keys(&mut s, "\x1b[B"); // down: integration
    keys(&mut s, "\r");

    step(&mut s, &mut printed, "Stage 1 of 2");
    step(
        &mut s,
        &mut printed,
        "Tenant will configure the credentials themselves",
    );
    step(
        &mut s,
        &mut printed,
        "https://developer.servicetitan.io/signin",
    );
    step(&mut s, &mut printed, "Application Key");
    s.send_line(&format!("  \"{}\"  ", creds.app_key)).unwrap();

    step(&mut s, &mut printed, "Stage 2 of 2");
    step(&mut s, &mut printed, "API Application Access");
    step(&mut s, &mut printed, "https://integration.servicetitan.com");
    step(&mut s, &mut printed, "Tenant ID");
    s.send_line(&creds.tenant_id).unwrap();

    step(&mut s, &mut printed, "Connect New App");
    step(&mut s, &mut printed, "Client ID");
    // The bad paste: the Client Secret lands in the Client ID prompt.
    s.send_line(&creds.client_secret).unwrap();
    step(
        &mut s,
        &mut printed,
        "looks like a Client Secret, not a Client ID",
    );
    // Refused outright (never "use anyway"), and asked again. From here on
    // the secret is only ever typed into the hidden prompt.
    let echoed_before = printed.len();
    step(&mut s, &mut printed, "never kept in a visible field");
    step(&mut s, &mut printed, "Client ID");
    s.send_line(&creds.client_id).unwrap();

    step(&mut s, &mut printed, "may not be shown again");
    step(&mut s, &mut printed, "Client Secret (hidden)");
    s.send_line(&creds.client_secret).unwrap();

    step(&mut s, &mut printed, "the API accepted the Application Key");
    step(&mut s, &mut printed, "Summary");
    step(&mut s, &mut printed, "Saved profile");
    printed.push_str(&rest_of_output(&mut s));

    // The bad paste into the visible Client ID prompt was echoed as it was
    // typed; st-setup took it off the screen and never printed it again.
    assert!(
        printed.contains("(hidden: it looks like a Client Secret)"),
        "{printed}"
    );
    assert!(
        !printed[echoed_before..].contains(creds.client_secret.as_str()),
        "the secret was printed after the bad paste:\n{printed}"
    );
    let last4 = &creds.client_secret[creds.client_secret.len() - 4..];
    assert!(
        printed.contains(&format!("Client Secret    ****{last4}")),
        "summary masks the secret:\n{printed}"
    );

    let config = env.config_text().expect("config written");
    assert!(
        config.contains(&format!("[profiles.{profile}]")),
        "{config}"
    );
    assert!(config.contains("environment = \"integration\""), "{config}");
    assert!(
        config.contains(&format!("app_key = \"{}\"", creds.app_key)),
        "{config}"
    );
    assert!(
        config.contains(&format!("client_id = \"{}\"", creds.client_id)),
        "{config}"
    );
    assert!(!config.contains(&creds.client_secret), "{config}");
    assert_eq!(mode(&env.config_path()), 0o600);
    assert_keyring_holds(&profile, &creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn a_client_secret_is_refused_in_every_visible_prompt_and_never_shown_again() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let creds = env.creds.clone();
    let profile = unique_profile("refused");
    let secret = creds.client_secret.as_str();
    let mut printed = String::new();
    let mut s = spawn(&env, &[]);

    // The secret pasted into each visible prompt in turn: refused outright
    // (no "use it anyway?"), taken off the screen, asked again, and never
    // printed again.
    paste_secret_then(
        &mut s,
        &mut printed,
        secret,
        "Profile name [default]: ",
        "looks like a Client Secret, not a profile name",
        &profile,
    );
    step(&mut s, &mut printed, "Environment");
    keys(&mut s, "\x1b[B"); // integration
    keys(&mut s, "\r");
    paste_secret_then(
        &mut s,
        &mut printed,
        secret,
        "Application Key: ",
        "looks like a Client Secret, not an Application Key",
        &creds.app_key,
    );
    paste_secret_then(
        &mut s,
        &mut printed,
        secret,
        "Tenant ID: ",
        "Tenant ID must be digits only, and this looks like a Client Secret",
        &creds.tenant_id,
    );
    paste_secret_then(
        &mut s,
        &mut printed,
        secret,
        "Client ID: ",
        "looks like a Client Secret, not a Client ID",
        &creds.client_id,
    );
    step(&mut s, &mut printed, "Client Secret (hidden)");
    let from = printed.len();
    s.send_line(secret).unwrap();
    step(&mut s, &mut printed, "Saved profile");
    printed.push_str(&rest_of_output(&mut s));
    assert!(!printed[from..].contains(secret), "{printed}");
    assert_eq!(
        printed
            .matches("(hidden: it looks like a Client Secret)")
            .count(),
        4,
        "{printed}"
    );

    let config = env.config_text().expect("config written");
    assert!(!config.contains(secret), "{config}");
    assert!(
        config.contains(&format!("[profiles.{profile}]")),
        "{config}"
    );
    assert!(
        config.contains(&format!("client_id = \"{}\"", creds.client_id)),
        "{config}"
    );
    assert_keyring_holds(&profile, secret);
    secret_tool_clear("st-setup", &profile);
}

/// Paste `secret` at `prompt`: it must be refused with `refusal`, asked again
/// without the secret being printed or offered to keep, and then `value` is typed.
fn paste_secret_then(
    s: &mut PtySession,
    printed: &mut String,
    secret: &str,
    prompt: &str,
    refusal: &str,
    value: &str,
) {
    step(s, printed, prompt);
    s.send_line(secret).unwrap();
    step(s, printed, refusal);
    let from = printed.len();
    step(s, printed, prompt);
    let after = &printed[from..];
    assert!(
        !after.contains(secret),
        "{prompt} printed the secret: {after}"
    );
    assert!(
        !after.contains("anyway"),
        "{prompt} offered to keep it: {after}"
    );
    s.send_line(value).unwrap();
}

#[test]
fn the_wizard_keeps_the_stored_secret_when_the_storage_changes() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let creds = env.creds.clone();
    let profile = unique_profile("restore");
    env.init_cmd(&profile).run().code(0);
    let secret_file = env.config_dir().join("secrets").join(&profile);

    // keyring -> file, then file -> keyring: the stored secret is offered
    // (read where it is now), kept with Enter, and moved.
    for storage in ["file", "keyring"] {
        let mut s = spawn(&env, &["--profile", &profile, "--storage", storage]);
        s.exp_string("exists: its current values are the defaults")
            .unwrap();
        s.exp_string("Environment").unwrap();
        keys(&mut s, "\r");
        for value in [&creds.app_key, &creds.tenant_id, &creds.client_id] {
            s.exp_string(value).unwrap();
            keys(&mut s, "\r");
        }
        s.exp_string("press Enter to keep the stored one")
            .unwrap_or_else(|e| {
                panic!("--storage {storage}: the stored secret was not offered: {e}")
            });
        s.send_line("").unwrap();
        s.exp_string("the API accepted the Application Key")
            .unwrap();
        let rest = rest_of_output(&mut s);
        assert!(rest.contains("Saved profile"), "{rest}");
        let in_file = std::fs::read_to_string(&secret_file).ok();
        let in_keyring = secret_tool_lookup("st-setup", &profile);
        if storage == "file" {
            assert!(rest.contains("stored in plain text file"), "{rest}");
            assert_eq!(
                in_file.as_deref().map(str::trim),
                Some(creds.client_secret.as_str())
            );
            assert_eq!(in_keyring, None, "the keyring copy is gone");
        } else {
            assert_eq!(in_file, None, "the file copy is gone");
            assert_keyring_holds(&profile, &creds.client_secret);
        }
        env.cmd(&["check", "--profile", &profile]).run().code(0);
    }
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn ctrl_c_while_the_wizard_waits_for_another_save_quits_with_nothing_saved() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("waiting");
    // Another run holds the config lock (`.config.lock`, flock): the wizard
    // waits for it before writing anything, and that wait can be cut short.
    let (lock, lock_path) = env.hold_config_lock();
    let opens = OpenWatch::new(&lock_path);

    let app_key = env.creds.app_key.clone();
    let mut s = spawn_at_secret(&env, &profile, &app_key);
    s.exp_string("Client Secret (hidden)").unwrap();
    s.send_line(&env.creds.client_secret).unwrap();
    s.exp_string("Summary").unwrap();
    // Wait until it is waiting for the lock (it has the lock file open).
    let mut waited = 0;
    while !opens.opened() {
        assert!(waited < 500, "init never opened the config lock");
        std::thread::sleep(std::time::Duration::from_millis(20));
        waited += 1;
    }
    s.send_control('c').unwrap();
    let rest = rest_of_output(&mut s);
    assert!(rest.contains("interrupted: nothing was saved"), "{rest}");
    assert!(!rest.contains("Saved profile"), "{rest}");
    ended_by_sigint(&mut s);
    drop(lock);
    assert_eq!(env.config_text(), None);
    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
}

#[test]
fn rerunning_init_offers_the_stored_values_and_keeps_the_secret() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let creds = env.creds.clone();
    let profile = unique_profile("rerun");
    env.init_cmd(&profile).run().code(0);

    let mut s = spawn(&env, &["--profile", &profile]);
    s.exp_string("exists: its current values are the defaults")
        .unwrap();
    s.exp_string("Environment").unwrap();
    keys(&mut s, "\r"); // keeps integration, the stored choice
    s.exp_string(&creds.app_key).unwrap(); // shown as the default
    keys(&mut s, "\r");
    s.exp_string(&creds.tenant_id).unwrap();
    keys(&mut s, "\r");
    s.exp_string(&creds.client_id).unwrap();
    keys(&mut s, "\r");
    s.exp_string("press Enter to keep the stored one").unwrap();
    s.send_line("").unwrap();
    s.exp_string("the API accepted the Application Key")
        .unwrap();
    let rest = rest_of_output(&mut s);
    assert!(rest.contains("Saved profile"), "{rest}");
    assert!(!rest.contains(&creds.client_secret), "{rest}");
    assert_keyring_holds(&profile, &creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn quitting_after_a_failed_check_stores_nothing() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let mut env = TestEnv::with_fake(&fake);
    let profile = unique_profile("quit");
    let wrong = "cs1.notthesecret000000000000000000000000000000000000";
    env.forbid(wrong);

    let mut s = spawn(
        &env,
        &[
            "--profile",
            &profile,
            "--environment",
            "integration",
            "--tenant",
            "8450",
            "--app-key",
            &env.creds.app_key,
            "--client-id",
            &env.creds.client_id,
        ],
    );
    s.exp_string("Client Secret (hidden)").unwrap();
    s.send_line(wrong).unwrap();
    s.exp_string("refused the Client ID / Client Secret")
        .unwrap();
    s.exp_string("What now?").unwrap();
    s.exp_string("Re-enter the Client Secret and try again")
        .unwrap();
    s.exp_string("Quit without saving").unwrap();
    // Quit is the last item: move up once from the first, wrapping around.
    keys(&mut s, "\x1b[A");
    keys(&mut s, "\r");
    let rest = rest_of_output(&mut s);
    assert!(rest.contains("nothing was saved"), "{rest}");
    assert!(!rest.contains(wrong));
    assert!(env.config_text().is_none());
    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
}

/// The program died by SIGINT (a shell reports 130, and stops a script).
#[track_caller]
fn ended_by_sigint(s: &mut PtySession) {
    match s.process().wait().unwrap() {
        rexpect::process::WaitStatus::Signaled(_, rexpect::process::Signal::SIGINT, _) => {}
        other => panic!("not ended by SIGINT: {other:?}"),
    }
}

#[test]
fn ctrl_c_in_the_wizard_dies_by_sigint_and_stores_nothing() {
    require_keyring();
    let env = TestEnv::new();
    let profile = unique_profile("ctrlc");
    // Once in a menu (raw mode), once at the hidden secret prompt (echo off).
    for at_secret in [false, true] {
        let mut s = if at_secret {
            spawn(
                &env,
                &[
                    "--profile",
                    &profile,
                    "--environment",
                    "production",
                    "--tenant",
                    "8450",
                    "--app-key",
                    &env.creds.app_key,
                    "--client-id",
                    &env.creds.client_id,
                ],
            )
        } else {
            spawn(&env, &["--profile", &profile])
        };
        s.exp_string(if at_secret {
            "Client Secret (hidden)"
        } else {
            "Environment"
        })
        .unwrap();
        s.send_control('c').unwrap();
        let rest = rest_of_output(&mut s);
        assert!(rest.contains("interrupted: nothing was saved"), "{rest}");
        ended_by_sigint(&mut s);
        assert!(env.config_text().is_none());
        assert_eq!(secret_tool_lookup("st-setup", &profile), None);
    }
}

/// In the "What now?" menu after a failed check, move to the choice that
/// contains `choice` and take it.
fn choose_repair(s: &mut PtySession, choice: &str) {
    let (menu, _) = s.exp_regex("Quit without saving").unwrap();
    // The menu's lines: "> First choice", "  Second choice", ...
    let items: Vec<&str> = menu
        .lines()
        .map(|l| l.trim_start_matches(['>', ' ']))
        .filter(|l| l.starts_with(char::is_uppercase))
        .collect();
    let at = items
        .iter()
        .position(|l| l.contains(choice))
        .unwrap_or_else(|| panic!("{choice:?} not offered: {items:?}"));
    for _ in 0..at {
        keys(s, "\x1b[B");
    }
    keys(s, "\r");
}

#[test]
fn remove_asks_before_deleting_in_a_terminal() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("confirm");
    env.init_cmd(&profile).run().code(0);

    let in_terminal = |answer: &str| {
        let mut s = in_terminal(env.cmd(&["remove", "--profile", &profile]));
        s.exp_string(&format!(
            "Remove profile \"{profile}\" (tenant 8450, integration)"
        ))
        .unwrap();
        keys(&mut s, answer);
        rest_of_output(&mut s)
    };
    let declined = in_terminal("n");
    assert!(declined.contains("Nothing was removed"), "{declined}");
    assert_keyring_holds(&profile, &env.creds.client_secret);

    let accepted = in_terminal("y");
    assert!(accepted.contains("Removed profile"), "{accepted}");
    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
    assert!(!env.config_text().unwrap().contains(&profile));
}

/// `init` with every value but the secret given, in a terminal.
fn spawn_at_secret(env: &TestEnv, profile: &str, app_key: &str) -> PtySession {
    spawn(
        env,
        &[
            "--profile",
            profile,
            "--environment",
            "integration",
            "--tenant",
            "8450",
            "--app-key",
            app_key,
            "--client-id",
            &env.creds.client_id,
        ],
    )
}

#[test]
fn after_a_failed_check_the_person_fixes_just_the_wrong_value_and_it_is_saved() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("reenter");
    let wrong_key = "ak1.notthisappkey0000000000000";
    let mut printed = String::new();

    let mut s = spawn_at_secret(&env, &profile, wrong_key);
    step(&mut s, &mut printed, "Client Secret (hidden)");
    s.send_line(&env.creds.client_secret).unwrap();
    step(&mut s, &mut printed, "the API rejected the Application Key");
    step(&mut s, &mut printed, "What now?");
    // The App Key is the suspect, so re-entering it is the first choice.
    step(
        &mut s,
        &mut printed,
        "Re-enter the Application Key and try again",
    );
    keys(&mut s, "\r");
    // Asked again with the rejected value as the default.
    step(
        &mut s,
        &mut printed,
        &format!("Application Key [{wrong_key}]: "),
    );
    s.send_line(&env.creds.app_key).unwrap();
    let from = printed.len();
    step(&mut s, &mut printed, "the API accepted the Application Key");
    // Just that value: nothing else was asked again before the new check.
    for other in ["Tenant ID [", "Client ID [", "Client Secret (hidden"] {
        assert!(
            !printed[from..].contains(other),
            "{other} asked again: {printed}"
        );
    }
    step(&mut s, &mut printed, "Saved profile");
    printed.push_str(&rest_of_output(&mut s));
    assert!(!printed.contains(&env.creds.client_secret), "{printed}");

    let config = env.config_text().expect("config written");
    assert!(
        config.contains(&format!("app_key = \"{}\"", env.creds.app_key)),
        "{config}"
    );
    assert!(config.contains("verified = true"), "{config}");
    assert_keyring_holds(&profile, &env.creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn save_anyway_stores_the_profile_unverified_with_a_warning() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("anyway");
    let wrong_key = "ak1.notthisappkey0000000000000";

    let mut s = spawn_at_secret(&env, &profile, wrong_key);
    s.exp_string("Client Secret (hidden)").unwrap();
    s.send_line(&env.creds.client_secret).unwrap();
    s.exp_string("What now?").unwrap();
    s.exp_string("Save anyway, unverified").unwrap();
    s.exp_string("Quit without saving").unwrap();
    // "Save anyway" is next to last: up twice from the first, wrapping around.
    keys(&mut s, "\x1b[A");
    keys(&mut s, "\x1b[A");
    keys(&mut s, "\r");
    let rest = rest_of_output(&mut s);
    assert!(rest.contains("UNVERIFIED"), "{rest}");
    assert!(rest.contains("(unverified)"), "{rest}");
    assert!(!rest.contains(&env.creds.client_secret), "{rest}");

    let config = env.config_text().expect("config written");
    assert!(config.contains("verified = false"), "{config}");
    assert!(config.contains(wrong_key), "{config}");
    let list = env.cmd(&["list", "--json"]).run();
    let rows = list.json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == profile.as_str())
        .unwrap_or_else(|| panic!("{profile} not listed: {rows}"));
    assert_eq!(row["verified"], false, "{row}");
    assert_keyring_holds(&profile, &env.creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn switching_environment_after_a_rejection_checks_again() {
    require_keyring();
    // A rejected Client ID / Secret may belong to the other environment: the
    // wizard offers to switch and checks again. (Both environments point at
    // the same fake here, through ST_AUTH_URL, so the secret stays wrong.)
    let fake = FakeServiceTitan::start(Credentials::demo());
    let mut env = TestEnv::with_fake(&fake);
    let profile = unique_profile("switch");
    let wrong = "cs1.notthesecret000000000000000000000000000000000000";
    env.forbid(wrong);

    let app_key = env.creds.app_key.clone();
    let mut s = spawn_at_secret(&env, &profile, &app_key);
    s.exp_string("Client Secret (hidden)").unwrap();
    s.send_line(wrong).unwrap();
    s.exp_string("What now?").unwrap();
    choose_repair(&mut s, "Switch to the production environment and try again");
    // Checked again, now as production: rejected again, so quit.
    s.exp_string("What now?").unwrap();
    s.exp_string("Switch to the integration environment")
        .unwrap();
    keys(&mut s, "\x1b[A");
    keys(&mut s, "\r");
    let rest = rest_of_output(&mut s);
    assert!(rest.contains("nothing was saved"), "{rest}");
    assert_eq!(fake.token_requests(), 2, "checked again after the switch");
    assert!(env.config_text().is_none());
}

#[test]
fn switching_environment_can_succeed_and_saves_the_other_environment() {
    require_keyring();
    // The first token request is refused the way the wrong environment's
    // token endpoint refuses (invalid_client); after the switch the same
    // values pass, and the profile is saved for the environment switched to.
    let fake = FakeServiceTitan::start(Credentials::demo());
    fake.push_fault(
        Route::Token,
        Fault::Status {
            status: 400,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"error":"invalid_client","error_description":"Invalid client credentials"}"#
                .to_vec(),
        },
    );
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("switched");
    let app_key = env.creds.app_key.clone();
    let mut s = spawn_at_secret(&env, &profile, &app_key); // integration
    s.exp_string("Client Secret (hidden)").unwrap();
    s.send_line(&env.creds.client_secret).unwrap();
    s.exp_string("refused the Client ID / Client Secret")
        .unwrap();
    s.exp_string("What now?").unwrap();
    choose_repair(&mut s, "Switch to the production environment and try again");
    s.exp_string("token issued by the production token endpoint")
        .unwrap();
    s.exp_string("Environment      production").unwrap(); // the summary
    let rest = rest_of_output(&mut s);
    assert!(rest.contains("Saved profile"), "{rest}");
    assert!(!rest.contains("(unverified)"), "{rest}");
    assert_eq!(fake.token_requests(), 2);

    let config = env.config_text().expect("config written");
    assert!(config.contains("environment = \"production\""), "{config}");
    assert!(config.contains("verified = true"), "{config}");
    assert_keyring_holds(&profile, &env.creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn the_wizard_opens_each_page_in_the_browser_when_asked() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("browser");
    // $BROWSER is a script that writes down what it was asked to open.
    let opened = env.dir.path().join("opened.txt");
    let browser = env.dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
            opened.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    // Integration: yes to both pages. Production: no to the Developer Portal,
    // yes to the tenant. Each time exactly the pages said yes to, in order,
    // and the tenant page of the chosen environment.
    for (environment, open_portal, open_tenant, expected) in [
        (
            "integration",
            true,
            true,
            "https://developer.servicetitan.io/signin\nhttps://integration.servicetitan.com\n",
        ),
        ("production", false, true, "https://go.servicetitan.com\n"),
    ] {
        let _ = std::fs::remove_file(&opened);
        let profile = format!("{profile}-{environment}");
        let mut s = in_terminal(
            env.cmd(&[
                "init",
                "--color",
                "never",
                "--profile",
                &profile,
                "--environment",
                environment,
            ])
            .env("BROWSER", &browser.to_string_lossy())
            .env_remove("DISPLAY"),
        );
        s.exp_string("Open the Developer Portal in your browser?")
            .unwrap();
        keys(&mut s, if open_portal { "y" } else { "n" });
        s.exp_string("Application Key: ").unwrap();
        s.send_line(&env.creds.app_key).unwrap();
        s.exp_string("Open your tenant's sign-in page in your browser?")
            .unwrap();
        keys(&mut s, if open_tenant { "y" } else { "n" });
        s.exp_string("Tenant ID: ").unwrap();
        s.send_line(&env.creds.tenant_id).unwrap();
        s.exp_string("Client ID: ").unwrap();
        s.send_line(&env.creds.client_id).unwrap();
        s.exp_string("Client Secret (hidden)").unwrap();
        s.send_line(&env.creds.client_secret).unwrap();
        let rest = rest_of_output(&mut s);
        assert!(rest.contains("Saved profile"), "{rest}");
        secret_tool_clear("st-setup", &profile);

        // The browser runs on its own: wait for its lines, then a little
        // longer for any it should not have written.
        let read = || std::fs::read_to_string(&opened).unwrap_or_default();
        for _ in 0..50 {
            if read().lines().count() >= expected.lines().count() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(read(), expected, "{environment}");
    }
}

#[test]
fn without_a_display_or_browser_the_wizard_only_prints_the_links() {
    require_keyring();
    let env = TestEnv::new();
    let profile = unique_profile("headless");
    let mut s = in_terminal(
        env.cmd(&["init", "--color", "never", "--profile", &profile])
            .env_remove("BROWSER")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY"),
    );
    s.exp_string("Environment").unwrap();
    keys(&mut s, "\r");
    s.exp_string("Link: https://developer.servicetitan.io/signin")
        .unwrap();
    // The next thing asked is the Application Key, not whether to open a browser.
    let (between, _) = s.exp_regex("Application Key").unwrap();
    assert!(!between.contains("browser"), "{between}");
    s.send_control('c').unwrap();
    rest_of_output(&mut s);
}

/// A program that counts, one by one, the SIGINTs delivered to it and how
/// each was sent (by the kernel, i.e. the terminal, or by a process). A shell's
/// `trap` or Python's handler would merge two that arrive close together and
/// so cannot see a doubled ^C; this one busy-waits until the first arrives, so
/// that it is running (not asleep) when a second one follows. Built with the
/// C compiler that links Rust programs.
const SIGINT_COUNTER: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static volatile sig_atomic_t kernel = 0, user = 0;
static void count(int sig, siginfo_t *info, void *context) {
    (void)sig; (void)context;
    if (info->si_code == SI_KERNEL) kernel++; else user++;
}
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
int main(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = count;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    printf("ready pgrp=%d\n", (int)getpgrp());
    fflush(stdout);
    double give_up = now() + 15;
    while (kernel + user == 0 && now() < give_up) {}
    /* Time for a second, forwarded copy to arrive. */
    double until = now() + 0.5;
    while (now() < until) {
        struct timespec t = {0, 10000000};
        nanosleep(&t, NULL);
    }
    printf("sigints=%d kernel=%d user=%d\n", kernel + user, kernel, user);
    return 0;
}
"#;

fn build_sigint_counter(dir: &std::path::Path) -> std::path::PathBuf {
    let source = dir.join("sigint-counter.c");
    let program = dir.join("sigint-counter");
    std::fs::write(&source, SIGINT_COUNTER).unwrap();
    let built = Command::new("cc")
        .arg("-o")
        .arg(&program)
        .arg(&source)
        .status()
        .expect("cc (the C compiler Rust links with)");
    assert!(built.success(), "could not build the SIGINT counter");
    program
}

/// Run `st-setup exec -- <counter>` in a terminal, interrupt it with `send`
/// (given the session and the process group st-setup leads there), and
/// return the counter's report.
fn sigints_seen_by_execs_command(how: &str, send: impl FnOnce(&mut PtySession, i32)) -> String {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let counter = build_sigint_counter(env.dir.path());
    let mut s = in_terminal(
        env.cmd(&["exec", "--", &counter.to_string_lossy()])
            .values_from_env(&env.creds),
    );
    let (_, ready) = s
        .exp_regex(r"ready pgrp=\d+")
        .unwrap_or_else(|e| panic!("{how}: the command did not start: {e}"));
    let pgrp: i32 = ready.trim_start_matches("ready pgrp=").parse().unwrap();
    // Its own session's group, never the test's.
    assert!(pgrp > 1 && pgrp as u32 != std::process::id(), "{ready}");
    send(&mut s, pgrp);
    let rest = rest_of_output(&mut s);
    rest.lines()
        .find(|l| l.contains("sigints="))
        .unwrap_or_else(|| panic!("{how}: no report from the command:\n{rest}"))
        .trim()
        .to_string()
}

#[test]
fn ctrl_c_at_a_terminal_reaches_execs_command_exactly_once() {
    // ^C typed at the terminal: the terminal signals the whole foreground
    // process group. A second, forwarded copy reads as "force quit" to many
    // programs.
    let report = sigints_seen_by_execs_command("^C at the terminal", |s, _| {
        s.send_control('c').unwrap();
    });
    assert_eq!(report, "sigints=1 kernel=1 user=0");
}

#[test]
fn a_sigint_sent_by_a_process_reaches_execs_command_exactly_once() {
    // SIGINT sent to st-setup alone (the pid that was started; with rexpect
    // it leads its own session, so that pid is also the process group), at
    // a terminal where st-setup and the command share the foreground group:
    // it must still reach the command, once.
    let report = sigints_seen_by_execs_command("kill -INT <pid>", |s, _| {
        s.process_mut()
            .signal(rexpect::process::Signal::SIGINT)
            .unwrap();
    });
    assert_eq!(report, "sigints=1 kernel=0 user=1");
    // SIGINT sent by a process to the whole process group (as timeout(1)
    // or a shell's job control do): once, too.
    let report = sigints_seen_by_execs_command("kill -INT -<pgrp>", |_, pgrp| {
        let sent = Command::new("kill")
            .args(["-INT", "--", &format!("-{pgrp}")])
            .status()
            .unwrap();
        assert!(sent.success());
    });
    assert_eq!(report, "sigints=1 kernel=0 user=1");
}

#[test]
fn credentials_of_the_other_environment_put_the_switch_first_and_say_why() {
    require_keyring();
    let fakes = TwoEnvironments::start();
    // Production values, but the person chose integration.
    let env = fakes.env(Credentials::demo());
    let profile = unique_profile("detected");
    let app_key = env.creds.app_key.clone();
    let mut printed = String::new();
    let mut s = spawn_at_secret(&env, &profile, &app_key); // integration
    step(&mut s, &mut printed, "Client Secret (hidden)");
    s.send_line(&env.creds.client_secret).unwrap();
    step(
        &mut s,
        &mut printed,
        "these credentials belong to the production environment; the profile says integration",
    );
    step(&mut s, &mut printed, "What now?");
    // The first choice, already highlighted: Enter takes it.
    step(
        &mut s,
        &mut printed,
        "> Switch to production and try again (its token endpoint accepted these credentials)",
    );
    keys(&mut s, "\r");
    step(
        &mut s,
        &mut printed,
        "token issued by the production token endpoint",
    );
    step(&mut s, &mut printed, "Saved profile");
    printed.push_str(&rest_of_output(&mut s));
    assert!(!printed.contains(&env.creds.client_secret), "{printed}");

    let config = env.config_text().expect("config written");
    assert!(config.contains("environment = \"production\""), "{config}");
    assert_eq!(fakes.integration.token_requests(), 1);
    assert_eq!(fakes.production.token_requests(), 2, "asked, then used");
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn not_sure_of_the_environment_the_wizard_finds_it_out_and_shows_cleaned_values() {
    require_keyring();
    let fakes = TwoEnvironments::start();
    let env = fakes.env(integration_creds());
    let creds = env.creds.clone();
    let profile = unique_profile("notsure");
    let mut printed = String::new();

    let mut s = spawn(&env, &["--profile", &profile]);
    step(&mut s, &mut printed, "Environment");
    step(&mut s, &mut printed, "find out from the credentials");
    keys(&mut s, "\x1b[B");
    keys(&mut s, "\x1b[B"); // down twice: not sure
    keys(&mut s, "\r");
    step(&mut s, &mut printed, "Application Key");
    s.send_line(&format!("  \"{}\"  ", creds.app_key)).unwrap();
    // The answer line shows the cleaned value, not the paste.
    step(
        &mut s,
        &mut printed,
        &format!("Application Key: {}\r\n", creds.app_key),
    );
    step(&mut s, &mut printed, "Stage 2 of 2: your tenant");
    step(&mut s, &mut printed, "https://go.servicetitan.com");
    step(&mut s, &mut printed, "https://integration.servicetitan.com");
    step(&mut s, &mut printed, "Tenant ID");
    s.send_line(&creds.tenant_id).unwrap();
    step(&mut s, &mut printed, "Client ID");
    s.send_line(&creds.client_id).unwrap();
    step(&mut s, &mut printed, "Client Secret (hidden)");
    s.send_line(&creds.client_secret).unwrap();
    step(
        &mut s,
        &mut printed,
        "these credentials belong to the integration environment",
    );
    step(&mut s, &mut printed, "Environment      integration"); // the summary
    step(
        &mut s,
        &mut printed,
        "Environment:   integration (found out from the credentials)",
    );
    printed.push_str(&rest_of_output(&mut s));
    assert!(!printed.contains(&creds.client_secret), "{printed}");

    let config = env.config_text().expect("config written");
    assert!(config.contains("environment = \"integration\""), "{config}");
    assert!(config.contains("verified = true"), "{config}");
    assert_eq!(fakes.production.token_requests(), 1, "asked first, refused");
    assert_eq!(fakes.integration.probe_requests(), 1);
    assert_keyring_holds(&profile, &creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

/// The pid of the only child of `parent` (st-setup under a shell).
fn only_child(parent: i32) -> i32 {
    for _ in 0..500 {
        let children =
            std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).unwrap();
        if let Some(child) = children.split_whitespace().next() {
            return child.parse().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{parent} started no child");
}

#[test]
fn a_script_that_runs_init_sees_the_signal_that_ended_it_and_a_working_terminal() {
    require_keyring();
    let env = TestEnv::new();
    // As a script would: init, then go on and say what it saw. Echo is
    // switched on first (rexpect starts with it off), so that the secret
    // prompt really changes the terminal.
    let script = r#"stty echo; echo "before: $(stty -g) shell=$$."; "$0" "$@"; echo "after: $? $(stty -g).""#;
    let in_script = |extra: &[&str]| {
        let args = [&["init", "--no-browser", "--color", "never"], extra].concat();
        in_terminal(env.cmd(&args).wrapped_in(&["bash", "-c", script]))
    };
    let at_secret = [
        "--profile",
        "scripted",
        "--environment",
        "production",
        "--tenant",
        "8450",
        "--app-key",
        "ak1.fakesandboxappkey00000001",
        "--client-id",
        "cid.fakesandboxclientid000001",
    ];
    // SIGTERM (a service manager, `kill`) and SIGHUP (the terminal went
    // away) while the secret prompt has echo off.
    for (signal, status) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let mut s = in_script(&at_secret);
        let (_, before) = s.exp_regex(r"before: \S+ shell=\d+\.").unwrap();
        let (terminal, shell) = before
            .trim_start_matches("before: ")
            .trim_end_matches('.')
            .split_once(" shell=")
            .unwrap();
        let shell: i32 = shell.parse().unwrap();
        s.exp_string("Client Secret (hidden)").unwrap();
        let st_setup = only_child(shell);
        // SAFETY: kill(2) of a pid this test started (through bash).
        assert_eq!(unsafe { libc::kill(st_setup, signal) }, 0);
        let rest = rest_of_output(&mut s);
        assert!(rest.contains("interrupted: nothing was saved"), "{rest}");
        // The shell saw the signal, and got its terminal back as it was.
        assert!(
            rest.contains(&format!("after: {status} {terminal}.")),
            "signal {signal}: the terminal was {terminal}: {rest}"
        );
    }
    // Ctrl-C at the secret prompt (the terminal signals the script too) and
    // in a menu (raw mode: a key, which st-setup passes on as the terminal
    // would): the script stops there.
    for extra in [&at_secret[..], &["--profile", "scripted"][..]] {
        let mut s = in_script(extra);
        s.exp_regex("Client Secret \\(hidden\\)|Environment")
            .unwrap();
        s.send_control('c').unwrap();
        let rest = rest_of_output(&mut s);
        assert!(rest.contains("interrupted: nothing was saved"), "{rest}");
        assert!(
            !rest.contains("after:"),
            "the script went on after ^C: {rest}"
        );
    }
    assert!(env.config_text().is_none());
}

#[test]
fn after_saving_the_wizard_connects_another_tenant_of_the_same_app() {
    require_keyring();
    let second = (
        "cid.secondtenantclient000001".to_string(),
        "cs1.secondtenantclientsecret0123456789abcdefghijklmnopq".to_string(),
    );
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .client(&second.0, &second.1, None)
        .start();
    let mut env = TestEnv::with_fake(&fake);
    env.forbid(&second.1);
    let first = unique_profile("first");
    let mut printed = String::new();
    let app_key = env.creds.app_key.clone();
    let mut s = spawn_at_secret(&env, &first, &app_key);
    step(&mut s, &mut printed, "Client Secret (hidden)");
    s.send_line(&env.creds.client_secret).unwrap();
    step(&mut s, &mut printed, "Saved profile");
    step(&mut s, &mut printed, ANOTHER_TENANT);
    keys(&mut s, "y");
    step(
        &mut s,
        &mut printed,
        "Another tenant of the same app (integration",
    );
    step(&mut s, &mut printed, "Tenant ID");
    s.send_line("8450").unwrap();
    // The profile name is suggested from the tenant.
    step(&mut s, &mut printed, "Profile name [tenant-8450]");
    let second_profile = unique_profile("second");
    s.send_line(&second_profile).unwrap();
    step(&mut s, &mut printed, "Client ID");
    s.send_line(&second.0).unwrap();
    step(&mut s, &mut printed, "Client Secret (hidden)");
    s.send_line(&second.1).unwrap();
    step(&mut s, &mut printed, "the API accepted the Application Key");
    step(
        &mut s,
        &mut printed,
        &format!("Saved profile \"{second_profile}\""),
    );
    printed.push_str(&rest_of_output(&mut s));
    // Nothing but those three was asked the second time.
    let from = printed.find("Another tenant of the same app").unwrap();
    for other in [
        "Application Key [",
        "your live ServiceTitan tenant",
        "Stage 1 of 2",
    ] {
        assert!(
            !printed[from..].contains(other),
            "{other} asked again:\n{printed}"
        );
    }
    assert!(!printed.contains(&second.1), "{printed}");
    assert_keyring_holds(&first, &env.creds.client_secret);
    assert_keyring_holds(&second_profile, &second.1);
    let config = env.config_text().unwrap();
    assert_eq!(config.matches(&app_key).count(), 2, "{config}");
    secret_tool_clear("st-setup", &first);
    secret_tool_clear("st-setup", &second_profile);
}

#[test]
fn import_asks_for_an_empty_secret_in_a_terminal() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("imported");
    let file = env.dir.path().join("tenants.csv");
    std::fs::write(
        &file,
        format!(
            "profile,environment,tenant_id,app_key,client_id,client_secret\n\
             {profile},integration,8450,{},{},\n",
            env.creds.app_key, env.creds.client_id
        ),
    )
    .unwrap();
    let mut printed = String::new();
    let mut s = in_terminal(env.cmd(&["import", &file.to_string_lossy(), "--color", "never"]));
    step(
        &mut s,
        &mut printed,
        &format!("Client Secret of profile \"{profile}\" (tenant 8450, line 2)"),
    );
    step(&mut s, &mut printed, "Client Secret (hidden)");
    s.send_line(&env.creds.client_secret).unwrap();
    step(&mut s, &mut printed, "verified and stored");
    printed.push_str(&rest_of_output(&mut s));
    assert!(!printed.contains(&env.creds.client_secret), "{printed}");
    // The file held no secret: no advice to delete it.
    assert!(!printed.contains("delete it now"), "{printed}");
    assert_keyring_holds(&profile, &env.creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

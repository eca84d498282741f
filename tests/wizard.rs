//! The interactive prompts (the init wizard, remove's confirmation), driven
//! through a real pseudo-terminal as a person
//! would: every prompt answered, one bad paste corrected, the result checked
//! in the config file and, independently, in gnome-keyring.

use std::process::Command;

use rexpect::session::{PtySession, spawn_command};

use crate::util::cmd::{
    TestEnv, assert_keyring_holds, mode, require_keyring, secret_tool_clear, secret_tool_lookup,
    unique_profile,
};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};

const TIMEOUT_MS: u64 = 20_000;

fn spawn(env: &TestEnv, extra: &[&str]) -> PtySession {
    let cmd = env.cmd(&[&["init", "--no-browser", "--color", "never"], extra].concat());
    let mut command: Command = cmd.command();
    command.env("TERM", "xterm");
    spawn_command(command, Some(TIMEOUT_MS)).expect("spawn in a pty")
}

/// Wait for `expect`, keeping everything printed on the way in `printed`.
fn step(s: &mut PtySession, printed: &mut String, expect: &str) {
    let (before, matched) = s
        .exp_regex(&regex_escape(expect))
        .unwrap_or_else(|e| panic!("waiting for {expect:?}: {e}\nprinted so far:\n{printed}"));
    printed.push_str(&before);
    printed.push_str(&matched);
}

/// Everything the session printed from now until it ends.
fn rest_of_output(session: &mut PtySession) -> String {
    session.exp_eof().unwrap_or_default()
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

#[test]
fn ctrl_c_in_the_wizard_exits_130_and_stores_nothing() {
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
        match s.process().wait().unwrap() {
            rexpect::process::WaitStatus::Exited(_, code) => assert_eq!(code, 130),
            other => panic!("unexpected end: {other:?}"),
        }
        assert!(env.config_text().is_none());
        assert_eq!(secret_tool_lookup("st-setup", &profile), None);
    }
}

/// Type keys that a prompt reads one at a time (rexpect buffers until flushed).
fn keys(s: &mut PtySession, text: &str) {
    s.send(text).unwrap();
    s.flush().unwrap();
}

fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[test]
fn remove_asks_before_deleting_in_a_terminal() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("confirm");
    env.init_cmd(&profile).run().code(0);

    let in_terminal = |answer: &str| {
        let mut command = env.cmd(&["remove", "--profile", &profile]).command();
        command.env("TERM", "xterm");
        let mut s = spawn_command(command, Some(TIMEOUT_MS)).expect("spawn in a pty");
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

//! Everything that happens at a terminal, driven through a real
//! pseudo-terminal as a person would: the init wizard (every prompt answered,
//! one bad paste corrected, each repair path, the browser offer; the result
//! checked in the config file and, independently, in gnome-keyring), remove's
//! confirmation, and ^C reaching exec's command once.

use std::process::Command;

use rexpect::session::{PtySession, spawn_command};

use crate::util::cmd::{
    TestEnv, assert_keyring_holds, mode, require_keyring, secret_tool_clear, secret_tool_lookup,
    unique_profile,
};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};

const TIMEOUT_MS: u64 = 20_000;

fn spawn(env: &TestEnv, extra: &[&str]) -> PtySession {
    in_terminal(env.cmd(&[&["init", "--no-browser", "--color", "never"], extra].concat()))
}

/// Run `cmd` in a pseudo-terminal.
fn in_terminal(cmd: crate::util::cmd::Cmd) -> PtySession {
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
    step(&mut s, &mut printed, "What now?");
    // The App Key is the suspect, so re-entering it is the first choice.
    step(
        &mut s,
        &mut printed,
        "Re-enter the Application Key and try again",
    );
    keys(&mut s, "\r");
    step(&mut s, &mut printed, "Application Key");
    s.send_line(&env.creds.app_key).unwrap();
    step(&mut s, &mut printed, "the API accepted the Application Key");
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
    let (menu, _) = s.exp_regex("Quit without saving").unwrap();
    // The menu's lines: "> First choice", "  Second choice", ...
    let items: Vec<&str> = menu
        .lines()
        .map(|l| l.trim_start_matches(['>', ' ']))
        .filter(|l| l.starts_with(char::is_uppercase))
        .collect();
    let switch = items
        .iter()
        .position(|l| l.contains("Switch to the production environment and try again"))
        .unwrap_or_else(|| panic!("no switch offered: {items:?}"));
    for _ in 0..switch {
        keys(&mut s, "\x1b[B");
    }
    keys(&mut s, "\r");
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

    let mut s = in_terminal(
        env.cmd(&[
            "init",
            "--color",
            "never",
            "--profile",
            &profile,
            "--environment",
            "integration",
        ])
        .env("BROWSER", &browser.to_string_lossy())
        .env_remove("DISPLAY"),
    );
    s.exp_string("Open the Developer Portal in your browser?")
        .unwrap();
    keys(&mut s, "\r"); // yes is the default
    s.exp_string("Application Key").unwrap();
    s.send_line(&env.creds.app_key).unwrap();
    s.exp_string("Open your tenant's sign-in page in your browser?")
        .unwrap();
    keys(&mut s, "n");
    s.exp_string("Tenant ID").unwrap();
    s.send_line(&env.creds.tenant_id).unwrap();
    s.exp_string("Client ID").unwrap();
    s.send_line(&env.creds.client_id).unwrap();
    s.exp_string("Client Secret (hidden)").unwrap();
    s.send_line(&env.creds.client_secret).unwrap();
    let rest = rest_of_output(&mut s);
    assert!(rest.contains("Saved profile"), "{rest}");

    // Only the page the person said yes to, and exactly that URL.
    let mut urls = String::new();
    for _ in 0..50 {
        urls = std::fs::read_to_string(&opened).unwrap_or_default();
        if !urls.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(urls, "https://developer.servicetitan.io/signin\n");
    secret_tool_clear("st-setup", &profile);
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

#[test]
fn ctrl_c_at_a_terminal_reaches_execs_command_once() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    // Counts the SIGINTs it gets for two seconds, then says how many.
    let script = "n=0; trap 'n=$((n+1))' INT; echo ready; i=0; \
                  while [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; echo \"sigints=$n\"";
    let mut s = in_terminal(
        env.cmd(&["exec", "--", "sh", "-c", script])
            .values_from_env(&env.creds),
    );
    s.exp_string("ready").unwrap();
    // ^C typed at the terminal: the terminal signals the whole foreground
    // process group, st-setup and its command alike.
    s.send_control('c').unwrap();
    let rest = rest_of_output(&mut s);
    assert!(rest.contains("sigints=1"), "{rest}");
}

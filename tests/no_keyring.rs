//! README's first command on a machine with no D-Bus session and no Secret
//! Service, at a terminal: right after the profile name, before any
//! credential is typed, the wizard says no keyring is reachable, prints the
//! commands that start one where it looks, and offers to check again, to
//! keep the secret in a plain-text 0600 file, or to quit. Without a terminal
//! `init` still stops with exit 6 and stores nothing (tests/storage.rs).

use rexpect::session::PtySession;

use crate::util::cmd::{TestEnv, mode};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};
use crate::util::locked_keyring::{PASSWORD, PrivateKeyring, Prompter};
use crate::util::terminal::{WIDE, in_terminal_sized, keys, rest_of_output, step};

/// `init` in a pseudo-terminal with no D-Bus session: no bus address, and a
/// runtime dir (`runtime`) whose `bus` socket does not exist.
fn wizard_without_dbus(env: &TestEnv, runtime: &std::path::Path) -> PtySession {
    let cmd = env
        .cmd(&["init", "--no-browser", "--color", "never"])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", runtime.to_str().unwrap());
    in_terminal_sized(cmd, Some(WIDE))
}

/// From the profile name to the menu, checking what it says on the way.
fn reach_the_menu(s: &mut PtySession, printed: &mut String, profile: &str, runtime: &str) {
    step(s, printed, "Profile name");
    s.send_line(profile).unwrap();
    step(s, printed, "No OS keyring is reachable");
    step(s, printed, "nothing has been typed");
    // The commands start a bus where st-setup looks for one, and a keyring on it.
    step(
        s,
        printed,
        &format!("dbus-daemon --session --address=unix:path={runtime}/bus --fork"),
    );
    step(
        s,
        printed,
        "gnome-keyring-daemon --unlock --components=secrets",
    );
    step(s, printed, "plain-text file instead");
    step(s, printed, "What now?");
    step(s, printed, "Quit (nothing is saved)");
}

/// The rest of the wizard, from the environment question to "Saved".
fn answer_the_rest(s: &mut PtySession, printed: &mut String, creds: &Credentials) {
    step(s, printed, "Environment");
    keys(s, "\x1b[B"); // integration
    keys(s, "\r");
    step(s, printed, "Application Key");
    s.send_line(&creds.app_key).unwrap();
    step(s, printed, "Tenant ID");
    s.send_line(&creds.tenant_id).unwrap();
    step(s, printed, "Client ID");
    s.send_line(&creds.client_id).unwrap();
    step(s, printed, "Client Secret (hidden)");
    s.send_line(&creds.client_secret).unwrap();
    step(s, printed, "Saved profile");
    printed.push_str(&rest_of_output(s));
}

#[test]
fn without_a_keyring_the_wizard_offers_the_plain_file_before_any_credential() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let creds = env.creds.clone();
    let runtime = tempfile::tempdir().unwrap();
    let mut printed = String::new();
    let mut s = wizard_without_dbus(&env, runtime.path());
    reach_the_menu(
        &mut s,
        &mut printed,
        "nokeyring",
        runtime.path().to_str().unwrap(),
    );
    // Not the default: the first item is "check again".
    keys(&mut s, "\x1b[B"); // the plain-text file
    keys(&mut s, "\r");
    answer_the_rest(&mut s, &mut printed, &creds);

    assert!(printed.contains("stored in plain text file"), "{printed}");
    assert!(!printed.contains(&creds.client_secret), "{printed}");
    let file = env.config_dir().join("secrets").join("nokeyring");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim_end(),
        creds.client_secret
    );
    let config = env.config_text().unwrap();
    assert!(config.contains("secret_storage = \"file\""), "{config}");
}

#[test]
fn without_a_keyring_the_wizard_checks_again_once_one_is_started() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let creds = env.creds.clone();
    let runtime = tempfile::tempdir().unwrap();
    let mut printed = String::new();
    let mut s = wizard_without_dbus(&env, runtime.path());
    reach_the_menu(
        &mut s,
        &mut printed,
        "started",
        runtime.path().to_str().unwrap(),
    );

    // "I started it, check again" before anything is running: the same menu again.
    keys(&mut s, "\r");
    step(&mut s, &mut printed, "No OS keyring is reachable");
    step(&mut s, &mut printed, "What now?");
    step(&mut s, &mut printed, "Quit (nothing is saved)");

    // Now a bus with gnome-keyring on it appears where st-setup looks: the
    // default socket, $XDG_RUNTIME_DIR/bus.
    let keyring = PrivateKeyring::start(Prompter::NoDisplay);
    let socket = keyring
        .address
        .strip_prefix("unix:path=")
        .and_then(|rest| rest.split(',').next())
        .expect("a unix:path= address");
    std::os::unix::fs::symlink(socket, runtime.path().join("bus")).unwrap();
    keys(&mut s, "\r"); // check again
    answer_the_rest(&mut s, &mut printed, &creds);

    assert!(printed.contains("OS keyring (service"), "{printed}");
    assert!(!printed.contains(&creds.client_secret), "{printed}");
    assert_eq!(
        keyring.lookup_secret("st-setup", "started").as_deref(),
        Some(creds.client_secret.as_str())
    );
    assert!(!env.config_dir().join("secrets").exists());
}

#[test]
fn without_a_keyring_quitting_the_wizard_saves_nothing() {
    let env = TestEnv::new();
    let runtime = tempfile::tempdir().unwrap();
    let mut printed = String::new();
    let mut s = wizard_without_dbus(&env, runtime.path());
    reach_the_menu(
        &mut s,
        &mut printed,
        "quitter",
        runtime.path().to_str().unwrap(),
    );
    keys(&mut s, "\x1b[B\x1b[B\r"); // quit
    printed.push_str(&rest_of_output(&mut s));
    assert!(
        printed.contains("could not read from the OS keyring"),
        "{printed}"
    );
    assert!(env.config_text().is_none());
    assert!(!env.config_dir().join("secrets").exists());
}

#[test]
fn with_a_locked_keyring_the_wizard_says_so_and_checks_again_once_unlocked() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let keyring = PrivateKeyring::start(Prompter::NoDisplay);
    let mut env = TestEnv::with_fake(&fake);
    env.set_env("DBUS_SESSION_BUS_ADDRESS", &keyring.address);
    env.forbid(PASSWORD);
    let creds = env.creds.clone();
    env.init_cmd("kept").run().code(0);
    keyring.lock();

    let cmd = env.cmd(&[
        "init",
        "--no-browser",
        "--color",
        "never",
        "--profile",
        "kept",
    ]);
    let mut s = in_terminal_sized(cmd, Some(WIDE));
    let mut printed = String::new();
    // Its stored secret cannot be read: locked, and the way to unlock it.
    step(&mut s, &mut printed, "The OS keyring is locked");
    step(
        &mut s,
        &mut printed,
        "gnome-keyring-daemon --replace --unlock --components=secrets",
    );
    step(&mut s, &mut printed, "What now?");
    step(&mut s, &mut printed, "Quit (nothing is saved)");
    assert!(!printed.contains("dbus-daemon --session"), "{printed}");

    let unlock = "printf '%s' \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --replace --unlock --components=secrets";
    assert!(keyring.run_shell(unlock), "unlock failed{}", keyring.logs());
    keyring.wait_until_the_secret_service_is_back();
    keys(&mut s, "\r"); // check again: the stored values are the defaults now
    step(
        &mut s,
        &mut printed,
        "exists: its current values are the defaults",
    );
    step(&mut s, &mut printed, "Environment");
    keys(&mut s, "\r");
    for value in [&creds.app_key, &creds.tenant_id, &creds.client_id] {
        step(&mut s, &mut printed, value);
        keys(&mut s, "\r");
    }
    step(&mut s, &mut printed, "press Enter to keep the stored one");
    s.send_line("").unwrap();
    step(&mut s, &mut printed, "Saved profile");
    printed.push_str(&rest_of_output(&mut s));
    assert_eq!(
        keyring.lookup_secret("st-setup", "kept").as_deref(),
        Some(creds.client_secret.as_str())
    );
}

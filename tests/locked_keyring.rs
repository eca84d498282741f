//! A locked keyring, the way a headless machine has one: a real
//! gnome-keyring whose login collection holds the profile's secret but is
//! locked, with no desktop to show the password prompt on. `init`, `check`
//! and `token` end with exit 6 within the keyring timeout, say that the
//! keyring is locked and how to go on, and write nothing; the command they
//! print unlocks it. The keyring is a private one (tests/util/locked_keyring.rs),
//! never the shared keyring of scripts/test, which stays unlocked.
//!
//! Linux-only: gnome-keyring and dbus-daemon are installed by scripts/test.

use std::path::Path;
use std::time::Duration;

use crate::util::cmd::{Output, TestEnv};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};
use crate::util::locked_keyring::{
    PASSWORD, PrivateKeyring, Prompter, marked_processes, processes_in_group,
};

/// ST_KEYRING_TIMEOUT of these tests.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How much longer than the timeout a run may take (start-up, a loaded machine).
const MARGIN: Duration = Duration::from_secs(3);
/// What st-setup prints to unlock a gnome-keyring that runs but is locked.
const UNLOCK_COMMAND: &str = "printf '%s' \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --replace --unlock --components=secrets";

/// A world whose commands talk to `fake` and to `keyring`, with a 2 s
/// keyring timeout; the keyring's password must never be printed either.
fn env_on(fake: &FakeServiceTitan, keyring: &PrivateKeyring) -> TestEnv {
    let mut env = TestEnv::with_fake(fake);
    env.set_env("DBUS_SESSION_BUS_ADDRESS", &keyring.address);
    env.set_env("ST_KEYRING_TIMEOUT", &TIMEOUT.as_secs().to_string());
    env.forbid(PASSWORD);
    env
}

fn printed(out: &Output) -> String {
    format!("{}{}", out.stdout, out.stderr)
}

/// Exit 6, and a message (on stderr, or in `check`'s report on stdout) that
/// names the store and the bus it tried, says it is locked, and gives the
/// ways on, the first being the command that unlocks a running gnome-keyring.
#[track_caller]
fn assert_says_locked_and_how_to_go_on(out: &Output, keyring: &PrivateKeyring) {
    out.code(6);
    let printed = printed(out);
    for needle in [
        "OS keyring",
        &keyring.address,
        "locked",
        UNLOCK_COMMAND,
        "ST_CLIENT_SECRET",
        "--storage file",
    ] {
        assert!(
            printed.contains(needle),
            "no {needle:?} in the output\n{out}"
        );
    }
    out.within(TIMEOUT + MARGIN);
}

/// The command line st-setup printed to unlock the keyring.
fn printed_unlock_command(out: &Output) -> String {
    printed(out)
        .lines()
        .map(str::trim)
        .find(|line| line.contains("gnome-keyring-daemon --replace --unlock"))
        .unwrap_or_else(|| panic!("no unlock command in the output\n{out}"))
        .to_string()
}

/// Dropping the keyring ends every process it started, and reaps them.
#[track_caller]
fn assert_drop_ends_everything(keyring: PrivateKeyring, expected: &[&str]) {
    let group = keyring.process_group();
    let marker = keyring.marker();
    let members = keyring.group_members();
    for name in expected {
        assert!(
            members.iter().any(|m| m.contains(name)),
            "no {name} among the keyring's processes: {members:?}"
        );
    }
    drop(keyring);
    assert_eq!(
        processes_in_group(group),
        Vec::<String>::new(),
        "processes of the keyring left behind (was {members:?})"
    );
    assert_eq!(
        marked_processes(&marker),
        Vec::new(),
        "marked processes left behind"
    );
    assert!(
        !Path::new(&marker).exists(),
        "the keyring's temp dir is left"
    );
}

#[test]
fn a_locked_keyring_is_exit_6_at_once_and_the_command_it_prints_unlocks_it() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let keyring = PrivateKeyring::start(Prompter::NoDisplay);
    let env = env_on(&fake, &keyring);
    env.init_cmd("stored").run().code(0);
    assert_eq!(
        keyring.lookup_secret("st-setup", "stored").as_deref(),
        Some(env.creds.client_secret.as_str())
    );
    let config = env.config_text().unwrap();
    keyring.lock();

    let runs: Vec<Output> = [
        env.init_cmd("fresh").arg("--no-verify"),
        env.cmd(&["check", "--profile", "stored"]),
        env.cmd(&["token", "--profile", "stored"]),
        // Fails before removing anything, not after the config entry.
        env.cmd(&["remove", "--profile", "stored", "--yes"]),
    ]
    .into_iter()
    .map(|cmd| cmd.run())
    .collect();
    for out in &runs {
        assert_says_locked_and_how_to_go_on(out, &keyring);
        // The keyring answered (with a prompt that failed at once): no
        // waiting for the timeout, and not the advice for a missing or hung
        // Secret Service, which would start a second one.
        let printed = printed(out);
        assert!(!printed.contains("did not answer"), "{out}");
        assert!(!printed.contains("dbus-launch"), "{out}");
    }
    // st-setup did try to unlock it: gnome-keyring asked for a password prompt.
    assert!(
        keyring.logs().contains("org.gnome.keyring.SystemPrompter"),
        "no password prompt was asked for{}",
        keyring.logs()
    );
    // Nothing written, no quiet fallback to a file, and still locked.
    assert_eq!(env.config_text().unwrap(), config);
    assert!(!env.config_dir().join("secrets").exists());
    assert!(keyring.is_locked());

    // The way on it printed works: the keyring is unlocked, and it held
    // only what it held before.
    let unlock = printed_unlock_command(&runs[2]);
    assert!(
        keyring.run_shell(&unlock),
        "`{unlock}` failed{}",
        keyring.logs()
    );
    keyring.wait_until_the_secret_service_is_back();
    assert!(!keyring.is_locked(), "`{unlock}` left the keyring locked");
    assert_eq!(keyring.lookup_secret("st-setup", "fresh"), None);
    assert_eq!(
        keyring.lookup_secret("st-setup-token-cache", "stored"),
        None
    );
    env.cmd(&["check", "--profile", "stored"]).run().code(0);
    env.cmd(&["token", "--profile", "stored"])
        .run()
        .code(0)
        .within(TIMEOUT + MARGIN);
    assert!(
        keyring
            .lookup_secret("st-setup-token-cache", "stored")
            .is_some()
    );

    // The replacement daemon forked away from the shell that started it;
    // it is ended all the same.
    assert_drop_ends_everything(keyring, &["dbus-daemon", "gnome-keyring-daemon"]);
}

#[test]
fn a_locked_keyring_whose_password_prompt_never_answers_is_exit_6_after_the_timeout() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let keyring = PrivateKeyring::start(Prompter::NeverAnswers);
    let env = env_on(&fake, &keyring);
    env.init_cmd("stored").arg("--no-verify").run().code(0);
    let config = env.config_text().unwrap();
    keyring.lock();

    for cmd in [
        env.init_cmd("fresh").arg("--no-verify"),
        env.cmd(&["check", "--profile", "stored"]),
        env.cmd(&["token", "--profile", "stored"]),
    ] {
        let out = cmd.run();
        // Only the timeout tells: it names the lock as the likely cause,
        // and both ways to a working keyring (a new one, or this one unlocked).
        assert_says_locked_and_how_to_go_on(&out, &keyring);
        assert!(printed(&out).contains("did not answer within 2 s"), "{out}");
        assert!(
            printed(&out).contains("gnome-keyring-daemon --unlock"),
            "{out}"
        );
        assert!(
            out.elapsed >= TIMEOUT,
            "gave up before the timeout, so the prompt was not waited on:\n{out}"
        );
    }
    assert_eq!(env.config_text().unwrap(), config);
    assert!(!env.config_dir().join("secrets").exists());
    assert!(keyring.is_locked());

    // The prompter still waits, started by the bus: it goes with the keyring.
    assert_drop_ends_everything(
        keyring,
        &["dbus-daemon", "gnome-keyring-daemon", "never-answers.sh"],
    );
}

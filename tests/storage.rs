//! Storage that never fails silently and never loses data: the real Secret
//! Service read back by `secret-tool`, a keyring that is missing or never
//! answers, opt-in file storage, rollback, concurrent and killed `init` runs,
//! a config lock another run will not let go of, Ctrl-C while waiting for it
//! and during the save, a secret deleted behind st-setup's back, and loose
//! permissions.
//!
//! Linux-only: these talk to the gnome-keyring that scripts/test starts.
//!
//! Time is checked by events where they exist (the messages that say which
//! call waited, a process ended by a signal) and by lower bounds that prove a
//! wait happened. The one upper bound is [`HANG`], far from what any run here
//! takes on a busy machine; a run that must not wait for the keyring timeout
//! gets one ([`NO_TIMEOUT`]) longer than it, so such a wait fails it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::util::cmd::{
    OpenWatch, Output, Running, TestEnv, assert_keyring_holds, mode, require_keyring,
    secret_tool_clear, secret_tool_lookup, unique_profile,
};
use crate::util::dbus::PrivateBus;
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};

/// The longest a run here may take after its last event: a guard against a
/// hang that a busy 2-core machine cannot reach (a working run takes well
/// under a second plus at most a 2 s keyring timeout), not a measure of speed.
const HANG: Duration = Duration::from_secs(30);
/// `ST_KEYRING_TIMEOUT` for runs that must not wait for it: longer than
/// [`HANG`], so such a wait fails them.
const NO_TIMEOUT: &str = "60";

/// A Client Secret of the right shape, different for every `n`.
fn secret_number(n: usize) -> String {
    format!("cs1.storagetest{n:04}abcdefghijklmnopqrstuvwxyz0123456789")
}

/// The config file as TOML; fails the test if it does not parse.
fn parsed_config(env: &TestEnv) -> BTreeMap<String, toml::Table> {
    let Some(text) = env.config_text() else {
        return BTreeMap::new();
    };
    let table: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("the config does not parse ({e}):\n{text}"));
    let profiles = match table.get("profiles") {
        Some(toml::Value::Table(profiles)) => profiles.clone(),
        None => toml::Table::new(),
        Some(other) => panic!("profiles is not a table: {other}"),
    };
    profiles
        .into_iter()
        .map(|(name, value)| match value {
            toml::Value::Table(t) => (name, t),
            other => panic!("profile {name} is not a table: {other}"),
        })
        .collect()
}

/// A profile entry has every value a command needs.
#[track_caller]
fn assert_whole(name: &str, profile: &toml::Table) {
    for key in ["environment", "tenant_id", "app_key", "client_id"] {
        assert!(
            profile.get(key).and_then(|v| v.as_str()).is_some(),
            "profile {name} lacks {key}: {profile}"
        );
    }
}

/// Where the test keyring is not: the same environment with a D-Bus address
/// nobody listens on.
fn no_bus_address(env: &TestEnv) -> String {
    format!("unix:path={}", env.dir.path().join("no-bus").display())
}

/// Exit 6, and a message (on stderr, or in `check`'s report on stdout) that
/// says what was tried and the three ways on.
#[track_caller]
fn assert_says_how_to_go_on(out: &Output, tried: &str) {
    out.code(6);
    let printed = format!("{}{}", out.stdout, out.stderr);
    for needle in [
        "OS keyring",
        tried,
        "gnome-keyring-daemon --unlock",
        "ST_CLIENT_SECRET",
        "--storage file",
    ] {
        assert!(
            printed.contains(needle),
            "no {needle:?} in the output\n{out}"
        );
    }
}

#[test]
fn the_secret_round_trips_through_the_real_secret_service_and_remove_deletes_it() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("roundtrip");

    env.init_cmd(&profile).run().code(0);
    assert_keyring_holds(&profile, &env.creds.client_secret);
    let config = env.config_text().unwrap();
    assert!(!config.contains(&env.creds.client_secret), "{config}");

    // The token cache is a separate entry, also readable by secret-tool.
    let token = env.cmd(&["token", "--profile", &profile]).run();
    token.code(0);
    let cached = secret_tool_lookup("st-setup-token-cache", &profile).expect("a cached token");
    assert!(
        cached.contains(token.stdout.trim()),
        "cache entry: {cached}"
    );
    assert_keyring_holds(&profile, &env.creds.client_secret);

    env.cmd(&["remove", "--profile", &profile, "--yes"])
        .run()
        .code(0);
    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
    assert_eq!(secret_tool_lookup("st-setup-token-cache", &profile), None);
    assert!(!parsed_config(&env).contains_key(&profile));
}

#[test]
fn without_a_secret_service_init_stores_nothing_and_says_how_to_go_on() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("nobus");
    let runtime_dir = tempfile::tempdir().unwrap();

    // A D-Bus address nobody listens on, and no D-Bus session at all.
    let address = no_bus_address(&env);
    // Told at once that there is no bus: no wait for the keyring timeout.
    let runs = [
        env.init_cmd(&profile)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("ST_KEYRING_TIMEOUT", NO_TIMEOUT)
            .run_within(HANG),
        env.init_cmd(&profile)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("XDG_RUNTIME_DIR", &runtime_dir.path().to_string_lossy())
            .env("ST_KEYRING_TIMEOUT", NO_TIMEOUT)
            .run_within(HANG),
    ];
    assert_says_how_to_go_on(&runs[0], &address);
    assert_says_how_to_go_on(&runs[1], "DBUS_SESSION_BUS_ADDRESS is not set");

    // Nothing written, and no quiet fallback to a file.
    assert!(env.config_text().is_none());
    assert!(!env.config_dir().join("secrets").exists());
    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
}

#[test]
fn without_a_secret_service_reading_commands_fail_clearly_and_change_nothing() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("nobus-read");
    env.init_cmd(&profile).run().code(0);
    let config = env.config_text().unwrap();

    let address = no_bus_address(&env);
    for args in [
        vec!["check", "--profile", &profile],
        vec!["token", "--profile", &profile],
        vec!["export", "--profile", &profile, "--include-secret"],
    ] {
        let out = env
            .cmd(&args)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .run();
        assert_says_how_to_go_on(&out, &address);
    }
    assert_eq!(env.config_text().unwrap(), config);
    assert_keyring_holds(&profile, &env.creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn a_secret_service_that_never_answers_is_exit_6_within_the_timeout() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let stored = unique_profile("hung-stored");
    env.init_cmd(&stored).run().code(0);
    let config = env.config_text().unwrap();

    let bus = PrivateBus::with_a_secret_service_that_never_answers();
    let fresh = unique_profile("hung-new");
    for cmd in [
        env.init_cmd(&fresh),
        env.cmd(&["check", "--profile", &stored]),
        env.cmd(&["token", "--profile", &stored]),
    ] {
        // Ended by the 2 s timeout (the message comes only from it, with the
        // limit it used), after waiting that long; the service itself would
        // keep the call waiting for a minute, past HANG.
        let out = cmd
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("ST_KEYRING_TIMEOUT", "2")
            .run_within(HANG);
        assert_says_how_to_go_on(&out, &bus.address);
        assert!(
            format!("{}{}", out.stdout, out.stderr).contains("did not answer within 2 s"),
            "{out}"
        );
        assert!(
            out.elapsed >= Duration::from_secs(2),
            "gave up before the timeout, so the bus was not waited on:\n{out}"
        );
    }
    assert_eq!(env.config_text().unwrap(), config);
    assert_eq!(secret_tool_lookup("st-setup", &fresh), None);
    secret_tool_clear("st-setup", &stored);
}

#[test]
fn check_all_with_a_hung_keyring_waits_one_timeout_not_one_per_profile() {
    require_keyring();
    let env = TestEnv::new();
    let profiles: Vec<String> = (0..4)
        .map(|i| unique_profile(&format!("hung-all{i}")))
        .collect();
    for profile in &profiles {
        env.init_cmd(profile).arg("--no-verify").run().code(0);
    }

    let bus = PrivateBus::with_a_secret_service_that_never_answers();
    let out = env
        .cmd(&["check", "--all"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("ST_KEYRING_TIMEOUT", "2")
        .run_within(HANG);
    assert_says_how_to_go_on(&out, &bus.address);
    for profile in &profiles {
        out.stdout_has(profile);
    }
    // One call waited out the timeout; every other profile was told at once
    // that an earlier call had.
    let waited = out.stdout.matches("it did not answer within 2 s").count();
    let told = out
        .stdout
        .matches("an earlier call did not answer within 2 s")
        .count();
    assert_eq!(
        (waited, told),
        (1, profiles.len() - 1),
        "one wait in all, not one per profile\n{out}"
    );
    assert!(out.elapsed >= Duration::from_secs(2), "{out}");
    for profile in &profiles {
        secret_tool_clear("st-setup", profile);
    }
}

#[test]
fn twenty_concurrent_inits_all_land_with_their_own_secrets() {
    require_keyring();
    let env = TestEnv::new();
    let runs: Vec<(String, String, _)> = (0..20)
        .map(|i| {
            let profile = unique_profile(&format!("parallel{i}"));
            let secret = secret_number(i);
            let running = env
                .init_cmd(&profile)
                .arg("--no-verify")
                .env("ST_CLIENT_SECRET", &secret)
                .forbid(&secret)
                .spawn();
            (profile, secret, running)
        })
        .collect();
    let mut stored = Vec::new();
    for (profile, secret, running) in runs {
        running.wait().code(0);
        stored.push((profile, secret));
    }

    let config = parsed_config(&env);
    assert_eq!(config.len(), 20, "{config:?}");
    for (profile, secret) in &stored {
        assert_whole(profile, &config[profile]);
        assert_keyring_holds(profile, secret);
    }
    let listed = env.cmd(&["list", "--json"]).run();
    listed.code(0);
    assert_eq!(listed.json().as_array().map(Vec::len), Some(20), "{listed}");
    for (profile, _) in &stored {
        secret_tool_clear("st-setup", profile);
    }
}

/// A small deterministic generator, so a failing run can be repeated from
/// the seed it prints.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
}

#[test]
fn init_killed_at_random_points_never_leaves_a_broken_config() {
    require_keyring();
    let env = TestEnv::new();
    let seed = std::env::var("ST_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64);
    eprintln!("seed {seed} (ST_TEST_SEED={seed} repeats this run)");
    let mut rng = Lcg(seed);

    // How long one whole init takes here (the quickest of three), so the
    // kills land all through it.
    let mut profiles = Vec::new();
    let mut span = u64::MAX;
    for i in 0..3 {
        let profile = unique_profile(&format!("killed-base{i}"));
        let started = Instant::now();
        env.init_cmd(&profile).arg("--no-verify").run().code(0);
        span = span.min(started.elapsed().as_micros() as u64);
        profiles.push(profile);
    }

    let (mut killed, mut finished) = (0, 0);
    for i in 0..60 {
        let profile = unique_profile(&format!("killed{i}"));
        let secret = secret_number(i);
        let mut running = env
            .init_cmd(&profile)
            .arg("--no-verify")
            .env("ST_CLIENT_SECRET", &secret)
            .forbid(&secret)
            .spawn();
        std::thread::sleep(Duration::from_micros(rng.below(span * 5 / 4)));
        running.kill();
        let out = running.wait();
        match out.signal {
            Some(9) => killed += 1,
            None => {
                out.code(0);
                finished += 1;
            }
            Some(other) => panic!("init ended by signal {other}:\n{out}"),
        }
        profiles.push(profile.clone());

        // After every kill: the config parses, each profile in it is whole,
        // and its secret is in the keyring (written before the config).
        let config = parsed_config(&env);
        for (name, entry) in &config {
            assert_whole(name, entry);
            assert!(
                secret_tool_lookup("st-setup", name).is_some(),
                "profile {name} is in the config but its secret is not in the keyring (run {i}, seed {seed})"
            );
        }
        assert!(
            config.contains_key(&profiles[0]),
            "an earlier profile was lost"
        );
        if out.signal.is_none() {
            assert!(config.contains_key(&profile), "a finished init was lost");
        }
    }
    eprintln!("{killed} runs killed, {finished} finished");
    assert!(
        killed >= 15,
        "only {killed} of 60 runs were killed before they finished (seed {seed})"
    );

    // The next write cleans up the temp files of killed writers.
    let last = unique_profile("killed-last");
    env.init_cmd(&last).arg("--no-verify").run().code(0);
    profiles.push(last);
    let leftovers: Vec<_> = std::fs::read_dir(env.config_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "abandoned temp files: {leftovers:?}");
    env.cmd(&["list"]).run().code(0);
    for profile in &profiles {
        secret_tool_clear("st-setup", profile);
    }
}

#[test]
fn file_storage_is_opt_in_0600_and_flagged_in_list_show_and_check() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let by_flag = unique_profile("file-flag");
    let by_env = unique_profile("file-env");

    env.init_cmd(&by_flag)
        .arg("--storage")
        .arg("file")
        .run()
        .code(0)
        .stderr_has("plain text file");
    env.init_cmd(&by_env)
        .env("ST_STORAGE", "file")
        .run()
        .code(0)
        .stderr_has("plain text file");

    let secrets = env.config_dir().join("secrets");
    assert_eq!(mode(&secrets), 0o700);
    for profile in [&by_flag, &by_env] {
        let file = secrets.join(profile);
        assert_eq!(mode(&file), 0o600, "{}", file.display());
        assert_eq!(
            std::fs::read_to_string(&file).unwrap().trim_end(),
            env.creds.client_secret
        );
        assert_eq!(secret_tool_lookup("st-setup", profile), None);

        env.cmd(&["show", "--profile", profile])
            .run()
            .code(0)
            .stdout_has("stored in plain text file");
        env.cmd(&["check", "--profile", profile])
            .run()
            .code(0)
            .stdout_has("stored in plain text file");
    }
    let list = env.cmd(&["list"]).run();
    list.code(0);
    assert_eq!(
        list.stdout.matches("stored in plain text file").count(),
        2,
        "{list}"
    );
    // The config itself never holds the secret.
    assert!(
        !env.config_text()
            .unwrap()
            .contains(&env.creds.client_secret)
    );
}

#[test]
fn a_failed_config_write_puts_the_keyring_back_as_it_was() {
    require_keyring();
    let env = TestEnv::new();
    let existing = unique_profile("rollback-existing");
    let new = unique_profile("rollback-new");
    env.init_cmd(&existing).arg("--no-verify").run().code(0);
    let config = env.config_text().unwrap();

    // The config lock cannot be taken (its file is a directory): the config
    // write fails after the secret was written, even for root.
    let lock = env.config_dir().join(".config.lock");
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();

    let replacement = secret_number(1);
    env.init_cmd(&existing)
        .arg("--no-verify")
        .env("ST_CLIENT_SECRET", &replacement)
        .forbid(&replacement)
        .run()
        .code(6)
        .stderr_has(".config.lock");
    assert_keyring_holds(&existing, &env.creds.client_secret);

    env.init_cmd(&new).arg("--no-verify").run().code(6);
    assert_eq!(secret_tool_lookup("st-setup", &new), None);
    assert_eq!(env.config_text().unwrap(), config);
    secret_tool_clear("st-setup", &existing);
}

#[test]
fn check_names_a_profile_whose_secret_was_deleted_and_how_to_repair_it() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let intact = unique_profile("intact");
    let broken = unique_profile("deleted");
    env.init_cmd(&intact).run().code(0);
    env.init_cmd(&broken).run().code(0);

    // Deleted with a keyring manager, behind st-setup's back.
    secret_tool_clear("st-setup", &broken);
    let repair = format!("st-setup init --profile {broken}");
    env.cmd(&["check", "--profile", &broken])
        .run()
        .code(7)
        .stdout_has("missing from the OS keyring")
        .stdout_has(&repair);
    let all = env.cmd(&["check", "--all", "--json"]).run();
    all.code(7);
    let reports = all.json();
    let report = |name: &str| {
        reports
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["profile"] == name)
            .unwrap_or_else(|| panic!("no report for {name}: {reports}"))
            .clone()
    };
    assert_eq!(report(&intact)["ok"], true, "{reports}");
    assert_eq!(report(&broken)["ok"], false, "{reports}");
    assert!(report(&broken).to_string().contains(&repair), "{reports}");

    // The repair it names works.
    env.init_cmd(&broken).run().code(0);
    env.cmd(&["check", "--profile", &broken]).run().code(0);
    secret_tool_clear("st-setup", &broken);
    secret_tool_clear("st-setup", &intact);
}

#[test]
fn a_config_readable_by_others_is_warned_about_and_tightened() {
    use std::os::unix::fs::PermissionsExt;
    require_keyring();
    let env = TestEnv::new();
    let profile = unique_profile("perms");
    env.init_cmd(&profile).arg("--no-verify").run().code(0);
    assert_eq!(mode(&env.config_path()), 0o600);
    assert_eq!(mode(&env.config_dir()), 0o700);

    let loosen = |path: &std::path::Path, bits| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits)).unwrap()
    };
    loosen(&env.config_path(), 0o644);
    env.cmd(&["list"])
        .run()
        .code(0)
        .stderr_has("readable by other users")
        .stderr_has("now 0600");
    assert_eq!(mode(&env.config_path()), 0o600);

    loosen(&env.config_dir(), 0o755);
    env.init_cmd(&profile).arg("--no-verify").run().code(0);
    assert_eq!(mode(&env.config_dir()), 0o700);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn the_config_lives_under_xdg_config_home_when_no_directory_is_given() {
    require_keyring();
    let env = TestEnv::new();
    let profile = unique_profile("xdg");
    let xdg = env.dir.path().join("xdg");
    env.init_cmd(&profile)
        .arg("--no-verify")
        .env_remove("ST_SETUP_CONFIG_DIR")
        .env("XDG_CONFIG_HOME", &xdg.to_string_lossy())
        .run()
        .code(0);
    let config = xdg.join("st-setup").join("config.toml");
    let text = std::fs::read_to_string(&config).expect("config under XDG_CONFIG_HOME");
    assert!(text.contains(&profile), "{text}");
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(config.parent().unwrap()), 0o700);
    assert!(env.config_text().is_none());
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn changing_the_storage_of_a_profile_moves_its_secret() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("move");
    env.init_cmd(&profile).run().code(0);
    let secret_file = env.config_dir().join("secrets").join(&profile);

    // No secret given: the stored one is kept, and moved.
    for (storage, in_keyring) in [("file", false), ("keyring", true)] {
        env.init_cmd(&profile)
            .env_remove("ST_CLIENT_SECRET")
            .arg("--storage")
            .arg(storage)
            .run()
            .code(0);
        assert_eq!(
            secret_tool_lookup("st-setup", &profile).is_some(),
            in_keyring,
            "{storage}"
        );
        assert_eq!(secret_file.exists(), !in_keyring, "{storage}");
        env.cmd(&["check", "--profile", &profile]).run().code(0);
    }
    assert_keyring_holds(&profile, &env.creds.client_secret);
    secret_tool_clear("st-setup", &profile);
}

/// Poll until `ready` holds for `running`; fails the test (showing what the
/// program printed) if that takes longer than [`HANG`].
#[track_caller]
fn wait_for(mut running: Running, what: &str, ready: impl Fn(&Running) -> bool) -> Running {
    let deadline = Instant::now() + HANG;
    while !ready(&running) {
        if Instant::now() >= deadline {
            running.kill();
            let out = running.wait();
            panic!("{what}: not within {HANG:?}\n{out}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    running
}

/// Ended by the interrupt: exit 130 from st-setup's own handler (which says
/// so), or SIGINT's default action, which a shell also reports as 130.
#[track_caller]
fn assert_interrupted_before_saving(out: &Output) {
    match (out.code, out.signal) {
        (130, None) => {
            out.stderr_has("nothing was saved");
        }
        (_, Some(libc::SIGINT)) => {}
        _ => panic!("not ended by the interrupt (exit 130)\n{out}"),
    }
    out.stderr_lacks("Saved profile");
}

#[test]
fn ctrl_c_while_init_waits_for_the_config_lock_ends_it_with_nothing_saved() {
    require_keyring();
    let env = TestEnv::new();
    let earlier = unique_profile("lock-earlier");
    env.init_cmd(&earlier).arg("--no-verify").run().code(0);
    let config = env.config_text().unwrap();
    // Another run is saving: the config lock is taken before anything is
    // written, so this init waits for it with nothing written yet.
    let (lock, lock_path) = env.hold_config_lock();
    let opens = OpenWatch::new(&lock_path);

    let profile = unique_profile("lock-wait");
    let running = env
        .init_cmd(&profile)
        .arg("--no-verify")
        // Longer than the test may take: only the signal ends this wait.
        .env("ST_KEYRING_TIMEOUT", NO_TIMEOUT)
        .spawn();
    // Having opened the lock file, it is waiting to take the lock.
    let running = wait_for(running, "init opens the config lock", |_| opens.opened());
    assert_eq!(
        secret_tool_lookup("st-setup", &profile),
        None,
        "the keyring entry was written before the config lock was taken"
    );
    running.signal("INT");
    // The lock wait outlasts HANG: only the signal can end it in time.
    let out = running.wait_within(HANG);
    assert_interrupted_before_saving(&out);
    lock.unlock().unwrap();

    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
    assert_eq!(env.config_text().unwrap(), config);
    assert_eq!(parsed_config(&env).len(), 1);
    secret_tool_clear("st-setup", &earlier);
}

#[test]
fn a_config_lock_that_is_never_released_is_exit_6_after_the_keyring_timeout() {
    require_keyring();
    let env = TestEnv::new();
    let earlier = unique_profile("lock-earlier");
    env.init_cmd(&earlier).arg("--no-verify").run().code(0);
    let config = env.config_text().unwrap();
    let (lock, _) = env.hold_config_lock();

    let profile = unique_profile("lock-stuck");
    let out = env
        .init_cmd(&profile)
        .arg("--no-verify")
        .env("ST_KEYRING_TIMEOUT", "1")
        .run_within(HANG);
    // Given up by that timeout (the message names the limit it used), not by
    // another limit or never.
    out.code(6)
        .stderr_has("config lock")
        .stderr_has("after 1 s");
    assert!(
        out.elapsed >= Duration::from_secs(1),
        "gave up before the timeout, so the lock was not waited for:\n{out}"
    );
    drop(lock);

    assert_eq!(secret_tool_lookup("st-setup", &profile), None);
    assert_eq!(env.config_text().unwrap(), config);
    secret_tool_clear("st-setup", &earlier);
}

#[test]
fn ctrl_c_during_the_keyring_write_waits_for_the_save_to_finish() {
    require_keyring();
    let env = TestEnv::new();
    let profile = unique_profile("held");
    // A keyring that never answers makes the save take the whole timeout.
    let bus = PrivateBus::with_a_secret_service_that_never_answers();
    let running = env
        .init_cmd(&profile)
        .arg("--no-verify")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("ST_KEYRING_TIMEOUT", "2")
        .spawn();
    // A new profile with its secret given: nothing calls the Secret Service
    // before the save (which first reads any previous secret, for rollback,
    // then writes). Once a call has started the service, init holds the
    // config lock, holds the signals and is waiting inside the save.
    let running = wait_for(running, "init calls the Secret Service", |_| {
        bus.secret_service_was_asked_for()
    });
    running.signal("INT");
    let out = running.wait_within(HANG);
    // Not cut short by the signal: the save ran to its end (here: the
    // keyring timeout, so nothing saved and exit 6).
    assert_eq!(out.signal, None, "{out}");
    out.stderr_has("finishing the save first");
    assert_says_how_to_go_on(&out, &bus.address);
    assert!(out.elapsed >= Duration::from_secs(2), "{out}");
    assert!(env.config_text().is_none());
}

#[test]
fn a_second_signal_during_the_save_quits_at_once() {
    require_keyring();
    let env = TestEnv::new();
    let profile = unique_profile("impatient");
    let bus = PrivateBus::with_a_secret_service_that_never_answers();
    let running = env
        .init_cmd(&profile)
        .arg("--no-verify")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        // Longer than HANG: a run that waited for it fails.
        .env("ST_KEYRING_TIMEOUT", NO_TIMEOUT)
        .spawn();
    let running = wait_for(running, "init calls the Secret Service", |_| {
        bus.secret_service_was_asked_for()
    });
    // Two different signals, so the kernel cannot merge them into one.
    running.signal("INT");
    running.signal("TERM");
    // Ended by the second signal, well before the keyring timeout; a run
    // that waited for it instead is killed at HANG and fails here.
    let out = running.wait_within(HANG);
    // Dead by the second signal, as a shell sees it (143).
    assert_eq!(out.signal, Some(libc::SIGTERM), "{out}");
    out.stderr_has("interrupted again");
    assert!(env.config_text().is_none());
}

#[test]
fn an_ignored_interrupt_stays_ignored_during_the_save() {
    require_keyring();
    let env = TestEnv::new();
    let profile = unique_profile("nohup");
    let bus = PrivateBus::with_a_secret_service_that_never_answers();
    // As a shell starts a background job, or `nohup`: SIGINT ignored.
    let running = env
        .init_cmd(&profile)
        .arg("--no-verify")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("ST_KEYRING_TIMEOUT", "2")
        .wrapped_in(&["sh", "-c", "trap '' INT; exec \"$@\"", "sh"])
        .spawn();
    let running = wait_for(running, "init calls the Secret Service", |_| {
        bus.secret_service_was_asked_for()
    });
    running.signal("INT");
    let out = running.wait_within(HANG);
    // Neither noted nor reported: the run ends as it would have without it.
    out.code(6)
        .stderr_lacks("finishing the save first")
        .stderr_lacks("interrupted");
    assert_says_how_to_go_on(&out, &bus.address);
}

//! The config directory as hostile ground: each test plants what an attacker
//! (another account, or anything that can write there) would plant, runs the
//! real binary, and checks that it refuses with exit 6 and a fix, that
//! nothing is read through a link or from a FIFO or device, that no secret
//! goes to a planted server, and that the token cache serves a token only
//! with the Client Secret it was issued for.
//!
//! Linux-only: these use the gnome-keyring that scripts/test starts, and the
//! tests of another account's directory need root (CI runs as root).

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::cmd::{
    TestEnv, assert_keyring_holds, mode, require_keyring, secret_tool_clear, secret_tool_lookup,
    secret_tool_store, unique_profile,
};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan, Fault, Route};

/// The uid and gid of `nobody`: an account that is not the one running the tests.
const OTHER_ACCOUNT: u32 = 65534;

fn set_mode(path: &Path, bits: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(bits)).unwrap();
}

/// Give `path` (and what is in it) to another account, as root can.
#[track_caller]
fn give_away(path: &Path) {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test mounts an attack by another account and needs root (CI runs scripts/test as root)"
    );
    let status = std::process::Command::new("chown")
        .args(["-R", &format!("{OTHER_ACCOUNT}:{OTHER_ACCOUNT}")])
        .arg(path)
        .status()
        .expect("chown(1)");
    assert!(status.success());
}

fn owner(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).unwrap().uid()
}

/// Config text for `profile` (keyring storage unless `storage` says
/// otherwise) whose token and API URLs are `fake`'s.
fn planted_config(env: &TestEnv, fake: &FakeServiceTitan, profile: &str, storage: &str) -> String {
    format!(
        "[profiles.{profile}]\nenvironment = \"integration\"\ntenant_id = \"{}\"\n\
         app_key = \"{}\"\nclient_id = \"{}\"\nsecret_storage = \"{storage}\"\n\
         verified = true\nauth_url = \"{}\"\napi_url = \"{}\"\n",
        env.creds.tenant_id,
        env.creds.app_key,
        env.creds.client_id,
        fake.auth_url(),
        fake.api_url()
    )
}

/// A config directory of ours (0700) holding `text` as config.toml (0600).
fn write_config_dir(env: &TestEnv, text: &str) {
    let dir = env.config_dir();
    fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o700);
    fs::write(env.config_path(), text).unwrap();
    set_mode(&env.config_path(), 0o600);
}

#[test]
fn another_accounts_config_directory_is_refused_before_the_secret_is_sent() {
    require_keyring();
    // The planted server: it records whether anything was posted to it.
    let planted = FakeServiceTitan::start(Credentials::demo());
    // No ST_AUTH_URL: the token URL comes from the planted config.
    let env = TestEnv::new();
    let profile = unique_profile("their-dir");
    secret_tool_store("st-setup", &profile, &env.creds.client_secret);
    write_config_dir(&env, &planted_config(&env, &planted, &profile, "keyring"));
    set_mode(&env.config_dir(), 0o755);
    give_away(&env.config_dir());

    let dir = env.config_dir().display().to_string();
    for args in [
        vec!["check", "--profile", &profile],
        vec!["token", "--profile", &profile],
        vec!["list"],
        vec!["show", "--profile", &profile],
    ] {
        env.cmd(&args)
            .run()
            .code(6)
            .stderr_has(&dir)
            .stderr_has("(uid 65534), not to you (root (uid 0))")
            .stderr_has("sudo chown -R root")
            .stderr_has("ST_SETUP_CONFIG_DIR");
    }
    env.init_cmd(&profile).arg("--no-verify").run().code(6);
    assert_eq!(
        planted.token_requests(),
        0,
        "nothing was sent to the planted server"
    );
    assert_eq!(planted.requests().len(), 0);
    assert_keyring_holds(&profile, &env.creds.client_secret);
    assert_eq!(owner(&env.config_dir()), OTHER_ACCOUNT, "left as it was");
    assert_eq!(mode(&env.config_dir()), 0o755, "not chmodded");
    assert!(!env.config_dir().join(".config.lock").exists());

    // Our own directory, their file: the file is refused the same way.
    let env = TestEnv::new();
    write_config_dir(&env, &planted_config(&env, &planted, &profile, "keyring"));
    give_away(&env.config_path());
    env.cmd(&["check", "--profile", &profile])
        .run()
        .code(6)
        .stderr_has("config file")
        .stderr_has("(uid 65534), not to you");
    assert_eq!(planted.token_requests(), 0);
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn a_config_directory_or_file_others_can_write_is_refused() {
    require_keyring();
    let planted = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::new();
    let profile = unique_profile("open-dir");
    secret_tool_store("st-setup", &profile, &env.creds.client_secret);
    write_config_dir(&env, &planted_config(&env, &planted, &profile, "keyring"));

    for (path, bits) in [(env.config_dir(), 0o777), (env.config_path(), 0o666)] {
        set_mode(&path, bits);
        env.cmd(&["check", "--profile", &profile])
            .run()
            .code(6)
            .stderr_has(&path.display().to_string())
            .stderr_has(&format!("can be written by other users (mode {bits:o})"))
            .stderr_has("chmod go-rwx");
        env.init_cmd(&profile).arg("--no-verify").run().code(6);
        assert_eq!(mode(&path), bits, "left as it was");
        set_mode(&path, if bits == 0o777 { 0o700 } else { 0o600 });
    }
    assert_eq!(planted.token_requests(), 0);
    assert_keyring_holds(&profile, &env.creds.client_secret);

    // Once fixed as the message says, it works.
    env.cmd(&["list"]).run().code(0).stdout_has(&profile);
    secret_tool_clear("st-setup", &profile);
}

/// A profile stored with `--storage file` against a fake, and a directory
/// outside the config directory for link targets.
fn file_profile(name: &str) -> (FakeServiceTitan, TestEnv, String, PathBuf) {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile(name);
    env.init_cmd(&profile)
        .arg("--storage")
        .arg("file")
        .run()
        .code(0);
    let outside = env.dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    (fake, env, profile, outside)
}

#[test]
fn a_config_file_that_is_a_link_is_neither_read_nor_chmodded() {
    let (fake, env, profile, outside) = file_profile("config-link");
    let target = outside.join("config.toml");
    fs::rename(env.config_path(), &target).unwrap();
    set_mode(&target, 0o644);
    symlink(&target, env.config_path()).unwrap();
    let requests = fake.token_requests();
    for args in [vec!["list"], vec!["check", "--profile", &profile]] {
        env.cmd(&args)
            .run()
            .code(6)
            .stderr_has("config file")
            .stderr_has("is a symbolic link")
            .stderr_has(&format!("rm {}", env.config_path().display()));
    }
    assert_eq!(mode(&target), 0o644, "the link's target was not chmodded");
    assert_eq!(fake.token_requests(), requests);
}

#[test]
fn a_lock_file_that_is_a_link_is_neither_created_at_its_target_nor_chmodded() {
    let (_fake, env, profile, outside) = file_profile("lock-link");
    let lock = env.config_dir().join(".config.lock");
    fs::remove_file(&lock).unwrap();
    let lock_target = outside.join("lock-target");
    symlink(&lock_target, &lock).unwrap();
    env.init_cmd(&profile)
        .arg("--no-verify")
        .run()
        .code(6)
        .stderr_has("lock file")
        .stderr_has("is a symbolic link");
    assert!(
        !lock_target.exists(),
        "nothing created at the link's target"
    );
    fs::write(&lock_target, "").unwrap();
    set_mode(&lock_target, 0o644);
    env.init_cmd(&profile).arg("--no-verify").run().code(6);
    assert_eq!(
        mode(&lock_target),
        0o644,
        "the link's target was not chmodded"
    );
}

#[test]
fn a_secret_file_that_is_a_link_is_never_read_or_sent() {
    let (fake, env, profile, outside) = file_profile("secret-link");
    let secret_file = env.config_dir().join("secrets").join(&profile);
    let other_file = outside.join("other-secret");
    fs::write(
        &other_file,
        "cs1.notthesecretbutsomeotherfilesdata0123456789abcdef\n",
    )
    .unwrap();
    fs::remove_file(&secret_file).unwrap();
    symlink(&other_file, &secret_file).unwrap();
    let requests = fake.token_requests();
    // `check` reports it as the failed step, on stdout.
    env.cmd(&["check", "--profile", &profile])
        .run()
        .code(6)
        .stdout_has("FAILED Client ID / Secret: the secret file")
        .stdout_has("is a symbolic link");
    env.cmd(&["token", "--profile", &profile])
        .run()
        .code(6)
        .stderr_has("secret file")
        .stderr_has("is a symbolic link");
    assert_eq!(fake.token_requests(), requests, "nothing was posted");
}

#[test]
fn a_token_cache_file_that_is_a_link_is_never_printed() {
    let (fake, env, profile, outside) = file_profile("cache-link");
    let first = env.cmd(&["token", "--profile", &profile]).run();
    first.code(0);
    let cache_file = env.config_dir().join("token-cache").join(&profile);
    let entry = fs::read_to_string(&cache_file).unwrap();
    let forged = entry.replace(first.stdout.trim_end(), "forged.token.from-a-link");
    let planted = outside.join("planted-cache");
    fs::write(&planted, &forged).unwrap();
    fs::remove_file(&cache_file).unwrap();
    symlink(&planted, &cache_file).unwrap();
    let out = env.cmd(&["token", "--profile", &profile]).run();
    out.code(0)
        .stdout_lacks("forged")
        .stderr_has("could not read the token cache")
        .stderr_has("is a symbolic link");
    assert!(
        fake.issued_tokens()
            .contains(&out.stdout.trim_end().to_string())
    );
}

#[test]
fn secret_files_others_can_read_are_tightened_with_a_warning_and_writable_ones_refused() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("secret-perms");
    env.init_cmd(&profile)
        .arg("--storage")
        .arg("file")
        .run()
        .code(0);
    env.cmd(&["token", "--profile", &profile]).run().code(0);
    let secrets = env.config_dir().join("secrets");
    let secret_file = secrets.join(&profile);
    let cache = env.config_dir().join("token-cache");
    let cache_file = cache.join(&profile);

    set_mode(&secrets, 0o755);
    set_mode(&secret_file, 0o644);
    set_mode(&cache, 0o755);
    set_mode(&cache_file, 0o644);
    let out = env.cmd(&["check", "--profile", &profile]).run();
    out.code(0)
        .stderr_has(&format!(
            "{} was readable by other users (mode 755); it is now 0700",
            secrets.display()
        ))
        .stderr_has(&format!(
            "{} was readable by other users (mode 644); it is now 0600",
            secret_file.display()
        ))
        .stderr_has("may have read the Client Secret");
    assert_eq!(mode(&secrets), 0o700);
    assert_eq!(mode(&secret_file), 0o600);
    env.cmd(&["token", "--profile", &profile])
        .run()
        .code(0)
        .stderr_has(&format!(
            "{} was readable by other users (mode 644); it is now 0600",
            cache_file.display()
        ));
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(&cache_file), 0o600);
    // Once tightened, nothing more is said.
    env.cmd(&["check", "--profile", &profile])
        .run()
        .code(0)
        .stderr_lacks("warning");

    // Writable by others: someone else may have put their secret there.
    let requests = fake.token_requests();
    for (path, bits) in [(&secret_file, 0o660), (&secrets, 0o733)] {
        set_mode(path, bits);
        let refusal = format!("can be written by other users (mode {bits:o})");
        env.cmd(&["check", "--profile", &profile])
            .run()
            .code(6)
            .stdout_has(&refusal);
        // Not even the cached token is given out without the secret.
        env.cmd(&["token", "--profile", &profile])
            .run()
            .code(6)
            .stdout_lacks(".")
            .stderr_has(&refusal);
        assert_eq!(mode(path), bits, "left as it was");
    }
    assert_eq!(fake.token_requests(), requests, "nothing was posted");
}

#[test]
fn a_fifo_config_does_not_hang_and_an_oversized_one_is_refused() {
    let env = TestEnv::new();
    write_config_dir(&env, "");
    fs::remove_file(env.config_path()).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(env.config_path())
        .status()
        .expect("mkfifo(1)");
    assert!(status.success());
    env.cmd(&["list"])
        .spawn()
        .wait_within(Duration::from_secs(10))
        .code(6)
        .stderr_has("is a FIFO (named pipe), not a regular file")
        .stderr_has(&format!("rm -r {}", env.config_path().display()));

    // A FIFO as the lock file: opening it for writing would wait for a reader.
    fs::remove_file(env.config_path()).unwrap();
    let lock = env.config_dir().join(".config.lock");
    let status = std::process::Command::new("mkfifo")
        .arg(&lock)
        .status()
        .expect("mkfifo(1)");
    assert!(status.success());
    env.init_cmd(&unique_profile("fifo-lock"))
        .arg("--no-verify")
        .spawn()
        .wait_within(Duration::from_secs(10))
        .code(6)
        .stderr_has("lock file")
        .stderr_has("is a FIFO (named pipe), not a regular file");
    fs::remove_file(&lock).unwrap();

    // A valid config of 2 MiB (a long comment): over the 1 MiB cap.
    fs::write(env.config_path(), format!("# {}\n", "x".repeat(2 << 20))).unwrap();
    set_mode(&env.config_path(), 0o600);
    env.cmd(&["list"])
        .run()
        .code(6)
        .stderr_has("more than the 1048576 bytes it may have, so it was not read");
}

// Today's binary runs out of memory on these (unbounded reads): run them only
// against a binary that caps its reads.
#[test]
fn a_link_to_dev_zero_and_a_sparse_2_gib_config_are_refused_unread() {
    let env = TestEnv::new();
    write_config_dir(&env, "");
    fs::remove_file(env.config_path()).unwrap();
    symlink("/dev/zero", env.config_path()).unwrap();
    env.cmd(&["list"])
        .spawn()
        .wait_within(Duration::from_secs(10))
        .code(6)
        .stderr_has("is a symbolic link");

    fs::remove_file(env.config_path()).unwrap();
    let sparse = fs::File::create(env.config_path()).unwrap();
    sparse.set_len(2 << 30).unwrap();
    set_mode(&env.config_path(), 0o600);
    env.cmd(&["list"])
        .spawn()
        .wait_within(Duration::from_secs(10))
        .code(6)
        .stderr_has(&format!(
            "is {} bytes, more than the 1048576 bytes",
            2u64 << 30
        ));
}

#[test]
fn a_cached_token_is_served_only_with_the_secret_it_was_issued_for() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let mut env = TestEnv::with_fake(&fake);
    let profile = unique_profile("bound-cache");
    env.init_cmd(&profile).run().code(0);
    let first = env.cmd(&["token", "--profile", &profile]).run();
    first.code(0);
    let token = first.stdout.trim_end().to_string();
    let entry = secret_tool_lookup("st-setup-token-cache", &profile).expect("a cache entry");
    assert!(entry.contains(&token));
    assert!(
        !entry.contains(&env.creds.client_secret),
        "never the secret itself"
    );
    // From here on, the cached token must not be printed.
    env.forbid(&token);

    // The secret deleted from the keyring: no token at all.
    secret_tool_clear("st-setup", &profile);
    let requests = fake.token_requests();
    env.cmd(&["token", "--profile", &profile])
        .run()
        .code(7)
        .stderr_has("missing from the OS keyring");

    // A wrong secret in ST_CLIENT_SECRET: asked for, and refused, by the server.
    let wrong = "cs1.wrongsecretwrongsecretwrongsecretwrongsecret0123";
    env.cmd(&["token", "--profile", &profile])
        .env("ST_CLIENT_SECRET", wrong)
        .forbid(wrong)
        .run()
        .code(3);
    assert_eq!(fake.token_requests(), requests + 1);

    // A forged entry (another token in a real entry's place) is not served.
    let forged = entry.replace(&token, "forged.token.value");
    secret_tool_store("st-setup", &profile, &env.creds.client_secret);
    secret_tool_store("st-setup-token-cache", &profile, &forged);
    let out = env.cmd(&["token", "--profile", &profile]).run();
    out.code(0).stdout_lacks("forged");
    assert_eq!(
        fake.token_requests(),
        requests + 2,
        "a new token was asked for"
    );
    let renewed = out.stdout.trim_end().to_string();

    // With the right secret back, the cache works as before.
    let again = env.cmd(&["token", "--profile", &profile]).run();
    again.code(0);
    assert_eq!(again.stdout.trim_end(), renewed);
    assert_eq!(fake.token_requests(), requests + 2, "served from the cache");
    secret_tool_clear("st-setup", &profile);
    secret_tool_clear("st-setup-token-cache", &profile);
}

#[test]
fn a_cached_tokens_expiry_is_capped_by_its_own_exp_claim() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("jwt-exp");
    env.init_cmd(&profile).run().code(0);
    // The server says 900 s; the token itself says it ends in 30 s.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"at+jwt"}"#),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"tenant":"8450","exp":{}}}"#, now + 30))
    );
    fake.push_fault(
        Route::Token,
        Fault::Status {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: format!(r#"{{"access_token":"{token}","expires_in":900,"token_type":"Bearer"}}"#)
                .into_bytes(),
        },
    );
    let before = fake.token_requests();
    env.cmd(&["token", "--profile", &profile])
        .run()
        .code(0)
        .stdout_has(&token);
    let next = env.cmd(&["token", "--profile", &profile]).run();
    next.code(0).stdout_lacks(&token);
    assert_eq!(
        fake.token_requests(),
        before + 2,
        "a token 30 s from its exp is not reused, whatever expires_in said"
    );
    secret_tool_clear("st-setup", &profile);
    secret_tool_clear("st-setup-token-cache", &profile);
}

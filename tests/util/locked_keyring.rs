//! A real gnome-keyring on a private D-Bus session bus, whose login
//! collection a test can lock: the "locked keyring" of a headless machine,
//! apart from the shared test keyring of scripts/test.
//!
//! [`PrivateKeyring::start`] starts a `dbus-daemon` with its own socket in a
//! temp dir, and on it a `gnome-keyring-daemon` whose HOME, XDG_DATA_HOME
//! (the `*.keyring` files) and XDG_RUNTIME_DIR (its control socket) are in
//! that temp dir too, so its login keyring is new, made with [`PASSWORD`]
//! given on stdin. A probe item is stored and read back with `secret-tool`
//! before the test gets it, unlocked; [`PrivateKeyring::lock`] then locks the
//! login collection through the Secret Service API and checks that the probe
//! can no longer be read.
//!
//! Unlocking needs a password prompt, which gnome-keyring asks the bus for
//! (`org.gnome.keyring.SystemPrompter`). [`Prompter`] says what answers: the
//! desktop's `gcr-prompter` with no display to show it on (it fails at once,
//! like on a headless machine), or a prompter that never answers (like a
//! prompt on a screen nobody looks at).
//!
//! Nothing started here outlives the keyring. Every process it starts is in
//! the process group the `dbus-daemon` leads (the services the bus activates,
//! and a gnome-keyring started by `--replace`, stay in it), carries
//! [`MARKER`] in its environment, and is ended and reaped on drop: the test
//! process becomes a child subreaper, so that orphans of the group are
//! re-parented to it and reaped here rather than left as zombies. Should the
//! test process die without dropping it, the bus and the daemon get SIGKILL
//! with it (`PR_SET_PDEATHSIG`), gnome-keyring exits when it loses its bus,
//! and the never-answering prompter gives up within a minute.

#![cfg(target_os = "linux")]
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The login keyring's password.
pub const PASSWORD: &str = "st-setup-locked-keyring-test-password";
/// The variable, set to the temp dir, that marks every process started here.
pub const MARKER: &str = "ST_SETUP_TEST_PRIVATE_KEYRING";
/// The collection gnome-keyring makes from the login password (alias `default`).
const LOGIN: &str = "/org/freedesktop/secrets/collection/login";
/// The item stored to check that the keyring works, then that it is locked.
const PROBE: [&str; 4] = ["service", "st-setup-locked-test", "username", "probe"];
const PROBE_VALUE: &str = "locked-keyring-probe-value";
/// The bound on every helper command (secret-tool, dbus-send, the daemons' start).
const STEP: Duration = Duration::from_secs(10);

/// What answers gnome-keyring's request for a password prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompter {
    /// The desktop's own prompter (gcr-prompter, from the system's D-Bus
    /// service files) with no display: it exits at once, so unlocking fails
    /// at once. Without gcr installed no prompter can be started at all,
    /// which fails the same way.
    NoDisplay,
    /// A prompter that is started but never shows up: unlocking waits.
    NeverAnswers,
}

pub struct PrivateKeyring {
    /// The bus address, for DBUS_SESSION_BUS_ADDRESS.
    pub address: String,
    bus: Child,
    /// The gnome-keyring-daemon started here (a `--replace`d one ends).
    daemon: Option<Child>,
    dir: tempfile::TempDir,
}

impl PrivateKeyring {
    /// A bus with a gnome-keyring whose login collection exists, holds the
    /// probe item and is unlocked.
    pub fn start(prompter: Prompter) -> PrivateKeyring {
        become_child_subreaper();
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["services", "home", "data", "config", "cache", "runtime"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        set_mode(&dir.path().join("runtime"), 0o700);
        write_prompter_services(dir.path(), prompter);
        let (bus, address) = start_bus(dir.path());
        // Built before the daemon starts, so that Drop cleans up if that fails.
        let mut keyring = PrivateKeyring {
            address,
            bus,
            daemon: None,
            dir,
        };
        keyring.daemon = Some(keyring.start_daemon());
        keyring.wait_for_the_secret_service();
        keyring.check_round_trip();
        keyring
    }

    /// The process group of everything started here (the bus leads it).
    pub fn process_group(&self) -> i32 {
        self.bus.id() as i32
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// The environment of every process started here: the keyring's own
    /// HOME and XDG directories, the bus, the marker, and nothing of the
    /// test's (no DISPLAY, so no prompt ever reaches a real screen).
    pub fn env(&self) -> Vec<(String, String)> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        let mut env = vec![
            (MARKER.to_string(), dir),
            ("DBUS_SESSION_BUS_ADDRESS".to_string(), self.address.clone()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
        ];
        env.extend(private_dirs(self.dir.path()));
        if let Ok(path) = std::env::var("PATH") {
            env.push(("PATH".to_string(), path));
        }
        env
    }

    /// A command in the keyring's environment and process group, with no stdin.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .envs(self.env())
            .process_group(self.process_group())
            .stdin(Stdio::null());
        command
    }

    fn start_daemon(&self) -> Child {
        let log = std::fs::File::create(self.path("gnome-keyring.log")).unwrap();
        let mut command = self.command("gnome-keyring-daemon");
        // --foreground keeps it our child; --unlock reads the password on
        // stdin and creates the login keyring with it (the default collection).
        command
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        super::dbus::die_with_this_thread(&mut command);
        let mut daemon = command
            .spawn()
            .expect("gnome-keyring-daemon (installed by scripts/test)");
        let mut stdin = daemon.stdin.take().unwrap();
        stdin.write_all(PASSWORD.as_bytes()).unwrap();
        drop(stdin);
        daemon
    }

    /// Wait until a Secret Service owns its name on this bus again: a
    /// `gnome-keyring-daemon --replace` run by [`Self::run_shell`] has exited
    /// when the daemon it started may not have claimed the name yet.
    pub fn wait_until_the_secret_service_is_back(&self) {
        let deadline = Instant::now() + STEP;
        while !self.secret_service_is_on_the_bus() {
            assert!(
                Instant::now() < deadline,
                "no daemon claimed org.freedesktop.secrets within {STEP:?}{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn secret_service_is_on_the_bus(&self) -> bool {
        self.dbus_send(&[
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ])
        .is_some_and(|out| out.contains("boolean true"))
    }

    fn wait_for_the_secret_service(&mut self) {
        let deadline = Instant::now() + STEP;
        loop {
            let daemon = self.daemon.as_mut().unwrap();
            if let Some(status) = daemon.try_wait().unwrap() {
                panic!(
                    "gnome-keyring-daemon exited during start-up ({status}){}",
                    self.logs()
                );
            }
            if self.secret_service_is_on_the_bus() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not claim org.freedesktop.secrets within {STEP:?}{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Store the probe, read it back: the keyring works, unlocked.
    fn check_round_trip(&self) {
        let alias = self
            .dbus_send(&[
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.ReadAlias",
                "string:default",
            ])
            .unwrap_or_default();
        assert!(
            alias.contains(LOGIN),
            "the login collection is not the default one: {alias}{}",
            self.logs()
        );
        assert!(!self.is_locked(), "the new login keyring is locked");
        let mut store = self.command("secret-tool");
        store.args(["store", "--label=st-setup locked-keyring probe"]);
        store.args(PROBE);
        let stored = run_within(store, Some(PROBE_VALUE.as_bytes()), STEP);
        assert!(
            stored
                .as_ref()
                .is_some_and(|(status, _, _)| status.success()),
            "secret-tool store failed: {stored:?}{}",
            self.logs()
        );
        assert_eq!(
            self.lookup(&PROBE).as_deref(),
            Some(PROBE_VALUE),
            "the probe did not round-trip{}",
            self.logs()
        );
    }

    /// Lock the login collection (Secret Service `Lock`, which needs no
    /// prompt), and check that it took: the collection says so, and the
    /// probe can no longer be read (secret-tool fails or gets no answer).
    pub fn lock(&self) {
        let reply = self.dbus_send(&[
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            &format!("array:objpath:{LOGIN}"),
        ]);
        assert!(
            reply.as_deref().is_some_and(|r| r.contains(LOGIN)),
            "Lock did not lock {LOGIN}: {reply:?}{}",
            self.logs()
        );
        assert!(self.is_locked(), "{LOGIN} is not locked after Lock");
        assert_eq!(
            self.lookup_within(&PROBE, Duration::from_secs(3)),
            None,
            "the probe can still be read from the locked keyring"
        );
    }

    /// The login collection's `Locked` property.
    pub fn is_locked(&self) -> bool {
        let reply = self
            .dbus_send(&[
                "--dest=org.freedesktop.secrets",
                LOGIN,
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ])
            .unwrap_or_else(|| panic!("could not read Locked of {LOGIN}{}", self.logs()));
        if reply.contains("boolean true") {
            true
        } else if reply.contains("boolean false") {
            false
        } else {
            panic!("unexpected reply for Locked: {reply}")
        }
    }

    /// `secret-tool lookup` in this keyring, by service and account.
    pub fn lookup_secret(&self, service: &str, account: &str) -> Option<String> {
        self.lookup(&["service", service, "username", account])
    }

    fn lookup(&self, attributes: &[&str]) -> Option<String> {
        self.lookup_within(attributes, STEP)
    }

    /// The value, or None when secret-tool fails or does not answer in time.
    fn lookup_within(&self, attributes: &[&str], limit: Duration) -> Option<String> {
        let mut lookup = self.command("secret-tool");
        lookup.arg("lookup").args(attributes);
        match run_within(lookup, None, limit) {
            Some((status, stdout, _)) if status.success() => Some(stdout),
            _ => None,
        }
    }

    /// Run `line` with `sh -c` the way a user would in this keyring's
    /// session, with KEYRING_PASSWORD set to its password; true if it ended
    /// with exit 0 within the step limit. Its output goes to a log.
    pub fn run_shell(&self, line: &str) -> bool {
        let log = std::fs::File::create(self.path("shell.log")).unwrap();
        let mut shell = self.command("sh");
        shell
            .args(["-c", line])
            .env("KEYRING_PASSWORD", PASSWORD)
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let mut child = shell.spawn().expect("sh");
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn dbus_send(&self, args: &[&str]) -> Option<String> {
        let mut command = self.command("dbus-send");
        command.args(["--session", "--print-reply"]).args(args);
        match run_within(command, None, STEP) {
            Some((status, stdout, _)) if status.success() => Some(stdout),
            _ => None,
        }
    }

    /// The logs of the bus, the daemon and the last shell line, for failure messages.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        for name in ["dbus.log", "gnome-keyring.log", "shell.log"] {
            if let Ok(log) = std::fs::read_to_string(self.path(name)) {
                text.push_str(&format!("\n--- {name} ---\n{log}"));
            }
        }
        text
    }

    /// The processes, alive or not yet reaped, of the keyring's process group.
    pub fn group_members(&self) -> Vec<String> {
        processes_in_group(self.process_group())
    }

    /// The temp dir, which is also the value of [`MARKER`].
    pub fn marker(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        let group = self.process_group();
        // SAFETY: kill(2) of the group the bus leads; the bus is our child
        // and not reaped yet, so the id cannot have been reused.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        reap_group(group);
        // Anything that left the group (none is known to) but has our marker.
        for (pid, _) in marked_processes(self.dir.path()) {
            // SAFETY: kill(2) of a process that carries this keyring's marker.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
            }
        }
        // Reaped above; these only make sure of it.
        if let Some(daemon) = &mut self.daemon {
            let _ = daemon.try_wait();
        }
        let _ = self.bus.try_wait();
    }
}

/// The dirs that keep gnome-keyring's files in `dir`.
fn private_dirs(dir: &Path) -> Vec<(String, String)> {
    [
        ("HOME", "home"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_RUNTIME_DIR", "runtime"),
    ]
    .into_iter()
    .map(|(key, sub)| {
        (
            key.to_string(),
            dir.join(sub).to_string_lossy().into_owned(),
        )
    })
    .collect()
}

fn write_prompter_services(dir: &Path, prompter: Prompter) {
    let services = dir.join("services");
    for name in [
        "org.gnome.keyring.SystemPrompter",
        "org.gnome.keyring.PrivatePrompter",
    ] {
        let file = format!("{name}.service");
        let text = match prompter {
            // The system's own file, which starts gcr-prompter; absent
            // without gcr, and then no prompter can be started at all.
            Prompter::NoDisplay => {
                match std::fs::read_to_string(Path::new("/usr/share/dbus-1/services").join(&file)) {
                    Ok(text) => text,
                    Err(_) => continue,
                }
            }
            // Started, but never takes its name: gnome-keyring's request for
            // a prompt waits on the bus. It ends with the bus, or after a
            // minute should it ever be left behind.
            Prompter::NeverAnswers => {
                let script = dir.join("never-answers.sh");
                std::fs::write(
                    &script,
                    format!(
                        "#!/bin/sh\ni=0\n\
                         while [ \"$i\" -lt 60 ] && [ -S '{bus}' ]; do sleep 1; i=$((i + 1)); done\n",
                        bus = dir.join("bus").display()
                    ),
                )
                .unwrap();
                format!(
                    "[D-BUS Service]\nName={name}\nExec=/bin/sh {}\n",
                    script.display()
                )
            }
        };
        std::fs::write(services.join(file), text).unwrap();
    }
}

/// A dbus-daemon on a socket in `dir`, leading its own process group; the
/// address it prints.
fn start_bus(dir: &Path) -> (Child, String) {
    let config = super::dbus::write_session_config(dir, &dir.join("bus"), &dir.join("services"));
    let log = std::fs::File::create(dir.join("dbus.log")).unwrap();
    let mut command = Command::new("dbus-daemon");
    command
        .arg(format!("--config-file={}", config.display()))
        // The services it starts get this environment: the keyring's dirs
        // and the marker, and no DISPLAY or WAYLAND_DISPLAY, so a prompter
        // never opens a window on the developer's screen.
        .env_clear()
        .env(MARKER, dir)
        .envs(private_dirs(dir))
        .env("LANG", "C.UTF-8")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // Not the test's stderr: the services it starts inherit it, and a
        // pipe held open after the test would count as a leak.
        .stderr(log);
    super::dbus::spawn_bus(command)
}

/// Orphans of the group (the bus's service starters once the bus is killed,
/// a daemon that forked away from its starter) are re-parented to this
/// process, so that `reap_group` can reap them: without it they go to PID 1,
/// which in some containers never reaps them.
fn become_child_subreaper() {
    // SAFETY: a prctl on this process with plain integer arguments.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "PR_SET_CHILD_SUBREAPER failed");
}

/// Wait (a few seconds at most) until no child of ours is left in `group`.
fn reap_group(group: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut status = 0;
        // SAFETY: waitpid(2) for any child of ours in `group`, not blocking.
        let pid = unsafe { libc::waitpid(-group, &mut status, libc::WNOHANG) };
        if pid > 0 {
            continue;
        }
        if pid < 0 || Instant::now() >= deadline {
            // No child left in the group (ECHILD), or out of patience.
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `pid state command` of every process, zombies too, whose process group is `group`.
pub fn processes_in_group(group: i32) -> Vec<String> {
    let mut found = Vec::new();
    for (pid, stat) in proc_entries("stat") {
        let stat = String::from_utf8_lossy(&stat).into_owned();
        // pid (comm) state ppid pgrp ...: comm may hold spaces and ')'.
        let Some((comm_end, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(group) {
            // The command line; a zombie has none left, only its name.
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let name = match cmdline.trim() {
                "" => format!("[{}]", comm_end.split_once('(').map_or("", |(_, c)| c)),
                line => line.to_string(),
            };
            found.push(format!("{pid} {} {name}", fields[0]));
        }
    }
    found
}

/// Live processes whose environment has `MARKER=dir`: pid and command line.
pub fn marked_processes(dir: &Path) -> Vec<(i32, String)> {
    let entry = format!("{MARKER}={}", dir.display()).into_bytes();
    let own = std::process::id() as i32;
    proc_entries("environ")
        .into_iter()
        .filter(|(pid, environ)| *pid != own && environ.split(|b| *b == 0).any(|e| e == entry))
        .map(|(pid, _)| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (pid, cmdline.trim().to_string())
        })
        .collect()
}

/// (pid, contents of /proc/PID/`file`) for every process that can be read.
fn proc_entries(file: &str) -> Vec<(i32, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, std::fs::read(format!("/proc/{pid}/{file}")).ok()?)))
        .collect()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Run `command` (stdin `input`), killing it after `limit`: its status,
/// stdout and stderr, or None if it had to be killed.
fn run_within(
    mut command: Command,
    input: Option<&[u8]>,
    limit: Duration,
) -> Option<(ExitStatus, String, String)> {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn a helper command");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input);
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Small outputs: they fit in the pipes, so reading after the end is safe.
    let mut stdout = String::new();
    let mut stderr = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut stdout);
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    Some((status, stdout, stderr))
}

//! Running the real `st-setup` binary in a sealed environment: a fresh config
//! directory, a cleared environment (only what the test sets, plus the D-Bus
//! session of the test keyring), and automatic checks that no secret ever
//! appears in what the program printed.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::fake_servicetitan::{Credentials, FakeServiceTitan};

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_st-setup"))
}

/// A profile name no other test in this run uses (the test keyring is shared).
pub fn unique_profile(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One test's world: its own config directory and the values it hands the binary.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub creds: Credentials,
    /// Strings that must never appear in stdout or stderr.
    secrets: Vec<String>,
    env: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let creds = Credentials::demo();
        TestEnv {
            secrets: vec![creds.client_secret.clone()],
            creds,
            dir,
            env: Vec::new(),
        }
    }

    /// A fresh world whose commands talk to `fake`.
    pub fn with_fake(fake: &FakeServiceTitan) -> TestEnv {
        let mut env = TestEnv::new();
        env.use_fake(fake);
        env
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn config_path(&self) -> PathBuf {
        self.config_dir().join("config.toml")
    }

    pub fn config_text(&self) -> Option<String> {
        std::fs::read_to_string(self.config_path()).ok()
    }

    /// Hold the config lock the way another `init` saving at the same moment
    /// would (`.config.lock` in the config directory, flock), creating the
    /// directory as st-setup does. Returns the held file and its canonical path.
    #[cfg(unix)]
    pub fn hold_config_lock(&self) -> (std::fs::File, std::path::PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.config_dir();
        if !dir.exists() {
            std::fs::create_dir(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let path = dir.join(".config.lock");
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        lock.try_lock().expect("nothing else holds the config lock");
        (lock, path.canonicalize().unwrap())
    }

    /// Also refuse `value` in anything printed (for example a second secret).
    pub fn forbid(&mut self, value: &str) {
        self.secrets.push(value.to_string());
    }

    /// Set an environment variable for every command of this test.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.into(), value.into()));
    }

    /// Point every command at `fake`.
    pub fn use_fake(&mut self, fake: &FakeServiceTitan) {
        self.set_env("ST_AUTH_URL", &fake.auth_url());
        self.set_env("ST_API_URL", &fake.api_url());
    }

    pub fn cmd(&self, args: &[&str]) -> Cmd {
        let mut envs: Vec<(String, Option<String>)> = Vec::new();
        for key in [
            "PATH",
            "DBUS_SESSION_BUS_ADDRESS",
            "XDG_RUNTIME_DIR",
            "LANG",
            "LLVM_PROFILE_FILE",
            // Windows cannot start networking (or much else) without it.
            "SYSTEMROOT",
        ] {
            if let Ok(value) = std::env::var(key) {
                envs.push((key.into(), Some(value)));
            }
        }
        let home = self.dir.path().to_string_lossy().into_owned();
        let config = self.config_dir().to_string_lossy().into_owned();
        envs.push(("HOME".into(), Some(home)));
        envs.push(("ST_SETUP_CONFIG_DIR".into(), Some(config)));
        envs.push(("ST_KEYRING_TIMEOUT".into(), Some("10".into())));
        for (k, v) in &self.env {
            envs.push((k.clone(), Some(v.clone())));
        }
        Cmd {
            args: args.iter().map(|a| a.to_string()).collect(),
            wrapper: Vec::new(),
            envs,
            stdin: None,
            secrets: self.secrets.clone(),
        }
    }

    /// Arguments for a complete non-interactive init of `profile` with the demo credentials.
    pub fn init_args(&self, profile: &str) -> Vec<String> {
        [
            "init",
            "--non-interactive",
            "--profile",
            profile,
            "--environment",
            "integration",
            "--tenant",
            &self.creds.tenant_id,
            "--app-key",
            &self.creds.app_key,
            "--client-id",
            &self.creds.client_id,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}

impl TestEnv {
    /// `init --non-interactive` of `profile` with the demo credentials (secret
    /// from ST_CLIENT_SECRET), ready for more arguments.
    pub fn init_cmd(&self, profile: &str) -> Cmd {
        let args = self.init_args(profile);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.cmd(&args)
            .env("ST_CLIENT_SECRET", &self.creds.client_secret)
    }
}

pub struct Cmd {
    pub args: Vec<String>,
    /// A program (and its arguments) that runs st-setup, like `unshare --net --`.
    wrapper: Vec<String>,
    envs: Vec<(String, Option<String>)>,
    stdin: Option<Vec<u8>>,
    secrets: Vec<String>,
}

impl Cmd {
    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.envs.push((key.into(), Some(value.into())));
        self
    }

    pub fn env_remove(mut self, key: &str) -> Cmd {
        self.envs.push((key.into(), None));
        self
    }

    pub fn arg(mut self, arg: &str) -> Cmd {
        self.args.push(arg.into());
        self
    }

    /// Replace the value that follows `flag`.
    pub fn args_override(mut self, flag: &str, value: &str) -> Cmd {
        let at = self
            .args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} not in {:?}", self.args));
        self.args[at + 1] = value.into();
        self
    }

    /// Remove `flag` and its value.
    pub fn args_remove(mut self, flag: &str) -> Cmd {
        if let Some(at) = self.args.iter().position(|a| a == flag) {
            self.args.drain(at..at + 2);
        }
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    /// Run st-setup through `wrapper` (a program and its arguments).
    pub fn wrapped_in(mut self, wrapper: &[&str]) -> Cmd {
        self.wrapper = wrapper.iter().map(|a| a.to_string()).collect();
        self
    }

    /// The `std::process::Command` this would run.
    pub fn command(&self) -> Command {
        let mut command = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary());
                command
            }
            None => Command::new(binary()),
        };
        command.args(&self.args).env_clear();
        for (k, v) in &self.envs {
            match v {
                Some(v) => command.env(k, v),
                None => command.env_remove(k),
            };
        }
        command
    }

    /// All four values from the environment (integration), as CI gives them,
    /// and no keyring reachable at all (not even the developer's own).
    pub fn values_from_env(self, creds: &Credentials) -> Cmd {
        self.env("ST_ENVIRONMENT", "integration")
            .env("ST_TENANT_ID", &creds.tenant_id)
            .env("ST_APP_KEY", &creds.app_key)
            .env("ST_CLIENT_ID", &creds.client_id)
            .env("ST_CLIENT_SECRET", &creds.client_secret)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/st-setup-test-bus",
            )
    }

    /// Allow secrets on stdout (export --include-secret, exec children).
    pub fn allow_secret_on_stdout(mut self) -> Cmd {
        self.secrets.clear();
        self
    }

    /// Also refuse `value` in what this command prints.
    pub fn forbid(mut self, value: &str) -> Cmd {
        self.secrets.push(value.to_string());
        self
    }

    /// Run to the end; fails the test if a secret appears in the output.
    pub fn run(self) -> Output {
        self.spawn().wait()
    }

    /// [`Cmd::run`], but fail the test (after killing the program) if it is
    /// still running after `limit`: a hang ends the test instead of stalling it.
    pub fn run_within(self, limit: Duration) -> Output {
        self.spawn().wait_within(limit)
    }

    /// Start the program and return at once (for concurrent runs and kills).
    pub fn spawn(mut self) -> Running {
        let mut command = self.command();
        command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn().expect("spawn st-setup");
        // Stdin is fed and both pipes are drained on their own threads, as
        // ripgrep's harness does: a program that prints more than a pipe
        // holds (64 KiB) before reading its input, or while the test polls
        // for its end, never blocks on the test.
        if let Some(bytes) = self.stdin.take() {
            let mut pipe = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                // The program may exit before reading; a broken pipe is fine.
                let _ = pipe.write_all(&bytes);
            });
        }
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        Running {
            child,
            started,
            secrets: self.secrets,
            stdout,
            stderr,
        }
    }
}

/// Read `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// A started `st-setup`.
pub struct Running {
    child: Child,
    started: Instant,
    secrets: Vec<String>,
    stdout: std::thread::JoinHandle<Vec<u8>>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

impl Running {
    /// The process id (st-setup's own, also through a wrapper that execs it).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Send `signal` (a name such as `INT`) with kill(1).
    #[cfg(unix)]
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// SIGKILL on Unix: no clean-up code of the program runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Whether the program has one of its descriptors open on `path` (it
    /// compares the targets of /proc/PID/fd, so give a canonical path).
    #[cfg(target_os = "linux")]
    pub fn has_open(&self, path: &std::path::Path) -> bool {
        process_has_open(self.child.id(), path)
    }

    /// Wait for the end like [`Running::wait`], but fail the test (after
    /// killing the program) if it is still running after `limit`.
    pub fn wait_within(mut self, limit: Duration) -> Output {
        let deadline = Instant::now() + limit;
        while self.child.try_wait().expect("poll st-setup").is_none() {
            if Instant::now() >= deadline {
                self.kill();
                let out = self.wait();
                panic!("still running after {limit:?}, so it was killed:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.wait()
    }

    /// Wait for the end; fails the test if a secret appears in the output.
    pub fn wait(mut self) -> Output {
        let status = self.child.wait().expect("wait for st-setup");
        let stdout = self.stdout.join().expect("read stdout");
        let stderr = self.stderr.join().expect("read stderr");
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(&status);
        #[cfg(not(unix))]
        let signal = None;
        let output = Output {
            code: status.code().unwrap_or(-1),
            signal,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed: self.started.elapsed(),
        };
        for secret in &self.secrets {
            assert!(
                !output.stdout.contains(secret.as_str())
                    && !output.stderr.contains(secret.as_str()),
                "a secret appeared in the output:\n{output}"
            );
        }
        output
    }
}

pub struct Output {
    /// The exit code, or -1 when a signal ended the program.
    pub code: i32,
    /// The signal that ended the program, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- ({:?})",
            self.code, self.stdout, self.stderr, self.elapsed
        )
    }
}

impl Output {
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Output {
        assert_eq!(self.code, expected, "unexpected exit code\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Output {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Output {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Output {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Output {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn within(&self, limit: Duration) -> &Output {
        assert!(
            self.elapsed <= limit,
            "took {:?}, limit {limit:?}\n{self}",
            self.elapsed
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e})\n{self}"))
    }
}

/// Read a secret from the test keyring with `secret-tool`, independently of st-setup.
pub fn secret_tool_lookup(service: &str, account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()
        .expect("secret-tool is installed by scripts/test");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Store a secret with `secret-tool` (to prepare a keyring state).
pub fn secret_tool_store(service: &str, account: &str, value: &str) {
    let mut child = Command::new("secret-tool")
        .args([
            "store",
            "--label",
            "st-setup test",
            "service",
            service,
            "username",
            account,
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// The keyring holds `secret` for `profile`, read independently with secret-tool.
#[track_caller]
pub fn assert_keyring_holds(profile: &str, secret: &str) {
    assert_eq!(
        secret_tool_lookup("st-setup", profile).as_deref(),
        Some(secret),
        "keyring entry of {profile}"
    );
}

pub fn secret_tool_clear(service: &str, account: &str) {
    let _ = Command::new("secret-tool")
        .args(["clear", "service", service, "username", account])
        .status();
}

/// The keyring tests need the throwaway Secret Service that scripts/test starts;
/// without it they fail loudly rather than skip.
#[track_caller]
pub fn require_keyring() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "this test needs the real gnome-keyring session: run it with scripts/test"
    );
}

/// File mode bits.
#[cfg(unix)]
pub fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Whether process `pid` has one of its descriptors open on `path` (it
/// compares the targets of /proc/PID/fd, so give a canonical path).
#[cfg(target_os = "linux")]
pub fn process_has_open(pid: u32, path: &std::path::Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

/// Whether a process other than this test has `path` open (for a program
/// whose pid the test cannot see, such as one in a pseudo-terminal).
#[cfg(target_os = "linux")]
pub fn another_process_has_open(path: &std::path::Path) -> bool {
    let me = std::process::id().to_string();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return false;
    };
    processes.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        name != me.as_str()
            && name.bytes().all(|b| b.is_ascii_digit())
            && name.parse().is_ok_and(|pid| process_has_open(pid, path))
    })
}

/// Notices when a process opens a file (inotify `IN_OPEN`). Unlike reading
/// /proc/PID/fd, this works for st-setup, which makes itself not dumpable
/// (so that another process of the same user, this test included unless it
/// runs as root, cannot look at its descriptors).
#[cfg(target_os = "linux")]
pub struct OpenWatch(std::os::fd::OwnedFd);

#[cfg(target_os = "linux")]
impl OpenWatch {
    /// Watch `path` from now on (opens before this are not seen).
    pub fn new(path: &std::path::Path) -> OpenWatch {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: inotify calls with a descriptor we then own and a C string.
        unsafe {
            let fd = libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK);
            assert!(
                fd >= 0,
                "inotify_init1: {}",
                std::io::Error::last_os_error()
            );
            let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
            let watch = libc::inotify_add_watch(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                name.as_ptr(),
                libc::IN_OPEN,
            );
            assert!(
                watch >= 0,
                "inotify_add_watch: {}",
                std::io::Error::last_os_error()
            );
            OpenWatch(fd)
        }
    }

    /// Whether the file was opened since the watch began (or the last call
    /// that said so).
    pub fn opened(&self) -> bool {
        let mut buf = [0u8; 4096];
        // SAFETY: read into a buffer we own, on our non-blocking descriptor.
        let n = unsafe {
            libc::read(
                std::os::fd::AsRawFd::as_raw_fd(&self.0),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        n > 0
    }
}

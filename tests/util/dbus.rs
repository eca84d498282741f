//! A private D-Bus session bus (a real `dbus-daemon`) for keyring failure
//! tests: a bus on which the Secret Service name can be activated but never
//! answers, the way a hung or locked keyring behaves.
//!
//! Nothing started here outlives the [`PrivateBus`]: the daemon leads its own
//! process group, which the service it activates joins, and dropping the bus
//! kills that whole group. Should the test process die without dropping it,
//! the daemon gets SIGKILL with it (`PR_SET_PDEATHSIG`) and the activated
//! service gives up within a minute on its own.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct PrivateBus {
    daemon: Child,
    pub address: String,
    /// Created when a client's call started the Secret Service.
    activated: PathBuf,
    _dir: tempfile::TempDir,
}

impl PrivateBus {
    /// A session bus where asking for `org.freedesktop.secrets` starts a
    /// service that never takes the name: every Secret Service call waits.
    pub fn with_a_secret_service_that_never_answers() -> PrivateBus {
        let dir = tempfile::tempdir().expect("temp dir");
        let services = dir.path().join("services");
        std::fs::create_dir(&services).unwrap();
        let activated = dir.path().join("activated");
        let socket = dir.path().join("bus");
        // The "service" notes that it was started, then waits instead of
        // claiming its name; dbus-daemon keeps the caller waiting until its
        // activation timeout (a minute, below). It is killed with the bus;
        // the loop only bounds it should that never happen.
        let helper = dir.path().join("never-answers.sh");
        std::fs::write(
            &helper,
            format!(
                "#!/bin/sh\n\
                 : > '{activated}'\n\
                 i=0\n\
                 while [ \"$i\" -lt 70 ] && [ -S '{socket}' ]; do sleep 1; i=$((i + 1)); done\n",
                activated = activated.display(),
                socket = socket.display(),
            ),
        )
        .unwrap();
        std::fs::write(
            services.join("org.freedesktop.secrets.service"),
            format!(
                "[D-BUS Service]\nName=org.freedesktop.secrets\nExec=/bin/sh {}\n",
                helper.display()
            ),
        )
        .unwrap();
        PrivateBus::start(dir, &services, &socket, activated)
    }

    /// Whether a client has called the Secret Service on this bus yet (its
    /// activation started). From then on that client is inside the call.
    pub fn secret_service_was_asked_for(&self) -> bool {
        self.activated.exists()
    }

    fn start(
        dir: tempfile::TempDir,
        services: &Path,
        socket: &Path,
        activated: PathBuf,
    ) -> PrivateBus {
        let config = write_session_config(dir.path(), socket, services);
        let mut command = Command::new("dbus-daemon");
        command
            .arg(format!("--config-file={}", config.display()))
            // Not the test's stderr: the activated service inherits it, and a
            // pipe held open after the test would count as a leak.
            .stderr(Stdio::null());
        let (daemon, address) = spawn_bus(command);
        PrivateBus {
            daemon,
            address,
            activated,
            _dir: dir,
        }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        // The whole group: the daemon, its babysitter and the service.
        let group = self.daemon.id() as libc::pid_t;
        // SAFETY: a plain kill(2) of the process group the daemon leads (it
        // is not reaped yet, so its id cannot have been reused).
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Start `command`, a dbus-daemon whose config file, environment and stderr
/// the caller chose, and return it with the address it prints. It leads its
/// own process group (the services it activates, through its babysitter
/// process, stay in it, so one kill ends them all) and gets SIGKILL when the
/// test's thread ends, should nobody kill it before.
pub fn spawn_bus(mut command: Command) -> (Child, String) {
    command
        .args(["--nofork", "--print-address"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0);
    die_with_this_thread(&mut command);
    let mut bus = command
        .spawn()
        .expect("dbus-daemon (installed by scripts/test)");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .expect("dbus-daemon prints its address");
    let address = address.trim().to_string();
    if !address.starts_with("unix:") {
        let _ = bus.kill();
        let _ = bus.wait();
        panic!("dbus-daemon did not start: {address:?}");
    }
    (bus, address)
}

/// SIGKILL for the child when the thread that started it ends (the test's
/// thread, which also drops what owns the child), should Drop never run.
pub fn die_with_this_thread(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Write a session-bus config in `dir` listening on `socket` and activating
/// the services described in `services`; returns its path.
pub fn write_session_config(dir: &Path, socket: &Path, services: &Path) -> PathBuf {
    let config = dir.join("session.conf");
    std::fs::write(
        &config,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{services}</servicedir>
  <limit name="service_start_timeout">60000</limit>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            socket = socket.display(),
            services = services.display(),
        ),
    )
    .unwrap();
    config
}

//! A private D-Bus session bus (a real `dbus-daemon`) for keyring failure
//! tests: a bus on which the Secret Service name can be activated but never
//! answers, the way a hung or locked keyring behaves.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct PrivateBus {
    daemon: Child,
    pub address: String,
    _dir: tempfile::TempDir,
}

impl PrivateBus {
    /// A session bus where asking for `org.freedesktop.secrets` starts a
    /// service that never takes the name: every Secret Service call waits.
    pub fn with_a_secret_service_that_never_answers() -> PrivateBus {
        let dir = tempfile::tempdir().expect("temp dir");
        let services = dir.path().join("services");
        std::fs::create_dir(&services).unwrap();
        // The "service" sleeps instead of claiming its name; dbus-daemon keeps
        // the caller waiting until its activation timeout (a minute, below).
        std::fs::write(
            services.join("org.freedesktop.secrets.service"),
            "[D-BUS Service]\nName=org.freedesktop.secrets\nExec=/bin/sleep 90\n",
        )
        .unwrap();
        PrivateBus::start(dir, &services)
    }

    fn start(dir: tempfile::TempDir, services: &Path) -> PrivateBus {
        let config = dir.path().join("session.conf");
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
                socket = dir.path().join("bus").display(),
                services = services.display(),
            ),
        )
        .unwrap();
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Not the test's stderr: the activated service inherits it, and a
            // pipe held open after the test would count as a leak.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (installed by scripts/test)");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .expect("dbus-daemon prints its address");
        let address = address.trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon did not start: {address:?}"
        );
        PrivateBus {
            daemon,
            address,
            _dir: dir,
        }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

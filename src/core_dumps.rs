//! No core dumps: a core file (or a debugger attached by another process of
//! the same user) would hold the Client Secret and access tokens in clear.
//! From the first thing `main` does, the core file size limit is 0 (Linux and
//! macOS) and, on Linux, the process is not dumpable (`PR_SET_DUMPABLE` 0:
//! no core even for a limit raised later, and no ptrace or /proc/PID/mem
//! for other processes of the same user).
//!
//! `exec` gives the command it becomes the core limit st-setup was started
//! with ([`restore_for_exec`]); the kernel makes it dumpable again at exec.

#[cfg(unix)]
mod imp {
    use std::sync::OnceLock;

    /// The core file size limit st-setup was started with.
    static STARTED_WITH: OnceLock<libc::rlimit> = OnceLock::new();

    pub(crate) fn forbid() {
        // SAFETY: getrlimit/setrlimit/prctl on this process with structs we own.
        unsafe {
            let mut limit: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
                let _ = STARTED_WITH.set(limit);
                // The hard limit stays, so that `exec` can hand the soft one back.
                let none = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: limit.rlim_max,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &none);
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
    }

    pub(crate) fn restore_for_exec() {
        if let Some(limit) = STARTED_WITH.get() {
            // SAFETY: setrlimit with a struct read by getrlimit.
            unsafe {
                libc::setrlimit(libc::RLIMIT_CORE, limit);
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub(crate) fn forbid() {}

    pub(crate) fn restore_for_exec() {}
}

/// Core file size limit 0 and (Linux) not dumpable, for the rest of the run.
pub(crate) use imp::forbid;
/// Just before `exec` becomes the command: the core limit st-setup started with.
pub(crate) use imp::restore_for_exec;

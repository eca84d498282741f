//! Ctrl-C and friends.
//!
//! Prompts turn terminal echo off (for the secret) or switch to raw mode; if
//! SIGINT killed the process there, the user's shell would be left without
//! echo. So the wizard installs a handler that puts the terminal back as it was
//! found and exits with 130. `exec` instead passes SIGINT/SIGTERM/SIGHUP on to
//! its child and waits for the child to decide.
//!
//! Handlers only make async-signal-safe calls (tcsetattr, write, kill, _exit).

#[cfg(unix)]
mod imp {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI32, Ordering};

    static SAVED_TERMINAL: OnceLock<libc::termios> = OnceLock::new();
    static CHILD: AtomicI32 = AtomicI32::new(0);

    const INTERRUPTED: &[u8] = b"\x1b[?25h\ninterrupted: nothing was saved\n";

    extern "C" fn restore_and_exit(_signal: libc::c_int) {
        // SAFETY: only async-signal-safe calls; SAVED_TERMINAL was set before
        // the handler was installed and is never written again.
        unsafe {
            if let Some(termios) = SAVED_TERMINAL.get() {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, termios);
            }
            libc::write(
                libc::STDERR_FILENO,
                INTERRUPTED.as_ptr().cast(),
                INTERRUPTED.len(),
            );
            libc::_exit(130);
        }
    }

    extern "C" fn forward(signal: libc::c_int) {
        let pid = CHILD.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    pub fn restore_terminal_on_interrupt() {
        // SAFETY: tcgetattr writes into the zeroed struct we own; signal()
        // installs a handler that only makes async-signal-safe calls.
        unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut termios) == 0 {
                let _ = SAVED_TERMINAL.set(termios);
            }
            let handler = restore_and_exit as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
            libc::signal(libc::SIGHUP, handler);
        }
    }

    pub fn forward_to_child(pid: u32) {
        CHILD.store(pid as i32, Ordering::SeqCst);
        // SAFETY: the handler only calls kill().
        unsafe {
            let handler = forward as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
            libc::signal(libc::SIGHUP, handler);
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub fn restore_terminal_on_interrupt() {}
    pub fn forward_to_child(_pid: u32) {}
}

pub use imp::{forward_to_child, restore_terminal_on_interrupt};

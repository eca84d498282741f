//! Ctrl-C and friends.
//!
//! Prompts turn terminal echo off (for the secret) or switch to raw mode; if
//! SIGINT killed the process there, the user's shell would be left without
//! echo. So the wizard installs a handler that puts the terminal back as it was
//! found and exits with 130. `exec` instead passes SIGINT/SIGTERM/SIGHUP on to
//! its child (those sent to st-setup alone; the terminal's ^C already reaches
//! the child) and waits for the child to decide.
//!
//! While a profile is being saved (keyring entry, then config file), these
//! signals are held back: an exit between the two writes would leave a secret
//! without its profile. `init` looks at what arrived once the save is over.
//!
//! Handlers only make async-signal-safe calls (tcsetattr, write, kill, _exit)
//! or store to an atomic.

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

    /// Pass a signal on to `exec`'s child, unless the kernel sent it to the
    /// whole foreground process group (^C typed at the terminal, a hangup):
    /// the child, in the same group, got its own copy, and a second one would
    /// read as "press Ctrl-C again to force quit" to many programs.
    extern "C" fn forward(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        _context: *mut libc::c_void,
    ) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t.
        if !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL {
            return;
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = info;
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

    static PENDING: AtomicI32 = AtomicI32::new(0);

    extern "C" fn note_pending(signal: libc::c_int) {
        PENDING.store(signal, Ordering::SeqCst);
    }

    const HELD: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// SIGINT, SIGTERM and SIGHUP only noted until [`Held::release`].
    pub struct Held {
        previous: [libc::sighandler_t; 3],
    }

    pub fn hold_interrupts() -> Held {
        PENDING.store(0, Ordering::SeqCst);
        let mut previous = [libc::SIG_DFL; 3];
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            let handler = note_pending as extern "C" fn(libc::c_int) as libc::sighandler_t;
            for (slot, signal) in previous.iter_mut().zip(HELD) {
                *slot = libc::signal(signal, handler);
            }
        }
        Held { previous }
    }

    impl Held {
        /// Put the handlers back; true when a signal arrived meanwhile.
        pub fn release(self) -> bool {
            // SAFETY: reinstalls the handlers that were there before.
            unsafe {
                for (handler, signal) in self.previous.into_iter().zip(HELD) {
                    if handler != libc::SIG_ERR {
                        libc::signal(signal, handler);
                    }
                }
            }
            PENDING.swap(0, Ordering::SeqCst) != 0
        }
    }

    pub fn forward_to_child(pid: u32) {
        CHILD.store(pid as i32, Ordering::SeqCst);
        // SAFETY: the handler reads its siginfo and calls kill(); the
        // sigaction struct is zeroed and then filled in completely.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = forward
                as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            for signal in HELD {
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub fn restore_terminal_on_interrupt() {}
    pub fn forward_to_child(_pid: u32) {}

    pub struct Held;

    pub fn hold_interrupts() -> Held {
        Held
    }

    impl Held {
        pub fn release(self) -> bool {
            false
        }
    }
}

pub use imp::{Held, forward_to_child, hold_interrupts, restore_terminal_on_interrupt};

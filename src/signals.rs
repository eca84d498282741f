//! Ctrl-C and friends (SIGINT, SIGTERM, SIGHUP) in `init`.
//!
//! Prompts turn terminal echo off (for the secret) or switch to raw mode; if
//! SIGINT killed the process there, the user's shell would be left without
//! echo. So the wizard installs a handler that puts the terminal back as it was
//! found, says that nothing was saved, and exits with 130.
//!
//! While a profile is being saved (keyring entry, then config file), these
//! signals are only noted (and a second one quits at once, for a person who
//! will not wait for a keyring to time out): an exit between the two writes would leave a secret
//! without its profile, and "nothing was saved" would be untrue once the save
//! has finished. The signals never go back to the wizard's handler after a
//! save: [`Held::release`] leaves them at their default action, and `init`
//! reports one that arrived during the save.
//!
//! (`exec` needs nothing from here: on Unix it becomes the command, see
//! `commands::exec`.)
//!
//! Handlers only make async-signal-safe calls (tcsetattr, write, _exit) or
//! store to an atomic.

#[cfg(unix)]
mod imp {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI32, Ordering};

    static SAVED_TERMINAL: OnceLock<libc::termios> = OnceLock::new();
    static PENDING: AtomicI32 = AtomicI32::new(0);

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    const INTERRUPTED: &[u8] = b"\ninterrupted: nothing was saved\n";
    const FINISHING: &[u8] =
        b"\nfinishing the save first (interrupt again to quit at once, which may leave it half done)\n";
    const CUT_SHORT: &[u8] = b"\ninterrupted again: quit during the save; \
        `st-setup check --all` shows what was stored\n";

    /// Put the terminal back as it was found (echo on, cursor shown).
    /// Async-signal-safe.
    fn restore_terminal() {
        const SHOW_CURSOR: &[u8] = b"\x1b[?25h";
        // SAFETY: only async-signal-safe calls; SAVED_TERMINAL is set before
        // any handler is installed and never written again.
        unsafe {
            if let Some(termios) = SAVED_TERMINAL.get() {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, termios);
                say(SHOW_CURSOR);
            }
        }
    }

    /// Write to stderr from a handler. Async-signal-safe.
    fn say(message: &[u8]) {
        // SAFETY: write(2) is async-signal-safe; the buffer is a static.
        unsafe {
            libc::write(libc::STDERR_FILENO, message.as_ptr().cast(), message.len());
        }
    }

    extern "C" fn restore_and_exit(_signal: libc::c_int) {
        restore_terminal();
        say(INTERRUPTED);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) }
    }

    /// During a save: note the first signal and say the save goes on; a
    /// second one means the person will not wait, so quit at once.
    extern "C" fn note_pending(signal: libc::c_int) {
        if PENDING.swap(signal, Ordering::SeqCst) == 0 {
            say(FINISHING);
            return;
        }
        restore_terminal();
        say(CUT_SHORT);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) }
    }

    /// Install `handler` (or SIG_DFL) for SIGINT, SIGTERM and SIGHUP with
    /// sigaction: unlike signal(), it stays installed after the first signal
    /// on every Unix, and SA_RESTART lets interrupted reads and writes go on.
    /// A signal that is ignored (nohup, a background job without job
    /// control) stays ignored: whoever started st-setup chose that.
    fn install(handler: libc::sighandler_t) {
        // SAFETY: the sigaction structs are zeroed and then filled in
        // completely (or by the kernel); the handlers passed in only make
        // async-signal-safe calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            for signal in SIGNALS {
                let mut current: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut current) == 0
                    && current.sa_sigaction == libc::SIG_IGN
                {
                    continue;
                }
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }

    pub fn restore_terminal_on_interrupt() {
        // SAFETY: tcgetattr writes into the zeroed struct we own.
        unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut termios) == 0 {
                let _ = SAVED_TERMINAL.set(termios);
            }
        }
        install(restore_and_exit as extern "C" fn(libc::c_int) as libc::sighandler_t);
    }

    /// SIGINT, SIGTERM and SIGHUP are only noted until [`Held::release`]
    /// (a second one quits at once).
    pub struct Held(());

    pub fn hold_interrupts() -> Held {
        PENDING.store(0, Ordering::SeqCst);
        install(note_pending as extern "C" fn(libc::c_int) as libc::sighandler_t);
        Held(())
    }

    impl Held {
        /// The save is over: true when a signal arrived during it. From here
        /// on the signals have their default action (the process ends), not
        /// the wizard's handler, whose "nothing was saved" may no longer be
        /// true. A noted signal is consumed here, never delivered again.
        pub fn release(self) -> bool {
            install(libc::SIG_DFL);
            PENDING.swap(0, Ordering::SeqCst) != 0
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub fn restore_terminal_on_interrupt() {}

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

pub use imp::{Held, hold_interrupts, restore_terminal_on_interrupt};

//! Ctrl-C and friends (SIGINT, SIGTERM, SIGHUP) in `init`.
//!
//! Prompts turn terminal echo off (for the secret) or switch to raw mode; if
//! SIGINT killed the process there, the user's shell would be left without
//! echo. So the wizard installs a handler that puts the terminal back as it was
//! found, says that nothing was saved, and then dies by the same signal (its
//! default action, raised again), so that a shell sees what happened (130
//! for SIGINT, 143 for SIGTERM, 129 for SIGHUP) and a script that ran
//! `st-setup init` stops as it would for any other program. Ctrl-C read as
//! a key by a prompt in raw mode (where the terminal sends no signal, and the
//! prompt raises SIGINT for st-setup alone, or reports an interrupted read)
//! also goes to the whole foreground process group, as the terminal's own
//! Ctrl-C would.
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
//! Handlers only make async-signal-safe calls (tcsetattr, write, sigaction,
//! sigprocmask, raise, _exit) or store to an atomic.

#[cfg(unix)]
mod imp {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI32, Ordering};

    static SAVED_TERMINAL: OnceLock<libc::termios> = OnceLock::new();
    static PENDING: AtomicI32 = AtomicI32::new(0);
    /// The signal that interrupted the run, to die by at its end (0: none).
    static INTERRUPTED_BY: AtomicI32 = AtomicI32::new(0);
    /// The interruption was Ctrl-C read as a key, which the terminal did not
    /// turn into a signal for the foreground process group.
    static FROM_A_KEY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

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

    /// End the process by `signal`'s default action, as if st-setup had
    /// never handled it (the exit status then says which signal it was).
    /// Async-signal-safe.
    fn die_by(signal: libc::c_int) -> ! {
        // SAFETY: sigaction, sigprocmask, raise and _exit are
        // async-signal-safe; the structs are zeroed and filled in.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
            // A handler runs with its signal blocked: unblock it, or the
            // raised signal would wait for the handler to return.
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signal);
            // Only if the signal did not end the process after all.
            libc::_exit(128 + signal)
        }
    }

    extern "C" fn restore_and_exit(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        _context: *mut libc::c_void,
    ) {
        // In raw mode the terminal sends no SIGINT for Ctrl-C: the prompt
        // reads the key and raises SIGINT for st-setup alone.
        // SAFETY: `info` comes from the kernel (SA_SIGINFO), or is null.
        let read_as_a_key = signal == libc::SIGINT && unsafe { sent_by_this_process(info) };
        restore_terminal();
        say(INTERRUPTED);
        if read_as_a_key {
            to_the_foreground_group(signal);
        }
        die_by(signal)
    }

    /// Whether this process sent the signal to itself. Async-signal-safe.
    ///
    /// # Safety
    /// `info` is null or the siginfo the kernel passed to an SA_SIGINFO handler.
    unsafe fn sent_by_this_process(info: *const libc::siginfo_t) -> bool {
        if info.is_null() {
            return false;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        // SAFETY: per this function's contract.
        let sender = unsafe { (*info).si_pid() };
        #[cfg(target_os = "macos")]
        // SAFETY: per this function's contract.
        let sender = unsafe { (*info).si_pid };
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
        let sender = 0;
        // SAFETY: getpid is async-signal-safe.
        sender != 0 && sender == unsafe { libc::getpid() }
    }

    /// Send `signal` to this process group, as the terminal does for a
    /// Ctrl-C it turns into SIGINT: a script that ran st-setup (same group,
    /// no job control) then stops too. Only when this group is the
    /// terminal's foreground group. Async-signal-safe; `signal` must be
    /// blocked in the calling thread. Its default action is set first, so
    /// that whichever thread of st-setup gets this copy, it ends the process.
    fn to_the_foreground_group(signal: libc::c_int) {
        // SAFETY: tcgetpgrp, getpgrp, sigaction and kill are async-signal-safe.
        unsafe {
            let group = libc::tcgetpgrp(libc::STDIN_FILENO);
            if group > 0 && group == libc::getpgrp() {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = libc::SIG_DFL;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
                libc::kill(0, signal);
            }
        }
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
        die_by(signal)
    }

    /// Install `handler` (or SIG_DFL) for SIGINT, SIGTERM and SIGHUP with
    /// sigaction: unlike signal(), it stays installed after the first signal
    /// on every Unix, and SA_RESTART lets interrupted reads and writes go on.
    /// A signal that is ignored (nohup, a background job without job
    /// control) stays ignored: whoever started st-setup chose that.
    fn install(handler: libc::sighandler_t, flags: libc::c_int) {
        // SAFETY: the sigaction structs are zeroed and then filled in
        // completely (or by the kernel); the handlers passed in only make
        // async-signal-safe calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler;
            action.sa_flags = libc::SA_RESTART | flags;
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

    pub(crate) fn restore_terminal_on_interrupt() {
        // SAFETY: tcgetattr writes into the zeroed struct we own.
        unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut termios) == 0 {
                let _ = SAVED_TERMINAL.set(termios);
            }
        }
        install(
            restore_and_exit as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                as libc::sighandler_t,
            libc::SA_SIGINFO,
        );
    }

    /// SIGINT, SIGTERM and SIGHUP are only noted until [`Held::release`]
    /// (a second one quits at once).
    pub(crate) struct Held(());

    pub(crate) fn hold_interrupts() -> Held {
        PENDING.store(0, Ordering::SeqCst);
        install(
            note_pending as extern "C" fn(libc::c_int) as libc::sighandler_t,
            0,
        );
        Held(())
    }

    impl Held {
        /// The save is over: true when a signal arrived during it. From here
        /// on the signals have their default action (the process ends), not
        /// the wizard's handler, whose "nothing was saved" may no longer be
        /// true. A noted signal is not delivered now: the run dies by it at
        /// its end ([`end_by_the_interrupt`]), after `init` has said what was saved.
        pub(crate) fn release(self) -> bool {
            install(libc::SIG_DFL, 0);
            let signal = PENDING.swap(0, Ordering::SeqCst);
            if signal != 0 {
                INTERRUPTED_BY.store(signal, Ordering::SeqCst);
            }
            signal != 0
        }
    }

    /// A prompt read Ctrl-C as a key (raw mode): the run ends as if the
    /// terminal had sent SIGINT (see [`end_by_the_interrupt`]).
    pub(crate) fn note_ctrl_c_key() {
        FROM_A_KEY.store(true, Ordering::SeqCst);
        INTERRUPTED_BY.store(libc::SIGINT, Ordering::SeqCst);
    }

    /// At the end of a run that a signal (or Ctrl-C at a prompt)
    /// interrupted, once everything has been said: put the terminal back and
    /// die by that signal, so that the shell sees it. Ctrl-C read as a key
    /// goes, like the terminal's own, to the whole foreground process group
    /// (a script that ran st-setup stops too). Returns when nothing
    /// interrupted the run.
    pub(crate) fn end_by_the_interrupt() {
        let signal = INTERRUPTED_BY.load(Ordering::SeqCst);
        if signal == 0 {
            return;
        }
        restore_terminal();
        if FROM_A_KEY.load(Ordering::SeqCst) {
            // SAFETY: plain signal calls, with the signal blocked until
            // die_by has set its default action.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, signal);
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            to_the_foreground_group(signal);
        }
        die_by(signal)
    }
}

#[cfg(not(unix))]
mod imp {
    pub(crate) fn restore_terminal_on_interrupt() {}

    pub(crate) struct Held;

    pub(crate) fn hold_interrupts() -> Held {
        Held
    }

    impl Held {
        pub(crate) fn release(self) -> bool {
            false
        }
    }

    pub(crate) fn note_ctrl_c_key() {}

    pub(crate) fn end_by_the_interrupt() {}
}

pub(crate) use imp::{
    end_by_the_interrupt, hold_interrupts, note_ctrl_c_key, restore_terminal_on_interrupt,
};

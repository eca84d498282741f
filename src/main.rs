//! The `st-setup` binary: run the library and turn its result into an exit
//! code (or, for a run a signal interrupted, death by that signal).

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything holds a secret.
    st_setup::core_dumps::forbid();
    let status = match st_setup::run(std::env::args_os()) {
        Ok(status) => status,
        Err(err) => st_setup::report(&err),
    };
    if status == st_setup::ExitStatus::Interrupted {
        st_setup::signals::end_by_the_interrupt();
    }
    ExitCode::from(status.code())
}

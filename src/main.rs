//! The `st-setup` binary: run the library and turn its result into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let status = match st_setup::run(std::env::args_os()) {
        Ok(status) => status,
        Err(err) => st_setup::report(&err),
    };
    ExitCode::from(status.code())
}

//! The `st-setup` binary: everything is in the library ([`st_setup::main`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    st_setup::main()
}

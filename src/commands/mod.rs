//! One module per subcommand, each with its arguments beside its `exec`.

pub mod init;

use crate::cli::{Command, Context};
use crate::error::{ExitStatus, Result};

pub fn dispatch(command: Command, ctx: &Context) -> Result<ExitStatus> {
    match command {
        Command::Init(args) => init::exec(args, ctx),
    }
}

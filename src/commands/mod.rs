//! One module per subcommand, each with its arguments beside its `exec`.

pub mod check;
pub mod completions;
pub mod exec;
pub mod export;
pub mod import;
pub mod init;
pub mod list;
pub mod man;
pub mod remove;
pub mod show;
pub mod token;

use crate::cli::{Command, Context};
use crate::error::{ExitStatus, Result};

pub fn dispatch(command: Command, ctx: &Context) -> Result<ExitStatus> {
    match command {
        Command::Init(args) => init::exec(args, ctx),
        Command::Check(args) => check::exec(args, ctx),
        Command::Token(args) => token::exec(args, ctx),
        Command::Exec(args) => exec::exec(args, ctx),
        Command::List(args) => list::exec(args, ctx),
        Command::Show(args) => show::exec(args, ctx),
        Command::Remove(args) => remove::exec(args, ctx),
        Command::Export(args) => export::exec(args, ctx),
        Command::Import(args) => import::exec(args, ctx),
        Command::Completions(args) => completions::exec(args, ctx),
        Command::Man(args) => man::exec(args, ctx),
    }
}

//! One module per subcommand, each with its arguments beside its `exec`;
//! `verification` runs the checks for `init`, `check` and `import`.

pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod exec;
pub(crate) mod export;
pub(crate) mod import;
pub(crate) mod init;
pub(crate) mod list;
pub(crate) mod man;
pub(crate) mod remove;
pub(crate) mod show;
pub(crate) mod token;
pub(crate) mod verification;

use crate::cli::{Command, Context};
use crate::error::{ExitStatus, Result};

pub(crate) fn dispatch(command: Command, ctx: &Context) -> Result<ExitStatus> {
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

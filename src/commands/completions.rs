//! `st-setup completions SHELL`: print a completion script for bash, zsh,
//! fish, PowerShell or elvish, generated from the same definitions as `--help`
//! (so it never falls behind the flags).

use clap::Args;
use clap_complete::Shell;

use crate::cli::{Context, completion_command};
use crate::error::{ExitStatus, Result};

const AFTER_HELP: &str = "\
Examples:
  source <(st-setup completions bash)          # in ~/.bashrc
  source <(st-setup completions zsh)           # in ~/.zshrc, after compinit
  st-setup completions fish | source           # in ~/.config/fish/config.fish
  st-setup completions powershell | Out-String | Invoke-Expression   # in $PROFILE
  eval (st-setup completions elvish | slurp)   # in ~/.config/elvish/rc.elv";

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum, value_name = "SHELL")]
    pub(crate) shell: Shell,
}

pub(crate) fn exec(args: CompletionsArgs, _ctx: &Context) -> Result<ExitStatus> {
    let mut command = completion_command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "st-setup", &mut script);
    if args.shell == Shell::Bash {
        script = fix_bash_states(&script);
    }
    crate::ui::write_stdout(&script)?;
    Ok(ExitStatus::Ok)
}

/// clap_complete 4.6 spells the bash state of a subcommand of a hyphenated
/// program two ways (`st__setup__subcmd__init` in the loop that finds the
/// subcommand, `st__subcmd__setup__subcmd__init` in the `case` that completes
/// it; clap-rs/clap#6421), so nothing after a subcommand completes. Spell the
/// `case` labels like the loop; a no-op once clap_complete is fixed.
fn fix_bash_states(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("st__subcmd__setup", "st__setup")
        .into_bytes()
}

//! Fitting in: every command's `--help` (summary, usage, environment
//! variables, examples), shell completions, the man page, colour only when
//! asked for, and an insta snapshot of the top-level help so that any change
//! to it is a visible diff. No keyring and no server are needed.

use std::io::Write;
use std::process::{Command, Stdio};

use clap::CommandFactory;
use st_setup::for_tests::Cli;

use crate::util::cmd::{Output, TestEnv};

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "powershell", "elvish"];

/// Run st-setup in a sealed environment with a fixed terminal width (the
/// harness clears the environment; stdout is a pipe, so clap reads COLUMNS).
fn run(args: &[&str]) -> Output {
    run_with(args, &[])
}

fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = TestEnv::new().cmd(args).env("COLUMNS", "100");
    for (key, value) in env {
        cmd = cmd.env(key, value);
    }
    cmd.run()
}

/// The visible subcommands, from the same definitions the binary parses with.
fn subcommands() -> Vec<clap::Command> {
    let mut command = Cli::command();
    command.build();
    command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .cloned()
        .collect()
}

#[test]
fn every_command_has_a_summary_usage_examples_and_its_environment_variables() {
    let commands = subcommands();
    assert!(commands.len() >= 10, "{} commands", commands.len());
    for sub in commands {
        let name = sub.get_name();
        let out = run(&[name, "--help"]);
        out.code(0)
            .stdout_has(&format!("Usage: st-setup {name}"))
            .stdout_has("\nExamples:\n  ");
        assert!(
            out.stderr.is_empty(),
            "{name} --help wrote to stderr\n{out}"
        );

        // The first line is the one-line summary shown in the command list.
        let about = sub
            .get_about()
            .expect("every command has a summary")
            .to_string();
        assert_eq!(out.stdout.lines().next(), Some(about.as_str()), "{name}");
        assert!(
            !about.contains('\n') && !about.ends_with('.'),
            "{name}: {about:?}"
        );

        // Every environment variable a flag reads is named next to it (the
        // note may be wrapped onto the next line).
        let words = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(var) = arg.get_env() {
                let note = format!("[env: {}]", var.to_string_lossy());
                assert!(words.contains(&note), "{name} --help lacks {note}\n{out}");
            }
        }
        // The examples say `st-setup`, and nothing is wider than the terminal.
        let examples = out.stdout.split("\nExamples:\n").nth(1).unwrap();
        assert!(examples.contains("st-setup "), "{name}: {examples}");
        for line in out.stdout.lines() {
            assert!(line.chars().count() <= 100, "{name}: too wide: {line:?}");
        }

        // The short form renders too.
        run(&[name, "-h"]).code(0).stdout_has("Usage:");
    }
}

#[test]
fn top_level_help_lists_commands_examples_environment_and_exit_codes() {
    let out = run(&["--help"]);
    out.code(0)
        .stdout_has("Usage: st-setup [OPTIONS] [COMMAND]")
        .stdout_has("\nExamples:\n  st-setup init")
        .stdout_has("\nEnvironment:\n")
        .stdout_has("\nExit codes:\n  0  ok")
        .stdout_has("7  profile not configured");
    for sub in subcommands() {
        out.stdout_has(&format!("\n  {} ", sub.get_name()));
    }
    // `help init` is the same text as `init --help`.
    assert_eq!(
        run(&["help", "init"]).stdout,
        run(&["init", "--help"]).stdout
    );
}

#[test]
fn st_setup_alone_prints_a_short_overview_pointing_to_init() {
    let out = run(&[]);
    out.code(0).stdout_has("st-setup init").stdout_has("--help");
    assert!(out.stdout.lines().count() <= 10, "not short:\n{out}");
}

// ---------------------------------------------------------------------------
// Completions
// ---------------------------------------------------------------------------

#[test]
fn completions_are_generated_for_every_shell_and_know_every_command() {
    for shell in SHELLS {
        let out = run(&["completions", shell]);
        out.code(0).stdout_has("st-setup");
        assert!(out.stdout.len() > 500, "{shell}: short script\n{out}");
        assert!(out.stderr.is_empty(), "{shell}\n{out}");
        for sub in subcommands() {
            out.stdout_has(sub.get_name());
        }
        for flag in ["profile", "color", "json", "include-secret"] {
            // fish spells a long option `-l name`.
            if shell == "fish" {
                out.stdout_has(&format!("-l {flag} "));
            } else {
                out.stdout_has(&format!("--{flag}"));
            }
        }
        // The refused --client-secret flag is never offered.
        out.stdout_lacks("--client-secret ")
            .stdout_lacks("--client-secret'")
            .stdout_lacks("--client-secret\"")
            .stdout_lacks("--client-secret=")
            .stdout_lacks("-l client-secret ");
    }
}

#[test]
fn bash_accepts_the_bash_completion_script() {
    let script = run(&["completions", "bash"]).stdout.clone();
    if !syntax_ok("bash", &["-n"], &script) {
        eprintln!("bash is not usable here; skipped the bash -n check");
    }
}

/// Tab in bash completes a command, then that command's flags and their values
/// (with a hyphenated program name, clap_complete 4.6 completed only the first
/// word: clap-rs/clap#6421), and never offers the refused `--client-secret`.
#[cfg(unix)]
#[test]
fn bash_completes_commands_then_their_flags_and_values() {
    let env = TestEnv::new();
    let script = env.dir.path().join("st-setup.bash");
    std::fs::write(&script, &env.cmd(&["completions", "bash"]).run().stdout).unwrap();
    // What pressing Tab does: bash calls the function `complete -F` registered
    // with the word being completed and the one before it.
    let program = r#"source "$1"; shift
        complete=$(complete -p st-setup) || exit 1
        function=${complete##*-F }; function=${function%% *}
        COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
        "$function" st-setup "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        echo "${COMPREPLY[*]}""#;
    for (words, expected) in [
        (&["st-setup", "ch"][..], "check"),
        (&["st-setup", "init", "--st"], "--storage"),
        (
            &["st-setup", "init", "--environment", ""],
            "production integration auto",
        ),
        (&["st-setup", "export", "--format", "d"], "dotenv"),
        (&["st-setup", "completions", "p"], "powershell"),
        (&["st-setup", "help", "ini"], "init"),
        (
            &["st-setup", "init", "--client-sec"],
            "--client-secret-stdin",
        ),
    ] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(program)
            .arg("bash")
            .arg(&script)
            .args(words)
            .output()
            .expect("bash");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{words:?}: {stderr}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            expected,
            "Tab after {words:?}"
        );
    }
}

/// On Linux scripts/test installs zsh and fish, so the check always runs
/// there; elsewhere it runs where they are installed.
#[test]
fn zsh_and_fish_accept_their_scripts() {
    for (shell, check) in [("zsh", ["-n"]), ("fish", ["--no-execute"])] {
        if !cfg!(target_os = "linux") && !available(shell) {
            eprintln!("{shell} is not installed; skipped its syntax check");
            continue;
        }
        let script = run(&["completions", shell]).stdout.clone();
        syntax_ok(shell, &check, &script);
    }
}

/// Whether `program --version` runs.
fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Run `command` with `input` on its stdin, capturing what it prints.
fn feed(mut command: Command, input: &str) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Check `script` with `shell check...` reading it from stdin; false if the
/// shell is not usable here (required on Unix: scripts/test installs zsh and
/// fish on Linux), panics on a syntax error.
#[track_caller]
fn syntax_ok(shell: &str, check: &[&str], script: &str) -> bool {
    if !available(shell) {
        if cfg!(unix) {
            panic!("{shell} is needed for this test: run scripts/test, which installs it");
        }
        return false;
    }
    let mut command = Command::new(shell);
    command.args(check);
    let out = feed(command, script);
    assert!(
        out.status.success(),
        "{shell} {check:?} rejected the script:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn an_unknown_shell_is_a_usage_error_listing_the_shells() {
    let out = run(&["completions", "tcsh"]);
    out.code(2).stderr_has("invalid value 'tcsh'");
    for shell in SHELLS {
        out.stderr_has(shell);
    }
    assert!(out.stdout.is_empty(), "{out}");
}

// ---------------------------------------------------------------------------
// The man page
// ---------------------------------------------------------------------------

#[test]
fn the_man_page_covers_every_command_option_and_variable() {
    let out = run(&["man"]);
    out.code(0)
        .stdout_has("\n.TH st-setup 1 ")
        .stdout_has("\n.SH NAME\n")
        .stdout_has("\n.SH SYNOPSIS\n")
        .stdout_has("\n.SH COMMANDS\n")
        .stdout_has("\n.SH EXAMPLES\n")
        .stdout_has("\n.SH ENVIRONMENT\n")
        .stdout_has("\n.SH \"EXIT CODES\"\n");
    assert!(out.stderr.is_empty(), "{out}");
    let roff = &out.stdout;
    assert_eq!(roff.matches("\n.TH ").count(), 1, "one page");
    let mut command = Cli::command();
    command.build();
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        if let Some(long) = arg.get_long() {
            out.stdout_has(&format!("\\fB\\-\\-{}\\fR", long.replace('-', "\\-")));
        }
    }
    for sub in subcommands() {
        let name = sub.get_name();
        out.stdout_has(&format!("\\fBst\\-setup {name}\\fR"))
            .stdout_has(&format!(".SH \"ST-SETUP {}\"\n", name.to_uppercase()));
        // The command's section has its examples and the variables its flags read.
        let section = roff
            .split(&format!(".SH \"ST-SETUP {}\"\n", name.to_uppercase()))
            .nth(1)
            .unwrap();
        let section = section.split("\n.SH ").next().unwrap();
        assert!(
            section.contains("\n.SS Examples\n.nf\n"),
            "{name}:\n{section}"
        );
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
        {
            if let Some(var) = arg.get_env() {
                let var = var.to_string_lossy();
                assert!(section.contains(&format!("\\fB{var}\\fR")), "{name}: {var}");
            }
        }
    }
    out.stdout_lacks("\\-\\-client\\-secret\\fR")
        .stdout_lacks("SUBCOMMANDS");
}

/// `man -l -` formats it without complaint (scripts/test installs man-db).
#[cfg(target_os = "linux")]
#[test]
fn man_renders_the_man_page() {
    assert!(
        available("man"),
        "man is needed for this test: run scripts/test, which installs man-db"
    );
    let roff = run(&["man"]).stdout.clone();
    let mut command = Command::new("man");
    command
        .args(["-l", "-"])
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "")
        .env_remove("MANPAGER")
        .env_remove("PAGER");
    let out = feed(command, &roff);
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man failed: {errors}");
    assert!(errors.trim().is_empty(), "man complained: {errors}");
    // Bold and underline are overstrikes when man writes to a pipe.
    let plain: String = strip_overstrike(&text);
    for needle in [
        "st-setup - Set up, verify and safely store ServiceTitan API credentials",
        "ST-SETUP INIT",
        "ST-SETUP MAN",
        "May also be specified with the ST_TENANT_ID environment variable.",
        "  st-setup check --all --json",
        "3  Client ID / Client Secret rejected",
    ] {
        assert!(
            plain.contains(needle),
            "rendered page lacks {needle:?}:\n{plain}"
        );
    }
}

#[cfg(target_os = "linux")]
fn strip_overstrike(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
            continue;
        }
        out.push(c);
    }
    out.into_iter().collect()
}

// ---------------------------------------------------------------------------
// Colour
// ---------------------------------------------------------------------------

/// Runs that print help, a usage error, a runtime error and generated text.
const COLOUR_CASES: [&[&str]; 7] = [
    &["--help"],
    &["init", "--help"],
    &["check", "--environment", "staging"],
    &["show", "--profile", "nope"],
    &["init", "--client-secret", "cs1.refusedonthecommandline"],
    &["completions", "bash"],
    &["man"],
];

#[track_caller]
fn no_escape(out: &Output, what: &str) {
    assert!(
        !out.stdout.contains('\x1b') && !out.stderr.contains('\x1b'),
        "escape code in the output of {what}\n{out}"
    );
}

#[test]
fn no_color_means_no_escape_codes_without_any_flag() {
    for args in COLOUR_CASES {
        // CLICOLOR_FORCE asks for colour even on a pipe; NO_COLOR still wins.
        let out = run_with(args, &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
        no_escape(&out, &format!("NO_COLOR=1 st-setup {}", args.join(" ")));
    }
}

#[test]
fn color_never_means_no_escape_codes() {
    for args in COLOUR_CASES {
        let mut with_flag = vec!["--color", "never"];
        with_flag.extend_from_slice(args);
        let out = run_with(&with_flag, &[("CLICOLOR_FORCE", "1")]);
        no_escape(&out, &format!("st-setup {}", with_flag.join(" ")));
    }
}

/// The check above can fail: asked for, colour does reach help and errors.
#[test]
fn color_always_colours_help_and_errors() {
    for args in [
        &["--color", "always", "--help"][..],
        &["--color=always", "check", "--environment", "staging"],
        &["--color", "always", "show", "--profile", "nope"],
        &["--color", "always", "init", "--client-secret", "cs1.x"],
    ] {
        let out = run(args);
        assert!(
            out.stdout.contains('\x1b') || out.stderr.contains('\x1b'),
            "no colour for st-setup {}\n{out}",
            args.join(" ")
        );
    }
    // Piped and with nothing asked, there is none either.
    no_escape(&run(&["show", "--profile", "nope"]), "st-setup show");
    no_escape(&run(&["--help"]), "st-setup --help");
}

// ---------------------------------------------------------------------------
// Snapshot of the top-level help
// ---------------------------------------------------------------------------

/// `st-setup --help` as committed in tests/snapshots/help.snap (insta shows
/// the diff; CONTRIBUTING.md says how to accept a deliberate change).
#[test]
fn top_level_help_matches_the_snapshot() {
    let out = run(&["--help"]);
    out.code(0);
    // insta ignores blank lines at either end and trailing spaces on the
    // last line: those are checked here.
    assert!(
        !out.stdout.starts_with('\n')
            && out.stdout.ends_with('\n')
            && !out.stdout.ends_with("\n\n")
            && !out.stdout.trim_end_matches('\n').ends_with([' ', '\t']),
        "blank lines or trailing spaces around the help\n{out}"
    );
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("help", out.stdout);
    });
}

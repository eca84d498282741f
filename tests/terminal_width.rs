//! What st-setup prints fits the terminal it is printed on, as a person in a
//! narrow terminal window sees it: the whole wizard (a refused paste, two
//! repair menus after failed checks, the summary), a `check` report, and the
//! keyring-unavailable error, in pseudo-terminals 60 and 80 columns wide. No
//! line is wider than the terminal unless it holds only a URL or a command;
//! no word is split (the words are the same, in the same order, as in a wide
//! terminal or a pipe); output to a pipe is not re-wrapped; and `COLUMNS` is
//! used when the terminal's size cannot be read.

use crate::util::cmd::{TestEnv, require_keyring, secret_tool_clear, unique_profile};
use crate::util::environments::TwoEnvironments;
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};
use crate::util::terminal::{
    WIDE, assert_fits, in_terminal_sized, keys, rest_of_output, screen_runs, step, words_between,
};

const WIDTHS: [u16; 2] = [60, 80];

/// An Application Key the fakes refuse.
const WRONG_KEY: &str = "ak1.notthisappkey0000000000000";

fn words(text: &str) -> Vec<String> {
    screen_runs(text)
        .join("\n")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The whole wizard in a terminal `columns` wide (`--color` as `color`
/// says, so in either prompt theme): production credentials
/// entered as integration, with a wrong Application Key and the Client
/// Secret pasted into the Client ID first. The first check offers to switch
/// to production, the second to re-enter the key; then it is saved.
/// Returns everything printed.
fn whole_wizard(fakes: &TwoEnvironments, columns: u16, color: &str) -> String {
    let env = fakes.env(Credentials::demo());
    let creds = env.creds.clone();
    let profile = unique_profile(&format!("fit{columns}"));
    let mut printed = String::new();
    // A prompt as each theme draws it: `Label: ` plainly, `? Label › ` with
    // colour (the label in bold).
    let ask = |label: &str| match color {
        "never" => format!("{label}: "),
        _ => format!("{label}\x1b[0m "),
    };
    let mut s = in_terminal_sized(
        env.cmd(&["init", "--no-browser", "--color", color]),
        Some(columns),
    );
    step(&mut s, &mut printed, "Profile name");
    s.send_line(&profile).unwrap();
    step(&mut s, &mut printed, "Environment");
    step(&mut s, &mut printed, "not sure");
    keys(&mut s, "\x1b[B"); // integration
    keys(&mut s, "\r");
    step(&mut s, &mut printed, &ask("Application Key"));
    s.send_line(WRONG_KEY).unwrap();
    step(&mut s, &mut printed, &ask("Tenant ID"));
    s.send_line(&creds.tenant_id).unwrap();
    step(&mut s, &mut printed, &ask("Client ID"));
    s.send_line(&creds.client_secret).unwrap();
    step(
        &mut s,
        &mut printed,
        "looks like a Client Secret, not a Client ID",
    );
    step(&mut s, &mut printed, &ask("Client ID"));
    s.send_line(&creds.client_id).unwrap();
    step(&mut s, &mut printed, "Client Secret (hidden)");
    s.send_line(&creds.client_secret).unwrap();
    // Integration refuses, production's token endpoint accepts: switching
    // comes first.
    step(&mut s, &mut printed, "What now?");
    step(&mut s, &mut printed, "Switch to production and try again");
    step(&mut s, &mut printed, "Quit without saving");
    keys(&mut s, "\r");
    // Production: a token, but the API refuses the key: re-entering it comes first.
    step(&mut s, &mut printed, "the API rejected the Application Key");
    step(&mut s, &mut printed, "What now?");
    step(
        &mut s,
        &mut printed,
        "Re-enter the Application Key and try again",
    );
    step(&mut s, &mut printed, "Quit without saving");
    keys(&mut s, "\r");
    // Asked again, the wrong key offered as the default.
    step(&mut s, &mut printed, WRONG_KEY);
    s.send_line(&creds.app_key).unwrap();
    step(&mut s, &mut printed, "Saved profile");
    printed.push_str(&rest_of_output(&mut s));
    assert!(!printed.contains("Switch to the"), "{printed}");
    secret_tool_clear("st-setup", &profile);
    printed
}

#[test]
fn the_whole_wizard_fits_narrow_terminals_and_splits_no_word() {
    require_keyring();
    let fakes = TwoEnvironments::start();
    // What a wide terminal shows, in each theme.
    let wide = ["never", "always"].map(|color| (color, whole_wizard(&fakes, WIDE, color)));
    // What the person types is echoed after the prompt (the Client Secret
    // pasted into the Client ID prompt too, until it is taken off the
    // screen): their typing, not st-setup's lines.
    let demo = Credentials::demo();
    let typed = [demo.client_secret, demo.app_key];
    let typed: Vec<&str> = typed.iter().map(String::as_str).collect();
    // Each stage text, from its first words to its last.
    let stage_texts = [
        ("st-setup walks you", "quit without saving."),
        ("Stage 1 of 2:", "and copy the Application Key."),
        ("Stage 2 of 2:", "shown on that page."),
        ("4. Click", "(it starts with cid.)."),
        ("6. Copy", "until the values are checked."),
    ];
    let runs = WIDTHS.map(|columns| (columns, "never"));
    for (columns, color) in runs.into_iter().chain([(60, "always")]) {
        let printed = whole_wizard(&fakes, columns, color);
        let (_, wide) = wide.iter().find(|(c, _)| *c == color).unwrap();
        assert_fits(
            &printed,
            usize::from(columns),
            &typed,
            &format!("init at {columns}, --color {color}"),
        );
        for (from, to) in stage_texts {
            assert_eq!(
                words_between(&printed, from, to),
                words_between(wide, from, to),
                "{columns} columns: the words of {from:?} differ from a wide terminal's"
            );
        }
        // The menus' details that do not fit are listed above them.
        let text = screen_runs(&printed).join("\n");
        let flowed = words(&printed).join(" ");
        assert!(
            text.contains("\n  integration  a test tenant"),
            "{columns}: {text}"
        );
        assert!(
            flowed.contains(
                "Switch to production and try again (its token endpoint accepted these \
                 credentials)"
            ),
            "{columns}: {text}"
        );
        // The step results hang under their message.
        let mark = if color == "never" { "FAILED" } else { "✗" };
        let hang = format!("  {mark} Client ID / Secret: ").chars().count();
        assert!(
            text.lines()
                .any(|l| l.starts_with(&" ".repeat(hang)) && !l.starts_with(&" ".repeat(hang + 1))),
            "{columns}: {text}"
        );
    }
    // A wide terminal keeps lines up to 100 columns, and fits too.
    for (color, wide) in &wide {
        assert_fits(wide, 100, &typed, &format!("init, wide, --color {color}"));
    }
}

/// `check --profile` of a profile saved with a wrong Application Key (so
/// the API-access line is long), in a terminal `columns` wide, or piped.
#[test]
fn a_check_report_fits_the_terminal_and_is_not_rewrapped_in_a_pipe() {
    require_keyring();
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let profile = unique_profile("fitcheck");
    env.init_cmd(&profile)
        .args_override("--app-key", WRONG_KEY)
        .arg("--no-verify")
        .run()
        .code(0);
    let check =
        |color: &str| env.cmd(&["check", "--profile", &profile, "--scopes", "--color", color]);
    for color in ["never", "always"] {
        let piped = check(color).run();
        piped.code(4);
        assert!(
            piped.stdout.lines().any(|l| l.len() > 80),
            "a long report line, kept whole in a pipe:\n{piped}"
        );
        let piped_words = words(&format!("{}{}", piped.stdout, piped.stderr));
        for columns in WIDTHS {
            let mut s = in_terminal_sized(check(color), Some(columns));
            let printed = rest_of_output(&mut s);
            let what = format!("check at {columns}, --color {color}");
            assert_fits(&printed, usize::from(columns), &[], &what);
            assert_eq!(words(&printed), piped_words, "{what}: {printed}");
        }
    }
    secret_tool_clear("st-setup", &profile);
}

#[test]
fn the_keyring_error_fits_and_keeps_its_commands_whole() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let unreachable = "unix:path=/nonexistent/st-setup-test-bus";
    let init = || {
        env.init_cmd("nokeyring")
            .env("DBUS_SESSION_BUS_ADDRESS", unreachable)
            .arg("--no-verify")
    };
    let piped = init().run();
    piped.code(6).stderr_has(unreachable);
    let mut runs: Vec<(String, usize, String)> = WIDTHS
        .iter()
        .map(|&columns| {
            let mut s = in_terminal_sized(init(), Some(columns));
            let printed = rest_of_output(&mut s);
            (format!("{columns} columns"), usize::from(columns), printed)
        })
        .collect();
    // No size to read: COLUMNS says how wide.
    let mut s = in_terminal_sized(init().env("COLUMNS", "60"), None);
    runs.push(("COLUMNS=60".into(), 60, rest_of_output(&mut s)));
    for (what, columns, printed) in &runs {
        assert_fits(printed, *columns, &[], what);
        assert_eq!(words(printed), words(&piped.stderr), "{what}: {printed}");
        let lines = screen_runs(printed);
        // Each command to copy starts and ends on the same line.
        let commands: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("gnome-keyring-daemon"))
            .collect();
        assert_eq!(commands.len(), 2, "{what}: {printed}");
        for command in commands {
            assert!(
                command.contains("--components=secrets"),
                "{what}: {command}"
            );
        }
        assert!(
            lines.iter().any(|l| l.contains(unreachable)),
            "{what}: {printed}"
        );
    }
    // Wrapped in the terminal, not in the pipe.
    assert!(piped.stderr.lines().any(|l| l.len() > 80), "{piped}");
}

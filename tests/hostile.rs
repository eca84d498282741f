//! Attacks from outside, mounted against the real binary: a malicious server
//! on 127.0.0.1 (terminal escapes and bidi controls in claims, errors and
//! bodies, a hostile token, a huge redirect, an echoed secret or App Key), a
//! planted config file, values that are shell code, a secret hidden in a
//! profile name, and a core dump asked for with SIGABRT. Each one is shown
//! to fail: nothing unprintable reaches the terminal, no code runs, no secret
//! is printed or written to disk.

use std::path::Path;

use crate::util::cmd::{Output, TestEnv};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan, Fault, Route};

/// Characters that must never reach a terminal as they are, listed here
/// independently of st-setup's own list: C0 (but the line break), DEL, C1,
/// bidi controls and the common invisible format characters.
fn unprintable(c: char) -> bool {
    let n = c as u32;
    (n < 0x20 && c != '\n')
        || (0x7f..=0x9f).contains(&n)
        || matches!(
            n,
            0x00AD
                | 0x061C
                | 0x200B..=0x200F
                | 0x2028..=0x202E
                | 0x2060..=0x2069
                | 0xFEFF
                | 0xE0000..=0xE007F
        )
}

/// Nothing unprintable in what the run printed.
#[track_caller]
fn all_printable(out: &Output) {
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if let Some(c) = text.chars().find(|&c| unprintable(c)) {
            panic!("{name} holds {c:?}\n{out}");
        }
    }
}

/// The payload a hostile server puts in every string it controls: a window
/// title (OSC 0), a clipboard write (OSC 52), a screen clear, the C1 CSI,
/// a bell, bidi overrides and isolates, invisible characters.
const PAYLOAD: &str = "\u{1b}]0;owned\u{7}\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2J\u{9b}31m\r\n\
    \u{202e}gnp.exe\u{202c}\u{2066}\u{200f}\u{200b}\u{feff}\u{61c}\u{ad}end";

fn world() -> (FakeServiceTitan, TestEnv) {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let mut env = TestEnv::with_fake(&fake);
    let app_key = env.creds.app_key.clone();
    env.forbid(&app_key);
    (fake, env)
}

fn check(env: &TestEnv) -> crate::util::cmd::Cmd {
    env.cmd(&["check", "--timeout", "5"])
        .values_from_env(&env.creds)
}

fn json_status(status: u16, body: &serde_json::Value) -> Fault {
    Fault::Status {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

#[test]
fn a_tenant_claim_full_of_escapes_is_shown_as_visible_text_and_cut_short() {
    let claim = format!("1234{PAYLOAD}{}", "9".repeat(8_000));
    let fake = FakeServiceTitan::builder(Credentials::demo())
        .token_tenant_claim(Some(claim))
        .start();
    let env = TestEnv::with_fake(&fake);
    // Another tenant in the claim is only a warning when the API accepts the
    // Tenant ID (Enterprise Hub); with a refused one it is named twice.
    let out = check(&env).run();
    out.code(0);
    all_printable(&out);
    let refused = check(&env).env("ST_TENANT_ID", "7777").run();
    refused.code(4);
    all_printable(&refused);
    let printed = format!("{}{}", refused.stdout, refused.stderr);
    assert_eq!(
        printed.matches("1234\\x1b]0;owned\\x07").count(),
        2,
        "{refused}"
    );
    let printed = format!("{}{}", out.stdout, out.stderr);
    assert!(printed.contains("1234\\x1b]0;owned\\x07"), "{out}");
    assert!(printed.contains("more characters)"), "{out}");
    assert!(
        printed.len() < 4_000,
        "{} bytes printed\n{out}",
        printed.len()
    );
}

#[test]
fn server_error_text_is_shown_as_visible_text() {
    let (fake, env) = world();
    // The token endpoint's OAuth error, then RFC 7807 from the API, then an
    // HTML page from a gateway.
    fake.push_fault(
        Route::Token,
        json_status(
            400,
            &serde_json::json!({"error": format!("invalid_client{PAYLOAD}"),
                                "error_description": format!("bad{PAYLOAD}")}),
        ),
    );
    let out = check(&env).run();
    out.code(3);
    all_printable(&out);
    assert!(out.stdout.contains("gnp.exe") || out.stderr.contains("gnp.exe"));

    for status in [403, 401, 404] {
        fake.push_fault(
            Route::Probe,
            json_status(
                status,
                &serde_json::json!({"title": format!("Forbidden{PAYLOAD}"),
                                    "traceId": format!("00-abc{PAYLOAD}")}),
            ),
        );
        let out = check(&env).run();
        out.code(4);
        all_printable(&out);
        assert!(out.stdout.contains("00-abc\\x1b]0;owned"), "{out}");
    }

    fake.push_fault(
        Route::Probe,
        Fault::Status {
            status: 418,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: format!("<html><body>teapot{PAYLOAD}</body></html>").into_bytes(),
        },
    );
    let out = check(&env).run();
    out.code(5);
    all_printable(&out);
}

#[test]
fn a_token_holding_escapes_or_line_breaks_is_never_printed_or_cached() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    // A stored profile (secret in its file: no keyring needed), so that the
    // token would be cached.
    env.init_cmd("hostile-token")
        .arg("--storage")
        .arg("file")
        .arg("--no-verify")
        .run()
        .code(0);
    for token in [
        "eyJ.abc\u{1b}]0;owned\u{7}",
        "eyJ.abc\r\nX-Injected: 1",
        "eyJ.abc def",
        "eyJ.$(touch pwned)",
        "\u{202e}eyJ.abc",
    ] {
        fake.push_fault(
            Route::Token,
            json_status(
                200,
                &serde_json::json!({"access_token": token, "expires_in": 900}),
            ),
        );
        let out = env
            .cmd(&["token", "--profile", "hostile-token"])
            .forbid(token)
            .run();
        out.code(5)
            .stderr_has("holds characters no access token has");
        all_printable(&out);
        assert_eq!(out.stdout, "", "{out}");
    }
    // Nothing was cached: the next run asks the server again, and gets a real token.
    let before = fake.token_requests();
    let out = env.cmd(&["token", "--profile", "hostile-token"]).run();
    out.code(0);
    assert_eq!(fake.token_requests(), before + 1);
    assert_eq!(out.stdout.trim(), fake.issued_tokens().last().unwrap());
}

#[test]
fn a_redirect_to_a_huge_url_without_a_host_is_not_printed() {
    let (fake, env) = world();
    // (A usable Location is ASCII: what st-setup printed was all of it.)
    let location = format!("data:text/plain,{}%1B]0;owned%07", "A".repeat(20_000));
    for route in [Route::Token, Route::Probe] {
        fake.push_fault(
            route,
            Fault::Redirect {
                status: 302,
                location: location.clone(),
            },
        );
        let out = check(&env).run();
        out.code(5);
        all_printable(&out);
        assert!(!out.stdout.contains("AAAAAAAA") && !out.stderr.contains("AAAAAAAA"));
        assert!(
            out.stdout.contains("a data: URL without a host")
                || out.stderr.contains("a data: URL without a host"),
            "{out}"
        );
        assert!(out.stdout.len() + out.stderr.len() < 3_000, "{out}");
    }
}

/// A config file written by someone else (or by hand), with these values.
fn plant_config(env: &TestEnv, profile: &str, tenant_id: &str, app_key: &str, client_id: &str) {
    let toml = format!(
        "[profiles.{}]\nenvironment = \"integration\"\ntenant_id = {}\napp_key = {}\n\
         client_id = {}\nsecret_storage = \"file\"\nverified = true\n",
        toml_string(profile),
        toml_string(tenant_id),
        toml_string(app_key),
        toml_string(client_id),
    );
    let dir = env.config_dir();
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    std::fs::write(env.config_path(), toml).unwrap();
}

/// A TOML basic string (JSON's escapes are TOML's, for these values).
fn toml_string(value: &str) -> String {
    serde_json::to_string(value).unwrap()
}

#[test]
fn config_values_are_listed_and_shown_as_visible_text() {
    let env = TestEnv::new();
    // (Profile names themselves are checked when the file is read.)
    plant_config(
        &env,
        "acme",
        &format!("8450{PAYLOAD}"),
        &format!("ak1.{PAYLOAD}"),
        "cid.x",
    );
    for args in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["show", "--profile", "acme"],
        vec!["check", "--all"],
        vec!["check", "--all", "--json"],
    ] {
        let out = env.cmd(&args).run();
        all_printable(&out);
        assert!(
            out.stdout.contains("8450\\x1b]0;owned") || out.stdout.contains("8450\\u001b]0;owned"),
            "{args:?}\n{out}"
        );
    }
    // A JSON reader still gets the value exactly as it is in the file.
    let json = env.cmd(&["list", "--json"]).run().json();
    assert_eq!(json[0]["tenant"], format!("8450{PAYLOAD}").as_str());
}

// ---------------------------------------------------------------------------
// Shell code in values
// ---------------------------------------------------------------------------

/// `set -a; . ./FILE` in `shell`, in `dir`, then print each variable on its
/// own line (no value here holds a line break).
fn source_in(shell: &str, dir: &Path, file: &str, vars: &[&str]) -> Vec<String> {
    let print: String = vars
        .iter()
        .map(|v| format!("printf '%s\\n' \"${v}\"; "))
        .collect();
    let out = std::process::Command::new(shell)
        .arg("-c")
        .arg(format!("set -a; . ./{file}; {print}"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .output()
        .unwrap_or_else(|e| panic!("{shell}: {e}"));
    assert!(
        out.status.success(),
        "{shell} could not source {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.split('\n')
        .take(vars.len())
        .map(str::to_string)
        .collect()
}

#[cfg(unix)]
#[test]
fn a_dotenv_export_is_read_literally_by_shells_and_runs_nothing() {
    let env = TestEnv::new();
    let work = tempfile::tempdir().unwrap();
    let app_key = "ak1.`touch${IFS}pwned1`x";
    let client_id = "cid.$(touch${IFS}pwned2)x";
    let secret = "cs1.`touch${IFS}pwned3`$(touch${IFS}pwned4)$HOME\"x;#y";
    plant_config(&env, "planted", "8450", app_key, client_id);
    for format in ["dotenv", "env"] {
        let out = env
            .cmd(&[
                "export",
                "--profile",
                "planted",
                "--format",
                format,
                "--include-secret",
            ])
            .env("ST_CLIENT_SECRET", secret)
            .allow_secret_on_stdout()
            .run();
        out.code(0);
        let file = format!("st.{format}");
        std::fs::write(work.path().join(&file), &out.stdout).unwrap();
        for shell in ["bash", "sh"] {
            let values = source_in(
                shell,
                work.path(),
                &file,
                &[
                    "ST_APP_KEY",
                    "ST_CLIENT_ID",
                    "ST_CLIENT_SECRET",
                    "ST_TENANT_ID",
                ],
            );
            assert_eq!(
                values,
                [app_key, client_id, secret, "8450"],
                "{shell} read {format} as other values:\n{}",
                out.stdout
            );
            let ran: Vec<_> = std::fs::read_dir(work.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("pwned"))
                .collect();
            assert!(ran.is_empty(), "{shell} ran code from {format}: {ran:?}");
        }
    }
    // A value no .env spelling holds literally is refused, naming it.
    let out = env
        .cmd(&[
            "export",
            "--profile",
            "planted",
            "--format",
            "dotenv",
            "--include-secret",
        ])
        .env("ST_CLIENT_SECRET", "cs1.it's\\here")
        .forbid("cs1.it's\\here")
        .run();
    out.code(2)
        .stderr_has("ST_CLIENT_SECRET holds a character")
        .stdout_lacks("ST_");
}

#[test]
fn an_app_key_or_client_id_with_shell_characters_is_refused_naming_the_field() {
    let (_fake, env) = world();
    for (var, value, label) in [
        ("ST_APP_KEY", "ak1.`touch${IFS}pwned`x", "Application Key"),
        ("ST_CLIENT_ID", "cid.$(id)", "Client ID"),
    ] {
        let out = check(&env).env(var, value).run();
        out.code(2).stderr_has(&format!("{label} contains '"));
        all_printable(&out);
    }
}

// ---------------------------------------------------------------------------
// A secret echoed back
// ---------------------------------------------------------------------------

/// No 12 characters in a row of `secret`, in any case, in what was printed.
#[track_caller]
fn no_run_of(secret: &str, out: &Output) {
    let printed = format!("{}{}", out.stdout, out.stderr).to_lowercase();
    let secret = secret.to_lowercase();
    for at in 0..=secret.len() - 12 {
        let run = &secret[at..at + 12];
        assert!(
            !printed.contains(run),
            "{run:?} of the secret printed\n{out}"
        );
    }
}

#[test]
fn an_echoed_secret_is_hidden_in_any_case_part_or_encoding() {
    let (fake, mut env) = world();
    let secret = env.creds.client_secret.clone();
    let run40: String = secret.chars().skip(6).take(40).collect();
    let html: String = secret.chars().map(|c| format!("&#{};", c as u32)).collect();
    let html_hex: String = secret
        .chars()
        .map(|c| format!("&#x{:X};", c as u32))
        .collect();
    for forbidden in [secret.to_uppercase(), run40.clone()] {
        env.forbid(&forbidden);
    }
    for echoed in [
        secret.to_uppercase(),
        run40.clone(),
        run40.to_uppercase(),
        html.clone(),
        html_hex.clone(),
    ] {
        // In an OAuth error, and in a server error page.
        fake.push_fault(
            Route::Token,
            json_status(
                400,
                &serde_json::json!({"error": "invalid_client",
                                    "error_description": format!("you sent {echoed}, ok?")}),
            ),
        );
        let out = check(&env).run();
        out.code(3).stdout_has("[REDACTED]");
        no_run_of(&secret, &out);
        fake.push_fault(
            Route::Token,
            Fault::Status {
                status: 500,
                headers: vec![],
                body: format!("<pre>client_secret={echoed}</pre>").into_bytes(),
            },
        );
        let out = check(&env).run();
        out.code(5);
        no_run_of(&secret, &out);
        assert!(!out.stdout.contains(&html) && !out.stderr.contains(&html));
    }
}

#[test]
fn an_api_error_that_echoes_the_request_headers_masks_the_app_key() {
    let (fake, env) = world();
    let app_key = env.creds.app_key.clone();
    for status in [400, 500, 418] {
        fake.push_fault(
            Route::Probe,
            Fault::Status {
                status,
                headers: vec![],
                body: format!(
                    "Bad request. Headers: ST-App-Key: {app_key}; x-app-key={}",
                    app_key.to_uppercase()
                )
                .into_bytes(),
            },
        );
        // `world` forbids the App Key in the output.
        let out = check(&env).forbid(&app_key.to_uppercase()).run();
        out.code(5);
        no_run_of(&app_key, &out);
    }
}

// ---------------------------------------------------------------------------
// The profile name
// ---------------------------------------------------------------------------

#[test]
fn a_secret_inside_a_profile_name_is_not_echoed() {
    let env = TestEnv::new();
    let secret = env.creds.client_secret.clone();
    for args in [
        vec!["show".to_string(), format!("--profile=x{secret}")],
        vec!["token".to_string(), format!("--profile=acme-{secret}")],
        vec![
            "check".to_string(),
            "--profile".into(),
            format!("x{secret}"),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.cmd(&args).run();
        out.code(2).stderr_has("shaped like a Client Secret");
        no_run_of(&secret, &out);
    }
    let out = env
        .cmd(&["show"])
        .env("ST_PROFILE", &format!("x{secret}"))
        .run();
    out.code(2);
    no_run_of(&secret, &out);
}

// ---------------------------------------------------------------------------
// Core dumps
// ---------------------------------------------------------------------------

/// The "Max core file size" soft limit of a process, from /proc.
#[cfg(target_os = "linux")]
fn core_limit(pid: u32) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap()
        .to_string();
    line.split_whitespace().nth(4).unwrap().to_string()
}

#[cfg(target_os = "linux")]
#[test]
fn sigabrt_during_init_writes_no_core_dump() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let cwd = tempfile::tempdir().unwrap();
    // The token request never gets an answer: init holds the secret, waiting.
    fake.push_fault(Route::Token, Fault::Hang);
    let script = format!(
        "ulimit -c unlimited && cd '{}' && exec \"$0\" \"$@\"",
        cwd.path().display()
    );
    let running = env
        .init_cmd("core")
        .arg("--storage")
        .arg("file")
        .arg("--timeout")
        .arg("30")
        .wrapped_in(&["bash", "-c", &script])
        .spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fake.token_requests() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "init never asked for a token"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = running.id();
    assert_eq!(core_limit(pid), "0", "the core file size limit is not 0");
    // Not dumpable (which also stops a core piped to a handler, whatever the
    // limit): /proc/PID then belongs to root. Only visible when not root.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(format!("/proc/{pid}")).unwrap().uid();
        assert_eq!(owner, 0, "st-setup is still dumpable");
    }
    running.signal("ABRT");
    let out = running.wait_within(std::time::Duration::from_secs(10));
    assert_eq!(out.signal, Some(libc::SIGABRT), "{out}");
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    if !pattern.starts_with('|') {
        // Cores go to a file in the working directory: there is none.
        let cores: Vec<_> = std::fs::read_dir(cwd.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert!(cores.is_empty(), "a core dump was written: {cores:?}");
    }
}

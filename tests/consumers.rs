//! Credentials handed to the tools people already run: `export --format
//! servicepytan|singer`, `exec --env-style servicepytan`, and `export
//! --output FILE`. servicepytan is the real one from PyPI, in the throwaway
//! virtualenv scripts/test makes (its interpreter is `ST_TEST_PYTHON`), and
//! reads our output through its own loader. The Singer config is validated
//! against tap-service-titan's config schema, copied below from its source.

use crate::util::cmd::{Output, TestEnv};
use crate::util::fake_servicetitan::{Credentials, FakeServiceTitan};

/// The flags for all four values of a production tenant, nothing stored.
fn production_values(creds: &Credentials) -> Vec<String> {
    [
        "--environment",
        "production",
        "--tenant",
        &creds.tenant_id,
        "--app-key",
        &creds.app_key,
        "--client-id",
        &creds.client_id,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn export_cmd(env: &TestEnv, extra: &[&str]) -> crate::util::cmd::Cmd {
    let mut args = vec!["export".to_string()];
    args.extend(production_values(&env.creds));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.cmd(&args)
        .env("ST_CLIENT_SECRET", &env.creds.client_secret)
        // Nothing is stored: no keyring is needed, and none is reached.
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/st-setup-test-bus",
        )
}

#[test]
fn export_for_servicepytan_has_its_names_and_no_secret_unless_asked() {
    let env = TestEnv::new();
    let out = export_cmd(&env, &["--format", "servicepytan"]).run();
    out.code(0)
        .stderr_has("add --include-secret")
        .stdout_lacks("SERVICETITAN_CLIENT_SECRET");
    let json = out.json();
    assert_eq!(json["SERVICETITAN_TENANT_ID"], "8450");
    assert_eq!(json["SERVICETITAN_APP_KEY"], env.creds.app_key.as_str());
    assert_eq!(json["SERVICETITAN_CLIENT_ID"], env.creds.client_id.as_str());
    assert_eq!(json["SERVICETITAN_API_ENVIRONMENT"], "production");

    let out = export_cmd(&env, &["--format", "servicepytan", "--include-secret"])
        .allow_secret_on_stdout()
        .run();
    out.code(0)
        .stderr_has("includes the Client Secret in plain text")
        .stderr_lacks(&env.creds.client_secret);
    assert_eq!(
        out.json()["SERVICETITAN_CLIENT_SECRET"],
        env.creds.client_secret.as_str()
    );

    // servicepytan has no setting for other URLs: an override is named, not dropped silently.
    export_cmd(&env, &["--format", "servicepytan"])
        .env("ST_API_URL", "https://gateway.example.com/st")
        .run()
        .code(0)
        .stderr_has("servicepytan cannot use a custom token endpoint or API base")
        .stdout_lacks("gateway.example.com");
}

#[test]
fn export_for_singer_names_the_profiles_urls() {
    let env = TestEnv::new();
    let json = export_cmd(&env, &["--format", "singer"]).run().json();
    // The tap defaults to integration; a production profile must say production.
    assert_eq!(json["api_url"], "https://api.servicetitan.io");
    assert_eq!(
        json["auth_url"],
        "https://auth.servicetitan.io/connect/token"
    );
    assert_eq!(json["st_app_key"], env.creds.app_key.as_str());
    assert_eq!(json["tenant_id"], "8450");
    assert!(json.get("client_secret").is_none(), "{json}");

    let integration = export_cmd(&env, &["--format", "singer"])
        .args_override("--environment", "integration")
        .run()
        .json();
    assert_eq!(
        integration["auth_url"],
        "https://auth-integration.servicetitan.io/connect/token"
    );
    let overridden = export_cmd(&env, &["--format", "singer"])
        .env("ST_AUTH_URL", "https://gateway.example.com/token")
        .run()
        .json();
    assert_eq!(overridden["auth_url"], "https://gateway.example.com/token");
}

/// Run `python` (the virtualenv's) with `code`; its stdout, parsed as JSON.
#[cfg(target_os = "linux")]
fn python_json(code: &str, args: &[&std::path::Path]) -> serde_json::Value {
    let python = std::env::var_os("ST_TEST_PYTHON").expect(
        "ST_TEST_PYTHON is not set: run the suite with scripts/test, which makes a \
         virtualenv with servicepytan and jsonschema from PyPI",
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("run the virtualenv's python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "python printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// servicepytan's own loader: `servicepytan_connect(config_file=...)`, once
/// as is and once with the environment the file names (servicepytan 0.4.2
/// derives its URLs from the `api_environment` argument, not from the file).
#[cfg(target_os = "linux")]
const SERVICEPYTAN_LOAD_FILE: &str = r#"
import json, sys
from servicepytan.auth import servicepytan_connect
conn = servicepytan_connect(config_file=sys.argv[1])
env = conn["SERVICETITAN_API_ENVIRONMENT"]
urls = servicepytan_connect(config_file=sys.argv[1], api_environment=env)
print(json.dumps({"conn": conn, "auth_root": urls["auth_root"], "api_root": urls["api_root"]}))
"#;

#[cfg(target_os = "linux")]
#[test]
fn servicepytan_reads_the_exported_file_with_its_own_loader() {
    let env = TestEnv::new();
    let file = env.dir.path().join("servicepytan_config.json");
    let file_arg = file.to_str().unwrap();
    let out = export_cmd(
        &env,
        &[
            "--format",
            "servicepytan",
            "--include-secret",
            "--output",
            file_arg,
        ],
    )
    .args_override("--environment", "integration")
    .run();
    out.code(0).stderr_has("readable only by you");
    assert_eq!(out.stdout, "", "the values go to the file only");
    assert_eq!(crate::util::cmd::mode(&file), 0o600);

    let seen = python_json(SERVICEPYTAN_LOAD_FILE, &[&file]);
    let conn = &seen["conn"];
    assert_eq!(
        conn["SERVICETITAN_TENANT_ID"],
        env.creds.tenant_id.as_str(),
        "{seen}"
    );
    assert_eq!(conn["SERVICETITAN_APP_KEY"], env.creds.app_key.as_str());
    assert_eq!(conn["SERVICETITAN_CLIENT_ID"], env.creds.client_id.as_str());
    assert_eq!(
        conn["SERVICETITAN_CLIENT_SECRET"],
        env.creds.client_secret.as_str()
    );
    assert_eq!(conn["SERVICETITAN_API_ENVIRONMENT"], "integration");
    // The value is one servicepytan's ApiEnvironment knows: it picks these URLs.
    assert_eq!(
        seen["auth_root"],
        "https://auth-integration.servicetitan.io"
    );
    assert_eq!(seen["api_root"], "https://api-integration.servicetitan.io");
}

/// servicepytan's loader with no arguments reads the environment variables
/// (and, as above, picks its URLs from the `api_environment` argument).
#[cfg(target_os = "linux")]
const SERVICEPYTAN_LOAD_ENV: &str = r#"
import json, os
from servicepytan.auth import servicepytan_connect
conn = servicepytan_connect()
urls = servicepytan_connect(api_environment=os.environ["SERVICETITAN_API_ENVIRONMENT"])
print(json.dumps({"conn": conn, "api_root": urls["api_root"]}))
"#;

#[cfg(target_os = "linux")]
#[test]
fn exec_env_style_servicepytan_sets_what_servicepytan_reads() {
    let fake = FakeServiceTitan::start(Credentials::demo());
    let env = TestEnv::with_fake(&fake);
    let python = std::env::var("ST_TEST_PYTHON")
        .expect("ST_TEST_PYTHON is not set: run the suite with scripts/test");
    let exec = |extra: &[&str]| {
        let mut args = vec!["exec", "--env-style", "servicepytan"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", &python, "-c", SERVICEPYTAN_LOAD_ENV]);
        env.cmd(&args).values_from_env(&env.creds)
    };
    // servicepytan asks for its own tokens: without the secret it is refused up front.
    exec(&[])
        .run()
        .code(2)
        .stderr_has("--env-style servicepytan needs --with-secret");

    let out = exec(&["--with-secret"]).allow_secret_on_stdout().run();
    out.code(0)
        // The fake's URLs are overrides servicepytan cannot follow: said, not hidden.
        .stderr_has("servicepytan cannot use a custom token endpoint")
        .stderr_lacks(&env.creds.client_secret);
    let seen = out.json();
    let conn = &seen["conn"];
    assert_eq!(
        conn["SERVICETITAN_TENANT_ID"],
        env.creds.tenant_id.as_str(),
        "{seen}"
    );
    assert_eq!(conn["SERVICETITAN_APP_KEY"], env.creds.app_key.as_str());
    assert_eq!(conn["SERVICETITAN_CLIENT_ID"], env.creds.client_id.as_str());
    assert_eq!(
        conn["SERVICETITAN_CLIENT_SECRET"],
        env.creds.client_secret.as_str()
    );
    assert_eq!(conn["SERVICETITAN_API_ENVIRONMENT"], "integration");
    assert_eq!(seen["api_root"], "https://api-integration.servicetitan.io");
}

/// tap-service-titan's `config_jsonschema` (tap_service_titan/tap.py,
/// archdotdev/tap-service-titan), as singer-sdk's `PropertiesList.to_dict()`
/// renders it: required properties are not nullable, the others are unless
/// marked `nullable=False` (auth_url). The tap validates its config with it.
#[cfg(target_os = "linux")]
const TAP_SERVICE_TITAN_CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "client_id": {"type": ["string"], "secret": true, "writeOnly": true,
                  "description": "The client ID to use in authenticating."},
    "client_secret": {"type": ["string"], "secret": true, "writeOnly": true,
                      "description": "The client secret to use in authenticating."},
    "st_app_key": {"type": ["string"], "secret": true, "writeOnly": true,
                   "description": "The app key for the Service Titan app used to authenticate."},
    "tenant_id": {"type": ["string"], "description": "Tenant ID to pull records for."},
    "api_url": {"type": ["string", "null"], "default": "https://api-integration.servicetitan.io",
                "description": "The url for the ServiceTitan API"},
    "auth_url": {"type": ["string"], "default": "https://auth-integration.servicetitan.io/connect/token",
                 "description": "The url for the ServiceTitan OAuth API"},
    "start_date": {"type": ["string", "null"], "format": "date-time",
                   "default": "2024-01-01T00:00:00Z",
                   "description": "The start date for the records to pull."},
    "custom_reports": {
      "type": ["array", "null"],
      "description": "Custom reports to extract.",
      "items": {
        "type": "object",
        "properties": {
          "report_category": {"type": ["string"]},
          "report_name": {"type": ["string"]},
          "report_id": {"type": ["string"]},
          "backfill_date_parameter": {"type": ["string", "null"]},
          "lookback_window_days": {"type": ["number", "null"], "default": 0},
          "parameters": {
            "type": ["array"],
            "items": {
              "type": "object",
              "properties": {"name": {"type": ["string"]}, "value": {"type": ["string"]}},
              "required": ["name", "value"]
            }
          }
        },
        "required": ["report_category", "report_name", "report_id", "parameters"]
      }
    }
  },
  "required": ["client_id", "client_secret", "st_app_key", "tenant_id"]
}"#;

/// jsonschema's verdict on the config file argv[2] against the schema argv[1].
#[cfg(target_os = "linux")]
const VALIDATE: &str = r#"
import json, sys
from jsonschema import Draft7Validator
schema = json.load(open(sys.argv[1]))
Draft7Validator.check_schema(schema)
config = json.load(open(sys.argv[2]))
errors = sorted(e.message for e in Draft7Validator(schema).iter_errors(config))
print(json.dumps({"errors": errors}))
"#;

#[cfg(target_os = "linux")]
#[test]
fn the_singer_config_validates_against_the_taps_schema() {
    let env = TestEnv::new();
    let schema = env.dir.path().join("schema.json");
    std::fs::write(&schema, TAP_SERVICE_TITAN_CONFIG_SCHEMA).unwrap();
    let validate = |extra: &[&str], name: &str| -> (Output, serde_json::Value) {
        let file = env.dir.path().join(name);
        let mut args = vec!["--format", "singer", "--output", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = export_cmd(&env, &args).run();
        out.code(0);
        let verdict = python_json(VALIDATE, &[&schema, &file]);
        (out, verdict)
    };
    // Without the secret the tap would refuse the config: the check can fail.
    let (out, verdict) = validate(&[], "no-secret.json");
    out.stderr_has("add --include-secret");
    assert_eq!(
        verdict["errors"],
        serde_json::json!(["'client_secret' is a required property"]),
        "{verdict}"
    );
    let (_, verdict) = validate(&["--include-secret"], "tap-config.json");
    assert_eq!(verdict["errors"], serde_json::json!([]), "{verdict}");
}

#[cfg(unix)]
#[test]
fn output_is_a_new_private_file_and_is_never_overwritten_by_accident() {
    let env = TestEnv::new();
    let file = env.dir.path().join("creds.json");
    let file_arg = file.to_str().unwrap().to_string();
    // mode 0600 even with a umask that would make it world-readable.
    let out = export_cmd(
        &env,
        &[
            "--format",
            "singer",
            "--include-secret",
            "--output",
            &file_arg,
        ],
    )
    .wrapped_in(&["sh", "-c", "umask 000; exec \"$@\"", "sh"])
    .run();
    out.code(0);
    assert_eq!(out.stdout, "");
    assert_eq!(crate::util::cmd::mode(&file), 0o600);
    let first = std::fs::read_to_string(&file).unwrap();
    assert!(first.contains(&env.creds.client_secret));

    // An existing file is refused, with the fix named, and left as it was.
    export_cmd(&env, &["--format", "json", "--output", &file_arg])
        .run()
        .code(2)
        .stderr_has("already exists")
        .stderr_has("--force");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);
    export_cmd(
        &env,
        &["--format", "json", "--output", &file_arg, "--force"],
    )
    .run()
    .code(0);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("\"tenant_id\"")
    );
    assert_eq!(crate::util::cmd::mode(&file), 0o600);

    // A symlink at FILE is never followed: refused, and with --force replaced itself.
    let target = env.dir.path().join("elsewhere");
    std::fs::write(&target, "not yours to write\n").unwrap();
    let link = env.dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let link_arg = link.to_str().unwrap();
    export_cmd(&env, &["--include-secret", "--output", link_arg])
        .run()
        .code(2)
        .stderr_has("already exists");
    export_cmd(&env, &["--include-secret", "--output", link_arg, "--force"])
        .run()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "not yours to write\n"
    );
    assert!(!link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(crate::util::cmd::mode(&link), 0o600);

    // --force alone is a usage error, not a silent stdout export.
    export_cmd(&env, &["--force"]).run().code(2);
}

//! Release reach that can be checked without a release: the names in
//! Cargo.toml's binstall metadata, release.yml and action.yml agree, and
//! scripts/render-package-manifests turns checksums into a Homebrew formula
//! and a Scoop manifest (or writes nothing when one is missing).
//! The .deb itself is tested by scripts/test-deb (installed with dpkg -i).

use std::path::{Path, PathBuf};

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The archive name release.yml gives a build, and the folder inside it.
const RELEASE_NAME: &str = r#"name="st-setup-$VERSION-$TARGET""#;

#[test]
fn binstall_metadata_matches_the_release_archive_names() {
    let release = read(".github/workflows/release.yml");
    assert!(
        release.contains(RELEASE_NAME),
        "release.yml no longer names archives {RELEASE_NAME}"
    );
    assert!(
        release.contains(r#"archive="$name.zip""#) && release.contains(r#"archive="$name.tar.gz""#)
    );
    let action = read("action.yml");
    assert!(action.contains(r#"name="st-setup-$version-$target""#));

    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    let binstall = &manifest["package"]["metadata"]["binstall"];
    let render = |template: &str, target: &str, suffix: &str| {
        template
            .replace("{ repo }", "https://github.com/acme/st-setup")
            .replace("{ version }", "1.2.3")
            .replace("{ name }", "st-setup")
            .replace("{ target }", target)
            .replace("{ archive-suffix }", suffix)
            .replace("{ bin }", "st-setup")
            .replace(
                "{ binary-ext }",
                if target.contains("windows") {
                    ".exe"
                } else {
                    ""
                },
            )
    };
    let pkg_url = binstall["pkg-url"].as_str().unwrap();
    let bin_dir = binstall["bin-dir"].as_str().unwrap();
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("tgz"));
    assert_eq!(
        render(pkg_url, "aarch64-apple-darwin", ".tar.gz"),
        "https://github.com/acme/st-setup/releases/download/v1.2.3/st-setup-1.2.3-aarch64-apple-darwin.tar.gz"
    );
    assert_eq!(
        render(bin_dir, "aarch64-apple-darwin", ""),
        "st-setup-1.2.3-aarch64-apple-darwin/st-setup"
    );
    let windows = &binstall["overrides"]["x86_64-pc-windows-msvc"];
    assert_eq!(windows["pkg-fmt"].as_str(), Some("zip"));
    assert_eq!(
        render(bin_dir, "x86_64-pc-windows-msvc", ""),
        "st-setup-1.2.3-x86_64-pc-windows-msvc/st-setup.exe"
    );
}

#[test]
fn the_deb_recommends_gnome_keyring_and_ships_the_generated_files() {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    let deb = &manifest["package"]["metadata"]["deb"];
    assert_eq!(deb["recommends"].as_str(), Some("gnome-keyring"));
    assert!(!deb["depends"].as_str().unwrap().contains("gnome-keyring"));
    let assets: Vec<(String, String)> = deb["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_array().unwrap();
            (a[0].as_str().unwrap().into(), a[1].as_str().unwrap().into())
        })
        .collect();
    for dest in [
        "usr/share/man/man1/st-setup.1",
        "usr/share/bash-completion/completions/st-setup",
        "usr/share/zsh/vendor-completions/_st-setup",
        "usr/share/fish/vendor_completions.d/st-setup.fish",
    ] {
        let (source, _) = assets
            .iter()
            .find(|(_, d)| d == dest)
            .unwrap_or_else(|| panic!("no asset installs {dest}"));
        // Written by scripts/package-deb under the same name.
        let file = source.rsplit('/').next().unwrap();
        assert!(
            read("scripts/package-deb").contains(&format!("$assets/{file}\"")),
            "scripts/package-deb does not write {source}"
        );
    }
}

#[cfg(unix)]
#[test]
fn homebrew_and_scoop_manifests_are_rendered_from_the_checksums() {
    let dist = tempfile::tempdir().unwrap();
    let targets = [
        "aarch64-apple-darwin",
        "x86_64-apple-darwin",
        "aarch64-unknown-linux-gnu",
        "x86_64-unknown-linux-gnu",
        "x86_64-pc-windows-msvc",
    ];
    let mut hashes = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let ext = if target.contains("windows") {
            "zip"
        } else {
            "tar.gz"
        };
        let archive = format!("st-setup-1.2.3-{target}.{ext}");
        let hash = format!("{:064x}", i + 0xabc);
        std::fs::write(
            dist.path().join(format!("{archive}.sha256")),
            format!("{hash}  {archive}\n"),
        )
        .unwrap();
        hashes.push((archive, hash));
    }
    let render = || {
        std::process::Command::new(repo_file("scripts/render-package-manifests"))
            .args(["--version", "1.2.3", "--repo", "acme/st-setup"])
            .arg(dist.path())
            .output()
            .expect("run scripts/render-package-manifests (python3)")
    };
    let out = render();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let formula = std::fs::read_to_string(dist.path().join("st-setup.rb")).unwrap();
    for (archive, hash) in &hashes[..4] {
        let url = format!(
            "url \"https://github.com/acme/st-setup/releases/download/v1.2.3/{archive}\"\n      sha256 \"{hash}\""
        );
        assert!(
            formula.contains(&url),
            "{archive} not in the formula:\n{formula}"
        );
    }
    assert!(formula.contains("class StSetup < Formula"));
    assert!(formula.contains("bash_completion.install \"doc/completions/st-setup.bash\""));

    let scoop: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dist.path().join("st-setup.json")).unwrap())
            .unwrap();
    let win = &scoop["architecture"]["64bit"];
    assert_eq!(scoop["version"], "1.2.3");
    assert_eq!(win["hash"], hashes[4].1.as_str());
    assert_eq!(
        win["url"],
        format!(
            "https://github.com/acme/st-setup/releases/download/v1.2.3/{}",
            hashes[4].0
        )
    );
    assert_eq!(win["extract_dir"], "st-setup-1.2.3-x86_64-pc-windows-msvc");
    assert_eq!(scoop["bin"], "st-setup.exe");

    // A missing checksum: refused, and nothing (new) written.
    std::fs::remove_file(dist.path().join("st-setup.rb")).unwrap();
    std::fs::remove_file(dist.path().join(format!("{}.sha256", hashes[4].0))).unwrap();
    let out = render();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&hashes[4].0));
    assert!(!dist.path().join("st-setup.rb").exists());
}

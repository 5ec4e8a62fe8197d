//! The built-in OpenPGP key source without a usable gpg: rsops reads the legacy keyrings
//! `$GNUPGHOME/secring.gpg` / `pubring.gpg` (as gpg exports them) and interoperates with the
//! reference sops both through its gpg path and through its own pure-Go path.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// A gpg that cannot run, so only the built-in OpenPGP source can succeed.
const NO_GPG: &str = "/nonexistent/gpg";

fn fpr() -> String {
    std::fs::read_to_string(corpus().join("keys/pgp.fpr"))
        .unwrap()
        .trim()
        .to_owned()
}

/// Runs gpg on `home` and returns its standard output.
fn gpg(home: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--quiet"])
        .args(args)
        .output()
        .expect("gpg must be installed (scripts/setup-test-tools)");
    assert!(out.status.success(), "gpg {args:?}: {}", describe(&out));
    out.stdout
}

/// A normal GNUPGHOME with the corpus key (`gnupg`), and a GNUPGHOME holding only the legacy
/// keyring files gpg exports for it (`native`): binary `pubring.gpg` and `secring.gpg`.
struct Homes {
    gnupg: PathBuf,
    native: PathBuf,
}

fn homes(dir: &Path, public: bool, secret: bool) -> Homes {
    let gnupg = gnupg_home(dir);
    let native = dir.join("native");
    std::fs::create_dir_all(&native).unwrap();
    let fp = fpr();
    if public {
        let ring = gpg(&gnupg, &["--export", &fp]);
        assert!(!ring.is_empty() && ring[0] & 0x80 != 0, "binary export");
        std::fs::write(native.join("pubring.gpg"), ring).unwrap();
    }
    if secret {
        let ring = gpg(&gnupg, &["--export-secret-keys", &fp]);
        assert!(!ring.is_empty() && ring[0] & 0x80 != 0, "binary export");
        std::fs::write(native.join("secring.gpg"), ring).unwrap();
    }
    Homes { gnupg, native }
}

/// `program` with `GNUPGHOME=home` and no usable gpg, run in `cwd`.
fn without_gpg(program: &Path, tmp: &Path, home: &Path, cwd: &Path, args: &[&str]) -> Output {
    hermetic(program, tmp)
        .env("GNUPGHOME", home)
        .env("SOPS_GPG_EXEC", NO_GPG)
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap()
}

/// Manifest rows `(cwd, encrypted, expected, dec_args)` of the PGP-only decrypt cases.
fn pgp_decrypt_cases() -> Vec<(String, String, String, Vec<String>)> {
    let text = std::fs::read_to_string(corpus().join("manifest.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[0].starts_with("dec-pgp-") && f[7] == "pgp" && f[9] == "ok")
        .map(|f| {
            (
                f[3].to_owned(),
                f[4].to_owned(),
                f[6].to_owned(),
                serde_json::from_str(f[8]).unwrap(),
            )
        })
        .collect()
}

/// The PGP-only encrypt units `(cwd, plaintext, expected)`.
fn pgp_encrypt_units() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(corpus().join("encrypt-cases.tsv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[7] == "pgp" && !f[8].contains("--age"))
        .map(|f| (f[3].to_owned(), f[4].to_owned(), f[6].to_owned()))
        .collect()
}

#[test]
fn decrypts_corpus_pgp_files_from_secring_without_gpg() {
    let cases = pgp_decrypt_cases();
    assert!(cases.len() >= 2, "the manifest lists PGP-only cases");
    let tmp = tempfile::tempdir().unwrap();
    let h = homes(tmp.path(), false, true);
    for (cwd, encrypted, expected, dec_args) in &cases {
        let cwd = corpus().join(cwd);
        let mut args = vec!["decrypt"];
        args.extend(dec_args.iter().map(String::as_str));
        args.push(encrypted);
        let out = without_gpg(&rsops(), tmp.path(), &h.native, &cwd, &args);
        assert!(out.status.success(), "{encrypted}: {}", describe(&out));
        let want = std::fs::read(cwd.join(expected)).unwrap();
        assert!(out.stdout == want, "{encrypted}: {}", describe(&out));
    }
}

#[test]
fn real_sops_decrypts_what_rsops_encrypts_from_pubring() {
    let sops = reference_sops();
    let units = pgp_encrypt_units();
    assert!(units.len() >= 2, "the corpus lists PGP-only encrypt units");
    let fp = fpr();
    for (cwd, plaintext, expected) in &units {
        let tmp = tempfile::tempdir().unwrap();
        let h = homes(tmp.path(), true, false);
        let cwd = corpus().join(cwd);
        let out = without_gpg(
            &rsops(),
            tmp.path(),
            &h.native,
            &cwd,
            &["encrypt", "--pgp", &fp, plaintext],
        );
        assert!(out.status.success(), "{plaintext}: {}", describe(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("-----BEGIN PGP MESSAGE-----"), "{text}");
        assert!(text.contains(&fp), "{text}");
        let ours = tmp.path().join(Path::new(plaintext).file_name().unwrap());
        std::fs::write(&ours, &text).unwrap();
        let want = std::fs::read(cwd.join(expected)).unwrap();

        // sops through gpg (its pure-Go path finds no secring.gpg there).
        let dec = hermetic(&sops, tmp.path())
            .env("GNUPGHOME", &h.gnupg)
            .current_dir(&cwd)
            .arg("decrypt")
            .arg(&ours)
            .output()
            .unwrap();
        assert!(
            dec.status.success() && dec.stdout == want,
            "sops via gpg, {plaintext}: {}",
            describe(&dec)
        );

        // sops through its pure-Go path only.
        let secring = gpg(&h.gnupg, &["--export-secret-keys", &fp]);
        std::fs::write(h.native.join("secring.gpg"), secring).unwrap();
        let dec = without_gpg(
            &sops,
            tmp.path(),
            &h.native,
            &cwd,
            &["decrypt", ours.to_str().unwrap()],
        );
        assert!(
            dec.status.success() && dec.stdout == want,
            "sops without gpg, {plaintext}: {}",
            describe(&dec)
        );
    }
}

#[test]
fn decrypts_what_sops_pure_go_path_encrypts() {
    let sops = reference_sops();
    let tmp = tempfile::tempdir().unwrap();
    let h = homes(tmp.path(), true, true);
    let fp = fpr();
    for (cwd, plaintext, expected) in pgp_encrypt_units() {
        let cwd = corpus().join(cwd);
        let enc = without_gpg(
            &sops,
            tmp.path(),
            &h.native,
            &cwd,
            &["encrypt", "--pgp", &fp, &plaintext],
        );
        assert!(enc.status.success(), "sops encrypt: {}", describe(&enc));
        let theirs = tmp.path().join(Path::new(&plaintext).file_name().unwrap());
        std::fs::write(&theirs, &enc.stdout).unwrap();
        let dec = without_gpg(
            &rsops(),
            tmp.path(),
            &h.native,
            &cwd,
            &["decrypt", theirs.to_str().unwrap()],
        );
        let want = std::fs::read(cwd.join(&expected)).unwrap();
        assert!(
            dec.status.success() && dec.stdout == want,
            "{plaintext}: {}",
            describe(&dec)
        );
    }
}

#[test]
fn without_keyrings_or_gpg_decrypt_fails_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty-gnupg");
    std::fs::create_dir_all(&empty).unwrap();
    let cwd = corpus().join("cases/pgp");
    let out = without_gpg(
        &rsops(),
        tmp.path(),
        &empty,
        &cwd,
        &["decrypt", "enc/pgp.yaml"],
    );
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&fpr()), "{stderr}");
    assert!(
        stderr.contains(NO_GPG),
        "the gpg attempt is reported: {stderr}"
    );
}

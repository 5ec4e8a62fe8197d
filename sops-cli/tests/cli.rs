//! The command-line surface: completions, man page, unknown flags, and rsops installed or
//! symlinked under the name `sops`.

mod common;

use common::*;

#[test]
fn completions_and_man_page_are_generated_from_the_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = hermetic(&rsops(), tmp.path())
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in ["encrypt", "decrypt", "edit", "updatekeys", "exec-env"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let man = hermetic(&rsops(), tmp.path()).arg("man").output().unwrap();
    assert!(man.status.success());
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH rsops 1"));
}

#[test]
fn unknown_flags_exit_1_like_sops() {
    let tmp = tempfile::tempdir().unwrap();
    let out = hermetic(&rsops(), tmp.path())
        .args(["decrypt", "--no-such-flag", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[cfg(unix)]
#[test]
fn works_when_symlinked_as_sops() {
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("sops");
    std::os::unix::fs::symlink(rsops(), &link).unwrap();
    let cwd = corpus().join("cases/basic");
    let out = hermetic(&link, tmp.path())
        .current_dir(&cwd)
        .env("SOPS_AGE_KEY_FILE", key_file(tmp.path(), &["age1"]))
        .args(["-d", "enc/nested.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        out.stdout,
        std::fs::read(cwd.join("expected/nested.yaml")).unwrap()
    );
}

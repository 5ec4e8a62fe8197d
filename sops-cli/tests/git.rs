//! `rsops git`: the filter, textconv, merge driver and check, driven by the real git binary
//! in temporary repositories; blobs are cross-checked with the real sops.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{describe, reference_sops, rsops};

const AGE1: &str = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw";
const AGE2: &str = "age1nly4sevnezgjtyrjqd3kls4j5tvm6pdnatyp8mcnrmahxx9duqsq5j5ljd";

const DB: &str =
    "user: admin\npassword: hunter2\n# rotate quarterly\nport: 5432\nreplicas:\n    - a\n    - b\n";
const JSON: &str = "{\n\t\"token\": \"tok-123\",\n\t\"nested\": {\n\t\t\"id\": 7\n\t}\n}\n";
const DOTENV: &str = "API_KEY=key-abc\nDEBUG=false\n";

/// A repository in a temp folder with its own HOME (and so no ambient git or age config).
struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    home: PathBuf,
    /// The identities file, `None` for a locked clone.
    keys: Option<PathBuf>,
}

impl Repo {
    fn new(keys: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let keys = (!keys.is_empty()).then(|| common::key_file(tmp.path(), keys));
        let r = Self {
            _tmp: tmp,
            dir,
            home,
            keys,
        };
        r.ok(&["init", "-q", "-b", "main"]);
        r
    }

    /// A clone of `other` in a new temp folder, with `keys` (none: locked).
    fn clone_of(other: &Self, keys: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let keys = (!keys.is_empty()).then(|| common::key_file(tmp.path(), keys));
        let r = Self {
            _tmp: tmp,
            dir: dir.clone(),
            home,
            keys,
        };
        let out = r
            .cmd("git", Path::new("/"))
            .args(["clone", "-q"])
            .arg(&other.dir)
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "clone: {}", describe(&out));
        r
    }

    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .env("GIT_EDITOR", "true")
            .env("GNUPGHOME", self.home.join("gnupg-empty"));
        if let Some(k) = &self.keys {
            c.env("SOPS_AGE_KEY_FILE", k);
        }
        c
    }

    fn git(&self, args: &[&str]) -> Output {
        self.cmd("git", &self.dir).args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.git(args);
        assert!(out.status.success(), "git {args:?}: {}", describe(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `rsops git check` with `extra` arguments, expects findings (exit 1), and returns
    /// what it printed.
    fn check_findings(&self, extra: &[&str]) -> String {
        let mut args = vec!["git", "check"];
        args.extend_from_slice(extra);
        let out = self.rsops(&args);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn rsops(&self, args: &[&str]) -> Output {
        self.cmd(rsops(), &self.dir).args(args).output().unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).unwrap()
    }

    /// The blob of `rev:path` as stored.
    fn blob(&self, spec: &str) -> Vec<u8> {
        let out = self.git(&["cat-file", "blob", spec]);
        assert!(out.status.success(), "cat-file {spec}: {}", describe(&out));
        out.stdout
    }

    /// Every object in the store, concatenated (to scan for plaintext).
    fn all_objects(&self) -> Vec<u8> {
        let out = self
            .cmd("git", &self.dir)
            .args(["cat-file", "--batch-all-objects", "--batch", "--unordered"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        out.stdout
    }

    /// Decrypts a blob with the real sops, with the age1 key.
    fn sops_decrypt(&self, spec: &str, format: &str) -> String {
        let tmp = self._tmp.path().join("blob");
        std::fs::write(&tmp, self.blob(spec)).unwrap();
        let dir = self._tmp.path().join("sops-keys");
        std::fs::create_dir_all(&dir).unwrap();
        let keys = common::key_file(&dir, &["age1"]);
        let out = common::hermetic(&reference_sops(), &self.home)
            .env("SOPS_AGE_KEY_FILE", &keys)
            .args(["decrypt", "--input-type", format, "--output-type", format])
            .arg(&tmp)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sops decrypt {spec}: {}",
            describe(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `.sops.yaml` for `secrets/` (age1) and `tenants/a/` (age2), then `rsops git init`.
    fn wired(keys: &[&str]) -> Self {
        let r = Self::new(keys);
        r.write(
            ".sops.yaml",
            &format!(
                "creation_rules:\n  - path_regex: ^secrets/.*\n    age: {AGE1}\n  - path_regex: ^tenants/a/.*\n    age: {AGE2}\n"
            ),
        );
        let out = r.rsops(&["git", "init", "secrets/**", "tenants/**"]);
        assert!(out.status.success(), "init: {}", describe(&out));
        r
    }

    fn status(&self) -> String {
        self.ok(&["status", "--porcelain"])
    }
}

fn assert_no_plaintext(r: &Repo, secrets: &[&str]) {
    let objects = r.all_objects();
    for s in secrets {
        assert!(
            !objects.windows(s.len()).any(|w| w == s.as_bytes()),
            "plaintext {s:?} found in the object store"
        );
    }
}

#[test]
fn init_is_idempotent_and_wires_everything() {
    let r = Repo::wired(&["age1"]);
    let attrs = r.read(".gitattributes");
    let out = r.rsops(&["git", "init", "secrets/**", "tenants/**"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        r.read(".gitattributes"),
        attrs,
        "a second init changes nothing"
    );
    assert!(attrs.contains("secrets/** filter=rsops diff=rsops merge=rsops -text\n"));
    assert!(attrs.contains("**/.sops.yaml !filter !diff !merge\n"));
    for key in [
        "filter.rsops.process",
        "filter.rsops.clean",
        "filter.rsops.smudge",
        "diff.rsops.textconv",
        "merge.rsops.driver",
    ] {
        let v = r.ok(&["config", "--get", key]);
        assert!(v.contains(" git "), "{key} = {v}");
    }
    assert_eq!(
        r.ok(&["config", "--get", "filter.rsops.required"]).trim(),
        "true"
    );
    assert_eq!(
        r.ok(&["config", "--get", "diff.rsops.cachetextconv"])
            .trim(),
        "false"
    );
}

#[test]
fn filter_stores_sops_files_and_keeps_status_clean() {
    let r = Repo::wired(&["age1"]);
    r.write("secrets/db.yaml", DB);
    r.write("secrets/app.json", JSON);
    r.write("secrets/app.env", DOTENV);
    r.write("README.md", "not a secret\n");
    r.write("secrets/.gitkeep", "");
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-qm", "init"]);

    // Blobs are SOPS files that the real sops decrypts to the plaintext.
    assert_eq!(r.sops_decrypt("HEAD:secrets/db.yaml", "yaml"), DB);
    assert_eq!(r.sops_decrypt("HEAD:secrets/app.json", "json"), JSON);
    assert_eq!(r.sops_decrypt("HEAD:secrets/app.env", "dotenv"), DOTENV);
    assert_eq!(r.blob("HEAD:README.md"), b"not a secret\n");
    let out = r.rsops(&["git", "check", "--history"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_no_plaintext(&r, &["hunter2", "tok-123", "key-abc", "rotate quarterly"]);

    // A fresh checkout writes plaintext; status stays clean, also after touching every file.
    for f in ["secrets/db.yaml", "secrets/app.json", "secrets/app.env"] {
        std::fs::remove_file(r.dir.join(f)).unwrap();
    }
    r.ok(&["checkout", "--", "."]);
    assert_eq!(r.read("secrets/db.yaml"), DB);
    assert_eq!(r.read("secrets/app.json"), JSON);
    assert_eq!(r.read("secrets/app.env"), DOTENV);
    assert_eq!(r.status(), "");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for f in ["secrets/db.yaml", "secrets/app.json", "secrets/app.env"] {
        let p = r.dir.join(f);
        let text = std::fs::read(&p).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    assert_eq!(r.status(), "", "touching files shows nothing modified");

    // Re-adding unchanged files stores no new object.
    let before = r.ok(&["count-objects", "-v"]);
    r.ok(&["add", "-A"]);
    assert_eq!(r.ok(&["count-objects", "-v"]), before);
    assert_eq!(r.ok(&["diff", "--cached", "--name-only"]), "");

    // A one-value edit is a one-value plaintext diff, and three changed ciphertext lines
    // (the value, lastmodified, mac).
    r.write("secrets/db.yaml", &DB.replace("hunter2", "hunter3"));
    let diff = r.ok(&["diff"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        vec!["-password: hunter2", "+password: hunter3"],
        "{diff}"
    );
    let numstat = r.ok(&["diff", "--no-textconv", "--numstat"]);
    assert!(numstat.starts_with("3\t3\tsecrets/db.yaml"), "{numstat}");
    r.ok(&["commit", "-qam", "rotate"]);
    let log = r.ok(&["log", "-p", "-1"]);
    assert!(log.contains("+password: hunter3"), "{log}");
    assert_eq!(
        r.sops_decrypt("HEAD:secrets/db.yaml", "yaml"),
        DB.replace("hunter2", "hunter3")
    );
    // The unchanged values kept their ciphertext.
    let old = String::from_utf8(r.blob("HEAD~1:secrets/db.yaml")).unwrap();
    let new = String::from_utf8(r.blob("HEAD:secrets/db.yaml")).unwrap();
    let user_line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("user:"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(user_line(&old), user_line(&new));
    assert_no_plaintext(&r, &["hunter2", "hunter3"]);
}

#[test]
fn branches_stash_rebase_cherry_pick_and_add_p() {
    let r = Repo::wired(&["age1"]);
    r.write("secrets/db.yaml", DB);
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-qm", "init"]);

    // Branch, checkout back and forth.
    r.ok(&["checkout", "-qb", "feature"]);
    r.write("secrets/db.yaml", &DB.replace("admin", "root"));
    r.ok(&["commit", "-qam", "user"]);
    r.ok(&["checkout", "-q", "main"]);
    assert_eq!(r.read("secrets/db.yaml"), DB);
    assert_eq!(r.status(), "");

    // Stash a change and bring it back.
    r.write("secrets/db.yaml", &DB.replace("5432", "6543"));
    r.ok(&["stash", "-q"]);
    assert_eq!(r.read("secrets/db.yaml"), DB);
    assert_eq!(r.status(), "");
    r.ok(&["stash", "pop", "-q"]);
    assert_eq!(r.read("secrets/db.yaml"), DB.replace("5432", "6543"));

    // add -p, accepting every hunk: the staged blob is a valid SOPS file.
    let mut child = r
        .cmd("git", &r.dir)
        .args(["add", "-p"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"a\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "add -p: {}", describe(&out));
    assert_eq!(
        r.sops_decrypt(":secrets/db.yaml", "yaml"),
        DB.replace("5432", "6543")
    );
    r.ok(&["commit", "-qm", "port"]);

    // Rebase the feature branch onto main: different keys, merged per key.
    r.ok(&["checkout", "-q", "feature"]);
    r.ok(&["rebase", "-q", "main"]);
    let both = DB.replace("admin", "root").replace("5432", "6543");
    assert_eq!(r.read("secrets/db.yaml"), both);
    assert_eq!(r.sops_decrypt("HEAD:secrets/db.yaml", "yaml"), both);
    assert_eq!(r.status(), "");

    // Cherry-pick a change from another branch.
    r.ok(&["checkout", "-q", "main"]);
    r.ok(&["checkout", "-qb", "other"]);
    r.write(
        "secrets/db.yaml",
        &DB.replace("5432", "6543").replace("- b", "- c"),
    );
    r.ok(&["commit", "-qam", "replicas"]);
    r.ok(&["checkout", "-q", "feature"]);
    r.ok(&["cherry-pick", "other"]);
    let picked = both.replace("- b", "- c");
    assert_eq!(r.read("secrets/db.yaml"), picked);
    assert_eq!(r.sops_decrypt("HEAD:secrets/db.yaml", "yaml"), picked);
    assert_eq!(r.status(), "");
    assert_no_plaintext(&r, &["hunter2", "root", "6543"]);
}

#[test]
fn merge_driver_merges_per_key_and_reports_conflicts_without_values() {
    let r = Repo::wired(&["age1"]);
    r.write("secrets/db.yaml", DB);
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-qm", "init"]);
    r.ok(&["checkout", "-qb", "feature"]);
    r.write("secrets/db.yaml", &DB.replace("admin", "root"));
    r.ok(&["commit", "-qam", "user"]);
    r.ok(&["checkout", "-q", "main"]);
    r.write("secrets/db.yaml", &DB.replace("5432", "6543"));
    r.ok(&["commit", "-qam", "port"]);

    // Different keys on each side: no conflict, valid MAC (real sops checks it).
    r.ok(&["merge", "-q", "--no-edit", "feature"]);
    let merged = DB.replace("admin", "root").replace("5432", "6543");
    assert_eq!(r.read("secrets/db.yaml"), merged);
    assert_eq!(r.sops_decrypt("HEAD:secrets/db.yaml", "yaml"), merged);
    assert_eq!(r.status(), "");

    // The same key changed on both sides: a conflict naming the key, never the values.
    r.ok(&["checkout", "-qb", "b2"]);
    r.write("secrets/db.yaml", &merged.replace("hunter2", "theirs-pw"));
    r.ok(&["commit", "-qam", "b2"]);
    r.ok(&["checkout", "-q", "main"]);
    r.write("secrets/db.yaml", &merged.replace("hunter2", "ours-pw"));
    r.ok(&["commit", "-qam", "main"]);
    let out = r.git(&["merge", "--no-edit", "b2"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains(r#"["password"]"#), "{all}");
    for secret in ["theirs-pw", "ours-pw", "hunter2"] {
        assert!(!all.contains(secret), "a value leaked: {all}");
    }
    assert!(r.status().contains("UU secrets/db.yaml"));
    // The working tree holds a resolvable plaintext (ours for the conflicting key).
    assert_eq!(
        r.read("secrets/db.yaml"),
        merged.replace("hunter2", "ours-pw")
    );
    r.write("secrets/db.yaml", &merged.replace("hunter2", "resolved-pw"));
    r.ok(&["add", "secrets/db.yaml"]);
    r.ok(&["commit", "-qm", "resolved"]);
    assert_eq!(
        r.sops_decrypt("HEAD:secrets/db.yaml", "yaml"),
        merged.replace("hunter2", "resolved-pw")
    );
    assert_no_plaintext(&r, &["theirs-pw", "ours-pw", "resolved-pw"]);
}

#[test]
fn locked_clone_keeps_ciphertext_and_refuses_plaintext() {
    let origin = Repo::wired(&["age1"]);
    origin.write("secrets/db.yaml", DB);
    origin.ok(&["add", "-A"]);
    origin.ok(&["commit", "-qm", "init"]);

    let locked = Repo::clone_of(&origin, &[]);
    let out = locked.rsops(&["git", "init", "secrets/**", "tenants/**"]);
    assert!(out.status.success(), "{}", describe(&out));
    // Checkout succeeded with ciphertext in the tree, and status is clean.
    let out = locked.git(&["checkout", "-f", "HEAD", "--", "."]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        std::fs::read(locked.dir.join("secrets/db.yaml")).unwrap(),
        locked.blob("HEAD:secrets/db.yaml")
    );
    assert_eq!(locked.status(), "");
    let p = locked.dir.join("secrets/db.yaml");
    std::fs::write(&p, std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(locked.status(), "");

    // A new plaintext secret is refused by the filter; no blob holds it.
    locked.write("secrets/new.yaml", "token: locked-secret\n");
    let out = locked.git(&["add", "secrets/new.yaml"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to add plaintext"), "{err}");
    assert!(!err.contains("locked-secret"), "{err}");
    assert_no_plaintext(&locked, &["locked-secret", "hunter2"]);
    let out = locked.rsops(&["git", "check"]);
    assert!(out.status.success(), "{}", describe(&out));

    // Write-only: encrypt first, then the complete SOPS file passes through unchanged.
    let out = locked.rsops(&["encrypt", "-i", "--age", AGE1, "secrets/new.yaml"]);
    assert!(out.status.success(), "{}", describe(&out));
    locked.ok(&["add", "secrets/new.yaml"]);
    assert_eq!(
        locked.blob(":secrets/new.yaml"),
        std::fs::read(locked.dir.join("secrets/new.yaml")).unwrap()
    );

    // A clone without `rsops git init` would store plaintext: the keyless check catches it.
    let unwired = Repo::clone_of(&origin, &[]);
    unwired.write("secrets/leak.yaml", "token: leaked\n");
    unwired.ok(&["add", "secrets/leak.yaml"]);
    let out = unwired.rsops(&["git", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("secrets/leak.yaml: not encrypted"),
        "{stdout}"
    );
    assert!(!stdout.contains("leaked"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rsops git init"), "{stderr}");
}

#[test]
fn clean_fails_closed() {
    let r = Repo::wired(&["age1"]);
    // No creation rule matches `other/` but the attributes protect it.
    r.write(
        ".gitattributes",
        &format!(
            "{}other/** filter=rsops diff=rsops merge=rsops -text\n",
            r.read(".gitattributes")
        ),
    );
    r.write("other/x.yaml", "pw: no-rule-secret\n");
    let out = r.git(&["add", "other/x.yaml"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no matching creation rules found") || err.contains("creation rule"),
        "{err}"
    );
    // Unparseable plaintext is refused too.
    r.write("secrets/bad.yaml", "a: [unclosed\n");
    let out = r.git(&["add", "secrets/bad.yaml"]);
    assert!(!out.status.success(), "{}", describe(&out));
    // A SOPS file with a value edited into the clear is refused.
    r.write("secrets/ok.yaml", "pw: fine\n");
    r.ok(&["add", "secrets/ok.yaml"]);
    let mut blob = String::from_utf8(r.blob(":secrets/ok.yaml")).unwrap();
    blob = blob.replacen("pw: ENC[", "pw: edited-in-clear\nx: ENC[", 1);
    r.write("secrets/ok2.yaml", &blob);
    let out = r.git(&["add", "secrets/ok2.yaml"]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(r#"["pw"]"#));
    assert_no_plaintext(&r, &["no-rule-secret", "edited-in-clear", "unclosed"]);
}

#[test]
fn single_shot_filter_fallback_works() {
    let r = Repo::wired(&["age1"]);
    r.ok(&["config", "--unset", "filter.rsops.process"]);
    r.write("secrets/db.yaml", DB);
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-qm", "init"]);
    assert_eq!(r.sops_decrypt("HEAD:secrets/db.yaml", "yaml"), DB);
    std::fs::remove_file(r.dir.join("secrets/db.yaml")).unwrap();
    r.ok(&["checkout", "--", "."]);
    assert_eq!(r.read("secrets/db.yaml"), DB);
    assert_eq!(r.status(), "");
}

#[test]
fn check_catches_wrong_keys_and_history() {
    let r = Repo::wired(&["age1", "age2"]);
    r.write("tenants/a/pull.yaml", "dockerconfigjson: tenant-a-secret\n");
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-qm", "tenant a"]);
    let out = r.rsops(&["git", "check", "--history"]);
    assert!(out.status.success(), "{}", describe(&out));

    // sops#824: a file copied from another tenant keeps that tenant's recipients.
    let other = Repo::wired(&["age1"]);
    other.write("secrets/x.yaml", "k: v\n");
    other.ok(&["add", "-A"]);
    let foreign = other.blob(":secrets/x.yaml");
    std::fs::write(r.dir.join("tenants/a/copied.yaml"), &foreign).unwrap();
    r.ok(&["add", "tenants/a/copied.yaml"]);
    let stdout = r.check_findings(&[]);
    assert!(
        stdout.contains("tenants/a/copied.yaml: keys differ from .sops.yaml")
            && stdout.contains(&format!("missing: {AGE2}"))
            && stdout.contains(&format!("not in the rule: {AGE1}")),
        "{stdout}"
    );
    r.ok(&["rm", "-q", "--cached", "tenants/a/copied.yaml"]);

    // History: a plaintext commit made without the filter is found after it was replaced.
    r.write("tenants/a/old.yaml", "pw: old-plain\n");
    let id = r.ok(&["hash-object", "-w", "--no-filters", "tenants/a/old.yaml"]);
    let info = format!("100644,{},tenants/a/old.yaml", id.trim());
    r.ok(&["update-index", "--add", "--cacheinfo", &info]);
    r.ok(&["commit", "-qm", "oops"]);
    r.ok(&["rm", "-q", "--cached", "tenants/a/old.yaml"]);
    r.ok(&["commit", "-qm", "remove"]);
    let out = r.rsops(&["git", "check"]);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = r.check_findings(&["--history"]);
    assert!(
        stdout.contains("tenants/a/old.yaml (history, blob"),
        "{stdout}"
    );
    assert!(!stdout.contains("old-plain"), "{stdout}");
}

#[test]
fn textconv_without_key_prints_ciphertext_and_handles_plain_files() {
    let r = Repo::wired(&["age1"]);
    r.write("secrets/db.yaml", DB);
    r.ok(&["add", "-A"]);
    let blob = r.blob(":secrets/db.yaml");
    let f = r.dir.join("XXXXXX_db.yaml");
    std::fs::write(&f, &blob).unwrap();
    let out = r.rsops(&["git", "textconv", f.to_str().unwrap()]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), DB);
    let locked = r
        .cmd(rsops(), &r.dir)
        .env_remove("SOPS_AGE_KEY_FILE")
        .args(["git", "textconv", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(locked.status.success(), "{}", describe(&locked));
    assert_eq!(locked.stdout, blob);
    std::fs::write(&f, "plain: yes\n").unwrap();
    let out = r.rsops(&["git", "textconv", f.to_str().unwrap()]);
    assert_eq!(out.stdout, b"plain: yes\n");
}

/// Recipients listed in a blob's metadata.
fn recipients(blob: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(blob)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- recipient: ").map(str::to_owned))
        .collect()
}

#[test]
fn new_recipients_in_sops_yaml_apply_on_renormalize_and_merge() {
    let r = Repo::wired(&["age1"]);
    r.write("secrets/db.yaml", DB);
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-qm", "init"]);
    let before = r.blob("HEAD:secrets/db.yaml");
    assert_eq!(recipients(&before), vec![AGE1]);

    // On a branch, .sops.yaml gains a second recipient; the check flags the stale file
    // until `git add --renormalize` re-wraps it (values keep their ciphertext).
    r.ok(&["checkout", "-qb", "keys"]);
    r.write(
        ".sops.yaml",
        &r.read(".sops.yaml")
            .replacen(&format!("age: {AGE1}"), &format!("age: {AGE1},{AGE2}"), 1),
    );
    r.ok(&["add", ".sops.yaml"]);
    assert!(r.check_findings(&[]).contains(&format!("missing: {AGE2}")));
    r.ok(&["add", "--renormalize", "secrets"]);
    let rekeyed = r.blob(":secrets/db.yaml");
    assert_eq!(recipients(&rekeyed), vec![AGE1, AGE2]);
    let value_lines = |b: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(b)
            .lines()
            .take_while(|l| !l.starts_with("sops:"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(value_lines(&rekeyed), value_lines(&before));
    let out = r.rsops(&["git", "check"]);
    assert!(out.status.success(), "{}", describe(&out));
    r.ok(&["commit", "-qm", "add age2"]);
    assert_eq!(r.status(), "");

    // Meanwhile main changes a value; the merge keeps both: the new keys and the new value.
    r.ok(&["checkout", "-q", "main"]);
    r.write("secrets/db.yaml", &DB.replace("5432", "6543"));
    r.ok(&["commit", "-qam", "port"]);
    r.ok(&["merge", "-q", "--no-edit", "keys"]);
    let merged = r.blob("HEAD:secrets/db.yaml");
    assert_eq!(recipients(&merged), vec![AGE1, AGE2]);
    assert_eq!(
        r.sops_decrypt("HEAD:secrets/db.yaml", "yaml"),
        DB.replace("5432", "6543")
    );
    // The second recipient alone opens it.
    let only2 = Repo::clone_of(&r, &["age2"]);
    let out = only2.rsops(&["git", "init", "secrets/**"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(only2.read("secrets/db.yaml"), DB.replace("5432", "6543"));
}

#[test]
fn diff_only_mode_diffs_and_merges_encrypted_working_trees() {
    let r = Repo::new(&["age1"]);
    r.write(".sops.yaml", &format!("creation_rules:\n  - age: {AGE1}\n"));
    let out = r.rsops(&["git", "init", "--diff-only", "*.enc.yaml"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        r.git(&["config", "--get", "filter.rsops.process"])
            .stdout
            .is_empty()
    );
    r.write("db.enc.yaml", DB);
    let out = r.rsops(&["encrypt", "-i", "db.enc.yaml"]);
    assert!(out.status.success(), "{}", describe(&out));
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-qm", "init"]);
    let out = r.rsops(&["set", "db.enc.yaml", r#"["user"]"#, r#""root""#]);
    assert!(out.status.success(), "{}", describe(&out));
    let diff = r.ok(&["diff"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(changed, vec!["-user: admin", "+user: root"], "{diff}");
    r.ok(&["commit", "-qam", "user"]);
    r.ok(&["checkout", "-qb", "b", "HEAD~1"]);
    let out = r.rsops(&["set", "db.enc.yaml", r#"["port"]"#, "6543"]);
    assert!(out.status.success(), "{}", describe(&out));
    r.ok(&["commit", "-qam", "port"]);
    r.ok(&["checkout", "-q", "main"]);
    r.ok(&["merge", "-q", "--no-edit", "b"]);
    // `set` writes JSON numbers, which YAML shows as ints.
    assert_eq!(
        r.sops_decrypt("HEAD:db.enc.yaml", "yaml"),
        DB.replace("admin", "root").replace("5432", "6543")
    );
}

/// A rule whose Shamir threshold was raised above its number of groups: `updatekeys` and the
/// filter would store the capped threshold, which the file has, so check accepts it instead of
/// asking for an `updatekeys` that has nothing to do.
#[test]
fn check_accepts_the_threshold_updatekeys_would_store() {
    let r = Repo::wired(&["age1", "age2"]);
    let rule = |t: usize| {
        format!(
            "creation_rules:\n  - path_regex: ^secrets/.*\n    shamir_threshold: {t}\n    \
             key_groups:\n      - age: [{AGE1}]\n      - age: [{AGE2}]\n"
        )
    };
    r.write(".sops.yaml", &rule(2));
    r.write("secrets/shared.yaml", "token: split-secret\n");
    r.ok(&["add", "-A"]);
    r.ok(&["commit", "-qm", "shared"]);
    r.write(".sops.yaml", &rule(5));
    r.ok(&["add", ".sops.yaml"]);
    let out = r.rsops(&["git", "check"]);
    assert!(out.status.success(), "{}", describe(&out));
    // A threshold `updatekeys` would change is still reported.
    r.write(".sops.yaml", &rule(1));
    r.ok(&["add", ".sops.yaml"]);
    let stdout = r.check_findings(&[]);
    assert!(
        stdout.contains("shamir_threshold is 2 but .sops.yaml asks for 1"),
        "{stdout}"
    );
    assert_no_plaintext(&r, &["split-secret"]);
}

//! CLI cases pinned as files (`tests/cases/*.case`): arguments, working folder (inside the
//! corpus), keys and environment, and the expected status, stdout and stderr, exactly.
//!
//! Format: `key: value` header lines (`args`, `cwd`, `keys`, `env` — repeatable — and
//! `status`), then `--- stdout` and `--- stderr` sections. Files the command writes go to a
//! scratch copy of `cwd`, so the corpus is never modified. `RSOPS_BLESS=1` rewrites the
//! expected sections from the actual run (review the diff before committing).

mod common;

use common::*;

struct Case {
    args: Vec<String>,
    cwd: String,
    keys: Vec<String>,
    env: Vec<(String, String)>,
    status: i32,
    stdout: String,
    stderr: String,
}

fn parse(text: &str) -> Case {
    let (head, rest) = text
        .split_once("--- stdout\n")
        .expect("a --- stdout section");
    let (stdout, stderr) = rest
        .split_once("--- stderr\n")
        .expect("a --- stderr section");
    let mut case = Case {
        args: Vec::new(),
        cwd: ".".into(),
        keys: Vec::new(),
        env: Vec::new(),
        status: 0,
        stdout: stdout.to_owned(),
        stderr: stderr.to_owned(),
    };
    for line in head
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (k, v) = line.split_once(": ").expect("key: value");
        match k {
            "args" => case.args = sops_core::keys::env::shell_words(v).expect("valid args"),
            "cwd" => case.cwd = v.to_owned(),
            "keys" => case.keys = v.split(',').map(str::to_owned).collect(),
            "env" => {
                let (name, value) = v.split_once('=').expect("NAME=value");
                case.env.push((name.to_owned(), value.to_owned()));
            }
            "status" => case.status = v.parse().expect("a number"),
            other => panic!("unknown header {other}"),
        }
    }
    case
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn pinned_cli_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 15,
        "one case per documented exit code at least"
    );
    let mut failures = Vec::new();
    for path in names {
        let case = parse(&std::fs::read_to_string(&path).unwrap());
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        copy_dir(&corpus().join(&case.cwd), &work);
        let mut cmd = hermetic(&rsops(), tmp.path());
        cmd.current_dir(&work)
            .args(&case.args)
            .stdin(std::process::Stdio::null());
        if !case.keys.is_empty() {
            let keys: Vec<&str> = case.keys.iter().map(String::as_str).collect();
            cmd.env("SOPS_AGE_KEY_FILE", key_file(tmp.path(), &keys));
        }
        for (k, v) in &case.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        // Paths under the scratch HOME vary per run.
        let home = tmp.path().to_string_lossy().into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).replace(&home, "$HOME");
        let stdout = String::from_utf8_lossy(&out.stdout).replace(&home, "$HOME");
        if std::env::var_os("RSOPS_BLESS").is_some() {
            let text = std::fs::read_to_string(&path).unwrap();
            let head = text.split("--- stdout\n").next().unwrap_or("");
            let head: String = head
                .lines()
                .map(|l| {
                    if l.starts_with("status: ") {
                        format!("status: {}", out.status.code().unwrap_or(-1))
                    } else {
                        l.to_owned()
                    }
                })
                .map(|l| l + "\n")
                .collect();
            std::fs::write(
                &path,
                format!("{head}--- stdout\n{stdout}--- stderr\n{stderr}"),
            )
            .unwrap();
            continue;
        }
        if out.status.code() != Some(case.status) || stdout != case.stdout || stderr != case.stderr
        {
            failures.push(format!(
                "{}: expected status {}\n--- stdout\n{}--- stderr\n{}\ngot status {:?}\n--- stdout\n{}--- stderr\n{}",
                path.file_name().unwrap().to_string_lossy(),
                case.status,
                case.stdout,
                case.stderr,
                out.status.code(),
                stdout,
                stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

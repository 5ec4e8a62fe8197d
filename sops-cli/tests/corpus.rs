//! Every decrypt case of the corpus written by real sops 3.11: positives must print exactly
//! what sops printed, negatives must fail with sops' exit code.

mod common;

use common::*;

struct Case {
    id: String,
    cwd: String,
    encrypted: String,
    expected: String,
    keys: Vec<String>,
    args: Vec<String>,
    ok: bool,
    exit_code: i32,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus().join("manifest.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Case {
                id: f[0].to_owned(),
                cwd: f[3].to_owned(),
                encrypted: f[4].to_owned(),
                expected: f[6].to_owned(),
                keys: if f[7] == "-" {
                    vec![]
                } else {
                    f[7].split(',').map(str::to_owned).collect()
                },
                args: serde_json::from_str(f[8]).unwrap(),
                ok: f[9] == "ok",
                exit_code: f[10].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn every_manifest_case_behaves_like_sops() {
    let cases = cases();
    assert_eq!(cases.len(), 67, "the manifest lists 67 decrypt cases");
    let mut failures = Vec::new();
    for case in &cases {
        let tmp = tempfile::tempdir().unwrap();
        let mut cmd = hermetic(&rsops(), tmp.path());
        cmd.current_dir(corpus().join(&case.cwd));
        let age_keys: Vec<&str> = case
            .keys
            .iter()
            .map(String::as_str)
            .filter(|k| *k != "pgp")
            .collect();
        if !age_keys.is_empty() {
            cmd.env("SOPS_AGE_KEY_FILE", key_file(tmp.path(), &age_keys));
        }
        if case.keys.iter().any(|k| k == "pgp") {
            cmd.env("GNUPGHOME", gnupg_home(tmp.path()));
        }
        cmd.arg("decrypt").args(&case.args).arg(&case.encrypted);
        let out = cmd.output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        if case.ok {
            let expected = std::fs::read(corpus().join(&case.cwd).join(&case.expected)).unwrap();
            if code != 0 || out.stdout != expected {
                failures.push(format!(
                    "{}: expected success and sops' output\n{}",
                    case.id,
                    describe(&out)
                ));
            }
        } else if code != case.exit_code {
            failures.push(format!(
                "{}: expected exit {}\n{}",
                case.id,
                case.exit_code,
                describe(&out)
            ));
        } else if !out.stdout.is_empty() {
            failures.push(format!("{}: a failed decrypt printed output", case.id));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

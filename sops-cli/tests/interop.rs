//! Live interop with the reference sops 3.11 binary on every encrypt unit of the corpus:
//! real sops decrypts what rsops encrypts to sops' own plaintext output, and the file rsops
//! writes equals the one sops wrote once random parts (ENC bodies, MAC, timestamps, wrapped
//! keys) are masked.

mod common;

use std::path::Path;

use common::*;
use regex::Regex;

struct Unit {
    id: String,
    cwd: String,
    plaintext: String,
    encrypted: String,
    expected: String,
    keys: Vec<String>,
    args: Vec<String>,
}

fn units() -> Vec<Unit> {
    let text = std::fs::read_to_string(corpus().join("encrypt-cases.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Unit {
                id: f[0].into(),
                cwd: f[3].into(),
                plaintext: f[4].into(),
                encrypted: f[5].into(),
                expected: f[6].into(),
                keys: f[7].split(',').map(str::to_owned).collect(),
                args: serde_json::from_str(f[8]).unwrap(),
            }
        })
        .collect()
}

/// Masks everything sops randomises, and sorts the INI `[sops]` section (Go map order).
fn mask(text: &str) -> String {
    let enc = Regex::new(r"ENC\[AES256_GCM,data:[^,\]]*,iv:[^,\]]*,tag:[^,\]]*,type:").unwrap();
    let armor = Regex::new(r"(?s)-----BEGIN (AGE ENCRYPTED FILE|PGP MESSAGE)-----.*?-----END (AGE ENCRYPTED FILE|PGP MESSAGE)-----").unwrap();
    let stamp = Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    let t = enc.replace_all(text, "ENC[AES256_GCM,data:…,iv:…,tag:…,type:");
    let t = armor.replace_all(&t, "-----ARMOR-----");
    let t = stamp.replace_all(&t, "TIMESTAMP");
    let mut out = String::new();
    let mut sops_section: Vec<&str> = Vec::new();
    let mut in_sops = false;
    for line in t.lines() {
        if line == "[sops]" {
            in_sops = true;
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if in_sops {
            sops_section.push(line);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    sops_section.sort();
    for l in sops_section {
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[test]
fn sops_decrypts_what_rsops_encrypts_and_the_files_match() {
    let sops = reference_sops();
    let units = units();
    assert_eq!(units.len(), 29, "the corpus lists 29 encrypt units");
    let mut failures = Vec::new();
    for u in &units {
        let tmp = tempfile::tempdir().unwrap();
        let cwd = corpus().join(&u.cwd);
        let age_keys: Vec<&str> = u
            .keys
            .iter()
            .map(String::as_str)
            .filter(|k| *k != "pgp")
            .collect();
        let gnupg = u
            .keys
            .iter()
            .any(|k| k == "pgp")
            .then(|| gnupg_home(tmp.path()));
        let env = |cmd: &mut std::process::Command| {
            if !age_keys.is_empty() {
                cmd.env("SOPS_AGE_KEY_FILE", key_file(tmp.path(), &age_keys));
            }
            if let Some(g) = &gnupg {
                cmd.env("GNUPGHOME", g);
            }
        };
        let mut enc = hermetic(&rsops(), tmp.path());
        env(&mut enc);
        let out = enc
            .current_dir(&cwd)
            .arg("encrypt")
            .args(&u.args)
            .arg(&u.plaintext)
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{}: rsops encrypt failed\n{}",
                u.id,
                describe(&out)
            ));
            continue;
        }
        // Real sops decrypts it, run from the case folder so its .sops.yaml store settings apply.
        let name = Path::new(&u.plaintext).file_name().unwrap();
        let ours = tmp.path().join("ours");
        std::fs::create_dir_all(&ours).unwrap();
        let ours = ours.join(name);
        std::fs::write(&ours, &out.stdout).unwrap();
        let mut dec = hermetic(&sops, tmp.path());
        env(&mut dec);
        let dec_out = dec
            .current_dir(&cwd)
            .arg("decrypt")
            .arg(&ours)
            .output()
            .unwrap();
        let expected = std::fs::read(cwd.join(&u.expected)).unwrap();
        if !dec_out.status.success() || dec_out.stdout != expected {
            failures.push(format!(
                "{}: real sops did not decrypt our file to sops' output\n{}",
                u.id,
                describe(&dec_out)
            ));
        }
        // Same shape as the file sops wrote.
        let theirs = std::fs::read_to_string(cwd.join(&u.encrypted)).unwrap();
        let ours_text = String::from_utf8_lossy(&out.stdout);
        if mask(&ours_text) != mask(&theirs) {
            failures.push(format!(
                "{}: masked file differs from sops'\n--- sops\n{}\n--- rsops\n{}",
                u.id,
                mask(&theirs),
                mask(&ours_text)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} units failed:\n\n{}",
        failures.len(),
        units.len(),
        failures.join("\n\n")
    );
}

/// SSH keys as age recipients (ssh-ed25519, ssh-rsa), both directions with real sops.
#[test]
fn ssh_recipients_interoperate_both_ways() {
    let sops = reference_sops();
    for kind in ["ed25519", "rsa"] {
        let tmp = tempfile::tempdir().unwrap();
        let key = tmp.path().join(format!("id_{kind}"));
        let out = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", kind, "-N", "", "-f"])
            .arg(&key)
            .output()
            .expect("ssh-keygen must be installed (scripts/setup-test-tools)");
        assert!(out.status.success(), "{}", describe(&out));
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let plain = tmp.path().join("s.yaml");
        std::fs::write(&plain, "db:\n    password: s3cret\nport: 5432\n").unwrap();
        for (writer, reader) in [(rsops(), sops.clone()), (sops.clone(), rsops())] {
            let enc = hermetic(&writer, tmp.path())
                .args(["encrypt", "--age", public.trim()])
                .arg(&plain)
                .output()
                .unwrap();
            assert!(enc.status.success(), "{kind} encrypt: {}", describe(&enc));
            let file = tmp.path().join("s.enc.yaml");
            std::fs::write(&file, &enc.stdout).unwrap();
            let dec = hermetic(&reader, tmp.path())
                .env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &key)
                .arg("decrypt")
                .arg(&file)
                .output()
                .unwrap();
            assert!(dec.status.success(), "{kind} decrypt: {}", describe(&dec));
            assert_eq!(dec.stdout, std::fs::read(&plain).unwrap(), "{kind}");
        }
    }
}

/// 1.3 MB of YAML, 10,000 values, no comments.
fn big_text() -> String {
    let mut text = String::new();
    for s in 0..200 {
        text.push_str(&format!("service_{s:03}:\n"));
        for v in 0..50 {
            text.push_str(&format!(
                "    setting_{v:02}: value-{s}-{v}-{}\n",
                "x".repeat(100)
            ));
        }
    }
    assert!(text.len() > 1 << 20);
    text
}

/// Big encrypted output is written as it is produced: straight into stdout's file when stdout
/// is an empty regular file (and taken back when the file turns out to need the whole-tree
/// path, or a key fails at the end), through a temp file with `-i`; real sops reads every
/// result.
#[test]
fn big_output_streams_into_files() {
    let sops = reference_sops();
    let tmp = tempfile::tempdir().unwrap();
    let keys = key_file(tmp.path(), &["age1"]);
    let age1 = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw";
    let text = big_text();
    // A flow mapping at the end: the last piece is outside the fast subset, after the first
    // pieces were already written.
    let late = format!("{text}late: {{a: 1}}\n");
    let sops_decrypts = |file: &Path| {
        let dec = hermetic(&sops, tmp.path())
            .env("SOPS_AGE_KEY_FILE", &keys)
            .arg("decrypt")
            .arg(file)
            .output()
            .unwrap();
        assert!(dec.status.success(), "{}", describe(&dec));
        dec.stdout
    };
    for (name, content) in [("big.yaml", &text), ("late.yaml", &late)] {
        let plain = tmp.path().join(name);
        std::fs::write(&plain, content).unwrap();
        // What sops makes of the plaintext (the flow mapping becomes a block one).
        let by_sops = tmp.path().join(format!("{name}.sops.yaml"));
        let enc = hermetic(&sops, tmp.path())
            .args(["encrypt", "--age", age1])
            .arg(&plain)
            .output()
            .unwrap();
        assert!(enc.status.success(), "{}", describe(&enc));
        std::fs::write(&by_sops, &enc.stdout).unwrap();
        let expected = sops_decrypts(&by_sops);
        let sops_reads = |file: &Path| {
            assert!(
                sops_decrypts(file) == expected,
                "{} differs",
                file.display()
            );
        };
        let out_path = tmp.path().join(format!("{name}.enc.yaml"));
        let status = hermetic(&rsops(), tmp.path())
            .args(["encrypt", "--age", age1])
            .arg(&plain)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .status()
            .unwrap();
        assert!(status.success(), "{name}");
        let written = std::fs::read_to_string(&out_path).unwrap();
        assert_eq!(written.matches("\nsops:\n").count(), 1, "{name}");
        sops_reads(&out_path);
        // In place: the same file, replaced whole.
        let enc = hermetic(&rsops(), tmp.path())
            .args(["encrypt", "-i", "--age", age1])
            .arg(&plain)
            .output()
            .unwrap();
        assert!(enc.status.success(), "{name}: {}", describe(&enc));
        sops_reads(&plain);
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".rsops-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A key that fails only once every value is written: stdout's file is left empty, as
    // sops leaves it, with sops' exit code.
    let plain = tmp.path().join("big.yaml");
    std::fs::write(&plain, &text).unwrap();
    let missing = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4";
    let mut codes = Vec::new();
    for tool in [rsops(), sops.clone()] {
        let out_path = tmp.path().join("failed.enc.yaml");
        let status = hermetic(&tool, tmp.path())
            .args(["encrypt", "--pgp", missing])
            .arg(&plain)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success());
        assert_eq!(
            std::fs::metadata(&out_path).unwrap().len(),
            0,
            "{}",
            tool.display()
        );
        codes.push(status.code());
    }
    assert_eq!(codes[0], codes[1]);
}

/// A big file rsops decrypts piece by piece fails as sops fails when it is broken: a tampered
/// value, a tampered MAC (and `--ignore-mac` then works), no key (with a valid file, one
/// parsed whole, and a broken one), a value outside the fast subset (decrypted whole), and a
/// top-level key written twice.
#[test]
fn big_file_errors_match_sops() {
    let sops = reference_sops();
    let tmp = tempfile::tempdir().unwrap();
    let keys = key_file(tmp.path(), &["age1"]);
    let text = big_text();
    let plain = tmp.path().join("big.yaml");
    std::fs::write(&plain, &text).unwrap();
    let age1 = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw";
    let enc = hermetic(&rsops(), tmp.path())
        .args(["encrypt", "--age", age1])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(enc.status.success(), "{}", describe(&enc));
    let enc = String::from_utf8(enc.stdout).unwrap();
    let flip_after = |text: &str, marker: &str| {
        let at = text.find(marker).unwrap() + marker.len();
        let flip = if &text[at..=at] == "A" { "B" } else { "A" };
        format!("{}{flip}{}", &text[..at], &text[at + 1..])
    };
    let sops_at = enc.rfind("\nsops:\n").unwrap() + 1;
    let cases: Vec<(&str, String, &[&str], bool)> = vec![
        (
            "tampered value",
            flip_after(&enc, "setting_07: ENC[AES256_GCM,data:"),
            &[],
            true,
        ),
        (
            "tampered mac",
            flip_after(&enc, "    mac: ENC[AES256_GCM,data:"),
            &[],
            true,
        ),
        (
            "ignore-mac",
            flip_after(&enc, "    mac: ENC[AES256_GCM,data:"),
            &["--ignore-mac"],
            true,
        ),
        ("no key", enc.clone(), &[], false),
        (
            "no key, flow value",
            format!("{}empty: {{a: 1}}\n{}", &enc[..sops_at], &enc[sops_at..]),
            &[],
            false,
        ),
        (
            "no key, broken",
            format!("{}bad: \"open\n{}", &enc[..sops_at], &enc[sops_at..]),
            &[],
            false,
        ),
        (
            "flow value",
            format!("{}empty: {{}}\n{}", &enc[..sops_at], &enc[sops_at..]),
            &["--ignore-mac"],
            true,
        ),
        (
            "repeated key",
            format!("{}service_000: x\n{}", &enc[..sops_at], &enc[sops_at..]),
            &[],
            true,
        ),
    ];
    let file = tmp.path().join("big.enc.yaml");
    for (what, content, extra, with_key) in cases {
        std::fs::write(&file, &content).unwrap();
        let run = |tool: &Path| {
            let mut cmd = hermetic(tool, tmp.path());
            if with_key {
                cmd.env("SOPS_AGE_KEY_FILE", &keys);
            }
            cmd.arg("decrypt").args(extra).arg(&file).output().unwrap()
        };
        let (ours, theirs) = (run(&rsops()), run(&sops));
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{what}: rsops {} / sops {}",
            describe(&ours),
            describe(&theirs)
        );
        assert_eq!(ours.stdout, theirs.stdout, "{what}");
    }
}

/// A file big enough for the MAC to be hashed on a second thread and for rsops to encrypt
/// it piece by piece on two threads, and to parse it in two parts and walk and write it in
/// pieces when decrypting (1.3 MB, 10,000 values, no comments), both directions with real sops, each
/// checking the other's MAC; and with `mac_only_encrypted` and a partial rule.
#[test]
fn big_files_interoperate_both_ways() {
    let sops = reference_sops();
    let tmp = tempfile::tempdir().unwrap();
    let keys = key_file(tmp.path(), &["age1"]);
    let text = big_text();
    let plain = tmp.path().join("big.yaml");
    std::fs::write(&plain, &text).unwrap();
    let age1 = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw";
    let partial = tmp.path().join("partial.sops.yaml");
    std::fs::write(
        &partial,
        format!(
            "creation_rules:\n  - age: {age1}\n    encrypted_regex: ^setting_0\n    \
             mac_only_encrypted: true\n"
        ),
    )
    .unwrap();
    let partial = partial.to_str().unwrap();
    let variants: [&[&str]; 2] = [
        &["encrypt", "--age", age1],
        &["--config", partial, "encrypt"],
    ];
    for extra in variants {
        for (writer, reader) in [(rsops(), sops.clone()), (sops.clone(), rsops())] {
            let enc = hermetic(&writer, tmp.path())
                .args(extra)
                .arg(&plain)
                .output()
                .unwrap();
            assert!(
                enc.status.success(),
                "{extra:?} encrypt: {}",
                describe(&enc)
            );
            let file = tmp.path().join("big.enc.yaml");
            std::fs::write(&file, &enc.stdout).unwrap();
            let dec = hermetic(&reader, tmp.path())
                .env("SOPS_AGE_KEY_FILE", &keys)
                .arg("decrypt")
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                dec.status.success(),
                "{extra:?} decrypt: {}",
                describe(&dec)
            );
            assert!(
                dec.stdout == text.as_bytes(),
                "{extra:?}: plaintext differs"
            );
        }
    }
}

/// Big files read from stdin (no file to read as the work goes) take the pieces of the input
/// read whole: real sops reads what rsops encrypts from stdin, and rsops decrypts it from
/// stdin to the plaintext.
#[test]
fn big_files_from_stdin_interoperate() {
    use std::io::Write;
    let sops = reference_sops();
    let tmp = tempfile::tempdir().unwrap();
    let keys = key_file(tmp.path(), &["age1"]);
    let text = big_text();
    let age1 = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw";
    let piped = |args: &[&str], input: &[u8]| {
        let mut child = hermetic(&rsops(), tmp.path())
            .env("SOPS_AGE_KEY_FILE", &keys)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let feeder = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(out.status.success(), "{args:?}: {}", describe(&out));
        out.stdout
    };
    let enc = piped(
        &["encrypt", "--age", age1, "--filename-override", "big.yaml"],
        text.as_bytes(),
    );
    let file = tmp.path().join("big.enc.yaml");
    std::fs::write(&file, &enc).unwrap();
    let dec = hermetic(&sops, tmp.path())
        .env("SOPS_AGE_KEY_FILE", &keys)
        .arg("decrypt")
        .arg(&file)
        .output()
        .unwrap();
    assert!(dec.status.success(), "{}", describe(&dec));
    assert!(dec.stdout == text.as_bytes(), "sops: plaintext differs");
    let back = piped(
        &["decrypt", "--input-type", "yaml", "--output-type", "yaml"],
        &enc,
    );
    assert!(
        back == text.as_bytes(),
        "rsops from stdin: plaintext differs"
    );
}

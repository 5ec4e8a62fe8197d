//! SIGKILL at pseudo-random moments during `encrypt -i`, `rotate -i` and `updatekeys` leaves
//! every file either the old or the new version: never empty, never partial (writes go to a
//! temporary file in the same folder, fsync, rename).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const AGE1: &str = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw";
const AGE2: &str = "age1nly4sevnezgjtyrjqd3kls4j5tvm6pdnatyp8mcnrmahxx9duqsq5j5ljd";

/// A deterministic pseudo-random sequence in `0..1_000_000` (parts per million of a run).
fn fractions(n: usize) -> Vec<u64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 1_000_000
        })
        .collect()
}

fn big_yaml() -> String {
    (0..3000)
        .map(|i| format!("key_{i}: value-{i}-{}\n", "x".repeat(30)))
        .collect()
}

#[cfg(unix)]
#[test]
fn killed_writes_leave_old_or_new_never_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = key_file(tmp.path(), &["age1", "age2"]);
    std::fs::write(
        tmp.path().join(".sops.yaml"),
        format!("creation_rules:\n  - age: {AGE1},{AGE2}\n"),
    )
    .unwrap();
    let plain = big_yaml();
    // One encrypted original to start rotate/updatekeys trials from.
    let seed = tmp.path().join("seed.yaml");
    std::fs::write(&seed, &plain).unwrap();
    let out = hermetic(&rsops(), tmp.path())
        .current_dir(tmp.path())
        .args(["encrypt", "--age", AGE1, "seed.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let encrypted = out.stdout;
    let known: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .chain(["t.yaml".to_string()])
        .collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let decrypts = |path: &std::path::Path| {
        hermetic(&rsops(), tmp.path())
            .env("SOPS_AGE_KEY_FILE", &keys)
            .arg("decrypt")
            .arg(path)
            .output()
            .unwrap()
    };
    let trial_args = |kind: usize| -> (Vec<&str>, &[u8]) {
        match kind {
            0 => (
                vec!["encrypt", "-i", "--age", AGE1, "t.yaml"],
                plain.as_bytes(),
            ),
            1 => (
                vec!["rotate", "-i", "--add-age", AGE2, "t.yaml"],
                &encrypted,
            ),
            _ => (vec!["updatekeys", "-y", "t.yaml"], &encrypted),
        }
    };
    let target = tmp.path().join("t.yaml");
    let start = |args: &[&str], original: &[u8]| {
        std::fs::write(&target, original).unwrap();
        hermetic(&rsops(), tmp.path())
            .current_dir(tmp.path())
            .env("SOPS_AGE_KEY_FILE", &keys)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // The kill moments are spread over each command's own run time, measured here (the
    // slowest of three runs), so the trials interrupt it on a fast machine and a slow one.
    let run_time: Vec<Duration> = (0..3)
        .map(|kind| {
            let (args, original) = trial_args(kind);
            (0..3)
                .map(|_| {
                    let began = Instant::now();
                    let status = start(&args, original).wait().unwrap();
                    assert!(status.success(), "{args:?} failed on its own");
                    began.elapsed()
                })
                .max()
                .unwrap()
        })
        .collect();
    let mut kills = 0;
    for (trial, fraction) in fractions(60).into_iter().enumerate() {
        let kind = trial % 3;
        let (args, original) = trial_args(kind);
        let delay = run_time[kind].mul_f64(fraction as f64 / 1_000_000.0);
        let mut child = start(&args, original);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(&target).unwrap();
        assert!(!now.is_empty(), "trial {trial} ({args:?}): empty file");
        if now != original {
            let d = decrypts(&target);
            assert!(
                d.status.success(),
                "trial {trial} ({args:?}): neither old nor a valid new file\n{}",
                describe(&d)
            );
            assert_eq!(String::from_utf8_lossy(&d.stdout), plain, "trial {trial}");
        }
        // A kill may leave a temporary file behind, never any other new file.
        for entry in std::fs::read_dir(tmp.path()).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.starts_with(".rsops-") {
                std::fs::remove_file(tmp.path().join(&name)).unwrap();
            } else {
                assert!(
                    known.contains(&name.as_str()),
                    "trial {trial} ({args:?}): unexpected file {name}"
                );
            }
        }
    }
    assert!(
        kills >= 20,
        "the delays must interrupt at least a third of the runs ({kills} of 60)"
    );
}

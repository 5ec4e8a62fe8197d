//! SIGKILL at pseudo-random moments during `encrypt -i`, `rotate -i` and `updatekeys` leaves
//! every file either the old or the new version: never empty, never partial (writes go to a
//! temporary file in the same folder, fsync, rename).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

const AGE1: &str = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw";
const AGE2: &str = "age1nly4sevnezgjtyrjqd3kls4j5tvm6pdnatyp8mcnrmahxx9duqsq5j5ljd";

/// A deterministic sequence of delays (microseconds) spread over a command's run time.
fn delays(n: usize, max_us: u64) -> Vec<u64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % max_us
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
    let decrypts = |path: &std::path::Path| {
        hermetic(&rsops(), tmp.path())
            .env("SOPS_AGE_KEY_FILE", &keys)
            .arg("decrypt")
            .arg(path)
            .output()
            .unwrap()
    };
    let mut kills = 0;
    for (trial, delay) in delays(60, 60_000).into_iter().enumerate() {
        let (args, original): (Vec<&str>, &[u8]) = match trial % 3 {
            0 => (
                vec!["encrypt", "-i", "--age", AGE1, "t.yaml"],
                plain.as_bytes(),
            ),
            1 => (
                vec!["rotate", "-i", "--add-age", AGE2, "t.yaml"],
                &encrypted,
            ),
            _ => (vec!["updatekeys", "-y", "t.yaml"], &encrypted),
        };
        let target = tmp.path().join("t.yaml");
        std::fs::write(&target, original).unwrap();
        let mut child = hermetic(&rsops(), tmp.path())
            .current_dir(tmp.path())
            .env("SOPS_AGE_KEY_FILE", &keys)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(delay));
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
        // No temporary files are left behind in a way that replaces the target.
        assert!(target.exists());
    }
    assert!(
        kills > 10,
        "the delays must interrupt a good share of the runs ({kills} of 60)"
    );
}

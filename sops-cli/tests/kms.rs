//! AWS KMS keys against a real KMS API on loopback (moto, installed by the test command) and
//! the real sops pointed at the same endpoint. moto does not verify SigV4 signatures (the
//! signer is checked against AWS's documented example in the unit tests) and does not enforce
//! a disabled key's state, so that case uses a small loopback fake answering exactly as KMS
//! documents (`DisabledException`).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{corpus, describe, reference_sops, root, rsops};

const AGE1: &str = "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw";
const PLAIN: &str = "db:\n    password: kms-secret\n    port: 5432\n";

/// A moto server on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Self {
        let bin = root().join(".venv/bin/moto_server");
        assert!(
            bin.is_file(),
            "moto_server not found: run scripts/setup-test-tools"
        );
        // The free port is found by binding and releasing it, so a test running beside this
        // one may take it first: the server that cannot bind exits, and another port is
        // tried.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let start = Instant::now();
            loop {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    // Listening, and still running a moment later: this server owns the port.
                    std::thread::sleep(Duration::from_millis(100));
                    if child.try_wait().unwrap().is_none() {
                        return Self {
                            child,
                            url: format!("http://127.0.0.1:{port}"),
                        };
                    }
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "moto did not start"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto did not start on any of five ports");
    }

    /// One raw KMS JSON call (moto checks neither signature nor credentials). A connection
    /// the server resets is tried again (a few times), as an SDK would.
    fn kms(&self, target: &str, body: &str) -> String {
        let mut last = None;
        for _ in 0..5 {
            match self.kms_once(target, body) {
                Ok(out) => {
                    assert!(out.starts_with("HTTP/1.1 200"), "{target}: {out}");
                    return out.split_once("\r\n\r\n").unwrap().1.to_owned();
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{target}: {last:?}");
    }

    fn kms_once(&self, target: &str, body: &str) -> std::io::Result<String> {
        let host = self.url.trim_start_matches("http://");
        let mut s = TcpStream::connect(host)?;
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n\
             X-Amz-Target: TrentService.{target}\r\nAuthorization: AWS4-HMAC-SHA256 \
             Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, \
             Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes())?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }

    fn create_key(&self) -> String {
        let body = self.kms("CreateKey", "{}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["KeyMetadata"]["Arn"].as_str().unwrap().to_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch folder with a hermetic environment pointed at an AWS endpoint.
struct Env {
    tmp: tempfile::TempDir,
    endpoint: String,
}

impl Env {
    fn new(endpoint: &str) -> Self {
        Self {
            tmp: tempfile::tempdir().unwrap(),
            endpoint: endpoint.to_owned(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn cmd(&self, program: &Path) -> Command {
        let home = self.path("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut c = common::hermetic(program, &home);
        c.current_dir(self.tmp.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c
    }

    fn run(&self, program: &Path, args: &[&str]) -> Output {
        self.cmd(program).args(args).output().unwrap()
    }
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Masks what is random in a file: ENC bodies, KMS `enc`, timestamps, the MAC.
fn mask(text: &str) -> String {
    let enc_value = regex::Regex::new(r"ENC\[AES256_GCM,[^\]]*\]").unwrap();
    let fields = regex::Regex::new(r#"(enc|created_at|lastmodified): .*"#).unwrap();
    let t = enc_value.replace_all(text, "ENC[...]");
    fields.replace_all(&t, "$1: ...").into_owned()
}

#[test]
fn kms_round_trips_with_real_sops_both_ways() {
    let moto = Moto::start();
    let arn = moto.create_key();
    let e = Env::new(&moto.url);
    e.write("plain.yaml", PLAIN);

    // rsops encrypts (with an encryption context), sops decrypts.
    let enc = ok(e.run(
        &rsops(),
        &[
            "encrypt",
            "--kms",
            &arn,
            "--encryption-context",
            "app:db,env:prod",
            "plain.yaml",
        ],
    ));
    assert!(enc.contains(&format!("- arn: {arn}")), "{enc}");
    assert!(
        enc.contains("context:\n            app: db\n            env: prod\n"),
        "{enc}"
    );
    assert!(enc.contains("aws_profile: \"\""), "{enc}");
    e.write("by-rsops.yaml", &enc);
    assert_eq!(
        ok(e.run(&reference_sops(), &["decrypt", "by-rsops.yaml"])),
        PLAIN
    );
    assert_eq!(ok(e.run(&rsops(), &["decrypt", "by-rsops.yaml"])), PLAIN);

    // sops encrypts, rsops decrypts; both files have the same shape once random parts are
    // masked.
    let sops_same = ok(e.run(
        &reference_sops(),
        &[
            "encrypt",
            "--kms",
            &arn,
            "--encryption-context",
            "app:db,env:prod",
            "plain.yaml",
        ],
    ));
    assert_eq!(mask(&sops_same), mask(&enc));
    let enc = ok(e.run(
        &reference_sops(),
        &[
            "encrypt",
            "--kms",
            &arn,
            "--encryption-context",
            "team:a",
            "plain.yaml",
        ],
    ));
    e.write("by-sops.yaml", &enc);
    assert_eq!(ok(e.run(&rsops(), &["decrypt", "by-sops.yaml"])), PLAIN);

    // SOPS_KMS_ARN works like --kms.
    let enc = ok(e
        .cmd(&rsops())
        .env("SOPS_KMS_ARN", &arn)
        .args(["encrypt", "plain.yaml"])
        .output()
        .unwrap());
    e.write("by-env.yaml", &enc);
    assert_eq!(
        ok(e.run(&reference_sops(), &["decrypt", "by-env.yaml"])),
        PLAIN
    );
}

#[test]
fn wrong_encryption_context_and_bad_flags_fail_clearly() {
    let moto = Moto::start();
    let arn = moto.create_key();
    let e = Env::new(&moto.url);
    e.write("plain.yaml", PLAIN);
    let enc = ok(e.run(
        &rsops(),
        &[
            "encrypt",
            "--kms",
            &arn,
            "--encryption-context",
            "env:prod",
            "plain.yaml",
        ],
    ));
    e.write("tampered.yaml", &enc.replace("env: prod", "env: dev"));
    let out = e.run(&rsops(), &["decrypt", "tampered.yaml"]);
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("encryption context"), "{err}");
    assert!(err.contains("InvalidCiphertextException"), "{err}");
    assert!(!err.contains("kms-secret"), "{err}");
    // sops agrees that it cannot be opened.
    let out = e.run(&reference_sops(), &["decrypt", "tampered.yaml"]);
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));

    // A malformed --encryption-context is sops' exit 6.
    let out = e.run(
        &rsops(),
        &[
            "encrypt",
            "--kms",
            &arn,
            "--encryption-context",
            "novalue",
            "plain.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(6), "{}", describe(&out));

    // No credentials at all: the error says so, without hanging on instance metadata.
    let out = e
        .cmd(&rsops())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["decrypt", "tampered.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no AWS credentials"),
        "{}",
        describe(&out)
    );
}

#[test]
fn unreachable_and_silent_endpoints_time_out_with_clear_errors() {
    let moto = Moto::start();
    let arn = moto.create_key();
    let e = Env::new(&moto.url);
    e.write("plain.yaml", PLAIN);
    let enc = ok(e.run(&rsops(), &["encrypt", "--kms", &arn, "plain.yaml"]));
    e.write("enc.yaml", &enc);

    // Nothing listens.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = e
        .cmd(&rsops())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .args(["decrypt", "enc.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));

    // Accepts and never answers: the call times out instead of hanging.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let start = Instant::now();
    let out = e
        .cmd(&rsops())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("RSOPS_KMS_TIMEOUT_SECONDS", "2")
        .args(["decrypt", "enc.yaml"])
        .output()
        .unwrap();
    drop(silent);
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not answer within 2 s"),
        "{}",
        describe(&out)
    );
    assert!(start.elapsed() < Duration::from_secs(20));
}

/// A loopback fake answering every request with KMS' documented `DisabledException`.
fn disabled_kms() -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read headers and the body announced by Content-Length.
        loop {
            let n = s.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len || n == 0 {
                    break;
                }
            }
        }
        let body = r#"{"__type":"DisabledException","message":"arn:aws:kms:us-east-1:123456789012:key/k is disabled."}"#;
        let resp = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(resp.as_bytes()).unwrap();
        String::from_utf8_lossy(&buf)
            .lines()
            .map(str::to_owned)
            .collect()
    });
    (url, handle)
}

#[test]
fn disabled_key_reports_disabled_and_requests_carry_what_kms_requires() {
    let moto = Moto::start();
    let arn = moto.create_key();
    let e = Env::new(&moto.url);
    e.write("plain.yaml", PLAIN);
    let enc = ok(e.run(&rsops(), &["encrypt", "--kms", &arn, "plain.yaml"]));
    e.write("enc.yaml", &enc);
    let (url, server) = disabled_kms();
    let out = e
        .cmd(&rsops())
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_SESSION_TOKEN", "session-token-value")
        .args(["decrypt", "enc.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the KMS key is disabled: DisabledException"),
        "{err}"
    );
    let request = server.join().unwrap();
    let header = |name: &str| {
        request
            .iter()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no {name} header in {request:?}"))
    };
    assert!(request[0].starts_with("POST / HTTP/1.1"), "{request:?}");
    assert_eq!(header("x-amz-target"), "TrentService.Decrypt");
    assert_eq!(header("content-type"), "application/x-amz-json-1.1");
    assert_eq!(header("x-amz-security-token"), "session-token-value");
    assert!(header("x-amz-date").ends_with('Z'));
    let auth = header("authorization");
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=testing/")
            && auth.contains("/us-east-1/kms/aws4_request")
            && auth.contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
            ),
        "{auth}"
    );
    let body = request.last().unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["KeyId"], arn.as_str());
    assert!(v["CiphertextBlob"].as_str().is_some_and(|b| !b.is_empty()));
}

#[test]
fn key_groups_mixing_age_pgp_and_kms_interoperate() {
    let moto = Moto::start();
    let arn = moto.create_key();
    let e = Env::new(&moto.url);
    let fpr = std::fs::read_to_string(corpus().join("keys/pgp.fpr"))
        .unwrap()
        .trim()
        .to_owned();
    e.write(
        ".sops.yaml",
        &format!(
            "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [{AGE1}]\n      - pgp: [{fpr}]\n      - kms:\n          - arn: {arn}\n            context:\n              tier: platform\n"
        ),
    );
    e.write("plain.yaml", PLAIN);
    let gnupg = common::gnupg_home(e.tmp.path());
    let keys = common::key_file(e.tmp.path(), &["age1"]);
    let with_keys = |program: &Path, args: &[&str], age: bool, pgp: bool| -> Output {
        let mut c = e.cmd(program);
        if age {
            c.env("SOPS_AGE_KEY_FILE", &keys);
        }
        if pgp {
            c.env("GNUPGHOME", &gnupg);
        }
        c.args(args).output().unwrap()
    };
    for (writer, reader) in [(rsops(), reference_sops()), (reference_sops(), rsops())] {
        let enc = ok(with_keys(&writer, &["encrypt", "plain.yaml"], false, true));
        assert!(enc.contains("key_groups:"), "{enc}");
        assert!(enc.contains("shamir_threshold: 2"), "{enc}");
        e.write("groups.yaml", &enc);
        // age + KMS (no PGP): two groups of three are enough.
        assert_eq!(
            ok(with_keys(&reader, &["decrypt", "groups.yaml"], true, false)),
            PLAIN
        );
        // PGP + KMS (no age).
        assert_eq!(
            ok(with_keys(&reader, &["decrypt", "groups.yaml"], false, true)),
            PLAIN
        );
        // KMS alone is one group: below the threshold.
        let out = with_keys(&reader, &["decrypt", "groups.yaml"], false, false);
        assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    }
}

#[test]
fn rotate_adds_and_removes_kms_keys() {
    let moto = Moto::start();
    let a = moto.create_key();
    let b = moto.create_key();
    let e = Env::new(&moto.url);
    e.write("plain.yaml", PLAIN);
    let enc = ok(e.run(&rsops(), &["encrypt", "--kms", &a, "plain.yaml"]));
    e.write("f.yaml", &enc);
    ok(e.run(&rsops(), &["rotate", "-i", "--add-kms", &b, "f.yaml"]));
    let text = std::fs::read_to_string(e.path("f.yaml")).unwrap();
    assert!(text.contains(&a) && text.contains(&b), "{text}");
    ok(e.run(&rsops(), &["rotate", "-i", "--rm-kms", &a, "f.yaml"]));
    let text = std::fs::read_to_string(e.path("f.yaml")).unwrap();
    assert!(!text.contains(&a) && text.contains(&b), "{text}");
    assert_eq!(ok(e.run(&reference_sops(), &["decrypt", "f.yaml"])), PLAIN);
    // The legacy form too.
    ok(e.run(&rsops(), &["-r", "-i", "--add-kms", &a, "f.yaml"]));
    let text = std::fs::read_to_string(e.path("f.yaml")).unwrap();
    assert!(text.contains(&a) && text.contains(&b), "{text}");
    assert_eq!(ok(e.run(&reference_sops(), &["decrypt", "f.yaml"])), PLAIN);
}

#[test]
fn role_and_profile_credentials_work_with_both_tools() {
    let moto = Moto::start();
    let arn = moto.create_key();
    let e = Env::new(&moto.url);
    e.write("plain.yaml", PLAIN);

    // `ARN+role`: both tools assume the role through STS (moto's) before calling KMS.
    let with_role = format!("{arn}+arn:aws:iam::123456789012:role/sops-role");
    let enc = ok(e.run(&rsops(), &["encrypt", "--kms", &with_role, "plain.yaml"]));
    assert!(
        enc.contains("role: arn:aws:iam::123456789012:role/sops-role"),
        "{enc}"
    );
    e.write("role.yaml", &enc);
    assert_eq!(
        ok(e.run(&reference_sops(), &["decrypt", "role.yaml"])),
        PLAIN
    );
    assert_eq!(ok(e.run(&rsops(), &["decrypt", "role.yaml"])), PLAIN);

    // `aws_profile`: credentials from a shared credentials file only.
    let aws = e.path("home/.aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[team]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let profile_only = |program: &Path, args: &[&str]| {
        e.cmd(program)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .args(args)
            .output()
            .unwrap()
    };
    let enc = ok(profile_only(
        &rsops(),
        &[
            "encrypt",
            "--kms",
            &arn,
            "--aws-profile",
            "team",
            "plain.yaml",
        ],
    ));
    assert!(enc.contains("aws_profile: team"), "{enc}");
    e.write("profile.yaml", &enc);
    assert_eq!(
        ok(profile_only(
            &reference_sops(),
            &["decrypt", "profile.yaml"]
        )),
        PLAIN
    );
    assert_eq!(
        ok(profile_only(&rsops(), &["decrypt", "profile.yaml"])),
        PLAIN
    );
    // A profile that does not exist is named in the error.
    let out = profile_only(
        &rsops(),
        &[
            "encrypt",
            "--kms",
            &arn,
            "--aws-profile",
            "nope",
            "plain.yaml",
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nope"),
        "{}",
        describe(&out)
    );
}

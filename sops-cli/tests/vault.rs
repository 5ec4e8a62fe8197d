//! HashiCorp Vault transit keys against a loopback protocol fake of the transit API
//! (`PUT /v1/<engine>/encrypt/<key>` and `/decrypt/<key>`, `X-Vault-Token`, JSON
//! `{"data": {...}}` answers and `{"errors": [...]}` failures, as Vault documents them). It is
//! a fake, not Vault: ciphertexts are `vault:v1:` plus a reversible transform. The real sops
//! talks to the same fake, so files written by either tool are checked with the other.

mod common;

use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::http::{FakeServer, serve};
use common::{describe, reference_sops, rsops};

const TOKEN: &str = "hvs.test-token";
const PLAIN: &str = "db:\n    password: vault-secret\n";

fn transit() -> FakeServer {
    serve(|req| {
        if req.header("x-vault-token") != Some(TOKEN) {
            return (403, r#"{"errors":["permission denied"]}"#.to_owned());
        }
        let Some(rest) = req.path.strip_prefix("/v1/transit/") else {
            return (404, r#"{"errors":["no handler for route"]}"#.to_owned());
        };
        let body = req.json();
        match rest.split_once('/') {
            Some(("encrypt", "app")) => {
                let plain = STANDARD
                    .decode(body["plaintext"].as_str().unwrap_or(""))
                    .unwrap_or_default();
                let sealed: Vec<u8> = plain.iter().rev().map(|b| b ^ 0x5a).collect();
                (
                    200,
                    format!(
                        r#"{{"data":{{"ciphertext":"vault:v1:{}","key_version":1}}}}"#,
                        STANDARD.encode(sealed)
                    ),
                )
            }
            Some(("decrypt", "app")) => {
                let text = body["ciphertext"].as_str().unwrap_or("");
                let Some(b64) = text.strip_prefix("vault:v1:") else {
                    return (
                        400,
                        r#"{"errors":["invalid ciphertext: no prefix"]}"#.to_owned(),
                    );
                };
                let sealed = STANDARD.decode(b64).unwrap_or_default();
                let plain: Vec<u8> = sealed.iter().rev().map(|b| b ^ 0x5a).collect();
                (
                    200,
                    format!(r#"{{"data":{{"plaintext":"{}"}}}}"#, STANDARD.encode(plain)),
                )
            }
            _ => (400, r#"{"errors":["encryption key not found"]}"#.to_owned()),
        }
    })
}

struct Scratch {
    tmp: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let s = Self {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(s.tmp.path().join("home")).unwrap();
        std::fs::write(s.tmp.path().join("plain.yaml"), PLAIN).unwrap();
        s
    }

    fn run(&self, program: &std::path::Path, token: Option<&str>, args: &[&str]) -> Output {
        let mut c = common::hermetic(program, &self.tmp.path().join("home"));
        c.current_dir(self.tmp.path());
        if let Some(t) = token {
            c.env("VAULT_TOKEN", t);
        }
        c.args(args).output().unwrap()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.tmp.path().join(name), text).unwrap();
    }
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn vault_transit_round_trips_with_real_sops_both_ways() {
    let server = transit();
    let uri = format!("{}/v1/transit/keys/app", server.url);
    let s = Scratch::new();
    let enc = ok(s.run(
        &rsops(),
        Some(TOKEN),
        &["encrypt", "--hc-vault-transit", &uri, "plain.yaml"],
    ));
    assert!(
        enc.contains(&format!(
            "hc_vault:\n        - vault_address: {}\n          engine_path: transit\n          key_name: app\n          created_at: ",
            server.url
        )),
        "{enc}"
    );
    assert!(enc.contains("enc: vault:v1:"), "{enc}");
    s.write("by-rsops.yaml", &enc);
    assert_eq!(
        ok(s.run(
            &reference_sops(),
            Some(TOKEN),
            &["decrypt", "by-rsops.yaml"]
        )),
        PLAIN
    );
    let enc = ok(s.run(
        &reference_sops(),
        Some(TOKEN),
        &["encrypt", "--hc-vault-transit", &uri, "plain.yaml"],
    ));
    s.write("by-sops.yaml", &enc);
    assert_eq!(
        ok(s.run(&rsops(), Some(TOKEN), &["decrypt", "by-sops.yaml"])),
        PLAIN
    );

    // Requests carry what transit requires: the token header and base64 plaintext.
    let reqs = server.requests.lock().unwrap();
    let ours = reqs
        .iter()
        .find(|r| r.path == "/v1/transit/encrypt/app" && r.header("x-vault-request").is_some())
        .expect("an encrypt request");
    assert_eq!(ours.header("x-vault-token"), Some(TOKEN));
    let plaintext = ours.json()["plaintext"].as_str().unwrap().to_owned();
    assert_eq!(STANDARD.decode(plaintext).unwrap().len(), 32);
}

#[test]
fn vault_token_file_and_refusals() {
    let server = transit();
    let uri = format!("{}/v1/transit/keys/app", server.url);
    let s = Scratch::new();
    // The token from ~/.vault-token when VAULT_TOKEN is unset.
    std::fs::write(s.tmp.path().join("home/.vault-token"), format!("{TOKEN}\n")).unwrap();
    let enc = ok(s.run(
        &rsops(),
        None,
        &["encrypt", "--hc-vault-transit", &uri, "plain.yaml"],
    ));
    s.write("enc.yaml", &enc);
    assert_eq!(ok(s.run(&rsops(), None, &["decrypt", "enc.yaml"])), PLAIN);

    // A wrong token: permission denied, exit 128, no secret in the message.
    let out = s.run(&rsops(), Some("hvs.wrong"), &["decrypt", "enc.yaml"]);
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTTP 403, permission denied"), "{err}");
    assert!(
        !err.contains("vault-secret") && !err.contains("hvs.wrong"),
        "{err}"
    );

    // A key the engine does not have.
    let other = format!("{}/v1/transit/keys/missing", server.url);
    let out = s.run(
        &rsops(),
        Some(TOKEN),
        &["encrypt", "--hc-vault-transit", &other, "plain.yaml"],
    );
    assert_ne!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("encryption key not found"),
        "{}",
        describe(&out)
    );

    // A malformed URI is refused before any request.
    let out = s.run(
        &rsops(),
        Some(TOKEN),
        &[
            "encrypt",
            "--hc-vault-transit",
            "https://vault/transit/app",
            "plain.yaml",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[test]
fn vault_keys_from_sops_yaml_rules_and_key_groups() {
    let server = transit();
    let uri = format!("{}/v1/transit/keys/app", server.url);
    let s = Scratch::new();
    // Single-group form.
    s.write(
        ".sops.yaml",
        &format!("creation_rules:\n  - path_regex: single\n    hc_vault_transit_uri: {uri}\n  - path_regex: groups\n    key_groups:\n      - hc_vault: [{uri}]\n        age: [age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw]\n"),
    );
    s.write("single.yaml", PLAIN);
    s.write("groups.yaml", PLAIN);
    for name in ["single.yaml", "groups.yaml"] {
        let out = s.run(&rsops(), Some(TOKEN), &["encrypt", "-i", name]);
        assert!(out.status.success(), "{}", describe(&out));
        let text = std::fs::read_to_string(s.tmp.path().join(name)).unwrap();
        assert!(text.contains("enc: vault:v1:"), "{text}");
        assert_eq!(
            ok(s.run(&reference_sops(), Some(TOKEN), &["decrypt", name])),
            PLAIN
        );
        assert_eq!(ok(s.run(&rsops(), Some(TOKEN), &["decrypt", name])), PLAIN);
    }
    let groups = std::fs::read_to_string(s.tmp.path().join("groups.yaml")).unwrap();
    // One group is written in the flat layout, with both keys.
    assert!(
        groups.contains("hc_vault:") && groups.contains("    age:\n"),
        "{groups}"
    );
}

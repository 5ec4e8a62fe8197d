//! GCP KMS keys against a loopback protocol fake of the Cloud KMS REST API
//! (`POST /v1/{resource_id}:encrypt|decrypt`, `Authorization: Bearer`, `{"error": {...}}`
//! failures) and of Google's OAuth token endpoint (RS256 JWT bearer grant for service
//! accounts, refresh-token grant for authorized users), following Google's public docs. It is
//! a fake, not Google: ciphertexts are a reversible transform. The real sops uses gRPC for GCP
//! and cannot be pointed at it, so these tests check rsops in both directions and the exact
//! requests; the fake verifies the JWT signature with the service account's public key.

mod common;

use std::process::Output;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::http::{FakeServer, serve};
use common::{describe, root, rsops};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::Verifier;

const KEY: &str = "projects/p1/locations/global/keyRings/ring/cryptoKeys/sops";
const PLAIN: &str = "db:\n    password: gcp-secret\n";
const TOKEN: &str = "ya29.issued-by-fake";

/// The fake: a token endpoint and Cloud KMS. `disabled` makes every KMS call fail as a
/// disabled key version does.
fn google(disabled: Arc<Mutex<bool>>) -> FakeServer {
    let pem = std::fs::read_to_string(root().join("testdata/gcp/sa-key-TEST-ONLY.pem")).unwrap();
    let public = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
        .unwrap()
        .to_public_key();
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(public);
    serve(move |req| {
        if req.path == "/token" {
            let form = String::from_utf8_lossy(&req.body).into_owned();
            let field = |name: &str| {
                form.split('&')
                    .find_map(|p| p.strip_prefix(&format!("{name}=")))
                    .unwrap_or("")
                    .to_owned()
            };
            let grant = field("grant_type");
            if grant == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" {
                let jwt = field("assertion");
                let parts: Vec<&str> = jwt.split('.').collect();
                let sig = rsa::pkcs1v15::Signature::try_from(
                    URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice(),
                )
                .unwrap();
                let signed = format!("{}.{}", parts[0], parts[1]);
                if verifier.verify(signed.as_bytes(), &sig).is_err() {
                    return (
                        400,
                        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
                            .to_owned(),
                    );
                }
                let claims: serde_json::Value =
                    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
                if claims["scope"] != "https://www.googleapis.com/auth/cloudkms"
                    || claims["iss"] != "sops@p1.iam.gserviceaccount.com"
                    || !claims["aud"].as_str().unwrap_or("").ends_with("/token")
                {
                    return (400, r#"{"error":"invalid_scope"}"#.to_owned());
                }
            } else if grant == "refresh_token" {
                if field("refresh_token") != "refresh-me" {
                    return (
                        400,
                        r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#
                            .to_owned(),
                    );
                }
            } else {
                return (400, r#"{"error":"unsupported_grant_type"}"#.to_owned());
            }
            return (
                200,
                format!(r#"{{"access_token":"{TOKEN}","expires_in":3599,"token_type":"Bearer"}}"#),
            );
        }
        if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return (
                401,
                r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#.to_owned(),
            );
        }
        if *disabled.lock().unwrap() {
            return (
                400,
                format!(
                    r#"{{"error":{{"code":400,"message":"{KEY}/cryptoKeyVersions/1 is not enabled, current state is: DISABLED.","status":"FAILED_PRECONDITION"}}}}"#
                ),
            );
        }
        let body = req.json();
        if req.path == format!("/v1/{KEY}:encrypt") {
            let plain = STANDARD
                .decode(body["plaintext"].as_str().unwrap_or(""))
                .unwrap_or_default();
            let sealed: Vec<u8> = plain.iter().rev().map(|b| b ^ 0x33).collect();
            (
                200,
                format!(
                    r#"{{"name":"{KEY}/cryptoKeyVersions/1","ciphertext":"{}"}}"#,
                    STANDARD.encode(sealed)
                ),
            )
        } else if req.path == format!("/v1/{KEY}:decrypt") {
            let sealed = STANDARD
                .decode(body["ciphertext"].as_str().unwrap_or(""))
                .unwrap_or_default();
            let plain: Vec<u8> = sealed.iter().rev().map(|b| b ^ 0x33).collect();
            (
                200,
                format!(r#"{{"plaintext":"{}"}}"#, STANDARD.encode(plain)),
            )
        } else {
            (
                404,
                r#"{"error":{"code":404,"message":"CryptoKey not found.","status":"NOT_FOUND"}}"#
                    .to_owned(),
            )
        }
    })
}

struct Scratch {
    tmp: tempfile::TempDir,
    url: String,
}

impl Scratch {
    fn new(url: &str) -> Self {
        let s = Self {
            tmp: tempfile::tempdir().unwrap(),
            url: url.to_owned(),
        };
        std::fs::create_dir_all(s.tmp.path().join("home")).unwrap();
        std::fs::write(s.tmp.path().join("plain.yaml"), PLAIN).unwrap();
        let pem =
            std::fs::read_to_string(root().join("testdata/gcp/sa-key-TEST-ONLY.pem")).unwrap();
        let sa = serde_json::json!({
            "type": "service_account",
            "project_id": "p1",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": "sops@p1.iam.gserviceaccount.com",
            "token_uri": format!("{url}/token"),
        });
        std::fs::write(s.tmp.path().join("sa.json"), sa.to_string()).unwrap();
        let user = serde_json::json!({
            "type": "authorized_user",
            "client_id": "cid",
            "client_secret": "csecret",
            "refresh_token": "refresh-me",
            "token_uri": format!("{url}/token"),
        });
        std::fs::write(s.tmp.path().join("user.json"), user.to_string()).unwrap();
        s
    }

    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut c = common::hermetic(&rsops(), &self.tmp.path().join("home"));
        c.current_dir(self.tmp.path())
            .env("RSOPS_GCP_KMS_ENDPOINT", &self.url)
            .env("NO_GCE_CHECK", "true");
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(args).output().unwrap()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.tmp.path().join(name), text).unwrap();
    }

    fn path(&self, name: &str) -> String {
        self.tmp.path().join(name).to_string_lossy().into_owned()
    }
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn service_account_and_authorized_user_round_trip() {
    let server = google(Arc::new(Mutex::new(false)));
    let s = Scratch::new(&server.url);
    let sa = s.path("sa.json");
    let with_sa = [("GOOGLE_APPLICATION_CREDENTIALS", sa.as_str())];
    let enc = ok(s.run(&with_sa, &["encrypt", "--gcp-kms", KEY, "plain.yaml"]));
    assert!(
        enc.contains(&format!(
            "gcp_kms:\n        - resource_id: {KEY}\n          created_at: "
        )),
        "{enc}"
    );
    s.write("enc.yaml", &enc);
    assert_eq!(ok(s.run(&with_sa, &["decrypt", "enc.yaml"])), PLAIN);
    // The same file with authorized-user credentials in GOOGLE_CREDENTIALS (JSON content).
    let user = std::fs::read_to_string(s.path("user.json")).unwrap();
    assert_eq!(
        ok(s.run(&[("GOOGLE_CREDENTIALS", &user)], &["decrypt", "enc.yaml"])),
        PLAIN
    );
    // A static token.
    assert_eq!(
        ok(s.run(
            &[("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)],
            &["decrypt", "enc.yaml"]
        )),
        PLAIN
    );
    // SOPS_GCP_KMS_IDS works like --gcp-kms.
    let enc = ok(s.run(
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", sa.as_str()),
            ("SOPS_GCP_KMS_IDS", KEY),
        ],
        &["encrypt", "plain.yaml"],
    ));
    assert!(enc.contains("gcp_kms:"), "{enc}");

    let reqs = server.requests.lock().unwrap();
    let kms = reqs
        .iter()
        .find(|r| r.path == format!("/v1/{KEY}:encrypt"))
        .unwrap();
    assert_eq!(kms.method, "POST");
    assert_eq!(
        kms.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(kms.header("content-type"), Some("application/json"));
    let plaintext = kms.json()["plaintext"].as_str().unwrap().to_owned();
    assert_eq!(STANDARD.decode(plaintext).unwrap().len(), 32);
    let token = reqs.iter().find(|r| r.path == "/token").unwrap();
    assert_eq!(
        token.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // One token request per process that needed one (three service-account runs, one
    // authorized-user run; the static token needs none).
    assert_eq!(reqs.iter().filter(|r| r.path == "/token").count(), 4);
}

#[test]
fn disabled_keys_bad_credentials_and_missing_credentials_fail_clearly() {
    let disabled = Arc::new(Mutex::new(false));
    let server = google(Arc::clone(&disabled));
    let s = Scratch::new(&server.url);
    let sa = s.path("sa.json");
    let with_sa = [("GOOGLE_APPLICATION_CREDENTIALS", sa.as_str())];
    let enc = ok(s.run(&with_sa, &["encrypt", "--gcp-kms", KEY, "plain.yaml"]));
    s.write("enc.yaml", &enc);

    *disabled.lock().unwrap() = true;
    let out = s.run(&with_sa, &["decrypt", "enc.yaml"]);
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "the key version cannot be used (disabled or destroyed?): FAILED_PRECONDITION"
        ),
        "{err}"
    );
    *disabled.lock().unwrap() = false;

    // A revoked refresh token: the token endpoint's error, without secrets.
    let user = std::fs::read_to_string(s.path("user.json"))
        .unwrap()
        .replace("refresh-me", "revoked");
    s.write("revoked.json", &user);
    let revoked = s.path("revoked.json");
    let out = s.run(
        &[("GOOGLE_APPLICATION_CREDENTIALS", revoked.as_str())],
        &["decrypt", "enc.yaml"],
    );
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid_grant"), "{err}");
    assert!(
        !err.contains("revoked\"") && !err.contains("csecret"),
        "{err}"
    );

    // A wrong static token: UNAUTHENTICATED.
    let out = s.run(
        &[("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.wrong")],
        &["decrypt", "enc.yaml"],
    );
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("UNAUTHENTICATED") && !err.contains("ya29.wrong"),
        "{err}"
    );

    // No credentials anywhere.
    let out = s.run(&[], &["decrypt", "enc.yaml"]);
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no Google credentials found"),
        "{}",
        describe(&out)
    );

    // rotate adds and removes gcp_kms keys.
    let other = "projects/p1/locations/global/keyRings/ring/cryptoKeys/other";
    let out = s.run(
        &with_sa,
        &["rotate", "-i", "--add-gcp-kms", other, "enc.yaml"],
    );
    // The fake knows only KEY: adding `other` fails at its encrypt call with NOT_FOUND.
    assert_ne!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT_FOUND"));
    let out = s.run(
        &with_sa,
        &[
            "rotate",
            "-i",
            "--add-age",
            "age1tx6ffn9d2e8mc9z6hx70r667gj5nvt0uqkhwqcz278cmkdceaa8s8e7jrw",
            "--rm-gcp-kms",
            KEY,
            "enc.yaml",
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let text = std::fs::read_to_string(s.path("enc.yaml")).unwrap();
    assert!(!text.contains("gcp_kms:\n        - resource_id"), "{text}");
}

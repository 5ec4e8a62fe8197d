//! Azure Key Vault keys against a loopback protocol fake of Key Vault and the Azure AD token
//! endpoint, following the documented REST formats: `POST /<tenant>/oauth2/v2.0/token` (client
//! credentials form, `{"access_token"}` or `{"error", "error_description"}`), and Key Vault
//! `GET /keys/<name>`, `POST /keys/<name>/<version>/wrapkey|unwrapkey` with `api-version=7.4`,
//! a bearer token and `{"alg", "value"}` (base64url), failures as `{"error": {"code",
//! "message"}}`. It is a fake, not Azure: "wrapping" is a reversible transform. The real sops
//! cannot be pointed at a plain-HTTP Key Vault, so there is no sops interop check here.

mod common;

use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::http::{FakeServer, Recorded, serve};
use common::{describe, rsops};

const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const CLIENT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const SECRET: &str = "az-client-secret~value";
const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.issued-by-the-fake.sig";
const VAULT: &str = "https://myvault.vault.azure.net";
const PLAIN: &str = "db:\n    password: azure-secret\n";

/// The keys of the fake vault: name and current version.
const KEYS: [(&str, &str); 2] = [
    ("sops-key", "5d3a1c0e9b8f4a7d8e2b6c4f1a0d9e87"),
    ("second-key", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
];

fn seal(data: &[u8], version: &str) -> Vec<u8> {
    let mut out = version.as_bytes()[..4].to_vec();
    out.extend(data.iter().rev().map(|b| b ^ 0xa5));
    out
}

fn open(sealed: &[u8], version: &str) -> Option<Vec<u8>> {
    let rest = sealed.strip_prefix(&version.as_bytes()[..4])?;
    Some(rest.iter().rev().map(|b| b ^ 0xa5).collect())
}

fn vault_error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        serde_json::json!({"error": {"code": code, "message": message}}).to_string(),
    )
}

fn token_endpoint(req: &Recorded) -> (u16, String) {
    let form: Vec<(String, String)> = String::from_utf8_lossy(&req.body)
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let well_formed = req.method == "POST"
        && req.header("content-type") == Some("application/x-www-form-urlencoded")
        && get("grant_type") == Some("client_credentials")
        && get("scope") == Some("https://vault.azure.net/.default");
    if !well_formed {
        return (
            400,
            r#"{"error":"invalid_request","error_description":"AADSTS900144: bad request"}"#
                .to_owned(),
        );
    }
    if get("client_id") != Some(CLIENT) || get("client_secret") != Some(SECRET) {
        return (
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0\r\nTimestamp: 2025-01-01 00:00:00Z"}"#.to_owned(),
        );
    }
    (
        200,
        format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"{TOKEN}"}}"#
        ),
    )
}

fn key_vault(req: &Recorded, disabled: &AtomicBool) -> (u16, String) {
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return vault_error(
            401,
            "Unauthorized",
            "AKV10000: Request is missing a Bearer.",
        );
    }
    let Some((path, query)) = req.path.split_once('?') else {
        return vault_error(400, "BadParameter", "api-version is missing");
    };
    if query != "api-version=7.4" {
        return vault_error(400, "BadParameter", "unsupported api-version");
    }
    let segments: Vec<&str> = path.trim_start_matches("/keys/").split('/').collect();
    let Some((name, version)) = KEYS.iter().find(|(n, _)| *n == segments[0]) else {
        return vault_error(404, "KeyNotFound", "A key with (name/id) was not found.");
    };
    let kid = format!("{VAULT}/keys/{name}/{version}");
    match (req.method.as_str(), &segments[1..]) {
        ("GET", []) => (
            200,
            serde_json::json!({"key": {"kid": kid, "kty": "RSA"}, "attributes": {"enabled": true}})
                .to_string(),
        ),
        ("POST", [v, op]) if v == version => {
            if disabled.load(Ordering::SeqCst) {
                return (
                    403,
                    r#"{"error":{"code":"Forbidden","message":"Operation decrypt is not allowed on a disabled key.","innererror":{"code":"KeyDisabled"}}}"#.to_owned(),
                );
            }
            let body = req.json();
            if body["alg"] != "RSA-OAEP-256" {
                return vault_error(400, "BadParameter", "unsupported algorithm");
            }
            let Ok(value) = URL_SAFE_NO_PAD.decode(body["value"].as_str().unwrap_or("=")) else {
                return vault_error(400, "BadParameter", "value is not base64url");
            };
            let result = match *op {
                "wrapkey" => seal(&value, version),
                "unwrapkey" => match open(&value, version) {
                    Some(plain) => plain,
                    None => return vault_error(400, "BadParameter", "Bad Request"),
                },
                _ => return vault_error(404, "NotFound", "no such operation"),
            };
            (
                200,
                serde_json::json!({"kid": kid, "value": URL_SAFE_NO_PAD.encode(result)})
                    .to_string(),
            )
        }
        _ => vault_error(404, "KeyNotFound", "A key with (name/id) was not found."),
    }
}

/// The fake, and a switch that disables every key.
fn azure() -> (FakeServer, Arc<AtomicBool>) {
    let disabled = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&disabled);
    let server = serve(move |req| {
        if req.path == format!("/{TENANT}/oauth2/v2.0/token") {
            token_endpoint(req)
        } else if req.path.starts_with("/keys/") {
            key_vault(req, &flag)
        } else {
            (404, r#"{"error":"not_found"}"#.to_owned())
        }
    });
    (server, disabled)
}

/// Decodes one form value.
fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Scratch {
    tmp: tempfile::TempDir,
    url: String,
}

impl Scratch {
    fn new(server: &FakeServer) -> Self {
        let s = Self {
            tmp: tempfile::tempdir().unwrap(),
            url: server.url.clone(),
        };
        std::fs::create_dir_all(s.tmp.path().join("home")).unwrap();
        std::fs::write(s.tmp.path().join("plain.yaml"), PLAIN).unwrap();
        s
    }

    fn run_with(&self, secret: &str, args: &[&str]) -> Output {
        let mut c = common::hermetic(&rsops(), &self.tmp.path().join("home"));
        c.current_dir(self.tmp.path())
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT)
            .env("AZURE_CLIENT_SECRET", secret)
            .env("AZURE_AUTHORITY_HOST", &self.url)
            .env("RSOPS_AZURE_KEYVAULT_ENDPOINT", &self.url)
            .env("RSOPS_AZURE_IMDS_DISABLED", "true");
        c.args(args).output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(SECRET, args)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.tmp.path().join(name), text).unwrap();
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.tmp.path().join(name)).unwrap()
    }
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn entry(name: &str, version: &str) -> String {
    format!(
        "- vault_url: {VAULT}\n          name: {name}\n          version: {version}\n          \
         created_at: "
    )
}

#[test]
fn azure_kv_encrypts_with_a_resolved_version_and_decrypts() {
    let (server, _) = azure();
    let s = Scratch::new(&server);
    let enc = ok(s.run(&[
        "encrypt",
        "--azure-kv",
        &format!("{VAULT}/keys/sops-key"),
        "plain.yaml",
    ]));
    let (name, version) = KEYS[0];
    assert!(enc.contains("    azure_kv:\n        "), "{enc}");
    assert!(enc.contains(&entry(name, version)), "{enc}");
    let enc_line = enc
        .lines()
        .find(|l| l.trim_start().starts_with("enc: "))
        .expect("an enc line");
    let wrapped = enc_line.trim_start().trim_start_matches("enc: ");
    assert!(
        !wrapped.contains('=') && !wrapped.contains('+') && !wrapped.contains('/'),
        "{wrapped}"
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(wrapped).unwrap().len(),
        36,
        "the fake's prefix and a 32-byte data key"
    );
    assert!(!enc.contains("azure-secret"), "{enc}");
    s.write("enc.yaml", &enc);
    assert_eq!(ok(s.run(&["decrypt", "enc.yaml"])), PLAIN);

    // What went over the wire: one token per process, then Key Vault calls with it.
    let reqs = server.requests.lock().unwrap();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    let token_path = format!("/{TENANT}/oauth2/v2.0/token");
    assert_eq!(
        paths,
        [
            token_path.as_str(),
            "/keys/sops-key?api-version=7.4",
            &format!("/keys/sops-key/{version}/wrapkey?api-version=7.4"),
            token_path.as_str(),
            &format!("/keys/sops-key/{version}/unwrapkey?api-version=7.4"),
        ]
    );
    for r in reqs.iter().filter(|r| r.path.starts_with("/keys/")) {
        assert_eq!(r.header("authorization"), Some(&*format!("Bearer {TOKEN}")));
        if r.method == "POST" {
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(r.json()["alg"], "RSA-OAEP-256");
        }
    }
    let wrap = &reqs[2];
    let value = wrap.json()["value"].as_str().unwrap().to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(value).unwrap().len(), 32);
    assert_eq!(reqs[4].json()["value"], wrapped);
}

#[test]
fn azure_kv_refusals_are_explained_without_secrets() {
    let (server, disabled) = azure();
    let s = Scratch::new(&server);
    let (_, version) = KEYS[0];
    let enc = ok(s.run(&[
        "encrypt",
        "--azure-kv",
        &format!("{VAULT}/keys/sops-key/{version}"),
        "plain.yaml",
    ]));
    assert!(enc.contains(&entry("sops-key", version)), "{enc}");
    s.write("enc.yaml", &enc);

    // A wrong client secret: Azure AD says invalid_client; exit 128, no secret shown.
    let out = s.run_with("not-the-secret", &["decrypt", "enc.yaml"]);
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Azure AD refused the client secret credential"),
        "{err}"
    );
    assert!(
        err.contains("HTTP 401, invalid_client: AADSTS7000215"),
        "{err}"
    );
    assert!(err.contains("AZURE_CLIENT_SECRET"), "{err}");
    for secret in ["not-the-secret", SECRET, TOKEN, "azure-secret"] {
        assert!(!err.contains(secret), "{secret} in {err}");
    }

    // A disabled key: exit 128, saying so.
    disabled.store(true, Ordering::SeqCst);
    let out = s.run(&["decrypt", "enc.yaml"]);
    assert_eq!(out.status.code(), Some(128), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the key is disabled"), "{err}");
    assert!(
        err.contains("Operation decrypt is not allowed on a disabled key"),
        "{err}"
    );
    assert!(!err.contains(TOKEN) && !err.contains(SECRET), "{err}");
    disabled.store(false, Ordering::SeqCst);

    // A key the vault does not have: encryption fails and names the problem.
    let out = s.run(&[
        "encrypt",
        "--azure-kv",
        &format!("{VAULT}/keys/missing"),
        "plain.yaml",
    ]);
    assert_ne!(out.status.code(), Some(0), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such key or key version"), "{err}");
    assert!(err.contains("KeyNotFound"), "{err}");

    // Not a Key Vault URL: refused before any request.
    let before = server.requests.lock().unwrap().len();
    let out = s.run(&[
        "encrypt",
        "--azure-kv",
        "http://myvault.vault.azure.net/keys/sops-key",
        "plain.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(server.requests.lock().unwrap().len(), before);
}

#[test]
fn azure_kv_rotate_adds_and_removes_keys() {
    let (server, _) = azure();
    let s = Scratch::new(&server);
    let (first, v1) = KEYS[0];
    let (second, v2) = KEYS[1];
    let enc = ok(s.run(&[
        "encrypt",
        "--azure-kv",
        &format!("{VAULT}/keys/{first}"),
        "plain.yaml",
    ]));
    s.write("enc.yaml", &enc);

    ok(s.run(&[
        "rotate",
        "-i",
        "--add-azure-kv",
        &format!("{VAULT}/keys/{second}"),
        "enc.yaml",
    ]));
    let both = s.read("enc.yaml");
    assert!(both.contains(&entry(first, v1)), "{both}");
    assert!(both.contains(&entry(second, v2)), "{both}");
    assert_eq!(ok(s.run(&["decrypt", "enc.yaml"])), PLAIN);

    ok(s.run(&[
        "rotate",
        "-i",
        "--rm-azure-kv",
        &format!("{VAULT}/keys/{first}/{v1}"),
        "enc.yaml",
    ]));
    let one = s.read("enc.yaml");
    assert!(!one.contains(&format!("name: {first}")), "{one}");
    assert!(one.contains(&entry(second, v2)), "{one}");
    assert_eq!(ok(s.run(&["decrypt", "enc.yaml"])), PLAIN);

    // The remaining key alone opens the file: the removed one is no longer asked.
    let reqs = server.requests.lock().unwrap();
    let last = reqs.last().unwrap();
    assert_eq!(
        last.path,
        format!("/keys/{second}/{v2}/unwrapkey?api-version=7.4")
    );
}

//! GCP KMS master keys (`gcp_kms`), as sops' `gcpkms/keysource.go` (feature `gcp`), over the
//! Cloud KMS REST API: `POST v1/{resource_id}:encrypt` / `:decrypt`; `enc` is the base64
//! ciphertext.
//!
//! Tokens as sops finds them: `GOOGLE_OAUTH_ACCESS_TOKEN`, then `GOOGLE_CREDENTIALS` (a path or
//! the JSON itself), then application default credentials (`GOOGLE_APPLICATION_CREDENTIALS`,
//! the gcloud ADC file, the metadata server). Service accounts sign an RS256 JWT; authorized
//! users use their refresh token. `RSOPS_GCP_KMS_ENDPOINT` overrides the API endpoint (tests,
//! private endpoints).

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::keys::env::Environment;
use crate::keys::http::{Network, Request, Transport, form, timeout_from_env};
use crate::keys::{KeyError, KeySource};
use crate::metadata::{KeyKind, MasterKey};
use crate::timestamp::Timestamp;

/// The OAuth scope for Cloud KMS.
const SCOPE: &str = "https://www.googleapis.com/auth/cloudkms";
/// Google's token endpoint.
const TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The GCP KMS key source.
pub struct GcpKms {
    env: Box<dyn Environment>,
    http: Box<dyn Transport>,
    token: RefCell<Option<Zeroizing<String>>>,
}

/// Explains a Google API error body (`{"error":{"code","message","status"}}`).
fn google_error(status: u16, body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let kind = v
        .pointer("/error/status")
        .and_then(|s| s.as_str())
        .unwrap_or("");
    let message = v
        .pointer("/error/message")
        .and_then(|s| s.as_str())
        .or_else(|| v.get("error_description").and_then(|s| s.as_str()))
        .unwrap_or("");
    let meaning = match kind {
        "PERMISSION_DENIED" => {
            "permission denied (the identity needs roles/cloudkms.cryptoKeyEncrypterDecrypter)"
        }
        "NOT_FOUND" => "no such key",
        "FAILED_PRECONDITION" => "the key version cannot be used (disabled or destroyed?)",
        "INVALID_ARGUMENT" => "KMS refused the request (wrong key for this ciphertext?)",
        "UNAUTHENTICATED" => "the token was rejected",
        _ => "",
    };
    let mut out = format!("HTTP {status}");
    if !kind.is_empty() {
        out = kind.to_owned();
    }
    if !meaning.is_empty() {
        out = format!("{meaning}: {out}");
    }
    if !message.is_empty() {
        out.push_str(&format!(" ({message})"));
    }
    out
}

impl GcpKms {
    /// A source over the real network with `env` for credentials.
    pub fn new(env: impl Environment + 'static) -> Self {
        Self::with_transport(env, Network::default())
    }

    /// A source with an explicit transport (tests).
    pub fn with_transport(env: impl Environment + 'static, http: impl Transport + 'static) -> Self {
        Self {
            env: Box::new(env),
            http: Box::new(http),
            token: RefCell::new(None),
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        self.env.var(name).filter(|v| !v.trim().is_empty())
    }

    fn timeout(&self) -> Duration {
        timeout_from_env(&*self.env, "RSOPS_GCP_TIMEOUT_SECONDS")
    }

    /// The access token, fetched once per process.
    fn token(&self) -> Result<Zeroizing<String>, String> {
        if let Some(t) = self.token.borrow().as_ref() {
            return Ok(t.clone());
        }
        let t = self.fetch_token()?;
        *self.token.borrow_mut() = Some(t.clone());
        Ok(t)
    }

    fn fetch_token(&self) -> Result<Zeroizing<String>, String> {
        let mut tried = Vec::new();
        if let Some(t) = self.var("GOOGLE_OAUTH_ACCESS_TOKEN") {
            return Ok(Zeroizing::new(t.trim().to_owned()));
        }
        tried.push("GOOGLE_OAUTH_ACCESS_TOKEN (unset)".to_owned());
        if let Some(c) = self.var("GOOGLE_CREDENTIALS") {
            let json = if c.trim_start().starts_with('{') {
                Zeroizing::new(c.into_bytes())
            } else {
                self.env
                    .read_file(&PathBuf::from(c.trim()))
                    .map_err(|e| format!("cannot read the file named by GOOGLE_CREDENTIALS: {e}"))?
            };
            return self.token_from_json(&json, "GOOGLE_CREDENTIALS");
        }
        tried.push("GOOGLE_CREDENTIALS (unset)".to_owned());
        if let Some(p) = self.var("GOOGLE_APPLICATION_CREDENTIALS") {
            let json = self
                .env
                .read_file(&PathBuf::from(&p))
                .map_err(|e| format!("cannot read GOOGLE_APPLICATION_CREDENTIALS file {p}: {e}"))?;
            return self.token_from_json(&json, &p);
        }
        tried.push("GOOGLE_APPLICATION_CREDENTIALS (unset)".to_owned());
        let adc = self
            .var("CLOUDSDK_CONFIG")
            .map(PathBuf::from)
            .or_else(|| {
                self.var("HOME")
                    .map(|h| PathBuf::from(h).join(".config/gcloud"))
            })
            .map(|d| d.join("application_default_credentials.json"));
        if let Some(adc) = adc {
            match self.env.read_file(&adc) {
                Ok(json) => return self.token_from_json(&json, &adc.display().to_string()),
                Err(_) => tried.push(format!("{} (absent)", adc.display())),
            }
        }
        if self.var("NO_GCE_CHECK").as_deref() == Some("true") {
            tried.push("the metadata server (NO_GCE_CHECK=true)".to_owned());
        } else {
            let host = self
                .var("GCE_METADATA_HOST")
                .unwrap_or_else(|| "metadata.google.internal".to_owned());
            let url =
                format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token");
            match self.http.send(&Request {
                method: "GET",
                url,
                headers: vec![("Metadata-Flavor".to_owned(), "Google".to_owned())],
                body: Vec::new(),
                timeout: Duration::from_secs(2),
            }) {
                Ok(r) if r.status == 200 => return access_token(&r.body, "the metadata server"),
                Ok(r) => tried.push(format!("the metadata server (HTTP {})", r.status)),
                Err(e) => tried.push(format!("the metadata server ({e})")),
            }
        }
        Err(format!(
            "no Google credentials found; tried: {}; hint: set GOOGLE_APPLICATION_CREDENTIALS \
             or run `gcloud auth application-default login`",
            tried.join(", ")
        ))
    }

    fn token_from_json(&self, json: &[u8], origin: &str) -> Result<Zeroizing<String>, String> {
        let v: serde_json::Value = serde_json::from_slice(json)
            .map_err(|e| format!("{origin}: not a JSON credentials file (line {})", e.line()))?;
        let field = |name: &str| v.get(name).and_then(|s| s.as_str()).unwrap_or("");
        let token_uri = match field("token_uri") {
            "" => TOKEN_URI.to_owned(),
            u => u.to_owned(),
        };
        let body = match field("type") {
            "service_account" => {
                let jwt = self.service_account_jwt(&v, &token_uri, origin)?;
                form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", jwt.as_str()),
                ])
            }
            "authorized_user" => form(&[
                ("grant_type", "refresh_token"),
                ("client_id", field("client_id")),
                ("client_secret", field("client_secret")),
                ("refresh_token", field("refresh_token")),
            ]),
            other => {
                return Err(format!(
                    "{origin}: credentials of type {other:?} are not supported (use a service \
                     account key or `gcloud auth application-default login`)"
                ));
            }
        };
        let r = self.http.send(&Request {
            method: "POST",
            url: token_uri.clone(),
            headers: vec![(
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            )],
            body: body.as_bytes().to_vec(),
            timeout: self.timeout(),
        })?;
        if r.status != 200 {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let code = v.get("error").and_then(|e| e.as_str()).unwrap_or("");
            let desc = v
                .get("error_description")
                .and_then(|e| e.as_str())
                .unwrap_or("");
            return Err(format!(
                "getting a token from {token_uri} with {origin} failed: HTTP {} {code} {desc}",
                r.status
            )
            .trim_end()
            .to_owned());
        }
        access_token(&r.body, &token_uri)
    }

    fn service_account_jwt(
        &self,
        v: &serde_json::Value,
        token_uri: &str,
        origin: &str,
    ) -> Result<Zeroizing<String>, String> {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::signature::{SignatureEncoding, Signer};
        let field = |name: &str| v.get(name).and_then(|s| s.as_str()).unwrap_or("");
        let email = field("client_email");
        let pem = Zeroizing::new(field("private_key").to_owned());
        if email.is_empty() || pem.is_empty() {
            return Err(format!(
                "{origin}: a service account key needs client_email and private_key"
            ));
        }
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
            .map_err(|_| format!("{origin}: private_key is not a PKCS#8 RSA key"))?;
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
        let now = Timestamp::now_utc().as_offset_date_time().unix_timestamp();
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        if !field("private_key_id").is_empty() {
            header["kid"] = serde_json::Value::String(field("private_key_id").to_owned());
        }
        let claims = serde_json::json!({
            "iss": email,
            "scope": SCOPE,
            "aud": token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = signer.sign(signing_input.as_bytes()).to_bytes();
        Ok(Zeroizing::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }

    fn call(
        &self,
        key: &MasterKey,
        op: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let id = key.field("resource_id").unwrap_or("");
        if !id.starts_with("projects/") || !id.contains("/cryptoKeys/") {
            return Err(format!(
                "{id:?} is not a GCP KMS key resource id \
                 (projects/P/locations/L/keyRings/R/cryptoKeys/K)"
            ));
        }
        let base = self
            .var("RSOPS_GCP_KMS_ENDPOINT")
            .unwrap_or_else(|| "https://cloudkms.googleapis.com".to_owned());
        let url = format!("{}/v1/{id}:{op}", base.trim_end_matches('/'));
        let token = self.token()?;
        let response = self.http.send(&Request {
            method: "POST",
            url,
            headers: vec![
                ("Content-Type".to_owned(), "application/json".to_owned()),
                (
                    "Authorization".to_owned(),
                    format!("Bearer {}", token.as_str()),
                ),
            ],
            body: serde_json::to_vec(body).map_err(|e| e.to_string())?,
            timeout: self.timeout(),
        })?;
        if response.status != 200 {
            return Err(format!(
                "GCP KMS {op} with {id} failed: {}",
                google_error(response.status, &response.body)
            ));
        }
        serde_json::from_slice(&response.body)
            .map_err(|e| format!("GCP KMS {op} with {id}: unreadable answer: {e}"))
    }
}

fn access_token(body: &[u8], origin: &str) -> Result<Zeroizing<String>, String> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    v.get("access_token")
        .and_then(|t| t.as_str())
        .map(|t| Zeroizing::new(t.to_owned()))
        .ok_or_else(|| format!("{origin}: no access_token in the answer"))
}

impl KeySource for GcpKms {
    fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
        if key.kind != KeyKind::GcpKms {
            return None;
        }
        let body = serde_json::json!({ "plaintext": STANDARD.encode(secret) });
        let result = self.call(key, "encrypt", &body).and_then(|v| {
            v.get("ciphertext")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
                .ok_or_else(|| "GCP KMS encrypt: no ciphertext in the answer".to_owned())
        });
        Some(match result {
            Ok(enc) => Ok(MasterKey::new(
                KeyKind::GcpKms,
                &[
                    ("resource_id", key.field("resource_id").unwrap_or("")),
                    ("created_at", &Timestamp::now_utc().to_rfc3339()),
                    ("enc", &enc),
                ],
            )),
            Err(e) => Err(KeyError::new(key, e)),
        })
    }

    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
        if key.kind != KeyKind::GcpKms {
            return None;
        }
        let body = serde_json::json!({ "ciphertext": key.enc() });
        let result = self.call(key, "decrypt", &body).and_then(|v| {
            let text = v
                .get("plaintext")
                .and_then(|p| p.as_str())
                .ok_or_else(|| "GCP KMS decrypt: no plaintext in the answer".to_owned())?;
            STANDARD
                .decode(text)
                .map(Zeroizing::new)
                .map_err(|_| "GCP KMS decrypt: the plaintext is not base64".to_owned())
        });
        Some(result.map_err(|e| KeyError::new(key, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_explained() {
        let body = br#"{"error":{"code":400,"message":"CryptoKeyVersion projects/p/.../1 is not enabled.","status":"FAILED_PRECONDITION"}}"#;
        assert_eq!(
            google_error(400, body),
            "the key version cannot be used (disabled or destroyed?): FAILED_PRECONDITION \
             (CryptoKeyVersion projects/p/.../1 is not enabled.)"
        );
        assert_eq!(google_error(502, b""), "HTTP 502");
    }
}

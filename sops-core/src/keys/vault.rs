//! HashiCorp Vault / OpenBao transit master keys (`hc_vault`), as sops' `hcvault/keysource.go`:
//! `PUT <vault_address>/v1/<engine_path>/encrypt/<key_name>` with the base64 data key, and
//! `…/decrypt/<key_name>` with the stored `vault:v1:…` ciphertext.
//!
//! The token comes from `VAULT_TOKEN`, else `~/.vault-token` (the Vault client's defaults);
//! `VAULT_NAMESPACE` is sent as `X-Vault-Namespace`. Feature `vault`.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::keys::env::Environment;
use crate::keys::http::{Network, Request, Transport, timeout_from_env};
use crate::keys::{KeyError, KeySource};
use crate::metadata::{KeyKind, MasterKey};
use crate::timestamp::Timestamp;

/// The Vault transit key source.
pub struct VaultTransit {
    env: Box<dyn Environment>,
    http: Box<dyn Transport>,
}

impl VaultTransit {
    /// A source over the real network with `env` for the token.
    pub fn new(env: impl Environment + 'static) -> Self {
        Self::with_transport(env, Network::default())
    }

    /// A source with an explicit transport (tests).
    pub fn with_transport(env: impl Environment + 'static, http: impl Transport + 'static) -> Self {
        Self {
            env: Box::new(env),
            http: Box::new(http),
        }
    }

    fn token(&self) -> Result<Zeroizing<String>, String> {
        if let Some(t) = self.env.var("VAULT_TOKEN").filter(|t| !t.trim().is_empty()) {
            return Ok(Zeroizing::new(t.trim().to_owned()));
        }
        let home = self.env.var("HOME").filter(|h| !h.is_empty());
        if let Some(home) = home {
            let path = PathBuf::from(home).join(".vault-token");
            if let Ok(bytes) = self.env.read_file(&path) {
                let t = String::from_utf8_lossy(&bytes).trim().to_owned();
                if !t.is_empty() {
                    return Ok(Zeroizing::new(t));
                }
            }
        }
        Err(
            "no Vault token: set VAULT_TOKEN or log in (`vault login` writes ~/.vault-token)"
                .to_owned(),
        )
    }

    fn call(
        &self,
        key: &MasterKey,
        op: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let address = key
            .field("vault_address")
            .unwrap_or("")
            .trim_end_matches('/');
        let engine = key.field("engine_path").unwrap_or("").trim_matches('/');
        let name = key.field("key_name").unwrap_or("");
        if address.is_empty() || engine.is_empty() || name.is_empty() {
            return Err("the hc_vault entry lacks vault_address, engine_path or key_name".into());
        }
        let url = format!("{address}/v1/{engine}/{op}/{name}");
        let token = self.token()?;
        let mut headers = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Vault-Token".to_owned(), token.to_string()),
            ("X-Vault-Request".to_owned(), "true".to_owned()),
        ];
        if let Some(ns) = self.env.var("VAULT_NAMESPACE").filter(|n| !n.is_empty()) {
            headers.push(("X-Vault-Namespace".to_owned(), ns));
        }
        let timeout = timeout_from_env(&*self.env, "RSOPS_VAULT_TIMEOUT_SECONDS");
        let response = self.http.send(&Request {
            method: "PUT",
            url: url.clone(),
            headers,
            body: serde_json::to_vec(body).map_err(|e| e.to_string())?,
            timeout,
        })?;
        let v: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        if !(200..300).contains(&response.status) {
            let errors = v
                .get("errors")
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            let meaning = match response.status {
                403 => "permission denied (check the token and its policy)",
                404 => "no such transit engine or key",
                400 => "Vault refused the request",
                503 => "Vault is sealed or unavailable",
                _ => "",
            };
            let mut msg = format!("Vault {op} at {url} failed: HTTP {}", response.status);
            if !meaning.is_empty() {
                msg.push_str(&format!(", {meaning}"));
            }
            if !errors.is_empty() {
                msg.push_str(&format!(" ({errors})"));
            }
            return Err(msg);
        }
        Ok(v)
    }
}

impl KeySource for VaultTransit {
    fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
        if key.kind != KeyKind::HcVault {
            return None;
        }
        let body = serde_json::json!({ "plaintext": STANDARD.encode(secret) });
        let result = self.call(key, "encrypt", &body).and_then(|v| {
            v.pointer("/data/ciphertext")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
                .ok_or_else(|| "Vault encrypt: no data.ciphertext in the answer".to_owned())
        });
        Some(match result {
            Ok(enc) => {
                let f = |n: &str| key.field(n).unwrap_or("").to_owned();
                let created = Timestamp::now_utc().to_rfc3339();
                Ok(MasterKey::new(
                    KeyKind::HcVault,
                    &[
                        ("vault_address", &f("vault_address")),
                        ("engine_path", &f("engine_path")),
                        ("key_name", &f("key_name")),
                        ("created_at", &created),
                        ("enc", &enc),
                    ],
                ))
            }
            Err(e) => Err(KeyError::new(key, e)),
        })
    }

    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
        if key.kind != KeyKind::HcVault {
            return None;
        }
        let body = serde_json::json!({ "ciphertext": key.enc() });
        let result = self.call(key, "decrypt", &body).and_then(|v| {
            let text = v
                .pointer("/data/plaintext")
                .and_then(|p| p.as_str())
                .ok_or_else(|| "Vault decrypt: no data.plaintext in the answer".to_owned())?;
            STANDARD
                .decode(text)
                .map(Zeroizing::new)
                .map_err(|_| "Vault decrypt: the plaintext is not base64".to_owned())
        });
        Some(result.map_err(|e| KeyError::new(key, e)))
    }
}

//! AWS KMS master keys (`kms`), as sops' `kms/keysource.go`: the data key is encrypted with
//! KMS `Encrypt` (with the key's encryption `context`), optionally after assuming the key's
//! `role` through STS, with credentials from the key's `aws_profile` or the default chain.
//!
//! The requests are KMS' JSON protocol over HTTPS, signed with SigV4. `AWS_ENDPOINT_URL_KMS`
//! (or `AWS_ENDPOINT_URL`) overrides the endpoint, as in the AWS SDKs.

pub mod credentials;
pub mod sigv4;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use self::credentials::Credentials;
use crate::keys::env::Environment;
use crate::keys::http::{Network, Request, Transport, timeout_from_env};
use crate::keys::{KeyError, KeySource};
use crate::metadata::{Field, KeyKind, MasterKey};
use crate::timestamp::Timestamp;

/// The KMS key source.
pub struct AwsKms {
    env: Box<dyn Environment>,
    http: Box<dyn Transport>,
    /// Credentials per (profile, role, region), resolved once per process.
    cache: RefCell<HashMap<(String, String, String), Rc<Credentials>>>,
}

/// The region in a KMS key ARN (`^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$`).
pub fn region_of(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:aws")?;
    let rest = rest.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '-');
    let rest = rest.strip_prefix(":kms:")?;
    // `(.+)` is greedy in Go: the region runs to the last `:<digits>:(key|alias)/`.
    let mut found = None;
    for (i, _) in rest.match_indices(':') {
        let tail = &rest[i + 1..];
        let Some((account, resource)) = tail.split_once(':') else {
            continue;
        };
        if !account.is_empty()
            && account.bytes().all(|b| b.is_ascii_digit())
            && (resource.starts_with("key/") || resource.starts_with("alias/"))
            && resource.len() > resource.find('/').unwrap_or(0) + 1
            && i > 0
        {
            found = Some(&rest[..i]);
        }
    }
    found
}

/// The endpoint for `service` in `region`: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`,
/// else the public one.
pub fn endpoint(env: &dyn Environment, service: &str, region: &str) -> String {
    let specific = format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase());
    env.var(&specific)
        .filter(|v| !v.is_empty())
        .or_else(|| env.var("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()))
        .unwrap_or_else(|| format!("https://{service}.{region}.{}", dns_suffix(region)))
}

/// AWS's DNS suffix for `region` (China regions have their own).
pub(crate) fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The host (authority) part of a URL, for the signed `host` header.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// `YYYYMMDDTHHMMSSZ` for SigV4.
pub fn amz_date() -> String {
    let t = Timestamp::now_utc().as_offset_date_time();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// sops' STS session name: `sops@<hostname>` with characters outside `[a-zA-Z0-9=,.@_-]`
/// removed, at most 64 characters.
fn session_name(env: &dyn Environment) -> String {
    let host = env
        .var("HOSTNAME")
        .filter(|h| !h.is_empty())
        .or_else(|| {
            env.read_file(std::path::Path::new("/etc/hostname"))
                .ok()
                .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        })
        .unwrap_or_default();
    let name: String = format!("sops@{host}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=,.@_-".contains(*c))
        .take(64)
        .collect();
    name
}

/// Explains a KMS error response.
fn kms_error(status: u16, body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let kind = v
        .get("__type")
        .and_then(|t| t.as_str())
        .unwrap_or("")
        .rsplit('#')
        .next()
        .unwrap_or("")
        .to_owned();
    let message = v
        .get("message")
        .or_else(|| v.get("Message"))
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_owned();
    let meaning = match kind.as_str() {
        "InvalidCiphertextException" => {
            "the ciphertext does not match this key or its encryption context (check `context`)"
        }
        "DisabledException" => "the KMS key is disabled",
        "NotFoundException" => "no such KMS key",
        "KMSInvalidStateException" => "the KMS key's state does not allow this (pending deletion?)",
        "AccessDeniedException" => "access denied by KMS",
        "IncorrectKeyException" => "the ciphertext was made with another KMS key",
        "UnrecognizedClientException" | "InvalidSignatureException" | "ExpiredTokenException" => {
            "the AWS credentials were rejected"
        }
        _ => "",
    };
    let mut out = String::new();
    if !meaning.is_empty() {
        out.push_str(meaning);
        out.push_str(": ");
    }
    if kind.is_empty() {
        out.push_str(&format!("HTTP {status}"));
    } else {
        out.push_str(&kind);
    }
    if !message.is_empty() {
        out.push_str(&format!(" ({message})"));
    }
    out
}

impl AwsKms {
    /// A source over the real network with `env` for credentials and endpoints.
    pub fn new(env: impl Environment + 'static) -> Self {
        Self::with_transport(env, Network::default())
    }

    /// A source with an explicit transport (tests).
    pub fn with_transport(env: impl Environment + 'static, http: impl Transport + 'static) -> Self {
        Self {
            env: Box::new(env),
            http: Box::new(http),
            cache: RefCell::new(HashMap::new()),
        }
    }

    fn credentials(&self, key: &MasterKey, region: &str) -> Result<Rc<Credentials>, String> {
        let profile = key.field("aws_profile").unwrap_or("").to_owned();
        let role = key.field("role").unwrap_or("").to_owned();
        let id = (profile.clone(), role.clone(), region.to_owned());
        if let Some(c) = self.cache.borrow().get(&id) {
            return Ok(Rc::clone(c));
        }
        // sops hands the key's region to the SDK, which then wins over every other source.
        let profile_opt = (!profile.is_empty()).then_some(profile.as_str());
        let base =
            credentials::resolve_in_region(&*self.env, &*self.http, profile_opt, Some(region))?;
        let creds = if role.is_empty() {
            base
        } else {
            credentials::assume_role_in_region(
                &*self.env,
                &*self.http,
                &base,
                &role,
                &session_name(&*self.env),
                Some(region),
            )?
        };
        let creds = Rc::new(creds);
        self.cache.borrow_mut().insert(id, Rc::clone(&creds));
        Ok(creds)
    }

    /// One KMS call: `target` is `Encrypt` or `Decrypt`.
    fn call(
        &self,
        key: &MasterKey,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let arn = key.field("arn").unwrap_or("");
        let region = region_of(arn).ok_or_else(|| format!("{arn:?} is not a valid KMS key ARN"))?;
        let creds = self.credentials(key, region)?;
        let url = endpoint(&*self.env, "kms", region);
        let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let headers = vec![
            (
                "content-type".to_owned(),
                "application/x-amz-json-1.1".to_owned(),
            ),
            ("host".to_owned(), host_of(&url).to_owned()),
            ("x-amz-target".to_owned(), format!("TrentService.{target}")),
        ];
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]).to_owned();
        let date = amz_date();
        let signed = sigv4::sign(
            &sigv4::Signable {
                method: "POST",
                path: &path,
                query: &[],
                headers: &headers,
                body: &body,
                region,
                service: "kms",
                amz_date: &date,
            },
            &creds,
        );
        let response = self.http.send(&Request {
            method: "POST",
            url: url.clone(),
            headers: signed,
            body,
            timeout: timeout_from_env(&*self.env, "RSOPS_KMS_TIMEOUT_SECONDS"),
        })?;
        if response.status != 200 {
            return Err(format!(
                "KMS {target} with {arn} failed: {}",
                kms_error(response.status, &response.body)
            ));
        }
        serde_json::from_slice(&response.body)
            .map_err(|e| format!("KMS {target} with {arn}: unreadable answer: {e}"))
    }
}

fn context_json(key: &MasterKey) -> Option<serde_json::Value> {
    key.fields
        .iter()
        .find_map(|(name, f)| match (name.as_str(), f) {
            ("context", Field::Map(pairs)) if !pairs.is_empty() => Some(serde_json::Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            )),
            _ => None,
        })
}

impl KeySource for AwsKms {
    fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
        if key.kind != KeyKind::Kms {
            return None;
        }
        let arn = key.field("arn").unwrap_or("").to_owned();
        let mut body = serde_json::json!({
            "KeyId": arn,
            "Plaintext": STANDARD.encode(secret),
        });
        if let Some(ctx) = context_json(key) {
            body["EncryptionContext"] = ctx;
        }
        let result = self.call(key, "Encrypt", &body).and_then(|v| {
            v.get("CiphertextBlob")
                .and_then(|b| b.as_str())
                .map(str::to_owned)
                .ok_or_else(|| format!("KMS Encrypt with {arn}: no CiphertextBlob in the answer"))
        });
        Some(match result {
            Ok(enc) => {
                // sops' field order: arn, role, context, created_at, enc, aws_profile.
                let mut fields: Vec<(String, Field)> = Vec::new();
                fields.push(("arn".to_owned(), Field::Str(arn)));
                for name in ["role", "context"] {
                    if let Some((_, f)) = key.fields.iter().find(|(n, _)| n == name) {
                        let keep = match f {
                            Field::Str(s) => !s.is_empty(),
                            Field::Map(m) => !m.is_empty(),
                        };
                        if keep {
                            fields.push((name.to_owned(), f.clone()));
                        }
                    }
                }
                fields.push((
                    "created_at".to_owned(),
                    Field::Str(Timestamp::now_utc().to_rfc3339()),
                ));
                fields.push(("enc".to_owned(), Field::Str(enc)));
                fields.push((
                    "aws_profile".to_owned(),
                    Field::Str(key.field("aws_profile").unwrap_or("").to_owned()),
                ));
                Ok(MasterKey {
                    kind: KeyKind::Kms,
                    fields,
                })
            }
            Err(e) => Err(KeyError::new(key, e)),
        })
    }

    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
        if key.kind != KeyKind::Kms {
            return None;
        }
        let arn = key.field("arn").unwrap_or("").to_owned();
        let mut body = serde_json::json!({
            "CiphertextBlob": key.enc(),
            "KeyId": arn,
        });
        if let Some(ctx) = context_json(key) {
            body["EncryptionContext"] = ctx;
        }
        let result = self.call(key, "Decrypt", &body).and_then(|v| {
            let text = v
                .get("Plaintext")
                .and_then(|p| p.as_str())
                .ok_or_else(|| format!("KMS Decrypt with {arn}: no Plaintext in the answer"))?;
            STANDARD
                .decode(text)
                .map(Zeroizing::new)
                .map_err(|_| format!("KMS Decrypt with {arn}: the answer is not base64"))
        });
        Some(result.map_err(|e| KeyError::new(key, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_from_arns() {
        assert_eq!(
            region_of("arn:aws:kms:us-east-1:123456789012:key/abc"),
            Some("us-east-1")
        );
        assert_eq!(
            region_of("arn:aws-cn:kms:cn-north-1:123456789012:alias/x"),
            Some("cn-north-1")
        );
        assert_eq!(
            region_of("arn:aws-us-gov:kms:us-gov-west-1:1:key/k"),
            Some("us-gov-west-1")
        );
        assert_eq!(region_of("arn:aws:kms:us-east-1:abc:key/k"), None);
        assert_eq!(region_of("arn:aws:kms:us-east-1:1:key/"), None);
        assert_eq!(region_of("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn hosts_and_errors() {
        assert_eq!(host_of("http://127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(
            host_of("https://kms.us-east-1.amazonaws.com/"),
            "kms.us-east-1.amazonaws.com"
        );
        let e = kms_error(
            400,
            br#"{"__type":"com.amazonaws.kms#DisabledException","message":"key is disabled"}"#,
        );
        assert_eq!(
            e,
            "the KMS key is disabled: DisabledException (key is disabled)"
        );
        assert_eq!(kms_error(503, b"oops"), "HTTP 503");
    }
}

//! Azure Key Vault master keys (`azure_kv`), as sops' `azkv/keysource.go` (feature `azure`).
//!
//! The data key is wrapped with RSA-OAEP-256 through the Key Vault REST API (`api-version=7.4`):
//! `POST <vault_url>/keys/<name>/<version>/wrapkey` and `…/unwrapkey`, both with
//! `{"alg": "RSA-OAEP-256", "value": <base64url>}`. `enc` is the wrapped key as base64 URL-safe
//! without padding, exactly Key Vault's `value` (sops' `RawURLEncoding`). For RSA keys wrapKey
//! and sops' encrypt operation are the same RSA-OAEP-256 transform, so the files interoperate. A
//! key given without a version is resolved once (`GET <vault_url>/keys/<name>`, the last segment
//! of `key.kid`) and the resolved version is stored, as sops does.
//!
//! Tokens for `https://vault.azure.net` come from a chain like `DefaultAzureCredential`: a
//! client secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), workload identity
//! (`AZURE_FEDERATED_TOKEN_FILE`), managed identity (App Service `IDENTITY_ENDPOINT`, else IMDS
//! unless `RSOPS_AZURE_IMDS_DISABLED=true`), then the Azure CLI. A source that is configured but
//! fails ends the chain with its error; one that is not configured or not reachable is skipped.
//! The token is fetched once per key source and kept in memory only.
//!
//! Tokens are only sent to `https://*.vault.azure.net` hosts, so a crafted file cannot collect
//! one; `RSOPS_AZURE_KEYVAULT_ENDPOINT` (tests, proxies) sends every Key Vault call to another
//! base URL instead. `RSOPS_AZURE_TIMEOUT_SECONDS` overrides the 30 s time limit.

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::keys::env::Environment;
use crate::keys::http::{
    Network, Request, Transport, form, form_value, json_error, path_segment, timeout_from_env,
};
use crate::keys::{KeyError, KeySource};
use crate::metadata::{KeyKind, MasterKey};
use crate::timestamp::Timestamp;

/// The Key Vault REST API version.
const API_VERSION: &str = "7.4";
/// The wrapping algorithm sops uses.
const ALGORITHM: &str = "RSA-OAEP-256";
/// The OAuth scope of Key Vault (v2 endpoints).
const SCOPE: &str = "https://vault.azure.net/.default";
/// The Key Vault resource (managed identity, Azure CLI).
const RESOURCE: &str = "https://vault.azure.net";
/// Azure AD's public-cloud authority.
const AUTHORITY: &str = "https://login.microsoftonline.com";
/// The instance metadata token endpoint.
const IMDS: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// The only hosts a token is sent to (without an endpoint override).
const VAULT_HOST_SUFFIX: &str = ".vault.azure.net";
/// IMDS answers at once on Azure hosts; elsewhere nothing listens, so give up quickly.
const IMDS_TIMEOUT: Duration = Duration::from_secs(2);
/// What replaces secrets that an answer happens to echo.
const REDACTED: &str = "[redacted]";

/// An Azure AD access token (held in memory, wiped on drop).
struct AccessToken(Zeroizing<String>);

/// The outcome of one credential in the chain.
enum Attempt {
    /// A token.
    Token(AccessToken),
    /// Not configured or not reachable here: why, and go on with the next credential.
    Skipped(String),
    /// Configured but failed: the chain ends with this error.
    Failed(String),
}

/// The Azure Key Vault key source.
pub struct AzureKeyVault {
    env: Box<dyn Environment>,
    http: Box<dyn Transport>,
    token: RefCell<Option<Result<AccessToken, String>>>,
}

impl AzureKeyVault {
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

    /// A non-empty, trimmed environment variable.
    fn var(&self, name: &str) -> Option<String> {
        self.env
            .var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn timeout(&self) -> Duration {
        timeout_from_env(&*self.env, "RSOPS_AZURE_TIMEOUT_SECONDS")
    }

    // -----------------------------------------------------------------------------------------
    // Tokens.

    /// `Bearer <token>`, fetching the token on first use (failures are remembered too).
    fn authorization(&self) -> Result<Zeroizing<String>, String> {
        let mut cache = self.token.borrow_mut();
        match cache.get_or_insert_with(|| self.fetch_token()) {
            Ok(token) => Ok(Zeroizing::new(format!("Bearer {}", token.0.as_str()))),
            Err(e) => Err(e.clone()),
        }
    }

    fn fetch_token(&self) -> Result<AccessToken, String> {
        type Source = fn(&AzureKeyVault) -> Attempt;
        let chain: [(&str, Source); 4] = [
            ("environment client secret", Self::client_secret),
            ("workload identity", Self::workload_identity),
            ("managed identity", Self::managed_identity),
            ("Azure CLI", Self::azure_cli),
        ];
        let mut tried = Vec::new();
        for (name, source) in chain {
            match source(self) {
                Attempt::Token(token) => return Ok(token),
                Attempt::Failed(e) => return Err(format!("cannot get an Azure AD token: {e}")),
                Attempt::Skipped(why) => tried.push(format!("{name}: {why}")),
            }
        }
        Err(format!(
            "no Azure credentials found (tried {}); set AZURE_TENANT_ID, AZURE_CLIENT_ID and \
             AZURE_CLIENT_SECRET, or run `az login`",
            tried.join("; ")
        ))
    }

    /// The variables among `names` that are unset, or `None` if all are set.
    fn missing(&self, names: &[&str]) -> Option<String> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.var(n).is_none())
            .collect();
        (!missing.is_empty()).then(|| format!("{} not set", missing.join(", ")))
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    fn token_url(&self, tenant: &str) -> Result<String, String> {
        if !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(
                "AZURE_TENANT_ID is not a tenant id or domain (expected a GUID such as \
                 00000000-0000-0000-0000-000000000000, or a name such as contoso.onmicrosoft.com)"
                    .to_owned(),
            );
        }
        let authority = self
            .var("AZURE_AUTHORITY_HOST")
            .unwrap_or_else(|| AUTHORITY.to_owned());
        if !(authority.starts_with("https://") || authority.starts_with("http://")) {
            return Err(format!(
                "AZURE_AUTHORITY_HOST must be a URL such as {AUTHORITY}, not {authority:?}"
            ));
        }
        Ok(format!(
            "{}/{tenant}/oauth2/v2.0/token",
            authority.trim_end_matches('/')
        ))
    }

    /// A client-credentials request to Azure AD's token endpoint.
    fn aad_token(
        &self,
        what: &str,
        hint: &str,
        tenant: &str,
        form: &Zeroizing<String>,
        secrets: &[&str],
    ) -> Attempt {
        let url = match self.token_url(tenant) {
            Ok(url) => url,
            Err(e) => return Attempt::Failed(e),
        };
        let response = self.http.send(&Request {
            method: "POST",
            url,
            headers: vec![
                (
                    "Content-Type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                ),
                ("Accept".to_owned(), "application/json".to_owned()),
            ],
            body: form.as_bytes().to_vec(),
            timeout: self.timeout(),
        });
        let result = match response {
            Err(e) => Err(format!("{what}: {e}")),
            Ok(r) if (200..300).contains(&r.status) => token_from(&r.body, what),
            Ok(r) => Err(format!(
                "Azure AD refused the {what}: HTTP {}{}; {hint}",
                r.status,
                oauth_detail(&r.body)
            )),
        };
        match result {
            Ok(token) => Attempt::Token(token),
            Err(e) => Attempt::Failed(redact(e, secrets)),
        }
    }

    /// (a) `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    fn client_secret(&self) -> Attempt {
        let names = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"];
        if let Some(missing) = self.missing(&names) {
            return Attempt::Skipped(missing);
        }
        let tenant = self.var("AZURE_TENANT_ID").unwrap_or_default();
        let client = self.var("AZURE_CLIENT_ID").unwrap_or_default();
        let secret = Zeroizing::new(self.var("AZURE_CLIENT_SECRET").unwrap_or_default());
        let form = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client),
            ("client_secret", &secret),
            ("scope", SCOPE),
        ]);
        let encoded = form_value(&secret);
        self.aad_token(
            &format!("client secret credential of client {client} in tenant {tenant}"),
            "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (the secret's value, \
             not its id, and not expired)",
            &tenant,
            &form,
            &[&secret, &encoded],
        )
    }

    /// (b) `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`.
    fn workload_identity(&self) -> Attempt {
        let names = [
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
        ];
        if let Some(missing) = self.missing(&names) {
            return Attempt::Skipped(missing);
        }
        let path = self.var("AZURE_FEDERATED_TOKEN_FILE").unwrap_or_default();
        let client = self.var("AZURE_CLIENT_ID").unwrap_or_default();
        let tenant = self.var("AZURE_TENANT_ID").unwrap_or_default();
        let assertion = match self.env.read_file(Path::new(&path)) {
            Ok(bytes) => Zeroizing::new(String::from_utf8_lossy(&bytes).trim().to_owned()),
            Err(e) => {
                return Attempt::Failed(format!(
                    "cannot read AZURE_FEDERATED_TOKEN_FILE ({path}): {e}"
                ));
            }
        };
        if assertion.is_empty() {
            return Attempt::Failed(format!("AZURE_FEDERATED_TOKEN_FILE ({path}) is empty"));
        }
        let form = form(&[
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
            ("client_id", &client),
            ("grant_type", "client_credentials"),
            ("scope", SCOPE),
        ]);
        self.aad_token(
            &format!("workload identity of client {client} in tenant {tenant}"),
            "check the federated credential of the app registration (issuer, subject) and \
             AZURE_CLIENT_ID",
            &tenant,
            &form,
            &[&assertion],
        )
    }

    /// (c) App Service (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`), else IMDS.
    fn managed_identity(&self) -> Attempt {
        let client_query = self
            .var("AZURE_CLIENT_ID")
            .map(|id| format!("&client_id={}", form_value(&id).as_str()))
            .unwrap_or_default();
        let resource = form_value(RESOURCE);
        if let (Some(endpoint), Some(header)) =
            (self.var("IDENTITY_ENDPOINT"), self.var("IDENTITY_HEADER"))
        {
            let header = Zeroizing::new(header);
            let what = format!("managed identity endpoint {endpoint}");
            let response = self.http.send(&Request {
                method: "GET",
                url: format!(
                    "{endpoint}?api-version=2019-08-01&resource={}{client_query}",
                    resource.as_str()
                ),
                headers: vec![("X-IDENTITY-HEADER".to_owned(), header.to_string())],
                body: Vec::new(),
                timeout: self.timeout(),
            });
            let result = match response {
                Err(e) => Err(e),
                Ok(r) if (200..300).contains(&r.status) => token_from(&r.body, &what),
                Ok(r) => Err(format!(
                    "{what} refused the request: HTTP {}{}; check that the app has a managed \
                     identity (and AZURE_CLIENT_ID for a user-assigned one)",
                    r.status,
                    oauth_detail(&r.body)
                )),
            };
            return match result {
                Ok(token) => Attempt::Token(token),
                Err(e) => Attempt::Failed(redact(e, &[&header])),
            };
        }
        let disabled = self
            .var("RSOPS_AZURE_IMDS_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        if disabled {
            return Attempt::Skipped("IMDS disabled by RSOPS_AZURE_IMDS_DISABLED".to_owned());
        }
        let response = self.http.send(&Request {
            method: "GET",
            url: format!(
                "{IMDS}?api-version=2018-02-01&resource={}{client_query}",
                resource.as_str()
            ),
            headers: vec![("Metadata".to_owned(), "true".to_owned())],
            body: Vec::new(),
            timeout: IMDS_TIMEOUT.min(self.timeout()),
        });
        match response {
            Err(e) => Attempt::Skipped(format!("IMDS not reachable ({e})")),
            Ok(r) if (200..300).contains(&r.status) => {
                match token_from(&r.body, "the IMDS token answer") {
                    Ok(token) => Attempt::Token(token),
                    Err(e) => Attempt::Failed(e),
                }
            }
            // IMDS answers 400 when the machine has no (such) identity.
            Ok(r) if matches!(r.status, 400 | 403 | 404) => Attempt::Skipped(format!(
                "no managed identity on this machine (IMDS: HTTP {}{})",
                r.status,
                oauth_detail(&r.body)
            )),
            Ok(r) => Attempt::Failed(format!(
                "the managed identity endpoint (IMDS) failed: HTTP {}{}",
                r.status,
                oauth_detail(&r.body)
            )),
        }
    }

    /// (d) `az account get-access-token`.
    fn azure_cli(&self) -> Attempt {
        let argv: Vec<String> = [
            "az",
            "account",
            "get-access-token",
            "--resource",
            RESOURCE,
            "-o",
            "json",
        ]
        .map(str::to_owned)
        .to_vec();
        match self.env.run(&argv) {
            Ok(out) => match token_from(&out, "the output of `az account get-access-token`") {
                Ok(token) => Attempt::Token(token),
                Err(e) => Attempt::Failed(e),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Attempt::Skipped("az is not installed".to_owned())
            }
            Err(e) => Attempt::Skipped(format!(
                "`az account get-access-token` failed ({e}); run `az login`"
            )),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Key Vault.

    /// The base URL for Key Vault calls and the key name, checked.
    fn base<'k>(&self, key: &'k MasterKey) -> Result<(String, &'k str), String> {
        let vault_url = key
            .field("vault_url")
            .unwrap_or("")
            .trim()
            .trim_end_matches('/');
        let name = key.field("name").unwrap_or("").trim();
        if vault_url.is_empty() || name.is_empty() {
            return Err("the azure_kv entry lacks vault_url or name".to_owned());
        }
        if let Some(endpoint) = self.var("RSOPS_AZURE_KEYVAULT_ENDPOINT") {
            if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
                return Err(format!(
                    "RSOPS_AZURE_KEYVAULT_ENDPOINT must be a URL such as http://127.0.0.1:8080, \
                     not {endpoint:?}"
                ));
            }
            return Ok((endpoint.trim_end_matches('/').to_owned(), name));
        }
        let host = vault_url
            .strip_prefix("https://")
            .map(|rest| rest.split(['/', ':']).next().unwrap_or(""))
            .unwrap_or("");
        let label = host.strip_suffix(VAULT_HOST_SUFFIX).unwrap_or("");
        if label.is_empty() || label.contains('.') {
            return Err(format!(
                "vault_url {vault_url} is not an Azure Key Vault URL \
                 (https://<vault>{VAULT_HOST_SUFFIX}); rsops only sends Azure AD tokens to Key \
                 Vault hosts (set RSOPS_AZURE_KEYVAULT_ENDPOINT to use a proxy)"
            ));
        }
        Ok((vault_url.to_owned(), name))
    }

    /// One Key Vault call; the answer body of a success.
    fn call(
        &self,
        key: &MasterKey,
        op: &str,
        path: &str,
        body: Option<&Zeroizing<String>>,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        let (base, name) = self.base(key)?;
        let url = format!(
            "{base}/keys/{}{path}?api-version={API_VERSION}",
            path_segment(name)
        );
        let authorization = self.authorization()?;
        let mut headers = vec![
            ("Authorization".to_owned(), authorization.to_string()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ];
        if body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        let token = authorization.trim_start_matches("Bearer ");
        let response = self
            .http
            .send(&Request {
                method: if body.is_some() { "POST" } else { "GET" },
                url,
                headers,
                body: body.map(|b| b.as_bytes().to_vec()).unwrap_or_default(),
                timeout: self.timeout(),
            })
            .map_err(|e| redact(format!("Azure Key Vault {op}: {e}"), &[token]))?;
        let answer = response.body;
        if !(200..300).contains(&response.status) {
            return Err(redact(vault_error(op, response.status, &answer), &[token]));
        }
        Ok(answer)
    }

    /// The key's version, resolved through `GET /keys/<name>` when the entry has none.
    fn version(&self, key: &MasterKey) -> Result<String, String> {
        if let Some(v) = key
            .field("version")
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return Ok(v.to_owned());
        }
        let answer = self.call(key, "get key", "", None)?;
        let bundle: KeyBundle = serde_json::from_slice(&answer)
            .map_err(|e| json_error("the Key Vault get key answer", &e))?;
        let kid = bundle.key.and_then(|k| k.kid).unwrap_or_default();
        let version = kid.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let name = key.field("name").unwrap_or("").trim();
        if version.is_empty() || version == name || !kid.contains("/keys/") {
            return Err(format!(
                "the Key Vault get key answer has no usable key.kid ({kid:?}); give the version \
                 in the URL (https://<vault>/keys/<name>/<version>)"
            ));
        }
        Ok(version.to_owned())
    }

    /// wrapKey / unwrapKey of `value` (base64url), returning the result's `value`.
    fn operation(
        &self,
        key: &MasterKey,
        version: &str,
        op: &str,
        value: &str,
    ) -> Result<Zeroizing<String>, String> {
        let body = Zeroizing::new(format!(r#"{{"alg":"{ALGORITHM}","value":"{value}"}}"#));
        let path = format!("/{}/{}", path_segment(version), op.to_ascii_lowercase());
        let answer = self.call(key, op, &path, Some(&body))?;
        let mut result: OperationResult = serde_json::from_slice(&answer)
            .map_err(|e| json_error(&format!("the Key Vault {op} answer"), &e))?;
        match result.value.take().filter(|v| !v.is_empty()) {
            Some(v) if is_base64url(&v) => Ok(Zeroizing::new(v)),
            Some(mut v) => {
                v.zeroize();
                Err(format!(
                    "the Key Vault {op} answer's value is not base64url"
                ))
            }
            None => Err(format!("the Key Vault {op} answer has no value")),
        }
    }

    fn wrap_key(&self, key: &MasterKey, secret: &[u8]) -> Result<MasterKey, String> {
        let version = self.version(key)?;
        let value = Zeroizing::new(URL_SAFE_NO_PAD.encode(secret));
        let enc = self.operation(key, &version, "wrapKey", &value)?;
        let f = |n: &str| key.field(n).unwrap_or("").trim().to_owned();
        let created = Timestamp::now_utc().to_rfc3339();
        Ok(MasterKey::new(
            KeyKind::AzureKv,
            &[
                ("vault_url", f("vault_url").trim_end_matches('/')),
                ("name", &f("name")),
                ("version", &version),
                ("created_at", &created),
                ("enc", enc.trim_end_matches('=')),
            ],
        ))
    }

    fn unwrap_key(&self, key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, String> {
        let enc = key.enc().trim();
        if enc.is_empty() {
            return Err("the azure_kv entry has no enc".to_owned());
        }
        if !is_base64url(enc) {
            return Err(
                "the azure_kv enc is not base64url (the file may be corrupt or edited)".to_owned(),
            );
        }
        let version = self.version(key)?;
        let plain = self.operation(key, &version, "unwrapKey", enc.trim_end_matches('='))?;
        URL_SAFE_NO_PAD
            .decode(plain.trim_end_matches('='))
            .map(Zeroizing::new)
            .map_err(|_| "the Key Vault unwrapKey answer's value is not base64url".to_owned())
    }
}

impl KeySource for AzureKeyVault {
    fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
        (key.kind == KeyKind::AzureKv).then(|| {
            self.wrap_key(key, secret)
                .map_err(|e| KeyError::new(key, e))
        })
    }

    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
        (key.kind == KeyKind::AzureKv)
            .then(|| self.unwrap_key(key).map_err(|e| KeyError::new(key, e)))
    }
}

// ---------------------------------------------------------------------------------------------
// JSON answers (wiped on drop; parse errors never quote the input).

/// A token answer: `access_token` (Azure AD, managed identity) or `accessToken` (Azure CLI).
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct TokenAnswer {
    access_token: Option<String>,
    #[serde(rename = "accessToken")]
    access_token_cli: Option<String>,
}

/// wrapKey / unwrapKey answer (`kid` is not needed).
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct OperationResult {
    value: Option<String>,
}

/// The `GET /keys/<name>` answer (only `key.kid`).
#[derive(Deserialize)]
struct KeyBundle {
    key: Option<JsonWebKey>,
}

#[derive(Deserialize)]
struct JsonWebKey {
    kid: Option<String>,
}

fn token_from(body: &[u8], what: &str) -> Result<AccessToken, String> {
    let mut answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| json_error(what, &e))?;
    answer
        .access_token
        .take()
        .or_else(|| answer.access_token_cli.take())
        .filter(|t| !t.trim().is_empty())
        .map(|t| AccessToken(Zeroizing::new(t)))
        .ok_or_else(|| format!("{what} has no access token"))
}

/// The first line of an error text, at most 300 characters.
fn short(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(300)
        .collect()
}

/// `, <error>: <description>` from an OAuth error answer (`{"error", "error_description"}`,
/// or App Service's `{"message"}`), or nothing.
fn oauth_detail(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let text = |name: &str| v.get(name).and_then(|x| x.as_str()).map(short);
    let code =
        text("error").or_else(|| v.pointer("/error/code").and_then(|x| x.as_str()).map(short));
    let message = text("error_description")
        .or_else(|| text("message"))
        .or_else(|| {
            v.pointer("/error/message")
                .and_then(|x| x.as_str())
                .map(short)
        });
    match (code, message) {
        (Some(c), Some(m)) => format!(", {c}: {m}"),
        (Some(c), None) => format!(", {c}"),
        (None, Some(m)) => format!(", {m}"),
        (None, None) => String::new(),
    }
}

/// A Key Vault failure (`{"error": {"code", "message", "innererror": {"code"}}}`) explained.
fn vault_error(op: &str, status: u16, body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(short);
    let code = text("/error/code");
    let inner = text("/error/innererror/code");
    let message = text("/error/message");
    let disabled = [&code, &inner]
        .iter()
        .any(|c| c.as_deref() == Some("KeyDisabled"))
        || message
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("disabled key"));
    let mut detail = format!("HTTP {status}");
    match (&code, &inner) {
        (Some(c), Some(i)) if c != i => detail.push_str(&format!(", {c} ({i})")),
        (Some(c), _) => detail.push_str(&format!(", {c}")),
        (None, Some(i)) => detail.push_str(&format!(", {i}")),
        (None, None) => {}
    }
    if let Some(m) = &message {
        detail.push_str(&format!(": {m}"));
    }
    let (what, hint) = if disabled {
        (
            "the key is disabled",
            "enable the key (or this version) in the vault, or encrypt with another key",
        )
    } else {
        match status {
            401 => (
                "Key Vault did not accept the access token",
                "check that the credential belongs to the vault's tenant (AZURE_TENANT_ID)",
            ),
            403 => (
                "no access to the key",
                "grant the identity the wrapKey and unwrapKey key permissions in the vault's \
                 access policy, or the Key Vault Crypto User role",
            ),
            404 => (
                "no such key or key version in the vault",
                "check the vault URL, key name and version",
            ),
            400 if op == "unwrapKey" => (
                "Key Vault could not unwrap the data key",
                "the enc value may be corrupt or wrapped by another key",
            ),
            400 => (
                "Key Vault refused the request",
                "check the key's type (RSA)",
            ),
            429 => ("Key Vault is throttling requests", "retry later"),
            500..=599 => ("Key Vault is unavailable", "retry later"),
            _ => (
                "Key Vault refused the request",
                "check the key and the vault",
            ),
        }
    };
    format!("{what} (Azure Key Vault {op}: {detail}); {hint}")
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// Replaces every occurrence of the (non-trivial) `secrets` in `msg`.
fn redact(mut msg: String, secrets: &[&str]) -> String {
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        if msg.contains(*s) {
            msg = msg.replace(*s, REDACTED);
        }
    }
    msg
}

/// Whether `s` is base64url (padding tolerated).
fn is_base64url(s: &str) -> bool {
    s.trim_end_matches('=')
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::keys::env::FakeEnv;
    use crate::keys::http::Response;

    const VAULT: &str = "https://myvault.vault.azure.net";
    const VERSION: &str = "0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.test-access-token";
    const SECRET: &str = "client~secret/with+chars";
    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const CLIENT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    const AZ: [&str; 7] = [
        "az",
        "account",
        "get-access-token",
        "--resource",
        "https://vault.azure.net",
        "-o",
        "json",
    ];

    fn env_with_secret() -> FakeEnv {
        let mut env = FakeEnv::default();
        env.set("AZURE_TENANT_ID", TENANT)
            .set("AZURE_CLIENT_ID", CLIENT)
            .set("AZURE_CLIENT_SECRET", SECRET);
        env
    }

    struct Sent {
        method: &'static str,
        url: String,
        headers: Vec<(String, String)>,
        body: String,
        timeout: Duration,
    }

    impl Sent {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        fn json(&self) -> serde_json::Value {
            serde_json::from_str(&self.body).unwrap()
        }
    }

    type Handler = dyn Fn(&Sent) -> Option<(u16, String)> + Send + Sync;

    /// A fake network: Azure AD and IMDS issue [`TOKEN`]; Key Vault "wraps" by reversing the
    /// bytes. `over` answers first when it returns `Some` (status 0: unreachable); other URLs
    /// are unreachable.
    #[derive(Clone)]
    struct FakeHttp {
        sent: Arc<Mutex<Vec<Sent>>>,
        over: Arc<Handler>,
    }

    impl FakeHttp {
        fn new() -> Self {
            Self::with(|_| None)
        }
        fn with(over: impl Fn(&Sent) -> Option<(u16, String)> + Send + Sync + 'static) -> Self {
            Self {
                sent: Arc::default(),
                over: Arc::new(over),
            }
        }
        fn urls(&self) -> Vec<String> {
            self.sent
                .lock()
                .unwrap()
                .iter()
                .map(|s| s.url.clone())
                .collect()
        }
        fn count(&self, part: &str) -> usize {
            self.urls().iter().filter(|u| u.contains(part)).count()
        }
    }

    fn answer(s: &Sent) -> Option<(u16, String)> {
        if s.url.contains("/oauth2/v2.0/token") || s.url.contains("/metadata/identity/") {
            let token = format!(r#"{{"token_type":"Bearer","access_token":"{TOKEN}"}}"#);
            return Some((200, token));
        }
        if s.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Some((
                401,
                r#"{"error":{"code":"Unauthorized","message":"no"}}"#.into(),
            ));
        }
        let path = s.url.split_once("/keys/")?.1;
        let (path, query) = path.split_once('?')?;
        assert_eq!(query, "api-version=7.4");
        let kid = format!("{VAULT}/keys/sops-key/{VERSION}");
        match (s.method, path) {
            ("GET", "sops-key") => Some((200, format!(r#"{{"key":{{"kid":"{kid}"}}}}"#))),
            ("POST", p) if p.starts_with(&format!("sops-key/{VERSION}/")) => {
                let body = s.json();
                assert_eq!(body["alg"], "RSA-OAEP-256");
                let value = body["value"].as_str().unwrap();
                let mut bytes = URL_SAFE_NO_PAD.decode(value).unwrap();
                bytes.reverse();
                let out = URL_SAFE_NO_PAD.encode(bytes);
                Some((200, format!(r#"{{"kid":"{kid}","value":"{out}"}}"#)))
            }
            _ => Some((
                404,
                r#"{"error":{"code":"KeyNotFound","message":"A key with (name/id) x was not found in this key vault."}}"#.into(),
            )),
        }
    }

    impl Transport for FakeHttp {
        fn send(&self, req: &Request) -> Result<Response, String> {
            let sent = Sent {
                method: req.method,
                url: req.url.clone(),
                headers: req.headers.clone(),
                body: String::from_utf8(req.body.clone()).unwrap(),
                timeout: req.timeout,
            };
            let known = [VAULT, "https://login.microsoftonline.com/", IMDS];
            let reply = (self.over)(&sent)
                .or_else(|| {
                    known
                        .iter()
                        .any(|k| sent.url.starts_with(k))
                        .then(|| answer(&sent))
                        .flatten()
                })
                .filter(|(status, _)| *status != 0);
            let url = sent.url.clone();
            self.sent.lock().unwrap().push(sent);
            match reply {
                Some((status, body)) => Ok(Response {
                    status,
                    body: Zeroizing::new(body.into_bytes()),
                }),
                None => Err(format!("cannot reach {url}: connection refused")),
            }
        }
    }

    fn key(version: &str) -> MasterKey {
        MasterKey::new(
            KeyKind::AzureKv,
            &[
                ("vault_url", VAULT),
                ("name", "sops-key"),
                ("version", version),
            ],
        )
    }

    fn wrap(source: &AzureKeyVault, k: &MasterKey, secret: &[u8]) -> Result<MasterKey, String> {
        source.wrap(k, secret).unwrap().map_err(|e| e.reason)
    }

    fn unwrap(source: &AzureKeyVault, k: &MasterKey) -> Result<Vec<u8>, String> {
        source
            .unwrap(k)
            .unwrap()
            .map(|s| s.to_vec())
            .map_err(|e| e.reason)
    }

    #[test]
    fn resolves_the_version_and_wraps_with_base64url() {
        let http = FakeHttp::new();
        let source = AzureKeyVault::with_transport(env_with_secret(), http.clone());
        let secret: Vec<u8> = (0u8..32).map(|b| b.wrapping_mul(7) ^ 0xfb).collect();
        let wrapped = wrap(&source, &key(""), &secret).unwrap();
        let names: Vec<&str> = wrapped.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["vault_url", "name", "version", "created_at", "enc"]);
        assert_eq!(wrapped.field("vault_url"), Some(VAULT));
        assert_eq!(wrapped.field("name"), Some("sops-key"));
        assert_eq!(wrapped.field("version"), Some(VERSION));
        let mut reversed = secret.clone();
        reversed.reverse();
        assert_eq!(wrapped.enc(), URL_SAFE_NO_PAD.encode(&reversed));
        assert!(!wrapped.enc().contains('='));

        let sent = http.sent.lock().unwrap();
        assert_eq!(sent.len(), 3, "token, get key, wrapKey");
        assert_eq!(sent[1].method, "GET");
        assert_eq!(
            sent[1].url,
            format!("{VAULT}/keys/sops-key?api-version=7.4")
        );
        let w = &sent[2];
        assert_eq!(w.method, "POST");
        assert_eq!(
            w.url,
            format!("{VAULT}/keys/sops-key/{VERSION}/wrapkey?api-version=7.4")
        );
        assert_eq!(w.header("content-type"), Some("application/json"));
        assert_eq!(w.header("authorization"), Some(&*format!("Bearer {TOKEN}")));
        assert_eq!(w.timeout, crate::keys::http::DEFAULT_TIMEOUT);
        let value = w.json()["value"].as_str().unwrap().to_owned();
        assert!(!value.contains('=') && !value.contains('+') && !value.contains('/'));
        assert_eq!(URL_SAFE_NO_PAD.decode(value).unwrap(), secret);
        assert_eq!(w.json()["alg"], "RSA-OAEP-256");
    }

    #[test]
    fn unwrap_sends_the_stored_enc_and_a_token_is_fetched_once() {
        let http = FakeHttp::new();
        let source = AzureKeyVault::with_transport(env_with_secret(), http.clone());
        let secret = [0xfe_u8; 32];
        let wrapped = wrap(&source, &key(VERSION), &secret).unwrap();
        assert_eq!(wrapped.field("version"), Some(VERSION));
        assert_eq!(unwrap(&source, &wrapped).unwrap(), secret);
        assert_eq!(http.count("/oauth2/v2.0/token"), 1);
        assert_eq!(http.count("?api-version=7.4"), 2, "no GET with a version");
        let sent = http.sent.lock().unwrap();
        let u = sent.last().unwrap();
        assert_eq!(
            u.url,
            format!("{VAULT}/keys/sops-key/{VERSION}/unwrapkey?api-version=7.4")
        );
        assert_eq!(u.json()["value"], wrapped.enc());
        assert_eq!(u.json()["alg"], "RSA-OAEP-256");
    }

    #[test]
    fn client_secret_token_request_form() {
        let http = FakeHttp::with(|s| {
            s.url
                .starts_with("https://login.example.test/")
                .then(|| (200, format!(r#"{{"access_token":"{TOKEN}"}}"#)))
        });
        let env = env_with_secret()
            .set("AZURE_AUTHORITY_HOST", "https://login.example.test/")
            .set("RSOPS_AZURE_TIMEOUT_SECONDS", "7")
            .take();
        let source = AzureKeyVault::with_transport(env, http.clone());
        wrap(&source, &key(VERSION), &[1; 32]).unwrap();
        let sent = http.sent.lock().unwrap();
        let t = &sent[0];
        assert_eq!(t.method, "POST");
        assert_eq!(
            t.url,
            format!("https://login.example.test/{TENANT}/oauth2/v2.0/token")
        );
        assert_eq!(
            t.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            t.body,
            format!(
                "grant_type=client_credentials&client_id={CLIENT}\
                 &client_secret=client~secret%2Fwith%2Bchars\
                 &scope=https%3A%2F%2Fvault.azure.net%2F.default"
            )
        );
        assert_eq!(t.timeout, Duration::from_secs(7));
        assert_eq!(sent[1].timeout, Duration::from_secs(7));
    }

    #[test]
    fn workload_identity_sends_the_federated_token() {
        let http = FakeHttp::new();
        let mut env = FakeEnv::default()
            .set("AZURE_TENANT_ID", TENANT)
            .set("AZURE_CLIENT_ID", CLIENT)
            .set("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token")
            .take();
        env.file("/var/run/token", "federated.jwt.value\n");
        let source = AzureKeyVault::with_transport(env, http.clone());
        wrap(&source, &key(VERSION), &[2; 32]).unwrap();
        let sent = http.sent.lock().unwrap();
        assert_eq!(
            sent[0].url,
            format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
        );
        assert_eq!(
            sent[0].body,
            format!(
                "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
                 &client_assertion=federated.jwt.value&client_id={CLIENT}\
                 &grant_type=client_credentials&scope=https%3A%2F%2Fvault.azure.net%2F.default"
            )
        );
    }

    #[test]
    fn managed_identity_app_service_and_imds() {
        let http = FakeHttp::with(|s| {
            s.url
                .starts_with("http://127.0.0.1:41234/msi/token")
                .then(|| {
                    (
                        200,
                        format!(r#"{{"access_token":"{TOKEN}","expires_on":"1"}}"#),
                    )
                })
        });
        let env = FakeEnv::default()
            .set("IDENTITY_ENDPOINT", "http://127.0.0.1:41234/msi/token")
            .set("IDENTITY_HEADER", "identity-header-value")
            .take();
        let source = AzureKeyVault::with_transport(env, http.clone());
        wrap(&source, &key(VERSION), &[3; 32]).unwrap();
        {
            let sent = http.sent.lock().unwrap();
            assert_eq!(sent[0].method, "GET");
            assert_eq!(
                sent[0].url,
                "http://127.0.0.1:41234/msi/token?api-version=2019-08-01\
                 &resource=https%3A%2F%2Fvault.azure.net"
            );
            assert_eq!(
                sent[0].header("x-identity-header"),
                Some("identity-header-value")
            );
        }

        // IMDS, with a user-assigned identity's client id and a short time limit.
        let http = FakeHttp::new();
        let env = FakeEnv::default().set("AZURE_CLIENT_ID", CLIENT).take();
        let source = AzureKeyVault::with_transport(env, http.clone());
        wrap(&source, &key(VERSION), &[4; 32]).unwrap();
        let sent = http.sent.lock().unwrap();
        assert_eq!(
            sent[0].url,
            format!(
                "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01\
                 &resource=https%3A%2F%2Fvault.azure.net&client_id={CLIENT}"
            )
        );
        assert_eq!(sent[0].header("metadata"), Some("true"));
        assert!(sent[0].timeout <= Duration::from_secs(2));
    }

    #[test]
    fn imds_disabled_or_unavailable_falls_back_to_the_azure_cli() {
        let no_identity = r#"{"error":"invalid_request","error_description":"Identity not found"}"#;
        for (disabled, imds) in [(true, None), (false, Some(0)), (false, Some(400))] {
            let http = FakeHttp::with(move |s| {
                let status = imds?;
                s.url
                    .contains("169.254.169.254")
                    .then(|| (status, no_identity.to_owned()))
            });
            let mut env = FakeEnv::default();
            if disabled {
                env.set("RSOPS_AZURE_IMDS_DISABLED", "true");
            }
            env.output(
                &AZ,
                format!(r#"{{"accessToken":"{TOKEN}","tokenType":"Bearer"}}"#),
            );
            let ran = Rc::clone(&env.ran);
            let source = AzureKeyVault::with_transport(env, http.clone());
            let wrapped = wrap(&source, &key(VERSION), &[5; 32]).unwrap();
            assert_eq!(unwrap(&source, &wrapped).unwrap(), [5; 32]);
            assert_eq!(ran.borrow().len(), 1, "az runs once");
            assert_eq!(http.count("169.254.169.254"), usize::from(!disabled));
        }
    }

    #[test]
    fn no_credentials_lists_what_was_tried() {
        let http = FakeHttp::new();
        let env = FakeEnv::default()
            .set("AZURE_TENANT_ID", TENANT)
            .set("RSOPS_AZURE_IMDS_DISABLED", "true")
            .take();
        let source = AzureKeyVault::with_transport(env, http.clone());
        let err = wrap(&source, &key(""), &[6; 32]).unwrap_err();
        assert!(err.starts_with("no Azure credentials found"), "{err}");
        assert!(
            err.contains("environment client secret: AZURE_CLIENT_ID, AZURE_CLIENT_SECRET not set"),
            "{err}"
        );
        assert!(
            err.contains("workload identity: AZURE_FEDERATED_TOKEN_FILE"),
            "{err}"
        );
        assert!(err.contains("IMDS disabled"), "{err}");
        assert!(err.contains("Azure CLI: az is not installed"), "{err}");
        assert!(err.contains("or run `az login`"), "{err}");
        assert!(http.urls().is_empty());
        // The failure is remembered: the chain is not walked again.
        let again = unwrap(&source, &wrap_enc("AAAA")).unwrap_err();
        assert_eq!(again, err);
    }

    #[test]
    fn a_wrong_client_secret_ends_the_chain_without_the_secret() {
        let http = FakeHttp::with(|s| {
            s.url.contains("/oauth2/v2.0/token").then(|| {
                (
                    401,
                    format!(
                        r#"{{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided ({SECRET}).\r\nTrace ID: 1"}}"#
                    ),
                )
            })
        });
        let mut env = env_with_secret();
        env.output(&AZ, format!(r#"{{"accessToken":"{TOKEN}"}}"#));
        let ran = Rc::clone(&env.ran);
        let source = AzureKeyVault::with_transport(env, http.clone());
        let err = unwrap(&source, &wrap_enc("AAAA")).unwrap_err();
        assert!(
            err.contains("Azure AD refused the client secret credential"),
            "{err}"
        );
        assert!(
            err.contains("HTTP 401, invalid_client: AADSTS7000215"),
            "{err}"
        );
        assert!(err.contains("check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"));
        assert!(!err.contains(SECRET) && !err.contains("Trace ID"), "{err}");
        assert_eq!(http.count("/oauth2/v2.0/token"), 1);
        assert_eq!(
            ran.borrow().len(),
            0,
            "no fallback after a configured credential failed"
        );
    }

    fn wrap_enc(enc: &str) -> MasterKey {
        let mut k = key(VERSION);
        k.set_field("enc", enc.to_owned());
        k
    }

    #[test]
    fn forbidden_disabled_and_missing_keys_are_explained() {
        let http = FakeHttp::with(|s| {
            if s.url.contains("/keys/locked/") {
                Some((
                    403,
                    r#"{"error":{"code":"Forbidden","message":"The user, group or application does not have keys wrapKey permission on key vault 'myvault'."}}"#.into(),
                ))
            } else if s.url.contains("/keys/off/") {
                Some((
                    403,
                    r#"{"error":{"code":"Forbidden","message":"Operation decrypt is not allowed on a disabled key.","innererror":{"code":"KeyDisabled"}}}"#.into(),
                ))
            } else {
                None
            }
        });
        let source = AzureKeyVault::with_transport(env_with_secret(), http.clone());
        let named = |name: &str| {
            let mut k = wrap_enc("AAAA");
            k.set_field("name", name.to_owned());
            k
        };
        let err = wrap(&source, &named("locked"), &[7; 32]).unwrap_err();
        assert!(
            err.starts_with(
                "no access to the key (Azure Key Vault wrapKey: HTTP 403, Forbidden: The user"
            ),
            "{err}"
        );
        assert!(
            err.contains("wrapKey and unwrapKey key permissions"),
            "{err}"
        );
        assert!(err.contains("Key Vault Crypto User role"), "{err}");

        let err = unwrap(&source, &named("off")).unwrap_err();
        assert!(err.starts_with("the key is disabled (Azure Key Vault unwrapKey: HTTP 403, Forbidden (KeyDisabled): Operation decrypt is not allowed on a disabled key.)"), "{err}");

        let err = unwrap(&source, &named("gone")).unwrap_err();
        assert!(
            err.starts_with("no such key or key version in the vault"),
            "{err}"
        );
        assert!(err.contains("KeyNotFound"), "{err}");
        for s in http.sent.lock().unwrap().iter() {
            assert!(!s.url.contains(TOKEN));
        }
    }

    #[test]
    fn no_token_in_any_error() {
        // A server that echoes the Authorization header in its error message.
        let http = FakeHttp::with(|s| {
            s.url.starts_with(VAULT).then(|| {
                let auth = s.header("authorization").unwrap_or("");
                (
                    401,
                    format!(r#"{{"error":{{"code":"Unauthorized","message":"bad {auth}"}}}}"#),
                )
            })
        });
        let source = AzureKeyVault::with_transport(env_with_secret(), http.clone());
        let err = unwrap(&source, &wrap_enc("AAAA")).unwrap_err();
        assert!(
            err.starts_with("Key Vault did not accept the access token"),
            "{err}"
        );
        assert!(err.contains("bad Bearer [redacted]"), "{err}");
        assert_eq!(http.count(VAULT), 1);
        assert!(
            !err.contains(TOKEN) && !err.contains("test-access-token"),
            "{err}"
        );

        // Transport failures name the URL only.
        let source = AzureKeyVault::with_transport(
            env_with_secret()
                .set("RSOPS_AZURE_KEYVAULT_ENDPOINT", "http://127.0.0.1:9")
                .take(),
            FakeHttp::new(),
        );
        let err = unwrap(&source, &wrap_enc("AAAA")).unwrap_err();
        assert_eq!(
            err,
            format!(
                "Azure Key Vault unwrapKey: cannot reach \
                 http://127.0.0.1:9/keys/sops-key/{VERSION}/unwrapkey?api-version=7.4: \
                 connection refused"
            )
        );
        assert!(!err.contains(TOKEN) && !err.contains(SECRET));
    }

    #[test]
    fn endpoint_override_and_vault_host_check() {
        let http = FakeHttp::with(|s| {
            let rest = s.url.strip_prefix("http://127.0.0.1:8200/proxy")?;
            answer(&Sent {
                method: s.method,
                url: format!("{VAULT}{rest}"),
                headers: s.headers.clone(),
                body: s.body.clone(),
                timeout: s.timeout,
            })
        });
        let env = env_with_secret()
            .set(
                "RSOPS_AZURE_KEYVAULT_ENDPOINT",
                "http://127.0.0.1:8200/proxy/",
            )
            .take();
        let source = AzureKeyVault::with_transport(env, http.clone());
        let wrapped = wrap(&source, &key(""), &[8; 32]).unwrap();
        assert_eq!(
            wrapped.field("vault_url"),
            Some(VAULT),
            "the stored URL is kept"
        );
        assert_eq!(unwrap(&source, &wrapped).unwrap(), [8; 32]);
        assert_eq!(http.count("http://127.0.0.1:8200/proxy/keys/sops-key"), 3);

        // Without an override, a token only goes to Key Vault hosts.
        for url in [
            "https://evil.example.com",
            "http://myvault.vault.azure.net",
            "https://a.b.vault.azure.net",
            "https://vault.azure.net.evil.example",
        ] {
            let http = FakeHttp::new();
            let source = AzureKeyVault::with_transport(env_with_secret(), http.clone());
            let mut k = key(VERSION);
            k.set_field("vault_url", url.to_owned());
            let err = wrap(&source, &k, &[9; 32]).unwrap_err();
            assert!(
                err.contains("is not an Azure Key Vault URL"),
                "{url}: {err}"
            );
            assert!(http.urls().is_empty(), "{url}");
        }
    }

    #[test]
    fn other_kinds_and_bad_entries() {
        let source = AzureKeyVault::with_transport(env_with_secret(), FakeHttp::new());
        let age = MasterKey::new(KeyKind::Age, &[("recipient", "age1x")]);
        assert!(source.wrap(&age, &[0; 32]).is_none());
        assert!(source.unwrap(&age).is_none());
        assert_eq!(
            unwrap(&source, &key(VERSION)).unwrap_err(),
            "the azure_kv entry has no enc"
        );
        assert!(
            unwrap(&source, &wrap_enc("a+b/"))
                .unwrap_err()
                .contains("not base64url")
        );
        let mut nameless = wrap_enc("AAAA");
        nameless.set_field("name", String::new());
        assert!(
            unwrap(&source, &nameless)
                .unwrap_err()
                .contains("lacks vault_url or name")
        );
    }
}

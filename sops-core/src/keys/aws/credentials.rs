//! AWS credentials, resolved like aws-sdk-go-v2's default chain (which sops uses), through an
//! injectable [`Environment`] and [`Transport`] so tests stay hermetic.
//!
//! The order, as `config.LoadDefaultConfig` has it:
//!
//! 1. a named profile (the key's `aws_profile`, else `AWS_PROFILE`) from the shared files;
//! 2. otherwise `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
//! 3. otherwise `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (STS
//!    `AssumeRoleWithWebIdentity`);
//! 4. otherwise the `default` profile, if it has credential settings;
//! 5. otherwise ECS/EKS container credentials (`AWS_CONTAINER_CREDENTIALS_*`);
//! 6. otherwise EC2 instance metadata (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
//!
//! A profile may hold static keys, `role_arn` with `source_profile` or `credential_source`
//! (STS `AssumeRole`), `role_arn` with `web_identity_token_file`, `credential_process`, or
//! AWS IAM Identity Center (SSO) settings, read from the token cache `aws sso login` writes.
//! Secret values never appear in errors; every buffer that held one is wiped.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha1::{Digest, Sha1};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::sigv4::{self, Signable};
use crate::keys::env::Environment;
use crate::keys::http::{Request, Transport, form_value, json_error, path_segment};

/// The instance metadata service (IPv4).
const IMDS_ENDPOINT: &str = "http://169.254.169.254";
/// The instance metadata service (IPv6, `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`).
const IMDS_IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";
/// The ECS task metadata endpoint that relative URIs hang off.
const ECS_ENDPOINT: &str = "http://169.254.170.2";
/// Hosts a plain-`http` `AWS_CONTAINER_CREDENTIALS_FULL_URI` may name besides loopback
/// (ECS, EKS Pod Identity over IPv4 and IPv6).
const CONTAINER_HOSTS: [&str; 3] = ["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"];

/// The session token request: short, so a machine without IMDS gives up quickly.
const IMDS_TOKEN_TIMEOUT: Duration = Duration::from_secs(1);
/// The metadata reads once the service answered.
const IMDS_TIMEOUT: Duration = Duration::from_secs(2);
/// The container credentials endpoint.
const ECS_TIMEOUT: Duration = Duration::from_secs(5);
/// STS and the SSO portal.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(30);

/// The STS API version.
const STS_VERSION: &str = "2011-06-15";
/// The STS request body type.
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// A set of AWS credentials. Never printed; wiped on drop.
pub struct Credentials {
    /// The access key id (public).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Zeroizing<String>,
    /// The session token of temporary credentials.
    pub session_token: Option<Zeroizing<String>>,
}

impl Credentials {
    /// Credentials from their parts.
    pub fn new(id: &str, secret: &str, token: Option<&str>) -> Self {
        Self {
            access_key_id: id.to_owned(),
            secret_access_key: Zeroizing::new(secret.to_owned()),
            session_token: token.map(|t| Zeroizing::new(t.to_owned())),
        }
    }

    /// Credentials from owned parts (no copies of the secrets are left behind).
    fn owned(id: String, secret: Zeroizing<String>, token: Option<Zeroizing<String>>) -> Self {
        Self {
            access_key_id: id,
            secret_access_key: secret,
            session_token: token.filter(|t| !t.is_empty()),
        }
    }
}

/// Resolves credentials for `profile` (the key's `aws_profile`, `None` for the default
/// chain). Errors say what was tried, never secret material.
pub fn resolve(
    env: &dyn Environment,
    http: &dyn Transport,
    profile: Option<&str>,
) -> Result<Credentials, String> {
    resolve_in_region(env, http, profile, None)
}

/// [`resolve`], with the region STS calls of the chain use fixed to `region` (sops passes the
/// KMS key's region to the SDK, which then wins over `AWS_REGION` and the profile's `region`).
pub fn resolve_in_region(
    env: &dyn Environment,
    http: &dyn Transport,
    profile: Option<&str>,
    region: Option<&str>,
) -> Result<Credentials, String> {
    let explicit = profile
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .or_else(|| var(env, "AWS_PROFILE"));
    let chain = Chain {
        env,
        http,
        region,
        region_profile: explicit.clone().unwrap_or_else(|| "default".to_owned()),
        files: OnceCell::new(),
    };
    let mut tried = Vec::new();
    if let Some(name) = explicit {
        let files = chain.files()?;
        if !files.profiles.contains_key(&name) {
            return Err(format!(
                "AWS profile {name:?} not found (read {}); hint: check the name in aws_profile or \
                 AWS_PROFILE, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at the files \
                 that define it",
                files.describe()
            ));
        }
        if let Some(creds) = chain.profile_credentials(&name, &mut Vec::new())? {
            return Ok(creds);
        }
        tried.push(format!("profile {name:?} (it has no credential settings)"));
        return chain.fallback(&mut tried);
    }
    if let Some(creds) = chain.env_static() {
        return Ok(creds);
    }
    tried.push(env_static_note(env));
    if let Some(creds) = chain.env_web_identity() {
        return creds;
    }
    tried.push("web identity (AWS_WEB_IDENTITY_TOKEN_FILE is not set)".to_owned());
    let files = chain.files()?;
    if files.profiles.contains_key("default") {
        if let Some(creds) = chain.profile_credentials("default", &mut Vec::new())? {
            return Ok(creds);
        }
        tried.push(format!(
            "profile \"default\" (no credential settings in {})",
            files.describe()
        ));
    } else {
        tried.push(format!("profile \"default\" (not in {})", files.describe()));
    }
    chain.fallback(&mut tried)
}

/// Assumes `role_arn` with `base` credentials through STS (`AssumeRole`), as sops does for a
/// key's `role`.
pub fn assume_role(
    env: &dyn Environment,
    http: &dyn Transport,
    base: &Credentials,
    role_arn: &str,
    session_name: &str,
) -> Result<Credentials, String> {
    assume_role_in_region(env, http, base, role_arn, session_name, None)
}

/// [`assume_role`] against the STS endpoint of `region` (sops uses the KMS key's region);
/// `None` takes `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
pub fn assume_role_in_region(
    env: &dyn Environment,
    http: &dyn Transport,
    base: &Credentials,
    role_arn: &str,
    session_name: &str,
    region: Option<&str>,
) -> Result<Credentials, String> {
    let region = region_from(env, region, None);
    sts_call(
        env,
        http,
        &region,
        "AssumeRole",
        role_arn,
        &[("RoleArn", role_arn), ("RoleSessionName", session_name)],
        Some(base),
    )
}

/// The region STS calls use for `profile` (`None`: `AWS_PROFILE`, else `default`):
/// `AWS_REGION`, else the profile's `region`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
pub fn sts_region(env: &dyn Environment, profile: Option<&str>) -> String {
    let name = profile
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .or_else(|| var(env, "AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let files = SharedFiles::load(env).ok();
    let profile_region = files
        .as_ref()
        .and_then(|f| f.profiles.get(&name))
        .and_then(|p| p.get("region"));
    region_from(env, None, profile_region)
}

// ---------------------------------------------------------------------------------------------
// The chain.

/// One resolution: the inputs, and the shared files once read.
struct Chain<'a> {
    env: &'a dyn Environment,
    http: &'a dyn Transport,
    /// The caller's region, which wins over every other source.
    region: Option<&'a str>,
    /// The profile whose `region` STS calls use (the top-level one).
    region_profile: String,
    files: OnceCell<Result<SharedFiles, String>>,
}

impl Chain<'_> {
    fn var(&self, name: &str) -> Option<String> {
        var(self.env, name)
    }

    fn files(&self) -> Result<&SharedFiles, String> {
        self.files
            .get_or_init(|| SharedFiles::load(self.env))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn sts_region(&self) -> String {
        let profile_region = self
            .files()
            .ok()
            .and_then(|f| f.profiles.get(&self.region_profile))
            .and_then(|p| p.get("region"));
        region_from(self.env, self.region, profile_region)
    }

    /// `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (or the legacy `AWS_ACCESS_KEY` +
    /// `AWS_SECRET_KEY`), with `AWS_SESSION_TOKEN`. Both keys or nothing.
    fn env_static(&self) -> Option<Credentials> {
        let id = self
            .var("AWS_ACCESS_KEY_ID")
            .or_else(|| self.var("AWS_ACCESS_KEY"))?;
        let secret = Zeroizing::new(
            self.var("AWS_SECRET_ACCESS_KEY")
                .or_else(|| self.var("AWS_SECRET_KEY"))?,
        );
        let token = self.var("AWS_SESSION_TOKEN").map(Zeroizing::new);
        Some(Credentials::owned(id, secret, token))
    }

    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`; `None` when the file is not set.
    fn env_web_identity(&self) -> Option<Result<Credentials, String>> {
        let file = self.var("AWS_WEB_IDENTITY_TOKEN_FILE")?;
        let Some(role_arn) = self.var("AWS_ROLE_ARN") else {
            return Some(Err(
                "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not; hint: set \
                 AWS_ROLE_ARN to the role to assume with the web identity token"
                    .to_owned(),
            ));
        };
        let session = self.var("AWS_ROLE_SESSION_NAME");
        Some(self.web_identity(&role_arn, Path::new(&file), session.as_deref()))
    }

    /// Credentials from profile `name`; `None` when it has no credential settings.
    /// `visited` holds the profiles that led here through `source_profile`.
    fn profile_credentials(
        &self,
        name: &str,
        visited: &mut Vec<String>,
    ) -> Result<Option<Credentials>, String> {
        let files = self.files()?;
        let profile = files.profiles.get(name).ok_or_else(|| {
            format!(
                "AWS profile {name:?} not found (read {}); hint: check the name",
                files.describe()
            )
        })?;
        if let Some(e) = &profile.error {
            return Err(e.clone());
        }
        let top = visited.is_empty();
        if visited.iter().any(|v| v == name) {
            // Reached again through `source_profile`: as in the SDK, the profile then only
            // provides its own credentials (`role_arn = X` + `source_profile = itself` assumes X
            // with the profile's static keys).
            if let Some(creds) = profile.static_credentials() {
                return Ok(Some(creds));
            }
            if profile.has_sso() {
                return self.sso(name, profile).map(Some);
            }
            visited.push(name.to_owned());
            return Err(format!(
                "AWS profile {name:?}: source_profile loop ({}) and {name:?} has no static keys to \
                 start from; hint: end the chain with a profile that has aws_access_key_id and \
                 aws_secret_access_key, credential_source, credential_process or SSO settings",
                visited.join(" -> ")
            ));
        }
        let role_arn = profile.get("role_arn");
        let source_profile = profile.get("source_profile");
        let credential_source = profile.get("credential_source");
        let credential_process = profile.get("credential_process");
        let token_file = profile.get("web_identity_token_file");
        let kinds = [
            source_profile,
            credential_source,
            credential_process,
            token_file,
        ];
        if kinds.iter().filter(|k| k.is_some()).count() > 1 {
            return Err(format!(
                "AWS profile {name:?} sets more than one of source_profile, credential_source, \
                 credential_process and web_identity_token_file; hint: keep only one"
            ));
        }
        if role_arn.is_none() {
            for (key, value) in [
                ("source_profile", source_profile),
                ("credential_source", credential_source),
                ("web_identity_token_file", token_file),
            ] {
                if value.is_some() {
                    return Err(format!(
                        "AWS profile {name:?} sets {key} but not role_arn; hint: add the role_arn \
                         to assume"
                    ));
                }
            }
        }
        if let (Some(arn), Some(_)) = (role_arn, profile.get("mfa_serial")) {
            return Err(format!(
                "AWS profile {name:?} assumes {arn} with MFA (mfa_serial), which rsops does not \
                 support; hint: get temporary credentials first (for example with `aws sts \
                 get-session-token`, or `aws configure export-credentials --profile {name}`) and \
                 pass them in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"
            ));
        }
        let static_keys = profile.static_credentials();
        visited.push(name.to_owned());
        // A source profile with static keys uses them rather than its own source_profile.
        let chained_source = source_profile.filter(|_| top || static_keys.is_none());
        let base = if let Some(source) = chained_source {
            if !files.profiles.contains_key(source) {
                return Err(format!(
                    "AWS profile {name:?}: its source_profile {source:?} not found (read {}); \
                     hint: check the name",
                    files.describe()
                ));
            }
            self.profile_credentials(source, visited)?.ok_or_else(|| {
                format!(
                    "AWS profile {source:?} (the source_profile of {name:?}) has no credentials; \
                     hint: give it aws_access_key_id and aws_secret_access_key, or another \
                     credential setting"
                )
            })?
        } else if let Some(creds) = static_keys {
            creds
        } else if let Some(source) = credential_source {
            self.credential_source(name, source)?
        } else if let (Some(file), Some(arn)) = (token_file, role_arn) {
            let session = profile.get("role_session_name");
            return self.web_identity(arn, Path::new(file), session).map(Some);
        } else if profile.has_sso() {
            self.sso(name, profile)?
        } else if let Some(command) = credential_process {
            self.process(name, command)?
        } else if let (Some(arn), true) = (role_arn, top) {
            // As the SDK does: the container or the instance provides the base credentials.
            let mut tried = Vec::new();
            self.fallback(&mut tried).map_err(|e| {
                format!(
                    "AWS profile {name:?} assumes {arn} without source_profile or \
                     credential_source, so the base credentials come from the container or \
                     instance: {e}"
                )
            })?
        } else {
            return Ok(None);
        };
        let Some(arn) = role_arn else {
            return Ok(Some(base));
        };
        let session = profile
            .get("role_session_name")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("aws-go-sdk-{}", now_nanos()));
        let mut params = vec![("RoleArn", arn), ("RoleSessionName", session.as_str())];
        if let Some(id) = profile.get("external_id") {
            params.push(("ExternalId", id));
        }
        if let Some(seconds) = profile.get("duration_seconds") {
            if seconds.parse::<u32>().is_err() {
                return Err(format!(
                    "AWS profile {name:?}: duration_seconds {seconds:?} is not a whole number of \
                     seconds; hint: use a value from 900 to 43200"
                ));
            }
            params.push(("DurationSeconds", seconds));
        }
        let region = self.sts_region();
        sts_call(
            self.env,
            self.http,
            &region,
            "AssumeRole",
            arn,
            &params,
            Some(&base),
        )
        .map(Some)
        .map_err(|e| format!("AWS profile {name:?}: {e}"))
    }

    /// `credential_source = Environment | Ec2InstanceMetadata | EcsContainer`.
    fn credential_source(&self, name: &str, source: &str) -> Result<Credentials, String> {
        match source {
            "Environment" => self.env_static().ok_or_else(|| {
                format!(
                    "AWS profile {name:?} has credential_source = Environment, but \
                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; hint: set them"
                )
            }),
            "Ec2InstanceMetadata" => self.imds().map_err(|e| {
                format!("AWS profile {name:?} (credential_source = Ec2InstanceMetadata): {e}")
            }),
            "EcsContainer" => self.ecs().unwrap_or_else(|| {
                Err(format!(
                    "AWS profile {name:?} has credential_source = EcsContainer, but \
                     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not set; hint: use it in an ECS \
                     task, or pick another credential_source"
                ))
            }),
            other => Err(format!(
                "AWS profile {name:?} has credential_source = {other:?}; hint: use Environment, \
                 Ec2InstanceMetadata or EcsContainer"
            )),
        }
    }

    /// The end of the chain: container credentials if configured, else instance metadata.
    fn fallback(&self, tried: &mut Vec<String>) -> Result<Credentials, String> {
        if let Some(result) = self.ecs() {
            return result;
        }
        tried.push(
            "ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and \
             AWS_CONTAINER_CREDENTIALS_FULL_URI are not set)"
                .to_owned(),
        );
        if self
            .var("AWS_EC2_METADATA_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            tried.push(
                "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED=true)".to_owned(),
            );
        } else {
            match self.imds() {
                Ok(creds) => return Ok(creds),
                Err(e) => tried.push(format!("EC2 instance metadata ({e})")),
            }
        }
        Err(format!(
            "no AWS credentials found; tried: {}; hint: set AWS_PROFILE (or the key's \
             aws_profile) to a profile in ~/.aws/config or ~/.aws/credentials, set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login` for an SSO \
             profile",
            tried.join("; ")
        ))
    }

    /// STS `AssumeRoleWithWebIdentity` with the token in `file` (unsigned).
    fn web_identity(
        &self,
        role_arn: &str,
        file: &Path,
        session: Option<&str>,
    ) -> Result<Credentials, String> {
        let bytes = self.env.read_file(file).map_err(|e| {
            format!(
                "cannot read the web identity token file {}: {e}; hint: check \
                 AWS_WEB_IDENTITY_TOKEN_FILE or web_identity_token_file",
                file.display()
            )
        })?;
        let token = std::str::from_utf8(&bytes)
            .map(str::trim)
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                format!(
                    "the web identity token file {} is empty or not text; hint: it should hold \
                     the OIDC token (a JWT)",
                    file.display()
                )
            })?;
        let session = session
            .map(str::to_owned)
            .unwrap_or_else(|| now_nanos().to_string());
        let region = self.sts_region();
        sts_call(
            self.env,
            self.http,
            &region,
            "AssumeRoleWithWebIdentity",
            role_arn,
            &[
                ("RoleArn", role_arn),
                ("RoleSessionName", session.as_str()),
                ("WebIdentityToken", token),
            ],
            None,
        )
    }

    /// `credential_process`: runs the command with `sh -c` and reads its JSON.
    fn process(&self, name: &str, command: &str) -> Result<Credentials, String> {
        let argv = ["sh".to_owned(), "-c".to_owned(), command.to_owned()];
        let out = self.env.run(&argv).map_err(|e| {
            format!(
                "AWS profile {name:?}: credential_process failed: {e}; hint: run the command by \
                 hand to see its error"
            )
        })?;
        let what = format!("the output of credential_process of AWS profile {name:?}");
        let mut parsed: JsonCredentials =
            serde_json::from_slice(&out).map_err(|e| json_error(&what, &e))?;
        if parsed.version != Some(1) {
            return Err(format!(
                "{what} has Version {}, expected 1; hint: the command must print \
                 {{\"Version\": 1, \"AccessKeyId\": ..., \"SecretAccessKey\": ...}}",
                parsed
                    .version
                    .map_or_else(|| "missing".to_owned(), |v| v.to_string())
            ));
        }
        let token = parsed.session_token.take();
        parsed.credentials(&what, token)
    }

    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`; `None` when neither is set.
    fn ecs(&self) -> Option<Result<Credentials, String>> {
        if let Some(relative) = self.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            return Some(self.ecs_fetch(&format!("{ECS_ENDPOINT}{relative}")));
        }
        let full = self.var("AWS_CONTAINER_CREDENTIALS_FULL_URI")?;
        Some(check_container_url(&full).and_then(|()| self.ecs_fetch(&full)))
    }

    fn ecs_fetch(&self, url: &str) -> Result<Credentials, String> {
        let what = format!("the container credentials endpoint {url}");
        let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
        let token = if let Some(path) = self.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            let bytes = self.env.read_file(Path::new(&path)).map_err(|e| {
                format!(
                    "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {e}; hint: check \
                     the path"
                )
            })?;
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                format!("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path} is not text")
            })?;
            Some(Zeroizing::new(text.trim().to_owned()))
        } else {
            self.var("AWS_CONTAINER_AUTHORIZATION_TOKEN")
                .map(Zeroizing::new)
        };
        if let Some(token) = &token {
            headers.push(("Authorization".to_owned(), token.to_string()));
        }
        let (status, body) = exchange(self.http, "GET", url, headers, Vec::new(), ECS_TIMEOUT)
            .map_err(|e| format!("container credentials: {e}"))?;
        if status != 200 {
            return Err(format!(
                "{what} answered HTTP {status}{}; hint: check the task role and \
                 AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)",
                error_detail(&body)
            ));
        }
        let mut parsed: JsonCredentials =
            serde_json::from_slice(&body).map_err(|e| json_error(&what, &e))?;
        let token = parsed.token.take();
        parsed.credentials(&what, token)
    }

    /// IMDSv2: a session token, the role name, then the role's credentials.
    fn imds(&self) -> Result<Credentials, String> {
        let base = if let Some(endpoint) = self.var("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
            endpoint.trim_end_matches('/').to_owned()
        } else if self
            .var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
            .is_some_and(|m| m.eq_ignore_ascii_case("ipv6"))
        {
            IMDS_IPV6_ENDPOINT.to_owned()
        } else {
            IMDS_ENDPOINT.to_owned()
        };
        let (status, body) = exchange(
            self.http,
            "PUT",
            &format!("{base}/latest/api/token"),
            vec![(
                "X-aws-ec2-metadata-token-ttl-seconds".to_owned(),
                "21600".to_owned(),
            )],
            Vec::new(),
            IMDS_TOKEN_TIMEOUT,
        )?;
        let v1_disabled = self
            .var("AWS_EC2_METADATA_V1_DISABLED")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let token = match status {
            200 => Some(Zeroizing::new(
                String::from_utf8_lossy(&body).trim().to_owned(),
            )),
            // No IMDSv2 (some proxies and emulators): IMDSv1, as the SDK falls back to.
            400..=499 if status != 403 && !v1_disabled => None,
            _ => {
                return Err(format!(
                    "{base} refused a metadata session token (HTTP {status}); hint: check the \
                     instance's metadata options (hop limit, IMDS enabled)"
                ));
            }
        };
        let mut headers = Vec::new();
        if let Some(token) = &token {
            headers.push(("X-aws-ec2-metadata-token".to_owned(), token.to_string()));
        }
        let list_url = format!("{base}/latest/meta-data/iam/security-credentials/");
        let (status, body) = exchange(
            self.http,
            "GET",
            &list_url,
            headers.clone(),
            Vec::new(),
            IMDS_TIMEOUT,
        )?;
        if status == 404 {
            return Err(format!(
                "no IAM role is attached to this instance ({list_url} answered HTTP 404); hint: \
                 attach an instance profile"
            ));
        }
        if status != 200 {
            return Err(format!("{list_url} answered HTTP {status}"));
        }
        let text = String::from_utf8_lossy(&body);
        let role = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .ok_or_else(|| format!("{list_url} named no IAM role"))?
            .to_owned();
        let url = format!("{list_url}{role}");
        let what = format!("the instance metadata {url}");
        let (status, body) = exchange(self.http, "GET", &url, headers, Vec::new(), IMDS_TIMEOUT)?;
        if status != 200 {
            return Err(format!("{url} answered HTTP {status}"));
        }
        let mut parsed: JsonCredentials =
            serde_json::from_slice(&body).map_err(|e| json_error(&what, &e))?;
        if let Some(code) = parsed.code.as_deref().filter(|c| *c != "Success") {
            return Err(format!(
                "{what} reports {code:?} instead of Success; hint: check the instance profile's \
                 role"
            ));
        }
        let token = parsed.token.take();
        parsed.credentials(&what, token)
    }

    /// IAM Identity Center: the cached token of `aws sso login`, then `GetRoleCredentials`.
    fn sso(&self, name: &str, profile: &Profile) -> Result<Credentials, String> {
        let files = self.files()?;
        let login = format!("run `aws sso login --profile {name}`");
        let (start_url, region, cache_key) = if let Some(session) = profile.get("sso_session") {
            let section = files.sso_sessions.get(session).ok_or_else(|| {
                format!(
                    "AWS profile {name:?} uses sso_session {session:?}, but there is no \
                     [sso-session {session}] section (read {}); hint: add it, or run `aws \
                     configure sso`",
                    files.describe()
                )
            })?;
            let get = |k: &str| section.get(k).map(|v| v.as_str()).filter(|v| !v.is_empty());
            let (Some(start_url), Some(region)) = (get("sso_start_url"), get("sso_region")) else {
                return Err(format!(
                    "[sso-session {session}] needs sso_start_url and sso_region (used by AWS \
                     profile {name:?}); hint: run `aws configure sso-session`"
                ));
            };
            for (key, value) in [("sso_region", region), ("sso_start_url", start_url)] {
                if profile.get(key).is_some_and(|v| v != value) {
                    return Err(format!(
                        "AWS profile {name:?}: {key} differs from the one in [sso-session \
                         {session}]; hint: remove it from the profile"
                    ));
                }
            }
            (start_url, region, session)
        } else {
            let missing: Vec<&str> = [
                "sso_start_url",
                "sso_region",
                "sso_account_id",
                "sso_role_name",
            ]
            .into_iter()
            .filter(|k| profile.get(k).is_none())
            .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "AWS profile {name:?} is configured for SSO but lacks {}; hint: run `aws \
                     configure sso --profile {name}`",
                    missing.join(", ")
                ));
            }
            let start_url = profile.get("sso_start_url").unwrap_or_default();
            (
                start_url,
                profile.get("sso_region").unwrap_or_default(),
                start_url,
            )
        };
        let (Some(account), Some(role)) =
            (profile.get("sso_account_id"), profile.get("sso_role_name"))
        else {
            return Err(format!(
                "AWS profile {name:?} is configured for SSO but lacks sso_account_id or \
                 sso_role_name; hint: run `aws configure sso --profile {name}`"
            ));
        };
        if !valid_region(region) {
            return Err(format!(
                "AWS profile {name:?}: sso_region {region:?} is not a region name"
            ));
        }
        let home = home_dir(self.env).ok_or_else(|| {
            format!("AWS profile {name:?} uses SSO, but HOME is not set to find ~/.aws/sso/cache")
        })?;
        let path = home.join(".aws").join("sso").join("cache").join(format!(
            "{}.json",
            hex::encode(Sha1::digest(cache_key.as_bytes()))
        ));
        let bytes = match self.env.read_file(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(format!(
                    "AWS profile {name:?}: no SSO token for {start_url} is cached ({} is \
                     missing); hint: {login}",
                    path.display()
                ));
            }
            Err(e) => {
                return Err(format!(
                    "AWS profile {name:?}: cannot read the SSO token cache {}: {e}",
                    path.display()
                ));
            }
        };
        let what = format!("the SSO token cache {}", path.display());
        let cached: SsoToken = serde_json::from_slice(&bytes).map_err(|e| json_error(&what, &e))?;
        let (Some(access_token), Some(expires)) = (&cached.access_token, &cached.expires_at) else {
            return Err(format!(
                "{what} lacks accessToken or expiresAt; hint: {login}"
            ));
        };
        let expiry = parse_time(expires).ok_or_else(|| {
            format!("{what} has an unreadable expiresAt {expires:?}; hint: {login}")
        })?;
        if expiry <= OffsetDateTime::now_utc() {
            return Err(format!(
                "AWS profile {name:?}: the SSO session expired at {expires}; hint: {login}"
            ));
        }
        let url = format!(
            "https://portal.sso.{region}.{}/federation/credentials?role_name={}&account_id={}",
            super::dns_suffix(region),
            path_segment(role),
            path_segment(account)
        );
        let headers = vec![
            ("x-amz-sso_bearer_token".to_owned(), access_token.clone()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ];
        let (status, body) = exchange(self.http, "GET", &url, headers, Vec::new(), SERVICE_TIMEOUT)
            .map_err(|e| format!("AWS profile {name:?}: SSO GetRoleCredentials: {e}"))?;
        if status == 401 || status == 403 {
            return Err(format!(
                "AWS profile {name:?}: SSO refused role {role} in account {account} (HTTP \
                 {status}{}); hint: {login}, and check that the role is assigned to you",
                error_detail(&body)
            ));
        }
        if status != 200 {
            return Err(format!(
                "AWS profile {name:?}: SSO GetRoleCredentials answered HTTP {status}{}",
                error_detail(&body)
            ));
        }
        let what = format!("the SSO GetRoleCredentials answer for AWS profile {name:?}");
        let mut parsed: SsoResponse =
            serde_json::from_slice(&body).map_err(|e| json_error(&what, &e))?;
        let Some(creds) = parsed.role_credentials.as_mut() else {
            return Err(format!("{what} has no roleCredentials"));
        };
        let (Some(id), Some(secret)) = (creds.access_key_id.take(), creds.secret_access_key.take())
        else {
            return Err(format!("{what} lacks accessKeyId or secretAccessKey"));
        };
        Ok(Credentials::owned(
            id,
            Zeroizing::new(secret),
            creds.session_token.take().map(Zeroizing::new),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// STS.

/// One STS call (`AssumeRole` signed with `signer`, `AssumeRoleWithWebIdentity` unsigned).
fn sts_call(
    env: &dyn Environment,
    http: &dyn Transport,
    region: &str,
    action: &str,
    role_arn: &str,
    params: &[(&str, &str)],
    signer: Option<&Credentials>,
) -> Result<Credentials, String> {
    let what = format!("STS {action} for {role_arn}");
    if !valid_region(region) {
        return Err(format!(
            "{what} failed: {region:?} is not a region name; hint: check AWS_REGION, \
             AWS_DEFAULT_REGION or the profile's region"
        ));
    }
    let endpoint = super::endpoint(env, "sts", region);
    let (host, path) = split_url(&endpoint).ok_or_else(|| {
        format!(
            "{what} failed: the STS endpoint {endpoint:?} is not an http(s) URL; hint: check \
             AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL"
        )
    })?;
    let url = if split_after_authority(&endpoint).is_empty() {
        format!("{endpoint}/")
    } else {
        endpoint.clone()
    };
    let mut body = Zeroizing::new(format!("Action={action}&Version={STS_VERSION}"));
    for (k, v) in params {
        body.push('&');
        body.push_str(k);
        body.push('=');
        body.push_str(&form_value(v));
    }
    let mut headers = vec![
        ("content-type".to_owned(), FORM.to_owned()),
        ("host".to_owned(), host.to_owned()),
    ];
    if let Some(creds) = signer {
        let amz_date = super::amz_date();
        headers = sigv4::sign(
            &Signable {
                method: "POST",
                path,
                query: &[],
                headers: &headers,
                body: body.as_bytes(),
                region,
                service: "sts",
                amz_date: &amz_date,
            },
            creds,
        );
    }
    let (status, response) = exchange(
        http,
        "POST",
        &url,
        headers,
        body.as_bytes().to_vec(),
        SERVICE_TIMEOUT,
    )
    .map_err(|e| format!("{what} failed: {e}"))?;
    let text = std::str::from_utf8(&response).unwrap_or("");
    if status != 200 {
        let code = xml_text(text, "Code").map(xml_unescape);
        let message = xml_text(text, "Message").map(xml_unescape);
        let detail = match (code, message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c,
            (None, Some(m)) => format!("HTTP {status}: {m}"),
            (None, None) => format!("HTTP {status}"),
        };
        return Err(format!(
            "{what} failed: {detail}; hint: check that the role exists, that its trust policy \
             allows the caller, and that the source credentials are valid"
        ));
    }
    let parsed = xml_text(text, "Credentials").and_then(|c| {
        Some((
            xml_text(c, "AccessKeyId")?,
            xml_text(c, "SecretAccessKey")?,
            xml_text(c, "SessionToken"),
        ))
    });
    let Some((id, secret, token)) = parsed else {
        return Err(format!(
            "{what} failed: the answer has no Credentials with AccessKeyId and SecretAccessKey"
        ));
    };
    Ok(Credentials::owned(
        xml_unescape(id),
        Zeroizing::new(xml_unescape(secret)),
        token.map(|t| Zeroizing::new(xml_unescape(t))),
    ))
}

/// The text between `<tag>` and `</tag>` (first occurrence).
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

/// Undoes XML's predefined entities.
fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.trim().to_owned();
    }
    s.trim()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------------
// Shared config and credentials files.

/// One INI section: lowercase keys to values (values may be secret).
type Section = HashMap<String, Zeroizing<String>>;

/// One profile, merged from both files.
struct Profile {
    values: Section,
    /// Partial static keys: reported when the profile is used, as the SDK does.
    error: Option<String>,
}

impl Profile {
    /// A setting, if present and not empty.
    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn static_credentials(&self) -> Option<Credentials> {
        let id = self.get("aws_access_key_id")?;
        let secret = self.get("aws_secret_access_key")?;
        Some(Credentials::new(id, secret, self.get("aws_session_token")))
    }

    fn has_sso(&self) -> bool {
        [
            "sso_session",
            "sso_start_url",
            "sso_region",
            "sso_account_id",
            "sso_role_name",
        ]
        .iter()
        .any(|k| self.get(k).is_some())
    }
}

/// The profiles and SSO sessions of the config and credentials files.
struct SharedFiles {
    profiles: HashMap<String, Profile>,
    sso_sessions: HashMap<String, Section>,
    /// What was read, for messages: paths, with `(missing)` and the like.
    read: Vec<String>,
}

impl SharedFiles {
    fn load(env: &dyn Environment) -> Result<Self, String> {
        let home = home_dir(env);
        let config_path = var(env, "AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join("config")));
        let credentials_path = var(env, "AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join("credentials")));
        let mut read = Vec::new();
        let config = read_ini(env, config_path.as_deref(), "config", &mut read)?;
        let credentials = read_ini(env, credentials_path.as_deref(), "credentials", &mut read)?;
        let config_name = shown(config_path.as_deref(), "config");
        let credentials_name = shown(credentials_path.as_deref(), "credentials");

        let mut profiles = HashMap::new();
        let mut sso_sessions = HashMap::new();
        let mut prefixed = Vec::new();
        for (name, section) in config {
            if let Some(rest) = name.strip_prefix("profile ") {
                prefixed.push((rest.to_owned(), section));
            } else if let Some(rest) = name.strip_prefix("sso-session ") {
                sso_sessions.insert(rest.to_owned(), section);
            } else if name == "default" {
                let error = partial_keys(&name, &section, &config_name);
                profiles.insert(
                    name,
                    Profile {
                        values: section,
                        error,
                    },
                );
            }
            // Other sections (`[services x]`, unprefixed names) do not name profiles.
        }
        // `[profile default]` wins over `[default]`.
        for (name, section) in prefixed {
            let error = partial_keys(&name, &section, &config_name);
            profiles.insert(
                name,
                Profile {
                    values: section,
                    error,
                },
            );
        }
        for (name, section) in credentials {
            if name.starts_with("profile ") {
                continue; // Not a valid name in the credentials file.
            }
            let error = partial_keys(&name, &section, &credentials_name);
            match profiles.get_mut(&name) {
                None => {
                    profiles.insert(
                        name,
                        Profile {
                            values: section,
                            error,
                        },
                    );
                }
                Some(profile) => {
                    profile.error = error;
                    let both = section.contains_key("aws_access_key_id")
                        && section.contains_key("aws_secret_access_key");
                    for (key, value) in section {
                        let static_key = matches!(
                            key.as_str(),
                            "aws_access_key_id" | "aws_secret_access_key" | "aws_session_token"
                        );
                        // Static keys only replace the config file's as a complete pair.
                        if !static_key || both {
                            profile.values.insert(key, value);
                        }
                    }
                }
            }
        }
        Ok(Self {
            profiles,
            sso_sessions,
            read,
        })
    }

    /// The files read, for messages.
    fn describe(&self) -> String {
        self.read.join(", ")
    }
}

/// The error for a section with only one of the two static keys.
fn partial_keys(name: &str, section: &Section, file: &str) -> Option<String> {
    let has = |k: &str| section.contains_key(k);
    match (has("aws_access_key_id"), has("aws_secret_access_key")) {
        (true, false) => Some(format!(
            "AWS profile {name:?} in {file} has aws_access_key_id but no aws_secret_access_key; \
             hint: add the secret key, or remove both"
        )),
        (false, true) => Some(format!(
            "AWS profile {name:?} in {file} has aws_secret_access_key but no aws_access_key_id; \
             hint: add the key id, or remove both"
        )),
        _ => None,
    }
}

fn shown(path: Option<&Path>, which: &str) -> String {
    path.map_or_else(|| format!("~/.aws/{which}"), |p| p.display().to_string())
}

/// Reads and parses one shared file; a missing or unreadable file counts as empty (as in the
/// SDK), a malformed one is an error.
fn read_ini(
    env: &dyn Environment,
    path: Option<&Path>,
    which: &str,
    read: &mut Vec<String>,
) -> Result<HashMap<String, Section>, String> {
    let Some(path) = path else {
        read.push(format!("~/.aws/{which} (HOME is not set)"));
        return Ok(HashMap::new());
    };
    let bytes = match env.read_file(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            read.push(format!("{} (missing)", path.display()));
            return Ok(HashMap::new());
        }
        Err(e) => {
            read.push(format!("{} (unreadable: {e})", path.display()));
            return Ok(HashMap::new());
        }
    };
    read.push(path.display().to_string());
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        format!(
            "{} is not UTF-8 text; hint: check the AWS {which} file",
            path.display()
        )
    })?;
    parse_ini(text).map_err(|line| {
        format!(
            "cannot parse {} line {line}: expected [section], key = value, or a comment; hint: \
             fix or remove that line",
            path.display()
        )
    })
}

/// Parses an AWS shared file as aws-sdk-go-v2 does: `#` and `;` start comments anywhere on a
/// section or property line, keys are lowercased, `=` or `:` separates, surrounding quotes are
/// dropped, indented lines continue the previous value (or hold nested settings, ignored here).
/// Errors give the 1-based number of a line that is none of these.
fn parse_ini(text: &str) -> Result<HashMap<String, Section>, usize> {
    let mut sections: HashMap<String, Section> = HashMap::new();
    let mut current: Option<String> = None;
    let mut last_key: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let left = line.trim_start_matches([' ', '\t']);
        if left.trim().is_empty() || left.starts_with('#') || left.starts_with(';') {
            continue;
        }
        let uncommented = trim_comment(line).trim_end_matches([' ', '\t']);
        if uncommented.len() >= 2 && uncommented.starts_with('[') && uncommented.ends_with(']') {
            let name = section_name(uncommented[1..uncommented.len() - 1].trim());
            sections.entry(name.clone()).or_default();
            current = Some(name);
            last_key = None;
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            let (key, value) = split_property(uncommented).ok_or(index + 1)?;
            if let Some(section) = current.as_ref().and_then(|c| sections.get_mut(c)) {
                let key = key.to_ascii_lowercase();
                section.insert(key.clone(), Zeroizing::new(legacy_unquote(value)));
                last_key = Some(key);
            }
            continue;
        }
        // An indented line: a nested setting (`key = value`) or a continuation.
        if split_property(left).is_some() {
            continue;
        }
        if let (Some(section), Some(key)) = (
            current.as_ref().and_then(|c| sections.get_mut(c)),
            last_key.as_ref(),
        ) && let Some(value) = section.get_mut(key)
            && !value.is_empty()
        {
            value.push('\n');
            value.push_str(left);
        }
    }
    Ok(sections)
}

/// Cuts a line at its first `#` or `;`.
fn trim_comment(line: &str) -> &str {
    line.find(['#', ';']).map_or(line, |i| &line[..i])
}

/// `type   name` → `type name`; a single word stays as it is.
fn section_name(inner: &str) -> String {
    match inner.split_once([' ', '\t']) {
        Some((kind, name)) => format!("{kind} {}", name.trim_start_matches([' ', '\t'])),
        None => inner.to_owned(),
    }
}

/// `key = value` or `key: value` (whichever separator comes first).
fn split_property(line: &str) -> Option<(&str, &str)> {
    let at = line.find(['=', ':'])?;
    let key = line[..at].trim();
    if key.is_empty() {
        return None;
    }
    Some((key, line[at + 1..].trim()))
}

/// Drops one pair of surrounding quotes and expands `\"`, `\'` and `\n`, as the SDK does.
fn legacy_unquote(value: &str) -> String {
    let bytes = value.as_bytes();
    let inner = if value.len() > 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[value.len() - 1] == bytes[0]
    {
        &value[1..value.len() - 1]
    } else {
        value
    };
    if !inner.contains('\\') {
        return inner.to_owned();
    }
    inner
        .replace("\\\"", "\"")
        .replace("\\'", "'")
        .replace("\\n", "\n")
}

// ---------------------------------------------------------------------------------------------
// JSON answers (wiped on drop; their parse errors never quote the input).

/// The credential JSON of `credential_process`, ECS and IMDS.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct JsonCredentials {
    #[serde(rename = "Version")]
    version: Option<i64>,
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "AccessKeyId")]
    access_key_id: Option<String>,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: Option<String>,
    #[serde(rename = "SessionToken")]
    session_token: Option<String>,
    #[serde(rename = "Token")]
    token: Option<String>,
}

impl JsonCredentials {
    fn credentials(&mut self, what: &str, token: Option<String>) -> Result<Credentials, String> {
        let token = token.map(Zeroizing::new);
        let (Some(id), Some(secret)) = (self.access_key_id.take(), self.secret_access_key.take())
        else {
            return Err(format!("{what} lacks AccessKeyId or SecretAccessKey"));
        };
        Ok(Credentials::owned(id, Zeroizing::new(secret), token))
    }
}

/// A token in `~/.aws/sso/cache`.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct SsoToken {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
    #[serde(rename = "expiresAt")]
    expires_at: Option<String>,
}

/// The SSO portal's `GetRoleCredentials` answer.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct SsoResponse {
    #[serde(rename = "roleCredentials")]
    role_credentials: Option<SsoRoleCredentials>,
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct SsoRoleCredentials {
    #[serde(rename = "accessKeyId")]
    access_key_id: Option<String>,
    #[serde(rename = "secretAccessKey")]
    secret_access_key: Option<String>,
    #[serde(rename = "sessionToken")]
    session_token: Option<String>,
}

/// ` (<type>: <message>)` from a JSON error answer, or nothing. Error answers hold no secrets.
fn error_detail(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| value.get(*n).and_then(|v| v.as_str()))
            .map(|s| s.chars().take(300).collect::<String>())
    };
    match (
        field(&["__type", "code", "Code"]),
        field(&["message", "Message"]),
    ) {
        (Some(t), Some(m)) => format!(": {t}: {m}"),
        (Some(t), None) => format!(": {t}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// A non-empty environment variable.
fn var(env: &dyn Environment, name: &str) -> Option<String> {
    env.var(name).filter(|v| !v.is_empty())
}

/// `HOME`, else `USERPROFILE`.
fn home_dir(env: &dyn Environment) -> Option<PathBuf> {
    var(env, "HOME")
        .or_else(|| var(env, "USERPROFILE"))
        .map(PathBuf::from)
}

/// What the environment-variable step saw, for the final error (names only).
fn env_static_note(env: &dyn Environment) -> String {
    let id = var(env, "AWS_ACCESS_KEY_ID").is_some();
    let secret = var(env, "AWS_SECRET_ACCESS_KEY").is_some();
    match (id, secret) {
        (true, false) => {
            "environment variables (AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not)"
                .to_owned()
        }
        (false, true) => {
            "environment variables (AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not)"
                .to_owned()
        }
        _ => "environment variables (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set)"
            .to_owned(),
    }
}

/// `override`, else `AWS_REGION`, else the profile's, else `AWS_DEFAULT_REGION`, else
/// `us-east-1` (the SDK's precedence, with the CLI's `AWS_DEFAULT_REGION` as a late fallback).
fn region_from(env: &dyn Environment, over: Option<&str>, profile: Option<&str>) -> String {
    over.filter(|r| !r.is_empty())
        .map(str::to_owned)
        .or_else(|| var(env, "AWS_REGION"))
        .or_else(|| profile.map(str::to_owned))
        .or_else(|| var(env, "AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_owned())
}

fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What follows the authority of an `http(s)://` URL (path, query...), possibly empty.
fn split_after_authority(url: &str) -> &str {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    rest.find(['/', '?', '#']).map_or("", |i| &rest[i..])
}

/// The `host[:port]` and the path (`/` if none) of an `http(s)://` URL.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest[..end].rsplit('@').next().unwrap_or_default();
    if authority.is_empty() {
        return None;
    }
    let tail = &rest[end..];
    let path = tail.split(['?', '#']).next().unwrap_or_default();
    Some((authority, if path.is_empty() { "/" } else { path }))
}

/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` must be `https`, or `http` to a loopback or
/// container-agent host (the SDK's rule, without resolving names other than `localhost`).
fn check_container_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") && split_url(url).is_some() {
        return Ok(());
    }
    let host = url
        .strip_prefix("http://")
        .and_then(|_| split_url(url))
        .map(|(authority, _)| {
            if authority.starts_with('[') {
                authority.find(']').map_or(authority, |i| &authority[..=i])
            } else {
                authority.split(':').next().unwrap_or_default()
            }
        });
    let allowed = host.is_some_and(|h| {
        h.eq_ignore_ascii_case("localhost")
            || h == "[::1]"
            || h.starts_with("127.")
            || CONTAINER_HOSTS.contains(&h)
    });
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI {url:?} must use https, or http to a loopback \
             or container-agent address; hint: check the variable"
        ))
    }
}

/// Sends a request (its headers and body are wiped when it is dropped); the answer's body
/// comes back wiped on drop.
fn exchange(
    http: &dyn Transport,
    method: &'static str,
    url: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(u16, Zeroizing<Vec<u8>>), String> {
    let request = Request {
        method,
        url: url.to_owned(),
        headers,
        body,
        timeout,
    };
    http.send(&request).map(|r| (r.status, r.body))
}

/// An RFC 3339 time; also the `…UTC` suffix older AWS CLIs wrote in the SSO cache.
fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    match s.strip_suffix("UTC") {
        Some(prefix) => OffsetDateTime::parse(&format!("{prefix}Z"), &Rfc3339).ok(),
        None => OffsetDateTime::parse(s, &Rfc3339).ok(),
    }
}

/// Nanoseconds since the epoch, for default session names (as the SDK makes them).
fn now_nanos() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos()
}

#[cfg(test)]
mod tests {
    use std::sync::{Mutex, MutexGuard};

    use super::*;
    use crate::keys::env::FakeEnv;
    use crate::keys::http::Response;

    const HOME: &str = "/home/u";
    const ROLE: &str = "arn:aws:iam::123456789012:role/app";

    /// An environment with `HOME` set, and helpers for the shared AWS files.
    fn home_env() -> FakeEnv {
        let mut env = FakeEnv::default();
        env.set("HOME", HOME);
        env
    }

    trait AwsFiles {
        fn config(&mut self, text: &str) -> &mut Self;
        fn credentials(&mut self, text: &str) -> &mut Self;
        fn command(&mut self, command: &str, out: &[u8]) -> &mut Self;
    }

    impl AwsFiles for FakeEnv {
        fn config(&mut self, text: &str) -> &mut Self {
            self.file(&format!("{HOME}/.aws/config"), text)
        }
        fn credentials(&mut self, text: &str) -> &mut Self {
            self.file(&format!("{HOME}/.aws/credentials"), text)
        }
        /// What `sh -c COMMAND` prints, as `credential_process` runs it.
        fn command(&mut self, command: &str, out: &[u8]) -> &mut Self {
            self.output(&["sh", "-c", command], out)
        }
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
    }

    /// Answers by URL and body substrings (first match); anything else is unreachable.
    #[derive(Default)]
    struct FakeHttp {
        replies: Vec<(String, String, u16, String)>,
        sent: Mutex<Vec<Sent>>,
    }

    impl FakeHttp {
        fn reply(mut self, url_part: &str, body_part: &str, status: u16, body: &str) -> Self {
            self.replies.push((
                url_part.to_owned(),
                body_part.to_owned(),
                status,
                body.to_owned(),
            ));
            self
        }
        fn sent(&self) -> MutexGuard<'_, Vec<Sent>> {
            self.sent.lock().unwrap()
        }
    }

    impl Transport for FakeHttp {
        fn send(&self, req: &Request) -> Result<Response, String> {
            let body = String::from_utf8(req.body.clone()).unwrap();
            let found = self
                .replies
                .iter()
                .find(|(u, b, _, _)| req.url.contains(u.as_str()) && body.contains(b.as_str()))
                .map(|(_, _, status, reply)| Response {
                    status: *status,
                    body: Zeroizing::new(reply.as_bytes().to_vec()),
                });
            self.sent().push(Sent {
                method: req.method,
                url: req.url.clone(),
                headers: req.headers.clone(),
                body,
                timeout: req.timeout,
            });
            found.ok_or_else(|| format!("cannot reach {}: connection refused", req.url))
        }
    }

    fn sts_ok(action: &str, id: &str, secret: &str, token: &str) -> String {
        format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <{action}Result><Credentials><AccessKeyId>{id}</AccessKeyId>\
             <SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>\
             <Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></{action}Result>\
             </{action}Response>"
        )
    }

    fn sts_error(code: &str, message: &str) -> String {
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
        )
    }

    fn check(creds: &Credentials, id: &str, secret: &str, token: Option<&str>) {
        assert_eq!(creds.access_key_id, id);
        assert_eq!(creds.secret_access_key.as_str(), secret);
        assert_eq!(creds.session_token.as_ref().map(|t| t.as_str()), token);
    }

    fn err(result: Result<Credentials, String>) -> String {
        match result {
            Ok(c) => panic!("expected an error, got credentials {}", c.access_key_id),
            Err(e) => e,
        }
    }

    #[test]
    fn env_static_credentials() {
        let mut env = home_env();
        env.set("AWS_ACCESS_KEY_ID", "AKIDENV")
            .set("AWS_SECRET_ACCESS_KEY", "env-secret")
            .set("AWS_SESSION_TOKEN", "env-token");
        let http = FakeHttp::default();
        let creds = resolve(&env, &http, None).unwrap();
        check(&creds, "AKIDENV", "env-secret", Some("env-token"));
        assert!(http.sent().is_empty());
    }

    #[test]
    fn explicit_profile_beats_env_credentials() {
        let mut env = home_env();
        env.set("AWS_ACCESS_KEY_ID", "AKIDENV")
            .set("AWS_SECRET_ACCESS_KEY", "env-secret")
            .credentials(
                "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev-secret\n\
                 [prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = prod-secret\n",
            );
        let http = FakeHttp::default();
        check(
            &resolve(&env, &http, Some("dev")).unwrap(),
            "AKIDDEV",
            "dev-secret",
            None,
        );
        // AWS_PROFILE also beats the variables; the key's aws_profile beats AWS_PROFILE.
        env.set("AWS_PROFILE", "dev");
        check(
            &resolve(&env, &http, None).unwrap(),
            "AKIDDEV",
            "dev-secret",
            None,
        );
        check(
            &resolve(&env, &http, Some("prod")).unwrap(),
            "AKIDPROD",
            "prod-secret",
            None,
        );
    }

    #[test]
    fn credentials_file_wins_over_config_file() {
        let mut env = home_env();
        env.config(
            "[profile dev]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = cfg-secret\n\
             region = eu-west-1\n",
        )
        .credentials(
            "[dev]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = creds-secret\n",
        );
        let creds = resolve(&env, &FakeHttp::default(), Some("dev")).unwrap();
        check(&creds, "AKIDCREDS", "creds-secret", None);
        // The config file's other settings still apply.
        assert_eq!(sts_region(&env, Some("dev")), "eu-west-1");
    }

    #[test]
    fn source_profile_role_is_assumed_with_signed_request() {
        let mut env = home_env();
        env.config(&format!(
            "[profile app]\nrole_arn = {ROLE}\nsource_profile = base\nexternal_id = ext-1\n\
             role_session_name = my-session\nregion = eu-central-1\n\
             [profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\n\
             source_profile = app\nregion = eu-central-1\n"
        ))
        .credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n");
        let http = FakeHttp::default()
            .reply(
                "https://sts.eu-central-1.amazonaws.com/",
                "role%2Fapp",
                200,
                &sts_ok("AssumeRole", "ASIAAPP", "app-secret", "app-token"),
            )
            .reply(
                "https://sts.eu-central-1.amazonaws.com/",
                "role%2Ftop",
                200,
                &sts_ok("AssumeRole", "ASIATOP", "top-secret", "top-token"),
            );
        let creds = resolve(&env, &http, Some("app")).unwrap();
        check(&creds, "ASIAAPP", "app-secret", Some("app-token"));
        {
            let sent = http.sent();
            assert_eq!(sent.len(), 1);
            let req = &sent[0];
            assert_eq!(req.method, "POST");
            assert_eq!(req.url, "https://sts.eu-central-1.amazonaws.com/");
            assert!(
                req.body
                    .starts_with("Action=AssumeRole&Version=2011-06-15&"),
                "{}",
                req.body
            );
            assert!(
                req.body
                    .contains("&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp")
            );
            assert!(req.body.contains("&RoleSessionName=my-session"));
            assert!(req.body.contains("&ExternalId=ext-1"));
            assert_eq!(req.header("content-type"), Some(FORM));
            assert_eq!(req.header("host"), Some("sts.eu-central-1.amazonaws.com"));
            let auth = req.header("authorization").unwrap();
            assert!(
                auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDBASE/"),
                "{auth}"
            );
            assert!(auth.contains("/eu-central-1/sts/aws4_request"), "{auth}");
            assert!(req.header("x-amz-security-token").is_none());
        }
        // Two hops: the second call is signed with the first role's keys and session token.
        http.sent().clear();
        let creds = resolve(&env, &http, Some("top")).unwrap();
        check(&creds, "ASIATOP", "top-secret", Some("top-token"));
        let sent = http.sent();
        assert_eq!(sent.len(), 2);
        assert!(sent[0].body.contains("role%2Fapp"));
        assert!(sent[1].body.contains("role%2Ftop"));
        assert!(sent[1].body.contains("RoleSessionName=aws-go-sdk-"));
        let auth = sent[1].header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=ASIAAPP/"),
            "{auth}"
        );
        assert_eq!(sent[1].header("x-amz-security-token"), Some("app-token"));
    }

    #[test]
    fn source_profile_cycle_is_detected() {
        let mut env = home_env();
        env.config(
            "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n\
             [profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n",
        );
        let http = FakeHttp::default();
        let e = err(resolve(&env, &http, Some("a")));
        assert!(e.contains("source_profile loop (a -> b -> a)"), "{e}");
        assert!(http.sent().is_empty());
    }

    #[test]
    fn self_referencing_profile_uses_its_own_keys() {
        let mut env = home_env();
        env.credentials(&format!(
            "[me]\naws_access_key_id = AKIDME\naws_secret_access_key = me-secret\n\
             role_arn = {ROLE}\nsource_profile = me\n"
        ));
        let http = FakeHttp::default().reply(
            "sts.",
            "AssumeRole",
            200,
            &sts_ok("AssumeRole", "ASIAME", "role-secret", "role-token"),
        );
        let creds = resolve(&env, &http, Some("me")).unwrap();
        check(&creds, "ASIAME", "role-secret", Some("role-token"));
        let sent = http.sent();
        assert_eq!(sent.len(), 1);
        let auth = sent[0].header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDME/"),
            "{auth}"
        );
    }

    #[test]
    fn credential_source_environment_signs_with_env_keys() {
        let mut env = home_env();
        env.set("AWS_ACCESS_KEY_ID", "AKIDENV")
            .set("AWS_SECRET_ACCESS_KEY", "env-secret")
            .config(&format!(
                "[profile ci]\nrole_arn = {ROLE}\ncredential_source = Environment\n\
                 duration_seconds = 3600\n"
            ));
        let http = FakeHttp::default().reply(
            "sts.us-east-1.amazonaws.com",
            "AssumeRole",
            200,
            &sts_ok("AssumeRole", "ASIACI", "ci-secret", "ci-token"),
        );
        let creds = resolve(&env, &http, Some("ci")).unwrap();
        check(&creds, "ASIACI", "ci-secret", Some("ci-token"));
        let sent = http.sent();
        assert!(sent[0].body.contains("&DurationSeconds=3600"));
        let auth = sent[0].header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDENV/"),
            "{auth}"
        );
    }

    #[test]
    fn invalid_role_settings_are_reported() {
        let mut env = home_env();
        env.config(&format!(
            "[profile mfa]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/x\n\
             [profile base]\naws_access_key_id = A\naws_secret_access_key = s\n\
             [profile norole]\ncredential_source = Environment\n\
             [profile both]\nrole_arn = {ROLE}\nsource_profile = base\ncredential_process = x\n\
             [profile badsource]\nrole_arn = {ROLE}\ncredential_source = Somewhere\n\
             [profile dangling]\nrole_arn = {ROLE}\nsource_profile = ghost\n"
        ));
        let http = FakeHttp::default();
        let e = err(resolve(&env, &http, Some("mfa")));
        assert!(e.contains("MFA (mfa_serial)"), "{e}");
        let e = err(resolve(&env, &http, Some("norole")));
        assert!(e.contains("sets credential_source but not role_arn"), "{e}");
        let e = err(resolve(&env, &http, Some("both")));
        assert!(e.contains("more than one of source_profile"), "{e}");
        let e = err(resolve(&env, &http, Some("badsource")));
        assert!(
            e.contains("\"Somewhere\"") && e.contains("Ec2InstanceMetadata"),
            "{e}"
        );
        let e = err(resolve(&env, &http, Some("dangling")));
        assert!(e.contains("source_profile \"ghost\" not found"), "{e}");
        assert!(http.sent().is_empty());
    }

    #[test]
    fn credential_process_json() {
        let command = "/usr/local/bin/get-creds --account prod";
        let mut env = home_env();
        env.config(&format!(
            "[profile proc]\ncredential_process = {command}\n\
             [profile v2]\ncredential_process = old-tool\n\
             [profile failing]\ncredential_process = broken-tool\n"
        ));
        env.command(
            command,
            br#"{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "proc-secret",
                "SessionToken": "proc-token", "Expiration": "2030-01-01T00:00:00Z"}"#,
        );
        env.fails(&["sh", "-c", "broken-tool"]);
        env.command(
            "old-tool",
            br#"{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "s"}"#,
        );
        let http = FakeHttp::default();
        let creds = resolve(&env, &http, Some("proc")).unwrap();
        check(&creds, "AKIDPROC", "proc-secret", Some("proc-token"));
        assert_eq!(env.ran.borrow()[0], ["sh", "-c", command]);
        let e = err(resolve(&env, &http, Some("v2")));
        assert!(e.contains("has Version 2, expected 1"), "{e}");
        let e = err(resolve(&env, &http, Some("failing")));
        assert!(
            e.contains("credential_process failed: command exited"),
            "{e}"
        );
    }

    #[test]
    fn web_identity_from_env_is_unsigned() {
        let mut env = home_env();
        env.set("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")
            .set("AWS_ROLE_ARN", ROLE)
            .set("AWS_ROLE_SESSION_NAME", "ci-run")
            .set("AWS_REGION", "us-west-2")
            .file("/var/run/token", "eyJhbGciOiJSUzI1NiJ9.payload.sig\n");
        let http = FakeHttp::default().reply(
            "https://sts.us-west-2.amazonaws.com/",
            "Action=AssumeRoleWithWebIdentity",
            200,
            &sts_ok(
                "AssumeRoleWithWebIdentity",
                "ASIAWEB",
                "web-secret",
                "web-token",
            ),
        );
        let creds = resolve(&env, &http, None).unwrap();
        check(&creds, "ASIAWEB", "web-secret", Some("web-token"));
        let sent = http.sent();
        assert_eq!(sent.len(), 1);
        let req = &sent[0];
        assert!(
            req.body
                .starts_with("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&"),
            "{}",
            req.body
        );
        assert!(req.body.contains("&RoleSessionName=ci-run"));
        assert!(
            req.body
                .ends_with("&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.payload.sig")
        );
        assert!(req.header("authorization").is_none());
        drop(sent);
        // Without AWS_ROLE_ARN: a clear error.
        env.vars.remove("AWS_ROLE_ARN");
        let e = err(resolve(&env, &http, None));
        assert!(e.contains("AWS_ROLE_ARN is not"), "{e}");
    }

    #[test]
    fn sso_session_token_cache_and_bearer_header() {
        let mut env = home_env();
        env.config(
            "[profile sso]\nsso_session = corp\nsso_account_id = 111122223333\n\
             sso_role_name = Developer\n\
             [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\
             sso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n",
        )
        .file(
            // sha1("corp")
            &format!("{HOME}/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json"),
            r#"{"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
                "accessToken": "sso-access-token", "expiresAt": "2999-01-01T00:00:00Z",
                "refreshToken": "r"}"#,
        );
        let http = FakeHttp::default().reply(
            "https://portal.sso.eu-west-1.amazonaws.com/federation/credentials?\
             role_name=Developer&account_id=111122223333",
            "",
            200,
            r#"{"roleCredentials": {"accessKeyId": "ASIASSO", "secretAccessKey": "sso-secret",
                "sessionToken": "sso-token", "expiration": 1893456000000}}"#,
        );
        let creds = resolve(&env, &http, Some("sso")).unwrap();
        check(&creds, "ASIASSO", "sso-secret", Some("sso-token"));
        let sent = http.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, "GET");
        assert_eq!(
            sent[0].header("x-amz-sso_bearer_token"),
            Some("sso-access-token")
        );
    }

    #[test]
    fn sso_legacy_cache_by_start_url_and_expiry() {
        let mut env = home_env();
        env.config(
            "[default]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-2\n\
             sso_account_id = 1\nsso_role_name = R\n\
             [profile missing]\nsso_session = nowhere\n",
        );
        let http = FakeHttp::default();
        // No cached token yet.
        let e = err(resolve(&env, &http, None));
        assert!(
            e.contains("79e435d7a515078e81c9dffc35f38d5687ebd3a7.json is missing"),
            "{e}"
        );
        assert!(e.contains("aws sso login --profile default"), "{e}");
        // An expired token, in the old CLI's `UTC` format.
        env.file(
            &format!("{HOME}/.aws/sso/cache/79e435d7a515078e81c9dffc35f38d5687ebd3a7.json"),
            r#"{"accessToken": "old-access-token", "expiresAt": "2020-01-01T00:00:00UTC"}"#,
        );
        let e = err(resolve(&env, &http, None));
        assert!(e.contains("expired at 2020-01-01T00:00:00UTC"), "{e}");
        assert!(
            e.contains("hint: run `aws sso login --profile default`"),
            "{e}"
        );
        let e = err(resolve(&env, &http, Some("missing")));
        assert!(e.contains("no [sso-session nowhere] section"), "{e}");
        assert!(http.sent().is_empty());
    }

    #[test]
    fn ecs_relative_uri() {
        let mut env = home_env();
        env.set(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/abc",
        )
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-auth");
        let http = FakeHttp::default().reply(
            "http://169.254.170.2/v2/credentials/abc",
            "",
            200,
            r#"{"RoleArn": "arn:aws:iam::1:role/task", "AccessKeyId": "ASIAECS",
                "SecretAccessKey": "ecs-secret", "Token": "ecs-token",
                "Expiration": "2030-01-01T00:00:00Z"}"#,
        );
        let creds = resolve(&env, &http, None).unwrap();
        check(&creds, "ASIAECS", "ecs-secret", Some("ecs-token"));
        let sent = http.sent();
        assert_eq!(sent.len(), 1, "IMDS must not be tried");
        assert_eq!(sent[0].method, "GET");
        assert_eq!(sent[0].header("authorization"), Some("ecs-auth"));
    }

    #[test]
    fn ecs_full_uri_token_file_and_host_check() {
        let mut env = home_env();
        env.set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.23/v1/credentials",
        )
        .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-auth")
        .set(
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "/var/run/eks-token",
        )
        .file("/var/run/eks-token", "file-auth\n");
        let http = FakeHttp::default().reply(
            "http://169.254.170.23/v1/credentials",
            "",
            200,
            r#"{"AccessKeyId": "ASIAEKS", "SecretAccessKey": "eks-secret", "Token": "eks-token"}"#,
        );
        let creds = resolve(&env, &http, None).unwrap();
        check(&creds, "ASIAEKS", "eks-secret", Some("eks-token"));
        assert_eq!(http.sent()[0].header("authorization"), Some("file-auth"));
        env.set(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://example.com/creds",
        );
        let e = err(resolve(&env, &http, None));
        assert!(e.contains("must use https"), "{e}");
        assert!(check_container_url("http://localhost:8080/x").is_ok());
        assert!(check_container_url("http://127.0.0.1/x").is_ok());
        assert!(check_container_url("http://[::1]:80/x").is_ok());
        assert!(check_container_url("https://creds.example.com/x").is_ok());
    }

    #[test]
    fn imds_v2_token_flow() {
        let env = home_env();
        let http = FakeHttp::default()
            .reply(
                "http://169.254.169.254/latest/api/token",
                "",
                200,
                "imds-session",
            )
            .reply(
                "http://169.254.169.254/latest/meta-data/iam/security-credentials/my-role",
                "",
                200,
                r#"{"Code": "Success", "LastUpdated": "2024-01-01T00:00:00Z",
                    "Type": "AWS-HMAC", "AccessKeyId": "ASIAEC2",
                    "SecretAccessKey": "ec2-secret", "Token": "ec2-token",
                    "Expiration": "2030-01-01T00:00:00Z"}"#,
            )
            .reply(
                "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                "",
                200,
                "my-role\n",
            );
        let creds = resolve(&env, &http, None).unwrap();
        check(&creds, "ASIAEC2", "ec2-secret", Some("ec2-token"));
        let sent = http.sent();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[0].method, "PUT");
        assert_eq!(
            sent[0].header("X-aws-ec2-metadata-token-ttl-seconds"),
            Some("21600")
        );
        assert!(sent[0].timeout <= Duration::from_secs(2));
        for req in &sent[1..] {
            assert_eq!(req.method, "GET");
            assert_eq!(req.header("X-aws-ec2-metadata-token"), Some("imds-session"));
            assert!(req.timeout <= Duration::from_secs(2));
        }
        assert!(sent[2].url.ends_with("/security-credentials/my-role"));
    }

    #[test]
    fn imds_endpoint_override() {
        let mut env = home_env();
        env.set(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "http://[fd00:ec2::254]/",
        );
        let http = FakeHttp::default();
        let e = err(resolve(&env, &http, None));
        assert!(
            e.contains(
                "EC2 instance metadata (cannot reach http://[fd00:ec2::254]/latest/api/token"
            ),
            "{e}"
        );
        assert_eq!(http.sent().len(), 1);
    }

    #[test]
    fn imds_disabled_lists_tried_sources() {
        let mut env = home_env();
        env.set("AWS_EC2_METADATA_DISABLED", "true")
            .set("AWS_ACCESS_KEY_ID", "AKIDONLY")
            .config("[default]\nregion = eu-west-1\n");
        let http = FakeHttp::default();
        let e = err(resolve(&env, &http, None));
        assert!(e.starts_with("no AWS credentials found; tried: "), "{e}");
        for part in [
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
            "web identity",
            "profile \"default\" (no credential settings in /home/u/.aws/config, \
             /home/u/.aws/credentials (missing))",
            "ECS container credentials",
            "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED=true)",
            "hint: set AWS_PROFILE",
        ] {
            assert!(e.contains(part), "{part:?} missing from {e}");
        }
        assert!(http.sent().is_empty());
    }

    #[test]
    fn missing_profile_names_the_files() {
        let mut env = home_env();
        env.set("AWS_CONFIG_FILE", "/etc/aws/config")
            .file("/etc/aws/config", "[profile other]\nregion = us-east-1\n");
        let e = err(resolve(&env, &FakeHttp::default(), Some("nope")));
        assert!(e.contains("AWS profile \"nope\" not found"), "{e}");
        assert!(
            e.contains("/etc/aws/config, /home/u/.aws/credentials (missing)"),
            "{e}"
        );
    }

    #[test]
    fn sts_error_surfaces_code_and_message() {
        let env = home_env();
        let http = FakeHttp::default().reply(
            "sts.us-east-1.amazonaws.com",
            "Action=AssumeRole",
            403,
            &sts_error(
                "AccessDenied",
                "User: arn:aws:iam::1:user/ci is not authorized to perform: sts:AssumeRole \
                 on resource: arn:aws:iam::123456789012:role/app &amp; more",
            ),
        );
        let base = Credentials::new("AKIDBASE", "base-secret", None);
        let e = err(assume_role(&env, &http, &base, ROLE, "sops@host"));
        assert!(
            e.starts_with(&format!(
                "STS AssumeRole for {ROLE} failed: AccessDenied: User: arn:aws:iam::1:user/ci \
                 is not authorized"
            )),
            "{e}"
        );
        assert!(e.contains("& more"), "{e}");
        assert!(e.contains("hint:"), "{e}");
    }

    #[test]
    fn assume_role_uses_region_and_endpoint_overrides() {
        let mut env = home_env();
        env.set("AWS_DEFAULT_REGION", "ap-south-1");
        assert_eq!(
            super::super::endpoint(&env, "sts", "cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        let base = Credentials::new("ASIABASE", "base-secret", Some("base-token"));
        let http = FakeHttp::default().reply(
            "sts.ap-south-1.amazonaws.com",
            "",
            200,
            &sts_ok("AssumeRole", "ASIAKEY", "key-secret", "key-token"),
        );
        let creds = assume_role(&env, &http, &base, ROLE, "sops@build-host").unwrap();
        check(&creds, "ASIAKEY", "key-secret", Some("key-token"));
        env.set("AWS_ENDPOINT_URL", "https://ignored.example")
            .set("AWS_ENDPOINT_URL_STS", "http://localhost:4566");
        let http = FakeHttp::default().reply(
            "http://localhost:4566/",
            "",
            200,
            &sts_ok("AssumeRole", "ASIALOCAL", "local-secret", "local-token"),
        );
        let creds = assume_role_in_region(
            &env,
            &http,
            &base,
            ROLE,
            "sops@build-host",
            Some("eu-north-1"),
        )
        .unwrap();
        check(&creds, "ASIALOCAL", "local-secret", Some("local-token"));
        let sent = http.sent();
        assert_eq!(sent[0].url, "http://localhost:4566/");
        assert_eq!(sent[0].header("host"), Some("localhost:4566"));
        assert_eq!(sent[0].header("x-amz-security-token"), Some("base-token"));
        assert!(sent[0].body.contains("&RoleSessionName=sops%40build-host"));
        let auth = sent[0].header("authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=ASIABASE/")
                && auth.contains("/eu-north-1/sts/aws4_request"),
            "{auth}"
        );
    }

    #[test]
    fn sts_region_precedence() {
        let mut env = home_env();
        assert_eq!(sts_region(&env, None), "us-east-1");
        env.set("AWS_DEFAULT_REGION", "ap-south-1");
        assert_eq!(sts_region(&env, None), "ap-south-1");
        env.config("[default]\nregion = eu-west-3\n[profile p]\nregion = sa-east-1\n");
        assert_eq!(sts_region(&env, None), "eu-west-3");
        assert_eq!(sts_region(&env, Some("p")), "sa-east-1");
        env.set("AWS_PROFILE", "p");
        assert_eq!(sts_region(&env, None), "sa-east-1");
        env.set("AWS_REGION", "us-west-1");
        assert_eq!(sts_region(&env, Some("p")), "us-west-1");
    }

    #[test]
    fn ini_parsing_follows_the_sdk() {
        let text = "\
top = ignored
# comment
; comment
[profile  spaced]   # trailing comment
Region = eu-west-1 ; inline comment
output: json
quoted = \"a \\\"b\\\"\"
multi = first
  second
s3 =
  max_concurrent_requests = 10
  [default]
";
        let sections = parse_ini(text).unwrap();
        let spaced = &sections["profile spaced"];
        assert_eq!(spaced["region"].as_str(), "eu-west-1");
        assert_eq!(spaced["output"].as_str(), "json");
        assert_eq!(spaced["quoted"].as_str(), "a \"b\"");
        assert_eq!(spaced["multi"].as_str(), "first\nsecond");
        assert_eq!(spaced["s3"].as_str(), "");
        assert!(!spaced.contains_key("top"));
        assert_eq!(sections.len(), 1);
        assert_eq!(parse_ini("[a]\nx = 1\nnot a property\n").err(), Some(3));

        let mut env = home_env();
        env.config(
            "[profile default]\nregion = from-profile-default\n[default]\nregion = plain\n\
             [plain]\nregion = dropped\n",
        )
        .credentials("[profile x]\naws_access_key_id = A\naws_secret_access_key = s\n");
        let files = SharedFiles::load(&env).unwrap();
        assert_eq!(
            files.profiles["default"].get("region"),
            Some("from-profile-default")
        );
        assert!(!files.profiles.contains_key("plain"));
        assert!(!files.profiles.contains_key("x"));
        assert!(!files.profiles.contains_key("profile x"));
    }

    #[test]
    fn errors_never_contain_secrets() {
        let mut errors = Vec::new();
        let http = FakeHttp::default()
            .reply(
                "sts.",
                "",
                400,
                &sts_error("InvalidIdentityToken", "bad token"),
            )
            .reply(
                "169.254.170.2",
                "",
                403,
                r#"{"code":"Denied","message":"no"}"#,
            );

        // credential_process printing broken or mistyped JSON around a secret.
        let mut env = home_env();
        env.config(
            "[profile broken]\ncredential_process = broken\n\
             [profile typed]\ncredential_process = typed\n\
             [profile partial]\naws_secret_access_key = SECRET-MARKER-3\n",
        );
        env.command(
            "broken",
            br#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "SECRET-MARKER-1",}"#,
        );
        env.command(
            "typed",
            br#"{"Version": "SECRET-MARKER-2", "SecretAccessKey": "SECRET-MARKER-2"}"#,
        );
        for profile in ["broken", "typed", "partial"] {
            errors.push(err(resolve(&env, &http, Some(profile))));
        }
        // A failed signed STS call.
        let base = Credentials::new("AKID", "SECRET-MARKER-4", Some("SECRET-MARKER-5"));
        errors.push(err(assume_role(&env, &http, &base, ROLE, "s")));
        // A failed web identity call.
        let mut env = home_env();
        env.set("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")
            .set("AWS_ROLE_ARN", ROLE)
            .file("/t", "SECRET-MARKER-6");
        errors.push(err(resolve(&env, &http, None)));
        // An expired SSO token.
        let mut env = home_env();
        env.config(
            "[default]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-2\n\
             sso_account_id = 1\nsso_role_name = R\n",
        )
        .file(
            &format!("{HOME}/.aws/sso/cache/79e435d7a515078e81c9dffc35f38d5687ebd3a7.json"),
            r#"{"accessToken": "SECRET-MARKER-7", "expiresAt": "2020-01-01T00:00:00Z"}"#,
        );
        errors.push(err(resolve(&env, &http, None)));
        // A refused container credentials request.
        let mut env = home_env();
        env.set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds")
            .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "SECRET-MARKER-8");
        errors.push(err(resolve(&env, &http, None)));
        // A malformed line in the credentials file.
        let mut env = home_env();
        env.credentials("[p]\nSECRET-MARKER-9\n");
        errors.push(err(resolve(&env, &http, Some("p"))));

        assert_eq!(errors.len(), 8);
        for e in &errors {
            assert!(!e.contains("SECRET-MARKER"), "{e}");
        }
        assert!(
            errors[0].contains("is not valid JSON (line 1"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].contains("unexpected value types"),
            "{}",
            errors[1]
        );
        assert!(errors[2].contains("no aws_access_key_id"), "{}", errors[2]);
        assert!(
            errors[3].contains("InvalidIdentityToken: bad token"),
            "{}",
            errors[3]
        );
        assert!(errors[4].contains("InvalidIdentityToken"), "{}", errors[4]);
        assert!(errors[5].contains("expired"), "{}", errors[5]);
        assert!(errors[6].contains("HTTP 403: Denied: no"), "{}", errors[6]);
        assert!(errors[7].contains("line 2"), "{}", errors[7]);
    }
}

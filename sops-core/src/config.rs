//! `.sops.yaml`: creation rules and store settings (`config/config.go`). Takes bytes and
//! paths; finding and reading the file is the caller's job.

use regex::Regex;

use crate::keys::age;
use crate::metadata::{Field, KeyGroup, KeyKind, MasterKey};
use crate::rules::{CryptRule, RuleError};
use crate::store::{self, Format, StoreOptions};
use crate::tree::{Branch, Item, Value};

/// The configuration file is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not valid YAML.
    #[error("cannot parse the config file: {0}")]
    Parse(#[from] store::StoreError),
    /// A field has the wrong shape.
    #[error("invalid config: {field}: {reason}")]
    Invalid {
        /// Where (e.g. `creation_rules[1].path_regex`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Partial-encryption fields conflict.
    #[error("invalid config: {0}")]
    Rule(#[from] RuleError),
    /// Creation rules exist but none matches the file (sops exits 1, even with keys on the
    /// command line).
    #[error("error loading config: no matching creation rules found")]
    NoMatchingRule,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// One creation rule.
#[derive(Debug)]
pub struct CreationRule {
    /// The path filter (unanchored search); `None` matches every file.
    pub path_regex: Option<Regex>,
    /// The key groups (keys without `enc`).
    pub key_groups: Vec<KeyGroup>,
    /// `shamir_threshold` (0 = unset).
    pub shamir_threshold: usize,
    /// The partial-encryption rule, if any.
    pub rule: Option<CryptRule>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
}

impl CreationRule {
    /// The Shamir threshold `updatekeys` stores when re-wrapping a file whose threshold is
    /// `current`: the rule's when set, else the file's, at most the number of groups.
    pub fn threshold_for(&self, current: usize) -> usize {
        let t = if self.shamir_threshold != 0 {
            self.shamir_threshold
        } else {
            current
        };
        if self.key_groups.len() > 1 {
            t.min(self.key_groups.len())
        } else {
            t
        }
    }
}

/// A parsed `.sops.yaml`.
#[derive(Debug, Default)]
pub struct Config {
    /// Creation rules, first match wins.
    pub creation_rules: Vec<CreationRule>,
    /// Store settings.
    pub stores: StoreOptions,
}

impl Config {
    /// Parses a config file's bytes.
    pub fn parse(input: &[u8]) -> Result<Self, ConfigError> {
        let tree = store::parse(Format::Yaml, input)?;
        let mut config = Self::default();
        let Some(root) = tree.branches.first() else {
            return Ok(config);
        };
        if let Some(stores) = root.get("stores") {
            let stores = as_map(stores, "stores")?;
            let indent = |name: &str| -> Result<Option<i64>, ConfigError> {
                match stores.get(name) {
                    Some(Value::Map(m)) => match m.get("indent") {
                        Some(Value::Int(i)) => Ok(Some(*i)),
                        None | Some(Value::Null) => Ok(None),
                        Some(_) => Err(invalid(
                            format!("stores.{name}.indent"),
                            "expected an integer",
                        )),
                    },
                    None | Some(Value::Null) => Ok(None),
                    Some(_) => Err(invalid(format!("stores.{name}"), "expected a mapping")),
                }
            };
            if let Some(i) = indent("yaml")? {
                if i < 0 {
                    return Err(invalid("stores.yaml.indent", "must not be negative"));
                }
                config.stores.yaml_indent = if i == 0 { 4 } else { i as usize };
            }
            for (name, slot) in [
                ("json", &mut config.stores.json_indent),
                ("json_binary", &mut config.stores.json_binary_indent),
            ] {
                if let Some(i) = indent(name)? {
                    if i < -1 {
                        return Err(invalid(
                            format!("stores.{name}.indent"),
                            "must be -1 or more",
                        ));
                    }
                    *slot = i as i32;
                }
            }
        }
        if let Some(rules) = root.get("creation_rules") {
            let Value::List(rules) = rules else {
                return if matches!(rules, Value::Null) {
                    Ok(config)
                } else {
                    Err(invalid("creation_rules", "expected a list"))
                };
            };
            for (i, rule) in rules.iter().enumerate() {
                let at = format!("creation_rules[{i}]");
                config
                    .creation_rules
                    .push(parse_rule(as_map(rule, &at)?, &at)?);
            }
        }
        Ok(config)
    }

    /// The first creation rule matching `rel_path` (the file path relative to the config
    /// file's folder, or absolute when outside it). `Ok(None)` when there are no rules at all.
    pub fn rule_for(&self, rel_path: &str) -> Result<Option<&CreationRule>, ConfigError> {
        if self.creation_rules.is_empty() {
            return Ok(None);
        }
        self.creation_rules
            .iter()
            .find(|r| r.path_regex.as_ref().is_none_or(|re| re.is_match(rel_path)))
            .map(Some)
            .ok_or(ConfigError::NoMatchingRule)
    }
}

/// The path creation rules see: absolute `file` relative to the config's folder when inside it.
pub fn rule_path(config_dir: &std::path::Path, file: &std::path::Path) -> String {
    match file.strip_prefix(config_dir) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => file.to_string_lossy().into_owned(),
    }
}

fn as_map<'a>(v: &'a Value, at: &str) -> Result<&'a Branch, ConfigError> {
    match v {
        Value::Map(m) => Ok(m),
        _ => Err(invalid(at, "expected a mapping")),
    }
}

fn string_field(m: &Branch, name: &str, at: &str) -> Result<String, ConfigError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(Value::Int(i)) => Ok(i.to_string()),
        Some(_) => Err(invalid(format!("{at}.{name}"), "expected a string")),
    }
}

/// Keys as a comma-separated string or a list of strings (trimmed, empties dropped).
fn key_list(m: &Branch, name: &str, at: &str) -> Result<Vec<String>, ConfigError> {
    let items: Vec<String> = match m.get(name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Str(s)) => s.split(',').map(str::to_owned).collect(),
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(Ok(s.clone())),
                Value::Comment(_) => None,
                _ => Some(Err(invalid(format!("{at}.{name}"), "expected strings"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                format!("{at}.{name}"),
                "expected a string or a list",
            ));
        }
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

fn parse_rule(m: &Branch, at: &str) -> Result<CreationRule, ConfigError> {
    let path_regex = match string_field(m, "path_regex", at)? {
        s if s.is_empty() => None,
        s => Some(Regex::new(&s).map_err(|e| invalid(format!("{at}.path_regex"), e.to_string()))?),
    };
    let fields: Vec<(&str, String)> = CryptRule::FIELDS
        .iter()
        .map(|f| Ok((*f, string_field(m, f, at)?)))
        .collect::<Result<_, ConfigError>>()?;
    let rule = CryptRule::from_fields(fields.iter().map(|(f, v)| (*f, v.as_str())))?;
    let shamir_threshold = match m.get("shamir_threshold") {
        None | Some(Value::Null) => 0,
        Some(Value::Int(i)) if *i >= 0 => *i as usize,
        Some(_) => {
            return Err(invalid(
                format!("{at}.shamir_threshold"),
                "expected an integer",
            ));
        }
    };
    let mac_only_encrypted = matches!(m.get("mac_only_encrypted"), Some(Value::Bool(true)));
    let key_groups = match m.get("key_groups") {
        Some(Value::List(groups)) if !groups.is_empty() => groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !matches!(g, Value::Comment(_)))
            .map(|(i, g)| {
                group_from(
                    as_map(g, &format!("{at}.key_groups[{i}]"))?,
                    &format!("{at}.key_groups[{i}]"),
                    0,
                )
            })
            .collect::<Result<_, _>>()?,
        _ => {
            let mut g = KeyGroup::default();
            add_simple_keys(&mut g, m, at, "azure_keyvault", "hc_vault_transit_uri")?;
            if g.keys.is_empty() {
                Vec::new()
            } else {
                vec![g]
            }
        }
    };
    Ok(CreationRule {
        path_regex,
        key_groups,
        shamir_threshold,
        rule,
        mac_only_encrypted,
    })
}

/// The single-group key fields, in sops' parsing order: age, pgp, kms, gcp_kms, azure, vault.
fn add_simple_keys(
    g: &mut KeyGroup,
    m: &Branch,
    at: &str,
    azure_field: &str,
    vault_field: &str,
) -> Result<(), ConfigError> {
    for r in key_list(m, "age", at)? {
        push_unique(g, age::key_for(&r));
    }
    for fp in key_list(m, "pgp", at)? {
        push_unique(g, pgp_key(&fp));
    }
    let profile = string_field(m, "aws_profile", at)?;
    for arn in key_list(m, "kms", at)? {
        push_unique(g, kms_key(&arn, &profile, Vec::new()));
    }
    for id in key_list(m, "gcp_kms", at)? {
        push_unique(g, MasterKey::new(KeyKind::GcpKms, &[("resource_id", &id)]));
    }
    for url in key_list(m, azure_field, at)? {
        push_unique(g, azure_from_url(&url, at)?);
    }
    for uri in key_list(m, vault_field, at)? {
        push_unique(g, vault_from_uri(&uri, at)?);
    }
    Ok(())
}

fn group_from(m: &Branch, at: &str, depth: usize) -> Result<KeyGroup, ConfigError> {
    if depth > 16 {
        return Err(invalid(at, "merge nesting too deep"));
    }
    let mut g = KeyGroup::default();
    if let Some(Value::List(merged)) = m.get("merge") {
        for (i, sub) in merged.iter().enumerate() {
            let sub_at = format!("{at}.merge[{i}]");
            for k in group_from(as_map(sub, &sub_at)?, &sub_at, depth + 1)?.keys {
                push_unique(&mut g, k);
            }
        }
    }
    for r in key_list(m, "age", at)? {
        push_unique(&mut g, age::key_for(&r));
    }
    for fp in key_list(m, "pgp", at)? {
        push_unique(&mut g, pgp_key(&fp));
    }
    if let Some(Value::List(kms)) = m.get("kms") {
        for (i, k) in kms.iter().enumerate() {
            let k_at = format!("{at}.kms[{i}]");
            let km = as_map(k, &k_at)?;
            let context = match km.get("context") {
                Some(Value::Map(c)) => c
                    .items
                    .iter()
                    .filter_map(|item| match item {
                        Item::Pair {
                            key,
                            value: Value::Str(v),
                        } => Some((key.clone(), v.clone())),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let arn = string_field(km, "arn", &k_at)?;
            let role = string_field(km, "role", &k_at)?;
            let full = if role.is_empty() {
                arn
            } else {
                format!("{arn}+{role}")
            };
            push_unique(
                &mut g,
                kms_key(&full, &string_field(km, "aws_profile", &k_at)?, context),
            );
        }
    }
    if let Some(Value::List(gcp)) = m.get("gcp_kms") {
        for (i, k) in gcp.iter().enumerate() {
            let k_at = format!("{at}.gcp_kms[{i}]");
            let id = string_field(as_map(k, &k_at)?, "resource_id", &k_at)?;
            push_unique(
                &mut g,
                MasterKey::new(KeyKind::GcpKms, &[("resource_id", &id)]),
            );
        }
    }
    if let Some(Value::List(az)) = m.get("azure_keyvault") {
        for (i, k) in az.iter().enumerate() {
            let k_at = format!("{at}.azure_keyvault[{i}]");
            let km = as_map(k, &k_at)?;
            push_unique(
                &mut g,
                MasterKey::new(
                    KeyKind::AzureKv,
                    &[
                        ("vault_url", &string_field(km, "vaultUrl", &k_at)?),
                        ("name", &string_field(km, "key", &k_at)?),
                        ("version", &string_field(km, "version", &k_at)?),
                    ],
                ),
            );
        }
    }
    for uri in key_list(m, "hc_vault", at)? {
        push_unique(&mut g, vault_from_uri(&uri, at)?);
    }
    Ok(g)
}

fn push_unique(g: &mut KeyGroup, k: MasterKey) {
    let id = (k.kind, k.identifier());
    if !g.keys.iter().any(|e| (e.kind, e.identifier()) == id) {
        g.keys.push(k);
    }
}

/// A PGP key entry (`fp` without spaces).
pub fn pgp_key(fp: &str) -> MasterKey {
    MasterKey::new(KeyKind::Pgp, &[("fp", &fp.replace(' ', ""))])
}

/// An AWS KMS key entry from `arn[+role]`.
pub fn kms_key(arn_role: &str, profile: &str, context: Vec<(String, String)>) -> MasterKey {
    let cleaned = arn_role.replace(' ', "");
    let (arn, role) = cleaned.split_once('+').unwrap_or((&cleaned, ""));
    let mut k = MasterKey::new(KeyKind::Kms, &[("arn", arn)]);
    if !role.is_empty() {
        k.fields
            .push(("role".to_owned(), Field::Str(role.to_owned())));
    }
    if !context.is_empty() {
        let mut context = context;
        context.sort();
        k.fields.push(("context".to_owned(), Field::Map(context)));
    }
    k.fields
        .push(("aws_profile".to_owned(), Field::Str(profile.to_owned())));
    k
}

fn azure_from_url(url: &str, at: &str) -> Result<MasterKey, ConfigError> {
    let re = Regex::new(r"^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$")
        .map_err(|e| invalid(at, e.to_string()))?;
    let caps = re.captures(url.trim()).ok_or_else(|| {
        invalid(
            at,
            "Azure Key Vault URL must look like https://<vault>/keys/<name>[/<version>]",
        )
    })?;
    let version = caps
        .get(3)
        .map(|m| m.as_str().trim_start_matches('/'))
        .unwrap_or("");
    Ok(MasterKey::new(
        KeyKind::AzureKv,
        &[
            ("vault_url", &caps[1]),
            ("name", &caps[2]),
            ("version", version),
        ],
    ))
}

/// A Vault transit key entry from `https://host:port/v1/<engine>/keys/<name>`.
pub fn vault_key(uri: &str) -> Result<MasterKey, String> {
    vault_from_uri(uri, "--hc-vault-transit").map_err(|e| e.to_string())
}

/// An Azure Key Vault key entry from `https://<vault>/keys/<name>[/<version>]`.
pub fn azure_key(url: &str) -> Result<MasterKey, String> {
    azure_from_url(url, "--azure-kv").map_err(|e| e.to_string())
}

/// A GCP KMS key entry from its resource id.
pub fn gcp_key(resource_id: &str) -> MasterKey {
    MasterKey::new(KeyKind::GcpKms, &[("resource_id", resource_id.trim())])
}

fn vault_from_uri(uri: &str, at: &str) -> Result<MasterKey, ConfigError> {
    let re = Regex::new(r"^(https?://[^/]+)/v1/(.+)/keys/([^/]+)$")
        .map_err(|e| invalid(at, e.to_string()))?;
    let caps = re.captures(uri.trim()).ok_or_else(|| {
        invalid(
            at,
            "Vault URI must look like https://host:port/v1/<engine>/keys/<name>",
        )
    })?;
    Ok(MasterKey::new(
        KeyKind::HcVault,
        &[
            ("vault_address", &caps[1]),
            ("engine_path", &caps[2]),
            ("key_name", &caps[3]),
        ],
    ))
}

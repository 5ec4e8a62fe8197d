//! The `sops` metadata block: its internal model and its wire forms (`stores/stores.go`).
//!
//! YAML, JSON and binary files carry the block as a nested `sops` mapping; dotenv and INI carry
//! it flattened (`sops_age__list_0__map_enc=…`, `stores/flatten.go`). Field order on output is
//! the order of sops' Go struct, because `yaml.v3` and `encoding/json` marshal in field order.
//! Master keys are kept as their ordered field lists, so key types this build cannot use (KMS,
//! PGP without gpg, …) survive a read and a rewrite verbatim.

use std::fmt;

use crate::rules::{CryptRule, RuleError};
use crate::timestamp::Timestamp;
use crate::tree::{Branch, Item, Value};

/// The metadata block is missing or invalid.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The file has no `sops` block: it is not encrypted.
    #[error("sops metadata not found")]
    NotFound,
    /// A field has the wrong shape or value.
    #[error("invalid sops metadata: {field}: {reason}")]
    Invalid {
        /// The metadata field (dotted path).
        field: String,
        /// What is wrong with it (never a secret).
        reason: String,
    },
    /// No key group holds any key.
    #[error("no keys found in file")]
    NoKeys,
    /// The partial-encryption rules are invalid.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> MetadataError {
    MetadataError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The kind of a master key; [`KeyKind::name`] is its list name in the `sops` block.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
#[non_exhaustive]
pub enum KeyKind {
    /// AWS KMS (`kms`).
    Kms,
    /// GCP KMS (`gcp_kms`).
    GcpKms,
    /// HuaweiCloud KMS (`hckms`, written by sops builds after 3.11.0).
    Hckms,
    /// Azure Key Vault (`azure_kv`).
    AzureKv,
    /// HashiCorp Vault transit (`hc_vault`).
    HcVault,
    /// OpenPGP (`pgp`).
    Pgp,
    /// age (`age`).
    Age,
}

impl KeyKind {
    /// Every kind, in sops' internal order within a group after reading (`internalKeygroups`).
    pub const READ_ORDER: [Self; 7] = [
        Self::Kms,
        Self::GcpKms,
        Self::Hckms,
        Self::AzureKv,
        Self::HcVault,
        Self::Pgp,
        Self::Age,
    ];

    /// The list name in the metadata block.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kms => "kms",
            Self::GcpKms => "gcp_kms",
            Self::Hckms => "hckms",
            Self::AzureKv => "azure_kv",
            Self::HcVault => "hc_vault",
            Self::Pgp => "pgp",
            Self::Age => "age",
        }
    }

    /// The kind with this metadata list name (also the `--decryption-order` names).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::READ_ORDER.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One master key entry: its kind and its fields in file order (e.g. `recipient`, `enc`).
/// Public data only: the wrapped data key is ciphertext.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct MasterKey {
    /// The key type.
    pub kind: KeyKind,
    /// The fields in file order.
    pub fields: Vec<(String, Field)>,
}

/// A master key field: a string, or a string map (the KMS encryption `context`).
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Field {
    /// A string field.
    Str(String),
    /// A mapping of strings, in file order.
    Map(Vec<(String, String)>),
}

impl Field {
    fn to_value(&self) -> Value {
        match self {
            Self::Str(s) => Value::Str(s.clone()),
            Self::Map(pairs) => {
                let mut b = Branch::new();
                for (k, v) in pairs {
                    b.push(k.clone(), Value::Str(v.clone()));
                }
                Value::Map(b)
            }
        }
    }

    fn from_value(value: &Value, at: &str) -> Result<Self, MetadataError> {
        Ok(match value {
            Value::Str(s) => Self::Str(s.clone()),
            Value::Null => Self::Str(String::new()),
            Value::Time(t) => Self::Str(t.to_rfc3339_nano()),
            Value::Int(i) => Self::Str(i.to_string()),
            Value::Bool(b) => Self::Str(b.to_string()),
            Value::Map(m) => Self::Map(
                m.items
                    .iter()
                    .filter_map(|i| match i {
                        Item::Pair { key, value } => Some((key, value)),
                        Item::Comment(_) => None,
                    })
                    .map(|(k, v)| match v {
                        Value::Str(s) => Ok((k.clone(), s.clone())),
                        _ => Err(invalid(format!("{at}.{k}"), "expected a string")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(invalid(at, "expected a string")),
        })
    }
}

impl MasterKey {
    /// A new entry from ordered string fields.
    pub fn new(kind: KeyKind, fields: &[(&str, &str)]) -> Self {
        Self {
            kind,
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Field::Str((*v).to_owned())))
                .collect(),
        }
    }

    /// A string field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find_map(|(k, v)| match v {
            Field::Str(s) if k == name => Some(s.as_str()),
            _ => None,
        })
    }

    /// Sets (or appends) a string field.
    pub fn set_field(&mut self, name: &str, value: String) {
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = Field::Str(value),
            None => self.fields.push((name.to_owned(), Field::Str(value))),
        }
    }

    /// The wrapped data key (or share).
    pub fn enc(&self) -> &str {
        self.field("enc").unwrap_or("")
    }

    /// sops' string form of the key (`ToString`): what error reports, `--rm-*` and
    /// `updatekeys` compare.
    pub fn identifier(&self) -> String {
        let f = |n: &str| self.field(n).unwrap_or("").to_owned();
        match self.kind {
            KeyKind::Age => f("recipient"),
            KeyKind::Pgp => f("fp"),
            KeyKind::GcpKms => f("resource_id"),
            KeyKind::Hckms => f("key_id"),
            KeyKind::AzureKv => format!("{}/keys/{}/{}", f("vault_url"), f("name"), f("version")),
            KeyKind::HcVault => format!(
                "{}/v1/{}/keys/{}",
                f("vault_address"),
                f("engine_path"),
                f("key_name")
            ),
            KeyKind::Kms => {
                let mut s = f("arn");
                if let Some(role) = self.field("role").filter(|r| !r.is_empty()) {
                    s.push('+');
                    s.push_str(role);
                }
                if let Some((_, Field::Map(ctx))) = self.fields.iter().find(|(k, _)| k == "context")
                {
                    let mut pairs: Vec<String> =
                        ctx.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    pairs.sort();
                    if !pairs.is_empty() {
                        s.push('|');
                        s.push_str(&pairs.join(","));
                    }
                }
                if let Some(p) = self.field("aws_profile").filter(|p| !p.is_empty()) {
                    s.push('|');
                    s.push_str(p);
                }
                s
            }
        }
    }
}

/// One key group: any of its keys recovers the group's part of the data key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    /// The keys, in sops' internal order.
    pub keys: Vec<MasterKey>,
}

/// The parsed `sops` block.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Shares needed to recover the data key with several groups (0 = unset).
    pub shamir_threshold: usize,
    /// The key groups (one group is written in the flat layout).
    pub key_groups: Vec<KeyGroup>,
    /// `lastmodified` exactly as stored.
    pub last_modified: String,
    /// The encrypted MAC (`ENC[...]`), or empty.
    pub mac: String,
    /// The partial-encryption rule stored in the file, if any.
    pub rule: Option<CryptRule>,
    /// Whether only encrypted values are covered by the MAC.
    pub mac_only_encrypted: bool,
    /// The sops version that wrote the file, as stored.
    pub version: String,
}

/// How empty per-group key lists are written: YAML `[]`, JSON `null` (Go marshals nil slices
/// differently in the two encoders).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum EmptyList {
    /// `hc_vault: []` (yaml.v3).
    EmptyList,
    /// `"hc_vault": null` (encoding/json, and the flattening which then drops it).
    Null,
}

/// The version this library writes into new files (the sops version it is compatible with).
pub const SOPS_VERSION: &str = "3.11.0";

impl Metadata {
    /// Reads the nested metadata value (the `sops` mapping). Also accepts the unflattened form
    /// of dotenv/INI metadata, where every scalar is a string.
    pub fn from_value(value: &Value) -> Result<Self, MetadataError> {
        let Value::Map(map) = value else {
            return Err(invalid("sops", "expected a mapping"));
        };
        let text = |name: &str| -> Result<Option<String>, MetadataError> {
            match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Str(s)) => Ok(Some(s.clone())),
                Some(Value::Time(t)) => Ok(Some(t.to_rfc3339_nano())),
                Some(Value::Float(f)) => Ok(Some(crate::cipher::format_float_f(*f))),
                Some(Value::Int(i)) => Ok(Some(i.to_string())),
                Some(_) => Err(invalid(name, "expected a string")),
            }
        };
        let last_modified = text("lastmodified")?.unwrap_or_default();
        Timestamp::parse_rfc3339(&last_modified)
            .map_err(|_| invalid("lastmodified", "not an RFC 3339 timestamp"))?;
        let shamir_threshold = match map.get("shamir_threshold") {
            None | Some(Value::Null) => 0,
            Some(Value::Int(i)) if *i >= 0 => *i as usize,
            // dotenv/INI store it as a string; older versions wrote a float string.
            Some(Value::Str(s)) => parse_threshold(s)?,
            Some(Value::Float(f)) if f.fract() == 0.0 && *f >= 0.0 => *f as usize,
            Some(_) => return Err(invalid("shamir_threshold", "expected an integer")),
        };
        let mac_only_encrypted = match map.get("mac_only_encrypted") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            // Flattened form: only the exact string "true" is true (`DecodeNonStrings`).
            Some(Value::Str(s)) => s == "true",
            Some(_) => return Err(invalid("mac_only_encrypted", "expected a boolean")),
        };
        let mut rule_fields = Vec::new();
        for field in CryptRule::FIELDS {
            if let Some(v) = text(field)? {
                rule_fields.push((field, v));
            }
        }
        let rule = CryptRule::from_fields(rule_fields.iter().map(|(f, v)| (*f, v.as_str())))?;
        let flat = read_group(map, "sops")?;
        let key_groups = if !flat.keys.is_empty() {
            vec![flat]
        } else {
            match map.get("key_groups") {
                Some(Value::List(groups)) if !groups.is_empty() => groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| match g {
                        Value::Map(m) => read_group(m, &format!("key_groups[{i}]")),
                        Value::Null => Ok(KeyGroup::default()),
                        _ => Err(invalid(format!("key_groups[{i}]"), "expected a mapping")),
                    })
                    .collect::<Result<_, _>>()?,
                _ => Vec::new(),
            }
        };
        if key_groups.iter().all(|g| g.keys.is_empty()) {
            return Err(MetadataError::NoKeys);
        }
        Ok(Self {
            shamir_threshold,
            key_groups,
            last_modified,
            mac: text("mac")?.unwrap_or_default(),
            rule,
            mac_only_encrypted,
            version: text("version")?.unwrap_or_default(),
        })
    }

    /// The MAC's additional data: `lastmodified` re-formatted as RFC 3339 (seconds precision).
    pub fn mac_aad(&self) -> Result<String, MetadataError> {
        Timestamp::parse_rfc3339(&self.last_modified)
            .map(|t| t.to_rfc3339())
            .map_err(|_| invalid("lastmodified", "not an RFC 3339 timestamp"))
    }

    /// The nested form, in sops' field order.
    pub fn to_value(&self, empty: EmptyList) -> Value {
        let mut out = Branch::new();
        if self.shamir_threshold != 0 {
            out.push("shamir_threshold", Value::Int(self.shamir_threshold as i64));
        }
        let single = self.key_groups.len() == 1;
        if self.key_groups.len() > 1 {
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    let mut m = Branch::new();
                    // Inside a group: pgp, kms, gcp_kms, (hckms), azure_kv omitted when empty,
                    // hc_vault and age always present (no omitempty on those struct fields).
                    for kind in [
                        KeyKind::Pgp,
                        KeyKind::Kms,
                        KeyKind::GcpKms,
                        KeyKind::Hckms,
                        KeyKind::AzureKv,
                        KeyKind::HcVault,
                        KeyKind::Age,
                    ] {
                        let list = keys_of(g, kind);
                        if !list.is_empty() {
                            m.push(kind.name(), Value::List(list));
                        } else if matches!(kind, KeyKind::HcVault | KeyKind::Age) {
                            m.push(
                                kind.name(),
                                match empty {
                                    EmptyList::EmptyList => Value::List(Vec::new()),
                                    EmptyList::Null => Value::Null,
                                },
                            );
                        }
                    }
                    Value::Map(m)
                })
                .collect();
            out.push("key_groups", Value::List(groups));
        }
        let flat_list = |out: &mut Branch, kind: KeyKind| {
            if single {
                let list = keys_of(&self.key_groups[0], kind);
                if !list.is_empty() {
                    out.push(kind.name(), Value::List(list));
                }
            }
        };
        for kind in [
            KeyKind::Kms,
            KeyKind::GcpKms,
            KeyKind::Hckms,
            KeyKind::AzureKv,
            KeyKind::HcVault,
            KeyKind::Age,
        ] {
            flat_list(&mut out, kind);
        }
        out.push("lastmodified", Value::Str(self.last_modified.clone()));
        out.push("mac", Value::Str(self.mac.clone()));
        // sops quirk: `pgp` comes after `lastmodified` and `mac` in the flat layout (the Go
        // struct declares it there).
        flat_list(&mut out, KeyKind::Pgp);
        if let Some(rule) = &self.rule {
            out.push(rule.field(), Value::Str(rule.value().to_owned()));
        }
        if self.mac_only_encrypted {
            out.push("mac_only_encrypted", Value::Bool(true));
        }
        out.push("version", Value::Str(self.version.clone()));
        Value::Map(out)
    }

    /// The flattened `(key, value)` pairs for dotenv/INI (`stores/flatten.go`), without the
    /// `sops_` prefix, in sops' field order. Newlines are escaped as the two characters `\n`.
    pub fn to_flat(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        flatten(&self.to_value(EmptyList::Null), "", &mut out);
        out
    }

    /// Reads flattened metadata pairs (keys without the `sops_` prefix).
    pub fn from_flat<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, MetadataError> {
        let mut root = Value::Map(Branch::new());
        for (key, value) in pairs {
            let decoded = value.replace("\\n", "\n");
            insert_flat(&mut root, key, Value::Str(decoded))?;
        }
        Self::from_value(&root)
    }

    /// Every master key of every group.
    pub fn keys(&self) -> impl Iterator<Item = &MasterKey> {
        self.key_groups.iter().flat_map(|g| g.keys.iter())
    }
}

fn parse_threshold(s: &str) -> Result<usize, MetadataError> {
    if let Ok(n) = s.parse::<usize>() {
        return Ok(n);
    }
    match s.parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f >= 0.0 => Ok(f as usize),
        _ => Err(invalid("shamir_threshold", "expected an integer")),
    }
}

fn keys_of(group: &KeyGroup, kind: KeyKind) -> Vec<Value> {
    group
        .keys
        .iter()
        .filter(|k| k.kind == kind)
        .map(|k| {
            let mut m = Branch::new();
            for (name, v) in &k.fields {
                m.push(name.clone(), v.to_value());
            }
            Value::Map(m)
        })
        .collect()
}

fn read_group(map: &Branch, at: &str) -> Result<KeyGroup, MetadataError> {
    let mut group = KeyGroup::default();
    for kind in KeyKind::READ_ORDER {
        match map.get(kind.name()) {
            None | Some(Value::Null) => {}
            Some(Value::List(list)) => {
                for (i, entry) in list.iter().enumerate() {
                    let Value::Map(m) = entry else {
                        return Err(invalid(
                            format!("{at}.{}[{i}]", kind.name()),
                            "expected a mapping",
                        ));
                    };
                    let at = format!("{at}.{}[{i}]", kind.name());
                    let fields = m
                        .items
                        .iter()
                        .filter_map(|item| match item {
                            Item::Pair { key, value } => Some((key, value)),
                            Item::Comment(_) => None,
                        })
                        .map(|(k, v)| Ok((k.clone(), Field::from_value(v, &format!("{at}.{k}"))?)))
                        .collect::<Result<_, MetadataError>>()?;
                    let key = MasterKey { kind, fields };
                    if key.field("enc").is_none() {
                        return Err(invalid(
                            format!("{at}.{}[{i}].enc", kind.name()),
                            "missing wrapped data key",
                        ));
                    }
                    group.keys.push(key);
                }
            }
            Some(_) => {
                return Err(invalid(format!("{at}.{}", kind.name()), "expected a list"));
            }
        }
    }
    Ok(group)
}

fn flatten(value: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Map(m) => {
            for item in &m.items {
                if let Item::Pair { key, value } = item {
                    let k = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}__map_{key}")
                    };
                    flatten(value, &k, out);
                }
            }
        }
        Value::List(l) => {
            for (i, v) in l.iter().enumerate() {
                flatten(v, &format!("{prefix}__list_{i}"), out);
            }
        }
        // `EncodeNonStrings` + dropping nil entries.
        Value::Null => {}
        Value::Str(s) => out.push((prefix.to_owned(), s.replace('\n', "\\n"))),
        Value::Bool(b) => out.push((prefix.to_owned(), b.to_string())),
        Value::Int(i) => out.push((prefix.to_owned(), i.to_string())),
        Value::Float(f) => out.push((prefix.to_owned(), format!("{f:.0}"))),
        Value::Time(t) => out.push((prefix.to_owned(), t.to_rfc3339())),
        Value::Bytes(_) | Value::Comment(_) => {}
    }
}

/// Inserts one flattened entry into the nested tree (`unflatten`): keys split at `__map_` and
/// `__list_`; lists grow as needed with nulls for missing indices.
fn insert_flat(root: &mut Value, key: &str, leaf: Value) -> Result<(), MetadataError> {
    let mut segments: Vec<(bool, &str)> = Vec::new(); // (is_list, name)
    let mut rest = key;
    let first_end = next_sep(rest).map(|(i, _)| i).unwrap_or(rest.len());
    segments.push((false, &rest[..first_end]));
    rest = &rest[first_end..];
    while !rest.is_empty() {
        let Some((0, is_list)) = next_sep(rest) else {
            return Err(invalid(key, "malformed flattened key"));
        };
        rest = &rest[if is_list { 7 } else { 6 }..];
        let end = next_sep(rest).map(|(i, _)| i).unwrap_or(rest.len());
        segments.push((is_list, &rest[..end]));
        rest = &rest[end..];
    }
    let mut cur = root;
    for (n, (is_list, name)) in segments.iter().enumerate() {
        let next_is_list = segments.get(n + 1).map(|(l, _)| *l);
        let fresh = || match next_is_list {
            Some(true) => Value::List(Vec::new()),
            Some(false) => Value::Map(Branch::new()),
            None => Value::Null,
        };
        cur = if *is_list {
            let idx: usize = name
                .parse()
                .map_err(|_| invalid(key, "malformed list index"))?;
            if idx > 10_000 {
                return Err(invalid(key, "list index too large"));
            }
            let Value::List(list) = cur else {
                return Err(invalid(key, "conflicting flattened keys"));
            };
            while list.len() <= idx {
                list.push(Value::Null);
            }
            if matches!(list[idx], Value::Null) {
                list[idx] = fresh();
            }
            &mut list[idx]
        } else {
            let Value::Map(map) = cur else {
                return Err(invalid(key, "conflicting flattened keys"));
            };
            if map.get(name).is_none() {
                map.push(*name, fresh());
            }
            map.get_mut(name)
                .ok_or_else(|| invalid(key, "conflicting flattened keys"))?
        };
    }
    *cur = leaf;
    Ok(())
}

fn next_sep(s: &str) -> Option<(usize, bool)> {
    let m = s.find("__map_");
    let l = s.find("__list_");
    match (m, l) {
        (Some(a), Some(b)) if b < a => Some((b, true)),
        (Some(a), _) => Some((a, false)),
        (None, Some(b)) => Some((b, true)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(groups: usize) -> Metadata {
        let key = |r: &str| {
            MasterKey::new(
                KeyKind::Age,
                &[("recipient", r), ("enc", "-----BEGIN\nx\n")],
            )
        };
        Metadata {
            shamir_threshold: if groups > 1 { 2 } else { 0 },
            key_groups: (0..groups)
                .map(|i| KeyGroup {
                    keys: vec![key(&format!("age1r{i}"))],
                })
                .collect(),
            last_modified: "2026-11-22T20:36:36Z".into(),
            mac: "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]".into(),
            rule: Some(CryptRule::UnencryptedSuffix("_unencrypted".into())),
            mac_only_encrypted: false,
            version: SOPS_VERSION.into(),
        }
    }

    fn keys_of_map(v: &Value) -> Vec<String> {
        let Value::Map(m) = v else { panic!() };
        m.items
            .iter()
            .filter_map(|i| match i {
                Item::Pair { key, .. } => Some(key.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn flat_layout_field_order() {
        let v = sample(1).to_value(EmptyList::EmptyList);
        assert_eq!(
            keys_of_map(&v),
            [
                "age",
                "lastmodified",
                "mac",
                "unencrypted_suffix",
                "version"
            ]
        );
        let back = Metadata::from_value(&v).unwrap();
        assert_eq!(back.key_groups, sample(1).key_groups);
    }

    #[test]
    fn groups_layout_and_flattening_round_trip() {
        let m = sample(3);
        let v = m.to_value(EmptyList::EmptyList);
        assert_eq!(
            keys_of_map(&v),
            [
                "shamir_threshold",
                "key_groups",
                "lastmodified",
                "mac",
                "unencrypted_suffix",
                "version"
            ]
        );
        let flat = m.to_flat();
        assert!(flat.contains(&(
            "key_groups__list_1__map_age__list_0__map_recipient".into(),
            "age1r1".into()
        )));
        assert!(flat.contains(&(
            "key_groups__list_0__map_age__list_0__map_enc".into(),
            "-----BEGIN\\nx\\n".into()
        )));
        assert!(flat.contains(&("shamir_threshold".into(), "2".into())));
        let back = Metadata::from_flat(flat.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        assert_eq!(back.key_groups, m.key_groups);
        assert_eq!(back.shamir_threshold, 2);
    }

    #[test]
    fn missing_keys_and_bad_timestamps_are_errors() {
        let mut m = sample(1);
        m.key_groups[0].keys.clear();
        assert_eq!(
            Metadata::from_value(&m.to_value(EmptyList::EmptyList)).err(),
            Some(MetadataError::NoKeys)
        );
        let mut m = sample(1);
        m.last_modified = "yesterday".into();
        assert!(Metadata::from_value(&m.to_value(EmptyList::EmptyList)).is_err());
    }
}

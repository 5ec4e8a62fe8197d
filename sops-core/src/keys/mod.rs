//! Key sources and the keyring: wrapping the data key for master keys and recovering it.
//!
//! A [`MasterKey`] (public, serializable) says *what* a key is; a [`KeySource`] holds the
//! credentials that can *use* keys of some kinds, like age's `Recipient`/`Identity` split.
//! [`Keyring`] combines sources and implements sops' key-group logic: Shamir splitting when
//! encrypting, and the sequential, group-by-group recovery with its failure report.

pub mod age;
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "env")]
pub mod env;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(feature = "net")]
pub mod http;
#[cfg(feature = "gpg")]
pub mod pgp;
#[cfg(feature = "pgp-native")]
pub mod pgp_native;
#[cfg(feature = "vault")]
pub mod vault;

use std::fmt;

use zeroize::Zeroizing;

use crate::data_key::DataKey;
use crate::metadata::{KeyGroup, KeyKind, MasterKey};
use crate::shamir::{self, ShamirError};

/// A key source failed for one master key.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
#[non_exhaustive]
pub struct KeyError {
    /// The key type.
    pub kind: KeyKind,
    /// The key's public identifier (recipient, fingerprint, ARN...).
    pub key: String,
    /// What went wrong, phrased as sops does where it has a phrase. Never secret.
    pub reason: String,
    /// The underlying error, if any.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl KeyError {
    /// A new error for `key`.
    pub fn new(key: &MasterKey, reason: impl Into<String>) -> Self {
        Self {
            kind: key.kind,
            key: key.identifier(),
            reason: reason.into(),
            source: None,
        }
    }
}

/// Something that can wrap and unwrap data keys for some master keys.
pub trait KeySource {
    /// Wraps `secret` (a data key or a Shamir share) for `key`, returning the complete entry to
    /// store (with `enc`, and `created_at` where the kind has one). `None` if this source does
    /// not handle the key's kind.
    fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>>;

    /// Attempts to unwrap the data key (or share) stored in `key`.
    ///
    /// - `None`: this source has no credential for the key (try the next one);
    /// - `Some(Ok(secret))`: recovered;
    /// - `Some(Err(e))`: the key is this source's kind and it tried, but failed.
    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>>;
}

/// The outcome for one key while recovering a data key.
#[derive(Debug)]
pub struct KeyAttempt {
    /// The key's public identifier.
    pub key: String,
    /// The key type.
    pub kind: KeyKind,
    /// Why it failed (`None` if it succeeded).
    pub error: Option<String>,
}

/// The outcome for one group.
#[derive(Debug)]
pub struct GroupReport {
    /// Whether the group yielded its part.
    pub ok: bool,
    /// The keys tried, in the order tried (stops at the first success).
    pub attempts: Vec<KeyAttempt>,
}

/// The data key could not be recovered. `Display` prints sops' report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataKeyError {
    /// Not enough groups succeeded.
    Unrecoverable {
        /// One report per group, in file order.
        groups: Vec<GroupReport>,
        /// The file's Shamir threshold (0 if unset).
        threshold: usize,
    },
    /// The parts did not combine into a 32-byte key (corrupted shares).
    Combine(#[source] ShamirError),
    /// A recovered key or share has the wrong length.
    BadLength(usize),
    /// Wrapping the data key failed for one key (encryption side).
    Wrap(#[source] KeyError),
    /// Splitting the key across groups failed (bad threshold).
    Split(#[source] ShamirError),
    /// No key groups, or an empty group, were given for encryption.
    NoGroups(&'static str),
}

impl fmt::Display for DataKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unrecoverable { groups, threshold } => {
                // Layout of sops' `getDataKeyError` user message.
                writeln!(
                    f,
                    "Failed to get the data key required to decrypt the SOPS file."
                )?;
                for (i, g) in groups.iter().enumerate() {
                    writeln!(f)?;
                    writeln!(f, "Group {i}: {}", if g.ok { "SUCCESS" } else { "FAILED" })?;
                    if g.ok {
                        continue;
                    }
                    for a in &g.attempts {
                        writeln!(f, "  {}: FAILED", a.key)?;
                        let reason = a.error.as_deref().unwrap_or("unknown error");
                        let mut lines = reason.lines();
                        if let Some(first) = lines.next() {
                            writeln!(f, "    - | {first}")?;
                        }
                        for line in lines {
                            writeln!(f, "      | {line}")?;
                        }
                    }
                }
                writeln!(f)?;
                let ok = groups.iter().filter(|g| g.ok).count();
                if groups.len() > 1 {
                    write!(
                        f,
                        "Recovery failed because the file was encrypted with a Shamir threshold of\n\
                         {threshold}, but only {ok} part(s) were successfully recovered, one for each successful\n\
                         key group. In order for SOPS to recover the file, at least {threshold} groups have to\n\
                         be successful. In order for a group to be successful, decryption has to\n\
                         succeed with any of the keys in that key group."
                    )
                } else {
                    write!(
                        f,
                        "Recovery failed because no master key was able to decrypt the file. In\n\
                         order for SOPS to recover the file, at least one key has to be successful,\n\
                         but none were."
                    )
                }
            }
            Self::Combine(e) => write!(f, "could not combine the key group shares: {e}"),
            Self::BadLength(n) => write!(f, "the recovered data key has {n} bytes, expected 32"),
            Self::Wrap(e) => write!(
                f,
                "could not encrypt the data key with {} key {}: {e}",
                e.kind, e.key
            ),
            Self::Split(e) => write!(f, "could not split the data key across key groups: {e}"),
            Self::NoGroups(what) => f.write_str(what),
        }
    }
}

/// The key sources available to one operation, and the decryption order.
pub struct Keyring {
    sources: Vec<Box<dyn KeySource>>,
    order: Vec<KeyKind>,
}

impl Default for Keyring {
    fn default() -> Self {
        Self::new()
    }
}

impl Keyring {
    /// sops' default decryption order: age first, then PGP, then everything else in file order.
    pub const DEFAULT_ORDER: [KeyKind; 2] = [KeyKind::Age, KeyKind::Pgp];

    /// A keyring with the built-in age source (no identities: it can encrypt to any age
    /// recipient, and decrypt nothing until identities are added).
    pub fn new() -> Self {
        Self {
            sources: Vec::new(),
            order: Self::DEFAULT_ORDER.to_vec(),
        }
    }

    /// Adds a source; sources are asked in the order added. The built-in age recipient
    /// support is always available for wrapping.
    pub fn with_source(mut self, source: impl KeySource + 'static) -> Self {
        self.sources.push(Box::new(source));
        self
    }

    /// Adds a source in place.
    pub fn add_source(&mut self, source: impl KeySource + 'static) {
        self.sources.push(Box::new(source));
    }

    /// Sets the decryption order (`--decryption-order`): listed kinds first, the rest after in
    /// file order.
    pub fn with_decryption_order(mut self, order: impl IntoIterator<Item = KeyKind>) -> Self {
        self.order = order.into_iter().collect();
        self
    }

    fn wrap_one(&self, key: &MasterKey, secret: &[u8]) -> Result<MasterKey, KeyError> {
        for source in &self.sources {
            if let Some(result) = source.wrap(key, secret) {
                return result;
            }
        }
        if key.kind == KeyKind::Age {
            return age::wrap(key, secret);
        }
        Err(KeyError::new(
            key,
            format!("this build of rsops cannot encrypt to {} keys", key.kind),
        ))
    }

    fn unwrap_one(&self, key: &MasterKey) -> Result<Zeroizing<Vec<u8>>, String> {
        let mut errors = Vec::new();
        for source in &self.sources {
            match source.unwrap(key) {
                None => {}
                Some(Ok(secret)) => return Ok(secret),
                Some(Err(e)) => errors.push(e.to_string()),
            }
        }
        if errors.is_empty() {
            Err(match key.kind {
                KeyKind::Age => {
                    "no age identity is available (set SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or \
                     SOPS_AGE_KEY_CMD, or put the key in the default keys.txt)"
                        .to_owned()
                }
                kind => {
                    format!("no credentials for {kind} keys are available to this build of rsops")
                }
            })
        } else {
            Err(errors.join("\n"))
        }
    }

    /// Wraps `data_key` for every key of every group (Shamir-split when there are several
    /// groups). Returns the groups with `enc` filled in and the threshold to store.
    pub fn seal(
        &self,
        groups: &[KeyGroup],
        threshold: usize,
        data_key: &DataKey,
    ) -> Result<(Vec<KeyGroup>, usize), DataKeyError> {
        if groups.is_empty() {
            return Err(DataKeyError::NoGroups("no key groups provided"));
        }
        if groups.iter().any(|g| g.keys.is_empty()) {
            return Err(DataKeyError::NoGroups("empty key group provided"));
        }
        let (parts, threshold) = if groups.len() == 1 {
            (
                vec![Zeroizing::new(data_key.as_bytes().to_vec())],
                threshold,
            )
        } else {
            let t = if threshold == 0 {
                groups.len()
            } else {
                threshold
            };
            let parts =
                shamir::split(data_key.as_bytes(), groups.len(), t).map_err(DataKeyError::Split)?;
            (parts, t)
        };
        let mut out = Vec::with_capacity(groups.len());
        for (group, part) in groups.iter().zip(parts.iter()) {
            let keys = group
                .keys
                .iter()
                .map(|k| self.wrap_one(k, part))
                .collect::<Result<Vec<_>, _>>()
                .map_err(DataKeyError::Wrap)?;
            out.push(KeyGroup { keys });
        }
        Ok((out, threshold))
    }

    /// Recovers the data key: every group in order, each group's keys in decryption order,
    /// the first success giving the group's part (`GetDataKeyWithKeyServices`).
    pub fn open(&self, groups: &[KeyGroup], threshold: usize) -> Result<DataKey, DataKeyError> {
        let mut parts: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut reports = Vec::with_capacity(groups.len());
        for group in groups {
            let mut report = GroupReport {
                ok: false,
                attempts: Vec::new(),
            };
            for key in self.ordered(group) {
                match self.unwrap_one(key) {
                    Ok(secret) => {
                        parts.push(secret);
                        report.ok = true;
                        break;
                    }
                    Err(reason) => report.attempts.push(KeyAttempt {
                        key: key.identifier(),
                        kind: key.kind,
                        error: Some(reason),
                    }),
                }
            }
            reports.push(report);
        }
        let unrecoverable = || DataKeyError::Unrecoverable {
            groups: reports,
            threshold,
        };
        if groups.len() <= 1 {
            let part = parts.pop().ok_or_else(unrecoverable)?;
            return DataKey::from_slice(&part).ok_or(DataKeyError::BadLength(part.len()));
        }
        if parts.len() < threshold.max(2) {
            return Err(unrecoverable());
        }
        let refs: Vec<&[u8]> = parts.iter().map(|p| &p[..]).collect();
        let key = shamir::combine(&refs).map_err(DataKeyError::Combine)?;
        DataKey::from_slice(&key).ok_or(DataKeyError::BadLength(key.len()))
    }

    /// A group's keys in decryption order (stable: unlisted kinds keep file order, after).
    fn ordered<'g>(&self, group: &'g KeyGroup) -> Vec<&'g MasterKey> {
        let mut keys: Vec<&MasterKey> = group.keys.iter().collect();
        keys.sort_by_key(|k| {
            self.order
                .iter()
                .position(|o| *o == k.kind)
                .unwrap_or(self.order.len())
        });
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that "wraps" by hex-encoding and unwraps only keys it knows.
    struct Fake {
        known: Vec<String>,
    }

    impl KeySource for Fake {
        fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
            let mut k = key.clone();
            k.set_field("enc", hex::encode(secret));
            Some(Ok(k))
        }
        fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
            let id = key.identifier();
            if !self.known.contains(&id) {
                return Some(Err(KeyError::new(key, "not this one")));
            }
            Some(Ok(Zeroizing::new(hex::decode(key.enc()).unwrap())))
        }
    }

    fn group(names: &[&str]) -> KeyGroup {
        KeyGroup {
            keys: names
                .iter()
                .map(|n| MasterKey::new(KeyKind::Age, &[("recipient", n)]))
                .collect(),
        }
    }

    #[test]
    fn shamir_groups_need_threshold_parts() {
        let seal_ring = Keyring::new().with_source(Fake { known: vec![] });
        let key = DataKey::generate();
        let (sealed, t) = seal_ring
            .seal(&[group(&["a"]), group(&["b"]), group(&["c"])], 2, &key)
            .unwrap();
        assert_eq!(t, 2);
        let ring = Keyring::new().with_source(Fake {
            known: vec!["a".into(), "c".into()],
        });
        assert_eq!(ring.open(&sealed, 2).unwrap().as_bytes(), key.as_bytes());
        let ring = Keyring::new().with_source(Fake {
            known: vec!["b".into()],
        });
        let Err(err) = ring.open(&sealed, 2) else {
            panic!("one share is below the threshold")
        };
        let err = err.to_string();
        assert!(err.contains("Group 0: FAILED"), "{err}");
        assert!(err.contains("Group 1: SUCCESS"), "{err}");
        assert!(err.contains("threshold of\n2, but only 1 part(s)"), "{err}");
    }

    #[test]
    fn decryption_order_is_stable() {
        let g = KeyGroup {
            keys: vec![
                MasterKey::new(KeyKind::Kms, &[("arn", "k1")]),
                MasterKey::new(KeyKind::Pgp, &[("fp", "p")]),
                MasterKey::new(KeyKind::Kms, &[("arn", "k2")]),
                MasterKey::new(KeyKind::Age, &[("recipient", "a")]),
            ],
        };
        let ring = Keyring::new();
        let ids: Vec<String> = ring.ordered(&g).iter().map(|k| k.identifier()).collect();
        assert_eq!(ids, ["a", "p", "k1", "k2"]);
    }
}

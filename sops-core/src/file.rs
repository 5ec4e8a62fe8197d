//! Encrypted and decrypted files: the encrypt, decrypt and stable re-encrypt pipelines.
//!
//! [`EncryptedFile`] is a parsed SOPS file (ciphertext tree + metadata). Decrypting gives a
//! [`DecryptedFile`], which keeps the data key and the IVs it saw, so that writing it back
//! ([`DecryptedFile::into_encrypted`]) keeps the ciphertext of every unchanged value and, when
//! nothing changed at all, the original `lastmodified` and `mac`: byte-identical output.

use std::collections::HashMap;

use sha2::{Digest, Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::cipher::{self, CipherError};
use crate::data_key::DataKey;
use crate::error::Error;
use crate::keys::Keyring;
use crate::mac_hasher::MacHasher;
use crate::metadata::{EmptyList, KeyGroup, Metadata, MetadataError, SOPS_VERSION};
use crate::rules::{self, CryptRule};
use crate::store::{self, Format, StoreErrorKind, StoreOptions};
use crate::timestamp::Timestamp;
use crate::tree::{Branch, Item, Tree, Value};
use crate::walk::{self, Walker};

mod pieces;

pub use pieces::{
    Decrypted, Encrypted, PIECEWISE_MIN_BYTES, decrypt_yaml_from, decrypt_yaml_in_pieces,
    encrypt_yaml_from, encrypt_yaml_in_pieces,
};

/// The metadata key of YAML, JSON and binary files.
const SOPS_KEY: &str = "sops";
/// The prefix of flattened metadata keys in dotenv files.
const DOTENV_PREFIX: &str = "sops_";

/// How to encrypt a new file.
#[derive(Clone, Debug, Default)]
pub struct EncryptOptions {
    /// Key groups with the keys to wrap the data key for (one group: every key gets the whole
    /// data key; several: Shamir shares). Build age keys with [`crate::keys::age::key_for`].
    pub key_groups: Vec<KeyGroup>,
    /// Shares needed to recover with several groups (0: all groups).
    pub shamir_threshold: usize,
    /// The partial-encryption rule; `None` writes sops' default `unencrypted_suffix`.
    pub rule: Option<CryptRule>,
    /// Cover only encrypted values with the MAC.
    pub mac_only_encrypted: bool,
}

/// How to decrypt.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecryptOptions {
    /// Skip the MAC check (`--ignore-mac`). Values must still decrypt.
    pub ignore_mac: bool,
    /// The result will only be read, never written back: skip recording IVs and the file's
    /// digest (what stable re-encryption needs). Writing back a read-only decryption still
    /// works, but gives every value a new IV and a new `lastmodified`.
    pub read_only: bool,
}

/// A parsed SOPS file: the tree as stored (encrypted values as `ENC[...]` strings) and its
/// metadata.
pub struct EncryptedFile {
    /// The documents without their `sops` entries.
    pub tree: Tree,
    /// The metadata block.
    pub metadata: Metadata,
}

/// A decrypted file, ready to be read, edited, and written back.
pub struct DecryptedFile {
    /// The plaintext documents.
    pub tree: Tree,
    /// The metadata as read (or as created).
    pub metadata: Metadata,
    data_key: DataKey,
    nonces: NonceCache,
    origin: Option<Origin>,
}

/// What the file looked like when it was read, to detect a no-op write-back.
struct Origin {
    digest: [u8; 32],
    mac_hex: String,
    metadata_digest: [u8; 32],
}

/// Whether a plaintext tree already carries sops metadata (sops exits 203 on such input).
pub fn has_metadata(format: Format, tree: &Tree) -> bool {
    let Some(first) = tree.branches.first() else {
        return false;
    };
    match format {
        Format::Dotenv => first
            .items
            .iter()
            .any(|i| matches!(i, Item::Pair { key, .. } if key.starts_with(DOTENV_PREFIX))),
        _ => first.get(SOPS_KEY).is_some(),
    }
}

impl EncryptedFile {
    /// Parses an encrypted file and splits off its metadata.
    pub fn parse(format: Format, input: &[u8]) -> Result<Self, Error> {
        let mut tree = store::parse_encrypted(format, input)?;
        let metadata = match format {
            Format::Dotenv => {
                let branch = tree.branches.first_mut().ok_or(MetadataError::NotFound)?;
                let mut pairs = Vec::new();
                branch.items.retain_mut(|item| match item {
                    Item::Pair { key, value } if key.starts_with(DOTENV_PREFIX) => {
                        let v = match value {
                            Value::Str(s) => std::mem::take(s),
                            _ => String::new(),
                        };
                        pairs.push((key[DOTENV_PREFIX.len()..].to_owned(), v));
                        false
                    }
                    _ => true,
                });
                if pairs.is_empty() {
                    return Err(MetadataError::NotFound.into());
                }
                Metadata::from_flat(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?
            }
            Format::Ini => {
                let branch = tree.branches.first_mut().ok_or(MetadataError::NotFound)?;
                let Some(Value::Map(section)) = branch.remove(SOPS_KEY) else {
                    return Err(MetadataError::NotFound.into());
                };
                let pairs: Vec<(&str, &str)> = section
                    .items
                    .iter()
                    .filter_map(|i| match i {
                        Item::Pair {
                            key,
                            value: Value::Str(v),
                        } => Some((key.as_str(), v.as_str())),
                        _ => None,
                    })
                    .collect();
                Metadata::from_flat(pairs)?
            }
            _ => {
                // The metadata is read from the first document only; the `sops` entry is
                // removed from every document (YAML multi-document files carry one each).
                let first = tree.branches.first().and_then(|b| b.get(SOPS_KEY));
                let metadata = match first {
                    Some(v) => Metadata::from_value(v)?,
                    None => return Err(MetadataError::NotFound.into()),
                };
                for b in &mut tree.branches {
                    b.remove(SOPS_KEY);
                }
                metadata
            }
        };
        Ok(Self { tree, metadata })
    }

    /// Key paths of values the file's own rule says must be encrypted but that are stored in
    /// the clear (not `ENC[...]`), for keyless checks (`rsops git check`). Comments count
    /// too, marked `(comment)`. Needs no key; never returns values.
    pub fn plaintext_paths(&mut self) -> Vec<String> {
        let rule = rules::effective(self.metadata.rule.as_ref());
        let mut found = Vec::new();
        let mut walker = Walker::new(&rule, |v: &mut Value, leaf: walk::Leaf<'_>| {
            if leaf.encrypted {
                let ok = match v {
                    Value::Str(s) | Value::Comment(s) => cipher::looks_encrypted(s),
                    _ => false,
                };
                if !ok {
                    let mut p = crate::path::key_path(leaf.path);
                    if p.is_empty() {
                        p.push_str("(top level)");
                    }
                    if matches!(v, Value::Comment(_)) {
                        p.push_str(" (comment)");
                    }
                    found.push(p);
                }
            }
            Ok::<(), std::convert::Infallible>(())
        });
        for b in &mut self.tree.branches {
            let _ = walker.branch(b);
        }
        found
    }

    /// Emits the file in `format` with its metadata block. The metadata is attached for the
    /// duration of the call (hence `&mut`) to avoid copying the tree.
    pub fn emit(&mut self, format: Format, options: &StoreOptions) -> Result<Vec<u8>, Error> {
        let attached = self.attach(format);
        let out = store::emit_encrypted(format, &self.tree, options);
        self.detach(format, attached);
        Ok(out?)
    }

    fn attach(&mut self, format: Format) -> usize {
        match format {
            Format::Dotenv => {
                let flat = self.metadata.to_flat();
                let mut sorted: Vec<(String, String)> = flat
                    .into_iter()
                    .map(|(k, v)| (format!("{DOTENV_PREFIX}{k}"), v))
                    .collect();
                // sops sorts the flattened keys (byte order) since 3.8.0.
                sorted.sort();
                let n = sorted.len();
                if let Some(b) = self.tree.branches.first_mut() {
                    for (k, v) in sorted {
                        b.push(k, Value::Str(v));
                    }
                    n
                } else {
                    0
                }
            }
            Format::Ini => {
                let mut section = Branch::new();
                // sops writes the `[sops]` keys in Go map order (random); we keep field order so
                // output is deterministic. Readers accept any order.
                for (k, v) in self.metadata.to_flat() {
                    section.push(k, Value::Str(v));
                }
                if let Some(b) = self.tree.branches.first_mut() {
                    b.push(SOPS_KEY, Value::Map(section));
                    1
                } else {
                    0
                }
            }
            _ => {
                let empty = if format == Format::Yaml {
                    EmptyList::EmptyList
                } else {
                    EmptyList::Null
                };
                let n = self.tree.branches.len();
                for b in &mut self.tree.branches {
                    b.push(SOPS_KEY, self.metadata.to_value(empty));
                }
                if n == 0 {
                    // A file always has a document to carry its metadata.
                    let mut b = Branch::new();
                    b.push(SOPS_KEY, self.metadata.to_value(empty));
                    self.tree.branches.push(b);
                    return usize::MAX;
                }
                1
            }
        }
    }

    fn detach(&mut self, format: Format, attached: usize) {
        if attached == usize::MAX {
            self.tree.branches.clear();
            return;
        }
        match format {
            Format::Dotenv | Format::Ini => {
                if let Some(b) = self.tree.branches.first_mut() {
                    let keep = b.items.len() - attached;
                    b.items.truncate(keep);
                }
            }
            _ => {
                for b in &mut self.tree.branches {
                    b.items.pop();
                }
            }
        }
    }

    /// Recovers the data key with `keyring` and decrypts.
    pub fn decrypt(
        self,
        keyring: &Keyring,
        options: &DecryptOptions,
    ) -> Result<DecryptedFile, Error> {
        check_version(&self.metadata.version)?;
        let key = keyring.open(&self.metadata.key_groups, self.metadata.shamir_threshold)?;
        self.decrypt_with_key(key, options)
    }

    /// Decrypts with an already recovered data key.
    pub fn decrypt_with_key(
        self,
        data_key: DataKey,
        options: &DecryptOptions,
    ) -> Result<DecryptedFile, Error> {
        let Self { mut tree, metadata } = self;
        let digest = (!options.read_only).then(|| tree_digest(&tree));
        let mut nonces = NonceCache::default();
        let mac_hex = decrypt_tree(
            &mut tree,
            &data_key,
            &metadata,
            (!options.read_only).then_some(&mut nonces),
        )?;
        if !options.ignore_mac {
            verify_mac(&metadata, &data_key, &mac_hex)?;
        }
        let file = DecryptedFile {
            tree,
            metadata,
            data_key,
            nonces,
            origin: None,
        };
        Ok(match digest {
            Some(d) => file.with_origin(d, mac_hex),
            None => file,
        })
    }
}

impl DecryptedFile {
    fn with_origin(mut self, digest: [u8; 32], mac_hex: String) -> Self {
        self.origin = Some(Origin {
            digest,
            mac_hex,
            metadata_digest: metadata_digest(&self.metadata),
        });
        self
    }

    /// Starts a new file from a plaintext tree: a fresh data key wrapped for the options' key
    /// groups.
    pub fn create(
        format: Format,
        tree: Tree,
        options: &EncryptOptions,
        keyring: &Keyring,
    ) -> Result<Self, Error> {
        if tree.branches.is_empty() {
            return Err(Error::NoDocuments);
        }
        if has_metadata(format, &tree) {
            return Err(Error::AlreadyEncrypted { format });
        }
        let data_key = DataKey::generate();
        let metadata = new_metadata(format, options, keyring, &data_key)?;
        Ok(Self {
            tree,
            metadata,
            data_key,
            nonces: NonceCache::default(),
            origin: None,
        })
    }

    /// The data key (for re-wrapping it to new master keys).
    pub fn data_key(&self) -> &DataKey {
        &self.data_key
    }

    /// Re-wraps the current data key for new key groups (`updatekeys`, `groups add/delete`):
    /// values, `lastmodified` and `mac` are unchanged.
    pub fn rewrap(
        &mut self,
        groups: &[KeyGroup],
        threshold: usize,
        keyring: &Keyring,
    ) -> Result<(), Error> {
        let (key_groups, threshold) = keyring.seal(groups, threshold, &self.data_key)?;
        self.metadata.key_groups = key_groups;
        self.metadata.shamir_threshold = threshold;
        Ok(())
    }

    /// Replaces the data key with a new one wrapped for `groups` (`rotate`). IVs of unchanged
    /// values are reused, but every ciphertext changes with the key.
    pub fn rotate(
        &mut self,
        groups: &[KeyGroup],
        threshold: usize,
        keyring: &Keyring,
    ) -> Result<(), Error> {
        let data_key = DataKey::generate();
        let (key_groups, threshold) = keyring.seal(groups, threshold, &data_key)?;
        self.data_key = data_key;
        self.metadata.key_groups = key_groups;
        self.metadata.shamir_threshold = threshold;
        self.origin = None;
        Ok(())
    }

    /// Encrypts back. Unchanged `(path, value)` pairs keep their IV and so their ciphertext;
    /// if nothing changed at all, `lastmodified` and `mac` are kept too.
    pub fn into_encrypted(mut self) -> Result<EncryptedFile, Error> {
        // Encrypted in place: on an error, what is still plaintext is wiped with `self`.
        let mac_hex = encrypt_tree(&mut self.tree, &self.data_key, &self.metadata, &self.nonces)?;
        let unchanged = self.origin.take().is_some_and(|o| {
            o.mac_hex == mac_hex
                && o.digest == tree_digest(&self.tree)
                && o.metadata_digest == metadata_digest(&self.metadata)
        });
        let mut metadata = self.metadata.clone();
        if !unchanged {
            seal_mac(&mut metadata, mac_hex, &self.data_key)?;
        }
        Ok(EncryptedFile {
            tree: std::mem::take(&mut self.tree),
            metadata,
        })
    }
}

impl Drop for DecryptedFile {
    /// The plaintext is wiped, not just freed.
    fn drop(&mut self) {
        self.tree.zeroize();
    }
}

/// The metadata of a new file: `data_key` wrapped for the options' key groups.
fn new_metadata(
    format: Format,
    options: &EncryptOptions,
    keyring: &Keyring,
    data_key: &DataKey,
) -> Result<Metadata, Error> {
    let (key_groups, threshold) =
        keyring.seal(&options.key_groups, options.shamir_threshold, data_key)?;
    // sops clears every partial-encryption option for binary input (a warning), so binary
    // files carry no rule and no mac_only_encrypted.
    let (rule, mac_only_encrypted) = if format == Format::Binary {
        (None, false)
    } else {
        (
            Some(rules::effective(options.rule.as_ref())),
            options.mac_only_encrypted,
        )
    };
    Ok(Metadata {
        shamir_threshold: threshold,
        key_groups,
        last_modified: String::new(),
        mac: String::new(),
        rule,
        mac_only_encrypted,
        version: SOPS_VERSION.to_owned(),
    })
}

/// Stamps `lastmodified` with now and stores the MAC encrypted with it as AAD.
fn seal_mac(metadata: &mut Metadata, mac_hex: String, data_key: &DataKey) -> Result<(), Error> {
    let now = Timestamp::now_utc().to_rfc3339();
    metadata.mac =
        cipher::encrypt_value(&Value::Str(mac_hex), data_key, &now, None).map_err(|source| {
            Error::Encrypt {
                path: "sops.mac".to_owned(),
                source,
            }
        })?;
    metadata.last_modified = now;
    Ok(())
}

/// Rejects `version` strings sops cannot compare (it requires semver `X.Y.Z`, or `1.x`).
fn check_version(version: &str) -> Result<(), Error> {
    let v = version.strip_prefix('v').unwrap_or(version);
    if v.starts_with("1.") {
        return Ok(());
    }
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        Ok(())
    } else {
        Err(Error::Version(version.to_owned()))
    }
}

/// The IVs seen while decrypting, keyed by (AAD, type, plaintext): sops' IV stash. Wiped on drop
/// (the keys contain plaintext).
#[derive(Default)]
pub(crate) struct NonceCache {
    map: HashMap<Vec<u8>, Vec<u8>>,
}

impl NonceCache {
    fn key(aad: &str, datatype: &str, plain: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut k = Zeroizing::new(Vec::with_capacity(
            aad.len() + datatype.len() + plain.len() + 16,
        ));
        for part in [aad.as_bytes(), datatype.as_bytes(), plain] {
            k.extend_from_slice(&(part.len() as u64).to_le_bytes());
            k.extend_from_slice(part);
        }
        k
    }
}

impl Drop for NonceCache {
    fn drop(&mut self) {
        for (mut k, _) in self.map.drain() {
            crate::wipe::wipe_vec(&mut k);
        }
    }
}

fn new_hasher(metadata: &Metadata) -> Sha512 {
    mac_seed(metadata.mac_only_encrypted)
}

/// The MAC's hash before the first value.
fn mac_seed(mac_only_encrypted: bool) -> Sha512 {
    let mut h = Sha512::new();
    if mac_only_encrypted {
        // sops seeds the mac_only_encrypted MAC with SHA-256("sops").
        h.update(Sha256::digest(b"sops"));
    }
    h
}

/// Encrypts a plaintext tree in place; returns the MAC (uppercase hex).
fn encrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    metadata: &Metadata,
    nonces: &NonceCache,
) -> Result<String, Error> {
    let rule = rules::effective(metadata.rule.as_ref());
    let mut hasher = MacHasher::new(new_hasher(metadata));
    let mac_only = metadata.mac_only_encrypted;
    walk::in_parts(tree, &mut hasher, |items, mac| {
        encrypt_items(items, key, &rule, mac_only, nonces, mac)
    })?;
    Ok(hex::encode_upper(hasher.finalize()))
}

/// Encrypts one document's items, or a piece of them cut after a top-level pair, in place,
/// feeding the MAC input in order.
pub(crate) fn encrypt_items(
    items: &mut [Item],
    key: &DataKey,
    rule: &CryptRule,
    mac_only: bool,
    nonces: &NonceCache,
    mac: &mut walk::MacInput<'_>,
) -> Result<(), Error> {
    let mut cipher = cipher::ValueCipher::new(key);
    let mut walker = Walker::new(rule, |v: &mut Value, leaf: walk::Leaf<'_>| {
        let is_comment = matches!(v, Value::Comment(_));
        let enc = {
            let plain = cipher::plaintext(v);
            if let (true, Some(p)) = ((!mac_only || leaf.encrypted) && !is_comment, &plain) {
                mac.update(&p[..]);
            }
            if !leaf.encrypted {
                return Ok(());
            }
            let err = |source| Error::Encrypt {
                path: crate::path::key_path(leaf.path),
                source,
            };
            let datatype = cipher::datatype_of(v).map_err(err)?;
            let iv = match &plain {
                Some(p) if !nonces.map.is_empty() => nonces
                    .map
                    .get(&NonceCache::key(leaf.aad, datatype, p)[..])
                    .map(Vec::as_slice),
                _ => None,
            };
            cipher.encrypt(v, leaf.aad, iv).map_err(err)?
        };
        v.zeroize();
        // A comment in a mapping goes back as a comment; a comment inside a sequence is
        // stored as a plain string (`walkSlice` quirk) — the walker maps both from Str.
        *v = Value::Str(enc);
        Ok::<(), Error>(())
    });
    walker.items(items)
}

/// Decrypts a tree in place, recording IVs when `nonces` is given; returns the computed MAC
/// (uppercase hex).
fn decrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    metadata: &Metadata,
    nonces: Option<&mut NonceCache>,
) -> Result<String, Error> {
    let rule = rules::effective(metadata.rule.as_ref());
    let mut hasher = MacHasher::new(new_hasher(metadata));
    let mac_only = metadata.mac_only_encrypted;
    let record = nonces.is_some();
    let parts = walk::in_parts(tree, &mut hasher, |items, mac| {
        decrypt_items(items, key, &rule, mac_only, record, mac)
    })?;
    if let Some(nonces) = nonces {
        for mut part in parts.into_iter().flatten() {
            nonces.map.extend(part.map.drain());
        }
    }
    Ok(hex::encode_upper(hasher.finalize()))
}

/// Decrypts one document's items, or a piece of them cut after a top-level pair, in place,
/// feeding the MAC input in order; with `record`, returns the IVs seen.
pub(crate) fn decrypt_items(
    items: &mut [Item],
    key: &DataKey,
    rule: &CryptRule,
    mac_only: bool,
    record: bool,
    mac: &mut walk::MacInput<'_>,
) -> Result<Option<NonceCache>, Error> {
    let cipher = cipher::ValueCipher::new(key);
    let mut seen = record.then(NonceCache::default);
    let mut walker = Walker::new(rule, |v: &mut Value, leaf: walk::Leaf<'_>| {
        if leaf.encrypted {
            match v {
                Value::Comment(c) => {
                    // A comment that does not decrypt is kept as it is: files from sops
                    // < 3.0 have plaintext comments (`Tree.Decrypt`).
                    if let Ok(d) = cipher.decrypt(c, leaf.aad) {
                        if let Some(n) = seen.as_mut() {
                            remember(n, leaf.aad, &d);
                        }
                        *v = match d.value {
                            Value::Comment(t) | Value::Str(t) => Value::Comment(t),
                            _ => Value::Comment(std::mem::take(c)),
                        };
                    }
                }
                Value::Str(s) => {
                    let err = |source| Error::Decrypt {
                        path: crate::path::key_path(leaf.path),
                        source,
                    };
                    match seen.as_mut() {
                        Some(n) => {
                            let d = cipher.decrypt(s, leaf.aad).map_err(err)?;
                            remember(n, leaf.aad, &d);
                            *v = d.value;
                        }
                        // No IVs to remember: the value may take the ciphertext's buffer.
                        None => *v = cipher.decrypt_reusing(s, leaf.aad).map_err(err)?,
                    }
                }
                other => {
                    // sops 3.11 panics here; 3.13.2 reports an error.
                    return Err(Error::Decrypt {
                        path: crate::path::key_path(leaf.path),
                        source: CipherError::Unencryptable(other.kind_name()),
                    });
                }
            }
        }
        let hashed = (!mac_only || leaf.encrypted) && !matches!(v, Value::Comment(_));
        if let (true, Some(p)) = (hashed, cipher::plaintext(v)) {
            mac.update(&p[..]);
        }
        Ok::<(), Error>(())
    });
    walker.items(items)?;
    drop(walker);
    Ok::<_, Error>(seen)
}

fn remember(nonces: &mut NonceCache, aad: &str, d: &cipher::Decrypted) {
    if d.iv.len() != cipher::IV_LEN {
        return;
    }
    let Ok(datatype) = cipher::datatype_of(&d.value) else {
        return;
    };
    if let Some(p) = cipher::plaintext(&d.value) {
        nonces
            .map
            .insert(NonceCache::key(aad, datatype, &p).to_vec(), d.iv.clone());
    }
}

fn verify_mac(metadata: &Metadata, key: &DataKey, computed: &str) -> Result<(), Error> {
    if metadata.mac.is_empty() {
        return Err(Error::MacMissing {
            computed: computed.to_owned(),
        });
    }
    let aad = metadata.mac_aad()?;
    let stored =
        cipher::decrypt_value(&metadata.mac, key, &aad).map_err(Error::MacUndecryptable)?;
    let stored = match stored.value {
        Value::Str(s) => s,
        _ => String::new(),
    };
    if stored != computed {
        return Err(Error::MacMismatch {
            stored,
            computed: computed.to_owned(),
        });
    }
    Ok(())
}

/// A digest of a tree's exact content (keys, comments, values, structure).
fn tree_digest(tree: &Tree) -> [u8; 32] {
    fn feed(h: &mut Sha256, tag: u8, bytes: &[u8]) {
        h.update([tag]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    fn value(h: &mut Sha256, v: &Value) {
        match v {
            Value::Map(b) => branch(h, b),
            Value::List(l) => {
                feed(h, b'[', &(l.len() as u64).to_le_bytes());
                l.iter().for_each(|x| value(h, x));
            }
            Value::Null => feed(h, b'n', b""),
            Value::Comment(c) => feed(h, b'#', c.as_bytes()),
            other => {
                let tag = cipher::datatype_of(other)
                    .map(|t| t.as_bytes()[0])
                    .unwrap_or(b'?');
                let p = cipher::plaintext_bytes(other);
                feed(h, tag, p.as_deref().map(Vec::as_slice).unwrap_or(b""));
            }
        }
    }
    fn branch(h: &mut Sha256, b: &Branch) {
        feed(h, b'{', &(b.items.len() as u64).to_le_bytes());
        for item in &b.items {
            match item {
                Item::Pair { key, value: v } => {
                    feed(h, b'k', key.as_bytes());
                    value(h, v);
                }
                Item::Comment(c) => feed(h, b'#', c.as_bytes()),
            }
        }
    }
    let mut h = Sha256::new();
    for b in &tree.branches {
        branch(&mut h, b);
    }
    h.finalize().into()
}

fn metadata_digest(m: &Metadata) -> [u8; 32] {
    let mut h = Sha256::new();
    for (k, v) in m.to_flat() {
        if k == "mac" || k == "lastmodified" {
            continue;
        }
        h.update((k.len() as u64).to_le_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_le_bytes());
        h.update(v.as_bytes());
    }
    h.finalize().into()
}

/// Parses a plaintext file for encryption, with sops' checks (documents, metadata).
pub fn parse_plain(format: Format, input: &[u8]) -> Result<Tree, Error> {
    let tree = store::parse(format, input).map_err(|e| {
        if e.kind == StoreErrorKind::NoDocuments {
            Error::NoDocuments
        } else {
            Error::Store(e)
        }
    })?;
    if tree.branches.is_empty() {
        return Err(Error::NoDocuments);
    }
    Ok(tree)
}

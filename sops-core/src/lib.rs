//! Read and write SOPS files exactly as sops 3.x does.
//!
//! `sops-core` is the format engine of rsops: stores for YAML, JSON, dotenv, INI and binary
//! files, the `ENC[AES256_GCM,…]` value codec, the MAC, the metadata block, key groups with
//! Shamir secret sharing, and age keys. It does no I/O: bytes in, bytes out. Key discovery
//! from `SOPS_*` variables lives in the opt-in [`keys::env`] module (feature `env`), which
//! takes an injectable environment.
//!
//! # Decrypt
//!
//! ```
//! use sops_core::{Format, Keyring, keys::age::Identities};
//!
//! # let (encrypted, identity, _) = sops_core::doc_example();
//! let mut identities = Identities::new();
//! identities.add_identity_file(identity.as_bytes()).unwrap();
//! let keyring = Keyring::new().with_source(identities);
//! let plain = sops_core::decrypt(&encrypted, Format::Yaml, &keyring).unwrap();
//! assert_eq!(plain, b"password: hunter2\n");
//! ```
//!
//! # Decrypt straight into your own type
//!
//! ```
//! use sops_core::{Format, Keyring, keys::age::Identities};
//!
//! #[derive(serde::Deserialize)]
//! struct Secrets {
//!     password: String,
//! }
//!
//! # let (encrypted, identity, _) = sops_core::doc_example();
//! let mut identities = Identities::new();
//! identities.add_identity_file(identity.as_bytes()).unwrap();
//! let keyring = Keyring::new().with_source(identities);
//! let secrets: Secrets = sops_core::decrypt_into(&encrypted, Format::Yaml, &keyring).unwrap();
//! assert_eq!(secrets.password, "hunter2");
//! ```
//!
//! # Encrypt, then edit and write back with stable ciphertext
//!
//! ```
//! use sops_core::{DecryptOptions, DecryptedFile, EncryptOptions, EncryptedFile, Format,
//!                 Keyring, KeyGroup, StoreOptions, keys::age};
//!
//! # let (_, identity, recipient) = sops_core::doc_example();
//! let options = EncryptOptions {
//!     key_groups: vec![KeyGroup { keys: vec![age::key_for(&recipient)] }],
//!     ..Default::default()
//! };
//! let keyring = Keyring::new();
//! let encrypted = sops_core::encrypt(b"a: 1\nb: two\n", Format::Yaml, &options, &keyring).unwrap();
//!
//! let mut ids = age::Identities::new();
//! ids.add_identity_file(identity.as_bytes()).unwrap();
//! let keyring = Keyring::new().with_source(ids);
//! let reopen = || {
//!     EncryptedFile::parse(Format::Yaml, &encrypted)
//!         .unwrap()
//!         .decrypt(&keyring, &DecryptOptions::default())
//!         .unwrap()
//! };
//! // Nothing changed: the write-back is byte-identical (same lastmodified, same MAC).
//! let again = reopen().into_encrypted().unwrap().emit(Format::Yaml, &StoreOptions::default()).unwrap();
//! assert_eq!(again, encrypted);
//!
//! // One value changed: every other value keeps its ciphertext.
//! let mut decrypted = reopen();
//! *decrypted.tree.branches[0].get_mut("b").unwrap() = sops_core::Value::Str("three".into());
//! let edited = decrypted.into_encrypted().unwrap().emit(Format::Yaml, &StoreOptions::default()).unwrap();
//! let line_a = |f: &[u8]| String::from_utf8_lossy(f).lines().next().unwrap().to_owned();
//! assert_eq!(line_a(&edited), line_a(&encrypted));
//! assert_ne!(edited, encrypted);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cipher;
pub mod config;
pub mod data_key;
mod error;
pub mod file;
pub mod keys;
mod mac_hasher;
pub mod metadata;
pub mod path;
mod random;
pub mod rules;
pub mod shamir;
pub mod store;
pub mod timestamp;
pub mod tree;
mod walk;
pub mod wipe;

pub use data_key::DataKey;
pub use error::Error;
pub use file::{DecryptOptions, DecryptedFile, EncryptOptions, EncryptedFile};
pub use keys::Keyring;
pub use metadata::{KeyGroup, KeyKind, MasterKey, Metadata};
pub use store::{Format, StoreOptions};
pub use tree::{Branch, Item, Tree, Value};

/// Decrypts a SOPS file and emits the plaintext in the same format with default settings.
pub fn decrypt(input: &[u8], format: Format, keyring: &Keyring) -> Result<Vec<u8>, Error> {
    let file = EncryptedFile::parse(format, input)?;
    let decrypted = file.decrypt(keyring, &DecryptOptions::default())?;
    Ok(store::emit(
        format,
        &decrypted.tree,
        &StoreOptions::default(),
    )?)
}

/// Encrypts a plaintext file and emits the SOPS file in the same format.
pub fn encrypt(
    input: &[u8],
    format: Format,
    options: &EncryptOptions,
    keyring: &Keyring,
) -> Result<Vec<u8>, Error> {
    let tree = file::parse_plain(format, input)?;
    let decrypted = DecryptedFile::create(format, tree, options, keyring)?;
    decrypted
        .into_encrypted()?
        .emit(format, &StoreOptions::default())
}

/// Decrypts a SOPS file into any `serde` type (the first document; comments are skipped,
/// timestamps become RFC 3339 strings).
pub fn decrypt_into<T: serde::de::DeserializeOwned>(
    input: &[u8],
    format: Format,
    keyring: &Keyring,
) -> Result<T, DeserializeError> {
    let file = EncryptedFile::parse(format, input)?;
    let decrypted = file.decrypt(
        keyring,
        &DecryptOptions {
            read_only: true,
            ..Default::default()
        },
    )?;
    let first = decrypted.tree.branches.first();
    let json = first
        .map(tree::branch_to_json)
        .unwrap_or(serde_json::Value::Null);
    serde_json::from_value(json).map_err(|e| DeserializeError::Shape(e.to_string()))
}

/// [`decrypt_into`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeserializeError {
    /// Decryption failed.
    #[error(transparent)]
    Decrypt(#[from] Error),
    /// The decrypted document does not have the shape of the target type. The message comes
    /// from serde and may name fields and types.
    #[error("the decrypted document does not match the target type: {0}")]
    Shape(String),
}

#[doc(hidden)]
/// A small encrypted file, its identity and recipient, made with a fresh throwaway age key,
/// for documentation examples only.
pub fn doc_example() -> (Vec<u8>, String, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let options = EncryptOptions {
        key_groups: vec![KeyGroup {
            keys: vec![keys::age::key_for(&recipient)],
        }],
        ..Default::default()
    };
    let enc = encrypt(
        b"password: hunter2\n",
        Format::Yaml,
        &options,
        &Keyring::new(),
    )
    .unwrap_or_default();
    (enc, id.to_string().expose_secret().to_owned(), recipient)
}

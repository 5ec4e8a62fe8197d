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
//! # let (encrypted, identity) = sops_core::doc_example();
//! let mut identities = Identities::new();
//! identities.add_identity_file(identity.as_bytes()).unwrap();
//! let keyring = Keyring::new().with_source(identities);
//! let plain = sops_core::decrypt(&encrypted, Format::Yaml, &keyring).unwrap();
//! assert_eq!(plain, b"password: hunter2\n");
//! ```
//!
//! # Encrypt, then edit and write back with stable ciphertext
//!
//! ```
//! use sops_core::{DecryptOptions, DecryptedFile, EncryptOptions, EncryptedFile, Format,
//!                 Keyring, KeyGroup, StoreOptions, keys::age};
//!
//! # let (_, identity) = sops_core::doc_example();
//! # let recipient = sops_core::doc_recipient();
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
//! let file = EncryptedFile::parse(Format::Yaml, &encrypted).unwrap();
//! let decrypted = file.decrypt(&keyring, &DecryptOptions::default()).unwrap();
//! // Nothing changed: the write-back is byte-identical (same lastmodified, same MAC).
//! let again = decrypted.into_encrypted().unwrap().emit(Format::Yaml, &StoreOptions::default()).unwrap();
//! assert_eq!(again, encrypted);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cipher;
pub mod config;
pub mod data_key;
mod error;
pub mod file;
pub mod keys;
pub mod metadata;
mod random;
pub mod rules;
pub mod shamir;
pub mod store;
pub mod timestamp;
pub mod tree;
mod walk;

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

#[doc(hidden)]
/// A small encrypted file and its identity, for documentation examples only.
pub fn doc_example() -> (Vec<u8>, String) {
    let identity = DOC_IDENTITY.to_owned();
    let options = EncryptOptions {
        key_groups: vec![KeyGroup {
            keys: vec![keys::age::key_for(&doc_recipient())],
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
    (enc, identity)
}

#[doc(hidden)]
/// The recipient of [`doc_example`]'s identity.
pub fn doc_recipient() -> String {
    DOC_RECIPIENT.to_owned()
}

/// A throwaway age key used only by documentation examples. TEST ONLY, never use it.
const DOC_IDENTITY: &str =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
const DOC_RECIPIENT: &str = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

//! The top-level error of sops-core operations. Messages never contain secret values.

use crate::cipher::CipherError;
use crate::keys::DataKeyError;
use crate::metadata::MetadataError;
use crate::rules::RuleError;
use crate::store::{Format, StoreError};

/// Everything an encrypt, decrypt or re-encrypt can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input could not be parsed, or the output could not be written, in its format.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The `sops` metadata block is missing or invalid.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A partial-encryption rule is invalid or conflicts with another.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The plaintext input already carries sops metadata.
    #[error("the file already has a sops metadata block: it is already encrypted")]
    AlreadyEncrypted {
        /// The format that found the metadata.
        format: Format,
    },
    /// A YAML input with no document at all.
    #[error("file cannot be completely empty, it must contain at least one document")]
    NoDocuments,
    /// The data key could not be recovered or wrapped.
    #[error(transparent)]
    DataKey(#[from] DataKeyError),
    /// A value failed to decrypt.
    #[error("could not decrypt the value at {path}: {source}")]
    Decrypt {
        /// The value's key path, `["a"]["b"]`.
        path: String,
        /// Why.
        #[source]
        source: CipherError,
    },
    /// A value failed to encrypt.
    #[error("could not encrypt the value at {path}: {source}")]
    Encrypt {
        /// The value's key path.
        path: String,
        /// Why.
        #[source]
        source: CipherError,
    },
    /// The MAC stored in the file could not be decrypted (wrong `lastmodified`, tampering).
    #[error("cannot decrypt MAC: {0}")]
    MacUndecryptable(#[source] CipherError),
    /// The file has no MAC.
    #[error("MAC mismatch. File has no MAC, computed {computed}")]
    MacMissing {
        /// The MAC computed over the decrypted values.
        computed: String,
    },
    /// The values do not match the MAC.
    #[error("MAC mismatch. File has {stored}, computed {computed}")]
    MacMismatch {
        /// The MAC stored in the file.
        stored: String,
        /// The MAC computed over the decrypted values.
        computed: String,
    },
    /// The file's `version` cannot be compared (sops refuses such files).
    #[error("unsupported sops version string in metadata: {0:?}")]
    Version(String),
}

impl Error {
    /// The sops exit code for this error (`cmd/sops/codes/codes.go`), as `sops decrypt` or
    /// `sops encrypt` report it.
    pub fn exit_code(&self) -> u8 {
        use crate::store::StoreErrorKind;
        match self {
            Self::Store(e) if e.kind == StoreErrorKind::Emit => 4,
            Self::Store(e) if e.kind == StoreErrorKind::NoDocuments => 92,
            Self::Store(_) => 2,
            Self::Metadata(_) | Self::Version(_) => 1,
            Self::Rule(RuleError::Conflicting(_)) => 8,
            Self::Rule(_) => 1,
            Self::AlreadyEncrypted { .. } => 203,
            Self::NoDocuments => 92,
            Self::DataKey(DataKeyError::Unrecoverable { .. }) => 128,
            Self::DataKey(_) => 1,
            Self::Decrypt { .. } => 25,
            Self::Encrypt { .. } => 23,
            Self::MacUndecryptable(_) | Self::MacMissing { .. } | Self::MacMismatch { .. } => 51,
        }
    }
}

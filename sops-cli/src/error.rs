//! The CLI's error: a message, an optional hint, and sops' exit code (`cmd/sops/codes`).

use std::fmt;

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong (never a secret value).
    pub message: String,
    /// What to try next.
    pub hint: Option<String>,
    /// The process exit code, as sops uses it.
    pub code: u8,
}

impl CliError {
    /// A new error with sops' exit code `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            code,
        }
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// sops' exit codes used here.
pub mod codes {
    /// Any unclassified error.
    pub const GENERIC: u8 = 1;
    /// Input could not be read or parsed.
    pub const COULD_NOT_READ_INPUT: u8 = 2;
    /// Output could not be written.
    pub const COULD_NOT_WRITE_OUTPUT: u8 = 3;
    /// Bad `--encryption-context`.
    pub const INVALID_KMS_ENCRYPTION_CONTEXT_FORMAT: u8 = 6;
    /// Bad `set` path or value.
    pub const INVALID_SET_FORMAT: u8 = 7;
    /// Conflicting flags.
    pub const CONFLICTING_PARAMETERS: u8 = 8;
    /// `rotate --add-*`/`--rm-*` on a file that does not exist.
    pub const CANNOT_CHANGE_KEYS_OF_MISSING_FILE: u8 = 49;
    /// Bad `--extract` path.
    pub const INVALID_TREE_PATH: u8 = 91;
    /// Missing file argument or missing file.
    pub const NO_FILE_SPECIFIED: u8 = 100;
}

impl From<sops_core::Error> for CliError {
    fn from(e: sops_core::Error) -> Self {
        let code = e.exit_code();
        let hint = match &e {
            sops_core::Error::MacMismatch { .. } | sops_core::Error::MacMissing { .. } => Some(
                "the file was modified outside sops (or its unencrypted values were edited); \
                 --ignore-mac skips this check",
            ),
            sops_core::Error::Metadata(sops_core::metadata::MetadataError::NotFound) => {
                Some("the file is not encrypted with sops (no sops metadata block)")
            }
            sops_core::Error::AlreadyEncrypted { .. } => {
                Some("decrypt it first, or use `rsops edit` to change it")
            }
            _ => None,
        };
        let mut message = e.to_string();
        if let sops_core::Error::Decrypt { .. } = e {
            message = format!("Error decrypting tree: {message}");
        }
        let mut err = Self::new(code, message);
        err.hint = hint.map(str::to_owned);
        err
    }
}

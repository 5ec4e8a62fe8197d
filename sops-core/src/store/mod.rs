//! Stores: the file formats sops reads and writes, each turning bytes into a [`Tree`] and back.
//!
//! Stores handle syntax only: no cryptography, no metadata semantics, no I/O. The `sops`
//! metadata block travels through a store as an ordinary top-level entry (YAML, JSON, binary),
//! a `[sops]` section (INI) or `sops_*` keys (dotenv); [`crate::metadata`] gives it meaning.

pub mod binary;
pub mod dotenv;
pub mod ini;
pub mod json;
pub mod yaml;

use std::fmt;

use crate::tree::{Tree, Value};

/// A file format sops knows.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum Format {
    /// Any file that is not one of the others: the whole content is one value, `data`.
    Binary,
    /// `KEY=value` lines.
    Dotenv,
    /// INI sections, with go-ini semantics.
    Ini,
    /// JSON with a top-level object.
    Json,
    /// YAML, possibly with several documents.
    Yaml,
}

impl Format {
    /// Every format, for tests and fuzzers that loop over all of them.
    pub const ALL: [Self; 5] = [
        Self::Binary,
        Self::Dotenv,
        Self::Ini,
        Self::Json,
        Self::Yaml,
    ];

    /// The format sops picks for a file name: a case-sensitive suffix match on `.yaml`/`.yml`,
    /// `.json`, `.env`, `.ini`; anything else is binary (`FOO.YAML` is binary too).
    pub fn from_path(path: &str) -> Self {
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            Self::Yaml
        } else if path.ends_with(".json") {
            Self::Json
        } else if path.ends_with(".env") {
            Self::Dotenv
        } else if path.ends_with(".ini") {
            Self::Ini
        } else {
            Self::Binary
        }
    }

    /// The format named by `--input-type`/`--output-type`; `None` for names sops does not know
    /// (sops then silently falls back to the extension).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "yaml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            "dotenv" => Some(Self::Dotenv),
            "ini" => Some(Self::Ini),
            "binary" => Some(Self::Binary),
            _ => None,
        }
    }

    /// The name sops uses for this format.
    pub fn name(self) -> &'static str {
        match self {
            Self::Binary => "binary",
            Self::Dotenv => "dotenv",
            Self::Ini => "ini",
            Self::Json => "json",
            Self::Yaml => "yaml",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-format output settings (`.sops.yaml` `stores:` section, `--indent`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct StoreOptions {
    /// YAML indentation; sops' default is 4 (0 also means 4).
    pub yaml_indent: usize,
    /// JSON indentation: -1 is one tab (the default), `n >= 0` is `n` spaces.
    pub json_indent: i32,
    /// The same for the JSON wrapper the binary store writes.
    pub json_binary_indent: i32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            yaml_indent: 4,
            json_indent: -1,
            json_binary_indent: -1,
        }
    }
}

/// Where in the input an error was found (1-based).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Location {
    /// Line, counted from 1.
    pub line: usize,
    /// Column, counted from 1.
    pub column: usize,
}

/// What went wrong in a store.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The input is not well-formed in this format.
    Syntax,
    /// The same key appears twice in one mapping where the format forbids it (YAML).
    DuplicateKey,
    /// Well-formed input that sops cannot represent (top-level sequence, scalar document,
    /// non-string key, integer beyond int64, nesting too deep...).
    Unsupported,
    /// A completely empty YAML file: sops needs at least one document.
    NoDocuments,
    /// The tree cannot be written in this format (nested value in dotenv, binary output of a
    /// tree without `data`...).
    Emit,
}

/// A store failed to parse or emit. Messages name positions and keys, never values.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub struct StoreError {
    /// The format being parsed or emitted.
    pub format: Format,
    /// The class of failure.
    pub kind: StoreErrorKind,
    /// What was wrong, without any value content.
    pub message: String,
    /// Where, when known.
    pub location: Option<Location>,
}

impl StoreError {
    /// A new error.
    pub fn new(format: Format, kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            format,
            kind,
            message: message.into(),
            location: None,
        }
    }

    /// The same error at a position.
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.location = Some(Location { line, column });
        self
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            StoreErrorKind::Emit => "cannot write",
            _ => "cannot read",
        };
        write!(f, "{what} {}: {}", self.format, self.message)?;
        if let Some(loc) = self.location {
            write!(f, " (line {}, column {})", loc.line, loc.column)?;
        }
        Ok(())
    }
}

/// Parses a plain (unencrypted) file in `format` into a tree.
pub fn parse(format: Format, input: &[u8]) -> Result<Tree, StoreError> {
    match format {
        Format::Binary => Ok(binary::parse(input)),
        Format::Dotenv => dotenv::parse(input),
        Format::Ini => ini::parse(input),
        Format::Json => json::parse(input),
        Format::Yaml => yaml::parse(input),
    }
}

/// Emits a plain (decrypted) tree in `format`.
pub fn emit(format: Format, tree: &Tree, options: &StoreOptions) -> Result<Vec<u8>, StoreError> {
    match format {
        Format::Binary => binary::emit(tree),
        Format::Dotenv => dotenv::emit(tree),
        Format::Ini => ini::emit(tree),
        Format::Json => json::emit(tree, options.json_indent),
        Format::Yaml => yaml::emit(tree, options.yaml_indent),
    }
}

/// Emits one value for `--extract` (a mapping is emitted as a whole document).
pub fn emit_value(
    format: Format,
    value: &Value,
    options: &StoreOptions,
) -> Result<Vec<u8>, StoreError> {
    match format {
        Format::Binary => Err(StoreError::new(
            format,
            StoreErrorKind::Emit,
            "the binary format cannot emit a single value; use --output-type",
        )),
        Format::Dotenv => dotenv::emit_value(value),
        Format::Ini => ini::emit_value(value),
        Format::Json => json::emit_value(value, options.json_indent),
        Format::Yaml => yaml::emit_value(value, options.yaml_indent),
    }
}

/// Parses an encrypted file: like [`parse`], except that an encrypted binary file is the JSON
/// document `{"data": "ENC[...]", "sops": {...}}`, and that nothing but whitespace may follow
/// an encrypted JSON document (see [`json::parse_encrypted`]).
pub fn parse_encrypted(format: Format, input: &[u8]) -> Result<Tree, StoreError> {
    match format {
        Format::Binary | Format::Json => json::parse_encrypted(input),
        other => parse(other, input),
    }
}

/// Emits an encrypted tree (metadata already attached): like [`emit`], except that the binary
/// format writes the JSON wrapper with the `json_binary` indent.
pub fn emit_encrypted(
    format: Format,
    tree: &Tree,
    options: &StoreOptions,
) -> Result<Vec<u8>, StoreError> {
    match format {
        Format::Binary => json::emit(tree, options.json_binary_indent),
        other => emit(other, tree, options),
    }
}

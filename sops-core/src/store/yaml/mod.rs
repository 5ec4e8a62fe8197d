//! The YAML store: parses and emits YAML exactly as sops 3.11 does with yaml.v3 v3.0.4.
//!
//! * [`parse`]: saphyr-parser events give the structure (or, for the block subset sops
//!   writes, the same events from a byte-level scanner, `fast.rs`); comments are found by
//!   scanning the source and attached where yaml.v3 + sops put them (`stores/yaml/store.go`).
//! * [`emit`]: a hand-written block emitter reproducing yaml.v3's encoder byte for byte.

mod emit;
mod fast;
mod parse;
mod resolve;

#[cfg(test)]
mod tests;

use crate::store::{Format, StoreError, StoreErrorKind};
use crate::tree::{Tree, Value};

/// Deepest nesting of collections accepted (and emitted); deeper input is rejected before any
/// deep structure is built, so neither parsing nor dropping a tree can exhaust the stack.
pub const MAX_DEPTH: usize = 1000;

pub(crate) fn err(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
    StoreError::new(Format::Yaml, kind, message)
}

/// Parses a YAML stream: one branch per document (an empty input gives zero branches).
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    if !input.is_empty() && input.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Tree::default());
    }
    let tree = parse::parse(input)?;
    if tree.branches.is_empty() && !input.is_empty() {
        // sops' pre-pass decode fails with `EOF` on a stream without documents (comments only).
        return Err(err(
            StoreErrorKind::Syntax,
            "EOF: the input holds no YAML document",
        ));
    }
    Ok(tree)
}

pub(crate) use emit::emit_piece;
#[cfg(test)]
pub(crate) use parse::cut_lines;
pub(crate) use parse::{SPLIT_BYTES, cut_pieces, parse_piece};

/// Emits a tree as sops does: one document per branch, separated by `---`.
pub fn emit(tree: &Tree, indent: usize) -> Result<Vec<u8>, StoreError> {
    emit::emit_tree(tree, indent)
}

/// Emits one value for `sops decrypt --extract`: a mapping as a document, anything else as
/// `yaml.Marshal` writes it.
pub fn emit_value(value: &Value, indent: usize) -> Result<Vec<u8>, StoreError> {
    emit::emit_single(value, indent)
}

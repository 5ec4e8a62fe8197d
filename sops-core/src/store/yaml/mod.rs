//! The YAML store: parses and emits YAML exactly as sops 3.11 does with yaml.v3 v3.0.4.
//!
//! * [`parse`]: saphyr-parser events give the structure (or, for the block subset sops
//!   writes, the same events from a byte-level scanner, `fast.rs`); comments are found by
//!   scanning the source and attached where yaml.v3 + sops put them (`stores/yaml/store.go`).
//! * [`emit`]: a hand-written block emitter reproducing yaml.v3's encoder byte for byte.

mod cut;
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

pub(crate) use cut::CutReader;
pub(crate) use emit::emit_piece;
pub(crate) use parse::{SPLIT_BYTES, cut_lines, cut_pieces, parse_piece};

/// For the fuzz target `yaml_pieces`: when `input` cut every `target` bytes the way the
/// piecewise paths cut it gives pieces that each parse on their own, with no top-level key
/// twice, whether the whole input parses to exactly their items. `None` when the piecewise
/// paths would leave the input to the whole-tree path. Also `Some(false)` when the pieces
/// read from a reader (a few bytes per read) are not those of the input cut whole.
#[doc(hidden)]
pub fn pieces_match_whole(input: &[u8], target: usize) -> Option<bool> {
    let cut = cut_lines(input, target.max(1));
    let read: Result<Vec<_>, _> = CutReader::new(
        cut::Trickle {
            data: input,
            step: 7,
        },
        target.max(1),
    )
    .collect();
    let same = match (&cut, &read) {
        (None, Err(cut::CutError::NotCuttable)) => true,
        (Some(cut), Ok(read)) => cut
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| &p[..])
            .eq(read.iter().map(|p| &p[..])),
        _ => false,
    };
    if !same {
        return Some(false);
    }
    let mut items = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for piece in cut? {
        let mut tree = parse_piece(piece)?;
        for item in tree.branches.remove(0).items {
            if let crate::tree::Item::Pair { key, .. } = &item
                && !keys.insert(key.clone())
            {
                return None;
            }
            items.push(item);
        }
    }
    // Compared as written (a NaN is not equal to itself in the tree).
    let pieces = Tree {
        branches: vec![crate::tree::Branch { items }],
    };
    Some(parse(input).is_ok_and(|whole| {
        whole.branches.len() == 1 && emit(&whole, 4).ok() == emit(&pieces, 4).ok()
    }))
}

/// Emits a tree as sops does: one document per branch, separated by `---`.
pub fn emit(tree: &Tree, indent: usize) -> Result<Vec<u8>, StoreError> {
    emit::emit_tree(tree, indent)
}

/// Emits one value for `sops decrypt --extract`: a mapping as a document, anything else as
/// `yaml.Marshal` writes it.
pub fn emit_value(value: &Value, indent: usize) -> Result<Vec<u8>, StoreError> {
    emit::emit_single(value, indent)
}

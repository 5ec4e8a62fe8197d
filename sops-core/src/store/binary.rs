//! The binary store: the whole file is one value, `data` (sops' `BinaryStore`).

use crate::store::{Format, StoreError, StoreErrorKind};
use crate::tree::{Branch, Tree, Value};

/// The one key a binary file's tree has.
pub const DATA_KEY: &str = "data";

/// Wraps the raw bytes as `{data: <bytes>}`; text stays a string, anything else is bytes.
pub fn parse(input: &[u8]) -> Tree {
    let value = match std::str::from_utf8(input) {
        Ok(s) => Value::Str(s.to_owned()),
        Err(_) => Value::Bytes(input.to_vec()),
    };
    let mut branch = Branch::new();
    branch.push(DATA_KEY, value);
    Tree::single(branch)
}

/// Writes the raw bytes of the first document's `data` string, nothing added.
pub fn emit(tree: &Tree) -> Result<Vec<u8>, StoreError> {
    match tree.branches.first().and_then(|b| b.get(DATA_KEY)) {
        Some(Value::Str(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Bytes(b)) => Ok(b.clone()),
        _ => Err(StoreError::new(
            Format::Binary,
            StoreErrorKind::Emit,
            "no binary data found in tree; to decrypt a structured file to another format, \
             pass --output-type",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_bytes() {
        for input in [&b""[..], b"text\n", &[0xff, 0x00, 0xfe, b'\n']] {
            assert_eq!(emit(&parse(input)).unwrap(), input);
        }
    }

    #[test]
    fn tree_without_data_is_an_emit_error() {
        let mut b = Branch::new();
        b.push("other", Value::Int(1));
        let err = emit(&Tree::single(b)).unwrap_err();
        assert_eq!(err.kind, StoreErrorKind::Emit);
    }
}

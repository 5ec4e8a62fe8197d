//! The json store (placeholder until the store lands).

use crate::store::{Format, StoreError, StoreErrorKind};
use crate::tree::{Tree, Value};

fn todo() -> StoreError {
    StoreError::new(
        Format::Json,
        StoreErrorKind::Unsupported,
        "store not implemented yet",
    )
}

/// Parses a json file.
pub fn parse(_input: &[u8]) -> Result<Tree, StoreError> {
    Err(todo())
}

/// Emits a json file.
pub fn emit(_tree: &Tree, _indent: i32) -> Result<Vec<u8>, StoreError> {
    Err(todo())
}

/// Emits one value for `--extract`.
pub fn emit_value(_value: &Value, _indent: i32) -> Result<Vec<u8>, StoreError> {
    Err(todo())
}

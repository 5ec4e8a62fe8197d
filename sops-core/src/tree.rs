//! The format-neutral, ordered document tree that every store parses into and emits from.
//!
//! The model follows sops' `Tree`/`TreeBranch`/`TreeItem` (sops.go): a file is a list of
//! documents (several only for multi-document YAML), each document an ordered list of items,
//! where an item is either a key/value pair or a comment line. Keys may repeat (JSON and YAML
//! files sops writes can carry duplicates); order is always preserved.
//!
//! Scalars hold plaintext. `Debug` redacts scalar contents so a tree can never leak a secret
//! through a log line or an error; only the shape is shown.

use std::fmt;

use zeroize::Zeroize;

use crate::timestamp::Timestamp;
use crate::wipe::{wipe_string, wipe_vec};

/// A parsed file: one branch per document.
#[derive(Default, PartialEq)]
pub struct Tree {
    /// The documents, in file order. Every format but YAML has exactly one.
    pub branches: Vec<Branch>,
}

/// An ordered mapping with interleaved comments.
#[derive(Default, PartialEq)]
pub struct Branch {
    /// Items in document order.
    pub items: Vec<Item>,
}

/// One entry of a [`Branch`].
#[derive(PartialEq)]
pub enum Item {
    /// A key and its value.
    Pair {
        /// The key, exactly as written (no trimming).
        key: String,
        /// The value.
        value: Value,
    },
    /// A comment line, without its leading comment character (`# foo` holds `" foo"`).
    Comment(String),
}

/// A value in the tree.
#[derive(PartialEq)]
pub enum Value {
    /// YAML `null`/`~`/empty, JSON `null`. Never encrypted, never part of the MAC.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer (YAML ints; sops' Go `int`).
    Int(i64),
    /// A 64-bit float (YAML floats, every JSON number).
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// A byte string that is not valid UTF-8 (binary store, YAML `!!binary`); encrypted as `str`.
    Bytes(Vec<u8>),
    /// A timestamp (YAML `!!timestamp`); encrypted as `time`.
    Time(Timestamp),
    /// A nested mapping.
    Map(Branch),
    /// A sequence. Elements may be [`Value::Comment`].
    List(Vec<Self>),
    /// A comment inside a sequence (only valid as a [`Value::List`] element).
    Comment(String),
}

impl Tree {
    /// A tree with a single document.
    pub fn single(branch: Branch) -> Self {
        Self {
            branches: vec![branch],
        }
    }
}

impl Branch {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a key/value pair.
    pub fn push(&mut self, key: impl Into<String>, value: Value) {
        self.items.push(Item::Pair {
            key: key.into(),
            value,
        });
    }

    /// Appends a comment line (text without the comment character).
    pub fn push_comment(&mut self, text: impl Into<String>) {
        self.items.push(Item::Comment(text.into()));
    }

    /// The value of the first pair with this key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items.iter().find_map(|item| match item {
            Item::Pair { key: k, value } if k == key => Some(value),
            _ => None,
        })
    }

    /// A mutable reference to the value of the first pair with this key.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.items.iter_mut().find_map(|item| match item {
            Item::Pair { key: k, value } if k == key => Some(value),
            _ => None,
        })
    }

    /// Removes every top-level pair with this key and returns the first one's value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let mut found = None;
        let mut kept = Vec::with_capacity(self.items.len());
        for item in self.items.drain(..) {
            match item {
                Item::Pair { key: k, value } if k == key => {
                    if found.is_none() {
                        found = Some(value);
                    }
                }
                other => kept.push(other),
            }
        }
        self.items = kept;
        found
    }

    /// Whether the branch has no items at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl Value {
    /// A short name of the value's kind, for error messages (never the value itself).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Str(_) => "string",
            Self::Bytes(_) => "bytes",
            Self::Time(_) => "timestamp",
            Self::Map(_) => "mapping",
            Self::List(_) => "sequence",
            Self::Comment(_) => "comment",
        }
    }

    /// The string content, if this is a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Converts a mapping to JSON for serde consumers: comments are skipped, timestamps become
/// RFC 3339 strings, non-UTF-8 bytes are replaced lossily, non-finite floats become null.
pub(crate) fn branch_to_json(b: &Branch) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for item in &b.items {
        if let Item::Pair { key, value } = item {
            map.insert(key.clone(), value_to_json(value));
        }
    }
    serde_json::Value::Object(map)
}

fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null | Value::Comment(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(String::from_utf8_lossy(b).into_owned()),
        Value::Time(t) => J::String(t.to_rfc3339_nano()),
        Value::Map(b) => branch_to_json(b),
        Value::List(l) => J::Array(
            l.iter()
                .filter(|x| !matches!(x, Value::Comment(_)))
                .map(value_to_json)
                .collect(),
        ),
    }
}

// Redacting Debug: shape only, never scalar contents.
impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.branches).finish()
    }
}

impl fmt::Debug for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.items).finish()
    }
}

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pair { key, value } => write!(f, "{key:?}: {value:?}"),
            Self::Comment(c) => write!(f, "Comment(<{} bytes>)", c.len()),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Map(b) => b.fmt(f),
            Self::List(l) => f.debug_list().entries(l).finish(),
            Self::Null => f.write_str("Null"),
            Self::Str(s) => write!(f, "Str(<{} bytes>)", s.len()),
            Self::Bytes(b) => write!(f, "Bytes(<{} bytes>)", b.len()),
            Self::Comment(c) => write!(f, "Comment(<{} bytes>)", c.len()),
            other => write!(f, "{}(<redacted>)", other.kind_name()),
        }
    }
}

// Wiping: plaintext trees are secret material. Text goes through `wipe` (bulk writes).
impl Zeroize for Value {
    fn zeroize(&mut self) {
        match self {
            Self::Str(s) | Self::Comment(s) => wipe_string(s),
            Self::Bytes(b) => wipe_vec(b),
            Self::Map(b) => b.zeroize(),
            Self::List(l) => l.iter_mut().for_each(Zeroize::zeroize),
            Self::Int(i) => i.zeroize(),
            Self::Float(x) => x.zeroize(),
            Self::Bool(b) => b.zeroize(),
            Self::Null | Self::Time(_) => {}
        }
    }
}

impl Zeroize for Branch {
    fn zeroize(&mut self) {
        for item in &mut self.items {
            match item {
                Item::Pair { key, value } => {
                    wipe_string(key);
                    value.zeroize();
                }
                Item::Comment(c) => wipe_string(c),
            }
        }
    }
}

impl Zeroize for Tree {
    fn zeroize(&mut self) {
        self.branches.iter_mut().for_each(Zeroize::zeroize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_scalars() {
        let mut b = Branch::new();
        b.push("password", Value::Str("hunter2".into()));
        b.push_comment(" secret comment");
        let shown = format!("{:?}", Tree::single(b));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("secret comment"), "{shown}");
        assert!(shown.contains("password"), "{shown}");
    }

    #[test]
    fn remove_drops_every_duplicate() {
        let mut b = Branch::new();
        b.push("sops", Value::Int(1));
        b.push("a", Value::Int(2));
        b.push("sops", Value::Int(3));
        assert_eq!(b.remove("sops"), Some(Value::Int(1)));
        assert_eq!(b.items.len(), 1);
        assert_eq!(b.get("sops"), None);
    }
}

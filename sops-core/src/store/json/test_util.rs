//! Shared test helpers for the text stores: fixture discovery and tree shapes.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::tree::{Branch, Item, Tree, Value};

/// `testdata/<sub>` at the workspace root.
pub(crate) fn testdata(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join(sub)
}

/// Every file in `testdata/<sub>` (sorted), with its name; panics if there are none.
pub(crate) fn files(sub: &str) -> Vec<(String, Vec<u8>)> {
    let dir = testdata(sub);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .filter(|(name, _)| name != "README.md")
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

/// One oracle case: `(name, plain, expected, encrypted)`.
pub(crate) type Case = (String, Vec<u8>, Vec<u8>, Vec<u8>);

/// The oracle cases of `testdata/<sub>`: one for every `<name>.plain.<ext>` with its
/// `<name>.expected.<ext>` and `<name>.enc.<ext>`.
pub(crate) fn cases(sub: &str) -> Vec<Case> {
    let all = files(sub);
    let find = |n: &str| {
        all.iter()
            .find(|(name, _)| name == n)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("missing fixture {n}"))
    };
    let mut out = Vec::new();
    for (name, plain) in &all {
        if let Some((stem, ext)) = name.split_once(".plain.") {
            out.push((
                stem.to_owned(),
                plain.clone(),
                find(&format!("{stem}.expected.{ext}")),
                find(&format!("{stem}.enc.{ext}")),
            ));
        }
    }
    assert!(!out.is_empty(), "no cases in {sub}");
    out
}

/// A text picture of a tree's shape: keys, nesting and comment positions, scalars masked.
pub(crate) fn shape(tree: &Tree) -> String {
    let mut s = String::new();
    for b in &tree.branches {
        branch_shape(&mut s, b);
        s.push('\n');
    }
    s
}

fn branch_shape(s: &mut String, b: &Branch) {
    s.push('{');
    for item in &b.items {
        match item {
            Item::Pair { key, value } => {
                write!(s, "{key:?}:").unwrap();
                value_shape(s, value);
            }
            Item::Comment(_) => s.push('#'),
        }
        s.push(',');
    }
    s.push('}');
}

fn value_shape(s: &mut String, v: &Value) {
    match v {
        Value::Map(b) => branch_shape(s, b),
        Value::List(l) => {
            s.push('[');
            for v in l {
                value_shape(s, v);
                s.push(',');
            }
            s.push(']');
        }
        Value::Comment(_) => s.push('#'),
        _ => s.push('_'),
    }
}

//! Tests of the dotenv store against files written by sops 3.11.

use super::*;
use crate::store::json::test_util::{cases, files, shape};
use crate::timestamp::Timestamp;

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn strip_metadata(tree: &mut Tree) {
    // stores/dotenv/store.go LoadEncryptedFile: every top-level key starting `sops_`.
    tree.branches[0]
        .items
        .retain(|i| !matches!(i, Item::Pair { key, .. } if key.starts_with("sops_")));
}

#[test]
fn corpus_round_trips_byte_for_byte() {
    for (name, input) in files("dotenv/corpus") {
        let out = emit(&parse(&input).unwrap()).unwrap();
        assert!(out == input, "{name}:\n{}", show(&out));
    }
}

#[test]
fn oracle_cases_match_sops() {
    for (name, plain, expected, enc) in cases("dotenv/cases") {
        let tree = parse(&plain).unwrap();
        let out = emit(&tree).unwrap();
        assert!(out == expected, "{name}:\n{}", show(&out));
        let mut enc_tree = parse(&enc).unwrap();
        assert!(emit(&enc_tree).unwrap() == enc, "{name}");
        let before = enc_tree.branches[0].items.len();
        strip_metadata(&mut enc_tree);
        assert!(enc_tree.branches[0].items.len() < before, "{name}");
        assert_eq!(shape(&enc_tree), shape(&tree), "{name}");
    }
}

#[test]
fn values_are_raw_strings() {
    let tree = parse(b"#c\n  K = \"v\" \r\nE=\nX=a=b\\nc\n=k\n").unwrap();
    let b = &tree.branches[0];
    assert_eq!(b.items[0], Item::Comment("c".into()));
    assert_eq!(b.get("  K "), Some(&Value::Str(" \"v\" \r".into())));
    assert_eq!(b.get("E"), Some(&Value::Str(String::new())));
    assert_eq!(b.get("X"), Some(&Value::Str("a=b\nc".into())));
    assert_eq!(b.get(""), Some(&Value::Str("k".into())));
    // Invalid UTF-8 in a value is kept as bytes and written back unchanged.
    let raw = b"B=\xff\xfe\\n\n";
    let tree = parse(raw).unwrap();
    assert_eq!(
        tree.branches[0].get("B"),
        Some(&Value::Bytes(b"\xff\xfe\n".to_vec()))
    );
    assert_eq!(emit(&tree).unwrap(), raw);
}

#[test]
fn line_without_equals_is_an_error_without_content() {
    let e = parse(b"A=1\n\nSECRET_NO_EQUALS\n").unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Syntax);
    assert_eq!(e.location.map(|l| l.line), Some(3));
    assert!(!e.to_string().contains("SECRET"), "{e}");
    assert!(parse(b"  # indented comments are not comments\n").is_err());
}

#[test]
fn empty_input_is_an_empty_tree() {
    let tree = parse(b"").unwrap();
    assert!(tree.branches[0].is_empty());
    assert_eq!(emit(&tree).unwrap(), b"");
    assert_eq!(parse(b"\n\n\n").unwrap(), tree);
}

#[test]
fn huge_values_parse() {
    let mut input = b"K=".to_vec();
    input.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    input.push(b'\n');
    let tree = parse(&input).unwrap();
    assert_eq!(emit(&tree).unwrap(), input);
}

#[test]
fn non_strings_use_val_to_string() {
    // Verified with `sops decrypt --output-type dotenv` of a JSON file.
    let mut b = Branch::new();
    for (k, f) in [
        ("f", 1.5),
        ("i", 100000.0),
        ("one", 1.0),
        ("big", 1e21),
        ("small", 1e-5),
        ("m", 1234567.0),
        ("e5", 123456.0),
        ("tiny", 0.0001),
        ("neg", -2.5e-7),
        ("nz", -0.0),
    ] {
        b.push(k, Value::Float(f));
    }
    b.push("b", Value::Bool(true));
    b.push("n", Value::Null);
    b.push("int", Value::Int(-3));
    b.push("s", Value::Str("a\nb".into()));
    b.push(
        "t",
        Value::Time(Timestamp::parse_rfc3339("2002-12-14T10:00:00.5+01:00").unwrap()),
    );
    assert_eq!(
        show(&emit(&Tree::single(b)).unwrap()),
        "f=1.5\ni=100000.0\none=1.0\nbig=1E+21\nsmall=1E-05\nm=1.234567E+06\ne5=123456.0\n\
         tiny=0.0001\nneg=-2.5E-07\nnz=-0.0\nb=true\nn=<nil>\nint=-3\ns=a\\nb\n\
         t=2002-12-14T10:00:00+01:00\n"
    );
}

#[test]
fn complex_values_are_refused() {
    let mut b = Branch::new();
    b.push("nested_key", Value::Map(Branch::new()));
    let e = emit(&Tree::single(b)).unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Emit);
    assert_eq!(
        e.message,
        "cannot use complex value in dotenv file; offending key nested_key"
    );
    let mut b = Branch::new();
    b.push("l", Value::List(vec![]));
    assert!(emit(&Tree::single(b)).is_err());
}

#[test]
fn emit_value_matches_sops_extract() {
    assert_eq!(emit_value(&Value::Str("x".into())).unwrap(), b"x");
    let e = emit_value(&Value::Float(1.5)).unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Emit);
    let mut b = Branch::new();
    b.push("A", Value::Str("1".into()));
    assert_eq!(emit_value(&Value::Map(b)).unwrap(), b"A=1\n");
}

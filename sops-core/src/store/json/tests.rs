//! Tests of the JSON store against files written by sops 3.11.

use super::test_util::{cases, files, shape};
use super::*;
use crate::timestamp::Timestamp;

fn rt(input: &[u8], indent: i32) -> Vec<u8> {
    emit(&parse(input).unwrap(), indent).unwrap()
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn corpus_round_trips_byte_for_byte() {
    for (name, input) in files("json/corpus") {
        // cases/indent/.sops.yaml: json indent 3, json_binary indent 4; everything else tab.
        let indent = match (name.starts_with("indent--"), name.ends_with(".bin")) {
            (true, true) => 4,
            (true, false) => 3,
            _ => -1,
        };
        let out = rt(&input, indent);
        assert!(out == input, "{name}:\n{}", show(&out));
    }
}

#[test]
fn oracle_cases_match_sops() {
    for (name, plain, expected, enc) in cases("json/cases") {
        let tree = parse(&plain).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = emit(&tree, -1).unwrap();
        assert!(
            out == expected,
            "{name}:\n{}\n---\n{}",
            show(&out),
            show(&expected)
        );
        let mut enc_tree = parse(&enc).unwrap();
        assert!(enc_tree.branches[0].remove("sops").is_some(), "{name}");
        assert_eq!(shape(&enc_tree), shape(&tree), "{name}");
        // The encrypted file itself round-trips.
        assert!(rt(&enc, -1) == enc, "{name}");
    }
}

#[test]
fn truncated_files_are_syntax_errors() {
    for (name, input) in files("json/errors") {
        let e = parse(&input).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::Syntax, "{name}");
        assert!(e.location.is_some(), "{name}");
    }
}

#[test]
fn malformed_input_is_rejected() {
    for bad in [
        &b""[..],
        b"   ",
        b"{",
        b"{\"a\"",
        b"{\"a\":",
        b"{\"a\":1",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{,}",
        b"{\"a\":[1,]}",
        b"{\"a\":[1 2]}",
        b"{\"a\":01}",
        b"{\"a\":+1}",
        b"{\"a\":.5}",
        b"{\"a\":1.}",
        b"{\"a\":1e}",
        b"{\"a\":-}",
        b"{\"a\":tru}",
        b"{\"a\":nul}",
        b"{\"a\":\"\\x\"}",
        b"{\"a\":\"\\u12\"}",
        b"{\"a\":\"tab\there\"}",
        b"{\"a\":\"unterminated}",
        b"{'a':1}",
        b"{a:1}",
        b"x",
        b"\xef\xbb\xbf{}",
        b"{\"a\":1e400}",
        b"{\"a\":-1e400}",
    ] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::Syntax, "{}", show(bad));
    }
}

#[test]
fn top_level_must_be_an_object() {
    for bad in [&b"[]"[..], b"[1,2]", b"\"s\"", b"1", b"null", b"true"] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::Unsupported, "{}", show(bad));
    }
}

#[test]
fn out_of_range_number_error_names_no_value() {
    let e = parse(b"{\"k\": 1e999}").unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Syntax);
    assert!(!e.to_string().contains("999"), "{e}");
    assert_eq!(e.location.map(|l| l.column), Some(7));
}

#[test]
fn trailing_data_after_the_object_is_ignored_like_sops() {
    // Verified: sops 3.11 encrypts `{"a":"b"} xyz` and drops the tail.
    assert_eq!(rt(b"{\"a\":\"b\"} xyz", -1), b"{\n\t\"a\": \"b\"\n}\n");
}

#[test]
fn deep_nesting_is_refused_quickly() {
    let deep = vec![b'['; 100_000];
    let mut input = b"{\"a\":".to_vec();
    input.extend_from_slice(&deep);
    let e = parse(&input).unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Unsupported);

    let deep_obj = "{\"a\":".repeat(100_000);
    let e = parse(deep_obj.as_bytes()).unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Unsupported);

    // Exactly MAX_DEPTH levels are fine and round-trip.
    let mut ok = "{\"a\":".to_owned();
    ok.push_str(&"[".repeat(MAX_DEPTH - 1));
    ok.push_str(&"]".repeat(MAX_DEPTH - 1));
    ok.push('}');
    let tree = parse(ok.as_bytes()).unwrap();
    let out = emit(&tree, 0).unwrap();
    assert_eq!(parse(&out).unwrap(), tree);
    let mut too_deep = "{\"a\":".to_owned();
    too_deep.push_str(&"[".repeat(MAX_DEPTH));
    too_deep.push_str(&"]".repeat(MAX_DEPTH));
    too_deep.push('}');
    assert!(parse(too_deep.as_bytes()).is_err());
}

#[test]
fn huge_values_parse() {
    let big = "x".repeat(10 * 1024 * 1024);
    let input = format!("{{\"k\": \"{big}\"}}");
    let tree = parse(input.as_bytes()).unwrap();
    assert_eq!(
        tree.branches[0]
            .get("k")
            .and_then(Value::as_str)
            .map(str::len),
        Some(big.len())
    );
    let out = emit(&tree, -1).unwrap();
    assert_eq!(out.len(), big.len() + 13);
}

#[test]
fn duplicates_are_kept_in_order() {
    let tree = parse(br#"{"d":1,"x":2,"d":3}"#).unwrap();
    let keys: Vec<_> = tree.branches[0]
        .items
        .iter()
        .map(|i| match i {
            Item::Pair { key, .. } => key.as_str(),
            Item::Comment(_) => "#",
        })
        .collect();
    assert_eq!(keys, ["d", "x", "d"]);
}

#[test]
fn numbers_are_floats() {
    let tree = parse(br#"{"i":42,"b":12345678901234567890,"n":-0,"e":1E3,"u":1e-400}"#).unwrap();
    let b = &tree.branches[0];
    assert_eq!(b.get("i"), Some(&Value::Float(42.0)));
    assert_eq!(b.get("b"), Some(&Value::Float(12345678901234567890.0)));
    assert!(matches!(b.get("n"), Some(Value::Float(f)) if f.is_sign_negative() && *f == 0.0));
    assert_eq!(b.get("e"), Some(&Value::Float(1000.0)));
    assert_eq!(b.get("u"), Some(&Value::Float(0.0)));
}

#[test]
fn floats_are_written_like_go() {
    for (f, s) in [
        (1.0, "1"),
        (-0.0, "-0"),
        (0.0, "0"),
        (0.5, "0.5"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (5e-324, "5e-324"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.2345678901234569e23, "1.2345678901234569e+23"),
        (12345678901234567890.0, "12345678901234567000"),
        (f64::MAX, "1.7976931348623157e+308"),
        (-2.5e-8, "-2.5e-8"),
        (0.1 + 0.2, "0.30000000000000004"),
    ] {
        assert_eq!(go_json_float(f).as_deref(), Some(s), "{f:e}");
    }
    assert_eq!(go_json_float(f64::NAN), None);
    assert_eq!(go_json_float(f64::INFINITY), None);
}

#[test]
fn strings_decode_like_go() {
    let get = |input: &[u8]| -> String {
        let t = parse(input).unwrap();
        t.branches[0]
            .get("s")
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        get(br#"{"s":"a\"\\\/\b\f\n\r\t"}"#),
        "a\"\\/\u{8}\u{c}\n\r\t"
    );
    assert_eq!(get(br#"{"s":"\u00e9\u2713\uD83C\uDF89"}"#), "é✓🎉");
    // Lone surrogates become U+FFFD; a bad pair keeps its second escape.
    assert_eq!(get(br#"{"s":"\ud800x"}"#), "\u{FFFD}x");
    assert_eq!(get(br#"{"s":"\udc00"}"#), "\u{FFFD}");
    assert_eq!(get(br#"{"s":"\ud800\u0041"}"#), "\u{FFFD}A");
    assert_eq!(get(br#"{"s":"\ud800\ud800\udc00"}"#), "\u{FFFD}\u{10000}");
    // Invalid UTF-8: one U+FFFD per bad byte, as Go's utf8.DecodeRune.
    assert_eq!(
        get(b"{\"s\":\"a\xe2\x82b\xffc\"}"),
        "a\u{FFFD}\u{FFFD}b\u{FFFD}c"
    );
    assert_eq!(get(b"{\"s\":\"\xed\xa0\x80\"}"), "\u{FFFD}\u{FFFD}\u{FFFD}");
    // Raw DEL and non-ASCII are fine.
    assert_eq!(get("{\"s\":\"\u{7f}日本\"}".as_bytes()), "\u{7f}日本");
}

#[test]
fn strings_encode_like_go() {
    let mut b = Branch::new();
    b.push(
        "k<&>",
        Value::Str("<a&b>\u{1}\u{1f}\u{7f}\u{8}\u{c}\u{2028}\u{2029}é\"\\/".into()),
    );
    b.push("bytes", Value::Bytes(b"a\xffb\xe2\x82".to_vec()));
    let out = emit(&Tree::single(b), -1).unwrap();
    assert_eq!(
        show(&out),
        "{\n\t\"k\\u003c\\u0026\\u003e\": \"\\u003ca\\u0026b\\u003e\\u0001\\u001f\u{7f}\\b\\f\\u2028\\u2029é\\\"\\\\/\",\n\t\"bytes\": \"a\\ufffdb\\ufffd\\ufffd\"\n}\n"
    );
}

#[test]
fn other_values_and_indents() {
    let mut inner = Branch::new();
    inner.push_comment(" skipped");
    inner.push("i", Value::Int(-7));
    let mut b = Branch::new();
    b.push_comment(" skipped");
    b.push("m", Value::Map(inner));
    b.push(
        "l",
        Value::List(vec![
            Value::Comment("x".into()),
            Value::Bool(false),
            Value::Null,
        ]),
    );
    b.push(
        "t",
        Value::Time(Timestamp::parse_rfc3339("2002-12-14T10:00:00.5+01:00").unwrap()),
    );
    b.push("e", Value::List(vec![Value::Comment("x".into())]));
    b.push("o", Value::Map(Branch::new()));
    let tree = Tree::single(b);
    assert_eq!(
        show(&emit(&tree, 2).unwrap()),
        "{\n  \"m\": {\n    \"i\": -7\n  },\n  \"l\": [\n    false,\n    null\n  ],\n  \"t\": \"2002-12-14T10:00:00.5+01:00\",\n  \"e\": [],\n  \"o\": {}\n}\n"
    );
    assert_eq!(
        show(&emit(&tree, 0).unwrap()),
        "{\n\"m\": {\n\"i\": -7\n},\n\"l\": [\nfalse,\nnull\n],\n\"t\": \"2002-12-14T10:00:00.5+01:00\",\n\"e\": [],\n\"o\": {}\n}\n"
    );
    assert_eq!(emit(&Tree::single(Branch::new()), -1).unwrap(), b"{}\n");
    assert!(emit(&tree, -2).is_err());
    assert_eq!(
        marshal_compact(&Value::List(vec![
            Value::Float(1.5),
            Value::Str("<".into())
        ]))
        .unwrap(),
        b"[1.5,\"\\u003c\"]"
    );
}

#[test]
fn non_finite_floats_cannot_be_written() {
    let mut b = Branch::new();
    b.push("secret_key", Value::Float(f64::INFINITY));
    let e = emit(&Tree::single(b), -1).unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Emit);
    assert!(e.message.contains("secret_key"), "{e}");
}

#[test]
fn emit_value_matches_sops_extract() {
    // Verified with `sops decrypt --extract` on {"s":"str","n":42,"l":[1,"a",{"x":1}],"m":...}.
    assert_eq!(emit_value(&Value::Str("str".into()), -1).unwrap(), b"str");
    assert_eq!(emit_value(&Value::Float(42.0), -1).unwrap(), b"42");
    let tree = parse(br#"{"l":[1,"a",{"x":1}],"m":{"x":"y","z":[]}}"#).unwrap();
    let b = &tree.branches[0];
    assert_eq!(
        show(&emit_value(b.get("l").unwrap(), -1).unwrap()),
        "[\n\t1,\n\t\"a\",\n\t{\n\t\t\"x\": 1\n\t}\n]"
    );
    assert_eq!(
        show(&emit_value(b.get("m").unwrap(), -1).unwrap()),
        "{\n\t\"x\": \"y\",\n\t\"z\": []\n}\n"
    );
}

#[test]
fn only_whitespace_may_follow_an_encrypted_document() {
    // Verified with sops 3.11: a plain file's trailing text is never read (encrypt works),
    // an encrypted file's is an error ("Error unmarshalling input json: invalid character
    // 'x' after top-level value", exit 1); whitespace is fine for both.
    let doc = b"{\"a\": \"b\"}";
    for tail in [&b""[..], b" ", b"\n", b" \t\r\n"] {
        let input = [&doc[..], tail].concat();
        assert!(parse_encrypted(&input).is_ok(), "{tail:?}");
    }
    for (tail, shown, column) in [
        (&b" xyz"[..], "'x'", 12),
        (b"\n{\"b\":1}", "'{'", 1),
        (b" 12", "'1'", 12),
        (b"]", "']'", 11),
        (b" \x01", "byte 0x01", 12),
    ] {
        let input = [&doc[..], tail].concat();
        assert!(parse(&input).is_ok(), "{tail:?}");
        let e = parse_encrypted(&input).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::Syntax, "{tail:?}");
        assert_eq!(
            e.message,
            format!("invalid character {shown} after top-level value")
        );
        assert_eq!(e.location.map(|l| l.column), Some(column), "{tail:?}");
    }
}

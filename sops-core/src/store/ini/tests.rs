//! Tests of the INI store against files written by sops 3.11.

use super::*;
use crate::store::json::test_util::{cases, files, shape};

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn rt(input: &[u8]) -> Vec<u8> {
    emit(&parse(input).unwrap()).unwrap()
}

#[test]
fn corpus_round_trips_byte_for_byte() {
    for (name, input) in files("ini/corpus") {
        let out = rt(&input);
        assert!(out == input, "{name}:\n{}", show(&out));
    }
}

#[test]
fn oracle_cases_match_sops() {
    for (name, plain, expected, enc) in cases("ini/cases") {
        let tree = parse(&plain).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = emit(&tree).unwrap();
        assert!(out == expected, "{name}:\n{}", show(&out));
        // sops' own output is stable under our round trip.
        assert!(rt(&expected) == expected, "{name}");
        assert!(rt(&enc) == enc, "{name}");
        // stores/ini/store.go LoadEncryptedFile removes the `sops` section.
        let mut enc_tree = parse(&enc).unwrap();
        assert!(enc_tree.branches[0].remove("sops").is_some(), "{name}");
        assert_eq!(shape(&enc_tree), shape(&tree), "{name}");
    }
}

#[test]
fn tree_layout() {
    let tree = parse(b"g = 1\n; c\n[s] # sc\nk = v ; kc\nk2 = w\n").unwrap();
    let b = &tree.branches[0];
    let Some(Value::Map(default)) = b.get("DEFAULT") else {
        panic!("no DEFAULT")
    };
    assert_eq!(default.items.len(), 1);
    let Some(Value::Map(s)) = b.get("s") else {
        panic!("no s")
    };
    assert_eq!(
        s.items,
        vec![
            Item::Comment("c\n# sc".into()),
            Item::Pair {
                key: "k".into(),
                value: Value::Str("v".into())
            },
            Item::Comment("kc".into()),
            Item::Pair {
                key: "k2".into(),
                value: Value::Str("w".into())
            },
        ]
    );
    // The empty DEFAULT section is always first.
    let tree = parse(b"").unwrap();
    assert_eq!(shape(&tree), "{\"DEFAULT\":{},}\n");
    assert_eq!(emit(&tree).unwrap(), b"");
}

#[test]
fn duplicate_keys_merge_like_go_ini() {
    let tree = parse(b"[a]\nx = 1 ; first\ny = 2\nx = 3\n").unwrap();
    let Some(Value::Map(a)) = tree.branches[0].get("a") else {
        panic!()
    };
    // First position, last value, last (here: no) comment.
    assert_eq!(shape(&tree), "{\"DEFAULT\":{},\"a\":{\"x\":_,\"y\":_,},}\n");
    assert_eq!(a.get("x"), Some(&Value::Str("3".into())));
}

#[test]
fn auto_increment_keys() {
    // go-ini names `-` keys `#1`, `#2`. sops writes them under those names (verified), which
    // read back as comments: its own encrypted file then fails the MAC. We refuse instead.
    let tree = parse(b"[list]\n- = first\n- = second\n").unwrap();
    let Value::Map(list) = tree.branches[0].get("list").unwrap() else {
        panic!("list is a section")
    };
    assert!(list.get("#1").is_some() && list.get("#2").is_some());
    let e = emit(&tree).unwrap_err();
    assert!(e.message.contains("cannot be written faithfully"), "{e}");
}

#[test]
fn unrepresentable_keys_are_refused_not_corrupted() {
    // go-ini would write this key in backticks, and read it back without its own backtick.
    let tree = parse(b"[d]\nbt \"quote` = q\n").unwrap();
    let e = emit(&tree).unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Emit);
    assert!(e.message.contains("cannot be written faithfully"), "{e}");
}

#[test]
fn syntax_errors_do_not_echo_content() {
    for (bad, line) in [
        (&b"[unclosed\n"[..], 1),
        (b"[]\n", 1),
        (b"a = 1\nSECRETLINE\n", 2),
        (b"=SECRET\n", 1),
        (b"\"SECRET = 1\n", 1),
        (b"k = \"\"\"SECRET\nnever closed\n", 1),
        (b"k = `SECRET\n", 1),
        (b"\"\" = SECRET\n", 1),
        (b"a = \xff\n", 1),
    ] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.kind, StoreErrorKind::Syntax, "{}", show(bad));
        assert!(!e.to_string().contains("SECRET"), "{e}");
        assert_eq!(e.location.map(|l| l.line), Some(line), "{}", show(bad));
    }
}

#[test]
fn triple_quoted_metadata_from_sops_3_13_0() {
    // sops 3.13.0/3.13.1 wrote unescaped multi-line metadata values as """...""" blocks.
    let input = b"[s]\nk = v\n\n[sops]\nenc     = \"\"\"-----BEGIN AGE-----\nabc\n-----END AGE-----\n\"\"\"\nversion = 3.13.0\n";
    let tree = parse(input).unwrap();
    let Some(Value::Map(sops)) = tree.branches[0].get("sops") else {
        panic!()
    };
    assert_eq!(
        sops.get("enc"),
        Some(&Value::Str(
            "-----BEGIN AGE-----\nabc\n-----END AGE-----\n".into()
        ))
    );
    assert_eq!(rt(input), input);
}

#[test]
fn huge_values_parse() {
    let mut input = b"[s]\nk = ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    input.push(b'\n');
    assert_eq!(rt(&input), input);
}

#[test]
fn writing_rules() {
    let mut s = Branch::new();
    s.push_comment("first is the section comment");
    s.push_comment("dropped: no key before it");
    s.push("k", Value::Str("v".into()));
    s.push_comment("older");
    s.push_comment("  latest\n# hashed  ");
    s.push("hash", Value::Str("a#b".into()));
    s.push("nl", Value::Str("a\nb".into()));
    s.push("sp", Value::Str(" x".into()));
    s.push("f", Value::Float(1.0));
    s.push("n", Value::Null);
    s.push("k", Value::Str("again".into()));
    s.push("q\"k", Value::Str("".into()));
    let mut root = Branch::new();
    root.push_comment("top-level comments are skipped");
    root.push("DEFAULT", Value::Map(Branch::new()));
    root.push("s", Value::Map(s));
    let out = emit(&Tree::single(root)).unwrap();
    assert_eq!(
        show(&out),
        "; first is the section comment\n[s]\n; latest\n# hashed\nk     = again\n\
         hash  = `a#b`\nnl    = \"\"\"a\nb\"\"\"\nsp    = \" x\"\nf     = 1.0\nn     = <nil>\n\
         `q\"k` = \n"
    );
}

#[test]
fn non_section_values_cannot_be_written() {
    let mut b = Branch::new();
    b.push("k", Value::Str("v".into()));
    let e = emit(&Tree::single(b)).unwrap_err();
    assert_eq!(e.kind, StoreErrorKind::Emit);
    let mut s = Branch::new();
    s.push("nested", Value::Map(Branch::new()));
    let mut b = Branch::new();
    b.push("s", Value::Map(s));
    assert!(emit(&Tree::single(b)).is_err());
    let mut s = Branch::new();
    s.push("k", Value::Str("v".into()));
    s.push_comment("a\n\nb");
    let mut b = Branch::new();
    b.push("s", Value::Map(s));
    assert!(emit(&Tree::single(b)).is_err());
}

#[test]
fn emit_value_matches_sops_extract() {
    // Verified: `--extract '["s"]["k"]'` prints the raw string, `--extract '["s"]'` fails
    // (keys are not sections), other values are json.Marshal'ed.
    assert_eq!(emit_value(&Value::Str("v".into())).unwrap(), b"v");
    assert_eq!(emit_value(&Value::Float(1.5)).unwrap(), b"1.5");
    assert_eq!(emit_value(&Value::Null).unwrap(), b"null");
    assert_eq!(emit_value(&Value::Bool(true)).unwrap(), b"true");
    let mut s = Branch::new();
    s.push("k", Value::Str("v".into()));
    assert!(emit_value(&Value::Map(s)).is_err());
}

#[test]
fn fuzz_regressions_reach_a_fixed_point_or_are_refused() {
    let regressions = files("ini/regressions");
    assert!(regressions.len() >= 5);
    for (name, input) in regressions {
        let Ok(tree) = parse(&input) else { continue };
        let Ok(first) = emit(&tree) else { continue };
        let reparsed = parse(&first).unwrap_or_else(|e| panic!("{name}: {e}"));
        let second = emit(&reparsed).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            first == second,
            "{name}:\n{}\n---\n{}",
            show(&first),
            show(&second)
        );
    }
}

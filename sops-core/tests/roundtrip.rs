//! Properties over random trees, in every format: encrypt then decrypt gives back the
//! plaintext; writing back an unchanged file is byte-identical; a one-value edit changes only
//! that value's ciphertext (plus `lastmodified` and `mac`).

use age::secrecy::ExposeSecret;
use proptest::prelude::*;
use sops_core::keys::age::{Identities, key_for};
use sops_core::store::{self, Format, StoreOptions};
use sops_core::tree::{Branch, Tree, Value};
use sops_core::{DecryptOptions, EncryptOptions, EncryptedFile, KeyGroup, Keyring};

struct Keys {
    options: EncryptOptions,
    identity: String,
}

fn keys() -> Keys {
    let id = age::x25519::Identity::generate();
    Keys {
        options: EncryptOptions {
            key_groups: vec![KeyGroup {
                keys: vec![key_for(&id.to_public().to_string())],
            }],
            ..Default::default()
        },
        identity: id.to_string().expose_secret().to_owned(),
    }
}

fn keyring(k: &Keys) -> Keyring {
    let mut ids = Identities::new();
    ids.add_identity_file(k.identity.as_bytes()).unwrap();
    Keyring::new().with_source(ids)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.:/@#'\"-]{0,24}",
        "\\PC{0,16}",
        Just("yes".to_owned()),
        Just("1:20".to_owned()),
        Just("line1\nline2\n".to_owned()),
        Just(" leading and trailing ".to_owned()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_.-]{0,12}".prop_filter("not the metadata key", |k| k != "sops")
}

/// A cloneable mirror of `Value` for the generators (`Value` itself is not `Clone`: it holds
/// plaintext).
#[derive(Clone, Debug)]
enum G {
    Str(String),
    Bool(bool),
    Null,
    Float(f64),
    Int(i64),
    Map(Vec<(String, Self)>),
    List(Vec<Self>),
}

impl G {
    fn value(&self) -> Value {
        match self {
            Self::Str(s) => Value::Str(s.clone()),
            Self::Bool(b) => Value::Bool(*b),
            Self::Null => Value::Null,
            Self::Float(f) => Value::Float(*f),
            Self::Int(i) => Value::Int(*i),
            Self::Map(pairs) => {
                // Keys are unique within a mapping (YAML rejects duplicates).
                let mut b = Branch::new();
                for (k, v) in pairs {
                    if b.get(k).is_none() {
                        b.push(k.clone(), v.value());
                    }
                }
                Value::Map(b)
            }
            Self::List(l) => Value::List(l.iter().map(Self::value).collect()),
        }
    }
}

type Doc = Vec<(String, G, Option<String>)>;

fn to_tree(doc: &Doc) -> Tree {
    let mut b = Branch::new();
    for (k, v, comment) in doc {
        if b.get(k).is_some() {
            continue;
        }
        if let Some(c) = comment {
            b.push_comment(format!(" {c}"));
        }
        b.push(k.clone(), v.value());
    }
    Tree::single(b)
}

fn scalar(json: bool) -> BoxedStrategy<G> {
    let mut options = vec![
        text().prop_map(G::Str).boxed(),
        any::<bool>().prop_map(G::Bool).boxed(),
        Just(G::Null).boxed(),
        (-1e12f64..1e12).prop_map(G::Float).boxed(),
    ];
    if !json {
        options.push(any::<i64>().prop_map(G::Int).boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

fn structured(json: bool) -> impl Strategy<Value = Doc> {
    let value = scalar(json).prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 0..4).prop_map(G::Map),
            prop::collection::vec(inner, 0..4).prop_map(G::List),
        ]
    });
    let comment = if json {
        Just(None).boxed()
    } else {
        proptest::option::of("[a-z ]{1,10}").boxed()
    };
    prop::collection::vec((key(), value, comment), 1..6)
}

fn dotenv() -> impl Strategy<Value = Doc> {
    prop::collection::vec(
        ("[A-Z][A-Z0-9_]{0,10}", "[a-zA-Z0-9 ='\"@:/.-]{0,30}"),
        1..8,
    )
    .prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| (k, G::Str(v), None))
            .collect()
    })
}

fn ini() -> impl Strategy<Value = Doc> {
    prop::collection::vec(
        (
            "[a-z]{1,8}",
            prop::collection::vec(("[a-z]{1,8}", "[a-zA-Z0-9@/.]{1,20}"), 1..4),
        ),
        1..4,
    )
    .prop_map(|sections| {
        let mut doc = vec![("DEFAULT".to_owned(), G::Map(vec![]), None)];
        for (name, pairs) in sections {
            doc.push((
                name,
                G::Map(pairs.into_iter().map(|(k, v)| (k, G::Str(v))).collect()),
                None,
            ));
        }
        doc
    })
}

/// Plaintext P (canonical: emitted then re-parsed) -> encrypted bytes -> decrypted -> P.
fn check_round_trip(format: Format, tree: &Tree) -> Result<(), TestCaseError> {
    let opts = StoreOptions::default();
    // The generators only build trees the format can express, so emitting must succeed.
    let plain =
        store::emit(format, tree, &opts).map_err(|e| TestCaseError::fail(format!("emit: {e}")))?;
    let k = keys();
    let encrypted = sops_core::encrypt(&plain, format, &k.options, &Keyring::new())
        .map_err(|e| TestCaseError::fail(format!("encrypt: {e}")))?;
    let decrypted = sops_core::decrypt(&encrypted, format, &keyring(&k))
        .map_err(|e| TestCaseError::fail(format!("decrypt: {e}")))?;
    let canonical = store::emit(format, &store::parse(format, &plain).unwrap(), &opts).unwrap();
    prop_assert_eq!(
        String::from_utf8_lossy(&decrypted),
        String::from_utf8_lossy(&canonical)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn yaml_round_trips(doc in structured(false)) {
        check_round_trip(Format::Yaml, &to_tree(&doc))?;
    }

    #[test]
    fn json_round_trips(doc in structured(true)) {
        check_round_trip(Format::Json, &to_tree(&doc))?;
    }

    #[test]
    fn dotenv_round_trips(doc in dotenv()) {
        check_round_trip(Format::Dotenv, &to_tree(&doc))?;
    }

    #[test]
    fn ini_round_trips(doc in ini()) {
        check_round_trip(Format::Ini, &to_tree(&doc))?;
    }

    #[test]
    fn binary_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut b = Branch::new();
        b.push("data", match String::from_utf8(bytes.clone()) {
            Ok(s) => Value::Str(s),
            Err(_) => Value::Bytes(bytes),
        });
        check_round_trip(Format::Binary, &Tree::single(b))?;
    }
}

fn reencrypt(format: Format, encrypted: &[u8], k: &Keys, edit: impl FnOnce(&mut Tree)) -> Vec<u8> {
    let file = EncryptedFile::parse(format, encrypted).unwrap();
    let mut dec = file
        .decrypt(&keyring(k), &DecryptOptions::default())
        .unwrap();
    edit(&mut dec.tree);
    dec.into_encrypted()
        .unwrap()
        .emit(format, &StoreOptions::default())
        .unwrap()
}

#[test]
fn unchanged_write_back_is_byte_identical_and_one_edit_changes_one_value() {
    let k = keys();
    let plain = "{".to_owned()
        + &(0..20)
            .map(|i| format!("\"k{i}\": \"value {i}\""))
            .collect::<Vec<_>>()
            .join(",")
        + "}";
    let encrypted =
        sops_core::encrypt(plain.as_bytes(), Format::Json, &k.options, &Keyring::new()).unwrap();
    assert_eq!(reencrypt(Format::Json, &encrypted, &k, |_| {}), encrypted);

    let edited = reencrypt(Format::Json, &encrypted, &k, |t| {
        *t.branches[0].get_mut("k7").unwrap() = Value::Str("changed".into());
    });
    let before: Vec<&str> = std::str::from_utf8(&encrypted).unwrap().lines().collect();
    let after: Vec<&str> = std::str::from_utf8(&edited).unwrap().lines().collect();
    assert_eq!(before.len(), after.len());
    let changed: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.trim())
        .collect();
    // The edited value and the MAC change; `lastmodified` too unless the edit happened within
    // the same second (it has seconds precision). Nothing else.
    assert!(
        changed.first().is_some_and(|l| l.starts_with("\"k7\"")),
        "{changed:#?}"
    );
    assert!(
        changed.last().is_some_and(|l| l.starts_with("\"mac\"")),
        "{changed:#?}"
    );
    assert!(
        changed.len() == 2 || (changed.len() == 3 && changed[1].starts_with("\"lastmodified\"")),
        "{changed:#?}"
    );
    // And the edit decrypts with the right value and a valid MAC.
    let out = sops_core::decrypt(&edited, Format::Json, &keyring(&k)).unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("\"k7\": \"changed\"")
    );
}

#[test]
fn keys_this_build_cannot_use_survive_a_write_back_verbatim() {
    use sops_core::metadata::{Field, KeyKind, MasterKey};
    let k = keys();
    let plain = b"# settings\napp:\n    user: admin\n    password: s3cret\nlist:\n    - a\n    # between\n    - b\n";
    let enc = sops_core::encrypt(plain, Format::Yaml, &k.options, &Keyring::new()).unwrap();
    // Add an AWS KMS key next to the age key, as a file shared with another team would have.
    let mut file = EncryptedFile::parse(Format::Yaml, &enc).unwrap();
    let mut kms = MasterKey::new(
        KeyKind::Kms,
        &[("arn", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd")],
    );
    kms.fields.push((
        "context".into(),
        Field::Map(vec![("team".into(), "a".into())]),
    ));
    kms.fields.push((
        "created_at".into(),
        Field::Str("2026-01-01T00:00:00Z".into()),
    ));
    kms.fields
        .push(("enc".into(), Field::Str("AQICAHhwrappedkeybytes==".into())));
    kms.fields
        .push(("aws_profile".into(), Field::Str(String::new())));
    file.metadata.key_groups[0].keys.insert(0, kms);
    let with_kms = file.emit(Format::Yaml, &StoreOptions::default()).unwrap();
    let text = String::from_utf8(with_kms.clone()).unwrap();
    assert!(
        text.contains("    kms:\n        - arn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd\n"),
        "{text}"
    );

    // The age key opens it (the KMS key is reported as unusable, not fatal), and the unchanged
    // write-back is byte-identical, KMS entry included.
    assert_eq!(reencrypt(Format::Yaml, &with_kms, &k, |_| {}), with_kms);
    // An edit keeps the KMS entry too.
    let edited = reencrypt(Format::Yaml, &with_kms, &k, |t| {
        let Some(Value::Map(app)) = t.branches[0].get_mut("app") else {
            panic!("app is a mapping")
        };
        *app.get_mut("password").unwrap() = Value::Str("n3w".into());
    });
    let edited_text = String::from_utf8(edited).unwrap();
    assert!(edited_text.contains("AQICAHhwrappedkeybytes=="));
    assert!(edited_text.contains("team: a"));
    let changed = text
        .lines()
        .zip(edited_text.lines())
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        (2..=3).contains(&changed),
        "only password, mac and lastmodified change: {changed}"
    );
}

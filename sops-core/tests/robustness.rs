//! Bad input never panics and never overflows the stack: it gives a typed error.

use age::secrecy::ExposeSecret;
use sops_core::keys::age::{Identities, key_for};
use sops_core::metadata::MetadataError;
use sops_core::{
    DecryptOptions, EncryptOptions, EncryptedFile, Error, Format, KeyGroup, Keyring, store,
};

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("no panic and no stack overflow")
}

fn setup() -> (EncryptOptions, Keyring) {
    let id = age::x25519::Identity::generate();
    let options = EncryptOptions {
        key_groups: vec![KeyGroup {
            keys: vec![key_for(&id.to_public().to_string())],
        }],
        ..Default::default()
    };
    let mut ids = Identities::new();
    ids.add_identity_file(id.to_string().expose_secret().as_bytes())
        .unwrap();
    (options, Keyring::new().with_source(ids))
}

#[test]
fn hundred_thousand_levels_of_nesting_are_rejected() {
    let depth = 100_000;
    let inputs: Vec<(Format, Vec<u8>)> = vec![
        (
            Format::Json,
            format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
        ),
        (Format::Json, "{\"a\":".repeat(depth).into_bytes()),
        (
            Format::Yaml,
            format!("a: {}", "[".repeat(depth)).into_bytes(),
        ),
        (Format::Yaml, "- ".repeat(depth).into_bytes()),
        // Block indentation grows the input quadratically (100,000 levels would be 5 GB), so
        // this form stops at 5,000 levels, still five times the nesting limit.
        (
            Format::Yaml,
            (0..5_000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect::<String>()
                .into_bytes(),
        ),
    ];
    for (format, input) in inputs {
        let result = on_small_stack(move || {
            let plain = store::parse(format, &input)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let enc = EncryptedFile::parse(format, &input)
                .map(|_| ())
                .map_err(|e| e.to_string());
            (plain, enc)
        });
        assert!(result.0.is_err(), "{format}: deep input must be rejected");
        assert!(result.1.is_err(), "{format}: deep input must be rejected");
    }
}

#[test]
fn ten_megabyte_scalars_round_trip() {
    let (options, keyring) = setup();
    let big = "x".repeat(10 * 1024 * 1024);
    for (format, input) in [
        (Format::Yaml, format!("big: {big}\n")),
        (Format::Json, format!("{{\"big\": \"{big}\"}}")),
        (Format::Dotenv, format!("BIG={big}\n")),
        (Format::Binary, big.clone()),
    ] {
        let enc = sops_core::encrypt(input.as_bytes(), format, &options, &Keyring::new()).unwrap();
        let dec = sops_core::decrypt(&enc, format, &keyring).unwrap();
        assert!(
            dec.windows(64).any(|w| w == &big.as_bytes()[..64]),
            "{format}"
        );
        assert!(dec.len() >= big.len(), "{format}");
    }
}

#[test]
fn malformed_and_truncated_inputs_are_typed_errors() {
    let (options, keyring) = setup();
    for format in Format::ALL {
        let plain: &[u8] = match format {
            Format::Yaml => b"a: 1\nb:\n    c: [1, 2]\n",
            Format::Json => b"{\"a\": 1, \"b\": {\"c\": [1, 2]}}",
            Format::Dotenv => b"A=1\nB=2\n",
            Format::Ini => b"[s]\na = 1\n",
            _ => b"binary \x00\xff data",
        };
        let enc = sops_core::encrypt(plain, format, &options, &Keyring::new()).unwrap();
        for cut in [0, 1, enc.len() / 3, enc.len() / 2, enc.len() - 2] {
            let piece = enc[..cut].to_vec();
            let keyring_result = on_small_stack(move || {
                let (_, keyring) = setup();
                sops_core::decrypt(&piece, format, &keyring)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
            assert!(
                keyring_result.is_err(),
                "{format}: truncated at {cut} must fail"
            );
        }
        // Not encrypted at all.
        match EncryptedFile::parse(format, plain) {
            Err(Error::Metadata(MetadataError::NotFound)) | Err(Error::Store(_)) => {}
            Err(other) => panic!("{format}: unexpected error {other}"),
            Ok(_) => panic!("{format}: plaintext parsed as encrypted"),
        }
        assert!(sops_core::decrypt(&enc, format, &keyring).is_ok());
    }
}

#[test]
fn unknown_version_tampering_and_wrong_key() {
    let (options, keyring) = setup();
    let enc = sops_core::encrypt(
        b"a: secret\nb: other\n",
        Format::Yaml,
        &options,
        &Keyring::new(),
    )
    .unwrap();
    let text = String::from_utf8(enc.clone()).unwrap();

    let bad_version = text.replace("version: 3.11.0", "version: banana");
    let err = sops_core::decrypt(bad_version.as_bytes(), Format::Yaml, &keyring).unwrap_err();
    assert!(matches!(err, Error::Version(_)), "{err}");
    assert_eq!(err.exit_code(), 1);

    // Swap the two values: each ciphertext is bound to its key path (AAD).
    let lines: Vec<&str> = text.lines().collect();
    let a = lines[0].trim_start_matches("a: ");
    let b = lines[1].trim_start_matches("b: ");
    let swapped = text
        .replacen(a, "@@A@@", 1)
        .replacen(b, a, 1)
        .replacen("@@A@@", b, 1);
    let err = sops_core::decrypt(swapped.as_bytes(), Format::Yaml, &keyring).unwrap_err();
    assert!(matches!(err, Error::Decrypt { .. }), "{err}");
    assert_eq!(err.exit_code(), 25);
    assert!(
        err.to_string().contains("[\"a\"]"),
        "the error names the path: {err}"
    );
    assert!(
        !err.to_string().contains("secret"),
        "no plaintext in errors: {err}"
    );

    let (_, stranger) = setup();
    let err = sops_core::decrypt(&enc, Format::Yaml, &stranger).unwrap_err();
    assert_eq!(err.exit_code(), 128, "{err}");
    assert!(err.to_string().contains("Group 0: FAILED"), "{err}");

    let no_mac = Regex::new(r"(?m)^    mac: .*\n")
        .unwrap()
        .replace(&text, "")
        .into_owned();
    let err = EncryptedFile::parse(Format::Yaml, no_mac.as_bytes())
        .unwrap()
        .decrypt(&keyring, &DecryptOptions::default())
        .err()
        .expect("a file without MAC fails");
    assert!(matches!(err, Error::MacMissing { .. }), "{err}");
    assert!(
        EncryptedFile::parse(Format::Yaml, no_mac.as_bytes())
            .unwrap()
            .decrypt(
                &keyring,
                &DecryptOptions {
                    ignore_mac: true,
                    ..Default::default()
                }
            )
            .is_ok()
    );
}

use regex::Regex;

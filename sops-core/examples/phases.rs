//! Times each phase of encrypting and decrypting one file (parse, encrypt, emit, ...), to
//! see where the time goes: `cargo run --release -p sops-core --example phases -- FILE.yaml`.

use std::time::Instant;

use sops_core::keys::age::{self, Identities};
use sops_core::{
    DecryptOptions, DecryptedFile, EncryptOptions, EncryptedFile, Format, KeyGroup, Keyring,
    StoreOptions,
};

fn main() {
    let path = std::env::args().nth(1).expect("usage: phases FILE");
    let format = Format::from_path(&path);
    let input = std::fs::read(&path).expect("readable file");
    let (_, identity, recipient) = sops_core::doc_example();
    let options = EncryptOptions {
        key_groups: vec![KeyGroup {
            keys: vec![age::key_for(&recipient)],
        }],
        ..Default::default()
    };
    let store = StoreOptions::default();
    let mut clock = Instant::now();
    let mut lap = |what: &str| {
        let now = Instant::now();
        eprintln!("{what:<28}{:>8.1} ms", (now - clock).as_secs_f64() * 1e3);
        clock = now;
    };

    let tree = sops_core::file::parse_plain(format, &input).expect("plaintext parses");
    lap("parse plaintext");
    let file = DecryptedFile::create(format, tree, &options, &Keyring::new()).expect("create");
    lap("create (wrap data key)");
    let mut encrypted = file.into_encrypted().expect("encrypt");
    lap("encrypt values + MAC");
    let out = encrypted.emit(format, &store).expect("emit");
    lap("emit encrypted");
    drop(encrypted);
    lap("drop tree");

    let parsed = EncryptedFile::parse(format, &out).expect("parse encrypted");
    lap("parse encrypted");
    let mut ids = Identities::new();
    ids.add_identity_file(identity.as_bytes())
        .expect("identity");
    let keyring = Keyring::new().with_source(ids);
    let key = keyring
        .open(
            &parsed.metadata.key_groups,
            parsed.metadata.shamir_threshold,
        )
        .expect("data key");
    lap("unwrap data key");
    let read_only = DecryptOptions {
        read_only: true,
        ..Default::default()
    };
    let plain = parsed.decrypt_with_key(key, &read_only).expect("decrypt");
    lap("decrypt values + MAC");
    let text = sops_core::store::emit(format, &plain.tree, &store).expect("emit plaintext");
    lap("emit plaintext");
    assert_eq!(text.len(), input.len());
}

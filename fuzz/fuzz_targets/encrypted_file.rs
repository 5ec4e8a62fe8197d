//! Mutated encrypted files: parsing metadata and decrypting with a fixed key must fail
//! cleanly, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sops_core::{DataKey, DecryptOptions, EncryptedFile, Format};

fuzz_target!(|data: &[u8]| {
    for format in Format::ALL {
        if let Ok(file) = EncryptedFile::parse(format, data) {
            let _ = file.decrypt_with_key(DataKey::from_bytes([7; 32]), &DecryptOptions::default());
        }
    }
});

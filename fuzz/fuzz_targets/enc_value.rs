//! `ENC[...]` parsing: never panics, and parse -> format -> parse is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sops_core::cipher::EncryptedValue;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(v) = EncryptedValue::parse(s) {
            let formatted = v.to_sops_string();
            let again = EncryptedValue::parse(&formatted).expect("formatted value parses");
            assert_eq!(again, v);
            assert_eq!(again.to_sops_string(), formatted);
        }
    }
});

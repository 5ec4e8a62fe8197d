//! The dotenv store: never panics; emitting a parsed tree gives output that parses back to a
//! tree emitting the same bytes (emit is a fixed point after one round).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sops_core::store::{self, Format, StoreOptions};

fuzz_target!(|data: &[u8]| {
    let opts = StoreOptions::default();
    let Ok(tree) = store::parse(Format::Dotenv, data) else {
        return;
    };
    let Ok(first) = store::emit(Format::Dotenv, &tree, &opts) else {
        return;
    };
    let reparsed = store::parse(Format::Dotenv, &first).expect("emitted output parses");
    let second = store::emit(Format::Dotenv, &reparsed, &opts).expect("reparsed tree emits");
    assert_eq!(
        first, second,
        "emit(parse(emit(parse(x)))) != emit(parse(x))"
    );
});

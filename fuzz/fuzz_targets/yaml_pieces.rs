//! The piecewise YAML paths: wherever the input cut at top-level keys parses piece by piece
//! (no piece outside the fast subset, no key twice), the whole input parses to the same items.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sops_core::store::yaml;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    // Pieces of 1 to 256 bytes: many cuts in a small input.
    let target = usize::from(first) + 1;
    assert_ne!(
        yaml::pieces_match_whole(input, target),
        Some(false),
        "pieces of {target} bytes disagree with the whole input"
    );
});

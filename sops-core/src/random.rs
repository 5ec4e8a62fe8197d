//! Randomness from the operating system (no userspace generator, as sops uses crypto/rand).

/// `N` random bytes. The OS generator failing is unrecoverable for a crypto tool.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // An OS without a working CSPRNG cannot run sops either; continuing would be unsafe.
    getrandom::getrandom(&mut buf).expect("the operating system's random generator failed");
    buf
}

//! Randomness from the operating system (no userspace generator, as sops uses crypto/rand).

use zeroize::Zeroize;

/// `N` random bytes. The OS generator failing is unrecoverable for a crypto tool.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    fill(&mut buf);
    buf
}

fn fill(buf: &mut [u8]) {
    // An OS without a working CSPRNG cannot run sops either; continuing would be unsafe.
    getrandom::getrandom(buf).expect("the operating system's random generator failed");
}

/// OS randomness fetched in blocks, so encrypting 100,000 values does not cost 100,000
/// system calls. Every byte is used once; the buffer is wiped as it is consumed and on drop.
pub(crate) struct Pool {
    buf: Box<[u8; 4096]>,
    pos: usize,
}

impl Pool {
    pub(crate) fn new() -> Self {
        Self {
            buf: Box::new([0u8; 4096]),
            pos: 4096,
        }
    }

    /// The next `N` random bytes.
    pub(crate) fn take<const N: usize>(&mut self) -> [u8; N] {
        if self.pos + N > self.buf.len() {
            fill(&mut self.buf[..]);
            self.pos = 0;
        }
        let mut out = [0u8; N];
        let chunk = &mut self.buf[self.pos..self.pos + N];
        out.copy_from_slice(chunk);
        chunk.zeroize();
        self.pos += N;
        out
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_never_repeats_bytes() {
        let mut p = Pool::new();
        let ivs: Vec<[u8; 32]> = (0..300).map(|_| p.take::<32>()).collect();
        for (i, a) in ivs.iter().enumerate() {
            assert!(!ivs[i + 1..].contains(a));
        }
    }
}

//! The MAC's SHA-512, fed in document order; past the first batch it runs on a second thread.
//!
//! Hashing the plaintext is a fixed share of encrypting or decrypting a big file. The values
//! are copied into batches that a worker thread hashes while the caller goes on with the
//! ciphers. The bytes and their order are exactly those of a plain `Sha512`, so the MAC is
//! unchanged. Small files never fill a batch and never start a thread; where threads cannot
//! be started, hashing stays on the caller's thread.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

/// Bytes gathered before a batch goes to the worker.
const BATCH: usize = 64 * 1024;

/// One batch of plaintext, wiped once hashed.
type Batch = Zeroizing<Vec<u8>>;

/// An in-order SHA-512 whose batches (plaintext, wiped on drop) may be hashed elsewhere.
pub(crate) struct MacHasher {
    buf: Zeroizing<Vec<u8>>,
    /// The hasher while it is on this thread.
    inline: Option<Sha512>,
    /// The worker and its queue, once started.
    worker: Option<(SyncSender<Batch>, JoinHandle<Sha512>)>,
    /// A thread could not be started: stay on this one.
    no_threads: bool,
}

impl MacHasher {
    /// Continues from `seed` (which may already hold a prefix).
    pub(crate) fn new(seed: Sha512) -> Self {
        Self {
            buf: Zeroizing::new(Vec::new()),
            inline: Some(seed),
            worker: None,
            no_threads: false,
        }
    }

    /// Appends `data`.
    pub(crate) fn update(&mut self, data: &[u8]) {
        if self.buf.capacity() == 0 {
            self.buf.reserve(BATCH);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::replace(&mut self.buf, Zeroizing::new(Vec::with_capacity(BATCH)));
        if self.worker.is_none()
            && !self.no_threads
            && let Some(hasher) = self.inline.take()
        {
            self.start(hasher);
        }
        match (&mut self.worker, &mut self.inline) {
            (Some((tx, _)), _) => {
                if let Err(e) = tx.send(batch) {
                    // The worker is gone (it cannot fail short of a panic): hash here instead.
                    self.take_back();
                    if let Some(h) = &mut self.inline {
                        h.update(&e.0[..]);
                    }
                }
            }
            (None, Some(h)) => h.update(&batch[..]),
            (None, None) => {}
        }
    }

    /// Moves hashing to a worker thread, or keeps it here if no thread can be started.
    fn start(&mut self, hasher: Sha512) {
        let (tx, rx) = sync_channel::<Batch>(4);
        // The state so far is a few hundred bytes; a copy stays here in case no thread starts.
        let mut moved = hasher.clone();
        let spawned = std::thread::Builder::new()
            .name("sops-mac".to_owned())
            .spawn(move || {
                for batch in rx {
                    moved.update(&batch[..]);
                }
                moved
            });
        match spawned {
            Ok(handle) => self.worker = Some((tx, handle)),
            Err(_) => {
                self.no_threads = true;
                self.inline = Some(hasher);
            }
        }
    }

    /// Joins the worker and keeps hashing on this thread.
    fn take_back(&mut self) {
        if let Some((tx, handle)) = self.worker.take() {
            drop(tx);
            match handle.join() {
                Ok(h) => self.inline = Some(h),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    }

    /// The digest of everything appended.
    pub(crate) fn finalize(mut self) -> [u8; 64] {
        if self.worker.is_some() {
            if !self.buf.is_empty() {
                self.flush();
            }
            self.take_back();
        }
        let mut h = self
            .inline
            .take()
            .expect("the hasher is on this thread once the worker is joined");
        h.update(&self.buf[..]);
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_that_of_one_sha512_whatever_the_batches() {
        let data: Vec<u8> = (0..BATCH * 5 + 123).map(|i| (i * 7 % 251) as u8).collect();
        let seed = || {
            let mut h = Sha512::new();
            h.update(b"seed");
            h
        };
        let mut want = seed();
        want.update(&data);
        let want: [u8; 64] = want.finalize().into();
        for piece in [1, 13, 4096, BATCH - 1, BATCH, BATCH + 1, data.len()] {
            let mut h = MacHasher::new(seed());
            for chunk in data.chunks(piece) {
                h.update(chunk);
            }
            assert_eq!(h.finalize(), want, "pieces of {piece}");
        }
        // Small inputs stay on this thread.
        let mut h = MacHasher::new(seed());
        h.update(b"tiny");
        assert!(h.worker.is_none());
        let mut want = seed();
        want.update(b"tiny");
        assert_eq!(h.finalize(), <[u8; 64]>::from(want.finalize()));
    }
}

//! The MAC's SHA-512, fed in document order; past the first batch it runs on a second thread.
//!
//! Hashing the plaintext is a fixed share of encrypting or decrypting a big file. The values
//! are copied into batches that a worker thread hashes while the caller goes on with the
//! ciphers. The bytes and their order are exactly those of a plain `Sha512`, so the MAC is
//! unchanged. Small files never fill a batch and never start a thread; where threads cannot
//! be started, hashing stays on the caller's thread.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::wipe::{Appended, Wiped};
use sha2::{Digest, Sha512};

/// Bytes gathered before a batch is hashed.
const BATCH: usize = 64 * 1024;

/// One batch of plaintext, wiped once hashed. Only ever appended to (never cleared or
/// truncated), so wiping its bytes in use wipes all it held: the untouched rest of a
/// batch's capacity is never written, which for a small file is most of its 64 KiB.
type Batch = Wiped<Appended>;

/// An empty batch with room for `n` bytes.
fn new_batch(n: usize) -> Batch {
    Wiped::new(Appended(Vec::with_capacity(n)))
}

/// Where the hashing happens.
enum State {
    /// On this thread; `bool`: a worker may still be started.
    Here(Sha512, bool),
    /// On a worker, fed through the queue.
    Worker(SyncSender<Batch>, JoinHandle<Sha512>),
}

/// An in-order SHA-512 whose batches (plaintext, wiped on drop) may be hashed elsewhere.
pub(crate) struct MacHasher {
    buf: Batch,
    state: State,
}

impl MacHasher {
    /// Continues from `seed` (which may already hold a prefix).
    pub(crate) fn new(seed: Sha512) -> Self {
        Self {
            buf: new_batch(0),
            state: State::Here(seed, true),
        }
    }

    /// Appends `data`.
    pub(crate) fn update(&mut self, data: &[u8]) {
        // The batch never grows in place: a reallocation would free a copy of the plaintext
        // without wiping it. What does not fit goes out first.
        if self.buf.0.len() + data.len() > self.buf.0.capacity() {
            if !self.buf.0.is_empty() {
                let batch = std::mem::replace(&mut self.buf, new_batch(0));
                self.hash(batch);
            }
            self.buf = new_batch(data.len().max(BATCH));
        }
        self.buf.0.extend_from_slice(data);
        if self.buf.0.len() >= BATCH {
            let batch = std::mem::replace(&mut self.buf, new_batch(0));
            self.hash(batch);
        }
    }

    /// Appends batches gathered elsewhere ([`MacBuffer`]), in order.
    pub(crate) fn update_batches(&mut self, buffer: MacBuffer) {
        for batch in buffer.batches {
            if batch.0.len() >= BATCH / 2 {
                // A batch of good size goes out as it is, after what was gathered here (no
                // copy).
                if !self.buf.0.is_empty() {
                    let gathered = std::mem::replace(&mut self.buf, new_batch(0));
                    self.hash(gathered);
                }
                self.hash(batch);
            } else {
                self.update(&batch.0);
            }
        }
    }

    /// Hashes one batch: on the worker (started on the first batch), else here.
    fn hash(&mut self, batch: Batch) {
        if let State::Here(hasher, true) = &self.state {
            // The state so far is a few hundred bytes; a copy stays here in case no thread
            // starts.
            let (tx, rx) = sync_channel::<Batch>(4);
            let mut moved = hasher.clone();
            let spawned = std::thread::Builder::new()
                .name("sops-mac".to_owned())
                .spawn(move || {
                    for batch in rx {
                        moved.update(&batch.0[..]);
                    }
                    moved
                });
            match spawned {
                Ok(handle) => self.state = State::Worker(tx, handle),
                Err(_) => {
                    if let State::Here(_, can_start) = &mut self.state {
                        *can_start = false;
                    }
                }
            }
        }
        match &mut self.state {
            State::Here(hasher, _) => hasher.update(&batch.0[..]),
            State::Worker(tx, _) => {
                // The queue only closes if the worker died, which only a panic does: `join`
                // re-raises it.
                if let Err(unsent) = tx.send(batch) {
                    let mut hasher = self.join();
                    hasher.update(&unsent.0.0[..]);
                    self.state = State::Here(hasher, false);
                }
            }
        }
    }

    /// Waits for the worker and takes its hasher back (re-raising a worker's panic).
    fn join(&mut self) -> Sha512 {
        match std::mem::replace(&mut self.state, State::Here(Sha512::new(), false)) {
            State::Here(hasher, _) => hasher,
            State::Worker(tx, handle) => {
                drop(tx);
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
        }
    }

    /// The digest of everything appended.
    pub(crate) fn finalize(mut self) -> [u8; 64] {
        let rest = std::mem::take(&mut self.buf);
        let mut hasher = self.join();
        hasher.update(&rest.0[..]);
        hasher.finalize().into()
    }
}

/// MAC input kept for later, in batches that never grow in place (no unwiped copies), each
/// wiped on drop.
#[derive(Default)]
pub(crate) struct MacBuffer {
    batches: Vec<Batch>,
}

impl MacBuffer {
    /// Appends `data`.
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self.batches.last_mut() {
            Some(last) if last.0.len() + data.len() <= last.0.capacity() => {
                last.0.extend_from_slice(data);
            }
            _ => {
                let mut new = new_batch(data.len().max(BATCH));
                new.0.extend_from_slice(data);
                self.batches.push(new);
            }
        }
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
            assert!(matches!(h.state, State::Worker(..)), "pieces of {piece}");
            assert_eq!(h.finalize(), want, "pieces of {piece}");
        }
        // Small inputs stay on this thread.
        let mut h = MacHasher::new(seed());
        h.update(b"tiny");
        assert!(matches!(h.state, State::Here(..)));
        let mut want = seed();
        want.update(b"tiny");
        assert_eq!(h.finalize(), <[u8; 64]>::from(want.finalize()));
    }

    #[test]
    fn buffered_batches_and_big_pieces_hash_like_one_stream() {
        let data: Vec<u8> = (0..BATCH * 3 + 17).map(|i| (i * 13 % 251) as u8).collect();
        let mut want = Sha512::new();
        want.update(&data);
        let want: [u8; 64] = want.finalize().into();
        // Pieces bigger than a batch, small ones, and a buffer fed in the middle.
        let mut h = MacHasher::new(Sha512::new());
        h.update(&data[..10]);
        let mut later = MacBuffer::default();
        for chunk in data[10..BATCH * 2].chunks(BATCH / 3 + 1) {
            later.update(chunk);
        }
        later.update(&data[BATCH * 2..BATCH * 3]);
        h.update_batches(later);
        h.update(&data[BATCH * 3..]);
        assert_eq!(h.finalize(), want);
    }
}

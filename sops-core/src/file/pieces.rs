//! Encrypting and decrypting a big YAML file one stretch of top-level keys at a time.
//!
//! The whole-tree paths parse a file into one tree, encrypt or decrypt it and write it: the
//! tree, the new values and the output all live at once, and every page of them is fresh
//! memory. Here the input is cut at top-level keys (`yaml::cut_pieces`); each piece is
//! parsed, encrypted or decrypted, written and dropped on one of two threads in turn
//! (`walk::alternate`), so the memory of one piece is reused by the next and only the output
//! grows. The MAC input goes to the hasher in document order. Encrypting wraps the data key
//! once every value is encrypted and writes the `sops` block last, as a piece of its own;
//! decrypting reads the `sops` block first and gives the plaintext only once the MAC matches.
//!
//! The result is the file the whole-tree path writes (the pieces are exactly its items, see
//! `parse_direct_parts`; writing a document in pieces cut after pairs is what `emit_tree`
//! does). Anything unusual (a piece outside the fast subset, a key repeated across pieces, a
//! `sops` key, a broken value or MAC) is declined: before any key service is called when
//! encrypting, with the recovered data key when decrypting. The caller then takes the
//! whole-file path, which reports errors in its own order and at their real positions.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};

use zeroize::Zeroizing;

use super::{
    DecryptOptions, EncryptOptions, NonceCache, SOPS_KEY, check_version, decrypt_items,
    encrypt_items, mac_seed, new_metadata, seal_mac, verify_mac,
};
use crate::data_key::DataKey;
use crate::error::Error;
use crate::keys::Keyring;
use crate::mac_hasher::{MacBuffer, MacHasher};
use crate::metadata::{EmptyList, Metadata};
use crate::rules;
use crate::store::{Format, StoreOptions, yaml};
use crate::tree::Item;
use crate::walk::{self, MacInput};
use crate::wipe::{wipe_appended, wipe_string};

/// The least input the piecewise paths take (smaller files are not worth a second thread).
pub const PIECEWISE_MIN_BYTES: usize = yaml::SPLIT_BYTES;

/// About how much input one piece takes: enough to amortise a piece's set-up, small enough
/// that a piece's tree and output stay in the caches and their memory is reused.
const PIECE_BYTES: usize = 128 * 1024;

/// What [`encrypt_yaml_in_pieces`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encrypted {
    /// The whole encrypted file went to the sink.
    Done,
    /// Not a file for this path; no key service was called. The sink may have taken the start
    /// of an output: discard it, and encrypt with [`parse_plain`](super::parse_plain) and
    /// [`DecryptedFile::create`](super::DecryptedFile::create).
    Declined,
    /// The sink refused some output (it knows why); the output is incomplete.
    Stopped,
}

/// Encrypts a big, comment-free, single-document YAML mapping (1 MiB or more, in the
/// subset sops itself writes) straight to the encrypted YAML, piece by piece on two threads,
/// handing the output to `sink` in order as it is written (a few hundred KiB at a time), so
/// that it need not be held whole; `sink` returns `false` to stop. See [`Encrypted`] for
/// what the sink then holds.
///
/// ```
/// # use sops_core::{EncryptOptions, Keyring, KeyGroup, StoreOptions, keys::age};
/// use sops_core::file::{Encrypted, encrypt_yaml_in_pieces};
/// let (_, _, recipient) = sops_core::doc_example();
/// let options = EncryptOptions {
///     key_groups: vec![KeyGroup { keys: vec![age::key_for(&recipient)] }],
///     ..Default::default()
/// };
/// let mut big = String::new();
/// for i in 0..30_000 {
///     big.push_str(&format!("key_{i}:\n    user: u{i}\n    password: p{i}\n"));
/// }
/// let mut out = Vec::new();
/// let mut sink = |bytes: &[u8]| {
///     out.extend_from_slice(bytes);
///     true
/// };
/// let done = encrypt_yaml_in_pieces(
///     big.as_bytes(), &options, &Keyring::new(), &StoreOptions::default(), &mut sink)?;
/// assert_eq!(done, Encrypted::Done);
/// assert!(out.ends_with(b"    version: 3.11.0\n"));
/// // A small file takes the whole-tree path.
/// let small = encrypt_yaml_in_pieces(
///     b"a: 1\n", &options, &Keyring::new(), &StoreOptions::default(), &mut |_| true)?;
/// assert_eq!(small, Encrypted::Declined);
/// # Ok::<(), sops_core::Error>(())
/// ```
pub fn encrypt_yaml_in_pieces(
    input: &[u8],
    options: &EncryptOptions,
    keyring: &Keyring,
    store: &StoreOptions,
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<Encrypted, Error> {
    let Some(pieces) = yaml::cut_pieces(input, PIECE_BYTES) else {
        return Ok(Encrypted::Declined);
    };
    encrypt_pieces(&pieces, options, keyring, store, sink)
}

/// Takes output in order; `false` stops the run.
type Sink<'s> = dyn FnMut(&[u8]) -> bool + 's;

/// Output gathered before it goes to the sink.
const FLUSH_BYTES: usize = 256 * 1024;

/// What the caller's thread keeps while pieces come in.
struct State<'s> {
    out: String,
    hasher: MacHasher,
    keys: HashSet<String>,
    /// Where the output goes as it grows; `None`: kept whole in `out`.
    sink: Option<&'s mut Sink<'s>>,
}

/// Why pieces stopped coming.
enum Stop {
    /// For the whole-tree path to do.
    Declined,
    /// The sink refused output.
    Sink,
}

impl State<'_> {
    /// Takes a piece's top-level keys; `false` when one was already seen (the whole-tree
    /// path then reports the duplicate).
    fn add_keys(&mut self, keys: Vec<String>) -> Result<(), Stop> {
        if keys.into_iter().all(|k| self.keys.insert(k)) {
            Ok(())
        } else {
            Err(Stop::Declined)
        }
    }

    /// Appends a piece written elsewhere: straight to the sink after the output so far when
    /// there is one (no copy), else to `out`.
    fn append(&mut self, piece: &str) -> Result<(), Stop> {
        if self.sink.is_some() {
            if !self.out.is_empty() {
                self.flush(true)?;
            }
            if let Some(sink) = self.sink.as_mut()
                && !sink(piece.as_bytes())
            {
                return Err(Stop::Sink);
            }
            return Ok(());
        }
        self.out.push_str(piece);
        Ok(())
    }

    /// Hands the output so far to the sink once there is enough of it (or `all`).
    fn flush(&mut self, all: bool) -> Result<(), Stop> {
        if let Some(sink) = self.sink.as_mut()
            && (all || self.out.len() >= FLUSH_BYTES)
        {
            if !sink(self.out.as_bytes()) {
                return Err(Stop::Sink);
            }
            self.out.clear();
        }
        Ok(())
    }
}

/// Encrypts `pieces` (see [`encrypt_yaml_in_pieces`]).
pub(super) fn encrypt_pieces(
    pieces: &[&[u8]],
    options: &EncryptOptions,
    keyring: &Keyring,
    store: &StoreOptions,
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<Encrypted, Error> {
    if pieces.len() < 2 {
        return Ok(Encrypted::Declined);
    }
    encrypt_stream(pieces.iter().map(|p| Ok(*p)), options, keyring, store, sink)
}

/// Encrypts a big, comment-free, single-document YAML mapping like
/// [`encrypt_yaml_in_pieces`], reading it from `input` as the work goes: only a few pieces
/// of the plaintext are in memory at any time, each wiped once done with. Reading takes
/// place on the caller's thread. The input is not checked for size: the caller takes this
/// path for big files only (see [`PIECEWISE_MIN_BYTES`]).
///
/// [`Encrypted::Declined`] also covers a read error: the whole-file path then reads the input
/// again and reports it.
pub fn encrypt_yaml_from(
    input: &mut dyn Read,
    options: &EncryptOptions,
    keyring: &Keyring,
    store: &StoreOptions,
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<Encrypted, Error> {
    let pieces = yaml::CutReader::new(input, PIECE_BYTES).map(|p| p.map_err(|_| Stop::Declined));
    encrypt_stream(pieces, options, keyring, store, sink)
}

/// Encrypts pieces as they come (see [`encrypt_yaml_in_pieces`]).
fn encrypt_stream<P: AsRef<[u8]> + Send>(
    pieces: impl Iterator<Item = Result<P, Stop>>,
    options: &EncryptOptions,
    keyring: &Keyring,
    store: &StoreOptions,
    sink: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<Encrypted, Error> {
    let data_key = DataKey::generate();
    let rule = rules::effective(options.rule.as_ref());
    let mac_only = options.mac_only_encrypted;
    let nonces = NonceCache::default();
    let indent = store.yaml_indent;
    // One piece: parsed, checked, encrypted in place and written after `out`.
    let one = |piece: Result<P, Stop>, out: String, mac: &mut MacInput<'_>| {
        let piece = piece?;
        let mut tree = yaml::parse_piece(piece.as_ref()).ok_or(Stop::Declined)?;
        drop(piece);
        let items = &mut tree.branches[0].items;
        let keys = piece_keys(items);
        if keys.iter().any(|k| k == SOPS_KEY) {
            return Err(Stop::Declined);
        }
        encrypt_items(items, &data_key, &rule, mac_only, &nonces, mac)
            .map_err(|_| Stop::Declined)?;
        let out = yaml::emit_piece(out, items, indent).map_err(|_| Stop::Declined)?;
        Ok((out, keys))
    };
    let mut count = 0usize;
    let pieces = pieces.inspect(|_| count += 1);
    let mut state = State {
        out: String::with_capacity(2 * FLUSH_BYTES),
        hasher: MacHasher::new(mac_seed(mac_only)),
        keys: HashSet::new(),
        sink: Some(sink),
    };
    let done = walk::alternate(
        &mut state,
        pieces,
        |st, piece| {
            let (out, keys) = one(
                piece,
                std::mem::take(&mut st.out),
                &mut MacInput::Hasher(&mut st.hasher),
            )?;
            st.out = out;
            st.add_keys(keys)?;
            st.flush(false)
        },
        |piece| {
            let mut buffer = MacBuffer::default();
            one(piece, String::new(), &mut MacInput::Buffer(&mut buffer))
                .map(|(out, keys)| (out, keys, buffer))
        },
        |st, written| {
            let (out, keys, buffer) = written?;
            st.hasher.update_batches(buffer);
            st.append(&out)?;
            st.add_keys(keys)
        },
    );
    match done {
        // No piece at all (an input that shrank to nothing): the whole-file path reports it.
        Ok(()) if count == 0 => return Ok(Encrypted::Declined),
        Ok(()) => {}
        Err(Stop::Declined) => return Ok(Encrypted::Declined),
        Err(Stop::Sink) => return Ok(Encrypted::Stopped),
    }
    let State {
        mut out,
        hasher,
        sink,
        ..
    } = state;
    let mac_hex = hex::encode_upper(hasher.finalize());
    // Every value is encrypted: only now are key services called.
    let mut metadata = new_metadata(Format::Yaml, options, keyring, &data_key)?;
    seal_mac(&mut metadata, mac_hex, &data_key)?;
    let block = [Item::Pair {
        key: SOPS_KEY.to_owned(),
        value: metadata.to_value(EmptyList::EmptyList),
    }];
    out = yaml::emit_piece(out, &block, indent)?;
    let taken = sink.is_none_or(|sink| sink(out.as_bytes()));
    Ok(if taken {
        Encrypted::Done
    } else {
        Encrypted::Stopped
    })
}

/// What [`decrypt_yaml_in_pieces`] did.
pub enum Decrypted {
    /// The plaintext YAML, MAC verified.
    Done(Vec<u8>),
    /// Not done: decrypt the whole file instead, with
    /// [`EncryptedFile::decrypt_with_key`](super::EncryptedFile::decrypt_with_key) when the
    /// data key was already recovered (the version was checked too), so that no key service
    /// is asked twice.
    Declined(Option<DataKey>),
    /// The data key could not be recovered. Parse the whole file first (a parse error comes
    /// first in the whole-file order), then report this error: the key services were asked
    /// once already.
    NoKey(Error),
}

/// Decrypts a big, comment-free, single-document encrypted YAML file (1 MiB or more, as sops
/// writes it) straight to the plaintext YAML, piece by piece on two threads, for read-only
/// use (`decrypt`). The metadata (the last `sops:` line on) is read first, then the data key
/// is recovered, then each piece is parsed, decrypted, written and dropped; the output is
/// returned only once the MAC matches (or `ignore_mac`).
///
/// The key is asked for only after the metadata parsed; a failure to recover it is
/// [`Decrypted::NoKey`]. Everything else (a piece outside the fast subset, a broken value, a
/// MAC mismatch...) is [`Decrypted::Declined`], and the whole-file path reports it, so errors
/// come in the whole-file order.
pub fn decrypt_yaml_in_pieces(
    input: &[u8],
    keyring: &Keyring,
    options: &DecryptOptions,
    store: &StoreOptions,
) -> Result<Decrypted, Error> {
    decrypt_cut(input, keyring, options, store, |body| {
        yaml::cut_pieces(body, PIECE_BYTES)
    })
}

/// [`decrypt_yaml_in_pieces`] with the body (all before the `sops` block) cut by `cut`.
fn decrypt_cut<'a>(
    input: &'a [u8],
    keyring: &Keyring,
    options: &DecryptOptions,
    store: &StoreOptions,
    cut: impl Fn(&'a [u8]) -> Option<Vec<&'a [u8]>>,
) -> Result<Decrypted, Error> {
    let declined = Ok(Decrypted::Declined(None));
    if !options.read_only {
        return declined;
    }
    let Some(at) = block_start(input) else {
        return declined;
    };
    let (body, block) = input.split_at(at);
    let Some(pieces) = cut(body) else {
        return declined;
    };
    if pieces.len() < 2 {
        return declined;
    }
    decrypt_body(
        block,
        pieces.into_iter().map(Ok),
        body.len(),
        keyring,
        options,
        store,
    )
}

/// Where the `sops` block starts (just after the line break before its `sops:` line).
fn block_start(input: &[u8]) -> Option<usize> {
    const BLOCK: &[u8] = b"\nsops:\n";
    let at = input.windows(BLOCK.len()).rposition(|w| w == BLOCK)?;
    Some(at + 1)
}

/// How much of the end of a file [`decrypt_yaml_from`] reads first to find the `sops` block;
/// a bigger block sends the file to the whole-file path.
const TAIL_BYTES: u64 = 256 * 1024;

/// Decrypts a big encrypted YAML file like [`decrypt_yaml_in_pieces`], reading it from
/// `input` as the work goes: the end of the file first (the `sops` block, within its last
/// 256 KiB), then the rest from the start, piece by piece. Only the plaintext output and a
/// few pieces of the input are in memory at any time. The input is not checked for size:
/// the caller takes this path for big files only (see [`PIECEWISE_MIN_BYTES`]).
///
/// [`Decrypted::Declined`] also covers a read error: the whole-file path then reads the
/// input again and reports it.
pub fn decrypt_yaml_from<R: Read + Seek>(
    input: R,
    keyring: &Keyring,
    options: &DecryptOptions,
    store: &StoreOptions,
) -> Result<Decrypted, Error> {
    decrypt_from(input, TAIL_BYTES, keyring, options, store)
}

/// [`decrypt_yaml_from`] looking for the `sops` block in the last `tail_bytes`.
fn decrypt_from<R: Read + Seek>(
    mut input: R,
    tail_bytes: u64,
    keyring: &Keyring,
    options: &DecryptOptions,
    store: &StoreOptions,
) -> Result<Decrypted, Error> {
    let declined = Ok(Decrypted::Declined(None));
    if !options.read_only {
        return declined;
    }
    let mut tail = Vec::new();
    let found = (|| {
        let len = input.seek(SeekFrom::End(0))?;
        let from = len.saturating_sub(tail_bytes);
        input.seek(SeekFrom::Start(from))?;
        (&mut input).take(len - from).read_to_end(&mut tail)?;
        input.seek(SeekFrom::Start(0))?;
        Ok::<_, std::io::Error>((from, len))
    })();
    let Ok((from, len)) = found else {
        return declined;
    };
    if tail.len() as u64 != len - from {
        return declined;
    }
    let Some(at) = block_start(&tail) else {
        return declined;
    };
    let body_len = from + at as u64;
    let pieces = yaml::CutReader::new(input.take(body_len), PIECE_BYTES)
        .map(|p| p.map_err(|_| Stop::Declined));
    let hint = usize::try_from(body_len).unwrap_or(0);
    decrypt_body(&tail[at..], pieces, hint, keyring, options, store)
}

/// Reads the metadata of `block`, recovers the data key and decrypts `pieces` of the body,
/// whose length is about `len` bytes.
fn decrypt_body<P: AsRef<[u8]> + Send>(
    block: &[u8],
    pieces: impl Iterator<Item = Result<P, Stop>>,
    len: usize,
    keyring: &Keyring,
    options: &DecryptOptions,
    store: &StoreOptions,
) -> Result<Decrypted, Error> {
    let declined = Ok(Decrypted::Declined(None));
    let Some(metadata) = read_metadata(block) else {
        return declined;
    };
    if check_version(&metadata.version).is_err() {
        return declined;
    }
    let key = match keyring.open(&metadata.key_groups, metadata.shamir_threshold) {
        Ok(key) => key,
        Err(e) => return Ok(Decrypted::NoKey(e.into())),
    };
    match decrypt_pieces(pieces, len, &metadata, &key, options, store) {
        Some(out) => Ok(Decrypted::Done(out)),
        None => Ok(Decrypted::Declined(Some(key))),
    }
}

/// The metadata of the `sops` block alone, or `None`.
fn read_metadata(block: &[u8]) -> Option<Metadata> {
    let tree = yaml::parse_piece(block)?;
    match &tree.branches[0].items[..] {
        [Item::Pair { key, value }] if key == SOPS_KEY => Metadata::from_value(value).ok(),
        _ => None,
    }
}

fn piece_keys(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Pair { key, .. } => Some(key.clone()),
            Item::Comment(_) => None,
        })
        .collect()
}

/// Decrypts and writes `pieces`; `None` on anything the whole-file path should report.
fn decrypt_pieces<P: AsRef<[u8]> + Send>(
    pieces: impl Iterator<Item = Result<P, Stop>>,
    len: usize,
    metadata: &Metadata,
    key: &DataKey,
    options: &DecryptOptions,
    store: &StoreOptions,
) -> Option<Vec<u8>> {
    let rule = rules::effective(metadata.rule.as_ref());
    let mac_only = metadata.mac_only_encrypted;
    let indent = store.yaml_indent;
    let one = |piece: Result<P, Stop>, out: String, mac: &mut MacInput<'_>| {
        let piece = piece?;
        // The piece's plaintext tree is wiped when dropped, whatever happens.
        let mut tree = Zeroizing::new(yaml::parse_piece(piece.as_ref()).ok_or(Stop::Declined)?);
        drop(piece);
        let items = &mut tree.branches[0].items;
        let keys = piece_keys(items);
        if keys.iter().any(|k| k == SOPS_KEY) {
            return Err(Stop::Declined);
        }
        decrypt_items(items, key, &rule, mac_only, false, mac).map_err(|_| Stop::Declined)?;
        let out = yaml::emit_piece(out, items, indent).map_err(|_| Stop::Declined)?;
        Ok((out, keys))
    };
    let mut state = State {
        // The plaintext is smaller than its ciphertext (pages not written are never touched).
        out: String::with_capacity(len),
        hasher: MacHasher::new(mac_seed(mac_only)),
        keys: HashSet::new(),
        sink: None,
    };
    let mut count = 0usize;
    let pieces = pieces.inspect(|_| count += 1);
    let done = walk::alternate(
        &mut state,
        pieces,
        |st, piece| {
            let (out, keys) = one(
                piece,
                std::mem::take(&mut st.out),
                &mut MacInput::Hasher(&mut st.hasher),
            )?;
            st.out = out;
            st.add_keys(keys)
        },
        |piece| {
            let mut buffer = MacBuffer::default();
            one(piece, String::new(), &mut MacInput::Buffer(&mut buffer))
                .map(|(out, keys)| (out, keys, buffer))
        },
        |st, written| {
            let (mut out, keys, buffer) = written?;
            st.hasher.update_batches(buffer);
            st.out.push_str(&out);
            wipe_string(&mut out);
            st.add_keys(keys)
        },
    );
    if done.is_err() || count == 0 {
        // Only ever appended to, so its spare capacity never held plaintext.
        wipe_appended(&mut std::mem::take(&mut state.out).into_bytes());
        return None;
    }
    let State { out, hasher, .. } = state;
    let mac_hex = hex::encode_upper(hasher.finalize());
    if !options.ignore_mac && verify_mac(metadata, key, &mac_hex).is_err() {
        wipe_appended(&mut out.into_bytes());
        return None;
    }
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{DecryptOptions, DecryptedFile, EncryptedFile, parse_plain};
    use crate::keys::age::{self, Identities};
    use crate::metadata::KeyGroup;
    use crate::rules::CryptRule;

    /// Top-level entries in the fast subset, several kinds of each.
    fn entry(i: usize) -> String {
        match i % 9 {
            0 => format!("key_{i}: plain value {i}\n"),
            1 => format!("{i}_numeric: {i}\n"),
            2 => format!("_under_{i}:\n    nested: \"quoted {i}\"\n    flag: true\n    none:\n"),
            3 => format!("list_{i}:\n- a{i}\n- 'b{i}'\n- {i}.5\n"),
            4 => format!("block_{i}: |\n    line one {i}\n    line two\n\n"),
            5 => format!("keep_{i}: |+\n    kept {i}\n\n"),
            6 => format!("\"quoted key {i}\": v{i}\nafter_{i}: x\n"),
            7 => format!(
                "deep_{i}:\n    a:\n        b:\n            - c: {i}\n              d: no\n"
            ),
            _ => format!("visible_{i}_unencrypted: clear {i}\nempty_{i}: ''\n"),
        }
    }

    fn document(n: usize) -> String {
        (0..n).map(entry).collect()
    }

    fn options(recipient: &str) -> EncryptOptions {
        EncryptOptions {
            key_groups: vec![KeyGroup {
                keys: vec![age::key_for(recipient)],
            }],
            ..Default::default()
        }
    }

    /// Replaces every `ENC[...]` by `ENC` and cuts the `sops` block off.
    fn masked(out: &[u8]) -> String {
        let text = std::str::from_utf8(out).unwrap();
        let body = &text[..text.rfind("\nsops:\n").unwrap() + 1];
        let mut s = String::new();
        let mut rest = body;
        while let Some(at) = rest.find("ENC[") {
            s.push_str(&rest[..at + 3]);
            rest = &rest[at + rest[at..].find(']').unwrap() + 1..];
        }
        s.push_str(rest);
        s
    }

    /// The output of the pieces gathered from the sink; `None` when declined.
    fn collect(pieces: &[&[u8]], options: &EncryptOptions) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut calls = 0;
        let done = encrypt_pieces(
            pieces,
            options,
            &Keyring::new(),
            &StoreOptions::default(),
            &mut |b: &[u8]| {
                calls += 1;
                out.extend_from_slice(b);
                true
            },
        )
        .unwrap();
        match done {
            Encrypted::Done => {
                assert!(calls >= 1);
                Some(out)
            }
            Encrypted::Declined => None,
            Encrypted::Stopped => panic!("the sink took everything"),
        }
    }

    /// The piecewise output for `src` cut every `target` bytes, checked against the
    /// whole-tree path: same text once ciphertexts are masked, a valid MAC, the same
    /// plaintext back, and bytes that re-emit unchanged.
    fn check(src: &str, target: usize, options: &EncryptOptions, identity: &str) {
        let pieces = yaml::cut_lines(src.as_bytes(), target).expect("cuttable");
        let store = StoreOptions::default();
        let out = collect(&pieces, options)
            .unwrap_or_else(|| panic!("pieces path declined ({} pieces)", pieces.len()));
        let tree = parse_plain(Format::Yaml, src.as_bytes()).unwrap();
        let mut whole = DecryptedFile::create(Format::Yaml, tree, options, &Keyring::new())
            .unwrap()
            .into_encrypted()
            .unwrap();
        let whole = whole.emit(Format::Yaml, &store).unwrap();
        assert_eq!(masked(&out), masked(&whole), "target {target}");
        let mut parsed = EncryptedFile::parse(Format::Yaml, &out).unwrap();
        assert_eq!(parsed.emit(Format::Yaml, &store).unwrap(), out);
        let mut ids = Identities::new();
        ids.add_identity_file(identity.as_bytes()).unwrap();
        let plain = parsed
            .decrypt(&Keyring::new().with_source(ids), &DecryptOptions::default())
            .unwrap();
        let expected = crate::store::emit(
            Format::Yaml,
            &parse_plain(Format::Yaml, src.as_bytes()).unwrap(),
            &store,
        )
        .unwrap();
        assert_eq!(
            crate::store::emit(Format::Yaml, &plain.tree, &store).unwrap(),
            expected
        );
    }

    #[test]
    fn pieces_give_the_whole_tree_file() {
        let (_, identity, recipient) = crate::doc_example();
        let src = document(60);
        for target in [1, 7, 50, 200, 1000] {
            check(&src, target, &options(&recipient), &identity);
        }
        let mut partial = options(&recipient);
        partial.rule = Some(
            CryptRule::from_fields([("encrypted_regex", "^(nested|a|line)")])
                .unwrap()
                .unwrap(),
        );
        partial.mac_only_encrypted = true;
        check(&src, 30, &partial, &identity);
    }

    /// The identity's keyring.
    fn opener(identity: &str) -> Keyring {
        let mut ids = Identities::new();
        ids.add_identity_file(identity.as_bytes()).unwrap();
        Keyring::new().with_source(ids)
    }

    fn read_only() -> DecryptOptions {
        DecryptOptions {
            read_only: true,
            ..Default::default()
        }
    }

    fn decrypt_small(input: &[u8], keyring: &Keyring, options: &DecryptOptions) -> Decrypted {
        decrypt_cut(input, keyring, options, &StoreOptions::default(), |b| {
            yaml::cut_lines(b, 40)
        })
        .unwrap()
    }

    #[test]
    fn pieces_decrypt_to_the_whole_tree_plaintext() {
        let (_, identity, recipient) = crate::doc_example();
        let src = document(60);
        let mut partial = options(&recipient);
        partial.rule = Some(
            CryptRule::from_fields([("unencrypted_regex", "^(flag|d)$")])
                .unwrap()
                .unwrap(),
        );
        partial.mac_only_encrypted = true;
        let store = StoreOptions::default();
        let expected = crate::store::emit(
            Format::Yaml,
            &parse_plain(Format::Yaml, src.as_bytes()).unwrap(),
            &store,
        )
        .unwrap();
        for options in [options(&recipient), partial] {
            let tree = parse_plain(Format::Yaml, src.as_bytes()).unwrap();
            let mut file = DecryptedFile::create(Format::Yaml, tree, &options, &Keyring::new())
                .unwrap()
                .into_encrypted()
                .unwrap();
            let enc = file.emit(Format::Yaml, &store).unwrap();
            match decrypt_small(&enc, &opener(&identity), &read_only()) {
                Decrypted::Done(out) => assert_eq!(out, expected),
                Decrypted::Declined(_) => panic!("declined"),
                Decrypted::NoKey(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn broken_files_and_missing_keys_are_left_to_the_whole_file_path_in_its_order() {
        let (_, identity, recipient) = crate::doc_example();
        let src = document(30);
        let store = StoreOptions::default();
        let tree = parse_plain(Format::Yaml, src.as_bytes()).unwrap();
        let mut file =
            DecryptedFile::create(Format::Yaml, tree, &options(&recipient), &Keyring::new())
                .unwrap()
                .into_encrypted()
                .unwrap();
        let enc = String::from_utf8(file.emit(Format::Yaml, &store).unwrap()).unwrap();
        let ring = opener(&identity);
        let declined_with_key = |text: &str, options: &DecryptOptions| match decrypt_small(
            text.as_bytes(),
            &ring,
            options,
        ) {
            Decrypted::Declined(key) => key.is_some(),
            Decrypted::Done(_) => panic!("decrypted a broken file"),
            Decrypted::NoKey(e) => panic!("{e}"),
        };
        // A tampered value, and a tampered MAC (read with ignore_mac).
        let at = enc.find("data:").unwrap() + 5;
        let flip = if &enc[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flip}{}", &enc[..at], &enc[at + 1..]);
        assert!(declined_with_key(&tampered, &read_only()));
        let at = enc.find("    mac: ENC[AES256_GCM,data:").unwrap() + 30;
        let flip = if &enc[at..=at] == "A" { "B" } else { "A" };
        let bad_mac = format!("{}{flip}{}", &enc[..at], &enc[at + 1..]);
        assert!(declined_with_key(&bad_mac, &read_only()));
        let ignore = DecryptOptions {
            ignore_mac: true,
            read_only: true,
        };
        assert!(matches!(
            decrypt_small(bad_mac.as_bytes(), &ring, &ignore),
            Decrypted::Done(_)
        ));
        // A key repeated across pieces; a write-back decryption.
        let body_end = enc.rfind("\nsops:\n").unwrap() + 1;
        let repeated = format!("{}key_0: again\n{}", &enc[..body_end], &enc[body_end..]);
        assert!(declined_with_key(&repeated, &read_only()));
        assert!(matches!(
            decrypt_small(enc.as_bytes(), &ring, &DecryptOptions::default()),
            Decrypted::Declined(None)
        ));
        // No key: the error, for after the whole-file parse.
        let empty = Keyring::new();
        let broken = format!("{}bad: \"open\n{}", &enc[..body_end], &enc[body_end..]);
        for text in [&enc, &broken] {
            match decrypt_cut(text.as_bytes(), &empty, &read_only(), &store, |b| {
                yaml::cut_lines(b, 40)
            }) {
                Ok(Decrypted::NoKey(Error::DataKey(_))) => {}
                Ok(_) => panic!("no key, yet no NoKey"),
                Err(e) => panic!("{e}"),
            }
        }
        // A broken metadata block: nothing is asked of any key.
        let no_version = enc.replace("    version: ", "    versio: ");
        assert!(matches!(
            decrypt_small(no_version.as_bytes(), &empty, &read_only()),
            Decrypted::Declined(None)
        ));
    }

    #[test]
    fn unusual_inputs_are_left_to_the_whole_tree_path() {
        let (_, _, recipient) = crate::doc_example();
        let options = options(&recipient);
        let run_bytes = |src: &[u8]| {
            let pieces = yaml::cut_lines(src, 1)?;
            collect(&pieces, &options)
        };
        let run = |src: &str| run_bytes(src.as_bytes());
        let base = document(12);
        assert!(run(&base).is_some());
        // A key repeated in another piece, and within one.
        assert!(run(&format!("{base}key_0: again\n")).is_none());
        assert!(run(&format!("{base}dup:\n    a: 1\n    a: 2\n")).is_none());
        // Already encrypted, comments, documents, directives, indentation, flow, anchors.
        assert!(run(&format!("{base}sops: x\n")).is_none());
        assert!(run(&format!("{base}c: 1 # note\n")).is_none());
        assert!(run(&format!("{base}---\nb: 1\n")).is_none());
        assert!(run(&format!("%YAML 1.2\n---\n{base}")).is_none());
        assert!(run(&format!("  {base}")).is_none());
        assert!(run(&format!("{base}f: {{a: 1}}\n")).is_none());
        assert!(run(&format!("{base}x: &a 1\ny: *a\n")).is_none());
        // Each piece's own checks: UTF-8, control characters, markers inside a piece.
        let mut bytes = base.clone().into_bytes();
        bytes.extend_from_slice(b"late: \xff\n");
        assert!(run_bytes(&bytes).is_none());
        assert!(run(&format!("{base}late: a\u{1}b\n")).is_none());
        assert!(run(&format!("{base}...\nb: 1\n")).is_none());
        assert!(run(&format!("\u{feff}{base}")).is_none());
        // Not a mapping, and broken YAML.
        assert!(run("- a\n- b\n").is_none());
        assert!(run(&format!("{base}bad: \"open\n")).is_none());
        // A file under 1 MiB is never cut.
        let small = encrypt_yaml_in_pieces(
            base.as_bytes(),
            &options,
            &Keyring::new(),
            &StoreOptions::default(),
            &mut |_| panic!("output for a declined file"),
        );
        assert_eq!(small.unwrap(), Encrypted::Declined);
    }

    #[test]
    fn output_goes_out_in_order_as_it_grows_and_a_refusal_stops() {
        let (_, _, recipient) = crate::doc_example();
        let options = options(&recipient);
        // About 2 MB of output from pieces of 64 KiB of input: handed out a piece or more at
        // a time, the `sops` block last.
        let src = document(6000);
        let pieces = yaml::cut_lines(src.as_bytes(), 64 * 1024).unwrap();
        let mut sizes = Vec::new();
        let mut out = Vec::new();
        let done = encrypt_pieces(
            &pieces,
            &options,
            &Keyring::new(),
            &StoreOptions::default(),
            &mut |b: &[u8]| {
                sizes.push(b.len());
                out.extend_from_slice(b);
                true
            },
        )
        .unwrap();
        assert_eq!(done, Encrypted::Done);
        assert!(sizes.len() > 3, "{sizes:?}");
        assert!(
            sizes[..sizes.len() - 1].iter().all(|&n| n >= 64 * 1024),
            "{sizes:?}"
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("key_0: ENC["));
        assert!(text.contains("\nsops:\n") && text.ends_with("    version: 3.11.0\n"));
        // A sink that refuses its first, or its last, output stops the run.
        for refuse_at in [0, sizes.len() - 1] {
            let mut calls = 0;
            let done = encrypt_pieces(
                &pieces,
                &options,
                &Keyring::new(),
                &StoreOptions::default(),
                &mut |_| {
                    calls += 1;
                    calls <= refuse_at
                },
            )
            .unwrap();
            assert_eq!(done, Encrypted::Stopped, "refused at {refuse_at}");
            assert_eq!(calls, refuse_at + 1);
        }
    }

    /// Hands out at most `step` bytes per read, and fails reads that start in `fail`.
    struct Trickle {
        data: std::io::Cursor<Vec<u8>>,
        step: usize,
        fail: Option<std::ops::Range<u64>>,
    }

    impl Trickle {
        fn new(data: &[u8], step: usize, fail: Option<std::ops::Range<u64>>) -> Self {
            Self {
                data: std::io::Cursor::new(data.to_vec()),
                step,
                fail,
            }
        }
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self
                .fail
                .as_ref()
                .is_some_and(|f| f.contains(&self.data.position()))
            {
                return Err(std::io::Error::other("disk gone"));
            }
            let n = self.step.min(out.len());
            self.data.read(&mut out[..n])
        }
    }

    impl Seek for Trickle {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            self.data.seek(to)
        }
    }

    #[test]
    fn files_read_as_they_go_are_those_of_the_input_read_whole() {
        let (_, identity, recipient) = crate::doc_example();
        let options = options(&recipient);
        let store = StoreOptions::default();
        // Several pieces of PIECE_BYTES.
        let src = document(12_000);
        let cut = yaml::cut_lines(src.as_bytes(), PIECE_BYTES).unwrap();
        assert!(cut.len() >= 3, "{} pieces", cut.len());
        let whole = collect(&cut, &options).expect("cuttable");
        for step in [4096, 1 << 20] {
            let mut out = Vec::new();
            let done = encrypt_yaml_from(
                &mut Trickle::new(src.as_bytes(), step, None),
                &options,
                &Keyring::new(),
                &store,
                &mut |b: &[u8]| {
                    out.extend_from_slice(b);
                    true
                },
            )
            .unwrap();
            assert_eq!(done, Encrypted::Done);
            assert_eq!(masked(&out), masked(&whole), "step {step}");
            let expected = crate::store::emit(
                Format::Yaml,
                &parse_plain(Format::Yaml, src.as_bytes()).unwrap(),
                &store,
            )
            .unwrap();
            let input = Trickle::new(&out, step, None);
            match decrypt_yaml_from(input, &opener(&identity), &read_only(), &store).unwrap() {
                Decrypted::Done(plain) => assert_eq!(plain, expected, "step {step}"),
                Decrypted::Declined(_) => panic!("declined"),
                Decrypted::NoKey(e) => panic!("{e}"),
            }
            // A `sops` block beyond the end read first, and a read error half-way: the
            // whole-file path follows (with the data key once it was recovered).
            let block = out.len() - (block_start(&out).unwrap());
            let input = Trickle::new(&out, step, None);
            let short = decrypt_from(
                input,
                block as u64 - 1,
                &opener(&identity),
                &read_only(),
                &store,
            );
            assert!(matches!(short.unwrap(), Decrypted::Declined(None)));
            let input = Trickle::new(&out, step, None);
            let exact = decrypt_from(
                input,
                block as u64 + 1,
                &opener(&identity),
                &read_only(),
                &store,
            );
            assert!(matches!(exact.unwrap(), Decrypted::Done(_)));
            let half = (out.len() - block) as u64 / 2;
            let broken = Trickle::new(&out, step, Some(half..half + step as u64));
            let failed = decrypt_from(
                broken,
                block as u64 + 1,
                &opener(&identity),
                &read_only(),
                &store,
            );
            match failed.unwrap() {
                Decrypted::Declined(Some(_)) => {}
                Decrypted::Declined(None) => panic!("declined without the key"),
                Decrypted::Done(_) => panic!("decrypted despite a read error"),
                Decrypted::NoKey(e) => panic!("{e}"),
            }
            let mut sunk = 0;
            let failed = encrypt_yaml_from(
                &mut Trickle::new(src.as_bytes(), step, Some(src.len() as u64 / 2..u64::MAX)),
                &options,
                &Keyring::new(),
                &store,
                &mut |b: &[u8]| {
                    sunk += b.len();
                    true
                },
            );
            assert_eq!(failed.unwrap(), Encrypted::Declined);
            assert!(sunk < out.len() / 2 + 1);
        }
        // Nothing to read: declined, not an empty file.
        let empty = encrypt_yaml_from(
            &mut &b""[..],
            &options,
            &Keyring::new(),
            &store,
            &mut |_| panic!("output for an empty input"),
        );
        assert_eq!(empty.unwrap(), Encrypted::Declined);
    }
}

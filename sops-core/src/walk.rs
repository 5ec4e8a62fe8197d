//! The tree walk shared by encryption and decryption (`sops.go: walkBranch`, `walkSlice`).
//!
//! It visits every leaf in document order with its key path and the active comment stack,
//! and asks the partial-encryption rule whether the leaf is encrypted. Quirks kept from sops:
//! sequence indices are not part of the path; comments use their container's path; the comment
//! stack is cleared after each non-comment item; a comment inside a sequence becomes a plain
//! string once encrypted (the caller's leaf function decides what it stores). The AAD is the
//! path joined by `:` plus a trailing `:`, without escaping (`a:b` and `a`/`b` collide, as in
//! sops); the root level gives `":"`.

use crate::mac_hasher::{MacBuffer, MacHasher};
use crate::rules::CryptRule;
use crate::tree::{Branch, Item, Tree, Value};

/// What the leaf function sees for one leaf.
pub(crate) struct Leaf<'a> {
    /// The key path from the document root (sequence indices excluded).
    pub path: &'a [&'a str],
    /// The AAD: the path joined by `:` plus a trailing `:` (`":"` at the root).
    pub aad: &'a str,
    /// Whether the rule says this leaf is encrypted.
    pub encrypted: bool,
}

/// Walks all documents, calling `f` on every scalar and comment (nulls are skipped).
pub(crate) struct Walker<'r, 't, F> {
    rule: &'r CryptRule,
    f: F,
    /// The keys from the root, borrowed from the tree being walked.
    path: Vec<&'t str>,
    /// `path` with a `:` after each key, maintained incrementally (no join per leaf).
    prefix: String,
    stack: Vec<Vec<String>>,
}

impl<'r, 't, E, F> Walker<'r, 't, F>
where
    F: FnMut(&mut Value, Leaf<'_>) -> Result<(), E>,
{
    pub(crate) fn new(rule: &'r CryptRule, f: F) -> Self {
        Self {
            rule,
            f,
            path: Vec::new(),
            prefix: String::new(),
            stack: Vec::new(),
        }
    }

    fn decide(&self, leaf_is_comment: bool) -> bool {
        self.rule
            .should_encrypt(&self.path, &self.stack, leaf_is_comment)
    }

    pub(crate) fn branch(&mut self, branch: &'t mut Branch) -> Result<(), E> {
        self.items(&mut branch.items)
    }

    /// Walks the items of one mapping (a whole document, or a part of one cut by [`in_parts`]).
    pub(crate) fn items(&mut self, items: &'t mut [Item]) -> Result<(), E> {
        self.stack.push(Vec::new());
        for item in items {
            match item {
                Item::Comment(text) => {
                    self.push_comment(text.clone());
                    let encrypted = self.decide(true);
                    let mut v = Value::Comment(std::mem::take(text));
                    let aad = if self.prefix.is_empty() {
                        ":"
                    } else {
                        &self.prefix
                    };
                    (self.f)(
                        &mut v,
                        Leaf {
                            path: &self.path,
                            aad,
                            encrypted,
                        },
                    )?;
                    *text = match v {
                        Value::Comment(s) | Value::Str(s) => s,
                        // A leaf function never turns a comment into anything else.
                        _ => String::new(),
                    };
                }
                Item::Pair { key, value } => {
                    let key: &'t String = key;
                    let mark = self.prefix.len();
                    self.prefix.push_str(key);
                    self.prefix.push(':');
                    self.path.push(key);
                    let r = self.value(value);
                    self.path.pop();
                    self.prefix.truncate(mark);
                    r?;
                    self.clear_level();
                }
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn list(&mut self, list: &'t mut [Value]) -> Result<(), E> {
        self.stack.push(Vec::new());
        for v in list {
            let was_comment = if let Value::Comment(t) = v {
                let t = t.clone();
                self.push_comment(t);
                true
            } else {
                false
            };
            self.value(v)?;
            // sops tests the *input* element: an encrypted list comment is a string on the way
            // back, so decryption clears the level where encryption did not (a 3.11 bug kept
            // for compatibility, see the format reference §4.2).
            if !was_comment {
                self.clear_level();
            }
        }
        self.stack.pop();
        Ok(())
    }

    fn value(&mut self, value: &'t mut Value) -> Result<(), E> {
        match value {
            Value::Map(b) => self.branch(b),
            Value::List(l) => self.list(l),
            Value::Null => Ok(()),
            _ => {
                let encrypted = self.decide(matches!(value, Value::Comment(_)));
                let aad = if self.prefix.is_empty() {
                    ":"
                } else {
                    &self.prefix
                };
                (self.f)(
                    value,
                    Leaf {
                        path: &self.path,
                        aad,
                        encrypted,
                    },
                )
            }
        }
    }

    fn push_comment(&mut self, text: String) {
        if let Some(level) = self.stack.last_mut() {
            level.push(text);
        }
    }

    fn clear_level(&mut self) {
        if let Some(level) = self.stack.last_mut() {
            level.clear();
        }
    }
}

/// Leaves per piece when a document is cut for two threads; documents with fewer than two
/// pieces' worth stay whole.
const PIECE_LEAVES: usize = 4096;

/// Where one piece of a walk puts its MAC input: the file's hasher, or a buffer fed to it
/// once the pieces before are done.
pub(crate) enum MacInput<'h> {
    /// Hashed in order as it comes.
    Hasher(&'h mut MacHasher),
    /// Kept until its turn.
    Buffer(&'h mut MacBuffer),
}

impl MacInput<'_> {
    /// Appends plaintext to the MAC input.
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Hasher(h) => h.update(data),
            Self::Buffer(b) => b.update(data),
        }
    }
}

/// Runs `work` over every document of `tree`, in order, with the MAC input going to
/// `hasher` in document order.
///
/// A big document is cut in two halves right after a top-level pair ([`cut_points`]), where
/// a walk is in the same state as a fresh one (empty path, and the comment level is cleared
/// after every pair), so walking the halves separately gives the same leaves, paths and
/// decisions as one walk. The second half runs on another thread ([`alternate`]) with its
/// MAC input buffered, then fed to `hasher`. Returns the result of every part in order, or
/// the first error in document order.
pub(crate) fn in_parts<S, E, W>(
    tree: &mut Tree,
    hasher: &mut MacHasher,
    work: W,
) -> Result<Vec<S>, E>
where
    S: Send,
    E: Send,
    W: Fn(&mut [Item], &mut MacInput<'_>) -> Result<S, E> + Sync,
{
    let mut done = Vec::new();
    for branch in &mut tree.branches {
        // Two halves: each thread then frees mostly what the same thread's half of the parse
        // allocated (alternating pieces made the allocator's locks contended).
        let cuts = cut_points(&branch.items);
        let half: Vec<usize> = cuts.get(cuts.len() / 2).copied().into_iter().collect();
        let pieces = pieces_mut(&mut branch.items, &half);
        alternate(
            &mut (&mut *hasher, &mut done),
            pieces,
            |(hasher, done), piece| {
                done.push(work(piece, &mut MacInput::Hasher(hasher))?);
                Ok(())
            },
            |piece| {
                let mut buffer = MacBuffer::default();
                work(piece, &mut MacInput::Buffer(&mut buffer)).map(|s| (s, buffer))
            },
            |(hasher, done), result| {
                let (s, buffer) = result?;
                hasher.update_batches(buffer);
                done.push(s);
                Ok(())
            },
        )?;
    }
    Ok(done)
}

/// Processes `pieces` in order and merges their results in order.
///
/// - One piece: `here`, on this thread.
/// - Two pieces (the two halves of a big file): the first with `here` on this thread while
///   the second is done with `there` on a second thread, whose result `merge` takes here.
/// - More: two threads do every piece with `there`, taking turns (even pieces on one, odd
///   on the other), while this thread takes the pieces from the iterator (so they may be
///   read from a file as the work goes), hands them out and merges the results in order.
///   This thread does no piece itself because reading and merging are work too: with the
///   pieces split evenly between it and one other thread, that other thread waited. At most
///   [`IN_FLIGHT`] pieces per thread are handed out and not yet merged, so memory stays
///   bounded by a few pieces.
///
/// The first error in piece order is returned; pieces after it may have been done, but none
/// of their results is merged. When no thread can be started, everything runs here, in order.
pub(crate) fn alternate<St, P, R, E>(
    state: &mut St,
    pieces: impl IntoIterator<Item = P>,
    mut here: impl FnMut(&mut St, P) -> Result<(), E>,
    there: impl Fn(P) -> R + Sync,
    mut merge: impl FnMut(&mut St, R) -> Result<(), E>,
) -> Result<(), E>
where
    P: Send,
    R: Send,
{
    let mut pieces = pieces.into_iter();
    let Some(first) = pieces.next() else {
        return Ok(());
    };
    let Some(second) = pieces.next() else {
        return here(state, first);
    };
    let Some(third) = pieces.next() else {
        return halves(state, first, second, here, &there, merge);
    };
    let there = &there;
    std::thread::scope(|scope| {
        let mut workers = Vec::with_capacity(2);
        for _ in 0..2 {
            let (piece_tx, piece_rx) = std::sync::mpsc::sync_channel::<P>(IN_FLIGHT - 1);
            // Room for every result a thread can owe, so it never waits to hand one over.
            let (result_tx, result_rx) = std::sync::mpsc::sync_channel::<R>(IN_FLIGHT);
            let spawned = std::thread::Builder::new()
                .name("sops-piece".to_owned())
                .spawn_scoped(scope, move || {
                    for p in piece_rx {
                        // A closed queue means this thread's results are no longer wanted.
                        if result_tx.send(there(p)).is_err() {
                            break;
                        }
                    }
                });
            if spawned.is_err() {
                break;
            }
            workers.push((piece_tx, result_rx));
        }
        if workers.len() < 2 {
            // Not two threads: everything here, in order (a started thread ends when its
            // queue is dropped).
            drop(workers);
            for p in [first, second, third].into_iter().chain(pieces) {
                here(state, p)?;
            }
            return Ok(());
        }
        // The threads end only when this one stops listening, or by a panic, which the scope
        // re-raises once it has joined them; so a failed send or receive below only ever ends
        // the loop early on the way to that panic.
        let mut upcoming = [first, second, third].into_iter().chain(pieces);
        let mut sent = 0usize;
        let mut merged = 0usize;
        let mut exhausted = false;
        let r = loop {
            // Keep both threads fed: hand out pieces until each owes IN_FLIGHT results. A
            // thread owing fewer has room in its queue (or takes the piece soon, being idle
            // or busy with one it owes), so the send does not wait on this thread.
            while !exhausted && sent - merged < 2 * IN_FLIGHT {
                match upcoming.next() {
                    Some(p) => {
                        if workers[sent % 2].0.send(p).is_err() {
                            exhausted = true;
                            break;
                        }
                        sent += 1;
                    }
                    None => exhausted = true,
                }
            }
            if merged == sent {
                break Ok(());
            }
            let Ok(result) = workers[merged % 2].1.recv() else {
                break Ok(());
            };
            merged += 1;
            if let Err(e) = merge(state, result) {
                break Err(e);
            }
        };
        // Stops the threads early after an error; the scope then joins them (and re-raises a
        // panic of theirs).
        drop(workers);
        r
    })
}

/// Pieces handed to one thread of [`alternate`] and not yet merged, at most.
const IN_FLIGHT: usize = 2;

/// Two pieces: the first with `here` on this thread while `there` does the second on another.
fn halves<St, P, R, E>(
    state: &mut St,
    first: P,
    second: P,
    mut here: impl FnMut(&mut St, P) -> Result<(), E>,
    there: &(impl Fn(P) -> R + Sync),
    mut merge: impl FnMut(&mut St, R) -> Result<(), E>,
) -> Result<(), E>
where
    P: Send,
    R: Send,
{
    std::thread::scope(|scope| {
        let (piece_tx, piece_rx) = std::sync::mpsc::sync_channel::<P>(1);
        let (result_tx, result_rx) = std::sync::mpsc::sync_channel::<R>(1);
        let spawned = std::thread::Builder::new()
            .name("sops-piece".to_owned())
            .spawn_scoped(scope, move || {
                if let Ok(p) = piece_rx.recv() {
                    let _ = result_tx.send(there(p));
                }
            });
        if spawned.is_err() {
            // No second thread: both here, in order.
            here(state, first)?;
            return merge(state, there(second));
        }
        // The thread takes the piece and hands back its result, or panics, which the scope
        // re-raises once it has joined the thread; so a failed send or receive only ever
        // ends this early on the way to that panic.
        if piece_tx.send(second).is_err() {
            return Ok(());
        }
        here(state, first)?;
        match result_rx.recv() {
            Ok(result) => merge(state, result),
            Err(_) => Ok(()),
        }
    })
}

/// Where to cut a document's items into pieces of about [`PIECE_LEAVES`] leaves: indices
/// just after a pair, ascending, each piece but the last ending with a pair and the last
/// holding a pair. Empty for a small document (one piece).
pub(crate) fn cut_points(items: &[Item]) -> Vec<usize> {
    let weights: Vec<usize> = items.iter().map(item_leaves).collect();
    let total: usize = weights.iter().sum();
    if total < 2 * PIECE_LEAVES {
        return Vec::new();
    }
    let pieces = (total / PIECE_LEAVES).min(256);
    let step = total.div_ceil(pieces);
    let mut cuts = Vec::new();
    let mut sum = 0;
    for (i, (item, w)) in items.iter().zip(&weights).enumerate() {
        sum += w;
        if sum >= step * (cuts.len() + 1) && matches!(item, Item::Pair { .. }) {
            cuts.push(i + 1);
        }
    }
    // The last piece must hold a pair (a piece of comments alone is not a mapping).
    while let Some(&last) = cuts.last() {
        if items[last..].iter().any(|i| matches!(i, Item::Pair { .. })) {
            break;
        }
        cuts.pop();
    }
    cuts
}

/// Splits `items` at `cuts` (ascending indices) into mutable pieces.
pub(crate) fn pieces_mut<'a>(mut items: &'a mut [Item], cuts: &[usize]) -> Vec<&'a mut [Item]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut at = 0;
    for &c in cuts {
        let (head, tail) = items.split_at_mut(c - at);
        out.push(head);
        items = tail;
        at = c;
    }
    out.push(items);
    out
}

/// Splits `items` at `cuts` (ascending indices) into pieces.
pub(crate) fn pieces<'a>(items: &'a [Item], cuts: &[usize]) -> Vec<&'a [Item]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut at = 0;
    for &c in cuts {
        out.push(&items[at..c]);
        at = c;
    }
    out.push(&items[at..]);
    out
}

/// The number of keys, scalars and comments in an item (collections count one).
fn item_leaves(item: &Item) -> usize {
    match item {
        Item::Pair { value, .. } => 1 + leaves(value),
        Item::Comment(_) => 1,
    }
}

/// The number of keys, scalars and comments under `v` (collections count one).
fn leaves(v: &Value) -> usize {
    match v {
        Value::Map(b) => 1 + b.items.iter().map(item_leaves).sum::<usize>(),
        Value::List(l) => 1 + l.iter().map(leaves).sum::<usize>(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha512};

    use super::*;

    /// A document with top-level comments (which steer a comment rule), nested maps, lists
    /// with comments, and enough leaves to be cut.
    fn big_tree() -> Tree {
        let mut doc = Branch::new();
        for i in 0..1500 {
            if i % 7 == 0 {
                doc.push_comment(if i % 2 == 0 { " sops:enc" } else { " plain" });
            }
            let mut inner = Branch::new();
            for j in 0..5 {
                inner.push(format!("k{j}"), Value::Str(format!("v{i}-{j}")));
            }
            inner.push_comment(" sops:enc inner");
            inner.push(
                "list",
                Value::List(vec![
                    Value::Int(i),
                    Value::Comment(" in list".to_owned()),
                    Value::Str("x".to_owned()),
                ]),
            );
            doc.push(format!("key{i}"), Value::Map(inner));
        }
        doc.push_comment(" trailing");
        let mut second = Branch::new();
        second.push("small", Value::Bool(true));
        Tree {
            branches: vec![doc, second],
        }
    }

    type Seen = Vec<(String, bool, String)>;

    fn record(seen: &mut Seen, v: &mut Value, leaf: Leaf<'_>) {
        let text = match v {
            Value::Str(s) | Value::Comment(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => String::new(),
        };
        seen.push((leaf.aad.to_owned(), leaf.encrypted, text));
    }

    #[test]
    fn a_walk_in_two_parts_sees_what_one_walk_sees() {
        let rule = CryptRule::from_field("encrypted_comment_regex", "^ sops:enc").unwrap();
        let mut tree = big_tree();
        let cuts = cut_points(&tree.branches[0].items).len();
        assert!(cuts >= 3, "{cuts} cuts");
        assert!(cut_points(&tree.branches[1].items).is_empty());

        let mut want: Seen = Vec::new();
        let mut want_mac = Sha512::new();
        let mut walker = Walker::new(&rule, |v: &mut Value, leaf: Leaf<'_>| {
            record(&mut want, v, leaf);
            if let Some((_, _, text)) = want.last() {
                want_mac.update(text.as_bytes());
            }
            Ok::<(), ()>(())
        });
        for b in &mut tree.branches {
            walker.branch(b).unwrap();
        }
        drop(walker);
        assert!(want.iter().any(|s| s.1) && want.iter().any(|s| !s.1));

        let mut hasher = MacHasher::new(Sha512::new());
        let parts = in_parts(&mut tree, &mut hasher, |items, mac| {
            let mut seen: Seen = Vec::new();
            let mut walker = Walker::new(&rule, |v: &mut Value, leaf: Leaf<'_>| {
                record(&mut seen, v, leaf);
                if let Some((_, _, text)) = seen.last() {
                    mac.update(text.as_bytes());
                }
                Ok::<(), ()>(())
            });
            walker.items(items)?;
            drop(walker);
            Ok::<_, ()>(seen)
        })
        .unwrap();
        assert_eq!(
            parts.len(),
            3,
            "two halves of the big document, then the small one"
        );
        assert_eq!(parts.concat(), want);
        assert_eq!(hasher.finalize(), <[u8; 64]>::from(want_mac.finalize()));
    }

    #[test]
    fn the_first_error_in_document_order_wins() {
        let rule = CryptRule::UnencryptedSuffix("_unencrypted".to_owned());
        // Errors in both halves, and two in the second half.
        for (bad, want) in [
            (["key10:", "key1400:"], "key10:k0:"),
            (["key1400:", "key1450:"], "key1400:k0:"),
        ] {
            let mut tree = big_tree();
            let cuts = cut_points(&tree.branches[0].items);
            assert!(cuts[cuts.len() / 2] < 1400, "{cuts:?}");
            let mut hasher = MacHasher::new(Sha512::new());
            let r = in_parts(&mut tree, &mut hasher, |items, _| {
                let mut walker = Walker::new(&rule, |_: &mut Value, leaf: Leaf<'_>| {
                    if bad.iter().any(|b| leaf.aad.starts_with(b)) {
                        Err(leaf.aad.to_owned())
                    } else {
                        Ok(())
                    }
                });
                walker.items(items)
            });
            assert_eq!(r, Err(want.to_owned()));
        }
    }

    #[test]
    fn alternating_pieces_are_merged_in_order_and_the_first_error_wins() {
        let run = |n: usize, fail: &[usize]| {
            let mut seen = Vec::new();
            let r = alternate(
                &mut seen,
                0..n,
                |seen: &mut Vec<usize>, p: usize| {
                    if fail.contains(&p) {
                        return Err(p);
                    }
                    seen.push(p);
                    Ok(())
                },
                |p: usize| if fail.contains(&p) { Err(p) } else { Ok(p) },
                |seen, r| {
                    seen.push(r?);
                    Ok(())
                },
            );
            (r, seen)
        };
        for n in 0..12 {
            assert_eq!(run(n, &[]), (Ok(()), (0..n).collect()), "{n} pieces");
        }
        assert_eq!(run(7, &[3, 4]), (Err(3), vec![0, 1, 2]));
        assert_eq!(run(7, &[4, 5]), (Err(4), vec![0, 1, 2, 3]));
        assert_eq!(run(7, &[6]), (Err(6), vec![0, 1, 2, 3, 4, 5]));
        assert_eq!(run(8, &[7]), (Err(7), (0..7).collect()));
        assert_eq!(run(2, &[1]), (Err(1), vec![0]));
    }

    #[test]
    fn pieces_are_taken_from_the_iterator_only_a_few_steps_ahead() {
        // The iterator is read on this thread as the work goes: when piece k starts on a
        // piece thread, at most 2 * IN_FLIGHT pieces after the last merged one were taken.
        let taken = std::sync::atomic::AtomicUsize::new(0);
        let started = std::sync::Mutex::new(Vec::new());
        let pieces = (0..40).inspect(|_| {
            taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let mut merged = Vec::new();
        let r: Result<(), ()> = alternate(
            &mut merged,
            pieces,
            |_, _| panic!("more than two pieces are all done on the piece threads"),
            |p: usize| {
                let seen = taken.load(std::sync::atomic::Ordering::SeqCst);
                started.lock().unwrap().push((p, seen));
                p
            },
            |merged: &mut Vec<usize>, p| {
                merged.push(p);
                Ok(())
            },
        );
        assert_eq!(r, Ok(()));
        assert_eq!(merged, (0..40).collect::<Vec<_>>());
        let started = started.into_inner().unwrap();
        assert_eq!(started.len(), 40);
        for (p, seen) in started {
            assert!(
                seen <= p + 2 * IN_FLIGHT,
                "piece {p} started with {seen} taken"
            );
        }
    }

    #[test]
    fn two_pieces_split_between_this_thread_and_another() {
        let mut seen = Vec::new();
        let r: Result<(), ()> = alternate(
            &mut seen,
            [0, 1],
            |seen: &mut Vec<(usize, bool)>, p: usize| {
                seen.push((p, true));
                Ok(())
            },
            |p: usize| p,
            |seen, p| {
                seen.push((p, false));
                Ok(())
            },
        );
        assert_eq!(r, Ok(()));
        assert_eq!(seen, vec![(0, true), (1, false)]);
    }
}

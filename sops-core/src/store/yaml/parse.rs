//! The parser: saphyr-parser events for structure, a scan of the source for comments, and an
//! attachment step that places each comment where yaml.v3 + sops' `nodeToTreeValue` put it.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::resolve::{Resolved, parse_timestamp, resolve_plain};
use super::{MAX_DEPTH, err};
use crate::store::{StoreError, StoreErrorKind};
use crate::tree::{Branch, Item, Tree, Value};
use crate::wipe::Wiped;

/// Upper bound on values created by alias expansion (guards against "billion laughs").
const MAX_EXPANDED_NODES: usize = 5_000_000;

/// A position: 1-based line, 0-based column in characters.
type Pos = (usize, usize);

struct Comment {
    pos: Pos,
    text: String,
    /// Content precedes the comment on its line.
    inline: bool,
    /// The comment is the first of a group that directly follows content and is followed by a
    /// blank line (yaml.v3 makes such a group a foot comment of the prior token).
    foot_group: bool,
}

enum Frame {
    Map {
        items: Vec<Item>,
        pending: Option<(String, usize)>,
        child_open: bool,
        deferred: Vec<Item>,
        indent: usize,
        cur_line: usize,
        cur_idx: usize,
        keys: HashSet<String>,
        anchor: usize,
        flow: bool,
    },
    Seq {
        items: Vec<Value>,
        child_open: bool,
        deferred: Vec<Value>,
        indent: usize,
        cur_line: usize,
        cur_idx: usize,
        anchor: usize,
        flow: bool,
    },
}

impl Frame {
    fn indent(&self) -> usize {
        match self {
            Self::Map { indent, .. } | Self::Seq { indent, .. } => *indent,
        }
    }

    /// Appends a comment at the current end, after a pair/item still being built.
    fn push_comment_end(&mut self, text: String) {
        match self {
            Self::Map {
                items,
                deferred,
                child_open,
                ..
            } => {
                if *child_open {
                    deferred.push(Item::Comment(text));
                } else {
                    items.push(Item::Comment(text));
                }
            }
            Self::Seq {
                items,
                deferred,
                child_open,
                ..
            } => {
                if *child_open {
                    deferred.push(Value::Comment(text));
                } else {
                    items.push(Value::Comment(text));
                }
            }
        }
    }

    /// Inserts a line comment before the current pair/item.
    fn push_comment_before_current(&mut self, text: String) -> bool {
        match self {
            Self::Map {
                items,
                pending,
                cur_idx,
                cur_line,
                ..
            } => {
                if pending.is_some() {
                    if *cur_idx <= items.len() {
                        items.insert(*cur_idx, Item::Comment(text));
                    } else {
                        items.push(Item::Comment(text));
                    }
                    *cur_idx += 1;
                    return true;
                }
                if *cur_line == 0 {
                    return false;
                }
                let at = (*cur_idx).min(items.len());
                items.insert(at, Item::Comment(text));
                *cur_idx += 1;
                true
            }
            Self::Seq {
                items,
                child_open,
                cur_idx,
                cur_line,
                ..
            } => {
                if *cur_line == 0 && !*child_open {
                    return false;
                }
                let at = (*cur_idx).min(items.len());
                items.insert(at, Value::Comment(text));
                *cur_idx += 1;
                true
            }
        }
    }
}

struct Builder<'s> {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    expanded: usize,
    /// Comments for the collection about to be opened.
    pending_open: Vec<String>,
    doc_index: usize,
    /// The end line of the last content event.
    last_content_line: usize,
    last_was_key: bool,
    /// The end line of a flow collection closed by the previous event.
    last_closed_flow: Option<usize>,
    /// The end of the last content event.
    last_end: Pos,
    lines: &'s [&'s str],
    /// The documents finished so far.
    tree: Tree,
    /// The root of the current document, once complete.
    doc_root: Option<Value>,
    /// Comments of the current document outside any collection.
    doc_comments: Vec<String>,
}

fn loc(e: StoreError, p: Pos) -> StoreError {
    e.at(p.0, p.1 + 1)
}

fn pos_of(m: &saphyr_parser::Marker) -> Pos {
    (m.line(), m.col())
}

pub(crate) fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    parse_with(input, true)
}

/// `src` with every lone CR (one not followed by LF) turned into an LF, or `None` when it has
/// none. yaml.v3, like the YAML spec (`b-break`), takes a lone CR as a line break: `# c\rb: 2`
/// is a comment and a key, and the CRs that end `# c\r\r\n` are empty lines, not comment
/// text (verified with sops 3.11). This parser splits lines at LF only and drops the CR of a
/// CRLF, so lone CRs become LFs first; everywhere a line break may stand, YAML reads the two
/// alike (found by fuzzing: comment text kept the CRs and lost one per round trip).
fn lone_cr_as_lf(src: &str) -> Option<String> {
    let bytes = src.as_bytes();
    let lone = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    if !src.contains('\r') || !(0..bytes.len()).any(lone) {
        return None;
    }
    let mut out = String::with_capacity(src.len());
    let mut start = 0;
    for i in (0..bytes.len()).filter(|&i| lone(i)) {
        out.push_str(&src[start..i]);
        out.push('\n');
        start = i + 1;
    }
    out.push_str(&src[start..]);
    Some(out)
}

/// Parses with the fast scanner when `fast` and the input is in its subset, else with
/// saphyr-parser (tests compare both).
pub(crate) fn parse_with(input: &[u8], fast: bool) -> Result<Tree, StoreError> {
    let src = std::str::from_utf8(input).map_err(|e| {
        err(StoreErrorKind::Syntax, "input is not valid UTF-8")
            .at(line_of_byte(input, e.valid_up_to()), 1)
    })?;
    let src = src.strip_prefix('\u{FEFF}').unwrap_or(src);
    check_printable(src)?;
    // A plaintext copy, wiped once parsed.
    let normalized;
    let src = match lone_cr_as_lf(src) {
        Some(text) => {
            normalized = Wiped::new(text);
            normalized.as_str()
        }
        None => src,
    };
    let lines: Vec<&str> = src.split('\n').collect();
    let mut fast = fast;
    if fast && !src.contains('#') {
        if let Some(tree) = parse_direct_parts(src, &lines) {
            return Ok(tree);
        }
        match parse_direct(src, &lines) {
            Some(Some(tree)) => return Ok(tree),
            // The same scanner would stop at the same place again.
            None => fast = false,
            Some(None) => {}
        }
    }
    if fast && let Some(events) = super::fast::scan(src, &lines) {
        return build(src, &lines, events, None);
    }
    if let Some(fix) = rewrite_comment_only_flows(&lines) {
        // The rewritten text is only used when it parses and every rewritten bracket turned out
        // to be a flow collection (not, say, text inside a block scalar); otherwise the
        // original is parsed as is, so its behaviour and errors are unchanged.
        let new_lines: Vec<&str> = fix.text.split('\n').collect();
        if let Ok(Some(tree)) = parse_lines(&fix.text, new_lines, Some(&fix)) {
            return Ok(tree);
        }
    }
    parse_lines(src, lines, None).map(|t| t.unwrap_or_default())
}

/// yaml.v3's reader check (`yaml_parser_update_buffer`): only YAML's printable characters
/// may appear anywhere, comments included ("control characters are not allowed"). Found by
/// fuzzing: a NUL in a comment was read, then written back unreadable.
fn check_printable(src: &str) -> Result<(), StoreError> {
    // One pass over the bytes; characters are decoded only from the first byte that is not
    // printable ASCII (a character boundary, since every byte before it is ASCII).
    let Some(from) = first_unprintable_ascii(src.as_bytes()) else {
        return Ok(());
    };
    for (i, c) in src[from..].char_indices() {
        let ok = matches!(
            u32::from(c),
            0x09 | 0x0a | 0x0d | 0x20..=0x7e | 0x85 | 0xa0..=0xd7ff | 0xe000..=0xfffd
                | 0x10000..=0x10ffff
        );
        if !ok {
            let at = from + i;
            let line_start = src[..at].rfind('\n').map_or(0, |n| n + 1);
            let line = src[..line_start].bytes().filter(|b| *b == b'\n').count() + 1;
            let column = src[line_start..at].chars().count() + 1;
            return Err(err(
                StoreErrorKind::Syntax,
                format!(
                    "control characters are not allowed (U+{:04X})",
                    u32::from(c)
                ),
            )
            .at(line, column));
        }
    }
    Ok(())
}

/// The index of the first byte that is not printable ASCII, a tab or a line break. Eight
/// bytes at a time: a word with no byte below 0x20 and none above 0x7e is skipped whole (the
/// line breaks send about one word per line to the byte loop).
pub(super) fn first_unprintable_ascii(bytes: &[u8]) -> Option<usize> {
    const fn splat(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    let ok = |b: u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in words.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(w);
        // A byte below 0x20 borrows into its high bit; a byte of 0x7f or more has its high bit
        // set once 1 is added (0xff carries, but its high bit is already set in `x`).
        let low = x.wrapping_sub(splat(0x20)) & !x & splat(0x80);
        let high = (x.wrapping_add(splat(1)) | x) & splat(0x80);
        if low | high != 0
            && let Some(i) = chunk.iter().position(|&b| !ok(b))
        {
            return Some(at + i);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| !ok(b))
        .map(|i| at + i)
}

/// A source rewritten so that saphyr accepts sops' comment-only flow collections.
///
/// yaml.v3's emitter (`yaml_emitter_emit_flow_mapping_key`, v3.0.4) writes a mapping that has
/// only a head comment as `key: {` / the comment, indented one step / `}` at column 0, and sops
/// 3.11 produces exactly that for a mapping holding only comments (the encrypted form of
/// `key:\n  # c\n  {}`). yaml.v3's scanner does no indentation check inside flow collections,
/// so it reads that back; saphyr rejects the closing bracket as "invalid indentation". When
/// reading, yaml.v3 drops a comment inside such a collection whose column is at or beyond the
/// indentation of the block collection that owns it (it becomes the comment of the closing
/// bracket, which no node keeps), and keeps one that is less indented as a comment of the owning
/// collection at that place (verified with sops 3.11: `a:\n  b: {\n # c\n}\n  d: 1` encrypts to
/// `b: {}`, `#ENC…`, `d: …`; with the comment at column 2 or more it is gone). The same holds for
/// `[` … `]`.
///
/// The rewrite keeps every line in place: the opening line ends with `{}` (its trailing
/// comment, dropped by yaml.v3 too, removed), the closing line and the dropped comment lines
/// become empty, kept comment lines are re-indented to the owner's column.
struct FlowFix {
    text: String,
    /// (line, column) of each rewritten opening bracket.
    openers: Vec<Pos>,
    /// Lines that held a closing bracket (content for yaml.v3, now empty).
    closers: Vec<usize>,
    /// Lines that held a dropped comment (neither blank nor content for yaml.v3).
    dropped: Vec<usize>,
}

fn rewrite_comment_only_flows(lines: &[&str]) -> Option<FlowFix> {
    let closing = |l: &str| -> Option<u8> {
        let t = l.trim_start_matches(' ');
        let b = *t.as_bytes().first()?;
        ((b == b'}' || b == b']') && t[1..].trim_end_matches([' ', '\r']).is_empty()).then_some(b)
    };
    // Cheap pre-check: most files have no line that is just a closing bracket.
    if !lines.iter().any(|l| closing(l).is_some()) {
        return None;
    }
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let mut fix = FlowFix {
        text: String::new(),
        openers: Vec::new(),
        closers: Vec::new(),
        dropped: Vec::new(),
    };
    let mut j = 0;
    while j < lines.len() {
        let Some(close) = closing(lines[j]) else {
            j += 1;
            continue;
        };
        let open = if close == b'}' { b'{' } else { b'[' };
        // Back over comment and blank lines to the opening line.
        let mut k = j;
        while k > 0 {
            let t = lines[k - 1].trim_start_matches(' ').trim_end_matches('\r');
            if t.is_empty() || t.starts_with('#') {
                k -= 1;
            } else {
                break;
            }
        }
        if k == 0 {
            j += 1;
            continue;
        }
        let opener = k - 1;
        let Some((at, owner)) = comment_only_opener(lines[opener], open) else {
            j += 1;
            continue;
        };
        let line = lines[opener];
        out[opener] = format!("{}{}", &line[..=at], close as char);
        fix.openers.push((opener + 1, line[..at].chars().count()));
        for (m, l) in lines.iter().enumerate().take(j).skip(opener + 1) {
            let t = l.trim_start_matches(' ');
            if !t.trim_end_matches('\r').starts_with('#') {
                continue;
            }
            let col = l.len() - t.len();
            if col >= owner {
                out[m] = String::new();
                fix.dropped.push(m + 1);
            } else {
                out[m] = format!("{}{}", " ".repeat(owner), t);
            }
        }
        out[j] = String::new();
        fix.closers.push(j + 1);
        j += 1;
    }
    if fix.openers.is_empty() {
        return None;
    }
    fix.text = out.join("\n");
    Some(fix)
}

/// Where the opening bracket of a comment-only flow collection sits on `line` (a byte offset)
/// and the column of the block collection owning it, when the line is `[- ]*[key: ]{` with
/// nothing but an optional comment after the bracket. Anything else (anchors, tags, quoted or
/// unusual keys, other flow content) is left to saphyr as is.
fn comment_only_opener(line: &str, open: u8) -> Option<(usize, usize)> {
    let b = line.as_bytes();
    // The bracket is the first `open` with nothing but an optional comment after it (the key
    // before it may hold brackets too: `a[b: [`).
    let only_comment_after = |at: usize| {
        let rest = line[at + 1..].trim_end_matches('\r');
        let rest_t = rest.trim_start_matches(' ');
        rest_t.is_empty() || (rest_t.starts_with('#') && rest_t.len() < rest.len())
    };
    let at = (0..b.len()).find(|&at| b[at] == open && only_comment_after(at))?;
    // The owner: a key before the bracket, else the last dash, else the document (column 0).
    let mut i = 0;
    let mut owner = 0;
    while i < at && b[i] == b' ' {
        i += 1;
    }
    while i < at && b[i] == b'-' && matches!(b.get(i + 1), Some(b' ')) {
        owner = i;
        i += 1;
        while i < at && b[i] == b' ' {
            i += 1;
        }
    }
    if i < at {
        let key = line[i..at].trim_end_matches(' ');
        let name = &key[..key.len().saturating_sub(1)];
        // A plain key: YAML's indicators (and a tab) are special only as its first character
        // (`#` after a space, `:` before one); in block context flow indicators and tabs may
        // follow. (`e@pty`, `em:pty`, `inne,` and `i<TAB>nne` are fine keys; found by fuzzing.)
        let plain_key = key.len() >= 2
            && key.ends_with(':')
            && key.len() < at - i
            && !name.starts_with([
                '&', '*', '!', '|', '>', '"', '\'', '%', '@', '`', '?', '#', '-', '{', '}', '[',
                ']', ',', '\t',
            ])
            && !name.contains(" #")
            && !name.contains(": ");
        // yaml.v3 writes a merge key that carried its tag as `!!merge <<`, and the value of a
        // key over 128 bytes (`? key`) on a line of its own as `: {` (both found by fuzzing).
        let merge_key = key.len() < at - i && name == "!!merge <<";
        let complex_value = key.len() < at - i && key == ":";
        let key_ok = plain_key
            || merge_key
            || complex_value
            || (key.len() >= 3 && key.ends_with(':') && quoted_scalar(name));
        if !key_ok || !line[i..at].is_ascii() {
            return None;
        }
        owner = i;
    }
    // Columns: the prefix before a key or bracket is ASCII (spaces and dashes).
    Some((at, owner))
}

/// Whether `s` is exactly one one-line quoted scalar (`"..."` with backslash escapes, or
/// `'...'` with `''`), as yaml.v3 writes keys that need quoting (`"i\tnne,"`; found by fuzzing).
pub(super) fn quoted_scalar(s: &str) -> bool {
    let b = s.as_bytes();
    let Some((&q @ (b'"' | b'\''), rest)) = b.split_first() else {
        return false;
    };
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'\\' if q == b'"' => i += 2,
            c if c == q && q == b'\'' && rest.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == q => return i + 1 == rest.len(),
            _ => i += 1,
        }
    }
    false
}

/// Parses one (possibly rewritten) source; `Ok(None)` when a rewrite did not hit flow
/// collections as intended.
fn parse_lines(
    src: &str,
    lines: Vec<&str>,
    fix: Option<&FlowFix>,
) -> Result<Option<Tree>, StoreError> {
    // 1. Events, with an early depth check so hostile nesting never builds deep structures.
    // Block YAML has about two events per line (key and value) plus collection starts and ends;
    // reserving that up front saves the copies of a growing multi-megabyte vector.
    let mut events: Vec<(Event<'_>, Span)> =
        Vec::with_capacity((lines.len() * 2 + lines.len() / 4).min(src.len() / 2) + 16);
    let mut depth = 0usize;
    for ev in Parser::new_from_str(src) {
        let (ev, span) = ev.map_err(|e| {
            let m = e.marker();
            // saphyr-parser has its own nesting limit (flow collections); same class as ours.
            let kind = if e.info().contains("recursion limit") {
                StoreErrorKind::Unsupported
            } else {
                StoreErrorKind::Syntax
            };
            err(kind, format!("invalid YAML: {}", e.info())).at(m.line(), m.col() + 1)
        })?;
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(loc(
                        err(StoreErrorKind::Unsupported, "nesting too deep"),
                        pos_of(&span.start),
                    ));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        events.push((ev, span));
    }
    unbreak_final_block_scalar(src, &mut events);
    if let Some(fix) = fix {
        let flow_starts: HashSet<Pos> = events
            .iter()
            .filter(|(e, s)| {
                matches!(e, Event::MappingStart(..) | Event::SequenceStart(..)) && s.start != s.end
            })
            .map(|(_, s)| pos_of(&s.start))
            .collect();
        if !fix.openers.iter().all(|p| flow_starts.contains(p)) {
            return Ok(None);
        }
    }
    build(src, &lines, events, fix).map(Some)
}

/// A block scalar whose last line ends the input with no line break after it: clip and keep
/// chomping then add none. yaml.v3 reads `t: |\n n` at the end of a file as "n"; saphyr gives
/// "n\n" (found by fuzzing; checked with sops 3.11 for `|`, `|+`, `>` and nested in a list).
/// Only saphyr's events need this: the fast scanner takes no input without a final line break.
/// The last input line must be indented, not blank, and be the end of the scalar's value.
fn unbreak_final_block_scalar(src: &str, events: &mut [(Event<'_>, Span)]) {
    if src.ends_with('\n') {
        return;
    }
    let last_line = src.rsplit('\n').next().unwrap_or("");
    let text = last_line.trim_start_matches(' ');
    if !last_line.starts_with(' ') || text.trim().is_empty() || text.ends_with('\r') {
        return;
    }
    let Some((Event::Scalar(value, ScalarStyle::Literal | ScalarStyle::Folded, ..), _)) = events
        .iter_mut()
        .rev()
        .find(|(e, _)| matches!(e, Event::Scalar(..)))
    else {
        return;
    };
    let ends_with_line = value
        .strip_suffix('\n')
        .is_some_and(|v| v.rsplit('\n').next().is_some_and(|l| l.ends_with(text)));
    if ends_with_line {
        value.to_mut().pop();
    }
}

/// Saphyr-parser's events for `src` (tests compare the fast scanner with them).
#[cfg(test)]
pub(crate) fn saphyr_events(src: &str) -> Result<Vec<(Event<'_>, Span)>, StoreError> {
    let n = src.bytes().filter(|&b| b == b'\n').count() + 1;
    let mut events: Vec<(Event<'_>, Span)> =
        Vec::with_capacity((n * 2 + n / 4).min(src.len() / 2) + 16);
    for ev in Parser::new_from_str(src) {
        events.push(ev.map_err(|e| err(StoreErrorKind::Syntax, e.info().to_owned()))?);
    }
    Ok(events)
}

/// Comments and tree building over a complete event list.
fn build<'s>(
    src: &'s str,
    lines: &[&'s str],
    mut events: Vec<(Event<'s>, Span)>,
    fix: Option<&FlowFix>,
) -> Result<Tree, StoreError> {
    // 2. Comments.
    let comments = scan_comments(src, lines, &events, fix);
    // 3. Build.
    Builder::new(lines).run(&mut events, comments)
}

/// The fast scanner's events fed straight into a builder, for input without comments: no
/// event list is kept (for a big file it is larger than the file). `failed` records a build
/// error; the caller then parses again the usual way, which reports it.
struct Direct<'b, 's> {
    builder: &'b mut Builder<'s>,
    failed: bool,
}

impl<'s> super::fast::Sink<'s> for Direct<'_, 's> {
    fn event(&mut self, mut ev: Event<'s>, span: Span) {
        if self.failed {
            return;
        }
        let text = take_text(&mut ev);
        self.failed = self.builder.step(&ev, &span, text).is_err();
    }
}

/// A scalar's text, moved out of its event (into the tree); empty for other events.
fn take_text(ev: &mut Event<'_>) -> String {
    match ev {
        Event::Scalar(t, ..) => std::mem::take(t).into_owned(),
        _ => String::new(),
    }
}

/// Parses comment-free input in the fast subset without an event list: `None` when the input
/// is outside the subset, `Some(None)` when building failed (the event path reports why).
fn parse_direct(src: &str, lines: &[&str]) -> Option<Option<Tree>> {
    let mut builder = Builder::new(lines);
    let sink = Direct {
        builder: &mut builder,
        failed: false,
    };
    let done = super::fast::scan_into(src, lines, sink)?;
    if done.failed {
        return Some(None);
    }
    Some(Some(std::mem::take(&mut builder.tree)))
}

/// Comment-free inputs at least this big are parsed in two parts on two threads.
pub(crate) const SPLIT_BYTES: usize = 1 << 20;

/// Parses a big comment-free, single-document input in the fast subset as two parts on two
/// threads; `None` sends the caller to the one-part parse, which also reports every error
/// with its real position.
///
/// The cut is the first line from the middle on that starts with a letter, digit or `_` at
/// column 0. In the fast subset (one-line flow scalars, no flow collections, anchors, tags,
/// directives or document markers; block scalars end at column 0) such a line can only start
/// a new key of a root block mapping, or make the input invalid. So when each part parses to
/// one document that is a mapping with a key, and no top-level key is in both, the whole
/// input is that mapping with the items of both.
pub(super) fn parse_direct_parts(src: &str, lines: &[&str]) -> Option<Tree> {
    if src.len() < SPLIT_BYTES
        || lines
            .iter()
            .any(|l| l.starts_with("---") || l.starts_with("...") || l.starts_with('%'))
    {
        return None;
    }
    let starts_key = |l: &&str| {
        l.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let cut = lines.len() / 2 + lines[lines.len() / 2..].iter().position(starts_key)?;
    if cut == 0 {
        return None;
    }
    let offset: usize = lines[..cut].iter().map(|l| l.len() + 1).sum();
    let (src_a, src_b) = src.split_at(offset);
    let lines_a: Vec<&str> = src_a.split('\n').collect();
    let lines_b = &lines[cut..];
    let (a, b) = std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("sops-parse".to_owned())
            .spawn_scoped(scope, || parse_direct(src_b, lines_b));
        let a = parse_direct(src_a, &lines_a);
        // Without a thread, the one-part parse follows.
        let b = spawned.ok().and_then(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (a, b)
    });
    let (mut a, mut b) = (a??, b??);
    let has_key = |t: &Tree| {
        t.branches.len() == 1
            && t.branches[0]
                .items
                .iter()
                .any(|i| matches!(i, Item::Pair { .. }))
    };
    if !has_key(&a) || !has_key(&b) {
        return None;
    }
    let keys: HashSet<&str> = a.branches[0]
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Pair { key, .. } => Some(key.as_str()),
            Item::Comment(_) => None,
        })
        .collect();
    let shared = b.branches[0]
        .items
        .iter()
        .any(|i| matches!(i, Item::Pair { key, .. } if keys.contains(key.as_str())));
    if shared {
        return None;
    }
    let mut tail = std::mem::take(&mut b.branches[0].items);
    a.branches[0].items.append(&mut tail);
    Some(a)
}

/// Cuts a big input into pieces of about `target` bytes for [`parse_piece`], each but the
/// first starting at a line with a letter, digit or `_` at column 0 (see
/// [`parse_direct_parts`] for why such a line starts a top-level key). `None` when the input
/// is small or does not start at column 0. Only the cut points are looked at here: each
/// piece's own checks run in [`parse_piece`], on the thread that parses it.
pub(crate) fn cut_pieces(src: &[u8], target: usize) -> Option<Vec<&[u8]>> {
    if src.len() < SPLIT_BYTES {
        return None;
    }
    cut_lines(src, target)
}

/// [`cut_pieces`] for an input of any size (`target` at least 1).
pub(crate) fn cut_lines(src: &[u8], target: usize) -> Option<Vec<&[u8]>> {
    if src.starts_with(b"\xEF\xBB\xBF") || src.starts_with(b" ") || src.starts_with(b"\t") {
        return None;
    }
    let next_line = |from: usize| {
        src[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |n| from + n + 1)
    };
    let mut pieces = Vec::new();
    let mut start = 0;
    'cut: loop {
        let from = start + target.max(1);
        if from >= src.len() {
            break;
        }
        // The first line starting at or after `from`, then on to one that starts a key.
        let mut line = next_line(from - 1);
        loop {
            let Some(&first) = src.get(line) else {
                break 'cut;
            };
            if first.is_ascii_alphanumeric() || first == b'_' {
                break;
            }
            line = next_line(line);
        }
        pieces.push(&src[start..line]);
        start = line;
    }
    pieces.push(&src[start..]);
    Some(pieces)
}

/// Parses one piece from [`cut_pieces`]: `Some` only when it is valid UTF-8 without a comment
/// marker, a document marker, a directive or a character YAML does not allow, is in the fast
/// subset, and is one document, a mapping whose items are all pairs. Keys repeated across
/// pieces are for the caller to find. (Every piece valid UTF-8 makes the whole input valid:
/// the cuts follow a line break.)
pub(crate) fn parse_piece(piece: &[u8]) -> Option<Tree> {
    let piece = std::str::from_utf8(piece).ok()?;
    if piece.contains('#') || check_printable(piece).is_err() {
        return None;
    }
    let lines: Vec<&str> = piece.split('\n').collect();
    // A document marker or a directive at the start of any line.
    if lines
        .iter()
        .any(|l| l.starts_with("---") || l.starts_with("...") || l.starts_with('%'))
    {
        return None;
    }
    let tree = parse_direct(piece, &lines)??;
    let ok = tree.branches.len() == 1
        && !tree.branches[0].items.is_empty()
        && tree.branches[0]
            .items
            .iter()
            .all(|i| matches!(i, Item::Pair { .. }));
    ok.then_some(tree)
}

fn line_of_byte(input: &[u8], at: usize) -> usize {
    input[..at.min(input.len())]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}

/// Finds every comment token: `#` at line start or after a blank, outside scalars.
///
/// One pass over the source for `#` bytes (a comment marker, a blank and a line break are ASCII,
/// so no UTF-8 decoding is needed to find them); columns are counted in characters, as saphyr
/// counts them, only for the candidates.
fn scan_comments(
    src: &str,
    lines: &[&str],
    events: &[(Event<'_>, Span)],
    fix: Option<&FlowFix>,
) -> Vec<Comment> {
    if !src.contains('#') {
        // No comment marker at all (typical of large machine-written files): nothing to place.
        return Vec::new();
    }
    // Opaque regions: scalar spans (double-quoted ones re-measured: saphyr's span may run over
    // a trailing comment).
    let mut regions: Vec<(Pos, Pos)> = Vec::new();
    let mut content_lines: Vec<bool> = vec![false; lines.len() + 2];
    let mut mark = |l: usize| {
        if l >= content_lines.len() {
            content_lines.resize(l + 1, false);
        }
        content_lines[l] = true;
    };
    for (ev, span) in events {
        let start = pos_of(&span.start);
        let mut end = pos_of(&span.end);
        match ev {
            Event::Scalar(_, style, _, _) => {
                if *style == ScalarStyle::DoubleQuoted {
                    end = quoted_end(lines, start, b'"').unwrap_or(end);
                } else if *style == ScalarStyle::SingleQuoted {
                    end = quoted_end(lines, start, b'\'').unwrap_or(end);
                }
                if start != end {
                    regions.push((start, end));
                }
                for l in start.0..=end.0 {
                    mark(l);
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) | Event::Alias(_) => {
                mark(start.0);
            }
            Event::SequenceEnd | Event::MappingEnd if start != end => {
                mark(start.0);
            }
            _ => {}
        }
    }
    if let Some(fix) = fix {
        // The closing bracket of a rewritten flow collection was a token on its line.
        for &l in &fix.closers {
            mark(l);
        }
    }
    // Events come in source order, so this is nearly sorted already.
    regions.sort_unstable();
    let in_region = |p: Pos| -> bool {
        let idx = regions.partition_point(|r| r.0 <= p);
        // Regions do not overlap; check the last one starting at or before p.
        idx > 0 && regions[idx - 1].1 > p
    };
    let mut out: Vec<Comment> = Vec::new();
    let bytes = src.as_bytes();
    // The line of the current candidate: its number, first byte, and a character count up to
    // a byte offset inside it (so columns on one long line are counted once, not per `#`).
    let (mut lno, mut line_start) = (1usize, 0usize);
    let (mut counted_to, mut counted_chars) = (0usize, 0usize);
    let mut from = 0usize;
    while let Some(off) = src[from..].find('#') {
        let at = from + off;
        let skipped = &src[line_start.max(from)..at];
        if let Some(nl) = skipped.rfind('\n') {
            lno += skipped.bytes().filter(|&b| b == b'\n').count();
            line_start = line_start.max(from) + nl + 1;
            (counted_to, counted_chars) = (line_start, 0);
        }
        from = at + 1;
        let prev_blank = at == line_start || matches!(bytes[at - 1], b' ' | b'\t');
        if !prev_blank {
            continue;
        }
        counted_chars += src[counted_to..at].chars().count();
        counted_to = at;
        let col = counted_chars;
        if in_region((lno, col)) {
            continue;
        }
        let line_end = src[at..].find('\n').map_or(src.len(), |n| at + n);
        let text = &src[at + 1..line_end];
        let text = text.strip_suffix('\r').unwrap_or(text);
        out.push(Comment {
            pos: (lno, col),
            text: text.to_owned(),
            inline: bytes[line_start..at]
                .iter()
                .any(|b| !matches!(b, b' ' | b'\t' | b'\r')),
            foot_group: false,
        });
        // One comment per line: continue on the next one.
        if line_end == src.len() {
            break;
        }
        from = line_end + 1;
        lno += 1;
        line_start = from;
        (counted_to, counted_chars) = (from, 0);
    }
    // Foot groups: own-line comment groups starting right after a content line and followed
    // by a blank line.
    let is_blank = |l: usize| {
        lines.get(l - 1).is_some_and(|s| s.trim().is_empty())
            && !fix.is_some_and(|f| f.dropped.contains(&l) || f.closers.contains(&l))
    };
    let is_content = |l: usize| content_lines.get(l).copied().unwrap_or(false);
    let mut i = 0;
    while i < out.len() {
        if out[i].inline {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i;
        while j + 1 < out.len() && !out[j + 1].inline && out[j + 1].pos.0 == out[j].pos.0 + 1 {
            j += 1;
        }
        let first_line = out[start].pos.0;
        let last_line = out[j].pos.0;
        let after_content = first_line > 1 && is_content(first_line - 1);
        let blank_after = last_line < lines.len() && is_blank(last_line + 1);
        if after_content && blank_after {
            for c in &mut out[start..=j] {
                c.foot_group = true;
            }
        }
        i = j + 1;
    }
    out
}

/// The byte offset of character `n` of `line` (its length when shorter).
fn byte_of_char(line: &str, n: usize) -> usize {
    line.char_indices().nth(n).map_or(line.len(), |(i, _)| i)
}

/// The end of a quoted scalar whose opening quote is at `start` (saphyr's span for quoted
/// scalars may run over a trailing comment, so it is re-measured).
fn quoted_end(lines: &[&str], start: Pos, quote: u8) -> Option<Pos> {
    let mut l = start.0;
    let mut first = true;
    loop {
        let line = lines.get(l.checked_sub(1)?)?;
        let b = line.as_bytes();
        let (mut i, mut col) = if first {
            (byte_of_char(line, start.1 + 1), start.1 + 1)
        } else {
            (0, 0)
        };
        // An escape does not continue over a line break.
        let mut escaped = false;
        while i < b.len() {
            let c = b[i];
            if c & 0xC0 == 0x80 {
                // A UTF-8 continuation byte: part of the character already counted.
                i += 1;
                continue;
            }
            if escaped {
                escaped = false;
            } else if quote == b'"' && c == b'\\' {
                escaped = true;
            } else if c == quote {
                if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    col += 2;
                    continue;
                }
                return Some((l, col + 1));
            }
            i += 1;
            col += 1;
        }
        first = false;
        l += 1;
    }
}

/// The position of the first token after `from`, skipping blanks, line breaks and comments.
fn next_token(lines: &[&str], from: Pos) -> Pos {
    let mut l = from.0.max(1);
    let mut col = from.1;
    while l <= lines.len() {
        let line = lines[l - 1];
        let b = line.as_bytes();
        let mut i = byte_of_char(line, col);
        let mut prev_blank = col == 0 || (i > 0 && matches!(b[i - 1], b' ' | b'\t'));
        while i < b.len() {
            match b[i] {
                b' ' | b'\t' | b'\r' => prev_blank = true,
                b'#' if prev_blank => break,
                // Every byte so far was a one-byte character, so `col` counts characters.
                _ => return (l, col),
            }
            i += 1;
            col += 1;
        }
        l += 1;
        col = 0;
    }
    (usize::MAX, 0)
}

fn tag_name(tag: &Tag) -> String {
    if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

impl<'s> Builder<'s> {
    fn new(lines: &'s [&'s str]) -> Self {
        Self {
            stack: Vec::new(),
            anchors: HashMap::new(),
            expanded: 0,
            pending_open: Vec::new(),
            doc_index: 0,
            last_content_line: 0,
            last_was_key: false,
            last_closed_flow: None,
            last_end: (1, 0),
            lines,
            tree: Tree::default(),
            doc_root: None,
            doc_comments: Vec::new(),
        }
    }

    fn run(
        &mut self,
        events: &mut [(Event<'_>, Span)],
        comments: Vec<Comment>,
    ) -> Result<Tree, StoreError> {
        let mut ci = 0usize;
        for i in 0..events.len() {
            // A scalar's text moves into the tree (taken before the shared borrow below; the
            // look-ahead in `place_comment` only reads event kinds and spans).
            let text = take_text(&mut events[i].0);
            let (ev, span) = &events[i];
            let start = pos_of(&span.start);
            // Flush the comments that precede this event. A block collection's end event is
            // positioned unreliably (before trailing comments for indentless sequences), so
            // comments up to the next real token are placed while the collection is open.
            if ci == comments.len() {
                self.step(ev, span, text)?;
                continue;
            }
            let is_block_end = |e: &Event<'_>, sp: &Span| {
                matches!(e, Event::MappingEnd | Event::SequenceEnd) && sp.start == sp.end
            };
            let limit = if is_block_end(ev, span) {
                let next_event = events[i..]
                    .iter()
                    .find(|(e, sp)| !is_block_end(e, sp))
                    .map(|(_, sp)| pos_of(&sp.start))
                    .unwrap_or(start);
                // A dash that starts the next sequence item yields no event; stop there too.
                next_event.min(next_token(self.lines, self.last_end))
            } else {
                start
            };
            while ci < comments.len() && comments[ci].pos < limit {
                let c = &comments[ci];
                if !self.place_comment(c, events, i) {
                    self.doc_comments.push(c.text.clone());
                }
                ci += 1;
            }
            self.step(ev, span, text)?;
        }
        Ok(std::mem::take(&mut self.tree))
    }

    /// Takes one event (`text`: a scalar's text, moved out of the event).
    fn step(&mut self, ev: &Event<'_>, span: &Span, text: String) -> Result<(), StoreError> {
        let start = pos_of(&span.start);
        self.last_closed_flow = None;
        if !matches!(ev, Event::MappingEnd | Event::SequenceEnd) || span.start != span.end {
            let mut end = pos_of(&span.end);
            if let Event::Scalar(_, ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted, ..) = ev
            {
                // saphyr's quoted spans may cover a trailing comment.
                end = end.min((end.0, start.1 + 1));
                if end <= start {
                    end = (start.0, start.1 + 1);
                }
            }
            self.last_end = end;
        }
        match ev {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.doc_root = None;
                self.stack.clear();
            }
            Event::DocumentEnd => {
                let branch = match self.doc_root.take() {
                    None => {
                        let mut b = Branch::new();
                        for c in self.doc_comments.drain(..) {
                            b.push_comment(c);
                        }
                        for c in self.pending_open.drain(..) {
                            b.push_comment(c);
                        }
                        b
                    }
                    Some(Value::Map(mut b)) => {
                        if !self.doc_comments.is_empty() {
                            let mut items: Vec<Item> =
                                self.doc_comments.drain(..).map(Item::Comment).collect();
                            items.append(&mut b.items);
                            b.items = items;
                        }
                        b
                    }
                    Some(Value::Null) => {
                        let mut b = Branch::new();
                        for c in self.doc_comments.drain(..) {
                            b.push_comment(c);
                        }
                        b
                    }
                    Some(Value::List(_)) => {
                        return Err(loc(
                            err(
                                StoreErrorKind::Unsupported,
                                "YAML documents that are sequences are not supported",
                            ),
                            start,
                        ));
                    }
                    Some(_) => {
                        return Err(loc(
                            err(
                                StoreErrorKind::Unsupported,
                                "YAML documents that are values are not supported",
                            ),
                            start,
                        ));
                    }
                };
                self.doc_index += 1;
                self.tree.branches.push(branch);
            }
            Event::MappingStart(anchor, tag) | Event::SequenceStart(anchor, tag) => {
                let _ = tag;
                let is_map = matches!(ev, Event::MappingStart(..));
                let indent = self.collection_indent(is_map, start);
                self.mark_child_open();
                let head = std::mem::take(&mut self.pending_open);
                let frame = if is_map {
                    Frame::Map {
                        items: head.into_iter().map(Item::Comment).collect(),
                        pending: None,
                        child_open: false,
                        deferred: Vec::new(),
                        indent,
                        cur_line: 0,
                        cur_idx: 0,
                        keys: HashSet::new(),
                        anchor: *anchor,
                        flow: span.start != span.end,
                    }
                } else {
                    Frame::Seq {
                        items: head.into_iter().map(Value::Comment).collect(),
                        child_open: false,
                        deferred: Vec::new(),
                        indent,
                        cur_line: 0,
                        cur_idx: 0,
                        anchor: *anchor,
                        flow: span.start != span.end,
                    }
                };
                if self.stack.is_empty() && !is_map {
                    // Still build it, the document check reports the error.
                }
                self.stack.push(frame);
                self.last_content_line = start.0;
                self.last_was_key = false;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(err(StoreErrorKind::Syntax, "unbalanced collection end"));
                };
                let (value, anchor, flow) = match frame {
                    Frame::Map {
                        items,
                        pending,
                        anchor,
                        flow,
                        ..
                    } => {
                        if pending.is_some() {
                            return Err(err(StoreErrorKind::Syntax, "mapping key without value"));
                        }
                        (Value::Map(Branch { items }), anchor, flow)
                    }
                    Frame::Seq {
                        items,
                        anchor,
                        flow,
                        ..
                    } => (Value::List(items), anchor, flow),
                };
                self.finish_root(value, anchor, start)?;
                self.last_closed_flow = if flow {
                    Some(pos_of(&span.end).0)
                } else {
                    None
                };
                return Ok(());
            }
            Event::Scalar(_, style, anchor, tag) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }));
                if is_key {
                    if *anchor != 0 {
                        self.anchors.insert(*anchor, (Value::Str(text.clone()), 0));
                    }
                    // Without a tag the key is the text itself; a tag (`!!binary`) may
                    // change it, and the duplicate check needs the text.
                    let raw = tag.is_some().then(|| text.clone());
                    let key = self.scalar_key(text, *style, tag.as_deref(), start)?;
                    self.push_key(key, raw, start)?;
                    self.last_content_line = pos_of(&span.end).0;
                    self.last_was_key = true;
                    return Ok(());
                }
                let v = scalar_value(text, *style, tag.as_deref()).map_err(|e| loc(e, start))?;
                self.mark_item_start(start.0);
                self.last_content_line = pos_of(&span.end).0;
                self.last_was_key = false;
                self.finish_root(v, *anchor, start)?;
            }
            Event::Alias(id) => {
                let Some((v, d)) = self.anchors.get(id) else {
                    return Err(loc(err(StoreErrorKind::Syntax, "unknown anchor"), start));
                };
                if d + self.stack.len() > MAX_DEPTH {
                    return Err(loc(
                        err(StoreErrorKind::Unsupported, "nesting too deep"),
                        start,
                    ));
                }
                let mut count = 0usize;
                let v = clone_value(v, &mut count);
                self.expanded += count;
                if self.expanded > MAX_EXPANDED_NODES {
                    return Err(loc(
                        err(StoreErrorKind::Unsupported, "too many alias expansions"),
                        start,
                    ));
                }
                let is_key = matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }));
                if is_key {
                    let Value::Str(k) = v else {
                        return Err(loc(
                            err(
                                StoreErrorKind::Unsupported,
                                "only string keys are supported",
                            ),
                            start,
                        ));
                    };
                    self.push_key(k, None, start)?;
                    self.last_was_key = true;
                    return Ok(());
                }
                self.mark_item_start(start.0);
                self.last_content_line = pos_of(&span.end).0;
                self.last_was_key = false;
                self.finish_root(v, 0, start)?;
            }
        }
        Ok(())
    }

    /// [`Builder::finish_value`] with the document root kept in the builder.
    fn finish_root(&mut self, value: Value, anchor: usize, start: Pos) -> Result<(), StoreError> {
        let mut root = self.doc_root.take();
        let r = self.finish_value(value, anchor, start, &mut root);
        self.doc_root = root;
        r
    }

    /// The column of a collection: its first key, or for a block sequence its first dash
    /// (saphyr positions an indentless sequence at its first item, after the dash).
    fn collection_indent(&self, is_map: bool, start: Pos) -> usize {
        if is_map {
            return start.1;
        }
        let Some(line) = self.lines.get(start.0.saturating_sub(1)) else {
            return start.1;
        };
        let at = byte_of_char(line, start.1);
        if line[at..].starts_with('-') {
            return start.1;
        }
        // Back over blanks to a dash; the head before `at` has `n` characters.
        let head = &line[..at];
        let n = head.chars().count();
        for (k, c) in head.chars().rev().enumerate() {
            match c {
                ' ' | '\t' => continue,
                '-' => return n - 1 - k,
                _ => break,
            }
        }
        start.1
    }

    fn mark_item_start(&mut self, line: usize) {
        if let Some(Frame::Seq {
            items,
            cur_line,
            cur_idx,
            ..
        }) = self.stack.last_mut()
        {
            *cur_line = line;
            *cur_idx = items.len();
        }
    }

    /// A collection starts as the value/item of the innermost frame.
    fn mark_child_open(&mut self) {
        let line = self.last_content_line;
        match self.stack.last_mut() {
            Some(Frame::Map { child_open, .. }) => *child_open = true,
            Some(Frame::Seq {
                items,
                child_open,
                cur_line,
                cur_idx,
                ..
            }) => {
                *child_open = true;
                *cur_line = line.max(1);
                *cur_idx = items.len();
            }
            None => {}
        }
    }

    /// Sets the pending key of the innermost mapping; `raw` is the source text when it differs
    /// from `key`.
    fn push_key(&mut self, key: String, raw: Option<String>, start: Pos) -> Result<(), StoreError> {
        let check_dups = self.doc_index == 0;
        if let Some(Frame::Map {
            items,
            pending,
            keys,
            cur_line,
            cur_idx,
            ..
        }) = self.stack.last_mut()
        {
            // yaml.v3 rejects duplicates on the raw key text; sops only runs that check on the
            // first document (`Decode(map[string]interface{})` reads one document).
            if check_dups && !keys.insert(raw.unwrap_or_else(|| key.clone())) {
                return Err(loc(
                    err(
                        StoreErrorKind::DuplicateKey,
                        format!("mapping key {key:?} already defined"),
                    ),
                    start,
                ));
            }
            *pending = Some((key, start.0));
            *cur_line = start.0;
            *cur_idx = items.len();
        }
        Ok(())
    }

    fn scalar_key(
        &self,
        text: String,
        style: ScalarStyle,
        tag: Option<&Tag>,
        start: Pos,
    ) -> Result<String, StoreError> {
        let v = scalar_value(text, style, tag).map_err(|e| loc(e, start))?;
        match v {
            Value::Str(s) => Ok(s),
            _ => Err(loc(
                err(
                    StoreErrorKind::Unsupported,
                    "only string keys are supported",
                ),
                start,
            )),
        }
    }

    fn finish_value(
        &mut self,
        value: Value,
        anchor: usize,
        start: Pos,
        doc_root: &mut Option<Value>,
    ) -> Result<(), StoreError> {
        if anchor != 0 {
            let mut count = 0;
            let d = value_depth(&value);
            self.anchors
                .insert(anchor, (clone_value(&value, &mut count), d));
        }
        match self.stack.last_mut() {
            None => {
                *doc_root = Some(value);
            }
            Some(Frame::Map {
                items,
                pending,
                child_open,
                deferred,
                ..
            }) => {
                let Some((key, _)) = pending.take() else {
                    return Err(loc(
                        err(
                            StoreErrorKind::Unsupported,
                            "only string keys are supported",
                        ),
                        start,
                    ));
                };
                items.push(Item::Pair { key, value });
                *child_open = false;
                items.append(deferred);
            }
            Some(Frame::Seq {
                items,
                child_open,
                deferred,
                ..
            }) => {
                items.push(value);
                *child_open = false;
                items.append(deferred);
            }
        }
        Ok(())
    }

    /// Places one comment; `false` when no collection is open (document-level comment).
    fn place_comment(&mut self, c: &Comment, events: &[(Event<'_>, Span)], next: usize) -> bool {
        let text = c.text.clone();
        if self.stack.is_empty() {
            // Before the root collection: it opens with these comments.
            let opens = events[next..].iter().find(|(e, _)| {
                !matches!(
                    e,
                    Event::DocumentStart(_) | Event::StreamStart | Event::Nothing
                )
            });
            if matches!(
                opens,
                Some((Event::MappingStart(..) | Event::SequenceStart(..), _))
            ) {
                self.pending_open.push(text);
                return true;
            }
            return false;
        }
        if c.inline {
            // After a flow collection that is a mapping value, the comment is that collection's
            // line comment, which sops (`nodeToTreeValue`) puts first inside the collection.
            if self.last_closed_flow == Some(c.pos.0)
                && let Some(Frame::Map {
                    items,
                    child_open: false,
                    ..
                }) = self.stack.last_mut()
            {
                match items.last_mut() {
                    Some(Item::Pair {
                        value: Value::Map(b),
                        ..
                    }) => {
                        b.items.insert(0, Item::Comment(text));
                        return true;
                    }
                    Some(Item::Pair {
                        value: Value::List(l),
                        ..
                    }) => {
                        l.insert(0, Value::Comment(text));
                        return true;
                    }
                    _ => {}
                }
            }
            // On the first key of a compact mapping in a sequence item (`- k: v # c`), yaml.v3
            // gives the comment to the item, so it lands in the list, unless the item already
            // has a head comment (observed with sops 3.11).
            let n = self.stack.len();
            if n >= 2 {
                let first_key_on_line = matches!(
                    &self.stack[n - 1],
                    Frame::Map { cur_idx, cur_line, flow: false, items, .. }
                        if *cur_line == c.pos.0 && items[..(*cur_idx).min(items.len())].iter().all(|i| matches!(i, Item::Comment(_)))
                );
                if first_key_on_line
                    && let Frame::Seq {
                        items,
                        cur_idx,
                        cur_line,
                        flow: false,
                        ..
                    } = &mut self.stack[n - 2]
                {
                    let has_head =
                        *cur_idx > 0 && matches!(items.get(*cur_idx - 1), Some(Value::Comment(_)));
                    if *cur_line == c.pos.0 && !has_head {
                        let at = (*cur_idx).min(items.len());
                        items.insert(at, Value::Comment(text));
                        *cur_idx += 1;
                        return true;
                    }
                }
            }
            // A line comment belongs to the innermost pair/item that is current.
            for idx in (0..self.stack.len()).rev() {
                if self.stack[idx].push_comment_before_current(text.clone()) {
                    return true;
                }
            }
            self.stack[0].push_comment_end(text);
            return true;
        }
        // Own-line comment: look at what comes next.
        let mut closes = 0usize;
        let mut next_ev = None;
        for (e, _) in &events[next..] {
            match e {
                Event::MappingEnd | Event::SequenceEnd => closes += 1,
                other => {
                    next_ev = Some(other);
                    break;
                }
            }
        }
        let cc = c.pos.1;
        let innermost_fitting = |stack: &[Frame]| -> usize {
            (0..stack.len())
                .rev()
                .find(|&i| stack[i].indent() <= cc)
                .unwrap_or(0)
        };
        let doc_ends = closes >= self.stack.len()
            || !matches!(
                next_ev,
                Some(
                    Event::Scalar(..)
                        | Event::Alias(_)
                        | Event::MappingStart(..)
                        | Event::SequenceStart(..)
                )
            );
        if doc_ends {
            let t = innermost_fitting(&self.stack);
            self.stack[t].push_comment_end(text);
            return true;
        }
        let c_idx = self.stack.len() - 1 - closes;
        let foot =
            (closes > 0 && cc > self.stack[c_idx].indent()) || (c.foot_group && !self.last_was_key);
        if foot {
            let t = innermost_fitting(&self.stack);
            if t >= c_idx {
                self.stack[t].push_comment_end(text);
                return true;
            }
        }
        let descend = matches!(self.stack[c_idx], Frame::Map { .. })
            && matches!(
                next_ev,
                Some(Event::MappingStart(..) | Event::SequenceStart(..))
            )
            && closes == 0;
        if descend {
            self.pending_open.push(text);
        } else {
            self.stack[c_idx].push_comment_end(text);
        }
        true
    }
}

fn value_depth(v: &Value) -> usize {
    match v {
        Value::Map(b) => {
            1 + b
                .items
                .iter()
                .map(|i| match i {
                    Item::Pair { value, .. } => value_depth(value),
                    Item::Comment(_) => 0,
                })
                .max()
                .unwrap_or(0)
        }
        Value::List(l) => 1 + l.iter().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Deep copy (the tree types are not `Clone`); depth is bounded by `MAX_DEPTH`.
fn clone_value(v: &Value, count: &mut usize) -> Value {
    *count += 1;
    match v {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::Bool(*b),
        Value::Int(i) => Value::Int(*i),
        Value::Float(f) => Value::Float(*f),
        Value::Str(s) => Value::Str(s.clone()),
        Value::Bytes(b) => Value::Bytes(b.clone()),
        Value::Time(t) => Value::Time(*t),
        Value::Comment(c) => Value::Comment(c.clone()),
        Value::List(l) => Value::List(l.iter().map(|x| clone_value(x, count)).collect()),
        Value::Map(b) => Value::Map(Branch {
            items: b
                .items
                .iter()
                .map(|i| match i {
                    Item::Pair { key, value } => Item::Pair {
                        key: key.clone(),
                        value: clone_value(value, count),
                    },
                    Item::Comment(c) => Item::Comment(c.clone()),
                })
                .collect(),
        }),
    }
}

/// Types one scalar as yaml.v3 `Node.Decode(&interface{})` does.
fn scalar_value(text: String, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, StoreError> {
    let tag = tag.map(tag_name);
    let quoted = !matches!(style, ScalarStyle::Plain);
    match tag.as_deref() {
        None => {
            if quoted {
                return Ok(Value::Str(text));
            }
            let r = resolve_plain(&text);
            resolved_to_value(text, r)
        }
        Some("!!str") | Some("!") => Ok(Value::Str(text)),
        Some("!!binary") => {
            let cleaned: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map_err(|_| {
                    err(
                        StoreErrorKind::Syntax,
                        "!!binary value contains invalid base64 data",
                    )
                })?;
            match String::from_utf8(bytes) {
                Ok(s) => Ok(Value::Str(s)),
                Err(e) => Ok(Value::Bytes(e.into_bytes())),
            }
        }
        Some("!!timestamp") => match parse_timestamp(&text) {
            Some(t) => Ok(Value::Time(t)),
            None => Err(err(
                StoreErrorKind::Syntax,
                "cannot decode value as !!timestamp",
            )),
        },
        Some(t @ ("!!int" | "!!float" | "!!bool" | "!!null")) => {
            let r = resolve_plain(&text);
            let ok = matches!(
                (t, &r),
                ("!!int", Resolved::Int(_) | Resolved::Uint)
                    | ("!!float", Resolved::Float(_) | Resolved::Int(_))
                    | ("!!bool", Resolved::Bool(_))
                    | ("!!null", Resolved::Null)
            );
            if !ok {
                return Err(err(
                    StoreErrorKind::Syntax,
                    format!("cannot decode value as {t}"),
                ));
            }
            if let ("!!float", Resolved::Int(i)) = (t, &r) {
                return Ok(Value::Float(*i as f64));
            }
            resolved_to_value(text, r)
        }
        // Unknown tags: yaml.v3 keeps the string value and drops the tag.
        Some(_) => Ok(Value::Str(text)),
    }
}

fn resolved_to_value(text: String, r: Resolved) -> Result<Value, StoreError> {
    Ok(match r {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Int(i),
        Resolved::Uint => {
            // sops: "Cannot walk value, unknown type: uint64".
            return Err(err(
                StoreErrorKind::Unsupported,
                "unknown type: uint64 (integer beyond the int64 range)",
            ));
        }
        Resolved::Float(f) => Value::Float(f),
        Resolved::Time(t) => Value::Time(t),
        Resolved::Merge | Resolved::Str => Value::Str(text),
    })
}

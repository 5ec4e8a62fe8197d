//! The emitter: reproduces the bytes yaml.v3 v3.0.4's `Encoder` (with `SetIndent`) writes for the
//! node tree sops builds in `stores/yaml/store.go` (`appendTreeBranch`, `appendSequence`).

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine;

use super::resolve::{Resolved, is_base60_float, is_old_bool, resolve_plain};
use super::{MAX_DEPTH, err};
use crate::store::StoreError;
use crate::store::StoreErrorKind;
use crate::tree::{Item, Tree, Value};

/// yaml.v3 clamps indents below 2 or above 9 to 2; sops maps 0 (unset) to 4.
pub(crate) fn effective_indent(indent: usize) -> usize {
    match indent {
        0 => 4,
        2..=9 => indent,
        _ => 2,
    }
}

pub(crate) fn emit_tree(tree: &Tree, indent: usize) -> Result<Vec<u8>, StoreError> {
    let best = effective_indent(indent);
    // A big document is written in pieces that alternate between two threads
    // (`walk::alternate`): the even ones straight into the output, the odd ones into a buffer
    // of their own, appended in turn. Each piece is written as a document of its own, which
    // gives the same bytes as one document: every cut follows a pair, so no piece but the
    // last has foot comments, and a piece's head comments are written at column 0 as those
    // of a top-level key. Each piece's size is estimated once, for its buffer and the total.
    let documents: Vec<Vec<(&[Item], usize)>> = tree
        .branches
        .iter()
        .map(|b| {
            let cuts = crate::walk::cut_points(&b.items);
            crate::walk::pieces(&b.items, &cuts)
                .into_iter()
                .map(|piece| {
                    let estimate = estimate_items(piece, 0, best, 1);
                    (piece, estimate + estimate / 32)
                })
                .collect()
        })
        .collect();
    // Reserve the whole output once: growing a multi-megabyte buffer by doubling copies it and
    // touches twice the pages.
    let total: usize = documents.iter().flatten().map(|(_, size)| size).sum();
    let mut out = String::with_capacity(total + 64);
    for (i, pieces) in documents.into_iter().enumerate() {
        if i > 0 {
            // yaml.v3 writes `---` before every document after the first.
            out.push_str("---\n");
        }
        crate::walk::alternate(
            &mut out,
            pieces,
            |out, (piece, _)| {
                *out = emit_into(std::mem::take(out), piece, indent)?;
                Ok(())
            },
            |(piece, size)| emit_into(String::with_capacity(size), piece, indent),
            |out, written| {
                out.push_str(&written?);
                Ok(())
            },
        )?;
    }
    Ok(out.into_bytes())
}

/// Appends one document (or a part of one, see [`emit_tree`]) to `out`.
pub(super) fn emit_into(out: String, items: &[Item], indent: usize) -> Result<String, StoreError> {
    let mut e = Emitter::new(indent);
    e.out = out;
    e.document(items)?;
    Ok(e.out)
}

/// Appends a piece of a document's top-level items (cut after a pair, as in [`emit_tree`])
/// to `out`, reserving about what it will take.
pub(crate) fn emit_piece(
    mut out: String,
    items: &[Item],
    indent: usize,
) -> Result<String, StoreError> {
    let estimate = estimate_items(items, 0, effective_indent(indent), 1);
    out.reserve(estimate + estimate / 32);
    emit_into(out, items, indent)
}

pub(crate) fn emit_single(value: &Value, indent: usize) -> Result<Vec<u8>, StoreError> {
    let mut e = Emitter::new(indent);
    match value {
        Value::Map(b) => e.document(&b.items)?,
        // sops prints an extracted string as is, without YAML quoting or a final newline
        // (verified: `--extract '["s"]'` on `s: str` prints `str`, `"a\nb"` prints `a⏎b`).
        Value::Str(s) => return Ok(s.clone().into_bytes()),
        Value::Bytes(b) => return Ok(b.clone()),
        other => {
            // yaml.Marshal of a non-mapping value: a document whose root is that value.
            let head = Vec::new();
            e.root_value(other, &head)?;
        }
    }
    Ok(e.out.into_bytes())
}

struct Emitter {
    out: String,
    best: usize,
}

/// A scalar ready to write: its text (borrowed from the tree when possible) and style.
enum Scalar<'a> {
    Plain(Cow<'a, str>),
    Single(&'a str),
    Double(&'a str),
    /// Literal block: (tag prefix, value).
    Literal(Option<&'static str>, Cow<'a, str>),
    /// Plain with a tag (`!!binary AAA=`, `!!merge <<`).
    Tagged(&'static str, Cow<'a, str>),
}

/// Splits a sops branch/list into yaml.v3 comment attachments the way `appendTreeBranch` does.
struct Entry<'a, T> {
    head: Vec<&'a str>,
    item: T,
}

#[allow(clippy::type_complexity)]
fn split_branch(items: &[Item]) -> (Vec<&str>, Vec<Entry<'_, (&str, &Value)>>, Vec<&str>) {
    let mut lead = Vec::new();
    let mut entries: Vec<Entry<'_, (&str, &Value)>> = Vec::new();
    let mut pending = Vec::new();
    for item in items {
        match item {
            Item::Comment(c) => pending.push(c.as_str()),
            Item::Pair { key, value } => {
                let head = std::mem::take(&mut pending);
                if entries.is_empty() {
                    // Comments before the first key become the mapping's head comment.
                    lead = head;
                    entries.push(Entry {
                        head: Vec::new(),
                        item: (key.as_str(), value),
                    });
                } else {
                    entries.push(Entry {
                        head,
                        item: (key.as_str(), value),
                    });
                }
            }
        }
    }
    (lead, entries, pending)
}

fn split_list(l: &[Value]) -> (Vec<&str>, Vec<Entry<'_, &Value>>, Vec<&str>) {
    let mut lead = Vec::new();
    let mut entries: Vec<Entry<'_, &Value>> = Vec::new();
    let mut pending = Vec::new();
    for v in l {
        match v {
            Value::Comment(c) => pending.push(c.as_str()),
            other => {
                let head = std::mem::take(&mut pending);
                if entries.is_empty() {
                    lead = head;
                    entries.push(Entry {
                        head: Vec::new(),
                        item: other,
                    });
                } else {
                    entries.push(Entry { head, item: other });
                }
            }
        }
    }
    (lead, entries, pending)
}

impl Emitter {
    fn new(indent: usize) -> Self {
        Self {
            out: String::new(),
            best: effective_indent(indent),
        }
    }

    /// yaml.v3 `increase_indent` outside a sequence item: round up to the next multiple.
    fn next(&self, indent: usize) -> usize {
        self.best * ((indent + self.best) / self.best)
    }

    fn pad(&mut self, n: usize) {
        const SPACES: &str = "                                                                ";
        let mut left = n;
        while left > 0 {
            let k = left.min(SPACES.len());
            self.out.push_str(&SPACES[..k]);
            left -= k;
        }
    }

    fn comments(&mut self, lines: &[&str], indent: usize) {
        for l in lines {
            self.pad(indent);
            self.out.push('#');
            self.out.push_str(l);
            self.out.push('\n');
        }
    }

    fn document(&mut self, items: &[Item]) -> Result<(), StoreError> {
        let (lead, entries, foot) = split_branch(items);
        if entries.is_empty() {
            let mut all = lead;
            all.extend(foot);
            self.comments(&all, 0);
            self.out.push_str("{}\n");
            return Ok(());
        }
        self.comments(&lead, 0);
        self.map_body(&entries, &foot, 0, false, 1)
    }

    fn root_value(&mut self, v: &Value, head: &[&str]) -> Result<(), StoreError> {
        self.comments(head, 0);
        match v {
            Value::List(l) => {
                let (lead, entries, foot) = split_list(l);
                if entries.is_empty() {
                    let mut all = lead;
                    all.extend(foot);
                    self.comments(&all, 0);
                    self.out.push_str("[]\n");
                    return Ok(());
                }
                self.comments(&lead, 0);
                self.seq_body(&entries, &foot, 0, false, 1)
            }
            Value::Map(b) => self.document(&b.items),
            other => {
                let s = scalar_for(other)?;
                self.write_scalar(&s, 0, false);
                self.out.push('\n');
                Ok(())
            }
        }
    }

    /// Writes the pairs of a non-empty block mapping whose keys sit at `indent`. When
    /// `compact` the first key continues the current line (`- a: 1`).
    fn map_body(
        &mut self,
        entries: &[Entry<'_, (&str, &Value)>],
        foot: &[&str],
        indent: usize,
        compact: bool,
        depth: usize,
    ) -> Result<(), StoreError> {
        if depth > MAX_DEPTH {
            return Err(err(StoreErrorKind::Emit, "nesting too deep"));
        }
        for (i, entry) in entries.iter().enumerate() {
            self.comments(&entry.head, indent);
            if !(compact && i == 0) {
                self.pad(indent);
            }
            let (key, value) = entry.item;
            let ks = key_scalar(key);
            if is_simple_key(key) {
                self.write_scalar(&ks, indent, true);
                self.out.push(':');
                self.value_after_key(value, indent, depth)?;
            } else {
                // yaml.v3 `yaml_emitter_emit_block_mapping_key`: `? key`, then `:` on its own
                // line at the key's indent, the value continuing that line.
                self.out.push_str("? ");
                self.write_scalar(&ks, self.next(indent), true);
                self.out.push('\n');
                self.pad(indent);
                self.out.push(':');
                self.value_after_complex_key(value, indent, depth)?;
            }
        }
        self.comments(foot, indent);
        Ok(())
    }

    /// The value after the `:` line of a `? key`: a non-empty collection starts on that line,
    /// padded to its indent (yaml.v3 `write_indent` without a line break); anything else is
    /// written as after a simple key.
    fn value_after_complex_key(
        &mut self,
        value: &Value,
        indent: usize,
        depth: usize,
    ) -> Result<(), StoreError> {
        let inner = self.next(indent);
        match value {
            Value::Map(b) => {
                let (lead, entries, foot) = split_branch(&b.items);
                if entries.is_empty() || !lead.is_empty() {
                    return self.value_after_key(value, indent, depth);
                }
                self.pad(inner - indent - 1);
                self.map_body(&entries, &foot, inner, true, depth + 1)
            }
            Value::List(l) => {
                let (lead, entries, foot) = split_list(l);
                if entries.is_empty() || !lead.is_empty() {
                    return self.value_after_key(value, indent, depth);
                }
                self.pad(inner - indent - 1);
                self.seq_body(&entries, &foot, inner, true, depth + 1)
            }
            _ => self.value_after_key(value, indent, depth),
        }
    }

    fn value_after_key(
        &mut self,
        value: &Value,
        indent: usize,
        depth: usize,
    ) -> Result<(), StoreError> {
        match value {
            Value::Map(b) => {
                let (lead, entries, foot) = split_branch(&b.items);
                if entries.is_empty() {
                    let mut all = lead;
                    all.extend(foot);
                    self.flow_empty("{}", &all, indent);
                    return Ok(());
                }
                self.out.push('\n');
                let inner = self.next(indent);
                self.comments(&lead, inner);
                self.map_body(&entries, &foot, inner, false, depth + 1)
            }
            Value::List(l) => {
                let (lead, entries, foot) = split_list(l);
                if entries.is_empty() {
                    let mut all = lead;
                    all.extend(foot);
                    self.flow_empty("[]", &all, indent);
                    return Ok(());
                }
                self.out.push('\n');
                let inner = self.next(indent);
                self.comments(&lead, inner);
                self.seq_body(&entries, &foot, inner, false, depth + 1)
            }
            Value::Comment(_) => Err(err(StoreErrorKind::Emit, "comment used as a value")),
            other => {
                let s = scalar_for(other)?;
                self.out.push(' ');
                let inner = self.next(indent);
                self.write_scalar(&s, inner, false);
                self.out.push('\n');
                Ok(())
            }
        }
    }

    /// `{}`/`[]` after a key; its head comment (comments of an otherwise empty collection) is
    /// written by yaml.v3 on the lines before the key's value... placed after the key here.
    fn flow_empty(&mut self, text: &str, head: &[&str], indent: usize) {
        if head.is_empty() {
            self.out.push(' ');
            self.out.push_str(text);
            self.out.push('\n');
        } else if text == "{}" {
            // yaml.v3 writes the head comment of an empty flow mapping inside the braces, and
            // the closing brace right after the comment's line break, so always at column 0
            // (`yaml_emitter_emit_flow_mapping_key`; verified with sops 3.11: `c: {` /
            // `    #...` / `}`, and `    inner: {` / `        #...` / `}` when nested).
            self.out.push_str(" {\n");
            let inner = self.next(indent);
            self.comments(head, inner);
            self.out.push_str("}\n");
        } else {
            // ...and the head comment of an empty flow sequence after it, at the key's indent.
            self.out.push_str(" []\n");
            self.comments(head, indent);
        }
    }

    /// Writes the items of a non-empty block sequence whose dashes sit at `indent`.
    fn seq_body(
        &mut self,
        entries: &[Entry<'_, &Value>],
        foot: &[&str],
        indent: usize,
        compact: bool,
        depth: usize,
    ) -> Result<(), StoreError> {
        if depth > MAX_DEPTH {
            return Err(err(StoreErrorKind::Emit, "nesting too deep"));
        }
        for (i, entry) in entries.iter().enumerate() {
            let first_compact = compact && i == 0;
            let inner = indent + 2;
            match entry.item {
                Value::Map(b) => {
                    let (lead, inner_entries, inner_foot) = split_branch(&b.items);
                    if inner_entries.is_empty() {
                        let mut all: Vec<&str> = entry.head.clone();
                        all.extend(lead);
                        all.extend(inner_foot);
                        self.item_start(&all, indent, first_compact);
                        self.out.push_str("{}\n");
                        continue;
                    }
                    // yaml.v3 writes a compact mapping's head comment before the dash.
                    let mut all: Vec<&str> = entry.head.clone();
                    all.extend(lead);
                    self.item_start(&all, indent, first_compact);
                    self.map_body(&inner_entries, &inner_foot, inner, true, depth + 1)?;
                }
                Value::List(l) => {
                    let (lead, inner_entries, inner_foot) = split_list(l);
                    let mut all: Vec<&str> = entry.head.clone();
                    all.extend(lead);
                    if inner_entries.is_empty() {
                        all.extend(inner_foot);
                        self.item_start(&all, indent, first_compact);
                        self.out.push_str("[]\n");
                        continue;
                    }
                    self.item_start(&all, indent, first_compact);
                    self.seq_body(&inner_entries, &inner_foot, inner, true, depth + 1)?;
                }
                Value::Comment(_) => {
                    return Err(err(StoreErrorKind::Emit, "unexpected comment"));
                }
                other => {
                    self.item_start(&entry.head, indent, first_compact);
                    let s = scalar_for(other)?;
                    self.write_scalar(&s, inner, false);
                    self.out.push('\n');
                }
            }
        }
        self.comments(foot, indent);
        Ok(())
    }

    fn item_start(&mut self, head: &[&str], indent: usize, first_compact: bool) {
        if first_compact && head.is_empty() {
            self.out.push_str("- ");
            return;
        }
        if first_compact {
            // The dash line was already started by the parent; yaml.v3 breaks the line to write
            // the head comment (rare; best effort).
            self.out.push('\n');
        }
        self.comments(head, indent);
        self.pad(indent);
        self.out.push_str("- ");
    }

    /// Writes a scalar at the current position; `block_indent` is where literal content goes.
    fn write_scalar(&mut self, s: &Scalar, block_indent: usize, _key: bool) {
        match s {
            Scalar::Plain(v) => self.out.push_str(v),
            Scalar::Tagged(tag, v) => {
                self.out.push_str(tag);
                self.out.push(' ');
                self.out.push_str(v);
            }
            Scalar::Single(v) => {
                self.out.push('\'');
                for (i, part) in v.split('\'').enumerate() {
                    if i > 0 {
                        self.out.push_str("''");
                    }
                    self.out.push_str(part);
                }
                self.out.push('\'');
            }
            Scalar::Double(v) => write_double(&mut self.out, v),
            Scalar::Literal(tag, v) => {
                if let Some(t) = tag {
                    self.out.push_str(t);
                    self.out.push(' ');
                }
                self.out.push('|');
                let b = v.as_bytes();
                if matches!(b.first(), Some(b' ' | b'\n')) {
                    self.out.push(char::from(b'0' + self.best as u8));
                }
                // Chomping: yaml_emitter_write_block_scalar_hints.
                if !v.ends_with('\n') {
                    self.out.push('-');
                } else if v.len() == 1 || v[..v.len() - 1].ends_with('\n') {
                    self.out.push('+');
                }
                self.out.push('\n');
                // Each non-empty line is indented; empty lines stay empty.
                let mut at_line_start = true;
                for (i, line) in v.split('\n').enumerate() {
                    if i > 0 {
                        self.out.push('\n');
                        at_line_start = true;
                    }
                    if !line.is_empty() {
                        self.pad(block_indent);
                        self.out.push_str(line);
                        at_line_start = false;
                    }
                }
                if !at_line_start {
                    // `|-`: the line break after the last line is the node separator.
                    return;
                }
                // The content ended with a break; the caller's newline must not double it.
                self.out.pop();
            }
        }
    }
}

/// Roughly the bytes a branch takes once emitted with keys at `indent` (to reserve the output
/// buffer; an underestimate only costs one reallocation).
fn estimate_items(items: &[Item], indent: usize, best: usize, depth: usize) -> usize {
    if depth > MAX_DEPTH {
        return 0;
    }
    items
        .iter()
        .map(|i| match i {
            Item::Comment(c) => indent + c.len() + 2,
            Item::Pair { key, value } => {
                indent + key.len() + 3 + estimate_value(value, indent + best, best, depth)
            }
        })
        .sum()
}

fn estimate_value(v: &Value, indent: usize, best: usize, depth: usize) -> usize {
    if depth > MAX_DEPTH {
        return 0;
    }
    match v {
        Value::Map(b) => estimate_items(&b.items, indent, best, depth + 1),
        Value::List(l) => l
            .iter()
            .map(|x| indent + 2 + estimate_value(x, indent + 2, best, depth + 1))
            .sum(),
        Value::Str(s) => s.len() + 2,
        Value::Bytes(b) => b.len() / 3 * 4 + 16,
        Value::Comment(c) => indent + c.len() + 2,
        _ => 24,
    }
}

/// yaml.v3 `is_printable` on a decoded character (with unicode output enabled).
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

fn write_double(out: &mut String, v: &str) {
    out.push('"');
    // Runs of characters written as they are are copied whole.
    let mut from = 0;
    for (at, c) in v.char_indices() {
        let code = c as u32;
        if !is_printable(c)
            || c == '\u{FEFF}'
            || c == '\n'
            || c == '"'
            || c == '\\'
            || c == '\r'
            || c == '\u{85}'
            || c == '\u{2028}'
            || c == '\u{2029}'
        {
            out.push_str(&v[from..at]);
            from = at + c.len_utf8();
            out.push('\\');
            match code {
                0x00 => out.push('0'),
                0x07 => out.push('a'),
                0x08 => out.push('b'),
                0x09 => out.push('t'),
                0x0A => out.push('n'),
                0x0B => out.push('v'),
                0x0C => out.push('f'),
                0x0D => out.push('r'),
                0x1B => out.push('e'),
                0x22 => out.push('"'),
                0x5C => out.push('\\'),
                0x85 => out.push('N'),
                0xA0 => out.push('_'),
                0x2028 => out.push('L'),
                0x2029 => out.push('P'),
                // Writing to a `String` cannot fail.
                _ if code <= 0xFF => _ = write!(out, "x{code:02X}"),
                _ if code <= 0xFFFF => _ = write!(out, "u{code:04X}"),
                _ => _ = write!(out, "U{code:08X}"),
            }
        }
    }
    out.push_str(&v[from..]);
    out.push('"');
}

/// The result of yaml.v3 `yaml_emitter_analyze_scalar` that style selection needs.
struct Analysis {
    block_plain: bool,
    single: bool,
    block: bool,
}

/// The common case decided on bytes: ASCII starting with a letter or digit, made of
/// characters that cannot start an indicator mid-scalar without a space (there are none here),
/// and not ending in `:`. Such a string (every `ENC[...]` value, most keys) allows every style,
/// exactly as the full analysis below would find.
fn analyze_simple(v: &str) -> Option<Analysis> {
    let b = v.as_bytes();
    let (first, last) = (*b.first()?, *b.last()?);
    // A table lookup per byte, without an early exit inside a chunk (this scans every byte the
    // emitter writes, so it is kept branch-free).
    let all_simple = b.chunks(64).all(|chunk| {
        chunk
            .iter()
            .fold(true, |ok, &c| ok & SIMPLE[usize::from(c)])
    });
    (first.is_ascii_alphanumeric() && last != b':' && all_simple).then_some(Analysis {
        block_plain: true,
        single: true,
        block: true,
    })
}

/// The bytes [`analyze_simple`] accepts anywhere in a scalar.
const SIMPLE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'_' | b'-' | b'.' | b'/' | b'+' | b'=' | b',' | b':' | b'[' | b']'
            );
        i += 1;
    }
    t
};

/// yaml.v3 `yaml_emitter_analyze_scalar`, reduced to the three verdicts sops' output needs.
fn analyze_full(v: &str) -> Analysis {
    if v.is_empty() {
        return Analysis {
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let mut block_ind = v.starts_with("---") || v.starts_with("...");
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut special, mut tab) = (false, false, false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_ws = true;
    let is_blankz = |c: Option<&char>| {
        matches!(
            c,
            None | Some(' ' | '\t' | '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
        )
    };
    // One pass with a one-character lookahead (no per-scalar allocation: this runs for every
    // value of the file).
    let mut chars = v.chars().peekable();
    let mut i = 0usize;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let last = next.is_none();
        let followed_ws = is_blankz(next.as_ref());
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_ind = true,
                '?' | ':' if followed_ws => {
                    block_ind = true;
                }
                '-' if followed_ws => {
                    block_ind = true;
                }
                _ => {}
            }
        } else {
            match c {
                ':' if followed_ws => {
                    block_ind = true;
                }
                '#' if preceded_ws => {
                    block_ind = true;
                }
                _ => {}
            }
        }
        // yaml.v3 (emitterc.go) tracks tabs apart: they forbid plain and single-quoted styles
        // but still allow a literal block.
        if c == '\t' {
            tab = true;
        } else if !is_printable(c) || c == '\u{FEFF}' {
            special = true;
        }
        let is_break = matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break {
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = is_blankz(Some(&c));
        i += 1;
    }
    let mut a = Analysis {
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || tab || special {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block = false;
    }
    if v.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        a.block_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

/// Style selection for a string, as yaml.v3 `encoder.stringv` + `yaml_emitter_select_scalar_style`
/// choose it for the node sops builds with `Node.Encode(string)`.
fn string_scalar(s: &str, key: bool) -> Scalar<'_> {
    if s == "<<" {
        // sops 3.11 quirk (verified with the binary): the string `<<` (key or value) is written
        // as a merge key, `!!merge <<`, because yaml.v3 resolves it to the merge tag.
        return Scalar::Tagged("!!merge", Cow::Borrowed("<<"));
    }
    let can_plain = resolve_plain(s) == Resolved::Str && !is_base60_float(s) && !is_old_bool(s);
    // A simple scalar holds no line break, so only the others are searched for one.
    let (a, multiline) = match analyze_simple(s) {
        Some(a) => (a, false),
        None => (analyze_full(s), s.contains('\n')),
    };
    if multiline && !key {
        if a.block {
            return Scalar::Literal(None, Cow::Borrowed(s));
        }
        return Scalar::Double(s);
    }
    if multiline {
        return Scalar::Double(s);
    }
    if can_plain {
        if a.block_plain {
            return Scalar::Plain(Cow::Borrowed(s));
        }
        if a.single && !(s.is_empty() && key) {
            return Scalar::Single(s);
        }
        return Scalar::Double(s);
    }
    Scalar::Double(s)
}

/// yaml.v3 `yaml_emitter_check_simple_key` for a scalar key: at most 128 bytes, one line.
fn is_simple_key(k: &str) -> bool {
    k.len() <= 128 && !k.contains('\n')
}

fn key_scalar(k: &str) -> Scalar<'_> {
    string_scalar(k, true)
}

fn scalar_for(v: &Value) -> Result<Scalar<'_>, StoreError> {
    Ok(match v {
        Value::Null => Scalar::Plain(Cow::Borrowed("null")),
        Value::Bool(b) => Scalar::Plain(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Int(i) => Scalar::Plain(Cow::Owned(i.to_string())),
        Value::Float(f) => Scalar::Plain(Cow::Owned(format_go_float(*f))),
        Value::Time(t) => Scalar::Plain(Cow::Owned(t.to_rfc3339_nano())),
        Value::Str(s) => string_scalar(s, false),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => string_scalar(s, false),
            Err(_) => binary_scalar(b),
        },
        Value::Map(_) | Value::List(_) | Value::Comment(_) => {
            return Err(err(
                StoreErrorKind::Emit,
                "internal: collection where a scalar was expected",
            ));
        }
    })
}

/// yaml.v3 `encodeBase64`: 70-character lines, a literal block when more than one line.
fn binary_scalar(b: &[u8]) -> Scalar<'static> {
    let enc = base64::engine::general_purpose::STANDARD.encode(b);
    if enc.len() < 70 {
        return Scalar::Tagged("!!binary", Cow::Owned(enc));
    }
    let mut s = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    Scalar::Literal(Some("!!binary"), Cow::Owned(s))
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)` with yaml.v3's `.inf`/`-.inf`/`.nan` spellings.
pub(crate) fn format_go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Shortest round-trip digits from Rust's `{:e}`: `d.ddddde-7`.
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    // strconv: with the shortest precision, %e is used when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        s.push_str(&format!("{:02}", exp.abs()));
        return s;
    }
    let mut s = String::from(sign);
    if exp < 0 {
        s.push_str("0.");
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(&digits);
    } else {
        let dp = exp as usize + 1;
        if digits.len() <= dp {
            s.push_str(&digits);
            for _ in digits.len()..dp {
                s.push('0');
            }
        } else {
            s.push_str(&digits[..dp]);
            s.push('.');
            s.push_str(&digits[dp..]);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_analysis_agrees_with_the_full_one() {
        for v in [
            "ENC[AES256_GCM,data:YWJj+/=,iv:AAAA,tag:BBBB,type:str]",
            "setting_001",
            "a:b",
            "x-y.z",
            "1,2",
            "a[0]",
            "Z",
        ] {
            let fast = analyze_simple(v).expect(v);
            let full = analyze_full(v);
            assert_eq!(
                (fast.block_plain, fast.single, fast.block),
                (full.block_plain, full.single, full.block),
                "{v}"
            );
        }
        for v in ["a:", "-a", ":a", "#a", "a b", "", "é", "a\tb", "[a"] {
            assert!(analyze_simple(v).is_none(), "{v}");
        }
    }
}

//! A byte-level scanner for the block-YAML subset sops writes, yielding saphyr-parser's events and spans.
//!
//! It covers block mappings and sequences (indentless ones too), one-line plain, single- and
//! double-quoted scalars, literal block scalars (`|`, `|-`, `|+`), comments and `---`
//! separators. Anything else (flow collections, anchors, aliases, tags, multi-line flow
//! scalars, folded scalars, directives, tabs, CR line ends, unusual indentation...) makes
//! [`scan`] return `None` and the caller parses the whole input with saphyr-parser instead, so
//! the accepted subset only has to agree with saphyr where it answers. The positions mimic
//! saphyr-parser 0.3.4 (`parser.rs`): block collection starts and ends are zero-width at the
//! next token, an empty value sits on its `:` (or one past its `-`), an indentless sequence
//! starts at its first item's content.

use std::borrow::Cow;

use saphyr_parser::{Event, Marker, ScalarStyle, Span};

use super::MAX_DEPTH;

type Pos = (usize, usize);

/// The events of one input, or `None` when the input is outside the subset.
pub(super) type Events<'a> = Vec<(Event<'a>, Span)>;

/// Where the scanner's events go: a list, or straight into a tree builder.
pub(super) trait Sink<'a> {
    /// Takes the next event.
    fn event(&mut self, ev: Event<'a>, span: Span);
}

impl<'a> Sink<'a> for Events<'a> {
    fn event(&mut self, ev: Event<'a>, span: Span) {
        self.push((ev, span));
    }
}

fn span(a: Pos, b: Pos) -> Span {
    Span::new(Marker::new(0, a.0, a.1), Marker::new(0, b.0, b.1))
}

fn at(p: Pos) -> Span {
    span(p, p)
}

#[derive(Clone, Copy)]
enum Blk {
    Map(usize),
    /// Dash column; `true` when indentless (dashes at the parent key's column).
    Seq(usize, bool),
}

/// What the last token left open.
#[derive(Clone, Copy)]
enum Pending {
    None,
    /// A key without a value on its line; its mapping's column and the `:` position.
    Value(usize, Pos),
    /// A dash without an item on its line; its column and line.
    Item(usize, usize),
}

struct Scan<S> {
    ev: S,
    stack: Vec<Blk>,
    pending: Pending,
}

/// One line: its number, text, and whether it is ASCII (so byte offsets are columns).
struct Line<'a> {
    no: usize,
    text: &'a str,
    ascii: bool,
}

impl Line<'_> {
    fn col(&self, byte: usize) -> usize {
        if self.ascii {
            byte
        } else {
            self.text[..byte].chars().count()
        }
    }
}

/// Scans `src` (split into `lines`); `None` when it is outside the subset.
pub(super) fn scan<'a>(src: &'a str, lines: &[&'a str]) -> Option<Events<'a>> {
    scan_into(src, lines, Vec::with_capacity(lines.len() * 2 + 16))
}

/// [`scan`] into any sink; `None` when the input is outside the subset (the sink may have
/// taken some events by then).
pub(super) fn scan_into<'a, S: Sink<'a>>(src: &'a str, lines: &[&'a str], sink: S) -> Option<S> {
    if has_unusual_chars(src) {
        return None;
    }
    // The literal scanner relies on a final line break (the last split piece is empty).
    if lines.last().is_some_and(|l| !l.is_empty()) {
        return None;
    }
    let mut s = Scan {
        ev: sink,
        stack: Vec::new(),
        pending: Pending::None,
    };
    s.ev.event(Event::StreamStart, at((1, 0)));
    let eof = (lines.len(), lines.last().map_or(0, |l| l.chars().count()));
    // Document state: None before any document, Some(false) inside one without a root yet.
    let mut in_doc = false;
    let mut has_root = false;
    let mut i = 0;
    while i < lines.len() {
        let text = lines[i];
        let no = i + 1;
        let n = text.len() - text.trim_start_matches(' ').len();
        let body = &text[n..];
        if body.is_empty() || body.starts_with('#') {
            i += 1;
            continue;
        }
        let line = Line {
            no,
            text,
            ascii: text.is_ascii(),
        };
        if n == 0 && (body.starts_with("---") || body.starts_with("...") || body.starts_with('%')) {
            if body != "---" {
                return None;
            }
            if in_doc {
                if !has_root {
                    return None;
                }
                s.close_all((no, 0))?;
                s.ev.event(Event::DocumentEnd, span((no, 0), (no, 3)));
            }
            s.ev.event(Event::DocumentStart(true), span((no, 0), (no, 3)));
            in_doc = true;
            has_root = false;
            i += 1;
            continue;
        }
        if !in_doc {
            s.ev.event(Event::DocumentStart(false), at((no, n)));
            in_doc = true;
        }
        if !has_root {
            // The root must be a block mapping at column 0.
            if n != 0 || body.starts_with("- ") || body == "-" {
                return None;
            }
            has_root = true;
            s.stack.push(Blk::Map(0));
            s.ev.event(Event::MappingStart(0, None), at((no, 0)));
            i = s.key_line(lines, &line, 0, i)?;
            continue;
        }
        i = s.content_line(lines, &line, n, i)?;
    }
    if !in_doc || !has_root {
        return None;
    }
    s.close_all(eof)?;
    s.ev.event(Event::DocumentEnd, at(eof));
    s.ev.event(Event::StreamEnd, at(eof));
    Some(s.ev)
}

impl<'a, S: Sink<'a>> Scan<S> {
    /// Emits the empty value of a pending key or dash.
    fn flush_pending(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Value(_, colon) => self.ev.event(empty(), at(colon)),
            Pending::Item(col, line) => self.ev.event(empty(), at((line, col + 1))),
        }
    }

    fn close_all(&mut self, p: Pos) -> Option<()> {
        if matches!(self.pending, Pending::Item(..)) {
            // An empty last item: saphyr positions it differently; not worth mimicking.
            return None;
        }
        self.flush_pending();
        while let Some(b) = self.stack.pop() {
            self.ev.event(end_of(b), at(p));
        }
        Some(())
    }

    fn push(&mut self, b: Blk, ev: Event<'a>, p: Pos) -> Option<()> {
        if self.stack.len() >= MAX_DEPTH {
            return None;
        }
        self.stack.push(b);
        self.ev.event(ev, at(p));
        Some(())
    }

    /// A content line (not the root's first) with `n` leading spaces; returns the next line.
    fn content_line(
        &mut self,
        lines: &[&'a str],
        line: &Line<'a>,
        n: usize,
        i: usize,
    ) -> Option<usize> {
        let p = (line.no, n);
        let body = &line.text[n..];
        let dash = body == "-" || body.starts_with("- ");
        match self.pending {
            Pending::Value(map_col, _) if n > map_col => {
                self.pending = Pending::None;
                if dash {
                    self.push(Blk::Seq(n, false), Event::SequenceStart(0, None), p)?;
                    return self.dash_line(lines, line, n, i);
                }
                self.push(Blk::Map(n), Event::MappingStart(0, None), p)?;
                return self.key_line(lines, line, n, i);
            }
            Pending::Value(map_col, _) if n == map_col && dash => {
                // An indentless sequence: saphyr starts it at the first item's content.
                self.pending = Pending::None;
                let m = after_dash(body)?;
                if m == body.len() || body.as_bytes()[m] == b'#' {
                    // An empty first item: saphyr's position for it is not worth mimicking.
                    return None;
                }
                self.push(
                    Blk::Seq(n, true),
                    Event::SequenceStart(0, None),
                    (line.no, n + m),
                )?;
                return self.dash_line(lines, line, n, i);
            }
            Pending::Item(dash_col, _) if n > dash_col => {
                self.pending = Pending::None;
                if dash {
                    self.push(Blk::Seq(n, false), Event::SequenceStart(0, None), p)?;
                    return self.dash_line(lines, line, n, i);
                }
                self.push(Blk::Map(n), Event::MappingStart(0, None), p)?;
                return self.key_line(lines, line, n, i);
            }
            _ => {}
        }
        self.flush_pending();
        // Close what this line leaves.
        while let Some(&b) = self.stack.last() {
            let close = match b {
                Blk::Map(c) => c > n,
                Blk::Seq(c, false) => c > n,
                Blk::Seq(c, true) => c > n || (c == n && !dash),
            };
            if !close {
                break;
            }
            self.stack.pop();
            self.ev.event(end_of(b), at(p));
        }
        match self.stack.last() {
            Some(Blk::Map(c)) if *c == n && !dash => self.key_line(lines, line, n, i),
            Some(Blk::Seq(c, _)) if *c == n && dash => self.dash_line(lines, line, n, i),
            // More indented than any open collection without an open value (a continuation
            // line of a multi-line scalar, say), or a dash where a key is due: not ours.
            _ => None,
        }
    }

    /// A line with a dash at byte `n` (items of the innermost sequence).
    fn dash_line(
        &mut self,
        lines: &[&'a str],
        line: &Line<'a>,
        n: usize,
        i: usize,
    ) -> Option<usize> {
        let mut d = n;
        loop {
            let body = &line.text[d..];
            let m = d + after_dash(body)?;
            let rest = &line.text[m..];
            if rest.is_empty() || rest.starts_with('#') {
                self.pending = Pending::Item(line.col(d), line.no);
                return Some(i + 1);
            }
            if rest == "-" || rest.starts_with("- ") {
                // `- - x`: a sequence in the item, starting at the inner dash.
                let c = line.col(m);
                self.push(
                    Blk::Seq(c, false),
                    Event::SequenceStart(0, None),
                    (line.no, c),
                )?;
                d = m;
                continue;
            }
            if empty_flow(rest).is_some() {
                return self.value(lines, line, m, line.col(d), i);
            }
            if let Some(k) = find_key(line.text, m)? {
                let c = line.col(m);
                self.push(Blk::Map(c), Event::MappingStart(0, None), (line.no, c))?;
                return self.key_at(lines, line, m, k, i);
            }
            return self.value(lines, line, m, line.col(d), i);
        }
    }

    /// A line holding a key at byte `n` of the innermost mapping.
    fn key_line(
        &mut self,
        lines: &[&'a str],
        line: &Line<'a>,
        n: usize,
        i: usize,
    ) -> Option<usize> {
        let k = find_key(line.text, n)??;
        self.key_at(lines, line, n, k, i)
    }

    /// The key starting at byte `m` whose `:` is at byte `colon`, then its value.
    fn key_at(
        &mut self,
        lines: &[&'a str],
        line: &Line<'a>,
        m: usize,
        colon: usize,
        i: usize,
    ) -> Option<usize> {
        let (text, style, end) = scalar_at(line.text, m, colon)?;
        let start = (line.no, line.col(m));
        self.ev.event(
            Event::Scalar(text, style, 0, None),
            span(start, (line.no, line.col(end))),
        );
        let map_col = start.1;
        let v = skip_spaces(line.text, colon + 1);
        if v == line.text.len() || line.text.as_bytes()[v] == b'#' {
            self.pending = Pending::Value(map_col, (line.no, line.col(colon)));
            return Some(i + 1);
        }
        self.value(lines, line, v, map_col, i)
    }

    /// A value starting at byte `v` of a key or item whose block sits at column `owner`.
    fn value(
        &mut self,
        lines: &[&'a str],
        line: &Line<'a>,
        v: usize,
        owner: usize,
        i: usize,
    ) -> Option<usize> {
        let b = line.text.as_bytes();
        if let Some(map) = empty_flow(&line.text[v..]) {
            // `{}` / `[]`: saphyr spans each bracket.
            let c = line.col(v);
            let (open, close) = if map {
                (Event::MappingStart(0, None), Event::MappingEnd)
            } else {
                (Event::SequenceStart(0, None), Event::SequenceEnd)
            };
            if self.stack.len() >= MAX_DEPTH {
                return None;
            }
            self.ev.event(open, span((line.no, c), (line.no, c + 1)));
            // As for quoted scalars, saphyr's span of the closing bracket runs over a trailing
            // comment to the line end.
            let close_end = if line.text[v + 2..].trim_start_matches(' ').is_empty() {
                c + 2
            } else {
                line.col(line.text.len())
            };
            self.ev
                .event(close, span((line.no, c + 1), (line.no, close_end)));
            return Some(i + 1);
        }
        if b[v] == b'|' {
            return self.literal(lines, line, v, owner, i);
        }
        let (text, style, end) = scalar_at(line.text, v, line.text.len())?;
        let mut e = end;
        if style != ScalarStyle::Plain {
            // saphyr's quoted-scalar span runs over a trailing comment to the line end.
            let rest = &line.text[end..];
            let t = rest.trim_start_matches(' ');
            if !t.is_empty() {
                if !t.starts_with('#') || t.len() == rest.len() {
                    return None;
                }
                e = line.text.len();
            }
        }
        self.ev.event(
            Event::Scalar(text, style, 0, None),
            span((line.no, line.col(v)), (line.no, line.col(e))),
        );
        Some(i + 1)
    }

    /// A literal block scalar whose indicator is at byte `v`; `owner` is the column of the
    /// collection holding it (content must be indented more).
    fn literal(
        &mut self,
        lines: &[&'a str],
        line: &Line<'a>,
        v: usize,
        owner: usize,
        i: usize,
    ) -> Option<usize> {
        let head = &line.text[v + 1..];
        let (chomp, rest) = match head.as_bytes().first() {
            Some(b'-') => (b'-', &head[1..]),
            Some(b'+') => (b'+', &head[1..]),
            _ => (b' ', head),
        };
        let t = rest.trim_start_matches(' ');
        if !(t.is_empty() || (t.starts_with('#') && t.len() < rest.len())) {
            return None;
        }
        // The content indentation is that of the first non-empty line; empty lines before it
        // must not be longer (saphyr and yaml.v3 reject or treat them specially).
        let mut j = i + 1;
        let mut lead = 0usize;
        while j < lines.len() && lines[j].trim_start_matches(' ').is_empty() {
            lead = lead.max(lines[j].len());
            j += 1;
        }
        if j == lines.len() {
            return None;
        }
        let first = lines[j];
        let ind = first.len() - first.trim_start_matches(' ').len();
        if ind <= owner || lead > ind || !first.is_ascii() && ind > first.len() {
            return None;
        }
        let mut out = String::new();
        let start = (j + 1, ind);
        for _ in i + 1..j {
            out.push('\n');
        }
        let mut last_content = j;
        let mut end_col = 0;
        let mut k = j;
        while k < lines.len() {
            let l = lines[k];
            let sp = l.len() - l.trim_start_matches(' ').len();
            if sp == l.len() {
                // An empty (or all-space) line: a line break, spaces past the indentation kept.
                k += 1;
                continue;
            }
            if sp < ind {
                // saphyr ends the scalar after the next line's indentation.
                end_col = sp;
                break;
            }
            let gap = if k > j { last_content + 1..k } else { k..k };
            for bl in &lines[gap] {
                out.push('\n');
                if bl.len() > ind {
                    out.push_str(&bl[ind..]);
                }
            }
            if k > j {
                out.push('\n');
            }
            out.push_str(&l[ind..]);
            last_content = k;
            k += 1;
        }
        // Lines after the last content line up to `k` are trailing empty lines; the last
        // split piece (empty, after the final line break) is not a line.
        let k_lines = k.min(lines.len() - 1);
        let trailing = &lines[last_content + 1..k_lines];
        if trailing.iter().any(|l| l.len() > ind) {
            return None;
        }
        match chomp {
            b'-' => {}
            b'+' => {
                out.push('\n');
                for _ in trailing {
                    out.push('\n');
                }
            }
            _ => out.push('\n'),
        }
        let end = (k + 1, end_col).min((lines.len(), 0));
        self.ev.event(
            Event::Scalar(Cow::Owned(out), ScalarStyle::Literal, 0, None),
            span(start, end),
        );
        Some(k)
    }
}

/// `Some(true)` for `{}`, `Some(false)` for `[]`, each followed by nothing or a comment.
fn empty_flow(rest: &str) -> Option<bool> {
    let map = if rest.starts_with("{}") {
        true
    } else if rest.starts_with("[]") {
        false
    } else {
        return None;
    };
    let after = &rest[2..];
    let t = after.trim_start_matches(' ');
    (t.is_empty() || (t.starts_with('#') && t.len() < after.len())).then_some(map)
}

fn empty<'a>() -> Event<'a> {
    Event::Scalar(Cow::Borrowed(""), ScalarStyle::Plain, 0, None)
}

fn end_of<'a>(b: Blk) -> Event<'a> {
    match b {
        Blk::Map(_) => Event::MappingEnd,
        Blk::Seq(..) => Event::SequenceEnd,
    }
}

fn skip_spaces(s: &str, mut i: usize) -> usize {
    let b = s.as_bytes();
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

/// The offset (relative to `body`) of what follows a dash and its spaces.
fn after_dash(body: &str) -> Option<usize> {
    let b = body.as_bytes();
    if b.first() != Some(&b'-') || !(b.len() == 1 || b[1] == b' ') {
        return None;
    }
    Some(skip_spaces(body, 1))
}

/// Whether a node starting at byte `m` is a key: `Some(Some(colon))` when it is,
/// `Some(None)` when it is a plain or quoted scalar without a `:`, `None` when unsure.
fn find_key(s: &str, m: usize) -> Option<Option<usize>> {
    let found = find_key_unbounded(s, m)?;
    // A simple key spans at most 1024 characters (YAML 1.2 §7.4, enforced by yaml.v3 and
    // saphyr); near that limit the full parser decides (found by fuzzing).
    if found.is_some_and(|colon| colon - m > 1000) {
        return None;
    }
    Some(found)
}

fn find_key_unbounded(s: &str, m: usize) -> Option<Option<usize>> {
    let b = s.as_bytes();
    let first = *b.get(m)?;
    let mut i = match first {
        b'"' => quoted_close(s, m, b'"')? + 1,
        b'\'' => quoted_close(s, m, b'\'')? + 1,
        b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'{' | b'[' | b']' | b'}'
        | b',' | b'#' => return (first == b'|').then_some(None),
        b'-' | b'?' | b':' if matches!(b.get(m + 1), None | Some(b' ')) => return None,
        _ => m,
    };
    if first == b'"' || first == b'\'' {
        // After a quoted scalar: `:` makes it a key, else only a comment may follow.
        let j = skip_spaces(s, i);
        if b.get(j) == Some(&b':') && j == i && matches!(b.get(j + 1), None | Some(b' ')) {
            return Some(Some(j));
        }
        return Some(None);
    }
    while i < b.len() {
        match b[i] {
            b':' if matches!(b.get(i + 1), None | Some(b' ')) => return Some(Some(i)),
            b'#' if b[i - 1] == b' ' => return Some(None),
            _ => {}
        }
        i += 1;
    }
    Some(None)
}

/// The byte of the closing quote of a one-line quoted scalar opening at `m`.
fn quoted_close(s: &str, m: usize, q: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = m + 1;
    while i < b.len() {
        let c = b[i];
        if q == b'"' && c == b'\\' {
            i += 2;
            continue;
        }
        if c == q {
            if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whether `src` holds a character the subset leaves to saphyr: `\r`, a tab, a BOM, or a
/// Unicode line break (U+0085, U+2028, U+2029).
fn has_unusual_chars(src: &str) -> bool {
    // A cheap pass over the bytes first (it vectorises): `\r`, a tab, or any non-ASCII byte.
    let suspect = src.as_bytes().chunks(64).any(|chunk| {
        chunk.iter().fold(false, |acc, &b| {
            acc | (b == b'\r') | (b == b'\t') | (b >= 0x80)
        })
    });
    suspect && src.contains(['\r', '\t', '\u{feff}', '\u{85}', '\u{2028}', '\u{2029}'])
}

/// Eight copies of byte `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// Whether any of the eight bytes in `x` is one the plain-scalar scan must look at: a space
/// or control character (below 0x21), `#`, `:` or DEL. Exact (no false negatives), so a
/// chunk without one can be skipped whole.
fn has_special_byte(x: u64) -> bool {
    const LOW: u64 = splat(0x01);
    const HIGH: u64 = splat(0x80);
    let zero = |v: u64| v.wrapping_sub(LOW) & !v;
    // One test of all four (no branch per kind).
    let below_0x21 = x.wrapping_sub(splat(0x21)) & !x;
    (below_0x21 | zero(x ^ splat(b'#')) | zero(x ^ splat(b':')) | zero(x ^ splat(0x7f))) & HIGH != 0
}

/// The scalar starting at byte `m` and ending before byte `limit` (a key's `:` or the line
/// end): its text, style and end byte. `None` for anything outside the subset.
fn scalar_at(s: &str, m: usize, limit: usize) -> Option<(Cow<'_, str>, ScalarStyle, usize)> {
    let b = s.as_bytes();
    match b[m] {
        b'"' => {
            let close = quoted_close(s, m, b'"')?;
            if close >= limit {
                return None;
            }
            let text = unescape_double(&s[m + 1..close])?;
            Some((text, ScalarStyle::DoubleQuoted, close + 1))
        }
        b'\'' => {
            let close = quoted_close(s, m, b'\'')?;
            if close >= limit {
                return None;
            }
            let inner = &s[m + 1..close];
            let text = if inner.contains('\'') {
                Cow::Owned(inner.replace("''", "'"))
            } else {
                Cow::Borrowed(inner)
            };
            Some((text, ScalarStyle::SingleQuoted, close + 1))
        }
        b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'{' | b'[' | b']' | b'}'
        | b',' | b'#' => None,
        b'-' | b'?' | b':' if matches!(b.get(m + 1), None | Some(b' ')) => None,
        _ => {
            // A plain scalar: up to ` #`, and no `: ` (a mapping value is not allowed here).
            let mut i = m;
            let mut end = m;
            while i < limit {
                // Eight ordinary bytes at once (most of an `ENC[...]` value is base64).
                if let Some(word) = b[..limit].get(i..i + 8) {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(word);
                    if !has_special_byte(u64::from_ne_bytes(w)) {
                        i += 8;
                        end = i;
                        continue;
                    }
                }
                match b[i] {
                    b'#' if i > m && b[i - 1] == b' ' => break,
                    b':' if matches!(b.get(i + 1), None | Some(b' ')) => return None,
                    b' ' => {}
                    // Control characters, BOMs and such: leave them to saphyr.
                    c if c < 0x20 || c == 0x7f => return None,
                    _ => end = i + 1,
                }
                i += 1;
            }
            let text = &s[m..end];
            if !text.is_ascii()
                && text
                    .chars()
                    .any(|c| matches!(c, '\u{feff}' | '\u{85}' | '\u{2028}' | '\u{2029}'))
            {
                return None;
            }
            Some((Cow::Borrowed(text), ScalarStyle::Plain, end))
        }
    }
}

/// Decodes the escapes of a one-line double-quoted scalar (the common ones only).
fn unescape_double(raw: &str) -> Option<Cow<'_, str>> {
    if raw.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return None;
    }
    if !raw.contains('\\') {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<char> {
            let h: String = chars.by_ref().take(n).collect();
            if h.len() != n {
                return None;
            }
            char::from_u32(u32::from_str_radix(&h, 16).ok()?)
        };
        out.push(match e {
            '0' => '\0',
            'a' => '\x07',
            'b' => '\x08',
            't' => '\t',
            'n' => '\n',
            'v' => '\x0b',
            'f' => '\x0c',
            'r' => '\r',
            'e' => '\x1b',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => hex(&mut chars, 2)?,
            'u' => hex(&mut chars, 4)?,
            'U' => hex(&mut chars, 8)?,
            _ => return None,
        });
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_bytes_are_found_in_every_position() {
        let special = |b: u8| b < 0x21 || b == b'#' || b == b':' || b == 0x7f;
        for pos in 0..8 {
            for b in 0..=255u8 {
                let mut chunk = *b"abcdefgh";
                chunk[pos] = b;
                assert_eq!(
                    has_special_byte(u64::from_ne_bytes(chunk)),
                    special(b),
                    "byte {b:#04x} at {pos}"
                );
            }
        }
    }

    #[test]
    fn unusual_characters_are_found() {
        assert!(!has_unusual_chars("a: b\nc: é\n"));
        for bad in ["\r", "\t", "\u{feff}", "\u{85}", "\u{2028}", "\u{2029}"] {
            let text = format!("{}{bad}{}", "x".repeat(70), "y".repeat(70));
            assert!(has_unusual_chars(&text), "{bad:?}");
        }
    }
}

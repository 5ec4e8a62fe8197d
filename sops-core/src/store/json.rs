//! The JSON store: sops' token-mode `encoding/json` reader and hand-built, re-indented writer.

use crate::store::{Format, StoreError, StoreErrorKind};
use crate::tree::{Branch, Item, Tree, Value};

#[cfg(test)]
pub(crate) mod test_util;
#[cfg(test)]
mod tests;

/// Deepest nesting of objects and arrays accepted (the top-level object counts as 1).
///
/// Go's scanner allows 10000 levels; we stop earlier so that every recursive walk over the tree
/// (here and in the crypto and MAC layers, and `Drop`) stays far from the stack limit.
pub const MAX_DEPTH: usize = 1000;

fn err(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
    StoreError::new(Format::Json, kind, message)
}

/// Parses a JSON document whose top level is an object, keeping duplicate keys in order.
///
/// Follows sops' `treeBranchFromJSON` (a `json.Decoder` read token by token): every number
/// becomes a float, and anything after the top-level object is ignored, as the decoder never
/// reads past it.
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    parse_top(input, false)
}

/// Parses an encrypted JSON file (or the JSON wrapper of an encrypted binary file): like
/// [`parse`], but only whitespace may follow the top-level object. sops 3.11 first reads an
/// encrypted file's metadata with `json.Unmarshal` over the whole input
/// (`stores/json/store.go`, `LoadEncryptedFile`), which fails with "invalid character 'x'
/// after top-level value" on anything else.
pub fn parse_encrypted(input: &[u8]) -> Result<Tree, StoreError> {
    parse_top(input, true)
}

fn parse_top(input: &[u8], nothing_after: bool) -> Result<Tree, StoreError> {
    let mut p = Parser { input, pos: 0 };
    p.skip_ws();
    match p.peek() {
        Some(b'{') => {
            p.pos += 1;
            let tree = Tree::single(p.document()?);
            if nothing_after {
                p.skip_ws();
                if let Some(c) = p.peek() {
                    let shown = match c {
                        b' '..=b'~' => format!("'{}'", char::from(c)),
                        _ => format!("byte 0x{c:02x}"),
                    };
                    return Err(p.error(
                        StoreErrorKind::Syntax,
                        &format!("invalid character {shown} after top-level value"),
                    ));
                }
            }
            Ok(tree)
        }
        Some(b'[') => Err(p.error(
            StoreErrorKind::Unsupported,
            "expected a JSON object at the top level, got an array",
        )),
        None => Err(p.error(StoreErrorKind::Syntax, "unexpected end of input")),
        Some(_) => {
            // Validate the scalar first so that garbage is a syntax error, like Go's decoder.
            p.scalar()?;
            Err(err(
                StoreErrorKind::Unsupported,
                "expected a JSON object at the top level, got a scalar",
            ))
        }
    }
}

/// Emits a tree's first document as sops does: compact JSON re-indented with Go's
/// `json.Indent` (`indent` -1 = one tab, `n >= 0` = `n` spaces), plus a trailing newline.
pub fn emit(tree: &Tree, indent: i32) -> Result<Vec<u8>, StoreError> {
    let unit = indent_unit(indent)?;
    let empty = Branch::new();
    let branch = tree.branches.first().unwrap_or(&empty);
    let mut w = Writer {
        out: Vec::new(),
        indent: Some(unit),
    };
    w.branch(branch, 0)?;
    // sops >= 3.10.0 appends a newline to the re-indented document (EmitPlainFile).
    w.out.push(b'\n');
    Ok(w.out)
}

/// Emits one value the way `sops decrypt --extract` prints it with JSON output: strings raw,
/// mappings as a whole document, anything else re-indented JSON without a trailing newline.
pub fn emit_value(value: &Value, indent: i32) -> Result<Vec<u8>, StoreError> {
    match value {
        // cmd/sops/decrypt.go `extract`: a string is printed as is, a branch as a document.
        Value::Str(s) => Ok(s.as_bytes().to_vec()),
        Value::Bytes(b) => Ok(b.clone()),
        Value::Map(branch) => {
            let unit = indent_unit(indent)?;
            let mut w = Writer {
                out: Vec::new(),
                indent: Some(unit),
            };
            w.branch(branch, 0)?;
            w.out.push(b'\n');
            Ok(w.out)
        }
        other => {
            // json store `EmitValue`: encodeValue + reindentJSON, no newline added.
            let unit = indent_unit(indent)?;
            let mut w = Writer {
                out: Vec::new(),
                indent: Some(unit),
            };
            w.value(other, 0)?;
            Ok(w.out)
        }
    }
}

/// Go `json.Marshal` of one value in compact form (used by the INI store's `EmitValue`).
pub(crate) fn marshal_compact(value: &Value) -> Result<Vec<u8>, StoreError> {
    let mut w = Writer {
        out: Vec::new(),
        indent: None,
    };
    w.value(value, 0)?;
    Ok(w.out)
}

fn indent_unit(indent: i32) -> Result<String, StoreError> {
    // stores/json/store.go `reindentJSON`: -1 is a tab, n >= 0 spaces, below -1 an error.
    match indent {
        -1 => Ok("\t".to_owned()),
        n if n >= 0 => Ok(" ".repeat(n as usize)),
        _ => Err(err(
            StoreErrorKind::Emit,
            "JSON indentation smaller than -1 is not accepted",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// An open container while parsing.
enum Frame {
    /// An object and the key of the value being read.
    Object(Branch, String),
    /// An array.
    Array(Vec<Value>),
}

impl Frame {
    fn into_value(self) -> Value {
        match self {
            Self::Object(b, _) => Value::Map(b),
            Self::Array(l) => Value::List(l),
        }
    }
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn location(&self) -> (usize, usize) {
        let end = self.pos.min(self.input.len());
        let before = &self.input[..end];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        (line, end - line_start + 1)
    }

    fn error(&self, kind: StoreErrorKind, message: &str) -> StoreError {
        let (line, column) = self.location();
        err(kind, message).at(line, column)
    }

    fn unexpected(&self, expecting: &str) -> StoreError {
        match self.peek() {
            None => self.error(
                StoreErrorKind::Syntax,
                &format!("unexpected end of input, expecting {expecting}"),
            ),
            Some(_) => self.error(
                StoreErrorKind::Syntax,
                &format!("unexpected character, expecting {expecting}"),
            ),
        }
    }

    // Go's scanner: insignificant whitespace is space, tab, CR and LF only.
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// The rest of the document after the top-level `{`, with an explicit stack instead of
    /// recursion so that nesting depth never touches the call stack.
    fn document(&mut self) -> Result<Branch, StoreError> {
        let mut stack = vec![Frame::Object(Branch::new(), String::new())];
        // Whether the innermost container was just opened (so it may close right away).
        let mut just_opened = true;
        loop {
            self.skip_ws();
            let mut ready = None;
            if just_opened {
                let closes = match stack.last() {
                    Some(Frame::Object(..)) => self.peek() == Some(b'}'),
                    _ => self.peek() == Some(b']'),
                };
                if closes {
                    self.pos += 1;
                    ready = stack.pop().map(Frame::into_value);
                }
            }
            if ready.is_none() {
                if let Some(Frame::Object(_, key)) = stack.last_mut() {
                    if self.peek() != Some(b'"') {
                        return Err(self.unexpected("an object key string"));
                    }
                    *key = self.string()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.unexpected("':' after an object key"));
                    }
                    self.pos += 1;
                    self.skip_ws();
                }
                let opened = match self.peek() {
                    Some(b'{') => Some(Frame::Object(Branch::new(), String::new())),
                    Some(b'[') => Some(Frame::Array(Vec::new())),
                    _ => None,
                };
                if let Some(frame) = opened {
                    if stack.len() + 1 > MAX_DEPTH {
                        return Err(self.error(
                            StoreErrorKind::Unsupported,
                            &format!("nesting deeper than {MAX_DEPTH} levels"),
                        ));
                    }
                    self.pos += 1;
                    stack.push(frame);
                    just_opened = true;
                    continue;
                }
                ready = Some(self.scalar()?);
            }
            // Attach the finished value to its container, closing containers as they end.
            let mut value = ready;
            while let Some(v) = value.take() {
                let Some(top) = stack.last_mut() else {
                    // The top-level object closed: sops (stores/json/store.go) reads tokens
                    // only up to here, so trailing bytes are never looked at.
                    return match v {
                        Value::Map(branch) => Ok(branch),
                        _ => Err(self.error(StoreErrorKind::Syntax, "unbalanced brackets")),
                    };
                };
                let is_object = match top {
                    Frame::Object(branch, key) => {
                        // Duplicate keys stay separate items: sops builds branches token by
                        // token.
                        branch.push(std::mem::take(key), v);
                        true
                    }
                    Frame::Array(list) => {
                        list.push(v);
                        false
                    }
                };
                self.skip_ws();
                match (self.peek(), is_object) {
                    (Some(b','), _) => self.pos += 1,
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        self.pos += 1;
                        value = stack.pop().map(Frame::into_value);
                    }
                    (_, true) => return Err(self.unexpected("',' or '}' after an object value")),
                    (_, false) => return Err(self.unexpected("',' or ']' after an array element")),
                }
            }
            just_opened = false;
        }
    }

    /// A string, number or literal.
    fn scalar(&mut self) -> Result<Value, StoreError> {
        match self.peek() {
            Some(b'"') => Ok(Value::Str(self.string()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, StoreError> {
        if self.input[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error(StoreErrorKind::Syntax, "invalid literal"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number with JSON's grammar, converted like Go's decoder without `UseNumber`
    /// (`strconv.ParseFloat(s, 64)`): every number is a float64 in sops 3.11.
    fn number(&mut self) -> Result<Value, StoreError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.unexpected("a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.unexpected("a digit in the exponent"));
            }
        }
        // Invariant: the bytes just matched are ASCII digits, signs, '.', 'e' and 'E'.
        let text = std::str::from_utf8(&self.input[start..self.pos]).unwrap_or("");
        match text.parse::<f64>() {
            // Go: ParseFloat returns ErrRange beyond float64 and the decoder reports
            // "cannot unmarshal number ... into Go value of type float64"; underflow is 0.
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                self.pos = start;
                Err(self.error(StoreErrorKind::Syntax, "number out of float64 range"))
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, StoreError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.unexpected("a hexadecimal digit in a \\u escape")),
            };
            v = v * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(v)
    }

    /// A string literal (the opening quote is at `pos`), decoded like Go's `unquote`.
    fn string(&mut self) -> Result<String, StoreError> {
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let run_start = self.pos;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.extend_from_slice(&self.input[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.unexpected("the end of a string")),
                Some(b'"') => {
                    self.pos += 1;
                    // Go's unquote replaces every invalid UTF-8 byte with U+FFFD.
                    return Ok(go_lossy_utf8(&out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek();
                    self.pos += 1;
                    let simple = match c {
                        Some(b'"') => Some(b'"'),
                        Some(b'\\') => Some(b'\\'),
                        Some(b'/') => Some(b'/'),
                        Some(b'b') => Some(0x08),
                        Some(b'f') => Some(0x0c),
                        Some(b'n') => Some(b'\n'),
                        Some(b'r') => Some(b'\r'),
                        Some(b't') => Some(b'\t'),
                        Some(b'u') => None,
                        _ => {
                            self.pos -= 1;
                            return Err(self.unexpected("a valid escape character"));
                        }
                    };
                    if let Some(b) = simple {
                        out.push(b);
                        continue;
                    }
                    let first = self.hex4()?;
                    let ch = if (0xD800..0xDC00).contains(&first) {
                        // Go's unquote: a high surrogate combines with an immediately following
                        // \u low surrogate; otherwise it becomes U+FFFD and the next escape is
                        // decoded on its own.
                        let save = self.pos;
                        let pair = if self.input[self.pos..].starts_with(b"\\u") {
                            self.pos += 2;
                            match self.hex4() {
                                Ok(second) if (0xDC00..0xE000).contains(&second) => {
                                    Some(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                                }
                                _ => None,
                            }
                        } else {
                            None
                        };
                        if pair.is_none() {
                            self.pos = save;
                        }
                        pair.and_then(char::from_u32).unwrap_or('\u{FFFD}')
                    } else {
                        // A lone low surrogate is not a char: U+FFFD, as in Go.
                        char::from_u32(first).unwrap_or('\u{FFFD}')
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                Some(_) => {
                    return Err(self.error(
                        StoreErrorKind::Syntax,
                        "control character in string literal",
                    ));
                }
            }
        }
    }
}

/// Bytes to text the way Go's `encoding/json` and `strconv` do it: each byte that does not
/// start a valid UTF-8 sequence becomes one U+FFFD (unlike `String::from_utf8_lossy`, which
/// replaces a whole truncated sequence with a single U+FFFD).
pub(crate) fn go_lossy_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                // Invariant: `valid_up_to` marks the end of the valid prefix.
                out.push_str(std::str::from_utf8(valid).unwrap_or(""));
                out.push('\u{FFFD}');
                rest = &after[1..];
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

struct Writer {
    out: Vec<u8>,
    /// `None`: compact (`json.Marshal`); `Some(unit)`: `json.Indent` with this indent unit.
    indent: Option<String>,
}

impl Writer {
    fn newline(&mut self, depth: usize) {
        if let Some(unit) = &self.indent {
            self.out.push(b'\n');
            for _ in 0..depth {
                self.out.extend_from_slice(unit.as_bytes());
            }
        }
    }

    fn colon(&mut self) {
        // sops writes `"key": value`; json.Indent rewrites every ':' as ": ".
        self.out.push(b':');
        if self.indent.is_some() {
            self.out.push(b' ');
        }
    }

    fn check_depth(depth: usize) -> Result<(), StoreError> {
        if depth >= MAX_DEPTH {
            return Err(err(
                StoreErrorKind::Emit,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn branch(&mut self, branch: &Branch, depth: usize) -> Result<(), StoreError> {
        Self::check_depth(depth)?;
        self.out.push(b'{');
        let mut empty = true;
        for item in &branch.items {
            // stores/json/store.go `encodeTree`: comment items are skipped.
            let Item::Pair { key, value } = item else {
                continue;
            };
            if !empty {
                self.out.push(b',');
            }
            self.newline(depth + 1);
            write_go_string(&mut self.out, key.as_bytes());
            self.colon();
            self.value(value, depth + 1).map_err(|e| {
                if e.message.contains("offending key") {
                    e
                } else {
                    err(e.kind, format!("{}; offending key {key}", e.message))
                }
            })?;
            empty = false;
        }
        // json.Indent keeps empty objects and arrays as `{}` and `[]`.
        if !empty {
            self.newline(depth);
        }
        self.out.push(b'}');
        Ok(())
    }

    fn list(&mut self, list: &[Value], depth: usize) -> Result<(), StoreError> {
        Self::check_depth(depth)?;
        self.out.push(b'[');
        let mut empty = true;
        for v in list {
            // `encodeArray`: comments inside sequences are skipped.
            if matches!(v, Value::Comment(_)) {
                continue;
            }
            if !empty {
                self.out.push(b',');
            }
            self.newline(depth + 1);
            self.value(v, depth + 1)?;
            empty = false;
        }
        if !empty {
            self.newline(depth);
        }
        self.out.push(b']');
        Ok(())
    }

    fn value(&mut self, value: &Value, depth: usize) -> Result<(), StoreError> {
        match value {
            Value::Null => self.out.extend_from_slice(b"null"),
            Value::Bool(true) => self.out.extend_from_slice(b"true"),
            Value::Bool(false) => self.out.extend_from_slice(b"false"),
            Value::Int(i) => self.out.extend_from_slice(i.to_string().as_bytes()),
            Value::Float(f) => {
                let text = go_json_float(*f).ok_or_else(|| {
                    // Go: `json: unsupported value: +Inf` (sops exits 4).
                    err(
                        StoreErrorKind::Emit,
                        "unsupported value: NaN or infinite float",
                    )
                })?;
                self.out.extend_from_slice(text.as_bytes());
            }
            Value::Str(s) => write_go_string(&mut self.out, s.as_bytes()),
            Value::Bytes(b) => write_go_string(&mut self.out, b),
            // json.Marshal(time.Time) is the quoted RFC 3339 form with nanoseconds.
            Value::Time(t) => write_go_string(&mut self.out, t.to_rfc3339_nano().as_bytes()),
            Value::Map(b) => self.branch(b, depth)?,
            Value::List(l) => self.list(l, depth)?,
            Value::Comment(_) => {
                return Err(err(
                    StoreErrorKind::Emit,
                    "a comment can only appear inside a sequence",
                ));
            }
        }
        Ok(())
    }
}

/// Go `encoding/json` string encoding with HTML escaping on (the `json.Marshal` default).
pub(crate) fn write_go_string(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    out.reserve(bytes.len() + 1);
    let mut rest = bytes;
    while !rest.is_empty() {
        // A run of ASCII that needs no escape goes out in one copy (an ENC string is all such
        // bytes).
        let plain = rest
            .iter()
            .position(|&b| {
                !(0x20..0x80).contains(&b) || matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&')
            })
            .unwrap_or(rest.len());
        if plain > 0 {
            out.extend_from_slice(&rest[..plain]);
            rest = &rest[plain..];
            continue;
        }
        let c = rest[0];
        if c < 0x80 {
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                // Go >= 1.22 writes \b and \f short (verified with sops 3.11).
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                // HTML-safe escaping of <, > and &, and \u00XX for other control characters.
                c if c < 0x20 || c == b'<' || c == b'>' || c == b'&' => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(c >> 4)]);
                    out.push(HEX[usize::from(c & 0xf)]);
                }
                c => out.push(c),
            }
            rest = &rest[1..];
            continue;
        }
        // Multi-byte: decode one char the way Go's utf8.DecodeRune does.
        let len = match c {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 0,
        };
        let ch = if len > 0 && rest.len() >= len {
            std::str::from_utf8(&rest[..len])
                .ok()
                .and_then(|s| s.chars().next())
        } else {
            None
        };
        match ch {
            Some(ch @ ('\u{2028}' | '\u{2029}')) => {
                // Go escapes the JavaScript line terminators.
                out.extend_from_slice(if ch == '\u{2028}' {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                rest = &rest[len..];
            }
            Some(_) => {
                out.extend_from_slice(&rest[..len]);
                rest = &rest[len..];
            }
            None => {
                // Go writes an invalid byte as the escape \ufffd.
                out.extend_from_slice(b"\\ufffd");
                rest = &rest[1..];
            }
        }
    }
    out.push(b'"');
}

/// Go `encoding/json`'s float64 text: shortest round-trip digits, plain decimal unless
/// |x| < 1e-6 or |x| >= 1e21, then exponent form with Go's cleanup (`1e-7`, `1e+21`).
/// `None` for NaN and infinities, which Go refuses to encode.
pub(crate) fn go_json_float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: AppendFloat(f, 'e', -1, 64) gives e.g. "1e-07"/"1e+21"; the encoder then drops
        // the leading zero of a one-digit negative exponent. Positive exponents are >= 21, so
        // the result is always sign + exponent without padding.
        let (mantissa, exp) = split_exp(f);
        let sign = if exp < 0 { '-' } else { '+' };
        Some(format!("{mantissa}e{sign}{}", exp.unsigned_abs()))
    } else {
        // Rust's Display is the shortest round-trip decimal without exponent, like Go's 'f', -1.
        Some(format!("{f}"))
    }
}

/// The shortest round-trip scientific form of a finite float: mantissa text and exponent.
pub(crate) fn split_exp(f: f64) -> (String, i32) {
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) => (m.to_owned(), e.parse().unwrap_or(0)),
        None => (s, 0),
    }
}

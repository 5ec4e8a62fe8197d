//! The INI store: go-ini v1.67.0 parsing and `WriteTo` output, as sops' INI store uses them.

use crate::store::dotenv::val_to_string;
use crate::store::json::marshal_compact;
use crate::store::{Format, StoreError, StoreErrorKind};
use crate::tree::{Branch, Item, Tree, Value};

#[cfg(test)]
mod tests;

/// go-ini's name for the implicit section holding keys before the first header.
pub const DEFAULT_SECTION: &str = "DEFAULT";

fn err(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
    StoreError::new(Format::Ini, kind, message)
}

/// A section while reading or writing.
struct Section {
    name: String,
    comment: String,
    keys: Vec<Key>,
}

struct Key {
    name: String,
    value: String,
    comment: String,
}

impl Section {
    fn new(name: String) -> Self {
        Self {
            name,
            comment: String::new(),
            keys: Vec::new(),
        }
    }

    /// go-ini `Section.NewKey` without shadows: an existing key keeps its place and gets the
    /// new value. Returns the key's index.
    fn new_key(&mut self, name: String, value: String) -> Option<usize> {
        if name.is_empty() {
            return None;
        }
        if let Some(i) = self.keys.iter().position(|k| k.name == name) {
            self.keys[i].value = value;
            return Some(i);
        }
        self.keys.push(Key {
            name,
            value,
            comment: String::new(),
        });
        Some(self.keys.len() - 1)
    }
}

/// Parses an INI file with go-ini v1.67.0's default options plus `AllowNonUniqueSections`, and
/// builds sops' tree (stores/ini/store.go `treeBranchesFromIni`).
///
/// The tree is one branch whose items are the sections in file order, the implicit `DEFAULT`
/// section first even when empty. A section's mapping holds its comment (if any) first, then
/// each key followed by the key's comment (if any). All values are strings.
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    let input = strip_bom(input);
    let text = std::str::from_utf8(input).map_err(|e| {
        let line = input[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        err(StoreErrorKind::Syntax, "input is not valid UTF-8").at(line, 1)
    })?;
    let sections = Parser::new(text).run()?;
    let mut branch = Branch::new();
    for section in sections {
        let mut items = Branch::new();
        // stores/ini/store.go `treeItemFromSection`: section comment, then key, key comment.
        if !section.comment.is_empty() {
            items.push_comment(strip_comment_char(&section.comment));
        }
        for key in section.keys {
            items.push(key.name, Value::Str(key.value));
            if !key.comment.is_empty() {
                items.push_comment(strip_comment_char(&key.comment));
            }
        }
        branch.push(section.name, Value::Map(items));
    }
    Ok(Tree::single(branch))
}

/// Emits a tree as sops' `encodeTree` + go-ini `WriteTo` (PrettyFormat, PrettySection) do.
pub fn emit(tree: &Tree) -> Result<Vec<u8>, StoreError> {
    let mut sections = Vec::new();
    // sops loops over every branch; only YAML has more than one.
    for branch in &tree.branches {
        sections.extend(sections_from_branch(branch)?);
    }
    let out = write_sections(&sections)?;
    verify_written(&sections, &out)?;
    Ok(out)
}

/// go-ini's quoting cannot express every key or value (a key holding both `"` and a backtick,
/// a value holding `"""`, a key with surrounding spaces...): it would write a file that reads
/// back differently, and since key paths are part of each value's authenticated data, sops
/// would then fail to decrypt its own output. So the written text is read back, and anything
/// that does not come back as the same sections, keys and values is refused.
fn verify_written(sections: &[Section], out: &[u8]) -> Result<(), StoreError> {
    let refused = |what: &str| {
        err(
            StoreErrorKind::Emit,
            format!(
                "{what} cannot be written faithfully in INI syntax (it would read back differently)"
            ),
        )
    };
    let reread = parse(out).map_err(|_| refused("the document"))?;
    let mut back = Vec::new();
    for branch in &reread.branches {
        back.extend(sections_from_branch(branch)?);
    }
    let meaningful =
        |s: &&Section| !(s.keys.is_empty() && s.name.eq_ignore_ascii_case(DEFAULT_SECTION));
    let (a, b): (Vec<&Section>, Vec<&Section>) = (
        sections.iter().filter(meaningful).collect(),
        back.iter().filter(meaningful).collect(),
    );
    if a.len() != b.len() {
        return Err(refused("a section name"));
    }
    for (x, y) in a.iter().zip(&b) {
        if x.name != y.name || x.keys.len() != y.keys.len() {
            return Err(refused(&format!("section {}", x.name)));
        }
        for (k, l) in x.keys.iter().zip(&y.keys) {
            if k.name != l.name {
                return Err(refused(&format!("a key name in section {}", x.name)));
            }
            if k.value != l.value {
                return Err(refused(&format!(
                    "the value of key {} in section {}",
                    k.name, x.name
                )));
            }
        }
    }
    Ok(())
}

/// Emits one value the way `sops decrypt --extract` prints it with INI output: a string as is,
/// a mapping as a whole file (each of its values must be a section), anything else as compact
/// JSON (sops' INI `EmitValue` is `json.Marshal`).
pub fn emit_value(value: &Value) -> Result<Vec<u8>, StoreError> {
    match value {
        // cmd/sops/decrypt.go `extract` prints strings raw and branches as a document.
        Value::Str(s) => Ok(s.as_bytes().to_vec()),
        Value::Bytes(b) => Ok(b.clone()),
        Value::Map(branch) => write_sections(&sections_from_branch(branch)?),
        other => marshal_compact(other).map_err(|e| err(StoreErrorKind::Emit, e.message)),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading (go-ini parser.go)

fn strip_bom(input: &[u8]) -> &[u8] {
    // go-ini `parser.BOM`: drops a UTF-16 BOM (two bytes, no decoding) or the UTF-8 BOM.
    if input.starts_with(&[0xfe, 0xff]) || input.starts_with(&[0xff, 0xfe]) {
        &input[2..]
    } else if let Some(rest) = input.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        rest
    } else {
        input
    }
}

/// sops' `stripCommentChar`: a comment starting with `;` loses every leading `;` and space,
/// one starting with `#` every leading `#` and space.
fn strip_comment_char(comment: &str) -> String {
    if comment.starts_with(';') {
        comment.trim_start_matches([';', ' ']).to_owned()
    } else if comment.starts_with('#') {
        comment.trim_start_matches(['#', ' ']).to_owned()
    } else {
        comment.to_owned()
    }
}

/// go-ini `cleanComment`: from the first `#` or `;` on.
fn clean_comment(s: &str) -> Option<&str> {
    s.find(['#', ';']).map(|i| &s[i..])
}

/// go-ini `hasSurroundedQuote`: first and last bytes are the quote and it appears nowhere else.
fn has_surrounded_quote(s: &str, quote: char) -> bool {
    s.len() >= 2
        && s.starts_with(quote)
        && s.ends_with(quote)
        && s[1..].find(quote) == Some(s.len() - 2)
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
    eof: bool,
    /// Lines read so far (for error locations).
    line: usize,
    /// Pending comment text (go-ini `p.comment`).
    comment: String,
    /// Auto-increment counter for `-` keys, reset per section.
    count: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Self {
            input,
            pos: 0,
            eof: false,
            line: 0,
            comment: String::new(),
            count: 1,
        }
    }

    fn error(&self, message: &str) -> StoreError {
        err(
            StoreErrorKind::Syntax,
            format!("{message} on line {}", self.line),
        )
        .at(self.line, 1)
    }

    /// `bufio.Reader.ReadBytes('\n')`: the next line with its newline; at the end, whatever is
    /// left (possibly nothing) and the end-of-file flag.
    fn read_line(&mut self) -> &'a str {
        let rest = &self.input[self.pos..];
        self.line += 1;
        match rest.find('\n') {
            Some(i) => {
                self.pos += i + 1;
                &rest[..=i]
            }
            None => {
                self.pos = self.input.len();
                self.eof = true;
                rest
            }
        }
    }

    fn run(mut self) -> Result<Vec<Section>, StoreError> {
        let mut sections = vec![Section::new(DEFAULT_SECTION.to_owned())];
        while !self.eof {
            let line = self.read_line().trim_start();
            if line.is_empty() {
                continue;
            }
            // Comment lines are kept whole (newline included) until a key or section takes them.
            if line.starts_with(['#', ';']) {
                self.comment.push_str(line);
                continue;
            }
            if line.starts_with('[') {
                // Read to the last ']' on the line (go-ini: "TODO: support quoted strings").
                let Some(close) = line.rfind(']') else {
                    return Err(self.error("unclosed section header"));
                };
                let name = &line[1..close];
                if name.is_empty() {
                    return Err(self.error("empty section name"));
                }
                // AllowNonUniqueSections: a repeated name is a new section.
                let mut section = Section::new(name.to_owned());
                if let Some(c) = clean_comment(&line[close + 1..]) {
                    self.comment.push_str(c);
                }
                section.comment = self.comment.trim().to_owned();
                self.comment.clear();
                self.count = 1;
                sections.push(section);
                continue;
            }
            let (mut name, offset) = self.read_key_name(line)?;
            if name == "-" {
                // go-ini auto-increment keys: `-` becomes `#1`, `#2`... per section.
                name = format!("#{}", self.count);
                self.count += 1;
            }
            let value = self.read_value(&line[offset..])?;
            let comment = self.comment.trim().to_owned();
            self.comment.clear();
            let line_no = self.line;
            // Invariant: `sections` starts with DEFAULT and only grows.
            let Some(section) = sections.last_mut() else {
                continue;
            };
            let Some(index) = section.new_key(name, value) else {
                return Err(err(
                    StoreErrorKind::Syntax,
                    format!("empty key name on line {line_no}"),
                )
                .at(line_no, 1));
            };
            // go-ini sets the comment after NewKey, so a repeated key takes the latest one.
            section.keys[index].comment = comment;
        }
        // Comments after the last key or section are dropped, as in go-ini.
        Ok(sections)
    }

    /// go-ini `readKeyName` with the default delimiters `=` and `:`: the key (trimmed) and the
    /// offset just after the delimiter.
    fn read_key_name(&self, line: &str) -> Result<(String, usize), StoreError> {
        let quote = if line.starts_with('"') {
            if line.len() > 6 && line.starts_with("\"\"\"") {
                "\"\"\""
            } else {
                "\""
            }
        } else if line.starts_with('`') {
            "`"
        } else {
            ""
        };
        if !quote.is_empty() {
            let start = quote.len();
            let Some(pos) = line[start..].find(quote) else {
                return Err(self.error("missing closing key quote"));
            };
            let pos = pos + start;
            let Some(i) = line[pos + start..].find(['=', ':']) else {
                return Err(self.error("key-value delimiter not found"));
            };
            return Ok((line[start..pos].trim().to_owned(), pos + i + start + 1));
        }
        match line.find(['=', ':']) {
            // go-ini ErrDelimiterNotFound (the message would quote the line; we do not).
            None => Err(self.error("key-value delimiter not found")),
            Some(0) => Err(self.error("empty key name")),
            Some(end) => Ok((line[..end].trim().to_owned(), end + 1)),
        }
    }

    /// go-ini `readValue` with default options (continuation lines and inline comments on,
    /// no unescaping, surrounding quotes removed, no Python multi-line values).
    fn read_value(&mut self, input: &'a str) -> Result<String, StoreError> {
        let line = input.trim_start();
        if line.is_empty() {
            return Ok(String::new());
        }
        let quote = if line.len() > 3 && line.starts_with("\"\"\"") {
            "\"\"\""
        } else if line.starts_with('`') {
            "`"
        } else {
            ""
        };
        if !quote.is_empty() {
            let rest = &line[quote.len()..];
            // The last closing quote on the line; text after it is ignored (no comment).
            return match rest.rfind(quote) {
                Some(pos) => Ok(rest[..pos].to_owned()),
                None => self.read_multilines(rest, quote),
            };
        }
        let mut line = line.trim();
        if let Some(stripped) = line.strip_suffix('\\') {
            return Ok(self.read_continuation_lines(stripped));
        }
        // Inline comment: from the first `#` or `;` anywhere in the value.
        if let Some(i) = line.find(['#', ';']) {
            self.comment.push_str(&line[i..]);
            line = line[..i].trim();
        }
        if has_surrounded_quote(line, '\'') || has_surrounded_quote(line, '"') {
            line = &line[1..line.len() - 1];
        }
        Ok(line.to_owned())
    }

    /// go-ini `readMultilines`: lines up to the last closing quote on a later line, whose tail
    /// may carry a comment.
    fn read_multilines(&mut self, first: &str, quote: &str) -> Result<String, StoreError> {
        let start_line = self.line;
        let mut value = first.to_owned();
        loop {
            let next = self.read_line();
            if let Some(pos) = next.rfind(quote) {
                value.push_str(&next[..pos]);
                if let Some(c) = clean_comment(&next[pos..]) {
                    self.comment.push_str(c.trim());
                }
                return Ok(value);
            }
            value.push_str(next);
            if self.eof {
                self.line = start_line;
                return Err(self.error("missing closing quote for the value"));
            }
        }
    }

    /// go-ini `readContinuationLines`: trimmed lines appended while the value ends in `\`.
    fn read_continuation_lines(&mut self, first: &str) -> String {
        let mut value = first.to_owned();
        loop {
            let next = self.read_line().trim();
            if next.is_empty() {
                break;
            }
            value.push_str(next);
            if !value.ends_with('\\') {
                break;
            }
            value.pop();
        }
        value
    }
}

// ---------------------------------------------------------------------------------------------
// Writing (sops encodeTree, go-ini file.go writeToBuffer)

/// sops' `encodeTree` for one branch: every pair is a section (comment items at this level are
/// skipped); inside a section a leading comment is the section comment and any later comment
/// replaces the preceding key's comment.
fn sections_from_branch(branch: &Branch) -> Result<Vec<Section>, StoreError> {
    let mut sections = Vec::new();
    for item in &branch.items {
        let Item::Pair { key: name, value } = item else {
            continue;
        };
        if name.is_empty() {
            return Err(err(StoreErrorKind::Emit, "empty section name"));
        }
        let Value::Map(items) = value else {
            return Err(err(
                StoreErrorKind::Emit,
                format!("section values should always be mappings; offending key {name}"),
            ));
        };
        let mut section = Section::new(name.clone());
        let mut rest = &items.items[..];
        if let Some((Item::Comment(c), tail)) = rest.split_first() {
            section.comment = c.clone();
            rest = tail;
        }
        let mut last: Option<usize> = None;
        for item in rest {
            match item {
                Item::Comment(c) => {
                    if let Some(i) = last {
                        section.keys[i].comment = c.clone();
                    }
                }
                Item::Pair { key, value } => {
                    let text = match value {
                        Value::Str(s) => s.clone(),
                        // sops would write Go's `%v` of these; we refuse instead.
                        Value::Map(_) | Value::List(_) | Value::Bytes(_) | Value::Comment(_) => {
                            return Err(err(
                                StoreErrorKind::Emit,
                                format!(
                                    "cannot use a {} value in an INI file; offending key {key}",
                                    value.kind_name()
                                ),
                            ));
                        }
                        other => val_to_string(other).unwrap_or_default(),
                    };
                    let Some(i) = section.new_key(key.clone(), text) else {
                        return Err(err(
                            StoreErrorKind::Emit,
                            format!("empty key name in section {name}"),
                        ));
                    };
                    last = Some(i);
                }
            }
        }
        sections.push(section);
    }
    Ok(sections)
}

/// go-ini `writeToBuffer` with `PrettyFormat` and `PrettySection` (the defaults).
fn write_sections(sections: &[Section]) -> Result<Vec<u8>, StoreError> {
    let mut out = String::new();
    let last = sections.len().saturating_sub(1);
    for (i, sec) in sections.iter().enumerate() {
        if !sec.comment.is_empty() {
            // Section comment lines are prefixed but, unlike key comments, not trimmed.
            write_comment(&mut out, &sec.comment, false)?;
        }
        // go-ini writes no header for a leading DEFAULT section (compared upper-cased), and
        // nothing at all (not even the blank separator line) when that section has no keys.
        if i > 0 || !sec.name.eq_ignore_ascii_case(DEFAULT_SECTION) {
            out.push('[');
            out.push_str(&sec.name);
            out.push_str("]\n");
        } else if sec.keys.is_empty() {
            continue;
        }
        let display: Vec<String> = sec.keys.iter().map(|k| display_key(&k.name)).collect();
        // Alignment uses the key length plus 2 (backticks) or 6 (triple quotes).
        let align = sec
            .keys
            .iter()
            .map(|k| aligned_len(&k.name))
            .max()
            .unwrap_or(0);
        for (key, shown) in sec.keys.iter().zip(&display) {
            if !key.comment.is_empty() {
                write_comment(&mut out, &key.comment, true)?;
            }
            out.push_str(shown);
            for _ in shown.len()..align {
                out.push(' ');
            }
            out.push_str(" = ");
            out.push_str(&quote_value(&key.value));
            out.push('\n');
        }
        if i != last {
            out.push('\n');
        }
    }
    Ok(out.into_bytes())
}

/// Comment lines as go-ini writes them: `; text`, or `#`/`;` kept and followed by one space.
fn write_comment(out: &mut String, comment: &str, trim: bool) -> Result<(), StoreError> {
    // The first line written, which is not always the comment's first line (see below).
    let mut first_line = true;
    for line in comment.split('\n') {
        let Some(first) = line.chars().next() else {
            // go-ini indexes `lines[i][0]` and panics on an empty comment line.
            return Err(err(StoreErrorKind::Emit, "empty line inside a comment"));
        };
        if first_line {
            // Deliberate deviation from go-ini/sops, found by fuzzing: go-ini strips the comment
            // characters (`;`/`#` and spaces) from the start of a comment's first line when
            // reading, and writes a first line that starts with one as is, so such a comment
            // changed on every decrypt/re-encrypt cycle. The marker is chosen after trimming:
            // a text starting with one comment character is written after the *other* one, and
            // a first line with nothing left is not written (the next line is then the first
            // one written, and is treated as such). sops never produces such texts from its
            // own output, so files sops writes still round-trip byte for byte.
            let text = if trim { line.trim() } else { line };
            match text.chars().next() {
                None => continue,
                Some('#') => out.push_str("; "),
                Some(';') => out.push_str("# "),
                Some(_) => out.push_str("; "),
            }
            out.push_str(text);
            first_line = false;
        } else if first == '#' || first == ';' {
            out.push(first);
            out.push(' ');
            out.push_str(line[1..].trim());
        } else {
            out.push_str("; ");
            out.push_str(if trim { line.trim() } else { line });
        }
        out.push('\n');
    }
    Ok(())
}

fn aligned_len(name: &str) -> usize {
    if name.contains('"') || name.contains(['=', ':']) {
        name.len() + 2
    } else if name.contains('`') {
        name.len() + 6
    } else {
        name.len()
    }
}

/// go-ini: keys with `"` or a delimiter go in backticks, keys with a backtick in `"""`.
fn display_key(name: &str) -> String {
    if name.contains('"') || name.contains(['=', ':']) {
        format!("`{name}`")
    } else if name.contains('`') {
        format!("\"\"\"{name}\"\"\"")
    } else {
        name.to_owned()
    }
}

/// go-ini: values with a newline or backtick go in `"""`, values with `#` or `;` in
/// backticks, values with surrounding white space in double quotes.
fn quote_value(value: &str) -> String {
    if value.contains(['\n', '`']) {
        format!("\"\"\"{value}\"\"\"")
    } else if value.contains(['#', ';']) {
        format!("`{value}`")
    } else if value.trim().len() != value.len() {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    }
}

//! The dotenv store: sops' `KEY=value` line format (no quoting, no trimming, `\n` escapes).

use crate::store::json::split_exp;
use crate::store::{Format, StoreError, StoreErrorKind};
use crate::tree::{Branch, Item, Tree, Value};

#[cfg(test)]
mod tests;

fn err(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
    StoreError::new(Format::Dotenv, kind, message)
}

/// Parses a dotenv file as sops' `LoadPlainFile` does (stores/dotenv/store.go).
///
/// Lines are split on `\n` only; empty lines are skipped; a line whose first byte is `#` is a
/// comment; any other line is split at its first `=` into an untrimmed key and a value in which
/// every two-character `\n` becomes a newline. Quotes, spaces and a trailing `\r` are kept.
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    let mut branch = Branch::new();
    for (index, line) in input.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix(b"#") {
            branch.push_comment(utf8(rest, number, "comment")?);
            continue;
        }
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            // sops: `invalid dotenv input line: <line>`; we never echo the line (a secret).
            return Err(err(
                StoreErrorKind::Syntax,
                format!("invalid dotenv input line {number}: no '=' found"),
            )
            .at(number, 1));
        };
        let key = utf8(&line[..eq], number, "key")?;
        let raw = replace_escaped_newlines(&line[eq + 1..]);
        // Go strings may hold any bytes; ours keep invalid UTF-8 as bytes.
        let value = match String::from_utf8(raw) {
            Ok(s) => Value::Str(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        };
        branch.push(key, value);
    }
    Ok(Tree::single(branch))
}

/// Emits a tree's first document as sops' `EmitPlainFile` does: `#text` for comments and
/// `KEY=VALUE` for pairs, newlines in strings written as `\n`, each line ending in a newline.
pub fn emit(tree: &Tree) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    if let Some(branch) = tree.branches.first() {
        emit_branch(&mut out, branch)?;
    }
    Ok(out)
}

/// Emits one value the way `sops decrypt --extract` prints it with dotenv output: a string as
/// is, a mapping as a whole file; anything else is an error, as in sops' `EmitValue`.
pub fn emit_value(value: &Value) -> Result<Vec<u8>, StoreError> {
    match value {
        // cmd/sops/decrypt.go `extract` prints strings raw and branches as a document.
        Value::Str(s) => Ok(s.as_bytes().to_vec()),
        Value::Bytes(b) => Ok(b.clone()),
        Value::Map(branch) => {
            let mut out = Vec::new();
            emit_branch(&mut out, branch)?;
            Ok(out)
        }
        other => Err(err(
            StoreErrorKind::Emit,
            format!(
                "the dotenv store only supports emitting strings, got {}",
                other.kind_name()
            ),
        )),
    }
}

fn emit_branch(out: &mut Vec<u8>, branch: &Branch) -> Result<(), StoreError> {
    for item in &branch.items {
        match item {
            Item::Comment(text) => {
                out.push(b'#');
                out.extend_from_slice(text.as_bytes());
                out.push(b'\n');
            }
            Item::Pair { key, value } => {
                let text = match value {
                    // Strings get their newlines escaped; ValToString output does not.
                    Value::Str(s) => escape_newlines(s.as_bytes()),
                    Value::Bytes(b) => escape_newlines(b),
                    Value::Map(_) | Value::List(_) => {
                        return Err(err(
                            StoreErrorKind::Emit,
                            format!("cannot use complex value in dotenv file; offending key {key}"),
                        ));
                    }
                    other => val_to_string(other)
                        .ok_or_else(|| {
                            err(
                                StoreErrorKind::Emit,
                                format!(
                                    "cannot write a {} value; offending key {key}",
                                    other.kind_name()
                                ),
                            )
                        })?
                        .into_bytes(),
                };
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                out.extend_from_slice(&text);
                out.push(b'\n');
            }
        }
    }
    Ok(())
}

fn utf8(bytes: &[u8], line: usize, what: &str) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        err(
            StoreErrorKind::Syntax,
            format!("invalid UTF-8 in {what} on line {line}"),
        )
        .at(line, 1)
    })
}

/// `strings.Replace(value, "\\n", "\n", -1)`: left to right, non-overlapping.
fn replace_escaped_newlines(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'n') {
            out.push(b'\n');
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn escape_newlines(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &b in bytes {
        if b == b'\n' {
            out.extend_from_slice(b"\\n");
        } else {
            out.push(b);
        }
    }
    out
}

/// sops' `stores.ValToString` for scalars: floats via `strconv.FormatFloat(v, 'G', -1, 64)`
/// with `.0` added when the text has neither `.` nor `E`, bools as `true`/`false`, integers in
/// decimal, timestamps as RFC 3339 (seconds), null as Go's `<nil>`, strings as they are.
/// `None` for mappings, sequences and comments, which sops would print with Go's `%v`.
pub fn val_to_string(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            let text = go_format_float_g(*f);
            if text.contains('.') || text.contains('E') {
                text
            } else if f.is_finite() {
                // FormatFloat(v, 'f', 1, 64) of a value whose shortest form has no '.'.
                format!("{f:.1}")
            } else {
                text
            }
        }
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Time(t) => t.to_rfc3339(),
        Value::Map(_) | Value::List(_) | Value::Comment(_) => return None,
    })
}

/// Go `strconv.FormatFloat(f, 'G', -1, 64)`: shortest digits, in exponent form (`1E+21`,
/// `1E-05`, at least two exponent digits) when the decimal exponent is < -4 or >= 6 (strconv
/// uses precision 6 for this choice when asked for the shortest form, so `1.234567E+06`).
fn go_format_float_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (mantissa, exp) = split_exp(f);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}E{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    }
}

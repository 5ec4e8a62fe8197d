//! Scalar typing: a port (written from the rules, not the code) of yaml.v3 v3.0.4's `resolve.go`.

use crate::timestamp::Timestamp;

/// What a plain scalar resolves to.
#[derive(Debug, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer in (i64::MAX, u64::MAX]: yaml.v3 yields Go `uint64`, which sops cannot walk.
    Uint,
    Float(f64),
    Time(Timestamp),
    /// The merge key `<<` (yaml.v3 `!!merge`).
    Merge,
    Str,
}

/// Resolves an untagged plain scalar the way yaml.v3 `resolve("", s)` does.
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    // Every non-string form starts with one of these bytes (yaml.v3 `resolve` also dispatches
    // on the first byte through its `resolveTable`); most scalars are decided here.
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    if !first.is_ascii_digit() && !b"~nNtTfF.+-<".contains(&first) {
        return Resolved::Str;
    }
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'.' => {
            // yaml.v3 hands these straight to Go's ParseFloat (no regex check).
            match go_parse_float(s) {
                Some(f) => Resolved::Float(f),
                None => Resolved::Str,
            }
        }
        b'0'..=b'9' | b'+' | b'-' => resolve_number(s),
        _ => Resolved::Str,
    }
}

fn resolve_number(s: &str) -> Resolved {
    if let Some(t) = parse_timestamp(s) {
        return Resolved::Time(t);
    }
    // yaml.v3 removes every underscore before trying the integer parsers (YAML 1.1 `1_000`).
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    match go_parse_int(&plain) {
        IntParse::Int(i) => return Resolved::Int(i),
        IntParse::Uint => return Resolved::Uint,
        IntParse::No => {}
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = go_parse_float(&plain)
    {
        return Resolved::Float(f);
    }
    Resolved::Str
}

enum IntParse {
    Int(i64),
    Uint,
    No,
}

/// Go `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> IntParse {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let signed = s.starts_with('+') || s.starts_with('-');
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &body[2..]),
        Some("0o") => (8, &body[2..]),
        Some("0b") => (2, &body[2..]),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return IntParse::No;
    }
    let Ok(mag) = u128::from_str_radix(digits, radix) else {
        return IntParse::No;
    };
    if neg {
        if mag <= i64::MAX as u128 + 1 {
            return IntParse::Int((-(mag as i128)) as i64);
        }
        return IntParse::No;
    }
    if mag <= i64::MAX as u128 {
        IntParse::Int(mag as i64)
    } else if mag <= u64::MAX as u128 && !signed {
        // ParseUint rejects a sign.
        IntParse::Uint
    } else {
        IntParse::No
    }
}

/// yaml.v3 `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go `strconv.ParseFloat(s, 64)` for decimal forms; `None` on syntax or range error (Go returns
/// an error for overflow, which yaml.v3 turns into a string).
fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let ok = b
        .iter()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !ok {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f.is_infinite() { None } else { Some(f) }
}

/// yaml.v3 `parseTimestamp`: the four `time.Parse` layouts it tries.
pub(crate) fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if lead != 4 || b.get(4) != Some(&b'-') {
        return None;
    }
    let mut p = 0usize;
    let year: i32 = num(b, &mut p, 4, 4)? as i32;
    lit(b, &mut p, b'-')?;
    let month = num(b, &mut p, 1, 2)?;
    lit(b, &mut p, b'-')?;
    let day = num(b, &mut p, 1, 2)?;
    if p == b.len() {
        return Timestamp::from_parts(year, month as u8, day as u8, 0, 0, 0, 0, 0);
    }
    let sep = *b.get(p)?;
    p += 1;
    let hour = num(b, &mut p, 1, 2)?;
    lit(b, &mut p, b':')?;
    let minute = num(b, &mut p, 1, 2)?;
    lit(b, &mut p, b':')?;
    let second = num(b, &mut p, 1, 2)?;
    let mut nanos = 0u32;
    if matches!(b.get(p), Some(b'.' | b',')) && b.get(p + 1).is_some_and(u8::is_ascii_digit) {
        p += 1;
        let start = p;
        while p < b.len() && b[p].is_ascii_digit() {
            p += 1;
        }
        // Go keeps the first nine digits.
        let frac = &s[start..p.min(start + 9)];
        let mut v: u32 = frac.parse().ok()?;
        for _ in frac.len()..9 {
            v *= 10;
        }
        nanos = v;
    }
    if hour >= 24 || minute >= 60 || second >= 60 {
        return None;
    }
    let offset = match sep {
        b'T' | b't' => {
            // `Z07:00`: `Z` or `±hh:mm`.
            if b.get(p) == Some(&b'Z') {
                p += 1;
                0
            } else {
                let sign = match b.get(p)? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                p += 1;
                let hh = num(b, &mut p, 2, 2)? as i32;
                lit(b, &mut p, b':')?;
                let mm = num(b, &mut p, 2, 2)? as i32;
                if hh > 24 || mm > 60 {
                    return None;
                }
                sign * (hh * 3600 + mm * 60)
            }
        }
        b' ' => 0,
        _ => return None,
    };
    if p != b.len() {
        return None;
    }
    Timestamp::from_parts(
        year,
        month as u8,
        day as u8,
        hour as u8,
        minute as u8,
        second as u8,
        nanos,
        offset,
    )
}

fn num(b: &[u8], p: &mut usize, min: usize, max: usize) -> Option<u32> {
    let start = *p;
    while *p < b.len() && *p - start < max && b[*p].is_ascii_digit() {
        *p += 1;
    }
    if *p - start < min {
        return None;
    }
    std::str::from_utf8(&b[start..*p]).ok()?.parse().ok()
}

fn lit(b: &[u8], p: &mut usize, c: u8) -> Option<()> {
    if b.get(*p) == Some(&c) {
        *p += 1;
        Some(())
    } else {
        None
    }
}

/// yaml.v3 `isOldBool`: YAML 1.1 booleans, quoted on output.
pub(crate) fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// yaml.v3 `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let g = &b[start..i];
        let ok = match g.len() {
            1 => true,
            2 => g[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

//! Key paths in sops' `["key"][0]['other']` syntax (`cmd/sops/main.go: parseTreePath`), and
//! the `set`/`unset`/`--extract` operations on a document.

use std::fmt;

use crate::tree::{Branch, Item, Value};

/// sops' key path notation for messages: `["a"]["b"]` (keys only, as errors show them).
pub fn key_path<S: AsRef<str>>(keys: &[S]) -> String {
    keys.iter().map(|k| format!("[{:?}]", k.as_ref())).collect()
}

/// One step of a path.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Step {
    /// A mapping key (`["key"]` or `['key']`).
    Key(String),
    /// A sequence index (`[0]`).
    Index(usize),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(k) => write!(f, "[{k:?}]"),
            Self::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path operation failed.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path text is not in sops' syntax.
    #[error("invalid tree path {0:?}: use the form '[\"key\"][0][\"other\"]'")]
    Syntax(String),
    /// A key along the path does not exist (`unset`, `--extract`).
    #[error("Key not found: {0}")]
    KeyNotFound(String),
    /// An index along the path is past the end of its sequence.
    #[error("Index {0} out of bounds")]
    IndexOutOfBounds(usize),
    /// A step does not fit the value it meets (a key into a sequence, an index into a map...).
    #[error("cannot follow {step} into a {found}")]
    Mismatch {
        /// The step.
        step: String,
        /// The kind of value found there.
        found: &'static str,
    },
    /// The path is empty where a location is needed.
    #[error("the path is empty")]
    Empty,
}

/// Parses sops' path syntax: split at `[`, each part ends with `]`; a quoted part (`"` or `'`,
/// first and last characters stripped, no escapes) is a key, anything else must be an index.
pub fn parse(text: &str) -> Result<Vec<Step>, PathError> {
    let bad = || PathError::Syntax(text.to_owned());
    if !text.is_empty() && !text.starts_with('[') {
        return Err(bad());
    }
    let mut steps = Vec::new();
    for part in text.split('[').skip(1) {
        let inner = part.strip_suffix(']').ok_or_else(bad)?;
        let quoted = inner.len() >= 2
            && ((inner.starts_with('"') && inner.ends_with('"'))
                || (inner.starts_with('\'') && inner.ends_with('\'')));
        if quoted {
            steps.push(Step::Key(inner[1..inner.len() - 1].to_owned()));
        } else {
            steps.push(Step::Index(inner.parse().map_err(|_| bad())?));
        }
    }
    Ok(steps)
}

/// Elements of a sequence that are values (comments do not count for indices).
fn elements(list: &[Value]) -> impl Iterator<Item = (usize, &Value)> {
    list.iter()
        .enumerate()
        .filter(|(_, v)| !matches!(v, Value::Comment(_)))
}

/// The value at `steps` in a document (`--extract`). An empty path is the whole document.
pub fn get<'a>(doc: &'a Branch, steps: &[Step]) -> Result<Option<&'a Value>, PathError> {
    let Some((first, rest)) = steps.split_first() else {
        return Ok(None);
    };
    let Step::Key(k) = first else {
        return Err(PathError::Mismatch {
            step: first.to_string(),
            found: "mapping",
        });
    };
    let mut cur = doc
        .get(k)
        .ok_or_else(|| PathError::KeyNotFound(k.clone()))?;
    for step in rest {
        cur = match (step, cur) {
            (Step::Key(k), Value::Map(m)) => {
                m.get(k).ok_or_else(|| PathError::KeyNotFound(k.clone()))?
            }
            (Step::Index(i), Value::List(l)) => elements(l)
                .nth(*i)
                .map(|(_, v)| v)
                .ok_or(PathError::IndexOutOfBounds(*i))?,
            (step, other) => {
                return Err(PathError::Mismatch {
                    step: step.to_string(),
                    found: other.kind_name(),
                });
            }
        };
    }
    Ok(Some(cur))
}

/// Sets the value at `steps` (`sops set`): missing keys are appended at the end of their
/// mapping, an index at or past the end appends, and missing intermediate levels are created
/// (a mapping for a key step, a sequence for an index step). Returns the previous value.
pub fn set(doc: &mut Branch, steps: &[Step], value: Value) -> Result<Option<Value>, PathError> {
    let (first, rest) = steps.split_first().ok_or(PathError::Empty)?;
    let Step::Key(k) = first else {
        return Err(PathError::Mismatch {
            step: first.to_string(),
            found: "mapping",
        });
    };
    if doc.get(k).is_none() {
        doc.push(k.clone(), fresh(rest.first()));
    }
    let slot = doc
        .get_mut(k)
        .ok_or_else(|| PathError::KeyNotFound(k.clone()))?;
    set_in(slot, rest, value)
}

fn fresh(next: Option<&Step>) -> Value {
    match next {
        Some(Step::Index(_)) => Value::List(Vec::new()),
        Some(Step::Key(_)) => Value::Map(Branch::new()),
        None => Value::Null,
    }
}

fn set_in(slot: &mut Value, steps: &[Step], value: Value) -> Result<Option<Value>, PathError> {
    let Some((step, rest)) = steps.split_first() else {
        return Ok(Some(std::mem::replace(slot, value)));
    };
    // A scalar or null in the way is replaced by the container the path needs, as sops does.
    match (step, &*slot) {
        (Step::Key(_), Value::Map(_)) | (Step::Index(_), Value::List(_)) => {}
        _ => *slot = fresh(Some(step)),
    }
    match (step, slot) {
        (Step::Key(k), Value::Map(m)) => {
            if m.get(k).is_none() {
                m.push(k.clone(), fresh(rest.first()));
            }
            let next = m
                .get_mut(k)
                .ok_or_else(|| PathError::KeyNotFound(k.clone()))?;
            set_in(next, rest, value)
        }
        (Step::Index(i), Value::List(l)) => {
            let pos = elements(l).nth(*i).map(|(p, _)| p);
            let pos = match pos {
                Some(p) => p,
                None => {
                    l.push(fresh(rest.first()));
                    l.len() - 1
                }
            };
            set_in(&mut l[pos], rest, value)
        }
        _ => Err(PathError::Empty),
    }
}

/// Removes the value at `steps` (`sops unset`); returns it.
pub fn unset(doc: &mut Branch, steps: &[Step]) -> Result<Value, PathError> {
    let (last, parents) = steps.split_last().ok_or(PathError::Empty)?;
    if parents.is_empty() {
        let Step::Key(k) = last else {
            return Err(PathError::Mismatch {
                step: last.to_string(),
                found: "mapping",
            });
        };
        return remove_key(doc, k);
    }
    let (first, middle) = parents.split_first().ok_or(PathError::Empty)?;
    let Step::Key(k) = first else {
        return Err(PathError::Mismatch {
            step: first.to_string(),
            found: "mapping",
        });
    };
    let mut cur = doc
        .get_mut(k)
        .ok_or_else(|| PathError::KeyNotFound(k.clone()))?;
    for step in middle {
        cur = match (step, cur) {
            (Step::Key(k), Value::Map(m)) => m
                .get_mut(k)
                .ok_or_else(|| PathError::KeyNotFound(k.clone()))?,
            (Step::Index(i), Value::List(l)) => {
                let pos = elements(l)
                    .nth(*i)
                    .map(|(p, _)| p)
                    .ok_or(PathError::IndexOutOfBounds(*i))?;
                &mut l[pos]
            }
            (step, other) => {
                return Err(PathError::Mismatch {
                    step: step.to_string(),
                    found: other.kind_name(),
                });
            }
        };
    }
    match (last, cur) {
        (Step::Key(k), Value::Map(m)) => remove_key(m, k),
        (Step::Index(i), Value::List(l)) => {
            let pos = elements(l)
                .nth(*i)
                .map(|(p, _)| p)
                .ok_or(PathError::IndexOutOfBounds(*i))?;
            Ok(l.remove(pos))
        }
        (step, other) => Err(PathError::Mismatch {
            step: step.to_string(),
            found: other.kind_name(),
        }),
    }
}

fn remove_key(m: &mut Branch, k: &str) -> Result<Value, PathError> {
    let pos = m
        .items
        .iter()
        .position(|i| matches!(i, Item::Pair { key, .. } if key == k))
        .ok_or_else(|| PathError::KeyNotFound(k.to_owned()))?;
    match m.items.remove(pos) {
        Item::Pair { value, .. } => Ok(value),
        Item::Comment(_) => Err(PathError::KeyNotFound(k.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Branch {
        let mut inner = Branch::new();
        inner.push("b", Value::Int(1));
        let mut d = Branch::new();
        d.push("a", Value::Map(inner));
        d.push(
            "l",
            Value::List(vec![
                Value::Comment(" c".into()),
                Value::Int(1),
                Value::Int(2),
            ]),
        );
        d
    }

    #[test]
    fn parses_sops_syntax() {
        assert_eq!(
            parse(r#"["a"][0]['b']"#).unwrap(),
            vec![Step::Key("a".into()), Step::Index(0), Step::Key("b".into())]
        );
        for bad in ["a", r#"["a""#, "[x]", r#"["a"]b"#] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn get_set_unset() {
        let mut d = doc();
        let p = |s: &str| parse(s).unwrap();
        assert_eq!(get(&d, &p(r#"["a"]["b"]"#)).unwrap(), Some(&Value::Int(1)));
        // Comments do not count as sequence elements.
        assert_eq!(get(&d, &p(r#"["l"][1]"#)).unwrap(), Some(&Value::Int(2)));
        assert_eq!(
            get(&d, &p(r#"["a"]["x"]"#)),
            Err(PathError::KeyNotFound("x".into()))
        );
        // New keys and levels are appended.
        set(&mut d, &p(r#"["n"]["m"][0]"#), Value::Str("v".into())).unwrap();
        assert_eq!(
            get(&d, &p(r#"["n"]["m"][0]"#)).unwrap(),
            Some(&Value::Str("v".into()))
        );
        // Past the end appends.
        set(&mut d, &p(r#"["l"][9]"#), Value::Int(3)).unwrap();
        assert_eq!(get(&d, &p(r#"["l"][2]"#)).unwrap(), Some(&Value::Int(3)));
        assert_eq!(unset(&mut d, &p(r#"["l"][0]"#)).unwrap(), Value::Int(1));
        assert_eq!(
            unset(&mut d, &p(r#"["l"][5]"#)),
            Err(PathError::IndexOutOfBounds(5))
        );
        assert_eq!(
            unset(&mut d, &p(r#"["a"]"#)).unwrap().kind_name(),
            "mapping"
        );
        assert_eq!(
            unset(&mut d, &p(r#"["a"]"#)),
            Err(PathError::KeyNotFound("a".into()))
        );
    }
}

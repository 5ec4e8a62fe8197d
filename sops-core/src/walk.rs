//! The tree walk shared by encryption and decryption (`sops.go: walkBranch`, `walkSlice`).
//!
//! It visits every leaf in document order with its key path and the active comment stack,
//! and asks the partial-encryption rule whether the leaf is encrypted. Quirks kept from sops:
//! sequence indices are not part of the path; comments use their container's path; the comment
//! stack is cleared after each non-comment item; a comment inside a sequence becomes a plain
//! string once encrypted (the caller's leaf function decides what it stores). The AAD is the
//! path joined by `:` plus a trailing `:`, without escaping (`a:b` and `a`/`b` collide, as in
//! sops); the root level gives `":"`.

use crate::rules::CryptRule;
use crate::tree::{Branch, Item, Value};

/// What the leaf function sees for one leaf.
pub(crate) struct Leaf<'a> {
    /// The key path from the document root (sequence indices excluded).
    pub path: &'a [String],
    /// The AAD: the path joined by `:` plus a trailing `:` (`":"` at the root).
    pub aad: &'a str,
    /// Whether the rule says this leaf is encrypted.
    pub encrypted: bool,
}

/// Walks all documents, calling `f` on every scalar and comment (nulls are skipped).
pub(crate) struct Walker<'r, F> {
    rule: &'r CryptRule,
    f: F,
    path: Vec<String>,
    /// `path` with a `:` after each key, maintained incrementally (no join per leaf).
    prefix: String,
    stack: Vec<Vec<String>>,
}

impl<'r, E, F> Walker<'r, F>
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

    pub(crate) fn branch(&mut self, branch: &mut Branch) -> Result<(), E> {
        self.stack.push(Vec::new());
        for item in &mut branch.items {
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
                    let mark = self.prefix.len();
                    self.prefix.push_str(key);
                    self.prefix.push(':');
                    self.path.push(key.clone());
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

    fn list(&mut self, list: &mut [Value]) -> Result<(), E> {
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

    fn value(&mut self, value: &mut Value) -> Result<(), E> {
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

//! `rsops git merge %O %A %B %P`: a per-key three-way merge of SOPS files.
//!
//! Keys changed on one side only merge cleanly; a mapping changed on both sides is merged key
//! by key; sequences and scalars are compared whole. Values keep their ciphertext where they
//! did not change, and the result has a valid MAC. When both sides changed the same key
//! differently, the result keeps "ours" for it, the key paths (never values) are listed, and
//! the exit status is 1 so git marks the file conflicted. Comments follow "ours" inside a
//! mapping that both sides changed.

use std::collections::HashMap;
use std::path::PathBuf;

use sops_core::{Branch, DecryptedFile, EncryptedFile, Format, Item, Metadata, Tree, Value};

use super::engine::Engine;
use super::repo::Repo;
use crate::error::{CliError, codes};
use crate::io;

/// Arguments git passes (`%O %A %B %P`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The common ancestor's version (`%O`; empty when there is none).
    pub base: PathBuf,
    /// Our version (`%A`); the result is written here.
    pub ours: PathBuf,
    /// Their version (`%B`).
    pub theirs: PathBuf,
    /// The path in the repository (`%P`), for the format and the messages.
    pub path: Option<String>,
}

/// Runs the merge; `Ok(true)` when it is clean.
pub fn run(args: &Args) -> Result<bool, CliError> {
    let name = args
        .path
        .clone()
        .unwrap_or_else(|| args.ours.to_string_lossy().into_owned());
    let format = Format::from_path(&name);
    let base = io::read_input(Some(&args.base))?;
    let ours = io::read_input(Some(&args.ours))?;
    let theirs = io::read_input(Some(&args.theirs))?;
    if ours == theirs || base == theirs {
        return Ok(true);
    }
    if base == ours {
        io::write_atomic(&args.ours, &theirs)?;
        return Ok(true);
    }
    let mut engine = Engine::with_repo(Repo::discover_or_cwd());
    let opts = engine.store_options(&name).unwrap_or_default();
    let open = |engine: &mut Engine, bytes: &[u8], side: &str| -> Result<DecryptedFile, CliError> {
        let f = EncryptedFile::parse(format, bytes).map_err(|e| {
            CliError::new(
                codes::GENERIC,
                format!("{name}: {side} is not a SOPS file: {e}"),
            )
        })?;
        engine.open(f, false).map_err(|e| {
            let mut e = e.into_error();
            e.message = format!("{name}: cannot open {side}: {}", e.message.trim_end());
            e
        })
    };
    let mut ours_file = open(&mut engine, &ours, "our version")?;
    let mut theirs_file = open(&mut engine, &theirs, "their version")?;
    let mut base_file = if base.is_empty() {
        None
    } else {
        Some(open(&mut engine, &base, "the common ancestor")?)
    };
    // The side whose keys (metadata) changed carries the result; ours when both or neither.
    let base_meta = base_file.as_ref().map(|b| key_settings(&b.metadata));
    let theirs_rekeyed = base_meta.as_ref().is_some_and(|b| {
        *b == key_settings(&ours_file.metadata) && *b != key_settings(&theirs_file.metadata)
    });
    let base_tree = base_file.as_mut().map(|b| std::mem::take(&mut b.tree));
    let ours_tree = std::mem::take(&mut ours_file.tree);
    let theirs_tree = std::mem::take(&mut theirs_file.tree);
    let mut merger = Merger::default();
    let merged = merger.tree(base_tree, ours_tree, theirs_tree);
    let mut carrier = if theirs_rekeyed {
        theirs_file
    } else {
        ours_file
    };
    carrier.tree = merged;
    let mut encrypted = carrier.into_encrypted().map_err(CliError::from)?;
    let out = encrypted.emit(format, &opts).map_err(CliError::from)?;
    io::write_atomic(&args.ours, &out)?;
    if merger.conflicts.is_empty() {
        return Ok(true);
    }
    eprintln!(
        "rsops: merge conflict in {name}: {} key(s) changed differently on both sides:",
        merger.conflicts.len()
    );
    for c in &merger.conflicts {
        eprintln!("  {c}");
    }
    eprintln!(
        "hint: the file keeps our values for these keys; compare with \
         `git show --textconv :3:{name}`, fix them in the working tree (or with `rsops edit`), \
         then `git add {name}`"
    );
    Ok(false)
}

/// The metadata that says who can open a file (not `mac`/`lastmodified`).
fn key_settings(m: &Metadata) -> Vec<(String, String)> {
    m.to_flat()
        .into_iter()
        .filter(|(k, _)| k != "mac" && k != "lastmodified")
        .collect()
}

#[derive(Default)]
struct Merger {
    conflicts: Vec<String>,
    path: Vec<String>,
}

impl Merger {
    fn tree(&mut self, base: Option<Tree>, ours: Tree, theirs: Tree) -> Tree {
        let base_docs = base.map(|t| t.branches);
        let same_shape = base_docs
            .as_ref()
            .is_none_or(|b| b.len() == ours.branches.len())
            && ours.branches.len() == theirs.branches.len();
        if !same_shape {
            let b = base_docs.map(|branches| Tree { branches });
            let merged = self.value(
                b.map(tree_value),
                Some(tree_value(ours)),
                Some(tree_value(theirs)),
            );
            return match merged {
                Some(Value::List(docs)) => Tree {
                    branches: docs
                        .into_iter()
                        .filter_map(|d| match d {
                            Value::Map(m) => Some(m),
                            _ => None,
                        })
                        .collect(),
                },
                _ => Tree::default(),
            };
        }
        let mut base_iter = base_docs.map(Vec::into_iter);
        let branches = ours
            .branches
            .into_iter()
            .zip(theirs.branches)
            .map(|(o, t)| {
                let b = base_iter.as_mut().and_then(Iterator::next);
                self.branch(b, o, t)
            })
            .collect();
        Tree { branches }
    }

    fn value(&mut self, b: Option<Value>, o: Option<Value>, t: Option<Value>) -> Option<Value> {
        if t == b || o == t {
            return o;
        }
        if o == b {
            return t;
        }
        match (b, o, t) {
            (b, Some(Value::Map(om)), Some(Value::Map(tm))) => {
                let bm = match b {
                    Some(Value::Map(m)) => Some(m),
                    _ => None,
                };
                Some(Value::Map(self.branch(bm, om, tm)))
            }
            (_, o, t) => {
                let mut p = sops_core::path::key_path(&self.path);
                if p.is_empty() {
                    p.push_str("(whole file)");
                }
                self.conflicts.push(p);
                o.or(t)
            }
        }
    }

    fn branch(&mut self, base: Option<Branch>, ours: Branch, theirs: Branch) -> Branch {
        let mut base_map: HashMap<String, Value> = HashMap::new();
        for item in base.map(|b| b.items).unwrap_or_default() {
            if let Item::Pair { key, value } = item {
                base_map.entry(key).or_insert(value);
            }
        }
        let mut theirs_pairs: Vec<(String, Option<Value>)> = Vec::new();
        let mut theirs_index: HashMap<String, usize> = HashMap::new();
        for item in theirs.items {
            if let Item::Pair { key, value } = item
                && !theirs_index.contains_key(&key)
            {
                theirs_index.insert(key.clone(), theirs_pairs.len());
                theirs_pairs.push((key, Some(value)));
            }
        }
        let mut out = Branch::new();
        for item in ours.items {
            match item {
                Item::Comment(c) => out.items.push(Item::Comment(c)),
                Item::Pair { key, value } => {
                    let b = base_map.remove(&key);
                    let t = theirs_index
                        .get(&key)
                        .and_then(|&i| theirs_pairs[i].1.take());
                    self.path.push(key);
                    let merged = self.value(b, Some(value), t);
                    let key = self.path.pop().expect("pushed above");
                    if let Some(v) = merged {
                        out.items.push(Item::Pair { key, value: v });
                    }
                }
            }
        }
        // Keys only "theirs" has now: added there, or deleted here.
        let mut previous: Option<usize> = None;
        for (key, value) in theirs_pairs {
            let Some(t) = value else {
                previous = position_of(&out, &key);
                continue;
            };
            let b = base_map.remove(&key);
            self.path.push(key);
            let merged = self.value(b, None, Some(t));
            let key = self.path.pop().expect("pushed above");
            if let Some(v) = merged {
                let at = previous.map_or(0, |p| p + 1);
                out.items.insert(at, Item::Pair { key, value: v });
                previous = Some(at);
            }
        }
        out
    }
}

fn position_of(branch: &Branch, key: &str) -> Option<usize> {
    branch
        .items
        .iter()
        .position(|i| matches!(i, Item::Pair { key: k, .. } if k == key))
}

fn tree_value(t: Tree) -> Value {
    Value::List(t.branches.into_iter().map(Value::Map).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Tree {
        sops_core::store::parse(Format::Yaml, s.as_bytes()).unwrap()
    }

    fn emit(t: &Tree) -> String {
        String::from_utf8(sops_core::store::emit(Format::Yaml, t, &Default::default()).unwrap())
            .unwrap()
    }

    fn merge(b: &str, o: &str, t: &str) -> (String, Vec<String>) {
        let mut m = Merger::default();
        let r = m.tree(Some(yaml(b)), yaml(o), yaml(t));
        (emit(&r), m.conflicts)
    }

    #[test]
    fn one_sided_changes_merge() {
        let (out, c) = merge(
            "a: 1\nb: 2\nc: {x: 1, z: 2}\n",
            "a: 10\nb: 2\nc: {x: 1, z: 2}\n",
            "a: 1\nb: 2\nc: {x: 1, z: 20}\nd: new\n",
        );
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(out, "a: 10\nb: 2\nc:\n    x: 1\n    z: 20\nd: new\n");
    }

    #[test]
    fn deletions_and_insert_positions() {
        let (out, c) = merge(
            "a: 1\nb: 2\nc: 3\n",
            "a: 1\nc: 3\n",
            "first: 0\na: 1\nb: 2\nmid: 9\nc: 3\n",
        );
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(out, "first: 0\na: 1\nmid: 9\nc: 3\n");
    }

    #[test]
    fn both_sides_changing_a_key_conflicts_and_keeps_ours() {
        let (out, c) = merge(
            "db: {password: old, user: u}\n",
            "db: {password: ours, user: u}\n",
            "db: {password: theirs, user: v}\n",
        );
        assert_eq!(c, vec![r#"["db"]["password"]"#.to_owned()]);
        assert_eq!(out, "db:\n    password: ours\n    user: v\n");
    }

    #[test]
    fn delete_versus_modify_conflicts() {
        let (_, c) = merge("a: 1\nb: 2\n", "a: 1\n", "a: 1\nb: 3\n");
        assert_eq!(c, vec![r#"["b"]"#.to_owned()]);
    }

    #[test]
    fn same_change_on_both_sides_is_clean() {
        let (out, c) = merge("a: 1\n", "a: 2\n", "a: 2\n");
        assert!(c.is_empty());
        assert_eq!(out, "a: 2\n");
    }
}

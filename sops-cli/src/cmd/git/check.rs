//! `rsops git check`: a keyless gate for pre-commit and CI. Every staged path that
//! `.gitattributes` (`filter=rsops` or `diff=rsops`) or a `.sops.yaml` creation rule with a
//! `path_regex` marks as secret must be a complete SOPS file, with every value its rules
//! encrypt in `ENC[...]` form, and with the key groups the creation rule asks for now.
//! `--history` also scans every blob reachable from any ref.

use std::collections::HashSet;

use sops_core::metadata::MetadataError;
use sops_core::{EncryptedFile, Error, Format};

use super::engine::{Engine, describe_groups};
use super::repo::CatFile;
use crate::error::CliError;

/// Options of `git check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also scan every blob reachable from any ref (all branches, tags, stashes) for protected
    /// paths stored in the clear.
    #[arg(long)]
    pub history: bool,
}

/// One finding.
struct Problem {
    path: String,
    what: String,
}

/// Which of `paths` must be encrypted, and whether any of those has `filter=rsops`.
fn protected(
    engine: &mut Engine,
    paths: &[String],
    cached: bool,
) -> Result<(Vec<bool>, bool), CliError> {
    let filters = engine.repo.attributes("filter", paths, cached)?;
    let diffs = engine.repo.attributes("diff", paths, cached)?;
    let mut out = Vec::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name == ".sops.yaml" || name == ".gitattributes" {
            out.push(false);
            continue;
        }
        let by_attr = filters.get(i).is_some_and(|v| v == "rsops")
            || diffs.get(i).is_some_and(|v| v == "rsops");
        let by_rule = match engine.config_for(path) {
            Ok(Some(loaded)) => {
                let rel = engine.rule_path(&loaded, path);
                matches!(loaded.config.rule_for(&rel), Ok(Some(r)) if r.path_regex.is_some())
            }
            _ => false,
        };
        out.push(by_attr || by_rule);
    }
    let filtered = filters.iter().zip(&out).any(|(f, m)| *m && f == "rsops");
    Ok((out, filtered))
}

/// Checks one blob; `keys` also compares its key groups with the creation rule.
fn check_blob(
    engine: &mut Engine,
    path: &str,
    blob: &[u8],
    keys: bool,
) -> Result<Option<String>, CliError> {
    let format = Format::from_path(path);
    if blob.is_empty() {
        // Empty files hold nothing to protect (the filter stores them as they are).
        return Ok(None);
    }
    let mut file = match EncryptedFile::parse(format, blob) {
        Ok(f) => f,
        Err(Error::Metadata(MetadataError::NotFound)) => {
            return Ok(Some(
                "not encrypted (no sops metadata): plaintext?".to_owned(),
            ));
        }
        Err(e) => return Ok(Some(format!("not a valid SOPS file: {e}"))),
    };
    if file.metadata.mac.is_empty() {
        return Ok(Some("has no mac: not a complete SOPS file".to_owned()));
    }
    let leaks = file.plaintext_paths();
    if !leaks.is_empty() {
        return Ok(Some(format!(
            "values in the clear that its rules encrypt: {}",
            leaks.join(", ")
        )));
    }
    if !keys {
        return Ok(None);
    }
    let Ok(Some(loaded)) = engine.config_for(path) else {
        return Ok(None);
    };
    let rel = engine.rule_path(&loaded, path);
    let rule = match loaded.config.rule_for(&rel) {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(None),
        Err(e) => {
            return Ok(Some(format!(
                "{e} (in {})",
                loaded.dir.join(".sops.yaml").display()
            )));
        }
    };
    if rule.key_groups.is_empty() {
        return Ok(None);
    }
    let want = describe_groups(&rule.key_groups);
    let have = describe_groups(&file.metadata.key_groups);
    if want != have {
        let flat = |g: &Vec<Vec<String>>| g.iter().flatten().cloned().collect::<HashSet<_>>();
        let (w, h) = (flat(&want), flat(&have));
        let mut missing: Vec<&String> = w.difference(&h).collect();
        let mut extra: Vec<&String> = h.difference(&w).collect();
        missing.sort();
        extra.sort();
        let mut msg = "keys differ from .sops.yaml".to_owned();
        if !missing.is_empty() {
            msg.push_str(&format!("; missing: {}", join(&missing)));
        }
        if !extra.is_empty() {
            msg.push_str(&format!("; not in the rule: {}", join(&extra)));
        }
        if missing.is_empty() && extra.is_empty() {
            msg.push_str("; the key groups are arranged differently");
        }
        msg.push_str(&format!(
            " (fix: `git add --renormalize {path}` where the rsops filter runs, or \
             `rsops updatekeys {path}` on an encrypted copy)"
        ));
        return Ok(Some(msg));
    }
    // The threshold `updatekeys` and the filter would store (`threshold_for`), so check
    // never reports what they consider up to date.
    let threshold = rule.threshold_for(file.metadata.shamir_threshold);
    if want.len() > 1 && threshold != file.metadata.shamir_threshold {
        return Ok(Some(format!(
            "shamir_threshold is {} but .sops.yaml asks for {threshold} (fix: rsops updatekeys \
             {path})",
            file.metadata.shamir_threshold
        )));
    }
    Ok(None)
}

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the check; `Ok(true)` when nothing was found.
pub fn run(args: &Args) -> Result<bool, CliError> {
    let mut engine = Engine::new()?;
    let entries: Vec<(String, String)> = engine
        .repo
        .staged()?
        .into_iter()
        .map(|(id, path, _)| (id, path))
        .collect();
    let paths: Vec<String> = entries.iter().map(|(_, p)| p.clone()).collect();
    let (marks, filtered) = protected(&mut engine, &paths, true)?;
    let mut cat = CatFile::start(&engine.repo.root)?;
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for ((id, path), mark) in entries.iter().zip(&marks) {
        if !mark {
            continue;
        }
        checked += 1;
        let Some(blob) = cat.blob(id)? else {
            continue;
        };
        if let Some(what) = check_blob(&mut engine, path, &blob, true)? {
            problems.push(Problem {
                path: path.clone(),
                what,
            });
        }
    }
    let mut scanned = 0usize;
    if args.history {
        scanned = history(&mut engine, &mut cat, &mut problems)?;
    }
    if filtered && engine.repo.get_config("filter.rsops.process").is_none() {
        eprintln!(
            "note: .gitattributes routes files through the rsops filter, but this clone has no \
             filter configured; run `rsops git init` so `git add` encrypts them"
        );
    }
    for p in &problems {
        println!("{}: {}", p.path, p.what);
    }
    if problems.is_empty() {
        let extra = if args.history {
            format!(", {scanned} historical blob(s)")
        } else {
            String::new()
        };
        eprintln!("rsops git check: {checked} protected file(s){extra}: all encrypted");
        Ok(true)
    } else {
        eprintln!(
            "rsops git check: {} problem(s); nothing above shows a secret value",
            problems.len()
        );
        Ok(false)
    }
}

/// Scans every blob reachable from any ref under a protected path.
fn history(
    engine: &mut Engine,
    cat: &mut CatFile,
    problems: &mut Vec<Problem>,
) -> Result<usize, CliError> {
    let listed = engine.repo.output(&[
        "rev-list",
        "--objects",
        "--all",
        "--filter=object:type=blob",
        "--filter-provided-objects",
    ])?;
    let mut blobs: Vec<(String, String)> = Vec::new();
    let mut seen = HashSet::new();
    for line in String::from_utf8_lossy(&listed).lines() {
        let Some((id, path)) = line.split_once(' ') else {
            continue;
        };
        if seen.insert(id.to_owned()) {
            blobs.push((id.to_owned(), path.to_owned()));
        }
    }
    let paths: Vec<String> = blobs.iter().map(|(_, p)| p.clone()).collect();
    let (marks, _) = protected(engine, &paths, true)?;
    let mut n = 0;
    for ((id, path), mark) in blobs.iter().zip(marks) {
        if !mark {
            continue;
        }
        let Some(blob) = cat.blob(id)? else {
            continue;
        };
        n += 1;
        if let Some(what) = check_blob(engine, path, &blob, false)? {
            problems.push(Problem {
                path: format!("{path} (history, blob {})", &id[..id.len().min(12)]),
                what,
            });
        }
    }
    Ok(n)
}

//! `rsops git init [PATTERN...]`: wires the repository to rsops through `git config` and
//! `.gitattributes`. Idempotent.

use std::path::PathBuf;

use super::engine::Engine;
use super::repo::Repo;
use crate::error::{CliError, codes};
use crate::io;

/// Options of `git init`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to protect, in .gitattributes syntax (e.g. `secrets/**` or `*.enc.yaml`).
    pub patterns: Vec<String>,
    /// Wire only the diff textconv and the merge driver, for repositories that keep the
    /// encrypted files in the working tree (the sops way).
    #[arg(long)]
    pub diff_only: bool,
    /// Leave the working tree alone (by default, protected files that are checked out
    /// encrypted and unmodified are replaced by their plaintext).
    #[arg(long)]
    pub no_checkout: bool,
}

/// Quotes a word for the shell git runs commands with.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:@,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The command git should run to reach this binary: its absolute path.
fn self_command() -> Result<String, CliError> {
    let exe: PathBuf = std::env::current_exe().map_err(|e| {
        CliError::new(
            codes::GENERIC,
            format!("cannot find the rsops executable: {e}"),
        )
    })?;
    Ok(shell_quote(&exe.to_string_lossy()))
}

/// Runs init.
pub fn run(args: &Args) -> Result<(), CliError> {
    let repo = Repo::discover()?;
    let exe = self_command()?;
    let mut settings: Vec<(&str, String)> = Vec::new();
    if !args.diff_only {
        settings.push(("filter.rsops.process", format!("{exe} git filter-process")));
        settings.push(("filter.rsops.clean", format!("{exe} git clean %f")));
        settings.push(("filter.rsops.smudge", format!("{exe} git smudge %f")));
        settings.push(("filter.rsops.required", "true".to_owned()));
    }
    settings.push(("diff.rsops.textconv", format!("{exe} git textconv")));
    // A textconv cache would keep plaintext in refs/notes/textconv: never.
    settings.push(("diff.rsops.cachetextconv", "false".to_owned()));
    settings.push((
        "merge.rsops.name",
        "rsops per-key merge of SOPS files".to_owned(),
    ));
    settings.push(("merge.rsops.driver", format!("{exe} git merge %O %A %B %P")));
    for (k, v) in &settings {
        repo.set_config(k, v)?;
    }
    println!("configured {} git settings in .git/config", settings.len());

    let added = update_attributes(&repo, &args.patterns, args.diff_only)?;
    if args.patterns.is_empty() {
        println!(
            "no patterns given: add lines like `secrets/** filter=rsops diff=rsops merge=rsops -text` \
             to .gitattributes (or rerun with patterns)"
        );
    } else {
        println!("added {added} line(s) to .gitattributes");
    }
    if !args.diff_only && !args.no_checkout {
        let n = decrypt_checked_out(repo)?;
        if n > 0 {
            println!("decrypted {n} checked-out file(s) in the working tree");
        }
    }
    Ok(())
}

/// Appends the attribute lines that are missing; returns how many were added.
fn update_attributes(repo: &Repo, patterns: &[String], diff_only: bool) -> Result<usize, CliError> {
    if patterns.is_empty() {
        return Ok(0);
    }
    let path = repo.root.join(".gitattributes");
    let existing = match std::fs::read(&path) {
        Ok(b) => String::from_utf8(b).map_err(|_| {
            CliError::new(
                codes::GENERIC,
                ".gitattributes is not UTF-8, not touching it",
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(CliError::new(
                codes::GENERIC,
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    };
    let present: Vec<&str> = existing.lines().map(str::trim).collect();
    let attrs = if diff_only {
        "diff=rsops merge=rsops"
    } else {
        "filter=rsops diff=rsops merge=rsops -text"
    };
    let mut lines: Vec<String> = Vec::new();
    for p in patterns {
        if p.chars().any(char::is_whitespace) {
            return Err(CliError::new(
                codes::GENERIC,
                format!("pattern {p:?} has whitespace, which .gitattributes cannot hold"),
            ));
        }
        lines.push(format!("{p} {attrs}"));
    }
    // The config must stay readable (and never be encrypted), even under a broad pattern.
    lines.push("**/.sops.yaml !filter !diff !merge".to_owned());
    lines.retain(|l| !present.contains(&l.as_str()));
    if lines.is_empty() {
        return Ok(0);
    }
    let mut out = existing.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for l in &lines {
        out.push_str(l);
        out.push('\n');
    }
    io::write_atomic(&path, out.as_bytes())?;
    Ok(lines.len())
}

/// Replaces protected files that are checked out encrypted and unmodified by their plaintext.
fn decrypt_checked_out(repo: Repo) -> Result<usize, CliError> {
    let entries: Vec<(String, String)> = repo
        .staged()?
        .into_iter()
        .filter(|(_, _, stage)| *stage == 0)
        .map(|(id, path, _)| (id, path))
        .collect();
    let paths: Vec<String> = entries.iter().map(|(_, p)| p.clone()).collect();
    let filters = repo.attributes("filter", &paths, false)?;
    let mut cat = super::repo::CatFile::start(&repo.root)?;
    let mut engine = Engine::with_repo(repo);
    let mut n = 0;
    for ((id, path), filter) in entries.iter().zip(filters) {
        if filter != "rsops" {
            continue;
        }
        let full = engine.repo.root.join(path);
        let Ok(current) = std::fs::read(&full) else {
            continue;
        };
        let Some(blob) = cat.blob(id)? else {
            continue;
        };
        if current != blob {
            continue;
        }
        let plain = engine.smudge(path, blob)?;
        if plain != current {
            io::write_atomic(&full, &plain)?;
            n += 1;
        }
    }
    if n > 0 {
        // Re-stat through the new filter: the plaintext cleans to the same blobs.
        let _ = engine
            .repo
            .git()
            .args(["update-index", "-q", "--refresh"])
            .status();
    }
    Ok(n)
}

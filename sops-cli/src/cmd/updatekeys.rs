//! `rsops updatekeys FILE...`: re-wrap the data key for the keys `.sops.yaml` asks for now.
//! Values, `lastmodified` and `mac` stay byte-identical.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use sops_core::KeyGroup;

use crate::cmd::{decryption_keyring, formats, parse_encrypted, rule_path, with_key_hint};
use crate::config;
use crate::error::{CliError, codes};
use crate::io;

/// Options of `updatekeys`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted files.
    pub files: Vec<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
    /// Input format (default: from the extension).
    #[arg(long = "input-type")]
    pub input_type: Option<String>,
}

/// Runs updatekeys over every file; failures are counted and reported at the end.
pub fn run(args: &Args, config_path: Option<&std::path::Path>) -> Result<(), CliError> {
    if args.files.is_empty() {
        return Err(CliError::new(
            codes::NO_FILE_SPECIFIED,
            "error: no file specified",
        ));
    }
    let loaded = config::load(config_path)?.ok_or_else(|| {
        CliError::new(codes::GENERIC, "config file not found")
            .hint("updatekeys needs a .sops.yaml with creation rules")
    })?;
    let mut failed = 0;
    for file in &args.files {
        if let Err(e) = update_one(args, &loaded, file) {
            eprintln!("{}: {}", file.display(), e.message);
            if let Some(h) = &e.hint {
                eprintln!("hint: {h}");
            }
            failed += 1;
            if args.files.len() == 1 {
                return Err(e);
            }
        }
    }
    if failed > 0 {
        return Err(CliError::new(
            codes::GENERIC,
            format!("{failed} file(s) failed to update"),
        ));
    }
    Ok(())
}

fn update_one(
    args: &Args,
    loaded: &config::Loaded,
    file: &std::path::Path,
) -> Result<(), CliError> {
    let name = file.to_string_lossy().into_owned();
    let (format, _) = formats(&name, args.input_type.as_deref(), None);
    let rule = loaded
        .config
        .rule_for(&rule_path(loaded, &name))
        .map_err(|e| CliError::new(codes::GENERIC, e.to_string()))?
        .ok_or_else(|| CliError::new(codes::GENERIC, "the config has no creation rules"))?;
    let input = io::read_input(Some(file))?;
    let mut encrypted = parse_encrypted(format, &input)?;
    // sops' `diffKeyGroups`: per group index, the rule's keys in order (common or added),
    // then the file's keys the rule no longer has (removed).
    let ids = |g: Option<&KeyGroup>| -> Vec<String> {
        g.map(|g| g.keys.iter().map(|k| k.identifier()).collect())
            .unwrap_or_default()
    };
    let groups = encrypted
        .metadata
        .key_groups
        .len()
        .max(rule.key_groups.len());
    let mut diffs = Vec::with_capacity(groups);
    for i in 0..groups {
        let ours = ids(encrypted.metadata.key_groups.get(i));
        let theirs = ids(rule.key_groups.get(i));
        let (common, added): (Vec<String>, Vec<String>) =
            theirs.iter().cloned().partition(|k| ours.contains(k));
        let removed: Vec<String> = ours.into_iter().filter(|k| !theirs.contains(k)).collect();
        diffs.push((common, added, removed));
    }
    if diffs.iter().all(|(_, a, r)| a.is_empty() && r.is_empty()) {
        eprintln!("File {name} already up to date");
        return Ok(());
    }
    println!("The following changes will be made to the file's groups:");
    for (i, (common, added, removed)) in diffs.iter().enumerate() {
        println!("Group {}", i + 1);
        for k in common {
            println!("    {k}");
        }
        for k in added {
            println!("+++ {k}");
        }
        for k in removed {
            println!("--- {k}");
        }
    }
    if !args.yes {
        print!("Is this okay? (y/n):");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !answer.trim().eq_ignore_ascii_case("y") {
            eprintln!("File {name} left unchanged");
            return Ok(());
        }
    }
    let (ring, hint) = decryption_keyring(None)?;
    let data_key = ring
        .open(
            &encrypted.metadata.key_groups,
            encrypted.metadata.shamir_threshold,
        )
        .map_err(|e| with_key_hint(e.into(), &hint))?;
    let threshold = rule.threshold_for(encrypted.metadata.shamir_threshold);
    let (groups, threshold) = ring
        .seal(&rule.key_groups, threshold, &data_key)
        .map_err(|e| CliError::from(sops_core::Error::from(e)))?;
    encrypted.metadata.key_groups = groups;
    encrypted.metadata.shamir_threshold = threshold;
    let opts = loaded.config.stores;
    let out = encrypted.emit(format, &opts)?;
    io::write_atomic(file, &out)?;
    eprintln!("File {name} synced with new keys");
    Ok(())
}

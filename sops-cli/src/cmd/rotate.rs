//! `rsops rotate FILE`: a new data key, optionally adding or removing master keys. Values keep
//! their IVs, but every ciphertext changes with the key.

use std::path::PathBuf;

use sops_core::config::pgp_key;
use sops_core::keys::age;
use sops_core::{KeyGroup, MasterKey};

use crate::cmd::{formats, gpg, open_for_write, store_options};
use crate::config;
use crate::error::{CliError, codes};
use crate::io;

/// Options of `rotate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file.
    pub file: Option<PathBuf>,
    /// Write the result back to the file (atomically).
    #[arg(short = 'i', long = "in-place")]
    pub in_place: bool,
    /// Write the result to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Input format (default: from the extension).
    #[arg(long = "input-type")]
    pub input_type: Option<String>,
    /// Output format (default: from the extension).
    #[arg(long = "output-type")]
    pub output_type: Option<String>,
    /// Use this name instead of the file's for format detection.
    #[arg(long = "filename-override")]
    pub filename_override: Option<String>,
    /// Add these age recipients to the first key group (comma separated).
    #[arg(long = "add-age")]
    pub add_age: Option<String>,
    /// Remove these age recipients from every key group (comma separated).
    #[arg(long = "rm-age")]
    pub rm_age: Option<String>,
    /// Add these PGP fingerprints to the first key group.
    #[arg(long = "add-pgp")]
    pub add_pgp: Option<String>,
    /// Remove these PGP fingerprints from every key group.
    #[arg(long = "rm-pgp")]
    pub rm_pgp: Option<String>,
    /// Order in which key types are tried.
    #[arg(long = "decryption-order", env = "SOPS_DECRYPTION_ORDER")]
    pub decryption_order: Option<String>,
}

pub(crate) fn split_list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Runs rotate.
pub fn run(args: &Args, config_path: Option<&std::path::Path>) -> Result<(), CliError> {
    if args.in_place && args.output.is_some() {
        return Err(CliError::new(
            codes::CONFLICTING_PARAMETERS,
            "cannot use --in-place and --output together",
        ));
    }
    let changes_keys = [&args.add_age, &args.rm_age, &args.add_pgp, &args.rm_pgp]
        .iter()
        .any(|o| o.is_some());
    let file = match args.file.as_deref() {
        Some(f) if f.exists() => f.to_path_buf(),
        Some(f) if changes_keys => {
            return Err(CliError::new(
                codes::CANNOT_CHANGE_KEYS_OF_MISSING_FILE,
                format!(
                    "cannot add or remove keys on non-existent file {}",
                    f.display()
                ),
            ));
        }
        other => crate::cmd::existing_file(other)?,
    };
    let name = args
        .filename_override
        .clone()
        .unwrap_or_else(|| file.to_string_lossy().into_owned());
    let (input_format, output_format) = formats(
        &name,
        args.input_type.as_deref(),
        args.output_type.as_deref(),
    );
    let config = config::load(config_path)?;
    let opts = store_options(config.as_ref(), None)?;
    let mut decrypted =
        open_for_write(&file, input_format, false, args.decryption_order.as_deref())?;

    let mut groups: Vec<KeyGroup> = decrypted.metadata.key_groups.clone();
    let mut added: Vec<MasterKey> = Vec::new();
    for r in split_list(args.add_age.as_deref()) {
        age::parse_recipient(&r).map_err(|e| CliError::new(codes::GENERIC, e))?;
        added.push(age::key_for(&r));
    }
    for fp in split_list(args.add_pgp.as_deref()) {
        added.push(pgp_key(&fp));
    }
    if let Some(first) = groups.first_mut() {
        for k in added {
            if !first
                .keys
                .iter()
                .any(|e| e.kind == k.kind && e.identifier() == k.identifier())
            {
                first.keys.push(k);
            }
        }
    }
    let removed: Vec<String> = split_list(args.rm_age.as_deref())
        .into_iter()
        .chain(
            split_list(args.rm_pgp.as_deref())
                .into_iter()
                .map(|f| f.replace(' ', "")),
        )
        .collect();
    for g in &mut groups {
        g.keys.retain(|k| !removed.contains(&k.identifier()));
    }
    let threshold = decrypted.metadata.shamir_threshold;
    let ring = sops_core::Keyring::new().with_source(gpg());
    decrypted.rotate(&groups, threshold, &ring)?;
    let out = decrypted.into_encrypted()?.emit(output_format, &opts)?;
    if args.in_place {
        io::write_atomic(&file, &out)
    } else if let Some(o) = &args.output {
        io::write_atomic(o, &out)
    } else {
        io::write_stdout(&out)
    }
}

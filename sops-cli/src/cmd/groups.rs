//! `rsops groups add|delete`: change the key groups of a file, keeping its data key, values,
//! `lastmodified` and `mac`.

use std::path::PathBuf;

use sops_core::config::pgp_key;
use sops_core::keys::age;
use sops_core::{KeyGroup, StoreOptions};

use crate::cmd::rotate::split_list;
use crate::cmd::{decryption_keyring, existing_file, formats, parse_encrypted, with_key_hint};
use crate::error::{CliError, codes};
use crate::io;

/// `groups` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Add a key group (the Shamir threshold defaults to the new number of groups).
    Add(AddArgs),
    /// Delete the key group at INDEX (0-based).
    Delete(DeleteArgs),
}

/// Options of `groups add`.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The encrypted file.
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// age recipients of the new group (comma separated, repeatable).
    #[arg(long)]
    pub age: Vec<String>,
    /// PGP fingerprints of the new group (comma separated, repeatable).
    #[arg(long)]
    pub pgp: Vec<String>,
    /// Write the result back to the file instead of stdout.
    #[arg(short = 'i', long = "in-place")]
    pub in_place: bool,
    /// Groups needed to recover the data key.
    #[arg(long = "shamir-secret-sharing-threshold")]
    pub shamir_secret_sharing_threshold: Option<usize>,
}

/// Options of `groups delete`.
#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    /// The encrypted file.
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// The group to delete (0-based).
    pub index: usize,
    /// Write the result back to the file instead of stdout.
    #[arg(short = 'i', long = "in-place")]
    pub in_place: bool,
    /// Groups needed to recover the data key.
    #[arg(long = "shamir-secret-sharing-threshold")]
    pub shamir_secret_sharing_threshold: Option<usize>,
}

/// Runs a groups subcommand.
pub fn run(command: &Command) -> Result<(), CliError> {
    let (file, in_place, flag_threshold) = match command {
        Command::Add(a) => (&a.file, a.in_place, a.shamir_secret_sharing_threshold),
        Command::Delete(d) => (&d.file, d.in_place, d.shamir_secret_sharing_threshold),
    };
    let file = existing_file(file.as_deref())?;
    let (format, _) = formats(&file.to_string_lossy(), None, None);
    let input = io::read_input(Some(&file))?;
    let mut encrypted = parse_encrypted(format, &input)?;
    let (ring, hint) = decryption_keyring(None)?;
    let data_key = ring
        .open(
            &encrypted.metadata.key_groups,
            encrypted.metadata.shamir_threshold,
        )
        .map_err(|e| with_key_hint(e.into(), &hint))?;
    let mut groups = encrypted.metadata.key_groups.clone();
    let threshold = match command {
        Command::Add(a) => {
            let mut group = KeyGroup::default();
            for fp in a.pgp.iter().flat_map(|p| split_list(Some(p))) {
                group.keys.push(pgp_key(&fp));
            }
            for r in a.age.iter().flat_map(|r| split_list(Some(r))) {
                age::parse_recipient(&r).map_err(|e| CliError::new(codes::GENERIC, e))?;
                group.keys.push(age::key_for(&r));
            }
            if group.keys.is_empty() {
                return Err(CliError::new(codes::GENERIC, "the new group has no keys")
                    .hint("pass --age or --pgp"));
            }
            groups.push(group);
            flag_threshold.filter(|t| *t != 0).unwrap_or(groups.len())
        }
        Command::Delete(d) => {
            if d.index >= groups.len() {
                return Err(CliError::new(
                    codes::GENERIC,
                    format!(
                        "there is no key group {} (the file has {})",
                        d.index,
                        groups.len()
                    ),
                ));
            }
            groups.remove(d.index);
            let threshold = flag_threshold
                .filter(|t| *t != 0)
                .unwrap_or(encrypted.metadata.shamir_threshold);
            if groups.len() < threshold {
                return Err(CliError::new(
                    codes::GENERIC,
                    format!(
                        "removing this key group will make the Shamir threshold impossible to \
                         satisfy: Shamir threshold is {threshold}, but we only have {} key groups",
                        groups.len()
                    ),
                ));
            }
            threshold
        }
    };
    let (sealed, threshold) = ring
        .seal(&groups, threshold, &data_key)
        .map_err(|e| CliError::from(sops_core::Error::from(e)))?;
    encrypted.metadata.key_groups = sealed;
    encrypted.metadata.shamir_threshold = threshold;
    let out = encrypted.emit(format, &StoreOptions::default())?;
    if in_place {
        io::write_atomic(&file, &out)
    } else {
        io::write_stdout(&out)
    }
}

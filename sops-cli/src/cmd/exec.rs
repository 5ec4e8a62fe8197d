//! `rsops exec-env FILE COMMAND`: run a command with the file's top-level values as
//! environment variables, passing its exit code through. The plaintext never touches disk.

use std::path::PathBuf;
use std::process::Command;

use sops_core::store::dotenv::val_to_string;
use sops_core::{DecryptOptions, Item};

use crate::cmd::{decryption_keyring, existing_file, formats, parse_encrypted, with_key_hint};
use crate::error::{CliError, codes};
use crate::io;

/// Options of `exec-env`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file.
    pub file: Option<PathBuf>,
    /// The command, run with `/bin/sh -c`.
    pub command: Option<String>,
    /// Start from an empty environment instead of the current one.
    #[arg(long)]
    pub pristine: bool,
    /// Replace rsops with the command instead of running it as a child (Unix).
    #[arg(long = "same-process")]
    pub same_process: bool,
    /// Accepted for compatibility; background mode was removed from sops.
    #[arg(long)]
    pub background: bool,
    /// Input format (default: from the extension).
    #[arg(long = "input-type")]
    pub input_type: Option<String>,
}

/// Runs exec-env; returns the child's exit code.
pub fn run(args: &Args) -> Result<u8, CliError> {
    if args.background && args.same_process {
        return Err(CliError::new(
            codes::CONFLICTING_PARAMETERS,
            "cannot use both --background and --same-process",
        ));
    }
    let file = existing_file(args.file.as_deref())?;
    let command = args
        .command
        .as_deref()
        .ok_or_else(|| CliError::new(codes::GENERIC, "error: missing the command argument"))?;
    let (format, _) = formats(&file.to_string_lossy(), args.input_type.as_deref(), None);
    let input = io::read_input(Some(&file))?;
    let encrypted = parse_encrypted(format, &input)?;
    let (ring, hint) = decryption_keyring(None)?;
    let decrypted = encrypted
        .decrypt(
            &ring,
            &DecryptOptions {
                ignore_mac: false,
                read_only: true,
            },
        )
        .map_err(|e| with_key_hint(e, &hint))?;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    if args.pristine {
        cmd.env_clear();
    }
    if let Some(doc) = decrypted.tree.branches.first() {
        for item in &doc.items {
            let Item::Pair { key, value } = item else {
                continue;
            };
            let text = val_to_string(value).ok_or_else(|| {
                CliError::new(
                    codes::GENERIC,
                    format!("cannot use complex value in environment; offending key {key}"),
                )
            })?;
            if key.contains('=') || key.is_empty() {
                return Err(CliError::new(
                    codes::GENERIC,
                    format!("cannot use key {key:?} as an environment variable name"),
                ));
            }
            cmd.env(key, text);
        }
    }
    drop(decrypted);
    #[cfg(unix)]
    if args.same_process {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        return Err(CliError::new(
            codes::GENERIC,
            format!("cannot run /bin/sh: {err}"),
        ));
    }
    let status = cmd
        .status()
        .map_err(|e| CliError::new(codes::GENERIC, format!("cannot run /bin/sh: {e}")))?;
    Ok(match status.code() {
        Some(c) => u8::try_from(c).unwrap_or(1),
        // Killed by a signal: the shell convention 128 + signal.
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                status.signal().map_or(1, |s| (128 + s).clamp(0, 255) as u8)
            }
            #[cfg(not(unix))]
            1
        }
    })
}
